/* SPDX-License-Identifier: MIT */
/*
 * iospace.h - address-space dispatch: one dispatcher per space (port I/O and
 * MMIO).  Devices declare regions with the access sizes their callbacks
 * implement; the dispatcher owns every size rule:
 *   - an access wider than max_size is split into max_size pieces,
 *     little-endian, lowest address first;
 *   - an access narrower than min_size becomes a min_size access at the
 *     aligned offset: reads extract the bytes, writes pass the value shifted
 *     into place (as QEMU's adjusted-size accesses do);
 *   - unaligned accesses are split into naturally aligned pieces unless the
 *     region sets allow_unaligned;
 *   - pieces outside every region read all-ones and drop writes.
 * Devices see only (opaque, offset within region, size in {1,2,4,8}).
 * Regions of one space never overlap: io_region_map() refuses with -EEXIST.
 * Loop thread only.
 */
#ifndef DM_IOSPACE_H
#define DM_IOSPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "hvm/setup.h"

struct dm;

/* At most this many mirrored registers per region (io_ops.mirrored). */
#define IO_MIRROR_REGS 8

/* A register whose reads have no side effect: offset and width (1, 2 or 4). */
struct io_mirror_reg {
	uint8_t off;
	uint8_t size;
};

/* What a posted write to offsets off..off+len-1 changes (io_ops.post_effects). */
struct io_post_effect {
	uint8_t off;
	uint8_t len;
	uint8_t mirrored; /* bit j: it may change mirrored[j] of its own region */
	bool any;	  /* it may change any mirrored register (then mirrored is unused) */
	/*
	 * len 1 only: a one-byte write that leaves these bits as the last
	 * write to this offset left them changes nothing.  The device changes
	 * them only through such writes, synchronous writes and posted writes
	 * at offsets no entry covers (HVM_MSG_SET_PIO_EFFECTS, quiet_mask).
	 */
	uint8_t quiet_mask;
	/*
	 * len 1 only, nonzero: until the dm has applied such a write, one-byte
	 * reads of the mirrored registers in busy_mirrored (bits, as
	 * `mirrored`), and of the first mirrored register of the region's
	 * `linked` region when busy_linked, may read this value: the device
	 * shows it until it has taken the write, and those reads have no side
	 * effect the write lacks (HVM_MSG_SET_PIO_BUSY; IDE: BSY after a
	 * command).
	 */
	uint8_t busy;
	uint8_t busy_mirrored;
	bool busy_linked;
};

enum io_space {
	IO_PIO = 0,
	IO_MMIO = 1,
	IO_NR_SPACES,
};

struct io_ops {
	uint64_t (*read)(void *opaque, uint64_t off, unsigned size);
	void (*write)(void *opaque, uint64_t off, uint64_t val, unsigned size);
	uint8_t min_size;     /* smallest size the callbacks handle (0 means 1) */
	uint8_t max_size;     /* largest size the callbacks handle (0 means 4) */
	bool allow_unaligned; /* callbacks accept accesses that cross their size */
	/*
	 * Port I/O only: bit o set means a write to offset o (o < 64) only
	 * latches a value (no reply, no side effect that the guest can see
	 * before its next read of the device).  The hypervisor may then post
	 * such writes through the buffered ring (HVM_MSG_SET_BUFFERED_PIO in
	 * include/hvm/setup.h) instead of waiting for each one.
	 */
	uint64_t posted_writes;
	/*
	 * Port I/O only: bit o set means a write to offset o starts something
	 * (a command, a DMA transfer) but returns nothing to the vCPU and is
	 * otherwise like a posted write: nothing the guest can see changes
	 * before its next access to the device.  The hypervisor may post it
	 * and signal the dm at once (HVM_MSG_SET_URGENT_PIO); with an older
	 * hypervisor it stays synchronous.
	 */
	uint64_t urgent_writes;
	/*
	 * Port I/O only: registers whose reads have no side effect and whose
	 * value the device publishes with io_mirror_set() at every change, so
	 * the hypervisor may answer reads of them without a round trip
	 * (HVM_MSG_SET_PIO_MIRROR).  At most IO_MIRROR_REGS.
	 */
	const struct io_mirror_reg *mirrored;
	uint8_t nr_mirrored;
	/*
	 * Port I/O only: for posted and urgent writes, which mirrored
	 * registers each may change, so the hypervisor can answer reads of
	 * the others from the mirror while the write is still queued
	 * (HVM_MSG_SET_PIO_EFFECTS).  A write at an offset no entry covers
	 * may change any mirrored register of any device.  Only what a read
	 * right after the write must show counts; a change the device shows
	 * only after a while anyway (a DMA start's end) does not.
	 */
	const struct io_post_effect *post_effects;
	uint8_t nr_post_effects;
};

