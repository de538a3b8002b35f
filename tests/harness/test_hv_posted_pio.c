// SPDX-License-Identifier: MIT
/*
 * test_hv_posted_pio.c - hvmhv's side of HVM_MSG_SET_BUFFERED_PIO
 * (hypervisor/ioreq.c, hypervisor/io.c) without KVM and without a dm: a
 * fake consumer thread answers synchronous requests and counts them.
 *   - ioreq_pio_bufferable() agrees, for every port and size 1/2/4, with
 *     an independent check against the registered ranges: ports outside
 *     them, and writes that straddle a range's end, are never bufferable;
 *   - hv_io_pio() posts writes inside the set (type PIO, the port and the
 *     value in the ring, no synchronous request) and sends every read, and
 *     every write outside the set, synchronously;
 *   - a new set replaces the old one, an empty set clears it, and bad sets
 *     (too many ranges, past port 0xffff) are refused without changing it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hv.h"
#include "ioreq.h"
#include "tap.h"

struct consumer {
	struct ioreq_prod *p;
	unsigned answered;
	uint64_t last_addr;
	bool stop;
};

/* Answer every READY request on slot 0 (reads with 0x5a), count them. */
static void *consume(void *arg)
{
	struct consumer *c = arg;
	struct ioreq *s = &c->p->page->vcpu_ioreq[0];

	while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST)) {
		struct pollfd pfd = { .fd = c->p->req_fd, .events = POLLIN };
		uint64_t v, one = 1;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		if (read(c->p->req_fd, &v, sizeof(v)) < 0)
			continue;
		if (ioreq_state(ioreq_load_flags(s)) != STATE_IOREQ_READY)
			continue;
		c->last_addr = s->addr;
		if (s->flags & IOREQ_F_DIR_READ)
			s->data = 0x5a;
		__atomic_store_n(&c->answered, c->answered + 1, __ATOMIC_SEQ_CST);
		ioreq_store_flags(s,
				  ioreq_flags_with_state(ioreq_load_flags(s), STATE_IORESP_READY));
		if (write(c->p->resp_fd[0], &one, sizeof(one)) < 0)
			perror("response eventfd");
	}
	return NULL;
}

static const struct hvm_range ide_set[] = {
	{ 0x1f1, 6 },
	{ 0x171, 6 },
	{ 0xc004, 4 },
	{ 0xc00c, 4 },
};

static bool in_ranges(const struct hvm_range *r, unsigned n, uint32_t port, uint32_t size)
{
	for (uint32_t b = port; b < port + size; b++) {
		bool in = false;

		for (unsigned i = 0; i < n; i++)
			in |= b >= r[i].start && b < r[i].start + r[i].len;
		if (!in)
			return false;
	}
	return true;
}

static unsigned ring_used(const struct ioreq_prod *p)
{
	return p->bufpage->write_pointer - p->bufpage->read_pointer;
}

static void test_filter(struct ioreq_prod *p)
{
	static const uint32_t sizes[] = { 1, 2, 4 };
	unsigned wrong = 0, yes = 0;

	CHECK(ioreq_set_buffered_pio(p, ide_set, 4) == 0);
	for (uint32_t port = 0; port <= 0xffff; port++)
		for (unsigned k = 0; k < 3; k++) {
			bool want = in_ranges(ide_set, 4, port, sizes[k]);

			if (ioreq_pio_bufferable(p, (uint16_t)port, sizes[k]) != want)
				wrong++;
			yes += want;
		}
	CHECK(wrong == 0);
	/* 6+6+4+4 single ports, 5+5+3+3 pairs, 3+3+1+1 dwords. */
	CHECK(yes == 20 + 16 + 8);
	CHECK(!ioreq_pio_bufferable(p, 0x1f0, 1));  /* data */
	CHECK(!ioreq_pio_bufferable(p, 0x1f7, 1));  /* command */
	CHECK(!ioreq_pio_bufferable(p, 0x1f6, 2));  /* device + command */
	CHECK(!ioreq_pio_bufferable(p, 0x3f6, 1));  /* device control */
	CHECK(!ioreq_pio_bufferable(p, 0xc000, 1)); /* BM command */
	CHECK(!ioreq_pio_bufferable(p, 0xc002, 1)); /* BM status */
	CHECK(!ioreq_pio_bufferable(p, 0xc002, 4));
	CHECK(ioreq_pio_bufferable(p, 0xc004, 4));
	CHECK(!ioreq_pio_bufferable(p, 0xffff, 4));
}

