// SPDX-License-Identifier: MIT
/*
 * test_ioreq_ring.c - hvmhv's ioreq producer (hypervisor/ioreq.c) against a
 * fake consumer thread: the normal state machine, hostile consumer states,
 * a consumer that dies mid-request, the full buffered ring, 8-byte buffered
 * writes in two slots, and pointer canonicalisation.  No KVM needed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ioreq.h"
#include "tap.h"

/* How the fake consumer treats the next request. */
enum behaviour {
	B_ANSWER,     /* READY -> INPROCESS -> IORESP_READY with `answer` */
	B_LATE,	      /* signal while still READY, then answer */
	B_BAD_STATE,  /* write state 7 and signal */
	B_RESET_NONE, /* write NONE and signal */
	B_SILENT,     /* take the request (INPROCESS) and never answer */
	B_SPURIOUS,   /* signal twice while still INPROCESS, then answer */
};

struct fake {
	struct ioreq_prod *p;
	enum behaviour b;
	uint64_t answer;
	struct ioreq seen; /* local copy of the slot as READY */
	unsigned vcpu;
	int fail_calls;
};

static void signal_fd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		perror("eventfd write");
}

static void set_state(struct ioreq *s, unsigned st)
{
	ioreq_store_flags(s, ioreq_flags_with_state(ioreq_load_flags(s), st));
}

static void *consumer(void *arg)
{
	struct fake *f = arg;
	struct ioreq *s = &f->p->page->vcpu_ioreq[f->vcpu];
	uint64_t v;

	/* Wait for the request event, then for READY (bounded: 5 s). */
	for (int i = 0; i < 5000; i++) {
		if (read(f->p->req_fd, &v, sizeof(v)) == sizeof(v))
			break;
		usleep(1000);
	}
	if (ioreq_state(ioreq_load_flags(s)) != STATE_IOREQ_READY)
		return NULL;
	if (f->b == B_LATE) {
		signal_fd(f->p->resp_fd[f->vcpu]);
		usleep(5000);
	}
	f->seen = *s;
	set_state(s, STATE_IOREQ_INPROCESS);
	switch (f->b) {
	case B_ANSWER:
	case B_LATE:
		s->data = f->answer;
		set_state(s, STATE_IORESP_READY);
		break;
	case B_SPURIOUS:
		signal_fd(f->p->resp_fd[f->vcpu]);
		usleep(2000);
		signal_fd(f->p->resp_fd[f->vcpu]);
		usleep(2000);
		s->data = f->answer;
		set_state(s, STATE_IORESP_READY);
		break;
	case B_BAD_STATE:
		set_state(s, 7);
		break;
	case B_RESET_NONE:
		set_state(s, STATE_IOREQ_NONE);
		break;
	case B_SILENT:
		return NULL;
	}
	signal_fd(f->p->resp_fd[f->vcpu]);
	return NULL;
}

static void on_fail(void *opaque, const char *why)
{
	struct fake *f = opaque;

	(void)why;
	f->fail_calls++;
}

static enum ioreq_result run_one(struct ioreq_prod *p, struct fake *f, struct ioreq_req *r)
{
	pthread_t t;
	enum ioreq_result res;

	p->fail = on_fail;
	p->opaque = f;
	pthread_create(&t, NULL, consumer, f);
	res = ioreq_send(p, f->vcpu, r);
	pthread_join(t, NULL);
	return res;
}

static void reset_slot(struct ioreq_prod *p, unsigned vcpu)
{
	set_state(&p->page->vcpu_ioreq[vcpu], STATE_IOREQ_NONE);
}

