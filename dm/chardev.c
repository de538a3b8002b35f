// SPDX-License-Identifier: MIT
/*
 * chardev.c - character backends (null, stdio, pty, file, unix and tcp
 * sockets, host ttys) driven by the dm event loop.  See chardev.h for the
 * spec syntax and the flow-control contract.
 *
 * Not implemented: telnet option negotiation, TLS, websockets, multiplexing
 * one backend between several frontends (mon:), the graphical "vc" console.
 *
 * Every fd is non-blocking.  Host-side retries (pty attach polling, client
 * reconnect) run on a CLOCK_MONOTONIC timerfd, not on the virtual clock:
 * they are host events and must happen even while a stepped clock stands.
 */
#define _GNU_SOURCE /* accept4, SOCK_NONBLOCK */
#include "chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define CH_MOD "chardev"
#define CH_READ_CHUNK 4096
#define CH_RETRY_NS (1 * 1000000000ll) /* pty attach poll, client reconnect */

enum ch_kind {
	CH_NULL,
	CH_STDIO,
	CH_PTY,
	CH_FILE,
	CH_UNIX,
	CH_TCP,
	CH_TTY,
};

static const char *const ch_kind_names[] = {
	[CH_NULL] = "null", [CH_STDIO] = "stdio", [CH_PTY] = "pty", [CH_FILE] = "file",
	[CH_UNIX] = "unix", [CH_TCP] = "tcp",	  [CH_TTY] = "tty",
};

struct chardev {
	enum ch_kind kind;
	char *spec;
	struct dm_loop *loop;

	/* Data fds: equal for sockets, ptys and ttys; 0/1 for stdio. */
	int in_fd, out_fd;
	struct loop_ev *in_ev, *out_ev; /* in_ev also serves out_fd when shared */
	bool connected;
	bool want_read; /* frontend had room the last time we asked */
	bool eof_in;	/* input side finished (stdin at EOF) */

	/* Servers: the listening socket; clients: the address to retry. */
	bool server;
	int listen_fd;
	struct loop_ev *listen_ev;
	char *path;	   /* unix socket path */
	char *host, *port; /* tcp */
	char listen_addr[NI_MAXHOST + NI_MAXSERV + 2];
	bool connecting; /* non-blocking connect in flight */

	int timer_fd; /* retry timer, -1 until needed */
	struct loop_ev *timer_ev;

	/* Output ring. */
	uint8_t *outbuf;
	size_t out_head, out_len;
	bool write_blocked; /* a write was short: owe the frontend write_ready() */

	const struct chardev_fe_ops *fe;
	void *fe_opaque;

	char pty_path[64];
	struct termios saved_tio;
	bool tio_saved;
	int saved_fl_in, saved_fl_out;
};

static void ch_update_events(struct chardev *c);
static void ch_disconnect(struct chardev *c);

/* ---- small helpers ---------------------------------------------------- */

static int set_nonblock(int fd, int *saved)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	if (saved)
		*saved = fl;
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static void ch_set_raw(int fd, struct termios *saved, bool *was_saved, bool keep_isig)
{
	struct termios t;

	if (!isatty(fd) || tcgetattr(fd, &t) < 0)
		return;
	if (saved) {
		*saved = t;
		*was_saved = true;
	}
	cfmakeraw(&t);
	/* stdio keeps output post-processing and Ctrl-C, as QEMU's signal=on does. */
	if (keep_isig) {
		t.c_oflag |= OPOST;
		t.c_lflag |= ISIG;
	}
	tcsetattr(fd, TCSANOW, &t);
}

static bool ch_in_shares_out(const struct chardev *c)
{
	return c->in_fd >= 0 && c->in_fd == c->out_fd;
}

/* Sockets use send(MSG_NOSIGNAL): a vanished peer must not raise SIGPIPE. */
static ssize_t ch_sys_write(const struct chardev *c, const void *buf, size_t len)
{
	if (c->kind == CH_UNIX || c->kind == CH_TCP)
		return send(c->out_fd, buf, len, MSG_NOSIGNAL);
	return write(c->out_fd, buf, len);
}

static size_t ch_room(const struct chardev *c)
{
	return CHARDEV_OUTBUF_SIZE - c->out_len;
}

/* ---- retry timer ------------------------------------------------------ */

static void ch_timer_cb(int fd, unsigned events, void *arg);

