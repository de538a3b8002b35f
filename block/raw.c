// SPDX-License-Identifier: MIT
/*
 * raw.c - raw images: a regular file or a block device, optionally O_DIRECT
 * (cache=none).  Guest requests go through Linux native AIO (io_submit with
 * an eventfd the dm loop watches, io_getevents to reap; linux/aio_abi.h, the
 * interface libaio wraps, called directly so nothing more is linked):
 *
 * - O_DIRECT: requests whose offset and length suit the file's direct-I/O
 *   alignment (statx STATX_DIOALIGN, else 4 KiB) are submitted as they are,
 *   through an aligned bounce buffer when the guest's memory is not aligned.
 *   Requests the device cannot address (a 512-byte sector on a 4 KiB
 *   device) run on the worker thread as a read-modify-write of the aligned
 *   span; block.c's ordered queue keeps them in order with the rest.
 * - buffered (not O_DIRECT): the kernel's AIO does a buffered request inside
 *   io_submit anyway, so the loop thread does it itself with preadv2 or
 *   pwritev2 and RWF_NOWAIT, and the completion runs from the loop's next
 *   turn (blk_aio_complete_later): no iocb, no eventfd, no io_getevents.
 *   What would block (a page-cache miss, a filesystem without non-blocking
 *   buffered writes), fails or completes short runs whole on the worker.
 * - O_DIRECT requests go through io_submit with RWF_NOWAIT, so it never
 *   sleeps on the loop thread; what would block (block allocation in a
 *   sparse file) comes back -EAGAIN and runs on the worker thread, as does
 *   anything that completes short.
 * - FLUSH: IOCB_CMD_FDSYNC after every earlier request has completed (the
 *   ordered queue), so it covers all of them: fdatasync of data and the
 *   metadata needed to read it back.  Kernels without AIO fsync do it on the
 *   worker thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "log.h"
#include "loop.h"

#define RAW_ALIGN_MAX 4096 /* bounce buffers are aligned to this */

struct raw {
	int fd;
	bool direct;
	uint32_t align;	    /* O_DIRECT: offset and length granularity */
	uint32_t mem_align; /* O_DIRECT: buffer address granularity */

	/* Native AIO: one request in flight (block.c's ordered queue). */
	aio_context_t ctx;
	int efd;
	struct loop_ev *ev;
	struct iocb cb;
	struct blk_req *inflight;
	uint8_t *bounce;
	size_t expect; /* bytes the request must move */
};

/* ---- direct-I/O alignment ------------------------------------------------ */

static void raw_probe_align(struct raw *r, const struct stat *st)
{
	r->align = RAW_ALIGN_MAX;
	r->mem_align = RAW_ALIGN_MAX;
	if (S_ISBLK(st->st_mode)) {
		int ssz = 0;

		if (ioctl(r->fd, BLKSSZGET, &ssz) == 0 && ssz >= 512 && ssz <= RAW_ALIGN_MAX &&
		    !(ssz & (ssz - 1)))
			r->align = r->mem_align = (uint32_t)ssz;
		return;
	}
#ifdef STATX_DIOALIGN
	{
		struct statx sx;

		if (statx(r->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
		    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align &&
		    sx.stx_dio_offset_align <= RAW_ALIGN_MAX && sx.stx_dio_mem_align &&
		    sx.stx_dio_mem_align <= RAW_ALIGN_MAX) {
			r->align = sx.stx_dio_offset_align;
			r->mem_align = sx.stx_dio_mem_align;
		}
	}
#endif
}

static bool iov_aligned(const struct raw *r, const struct iovec *iov, int cnt, uint64_t off)
{
	int i;

	if (off % r->align)
		return false;
	for (i = 0; i < cnt; i++)
		if ((uintptr_t)iov[i].iov_base % r->mem_align || iov[i].iov_len % r->align)
			return false;
	return true;
}

/* ---- open ---------------------------------------------------------------- */

static int raw_open(struct blk *b, int fd, const struct blk_opts *o)
{
	struct raw *r = calloc(1, sizeof(*r));
	struct stat st;
	uint64_t size;

	if (!r)
		return -ENOMEM;
	r->efd = -1;
	if (fstat(fd, &st) < 0)
		goto err_errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			goto err_errno;
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		dm_err("block", "%s: not a regular file or block device", blk_path(b));
		free(r);
		return -EINVAL;
	}
	r->fd = fd;
	r->direct = o->direct;
	if (r->direct)
		raw_probe_align(r, &st);
	/* A 4 KiB-sector device, simulated on any file (tests of the RMW path). */
	if (r->direct && o->direct_align >= 512 && o->direct_align <= RAW_ALIGN_MAX &&
	    !(o->direct_align & (o->direct_align - 1)))
		r->align = r->mem_align = o->direct_align;
	blk_set_priv(b, r);
	blk_set_size(b, size);
	return 0;
err_errno:
	free(r);
	dm_err("block", "%s: %s", blk_path(b), strerror(errno));
	return -errno;
}

