/* SPDX-License-Identifier: MIT */
/*
 * block.h - disk images behind one interface: raw and qcow2.
 *
 * The format always comes from the configuration, never from probing the
 * file, so a raw image whose first bytes look like a qcow2 header is still
 * read as raw.  Guest I/O is asynchronous and its completion callback runs on
 * the dm loop thread, so the loop never blocks on disk.  Requests on one
 * image complete in submission order.  How a request runs (blk_opts.aio):
 *   threads  a worker thread per image runs it and posts the completion
 *            (loop_post).
 *   native   Linux AIO (io_submit; completions through an eventfd the loop
 *            watches), one request in flight per image in submission order;
 *            the default for raw.  What the kernel cannot do without
 *            blocking (buffered I/O that would wait, O_DIRECT at offsets the
 *            device cannot address) runs on the worker thread instead, in
 *            the same order.  Buffered raw requests and qcow2 reads whose
 *            data and L2 tables are cached run on the loop thread with
 *            RWF_NOWAIT (no thread hop, no iocb) and complete from the
 *            loop's next turn; the rest take the worker thread in order.
 *   sync     on the loop thread, and the callback runs before blk_submit()
 *            returns (every device submits as its last step): deterministic
 *            replays for the qtest harness, never for guests.
 * The synchronous blk_preadv() etc. are for tests and tools, or for callers
 * already on a worker.
 */
#ifndef BLOCK_H
#define BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct blk;
struct dm_loop;

#define BLK_SECTOR 512
#define BLK_IOV_MAX 256 /* a 1 MiB IDE DMA command of scattered 4 KiB pages */

enum blk_op {
	BLK_READ = 0,
	BLK_WRITE = 1,
	BLK_FLUSH = 2,
};

struct blk_req {
	enum blk_op op;
	uint64_t offset; /* bytes */
	struct iovec iov[BLK_IOV_MAX];
	int iovcnt;
	/* Runs on the loop thread: err is 0 or -errno. */
	void (*done)(struct blk_req *req, int err);
	void *opaque;
	/* Private to block.c. */
	int err;
	struct blk *blk;
	struct blk_req *next;  /* worker queue */
	struct blk_req *qnext; /* ordered queue (native and sync modes) */
	bool ordered;
	size_t resume; /* bytes a native read already moved before the worker took over */
};

enum blk_aio {
	BLK_AIO_DEFAULT = 0, /* native where the format has it and a loop exists, else threads */
	BLK_AIO_THREADS,
	BLK_AIO_NATIVE,
	BLK_AIO_SYNC,
};

/* How requests ran (tests and benchmarks read it). */
struct blk_stats {
	uint64_t native;   /* completed through Linux AIO */
	uint64_t fallback; /* native mode, run on the worker thread instead */
	uint64_t worker;   /* threads mode */
	uint64_t sync;	   /* sync mode */
	uint64_t bounced;  /* O_DIRECT requests copied through an aligned buffer */
};

struct blk_opts {
	const char *path;
	const char *format; /* "raw" or "qcow2"; NULL means raw */
	bool readonly;
	bool direct;	  /* O_DIRECT (raw) */
	bool snapshot;	  /* writes go to a temporary qcow2 overlay; the image stays untouched */
	unsigned depth;	  /* backing-chain depth (set by qcow2 when opening a backing file) */
	enum blk_aio aio; /* BLK_AIO_DEFAULT: $HVM_BLK_AIO (threads, native, sync) if set */
	unsigned direct_align;	/* O_DIRECT granularity; 0: ask the file (tests force 4096) */
	uint64_t l2_cache_size; /* qcow2: bytes of L2 tables to cache; 0: qcow2.h's rule */
};

/* Largest qcow2 L2 cache (blk_opts.l2_cache_size): QEMU's default cap on Linux. */
#define BLK_L2_CACHE_MAX (32u << 20)

/* "threads", "native", "sync" -> mode; -EINVAL for anything else (NULL: default). */
int blk_aio_parse(const char *s, enum blk_aio *out);

#define BLK_MAX_CHAIN 16

