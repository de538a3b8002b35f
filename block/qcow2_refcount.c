// SPDX-License-Identifier: MIT
/*
 * qcow2_refcount.c - qcow2 refcounts: the refcount table and blocks (any
 * width from 1 to 64 bits), cluster allocation at the end of the file, and
 * the rebuild that repairs images left dirty by lazy refcounts.
 *
 * Ordering: a cluster's refcount is written before anything points at it,
 * so a crash can leak a cluster but never leave a reference to a cluster
 * with refcount 0.
 */
#include "qcow2.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

#define QCOW2_MAX_ALLOC_DEPTH 4
#define QCOW2_MAX_REBUILD_CLUSTERS (1ull << 28)

int qcow2_load_refcount_table(struct qcow2 *q)
{
	size_t bytes = (size_t)q->rt_clusters * q->cluster_size;
	uint8_t *raw = malloc(bytes);
	uint64_t i;
	int err;

	q->rt_entries = bytes / 8;
	q->rb_entries = (q->cluster_size * 8) >> q->refcount_order;
	q->rt = calloc(q->rt_entries, sizeof(uint64_t));
	if (!raw || !q->rt) {
		free(raw);
		return -ENOMEM;
	}
	err = qcow2_pread(q, raw, bytes, q->rt_offset);
	for (i = 0; !err && i < q->rt_entries; i++)
		q->rt[i] = be64_load(raw + i * 8);
	free(raw);
	return err;
}

static int rb_get(struct qcow2 *q, uint64_t off, uint8_t **block)
{
	struct qcow2_cache_entry *victim = &q->rb_cache[0];
	unsigned i;
	int err;

	if ((off & (q->cluster_size - 1)) || !off) {
		dm_err("qcow2", "%s: corrupt image: refcount block offset 0x%" PRIx64,
		       blk_path(q->blk), off);
		return -EIO;
	}
	for (i = 0; i < QCOW2_RB_CACHE; i++) {
		if (q->rb_cache[i].offset == off) {
			q->rb_cache[i].lru = ++q->lru_clock;
			*block = q->rb_cache[i].data;
			return 0;
		}
		if (q->rb_cache[i].lru < victim->lru)
			victim = &q->rb_cache[i];
	}
	victim->offset = 0;
	err = qcow2_pread(q, victim->data, q->cluster_size, off);
	if (err)
		return err;
	victim->offset = off;
	victim->lru = ++q->lru_clock;
	*block = victim->data;
	return 0;
}

/* Entry idx of a refcount block (refcount_order bits wide, big-endian for >= 8 bits). */
static uint64_t rb_entry_get(const struct qcow2 *q, const uint8_t *blk, uint64_t idx)
{
	unsigned bits = 1u << q->refcount_order;
	uint64_t v = 0;
	unsigned i;

	if (bits < 8)
		return (blk[idx * bits / 8] >> (idx * bits % 8)) & ((1u << bits) - 1);
	for (i = 0; i < bits / 8; i++)
		v = v << 8 | blk[idx * (bits / 8) + i];
	return v;
}

static void rb_entry_set(const struct qcow2 *q, uint8_t *blk, uint64_t idx, uint64_t v)
{
	unsigned bits = 1u << q->refcount_order, shift;
	int i;

	if (bits < 8) {
		shift = idx * bits % 8;
		blk[idx * bits / 8] &= (uint8_t) ~(((1u << bits) - 1) << shift);
		blk[idx * bits / 8] |= (uint8_t)((v & ((1u << bits) - 1)) << shift);
		return;
	}
	for (i = (int)(bits / 8) - 1; i >= 0; i--, v >>= 8)
		blk[idx * (bits / 8) + (unsigned)i] = (uint8_t)v;
}

/* Byte range of the entry within its block, for writing just that part. */
static void rb_entry_span(const struct qcow2 *q, uint64_t idx, uint64_t *off, size_t *len)
{
	unsigned bits = 1u << q->refcount_order;

	*off = bits < 8 ? idx * bits / 8 : idx * (bits / 8);
	*len = bits < 8 ? 1 : bits / 8;
}

