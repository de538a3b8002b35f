/* SPDX-License-Identifier: MIT */
/*
 * ioreq.h - the I/O request ABI between the hypervisor (hvmhv) and the device
 * model (hvmdm).
 *
 * Byte-compatible with Xen's public hvm/ioreq.h (Xen >= 4.0 layout): a 32-byte
 * ioreq per vCPU in one 4 KiB shared page, and a buffered page of 511 8-byte
 * slots with free-running read/write pointers.  Xen declares the flag byte and
 * the buffered slot with C bitfields; here they are plain integers and masks so
 * the layout does not depend on the compiler.
 *
 * Synchronous request state machine (one slot per vCPU):
 *
 *   NONE --hv--> READY --dm--> INPROCESS --dm--> IORESP_READY --hv--> NONE
 *
 *   NONE          owned by the hypervisor.  It fills addr/data/count/size/
 *                 flags/type with the state still NONE, issues a write
 *                 barrier, sets READY, then signals the vCPU's request event.
 *   READY         owned by the device model.  It checks the state, issues a
 *                 read barrier, sets INPROCESS and copies the slot into locals
 *                 once; it never re-reads the shared slot while working.
 *   INPROCESS     owned by the device model.  When done it writes only `data`,
 *                 issues a write barrier, sets IORESP_READY and signals the
 *                 vCPU's response event.
 *   IORESP_READY  owned by the hypervisor.  It issues a read barrier, reads
 *                 `data`, and sets NONE before resuming the vCPU.
 *
 * If the device model disappears while a request is outstanding, the
 * hypervisor completes the request with all-ones data (Xen's rule when the
 * state is found back at NONE) instead of waiting forever.
 *
 * On x86 (TSO) the read/write barriers are compiler barriers; the state field
 * is accessed with atomic loads/stores.
 *
 * Buffered ring: the hypervisor writes slot(s), write barrier, then advances
 * write_pointer and signals the buffered event.  The device model reads
 * read_pointer, then write_pointer (read barrier between), decodes the slot at
 * read_pointer % 511, and advances read_pointer atomically by 1, or by 2 for
 * an 8-byte write (the second slot's data is the high half).  Only writes are
 * buffered.  Before handling any synchronous request the device model drains
 * the buffered ring, so earlier buffered writes are never reordered after it.
 */
#ifndef HVM_IOREQ_H
#define HVM_IOREQ_H

#include <stddef.h>
#include <stdint.h>

#define IOREQ_READ 1
#define IOREQ_WRITE 0

#define STATE_IOREQ_NONE 0
#define STATE_IOREQ_READY 1
#define STATE_IOREQ_INPROCESS 2
#define STATE_IORESP_READY 3

#define IOREQ_TYPE_PIO 0	/* port I/O; addr is the port */
#define IOREQ_TYPE_COPY 1	/* MMIO; addr is a guest-physical address */
#define IOREQ_TYPE_PCI_CONFIG 2 /* addr: seg<<48 | bus<<40 | dev<<35 | fn<<32 | reg */
#define IOREQ_TYPE_TIMEOFFSET 7 /* RTC offset update, 64-bit data */
#define IOREQ_TYPE_INVALIDATE 8 /* drop cached guest mappings */

/* Byte 30 of struct ioreq ("flags"). */
#define IOREQ_F_STATE_MASK 0x0f
#define IOREQ_F_DATA_IS_PTR 0x10 /* data is the guest-physical address of the items */
#define IOREQ_F_DIR_READ 0x20	 /* 1 = read (IOREQ_READ), 0 = write */
#define IOREQ_F_DF 0x40		 /* x86 direction flag: item i at base - i*size */

struct ioreq {
	uint64_t addr;	   /*  0 */
	uint64_t data;	   /*  8 */
	uint32_t count;	   /* 16: repetitions, >= 1 */
	uint32_t size;	   /* 20: bytes per item: 1, 2, 4 or 8 */
	uint32_t vp_eport; /* 24: event channel (vCPU index here) */
	uint16_t pad0;	   /* 28 */
	uint8_t flags;	   /* 30: state (bits 0-3), data_is_ptr, dir, df */
	uint8_t type;	   /* 31: IOREQ_TYPE_* */
};

_Static_assert(sizeof(struct ioreq) == 32, "ioreq is 32 bytes");
_Static_assert(offsetof(struct ioreq, addr) == 0, "ioreq.addr");
_Static_assert(offsetof(struct ioreq, data) == 8, "ioreq.data");
_Static_assert(offsetof(struct ioreq, count) == 16, "ioreq.count");
_Static_assert(offsetof(struct ioreq, size) == 20, "ioreq.size");
_Static_assert(offsetof(struct ioreq, vp_eport) == 24, "ioreq.vp_eport");
_Static_assert(offsetof(struct ioreq, pad0) == 28, "ioreq.pad0");
_Static_assert(offsetof(struct ioreq, flags) == 30, "ioreq.flags");
_Static_assert(offsetof(struct ioreq, type) == 31, "ioreq.type");

