/* SPDX-License-Identifier: MIT */
/*
 * qmpc.c - a minimal QMP client for hvmctl: connect to the dm's socket,
 * read the greeting, negotiate capabilities, run one command and return
 * its reply, skipping asynchronous events (QEMU qmp-spec.rst section 2).
 * A timeout bounds every read (libxl uses 10 s per command).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hvmctl.h"
#include "json.h"

#define QMPC_TIMEOUT_MS 10000
#define QMPC_MAX_REPLY (1 << 20)

struct qmpc {
	int fd;
	char *buf;
	size_t len, cap;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read one JSON value; events are skipped unless want_event. */
static int qmpc_read(struct qmpc *c, struct json **out, char **text)
{
	long long deadline = now_ms() + QMPC_TIMEOUT_MS;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	size_t used;
	ssize_t n;
	int r;

	*out = NULL;
	if (text)
		*text = NULL;
	for (;;) {
		r = c->len ? json_parse(c->buf, c->len, out, &used) : -EAGAIN;
		if (!r) {
			if (text) {
				size_t ws = strspn(c->buf, " \t\r\n");

				*text = strndup(c->buf + ws, used > ws ? used - ws : 0);
				if (!*text) {
					json_free(*out);
					return -ENOMEM;
				}
			}
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return 0;
		}
		if (r != -EAGAIN)
			return r;
		if (c->len == c->cap) {
			char *nb;

			if (c->cap >= QMPC_MAX_REPLY)
				return -E2BIG;
			nb = realloc(c->buf, c->cap ? c->cap * 2 : 4096);
			if (!nb)
				return -ENOMEM;
			c->buf = nb;
			c->cap = c->cap ? c->cap * 2 : 4096;
		}
		r = poll(&pfd, 1, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0));
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c->len += (size_t)n;
	}
}

static int qmpc_send(struct qmpc *c, const char *s)
{
	size_t off = 0, n = strlen(s);
	ssize_t w;

	while (off < n) {
		w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)w;
	}
	return 0;
}

/* The next reply (not an event). */
static int qmpc_reply(struct qmpc *c, struct json **out, char **text)
{
	unsigned skipped;
	int r;

	for (skipped = 0; skipped < 1000; skipped++) {
		r = qmpc_read(c, out, text);
		if (r)
			return r;
		if (!json_get(*out, "event"))
			return 0;
		json_free(*out);
		*out = NULL;
		if (text) {
			free(*text);
			*text = NULL;
		}
	}
	return -EPROTO;
}

int qmp_call(const char *sock, const char *json_cmd, char **reply, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qmpc c = { .fd = -1 };
	struct json *msg = NULL;
	char *line;
	int r;

	*reply = NULL;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long", sock);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, sock);
	c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		snprintf(err, errlen, "cannot connect to the QMP socket %s: %s", sock,
			 strerror(-r));
		goto out;
	}
	r = qmpc_read(&c, &msg, NULL);
	if (r || !json_get(msg, "QMP")) {
		snprintf(err, errlen, "no QMP greeting on %s: %s", sock,
			 r ? strerror(-r) : "unexpected message");
		r = r ? r : -EPROTO;
		goto out;
	}
	json_free(msg);
	msg = NULL;
	r = qmpc_send(&c, "{\"execute\": \"qmp_capabilities\"}\r\n");
	if (!r)
		r = qmpc_reply(&c, &msg, NULL);
	if (r || !json_get(msg, "return")) {
		snprintf(err, errlen, "QMP capability negotiation failed: %s",
			 r ? strerror(-r) : "error reply");
		r = r ? r : -EPROTO;
		goto out;
	}
	json_free(msg);
	msg = NULL;
	/* One write: the dm may act (and, for a reset, go away) on the first byte batch. */
	line = malloc(strlen(json_cmd) + 3);
	if (!line) {
		r = -ENOMEM;
		goto out;
	}
	strcpy(line, json_cmd);
	strcat(line, "\r\n");
	r = qmpc_send(&c, line);
	free(line);
	if (!r)
		r = qmpc_reply(&c, &msg, reply);
	if (r) {
		snprintf(err, errlen, "QMP command failed: %s", strerror(-r));
		goto out;
	}
	r = json_get(msg, "return") ? 0 : -EREMOTEIO;
	if (r) {
		const char *desc = json_get_str(json_get(msg, "error"), "desc");

		snprintf(err, errlen, "%s", desc ? desc : "error reply");
	}
out:
	json_free(msg);
	if (c.fd >= 0)
		close(c.fd);
	free(c.buf);
	return r;
}
