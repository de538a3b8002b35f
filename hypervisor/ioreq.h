/* SPDX-License-Identifier: MIT */
/*
 * ioreq.h - the hypervisor (producer) side of the ioreq rings in
 * include/hvm/ioreq.h, independent of the vCPU backend.
 *
 * Synchronous requests: one slot per vCPU; the vCPU's thread fills its slot,
 * publishes READY, signals the request eventfd and sleeps on its response
 * eventfd until the device model sets IORESP_READY.  Buffered requests: MMIO
 * writes in the buffered range, and port writes in the bufferable port set,
 * go into the 511-slot ring without waiting.
 *
 * Buffered writes signal the dm lazily, in the spirit of qemu-xen-traditional,
 * which masks the buffered event channel and drains on a 100 ms timer
 * (BUFFER_IO_MAX_DELAY) until a pass finds the ring empty (research/
 * xen-ioreq.md 2.2): a wake-up per write costs more than the write.  The
 * buffered eventfd is written only when
 *   - the ring fills to IOREQ_BUF_KICK_SLOTS (the dm must drain before the
 *     ring is full and writes fall back to synchronous requests),
 *   - a write finds the dm caught up after more than IOREQ_BUF_IDLE_NS
 *     without buffered writes (its drain timer may have stopped), or
 *   - a vCPU is about to sleep with writes pending (ioreq_flush_buffered()),
 *   - or the write touches an urgent port (SET_URGENT_PIO: it starts a
 *     command or a DMA transfer, which must not wait for a timer).
 * In between, the dm drains the ring every 10 ms for as long as it saw a
 * buffered write in the last 100 ms (dm/ioreq.h, IOREQ_DRAIN_*), and before
 * every synchronous request it handles, so a write waits at most ~10 ms and
 * never overtakes, or is overtaken by, a synchronous request of the same
 * vCPU.
 *
 * Port reads of registers the dm mirrors (SET_PIO_MIRROR) are answered from
 * the dm's page without a round trip when the buffered ring is empty (see
 * include/hvm/setup.h for the rules and ioreq_mirror_read() for the
 * ordering).
 *
 * The device model is untrusted: every state it leaves in a slot is read once
 * and checked.  When it is gone (never attached, or its connection closed),
 * or the domain is ending, requests complete at once: reads with all-ones,
 * writes dropped.  A slot in a state the protocol does not allow ends the
 * domain as crashed (the `fail` hook), as Xen does.
 */
#ifndef HV_IOREQ_H
#define HV_IOREQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hvm/ioreq.h"
#include "hvm/setup.h"
#include "hvm_poll.h"

enum ioreq_dm_state {
	IOREQ_DM_NONE = 0,     /* no device model attached yet */
	IOREQ_DM_ATTACHED = 1, /* requests go to the rings */
	IOREQ_DM_GONE = 2,     /* connection closed: complete everything locally */
};

/* Outcome of ioreq_send(). */
enum ioreq_result {
	IOREQ_DONE = 0,	    /* the device model answered */
	IOREQ_NO_DM = 1,    /* no device model: completed with all-ones / dropped */
	IOREQ_ABORTED = 2,  /* domain ending while waiting: completed with all-ones */
	IOREQ_BAD_STATE = 3 /* device model broke the protocol: all-ones, domain crashed */
};

struct ioreq_prod {
	struct shared_iopage *page;
	struct buffered_iopage *bufpage;
	unsigned nr_vcpus;
	int req_fd;   /* HVM_FD_REQ_EVENT */
	int buf_fd;   /* HVM_FD_BUF_EVENT */
	int *resp_fd; /* nr_vcpus response eventfds */
	int abort_fd; /* readable once the domain ends or the dm is gone */
	int dm_state; /* enum ioreq_dm_state, atomic */
	int aborted;  /* atomic: abort_fd has fired (saves a poll per request) */

