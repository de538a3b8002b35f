// SPDX-License-Identifier: MIT
/*
 * test_mmio_mirror.c - VGA window reads answered by hvmhv from the image
 * (HVM_MSG_SET_MMIO_MIRROR), end to end in one process: hvmhv's producer
 * and mirror (hypervisor/ioreq.c, mmio_mirror.c) against hvmdm's consumer
 * and the real std VGA (dm/ioreq.c, hw/vga/), with a small setup-socket
 * server standing in for hypervisor/setup.c.  No KVM needed.
 *
 * The vCPU side does what hypervisor/io.c does for an MMIO access: a read
 * is answered from the mirror or sent synchronously, a window write is
 * posted through the buffered ring.  Requests the dm handled are counted
 * (ioreq_get_stats), so a test can tell a read the hv answered from one
 * that went to the dm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/hvm_msg.h"
#include "../../dm/device.h"
#include "../../dm/dm.h"
#include "../../dm/ioreq.h"
#include "../../dm/loop.h"
#include "../../hypervisor/ioreq.h"
#include "ioreq_fix.h"
#include "tap.h"
#include "vga/vga.h"

#define TEXT 0xb8000u
#define STRESS_ROUNDS 20000u

struct fix {
	struct ioreq_fix io; /* comes first: hv_answer() gets its address */
	struct vga *vga;
	bool old_hv; /* answer SET_MMIO_MIRROR with -ENOSYS */
	unsigned mmio_msgs;
};

static int hv_answer(struct ioreq_fix *io, const struct hvm_msg *hdr, const void *payload, int fd)
{
	struct fix *f = (struct fix *)io;

	if (hdr->type != HVM_MSG_SET_MMIO_MIRROR)
		return -ENOSYS;
	f->mmio_msgs++;
	if (f->old_hv)
		return -ENOSYS;
	if (hdr->len != sizeof(struct hvm_mmio_mirror_set))
		return -EINVAL;
	return ioreq_set_mmio_mirror(&io->p, payload, fd);
}

static void setup(struct fix *f, bool old_hv, unsigned nr_vcpus)
{
	struct dev *d;

	memset(f, 0, sizeof(*f));
	f->old_hv = old_hv;
	ioreq_fix_create(&f->io, 1 << 20, hv_answer);
	f->io.dm->info.nr_vcpus = nr_vcpus;
	ioreq_fix_attach(&f->io);
	CHECK_EQ(dev_create(f->io.dm, "i440fx", NULL, NULL), 0);
	CHECK_EQ(dev_create(f->io.dm, "stdvga", NULL, &d), 0);
	f->vga = d->state; /* struct vga comes first */
}

static uint64_t handled(const struct fix *f)
{
	return ioreq_get_stats(f->io.dm)->handled;
}

static uint32_t state(const struct fix *f)
{
	return vga_mirror_valid(f->vga) ? HVM_MMIO_MIRROR_VALID : HVM_MMIO_MIRROR_INVALID;
}

/* hv_io_mmio() for a read: the mirror first, else a round trip. */
static uint64_t mmio_read(struct fix *f, uint64_t a, uint32_t size)
{
	uint64_t v;

	if (ioreq_mmio_mirror_read(&f->io.p, a, size, &v))
		return v;
	return ioreq_fix_sync(&f->io, (struct ioreq_req){ .type = IOREQ_TYPE_COPY,
							  .is_read = true,
							  .size = size,
							  .count = 1,
							  .addr = a });
}

/* A window write as hv_io_mmio() posts it. */
static void mmio_post(struct fix *f, uint64_t a, uint32_t size, uint64_t v)
{
	CHECK(ioreq_send_buffered(&f->io.p, a, size, v));
}

static void port_sync(struct fix *f, uint16_t port, uint8_t v)
{
	ioreq_fix_sync(
		&f->io,
		(struct ioreq_req){
			.type = IOREQ_TYPE_PIO, .size = 1, .count = 1, .addr = port, .data = v });
}

