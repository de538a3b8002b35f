// SPDX-License-Identifier: MIT
/*
 * test_pio_mirror.c - port reads answered from the dm's mirror page
 * (HVM_MSG_SET_PIO_MIRROR) and urgent posted port writes
 * (HVM_MSG_SET_URGENT_PIO), end to end in one process: hvmhv's producer
 * (hypervisor/ioreq.c) against hvmdm's consumer and port dispatch
 * (dm/ioreq.c, dm/iospace.c), with a small setup-socket server standing in
 * for hypervisor/setup.c.  No KVM needed.
 *
 * The toy device at TOY_BASE:
 *   +0  VAL   1 byte, mirrored: reads return `val`
 *   +1  SET   posted write: val = written byte (changes the mirrored VAL)
 *   +2  GO    urgent posted write: counted (no declared effects: may change anything)
 *   +3  NOTE  posted write: counted, changes no mirrored register
 *   +4  WIDE  4 bytes, mirrored
 *   +8  SEL   posted write: may change anything, but not when bit 4 stays
 *             as the last write left it (a quiet entry, like IDE's drive select)
 *   +9  KICK  posted write: may change any mirrored register, but not SEL's bit
 * Every read that reaches the device is counted, so a test can tell a read
 * the hv answered from the mirror from one that went to the dm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../common/hvm_msg.h"
#include "../../dm/dm.h"
#include "../../dm/ioreq.h"
#include "../../dm/iospace.h"
#include "../../dm/loop.h"
#include "../../hypervisor/ioreq.h"
#include "ioreq_fix.h"
#include "tap.h"

#define TOY_BASE 0x300u
#define TOY_MOVED 0x310u
#define STRESS_ROUNDS 20000u

struct toy {
	struct io_region region;
	uint8_t val;
	uint32_t wide;
	unsigned reads, gos, notes;
	uint8_t sel;
};

static const struct io_mirror_reg toy_mirrored[] = {
	{ .off = 0, .size = 1 },
	{ .off = 4, .size = 4 },
};

static uint64_t toy_read(void *opaque, uint64_t off, unsigned size)
{
	struct toy *t = opaque;

	(void)size;
	t->reads++;
	if (off == 0)
		return t->val;
	if (off >= 4)
		return t->wide >> ((off - 4) * 8);
	return 0xff;
}

static void toy_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct toy *t = opaque;

	(void)size;
	if (off == 1) {
		t->val = (uint8_t)val;
		io_mirror_set(&t->region, 0, t->val);
	} else if (off == 2) {
		t->gos++;
	} else if (off == 3) {
		t->notes++;
	} else if (off == 8) {
		t->sel = (uint8_t)val;
	}
}

/* SET changes VAL only; NOTE changes nothing; GO is left undeclared. */
static const struct io_post_effect toy_effects[] = {
	{ .off = 1, .len = 1, .mirrored = 0x01 },
	{ .off = 3, .len = 1, .mirrored = 0 },
	{ .off = 8, .len = 1, .any = true, .quiet_mask = 0x10 },
	{ .off = 9, .len = 1, .any = true },
};

static const struct io_ops toy_ops = {
	.read = toy_read,
	.write = toy_write,
	.min_size = 1,
	.max_size = 1,
	.posted_writes = 0x30a,
	.urgent_writes = 0x04,
	.mirrored = toy_mirrored,
	.nr_mirrored = 2,
	.post_effects = toy_effects,
	.nr_post_effects = 4,
};

/* ---- fixture and the hv's setup socket ------------------------------ */

struct fix {
	struct ioreq_fix io; /* comes first: hv_answer() gets its address */
	struct toy toy;
	bool old_hv;	  /* answer the new messages with -ENOSYS, as a hv that predates them */
	int urgent_error; /* nonzero: refuse SET_URGENT_PIO with it */
	unsigned mirror_msgs, urgent_msgs, effects_msgs, busy_msgs;
};

static int hv_answer(struct ioreq_fix *io, const struct hvm_msg *hdr, const void *payload, int fd)
{
	struct fix *f = (struct fix *)io;
	const struct hvm_range *r = payload;
	unsigned n = hdr->len / sizeof(struct hvm_range);

	switch (hdr->type) {
	case HVM_MSG_SET_BUFFERED_PIO:
		return ioreq_set_buffered_pio(&io->p, r, n);
	case HVM_MSG_SET_URGENT_PIO:
		f->urgent_msgs++;
		if (f->urgent_error)
			return f->urgent_error;
		return f->old_hv ? -ENOSYS : ioreq_set_urgent_pio(&io->p, r, n);
	case HVM_MSG_SET_PIO_MIRROR:
		f->mirror_msgs++;
		return f->old_hv ? -ENOSYS : ioreq_set_pio_mirror(&io->p, r, n, fd);
	case HVM_MSG_SET_PIO_EFFECTS:
		f->effects_msgs++;
		return f->old_hv ? -ENOSYS
				 : ioreq_set_pio_effects(&io->p, payload,
							 hdr->len / sizeof(struct hvm_pio_effect));
	case HVM_MSG_SET_PIO_BUSY:
		f->busy_msgs++;
		return f->old_hv ? -ENOSYS
				 : ioreq_set_pio_busy(&io->p, payload,
						      hdr->len / sizeof(struct hvm_pio_busy));
	}
	return -ENOSYS;
}

static uint64_t fake_ns = 1000000000ull;

static uint64_t fake_now(void)
{
	return fake_ns;
}