	/* Polling hints shared with the dm (NULL: always signal, never spin). */
	struct hvm_irq_page *hints;
	struct hvm_poll *poll;		     /* nr_vcpus adaptive spin windows */
	uint64_t spins, spin_misses;	     /* statistics, logged at the end */
	uint64_t round_trips, round_trip_ns; /* requests sent to the dm, time until answered */

	pthread_mutex_t buf_lock; /* buffered ring: vCPUs produce concurrently */
	uint32_t buf_wp;	  /* our copy of write_pointer (the dm may scribble) */
	uint64_t buf_stamp;	  /* under buf_lock: last write that found the dm caught up */
	uint64_t (*now)(void);	  /* CLOCK_MONOTONIC ns (tests substitute their own) */
	/* Buffered eventfd writes, by reason (statistics, logged at the end; atomic). */
	uint64_t kicks_full, kicks_idle, kicks_flush;
	uint64_t buf_full; /* buffered writes that found the ring full (sent synchronously) */

	/*
	 * Ports whose writes may go through the buffered ring, one bit per
	 * port (HVM_MSG_SET_BUFFERED_PIO); words read and written atomically.
	 */
	uint32_t buf_pio[65536 / 32];
	/* Ports whose posted writes signal the dm at once (SET_URGENT_PIO). */
	uint32_t urgent_pio[65536 / 32];
	uint64_t kicks_urgent; /* statistics, atomic */

	/*
	 * PIO mirror (HVM_MSG_SET_PIO_MIRROR): the dm's page, mapped read-only
	 * once and published with a release store (NULL: none), and per port
	 * 1 + the page word that holds it (0: not mirrored), 64 KiB allocated
	 * with the producer; bytes read and written atomically.
	 */
	const struct hvm_pio_mirror_page *mirror;
	uint8_t *mirror_slot;
	uint64_t mirror_hits; /* reads answered from the mirror (statistics, atomic) */
	/*
	 * Posted writes' effects on the mirror (HVM_MSG_SET_PIO_EFFECTS), all
	 * under buf_lock: per port 1 + its entry in effect_words (0: may
	 * change any word; 64 KiB allocated with the producer); buf_seq counts
	 * the ring slots ever posted, and a read of word w waits until the dm
	 * has consumed max(all_seq, word_seq[w]) of them.
	 */
	uint8_t *effect_slot;
	uint64_t effect_words[HVM_PIO_EFFECTS_MAX];
	uint64_t buf_seq, all_seq, word_seq[HVM_PIO_MIRROR_MAX_PORTS];
	/* Quiet entries: the mask, the last byte written, bit i: known. */
	uint32_t effect_quiet[HVM_PIO_EFFECTS_MAX], effect_last[HVM_PIO_EFFECTS_MAX];
	uint64_t effect_known;
	uint64_t mirror_early; /* reads answered with writes still in the ring (statistics, atomic) */
	/*
	 * HVM_MSG_SET_PIO_BUSY, under buf_lock: the entries, and the buf_seq
	 * of each one's newest posted write (0: none since the set); nr_busy
	 * is also read without the lock (atomic) to skip the lock when zero.
	 */
	struct hvm_pio_busy busy[HVM_PIO_BUSY_MAX];
	unsigned nr_busy;
	uint64_t busy_seq[HVM_PIO_BUSY_MAX];
	uint64_t busy_hits; /* reads answered busy (statistics, atomic) */

	/* MMIO mirror (HVM_MSG_SET_MMIO_MIRROR, mmio_mirror.c); NULL: none. */
	struct ioreq_mmio_mirror *mmio_mirror;
	/* Statistics (atomic): reads answered from it, images dropped by us. */
	uint64_t mmio_mirror_hits, mmio_mirror_invalidations;

	/* Called (from a vCPU thread) when the dm broke the protocol. */
	void (*fail)(void *opaque, const char *why);
	void *opaque;
};

