// SPDX-License-Identifier: MIT
/*
 * test_ioreq_lazy.c - the buffered ring end to end, in one process: hvmhv's
 * producer (hypervisor/ioreq.c) against hvmdm's consumer (dm/ioreq.c) with a
 * recording MMIO device.  Checks when the producer signals the dm (crossing
 * half the ring, after a quiet spell, before a vCPU sleeps; never
 * while the dm polls), that the dm's drain timer picks up writes nobody
 * signalled and stops after a quiet spell, and that no write is lost or
 * reordered while producer and consumer run concurrently, including the
 * full-ring fallback to synchronous requests.  No KVM needed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../dm/dm.h"
#include "../../dm/ioreq.h"
#include "../../dm/iospace.h"
#include "../../dm/loop.h"
#include "../../hypervisor/ioreq.h"
#include "tap.h"

#define REC_BASE 0xa0000u
#define REC_LEN 0x10000u
#define REC_MAX 400000u
#define STRESS_WRITES 300000u

/* What the device saw, in order. */
struct rec {
	struct io_region region;
	uint64_t val[REC_MAX];
	uint64_t off[REC_MAX];
	unsigned size[REC_MAX];
	unsigned n;
};

static void rec_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct rec *r = opaque;

	if (r->n < REC_MAX) {
		r->val[r->n] = val;
		r->off[r->n] = off;
		r->size[r->n] = size;
	}
	r->n++;
}

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)size;
	return 0;
}

static const struct io_ops rec_ops = {
	.read = rec_read,
	.write = rec_write,
	.min_size = 1,
	.max_size = 8,
};

/* The producer's clock, under the test's control in the single-threaded parts. */
static uint64_t fake_ns = 1000000000ull;

static uint64_t fake_now(void)
{
	return fake_ns;
}

struct fix {
	struct ioreq_prod p;
	int page_fd, bufpage_fd;
	struct dm *dm;
	struct rec *rec;
};

