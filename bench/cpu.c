/* SPDX-License-Identifier: MIT */
/*
 * bench/cpu.c - speed of the software x86 CPU (hypervisor/cpu) on five
 * 32-bit protected-mode kernels: an integer ALU loop, memcpy (a mov loop and
 * REP MOVSD), a call/branch-heavy loop, a memory-operand mixing loop and a
 * loop taken from the Linux kernel (mpi), all with paging on like a Linux
 * guest.  With qemu-system-i386 installed, the same code is booted under
 * `-accel tcg` as a multiboot kernel and timed with two iteration counts,
 * so QEMU's start-up time cancels out.
 *
 * Output: "BENCH cpu_<name> ours_mips=<x> qemu_mips=<y> ratio=<ours/qemu>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "x86cpu.h"

#define RAM_SIZE (16u << 20)
#define LOAD 0x100000u /* multiboot load address = code start */

struct kernel {
	const char *name;
	uint8_t code[384];
	unsigned len;
	uint32_t insns_per_iter; /* instructions per loop iteration */
};

static uint8_t *ram;

static uint8_t *b_map(void *o, uint64_t gpa, bool w)
{
	(void)o;
	(void)w;
	return gpa < RAM_SIZE ? ram + gpa : NULL;
}

static uint64_t b_mmio_read(void *o, uint64_t gpa, unsigned size)
{
	(void)o;
	(void)gpa;
	(void)size;
	return ~0ull;
}

static void b_mmio_write(void *o, uint64_t gpa, uint64_t v, unsigned size)
{
	(void)o;
	(void)gpa;
	(void)v;
	(void)size;
}

static uint32_t b_in(void *o, uint16_t port, unsigned size)
{
	(void)o;
	(void)port;
	(void)size;
	return 0;
}

static void b_out(void *o, uint16_t port, uint32_t v, unsigned size)
{
	(void)o;
	(void)port;
	(void)v;
	(void)size;
}

static unsigned hexbytes(uint8_t *p, const char *hex)
{
	unsigned n = 0;
	while (*hex) {
		char *end;
		unsigned long v = strtoul(hex, &end, 16);
		if (end == hex)
			break;
		p[n++] = (uint8_t)v;
		hex = end;
	}
	return n;
}

/*
 * Common prologue (runs at LOAD in flat 32-bit mode, ECX = iterations):
 * identity-map 16 MiB with 4 MiB PSE pages at 0x200000, enable paging, then
 * the kernel body, then "out 0xf4, al" (QEMU isa-debug-exit) and HLT.
 */
static const char prologue[] = "bf 00 00 20 00 b8 83 00 00 00 ba 04 00 00 00 89 07 05 00 00 40 00 "
			       "83 c7 04 4a 75 f3 "
			       "b8 00 00 20 00 0f 22 d8 0f 20 e0 83 c8 10 0f 22 e0 0f 20 c0 0d 00 "
			       "00 00 80 0f 22 c0 "
			       "bc 00 00 18 00 ";
static const char epilogue[] = "e6 f4 f4 eb fd";

static void build(struct kernel *k, const char *body)
{
	unsigned n = hexbytes(k->code, prologue);
	n += hexbytes(k->code + n, body);
	n += hexbytes(k->code + n, epilogue);
	k->len = n;
}

/* CPU time, not wall time: the build machines are shared. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Multiboot image with the a.out kludge (header at LOAD, flat load): entry
 * at LOAD + 40 is "mov ecx, iters", followed by the kernel.
 */
static void make_image(const struct kernel *k, uint32_t iters, uint8_t img[512])
{
	uint32_t h[8] = { 0x1badb002, 0x00010000, 0, LOAD, LOAD, LOAD + 512, 0, LOAD + 40 };

	h[2] = (uint32_t) - (h[0] + h[1]);
	memset(img, 0, 512);
	memcpy(img, h, sizeof(h));
	img[40] = 0xb9;
	memcpy(img + 41, &iters, 4);
	memcpy(img + 45, k->code, k->len);
}

/* Returns MIPS; *count gets the instructions executed. */
static double run_ours(const struct kernel *k, uint32_t iters, uint64_t *count)
{
	static const struct x86_bus tmpl = {
		.map_page = b_map,
		.mmio_read = b_mmio_read,
		.mmio_write = b_mmio_write,
		.pio_in = b_in,
		.pio_out = b_out,
	};
	struct x86_bus bus = tmpl;
	struct x86cpu *cpu;
	struct x86_regs r;

	memset(ram, 0, RAM_SIZE);
	make_image(k, iters, ram + LOAD);
	if (x86cpu_create(&bus, 0, &cpu))
		return 0;
	x86cpu_get_regs(cpu, &r);
	for (int s = 0; s < 6; s++)
		r.seg[s] = (struct x86_seg){ .sel = 0x10, .limit = 0xffffffffu, .attr = 0xc93 };
	r.seg[1] = (struct x86_seg){ .sel = 0x08, .limit = 0xffffffffu, .attr = 0xc9b };
	r.cr0 = 0x60000011u;
	r.eip = LOAD + 40;
	x86cpu_set_regs(cpu, &r);
	double t0 = now();
	uint64_t i0 = x86cpu_icount(cpu);
	while (x86cpu_run(cpu, 1u << 24) == X86_EXIT_BUDGET)
		;
	double dt = now() - t0;
	*count = x86cpu_icount(cpu) - i0;
	x86cpu_destroy(cpu);
	return *count / dt / 1e6;
}

static int write_image(const struct kernel *k, uint32_t iters, const char *path)
{
	uint8_t img[512];
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	make_image(k, iters, img);
	fwrite(img, 1, sizeof(img), f);
	fclose(f);
	return 0;
}

