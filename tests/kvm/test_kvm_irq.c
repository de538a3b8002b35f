// SPDX-License-Identifier: MIT
/*
 * test_kvm_irq.c - an interrupt raised by the device model reaches the guest
 * through hvmhv: GSI eventfd -> KVM irqfd (with resample) or the emu irq
 * thread -> 8259 -> vCPU.
 *
 * The guest (machine code below) programs the master 8259 (ICW1-4: vectors
 * 08h-0Fh, only IR5 unmasked; 8259A datasheet, "Initialization Command
 * Words"), points IVT entry 0Dh at its handler, reports ready on port 0xE0
 * and halts with interrupts on.  This program, as the device model, raises
 * GSI 5; the handler writes port 0xE5 (the dm lowers the line while
 * answering), sends a non-specific EOI and writes 0xE4, upon which the dm
 * requests poweroff.  Under kvm the guest's EOI must also fire GSI 5's
 * resample eventfd.  After the handler the guest halts again; a line the hv
 * still took for high would run the handler a second time.
 *
 * emu-level: the emulator with IR5 level-triggered (ICW1.LTIM), and the
 * line lowered inside the handler's request the way hvmdm does when hvmhv
 * sets hvm_irq_page.hv_takes_lines: the page changes and quiet_lines goes
 * up, no eventfd.  The vCPU must take that before the EOI, or the still
 * "high" level line interrupts again.
 *
 * emu-watch: the guest spins instead of halting, and the line goes up
 * outside any request the way hvmdm raises it while a vCPU says it runs
 * guest code (hvm_irq_page.vcpu_watching): page and quiet_lines only, no
 * eventfd.  The handler must run, and hvmhv's statistics must say the
 * running vCPU took the change at an event poll (at the end of its slice,
 * up to 200000 instructions later, it would have taken it too).
 *
 *   test_kvm_irq [kvm|emu|emu-level|emu-watch]   (kvm without /dev/kvm: SKIPPED, exit 77)
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvtest.h"
#include "tap.h"

#define GSI 5

static const uint8_t guest_irq[] = {
	/* 00 */ 0xfa,				     /* cli */
	/* 01 */ 0x31, 0xc0,			     /* xor ax, ax */
	/* 03 */ 0x8e, 0xd8,			     /* mov ds, ax */
	/* 05 */ 0x8e, 0xd0,			     /* mov ss, ax */
	/* 07 */ 0xbc, 0x00, 0x70,		     /* mov sp, 0x7000 */
	/* 0a */ 0xc7, 0x06, 0x34, 0x00, 0x50, 0x00, /* mov word [0x34], 0x0050 (IVT 0Dh) */
	/* 10 */ 0xc7, 0x06, 0x36, 0x00, 0x00, 0xf0, /* mov word [0x36], 0xf000 */
	/* 16 */ 0xb0, 0x11, 0xe6, 0x20,	     /* ICW1: edge, cascade, ICW4 follows */
	/* 1a */ 0xb0, 0x08, 0xe6, 0x21,	     /* ICW2: vector base 08h */
	/* 1e */ 0xb0, 0x04, 0xe6, 0x21,	     /* ICW3: slave on IR2 */
	/* 22 */ 0xb0, 0x01, 0xe6, 0x21,	     /* ICW4: 8086 mode, normal EOI */
	/* 26 */ 0xb0, 0xdf, 0xe6, 0x21,	     /* OCW1: only IR5 unmasked */
	/* 2a */ 0xb0, 0xff, 0xe6, 0xa1,	     /* slave: all masked */
	/* 2e */ 0xb0, 0x52, 0xe6, 0xe0,	     /* out 0xe0, 'R' (ready) */
	/* 32 */ 0xfb,				     /* sti */
	/* 33 */ 0xf4,				     /* 1: hlt */
	/* 34 */ 0xeb, 0xfd,			     /* jmp 1b */
	/* 36 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 50 handler */
	0xb0, 0x49, 0xe6, 0xe5, /* out 0xe5, 'I' */
	0xb0, 0x20, 0xe6, 0x20, /* OCW2: non-specific EOI */
	0xb0, 0x00, 0xe6, 0xe4, /* out 0xe4, 0: done */
	0xcf,			/* iret */
};