/* ---- synchronous I/O (worker thread, tools) ------------------------------- */

/* Move len bytes at off, looping over short transfers; reads past EOF give zeros. */
static int raw_full(int fd, uint8_t *buf, size_t len, uint64_t off, bool write)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write ? pwrite(fd, buf + done, len - done, (off_t)(off + done))
				  : pread(fd, buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (write)
				return -EIO;
			memset(buf + done, 0, len - done);
			break;
		}
		done += (size_t)n;
	}
	return 0;
}

/*
 * Buffers and range already suit the file: one preadv/pwritev for the
 * whole vector (a scattered guest DMA buffer is one system call); after a
 * short or interrupted one, the range again one entry at a time, which
 * handles EOF and EINTR (moving the same bytes twice is harmless).
 */
static ssize_t raw_rw_iov(struct raw *r, const struct iovec *iov, int cnt, uint64_t off, bool write)
{
	size_t total = iov_size(iov, cnt);
	uint64_t pos = off;
	ssize_t n;
	int i, err;

	if (cnt > 1 && cnt <= IOV_MAX) {
		n = write ? pwritev(r->fd, iov, cnt, (off_t)off)
			  : preadv(r->fd, iov, cnt, (off_t)off);
		if (n >= 0 && (size_t)n == total)
			return n;
	}
	for (i = 0; i < cnt; i++) {
		err = raw_full(r->fd, iov[i].iov_base, iov[i].iov_len, pos, write);
		if (err)
			return err;
		pos += iov[i].iov_len;
	}
	return (ssize_t)(pos - off);
}

/*
 * O_DIRECT with a range or buffers the file cannot take: move the aligned
 * span around the range through an aligned buffer; a write reads the span
 * first so the bytes around the range stay as they were.
 */
static ssize_t raw_rw_bounce(struct raw *r, const struct iovec *iov, int cnt, uint64_t off,
			     bool write)
{
	size_t total = iov_size(iov, cnt);
	uint64_t a0 = off & ~(uint64_t)(r->align - 1);
	uint64_t a1 = (off + total + r->align - 1) & ~(uint64_t)(r->align - 1);
	size_t len = (size_t)(a1 - a0);
	uint8_t *bounce;
	int err = 0;

	if (posix_memalign((void **)&bounce, RAW_ALIGN_MAX, len ? len : RAW_ALIGN_MAX))
		return -ENOMEM;
	if (!write || a0 != off || a1 != off + total)
		err = raw_full(r->fd, bounce, len, a0, false);
	if (!err && write) {
		iov_to_buf(iov, cnt, 0, bounce + (off - a0), total);
		err = raw_full(r->fd, bounce, len, a0, true);
	} else if (!err) {
		iov_from_buf(iov, cnt, 0, bounce + (off - a0), total);
	}
	free(bounce);
	return err ? err : (ssize_t)total;
}

static ssize_t raw_rw(struct raw *r, const struct iovec *iov, int cnt, uint64_t off, bool write)
{
	if (r->direct && !iov_aligned(r, iov, cnt, off))
		return raw_rw_bounce(r, iov, cnt, off, write);
	return raw_rw_iov(r, iov, cnt, off, write);
}

static ssize_t raw_preadv(struct blk *b, const struct iovec *iov, int cnt, uint64_t off)
{
	return raw_rw(blk_priv(b), iov, cnt, off, false);
}

