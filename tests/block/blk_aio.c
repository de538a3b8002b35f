// SPDX-License-Identifier: MIT
/*
 * blk_aio.c - the raw driver's request paths on a real dm loop: Linux native
 * AIO (buffered with RWF_NOWAIT, and O_DIRECT with aligned bounce buffers and
 * a read-modify-write for sectors smaller than the file's direct-I/O
 * granularity, forced to 4 KiB here as on a 4Kn device), the worker thread,
 * and the harness's sync mode.
 *
 * For each mode it writes patterns through blk_submit() at 512-byte-aligned
 * offsets from deliberately misaligned buffers, reads them back the same way,
 * checks the file with plain pread (including the bytes around each write),
 * checks that completions arrive in submission order (write, read, rewrite,
 * read of one range all queued at once), that FLUSH completes after the
 * writes before it, and that the native mode really went through
 * io_submit, or for buffered reads the page cache held, preadv2 on the loop
 * thread (blk_get_stats).  Closing an image with a request queued must not
 * crash (run it under ASan).
 *
 * usage: blk-aio DIR   (DIR on a filesystem with O_DIRECT, e.g. the build tree)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk_test.h"

#define IMG_SIZE (4u << 20)
#define NREQ 4

struct tctx {
	int order[16];
	int ndone;
	int errs[16];
};

struct treq {
	struct blk_req req;
	struct tctx *t;
	int id;
};

static void pattern(uint8_t *buf, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 7;
	size_t i;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
}

static void done_cb(struct blk_req *req, int err)
{
	struct treq *r = (struct treq *)req;

	r->t->errs[r->t->ndone] = err;
	r->t->order[r->t->ndone++] = r->id;
}

static void prep(struct treq *r, struct tctx *t, int id, enum blk_op op, uint64_t off, void *buf,
		 size_t len)
{
	memset(r, 0, sizeof(*r));
	r->t = t;
	r->id = id;
	r->req.op = op;
	r->req.offset = off;
	r->req.done = done_cb;
	if (op != BLK_FLUSH) {
		/* Two iovec entries, to exercise vectored and bounced paths. */
		r->req.iov[0].iov_base = buf;
		r->req.iov[0].iov_len = len / 2;
		r->req.iov[1].iov_base = (uint8_t *)buf + len / 2;
		r->req.iov[1].iov_len = len - len / 2;
		r->req.iovcnt = 2;
	}
}

static const char *modes[] = { "native", "threads", "sync" };