static void setup(struct fix *f, bool old_hv)
{
	memset(f, 0, sizeof(*f));
	f->old_hv = old_hv;
	ioreq_fix_create(&f->io, 1 << 20, hv_answer);
	f->io.p.now = fake_now;
	io_region_init(&f->toy.region, &toy_ops, &f->toy, "toy", 16);
	ioreq_fix_attach(&f->io);
}

/* Events written to the buffered eventfd since the last call. */
static uint64_t kicks(struct fix *f)
{
	uint64_t v = 0;

	if (read(f->io.p.buf_fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* Read through ioreq_send() as hv_io_pio() does; bounded at ~5 s. */
static uint64_t vcpu_read(struct fix *f, uint16_t port, uint32_t size)
{
	return ioreq_fix_sync(&f->io, (struct ioreq_req){ .type = IOREQ_TYPE_PIO,
							  .is_read = true,
							  .size = size,
							  .count = 1,
							  .addr = port });
}

static bool mread(struct fix *f, uint16_t port, uint32_t size, uint64_t *v)
{
	return ioreq_mirror_read(&f->io.p, port, size, v);
}

/* Mapping the device told the hv about its mirrored, posted and urgent ports. */
static void test_sets(struct fix *f)
{
	CHECK_EQ(io_region_map(f->io.dm, &f->toy.region, IO_PIO, TOY_BASE), 0);
	CHECK(f->io.p.mirror != NULL);
	CHECK(ioreq_pio_bufferable(&f->io.p, TOY_BASE + 1, 1));
	CHECK(ioreq_pio_bufferable(&f->io.p, TOY_BASE + 2, 1));
	CHECK(ioreq_pio_urgent(&f->io.p, TOY_BASE + 2, 1));
	CHECK(!ioreq_pio_urgent(&f->io.p, TOY_BASE + 1, 1));
	CHECK(ioreq_pio_urgent(&f->io.p, TOY_BASE + 1, 2)); /* touches GO */
	CHECK(!ioreq_pio_bufferable(&f->io.p, TOY_BASE, 1));
}

/* A value the device published is answered without a round trip. */
static void test_hit(struct fix *f)
{
	unsigned reads = f->toy.reads;
	uint64_t v = 0;

	/* Nothing published yet: the dm answers. */
	CHECK(!mread(f, TOY_BASE, 1, &v));
	CHECK(!mread(f, TOY_BASE + 4, 4, &v));
	f->toy.val = 0x5a;
	io_mirror_set(&f->toy.region, 0, 0x5a);
	f->toy.wide = 0x11223344;
	io_mirror_set(&f->toy.region, 4, 0x11223344);
	CHECK(mread(f, TOY_BASE, 1, &v));
	CHECK_EQ(v, 0x5a);
	CHECK(mread(f, TOY_BASE + 4, 4, &v));
	CHECK_EQ(v, 0x11223344);
	CHECK(mread(f, TOY_BASE + 5, 2, &v));
	CHECK_EQ(v, 0x2233);
	CHECK(mread(f, TOY_BASE + 7, 1, &v));
	CHECK_EQ(v, 0x11);
	CHECK(!mread(f, TOY_BASE + 6, 4, &v)); /* runs past the register */
	CHECK(!mread(f, TOY_BASE, 2, &v));     /* VAL and SET */
	CHECK(!mread(f, TOY_BASE + 1, 1, &v)); /* not mirrored */
	CHECK(!mread(f, TOY_BASE + 4, 3, &v)); /* no such width */
	CHECK_EQ(f->toy.reads, reads);
	/* ioreq_send() answers from it too: the device sees no read. */
	CHECK_EQ(vcpu_read(f, TOY_BASE, 1), 0x5a);
	CHECK_EQ(vcpu_read(f, TOY_BASE + 4, 4), 0x11223344);
	CHECK_EQ(f->toy.reads, reads);
	/* Not mirrored: the device answers. */
	CHECK_EQ(vcpu_read(f, TOY_BASE + 1, 1), 0xff);
	CHECK_EQ(f->toy.reads, reads + 1);
}

/*
 * A posted write that changes the mirrored value, then a read: never the
 * stale value.  While the write is in the ring the hv refuses the mirror;
 * the read goes to the dm, which applies the write first.
 */
static void test_posted_then_read(struct fix *f)
{
	unsigned reads = f->toy.reads;
	uint64_t v = 0;

	CHECK(ioreq_send_buffered_pio(&f->io.p, TOY_BASE + 1, 1, 0x77));
	/*
	 * Nothing else makes the dm drain while the vCPU reads: take the
	 * write's signal away, and the drain timer has not started yet.
	 */
	kicks(f);
	CHECK(!ioreq_drain_timer_armed(f->io.dm));
	CHECK(!ioreq_fix_ring_empty(&f->io));
	CHECK(!mread(f, TOY_BASE, 1, &v));
	CHECK(mread(f, TOY_BASE + 4, 4, &v)); /* SET cannot change WIDE (test_effects) */
	CHECK_EQ(vcpu_read(f, TOY_BASE, 1), 0x77);
	CHECK_EQ(f->toy.reads, reads + 1);
	CHECK(ioreq_fix_ring_empty(&f->io));
	/* Applied and published by the dm: the mirror has the new value. */
	CHECK(mread(f, TOY_BASE, 1, &v));
	CHECK_EQ(v, 0x77);

	/* Drained by the dm's own timer or signal instead of a read: same. */
	CHECK(ioreq_send_buffered_pio(&f->io.p, TOY_BASE + 1, 1, 0x78));
	CHECK(!mread(f, TOY_BASE, 1, &v));
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 1);
	CHECK(mread(f, TOY_BASE, 1, &v));
	CHECK_EQ(v, 0x78);
	kicks(f);
}

/* A moved or unmapped register is never answered at its old port. */
static void test_move(struct fix *f)
{
	uint64_t v = 0;

	CHECK_EQ(io_region_move(f->io.dm, &f->toy.region, IO_PIO, TOY_MOVED), 0);
	CHECK(!mread(f, TOY_BASE, 1, &v));
	CHECK(mread(f, TOY_MOVED, 1, &v));
	CHECK_EQ(v, 0x78);
	CHECK(mread(f, TOY_MOVED + 4, 4, &v));
	CHECK_EQ(v, 0x11223344);
	CHECK(ioreq_pio_urgent(&f->io.p, TOY_MOVED + 2, 1));
	CHECK(!ioreq_pio_urgent(&f->io.p, TOY_BASE + 2, 1));
	/*
	 * An hv still on the old table (a vCPU racing the set change) lands
	 * on words that now describe the moved registers: refused.
	 */
	{
		struct hvm_range old[2] = { { TOY_BASE, 1 }, { TOY_BASE + 4, 4 } };
		struct hvm_range now[2] = { { TOY_MOVED, 1 }, { TOY_MOVED + 4, 4 } };

		CHECK_EQ(ioreq_set_pio_mirror(&f->io.p, old, 2, -1), 0);
		CHECK(!mread(f, TOY_BASE, 1, &v));
		CHECK(!mread(f, TOY_BASE + 4, 4, &v));
		CHECK(!mread(f, TOY_BASE + 7, 1, &v));
		CHECK_EQ(ioreq_set_pio_mirror(&f->io.p, now, 2, -1), 0);
	}
	/* Unmapped: the dm cleared every word before it told the hv. */
	io_region_unmap(&f->toy.region);
	for (unsigned w = 0; w < HVM_PIO_MIRROR_MAX_PORTS; w++)
		CHECK(!(f->io.p.mirror->word[w] & HVM_PIO_MIRROR_VALID));
	CHECK(!mread(f, TOY_MOVED, 1, &v));
	CHECK(!ioreq_pio_bufferable(&f->io.p, TOY_MOVED + 2, 1));
	CHECK_EQ(io_region_map(f->io.dm, &f->toy.region, IO_PIO, TOY_BASE), 0);
	CHECK(mread(f, TOY_BASE, 1, &v));
	CHECK_EQ(v, 0x78);
}

/*
 * An urgent write signals the dm at once, where an ordinary posted write
 * behind a pending one waits for the dm's drain timer, and the dm's loop
 * applies it as soon as it looks (no timer tick needed).
 */
static void test_urgent(struct fix *f)
{
	unsigned gos = f->toy.gos;

	kicks(f);
	fake_ns += 1000; /* not idle: a write finding the ring empty is not signalled */
	CHECK(ioreq_send_buffered_pio(&f->io.p, TOY_BASE + 1, 1, 0x79));
	CHECK(ioreq_send_buffered_pio(&f->io.p, TOY_BASE + 1, 1, 0x7a));
	CHECK_EQ(kicks(f), 0);
	CHECK(ioreq_send_buffered_pio(&f->io.p, TOY_BASE + 2, 1, 1));
	CHECK_EQ(kicks(f), 1);
	CHECK_EQ(f->io.p.kicks_urgent, 1);
	/* Put the signal back and let the loop see it: one pass, no timeout. */
	{
		uint64_t one = 1;

		CHECK_EQ(write(f->io.p.buf_fd, &one, sizeof(one)), sizeof(one));
	}
	loop_run_once(f->io.dm->loop, 0);
	CHECK_EQ(f->toy.gos, gos + 1);
	CHECK_EQ(f->toy.val, 0x7a);
	CHECK(ioreq_fix_ring_empty(&f->io));
	/* Alone in an idle-but-recent ring, it is still signalled. */
	fake_ns += 1000;
	CHECK(ioreq_send_buffered_pio(&f->io.p, TOY_BASE + 2, 1, 1));
	CHECK_EQ(kicks(f), 1);
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 1);
	CHECK_EQ(f->toy.gos, gos + 2);
}

/* Post a write and take its signal away, so only the test makes the dm drain. */
static void post_quiet(struct fix *f, uint16_t port, uint8_t val)
{
	CHECK(ioreq_send_buffered_pio(&f->io.p, port, 1, val));
	kicks(f);
}

/*
 * With SET_PIO_EFFECTS, a mirrored read waits only for queued writes that
 * may change its register: VAL waits for SET but not for NOTE, WIDE for
 * neither, and everything for GO (no declared effects).
 */
static void test_effects(struct fix *f)
{
	uint64_t v = 0, early = f->io.p.mirror_early;

	CHECK(f->effects_msgs >= 1);
	CHECK(ioreq_fix_ring_empty(&f->io));
	post_quiet(f, TOY_BASE + 1, 0x55);
	CHECK(!mread(f, TOY_BASE, 1, &v)); /* SET may change VAL */
	CHECK(mread(f, TOY_BASE + 4, 4, &v));
	CHECK_EQ(v, 0x11223344);
	CHECK_EQ(f->io.p.mirror_early, early + 1);
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 1);
	CHECK(mread(f, TOY_BASE, 1, &v));
	CHECK_EQ(v, 0x55);

	post_quiet(f, TOY_BASE + 3, 1);
	CHECK(mread(f, TOY_BASE, 1, &v)); /* NOTE changes nothing */
	CHECK_EQ(v, 0x55);
	post_quiet(f, TOY_BASE + 1, 0x56); /* behind NOTE: VAL waits again */
	CHECK(!mread(f, TOY_BASE, 1, &v));
	CHECK_EQ(vcpu_read(f, TOY_BASE, 1), 0x56); /* the dm drains first */
	CHECK(ioreq_fix_ring_empty(&f->io));

	post_quiet(f, TOY_BASE + 2, 1); /* GO: undeclared */
	CHECK(!mread(f, TOY_BASE, 1, &v));
	CHECK(!mread(f, TOY_BASE + 4, 4, &v));
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 1);
	CHECK(mread(f, TOY_BASE + 4, 4, &v));

	/* A new mirror set forgets the effects (word numbers may have changed). */
	{
		struct hvm_range now[2] = { { TOY_BASE, 1 }, { TOY_BASE + 4, 4 } };

		CHECK_EQ(ioreq_set_pio_mirror(&f->io.p, now, 2, -1), 0);
	}
	post_quiet(f, TOY_BASE + 3, 2);
	CHECK(!mread(f, TOY_BASE, 1, &v));
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 1);
	/* Moving the device sends both again: NOTE is harmless at the new port. */
	CHECK_EQ(io_region_move(f->io.dm, &f->toy.region, IO_PIO, TOY_MOVED), 0);
	post_quiet(f, TOY_MOVED + 3, 3);
	CHECK(mread(f, TOY_MOVED, 1, &v));
	CHECK_EQ(v, 0x56);
	post_quiet(f, TOY_MOVED + 1, 0x57);
	CHECK(!mread(f, TOY_MOVED, 1, &v));
	CHECK_EQ(vcpu_read(f, TOY_MOVED, 1), 0x57);
	CHECK_EQ(io_region_move(f->io.dm, &f->toy.region, IO_PIO, TOY_BASE), 0);
	CHECK_EQ(f->toy.notes, 3);
}

