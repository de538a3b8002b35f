/* SPDX-License-Identifier: MIT */
/*
 * console.c - `hvmctl console`: attach the terminal to a domain's first
 * serial port (a pty the dm opened for `serial = 'pty'`).  The pty is found
 * as libxl does for qemu-xen, with QMP query-chardev (label serial0), and
 * else in the dm log line "char device redirected to /dev/pts/N (label
 * serial0)".  Ctrl-] (0x1d) detaches, as in xl console.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "hvmctl.h"
#include "json.h"

#define CONSOLE_ESCAPE 0x1d /* Ctrl-] */

static int pty_from_qmp(const char *rundir, const struct domstate *st, char *buf, size_t len)
{
	char sock[PATH_MAX], err[256];
	struct json *j = NULL;
	const struct json *ret;
	char *reply = NULL;
	size_t i;
	int r;

	domdir_path(rundir, st->domid, "qmp.sock", sock, sizeof(sock));
	r = qmp_call(sock, "{\"execute\": \"query-chardev\"}", &reply, err, sizeof(err));
	if (r || json_parse_all(reply, strlen(reply), &j)) {
		free(reply);
		return r ? r : -EPROTO;
	}
	free(reply);
	r = -ENOENT;
	ret = json_get(j, "return");
	for (i = 0; ret && ret->type == JSON_ARRAY && i < ret->len; i++) {
		const char *label = json_get_str(ret->v[i], "label");
		const char *file = json_get_str(ret->v[i], "filename");

		if (!label || !file || strcmp(label, "serial0"))
			continue;
		if (!strncmp(file, "pty:", 4))
			file += 4;
		if (strncmp(file, "/dev/", 5))
			break;
		snprintf(buf, len, "%s", file);
		r = 0;
		break;
	}
	json_free(j);
	return r;
}

static int pty_from_log(const char *rundir, const struct domstate *st, char *buf, size_t len)
{
	static const char tag[] = "char device redirected to ";
	char p[PATH_MAX], line[512];
	FILE *f;
	int r = -ENOENT;

	log_path(rundir, "qemu-dm", st->name, p, sizeof(p));
	f = fopen(p, "r");
	if (!f)
		return -errno;
	/* The last match wins: the log is appended across restarts. */
	while (fgets(line, sizeof(line), f)) {
		char *s = strstr(line, tag), *e;

		if (!s || !strstr(line, "(label serial0)"))
			continue;
		s += sizeof(tag) - 1;
		e = strchr(s, ' ');
		if (!e)
			continue;
		*e = '\0';
		snprintf(buf, len, "%s", s);
		r = 0;
	}
	fclose(f);
	return r;
}

int console_pty(const char *rundir, const struct domstate *st, char *buf, size_t len)
{
	if (!pty_from_qmp(rundir, st, buf, len))
		return 0;
	return pty_from_log(rundir, st, buf, len);
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int console_attach(const char *rundir, const struct domstate *st)
{
	struct termios saved, raw;
	struct pollfd pfd[2];
	char pty[PATH_MAX], buf[4096];
	bool tty = isatty(0);
	int fd, r;
	ssize_t n;

	r = console_pty(rundir, st, pty, sizeof(pty));
	if (r) {
		fprintf(stderr,
			"hvmctl: domain %s has no serial pty (serial = 'pty' in its "
			"configuration?)\n",
			st->name);
		return r;
	}
	fd = open(pty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "hvmctl: %s: %s\n", pty, strerror(errno));
		return r;
	}
	/* The pty itself passes bytes through untouched. */
	if (!tcgetattr(fd, &raw)) {
		cfmakeraw(&raw);
		tcsetattr(fd, TCSANOW, &raw);
	}
	if (tty && !tcgetattr(0, &saved)) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	} else {
		tty = false;
	}
	pfd[0] = (struct pollfd){ .fd = 0, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = fd, .events = POLLIN };
	r = 0;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break; /* the dm closed the pty: the domain is gone */
			if (write_all(1, buf, (size_t)n))
				break;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char *esc;

			n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				pfd[0].fd = -1; /* stdin closed: keep showing output */
				continue;
			}
			esc = memchr(buf, CONSOLE_ESCAPE, (size_t)n);
			if (esc) {
				write_all(fd, buf, (size_t)(esc - buf));
				break;
			}
			if (write_all(fd, buf, (size_t)n))
				break;
		}
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	close(fd);
	return r;
}