/* One request as the backend describes it. */
struct ioreq_req {
	uint8_t type; /* IOREQ_TYPE_PIO or IOREQ_TYPE_COPY */
	bool is_read;
	bool data_is_ptr;
	bool df;
	uint32_t size;	/* 1, 2, 4 or 8 */
	uint32_t count; /* >= 1 */
	uint64_t addr;
	uint64_t data; /* value (zero-extended to size) or guest-physical pointer */
};

/*
 * Create the pages and eventfds (memfds the caller passes on to the dm).
 * Returns 0 or -errno.  The fds are owned by the producer.
 */
int ioreq_prod_create(struct ioreq_prod *p, unsigned nr_vcpus, int *ioreq_page_fd,
		      int *bufioreq_page_fd);
void ioreq_prod_destroy(struct ioreq_prod *p, int ioreq_page_fd, int bufioreq_page_fd);

void ioreq_set_dm_state(struct ioreq_prod *p, enum ioreq_dm_state st);
/* Wake every waiting vCPU and complete all later requests locally. */
void ioreq_abort(struct ioreq_prod *p);

/*
 * Synchronous request from vCPU `vcpu`'s thread.  On return r->data holds the
 * read result (all-ones on anything but IOREQ_DONE); for data_is_ptr the
 * device model wrote the items into guest memory.
 */
enum ioreq_result ioreq_send(struct ioreq_prod *p, unsigned vcpu, struct ioreq_req *r);

/*
 * Buffered MMIO write of `size` bytes at addr (must be <= BUF_IOREQ_ADDR_MAX).
 * Returns true when queued; false when the ring is full or the request
 * cannot be buffered, and the caller sends it synchronously.
 */
bool ioreq_send_buffered(struct ioreq_prod *p, uint64_t addr, uint32_t size, uint64_t data);
/* The same for a port write (IOREQ_TYPE_PIO in the slot). */
bool ioreq_send_buffered_pio(struct ioreq_prod *p, uint16_t port, uint32_t size, uint64_t data);

/*
 * Ring occupancy (slots) at which a buffered write signals the dm: half the
 * ring.  Each signal costs the vCPU thread an eventfd write and a
 * cross-core wake-up, some 10 us on a nested host (7% of hvmhv's samples in
 * a text-console scroll with a quarter-ring mark).  The other half (256
 * slots) is the room the producer has while the dm wakes up.  Measured on
 * a 20000-line vgacon scroll under `emu` (3.7M buffered writes, ~1M a
 * second): a quarter-ring mark signalled 13600-17000 times and found the
 * ring full 850-1120 times, half the ring 7600-9300 and 360-1160 times,
 * three quarters 3800-6900 and 920-1140 times.  A full ring costs that
 * write a synchronous round trip, which drains the ring first.
 */
#define IOREQ_BUF_KICK_SLOTS (IOREQ_BUFFER_SLOT_NUM / 2)
/*
 * A write that finds the ring empty signals the dm when the last such write
 * is older than this (the contract with the dm's drain timer is in
 * include/hvm/ioreq.h).
 */
#define IOREQ_BUF_IDLE_NS HVM_BUF_IDLE_NS

/*
 * Signal the dm if buffered writes are pending (any vCPU's).  Called by a
 * vCPU before it sleeps (HLT), so that its writes do not wait for the dm's
 * drain timer.  Returns true when it signalled.
 */
bool ioreq_flush_buffered(struct ioreq_prod *p);

/*
 * Replace the set of write-bufferable ports with the n ranges in r (n == 0
 * clears it).  -EINVAL for more than HVM_BUFFERED_PIO_MAX_RANGES ranges or
 * one that leaves the 64 KiB port space; the set is unchanged then.
 */
int ioreq_set_buffered_pio(struct ioreq_prod *p, const struct hvm_range *r, unsigned n);
/* Whether a write of size bytes at port lies wholly in the bufferable set. */
bool ioreq_pio_bufferable(const struct ioreq_prod *p, uint16_t port, uint32_t size);

/*
 * Replace the set of urgent ports (their posted writes signal the dm at
 * once) with the n ranges in r; the same rules as ioreq_set_buffered_pio().
 */
