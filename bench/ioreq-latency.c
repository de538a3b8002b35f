// SPDX-License-Identifier: MIT
/*
 * ioreq-latency.c - round-trip cost of guest port I/O through hvmhv + hvmdm
 * (KVM exit -> ioreq slot -> eventfd -> hvmdm dispatch -> response eventfd
 * -> vCPU) against the floor: a KVM port-I/O exit handled in-process by the
 * thread that called KVM_RUN.
 *
 * Figures (DESIGN.md section 6 conventions):
 *   BENCH kvm_pio_exit_ns        median in-process KVM_RUN round trip, `out`
 *   BENCH kvm_pio_in_exit_ns     the same for `in`
 *   BENCH ioreq_pio_write_ns     median per-batch mean of `out` to an unclaimed
 *                                port through hvmhv + hvmdm
 *   BENCH ioreq_pio_read_ns      the same for `in`
 *   BENCH ioreq_pio_write_ratio  ioreq_pio_write_ns / kvm_pio_exit_ns
 *   BENCH ioreq_pio_read_ratio   ioreq_pio_read_ns / kvm_pio_in_exit_ns
 *   BENCH ioreq_nospin_pio_*_ns  the same with HVM_IOREQ_SPIN=0 (both ends
 *                                sleep on their eventfds at once)
 *   BENCH qemu_pio_write_ns      the same guest under qemu-system-x86_64 -enable-kvm
 *   BENCH qemu_pio_read_ns       (-M pc, port unclaimed there too)
 *   BENCH ioreq_vs_qemu_pio_write_ratio  ioreq_pio_write_ns / qemu_pio_write_ns
 *   BENCH ioreq_vs_qemu_pio_read_ratio   ioreq_pio_read_ns / qemu_pio_read_ns
 * Ratios are ours divided by the reference: lower is better, 1.0 is parity.
 *
 * The guest is a 64 KiB real-mode firmware image written by this program; it
 * writes a marker byte to hvm-testdev's port 0xE6 between batches, and the
 * per-batch times come from hvmdm's log time stamps (millisecond resolution,
 * so batches are kept at tens of milliseconds).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PORT 0xe8 /* nobody claims it under -M none: dm reads all-ones */
#define MARK_PORT 0xe6	/* hvm-testdev line port: logged with a time stamp */
#define MAX_BATCHES 200