static double qemu_time(const struct kernel *k, uint32_t iters)
{
	char path[] = "/tmp/hvm-cpu-bench-XXXXXX";
	int fd = mkstemp(path);
	double t0, dt;

	if (fd < 0)
		return -1;
	close(fd);
	if (write_image(k, iters, path))
		return -1;
	t0 = now();
	pid_t pid = fork();
	if (pid == 0) {
		execlp("qemu-system-i386", "qemu-system-i386", "-accel", "tcg", "-display", "none",
		       "-nodefaults", "-m", "64", "-device", "isa-debug-exit,iobase=0xf4",
		       "-kernel", path, (char *)NULL);
		_exit(127);
	}
	int st;
	struct rusage ru;
	(void)t0;
	if (wait4(pid, &st, 0, &ru) < 0)
		return -1;
	dt = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	     ru.ru_stime.tv_usec / 1e6;
	unlink(path);
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 127)
		return -1;
	return dt;
}

int main(int argc, char **argv)
{
	struct kernel ks[5] = {
		{ .name = "alu", .insns_per_iter = 8 },
		{ .name = "memcpy", .insns_per_iter = 0 },
		{ .name = "callbranch", .insns_per_iter = 0 },
		{ .name = "memops", .insns_per_iter = 0 },
		{ .name = "mpi", .insns_per_iter = 0 },
	};
	uint32_t iters = 20000000;

	if (argc > 1) {
		char *end;
		unsigned long v = strtoul(argv[1], &end, 0);

		/* a zero count would run the loops 2^32 times */
		if (argc > 2 || *end || !v || v > 0xffffffffu) {
			fprintf(stderr, "usage: %s [ITERATIONS]   (1..4294967295, default %u)\n",
				argv[0], iters);
			return 2;
		}
		iters = (uint32_t)v;
	}

	ram = calloc(1, RAM_SIZE);
	if (!ram)
		return 1;
	/* add eax,ecx; xor edx,eax; shl edx,1; sub ebx,edx; inc esi; and esi,ebx; dec ecx; jnz */
	build(&ks[0], "01 c8 31 c2 d1 e2 29 d3 46 21 de 49 75 f2");
	/* per iteration: copy 4 KiB with a mov loop then with rep movsd */
	build(&ks[1], "c1 e9 0c 41 51 be 00 00 40 00 bf 00 00 50 00 b9 00 04 00 00 8b 06 89 07 83 "
		      "c6 04 83 c7 04 49 75 f3 be 00 00 40 00 bf 00 00 60 00 b9 00 04 00 00 f3 a5 "
		      "59 49 75 ce");
	/* call a leaf that tests and branches */
	build(&ks[2], "e8 06 00 00 00 49 75 f8 eb 0b 90 89 c8 a8 01 74 02 40 c3 48 c3");
	/*
	 * compiled-C style mixing loop (what the kernel's crypto self-tests
	 * spend boot time on): locals at [ebp+d8], a table at [esi+edi*4], LEA
	 */
	build(&ks[3], "bd 00 01 30 00 be 00 10 30 00 31 ff "
		      "8b 45 f8 8b 55 f4 01 d0 c1 c0 07 33 45 f0 89 45 f0 8b 04 be 31 c2 89 55 "
		      "f4 47 83 e7 3f 8d 44 02 05 89 45 f8 49 75 d9");
	/*
	 * the Linux boot's hottest loop, verbatim: the 47-instruction inner
	 * loop of mpihelp_submul_1 (lib/mpi, RSA for module signatures) from
	 * Debian's 6.1 686 kernel, over 64 limbs per outer iteration (one per 64
	 * iterations asked for)
	 */
	build(&ks[4], "c1 e9 06 41 bd 00 01 30 00 89 4d c0 "
		      "c7 45 f0 c0 ff ff ff c7 45 d8 00 11 30 00 c7 45 e0 34 12 00 00 "
		      "c7 45 e8 78 56 00 00 c7 45 e4 00 01 00 00 c7 45 dc 00 20 30 00 31 f6 "
		      "8b 4d f0 8b 45 d8 8b 5d e0 8b 7d e8 8b 14 88 89 d8 0f b7 ca c1 ea 10 "
		      "0f af c1 0f af da 0f af cf 0f af d7 89 c7 0f b7 c0 c1 ef 10 01 d9 89 55 "
		      "ec 89 fa 01 ca 8b 4d ec 81 c1 00 00 01 00 39 da 89 cf 89 d1 0f 43 7d ec "
		      "01 f0 c1 e1 10 31 db 01 c8 8b 4d e4 39 f0 89 d6 8b 55 dc 0f 92 c3 c1 ee "
		      "10 01 ca 8b 4d f0 8b 0c 8a 29 c1 8b 45 f0 11 f3 89 0c 82 89 c1 8d 34 3b "
		      "83 c1 01 89 4d f0 75 81 "
		      "ff 4d c0 0f 85 4c ff ff ff");
	for (int i = 0; i < 5; i++) {
		uint64_t n1, n2;
		double ours = run_ours(&ks[i], iters, &n2);
		run_ours(&ks[i], iters / 4, &n1);
		double q1 = qemu_time(&ks[i], iters / 4), q2 = qemu_time(&ks[i], iters);
		if (q1 < 0 || q2 <= q1) {
			printf("BENCH cpu_%s ours_mips=%.1f qemu=unavailable\n", ks[i].name, ours);
			continue;
		}
		/* the extra instructions over the extra time: QEMU start-up cancels */
		double qm = (double)(n2 - n1) / (q2 - q1) / 1e6;
		printf("BENCH cpu_%s ours_mips=%.1f qemu_tcg_mips=%.1f ratio=%.2f\n", ks[i].name,
		       ours, qm, ours / qm);
	}
	free(ram);
	return 0;
}
