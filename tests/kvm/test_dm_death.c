// SPDX-License-Identifier: MIT
/*
 * test_dm_death.c - hvmhv's lifecycle against misbehaving or absent peers:
 *
 *   1. a device model that dies with a request outstanding: the vCPU must
 *      complete it with all-ones instead of hanging, and the domain ends as
 *      crashed (exit HVM_EXIT_CRASH, "shutdown reason=crash");
 *   2. a toolstack session before any device model (accel=auto): QUERY,
 *      PAUSE, refused dm-only requests, a HELLO for the wrong domain, then
 *      DESTROY;
 *   3. a second HELLO is refused, PAUSE/UNPAUSE of a running guest shows in
 *      QUERY, and a reboot SHUTDOWN ends with HVM_EXIT_REBOOT.
 *
 * Needs /dev/kvm (SKIPPED, exit 77, without it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvm_msg.h"
#include "hvtest.h"
#include "tap.h"

#define DOMID 9

/* in al, 0xe7; out 0xe4, al; 1: hlt; jmp 1b */
static const uint8_t guest_in[] = { 0xe4, 0xe7, 0xe6, 0xe4, 0xf4, 0xeb, 0xfd };
/* 1: out 0xe0, al; jmp 1b  (one request per iteration, forever) */
static const uint8_t guest_loop[] = { 0xe6, 0xe0, 0xeb, 0xfc };

struct run {
	char dir[64], sock[128], log[192], out[192], bios[192];
	pid_t pid;
};

static void start_hv(struct run *r, const uint8_t *code, size_t len, const char *accel)
{
	char *argv[] = { HVMHV_PATH, "-d",     "9",	      "-setup", r->sock, "-m",
			 "8",	     "-accel", (char *)accel, "-bios",	r->bios, "-log",
			 r->log,     "-name",  "death",	      NULL };

	if (hvt_tmpdir(r->dir, sizeof(r->dir)))
		exit(1);
	snprintf(r->sock, sizeof(r->sock), "%s/setup.sock", r->dir);
	snprintf(r->log, sizeof(r->log), "%s/hv.log", r->dir);
	snprintf(r->out, sizeof(r->out), "%s/hv.out", r->dir);
	snprintf(r->bios, sizeof(r->bios), "%s/bios.bin", r->dir);
	CHECK_EQ(hvt_write_bios(r->bios, code, len), 0);
	r->pid = hvt_spawn(argv, r->out);
	for (int i = 0; i < 1000 && access(r->sock, F_OK); i++)
		usleep(10000);
}

static void finish(struct run *r, bool ok)
{
	if (ok) {
		hvt_rmdir(r->dir);
		return;
	}
	fprintf(stderr, "files kept in %s\n", r->dir);
}

/* A device model that takes the first request and exits without answering. */
static void dying_dm(const char *sock)
{
	struct fake_dm d;
	struct ioreq r;

	if (fake_dm_attach(&d, sock, DOMID) || fake_dm_call(&d, HVM_MSG_READY, NULL, 0))
		_exit(10);
	if (fake_dm_next(&d, &r, 20000, NULL, NULL) < 0)
		_exit(11);
	_exit(r.addr == 0xe7 && (r.flags & IOREQ_F_DIR_READ) ? 0 : 12);
}

static void test_dm_dies(void)
{
	struct run r;
	pid_t dm;
	int st, dst;

	start_hv(&r, guest_in, sizeof(guest_in), "kvm");
	dm = fork();
	if (dm == 0)
		dying_dm(r.sock);
	dst = hvt_wait(dm, 30);
	st = hvt_wait(r.pid, 30);
	CHECK_EQ(dst, 0);
	CHECK_EQ(st, HVM_EXIT_CRASH);
	CHECK(hvt_file_contains(r.out, "hvmhv: domain 9 (death): shutdown reason=crash"));
	CHECK(hvt_file_contains(r.log, "pio read 0xe7 size 1 count 1 completed with all-ones"));
	CHECK(hvt_file_contains(r.log, "device model disconnected"));
	finish(&r, st == HVM_EXIT_CRASH);
}

static int call(int sock, uint32_t type, const void *req, size_t len, void *rep, size_t cap)
{
	return hvm_msg_call(sock, type, req, len, NULL, 0, rep, cap, NULL);
}

