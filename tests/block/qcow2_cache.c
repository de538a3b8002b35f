// SPDX-License-Identifier: MIT
/*
 * qcow2_cache.c - what keeps qcow2 reads cheap: the L2 table cache and a
 * loop-thread read that would block part way.
 *
 *   l2-size     the L2 cache holds enough tables for the whole image
 *               (512-byte clusters, 256 tables for 8 MiB: a second pass
 *               over the disk loads no table), at least 16, and at most
 *               32 MiB of tables (a 32 GiB image of 4 KiB clusters);
 *               blk_opts.l2_cache_size sets it.  With 4 tables cached,
 *               the least recently used one is replaced.
 *   l2-evict    a cache of 4 tables on an image of 256: 3000 random
 *               writes and reads of 1-9 KiB (many cross tables) always
 *               read back what a flat reference holds, so does the whole
 *               disk after reopening it with the default cache, the
 *               cache's links stay sound after every operation
 *               (qcow2_l2c_check), and `qemu-img check` is clean when
 *               qemu-img exists.
 *   resume      on a dm loop, a 1 MiB read (scattered odd-sized segments,
 *               an unallocated cluster inside) whose second half was
 *               dropped from the page cache: the loop thread moves what is
 *               cached and the worker only the rest.  The bytes read from
 *               data clusters add up to the data clusters in the request
 *               exactly (a worker that starts over reads the first part
 *               twice), and the buffer holds the right bytes.  Exit 77 if
 *               the file system never lets the read stop part way (tmpfs).
 *
 * usage: blk-qcow2-cache DIR (scratch directory)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk_test.h"
#include "qcow2.h"

static const char *dir;

static void fill(uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd(256);
}

static struct blk *open_img(const char *path, uint64_t l2_cache, struct dm_loop *loop)
{
	struct blk_opts o = { .path = path, .format = "qcow2", .l2_cache_size = l2_cache };
	struct blk *b = NULL;

	if (blk_open(&o, loop, &b))
		return NULL;
	return b;
}

static struct qcow2_counters counters(struct blk *b)
{
	struct qcow2_counters c = { 0 };

	qcow2_get_counters(b, &c);
	return c;
}

/* ---- l2-size ------------------------------------------------------------ */

static void test_l2_size(void)
{
	const uint64_t size = 8u << 20, step = 32u << 10; /* one 512-byte table maps 32 KiB */
	static uint8_t buf[64 << 10];
	struct qcow2_counters c;
	char path[4096];
	uint64_t off, loads;
	struct blk *b;
	int pass;

	CHECK(!make_qcow2(dir, "size.qcow2", size, 9, path, sizeof(path)), "create");
	b = open_img(path, 0, NULL);
	CHECK(b, "open");
	if (!b)
		return;
	/* One sector in every table's range: 256 L2 tables. */
	for (off = 0; off < size; off += step)
		CHECK(!blk_pwrite(b, "x", 1, off + 512), "write at %llu", (unsigned long long)off);
	blk_close(b);

	b = open_img(path, 0, NULL);
	CHECK(b, "reopen");
	if (!b)
		return;
	c = counters(b);
	CHECK(c.l2_cache_tables >= size / step, "cache holds %u tables, the image has %llu",
	      c.l2_cache_tables, (unsigned long long)(size / step));
	for (pass = 0; pass < 2; pass++) {
		loads = counters(b).l2_loads;
		for (off = 0; off < size; off += sizeof(buf))
			CHECK(!blk_pread(b, buf, sizeof(buf), off), "read");
		loads = counters(b).l2_loads - loads;
		CHECK(loads == (pass ? 0 : size / step), "pass %d loaded %llu L2 tables", pass,
		      (unsigned long long)loads);
		CHECK(!counters(b).l2_cache_check, "pass %d: the cache's links are broken", pass);
	}
	blk_close(b);

	/* Least recently used goes first: tables 0-3, 0 again, then 4 evicts 1. */
	b = open_img(path, 4 * 512, NULL);
	CHECK(b, "reopen with 4 tables");
	if (b) {
		static const int order[] = { 0, 1, 2, 3, 0, 4, 0, 2, 3, 4, 1 };
		static const int loaded[] = { 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1 };
		unsigned k;

		for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
			loads = counters(b).l2_loads;
			CHECK(!blk_pread(b, buf, 1, order[k] * step), "read");
			loads = counters(b).l2_loads - loads;
			CHECK(loads == (uint64_t)loaded[k], "access %u (table %d) loaded %llu", k,
			      order[k], (unsigned long long)loads);
		}
		blk_close(b);
	}
	/* The cap: 32 GiB of 4 KiB clusters would need 64 MiB of tables. */
	CHECK(!make_qcow2(dir, "cap.qcow2", 32ull << 30, 12, path, sizeof(path)), "create");
	b = open_img(path, 0, NULL);
	CHECK(b, "open 4 GiB");
	if (b) {
		c = counters(b);
		CHECK(c.l2_cache_tables == QCOW2_L2_CACHE_MAX_BYTES / 4096, "cap: %u tables",
		      c.l2_cache_tables);
		blk_close(b);
	}
	/* The floor, and the size set by the caller. */
	CHECK(!make_qcow2(dir, "small.qcow2", 1u << 20, 16, path, sizeof(path)), "create");
	b = open_img(path, 0, NULL);
	CHECK(b && counters(b).l2_cache_tables == QCOW2_L2_CACHE_MIN, "floor");
	blk_close(b);
	b = open_img(path, 5 << 16, NULL);
	CHECK(b && counters(b).l2_cache_tables == 5, "l2_cache_size of 5 tables");
	blk_close(b);
	unlink(path);
	snprintf(path, sizeof(path), "%s/size.qcow2", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cap.qcow2", dir);
	unlink(path);
}

