// SPDX-License-Identifier: MIT
/*
 * test_ioreq.c - the ioreq consumer: the state machine, rep/data_is_ptr/df,
 * the buffered ring, and hostile slots (bad state, huge count, port above
 * 0xffff, size 3, unknown type, corrupt ring pointers).
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dm.h"
#include "device.h"
#include "ioreq.h"
#include "hvm_poll.h"
#include "irq.h"
#include "loop.h"
#include "tap.h"

struct fixture {
	struct dm *dm;
	struct shared_iopage *page;
	struct buffered_iopage *buf;
	int resp[2];
};

static void setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	CHECK_EQ(dm_create_standalone(1 << 20, &f->dm), 0);
	f->page = calloc(1, sizeof(*f->page));
	f->buf = calloc(1, sizeof(*f->buf));
	f->resp[0] = eventfd(0, EFD_NONBLOCK);
	f->resp[1] = eventfd(0, EFD_NONBLOCK);
	CHECK_EQ(ioreq_attach(f->dm, f->page, f->buf, 2, -1, -1, f->resp), 0);
	CHECK_EQ(dev_create(f->dm, "hvm-testdev", NULL, NULL), 0);
}

static void teardown(struct fixture *f)
{
	dm_destroy(f->dm);
	free(f->page);
	free(f->buf);
	close(f->resp[0]);
	close(f->resp[1]);
}

static uint64_t eventfd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* Post a request on vcpu's slot as the hypervisor would, run the consumer. */
static struct ioreq *submit(struct fixture *f, unsigned vcpu, uint8_t type, uint64_t addr,
			    uint64_t data, uint32_t size, uint32_t count, uint8_t flags)
{
	struct ioreq *s = &f->page->vcpu_ioreq[vcpu];

	s->addr = addr;
	s->data = data;
	s->size = size;
	s->count = count;
	s->type = type;
	s->flags = flags & ~IOREQ_F_STATE_MASK;
	ioreq_store_flags(s, ioreq_flags_with_state(s->flags, STATE_IOREQ_READY));
	ioreq_poll(f->dm);
	return s;
}