static void test_mode(const char *dir, const char *mode, bool direct, unsigned align)
{
	char path[4096];
	struct blk_opts o = { 0 };
	struct dm_loop *l;
	struct blk *b = NULL;
	struct blk_stats st;
	struct tctx t = { 0 };
	struct treq r[8];
	/* Misaligned on purpose: guest buffers inside a device are rarely aligned. */
	uint8_t *area = malloc(6 * 65536 + 64), *w1 = area + 1, *w2 = area + 65536 + 3;
	uint8_t *r1 = area + 2 * 65536 + 5, *r2 = area + 3 * 65536 + 7;
	uint8_t *file = malloc(IMG_SIZE), *ref = malloc(IMG_SIZE);
	const uint64_t off = 512 * 37; /* 512-aligned, not 4 KiB-aligned */
	const size_t len = 512 * 21;
	int fd, i;

	snprintf(path, sizeof(path), "%s/blk-aio-%s%s.img", dir, mode, direct ? "-direct" : "");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	pattern(ref, IMG_SIZE, 99);
	CHECK(fd >= 0 && pwrite(fd, ref, IMG_SIZE, 0) == IMG_SIZE, "create %s", path);
	close(fd);

	CHECK(loop_create(&l) == 0, "loop_create");
	o.path = path;
	o.format = "raw";
	o.direct = direct;
	o.direct_align = align;
	CHECK(blk_aio_parse(mode, &o.aio) == 0, "parse %s", mode);
	CHECK(blk_open(&o, l, &b) == 0, "open %s", path);
	if (!b)
		goto out;
	CHECK(!strcmp(blk_aio_name(b), mode), "%s: mode is %s", mode, blk_aio_name(b));

	pattern(w1, len, 1);
	pattern(w2, len, 2);
	/* All queued at once: write, read, rewrite, read, flush, unaligned-length read. */
	prep(&r[0], &t, 0, BLK_WRITE, off, w1, len);
	prep(&r[1], &t, 1, BLK_READ, off, r1, len);
	prep(&r[2], &t, 2, BLK_WRITE, off, w2, len);
	prep(&r[3], &t, 3, BLK_READ, off, r2, len);
	prep(&r[4], &t, 4, BLK_FLUSH, 0, NULL, 0);
	prep(&r[5], &t, 5, BLK_READ, IMG_SIZE - 512, area + 4 * 65536 + 9, 512);
	for (i = 0; i < 6; i++)
		CHECK(blk_submit(b, &r[i].req) == 0, "%s: submit %d", mode, i);
	run_until(l, &t.ndone, 6);
	CHECK(t.ndone == 6, "%s%s: %d of 6 completions", mode, direct ? "+direct" : "", t.ndone);
	for (i = 0; i < t.ndone; i++) {
		CHECK(t.order[i] == i, "%s: completion %d was request %d", mode, i, t.order[i]);
		CHECK(t.errs[i] == 0, "%s: request %d failed: %s", mode, t.order[i],
		      strerror(-t.errs[i]));
	}
	CHECK(!memcmp(r1, w1, len), "%s%s: first read sees the first write", mode,
	      direct ? "+direct" : "");
	CHECK(!memcmp(r2, w2, len), "%s%s: second read sees the rewrite", mode,
	      direct ? "+direct" : "");
	CHECK(!memcmp(area + 4 * 65536 + 9, ref + IMG_SIZE - 512, 512), "%s: last sector reads",
	      mode);

	/* Out-of-range requests fail without I/O (native: before any submission, so in no count). */
	prep(&r[6], &t, 6, BLK_READ, IMG_SIZE - 512, r1, 1024);
	CHECK(blk_submit(b, &r[6].req) == 0, "submit out of range");
	run_until(l, &t.ndone, 7);
	CHECK(t.ndone == 7 && t.errs[6] == -EINVAL, "%s: read past the end is -EINVAL (%d)", mode,
	      t.errs[6]);

	blk_get_stats(b, &st);
	printf("%s%s%s: native %" PRIu64 " fallback %" PRIu64 " worker %" PRIu64 " sync %" PRIu64
	       " bounced %" PRIu64 "\n",
	       mode, direct ? "+direct" : "", align ? " (4 KiB granularity)" : "", st.native,
	       st.fallback, st.worker, st.sync, st.bounced);
	if (!strcmp(mode, "native")) {
		CHECK(st.native + st.fallback == 6 && st.native >= 1, "native: requests went "
								      "through io_submit");
		/* O_DIRECT on a 512-byte-granular file needs no worker at all. */
		if (direct && !align)
			CHECK(st.bounced >= 1, "native+direct: misaligned buffers were bounced");
		/* 4 KiB granularity: the 512-byte-aligned range needs the worker's RMW. */
		if (direct && align == 4096)
			CHECK(st.fallback >= 4, "native+direct 4K: read-modify-write on the "
						"worker");
	} else if (!strcmp(mode, "threads")) {
		CHECK(st.worker == 7 && st.native == 0, "threads: all on the worker");
	} else {
		CHECK(st.sync == 7 && st.native == 0, "sync: all on the loop thread");
	}

	/* Close with requests still queued: no crash, no callback afterwards. */
	prep(&r[7], &t, 7, BLK_READ, 0, r1, 4096);
	blk_submit(b, &r[7].req);
	blk_close(b);
	b = NULL;
	for (i = 0; i < 5; i++)
		loop_run_once(l, 10);

	/* The file holds the rewrite and nothing around it changed. */
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, file, IMG_SIZE, 0) == IMG_SIZE, "read back %s", path);
	close(fd);
	memcpy(ref + off, w2, len);
	CHECK(!memcmp(file, ref, IMG_SIZE), "%s%s: image holds the rewrite, neighbours intact",
	      mode, direct ? "+direct" : "");