static void test_round_trip(struct ioreq_prod *p)
{
	struct fake f = { .p = p, .b = B_ANSWER, .answer = 0x1234abcd, .vcpu = 1 };
	struct ioreq_req r = {
		.type = IOREQ_TYPE_PIO, .is_read = true, .size = 2, .count = 1, .addr = 0x1f0
	};
	struct ioreq_req w = { .type = IOREQ_TYPE_COPY,
			       .size = 4,
			       .count = 1,
			       .addr = 0xfed00010,
			       .data = 0xffffffff11223344ull };

	CHECK_EQ(run_one(p, &f, &r), IOREQ_DONE);
	/* The dm's answer is masked to the access size. */
	CHECK_EQ(r.data, 0xabcd);
	CHECK_EQ(f.seen.addr, 0x1f0);
	CHECK_EQ(f.seen.size, 2);
	CHECK_EQ(f.seen.count, 1);
	CHECK_EQ(f.seen.vp_eport, 1);
	CHECK_EQ(f.seen.type, IOREQ_TYPE_PIO);
	CHECK_EQ(f.seen.flags & ~IOREQ_F_STATE_MASK, IOREQ_F_DIR_READ);
	CHECK_EQ(ioreq_state(p->page->vcpu_ioreq[1].flags), STATE_IOREQ_NONE);

	f.answer = 0;
	CHECK_EQ(run_one(p, &f, &w), IOREQ_DONE);
	CHECK_EQ(f.seen.data, 0x11223344); /* write data zero-extended from size */
	CHECK_EQ(f.seen.type, IOREQ_TYPE_COPY);
	CHECK_EQ(f.seen.flags & IOREQ_F_DIR_READ, 0);
	CHECK_EQ(f.fail_calls, 0);

	/* String I/O keeps the pointer, count and direction flag. */
	struct ioreq_req s = { .type = IOREQ_TYPE_PIO,
			       .is_read = true,
			       .data_is_ptr = true,
			       .df = true,
			       .size = 1,
			       .count = 7,
			       .addr = 0xe6,
			       .data = 0x1000000000001000ull };
	CHECK_EQ(run_one(p, &f, &s), IOREQ_DONE);
	CHECK_EQ(f.seen.data, 0x1000000000001000ull);
	CHECK_EQ(f.seen.count, 7);
	CHECK_EQ(f.seen.flags & ~IOREQ_F_STATE_MASK,
		 IOREQ_F_DIR_READ | IOREQ_F_DATA_IS_PTR | IOREQ_F_DF);

	/* Stale response events while INPROCESS must not complete the request early. */
	f.b = B_SPURIOUS;
	f.answer = 0x77;
	r.size = 1;
	CHECK_EQ(run_one(p, &f, &r), IOREQ_DONE);
	CHECK_EQ(r.data, 0x77);
}

static void test_hostile(struct ioreq_prod *p)
{
	struct fake f = { .p = p, .vcpu = 0 };
	struct ioreq_req r = {
		.type = IOREQ_TYPE_PIO, .is_read = true, .size = 4, .count = 1, .addr = 0x60
	};

	/* An event while the slot is still READY is not an answer. */
	f.b = B_LATE;
	f.answer = 0x5a5a5a5a;
	CHECK_EQ(run_one(p, &f, &r), IOREQ_DONE);
	CHECK_EQ(r.data, 0x5a5a5a5a);
	CHECK_EQ(f.fail_calls, 0);

	f.b = B_BAD_STATE;
	r.data = 0;
	CHECK_EQ(run_one(p, &f, &r), IOREQ_BAD_STATE);
	CHECK_EQ(r.data, 0xffffffff);
	CHECK_EQ(f.fail_calls, 1);
	reset_slot(p, 0);

	/* Xen: a slot found back at NONE means the emulator died: all-ones, no crash. */
	f.b = B_RESET_NONE;
	r.size = 1;
	CHECK_EQ(run_one(p, &f, &r), IOREQ_NO_DM);
	CHECK_EQ(r.data, 0xff);
	CHECK_EQ(f.fail_calls, 1);

	/* A slot the dm left busy is refused before anything is written. */
	set_state(&p->page->vcpu_ioreq[0], STATE_IOREQ_INPROCESS);
	p->page->vcpu_ioreq[0].addr = 0x1234;
	r.addr = 0x60;
	CHECK_EQ(ioreq_send(p, 0, &r), IOREQ_BAD_STATE);
	CHECK_EQ(p->page->vcpu_ioreq[0].addr, 0x1234);
	CHECK_EQ(f.fail_calls, 2);
	reset_slot(p, 0);

	/* Out-of-range vCPU index. */
	CHECK_EQ(ioreq_send(p, p->nr_vcpus, &r), IOREQ_NO_DM);
}

