// SPDX-License-Identifier: MIT
/*
 * raw.c - raw images: a regular file or a block device, optionally O_DIRECT
 * (then buffers bounce through an aligned copy when the guest's are not).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <unistd.h>

#include "block.h"
#include "log.h"

#define RAW_ALIGN 4096

struct raw {
	int fd;
	bool direct;
};

static int raw_open(struct blk *b, int fd, const struct blk_opts *o)
{
	struct raw *r = calloc(1, sizeof(*r));
	struct stat st;
	uint64_t size;

	if (!r)
		return -ENOMEM;
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
	blk_set_priv(b, r);
	blk_set_size(b, size);
	return 0;
err_errno:
	free(r);
	dm_err("block", "%s: %s", blk_path(b), strerror(errno));
	return -errno;
}

static bool iov_aligned(const struct iovec *iov, int cnt, uint64_t off)
{
	int i;

	if (off % RAW_ALIGN)
		return false;
	for (i = 0; i < cnt; i++)
		if ((uintptr_t)iov[i].iov_base % RAW_ALIGN || iov[i].iov_len % RAW_ALIGN)
			return false;
	return true;
}

/* Loop until everything moved: preadv/pwritev may return short counts. */
static ssize_t raw_rw(struct raw *r, const struct iovec *iov, int cnt, uint64_t off, bool write)
{
	size_t total = iov_size(iov, cnt), done = 0;
	uint8_t *bounce = NULL;

	if (r->direct && !iov_aligned(iov, cnt, off)) {
		/* Guest buffers are rarely 4 KiB aligned: bounce through one that is. */
		size_t len = (total + RAW_ALIGN - 1) & ~(size_t)(RAW_ALIGN - 1);

		if (off % RAW_ALIGN || posix_memalign((void **)&bounce, RAW_ALIGN, len))
			return -EINVAL;
		if (write)
			iov_to_buf(iov, cnt, 0, bounce, total);
	}
	while (done < total) {
		ssize_t n;

		if (bounce)
			n = write ? pwrite(r->fd, bounce + done, total - done, (off_t)(off + done))
				  : pread(r->fd, bounce + done, total - done, (off_t)(off + done));
		else {
			struct iovec one;
			size_t skip = done;
			int i = 0;

			while (skip >= iov[i].iov_len)
				skip -= iov[i++].iov_len;
			one.iov_base = (uint8_t *)iov[i].iov_base + skip;
			one.iov_len = iov[i].iov_len - skip;
			n = write ? pwritev(r->fd, &one, 1, (off_t)(off + done))
				  : preadv(r->fd, &one, 1, (off_t)(off + done));
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(bounce);
			return -errno;
		}
		if (n == 0) {
			if (write) {
				free(bounce);
				return -EIO;
			}
			/* Past the end of a file that shrank: reads as zeros. */
			if (bounce)
				memset(bounce + done, 0, total - done);
			else
				iov_zero(iov, cnt, done, total - done);
			break;
		}
		done += (size_t)n;
	}
	if (bounce && !write)
		iov_from_buf(iov, cnt, 0, bounce, total);
	free(bounce);
	return (ssize_t)total;
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

const struct blk_format blk_raw_format = {
	.name = "raw",
	.open = raw_open,
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.flush = raw_flush,
	.close = raw_close,
};