/* Post SEL at base; VAL answered from the mirror or not; then the dm drains. */
static void sel_then_read(struct fix *f, uint16_t base, uint8_t val, bool answered)
{
	uint64_t v = 0;

	post_quiet(f, base + 8, val);
	CHECK_EQ(mread(f, base, 1, &v), answered);
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 1);
}

/*
 * A quiet entry: SEL holds back every read unless its bit 4 stays as the
 * last SEL write left it; the hv forgets that value at a synchronous write
 * and at a posted write with undeclared effects.
 */
static void test_quiet(struct fix *f)
{
	uint64_t v = 0;

	CHECK(ioreq_fix_ring_empty(&f->io));
	post_quiet(f, TOY_BASE + 8, 0x00); /* first: unknown before */
	CHECK(!mread(f, TOY_BASE, 1, &v));
	CHECK(!mread(f, TOY_BASE + 4, 4, &v));
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 1);
	post_quiet(f, TOY_BASE + 8, 0x0f); /* bit 4 still 0 */
	CHECK(mread(f, TOY_BASE, 1, &v));
	CHECK(mread(f, TOY_BASE + 4, 4, &v));
	post_quiet(f, TOY_BASE + 8, 0x1f); /* bit 4 changes */
	CHECK(!mread(f, TOY_BASE, 1, &v));
	CHECK(!mread(f, TOY_BASE + 4, 4, &v));
	post_quiet(f, TOY_BASE + 8, 0x10); /* same as the one still queued */
	CHECK(!mread(f, TOY_BASE, 1, &v)); /* the change ahead still holds it */
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 3);
	CHECK_EQ(f->toy.sel, 0x10);
	post_quiet(f, TOY_BASE + 8, 0x30);
	CHECK(mread(f, TOY_BASE, 1, &v));
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 1);

	/* A synchronous write (here to an unclaimed port) forgets. */
	ioreq_fix_sync(&f->io, (struct ioreq_req){ .type = IOREQ_TYPE_PIO,
						   .size = 1,
						   .count = 1,
						   .addr = TOY_BASE + 12,
						   .data = 1 });
	sel_then_read(f, TOY_BASE, 0x30, false);
	sel_then_read(f, TOY_BASE, 0x30, true);

	/* KICK holds back every read, but it is covered: SEL stays known. */
	post_quiet(f, TOY_BASE + 9, 1);
	CHECK(!mread(f, TOY_BASE, 1, &v));
	CHECK(!mread(f, TOY_BASE + 4, 4, &v));
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 1);
	sel_then_read(f, TOY_BASE, 0x30, true);

	/* A posted write to an uncovered port (GO) forgets. */
	post_quiet(f, TOY_BASE + 2, 1);
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 1);
	sel_then_read(f, TOY_BASE, 0x30, false);
	/* And a new table. */
	sel_then_read(f, TOY_BASE, 0x30, true);
	CHECK_EQ(io_region_move(f->io.dm, &f->toy.region, IO_PIO, TOY_MOVED), 0);
	sel_then_read(f, TOY_MOVED, 0x30, false);
	CHECK_EQ(io_region_move(f->io.dm, &f->toy.region, IO_PIO, TOY_BASE), 0);
}