static void ch_timer_arm(struct chardev *c, bool on)
{
	struct itimerspec its = { 0 };

	if (!c->loop)
		return;
	if (c->timer_fd < 0) {
		if (!on)
			return;
		c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (c->timer_fd < 0)
			return;
		c->timer_ev = loop_add_fd(c->loop, c->timer_fd, LOOP_IN, ch_timer_cb, c);
	}
	if (on) {
		its.it_value.tv_sec = CH_RETRY_NS / 1000000000ll;
		its.it_interval = its.it_value;
	}
	timerfd_settime(c->timer_fd, 0, &its, NULL);
}

/* ---- connection state ------------------------------------------------- */

static void ch_set_connected(struct chardev *c, bool on)
{
	if (c->connected == on)
		return;
	c->connected = on;
	c->want_read = true;
	if (!on) {
		/* Nobody will read it: drop what is queued and unblock the frontend. */
		c->out_head = 0;
		c->out_len = 0;
	}
	dm_info(CH_MOD, "%s: %s", c->spec, on ? "connected" : "disconnected");
	if (c->fe && c->fe->event)
		c->fe->event(c->fe_opaque, on);
	if (!on && c->write_blocked && c->fe && c->fe->write_ready) {
		c->write_blocked = false;
		c->fe->write_ready(c->fe_opaque);
	}
}

static void ch_drain(struct chardev *c)
{
	unsigned guard;

	for (guard = 0; c->out_len && guard < 4; guard++) {
		size_t chunk = CHARDEV_OUTBUF_SIZE - c->out_head;
		ssize_t n;

		if (chunk > c->out_len)
			chunk = c->out_len;
		n = ch_sys_write(c, c->outbuf + c->out_head, chunk);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			dm_warn(CH_MOD, "%s: write: %s", c->spec, strerror(errno));
			ch_disconnect(c);
			return;
		}
		c->out_head = (c->out_head + (size_t)n) % CHARDEV_OUTBUF_SIZE;
		c->out_len -= (size_t)n;
		if ((size_t)n < chunk)
			break;
	}
	if (!c->out_len)
		c->out_head = 0;
	if (c->write_blocked && ch_room(c) && c->fe && c->fe->write_ready) {
		c->write_blocked = false;
		c->fe->write_ready(c->fe_opaque);
	}
}

/* EOF or hangup on the input side. */
static void ch_input_ended(struct chardev *c)
{
	if (c->kind == CH_STDIO) {
		/* stdin closed: stop polling it (EOF stays readable); output still works. */
		c->eof_in = true;
		if (c->in_ev)
			loop_del(c->in_ev);
		c->in_ev = NULL;
		return;
	}
	ch_disconnect(c);
}

static void ch_read_input(struct chardev *c)
{
	uint8_t buf[CH_READ_CHUNK];
	size_t room;
	ssize_t n;

	if (!c->fe || !c->fe->can_read || !c->fe->read)
		return;
	room = c->fe->can_read(c->fe_opaque);
	if (!room) {
		/* Backpressure: stop polling until chardev_accept_input(). */
		c->want_read = false;
		return;
	}
	if (room > sizeof(buf))
		room = sizeof(buf);
	n = read(c->in_fd, buf, room);
	if (n > 0) {
		c->fe->read(c->fe_opaque, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	ch_input_ended(c);
}

static void ch_io_cb(int fd, unsigned events, void *arg)
{
	struct chardev *c = arg;

	(void)fd;
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->in_fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			dm_dbg(CH_MOD, "%s: connect: %s", c->spec, strerror(err ? err : errno));
			ch_disconnect(c);
			return;
		}
		c->connecting = false;
		ch_set_connected(c, true);
		ch_update_events(c);
		return;
	}
	if ((events & LOOP_IN) && fd == c->in_fd && !c->eof_in)
		ch_read_input(c);
	if (!c->connected)
		return;
	if ((events & (LOOP_HUP | LOOP_ERR)) && !(events & LOOP_IN) && fd == c->in_fd) {
		ch_input_ended(c);
		if (!c->connected)
			return;
	}
	if ((events & LOOP_OUT) && fd == c->out_fd)
		ch_drain(c);
	if (c->connected)
		ch_update_events(c);
}