/* Byte 0x17 of guest_irq: ICW1 (0x11 edge; 0x19 with LTIM, level). */
#define ICW1_AT 0x17
/* Byte 0x33: the idle loop's hlt (a nop makes it spin). */
#define HLT_AT 0x33

static void signal_fd(int fd)
{
	uint64_t one = 1;

	CHECK(write(fd, &one, sizeof(one)) == sizeof(one));
}

/* Publish the line level on the page the way setup.h asks of the dm. */
static void page_line(struct hvm_irq_page *pg, bool level)
{
	if (level) {
		__atomic_fetch_or(&pg->level[GSI / 32], 1u << (GSI % 32), __ATOMIC_RELEASE);
		__atomic_fetch_add(&pg->edges[GSI], 1, __ATOMIC_RELEASE);
	} else {
		__atomic_fetch_and(&pg->level[GSI / 32], ~(1u << (GSI % 32)), __ATOMIC_RELEASE);
	}
}

/* ... and signal it through the GSI's eventfd. */
static void set_line(struct fake_dm *d, struct hvm_irq_page *pg, bool level, bool resample_mode)
{
	page_line(pg, level);
	/* Resample mode: only rising edges are signalled. */
	if (level || !resample_mode)
		signal_fd(d->fds[hvm_fd_irq(&d->info, GSI)]);
}

/*
 * ... or leave the eventfd alone and bump quiet_lines instead, as the dm
 * does for a change the hv takes from the page: one made inside the
 * vCPU's request (hv_takes_lines) or while it runs (vcpu_watching).
 */
static void set_line_quietly(struct hvm_irq_page *pg, bool level)
{
	page_line(pg, level);
	__atomic_fetch_add(&pg->quiet_lines, 1, __ATOMIC_SEQ_CST);
}

/* Wait (up to 2 s) for vCPU 0 to say it runs guest code. */
static bool watching(struct hvm_irq_page *pg)
{
	for (unsigned i = 0; i < 2000; i++) {
		if (__atomic_load_n(&pg->vcpu_watching[0], __ATOMIC_SEQ_CST))
			return true;
		usleep(1000);
	}
	return false;
}