int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *out)
{
	uint64_t ti = cluster / q->rb_entries;
	uint8_t *blk;
	int err;

	*out = 0;
	if (ti >= q->rt_entries || !(q->rt[ti] & QCOW2_RT_OFFSET_MASK))
		return 0;
	err = rb_get(q, q->rt[ti] & QCOW2_RT_OFFSET_MASK, &blk);
	if (!err)
		*out = rb_entry_get(q, blk, cluster % q->rb_entries);
	return err;
}

static int set_at_depth(struct qcow2 *q, uint64_t cluster, uint64_t value, unsigned depth);

/* Claim the next cluster at the end of the file without touching refcounts. */
static uint64_t bump_file_end(struct qcow2 *q, uint64_t n)
{
	uint64_t off = q->file_end;

	q->file_end += n * q->cluster_size;
	return off;
}

/* Grow the refcount table so that index ti exists. */
static int grow_table(struct qcow2 *q, uint64_t ti, unsigned depth)
{
	uint64_t per = q->cluster_size / 8, nclusters = (ti + 1 + per - 1) / per, off, i;
	uint64_t old_off = q->rt_offset, old_clusters = q->rt_clusters, *nrt;
	uint8_t *raw, hdr[12];
	int err;

	nclusters = nclusters * 2 > nclusters + 1 ? nclusters * 2 : nclusters + 1;
	if (nclusters * q->cluster_size > (8u << 20))
		return -EFBIG;
	raw = calloc(nclusters, q->cluster_size);
	nrt = calloc(nclusters * per, sizeof(uint64_t));
	if (!raw || !nrt) {
		free(raw);
		free(nrt);
		return -ENOMEM;
	}
	memcpy(nrt, q->rt, q->rt_entries * sizeof(uint64_t));
	off = bump_file_end(q, nclusters);
	for (i = 0; i < q->rt_entries; i++)
		be64_store(raw + i * 8, q->rt[i]);
	err = qcow2_pwrite(q, raw, nclusters * q->cluster_size, off);
	free(raw);
	if (err) {
		free(nrt);
		return err;
	}
	/* Switch the header to the new table (one 12-byte write), then account for it. */
	be64_store(hdr, off);
	be32_store(hdr + 8, (uint32_t)nclusters);
	err = qcow2_pwrite(q, hdr, 12, 48);
	if (err) {
		free(nrt);
		return err;
	}
	free(q->rt);
	q->rt = nrt;
	q->rt_offset = off;
	q->rt_clusters = (uint32_t)nclusters;
	q->rt_entries = nclusters * per;
	for (i = 0; !err && i < nclusters; i++)
		err = set_at_depth(q, off / q->cluster_size + i, 1, depth + 1);
	for (i = 0; !err && i < old_clusters; i++)
		err = set_at_depth(q, old_off / q->cluster_size + i, 0, depth + 1);
	return err;
}

/*
 * A fresh refcount block for table index ti.  Uses its own buffer: callers
 * may hold a cluster being assembled in q->cbuf while they allocate.
 */
static int new_block(struct qcow2 *q, uint64_t ti, unsigned depth)
{
	uint64_t off = bump_file_end(q, 1), self = off / q->cluster_size;
	uint8_t be[8], *blk = calloc(1, q->cluster_size);
	int err;

	if (!blk)
		return -ENOMEM;
	if (self / q->rb_entries == ti)
		rb_entry_set(q, blk, self % q->rb_entries, 1); /* it covers itself */
	err = qcow2_pwrite(q, blk, q->cluster_size, off);
	free(blk);
	if (err)
		return err;
	be64_store(be, off);
	err = qcow2_pwrite(q, be, 8, q->rt_offset + ti * 8);
	if (err)
		return err;
	q->rt[ti] = off;
	if (self / q->rb_entries != ti)
		err = set_at_depth(q, self, 1, depth + 1);
	return err;
}