static void ch_update_events(struct chardev *c)
{
	unsigned in_mask = 0, out_mask = 0;

	if (!c->loop)
		return;
	if (c->connecting) {
		if (c->in_ev)
			loop_set_events(c->in_ev, LOOP_OUT);
		return;
	}
	if (c->connected && c->in_fd >= 0 && !c->eof_in && c->fe && c->want_read)
		in_mask = LOOP_IN;
	if (c->connected && c->out_len)
		out_mask = LOOP_OUT;
	if (ch_in_shares_out(c)) {
		if (c->in_ev)
			loop_set_events(c->in_ev, in_mask | out_mask);
		return;
	}
	if (c->in_ev)
		loop_set_events(c->in_ev, in_mask);
	if (c->out_ev)
		loop_set_events(c->out_ev, out_mask);
}

/* Start watching the data fd(s) of a connected backend. */
static int ch_watch(struct chardev *c)
{
	if (!c->loop)
		return 0;
	if (c->in_fd >= 0 && !c->in_ev) {
		c->in_ev = loop_add_fd(c->loop, c->in_fd, 0, ch_io_cb, c);
		if (!c->in_ev) {
			/* Regular files and /dev/null cannot be polled: no input. */
			c->eof_in = true;
		}
	}
	if (c->out_fd >= 0 && !ch_in_shares_out(c) && !c->out_ev)
		c->out_ev = loop_add_fd(c->loop, c->out_fd, 0, ch_io_cb, c);
	ch_update_events(c);
	return 0;
}

static void ch_unwatch(struct chardev *c)
{
	if (c->in_ev)
		loop_del(c->in_ev);
	if (c->out_ev)
		loop_del(c->out_ev);
	c->in_ev = NULL;
	c->out_ev = NULL;
}

static void ch_disconnect(struct chardev *c)
{
	ch_unwatch(c);
	c->connecting = false;
	switch (c->kind) {
	case CH_UNIX:
	case CH_TCP:
		if (c->in_fd >= 0)
			close(c->in_fd);
		c->in_fd = c->out_fd = -1;
		/* Clients dial again; servers wait for the next accept. */
		if (!c->server)
			ch_timer_arm(c, true);
		break;
	case CH_PTY:
		/* Keep the master; poll until a reader opens the slave again. */
		ch_timer_arm(c, true);
		break;
	default:
		break;
	}
	ch_set_connected(c, false);
}

/* ---- pty -------------------------------------------------------------- */

static bool ch_pty_peer_present(int master)
{
	struct pollfd p = { .fd = master, .events = POLLIN };

	/* The master reports POLLHUP while no process has the slave open. */
	if (poll(&p, 1, 0) < 0)
		return false;
	return !(p.revents & POLLHUP);
}

static int ch_open_pty(struct chardev *c)
{
	int master, slave;
	struct termios t;

	if (openpty(&master, &slave, c->pty_path, NULL, NULL) < 0)
		return -errno;
	/* Raw slave: no echo of guest output back into the guest, no line editing. */
	if (tcgetattr(slave, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(slave, TCSANOW, &t);
	}
	close(slave);
	if (set_nonblock(master, NULL) < 0 || fcntl(master, F_SETFD, FD_CLOEXEC) < 0) {
		close(master);
		return -errno;
	}
	c->in_fd = c->out_fd = master;
	dm_info(CH_MOD, "pty: guest serial console on %s", c->pty_path);
	ch_timer_arm(c, true);
	return 0;
}

/* ---- sockets ---------------------------------------------------------- */

static int ch_unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static int ch_connect_fd(struct chardev *c, int fd, const struct sockaddr *sa, socklen_t len)
{
	if (connect(fd, sa, len) == 0) {
		c->in_fd = c->out_fd = fd;
		ch_timer_arm(c, false);
		ch_set_connected(c, true);
		return ch_watch(c);
	}
	if (errno != EINPROGRESS) {
		int err = -errno;

		close(fd);
		return err;
	}
	c->in_fd = c->out_fd = fd;
	c->connecting = true;
	ch_timer_arm(c, false);
	return ch_watch(c);
}

static int ch_dial(struct chardev *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct sockaddr_un sun;
	int fd, rc;

	if (c->kind == CH_UNIX) {
		rc = ch_unix_addr(c->path, &sun);
		if (rc)
			return rc;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		return ch_connect_fd(c, fd, (struct sockaddr *)&sun, sizeof(sun));
	}
	rc = getaddrinfo(*c->host ? c->host : "localhost", c->port, &hints, &res);
	if (rc)
		return -EHOSTUNREACH;
	rc = -ECONNREFUSED;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		rc = ch_connect_fd(c, fd, ai->ai_addr, ai->ai_addrlen);
		if (rc == 0)
			break;
	}
	freeaddrinfo(res);
	return rc;
}

