// SPDX-License-Identifier: MIT
/*
 * test_iospace.c - the address-space dispatcher: size splitting and merging,
 * narrow accesses, unaligned accesses, unclaimed all-ones, overlap refusal.
 */
#include <errno.h>
#include <string.h>

#include "dm.h"
#include "iospace.h"
#include "tap.h"

struct rec {
	uint8_t mem[16];
	unsigned calls;
	unsigned last_size;
	uint64_t last_off;
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
	struct rec *r = opaque;
	uint64_t v = 0;

	r->calls++;
	r->last_size = size;
	r->last_off = off;
	memcpy(&v, &r->mem[off], size);
	return v;
}

static void rec_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct rec *r = opaque;

	r->calls++;
	r->last_size = size;
	r->last_off = off;
	memcpy(&r->mem[off], &val, size);
}

static const struct io_ops ops_byte = { .read = rec_read, .write = rec_write, .max_size = 1 };
static const struct io_ops ops_dword = {
	.read = rec_read, .write = rec_write, .min_size = 4, .max_size = 4
};
static const struct io_ops ops_any = {
	.read = rec_read, .write = rec_write, .max_size = 8, .allow_unaligned = true
};

static uint64_t rd(struct dm *dm, enum io_space sp, uint64_t a, unsigned size)
{
	uint64_t v = 0;

	CHECK_EQ(io_dispatch(dm, sp, a, size, false, &v), 0);
	return v;
}

static void wr(struct dm *dm, enum io_space sp, uint64_t a, unsigned size, uint64_t v)
{
	CHECK_EQ(io_dispatch(dm, sp, a, size, true, &v), 0);
}

static void test_split_and_unclaimed(struct dm *dm)
{
	struct rec b = { 0 };
	struct io_region r;

	io_region_init(&r, &ops_byte, &b, "byte", 4);
	CHECK_EQ(io_region_map(dm, &r, IO_PIO, 0x100), 0);
	wr(dm, IO_PIO, 0x100, 4, 0x44332211);
	CHECK_EQ(b.calls, 4); /* split into four byte writes */
	CHECK_EQ(b.mem[0], 0x11);
	CHECK_EQ(b.mem[3], 0x44);
	CHECK_EQ(rd(dm, IO_PIO, 0x100, 2), 0x2211);
	/* Half inside, half unclaimed: the unclaimed bytes read 0xff. */
	CHECK_EQ(rd(dm, IO_PIO, 0x102, 4), 0xffff4433);
	CHECK_EQ(rd(dm, IO_PIO, 0x200, 4), 0xffffffff);
	CHECK_EQ(rd(dm, IO_MMIO, 0x100, 8), UINT64_MAX);
	/* Unclaimed writes are dropped without a crash. */
	wr(dm, IO_PIO, 0xfffe, 4, 0);
	io_region_unmap(&r);
	CHECK_EQ(rd(dm, IO_PIO, 0x100, 1), 0xff);
}

static void test_narrow(struct dm *dm)
{
	struct rec d = { 0 };
	struct io_region r;

	io_region_init(&r, &ops_dword, &d, "dword", 8);
	CHECK_EQ(io_region_map(dm, &r, IO_MMIO, 0x1000), 0);
	memcpy(d.mem, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	CHECK_EQ(rd(dm, IO_MMIO, 0x1001, 1), 0x22);
	CHECK_EQ(d.last_size, 4);
	CHECK_EQ(d.last_off, 0);
	CHECK_EQ(rd(dm, IO_MMIO, 0x1002, 2), 0x4433);
	/* 8-byte access to a 4-byte region: two dword reads. */
	d.calls = 0;
	CHECK_EQ(rd(dm, IO_MMIO, 0x1000, 8), 0x8877665544332211ull);
	CHECK_EQ(d.calls, 2);
	/* Unaligned dword access is split into naturally aligned pieces. */
	CHECK_EQ(rd(dm, IO_MMIO, 0x1002, 4), 0x66554433);
	io_region_unmap(&r);
}

static void test_unaligned_allowed(struct dm *dm)
{
	struct rec a = { 0 };
	struct io_region r;

	io_region_init(&r, &ops_any, &a, "any", 16);
	CHECK_EQ(io_region_map(dm, &r, IO_MMIO, 0x2000), 0);
	a.calls = 0;
	wr(dm, IO_MMIO, 0x2003, 8, 0x0102030405060708ull);
	CHECK_EQ(a.calls, 1);
	CHECK_EQ(a.last_size, 8);
	CHECK_EQ(rd(dm, IO_MMIO, 0x2003, 8), 0x0102030405060708ull);
	io_region_unmap(&r);
}

static void test_overlap(struct dm *dm)
{
	struct rec x = { 0 };
	struct io_region a, b, c;

	io_region_init(&a, &ops_byte, &x, "a", 0x10);
	io_region_init(&b, &ops_byte, &x, "b", 0x10);
	io_region_init(&c, &ops_byte, &x, "c", 0x10);
	CHECK_EQ(io_region_map(dm, &a, IO_PIO, 0x300), 0);
	CHECK_EQ(io_region_map(dm, &b, IO_PIO, 0x308), -EEXIST);
	CHECK_EQ(io_region_map(dm, &b, IO_PIO, 0x2f8), -EEXIST);
	CHECK_EQ(io_region_map(dm, &b, IO_PIO, 0x310), 0);
	CHECK_EQ(io_region_map(dm, &c, IO_PIO, 0xfff8), -EINVAL);	   /* past 64 KiB */
	CHECK_EQ(io_region_map(dm, &c, IO_MMIO, UINT64_MAX - 4), -EINVAL); /* wraps */
	CHECK_EQ(io_region_move(dm, &b, IO_PIO, 0x400), 0);
	CHECK(io_lookup(dm, IO_PIO, 0x405) == &b);
	CHECK(io_lookup(dm, IO_PIO, 0x315) == NULL);
	io_region_unmap(&a);
	io_region_unmap(&b);
	CHECK_EQ(io_dispatch(dm, IO_PIO, 0x300, 3, false, &(uint64_t){ 0 }), -EINVAL);
}

int main(void)
{
	struct dm *dm;

	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	test_split_and_unclaimed(dm);
	test_narrow(dm);
	test_unaligned_allowed(dm);
	test_overlap(dm);
	dm_destroy(dm);
	return tap_done();
}