struct killer {
	struct ioreq_prod *p;
	unsigned delay_us;
};

static void *kill_dm(void *arg)
{
	struct killer *k = arg;

	usleep(k->delay_us);
	ioreq_set_dm_state(k->p, IOREQ_DM_GONE);
	return NULL;
}

/* Must run last: the producer stays aborted. */
static void test_dm_dies(struct ioreq_prod *p)
{
	struct fake f = { .p = p, .b = B_SILENT, .vcpu = 2 };
	struct killer k = { .p = p, .delay_us = 50000 };
	struct ioreq_req r = {
		.type = IOREQ_TYPE_COPY, .is_read = true, .size = 8, .count = 1, .addr = 0xfebf0000
	};
	pthread_t t;

	pthread_create(&t, NULL, kill_dm, &k);
	CHECK_EQ(run_one(p, &f, &r), IOREQ_ABORTED);
	pthread_join(t, NULL);
	CHECK_EQ(r.data, ~0ull);
	/* Afterwards everything completes at once, without touching the slots. */
	r.data = 0;
	r.size = 2;
	CHECK_EQ(ioreq_send(p, 0, &r), IOREQ_NO_DM);
	CHECK_EQ(r.data, 0xffff);
	CHECK(!ioreq_send_buffered(p, 0xa0000, 1, 1));
}

/* Consumer side of the buffered ring, as xen-ioreq.md 2.2 describes it. */
static unsigned drain(struct buffered_iopage *bp, struct buf_ioreq *out, unsigned max)
{
	unsigned n = 0;

	while (n < max) {
		uint32_t rp = __atomic_load_n(&bp->read_pointer, __ATOMIC_ACQUIRE);
		uint32_t wp = __atomic_load_n(&bp->write_pointer, __ATOMIC_ACQUIRE);

		if (rp != __atomic_load_n(&bp->read_pointer, __ATOMIC_ACQUIRE))
			continue;
		if (rp == wp)
			break;
		out[n++] = bp->buf_ioreq[rp % IOREQ_BUFFER_SLOT_NUM];
		__atomic_fetch_add(&bp->read_pointer, 1, __ATOMIC_RELEASE);
	}
	return n;
}

