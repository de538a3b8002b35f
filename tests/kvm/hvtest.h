/* SPDX-License-Identifier: MIT */
/*
 * hvtest.h - helpers for tests that run the real hvmhv: a scratch
 * directory, a tiny firmware image built from machine-code bytes, process
 * spawning with timeouts, and a fake device model that speaks the setup
 * protocol and answers ioreqs by hand.
 */
#ifndef HVTEST_H
#define HVTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hvm/ioreq.h"
#include "hvm/setup.h"

#define HVT_SKIP 77

/* /dev/kvm usable?  Prints "SKIPPED: why" and returns false if not. */
bool hvt_have_kvm(void);

/* mkdtemp under /tmp; path written into dir (at least 64 bytes). */
int hvt_tmpdir(char *dir, size_t cap);
void hvt_rmdir(const char *dir);

/*
 * Write a 64 KiB firmware image: `code` at offset 0 (guest address F000:0000,
 * i.e. 0xF0000 in the RAM copy) and a far jump there at the reset vector.
 */
int hvt_write_bios(const char *path, const uint8_t *code, size_t len);

/* Start argv[0] with stdout+stderr appended to out_path. */
pid_t hvt_spawn(char *const argv[], const char *out_path);
/* Wait up to timeout_s; on timeout kill (SIGKILL) and return -1, else the exit status. */
int hvt_wait(pid_t pid, int timeout_s);
bool hvt_file_contains(const char *path, const char *needle);

struct fake_dm {
	int sock;
	struct hvm_setup_info info;
	int fds[HVM_MSG_MAX_FDS];
	unsigned nfds;
	struct shared_iopage *page;
	struct buffered_iopage *buf;
	uint8_t *ram, *bounce;
};

/* Connect (retrying up to 10 s while the socket appears) and say HELLO. */
int fake_dm_attach(struct fake_dm *d, const char *path, uint32_t domid);
void fake_dm_detach(struct fake_dm *d);
/* Request/reply on the setup socket; returns the reply status. */
int fake_dm_call(struct fake_dm *d, uint32_t type, const void *req, size_t len);
/*
 * Wait up to timeout_ms for a READY slot; take it (INPROCESS) and copy it to
 * *r.  Buffered writes that arrive meanwhile go to buf_cb first.  Returns
 * the vCPU index or -1 on timeout.
 */
int fake_dm_next(struct fake_dm *d, struct ioreq *r, int timeout_ms,
		 void (*buf_cb)(void *opaque, const struct buf_ioreq *b, uint64_t data),
		 void *opaque);
void fake_dm_respond(struct fake_dm *d, unsigned vcpu, uint64_t data);
/* Host pointer for a guest-physical range in RAM or the bounce pages, else NULL. */
uint8_t *fake_dm_gpa(struct fake_dm *d, uint64_t gpa, uint64_t len);

#endif /* HVTEST_H */
