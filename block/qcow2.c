// SPDX-License-Identifier: MIT
/*
 * qcow2.c - qcow2 header validation, L1/L2 lookup, reads (data, zero,
 * compressed, backing) and writes with cluster allocation.  Refcounts live
 * in qcow2_refcount.c.  Every header and table field is validated before it
 * is used; a bad table entry fails the request with -EIO and a log line and
 * never touches the image.
 */
#define _GNU_SOURCE
#include "qcow2.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "log.h"

#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_RT_BYTES (8u << 20)
#define QCOW2_MAX_SIZE (1ull << 56)

static const char *const incompat_names[] = { "dirty bit", "corrupt bit", "external data file",
					      "compression type", "extended L2 entries" };

int qcow2_pread(struct qcow2 *q, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(q->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (q->readonly)
		return -EROFS;
	__atomic_fetch_add(&q->pwrites, 1, __ATOMIC_RELAXED);
	while (done < len) {
		ssize_t n =
			pwrite(q->fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int qcow2_corrupt(struct qcow2 *q, const char *what, uint64_t v)
{
	dm_err("qcow2", "%s: corrupt image: %s (0x%" PRIx64 ")", blk_path(q->blk), what, v);
	return -EIO;
}

/* ---- header ---------------------------------------------------------- */

/* Name of an incompatible feature bit, from the image's table or ours. */
static void feature_name(const uint8_t *c0, uint64_t cs, uint64_t tbl, uint32_t len, unsigned bit,
			 char *out, size_t cap)
{
	uint32_t i;

	if (tbl) {
		for (i = 0; i + 48 <= len && tbl + i + 48 <= cs; i += 48) {
			const uint8_t *e = c0 + tbl + i;

			if (e[0] == 0 && e[1] == bit) {
				snprintf(out, cap, "%.46s", (const char *)e + 2);
				return;
			}
		}
	}
	if (bit < sizeof(incompat_names) / sizeof(incompat_names[0]))
		snprintf(out, cap, "%s", incompat_names[bit]);
	else
		snprintf(out, cap, "bit %u", bit);
}

/* Walk header extensions (bounded by cluster 0); note backing format and feature table. */
static int parse_extensions(struct qcow2 *q, const uint8_t *c0, uint64_t *ftbl, uint32_t *flen)
{
	uint64_t off = q->header_length;
	unsigned n;

	*ftbl = 0;
	*flen = 0;
	if (q->version < 3)
		return 0;
	for (n = 0; n < 1024 && off + 8 <= q->cluster_size; n++) {
		uint32_t type = be32_load(c0 + off), len = be32_load(c0 + off + 4);

		if (type == QCOW2_EXT_END)
			return 0;
		if (len > q->cluster_size - off - 8)
			return qcow2_corrupt(q, "header extension overruns cluster 0", type);
		if (type == QCOW2_EXT_BACKING_FORMAT) {
			if (len >= sizeof(q->backing_fmt))
				return qcow2_corrupt(q, "backing format name too long", len);
			memcpy(q->backing_fmt, c0 + off + 8, len);
			q->backing_fmt[len] = 0;
		} else if (type == QCOW2_EXT_FEATURE_NAMES) {
			*ftbl = off + 8;
			*flen = len;
		}
		off += 8 + (((uint64_t)len + 7) & ~7ull);
	}
	return 0;
}

static int check_incompat(struct qcow2 *q, const uint8_t *c0, uint8_t comp_type)
{
	uint64_t ftbl, known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT;
	uint32_t flen;
	char name[64];
	unsigned bit;
	int err = parse_extensions(q, c0, &ftbl, &flen);

	if (err)
		return err;
	if ((q->incompat & QCOW2_INCOMPAT_COMPRESSION) && comp_type == 0)
		known |= QCOW2_INCOMPAT_COMPRESSION; /* explicit zlib */
	for (bit = 0; bit < 64; bit++) {
		if (!(q->incompat & (1ull << bit) & ~known))
			continue;
		feature_name(c0, q->cluster_size, ftbl, flen, bit, name, sizeof(name));
		dm_err("qcow2", "%s: image uses the incompatible feature '%s'%s; not supported",
		       blk_path(q->blk), name,
		       bit == 3 ? " (zstd compression: convert with qemu-img -o "
				  "compression_type=zlib)"
				: "");
		return -ENOTSUP;
	}
	return 0;
}

static int validate_layout(struct qcow2 *q, uint64_t file_size)
{
	uint64_t need_l1, l2_span = q->cluster_size << q->l2_bits, cmask = q->cluster_size - 1;

	if (q->size > QCOW2_MAX_SIZE)
		return qcow2_corrupt(q, "virtual size too large", q->size);
	need_l1 = (q->size + l2_span - 1) / l2_span;
	if (q->l1_size < need_l1 || (uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return qcow2_corrupt(q, "L1 table size does not fit the virtual size", q->l1_size);
	if ((q->l1_offset & cmask) || (q->l1_size && q->l1_offset == 0) ||
	    q->l1_offset > file_size || (uint64_t)q->l1_size * 8 > file_size - q->l1_offset)
		return qcow2_corrupt(q, "L1 table offset", q->l1_offset);
	if ((q->rt_offset & cmask) || !q->rt_clusters ||
	    (uint64_t)q->rt_clusters * q->cluster_size > QCOW2_MAX_RT_BYTES || q->rt_offset == 0 ||
	    q->rt_offset > file_size ||
	    (uint64_t)q->rt_clusters * q->cluster_size > file_size - q->rt_offset)
		return qcow2_corrupt(q, "refcount table", q->rt_offset);
	if (q->nb_snapshots && (q->snapshots_offset & cmask))
		return qcow2_corrupt(q, "snapshot table offset", q->snapshots_offset);
	return 0;
}

static int parse_header(struct qcow2 *q, const uint8_t *h, uint64_t file_size)
{
	if (be32_load(h) != QCOW2_MAGIC) {
		/* most often a raw image named as qcow2: say how to name it */
		dm_err("qcow2",
		       "%s: not a qcow2 image (it starts 0x%08x, not \"QFI\\xfb\"); "
		       "for a raw image give format=raw",
		       blk_path(q->blk), be32_load(h));
		return -EIO;
	}
	q->version = be32_load(h + 4);
	if (q->version != 2 && q->version != 3) {
		dm_err("qcow2", "%s: qcow2 version %u not supported (2 or 3)", blk_path(q->blk),
		       q->version);
		return -ENOTSUP;
	}
	q->cluster_bits = be32_load(h + 20);
	if (q->cluster_bits < 9 || q->cluster_bits > 21)
		return qcow2_corrupt(q, "cluster_bits outside 9..21", q->cluster_bits);
	q->cluster_size = 1ull << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	q->size = be64_load(h + 24);
	if (be32_load(h + 32) != 0) {
		dm_err("qcow2", "%s: encrypted images are not supported", blk_path(q->blk));
		return -ENOTSUP;
	}
	q->l1_size = be32_load(h + 36);
	q->l1_offset = be64_load(h + 40);
	q->rt_offset = be64_load(h + 48);
	q->rt_clusters = be32_load(h + 56);
	q->nb_snapshots = be32_load(h + 60);
	q->snapshots_offset = be64_load(h + 64);
	q->header_length = 72;
	q->refcount_order = 4;
	if (q->version == 3) {
		q->incompat = be64_load(h + 72);
		q->compat = be64_load(h + 80);
		q->autoclear = be64_load(h + 88);
		q->refcount_order = be32_load(h + 96);
		q->header_length = be32_load(h + 100);
		if (q->header_length < 104 || (q->header_length & 7) ||
		    q->header_length > q->cluster_size)
			return qcow2_corrupt(q, "header_length", q->header_length);
		if (q->refcount_order > 6)
			return qcow2_corrupt(q, "refcount_order above 6", q->refcount_order);
	}
	return validate_layout(q, file_size);
}

/* ---- backing file ---------------------------------------------------- */

static int open_backing(struct qcow2 *q, const uint8_t *c0, const struct blk_opts *o)
{
	uint64_t boff = be64_load(c0 + 8);
	uint32_t blen = be32_load(c0 + 16);
	char name[1024], path[4096 + 1024], *dir, *copy;
	struct blk_opts bo = { 0 };
	int err;

	if (!boff)
		return 0;
	if (blen == 0 || blen > 1023 || boff >= q->cluster_size || blen > q->cluster_size - boff)
		return qcow2_corrupt(q, "backing file name location", boff);
	memcpy(name, c0 + boff, blen);
	name[blen] = 0;
	if (!q->backing_fmt[0]) {
		dm_err("qcow2",
		       "%s: backing file '%s' has no recorded format; refusing to guess "
		       "(qemu-img rebase -u -F raw|qcow2 -b '%s' %s)",
		       blk_path(q->blk), name, name, blk_path(q->blk));
		return -EINVAL;
	}
	if (o->depth + 1 >= BLK_MAX_CHAIN) {
		dm_err("qcow2", "%s: backing chain deeper than %d (a loop?)", blk_path(q->blk),
		       BLK_MAX_CHAIN);
		return -ELOOP;
	}
	copy = strdup(blk_path(q->blk));
	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	free(copy);
	bo.path = path;
	bo.format = q->backing_fmt;
	bo.readonly = true;
	bo.depth = o->depth + 1;
	err = blk_open(&bo, NULL, &q->backing);
	if (err)
		dm_err("qcow2", "%s: cannot open backing file %s", blk_path(q->blk), path);
	return err;
}

/* ---- L2 cache -------------------------------------------------------- */

/* Load (or find) the L2 table at off: returns the raw big-endian table. */
static int l2_get(struct qcow2 *q, uint64_t off, uint8_t **table)
{
	uint32_t slot;
	uint8_t *t;
	int err;

	if ((off & (q->cluster_size - 1)) || off < q->cluster_size)
		return qcow2_corrupt(q, "L2 table offset", off);
	t = qcow2_l2c_find(&q->l2c, off);
	if (t) {
		*table = t;
		return 0;
	}
	if (q->nowait)
		return -EAGAIN; /* loading it could block the loop thread */
	err = qcow2_l2c_claim(&q->l2c, &slot, &t);
	if (err)
		return err;
	err = qcow2_pread(q, t, q->cluster_size, off);
	if (err)
		return err == -EIO ? qcow2_corrupt(q, "L2 table past end of file", off) : err;
	qcow2_l2c_insert(&q->l2c, slot, off);
	*table = t;
	return 0;
}

/* How many L2 tables to cache (qcow2.h): bytes set by the user, else the whole image. */
static uint32_t l2_cache_tables(const struct qcow2 *q, const struct blk_opts *o)
{
	uint64_t span = q->cluster_size << q->l2_bits, n;

	if (o->l2_cache_size)
		n = o->l2_cache_size / q->cluster_size;
	else
		n = (q->size + span - 1) / span;
	if (!o->l2_cache_size && n < QCOW2_L2_CACHE_MIN)
		n = QCOW2_L2_CACHE_MIN;
	if (n > QCOW2_L2_CACHE_MAX_BYTES / q->cluster_size)
		n = QCOW2_L2_CACHE_MAX_BYTES / q->cluster_size;
	return n < 2 ? 2 : (uint32_t)n;
}

/* ---- read ------------------------------------------------------------ */

/* Descriptor of the cluster containing guest offset off (0 = unallocated). */
static int lookup(struct qcow2 *q, uint64_t off, uint64_t *l2e, uint64_t *l2_off)
{
	uint64_t l1_idx = off >> (q->cluster_bits + q->l2_bits);
	uint64_t l2_idx = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
	uint8_t *t;
	int err;

	*l2e = 0;
	*l2_off = 0;
	if (l1_idx >= q->l1_size)
		return 0;
	*l2_off = q->l1[l1_idx] & QCOW2_L1E_OFFSET_MASK;
	if (!*l2_off)
		return 0;
	err = l2_get(q, *l2_off, &t);
	if (err)
		return err;
	*l2e = be64_load(t + l2_idx * 8);
	return 0;
}

static int read_compressed(struct qcow2 *q, uint64_t l2e, uint8_t *out)
{
	unsigned x = 62 - (q->cluster_bits - 8);
	uint64_t host = l2e & ((1ull << x) - 1);
	uint64_t nsec = (l2e >> x) & ((1ull << (q->cluster_bits - 8)) - 1);
	uint64_t csize = (nsec + 1) * 512 - (host & 511);
	z_stream z = { 0 };
	struct stat st;
	int ret;

	if (fstat(q->fd, &st) == 0 && host + csize > (uint64_t)st.st_size)
		csize = host < (uint64_t)st.st_size ? (uint64_t)st.st_size - host : 0;
	if (!csize || csize > 2 * q->cluster_size)
		return qcow2_corrupt(q, "compressed cluster location", host);
	ret = qcow2_pread(q, q->zbuf, csize, host);
	if (ret)
		return ret;
	if (inflateInit2(&z, -12) != Z_OK)
		return -ENOMEM;
	z.next_in = q->zbuf;
	z.avail_in = (uInt)csize;
	z.next_out = out;
	z.avail_out = (uInt)q->cluster_size;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	/* The stored length is only sector precise: a full output buffer is success. */
	if (ret != Z_STREAM_END && !(ret == Z_BUF_ERROR && z.avail_out == 0))
		return qcow2_corrupt(q, "compressed cluster does not inflate", host);
	if (z.avail_out)
		return qcow2_corrupt(q, "compressed cluster too short", host);
	return 0;
}

/* Read len bytes at guest offset off within one cluster into buf. */
static int read_chunk(struct qcow2 *q, uint64_t off, uint8_t *buf, size_t len)
{
	uint64_t l2e, l2_off, in = off & (q->cluster_size - 1), host;
	int err = lookup(q, off, &l2e, &l2_off);

	if (err)
		return err;
	if (l2e & QCOW2_OFLAG_COMPRESSED) {
		err = read_compressed(q, l2e, q->cbuf);
		if (!err)
			memmove(buf, q->cbuf + in, len); /* buf may be q->cbuf itself */
		return err;
	}
	host = l2e & QCOW2_L2E_OFFSET_MASK;
	if ((l2e & QCOW2_OFLAG_ZERO) && q->version >= 3) {
		memset(buf, 0, len);
		return 0;
	}
	if (!host) {
		uint64_t bsize = q->backing ? blk_size(q->backing) : 0;
		size_t from_backing = off >= bsize ? 0 : (bsize - off < len ? bsize - off : len);

		memset(buf + from_backing, 0, len - from_backing);
		return from_backing ? blk_pread(q->backing, buf, from_backing, off) : 0;
	}
	if (host & (q->cluster_size - 1))
		return qcow2_corrupt(q, "unaligned data cluster", host);
	err = qcow2_pread(q, buf, len, host + in);
	if (err == -EIO) {
		/* Clusters past EOF of a preallocated-then-truncated file read as zeros. */
		memset(buf, 0, len);
		err = 0;
	}
	return err;
}

/* The bounce path: one cluster at a time through a buffer (qcow2_set_bounce). */
static ssize_t bounce_preadv(struct blk *b, const struct iovec *iov, int cnt, uint64_t off)
{
	struct qcow2 *q = blk_priv(b);
	size_t total = iov_size(iov, cnt), done = 0;
	uint8_t *tmp = malloc(q->cluster_size);
	int err = 0;

	if (!tmp)
		return -ENOMEM;
	pthread_mutex_lock(&q->lock);
	while (done < total && !err) {
		uint64_t o = off + done, in = o & (q->cluster_size - 1);
		size_t n = q->cluster_size - in < total - done ? q->cluster_size - in
							       : total - done;

		err = read_chunk(q, o, tmp, n);
		if (!err)
			iov_from_buf(iov, cnt, done, tmp, n);
		done += n;
	}
	pthread_mutex_unlock(&q->lock);
	free(tmp);
	return err ? err : (ssize_t)total;
}

/* ---- write ----------------------------------------------------------- */

static int l1_set(struct qcow2 *q, uint64_t idx, uint64_t v)
{
	uint8_t be[8];

	be64_store(be, v);
	q->l1[idx] = v;
	return qcow2_pwrite(q, be, 8, q->l1_offset + idx * 8);
}

/* The L2 table for guest offset off, allocating it if needed. */
static int l2_for_write(struct qcow2 *q, uint64_t off, uint64_t *l2_off)
{
	uint64_t l1_idx = off >> (q->cluster_bits + q->l2_bits), l1e, noff;
	uint8_t *t;
	int err;

	if (l1_idx >= q->l1_size)
		return qcow2_corrupt(q, "write beyond the L1 table", off);
	l1e = q->l1[l1_idx];
	*l2_off = l1e & QCOW2_L1E_OFFSET_MASK;
	if (*l2_off) {
		if (!(l1e & QCOW2_OFLAG_COPIED))
			return qcow2_corrupt(q, "shared L2 table (COPIED clear) in writable image",
					     l1e);
		return 0;
	}
	err = qcow2_alloc_clusters(q, 1, &noff);
	if (err)
		return err;
	memset(q->cbuf, 0, q->cluster_size);
	err = qcow2_pwrite(q, q->cbuf, q->cluster_size, noff);
	if (err)
		return err;
	err = l1_set(q, l1_idx, noff | QCOW2_OFLAG_COPIED);
	if (err)
		return err;
	err = l2_get(q, noff, &t);
	*l2_off = noff;
	return err;
}

static int l2_set(struct qcow2 *q, uint64_t l2_off, uint64_t off, uint64_t v)
{
	uint64_t idx = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
	uint8_t *t;
	int err = l2_get(q, l2_off, &t);

	if (err)
		return err;
	be64_store(t + idx * 8, v);
	return qcow2_pwrite(q, t + idx * 8, 8, l2_off + idx * 8);
}

/*
 * An L2 entry was replaced by a fresh cluster: drop the references the old
 * entry held (the bytes of a compressed cluster, the host cluster of a
 * preallocated zero cluster).  Called after the L2 entry is on disk, so a
 * crash in between leaks a cluster and never leaves a dangling reference.
 */
static int release_old(struct qcow2 *q, uint64_t l2e)
{
	if (l2e & QCOW2_OFLAG_COMPRESSED) {
		unsigned x = 62 - (q->cluster_bits - 8);
		uint64_t nsec = (l2e >> x) & ((1ull << (q->cluster_bits - 8)) - 1);
		uint64_t old = l2e & ((1ull << x) - 1);

		return qcow2_free_range(q, old, (nsec + 1) * 512 - (old & 511));
	}
	if ((l2e & QCOW2_OFLAG_ZERO) && (l2e & QCOW2_L2E_OFFSET_MASK))
		return qcow2_free_range(q, l2e & QCOW2_L2E_OFFSET_MASK, q->cluster_size);
	return 0;
}

/* Write len bytes within one cluster at guest offset off. */
static int write_chunk(struct qcow2 *q, uint64_t off, const uint8_t *buf, size_t len)
{
	uint64_t in = off & (q->cluster_size - 1), base = off - in, l2e, l2_off, host;
	int err = l2_for_write(q, off, &l2_off);

	if (!err)
		err = lookup(q, off, &l2e, &l2_off);
	if (err)
		return err;
	host = l2e & QCOW2_L2E_OFFSET_MASK;
	if (host && !(l2e & (QCOW2_OFLAG_COMPRESSED | QCOW2_OFLAG_ZERO))) {
		if (host & (q->cluster_size - 1))
			return qcow2_corrupt(q, "unaligned data cluster", host);
		if (!(l2e & QCOW2_OFLAG_COPIED))
			return qcow2_corrupt(q, "shared data cluster (COPIED clear)", l2e);
		return qcow2_pwrite(q, buf, len, host + in);
	}
	/* New cluster: whole-cluster contents = old view (backing, zero, compressed) + new bytes. */
	if (len < q->cluster_size) {
		err = read_chunk(q, base, q->cbuf, q->cluster_size);
		if (err)
			return err;
	}
	memcpy(q->cbuf + in, buf, len);
	err = qcow2_alloc_clusters(q, 1, &host);
	if (!err)
		err = qcow2_pwrite(q, q->cbuf, q->cluster_size, host);
	if (!err)
		err = l2_set(q, l2_off, off, host | QCOW2_OFLAG_COPIED);
	return err ? err : release_old(q, l2e);
}

static ssize_t bounce_pwritev(struct blk *b, const struct iovec *iov, int cnt, uint64_t off)
{
	struct qcow2 *q = blk_priv(b);
	size_t total = iov_size(iov, cnt), done = 0;
	uint8_t *tmp = malloc(q->cluster_size);
	int err = 0;

	if (!tmp)
		return -ENOMEM;
	pthread_mutex_lock(&q->lock);
	while (done < total && !err) {
		uint64_t o = off + done, in = o & (q->cluster_size - 1);
		size_t n = q->cluster_size - in < total - done ? q->cluster_size - in
							       : total - done;

		iov_to_buf(iov, cnt, done, tmp, n);
		err = write_chunk(q, o, tmp, n);
		done += n;
	}
	pthread_mutex_unlock(&q->lock);
	free(tmp);
	return err ? err : (ssize_t)total;
}

/* ---- scatter/gather path ----------------------------------------------- */

/*
 * Requests move straight between the caller's iovec (guest RAM for IDE
 * DMA) and the file: the request is cut into runs of clusters one
 * operation serves (consecutive data clusters: one preadv/pwritev; zero and
 * unallocated clusters: zero-fill or one read of the backing file;
 * clusters a write must allocate: one allocation of adjacent clusters, one
 * pwritev, one write of their L2 entries).  Only compressed clusters and
 * the partial edges of newly allocated clusters go through q->cbuf.
 */

#define QCOW2_SG_MAX BLK_IOV_MAX /* iovec entries per preadv/pwritev: a whole request */

enum qcow2_kind {
	QK_DATA,
	QK_ZERO,
	QK_UNALLOC, /* backing file, or zeros past it */
	QK_COMPRESSED,
};

struct qcow2_run {
	enum qcow2_kind kind;
	uint64_t l2e;  /* entry of the first cluster */
	uint64_t host; /* QK_DATA: file offset of the run's first byte */
	size_t len;    /* bytes of the request the run covers */
};

/* How a read treats a cluster (the order of read_chunk's tests). */
static enum qcow2_kind l2e_kind(const struct qcow2 *q, uint64_t l2e)
{
	if (l2e & QCOW2_OFLAG_COMPRESSED)
		return QK_COMPRESSED;
	if ((l2e & QCOW2_OFLAG_ZERO) && q->version >= 3)
		return QK_ZERO;
	if (!(l2e & QCOW2_L2E_OFFSET_MASK))
		return QK_UNALLOC;
	return QK_DATA;
}

/*
 * Move len bytes between the file at host and bytes [skip, skip+len) of
 * iov.  A read that meets the end of the file zero-fills the rest: clusters
 * past EOF of a preallocated-then-truncated file read as zeros.  *moved
 * (may be NULL): how many bytes are in place, also when it fails (an
 * RWF_NOWAIT read that would block part way).
 */
static int file_rw_iov(struct qcow2 *q, bool write, const struct iovec *iov, int cnt, size_t skip,
		       size_t len, uint64_t host, size_t *moved)
{
	struct iovec v[QCOW2_SG_MAX];
	size_t done = 0, got;
	int err = 0;

	if (write && q->readonly)
		return -EROFS;
	while (done < len) {
		int n = iov_slice(iov, cnt, skip + done, len - done, v, QCOW2_SG_MAX, &got);
		ssize_t r = write ? pwritev(q->fd, v, n, (off_t)(host + done))
				  : preadv2(q->fd, v, n, (off_t)(host + done),
					    q->nowait ? RWF_NOWAIT : 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r == 0 && write)) {
			err = r < 0 ? -errno : -EIO;
			break;
		}
		if (r == 0) {
			iov_zero(iov, cnt, skip + done, len - done);
			done = len;
			break;
		}
		done += (size_t)r;
		if (!write)
			q->data_read += (uint64_t)r;
	}
	if (moved)
		*moved = done;
	return err;
}

/* Unallocated clusters: the backing file's bytes, zeros past its end (or without one). */
static int read_backing_iov(struct qcow2 *q, uint64_t off, const struct iovec *iov, int cnt,
			    size_t skip, size_t len)
{
	uint64_t bsize = q->backing ? blk_size(q->backing) : 0;
	size_t from = off >= bsize ? 0 : (bsize - off < len ? (size_t)(bsize - off) : len);
	struct iovec v[QCOW2_SG_MAX];
	size_t done = 0, got;

	if (from && q->nowait)
		return -EAGAIN;
	iov_zero(iov, cnt, skip + from, len - from);
	while (done < from) {
		int n = iov_slice(iov, cnt, skip + done, from - done, v, QCOW2_SG_MAX, &got);
		ssize_t r = blk_preadv(q->backing, v, n, off + done);

		if (r < 0)
			return (int)r;
		done += got;
	}
	return 0;
}

/*
 * The run starting at guest offset off (at most max bytes) that one
 * operation reads: clusters of one kind within one L2 table, data clusters
 * also adjacent in the file; a compressed cluster is a run of its own.
 */
static int read_run(struct qcow2 *q, uint64_t off, size_t max, struct qcow2_run *r)
{
	uint64_t cs = q->cluster_size, in = off & (cs - 1), first;
	uint64_t l1_idx = off >> (q->cluster_bits + q->l2_bits);
	uint64_t idx = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1), i, l2_off = 0;
	uint8_t *t = NULL;
	int err;

	r->len = cs - in < max ? (size_t)(cs - in) : max;
	r->l2e = 0;
	if (l1_idx < q->l1_size)
		l2_off = q->l1[l1_idx] & QCOW2_L1E_OFFSET_MASK;
	if (l2_off) {
		err = l2_get(q, l2_off, &t);
		if (err)
			return err;
		r->l2e = be64_load(t + idx * 8);
	}
	r->kind = l2e_kind(q, r->l2e);
	first = r->l2e & QCOW2_L2E_OFFSET_MASK;
	if (r->kind == QK_DATA && (first & (cs - 1)))
		return qcow2_corrupt(q, "unaligned data cluster", first);
	r->host = first + in;
	if (r->kind == QK_COMPRESSED)
		return 0;
	for (i = idx + 1; i < (1ull << q->l2_bits) && r->len < max; i++) {
		uint64_t e = t ? be64_load(t + i * 8) : 0;

		if (l2e_kind(q, e) != r->kind)
			break;
		if (r->kind == QK_DATA && (e & QCOW2_L2E_OFFSET_MASK) != first + (i - idx) * cs)
			break;
		r->len += cs < max - r->len ? (size_t)cs : max - r->len;
	}
	return 0;
}

/* Read the run into iov from byte skip on; *moved: bytes in place, also on failure. */
static int read_run_iov(struct qcow2 *q, const struct qcow2_run *r, uint64_t off,
			const struct iovec *iov, int cnt, size_t skip, size_t *moved)
{
	int err;

	*moved = 0;
	switch (r->kind) {
	case QK_DATA:
		return file_rw_iov(q, false, iov, cnt, skip, r->len, r->host, moved);
	case QK_ZERO:
		iov_zero(iov, cnt, skip, r->len);
		return 0;
	case QK_UNALLOC:
		return read_backing_iov(q, off, iov, cnt, skip, r->len);
	case QK_COMPRESSED:
		if (q->nowait)
			return -EAGAIN;
		err = read_compressed(q, r->l2e, q->cbuf);
		if (!err)
			iov_from_buf(iov, cnt, skip, q->cbuf + (off & (q->cluster_size - 1)),
				     r->len);
		return err;
	}
	return -EINVAL;
}

/*
 * With q->lock held.  *moved: how many bytes from the start of the request
 * are in place; on the loop thread (q->nowait) an -EAGAIN part way leaves
 * the rest to the worker (blk_aio_partial).
 */
static int sg_read_locked(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t off,
			  size_t total, size_t *moved)
{
	size_t done = 0, part = 0;
	int err = 0;

	while (done < total && !err) {
		struct qcow2_run r;

		part = 0;
		err = read_run(q, off + done, total - done, &r);
		if (!err)
			err = read_run_iov(q, &r, off + done, iov, cnt, done, &part);
		done += err ? part : r.len;
	}
	*moved = done;
	return err;
}

static ssize_t sg_preadv(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t off)
{
	size_t total = iov_size(iov, cnt), moved;
	int err;

	pthread_mutex_lock(&q->lock);
	err = sg_read_locked(q, iov, cnt, off, total, &moved);
	pthread_mutex_unlock(&q->lock);
	return err ? err : (ssize_t)total;
}

/* A cluster a write can overwrite in place: allocated, ours alone, plain data. */
static bool in_place(uint64_t l2e)
{
	return (l2e & QCOW2_L2E_OFFSET_MASK) &&
	       !(l2e & (QCOW2_OFLAG_COMPRESSED | QCOW2_OFLAG_ZERO));
}

/*
 * pwritev of head[0, hlen) + bytes [skip, skip+len) of iov + tail[0, tlen)
 * at host: the edges of freshly allocated clusters around the new data.
 */
static int write_padded(struct qcow2 *q, uint64_t host, const uint8_t *head, size_t hlen,
			const struct iovec *iov, int cnt, size_t skip, size_t len,
			const uint8_t *tail, size_t tlen)
{
	int err = 0;

	if (hlen)
		err = qcow2_pwrite(q, head, hlen, host);
	if (!err)
		err = file_rw_iov(q, true, iov, cnt, skip, len, host + hlen, NULL);
	if (!err && tlen)
		err = qcow2_pwrite(q, tail, tlen, host + hlen + len);
	return err;
}

/*
 * Write len bytes at guest offset off into n adjacent clusters of the L2
 * table at l2_off (entry idx on) that all need a new cluster.  Order as in
 * write_chunk: refcounts, then the data, then the L2 entries, then the old
 * entries' references go.
 */
static int write_new_run(struct qcow2 *q, uint64_t off, size_t len, uint64_t l2_off, uint64_t idx,
			 uint64_t n, const struct iovec *iov, int cnt, size_t skip)
{
	uint64_t cs = q->cluster_size, in = off & (cs - 1), base = off - in, host, i;
	uint64_t end = in + len - (n - 1) * cs; /* end of the new bytes in the last cluster */
	uint8_t *t, *tail = q->tbuf;
	int err = 0;

	/* The old view of the partial edges; the tail first (a compressed read uses cbuf). */
	if (end < cs && n > 1)
		err = read_chunk(q, base + (n - 1) * cs, q->tbuf, cs);
	else if (end < cs || in)
		tail = q->cbuf;
	if (!err && (in || (end < cs && n == 1)))
		err = read_chunk(q, base, q->cbuf, cs);
	if (!err)
		err = qcow2_alloc_clusters(q, n, &host);
	if (!err)
		err = write_padded(q, host, q->cbuf, in, iov, cnt, skip, len, tail + end,
				   end < cs ? cs - end : 0);
	if (!err)
		err = l2_get(q, l2_off, &t);
	if (err)
		return err;
	memcpy(q->obuf, t + idx * 8, n * 8);
	for (i = 0; i < n; i++)
		be64_store(t + (idx + i) * 8, (host + i * cs) | QCOW2_OFLAG_COPIED);
	err = qcow2_pwrite(q, t + idx * 8, n * 8, l2_off + idx * 8);
	if (err) {
		memcpy(t + idx * 8, q->obuf, n * 8); /* the cache keeps what the file has */
		return err;
	}
	for (i = 0; !err && i < n; i++)
		err = release_old(q, be64_load(q->obuf + i * 8));
	return err;
}

/* Write the run of clusters starting at guest offset off (at most max bytes); *len: its size. */
static int write_run(struct qcow2 *q, uint64_t off, size_t max, const struct iovec *iov, int cnt,
		     size_t skip, size_t *len)
{
	uint64_t cs = q->cluster_size, in = off & (cs - 1), l2e, l2_off, first, i, n = 1;
	uint64_t idx = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
	bool place;
	uint8_t *t;
	int err = l2_for_write(q, off, &l2_off);

	*len = cs - in < max ? (size_t)(cs - in) : max;
	if (!err)
		err = l2_get(q, l2_off, &t);
	if (err)
		return err;
	l2e = be64_load(t + idx * 8);
	first = l2e & QCOW2_L2E_OFFSET_MASK;
	place = in_place(l2e);
	if (place && (first & (cs - 1)))
		return qcow2_corrupt(q, "unaligned data cluster", first);
	if (place && !(l2e & QCOW2_OFLAG_COPIED))
		return qcow2_corrupt(q, "shared data cluster (COPIED clear)", l2e);
	for (i = idx + 1; i < (1ull << q->l2_bits) && *len < max; i++, n++) {
		uint64_t e = be64_load(t + i * 8);

		if (in_place(e) != place)
			break;
		if (place && (!(e & QCOW2_OFLAG_COPIED) ||
			      (e & QCOW2_L2E_OFFSET_MASK) != first + (i - idx) * cs))
			break;
		*len += cs < max - *len ? (size_t)cs : max - *len;
	}
	if (place)
		return file_rw_iov(q, true, iov, cnt, skip, *len, first + in, NULL);
	return write_new_run(q, off, *len, l2_off, idx, n, iov, cnt, skip);
}

static ssize_t sg_pwritev(struct qcow2 *q, const struct iovec *iov, int cnt, uint64_t off)
{
	size_t total = iov_size(iov, cnt), done = 0, len = 0;
	int err = 0;

	pthread_mutex_lock(&q->lock);
	while (done < total && !err) {
		err = write_run(q, off + done, total - done, iov, cnt, done, &len);
		done += len;
	}
	pthread_mutex_unlock(&q->lock);
	return err ? err : (ssize_t)total;
}

static ssize_t qcow2_preadv(struct blk *b, const struct iovec *iov, int cnt, uint64_t off)
{
	struct qcow2 *q = blk_priv(b);

	return q->bounce ? bounce_preadv(b, iov, cnt, off) : sg_preadv(q, iov, cnt, off);
}

static ssize_t qcow2_pwritev(struct blk *b, const struct iovec *iov, int cnt, uint64_t off)
{
	struct qcow2 *q = blk_priv(b);

	return q->bounce ? bounce_pwritev(b, iov, cnt, off) : sg_pwritev(q, iov, cnt, off);
}

int qcow2_get_counters(struct blk *b, struct qcow2_counters *c)
{
	struct qcow2 *q = blk_priv(b);

	if (strcmp(blk_format_name(b), "qcow2") || !q)
		return -EINVAL;
	pthread_mutex_lock(&q->lock);
	c->l2_cache_tables = q->l2c.n;
	c->l2_loads = q->l2c.loads;
	c->data_read = q->data_read;
	c->pwrites = __atomic_load_n(&q->pwrites, __ATOMIC_RELAXED);
	c->l2_cache_check = qcow2_l2c_check(&q->l2c);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

int qcow2_set_bounce(struct blk *b, bool on)
{
	struct qcow2 *q = blk_priv(b);

	if (strcmp(blk_format_name(b), "qcow2") || !q)
		return -EINVAL;
	q->bounce = on;
	return 0;
}

/* ---- native mode: cached reads on the loop thread ------------------------ */

static int qcow2_aio_init(struct blk *b, struct dm_loop *loop)
{
	(void)b;
	(void)loop;
	return 0;
}

/*
 * A read whose L2 tables are cached and whose data is in the page cache
 * runs right here with RWF_NOWAIT, as raw's io_submit does, and completes
 * from the loop's next turn: no hand-off to the worker thread and back,
 * which on a busy host waits for that thread to be scheduled.  Whatever
 * would block (a page-cache miss, an L2 table to load, the backing file, a
 * compressed cluster), writes and flushes return -EAGAIN and run on the
 * worker thread, in order (block.c's ordered queue).  A read cut short
 * that way continues there from the first byte not yet in place
 * (blk_aio_partial), so a page-cache miss late in a 1 MiB read does not
 * copy the first part again.
 */
static int qcow2_aio_start(struct blk *b, struct blk_req *req)
{
	struct qcow2 *q = blk_priv(b);
	size_t total = iov_size(req->iov, req->iovcnt), moved;
	int err;

	if (req->op != BLK_READ || q->bounce || req->offset > blk_size(b) ||
	    total > blk_size(b) - req->offset)
		return -EAGAIN; /* the worker runs it, or refuses it with the message */
	if (pthread_mutex_trylock(&q->lock))
		return -EAGAIN;
	q->nowait = true;
	err = sg_read_locked(q, req->iov, req->iovcnt, req->offset, total, &moved);
	q->nowait = false;
	pthread_mutex_unlock(&q->lock);
	if (err == -EAGAIN || err == -EOPNOTSUPP) {
		blk_aio_partial(req, moved);
		return -EAGAIN;
	}
	blk_aio_complete_later(req, err);
	return 0;
}

static void qcow2_aio_fini(struct blk *b)
{
	(void)b; /* nothing outlives aio_start() but the posted completion */
}

static int qcow2_flush(struct blk *b)
{
	struct qcow2 *q = blk_priv(b);

	return fdatasync(q->fd) < 0 ? -errno : 0;
}

/* ---- open/close ------------------------------------------------------ */

static int load_l1(struct qcow2 *q)
{
	uint8_t *raw;
	uint32_t i;
	int err;

	q->l1 = calloc(q->l1_size ? q->l1_size : 1, sizeof(uint64_t));
	raw = malloc((size_t)q->l1_size * 8 + 1);
	if (!q->l1 || !raw) {
		free(raw);
		return -ENOMEM;
	}
	err = qcow2_pread(q, raw, (size_t)q->l1_size * 8, q->l1_offset);
	for (i = 0; !err && i < q->l1_size; i++)
		q->l1[i] = be64_load(raw + i * 8);
	free(raw);
	return err;
}

static int alloc_buffers(struct qcow2 *q, const struct blk_opts *o)
{
	unsigned i;
	int err;

	q->cbuf = malloc(q->cluster_size);
	q->tbuf = malloc(q->cluster_size);
	q->obuf = malloc(q->cluster_size);
	q->zbuf = malloc(2 * q->cluster_size);
	if (!q->cbuf || !q->tbuf || !q->obuf || !q->zbuf)
		return -ENOMEM;
	err = qcow2_l2c_init(&q->l2c, l2_cache_tables(q, o), q->cluster_size);
	if (err)
		return err;
	for (i = 0; i < QCOW2_RB_CACHE; i++)
		if (!(q->rb_cache[i].data = malloc(q->cluster_size)))
			return -ENOMEM;
	return 0;
}

static void qcow2_free(struct qcow2 *q)
{
	unsigned i;

	if (q->backing)
		blk_close(q->backing);
	qcow2_l2c_fini(&q->l2c);
	for (i = 0; i < QCOW2_RB_CACHE; i++)
		free(q->rb_cache[i].data);
	free(q->cbuf);
	free(q->tbuf);
	free(q->obuf);
	free(q->zbuf);
	free(q->l1);
	free(q->rt);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static int write_incompat(struct qcow2 *q)
{
	uint8_t be[8];

	be64_store(be, q->incompat);
	return qcow2_pwrite(q, be, 8, 72);
}

/* Writable open of a dirty (lazy refcounts) image: rebuild, then clear the bit. */
static int repair_if_dirty(struct qcow2 *q)
{
	int err;

	if (q->readonly || !(q->incompat & QCOW2_INCOMPAT_DIRTY))
		return 0;
	dm_warn("qcow2", "%s: image was not closed cleanly (dirty bit); rebuilding refcounts",
		blk_path(q->blk));
	err = qcow2_rebuild_refcounts(q);
	if (!err)
		err = fdatasync(q->fd) < 0 ? -errno : 0;
	if (err)
		return err;
	q->incompat &= ~QCOW2_INCOMPAT_DIRTY;
	return write_incompat(q);
}

static int check_writable(struct qcow2 *q, const struct blk_opts *o)
{
	if (o->readonly)
		return 0;
	if (q->incompat & QCOW2_INCOMPAT_CORRUPT) {
		dm_err("qcow2",
		       "%s: image is marked corrupt; attach it read-only or repair it "
		       "with 'qemu-img check -r all'",
		       blk_path(q->blk));
		return -EROFS;
	}
	if (q->nb_snapshots) {
		dm_err("qcow2",
		       "%s: image has %u internal snapshots; writing such images is not "
		       "supported (attach read-only, or qemu-img convert it)",
		       blk_path(q->blk), q->nb_snapshots);
		return -EROFS;
	}
	return 0;
}

static int qcow2_open(struct blk *b, int fd, const struct blk_opts *o)
{
	struct qcow2 *q = calloc(1, sizeof(*q));
	uint8_t *c0 = NULL;
	struct stat st;
	int err;

	if (!q)
		return -ENOMEM;
	q->blk = b;
	q->fd = fd;
	q->readonly = o->readonly;
	pthread_mutex_init(&q->lock, NULL);
	err = fstat(fd, &st) < 0 ? -errno : 0;
	if (!err && st.st_size < 72)
		err = qcow2_corrupt(q, "file shorter than a qcow2 header", (uint64_t)st.st_size);
	c0 = calloc(1, 1u << 21);
	if (!err && !c0)
		err = -ENOMEM;
	if (!err)
		err = qcow2_pread(q, c0, st.st_size < 104 ? (size_t)st.st_size : 104, 0);
	if (!err)
		err = parse_header(q, c0, (uint64_t)st.st_size);
	if (!err) {
		size_t n = (uint64_t)st.st_size < q->cluster_size ? (size_t)st.st_size
								  : q->cluster_size;

		memset(c0, 0, q->cluster_size);
		err = qcow2_pread(q, c0, n, 0);
	}
	if (!err)
		err = check_incompat(q, c0, q->header_length > 104 ? c0[104] : 0);
	if (!err)
		err = check_writable(q, o);
	if (!err)
		err = alloc_buffers(q, o);
	if (!err)
		err = open_backing(q, c0, o);
	if (!err)
		err = load_l1(q);
	if (!err)
		err = qcow2_load_refcount_table(q);
	q->file_end = ((uint64_t)st.st_size + q->cluster_size - 1) & ~(q->cluster_size - 1);
	blk_set_priv(b, q);
	if (!err)
		err = repair_if_dirty(q);
	free(c0);
	if (err) {
		qcow2_free(q);
		blk_set_priv(b, NULL);
		return err;
	}
	blk_set_size(b, q->size);
	dm_info("qcow2",
		"%s: L2 cache of %" PRIu32 " tables (%" PRIu64 " KiB, maps %" PRIu64 " MiB)",
		blk_path(b), q->l2c.n, (uint64_t)q->l2c.n * q->cluster_size >> 10,
		((uint64_t)q->l2c.n * q->cluster_size << q->l2_bits) >> 20);
	return 0;
}

static void qcow2_close(struct blk *b)
{
	struct qcow2 *q = blk_priv(b);

	if (q)
		qcow2_free(q);
}

const struct blk_format blk_qcow2_format = {
	.name = "qcow2",
	.open = qcow2_open,
	.preadv = qcow2_preadv,
	.pwritev = qcow2_pwritev,
	.flush = qcow2_flush,
	.close = qcow2_close,
	.aio_init = qcow2_aio_init,
	.aio_start = qcow2_aio_start,
	.aio_fini = qcow2_aio_fini,
};