static int set_at_depth(struct qcow2 *q, uint64_t cluster, uint64_t value, unsigned depth)
{
	uint64_t ti = cluster / q->rb_entries, idx = cluster % q->rb_entries, eoff;
	uint64_t max = q->refcount_order == 6 ? UINT64_MAX
					      : (1ull << (1u << q->refcount_order)) - 1;
	uint8_t *blk;
	size_t elen;
	int err;

	if (depth > QCOW2_MAX_ALLOC_DEPTH)
		return -ELOOP;
	if (value > max)
		return -ERANGE;
	if (ti >= q->rt_entries) {
		if (!value)
			return 0;
		err = grow_table(q, ti, depth);
		if (err)
			return err;
	}
	if (!(q->rt[ti] & QCOW2_RT_OFFSET_MASK)) {
		if (!value)
			return 0;
		err = new_block(q, ti, depth);
		if (err)
			return err;
	}
	err = rb_get(q, q->rt[ti] & QCOW2_RT_OFFSET_MASK, &blk);
	if (err)
		return err;
	rb_entry_set(q, blk, idx, value);
	rb_entry_span(q, idx, &eoff, &elen);
	return qcow2_pwrite(q, blk + eoff, elen, (q->rt[ti] & QCOW2_RT_OFFSET_MASK) + eoff);
}

int qcow2_refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t value)
{
	return set_at_depth(q, cluster, value, 0);
}

/*
 * Refcount 1 for clusters [first, first+n) of refcount block ti, which
 * exists: set in the cached block, then one write of the bytes they span.
 */
static int set_span_one(struct qcow2 *q, uint64_t ti, uint64_t first, uint64_t n)
{
	uint64_t i, boff = q->rt[ti] & QCOW2_RT_OFFSET_MASK, start, last;
	size_t slen, llen;
	uint8_t *blk;
	int err = rb_get(q, boff, &blk);

	if (err)
		return err;
	for (i = 0; i < n; i++)
		rb_entry_set(q, blk, (first + i) % q->rb_entries, 1);
	rb_entry_span(q, first % q->rb_entries, &start, &slen);
	rb_entry_span(q, (first + n - 1) % q->rb_entries, &last, &llen);
	return qcow2_pwrite(q, blk + start, last + llen - start, boff + start);
}

int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *offset)
{
	uint64_t off = bump_file_end(q, n), first = off / q->cluster_size, i = 0;
	int err = 0;

	/*
	 * Per refcount block, one write for all the clusters it covers.  Only
	 * when the block does not exist yet does the first cluster take the
	 * general path (which creates the block or grows the table), and the
	 * rest of them the one write.
	 */
	while (!err && i < n) {
		uint64_t c = first + i, in_block = q->rb_entries - c % q->rb_entries;
		uint64_t k = n - i < in_block ? n - i : in_block, ti = c / q->rb_entries;

		if (ti < q->rt_entries && (q->rt[ti] & QCOW2_RT_OFFSET_MASK)) {
			err = set_span_one(q, ti, c, k);
		} else {
			err = qcow2_refcount_set(q, c, 1);
			if (!err && k > 1)
				err = set_span_one(q, ti, c + 1, k - 1);
		}
		i += k;
	}
	*offset = off;
	return err;
}

int qcow2_free_range(struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t first = off / q->cluster_size, last, c, rc;
	int err = 0;

	if (!len)
		return 0;
	last = (off + len - 1) / q->cluster_size;
	for (c = first; !err && c <= last; c++) {
		err = qcow2_refcount_get(q, c, &rc);
		if (!err && rc == 0) {
			dm_warn("qcow2", "%s: freeing cluster 0x%" PRIx64 " with refcount 0",
				blk_path(q->blk), c * q->cluster_size);
			continue;
		}
		if (!err)
			err = qcow2_refcount_set(q, c, rc - 1);
	}
	return err;
}

