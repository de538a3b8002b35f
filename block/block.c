// SPDX-License-Identifier: MIT
/*
 * block.c - image open/close by format name, the per-image worker thread
 * that runs requests in order, the ordered queue of the native-AIO and sync
 * modes (block.h), completion on the dm loop, iovec helpers and the
 * snapshot=1 overlay.
 *
 * Lifetime: completions posted to the loop hold a reference on the image, so
 * blk_close() can release the file at once (an ejected CD is closed while a
 * read may still be on its way back) and the struct goes when the last
 * posted completion has run.  Requests still queued when an image is closed
 * are dropped; their callbacks never run.
 *
 * A finished request waits on the image's done list for its callback, and a
 * loop_post() runs the list; blk_drain() can run it too, so a device can wait
 * for its requests in the middle of handling a guest access (a reset).
 */
#define _GNU_SOURCE
#include "block.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "qcow2.h"

extern const struct blk_format blk_raw_format;
extern const struct blk_format blk_qcow2_format;

static const struct blk_format *const blk_formats[] = { &blk_raw_format, &blk_qcow2_format };

struct blk {
	const struct blk_format *fmt;
	void *priv;
	char *path;
	uint64_t size;
	bool readonly;
	int fd;
	struct dm_loop *loop;
	pthread_t worker;
	bool worker_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct blk_req *head, **tail;
	bool stopping;
	/* Finished, callback not yet run (under lock); blk_drain() waits on done_cond. */
	struct blk_req *done_head, **done_tail;
	pthread_cond_t done_cond;
	int outstanding; /* submitted, callback not yet run (atomic) */

	enum blk_aio aio; /* resolved: never BLK_AIO_DEFAULT */
	/* Ordered queue (loop thread only): one request in flight at a time. */
	struct blk_req *q_head, **q_tail;
	bool q_busy;
	bool aio_ready; /* fmt->aio_init succeeded */
	bool closed;
	int refs; /* the open image plus posted completions (atomic) */
	struct blk_stats stats;
};

static void blk_unref(struct blk *b);

/* blk_drain(): rounds of reaping or waiting, each wait at most 100 ms (a minute in all). */
#define BLK_DRAIN_ROUNDS 600
#define BLK_DRAIN_WAIT_NS 100000000L

