/* SPDX-License-Identifier: MIT */
/*
 * gmem.h - checked access to guest-physical memory from the device model.
 *
 * Guest RAM is the hypervisor's memfd mapped into hvmdm: [0, below_4g) at 0
 * except the legacy VGA hole [0xA0000, 0xC0000), and [4 GiB, 4 GiB +
 * above_4g).  The ioreq bounce pages are a further region.  Every access must
 * lie wholly inside one region; anything else returns -EFAULT and touches
 * nothing.  64-bit unsigned arithmetic throughout, so gpa + len never wraps
 * unnoticed.  Callable from any thread (the mappings never change while the
 * dm runs).
 */
#ifndef DM_GMEM_H
#define DM_GMEM_H

#include <stddef.h>
#include <stdint.h>

struct dm;

#define GMEM_MAX_REGIONS 8

#define GMEM_NO_TRACK UINT64_MAX

struct gmem_region {
	uint64_t gpa;
	uint64_t len;
	uint8_t *host;
	uint64_t fd_offset; /* offset in the RAM memfd, or GMEM_NO_TRACK */
};

struct gmem {
	struct gmem_region r[GMEM_MAX_REGIONS];
	unsigned nr;
	uint32_t *written;	/* HVM_FD_WRITTEN bitmap, or NULL */
	uint64_t written_pages; /* bits in it */
};

/*
 * Add a region backed by host memory (used by setup and by unit tests).
 * fd_offset locates it in the RAM memfd for the written-page bitmap
 * (GMEM_NO_TRACK for memory the CPU never executes from, e.g. bounce pages).
 */
int gmem_add(struct gmem *m, uint64_t gpa, uint64_t len, void *host, uint64_t fd_offset);
/*
 * Report that the dm stored into [gpa, gpa+len) through a gmem_map()
 * pointer (gmem_write does it itself).  Call after the stores.
 */
void gmem_mark_written(struct dm *dm, uint64_t gpa, uint64_t len);

int gmem_read(struct dm *dm, uint64_t gpa, void *buf, size_t len);
int gmem_write(struct dm *dm, uint64_t gpa, const void *buf, size_t len);
/* Host pointer for [gpa, gpa+len) when it lies inside one region, else NULL. */
void *gmem_map(struct dm *dm, uint64_t gpa, size_t len);

/* Little-endian helpers; each returns 0 or -EFAULT (and *v = all-ones). */
int gmem_read_u8(struct dm *dm, uint64_t gpa, uint8_t *v);
int gmem_read_u16(struct dm *dm, uint64_t gpa, uint16_t *v);
int gmem_read_u32(struct dm *dm, uint64_t gpa, uint32_t *v);
int gmem_read_u64(struct dm *dm, uint64_t gpa, uint64_t *v);
int gmem_write_u32(struct dm *dm, uint64_t gpa, uint32_t v);

#endif /* DM_GMEM_H */