out:
	if (b)
		blk_close(b);
	loop_destroy(l);
	unlink(path);
	free(area);
	free(file);
	free(ref);
}

/*
 * Buffered native mode: a read the page cache holds runs on the loop thread
 * (preadv2 RWF_NOWAIT), and its callback comes from the loop's next turn,
 * never from inside blk_submit(); a read of pages not in the cache goes to
 * the worker thread.
 */
static void test_nowait(const char *dir)
{
	char path[4096];
	struct blk_opts o = { .format = "raw", .aio = BLK_AIO_NATIVE };
	uint8_t *ref = malloc(IMG_SIZE), *buf = malloc(65536);
	struct blk_stats s0, s1, s2;
	struct dm_loop *l;
	struct blk *b = NULL;
	struct tctx t = { 0 };
	struct treq r[2];
	int fd;

	snprintf(path, sizeof(path), "%s/blk-aio-nowait.img", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	pattern(ref, IMG_SIZE, 5);
	CHECK(fd >= 0 && pwrite(fd, ref, IMG_SIZE, 0) == IMG_SIZE && !fsync(fd), "create %s", path);
	CHECK(loop_create(&l) == 0, "loop_create");
	o.path = path;
	CHECK(blk_open(&o, l, &b) == 0, "open %s", path);
	if (!b)
		goto out;
	blk_get_stats(b, &s0);
	prep(&r[0], &t, 0, BLK_READ, 8192, buf, 4096);
	CHECK(blk_submit(b, &r[0].req) == 0, "nowait: submit");
	CHECK(t.ndone == 0, "nowait: the callback ran inside blk_submit()");
	run_until(l, &t.ndone, 1);
	blk_get_stats(b, &s1);
	CHECK(t.ndone == 1 && !t.errs[0] && !memcmp(buf, ref + 8192, 4096), "nowait: cached read "
									    "completes with the "
									    "file's bytes");
	CHECK(s1.native == s0.native + 1 && s1.fallback == s0.fallback,
	      "nowait: cached read on the loop thread (native %" PRIu64 ", fallback %" PRIu64 ")",
	      s1.native - s0.native, s1.fallback - s0.fallback);
	/* Out of the page cache: RWF_NOWAIT cannot serve it, the worker does. */
	CHECK(!posix_fadvise(fd, 0, IMG_SIZE, POSIX_FADV_DONTNEED), "fadvise");
	prep(&r[1], &t, 1, BLK_READ, 2u << 20, buf, 65536);
	CHECK(blk_submit(b, &r[1].req) == 0, "nowait: submit uncached");
	run_until(l, &t.ndone, 2);
	blk_get_stats(b, &s2);
	CHECK(t.ndone == 2 && !t.errs[1] && !memcmp(buf, ref + (2u << 20), 65536), "nowait: "
										   "uncached read "
										   "completes with "
										   "the file's "
										   "bytes");
	CHECK(s2.fallback == s1.fallback + 1, "nowait: uncached read on the worker");
out:
	if (b)
		blk_close(b);
	if (fd >= 0)
		close(fd);
	loop_destroy(l);
	unlink(path);
	free(ref);
	free(buf);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		test_mode(dir, modes[i], false, 0);
		test_mode(dir, modes[i], true, 0);
		test_mode(dir, modes[i], true, 4096); /* as on a 4 KiB-sector device */
	}
	test_nowait(dir);
	printf("%d failures\n", fails);
	return fails ? 1 : 0;
}