/* A latch-only device: effects, no mirrored register. */
static void latch_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)val;
	(void)size;
}

static const struct io_post_effect latch_effects[] = {
	{ .off = 0, .len = 2, .mirrored = 0 },
};

static const struct io_ops latch_ops = {
	.write = latch_write,
	.min_size = 1,
	.max_size = 1,
	.posted_writes = 0x03,
	.post_effects = latch_effects,
	.nr_post_effects = 1,
};

/*
 * Its ports enter the hv's table when it is mapped and leave it when it is
 * unmapped: a device mapped there later must not inherit "changes nothing".
 */
static void test_effects_follow_regions(struct fix *f)
{
	struct io_region latch;

	io_region_init(&latch, &latch_ops, NULL, "latch", 2);
	CHECK_EQ(io_region_map(f->io.dm, &latch, IO_PIO, 0x320), 0);
	CHECK(f->io.p.effect_slot[0x320] != 0);
	CHECK(f->io.p.effect_slot[0x321] != 0);
	CHECK(f->io.p.effect_slot[TOY_BASE + 3] != 0); /* the toy's entries are still there */
	io_region_unmap(&latch);
	CHECK_EQ(f->io.p.effect_slot[0x320], 0);
	CHECK_EQ(f->io.p.effect_slot[0x321], 0);
	CHECK(f->io.p.effect_slot[TOY_BASE + 3] != 0);
}