/* Text mode as the BIOS leaves it: odd/even, planes 0 and 1, B8000. */
static void text_mode(struct fix *f)
{
	port_sync(f, 0x3c4, 2), port_sync(f, 0x3c5, 0x03);
	port_sync(f, 0x3c4, 4), port_sync(f, 0x3c5, 0x02);
	port_sync(f, 0x3ce, 4), port_sync(f, 0x3cf, 0x00);
	port_sync(f, 0x3ce, 5), port_sync(f, 0x3cf, 0x10);
	port_sync(f, 0x3ce, 6), port_sync(f, 0x3cf, 0x0e);
}

/* Synchronous window reads until the dm validates (it waits for a few). */
static unsigned reads_until_valid(struct fix *f)
{
	unsigned n = 0;

	while (state(f) != HVM_MMIO_MIRROR_VALID && n < 100) {
		mmio_read(f, TEXT, 1);
		n++;
	}
	return n;
}

static void test_offer(struct fix *f)
{
	CHECK_EQ(f->mmio_msgs, 1);
	CHECK(f->io.p.mmio_mirror != NULL);
	CHECK(f->vga->mirror.hdr != NULL);
	CHECK_EQ(state(f), HVM_MMIO_MIRROR_INVALID);
}

/* Reads from the image: no request, and the writes still in the ring count. */
static void test_hits(struct fix *f)
{
	uint64_t before, v = 0;
	unsigned n;

	text_mode(f);
	mmio_post(f, TEXT, 2, 0x1741); /* 'A' on blue, posted */
	n = reads_until_valid(f);
	CHECK(n > 1);	/* not on the first read: rebuilding costs a pass */
	CHECK(n <= 20); /* but soon */
	CHECK_EQ(state(f), HVM_MMIO_MIRROR_VALID);
	CHECK(f->vga->mirror.hdr->live_off == 0x18000 && f->vga->mirror.hdr->live_len == 0x8000);
	before = handled(f);
	CHECK_EQ(mmio_read(f, TEXT, 2), 0x1741);
	CHECK_EQ(mmio_read(f, TEXT, 4), 0x1741);
	/* A posted write is read back while it still sits in the ring. */
	mmio_post(f, TEXT + 160, 4, 0x07420743);
	mmio_post(f, TEXT + 161, 1, 0x55);
	CHECK(!ioreq_fix_ring_empty(&f->io));
	CHECK_EQ(mmio_read(f, TEXT + 160, 4), 0x07425543);
	CHECK_EQ(mmio_read(f, TEXT + 160, 8), 0x07425543);
	CHECK_EQ(handled(f), before);
	/* The dm applies the ring later and VRAM agrees. */
	CHECK(ioreq_drain_buffered(f->io.dm) >= 2);
	CHECK_EQ(vga_mem_readb(f->vga, 0x18000 + 161), 0x55);
	/* Outside the live part (A0000 is not decoded in text mode): the dm answers. */
	CHECK(!ioreq_mmio_mirror_read(&f->io.p, 0xa0000, 1, &v));
	CHECK(!ioreq_mmio_mirror_read(&f->io.p, 0xb7fff, 2, &v)); /* straddles the edge */
	CHECK(!ioreq_mmio_mirror_read(&f->io.p, TEXT, 3, &v));	  /* no such size */
	CHECK_EQ(mmio_read(f, 0xa0000, 1), 0xff);
	CHECK_EQ(handled(f), before + 1);
	/* A synchronous window write (a full ring falls back to one) lands too. */
	ioreq_fix_sync(&f->io, (struct ioreq_req){ .type = IOREQ_TYPE_COPY,
						   .size = 1,
						   .count = 1,
						   .addr = TEXT + 2,
						   .data = 0x99 });
	CHECK_EQ(state(f), HVM_MMIO_MIRROR_VALID);
	CHECK(ioreq_mmio_mirror_read(&f->io.p, TEXT + 2, 1, &v));
	CHECK_EQ(v, 0x99);
}

/*
 * A mode port write drops the image before it is sent, even when it is
 * posted and the dm has not seen it yet: GR6 moves the window to A0000,
 * so the stale image must not answer for B8000.
 */
