/* SPDX-License-Identifier: MIT */
/*
 * ioreq.h - the device model's ioreq consumer: Xen's rules, as written in
 * include/hvm/ioreq.h, on the dm side.
 *
 * On a request event the consumer first drains the buffered ring, then
 * handles every slot in state READY: read the slot once into locals, validate
 * (type, size in {1,2,4,8} with port I/O at most 4, port < 0x10000, count and
 * count*size within one page), execute through the address-space
 * dispatchers, write back only `data`, barrier, IORESP_READY, notify.
 * Invalid requests are logged (rate limited) and answered with all-ones
 * without touching any device.  Loop thread only.
 */
#ifndef DM_IOREQ_H
#define DM_IOREQ_H

#include <stdbool.h>
#include <stdint.h>

#include "hvm/ioreq.h"

struct dm;
struct dm_ioreq;

/*
 * The drain timer.  The hypervisor signals buffered writes lazily (see
 * hypervisor/ioreq.h): when the ring fills to a quarter, when a write comes
 * after a quiet spell, and when a vCPU goes to sleep.  So while buffered
 * writes flow we drain the ring every IOREQ_DRAIN_PERIOD_NS ourselves, and
 * keep doing so until IOREQ_DRAIN_IDLE_PERIODS periods (100 ms) passed
 * without one; the hypervisor signals the first write after 50 ms without
 * any (IOREQ_BUF_IDLE_NS there), well inside that.  10 ms: a third of the
 * console refresh period (30 ms), so a refresh misses at most the VGA
 * writes of the last 10 ms, which the next one shows.  A timerfd on
 * CLOCK_MONOTONIC, not a dm_timer: the ring must drain while the domain is
 * paused too, when the virtual clock stands still.
 */
#define IOREQ_DRAIN_PERIOD_NS HVM_BUF_DRAIN_PERIOD_NS
#define IOREQ_DRAIN_IDLE_PERIODS HVM_BUF_DRAIN_IDLE_PERIODS

struct ioreq_stats {
	uint64_t handled;   /* synchronous requests answered */
	uint64_t buffered;  /* buffered writes applied */
	uint64_t invalid;   /* requests refused as malformed */
	uint64_t bad_state; /* slots found in an unexpected state */
};

/*
 * Attach the consumer to mapped pages and eventfds (ownership of the fds
 * stays with the caller).  resp_fds has nr_vcpus entries.
 */
int ioreq_attach(struct dm *dm, struct shared_iopage *page, struct buffered_iopage *buf,
		 unsigned nr_vcpus, int req_fd, int buf_fd, const int *resp_fds);
void ioreq_detach(struct dm *dm);

/* Drain the buffered ring and answer every READY slot (what the event callbacks do). */
void ioreq_poll(struct dm *dm);
/*
 * Drain the buffered ring only (at most one ring's worth; with an event loop
 * more is left for the next iteration).  Returns the number of writes
 * applied.  Any code that reads device state the guest may have just
 * written, outside the loop's ioreq path, can call it first.
 */
unsigned ioreq_drain_buffered(struct dm *dm);
/* Whether the drain timer is running (tests). */
bool ioreq_drain_timer_armed(const struct dm *dm);

/*
 * Execute one request held in local memory (validated here too): the
 * dispatcher behind the consumer, also used by unit tests.  Returns 0, or
 * -EINVAL for a malformed request (then req->data is all-ones for reads).
 */
int ioreq_execute(struct dm *dm, struct ioreq *req);
/*
 * True while the dm handles a synchronous request of a single-vCPU domain:
 * that vCPU waits for the answer and the buffered ring was drained just
 * before, so nothing the guest does is in flight (SET_MMIO_MIRROR's rule
 * for validating an image).
 */
bool ioreq_guest_stopped(const struct dm *dm);

const struct ioreq_stats *ioreq_get_stats(const struct dm *dm);
/* One info line with the counters (when the hypervisor connection ends). */
void ioreq_log_stats(const struct dm *dm);

#endif /* DM_IOREQ_H */