static void stat_inc(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

size_t iov_size(const struct iovec *iov, int cnt)
{
	size_t n = 0;
	int i;

	for (i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

static size_t iov_copy(const struct iovec *iov, int cnt, size_t skip, void *buf, size_t len,
		       bool to_buf)
{
	size_t done = 0;
	int i;

	for (i = 0; i < cnt && done < len; i++) {
		size_t l = iov[i].iov_len, n;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		n = l - skip < len - done ? l - skip : len - done;
		if (to_buf)
			memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + skip, n);
		else
			memcpy((uint8_t *)iov[i].iov_base + skip, (const uint8_t *)buf + done, n);
		done += n;
		skip = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, int cnt, size_t skip, void *buf, size_t len)
{
	return iov_copy(iov, cnt, skip, buf, len, true);
}

size_t iov_from_buf(const struct iovec *iov, int cnt, size_t skip, const void *buf, size_t len)
{
	return iov_copy(iov, cnt, skip, (void *)buf, len, false);
}

void iov_zero(const struct iovec *iov, int cnt, size_t skip, size_t len)
{
	static const uint8_t zero[4096];

	while (len) {
		size_t n = len < sizeof(zero) ? len : sizeof(zero);

		iov_from_buf(iov, cnt, skip, zero, n);
		skip += n;
		len -= n;
	}
}

int iov_slice(const struct iovec *iov, int cnt, size_t skip, size_t len, struct iovec *out, int max,
	      size_t *got)
{
	int i, n = 0;

	*got = 0;
	for (i = 0; i < cnt && n < max && *got < len; i++) {
		size_t l = iov[i].iov_len, take;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		take = l - skip < len - *got ? l - skip : len - *got;
		out[n++] = (struct iovec){ (uint8_t *)iov[i].iov_base + skip, take };
		*got += take;
		skip = 0;
	}
	return n;
}

void *blk_priv(const struct blk *b)
{
	return b->priv;
}

void blk_set_priv(struct blk *b, void *priv)
{
	b->priv = priv;
}

void blk_set_size(struct blk *b, uint64_t size)
{
	b->size = size;
}

void blk_set_readonly(struct blk *b)
{
	b->readonly = true;
}

uint64_t blk_size(const struct blk *b)
{
	return b->size;
}

bool blk_readonly(const struct blk *b)
{
	return b->readonly;
}

const char *blk_format_name(const struct blk *b)
{
	return b->fmt->name;
}

const char *blk_path(const struct blk *b)
{
	return b->path;
}

static bool blk_range_ok(const struct blk *b, size_t len, uint64_t off)
{
	return off <= b->size && len <= b->size - off;
}

ssize_t blk_preadv(struct blk *b, const struct iovec *iov, int cnt, uint64_t off)
{
	if (!blk_range_ok(b, iov_size(iov, cnt), off))
		return -EINVAL;
	return b->fmt->preadv(b, iov, cnt, off);
}

ssize_t blk_pwritev(struct blk *b, const struct iovec *iov, int cnt, uint64_t off)
{
	if (b->readonly)
		return -EROFS;
	if (!blk_range_ok(b, iov_size(iov, cnt), off))
		return -EINVAL;
	return b->fmt->pwritev(b, iov, cnt, off);
}

int blk_pread(struct blk *b, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { buf, len };
	ssize_t r = blk_preadv(b, &iov, 1, off);

	return r < 0 ? (int)r : 0;
}

int blk_pwrite(struct blk *b, const void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { (void *)buf, len };
	ssize_t r = blk_pwritev(b, &iov, 1, off);

	return r < 0 ? (int)r : 0;
}

int blk_flush(struct blk *b)
{
	if (b->readonly)
		return 0;
	return b->fmt->flush(b);
}

int blk_aio_parse(const char *s, enum blk_aio *out)
{
	if (!s)
		*out = BLK_AIO_DEFAULT;
	else if (!strcmp(s, "threads"))
		*out = BLK_AIO_THREADS;
	else if (!strcmp(s, "native"))
		*out = BLK_AIO_NATIVE;
	else if (!strcmp(s, "sync"))
		*out = BLK_AIO_SYNC;
	else
		return -EINVAL;
	return 0;
}

const char *blk_aio_name(const struct blk *b)
{
	static const char *const names[] = { "default", "threads", "native", "sync" };

	return names[b->aio];
}

void blk_get_stats(const struct blk *b, struct blk_stats *st)
{
	st->native = __atomic_load_n(&b->stats.native, __ATOMIC_RELAXED);
	st->fallback = __atomic_load_n(&b->stats.fallback, __ATOMIC_RELAXED);
	st->worker = __atomic_load_n(&b->stats.worker, __ATOMIC_RELAXED);
	st->sync = __atomic_load_n(&b->stats.sync, __ATOMIC_RELAXED);
	st->bounced = __atomic_load_n(&b->stats.bounced, __ATOMIC_RELAXED);
}

void blk_count_bounce(struct blk *b)
{
	stat_inc(&b->stats.bounced);
}

/* A read the loop thread began (blk_aio_partial): the bytes after req->resume. */
static ssize_t blk_read_rest(struct blk *b, struct blk_req *req)
{
	struct iovec v[BLK_IOV_MAX];
	size_t total = iov_size(req->iov, req->iovcnt), got;
	int n;

	if (req->resume >= total)
		return 0;
	n = iov_slice(req->iov, req->iovcnt, req->resume, total - req->resume, v, BLK_IOV_MAX,
		      &got);
	return blk_preadv(b, v, n, req->offset + req->resume);
}

static int blk_run_io(struct blk *b, struct blk_req *req)
{
	ssize_t r;

	switch (req->op) {
	case BLK_READ:
		r = req->resume ? blk_read_rest(b, req)
				: blk_preadv(b, req->iov, req->iovcnt, req->offset);
		break;
	case BLK_WRITE:
		r = blk_pwritev(b, req->iov, req->iovcnt, req->offset);
		break;
	case BLK_FLUSH:
		r = blk_flush(b);
		break;
	default:
		r = -EINVAL;
	}
	return r < 0 ? (int)r : 0;
}

static void blk_q_start(struct blk *b);

/* Every callback runs through here: the request leaves the image's count. */
static void blk_finish(struct blk *b, struct blk_req *req)
{
	__atomic_fetch_sub(&b->outstanding, 1, __ATOMIC_ACQ_REL);
	req->done(req, req->err);
}

/* The head of the ordered queue has finished (loop thread). */
static void blk_q_done(struct blk *b, struct blk_req *req)
{
	if (!b->closed && b->q_head == req) {
		b->q_head = req->qnext;
		if (!b->q_head)
			b->q_tail = &b->q_head;
		b->q_busy = false;
	}
	blk_finish(b, req);
	if (!b->closed)
		blk_q_start(b);
}

/* Run the callbacks of the done list in order; returns how many ran. */
static unsigned blk_run_done(struct blk *b)
{
	unsigned n = 0;

	for (;;) {
		struct blk_req *req;

		pthread_mutex_lock(&b->lock);
		req = b->done_head;
		if (req) {
			b->done_head = req->next;
			if (!b->done_head)
				b->done_tail = &b->done_head;
		}
		pthread_mutex_unlock(&b->lock);
		if (!req)
			return n;
		if (req->ordered)
			blk_q_done(b, req);
		else
			blk_finish(b, req);
		n++;
	}
}

static void blk_complete_cb(void *arg)
{
	struct blk *b = arg;

	blk_run_done(b);
	blk_unref(b);
}

/* Completion on the loop thread: posted, or direct when there is no loop. */
static void blk_post_done(struct blk *b, struct blk_req *req)
{
	__atomic_fetch_add(&b->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_lock(&b->lock);
	req->next = NULL;
	*b->done_tail = req;
	b->done_tail = &req->next;
	pthread_cond_broadcast(&b->done_cond);
	pthread_mutex_unlock(&b->lock);
	if (!b->loop || loop_post(b->loop, blk_complete_cb, b) < 0)
		blk_complete_cb(b);
}

void blk_aio_complete(struct blk_req *req, int err)
{
	struct blk *b = req->blk;

	req->err = err;
	stat_inc(&b->stats.native);
	blk_q_done(b, req);
}

void blk_aio_complete_later(struct blk_req *req, int err)
{
	struct blk *b = req->blk;

	req->err = err;
	stat_inc(&b->stats.native);
	blk_post_done(b, req);
}

static int blk_worker_queue(struct blk *b, struct blk_req *req);

void blk_aio_partial(struct blk_req *req, size_t bytes)
{
	if (req->op == BLK_READ)
		req->resume = bytes;
}

void blk_aio_defer(struct blk_req *req)
{
	struct blk *b = req->blk;
	int err = blk_worker_queue(b, req);

	if (err) {
		req->err = err;
		blk_post_done(b, req);
	}
}

struct dm_loop *blk_loop(const struct blk *b)
{
	return b->loop;
}

static void blk_run_req(struct blk *b, struct blk_req *req)
{
	req->err = blk_run_io(b, req);
	stat_inc(req->ordered ? &b->stats.fallback : &b->stats.worker);
	blk_post_done(b, req);
}

static void *blk_worker(void *arg)
{
	struct blk *b = arg;
	struct blk_req *req;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		while (!b->head && !b->stopping)
			pthread_cond_wait(&b->cond, &b->lock);
		if (!b->head)
			break;
		req = b->head;
		b->head = req->next;
		if (!b->head)
			b->tail = &b->head;
		pthread_mutex_unlock(&b->lock);
		blk_run_req(b, req);
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

static int blk_worker_queue(struct blk *b, struct blk_req *req)
{
	req->next = NULL;
	pthread_mutex_lock(&b->lock);
	if (!b->worker_started) {
		if (pthread_create(&b->worker, NULL, blk_worker, b)) {
			pthread_mutex_unlock(&b->lock);
			return -EAGAIN;
		}
		b->worker_started = true;
	}
	*b->tail = req;
	b->tail = &req->next;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/* Start the head of the ordered queue unless one is in flight (loop thread). */
static void blk_q_start(struct blk *b)
{
	struct blk_req *req = b->q_head;
	int err;

	if (!req || b->q_busy)
		return;
	b->q_busy = true;
	if (b->aio == BLK_AIO_SYNC) {
		/* Completes before blk_submit() returns: callers submit last. */
		req->err = blk_run_io(b, req);
		stat_inc(&b->stats.sync);
		blk_q_done(b, req);
		return;
	}
	err = b->fmt->aio_start(b, req);
	if (err == -EAGAIN)
		err = blk_worker_queue(b, req);
	if (err) {
		req->err = err;
		blk_post_done(b, req);
	}
}

int blk_submit(struct blk *b, struct blk_req *req)
{
	int err;

	if (req->iovcnt < 0 || req->iovcnt > BLK_IOV_MAX || !req->done)
		return -EINVAL;
	req->blk = b;
	req->err = 0;
	req->resume = 0;
	req->ordered = b->aio != BLK_AIO_THREADS;
	__atomic_fetch_add(&b->outstanding, 1, __ATOMIC_ACQ_REL);
	if (!req->ordered) {
		err = blk_worker_queue(b, req);
		if (err)
			__atomic_fetch_sub(&b->outstanding, 1, __ATOMIC_ACQ_REL);
		return err;
	}
	req->qnext = NULL;
	*b->q_tail = req;
	b->q_tail = &req->qnext;
	blk_q_start(b);
	return 0;
}

/*
 * Sleep until a request finishes on the worker thread (bounded: a format
 * whose wait hook failed is looked at again).
 */
static void blk_wait_done(struct blk *b)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += BLK_DRAIN_WAIT_NS;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->lock);
	while (!b->done_head && __atomic_load_n(&b->outstanding, __ATOMIC_ACQUIRE))
		if (pthread_cond_timedwait(&b->done_cond, &b->lock, &until))
			break;
	pthread_mutex_unlock(&b->lock);
}

void blk_drain(struct blk *b)
{
	unsigned i;

	for (i = 0; i < BLK_DRAIN_ROUNDS && !b->closed; i++) {
		if (!__atomic_load_n(&b->outstanding, __ATOMIC_ACQUIRE))
			return;
		if (blk_run_done(b))
			continue;
		/* In flight with the kernel: reap it (it completes, or moves to the worker). */
		if (b->aio_ready && b->fmt->aio_wait && b->fmt->aio_wait(b))
			continue;
		blk_wait_done(b);
	}
	if (!b->closed && __atomic_load_n(&b->outstanding, __ATOMIC_ACQUIRE))
		dm_warn("block", "%s: requests still in flight after waiting for them", b->path);
}

static const struct blk_format *blk_format_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(blk_formats) / sizeof(blk_formats[0]); i++)
		if (!strcmp(blk_formats[i]->name, name))
			return blk_formats[i];
	return NULL;
}

static struct blk *blk_alloc(const char *path, const struct blk_format *fmt, struct dm_loop *loop)
{
	struct blk *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->path = strdup(path);
	if (!b->path) {
		free(b);
		return NULL;
	}
	b->fmt = fmt;
	b->loop = loop;
	b->fd = -1;
	b->tail = &b->head;
	b->q_tail = &b->q_head;
	b->done_tail = &b->done_head;
	b->refs = 1;
	b->aio = BLK_AIO_THREADS;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	pthread_cond_init(&b->done_cond, NULL);
	return b;
}

static void blk_free(struct blk *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	blk_unref(b);
}

/* The struct itself goes with the last reference (posted completions hold one). */
static void blk_unref(struct blk *b)
{
	if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	pthread_cond_destroy(&b->done_cond);
	free(b->path);
	free(b);
}

/* Pick the request mode: native needs the format's AIO and a loop to complete on. */
static void blk_setup_aio(struct blk *b, const struct blk_opts *o, struct dm_loop *loop)
{
	enum blk_aio want = o->aio;
	int err;

	if (!loop) {
		b->aio = BLK_AIO_THREADS;
		return;
	}
	/* The qtest harness asks for deterministic completions this way. */
	if (want == BLK_AIO_DEFAULT && getenv("HVM_BLK_AIO") &&
	    blk_aio_parse(getenv("HVM_BLK_AIO"), &want))
		want = BLK_AIO_DEFAULT;
	if (want == BLK_AIO_DEFAULT)
		want = b->fmt->aio_start ? BLK_AIO_NATIVE : BLK_AIO_THREADS;
	if (want == BLK_AIO_NATIVE && !b->fmt->aio_start) {
		dm_warn("block", "%s: no native AIO for %s images; using worker threads", o->path,
			b->fmt->name);
		want = BLK_AIO_THREADS;
	}
	if (want == BLK_AIO_NATIVE) {
		err = b->fmt->aio_init(b, loop);
		if (err) {
			dm_warn("block", "%s: Linux AIO unavailable (%s); using worker threads",
				o->path, strerror(-err));
			want = BLK_AIO_THREADS;
		} else {
			b->aio_ready = true;
		}
	}
	b->aio = want;
}

/* snapshot=1: an unlinked temporary qcow2 overlay whose backing file is the image. */
static int blk_open_snapshot(const struct blk_opts *o, struct dm_loop *loop, struct blk **out)
{
	const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct blk_opts base = *o, ov = { 0 };
	char path[4096];
	struct blk *orig;
	int fd, err;

	base.snapshot = false;
	base.readonly = true;
	err = blk_open(&base, NULL, &orig);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/hvm-snapshot-XXXXXX", tmpdir);
	fd = mkstemp(path);
	if (fd < 0) {
		err = -errno;
		blk_close(orig);
		dm_err("block", "%s: cannot create snapshot overlay in %s: %s", o->path, tmpdir,
		       strerror(-err));
		return err;
	}
	err = qcow2_create_fd(fd, blk_size(orig), 16, o->path, blk_format_name(orig));
	blk_close(orig);
	if (!err) {
		ov.path = path;
		ov.format = "qcow2";
		err = blk_open(&ov, loop, out);
	}
	unlink(path);
	close(fd);
	if (!err)
		dm_info("block", "%s: snapshot mode, writes go to a temporary overlay", o->path);
	return err;
}

int blk_open(const struct blk_opts *o, struct dm_loop *loop, struct blk **out)
{
	const char *fmt_name = o->format ? o->format : "raw";
	const struct blk_format *fmt = blk_format_find(fmt_name);
	int flags, err;
	struct blk *b;

	if (!fmt) {
		dm_err("block", "%s: unknown image format '%s' (use raw or qcow2)", o->path,
		       fmt_name);
		return -EINVAL;
	}
	if (o->snapshot)
		return blk_open_snapshot(o, loop, out);
	b = blk_alloc(o->path, fmt, loop);
	if (!b)
		return -ENOMEM;
	b->readonly = o->readonly;
	flags = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (o->direct ? O_DIRECT : 0);
	b->fd = open(o->path, flags);
	if (b->fd < 0 && !o->readonly && (errno == EROFS || errno == EACCES)) {
		dm_err("block", "%s: cannot open for writing (%s); mark the disk read-only",
		       o->path, strerror(errno));
	}
	if (b->fd < 0) {
		err = -errno;
		if (o->readonly || (err != -EROFS && err != -EACCES))
			dm_err("block", "%s: %s", o->path, strerror(-err));
		blk_free(b);
		return err;
	}
	err = fmt->open(b, b->fd, o);
	if (err) {
		blk_free(b);
		return err;
	}
	blk_setup_aio(b, o, loop);
	*out = b;
	return 0;
}

void blk_close(struct blk *b)
{
	if (!b)
		return;
	if (b->worker_started) {
		pthread_mutex_lock(&b->lock);
		b->stopping = true;
		pthread_cond_signal(&b->cond);
		pthread_mutex_unlock(&b->lock);
		pthread_join(b->worker, NULL);
	}
	if (b->aio_ready)
		b->fmt->aio_fini(b); /* waits for the request in flight */
	b->closed = true;
	b->q_head = NULL;
	if (!b->readonly)
		b->fmt->flush(b);
	b->fmt->close(b);
	blk_free(b);
}
