/* SPDX-License-Identifier: MIT */
/*
 * fakehv.h - the hypervisor half of hvmdm-qtest: it owns guest RAM, the ioreq
 * pages and the eventfds, runs the setup protocol of include/hvm/setup.h
 * against a real hvmdm child, and issues ioreqs on vCPU slot 0 as hvmhv
 * would.  No vCPUs run: every access comes from the qtest front end.
 */
#ifndef FAKEHV_H
#define FAKEHV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "hvm/ioreq.h"
#include "hvm/setup.h"

#define FHV_MAX_MAPS 32
#define FHV_MAX_BUFRANGES 8

struct fhv_map {
	uint64_t gpa, size, offset;
	uint32_t flags;
	uint8_t *host;	/* mmap of the dm's memfd at offset */
	uint8_t *dirty; /* bit per page, HVM_MAP_F_DIRTY_LOG only */
	bool used;
};

struct fhv {
	struct hvm_setup_info info;
	int fds[HVM_FD_FIXED_COUNT + 1 + 2 * HVM_NR_GSIS];
	unsigned nfds;

	uint8_t *ram;
	uint64_t ram_size;
	struct shared_iopage *iopage;
	struct buffered_iopage *bufpage;
	uint8_t *bounce;
	struct hvm_irq_page *irqpage;
	uint8_t *written;
	size_t written_size;

	struct fhv_map maps[FHV_MAX_MAPS];
	struct hvm_range bufranges[FHV_MAX_BUFRANGES];
	unsigned nr_bufranges;
	/* Ports whose writes the dm lets us post (SET_BUFFERED_PIO, latest set). */
	struct hvm_range bufpio[HVM_BUFFERED_PIO_MAX_RANGES];
	unsigned nr_bufpio;

	char dir[64];
	char sock_path[96];
	int listen_fd;
	int sock; /* accepted setup connection, -1 once closed */
	pid_t pid;
	int exit_status; /* wait status once reaped, else -1 */
	bool dm_dead;	 /* connection lost: ioreqs fail fast */
	bool ready;
	bool paused;
	int shutdown_reason; /* -1 until the dm asked for a shutdown */
	uint32_t seq;
	uint64_t clock_ns;
	unsigned timeout_ms;
	FILE *log; /* extra copy of the harness log, may be NULL */
};

struct fhv_config {
	const char *dm_path;
	uint64_t ram_mb;
	unsigned timeout_ms;
	char **extra_args; /* NULL-terminated, appended to the dm command line */
	FILE *log;
};

/* Create the shared memory, spawn hvmdm and run setup until READY.  0 or -errno. */
int fhv_start(struct fhv *hv, const struct fhv_config *cfg);
/* Stop the dm (SIGTERM, then SIGKILL), reap it, free everything.  Returns the
 * dm's wait status (or -1 if it was never started). */
int fhv_stop(struct fhv *hv);

void fhv_log(struct fhv *hv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Service setup-protocol requests that are already pending (non-blocking). */
void fhv_service(struct fhv *hv);

/*
 * One synchronous ioreq on vCPU slot 0.  For reads *data receives the
 * result.  Returns 0, -ETIMEDOUT or -EPIPE (dm not responding), -EBUSY (the
 * slot is still owned by the dm from an earlier timed-out request).
 */
int fhv_ioreq(struct fhv *hv, uint8_t type, uint64_t addr, uint32_t size, uint32_t count, bool read,
	      bool data_is_ptr, bool df, uint64_t *data);

/* One write through the buffered ring (addr <= BUF_IOREQ_ADDR_MAX).  0 or -errno. */
int fhv_buffered_write(struct fhv *hv, uint8_t type, uint64_t addr, unsigned size, uint64_t val);

/* True if the dm asked to buffer MMIO writes at [addr, addr+size). */
bool fhv_is_buffered(const struct fhv *hv, uint64_t addr, unsigned size);

/* True if every port of [port, port+size) is in the dm's SET_BUFFERED_PIO set. */
bool fhv_is_buffered_pio(const struct fhv *hv, uint64_t port, unsigned size);

/*
 * A port write through the buffered ring without signalling the buffered
 * event, as hvmhv may leave it: the dm then applies it only when it drains
 * the ring before the next synchronous request.  0 or -errno.
 */
int fhv_posted_pio_write(struct fhv *hv, uint16_t port, unsigned size, uint64_t val);

/*
 * Host pointer for guest-physical [gpa, gpa+len) when it lies wholly inside
 * RAM, a dm mapping or the bounce pages; NULL when it is MMIO.  *len_ok is
 * the number of bytes from gpa that stay in that backing (or, for MMIO, up
 * to the next backed byte), so callers can walk mixed ranges.  A write
 * marks dirty-logged pages.
 */
uint8_t *fhv_lookup(struct fhv *hv, uint64_t gpa, uint64_t len, bool write, uint64_t *len_ok);

/*
 * Advance the dm's stepped clock: to ns, or to its next timer deadline for
 * HVM_CLOCK_NEXT_DEADLINE.  *now receives the dm's new time.  0, -ENOENT (no
 * deadline), -ENOTSUP (the dm ignored the next-deadline value) or -errno.
 */
int fhv_clock_set(struct fhv *hv, uint64_t ns, uint64_t *now);

/* Drain the GSI eventfds (signalled by the dm on every level change). */
void fhv_drain_irq_events(struct fhv *hv);

/* Name of a shutdown reason ("poweroff", ...) or "none". */
const char *fhv_shutdown_name(int reason);

/* Poll helpers for the front end's main loop. */
int fhv_irq_fd(const struct fhv *hv, unsigned gsi);

#endif /* FAKEHV_H */
