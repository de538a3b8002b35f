// SPDX-License-Identifier: MIT
/*
 * hvm_msg.c - setup-protocol packet I/O over AF_UNIX SOCK_SEQPACKET.
 */
#include "hvm_msg.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int hvm_msg_send(int sock, uint32_t type, uint32_t seq, int32_t status, const void *payload,
		 size_t len, const int *fds, unsigned nfds)
{
	struct hvm_msg hdr = { .type = type, .len = (uint32_t)len, .seq = seq, .status = status };
	struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)payload, len } };
	union {
		char buf[CMSG_SPACE(sizeof(int) * HVM_MSG_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	if (len > HVM_MSG_MAX_PAYLOAD || nfds > HVM_MSG_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(hdr) + len ? 0 : -EIO;
}

static unsigned take_fds(struct msghdr *mh, int *fds, unsigned max_fds)
{
	unsigned got = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		unsigned n, i;
		int fd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < max_fds)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	return got;
}

int hvm_msg_recv(int sock, struct hvm_msg *hdr, void *payload, size_t cap, int *fds,
		 unsigned max_fds, unsigned *nfds)
{
	struct iovec iov[2] = { { hdr, sizeof(*hdr) }, { payload, cap } };
	union {
		char buf[CMSG_SPACE(sizeof(int) * HVM_MSG_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {
		.msg_iov = iov,
		.msg_iovlen = cap ? 2 : 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	unsigned got;
	ssize_t n;

	*nfds = 0;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	got = take_fds(&mh, fds, max_fds);
	if ((size_t)n < sizeof(*hdr) || (mh.msg_flags & MSG_TRUNC) ||
	    hdr->len != (size_t)n - sizeof(*hdr)) {
		while (got)
			close(fds[--got]);
		return -EPROTO;
	}
	*nfds = got;
	return 0;
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int hvm_msg_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, err = fill_addr(&sa, path);

	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int hvm_msg_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, err = fill_addr(&sa, path);

	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int hvm_msg_call(int sock, uint32_t type, const void *req, size_t req_len, const int *fds,
		 unsigned nfds, void *reply, size_t reply_cap, size_t *reply_len)
{
	static __thread uint32_t next_seq = 1;
	uint32_t seq = next_seq++;
	struct hvm_msg hdr;
	int dummy_fds[1];
	unsigned got;
	int err;

	err = hvm_msg_send(sock, type, seq, 0, req, req_len, fds, nfds);
	if (err)
		return err;
	err = hvm_msg_recv(sock, &hdr, reply, reply_cap, dummy_fds, 0, &got);
	if (err)
		return err;
	if (hdr.seq != seq || hdr.type != type)
		return -EPROTO;
	if (reply_len)
		*reply_len = hdr.len;
	return hdr.status;
}