static void test_toolstack(void)
{
	struct hvm_hello bad = { .version = HVM_SETUP_VERSION, .domid = DOMID + 1 };
	struct hvm_map m = { .gpa = 0xe0000000, .size = 4096 };
	struct hvm_status s = { .state = 99 };
	struct run r;
	int ts, st;

	/* accel=auto must say what it picked and why (which one depends on the host). */
	start_hv(&r, guest_in, sizeof(guest_in), "auto");
	ts = hvm_msg_connect(r.sock);
	CHECK(ts >= 0);
	CHECK_EQ(call(ts, HVM_MSG_QUERY, NULL, 0, &s, sizeof(s)), 0);
	CHECK_EQ(s.state, HVM_STATE_STARTING);
	CHECK_EQ(s.nr_vcpus, 1);
	CHECK_EQ(call(ts, HVM_MSG_PAUSE, NULL, 0, NULL, 0), 0);
	CHECK_EQ(call(ts, HVM_MSG_UNPAUSE, NULL, 0, NULL, 0), 0);
	/* Device-model requests need a HELLO first. */
	CHECK_EQ((uint32_t)call(ts, HVM_MSG_UNMAP, &m, sizeof(m), NULL, 0), (uint32_t)-EPERM);
	CHECK_EQ((uint32_t)call(ts, HVM_MSG_READY, NULL, 0, NULL, 0), (uint32_t)-EPERM);
	CHECK_EQ((uint32_t)call(ts, HVM_MSG_HELLO, &bad, sizeof(bad), NULL, 0), (uint32_t)-ESRCH);
	CHECK_EQ(call(ts, HVM_MSG_DESTROY, NULL, 0, NULL, 0), 0);
	st = hvt_wait(r.pid, 30);
	CHECK_EQ(st, HVM_EXIT_DESTROYED);
	CHECK(hvt_file_contains(r.out, "hvmhv: domain 9 (death): shutdown reason=destroyed"));
	CHECK(hvt_file_contains(r.log, "accel auto: "));
	close(ts);
	finish(&r, st == HVM_EXIT_DESTROYED);
}

/* Answers every request until told to stop (runs in a child process). */
static void busy_dm(const char *sock, int ctl)
{
	struct fake_dm d, d2;
	struct hvm_shutdown sd = { .reason = HVM_SHUTDOWN_REBOOT };
	struct ioreq r;
	char c;

	if (fake_dm_attach(&d, sock, DOMID))
		_exit(10);
	/* Only one device model per domain. */
	if (fake_dm_attach(&d2, sock, DOMID) != -EBUSY)
		_exit(11);
	fake_dm_detach(&d2);
	if (fake_dm_call(&d, HVM_MSG_READY, NULL, 0))
		_exit(12);
	for (;;) {
		int v = fake_dm_next(&d, &r, 50, NULL, NULL);

		if (v >= 0)
			fake_dm_respond(&d, (unsigned)v, 0);
		if (read(ctl, &c, 1) == 1)
			break;
	}
	_exit(fake_dm_call(&d, HVM_MSG_SHUTDOWN, &sd, sizeof(sd)) ? 13 : 0);
}

static void test_pause_reboot(void)
{
	struct hvm_status s;
	struct run r;
	int ctl[2], ts, st, dst;
	pid_t dm;

	start_hv(&r, guest_loop, sizeof(guest_loop), "kvm");
	if (pipe2(ctl, O_NONBLOCK))
		exit(1);
	dm = fork();
	if (dm == 0)
		busy_dm(r.sock, ctl[0]);
	ts = hvm_msg_connect(r.sock);
	CHECK(ts >= 0);
	s.state = HVM_STATE_STARTING;
	for (int i = 0; i < 1000 && s.state != HVM_STATE_RUNNING; i++) {
		CHECK_EQ(call(ts, HVM_MSG_QUERY, NULL, 0, &s, sizeof(s)), 0);
		usleep(10000);
	}
	CHECK_EQ(s.state, HVM_STATE_RUNNING);
	CHECK_EQ(call(ts, HVM_MSG_PAUSE, NULL, 0, NULL, 0), 0);
	CHECK_EQ(call(ts, HVM_MSG_QUERY, NULL, 0, &s, sizeof(s)), 0);
	CHECK_EQ(s.state, HVM_STATE_PAUSED);
	CHECK_EQ(call(ts, HVM_MSG_UNPAUSE, NULL, 0, NULL, 0), 0);
	CHECK_EQ(call(ts, HVM_MSG_QUERY, NULL, 0, &s, sizeof(s)), 0);
	CHECK_EQ(s.state, HVM_STATE_RUNNING);
	CHECK(write(ctl[1], "x", 1) == 1);
	dst = hvt_wait(dm, 30);
	st = hvt_wait(r.pid, 30);
	CHECK_EQ(dst, 0);
	CHECK_EQ(st, HVM_EXIT_REBOOT);
	CHECK(hvt_file_contains(r.out, "hvmhv: domain 9 (death): shutdown reason=reboot"));
	close(ts);
	finish(&r, st == HVM_EXIT_REBOOT);
}

int main(void)
{
	if (!hvt_have_kvm())
		return HVT_SKIP;
	test_dm_dies();
	test_toolstack();
	test_pause_reboot();
	return tap_done();
}