/* ---- l2-evict ----------------------------------------------------------- */

static int check_whole(struct blk *b, const uint8_t *ref, size_t size)
{
	uint8_t *got = malloc(size);
	int bad = -1;
	size_t i;

	if (!got || blk_pread(b, got, size, 0)) {
		free(got);
		return 0;
	}
	for (i = 0; i < size && bad < 0; i++)
		if (got[i] != ref[i])
			bad = (int)i;
	free(got);
	return bad;
}

static void test_l2_evict(void)
{
	const size_t size = 8u << 20;
	uint8_t *ref = calloc(1, size), *buf = malloc(9 << 10);
	struct qcow2_counters c;
	char path[4096];
	struct blk *b;
	int i, bad;

	CHECK(ref && buf, "alloc");
	CHECK(!make_qcow2(dir, "evict.qcow2", size, 9, path, sizeof(path)), "create");
	b = open_img(path, 4 * 512, NULL);
	CHECK(b, "open");
	if (!b || !ref || !buf)
		goto out;
	CHECK(counters(b).l2_cache_tables == 4, "4 tables");
	for (i = 0; i < 3000; i++) {
		size_t len = 1 + rnd(9 << 10), off = rnd(size - len);

		if (rnd(2)) {
			fill(buf, len);
			CHECK(!blk_pwrite(b, buf, len, off), "write %zu+%zu", off, len);
			memcpy(ref + off, buf, len);
		} else {
			CHECK(!blk_pread(b, buf, len, off), "read %zu+%zu", off, len);
			CHECK(!memcmp(buf, ref + off, len), "op %d: read %zu+%zu differs", i, off,
			      len);
		}
		CHECK(!counters(b).l2_cache_check, "op %d: the cache's links are broken", i);
	}
	c = counters(b);
	CHECK(c.l2_loads > 1000, "only %llu L2 loads: the cache did not evict",
	      (unsigned long long)c.l2_loads);
	bad = check_whole(b, ref, size);
	CHECK(bad < 0, "small cache: whole disk differs at %d", bad);
	blk_close(b);
	b = open_img(path, 0, NULL);
	CHECK(b, "reopen");
	if (b) {
		bad = check_whole(b, ref, size);
		CHECK(bad < 0, "reopened: whole disk differs at %d", bad);
		blk_close(b);
	}
	if (system("qemu-img --version >/dev/null 2>&1") == 0) {
		char cmd[4200];

		snprintf(cmd, sizeof(cmd), "qemu-img check -q '%s'", path);
		CHECK(system(cmd) == 0, "qemu-img check");
	}
out:
	unlink(path);
	free(ref);
	free(buf);
}

/* ---- resume ------------------------------------------------------------- */

/* The host file offset holding the 4 KiB at guest offset off (by content). */
static int64_t host_offset_of(int fd, const uint8_t *want, size_t flen)
{
	static uint8_t blk[4096];
	uint64_t h;

	for (h = 0; h + sizeof(blk) <= flen; h += 512) {
		if (pread(fd, blk, sizeof(blk), (off_t)h) != (ssize_t)sizeof(blk))
			return -1;
		if (!memcmp(blk, want, sizeof(blk)))
			return (int64_t)h;
	}
	return -1;
}