struct opts {
	unsigned count;	  /* port accesses per batch */
	unsigned batches; /* batches per direction */
	unsigned exits;	  /* in-process KVM exits to time */
	const char *hvmhv, *hvmdm, *qemu;
	bool keep;
	bool emu; /* --accel emu: our software CPU against QEMU's TCG */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the floor: in-process KVM exits ---- */

/* 1: out/in BENCH_PORT; jmp 1b */
static const uint8_t loop_out[] = { 0xe6, BENCH_PORT, 0xeb, 0xfc };
static const uint8_t loop_in[] = { 0xe4, BENCH_PORT, 0xeb, 0xfc };

static int kvm_floor(const uint8_t *code, size_t len, unsigned exits, double *out_ns)
{
	struct kvm_userspace_memory_region r = { .memory_size = 0x10000 };
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	int kvm, vm = -1, vcpu = -1, size, err = -1;
	struct kvm_sregs sregs;
	struct kvm_run *run = MAP_FAILED;
	uint8_t *mem;
	double *t = calloc(exits, sizeof(double));

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (kvm < 0 || mem == MAP_FAILED || !t)
		goto out;
	memcpy(mem + 0x1000, code, len);
	r.userspace_addr = (uintptr_t)mem;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		goto out;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || size <= 0)
		goto out;
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		goto out;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		goto out;
	for (unsigned i = 0; i < exits + 100; i++) {
		uint64_t t0 = now_ns();

		if (ioctl(vcpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_IO)
			goto out;
		/* An `in` completes with whatever the data area holds, like an unclaimed port. */
		if (run->io.direction == KVM_EXIT_IO_IN)
			memset((uint8_t *)run + run->io.data_offset, 0xff, run->io.size);
		if (i >= 100) /* the first exits warm up the VM */
			t[i - 100] = (double)(now_ns() - t0);
	}
	*out_ns = median(t, exits);
	err = 0;
out:
	if (err)
		fprintf(stderr, "ioreq-latency: in-process KVM guest failed: %s\n",
			strerror(errno));
	if (run != MAP_FAILED)
		munmap(run, (size_t)size);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	if (kvm >= 0)
		close(kvm);
	if (mem != MAP_FAILED)
		munmap(mem, 0x10000);
	free(t);
	return err;
}

/* ---- through hvmhv + hvmdm ---- */

/*
 * Real-mode guest (firmware at F000:0000): `batches` batches of `count`
 * `out BENCH_PORT`, a marker `out MARK_PORT` before each batch and after the
 * last, the same for `in`, then `out 0xE4` (hvm-testdev: power off).
 */
static size_t build_guest(uint8_t *g, unsigned count, unsigned batches)
{
	static const uint8_t tmpl[] = {
		0xfa,		     /* 00 cli */
		0xbb, 0,	  0, /* 01 mov bx, batches */
		0xe6, MARK_PORT,     /* 04 1: out MARK, al */
		0xb9, 0,	  0, /* 06 mov cx, count */
		0xe6, BENCH_PORT,    /* 09 2: out BENCH, al */
		0xe2, 0xfc,	     /* 0b loop 2b */
		0x4b,		     /* 0d dec bx */
		0x75, 0xf4,	     /* 0e jnz 1b */
		0xe6, MARK_PORT,     /* 10 out MARK, al */
		0xbb, 0,	  0, /* 12 mov bx, batches */
		0xe6, MARK_PORT,     /* 15 3: out MARK, al */
		0xb9, 0,	  0, /* 17 mov cx, count */
		0xe4, BENCH_PORT,    /* 1a 4: in al, BENCH */
		0xe2, 0xfc,	     /* 1c loop 4b */
		0x4b,		     /* 1e dec bx */
		0x75, 0xf4,	     /* 1f jnz 3b */
		0xe6, MARK_PORT,     /* 21 out MARK, al */
		0xb0, 0x00,	     /* 23 mov al, 0 */
		0xe6, 0xe4,	     /* 25 out 0xe4, al */
		0xf4,		     /* 27 1: hlt */
		0xeb, 0xfd,	     /* 28 jmp 1b */
	};

	memcpy(g, tmpl, sizeof(tmpl));
	g[0x02] = g[0x13] = (uint8_t)batches;
	g[0x03] = g[0x14] = (uint8_t)(batches >> 8);
	g[0x07] = g[0x18] = (uint8_t)count;
	g[0x08] = g[0x19] = (uint8_t)(count >> 8);
	return sizeof(tmpl);
}

static int write_bios(const char *path, unsigned count, unsigned batches)
{
	static uint8_t img[0x10000];
	static const uint8_t reset[] = { 0xea, 0x00, 0x00, 0x00, 0xf0 }; /* jmp F000:0000 */
	FILE *f = fopen(path, "we");
	size_t n;

	if (!f)
		return -errno;
	memset(img, 0xf4, sizeof(img));
	build_guest(img, count, batches);
	memcpy(img + sizeof(img) - 16, reset, sizeof(reset));
	n = fwrite(img, 1, sizeof(img), f);
	return fclose(f) || n != sizeof(img) ? -EIO : 0;
}

static pid_t spawn(char *const argv[], const char *out)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid, int timeout_s)
{
	int st;

	for (int i = 0; i < timeout_s * 100; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Time stamps (ns) of the marker writes in hvmdm's log. */
static unsigned read_marks(const char *log, double *t, unsigned max)
{
	char line[512], pat[64];
	unsigned n = 0;
	FILE *f = fopen(log, "re");

	snprintf(pat, sizeof(pat), "testdev: out 0x%x size 1", MARK_PORT);
	while (f && n < max && fgets(line, sizeof(line), f)) {
		long long s;
		long ms;

		if (strstr(line, pat) && sscanf(line, "%lld.%ld", &s, &ms) == 2)
			t[n++] = (double)s * 1e9 + (double)ms * 1e6;
	}
	if (f)
		fclose(f);
	return n;
}

static double batch_median(const double *marks, unsigned batches, unsigned count)
{
	double per[MAX_BATCHES];

	for (unsigned i = 0; i < batches; i++)
		per[i] = (marks[i + 1] - marks[i]) / count;
	return median(per, batches);
}

static int through_dm(const struct opts *o, double *wr_ns, double *rd_ns)
{
	char dir[] = "/tmp/ioreq-latency-XXXXXX", sock[96], bios[96], hvlog[96], dmlog[96],
	     hvout[96], dmout[96];
	char *hv_argv[] = { (char *)o->hvmhv,
			    "-d",
			    "1",
			    "-setup",
			    sock,
			    "-m",
			    "16",
			    "-accel",
			    (char *)(o->emu ? "emu" : "kvm"),
			    "-bios",
			    bios,
			    "-log",
			    hvlog,
			    "-name",
			    "bench",
			    NULL };
	char *dm_argv[] = {
		(char *)o->hvmdm, "-d",	     "1",	    "-setup", sock,  "-m", "16", "-M",
		"none",		  "-device", "hvm-testdev", "-log",   dmlog, NULL
	};
	double marks[2 * (MAX_BATCHES + 1)];
	unsigned n, want = 2 * (o->batches + 1);
	pid_t hv, dm;
	int hst, dst;

	if (!mkdtemp(dir))
		return -errno;
	snprintf(sock, sizeof(sock), "%s/setup.sock", dir);
	snprintf(bios, sizeof(bios), "%s/bios.bin", dir);
	snprintf(hvlog, sizeof(hvlog), "%s/hv.log", dir);
	snprintf(dmlog, sizeof(dmlog), "%s/dm.log", dir);
	snprintf(hvout, sizeof(hvout), "%s/hv.out", dir);
	snprintf(dmout, sizeof(dmout), "%s/dm.out", dir);
	if (write_bios(bios, o->count, o->batches))
		return -EIO;
	hv = spawn(hv_argv, hvout);
	for (int i = 0; i < 1000 && access(sock, F_OK); i++)
		usleep(10000);
	dm = spawn(dm_argv, dmout);
	hst = wait_exit(hv, 300);
	dst = wait_exit(dm, 30);
	n = read_marks(dmlog, marks, want);
	if (hst != 0 || n != want) {
		fprintf(stderr,
			"ioreq-latency: hvmhv exit %d, hvmdm exit %d, %u of %u markers; files in "
			"%s\n",
			hst, dst, n, want, dir);
		return -EIO;
	}
	*wr_ns = batch_median(marks, o->batches, o->count);
	*rd_ns = batch_median(marks + o->batches + 1, o->batches, o->count);
	if (!o->keep) {
		const char *files[] = { sock, bios, hvlog, dmlog, hvout, dmout };

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
			unlink(files[i]);
		rmdir(dir);
	}
	return 0;
}

/* ---- the reference: QEMU with KVM on the same guest ---- */

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	for (int i = 0; i < 1000; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/*
 * QEMU's isa-debugcon on the marker port writes each marker byte to a unix
 * socket we read, so the time stamps are taken here (microsecond-exact);
 * isa-debug-exit on 0xE4 ends QEMU with status 1.
 */
static int through_qemu(const struct opts *o, double *wr_ns, double *rd_ns)
{
	char dir[] = "/tmp/ioreq-latency-q-XXXXXX", sock[96], bios[96], out[96], chr[160], con[64],
	     ext[64];
	char *argv[] = { (char *)o->qemu,
			 "-M",
			 "pc",
			 "-accel",
			 (char *)(o->emu ? "tcg" : "kvm"),
			 "-m",
			 "16",
			 "-bios",
			 bios,
			 "-display",
			 "none",
			 "-nodefaults",
			 "-chardev",
			 chr,
			 "-device",
			 con,
			 "-device",
			 ext,
			 NULL };
	double marks[2 * (MAX_BATCHES + 1)];
	unsigned n = 0, want = 2 * (o->batches + 1);
	pid_t pid;
	int fd, st;

	if (!mkdtemp(dir))
		return -errno;
	snprintf(sock, sizeof(sock), "%s/debugcon.sock", dir);
	snprintf(bios, sizeof(bios), "%s/bios.bin", dir);
	snprintf(out, sizeof(out), "%s/qemu.out", dir);
	snprintf(chr, sizeof(chr), "socket,id=mark,path=%s,server=on,wait=on", sock);
	snprintf(con, sizeof(con), "isa-debugcon,iobase=0x%x,chardev=mark", MARK_PORT);
	snprintf(ext, sizeof(ext), "isa-debug-exit,iobase=0xe4,iosize=1");
	if (write_bios(bios, o->count, o->batches))
		return -EIO;
	pid = spawn(argv, out);
	fd = connect_unix(sock);
	while (fd >= 0 && n < want) {
		uint8_t b;

		if (read(fd, &b, 1) != 1)
			break;
		marks[n++] = (double)now_ns();
	}
	if (fd >= 0)
		close(fd);
	st = wait_exit(pid, 60);
	unlink(sock);
	unlink(bios);
	if (n != want) {
		fprintf(stderr, "ioreq-latency: qemu exit %d, %u of %u markers; see %s\n", st, n,
			want, out);
		return -EIO;
	}
	unlink(out);
	rmdir(dir);
	*wr_ns = batch_median(marks, o->batches, o->count);
	*rd_ns = batch_median(marks + o->batches + 1, o->batches, o->count);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ioreq-latency [--count N] [--batches B] [--exits E] [--hvmhv PATH]\n"
		"                     [--hvmdm PATH] [--qemu PATH] [--accel kvm|emu] [--keep]\n"
		"Round trip of guest port I/O through hvmhv + hvmdm (accel kvm, guest: a\n"
		"64 KiB real-mode loop written by this program, hvmdm -M none -device\n"
		"hvm-testdev, port 0x%x unclaimed) against one KVM port-I/O exit handled\n"
		"in-process (the floor) and against QEMU (-enable-kvm -M pc, same guest).\n"
		"Prints BENCH lines; every *_ratio is ours divided by the reference (the\n"
		"floor, or QEMU for ioreq_vs_qemu_*): lower is better, 1.0 is parity.\n"
		"  --count N    accesses per batch (default 4000)\n"
		"  --batches B  batches per direction, median taken (default 7, max %d)\n"
		"  --exits E    in-process exits timed for the floor (default 20000)\n"
		"  --accel emu  hvmhv -accel emu against qemu -accel tcg instead (no KVM\n"
		"               floor; BENCH emu_* / qemu_tcg_* lines, same ratio direction)\n"
		"  --qemu PATH  reference QEMU (default /usr/bin/qemu-system-x86_64; skipped\n"
		"               when missing)\n",
		BENCH_PORT, MAX_BATCHES);
}

static int parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .count = 4000,
			    .batches = 7,
			    .exits = 20000,
			    .hvmhv = HVMHV_PATH,
			    .hvmdm = HVMDM_PATH,
			    .qemu = "/usr/bin/qemu-system-x86_64" };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--keep")) {
			o->keep = true;
		} else if (v && !strcmp(a, "--accel") && (!strcmp(v, "kvm") || !strcmp(v, "emu"))) {
			o->emu = !strcmp(v, "emu"), i++;
		} else if (v && !strcmp(a, "--count")) {
			o->count = (unsigned)strtoul(v, NULL, 0), i++;
		} else if (v && !strcmp(a, "--batches")) {
			o->batches = (unsigned)strtoul(v, NULL, 0), i++;
		} else if (v && !strcmp(a, "--exits")) {
			o->exits = (unsigned)strtoul(v, NULL, 0), i++;
		} else if (v && !strcmp(a, "--hvmhv")) {
			o->hvmhv = v, i++;
		} else if (v && !strcmp(a, "--qemu")) {
			o->qemu = v, i++;
		} else if (v && !strcmp(a, "--hvmdm")) {
			o->hvmdm = v, i++;
		} else {
			usage(stderr);
			return -1;
		}
	}
	if (!o->count || o->count > 0xffff || !o->batches || o->batches > MAX_BATCHES ||
	    !o->exits) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* --accel emu: hvmhv's software CPU against QEMU's TCG, same guest, same figures. */