static ssize_t raw_pwritev(struct blk *b, const struct iovec *iov, int cnt, uint64_t off)
{
	return raw_rw(blk_priv(b), iov, cnt, off, true);
}

static int raw_flush(struct blk *b)
{
	struct raw *r = blk_priv(b);

	return fdatasync(r->fd) < 0 ? -errno : 0;
}

static void raw_close(struct blk *b)
{
	free(blk_priv(b));
}

/* ---- Linux native AIO ---------------------------------------------------- */

static long sys_io_setup(unsigned nr, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, nr, ctx);
}

static long sys_io_destroy(aio_context_t ctx)
{
	return syscall(SYS_io_destroy, ctx);
}

static long sys_io_submit(aio_context_t ctx, long nr, struct iocb **cbs)
{
	return syscall(SYS_io_submit, ctx, nr, cbs);
}

static long sys_io_getevents(aio_context_t ctx, long min, long nr, struct io_event *ev,
			     struct timespec *ts)
{
	return syscall(SYS_io_getevents, ctx, min, nr, ev, ts);
}

static void raw_aio_reap(struct blk *b, const struct io_event *ev)
{
	struct raw *r = blk_priv(b);
	struct blk_req *req = r->inflight;
	int64_t res = ev->res;
	uint8_t *bounce = r->bounce;

	r->inflight = NULL;
	r->bounce = NULL;
	if (!req || (uintptr_t)ev->data != (uintptr_t)req) {
		free(bounce);
		return;
	}
	/* Would block, unsupported here, or short: the worker does it whole. */
	if (res == -EAGAIN || res == -EOPNOTSUPP || res == -EINVAL ||
	    (res >= 0 && (uint64_t)res < r->expect)) {
		free(bounce);
		blk_aio_defer(req);
		return;
	}
	if (res >= 0 && bounce && req->op == BLK_READ)
		iov_from_buf(req->iov, req->iovcnt, 0, bounce, r->expect);
	free(bounce);
	blk_aio_complete(req, res < 0 ? (int)res : 0);
}

static void raw_aio_event(int fd, unsigned events, void *arg)
{
	struct blk *b = arg;
	struct raw *r = blk_priv(b);
	struct timespec zero = { 0, 0 };
	struct io_event ev[4];
	uint64_t cnt;
	long n, i;

	if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return;
	n = sys_io_getevents(r->ctx, 0, 4, ev, &zero);
	for (i = 0; i < n; i++)
		raw_aio_reap(b, &ev[i]);
}

/*
 * blk_drain(): wait for the request with the kernel and reap it here; the
 * eventfd stays signalled, and raw_aio_event() later finds nothing.
 */
static bool raw_aio_wait(struct blk *b)
{
	struct raw *r = blk_priv(b);
	struct io_event ev;
	long n;
	int tries;

	if (!r->inflight)
		return false;
	for (tries = 0; tries < 16; tries++) {
		n = sys_io_getevents(r->ctx, 1, 1, &ev, NULL);
		if (n == 1) {
			raw_aio_reap(b, &ev);
			return true;
		}
		if (n < 0 && errno != EINTR)
			break;
	}
	return false;
}

static int raw_aio_init(struct blk *b, struct dm_loop *loop)
{
	struct raw *r = blk_priv(b);

	r->ctx = 0;
	if (sys_io_setup(4, &r->ctx) < 0)
		return -errno;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0)
		goto fail;
	r->ev = loop_add_fd(loop, r->efd, LOOP_IN, raw_aio_event, b);
	if (!r->ev)
		goto fail;
	return 0;
fail:
	if (r->efd >= 0)
		close(r->efd);
	r->efd = -1;
	sys_io_destroy(r->ctx);
	return -ENOMEM;
}

static void raw_aio_fini(struct blk *b)
{
	struct raw *r = blk_priv(b);
	struct io_event ev;

	/* The request in flight still owns its buffers: wait for it, drop it. */
	if (r->inflight)
		sys_io_getevents(r->ctx, 1, 1, &ev, NULL);
	free(r->bounce);
	r->bounce = NULL;
	r->inflight = NULL;
	loop_del(r->ev);
	close(r->efd);
	r->efd = -1;
	sys_io_destroy(r->ctx);
}