/* One image format; formats are looked up by name (block.c's table). */
struct blk_format {
	const char *name;
	int (*open)(struct blk *b, int fd, const struct blk_opts *o);
	ssize_t (*preadv)(struct blk *b, const struct iovec *iov, int cnt, uint64_t off);
	ssize_t (*pwritev)(struct blk *b, const struct iovec *iov, int cnt, uint64_t off);
	int (*flush)(struct blk *b);
	void (*close)(struct blk *b);
	/*
	 * Native AIO (optional): aio_init() sets it up on the loop; aio_start()
	 * submits one request and later calls blk_aio_complete() on the loop
	 * thread, or returns -EAGAIN to have it run on the worker thread
	 * instead; aio_fini() waits for what is in flight and tears down.
	 */
	int (*aio_init)(struct blk *b, struct dm_loop *loop);
	int (*aio_start)(struct blk *b, struct blk_req *req);
	void (*aio_fini)(struct blk *b);
	/*
	 * Optional, for formats whose requests wait in the kernel: block until
	 * the request in flight finishes and hand it on (blk_aio_complete or
	 * blk_aio_defer); false when none was in flight (blk_drain).
	 */
	bool (*aio_wait)(struct blk *b);
};

/*
 * Open an image.  Errors are logged with the path and what is wrong;
 * returns 0 or -errno (-EINVAL for a malformed image, -ENOTSUP for features
 * we refuse, -EROFS when write access is impossible).
 */
int blk_open(const struct blk_opts *o, struct dm_loop *loop, struct blk **out);
void blk_close(struct blk *b);

uint64_t blk_size(const struct blk *b); /* virtual size in bytes */
bool blk_readonly(const struct blk *b);
const char *blk_format_name(const struct blk *b);
const char *blk_path(const struct blk *b);

/* Asynchronous request; completion on the loop thread.  0 or -errno. */
int blk_submit(struct blk *b, struct blk_req *req);
/*
 * Loop thread: wait until every request submitted to b has finished and its
 * callback has run (callbacks run from inside).  A device calls it before it
 * reuses a request struct, or before the guest may reuse the memory a
 * request moves (a reset, a stopped DMA engine).
 */
void blk_drain(struct blk *b);
/* The mode requests run in ("threads", "native", "sync") and how many ran how. */
const char *blk_aio_name(const struct blk *b);
void blk_get_stats(const struct blk *b, struct blk_stats *st);

/* Synchronous I/O: full transfer or -errno (-EIO on short files past EOF is zero-filled). */
ssize_t blk_preadv(struct blk *b, const struct iovec *iov, int cnt, uint64_t off);
ssize_t blk_pwritev(struct blk *b, const struct iovec *iov, int cnt, uint64_t off);
int blk_pread(struct blk *b, void *buf, size_t len, uint64_t off);
int blk_pwrite(struct blk *b, const void *buf, size_t len, uint64_t off);
int blk_flush(struct blk *b);

/* Format-private state and helpers (for block/ only). */
void *blk_priv(const struct blk *b);
void blk_set_priv(struct blk *b, void *priv);
void blk_set_size(struct blk *b, uint64_t size);
void blk_set_readonly(struct blk *b);
/* Native AIO: the request the format submitted has finished (loop thread). */
void blk_aio_complete(struct blk_req *req, int err);
/* Native AIO: the kernel would block on it after all; run it on the worker thread. */
void blk_aio_defer(struct blk_req *req);
/*
 * Native AIO, reads only: aio_start() already moved the first `bytes` of
 * the request into its iovec before it would have blocked.  When it then
 * returns -EAGAIN (or calls blk_aio_defer()), the worker thread reads only
 * the rest: nothing is read twice.
 */
void blk_aio_partial(struct blk_req *req, size_t bytes);
/*
 * Native AIO: aio_start() already did the whole request on the loop
 * thread; its completion runs from the loop's next turn (never inside
 * blk_submit()).
 */
void blk_aio_complete_later(struct blk_req *req, int err);
struct dm_loop *blk_loop(const struct blk *b);
/* Native AIO: count a request that went through an aligned bounce buffer. */
void blk_count_bounce(struct blk *b);

/* Total bytes of an iovec. */
size_t iov_size(const struct iovec *iov, int cnt);
/* Copy between an iovec (starting at byte `skip`) and a flat buffer. */
size_t iov_to_buf(const struct iovec *iov, int cnt, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, int cnt, size_t skip, const void *buf, size_t len);
/* Zero len bytes of an iovec starting at byte `skip`. */
void iov_zero(const struct iovec *iov, int cnt, size_t skip, size_t len);
/*
 * Bytes [skip, skip+len) of an iovec as at most max entries in out:
 * returns the entry count and stores in *got how many bytes they cover
 * (less than len when max entries were not enough).
 */
int iov_slice(const struct iovec *iov, int cnt, size_t skip, size_t len, struct iovec *out, int max,
	      size_t *got);

#endif /* BLOCK_H */