/* The hv's checks on SET_PIO_EFFECTS; a refused set leaves the old one. */
static void test_effects_rules(struct fix *f)
{
	struct hvm_pio_effect overlap[2] = { { 0x300, 4, 0, 0, 0 }, { 0x303, 1, 0, 0, 0 } };
	struct hvm_pio_effect empty = { 0x300, 0, 0, 0, 0 }, past = { 0xffff, 2, 0, 0, 0 };
	struct hvm_pio_effect quiet_range = { 0x300, 2, 0, 0x10, 0 }, rsvd = { 0x300, 1, 0, 0, 1 };
	struct hvm_pio_effect many[HVM_PIO_EFFECTS_MAX + 1];
	uint64_t v = 0;

	for (unsigned i = 0; i <= HVM_PIO_EFFECTS_MAX; i++)
		many[i] = (struct hvm_pio_effect){ 0x1000 + i, 1, 0, 0, 0 };
	CHECK_EQ(ioreq_set_pio_effects(&f->io.p, overlap, 2), -EINVAL);
	CHECK_EQ(ioreq_set_pio_effects(&f->io.p, &empty, 1), -EINVAL);
	CHECK_EQ(ioreq_set_pio_effects(&f->io.p, &past, 1), -EINVAL);
	CHECK_EQ(ioreq_set_pio_effects(&f->io.p, many, HVM_PIO_EFFECTS_MAX + 1), -EINVAL);
	CHECK_EQ(ioreq_set_pio_effects(&f->io.p, &quiet_range, 1), -EINVAL);
	CHECK_EQ(ioreq_set_pio_effects(&f->io.p, &rsvd, 1), -EINVAL);
	CHECK(ioreq_fix_ring_empty(&f->io));
	post_quiet(f, TOY_BASE + 3, 4);
	CHECK(mread(f, TOY_BASE, 1, &v));
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 1);
	/* Cleared: NOTE holds back every read again. */
	CHECK_EQ(ioreq_set_pio_effects(&f->io.p, NULL, 0), 0);
	post_quiet(f, TOY_BASE + 3, 5);
	CHECK(!mread(f, TOY_BASE, 1, &v));
	CHECK_EQ(ioreq_drain_buffered(f->io.dm), 1);
}

/* The hv's checks on SET_PIO_MIRROR. */
static void test_hv_rules(struct fix *f)
{
	struct hvm_range three = { 0x300, 3 }, past = { 0xfffe, 4 }, ok = { 0x300, 1 };
	struct hvm_range overlap[2] = { { 0x300, 4 }, { 0x302, 1 } };
	struct hvm_range many[HVM_PIO_MIRROR_MAX_PORTS + 1];
	struct ioreq_prod q;
	int pf, bf, fd;

	for (unsigned i = 0; i <= HVM_PIO_MIRROR_MAX_PORTS; i++)
		many[i] = (struct hvm_range){ 0x1000 + i * 4, 4 };
	CHECK_EQ(ioreq_set_pio_mirror(&f->io.p, &three, 1, -1), -EINVAL);
	CHECK_EQ(ioreq_set_pio_mirror(&f->io.p, &past, 1, -1), -EINVAL);
	CHECK_EQ(ioreq_set_pio_mirror(&f->io.p, overlap, 2, -1), -EINVAL);
	CHECK_EQ(ioreq_set_pio_mirror(&f->io.p, many, HVM_PIO_MIRROR_MAX_PORTS + 1, -1), -EINVAL);
	/* Refused sets left the dm's set in place. */
	{
		uint64_t v = 0;

		CHECK(mread(f, TOY_BASE, 1, &v));
	}

	/* A fresh producer needs a usable page: none, or one that may shrink. */
	CHECK_EQ(ioreq_prod_create(&q, 1, &pf, &bf), 0);
	CHECK_EQ(ioreq_set_pio_mirror(&q, &ok, 1, -1), -EINVAL);
	fd = memfd_create("unsealed", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 4096), 0);
	CHECK_EQ(ioreq_set_pio_mirror(&q, &ok, 1, fd), -EINVAL);
	CHECK(q.mirror == NULL);
	close(fd);

	/* A sealed page is taken; a word counts only with its valid bit. */
	fd = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 4096), 0);
	CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	{
		uint64_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), v = 0;

		CHECK(page != MAP_FAILED);
		CHECK_EQ(ioreq_set_pio_mirror(&q, &ok, 1, fd), 0);
		CHECK(q.mirror != NULL);
		page[0] = HVM_PIO_MIRROR_WORD(0x300, 1, 0x99) & ~HVM_PIO_MIRROR_VALID;
		CHECK(!ioreq_mirror_read(&q, 0x300, 1, &v));
		page[0] = HVM_PIO_MIRROR_WORD(0x300, 1, 0x99);
		CHECK(ioreq_mirror_read(&q, 0x300, 1, &v));
		CHECK_EQ(v, 0x99);
		/* A word with a width the ABI does not have is refused. */
		page[0] = HVM_PIO_MIRROR_WORD(0x300, 3, 0x99);
		CHECK(!ioreq_mirror_read(&q, 0x300, 1, &v));
		munmap(page, 4096);
	}
	close(fd);
	ioreq_prod_destroy(&q, pf, bf);
}