static int run_emu(const struct opts *o)
{
	struct opts qo = *o;
	double wr, rd, qwr, qrd;

	printf("ioreq-latency: accel emu (QEMU: tcg), guest: real-mode port loop, hvmdm -M none "
	       "-device hvm-testdev, %u x %u accesses per direction\n",
	       o->batches, o->count);
	if (through_dm(o, &wr, &rd))
		return 1;
	printf("BENCH emu_ioreq_pio_write_ns %.0f ns\n", wr);
	printf("BENCH emu_ioreq_pio_read_ns %.0f ns\n", rd);
	if (access(o->qemu, X_OK)) {
		printf("ioreq-latency: %s missing: no QEMU comparison\n", o->qemu);
		return 0;
	}
	/* TCG handles an unclaimed port in well under a microsecond: the longest
	 * batches the guest can count keep the marker stamps meaningful. */
	qo.count = 65535;
	if (through_qemu(&qo, &qwr, &qrd))
		return 1;
	printf("BENCH qemu_tcg_pio_write_ns %.1f ns\n", qwr);
	printf("BENCH qemu_tcg_pio_read_ns %.1f ns\n", qrd);
	printf("BENCH emu_ioreq_vs_qemu_tcg_pio_write_ratio %.2f\n", wr / qwr);
	printf("BENCH emu_ioreq_vs_qemu_tcg_pio_read_ratio %.2f\n", rd / qrd);
	return 0;
}

