// SPDX-License-Identifier: MIT
/*
 * blk_io.c - drive the block layer from the command line for interop tests:
 *
 *   blk-io FORMAT PATH [ro|snapshot] CMD...
 *     w OFF LEN SEED     write LEN bytes of a pseudo-random pattern
 *     z OFF LEN          write LEN zero bytes
 *     r OFF LEN          read and print the FNV-1a hash of the bytes
 *     cmp OFF LEN RAWFILE   read and compare with the same range of a raw file
 *     size               print the virtual size
 *     flush
 *
 * Exit status 0 on success, 1 on an I/O or comparison error, 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block.h"

static void pattern(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

static uint64_t fnv(const uint8_t *b, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static int cmp_raw(struct blk *b, uint64_t off, size_t len, const char *raw)
{
	uint8_t *x = malloc(len), *y = calloc(1, len);
	int fd = open(raw, O_RDONLY), rc = 1;
	ssize_t n;

	if (!x || !y || fd < 0 || blk_pread(b, x, len, off))
		goto out;
	n = pread(fd, y, len, (off_t)off);
	if (n < 0)
		goto out;
	rc = memcmp(x, y, len) ? 1 : 0;
	if (rc)
		fprintf(stderr, "blk-io: mismatch in [0x%" PRIx64 ", +0x%zx)\n", off, len);
out:
	if (fd >= 0)
		close(fd);
	free(x);
	free(y);
	return rc;
}

static int run(struct blk *b, char **a, int n, int *used)
{
	uint64_t off = n > 1 ? strtoull(a[1], NULL, 0) : 0;
	size_t len = n > 2 ? (size_t)strtoull(a[2], NULL, 0) : 0;
	uint8_t *buf;
	int err = 0;

	*used = 1;
	if (!strcmp(a[0], "size")) {
		printf("%" PRIu64 "\n", blk_size(b));
		return 0;
	}
	if (!strcmp(a[0], "flush"))
		return blk_flush(b) ? 1 : 0;
	if (n < 3 || len > (64u << 20))
		return 2;
	*used = 3;
	if (!strcmp(a[0], "cmp")) {
		*used = 4;
		return n < 4 ? 2 : cmp_raw(b, off, len, a[3]);
	}
	buf = calloc(1, len ? len : 1);
	if (!buf)
		return 1;
	if (!strcmp(a[0], "w")) {
		*used = 4;
		if (n < 4) {
			free(buf);
			return 2;
		}
		pattern(buf, len, strtoull(a[3], NULL, 0));
		err = blk_pwrite(b, buf, len, off);
	} else if (!strcmp(a[0], "z")) {
		err = blk_pwrite(b, buf, len, off);
	} else if (!strcmp(a[0], "r")) {
		err = blk_pread(b, buf, len, off);
		if (!err)
			printf("%016" PRIx64 "\n", fnv(buf, len));
	} else {
		free(buf);
		return 2;
	}
	free(buf);
	if (err)
		fprintf(stderr, "blk-io: %s at 0x%" PRIx64 ": %s\n", a[0], off, strerror(-err));
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct blk_opts o = { 0 };
	struct blk *b;
	int i = 3, rc = 0, used;

	if (argc < 3) {
		fprintf(stderr, "usage: blk-io FORMAT PATH [ro|snapshot] CMD...\n");
		return 2;
	}
	o.format = argv[1];
	o.path = argv[2];
	if (argc > 3 && !strcmp(argv[3], "ro"))
		o.readonly = true, i++;
	else if (argc > 3 && !strcmp(argv[3], "snapshot"))
		o.snapshot = true, i++;
	if (blk_open(&o, NULL, &b))
		return 1;
	while (i < argc && !rc) {
		rc = run(b, argv + i, argc - i, &used);
		i += used;
	}
	blk_close(b);
	return rc;
}
