// SPDX-License-Identifier: MIT
/*
 * qcow2_create.c - write a fresh qcow2 v3 image (compat 1.1, 16-bit
 * refcounts, zlib), optionally with a backing file and its format: used for
 * snapshot=1 overlays and by tests.  Layout as qemu-img lays it out: header
 * and extensions in cluster 0, refcount table in cluster 1, one refcount
 * block in cluster 2, the L1 table from cluster 3.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QCOW2_CREATE_HDR_LEN 112

static size_t put_ext(uint8_t *p, uint32_t type, const void *data, uint32_t len)
{
	be32_store(p, type);
	be32_store(p + 4, len);
	memcpy(p + 8, data, len);
	return 8 + ((len + 7u) & ~7u);
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n =
			pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

int qcow2_create_fd(int fd, uint64_t size, unsigned cluster_bits, const char *backing,
		    const char *backing_fmt)
{
	uint64_t cs = 1ull << cluster_bits, l2_span = cs << (cluster_bits - 3);
	uint64_t l1_size = (size + l2_span - 1) / l2_span, l1_clusters, i, meta;
	size_t blen = backing ? strlen(backing) : 0, off;
	uint8_t *buf;
	int err;

	if (cluster_bits < 9 || cluster_bits > 21 || blen > 1023)
		return -EINVAL;
	l1_clusters = (l1_size * 8 + cs - 1) / cs;
	if (!l1_clusters)
		l1_clusters = 1;
	meta = 3 + l1_clusters;
	if (meta > cs * 8 / 16)
		return -EFBIG; /* one refcount block must cover the metadata */
	buf = calloc(meta, cs);
	if (!buf)
		return -ENOMEM;
	be32_store(buf, QCOW2_MAGIC);
	be32_store(buf + 4, 3);
	be32_store(buf + 20, cluster_bits);
	be64_store(buf + 24, size);
	be32_store(buf + 36, (uint32_t)l1_size);
	be64_store(buf + 40, 3 * cs);
	be64_store(buf + 48, cs);
	be32_store(buf + 56, 1);
	be32_store(buf + 96, 4); /* refcount_order: 16 bits */
	be32_store(buf + 100, QCOW2_CREATE_HDR_LEN);
	off = QCOW2_CREATE_HDR_LEN;
	if (backing && backing_fmt)
		off += put_ext(buf + off, QCOW2_EXT_BACKING_FORMAT, backing_fmt,
			       (uint32_t)strlen(backing_fmt));
	off += 8; /* end-of-extensions marker: type 0, length 0 (already zero) */
	if (backing) {
		if (off + blen > cs) {
			free(buf);
			return -ENAMETOOLONG;
		}
		memcpy(buf + off, backing, blen);
		be64_store(buf + 8, off);
		be32_store(buf + 16, (uint32_t)blen);
	}
	be64_store(buf + cs, 2 * cs); /* refcount table -> block at cluster 2 */
	for (i = 0; i < meta; i++)
		buf[2 * cs + i * 2 + 1] = 1; /* 16-bit big-endian refcount 1 per metadata cluster */
	err = write_all(fd, buf, meta * cs, 0);
	free(buf);
	if (!err && ftruncate(fd, (off_t)(meta * cs)) < 0)
		err = -errno;
	return err;
}