/* Events written to the buffered eventfd since the last call. */
static uint64_t kicks(struct fix *f)
{
	uint64_t v = 0;

	if (read(f->p.buf_fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static bool put(struct fix *f, unsigned i)
{
	return ioreq_send_buffered(&f->p, REC_BASE + (i % 0x1000) * 4, 4, i);
}

/* The writes recorded from index `from` carry the values first, first+1, ... */
static bool in_order(const struct rec *r, unsigned from, unsigned first, unsigned count)
{
	if (r->n < from + count)
		return false;
	for (unsigned i = 0; i < count; i++)
		if (r->val[from + i] != first + i || r->size[from + i] != 4 ||
		    r->off[from + i] != ((first + i) % 0x1000) * 4)
			return false;
	return true;
}

static void setup(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	CHECK_EQ(ioreq_prod_create(&f->p, 1, &f->page_fd, &f->bufpage_fd), 0);
	ioreq_set_dm_state(&f->p, IOREQ_DM_ATTACHED);
	f->p.now = fake_now;
	CHECK_EQ(dm_create_standalone(1 << 20, &f->dm), 0);
	f->rec = calloc(1, sizeof(*f->rec));
	io_region_init(&f->rec->region, &rec_ops, f->rec, "rec", REC_LEN);
	CHECK_EQ(io_region_map(f->dm, &f->rec->region, IO_MMIO, REC_BASE), 0);
	/* No event fds: the test reads the producer's eventfd itself. */
	CHECK_EQ(ioreq_attach(f->dm, f->p.page, f->p.bufpage, 1, -1, -1, f->p.resp_fd), 0);
}

static void teardown(struct fix *f)
{
	dm_destroy(f->dm);
	free(f->rec);
	ioreq_prod_destroy(&f->p, f->page_fd, f->bufpage_fd);
}

/* Below the mark: no signal, and a drain still gets every write in order. */
static void test_below_mark(struct fix *f)
{
	unsigned from, i;

	/* The very first write: the dm may be idle, so it is signalled. */
	CHECK(put(f, 0));
	CHECK_EQ(kicks(f), 1);
	CHECK_EQ(ioreq_drain_buffered(f->dm), 1);
	CHECK(in_order(f->rec, 0, 0, 1));

	from = f->rec->n;
	for (i = 1; i < IOREQ_BUF_KICK_SLOTS; i++)
		CHECK(put(f, i));
	CHECK_EQ(kicks(f), 0);
	CHECK_EQ(f->p.bufpage->write_pointer - f->p.bufpage->read_pointer,
		 IOREQ_BUF_KICK_SLOTS - 1);
	CHECK_EQ(ioreq_drain_buffered(f->dm), IOREQ_BUF_KICK_SLOTS - 1);
	CHECK(in_order(f->rec, from, 1, IOREQ_BUF_KICK_SLOTS - 1));
	CHECK_EQ(f->p.bufpage->read_pointer, f->p.bufpage->write_pointer);
}

/* Reaching half the ring signals once, not once per write after it. */
static void test_mark(struct fix *f)
{
	unsigned from = f->rec->n, i;

	for (i = 0; i < IOREQ_BUF_KICK_SLOTS - 1; i++)
		CHECK(put(f, 1000 + i));
	CHECK_EQ(kicks(f), 0);
	CHECK(put(f, 1000 + i++));
	CHECK_EQ(kicks(f), 1);
	for (; i < 400; i++)
		CHECK(put(f, 1000 + i));
	CHECK_EQ(kicks(f), 0);
	CHECK_EQ(ioreq_drain_buffered(f->dm), 400);
	CHECK(in_order(f->rec, from, 1000, 400));

	/* An 8-byte write (two slots) that jumps over the mark signals too. */
	for (i = 0; i < IOREQ_BUF_KICK_SLOTS - 1; i++)
		CHECK(put(f, 2000 + i));
	CHECK_EQ(kicks(f), 0);
	CHECK(ioreq_send_buffered(&f->p, REC_BASE + 0x8000, 8, 0x1122334455667788ull));
	CHECK_EQ(kicks(f), 1);
	from = f->rec->n;
	CHECK_EQ(ioreq_drain_buffered(f->dm), IOREQ_BUF_KICK_SLOTS);
	CHECK(in_order(f->rec, from, 2000, IOREQ_BUF_KICK_SLOTS - 1));
	CHECK_EQ(f->rec->val[f->rec->n - 1], 0x1122334455667788ull);
	CHECK_EQ(f->rec->size[f->rec->n - 1], 8);

	/* While the dm says it polls, even the mark is not signalled. */
	f->p.hints = f->dm->irq_page;
	__atomic_store_n(&f->p.hints->dm_polling, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < IOREQ_BUF_KICK_SLOTS + 10; i++)
		CHECK(put(f, 3000 + i));
	CHECK(!ioreq_flush_buffered(&f->p));
	CHECK_EQ(kicks(f), 0);
	__atomic_store_n(&f->p.hints->dm_polling, 0, __ATOMIC_SEQ_CST);
	f->p.hints = NULL;
	from = f->rec->n;
	CHECK_EQ(ioreq_drain_buffered(f->dm), IOREQ_BUF_KICK_SLOTS + 10);
	CHECK(in_order(f->rec, from, 3000, IOREQ_BUF_KICK_SLOTS + 10));
}

/* A write that finds the ring drained after a quiet spell signals the dm. */
static void test_idle(struct fix *f)
{
	unsigned from = f->rec->n;

	/* The ring is empty; the last write that found it so was "just now". */
	fake_ns += IOREQ_BUF_IDLE_NS - 1;
	CHECK(put(f, 4000));
	CHECK_EQ(kicks(f), 0);
	/* Not drained yet: the next write, however late, leaves it to the dm. */
	fake_ns += 10 * IOREQ_BUF_IDLE_NS;
	CHECK(put(f, 4001));
	CHECK_EQ(kicks(f), 0);
	CHECK_EQ(ioreq_drain_buffered(f->dm), 2);
	/* Drained, and quiet for IOREQ_BUF_IDLE_NS since a write found it so. */
	fake_ns += IOREQ_BUF_IDLE_NS;
	CHECK(put(f, 4002));
	CHECK_EQ(kicks(f), 1);
	CHECK_EQ(ioreq_drain_buffered(f->dm), 1);
	CHECK(in_order(f->rec, from, 4000, 3));
}

/* Before a vCPU sleeps: a signal when writes are pending, none otherwise. */
static void test_flush(struct fix *f)
{
	CHECK_EQ(f->p.bufpage->read_pointer, f->p.bufpage->write_pointer);
	CHECK(!ioreq_flush_buffered(&f->p));
	CHECK_EQ(kicks(f), 0);
	CHECK(put(f, 5000));
	CHECK_EQ(kicks(f), 0);
	CHECK(ioreq_flush_buffered(&f->p));
	CHECK_EQ(kicks(f), 1);
	CHECK_EQ(ioreq_drain_buffered(f->dm), 1);
	CHECK(!ioreq_flush_buffered(&f->p));
	CHECK_EQ(kicks(f), 0);
	CHECK(in_order(f->rec, f->rec->n - 1, 5000, 1));
}

/* Run the dm's loop until the device saw `want` writes (bounded: ~5 s). */
static void run_loop_until(struct fix *f, unsigned want)
{
	for (int i = 0; i < 50 && f->rec->n < want; i++)
		loop_run_once(f->dm->loop, 100);
}

/* Writes nobody signalled reach the device through the drain timer. */
static void test_drain_timer(struct fix *f)
{
	unsigned from, i;

	CHECK(put(f, 6000));
	CHECK_EQ(ioreq_drain_buffered(f->dm), 1);
	CHECK(ioreq_drain_timer_armed(f->dm));
	from = f->rec->n;
	for (i = 0; i < 3; i++)
		CHECK(put(f, 6001 + i));
	CHECK_EQ(kicks(f), 0);
	run_loop_until(f, from + 3);
	CHECK(in_order(f->rec, from, 6001, 3));
	CHECK_EQ(f->p.bufpage->read_pointer, f->p.bufpage->write_pointer);
	CHECK_EQ(kicks(f), 0);
	/* Quiet from now on: the timer stops (ten 10 ms periods; bounded ~5 s). */
	for (i = 0; i < 50 && ioreq_drain_timer_armed(f->dm); i++)
		loop_run_once(f->dm->loop, 100);
	CHECK(!ioreq_drain_timer_armed(f->dm));
}

/*
 * Producer thread against the dm's event loop: every write arrives once and
 * in order, whether it went through the ring (signalled lazily) or, with
 * the ring full, as a synchronous request.  Nothing flushes at the end: the
 * last writes (below the mark) must reach the dm through its drain timer.
 */
struct stress {
	struct fix *f;
	unsigned sync_writes;
	int done;
};

static void *stress_producer(void *arg)
{
	struct stress *s = arg;
	struct ioreq_prod *p = &s->f->p;

	for (unsigned i = 0; i < STRESS_WRITES; i++) {
		uint64_t addr = REC_BASE + (i % 0x1000) * 4;
		struct ioreq_req r = {
			.type = IOREQ_TYPE_COPY, .size = 4, .count = 1, .addr = addr, .data = i
		};

		if (ioreq_send_buffered(p, addr, 4, i))
			continue;
		s->sync_writes++;
		if (ioreq_send(p, 0, &r) != IOREQ_DONE)
			break;
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_stress(struct fix *f)
{
	struct stress s = { .f = f };
	unsigned from, i;
	pthread_t t;

	ioreq_detach(f->dm);
	f->p.now = hvm_poll_now;
	f->p.hints = f->dm->irq_page; /* the dm's spin path and its polling hint too */
	CHECK_EQ(ioreq_attach(f->dm, f->p.page, f->p.bufpage, 1, f->p.req_fd, f->p.buf_fd,
			      f->p.resp_fd),
		 0);
	from = f->rec->n;
	pthread_create(&t, NULL, stress_producer, &s);
	/* This thread is the dm's loop thread from here on; bounded at ~60 s. */
	for (i = 0; i < 600 && f->rec->n < from + STRESS_WRITES; i++)
		loop_run_once(f->dm->loop, 100);
	pthread_join(t, NULL);
	CHECK(__atomic_load_n(&s.done, __ATOMIC_ACQUIRE));
	CHECK_EQ(f->rec->n - from, STRESS_WRITES);
	for (i = 0; i < STRESS_WRITES; i++)
		if (f->rec->val[from + i] != i || f->rec->off[from + i] != (i % 0x1000) * 4)
			break;
	CHECK_EQ(i, STRESS_WRITES);
	/* every synchronous write found the ring full, and the producer counted it */
	CHECK_EQ(f->p.buf_full, s.sync_writes);
	printf("# stress: %u writes, %u of them synchronous (ring full); signals: %llu "
	       "filling, %llu after idle\n",
	       STRESS_WRITES, s.sync_writes, (unsigned long long)f->p.kicks_full,
	       (unsigned long long)f->p.kicks_idle);
}

int main(void)
{
	struct fix f;

	/* The protocol's margin: the dm's timer outlives the producer's quiet spell. */
	_Static_assert(IOREQ_BUF_IDLE_NS + IOREQ_DRAIN_PERIOD_NS <
			       IOREQ_DRAIN_IDLE_PERIODS * IOREQ_DRAIN_PERIOD_NS,
		       "drain timer margin");
	setup(&f);
	test_below_mark(&f);
	test_mark(&f);
	test_idle(&f);
	test_flush(&f);
	test_drain_timer(&f);
	test_stress(&f);
	teardown(&f);
	return tap_done();
}