/* From hvmhv's log: "N line changes taken while running", or -1. */
static long lines_polled(const char *log)
{
	char line[512];
	long n = -1;
	FILE *f = fopen(log, "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, " line changes taken while running");

		while (p && p > line && p[-1] >= '0' && p[-1] <= '9')
			p--;
		if (p && p[0] >= '0' && p[0] <= '9')
			n = strtol(p, NULL, 10);
	}
	if (f)
		fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "kvm";
	bool level = !strcmp(mode, "emu-level"), watch = !strcmp(mode, "emu-watch");
	const char *accel = level || watch ? "emu" : mode;
	uint8_t code[sizeof(guest_irq)];
	char dir[64], sock[128], log[192], out[192], bios[192];
	char *hv_argv[] = { HVMHV_PATH,	   "-d",    "5",  "-setup", sock, "-m",	   "8",	  "-accel",
			    (char *)accel, "-bios", bios, "-log",   log,  "-name", "irq", NULL };
	unsigned step = 0, handler_runs = 0;
	bool resample_mode, resampled = false;
	struct hvm_irq_page *pg;
	struct fake_dm d;
	struct ioreq r;
	pid_t pid;
	int st;

	if (strcmp(accel, "kvm") && strcmp(accel, "emu"))
		return 2;
	memcpy(code, guest_irq, sizeof(code));
	if (level)
		code[ICW1_AT] = 0x19;
	if (watch)
		code[HLT_AT] = 0x90;
	if (!strcmp(accel, "kvm") && !hvt_have_kvm())
		return HVT_SKIP;
	if (hvt_tmpdir(dir, sizeof(dir)))
		return 1;
	snprintf(sock, sizeof(sock), "%s/setup.sock", dir);
	snprintf(log, sizeof(log), "%s/hv.log", dir);
	snprintf(out, sizeof(out), "%s/hv.out", dir);
	snprintf(bios, sizeof(bios), "%s/bios.bin", dir);
	CHECK_EQ(hvt_write_bios(bios, code, sizeof(code)), 0);
	pid = hvt_spawn(hv_argv, out);
	CHECK_EQ(fake_dm_attach(&d, sock, 5), 0);
	resample_mode = d.info.flags & HVM_SETUP_F_IRQ_RESAMPLE;
	CHECK_EQ(resample_mode, !strcmp(accel, "kvm"));
	pg = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, d.fds[HVM_FD_IRQ_PAGE], 0);
	CHECK(pg != MAP_FAILED);
	CHECK_EQ(fake_dm_call(&d, HVM_MSG_READY, NULL, 0), 0);
	while (pg != MAP_FAILED && step < 3) {
		int v = fake_dm_next(&d, &r, 20000, NULL, NULL);

		if (v < 0 || r.type != IOREQ_TYPE_PIO || (r.flags & IOREQ_F_DIR_READ)) {
			CHECK(!"expected a port write from the guest");
			break;
		}
		if (step == 0 && r.addr == 0xe0 && r.data == 'R') {
			fake_dm_respond(&d, (unsigned)v, 0);
			if (watch) {
				CHECK(__atomic_load_n(&pg->hv_takes_lines, __ATOMIC_ACQUIRE));
				CHECK(watching(pg));
				/*
				 * Back in guest code by then: a change made
				 * before the vCPU got the response would be
				 * taken with it (after_dm_io()), not polled.
				 */
				usleep(200000);
				set_line_quietly(pg, true);
			} else {
				set_line(&d, pg, true, resample_mode);
			}
			step = 1;
		} else if (step == 1 && r.addr == 0xe5 && r.data == 'I') {
			handler_runs++;
			if (level) {
				CHECK(__atomic_load_n(&pg->hv_takes_lines, __ATOMIC_ACQUIRE));
				set_line_quietly(pg, false);
			} else {
				set_line(&d, pg, false, resample_mode);
			}
			fake_dm_respond(&d, (unsigned)v, 0);
			step = 2;
		} else if (step == 2 && r.addr == 0xe4) {
			struct pollfd p = { .fd = d.fds[hvm_fd_resample(&d.info, GSI)],
					    .events = POLLIN };

			resampled = poll(&p, 1, 2000) == 1;
			struct hvm_shutdown sd = { .reason = HVM_SHUTDOWN_POWEROFF };

			fake_dm_respond(&d, (unsigned)v, 0);
			/* 300 ms for a second run of the handler (bounded: a stuck line repeats) */
			for (unsigned i = 0; i < 16; i++) {
				v = fake_dm_next(&d, &r, 300, NULL, NULL);
				if (v < 0)
					break;
				if (r.addr == 0xe5)
					handler_runs++;
				fake_dm_respond(&d, (unsigned)v, 0);
			}
			CHECK_EQ(fake_dm_call(&d, HVM_MSG_SHUTDOWN, &sd, sizeof(sd)), 0);
			step = 3;
		} else {
			fprintf(stderr, "unexpected write %#llx=%#llx at step %u\n",
				(unsigned long long)r.addr, (unsigned long long)r.data, step);
			fake_dm_respond(&d, (unsigned)v, 0);
		}
	}
	st = hvt_wait(pid, 30);
	CHECK_EQ(step, 3);
	CHECK_EQ(handler_runs, 1);
	if (resample_mode)
		CHECK(resampled);
	CHECK_EQ(st, HVM_EXIT_POWEROFF);
	if (watch)
		CHECK(lines_polled(log) >= 1);
	fake_dm_detach(&d);
	st = tap_done();
	if (!st)
		hvt_rmdir(dir);
	else
		fprintf(stderr, "files kept in %s\n", dir);
	return st;
}