/*
 * Buffered read or write on the loop thread when the page cache can do it
 * without waiting: 0 (completion posted), or -EAGAIN for the worker, which
 * redoes it whole (it moves the same bytes again) and reports any error.
 */
static int raw_rw_nowait(struct blk *b, struct blk_req *req, size_t total)
{
	struct raw *r = blk_priv(b);
	ssize_t n;

	if (req->op == BLK_WRITE)
		n = pwritev2(r->fd, req->iov, req->iovcnt, (off_t)req->offset, RWF_NOWAIT);
	else
		n = preadv2(r->fd, req->iov, req->iovcnt, (off_t)req->offset, RWF_NOWAIT);
	if (n < 0 || (size_t)n != total)
		return -EAGAIN;
	blk_aio_complete_later(req, 0);
	return 0;
}

static int raw_aio_start(struct blk *b, struct blk_req *req)
{
	struct raw *r = blk_priv(b);
	struct iocb *cbp = &r->cb;
	size_t total = iov_size(req->iov, req->iovcnt);
	uint8_t *bounce = NULL;
	long ret;

	memset(cbp, 0, sizeof(*cbp));
	cbp->aio_fildes = (uint32_t)r->fd;
	cbp->aio_data = (uint64_t)(uintptr_t)req;
	cbp->aio_flags = IOCB_FLAG_RESFD;
	cbp->aio_resfd = (uint32_t)r->efd;
	if (req->op == BLK_FLUSH) {
		cbp->aio_lio_opcode = IOCB_CMD_FDSYNC;
	} else if (req->op == BLK_READ || req->op == BLK_WRITE) {
		bool write = req->op == BLK_WRITE;

		if (blk_readonly(b) && write)
			return -EROFS;
		if (req->offset > blk_size(b) || total > blk_size(b) - req->offset)
			return -EINVAL;
		if (!r->direct)
			return raw_rw_nowait(b, req, total);
		cbp->aio_offset = (int64_t)req->offset;
		if (r->direct && !iov_aligned(r, req->iov, req->iovcnt, req->offset)) {
			if (req->offset % r->align || total % r->align)
				return -EAGAIN; /* read-modify-write on the worker */
			if (posix_memalign((void **)&bounce, RAW_ALIGN_MAX, total ? total : 1))
				return -ENOMEM;
			if (write)
				iov_to_buf(req->iov, req->iovcnt, 0, bounce, total);
			blk_count_bounce(b);
			cbp->aio_lio_opcode = write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
			cbp->aio_buf = (uint64_t)(uintptr_t)bounce;
			cbp->aio_nbytes = total;
		} else {
			cbp->aio_lio_opcode = write ? IOCB_CMD_PWRITEV : IOCB_CMD_PREADV;
			cbp->aio_buf = (uint64_t)(uintptr_t)req->iov;
			cbp->aio_nbytes = (uint64_t)req->iovcnt;
		}
		/* Never sleep in io_submit on the loop thread (page cache, block allocation). */
		cbp->aio_rw_flags = RWF_NOWAIT;
	} else {
		return -EINVAL;
	}
	r->inflight = req;
	r->bounce = bounce;
	r->expect = req->op == BLK_FLUSH ? 0 : total;
	ret = sys_io_submit(r->ctx, 1, &cbp);
	if (ret == 1)
		return 0;
	ret = ret < 0 ? -errno : -EIO;
	r->inflight = NULL;
	r->bounce = NULL;
	free(bounce);
	/* Not possible without blocking here (or not supported): the worker does it. */
	if (ret == -EAGAIN || ret == -EOPNOTSUPP || ret == -EINVAL)
		return -EAGAIN;
	return (int)ret;
}

const struct blk_format blk_raw_format = {
	.name = "raw",
	.open = raw_open,
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.flush = raw_flush,
	.close = raw_close,
	.aio_init = raw_aio_init,
	.aio_start = raw_aio_start,
	.aio_fini = raw_aio_fini,
	.aio_wait = raw_aio_wait,
};
