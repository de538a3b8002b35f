/* SPDX-License-Identifier: MIT */
/*
 * block.h - disk images behind one interface: raw and qcow2.
 *
 * The format always comes from the configuration, never from probing the
 * file, so a raw image whose first bytes look like a qcow2 header is still
 * read as raw.  Guest I/O is asynchronous: blk_submit() queues a request for
 * a worker thread and its completion callback runs on the dm loop thread
 * (through loop_post), so the loop never blocks on disk.  Requests on one
 * image complete in submission order.  The synchronous blk_preadv() etc. are
 * for tests and tools, or for callers already on a worker.
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
#define BLK_IOV_MAX 64

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
	struct blk_req *next;
};

struct blk_opts {
	const char *path;
	const char *format; /* "raw" or "qcow2"; NULL means raw */
	bool readonly;
	bool direct;	/* O_DIRECT (raw) */
	bool snapshot;	/* writes go to a temporary qcow2 overlay; the image stays untouched */
	unsigned depth; /* backing-chain depth (set by qcow2 when opening a backing file) */
};

#define BLK_MAX_CHAIN 16

/* One image format; formats are looked up by name (block.c's table). */
struct blk_format {
	const char *name;
	int (*open)(struct blk *b, int fd, const struct blk_opts *o);
	ssize_t (*preadv)(struct blk *b, const struct iovec *iov, int cnt, uint64_t off);
	ssize_t (*pwritev)(struct blk *b, const struct iovec *iov, int cnt, uint64_t off);
	int (*flush)(struct blk *b);
	void (*close)(struct blk *b);
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

/* Total bytes of an iovec. */
size_t iov_size(const struct iovec *iov, int cnt);
/* Copy between an iovec (starting at byte `skip`) and a flat buffer. */
size_t iov_to_buf(const struct iovec *iov, int cnt, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, int cnt, size_t skip, const void *buf, size_t len);
/* Zero len bytes of an iovec starting at byte `skip`. */
void iov_zero(const struct iovec *iov, int cnt, size_t skip, size_t len);

#endif /* BLOCK_H */
