// SPDX-License-Identifier: MIT
/*
 * block.c - image open/close by format name, the per-image worker thread
 * that runs requests in order, completion on the dm loop, iovec helpers and
 * the snapshot=1 overlay.
 */
#define _GNU_SOURCE
#include "block.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
};

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

static void blk_complete_cb(void *arg)
{
	struct blk_req *req = arg;

	req->done(req, req->err);
}

static void blk_run_req(struct blk *b, struct blk_req *req)
{
	ssize_t r;

	switch (req->op) {
	case BLK_READ:
		r = blk_preadv(b, req->iov, req->iovcnt, req->offset);
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
	req->err = r < 0 ? (int)r : 0;
	if (!b->loop || loop_post(b->loop, blk_complete_cb, req) < 0)
		req->done(req, req->err);
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

int blk_submit(struct blk *b, struct blk_req *req)
{
	if (req->iovcnt < 0 || req->iovcnt > BLK_IOV_MAX || !req->done)
		return -EINVAL;
	req->blk = b;
	req->next = NULL;
	req->err = 0;
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
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	return b;
}

static void blk_free(struct blk *b)
{
	if (b->fd >= 0)
		close(b->fd);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b->path);
	free(b);
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
	if (!b->readonly)
		b->fmt->flush(b);
	b->fmt->close(b);
	blk_free(b);
}
