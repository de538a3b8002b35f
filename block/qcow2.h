/* SPDX-License-Identifier: MIT */
/*
 * qcow2.h - QEMU's qcow2 image format, versions 2 and 3 (docs/interop/qcow2.txt
 * in QEMU is the specification).  Internal to block/.
 *
 * Supported: reading and writing with cluster allocation and exact refcounts
 * (any refcount width), zero clusters, compressed clusters (zlib, read; the
 * guest's writes replace them), backing chains with a recorded backing
 * format, lazy-refcount images and the dirty bit (refcounts rebuilt on a
 * writable open), the corrupt bit (read-only open only).  Refused with a
 * message: encryption, external data files, extended L2, zstd, unknown
 * incompatible features, and writing to images with internal snapshots.
 */
#ifndef BLOCK_QCOW2_H
#define BLOCK_QCOW2_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "block.h"

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */
#define QCOW2_L1E_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_L2E_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO 1ull
#define QCOW2_RT_OFFSET_MASK 0xfffffffffffffe00ull

#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

#define QCOW2_EXT_END 0
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_NAMES 0x6803f857u

/*
 * L2 tables cached: enough to map the whole image, at least 16 and at most
 * 32 MiB of tables (QEMU's default l2-cache-size on Linux); blk_opts can
 * set the size instead (a drive's l2-cache-size=), still at least 2 tables.  With 64 KiB clusters 1 MiB of tables maps 8 GiB;
 * with 512-byte clusters one 512-byte table maps only 32 KiB.
 */
#define QCOW2_L2_CACHE_MIN 16
#define QCOW2_L2_CACHE_MAX_BYTES BLK_L2_CACHE_MAX
#define QCOW2_RB_CACHE 8

struct qcow2_cache_entry {
	uint64_t offset; /* host offset of the cached cluster, 0 if empty */
	uint64_t lru;
	uint8_t *data; /* raw on-disk bytes (big-endian) */
};

struct qcow2_l2slot;

/* qcow2_l2cache.c: L2 tables by host offset, least recently used replaced first. */
struct qcow2_l2cache {
	struct qcow2_l2slot *slot;
	uint32_t *bucket; /* hash heads (slot index + 1; 0: empty) */
	uint32_t n;	  /* capacity in tables */
	uint32_t used;	  /* slots given a buffer so far */
	uint32_t hash_bits;
	uint32_t mru, lru; /* ends of the recency list (slot index + 1) */
	size_t table_size;
	uint64_t loads; /* tables read from the file */
};

int qcow2_l2c_init(struct qcow2_l2cache *c, uint32_t n, size_t table_size);
void qcow2_l2c_fini(struct qcow2_l2cache *c);
/* The cached table at host offset off (now the most recently used), or NULL. */
uint8_t *qcow2_l2c_find(struct qcow2_l2cache *c, uint64_t off);
/* A slot and its buffer to read a table into; 0 or -ENOMEM. */
int qcow2_l2c_claim(struct qcow2_l2cache *c, uint32_t *slot, uint8_t **data);
/* The claimed slot now holds the table at off. */
void qcow2_l2c_insert(struct qcow2_l2cache *c, uint32_t slot, uint64_t off);
/*
 * Tests: 0 if every table held is on its hash chain once, no two slots hold
 * the same table and the recency list has every slot in use; else -EIO.
 */
int qcow2_l2c_check(const struct qcow2_l2cache *c);

struct qcow2 {
	struct blk *blk;
	int fd;
	bool readonly;
	pthread_mutex_t lock; /* sync callers and the worker may overlap */

	uint32_t version;
	uint32_t cluster_bits;
	uint64_t cluster_size;
	uint32_t l2_bits; /* log2(entries per L2 table) */
	uint64_t size;
	uint32_t header_length;
	uint64_t incompat, compat, autoclear;

	uint64_t l1_offset;
	uint32_t l1_size;
	uint64_t *l1; /* host-endian copy */

	uint32_t refcount_order;
	uint64_t rt_offset;
	uint32_t rt_clusters;
	uint64_t rt_entries;
	uint64_t *rt;	     /* host-endian copy */
	uint64_t rb_entries; /* refcounts per refcount block */

	uint32_t nb_snapshots;
	uint64_t snapshots_offset;

	uint64_t file_end; /* next free cluster-aligned offset (allocation pointer) */
	uint64_t lru_clock;
	struct qcow2_l2cache l2c;
	uint64_t data_read; /* bytes of data clusters read from the file (tests) */
	uint64_t pwrites;   /* qcow2_pwrite() calls: metadata, bounce-path data (tests) */
	struct qcow2_cache_entry rb_cache[QCOW2_RB_CACHE];
	uint8_t *cbuf; /* one cluster of scratch */
	uint8_t *tbuf; /* another: the tail edge of a new run of clusters */
	uint8_t *obuf; /* the old L2 entries of a run being replaced (one table's worth) */
	bool bounce;   /* tests: every request one cluster at a time through a buffer */
	bool nowait;   /* loop thread: fail with -EAGAIN rather than block */
	uint8_t *zbuf; /* compressed input, two clusters */

	struct blk *backing;
	char backing_fmt[32];
};

/* Big-endian helpers. */
static inline uint64_t be64_load(const void *p)
{
	const uint8_t *b = p;

	return (uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 | (uint64_t)b[2] << 40 |
	       (uint64_t)b[3] << 32 | (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 |
	       (uint64_t)b[6] << 8 | b[7];
}

static inline uint32_t be32_load(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void be64_store(void *p, uint64_t v)
{
	uint8_t *b = p;
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

static inline void be32_store(void *p, uint32_t v)
{
	uint8_t *b = p;
	int i;

	for (i = 3; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

/* File I/O that moves everything or fails (-EIO on a short read past EOF). */
int qcow2_pread(struct qcow2 *q, void *buf, size_t len, uint64_t off);
int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off);

/* qcow2_refcount.c */
int qcow2_load_refcount_table(struct qcow2 *q);
int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *out);
int qcow2_refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t value);
/* Allocate n contiguous clusters at the end of the file with refcount 1. */
int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *offset);
/* Drop one reference from every cluster of [off, off+len). */
int qcow2_free_range(struct qcow2 *q, uint64_t off, uint64_t len);
/* Recompute every refcount from the metadata and fix the differences. */
int qcow2_rebuild_refcounts(struct qcow2 *q);

/*
 * Tests: run b's requests through the old one-cluster-at-a-time bounce
 * path (on) or the scatter/gather path (off, the default), to compare the
 * two on the same image.  -EINVAL if b is not a qcow2 image.
 */
int qcow2_set_bounce(struct blk *b, bool on);

/* Tests: what one qcow2 image did. */
struct qcow2_counters {
	uint32_t l2_cache_tables; /* capacity of the L2 cache */
	uint64_t l2_loads;	  /* L2 tables read from the file */
	uint64_t data_read;	  /* bytes read from data clusters, loop thread and worker */
	uint64_t pwrites;	  /* qcow2_pwrite() calls (metadata; data on the bounce path) */
	int l2_cache_check;	  /* qcow2_l2c_check() */
};

/* -EINVAL if b is not a qcow2 image. */
int qcow2_get_counters(struct blk *b, struct qcow2_counters *c);

/* qcow2_create.c: write a fresh v3 image (16-bit refcounts) to fd. */
int qcow2_create_fd(int fd, uint64_t size, unsigned cluster_bits, const char *backing,
		    const char *backing_fmt);

#endif /* BLOCK_QCOW2_H */