/* Embedded in device state; fields are private to iospace.c. */
struct io_region {
	const struct io_ops *ops;
	void *opaque;
	const char *name;
	uint64_t len;
	uint64_t base;
	enum io_space space;
	bool mapped;
	struct dm *dm;
	/* Mirrored registers: last published value, 1 + page word (0: none). */
	uint32_t mirror_val[IO_MIRROR_REGS];
	uint8_t mirror_word[IO_MIRROR_REGS];
	uint8_t mirror_valid; /* bit j: mirror_val[j] was set */
	/* Another region of the same device, for busy_linked effects (or NULL). */
	const struct io_region *linked;
};

void io_region_init(struct io_region *r, const struct io_ops *ops, void *opaque, const char *name,
		    uint64_t len);
/* Map at base in space.  -EEXIST on overlap, -EINVAL for a bad range. */
int io_region_map(struct dm *dm, struct io_region *r, enum io_space space, uint64_t base);
/* Unmap if mapped (no-op otherwise). */
void io_region_unmap(struct io_region *r);
/* Move a mapped or unmapped region (BAR reprogramming).  0 or -errno. */
int io_region_move(struct dm *dm, struct io_region *r, enum io_space space, uint64_t base);

/*
 * One access of `size` bytes (1, 2, 4 or 8) at addr.  Reads store the value
 * in *val (all-ones bytes where unclaimed).  Always returns 0 for well-formed
 * accesses, -EINVAL for a bad size.
 */
int io_dispatch(struct dm *dm, enum io_space space, uint64_t addr, unsigned size, bool is_write,
		uint64_t *val);

/*
 * The ports whose writes may be posted (io_ops.posted_writes of the mapped
 * port regions, and their urgent_writes unless the hypervisor cannot signal
 * those at once), merged into at most max ranges in port order; returns how
 * many were stored.  Ranges beyond max are left out (they stay synchronous).
 */
unsigned io_posted_pio_ranges(struct dm *dm, struct hvm_range *out, unsigned max);

/*
 * The mirrored register at offset off of r (io_ops.mirrored) now reads val.
 * Call it right after every change of what a read of the register returns,
 * before raising any interrupt that tells the guest about the change: the
 * value is published to the hypervisor at once (release store), and reads
 * stay synchronous until the device set a value.  Cheap (no system call);
 * a no-op for an offset that is not mirrored.  Loop thread only.
 */
void io_mirror_set(struct io_region *r, unsigned off, uint32_t val);
/*
 * Reads of the mirrored register at offset off of r go synchronous again
 * (until the next io_mirror_set): for a register whose reads have a side
 * effect only at times.  Same ordering rules as io_mirror_set.
 */
void io_mirror_clear(struct io_region *r, unsigned off);

/*
 * What the hypervisor may answer for a read of size bytes at port from the
 * mirror, ring permitting: true with *val when the read lies wholly in a
 * mirrored register of a mapped port region whose value was set (whether
 * or not the hypervisor took the page).  For tests and debugging.
 */
bool io_mirror_peek(struct dm *dm, uint16_t port, unsigned size, uint64_t *val);

/*
 * The ports whose writes the hypervisor signals at once (io_ops.
 * urgent_writes of the mapped port regions), like io_posted_pio_ranges().
 */
unsigned io_urgent_pio_ranges(struct dm *dm, struct hvm_range *out, unsigned max);

/* Free the dispatch tables (regions themselves belong to their devices). */
void io_space_free(struct dm *dm);

/* The region containing addr in space, or NULL. */
struct io_region *io_lookup(struct dm *dm, enum io_space space, uint64_t addr);

#endif /* DM_IOSPACE_H */