/*
 * A vCPU thread posts a new value and reads it back, round after round,
 * while the dm's loop runs: every read returns the value just posted,
 * whether the hv answered it from the mirror (the dm had drained) or the
 * dm did (the ring was not empty).  Every other round reads twice, so the
 * second read, with the ring drained by the first, exercises the mirror.
 */
struct stress {
	struct ioreq_prod *p;
	unsigned bad, done;
	uint64_t first_bad, got;
};

static void *stress_vcpu(void *arg)
{
	struct stress *s = arg;

	for (unsigned i = 0; i < STRESS_ROUNDS && !s->bad; i++) {
		uint8_t want = (uint8_t)(i * 7 + 1);
		struct ioreq_req w = { .type = IOREQ_TYPE_PIO,
				       .size = 1,
				       .count = 1,
				       .addr = TOY_BASE + 1,
				       .data = want };

		if (!ioreq_send_buffered_pio(s->p, TOY_BASE + 1, 1, want) &&
		    ioreq_send(s->p, 0, &w) != IOREQ_DONE)
			break;
		for (unsigned k = 0; k < 1 + (i & 1); k++) {
			struct ioreq_req r = { .type = IOREQ_TYPE_PIO,
					       .is_read = true,
					       .size = 1,
					       .count = 1,
					       .addr = TOY_BASE };

			if (ioreq_send(s->p, 0, &r) != IOREQ_DONE || r.data != want) {
				s->bad++;
				s->first_bad = i;
				s->got = r.data;
			}
		}
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_stress(struct fix *f)
{
	struct stress s = { .p = &f->io.p };
	uint64_t hits = f->io.p.mirror_hits;
	pthread_t t;

	f->io.p.now = hvm_poll_now;
	pthread_create(&t, NULL, stress_vcpu, &s);
	/* Bounded at ~60 s. */
	for (unsigned i = 0; i < 6000 && !__atomic_load_n(&s.done, __ATOMIC_ACQUIRE); i++)
		loop_run_once(f->io.dm->loop, 10);
	pthread_join(t, NULL);
	CHECK_EQ(s.bad, 0);
	if (s.bad)
		printf("# round %llu read 0x%llx\n", (unsigned long long)s.first_bad,
		       (unsigned long long)s.got);
	CHECK(f->io.p.mirror_hits > hits);
	printf("# stress: %u rounds, %llu reads answered from the mirror\n", STRESS_ROUNDS,
	       (unsigned long long)(f->io.p.mirror_hits - hits));
	f->io.p.now = fake_now;
}

/*
 * Against a hv that predates both messages: no mirror, and the urgent port
 * stays synchronous (a lazily signalled command could wait for a timer);
 * the latch-only port is still posted.
 */
static void test_old_hv(void)
{
	struct fix f;
	uint64_t v = 0;

	setup(&f, true);
	CHECK_EQ(io_region_map(f.io.dm, &f.toy.region, IO_PIO, TOY_BASE), 0);
	CHECK(f.mirror_msgs >= 1);
	CHECK(f.urgent_msgs >= 1);
	CHECK_EQ(f.effects_msgs, 0); /* sent only after a mirror set the hv took */
	io_mirror_set(&f.toy.region, 0, 0x42);
	CHECK(f.io.p.mirror == NULL);
	CHECK(!mread(&f, TOY_BASE, 1, &v));
	CHECK(ioreq_pio_bufferable(&f.io.p, TOY_BASE + 1, 1));
	CHECK(!ioreq_pio_bufferable(&f.io.p, TOY_BASE + 2, 1));
	/* The dm remembers: moving the device asks again for neither. */
	f.mirror_msgs = f.urgent_msgs = 0;
	CHECK_EQ(io_region_move(f.io.dm, &f.toy.region, IO_PIO, TOY_MOVED), 0);
	CHECK_EQ(f.mirror_msgs, 0);
	CHECK_EQ(f.urgent_msgs, 0);
	CHECK(ioreq_pio_bufferable(&f.io.p, TOY_MOVED + 1, 1));
	CHECK(!ioreq_pio_bufferable(&f.io.p, TOY_MOVED + 2, 1));
	io_region_unmap(&f.toy.region);
	ioreq_fix_destroy(&f.io);
}

/*
 * An hv that refuses one SET_URGENT_PIO (not -ENOSYS): the urgent port is
 * not posted until a later set gets through, so no command waits for a
 * lazy signal.
 */
static void test_urgent_refused(void)
{
	struct fix f;
	uint64_t v = 0;

	setup(&f, false);
	f.urgent_error = -EINVAL;
	CHECK_EQ(io_region_map(f.io.dm, &f.toy.region, IO_PIO, TOY_BASE), 0);
	CHECK(ioreq_pio_bufferable(&f.io.p, TOY_BASE + 1, 1));
	CHECK(!ioreq_pio_bufferable(&f.io.p, TOY_BASE + 2, 1));
	io_mirror_set(&f.toy.region, 0, 0x42);
	CHECK(mread(&f, TOY_BASE, 1, &v)); /* the mirror does not depend on it */
	CHECK_EQ(v, 0x42);
	f.urgent_error = 0;
	CHECK_EQ(io_region_move(f.io.dm, &f.toy.region, IO_PIO, TOY_MOVED), 0);
	CHECK(ioreq_pio_bufferable(&f.io.p, TOY_MOVED + 2, 1));
	CHECK(ioreq_pio_urgent(&f.io.p, TOY_MOVED + 2, 1));
	io_region_unmap(&f.toy.region);
	ioreq_fix_destroy(&f.io);
}

/*
 * A drive-like device for SET_PIO_BUSY: STATUS (0x340, mirrored) and CMD
 * (0x341, urgent), and ALT (0x350, mirrored), the linked region's copy of
 * STATUS.  A command makes STATUS 0x50 at once in the dm; until the dm has
 * taken it, STATUS and ALT read 0x80 (busy) without a round trip.
 */
#define DRV_BASE 0x340u
#define DRV_ALT 0x350u

struct drv {
	struct io_region cmd, alt;
	uint8_t status;
	unsigned reads, cmds;
};

static const struct io_mirror_reg drv_mirrored[] = { { .off = 0, .size = 1 } };

static uint64_t drv_read(void *opaque, uint64_t off, unsigned size)
{
	struct drv *d = opaque;

	(void)off;
	(void)size;
	d->reads++;
	return d->status;
}

static void drv_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct drv *d = opaque;

	(void)val;
	(void)size;
	if (off != 1)
		return;
	d->cmds++;
	d->status = 0x50;
	io_mirror_set(&d->cmd, 0, d->status);
	io_mirror_set(&d->alt, 0, d->status);
}

static const struct io_post_effect drv_effects[] = {
	{ .off = 1, .len = 1, .any = true, .busy = 0x80, .busy_mirrored = 0x01, .busy_linked = true },
};

static const struct io_ops drv_cmd_ops = {
	.read = drv_read,
	.write = drv_write,
	.min_size = 1,
	.max_size = 1,
	.urgent_writes = 0x02,
	.mirrored = drv_mirrored,
	.nr_mirrored = 1,
	.post_effects = drv_effects,
	.nr_post_effects = 1,
};

static const struct io_ops drv_alt_ops = {
	.read = drv_read,
	.write = drv_write,
	.min_size = 1,
	.max_size = 1,
	.mirrored = drv_mirrored,
	.nr_mirrored = 1,
};

static void drv_command(struct fix *f)
{
	CHECK(ioreq_send_buffered_pio(&f->io.p, DRV_BASE + 1, 1, 0xc8));
	kicks(f); /* the dm does not look until told to */
}

/* The hv's checks on SET_PIO_BUSY; a refused set leaves the old one. */
static void test_busy_rules(struct fix *f)
{
	struct hvm_pio_busy ok = { 0x400, 0x80, 1, { 0x401 }, 0 },
			    none = { 0x400, 0x80, 0, { 0 }, 0 };
	struct hvm_pio_busy five = { 0x400, 0x80, HVM_PIO_BUSY_READS + 1, { 0 }, 0 };
	struct hvm_pio_busy rsvd = { 0x400, 0x80, 1, { 0x401 }, 1 }, dup[2] = { ok, ok };
	struct hvm_pio_busy many[HVM_PIO_BUSY_MAX + 1];
	struct hvm_pio_busy before[HVM_PIO_BUSY_MAX];
	unsigned n = f->io.p.nr_busy;

	memcpy(before, f->io.p.busy, sizeof(before));
	for (unsigned i = 0; i <= HVM_PIO_BUSY_MAX; i++)
		many[i] = (struct hvm_pio_busy){ (uint16_t)(0x1000 + i), 0x80, 1, { 0x2000 }, 0 };
	CHECK_EQ(ioreq_set_pio_busy(&f->io.p, &none, 1), -EINVAL);
	CHECK_EQ(ioreq_set_pio_busy(&f->io.p, &five, 1), -EINVAL);
	CHECK_EQ(ioreq_set_pio_busy(&f->io.p, &rsvd, 1), -EINVAL);
	CHECK_EQ(ioreq_set_pio_busy(&f->io.p, dup, 2), -EINVAL);
	CHECK_EQ(ioreq_set_pio_busy(&f->io.p, many, HVM_PIO_BUSY_MAX + 1), -EINVAL);
	CHECK_EQ(f->io.p.nr_busy, n);
	CHECK(!memcmp(before, f->io.p.busy, sizeof(before)));
}

static void test_busy(void)
{
	struct fix f;
	struct drv d = { .status = 0x50 };
	uint64_t v = 0;
	unsigned reads;

	setup(&f, false);
	io_region_init(&d.cmd, &drv_cmd_ops, &d, "drv", 2);
	io_region_init(&d.alt, &drv_alt_ops, &d, "drv-alt", 1);
	d.cmd.linked = &d.alt;
	CHECK_EQ(io_region_map(f.io.dm, &f.toy.region, IO_PIO, TOY_BASE), 0);
	CHECK_EQ(io_region_map(f.io.dm, &d.cmd, IO_PIO, DRV_BASE), 0);
	/* ALT not mapped yet: STATUS alone. */
	CHECK_EQ(f.io.p.nr_busy, 1);
	CHECK_EQ(f.io.p.busy[0].nr_reads, 1);
	CHECK_EQ(io_region_map(f.io.dm, &d.alt, IO_PIO, DRV_ALT), 0);
	CHECK_EQ(f.io.p.nr_busy, 1);
	CHECK_EQ(f.io.p.busy[0].port, DRV_BASE + 1);
	CHECK_EQ(f.io.p.busy[0].value, 0x80);
	CHECK_EQ(f.io.p.busy[0].nr_reads, 2);
	CHECK_EQ(f.io.p.busy[0].reads[0], DRV_BASE);
	CHECK_EQ(f.io.p.busy[0].reads[1], DRV_ALT);
	io_mirror_set(&d.cmd, 0, 0x50);
	io_mirror_set(&d.alt, 0, 0x50);

	/* Ring empty: the mirror answers, never "busy". */
	CHECK(!ioreq_busy_read(&f.io.p, DRV_BASE, 1, &v));
	CHECK_EQ(vcpu_read(&f, DRV_ALT, 1), 0x50);

	/* A command in the ring: both read busy, the device sees neither read. */
	d.status = 0x41;
	io_mirror_set(&d.cmd, 0, 0x41);
	io_mirror_set(&d.alt, 0, 0x41);
	reads = d.reads;
	drv_command(&f);
	CHECK_EQ(vcpu_read(&f, DRV_BASE, 1), 0x80);
	CHECK_EQ(vcpu_read(&f, DRV_ALT, 1), 0x80);
	CHECK_EQ(d.reads, reads);
	CHECK_EQ(d.cmds, 0);
	CHECK_EQ(f.io.p.busy_hits, 2);
	CHECK(!ioreq_busy_read(&f.io.p, DRV_BASE, 2, &v));     /* one byte only */
	CHECK(!ioreq_busy_read(&f.io.p, DRV_BASE + 1, 1, &v)); /* not listed */
	/* The dm takes it: the real status from then on. */
	CHECK_EQ(ioreq_drain_buffered(f.io.dm), 1);
	CHECK_EQ(d.cmds, 1);
	CHECK(!ioreq_busy_read(&f.io.p, DRV_BASE, 1, &v));
	CHECK_EQ(vcpu_read(&f, DRV_BASE, 1), 0x50);
	CHECK_EQ(vcpu_read(&f, DRV_ALT, 1), 0x50);

	/* Only the command makes it busy: another posted write does not. */
	CHECK(ioreq_send_buffered_pio(&f.io.p, TOY_BASE + 1, 1, 0x33));
	CHECK(!ioreq_busy_read(&f.io.p, DRV_BASE, 1, &v));
	CHECK_EQ(ioreq_drain_buffered(f.io.dm), 1);
	/* A command posted before the set was installed does not count. */
	drv_command(&f);
	CHECK_EQ(ioreq_set_pio_busy(&f.io.p, f.io.p.busy, f.io.p.nr_busy), 0);
	CHECK(!ioreq_busy_read(&f.io.p, DRV_BASE, 1, &v));
	CHECK_EQ(ioreq_drain_buffered(f.io.dm), 1);
	/* A read_pointer past what was posted (hostile dm) proves nothing. */
	drv_command(&f);
	f.io.p.bufpage->read_pointer += 7;
	CHECK(!ioreq_busy_read(&f.io.p, DRV_BASE, 1, &v));
	f.io.p.bufpage->read_pointer -= 7;
	CHECK_EQ(ioreq_drain_buffered(f.io.dm), 1);

	test_busy_rules(&f);
	/* The set follows the regions. */
	io_region_unmap(&d.alt);
	CHECK_EQ(f.io.p.nr_busy, 1);
	CHECK_EQ(f.io.p.busy[0].nr_reads, 1);
	io_region_unmap(&d.cmd);
	CHECK_EQ(f.io.p.nr_busy, 0);
	io_region_unmap(&f.toy.region);
	ioreq_fix_destroy(&f.io);

	/* An hv without the message: nothing answered busy, asked once. */
	setup(&f, true);
	io_region_init(&d.cmd, &drv_cmd_ops, &d, "drv", 2);
	d.cmd.linked = NULL;
	CHECK_EQ(io_region_map(f.io.dm, &d.cmd, IO_PIO, DRV_BASE), 0);
	CHECK_EQ(f.busy_msgs, 1);
	CHECK_EQ(io_region_move(f.io.dm, &d.cmd, IO_PIO, DRV_BASE + 0x20), 0);
	CHECK_EQ(f.busy_msgs, 1);
	CHECK_EQ(f.io.p.nr_busy, 0);
	io_region_unmap(&d.cmd);
	ioreq_fix_destroy(&f.io);
}

int main(void)
{
	struct fix *f = calloc(1, sizeof(*f));

	setup(f, false);
	test_sets(f);
	test_hit(f);
	test_posted_then_read(f);
	test_move(f);
	test_urgent(f);
	test_effects(f);
	test_quiet(f);
	test_effects_follow_regions(f);
	test_effects_rules(f);
	test_hv_rules(f);
	test_stress(f);
	io_region_unmap(&f->toy.region);
	ioreq_fix_destroy(&f->io);
	free(f);
	test_old_hv();
	test_urgent_refused();
	test_busy();
	return tap_done();
}