static void test_mode_port(struct fix *f)
{
	struct hvm_range gr = { 0x3ce, 2 };
	uint64_t v = 0, before;

	CHECK_EQ(state(f), HVM_MMIO_MIRROR_VALID);
	CHECK_EQ(ioreq_set_buffered_pio(&f->io.p, &gr, 1), 0); /* post GR writes here */
	CHECK(ioreq_send_buffered_pio(&f->io.p, 0x3ce, 1, 6));
	CHECK_EQ(state(f), HVM_MMIO_MIRROR_INVALID); /* the index port already */
	CHECK(ioreq_send_buffered_pio(&f->io.p, 0x3cf, 1, 0x06));
	CHECK(!ioreq_fix_ring_empty(&f->io));
	CHECK(!ioreq_mmio_mirror_read(&f->io.p, TEXT, 1, &v));
	before = handled(f);
	CHECK_EQ(mmio_read(f, TEXT, 1), 0xff); /* no longer decoded */
	CHECK_EQ(handled(f), before + 1);
	/* Chain 4 at A0000 validates too, with the new live part. */
	port_sync(f, 0x3c4, 4), port_sync(f, 0x3c5, 0x0e);
	port_sync(f, 0x3c4, 2), port_sync(f, 0x3c5, 0x0f);
	for (unsigned i = 0; i < 40 && state(f) != HVM_MMIO_MIRROR_VALID; i++)
		mmio_read(f, 0xa0000, 1);
	CHECK_EQ(state(f), HVM_MMIO_MIRROR_VALID);
	CHECK(f->vga->mirror.hdr->live_off == 0 && f->vga->mirror.hdr->live_len == 0x10000);
	/* A port outside the mode set (the CRTC) leaves it valid. */
	ioreq_fix_sync(&f->io, (struct ioreq_req){ .type = IOREQ_TYPE_PIO,
						   .size = 1,
						   .count = 1,
						   .addr = 0x3d4,
						   .data = 0x0c });
	CHECK_EQ(state(f), HVM_MMIO_MIRROR_VALID);
	/* A string write to a mode port drops it too. */
	ioreq_fix_sync(&f->io, (struct ioreq_req){ .type = IOREQ_TYPE_PIO,
						   .size = 1,
						   .count = 1,
						   .data_is_ptr = true,
						   .addr = 0x3c4,
						   .data = 0 });
	CHECK_EQ(state(f), HVM_MMIO_MIRROR_INVALID);
	CHECK_EQ(ioreq_set_buffered_pio(&f->io.p, NULL, 0), 0);
	text_mode(f);
	CHECK(reads_until_valid(f) <= 20);
}

/* Planar modes (latches) never validate, however many reads. */
static void test_planar(struct fix *f)
{
	port_sync(f, 0x3ce, 5), port_sync(f, 0x3cf, 0x00);
	CHECK_EQ(state(f), HVM_MMIO_MIRROR_INVALID);
	CHECK_EQ(reads_until_valid(f), 100);
	CHECK_EQ(state(f), HVM_MMIO_MIRROR_INVALID);
	text_mode(f);
}

/*
 * A vCPU thread writes (posted) and reads back the text window, round
 * after round, while the dm's loop runs; now and then it rewrites a mode
 * register (posted, same value), which drops the image until the dm
 * rebuilds it.  Every read must return what was written last.
 */
struct stress {
	struct ioreq_prod *p;
	uint8_t shadow[0x8000];
	unsigned bad, done, sync_reads;
	uint64_t first_bad, got, want;
};

static uint64_t stress_read(struct stress *s, uint64_t a, uint32_t size)
{
	struct ioreq_req r = {
		.type = IOREQ_TYPE_COPY, .is_read = true, .size = size, .count = 1, .addr = a
	};
	uint64_t v;

	if (ioreq_mmio_mirror_read(s->p, a, size, &v))
		return v;
	s->sync_reads++;
	if (ioreq_send(s->p, 0, &r) != IOREQ_DONE)
		return ~0ull;
	return r.data;
}