static void ch_listen_cb(int fd, unsigned events, void *arg)
{
	struct chardev *c = arg;
	int nfd;

	(void)events;
	nfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (nfd < 0)
		return;
	if (c->connected) {
		/* One client at a time, as a serial cable has two ends. */
		dm_info(CH_MOD, "%s: refusing a second client", c->spec);
		close(nfd);
		return;
	}
	if (c->kind == CH_TCP) {
		int one = 1;

		setsockopt(nfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	c->in_fd = c->out_fd = nfd;
	ch_set_connected(c, true);
	ch_watch(c);
}

static void ch_format_listen_addr(struct chardev *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char h[NI_MAXHOST], p[NI_MAXSERV];

	if (c->kind == CH_UNIX) {
		snprintf(c->listen_addr, sizeof(c->listen_addr), "%s", c->path);
		return;
	}
	if (getsockname(c->listen_fd, (struct sockaddr *)&ss, &len) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), p, sizeof(p),
			NI_NUMERICHOST | NI_NUMERICSERV))
		return;
	snprintf(c->listen_addr, sizeof(c->listen_addr), "%s:%s", h, p);
}

static int ch_listen_unix(struct chardev *c)
{
	struct sockaddr_un sun;
	int fd, rc;

	rc = ch_unix_addr(c->path, &sun);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(c->path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 1) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	c->listen_fd = fd;
	return 0;
}

static int ch_listen_tcp(struct chardev *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res, *ai;
	int fd = -1, rc, one = 1;

	rc = getaddrinfo(*c->host ? c->host : NULL, c->port, &hints, &res);
	if (rc)
		return -EADDRNOTAVAIL;
	rc = -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0) {
			rc = 0;
			break;
		}
		rc = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (rc)
		return rc;
	c->listen_fd = fd;
	return 0;
}

static int ch_open_socket(struct chardev *c)
{
	int rc;

	if (!c->server) {
		rc = ch_dial(c);
		if (rc < 0) {
			/* The peer may come later (a console client started after us). */
			dm_warn(CH_MOD, "%s: connect failed (%s), retrying every second", c->spec,
				strerror(-rc));
			ch_timer_arm(c, true);
		}
		return 0;
	}
	rc = c->kind == CH_UNIX ? ch_listen_unix(c) : ch_listen_tcp(c);
	if (rc) {
		dm_err(CH_MOD, "%s: cannot listen: %s", c->spec, strerror(-rc));
		return rc;
	}
	ch_format_listen_addr(c);
	c->listen_ev = loop_add_fd(c->loop, c->listen_fd, LOOP_IN, ch_listen_cb, c);
	if (!c->listen_ev)
		return -ENOMEM;
	dm_info(CH_MOD, "%s: listening on %s", c->spec, c->listen_addr);
	return 0;
}

static void ch_timer_cb(int fd, unsigned events, void *arg)
{
	struct chardev *c = arg;
	uint64_t ticks;

	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	if (c->connected || c->connecting) {
		ch_timer_arm(c, false);
		return;
	}
	if (c->kind == CH_PTY) {
		if (!ch_pty_peer_present(c->in_fd))
			return;
		ch_timer_arm(c, false);
		ch_set_connected(c, true);
		ch_watch(c);
		return;
	}
	if ((c->kind == CH_UNIX || c->kind == CH_TCP) && !c->server)
		ch_dial(c);
}

/* ---- spec parsing ----------------------------------------------------- */

/* Split "body,flag,flag" in place: returns body; sets *server. */
static int ch_parse_flags(char *s, bool *server)
{
	char *flag = strchr(s, ',');

	*server = false;
	while (flag) {
		char *next;

		*flag++ = '\0';
		next = strchr(flag, ',');
		if (next)
			*next = '\0';
		if (!strcmp(flag, "server") || !strcmp(flag, "listen"))
			*server = true;
		else if (strcmp(flag, "nowait") && strcmp(flag, "wait") &&
			 strcmp(flag, "nodelay") && strcmp(flag, "telnet") && *flag)
			return -EINVAL;
		if (next)
			*next = ',';
		flag = next;
	}
	return 0;
}