static void test_replace(struct ioreq_prod *p)
{
	struct hvm_range many[HVM_BUFFERED_PIO_MAX_RANGES + 1];
	struct hvm_range past = { 0xfffe, 3 }, one = { 0x80, 1 };

	for (unsigned i = 0; i <= HVM_BUFFERED_PIO_MAX_RANGES; i++)
		many[i] = (struct hvm_range){ 0x100 + 2 * i, 1 };
	CHECK(ioreq_set_buffered_pio(p, ide_set, 4) == 0);
	CHECK(ioreq_set_buffered_pio(p, many, HVM_BUFFERED_PIO_MAX_RANGES + 1) == -EINVAL);
	CHECK(ioreq_set_buffered_pio(p, &past, 1) == -EINVAL);
	CHECK(ioreq_pio_bufferable(p, 0x1f2, 1)); /* unchanged */
	CHECK(!ioreq_pio_bufferable(p, 0x100, 1));
	CHECK(ioreq_set_buffered_pio(p, &one, 1) == 0);
	CHECK(ioreq_pio_bufferable(p, 0x80, 1));
	CHECK(!ioreq_pio_bufferable(p, 0x1f2, 1)); /* replaced, not added */
	CHECK(!ioreq_pio_bufferable(p, 0x80, 2));
	CHECK(ioreq_set_buffered_pio(p, NULL, 0) == 0);
	CHECK(!ioreq_pio_bufferable(p, 0x80, 1));
}

/* hv_io_pio over a sample of ports: posted exactly where the set says. */
static void test_io_pio(struct hv *hv, struct consumer *c)
{
	struct ioreq_prod *p = &hv->io;
	struct hv_vcpu *v = &hv->vcpus[0];
	static const uint16_t ports[] = { 0x1f0,  0x1f1,  0x1f2,  0x1f6,  0x1f7,  0x3f6,
					  0x170,  0x176,  0x177,  0xc000, 0xc002, 0xc004,
					  0xc007, 0xc008, 0xc00c, 0xcf8,  0x80,	  0xffff };
	static const uint32_t sizes[] = { 1, 2, 4 };
	unsigned bad = 0, posted = 0;

	CHECK(ioreq_set_buffered_pio(p, ide_set, 4) == 0);
	for (unsigned i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		for (unsigned k = 0; k < 3; k++) {
			bool want = in_ranges(ide_set, 4, ports[i], sizes[k]);
			unsigned sync0 = __atomic_load_n(&c->answered, __ATOMIC_SEQ_CST);
			uint32_t wp = p->bufpage->write_pointer;

			hv_io_pio(v, ports[i], sizes[k], false, 0x12345678);
			if (want) {
				const struct buf_ioreq *s =
					&p->bufpage->buf_ioreq[wp % IOREQ_BUFFER_SLOT_NUM];

				bad += p->bufpage->write_pointer != wp + 1;
				bad += c->answered != sync0;
				bad += BUF_IOREQ_TYPE(s->word0) != IOREQ_TYPE_PIO;
				bad += BUF_IOREQ_ADDR(s->word0) != ports[i];
				bad += BUF_IOREQ_SIZE_CODE(s->word0) !=
				       (sizes[k] == 4 ? 2u : sizes[k] - 1);
				bad += s->data != (0x12345678u & (uint32_t)ioreq_ones(sizes[k]));
				posted++;
				/* Consume it, as the dm would. */
				p->bufpage->read_pointer = p->bufpage->write_pointer;
			} else {
				bad += p->bufpage->write_pointer != wp;
				bad += c->answered != sync0 + 1;
				bad += c->last_addr != ports[i];
			}
			/* Reads are always synchronous, inside the set too. */
			sync0 = c->answered;
			bad += hv_io_pio(v, ports[i], sizes[k], true, 0) != 0x5a;
			bad += c->answered != sync0 + 1;
		}
	CHECK(bad == 0);
	CHECK(posted > 0);
	CHECK(v->nr_buffered == posted);
	CHECK(ring_used(p) == 0);
	/* Cleared set: the same writes all go synchronously. */
	CHECK(ioreq_set_buffered_pio(p, NULL, 0) == 0);
	{
		unsigned sync0 = c->answered;
		uint32_t wp = p->bufpage->write_pointer;

		hv_io_pio(v, 0x1f2, 1, false, 1);
		CHECK(p->bufpage->write_pointer == wp);
		CHECK(c->answered == sync0 + 1);
	}
}

int main(void)
{
	static struct hv hv;
	static struct hv_vcpu vcpu;
	struct consumer c = { 0 };
	pthread_t th;
	int page_fd, buf_fd;

	CHECK(ioreq_prod_create(&hv.io, 1, &page_fd, &buf_fd) == 0);
	if (!hv.io.page)
		return tap_done();
	vcpu.hv = &hv;
	hv.vcpus = &vcpu;
	ioreq_set_dm_state(&hv.io, IOREQ_DM_ATTACHED);
	c.p = &hv.io;
	test_filter(&hv.io);
	test_replace(&hv.io);
	pthread_create(&th, NULL, consume, &c);
	test_io_pio(&hv, &c);
	__atomic_store_n(&c.stop, true, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	ioreq_prod_destroy(&hv.io, page_fd, buf_fd);
	return tap_done();
}