static void test_buffered(struct ioreq_prod *p)
{
	struct buffered_iopage *bp = p->bufpage;
	static struct buf_ioreq got[2 * IOREQ_BUFFER_SLOT_NUM];
	unsigned i, n;
	uint64_t ev;

	/* Not bufferable: address beyond 20 bits, odd size. */
	CHECK(!ioreq_send_buffered(p, 0x100000, 4, 1));
	CHECK(!ioreq_send_buffered(p, 0xa0000, 3, 1));

	/* 511 single writes fill the ring; the 512th must go synchronous. */
	for (i = 0; i < IOREQ_BUFFER_SLOT_NUM; i++)
		if (!ioreq_send_buffered(p, 0xa0000 + i, 1, i & 0xff))
			break;
	CHECK_EQ(i, IOREQ_BUFFER_SLOT_NUM);
	CHECK(!ioreq_send_buffered(p, 0xa0000, 1, 0));
	CHECK_EQ(bp->write_pointer - bp->read_pointer, IOREQ_BUFFER_SLOT_NUM);
	/*
	 * Signalled lazily: the first write (the dm may be idle) and the one
	 * that filled a quarter of the ring, not one event per write.
	 */
	CHECK(read(p->buf_fd, &ev, sizeof(ev)) == sizeof(ev) && ev == 2);

	/* Free one slot: a 4-byte write fits, an 8-byte one (two slots) does not. */
	n = drain(bp, got, 1);
	CHECK_EQ(n, 1);
	CHECK_EQ(BUF_IOREQ_ADDR(got[0].word0), 0xa0000);
	CHECK(!ioreq_send_buffered(p, 0xb8000, 8, 0x1122334455667788ull));
	CHECK(ioreq_send_buffered(p, 0xb8000, 4, 0xdeadbeef));
	n = drain(bp, got, 2 * IOREQ_BUFFER_SLOT_NUM);
	CHECK_EQ(n, IOREQ_BUFFER_SLOT_NUM);
	for (i = 0; i + 1 < n; i++) {
		if (BUF_IOREQ_ADDR(got[i].word0) != 0xa0001 + i || got[i].data != ((i + 1) & 0xff))
			break;
	}
	CHECK_EQ(i, n - 1);
	CHECK_EQ(BUF_IOREQ_TYPE(got[0].word0), IOREQ_TYPE_COPY);
	CHECK_EQ(BUF_IOREQ_DIR(got[0].word0), IOREQ_WRITE);
	CHECK_EQ(BUF_IOREQ_SIZE_CODE(got[0].word0), 0);
	CHECK_EQ(BUF_IOREQ_SIZE_CODE(got[n - 1].word0), 2);
	CHECK_EQ(got[n - 1].data, 0xdeadbeef);

	/* 8-byte write: two slots, low half first, the second a copy with the high half. */
	CHECK(ioreq_send_buffered(p, 0xa0008, 8, 0x1122334455667788ull));
	CHECK(ioreq_send_buffered(p, 0xa0010, 2, 0xffff1234));
	n = drain(bp, got, 4);
	CHECK_EQ(n, 3);
	CHECK_EQ(BUF_IOREQ_SIZE_CODE(got[0].word0), 3);
	CHECK_EQ(got[0].data, 0x55667788);
	CHECK_EQ(got[1].word0, got[0].word0);
	CHECK_EQ(got[1].data, 0x11223344);
	CHECK_EQ(got[2].data, 0x1234); /* masked to size */

	/* Pointers stay small (Xen's canonicalisation) and order is kept. */
	for (i = 0; i < 5000; i++) {
		CHECK(ioreq_send_buffered(p, 0xa0000 + (i & 0xffff), 4, i));
		if (drain(bp, got, 1) != 1 || got[0].data != i)
			break;
	}
	CHECK_EQ(i, 5000);
	CHECK(bp->read_pointer < IOREQ_BUFFER_SLOT_NUM + 1);
	CHECK_EQ(bp->read_pointer, bp->write_pointer);

	/* A hostile read_pointer ahead of write_pointer looks full: sync fallback. */
	bp->read_pointer = bp->write_pointer + 5;
	CHECK(!ioreq_send_buffered(p, 0xa0000, 1, 1));
	bp->read_pointer = bp->write_pointer;
	CHECK(ioreq_send_buffered(p, 0xa0000, 1, 1));
	CHECK_EQ(drain(bp, got, 4), 1);
}

int main(void)
{
	struct ioreq_prod p;
	int page_fd, buf_fd;
	struct ioreq_req r = { .type = IOREQ_TYPE_PIO, .is_read = true, .size = 1, .count = 1 };

	if (ioreq_prod_create(&p, 4, &page_fd, &buf_fd)) {
		fprintf(stderr, "cannot create the producer\n");
		return 1;
	}
	/* Before any dm attached: all-ones at once, nothing buffered. */
	CHECK_EQ(ioreq_send(&p, 0, &r), IOREQ_NO_DM);
	CHECK_EQ(r.data, 0xff);
	CHECK(!ioreq_send_buffered(&p, 0xa0000, 1, 1));
	CHECK_EQ(ioreq_state(p.page->vcpu_ioreq[0].flags), STATE_IOREQ_NONE);

	ioreq_set_dm_state(&p, IOREQ_DM_ATTACHED);
	test_round_trip(&p);
	test_hostile(&p);
	test_buffered(&p);
	test_dm_dies(&p);
	ioreq_prod_destroy(&p, page_fd, buf_fd);
	return tap_done();
}