static int ch_parse_tcp(struct chardev *c, const char *addr)
{
	const char *colon = strrchr(addr, ':');
	char *end;
	unsigned long port;

	if (!colon)
		return -EINVAL;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || port > 65535 || (port == 0 && !c->server))
		return -EINVAL;
	c->host = strndup(addr, (size_t)(colon - addr));
	c->port = strdup(colon + 1);
	if (!c->host || !c->port)
		return -ENOMEM;
	/* "[::1]:23" style hosts. */
	if (c->host[0] == '[' && c->host[strlen(c->host) - 1] == ']') {
		memmove(c->host, c->host + 1, strlen(c->host));
		c->host[strlen(c->host) - 1] = '\0';
	}
	return 0;
}

static int ch_open_kind(struct chardev *c, char *body)
{
	int rc, fd;

	if (!strcmp(body, "null") || !strcmp(body, "vc") || !strncmp(body, "vc:", 3)) {
		c->kind = CH_NULL;
		return 0;
	}
	if (!strcmp(body, "stdio")) {
		c->kind = CH_STDIO;
		c->in_fd = STDIN_FILENO;
		c->out_fd = STDOUT_FILENO;
		ch_set_raw(STDIN_FILENO, &c->saved_tio, &c->tio_saved, true);
		set_nonblock(STDIN_FILENO, &c->saved_fl_in);
		set_nonblock(STDOUT_FILENO, &c->saved_fl_out);
		c->connected = true;
		return ch_watch(c);
	}
	if (!strcmp(body, "pty")) {
		c->kind = CH_PTY;
		return ch_open_pty(c);
	}
	if (!strncmp(body, "file:", 5)) {
		c->kind = CH_FILE;
		if (!body[5])
			return -EINVAL;
		fd = open(body + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		c->out_fd = fd;
		c->connected = true;
		return 0;
	}
	if (!strncmp(body, "unix:", 5)) {
		c->kind = CH_UNIX;
		if (!body[5])
			return -EINVAL;
		c->path = strdup(body + 5);
		if (!c->path)
			return -ENOMEM;
		return ch_open_socket(c);
	}
	if (!strncmp(body, "tcp:", 4) || !strncmp(body, "telnet:", 7)) {
		c->kind = CH_TCP;
		rc = ch_parse_tcp(c, strchr(body, ':') + 1);
		if (rc)
			return rc;
		return ch_open_socket(c);
	}
	if (!strncmp(body, "/dev/", 5)) {
		c->kind = CH_TTY;
		fd = open(body, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ch_set_raw(fd, NULL, NULL, false);
		c->in_fd = c->out_fd = fd;
		c->connected = true;
		return ch_watch(c);
	}
	return -EINVAL;
}

static bool ch_needs_loop(const char *body)
{
	return strcmp(body, "null") && strcmp(body, "vc") && strncmp(body, "vc:", 3) &&
	       strncmp(body, "file:", 5);
}

int chardev_open(struct dm_loop *loop, const char *spec, struct chardev **out)
{
	struct chardev *c;
	char *body;
	int rc;

	*out = NULL;
	if (!spec || !strcmp(spec, "none"))
		return 0;
	c = calloc(1, sizeof(*c));
	body = strdup(spec);
	if (!c || !body) {
		free(c);
		free(body);
		return -ENOMEM;
	}
	c->loop = loop;
	c->in_fd = c->out_fd = c->listen_fd = c->timer_fd = -1;
	c->want_read = true;
	c->spec = strdup(spec);
	c->outbuf = malloc(CHARDEV_OUTBUF_SIZE);
	rc = -ENOMEM;
	if (!c->spec || !c->outbuf)
		goto err_close;
	rc = ch_parse_flags(body, &c->server);
	if (rc)
		goto err_bad_spec;
	if (!loop && ch_needs_loop(body)) {
		rc = -EINVAL;
		dm_err(CH_MOD, "%s: this backend needs the event loop", spec);
		goto err_close;
	}
	rc = ch_open_kind(c, body);
	if (rc == -EINVAL)
		goto err_bad_spec;
	if (rc) {
		dm_err(CH_MOD, "%s: %s", spec, strerror(-rc));
		goto err_close;
	}
	free(body);
	*out = c;
	return 0;

err_bad_spec:
	dm_err(CH_MOD,
	       "bad character device '%s': use null, none, stdio, pty, file:PATH, "
	       "unix:PATH[,server], tcp:HOST:PORT[,server] or /dev/TTY",
	       spec);
err_close:
	free(body);
	chardev_close(c);
	return rc;
}

void chardev_close(struct chardev *c)
{
	if (!c)
		return;
	ch_unwatch(c);
	if (c->listen_ev)
		loop_del(c->listen_ev);
	if (c->timer_ev)
		loop_del(c->timer_ev);
	if (c->timer_fd >= 0)
		close(c->timer_fd);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->kind == CH_STDIO) {
		if (c->tio_saved)
			tcsetattr(STDIN_FILENO, TCSANOW, &c->saved_tio);
		fcntl(STDIN_FILENO, F_SETFL, c->saved_fl_in);
		fcntl(STDOUT_FILENO, F_SETFL, c->saved_fl_out);
	} else {
		if (c->in_fd >= 0)
			close(c->in_fd);
		if (c->out_fd >= 0 && c->out_fd != c->in_fd)
			close(c->out_fd);
	}
	if (c->kind == CH_UNIX && c->server && c->path && c->listen_fd >= 0)
		unlink(c->path);
	free(c->path);
	free(c->host);
	free(c->port);
	free(c->outbuf);
	free(c->spec);
	free(c);
}

void chardev_attach(struct chardev *c, const struct chardev_fe_ops *ops, void *opaque)
{
	if (!c)
		return;
	c->fe = ops;
	c->fe_opaque = opaque;
	c->want_read = true;
	c->write_blocked = false;
	if (c->connected)
		ch_update_events(c);
}

size_t chardev_write_room(const struct chardev *c)
{
	if (!c || c->kind == CH_NULL || c->kind == CH_FILE || !c->connected)
		return SIZE_MAX;
	return ch_room(c);
}

static size_t ch_write_file(struct chardev *c, const uint8_t *buf, size_t len)
{
	size_t done = 0;
	unsigned guard;

	/* Regular files never say EAGAIN; a short write is a full disk: drop. */
	for (guard = 0; done < len && guard < 8; guard++) {
		ssize_t n = write(c->out_fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			dm_log_ratelimited(LOG_WARN, CH_MOD, "%s: write: %s", c->spec,
					   n < 0 ? strerror(errno) : "short write");
			break;
		}
		done += (size_t)n;
	}
	return len;
}

size_t chardev_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	size_t take, done = 0;

	if (!c || c->kind == CH_NULL || !len)
		return len;
	if (c->kind == CH_FILE)
		return ch_write_file(c, buf, len);
	if (!c->connected || c->connecting)
		return len;
	/* Fast path: nothing queued, try the fd directly. */
	if (!c->out_len) {
		ssize_t n = ch_sys_write(c, buf, len);

		if (n > 0)
			done = (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			ch_disconnect(c);
			return len;
		}
	}
	take = len - done;
	if (take > ch_room(c))
		take = ch_room(c);
	while (take) {
		size_t tail = (c->out_head + c->out_len) % CHARDEV_OUTBUF_SIZE;
		size_t chunk = CHARDEV_OUTBUF_SIZE - tail;

		if (chunk > take)
			chunk = take;
		memcpy(c->outbuf + tail, buf + done, chunk);
		c->out_len += chunk;
		done += chunk;
		take -= chunk;
	}
	if (done < len)
		c->write_blocked = true;
	ch_update_events(c);
	return done;
}

void chardev_accept_input(struct chardev *c)
{
	if (!c || c->want_read)
		return;
	c->want_read = true;
	ch_update_events(c);
}

bool chardev_connected(const struct chardev *c)
{
	return c && c->connected;
}

const char *chardev_pty_path(const struct chardev *c)
{
	return c && c->kind == CH_PTY ? c->pty_path : NULL;
}

const char *chardev_kind(const struct chardev *c)
{
	return c ? ch_kind_names[c->kind] : "none";
}

const char *chardev_spec(const struct chardev *c)
{
	return c ? c->spec : "none";
}

const char *chardev_listen_addr(const struct chardev *c)
{
	return c && c->server && c->listen_addr[0] ? c->listen_addr : NULL;
}