#define IOREQ_PAGE_SIZE 4096
#define IOREQ_MAX_VCPUS (IOREQ_PAGE_SIZE / sizeof(struct ioreq)) /* 128 */

struct shared_iopage {
	struct ioreq vcpu_ioreq[IOREQ_MAX_VCPUS];
};
_Static_assert(sizeof(struct shared_iopage) == IOREQ_PAGE_SIZE, "shared_iopage is one page");

/*
 * Buffered slot, as two little-endian words:
 *   word0 bits 0-7 type, bit 8 pad, bit 9 dir, bits 10-11 size code
 *         (0:1, 1:2, 2:4, 3:8 bytes), bits 12-31 addr (20 bits)
 *   word1 data (low half; for size code 3 the next slot's data is the high half)
 */
struct buf_ioreq {
	uint32_t word0;
	uint32_t data;
};
_Static_assert(sizeof(struct buf_ioreq) == 8, "buf_ioreq is 8 bytes");
_Static_assert(offsetof(struct buf_ioreq, data) == 4, "buf_ioreq.data");

#define BUF_IOREQ_TYPE(w) ((w)&0xff)
#define BUF_IOREQ_DIR(w) (((w) >> 9) & 1)
#define BUF_IOREQ_SIZE_CODE(w) (((w) >> 10) & 3)
#define BUF_IOREQ_ADDR(w) ((w) >> 12)
#define BUF_IOREQ_ADDR_MAX 0xfffffu
#define BUF_IOREQ_WORD0(type, dir, code, addr)                                                 \
	((uint32_t)((type)&0xff) | ((uint32_t)((dir)&1) << 9) | ((uint32_t)((code)&3) << 10) | \
	 ((uint32_t)(addr) << 12))

#define IOREQ_BUFFER_SLOT_NUM 511

/*
 * Lazy signalling of the buffered ring (not Xen ABI; both sides here):
 * hvmhv signals a buffered write that finds the ring drained only when
 * the last such write is HVM_BUF_IDLE_NS old (besides a half-full ring
 * and a halting vCPU); hvmdm, once it has applied a buffered write, drains
 * the ring every HVM_BUF_DRAIN_PERIOD_NS until HVM_BUF_DRAIN_IDLE_PERIODS
 * periods pass without one.  The dm's timer must outlive the quiet spell
 * by a period, or a write could wait for a signal that never comes.
 */
#define HVM_BUF_IDLE_NS 50000000ull
#define HVM_BUF_DRAIN_PERIOD_NS 10000000ull
#define HVM_BUF_DRAIN_IDLE_PERIODS 10
_Static_assert(HVM_BUF_IDLE_NS + HVM_BUF_DRAIN_PERIOD_NS <
		       HVM_BUF_DRAIN_IDLE_PERIODS * HVM_BUF_DRAIN_PERIOD_NS,
	       "the dm's drain timer outlives hvmhv's quiet spell");

struct buffered_iopage {
	uint32_t read_pointer;	/* 0: advanced by the device model only */
	uint32_t write_pointer; /* 4: advanced by the hypervisor only */
	struct buf_ioreq buf_ioreq[IOREQ_BUFFER_SLOT_NUM]; /* 8 */
};
_Static_assert(sizeof(struct buffered_iopage) == IOREQ_PAGE_SIZE, "buffered_iopage is one page");
_Static_assert(offsetof(struct buffered_iopage, read_pointer) == 0, "read_pointer");
_Static_assert(offsetof(struct buffered_iopage, write_pointer) == 4, "write_pointer");
_Static_assert(offsetof(struct buffered_iopage, buf_ioreq) == 8, "buf_ioreq");

static inline unsigned ioreq_state(uint8_t flags)
{
	return flags & IOREQ_F_STATE_MASK;
}

static inline uint8_t ioreq_flags_with_state(uint8_t flags, unsigned state)
{
	return (uint8_t)((flags & ~IOREQ_F_STATE_MASK) | (state & IOREQ_F_STATE_MASK));
}

/* Atomic accessors for the flag byte that carries the state. */
static inline uint8_t ioreq_load_flags(const struct ioreq *r)
{
	return __atomic_load_n(&r->flags, __ATOMIC_ACQUIRE);
}

static inline void ioreq_store_flags(struct ioreq *r, uint8_t flags)
{
	__atomic_store_n(&r->flags, flags, __ATOMIC_RELEASE);
}

#endif /* HVM_IOREQ_H */