/* ---- rebuild --------------------------------------------------------- */

struct rebuild {
	struct qcow2 *q;
	uint32_t *cnt;
	uint64_t n;
	int err;
};

static void count_range(struct rebuild *r, uint64_t off, uint64_t len)
{
	uint64_t c, last;

	if (!len)
		return;
	last = (off + len - 1) / r->q->cluster_size;
	for (c = off / r->q->cluster_size; c <= last; c++) {
		if (c >= r->n) {
			dm_err("qcow2",
			       "%s: metadata points past the end of the file (0x%" PRIx64 ")",
			       blk_path(r->q->blk), c * r->q->cluster_size);
			r->err = -EIO;
			return;
		}
		r->cnt[c]++;
	}
}

static void count_l2(struct rebuild *r, uint64_t l2_off, uint8_t *t)
{
	struct qcow2 *q = r->q;
	unsigned x = 62 - (q->cluster_bits - 8);
	uint64_t i, e;

	if (qcow2_pread(q, t, q->cluster_size, l2_off)) {
		r->err = -EIO;
		return;
	}
	for (i = 0; i < (1ull << q->l2_bits) && !r->err; i++) {
		e = be64_load(t + i * 8);
		if (e & QCOW2_OFLAG_COMPRESSED) {
			uint64_t host = e & ((1ull << x) - 1);
			uint64_t nsec = (e >> x) & ((1ull << (q->cluster_bits - 8)) - 1);

			count_range(r, host & ~511ull, (nsec + 1) * 512);
		} else if (e & QCOW2_L2E_OFFSET_MASK) {
			count_range(r, e & QCOW2_L2E_OFFSET_MASK, q->cluster_size);
		}
	}
}

static void count_all(struct rebuild *r)
{
	struct qcow2 *q = r->q;
	uint8_t *t = malloc(q->cluster_size);
	uint64_t i;

	if (!t) {
		r->err = -ENOMEM;
		return;
	}
	count_range(r, 0, q->cluster_size); /* header */
	count_range(r, q->l1_offset, (uint64_t)q->l1_size * 8);
	count_range(r, q->rt_offset, (uint64_t)q->rt_clusters * q->cluster_size);
	for (i = 0; i < q->rt_entries && !r->err; i++)
		if (q->rt[i] & QCOW2_RT_OFFSET_MASK)
			count_range(r, q->rt[i] & QCOW2_RT_OFFSET_MASK, q->cluster_size);
	for (i = 0; i < q->l1_size && !r->err; i++) {
		uint64_t l2 = q->l1[i] & QCOW2_L1E_OFFSET_MASK;

		if (!l2)
			continue;
		count_range(r, l2, q->cluster_size);
		count_l2(r, l2, t);
	}
	free(t);
}

int qcow2_rebuild_refcounts(struct qcow2 *q)
{
	struct rebuild r = { .q = q };
	uint64_t c, cur, fixed = 0;
	struct stat st;

	if (q->nb_snapshots)
		return -ENOTSUP;
	if (fstat(q->fd, &st) < 0)
		return -errno;
	r.n = ((uint64_t)st.st_size + q->cluster_size - 1) / q->cluster_size;
	if (r.n > QCOW2_MAX_REBUILD_CLUSTERS)
		return -EFBIG;
	r.cnt = calloc(r.n ? r.n : 1, sizeof(uint32_t));
	if (!r.cnt)
		return -ENOMEM;
	count_all(&r);
	/* Fix differences; set_at_depth may append blocks, which count themselves. */
	for (c = 0; !r.err && c < r.n; c++) {
		r.err = qcow2_refcount_get(q, c, &cur);
		if (!r.err && cur != r.cnt[c]) {
			r.err = qcow2_refcount_set(q, c, r.cnt[c]);
			fixed++;
		}
	}
	free(r.cnt);
	if (!r.err)
		dm_info("qcow2", "%s: %" PRIu64 " refcounts repaired", blk_path(q->blk), fixed);
	return r.err;
}