/* Odd-sized segments over buf[0, len), the last ones first. */
static int scatter(uint8_t *buf, size_t len, struct iovec *iov)
{
	size_t pos = 0;
	int n = 0, i;

	while (pos < len && n < BLK_IOV_MAX - 1) {
		size_t l = 512 * (1 + rnd(15));

		if (l > len - pos)
			l = len - pos;
		iov[n++] = (struct iovec){ buf + pos, l };
		pos += l;
	}
	if (pos < len)
		iov[n++] = (struct iovec){ buf + pos, len - pos };
	for (i = 0; i < n / 2; i++) {
		struct iovec t = iov[i];

		iov[i] = iov[n - 1 - i];
		iov[n - 1 - i] = t;
	}
	return n;
}

/* One read of ref's first len bytes through the loop: 1 if the worker finished it. */
static int resume_once(struct dm_loop *loop, struct blk *b, int fd, const uint8_t *ref, size_t len,
		       uint64_t hole, uint64_t drop_from)
{
	static struct test_req r;
	struct blk_stats before, after;
	struct qcow2_counters c0, c1;
	uint8_t *got = malloc(len), *want = malloc(len);
	int split;

	if (!got || !want) {
		free(got);
		free(want);
		return 0;
	}
	memset(got, 0xa5, len);
	test_req_init(&r, BLK_READ, 0);
	r.req.iovcnt = scatter(got, len, r.req.iov);
	/* Warm the first half (and the L2 table), drop what follows. */
	CHECK(!blk_pread(b, want, len, 0), "warm-up read");
	posix_fadvise(fd, (off_t)drop_from, 0, POSIX_FADV_DONTNEED);
	blk_get_stats(b, &before);
	c0 = counters(b);
	CHECK(!blk_submit(b, &r.req), "submit");
	run_until(loop, &r.done, 1);
	CHECK(r.done && !r.err, "read: done %d err %d", r.done, r.err);
	blk_get_stats(b, &after);
	c1 = counters(b);
	split = after.fallback > before.fallback;
	iov_to_buf(r.req.iov, r.req.iovcnt, 0, want, len); /* the segments in request order */
	CHECK(!memcmp(want, ref, len), "resumed read returned the wrong bytes (split %d)", split);
	CHECK(c1.data_read - c0.data_read == len - hole,
	      "read %llu bytes of data clusters for %zu (split %d): part of it twice",
	      (unsigned long long)(c1.data_read - c0.data_read), len - hole, split);
	free(got);
	free(want);
	return split;
}

static int test_resume(void)
{
	const size_t len = 1u << 20, cs = 64u << 10;
	uint8_t *ref = calloc(1, len);
	struct dm_loop *loop = NULL;
	int fd = -1, splits = 0, i;
	char path[4096];
	struct blk *b;
	int64_t h;

	CHECK(!make_qcow2(dir, "resume.qcow2", 4u << 20, 16, path, sizeof(path)), "create");
	b = open_img(path, 0, NULL);
	CHECK(b && ref, "open");
	if (!b || !ref)
		goto out;
	/* Data everywhere but the fifth cluster, which stays unallocated (zeros). */
	fill(ref, len);
	memset(ref + 4 * cs, 0, cs);
	CHECK(!blk_pwrite(b, ref, 4 * cs, 0), "write");
	CHECK(!blk_pwrite(b, ref + 5 * cs, len - 5 * cs, 5 * cs), "write");
	CHECK(!blk_flush(b), "flush");
	blk_close(b);

	fd = open(path, O_RDONLY | O_CLOEXEC);
	h = fd >= 0 ? host_offset_of(fd, ref + len / 2, 8u << 20) : -1;
	CHECK(h > 0, "guest offset %zu not found in the file", len / 2);
	CHECK(!loop_create(&loop), "loop");
	b = loop ? open_img(path, 0, loop) : NULL;
	CHECK(b, "open on the loop");
	if (!b || h <= 0)
		goto out;
	CHECK(!strcmp(blk_aio_name(b), "native"), "mode %s", blk_aio_name(b));
	for (i = 0; i < 20 && splits < 3; i++)
		splits += resume_once(loop, b, fd, ref, len, cs, (uint64_t)h);
	blk_close(b);
	if (!splits)
		printf("# resume: the page cache never made the read stop part way\n");
out:
	if (loop)
		loop_destroy(loop);
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(ref);
	return splits;
}

int main(int argc, char **argv)
{
	int splits;

	if (argc != 2) {
		fprintf(stderr, "usage: blk-qcow2-cache DIR\n");
		return 2;
	}
	dir = argv[1];
	test_l2_size();
	test_l2_evict();
	splits = test_resume();
	printf("%s: %d failure(s), %d resumed read(s)\n", fails ? "FAIL" : "ok", fails, splits);
	if (fails)
		return 1;
	return splits ? 0 : 77;
}