static void test_pio(struct fixture *f)
{
	struct ioreq *s;

	s = submit(f, 0, IOREQ_TYPE_PIO, 0xe0, 0x12345678, 4, 1, 0);
	CHECK_EQ(ioreq_state(s->flags), STATE_IORESP_READY);
	CHECK_EQ(eventfd_count(f->resp[0]), 1);
	s = submit(f, 1, IOREQ_TYPE_PIO, 0xe0, 0, 2, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(ioreq_state(s->flags), STATE_IORESP_READY);
	CHECK_EQ(s->data, 0x5678);
	CHECK_EQ(eventfd_count(f->resp[1]), 1);
	CHECK_EQ(eventfd_count(f->resp[0]), 0);
	/* Unclaimed port: all-ones. */
	s = submit(f, 0, IOREQ_TYPE_PIO, 0x1234, 0, 4, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data, 0xffffffff);
	/* Write data above the size is masked: only 0x34 reaches the byte port. */
	submit(f, 0, IOREQ_TYPE_PIO, 0xe0, 0xff34, 1, 1, 0);
	s = submit(f, 0, IOREQ_TYPE_PIO, 0xe0, 0, 1, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data, 0x34);
}

static void test_rep(struct fixture *f)
{
	uint8_t *ram = gmem_map(f->dm, 0x1000, 16);
	struct ioreq *s;

	/* rep outsb of "ab" to the scratch byte, forward. */
	memcpy(ram, "ab", 2);
	submit(f, 0, IOREQ_TYPE_PIO, 0xe0, 0x1000, 1, 2, IOREQ_F_DATA_IS_PTR);
	s = submit(f, 0, IOREQ_TYPE_PIO, 0xe0, 0, 1, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data, 'b');
	/* rep insb with df: items land at 0x1005, 0x1004, 0x1003. */
	memset(ram, 0, 16);
	submit(f, 0, IOREQ_TYPE_PIO, 0xe7, 0x1005, 1, 3,
	       IOREQ_F_DATA_IS_PTR | IOREQ_F_DIR_READ | IOREQ_F_DF);
	CHECK_EQ(ram[5], 0x5a);
	CHECK_EQ(ram[4], 0x5a);
	CHECK_EQ(ram[3], 0x5a);
	CHECK_EQ(ram[2], 0);
	CHECK_EQ(ram[6], 0);
	/* MMIO rep movs RAM -> device, then device -> RAM. */
	memcpy(ram, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	submit(f, 0, IOREQ_TYPE_COPY, 0xfed00010, 0x1000, 4, 2, IOREQ_F_DATA_IS_PTR);
	s = submit(f, 0, IOREQ_TYPE_COPY, 0xfed00010, 0, 8, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data, 0x0807060504030201ull);
	memset(ram, 0, 16);
	submit(f, 0, IOREQ_TYPE_COPY, 0xfed00010, 0x1008, 4, 2,
	       IOREQ_F_DATA_IS_PTR | IOREQ_F_DIR_READ);
	CHECK(!memcmp(ram + 8, "\x01\x02\x03\x04\x05\x06\x07\x08", 8));
	/* rep stos to MMIO: the same value repeated at stepping addresses. */
	submit(f, 0, IOREQ_TYPE_COPY, 0xfed00020, 0xab, 1, 4, 0);
	s = submit(f, 0, IOREQ_TYPE_COPY, 0xfed00020, 0, 4, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data, 0xabababab);
	/* A buffer outside guest RAM stops the transfer without a crash. */
	s = submit(f, 0, IOREQ_TYPE_PIO, 0xe7, 0xfffff0, 1, 100,
		   IOREQ_F_DATA_IS_PTR | IOREQ_F_DIR_READ);
	CHECK_EQ(ioreq_state(s->flags), STATE_IORESP_READY);
}

static void test_hostile(struct fixture *f)
{
	const struct ioreq_stats *st = ioreq_get_stats(f->dm);
	uint64_t invalid = st->invalid;
	struct ioreq *s;

	s = submit(f, 0, IOREQ_TYPE_PIO, 0x10000, 0, 1, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data, UINT64_MAX);
	CHECK_EQ(ioreq_state(s->flags), STATE_IORESP_READY);
	s = submit(f, 0, IOREQ_TYPE_PIO, 0xe0, 0, 3, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data, UINT64_MAX);
	s = submit(f, 0, IOREQ_TYPE_PIO, 0xe0, 0, 8, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data, UINT64_MAX);
	s = submit(f, 0, IOREQ_TYPE_PIO, 0xe0, 0x1000, 4, 0xffffffffu, IOREQ_F_DATA_IS_PTR);
	CHECK_EQ(ioreq_state(s->flags), STATE_IORESP_READY);
	s = submit(f, 0, IOREQ_TYPE_PIO, 0xe0, 0, 1, 0, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data, UINT64_MAX);
	s = submit(f, 0, 0x42, 0, 0, 4, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data, UINT64_MAX);
	CHECK_EQ(st->invalid - invalid, 6);
	/* Slots not in READY are left alone and not answered. */
	eventfd_count(f->resp[0]);
	s = &f->page->vcpu_ioreq[0];
	ioreq_store_flags(s, ioreq_flags_with_state(0, STATE_IOREQ_INPROCESS));
	s->data = 7;
	ioreq_poll(f->dm);
	CHECK_EQ(ioreq_state(s->flags), STATE_IOREQ_INPROCESS);
	CHECK_EQ(s->data, 7);
	CHECK_EQ(eventfd_count(f->resp[0]), 0);
	ioreq_store_flags(s, 0x0f); /* unknown state value */
	ioreq_poll(f->dm);
	CHECK_EQ(ioreq_state(s->flags), 0x0f);
}

static void buf_push(struct buffered_iopage *b, uint8_t type, uint32_t code, uint32_t addr,
		     uint32_t data)
{
	struct buf_ioreq *s = &b->buf_ioreq[b->write_pointer % IOREQ_BUFFER_SLOT_NUM];

	s->word0 = BUF_IOREQ_WORD0(type, 0, code, addr);
	s->data = data;
	__atomic_store_n(&b->write_pointer, b->write_pointer + 1, __ATOMIC_RELEASE);
}

static void test_buffered(struct fixture *f)
{
	struct ioreq *s;
	unsigned i;

	/* Buffered writes are applied before the next synchronous request. */
	buf_push(f->buf, IOREQ_TYPE_PIO, 0, 0xe0, 0x77);
	s = submit(f, 0, IOREQ_TYPE_PIO, 0xe0, 0, 1, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data, 0x77);
	CHECK_EQ(f->buf->read_pointer, f->buf->write_pointer);
	/* An 8-byte write spans two slots; the high half comes from the second. */
	buf_push(f->buf, IOREQ_TYPE_COPY, 3, 0xd0030, 0x11223344);
	CHECK_EQ(ioreq_drain_buffered(f->dm), 0); /* second half not published yet */
	buf_push(f->buf, IOREQ_TYPE_COPY, 3, 0xd0030, 0x55667788);
	CHECK_EQ(ioreq_drain_buffered(f->dm), 1);
	CHECK_EQ(f->buf->read_pointer, f->buf->write_pointer);
	/* Wrap-around: many writes, pointers free-running past 511. */
	for (i = 0; i < 700; i++) {
		buf_push(f->buf, IOREQ_TYPE_PIO, 0, 0xe0, i & 0xff);
		if (f->buf->write_pointer - f->buf->read_pointer >= 400)
			ioreq_drain_buffered(f->dm);
	}
	ioreq_drain_buffered(f->dm);
	CHECK_EQ(f->buf->read_pointer, f->buf->write_pointer);
	s = submit(f, 0, IOREQ_TYPE_PIO, 0xe0, 0, 1, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data, 699 & 0xff);
	/* Corrupt pointers (more than a ring apart): skipped, not looped on. */
	f->buf->write_pointer = f->buf->read_pointer + 5000;
	ioreq_drain_buffered(f->dm);
	CHECK_EQ(f->buf->read_pointer, f->buf->write_pointer);
}

/*
 * Line changes made while a synchronous request is handled: with the hv's
 * hv_takes_lines the GSI eventfd stays quiet and quiet_lines counts them;
 * without it, or outside a request, the eventfd is written unless a vCPU
 * says it watches (vcpu_watching).  A UART's
 * THRE interrupt goes up on the IER write that enables it and down on the
 * IIR read that reports it.
 */
static void test_quiet_lines(void)
{
	struct irq_line line;
	struct hvm_irq_page *pg;
	struct ioreq *s;
	struct fixture f;
	int fd;

	setup(&f);
	CHECK_EQ(dev_create(f.dm, "uart16550", "index=0", NULL), 0);
	pg = f.dm->irq_page;
	fd = eventfd(0, EFD_NONBLOCK);
	f.dm->irq_fd[4] = fd;

	/* An hv that takes no lines: every change is signalled. */
	submit(&f, 0, IOREQ_TYPE_PIO, 0x3f9, 0x02, 1, 1, 0);
	CHECK_EQ(pg->level[0] >> 4 & 1, 1u);
	CHECK_EQ(eventfd_count(fd), 1);
	s = submit(&f, 0, IOREQ_TYPE_PIO, 0x3fa, 0, 1, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data & 0x0f, 0x02); /* THRE reported, and cleared */
	CHECK_EQ(pg->level[0] >> 4 & 1, 0u);
	CHECK_EQ(eventfd_count(fd), 1);
	CHECK_EQ(pg->quiet_lines, 0u);

	/* One that takes them at the response: no eventfd, quiet_lines counts. */
	pg->hv_takes_lines = 1;
	submit(&f, 0, IOREQ_TYPE_PIO, 0x3f9, 0x00, 1, 1, 0);
	submit(&f, 0, IOREQ_TYPE_PIO, 0x3f9, 0x02, 1, 1, 0);
	CHECK_EQ(pg->level[0] >> 4 & 1, 1u);
	CHECK_EQ(pg->edges[4], 2u);
	CHECK_EQ(pg->quiet_lines, 1u);
	s = submit(&f, 0, IOREQ_TYPE_PIO, 0x3fa, 0, 1, 1, IOREQ_F_DIR_READ);
	CHECK_EQ(s->data & 0x0f, 0x02);
	CHECK_EQ(pg->level[0] >> 4 & 1, 0u);
	CHECK_EQ(pg->quiet_lines, 2u);
	CHECK_EQ(eventfd_count(fd), 0);
	CHECK(!f.dm->irq_in_request);

	/*
	 * Outside a request (a timer, a disk completion) it is signalled while
	 * no vCPU watches; quiet_lines goes up all the same (it is bumped
	 * before the flags are read, for a vCPU that just stopped watching).
	 */
	pg->hv_takes_lines = 1;
	line = (struct irq_line){ .dm = f.dm, .gsi = 4 };
	irq_set(&line, true);
	CHECK_EQ(eventfd_count(fd), 1);
	CHECK_EQ(pg->quiet_lines, 3u);

	/* A vCPU running guest code watches: no eventfd, either way. */
	pg->vcpu_watching[0] = 1;
	irq_set(&line, false);
	irq_set(&line, true);
	CHECK_EQ(eventfd_count(fd), 0);
	CHECK_EQ(pg->quiet_lines, 5u);
	CHECK_EQ(pg->level[0] >> 4 & 1, 1u);

	/* Only the flags of vCPUs that exist count. */
	pg->vcpu_watching[0] = 0;
	pg->vcpu_watching[1] = 1;
	irq_set(&line, false);
	CHECK_EQ(eventfd_count(fd), 1);
	f.dm->info.nr_vcpus = 2;
	irq_set(&line, true);
	CHECK_EQ(eventfd_count(fd), 0);
	CHECK_EQ(pg->quiet_lines, 7u);

	f.dm->irq_fd[4] = -1;
	close(fd);
	teardown(&f);
}

/* ---- watching the slots after an interrupt (ioreq_after_batch()) ---- */

struct irq_fix {
	struct dm *dm;
	struct shared_iopage *page;
	int req_fd, buf_fd, resp[1];
	struct irq_line line;
	bool guest_saw_polling; /* the helper found dm_polling set */
	bool stop;		/* the round is over: the helper gives up */
};

/* Loop work that raises an interrupt, as a disk completion does. */
static void raise_cb(void *arg)
{
	struct irq_fix *f = arg;

	irq_set(&f->line, false);
	irq_set(&f->line, true);
}

static void post_read(struct irq_fix *f)
{
	struct ioreq *s = &f->page->vcpu_ioreq[0];

	s->addr = 0xe7; /* hvm-testdev presence: 0x5a */
	s->data = 0;
	s->size = 1;
	s->count = 1;
	s->type = IOREQ_TYPE_PIO;
	s->flags = IOREQ_F_DIR_READ;
	ioreq_store_flags(s, ioreq_flags_with_state(s->flags, STATE_IOREQ_READY));
}

/* Busy for ns (a sleep would take the timer slack, 50 us and more). */
static void busy_ns(uint64_t ns)
{
	uint64_t start = hvm_poll_now();

	while (hvm_poll_now() - start < ns)
		;
}

/* A "handler" that answers 30 us after the interrupt, woken the slow way. */
static void slow_round(struct irq_fix *f)
{
	uint64_t one = 1;

	CHECK_EQ(loop_post(f->dm->loop, raise_cb, f), 0);
	CHECK(loop_run_once(f->dm->loop, 100) > 0);
	busy_ns(30000);
	post_read(f);
	CHECK_EQ(write(f->req_fd, &one, sizeof(one)), sizeof(one));
	CHECK(loop_run_once(f->dm->loop, 100) > 0);
	CHECK_EQ(ioreq_state(ioreq_load_flags(&f->page->vcpu_ioreq[0])), STATE_IORESP_READY);
	ioreq_store_flags(&f->page->vcpu_ioreq[0], 0);
}

/* The guest side of the last round: a request once the dm watches. */
static void *watching_guest(void *arg)
{
	struct irq_fix *f = arg;

	for (unsigned i = 0; i < 2000000 && !__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE); i++) {
		if (__atomic_load_n(&f->dm->irq_page->dm_polling, __ATOMIC_ACQUIRE)) {
			f->guest_saw_polling = true;
			post_read(f);
			return NULL;
		}
		sched_yield();
	}
	return NULL;
}

/*
 * Once it has learnt that the guest answers interrupts within some tens of
 * microseconds, the dm watches the slots after loop work that raised one:
 * a request made then is handled in the same loop iteration, with no
 * eventfd write from the guest.  The helper thread has to run inside that
 * window; on a busy host (the suite runs two tests at a time) it may not,
 * so a round it missed is tried again, after learning afresh (a dm that
 * never watches misses them all).
 */
static void test_spin_after_irq(void)
{
	struct irq_fix f = { 0 };
	bool answered = false;
	uint64_t v, one = 1;
	pthread_t t;

	CHECK_EQ(dm_create_standalone(1 << 20, &f.dm), 0);
	f.page = calloc(1, sizeof(*f.page));
	f.req_fd = eventfd(0, EFD_NONBLOCK);
	f.buf_fd = eventfd(0, EFD_NONBLOCK);
	f.resp[0] = eventfd(0, EFD_NONBLOCK);
	CHECK_EQ(ioreq_attach(f.dm, f.page, NULL, 1, f.req_fd, f.buf_fd, f.resp), 0);
	CHECK_EQ(dev_create(f.dm, "hvm-testdev", NULL, NULL), 0);
	irq_line_init(&f.line, f.dm, 5);
	for (unsigned round = 0; round < 5 && !answered; round++) {
		/* Learn: 4 us after the first answer, doubling while answers take longer. */
		for (unsigned i = 0; i < 10; i++)
			slow_round(&f);
		f.stop = false;
		f.guest_saw_polling = false;
		CHECK_EQ(pthread_create(&t, NULL, watching_guest, &f), 0);
		CHECK_EQ(loop_post(f.dm->loop, raise_cb, &f), 0);
		CHECK(loop_run_once(f.dm->loop, 100) > 0);
		__atomic_store_n(&f.stop, true, __ATOMIC_RELEASE);
		pthread_join(t, NULL);
		if (!f.guest_saw_polling)
			continue; /* the helper did not run inside the window */
		answered = ioreq_state(ioreq_load_flags(&f.page->vcpu_ioreq[0])) ==
			   STATE_IORESP_READY;
		if (!answered) {
			/* posted as the window closed (a real vCPU would signal): answer it */
			CHECK_EQ(write(f.req_fd, &one, sizeof(one)), sizeof(one));
			CHECK(loop_run_once(f.dm->loop, 100) > 0);
			ioreq_store_flags(&f.page->vcpu_ioreq[0], 0);
		}
	}
	CHECK(answered);
	CHECK_EQ(f.page->vcpu_ioreq[0].data, 0x5a);
	CHECK_EQ(f.dm->irq_page->dm_polling, 0u);
	CHECK_EQ(read(f.req_fd, &v, sizeof(v)), -1); /* nobody had to wake us */

	dm_destroy(f.dm);
	free(f.page);
	close(f.req_fd);
	close(f.buf_fd);
	close(f.resp[0]);
}

int main(void)
{
	struct fixture f;

	setup(&f);
	test_pio(&f);
	test_rep(&f);
	test_hostile(&f);
	test_buffered(&f);
	teardown(&f);
	test_quiet_lines();
	test_spin_after_irq();
	return tap_done();
}
