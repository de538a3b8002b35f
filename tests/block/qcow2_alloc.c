// SPDX-License-Identifier: MIT
/*
 * qcow2_alloc.c - what a qcow2 write that allocates clusters writes besides
 * the data.
 *
 *   writes   with 64 KiB clusters, once the L2 table and the refcount
 *            block exist, a 512 KiB write to unallocated clusters makes
 *            exactly two metadata writes: the refcounts of its 8 clusters
 *            (one span of the refcount block) and their 8 L2 entries.
 *            QEMU keeps such updates in its metadata cache until a flush;
 *            here they go out at once, so each one is a syscall per guest
 *            command.
 *   blocks   with 512-byte clusters (a refcount block covers 256 clusters)
 *            writes across refcount block boundaries, some creating the
 *            block, read back what was written, and `qemu-img check` finds
 *            no leak or error (when qemu-img is installed).
 *
 * usage: blk-qcow2-alloc DIR (scratch directory)
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

static struct blk *open_img(const char *path)
{
	struct blk_opts o = { .path = path, .format = "qcow2" };
	struct blk *b = NULL;

	if (blk_open(&o, NULL, &b))
		return NULL;
	return b;
}

static uint64_t pwrites(struct blk *b)
{
	struct qcow2_counters c = { 0 };

	qcow2_get_counters(b, &c);
	return c.pwrites;
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static void test_writes(void)
{
	size_t len = 512 << 10;
	uint8_t *buf = malloc(len), *back = malloc(len);
	char path[4096];
	uint64_t before;
	struct blk *b;
	int i;

	CHECK(buf && back && !make_qcow2(dir, "writes.qcow2", 64 << 20, 16, path, sizeof(path)),
	      "create");
	b = buf && back ? open_img(path) : NULL;
	CHECK(b, "open");
	if (!b)
		goto out;
	/* The first write creates the L2 table (and whatever else it needs). */
	fill(buf, len, 1);
	CHECK(!blk_pwrite(b, buf, 65536, 0), "first write");
	for (i = 0; i < 4; i++) {
		uint64_t off = (1u << 20) + (uint64_t)i * len;

		fill(buf, len, (uint8_t)(i + 2));
		before = pwrites(b);
		CHECK(!blk_pwrite(b, buf, len, off), "write %d", i);
		CHECK(pwrites(b) - before == 2,
		      "512 KiB to 8 new clusters: %llu metadata writes, want 2 (refcounts, L2)",
		      (unsigned long long)(pwrites(b) - before));
		CHECK(!blk_pread(b, back, len, off) && !memcmp(buf, back, len), "read back %d", i);
	}
	blk_close(b);
out:
	free(buf);
	free(back);
}

static void test_blocks(void)
{
	size_t len = 200 * 512;
	uint8_t *buf = malloc(len), *back = malloc(len);
	char path[4096], cmd[4200];
	struct blk *b;
	uint64_t off;
	int i, rc;

	CHECK(buf && back && !make_qcow2(dir, "blocks.qcow2", 8 << 20, 9, path, sizeof(path)), "cre"
											       "at"
											       "e");
	b = buf && back ? open_img(path) : NULL;
	CHECK(b, "open");
	if (!b)
		goto out;
	/* 200 clusters at a time: every write after the first few crosses a block. */
	for (i = 0; i < 12; i++) {
		off = (uint64_t)i * len * 3 + 512 * (uint64_t)i;
		fill(buf, len, (uint8_t)(0x40 + i));
		CHECK(!blk_pwrite(b, buf, len, off), "write %d", i);
	}
	for (i = 0; i < 12; i++) {
		off = (uint64_t)i * len * 3 + 512 * (uint64_t)i;
		fill(buf, len, (uint8_t)(0x40 + i));
		CHECK(!blk_pread(b, back, len, off) && !memcmp(buf, back, len), "read back %d", i);
	}
	blk_close(b);
	if (system("qemu-img --version >/dev/null 2>&1")) {
		printf("# qemu-img not installed: no qemu-img check\n");
		goto out;
	}
	snprintf(cmd, sizeof(cmd), "qemu-img check -q '%s'", path);
	rc = system(cmd);
	CHECK(rc == 0, "qemu-img check on the 512-byte-cluster image: status %d", rc);
out:
	free(buf);
	free(back);
}

int main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : ".";
	test_writes();
	test_blocks();
	printf("%s: %d failure(s)\n", argv[0], fails);
	return fails ? 1 : 0;
}