int ioreq_set_urgent_pio(struct ioreq_prod *p, const struct hvm_range *r, unsigned n);
/* Whether a write of size bytes at port touches an urgent port. */
bool ioreq_pio_urgent(const struct ioreq_prod *p, uint16_t port, uint32_t size);

/*
 * SET_PIO_MIRROR: replace the mirrored registers with the n ranges in r
 * (range i in word i of the page).  fd (or -1) is the dm's sealed page
 * memfd; the first valid one is mapped for the producer's lifetime, later
 * ones are left alone (the caller closes fd in every case).  0, or -EINVAL
 * (bad ranges; no page yet and fd unusable) with the set unchanged, or
 * -ENOMEM.  A new set empties the effects table (ioreq_set_pio_effects()).
 */
int ioreq_set_pio_mirror(struct ioreq_prod *p, const struct hvm_range *r, unsigned n, int fd);
/*
 * Answer a single port read from the mirror if the rules in
 * include/hvm/setup.h allow it (ring empty, word valid and covering the
 * read); true with the value in *val, false when the read must go to the
 * dm.  ioreq_send() calls it for every single port read.
 */
bool ioreq_mirror_read(struct ioreq_prod *p, uint16_t port, uint32_t size, uint64_t *val);

/*
 * HVM_MSG_SET_PIO_EFFECTS: replace the table of what posted writes to the
 * given ports may change in the mirror; 0 or -EINVAL (nothing changed).
 */
int ioreq_set_pio_effects(struct ioreq_prod *p, const struct hvm_pio_effect *e, unsigned n);

/*
 * HVM_MSG_SET_PIO_BUSY: replace the set of writes whose pending presence in
 * the ring makes some port reads answer a fixed value; 0 or -EINVAL
 * (nothing changed).
 */
int ioreq_set_pio_busy(struct ioreq_prod *p, const struct hvm_pio_busy *b, unsigned n);
/*
 * Answer a single port read with a busy value if a write that the set
 * names is still in the ring (include/hvm/setup.h); true with the value in
 * *val.  ioreq_send() calls it for single port reads the mirror did not answer.
 */
bool ioreq_busy_read(struct ioreq_prod *p, uint16_t port, uint32_t size, uint64_t *val);

/*
 * SET_MMIO_MIRROR (mmio_mirror.c): map the dm's image memfd fd (the caller
 * closes it) for the range and mode ports in s.  0, -EEXIST (already set),
 * -EOPNOTSUPP (more than one vCPU), -EINVAL (bad range, ports or memfd) or
 * -ENOMEM.
 */
struct ioreq_mmio_mirror;
int ioreq_set_mmio_mirror(struct ioreq_prod *p, const struct hvm_mmio_mirror_set *s, int fd);
void ioreq_mmio_mirror_free(struct ioreq_prod *p);
/*
 * Answer a single MMIO read of size bytes at gpa from the image when it is
 * valid and the read lies wholly in its live part; true with *val.
 */
bool ioreq_mmio_mirror_read(struct ioreq_prod *p, uint64_t gpa, uint32_t size, uint64_t *val);
/*
 * An MMIO write of size bytes at gpa is about to be sent (posted: under
 * buf_lock, before it is published).  single: one item with its value in
 * val; otherwise a string write whose items span [gpa, gpa + size).  Keeps
 * the image equal to what the window will hold, or invalidates it.
 */
void ioreq_mmio_mirror_write(struct ioreq_prod *p, uint64_t gpa, uint64_t size, uint64_t val,
			     bool single);
/* A port write of size bytes at port is about to be sent: mode ports invalidate. */
void ioreq_mmio_mirror_port_write(struct ioreq_prod *p, uint16_t port, uint32_t size);

/* all-ones of `size` bytes (size 8 and anything bigger: ~0). */
static inline uint64_t ioreq_ones(uint32_t size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

#endif /* HV_IOREQ_H */
