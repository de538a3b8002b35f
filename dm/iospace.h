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
 * port regions), merged into at most max ranges in port order; returns how
 * many were stored.  Ranges beyond max are left out (they stay synchronous).
 */
unsigned io_posted_pio_ranges(struct dm *dm, struct hvm_range *out, unsigned max);

/* Free the dispatch tables (regions themselves belong to their devices). */
void io_space_free(struct dm *dm);

/* The region containing addr in space, or NULL. */
struct io_region *io_lookup(struct dm *dm, enum io_space space, uint64_t addr);

#endif /* DM_IOSPACE_H */