int main(int argc, char **argv)
{
	double kout, kin, wr, rd, swr, srd, qwr, qrd;
	struct opts o;

	if (parse(argc, argv, &o))
		return 2;
	if (o.emu)
		return run_emu(&o);
	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("SKIPPED: /dev/kvm not usable (%s)\n", strerror(errno));
		return 77;
	}
	printf("ioreq-latency: accel kvm, guest: real-mode port loop, hvmdm -M none "
	       "-device hvm-testdev, %u x %u accesses per direction\n",
	       o.batches, o.count);
	if (kvm_floor(loop_out, sizeof(loop_out), o.exits, &kout) ||
	    kvm_floor(loop_in, sizeof(loop_in), o.exits, &kin))
		return 1;
	printf("BENCH kvm_pio_exit_ns %.0f ns\n", kout);
	printf("BENCH kvm_pio_in_exit_ns %.0f ns\n", kin);
	if (through_dm(&o, &wr, &rd))
		return 1;
	printf("BENCH ioreq_pio_write_ns %.0f ns\n", wr);
	printf("BENCH ioreq_pio_read_ns %.0f ns\n", rd);
	printf("BENCH ioreq_pio_write_ratio %.2f\n", wr / kout);
	printf("BENCH ioreq_pio_read_ratio %.2f\n", rd / kin);
	/* The same with both ends sleeping on eventfds (no spin-before-sleep). */
	setenv("HVM_IOREQ_SPIN", "0", 1);
	if (through_dm(&o, &swr, &srd))
		return 1;
	unsetenv("HVM_IOREQ_SPIN");
	printf("BENCH ioreq_nospin_pio_write_ns %.0f ns\n", swr);
	printf("BENCH ioreq_nospin_pio_read_ns %.0f ns\n", srd);
	if (access(o.qemu, X_OK)) {
		printf("ioreq-latency: %s missing: no QEMU comparison\n", o.qemu);
		return 0;
	}
	if (through_qemu(&o, &qwr, &qrd))
		return 1;
	printf("BENCH qemu_pio_write_ns %.0f ns\n", qwr);
	printf("BENCH qemu_pio_read_ns %.0f ns\n", qrd);
	printf("BENCH ioreq_vs_qemu_pio_write_ratio %.2f\n", wr / qwr);
	printf("BENCH ioreq_vs_qemu_pio_read_ratio %.2f\n", rd / qrd);
	return 0;
}