static void *stress_vcpu(void *arg)
{
	struct stress *s = arg;
	uint32_t x = 12345;

	for (unsigned i = 0; i < STRESS_ROUNDS && !s->bad; i++) {
		uint32_t off, size;
		uint64_t want = 0, got;

		x = x * 1103515245u + 12345u;
		off = (x >> 8) % (0x8000 - 8);
		size = 1u << ((x >> 4) % 4);
		if ((x >> 28) == 0) {
			/* A mode register, same value: posted, drops the image. */
			if (!ioreq_send_buffered_pio(s->p, 0x3c2, 1, 0x67))
				break;
			continue;
		}
		if (x & 8) {
			uint64_t v = (uint64_t)x * 0x9e3779b97f4a7c15ull;

			if (!ioreq_send_buffered(s->p, TEXT + off, size, v)) {
				struct ioreq_req w = { .type = IOREQ_TYPE_COPY,
						       .size = size,
						       .count = 1,
						       .addr = TEXT + off,
						       .data = v };

				if (ioreq_send(s->p, 0, &w) != IOREQ_DONE)
					break;
			}
			memcpy(s->shadow + off, &v, size);
			continue;
		}
		memcpy(&want, s->shadow + off, size);
		got = stress_read(s, TEXT + off, size);
		if (got != want) {
			s->bad++;
			s->first_bad = i;
			s->got = got;
			s->want = want;
		}
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_stress(struct fix *f)
{
	struct stress *s = calloc(1, sizeof(*s));
	uint64_t hits = f->io.p.mmio_mirror_hits;
	struct hvm_range misc = { 0x3c2, 1 };
	pthread_t t;

	CHECK_EQ(ioreq_set_buffered_pio(&f->io.p, &misc, 1), 0);
	s->p = &f->io.p;
	/* Start from the window's contents. */
	for (unsigned a = 0; a < 0x8000; a++)
		s->shadow[a] = vga_mem_readb(f->vga, 0x18000 + a);
	pthread_create(&t, NULL, stress_vcpu, s);
	for (unsigned i = 0; i < 6000 && !__atomic_load_n(&s->done, __ATOMIC_ACQUIRE); i++)
		loop_run_once(f->io.dm->loop, 10);
	pthread_join(t, NULL);
	CHECK_EQ(s->bad, 0);
	if (s->bad)
		printf("# round %llu read 0x%llx, wrote 0x%llx\n", (unsigned long long)s->first_bad,
		       (unsigned long long)s->got, (unsigned long long)s->want);
	CHECK(f->io.p.mmio_mirror_hits - hits > 1000);
	CHECK(f->io.p.mmio_mirror_invalidations > 10);
	printf("# stress: %u rounds, %llu reads answered from the image, %u synchronous\n",
	       STRESS_ROUNDS, (unsigned long long)(f->io.p.mmio_mirror_hits - hits), s->sync_reads);
	free(s);
}

/* An hv without the message, HVM_MMIO_MIRROR=0, or two vCPUs: window reads stay synchronous. */
static void test_off(void)
{
	struct fix *f = calloc(1, sizeof(*f));

	setup(f, true, 1);
	CHECK_EQ(f->mmio_msgs, 1);
	CHECK(f->io.p.mmio_mirror == NULL);
	CHECK(f->vga->mirror.hdr == NULL);
	text_mode(f);
	CHECK_EQ(reads_until_valid(f), 100);
	ioreq_fix_destroy(&f->io);

	setenv("HVM_MMIO_MIRROR", "0", 1);
	setup(f, false, 1);
	CHECK_EQ(f->mmio_msgs, 0);
	CHECK(f->vga->mirror.hdr == NULL);
	ioreq_fix_destroy(&f->io);
	unsetenv("HVM_MMIO_MIRROR");

	setup(f, false, 2);
	CHECK_EQ(f->mmio_msgs, 0);
	ioreq_fix_destroy(&f->io);
	free(f);
}

int main(void)
{
	struct fix *f = calloc(1, sizeof(*f));

	setup(f, false, 1);
	test_offer(f);
	test_hits(f);
	test_mode_port(f);
	test_planar(f);
	test_stress(f);
	ioreq_fix_destroy(&f->io);
	free(f);
	test_off();
	return tap_done();
}
