// SPDX-License-Identifier: MIT
/*
 * test_chardev.c - character backends driven by a real event loop: spec
 * parsing, null/none/file, unix and tcp servers and clients, pty round trips,
 * input backpressure (nothing dropped), bounded output with write_ready, and
 * discard while disconnected.  Also a UART end to end over a unix socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "chardev.h"
#include "char/uart16550.h"
#include "char/uart_isa.h"
#include "device.h"
#include "dm.h"
#include "loop.h"
#include "qmp.h"
#include "tap.h"

struct fe {
	uint8_t buf[1 << 20];
	size_t len;
	size_t room; /* what can_read reports */
	unsigned write_ready;
	int connects, disconnects;
};

static size_t fe_can_read(void *opaque)
{
	struct fe *f = opaque;

	return f->room;
}

static void fe_read(void *opaque, const uint8_t *buf, size_t len)
{
	struct fe *f = opaque;

	CHECK(len <= f->room);
	if (f->len + len > sizeof(f->buf))
		len = sizeof(f->buf) - f->len;
	memcpy(f->buf + f->len, buf, len);
	f->len += len;
}

static void fe_write_ready(void *opaque)
{
	((struct fe *)opaque)->write_ready++;
}

static void fe_event(void *opaque, bool up)
{
	struct fe *f = opaque;

	if (up)
		f->connects++;
	else
		f->disconnects++;
}

static const struct chardev_fe_ops fe_ops = {
	.can_read = fe_can_read,
	.read = fe_read,
	.write_ready = fe_write_ready,
	.event = fe_event,
};

/* Run the loop until cond holds or about max_ms passed. */
#define SPIN(loop, cond, max_ms)                                              \
	do {                                                                  \
		int spin_i;                                                   \
		for (spin_i = 0; !(cond) && spin_i < (max_ms) / 10; spin_i++) \
			loop_run_once(loop, 10);                              \
	} while (0)

static char tmp_dir[64];

static void tmp_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tmp_dir, name);
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_specs(struct dm_loop *loop)
{
	struct chardev *c = (struct chardev *)1;

	CHECK_EQ(chardev_open(loop, "none", &c), 0);
	CHECK(c == NULL);
	CHECK_EQ(chardev_open(loop, "bogus", &c), -EINVAL);
	CHECK_EQ(chardev_open(loop, "tcp:nohostport", &c), -EINVAL);
	CHECK_EQ(chardev_open(loop, "tcp:127.0.0.1:99999", &c), -EINVAL);
	CHECK_EQ(chardev_open(loop, "unix:/x,badflag", &c), -EINVAL);
	CHECK_EQ(chardev_open(loop, "file:", &c), -EINVAL);
	CHECK_EQ(chardev_open(NULL, "pty", &c), -EINVAL);

	CHECK_EQ(chardev_open(NULL, "null", &c), 0);
	CHECK(c != NULL);
	CHECK_EQ(chardev_write(c, (const uint8_t *)"abc", 3), 3);
	CHECK(chardev_pty_path(c) == NULL);
	CHECK(!strcmp(chardev_kind(c), "null"));
	chardev_close(c);
	chardev_close(NULL);
}

static void test_file(void)
{
	char path[96], spec[128], got[64] = { 0 };
	struct chardev *c;
	FILE *f;

	tmp_path(path, sizeof(path), "out.txt");
	snprintf(spec, sizeof(spec), "file:%s", path);
	CHECK_EQ(chardev_open(NULL, spec, &c), 0);
	CHECK_EQ(chardev_write(c, (const uint8_t *)"hello ", 6), 6);
	CHECK_EQ(chardev_write(c, (const uint8_t *)"file", 4), 4);
	chardev_close(c);
	memset(got, 0, sizeof(got));
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ(fread(got, 1, sizeof(got) - 1, f), 10);
		fclose(f);
	}
	CHECK(!strcmp(got, "hello file"));
}

static void test_unix_server(struct dm_loop *loop)
{
	static struct fe f;
	char path[128], spec[160];
	struct chardev *c;
	uint8_t buf[8192];
	int fd, i;
	ssize_t n;

	memset(&f, 0, sizeof(f));
	tmp_path(path, sizeof(path), "srv.sock");
	snprintf(spec, sizeof(spec), "unix:%s,server,nowait", path);
	CHECK_EQ(chardev_open(loop, spec, &c), 0);
	CHECK(!strcmp(chardev_listen_addr(c), path));
	f.room = 1 << 20;
	chardev_attach(c, &fe_ops, &f);
	/* Not connected: output is discarded, never blocks. */
	CHECK(!chardev_connected(c));
	CHECK_EQ(chardev_write(c, (const uint8_t *)"lost", 4), 4);

	fd = unix_connect(path);
	CHECK(fd >= 0);
	SPIN(loop, chardev_connected(c), 2000);
	CHECK(chardev_connected(c));
	CHECK_EQ(f.connects, 1);

	/* Device -> peer. */
	CHECK_EQ(chardev_write(c, (const uint8_t *)"to-peer", 7), 7);
	SPIN(loop, 0, 30);
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	CHECK_EQ(n, 7);
	CHECK(!memcmp(buf, "to-peer", 7));

	/* Peer -> device, with backpressure: room 0 means nothing is read. */
	f.room = 0;
	CHECK_EQ(send(fd, "0123456789", 10, 0), 10);
	SPIN(loop, 0, 50);
	CHECK_EQ(f.len, 0);
	f.room = 3;
	chardev_accept_input(c);
	SPIN(loop, f.len >= 3, 500);
	CHECK_EQ(f.len, 3);
	f.room = 0; /* room stays 0 after one read: the frontend filled up */
	SPIN(loop, 0, 50);
	CHECK_EQ(f.len, 3);
	f.room = 100;
	chardev_accept_input(c);
	SPIN(loop, f.len >= 10, 500);
	CHECK_EQ(f.len, 10);
	CHECK(!memcmp(f.buf, "0123456789", 10));

	/* A second client is refused while the first is attached. */
	i = unix_connect(path);
	SPIN(loop, 0, 50);
	CHECK_EQ(recv(i, buf, 1, 0), 0); /* closed by the server */
	close(i);

	/* Peer goes away: disconnected, writes discarded; a new peer is accepted. */
	close(fd);
	SPIN(loop, !chardev_connected(c), 2000);
	CHECK(!chardev_connected(c));
	CHECK_EQ(f.disconnects, 1);
	CHECK_EQ(chardev_write(c, (const uint8_t *)"void", 4), 4);
	fd = unix_connect(path);
	SPIN(loop, chardev_connected(c), 2000);
	CHECK_EQ(f.connects, 2);
	CHECK_EQ(chardev_write(c, (const uint8_t *)"again", 5), 5);
	SPIN(loop, 0, 30);
	CHECK_EQ(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), 5);
	close(fd);
	chardev_close(c);
	CHECK(access(path, F_OK) != 0); /* socket file removed */
}

static void test_bounded_output(struct dm_loop *loop)
{
	static struct fe f;
	static uint8_t chunk[4096];
	char path[128], spec[160];
	struct chardev *c;
	size_t total = 0, got = 0, acc;
	unsigned guard;
	int fd;

	memset(&f, 0, sizeof(f));
	tmp_path(path, sizeof(path), "bound.sock");
	snprintf(spec, sizeof(spec), "unix:%s,server", path);
	CHECK_EQ(chardev_open(loop, spec, &c), 0);
	chardev_attach(c, &fe_ops, &f);
	fd = unix_connect(path);
	SPIN(loop, chardev_connected(c), 2000);
	for (guard = 0; guard < sizeof(chunk); guard++)
		chunk[guard] = (uint8_t)guard;
	/* The peer does not read: the buffer fills, writes come up short. */
	for (guard = 0; guard < 10000; guard++) {
		acc = chardev_write(c, chunk, sizeof(chunk));
		total += acc;
		if (acc < sizeof(chunk))
			break;
		loop_run_once(loop, 0);
	}
	CHECK(guard < 10000);
	CHECK_EQ(chardev_write_room(c), 0);
	CHECK_EQ(f.write_ready, 0);
	/* Drain at the peer: write_ready follows, all bytes arrive in order. */
	for (guard = 0; guard < 100000 && got < total; guard++) {
		uint8_t buf[65536];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		ssize_t i;

		for (i = 0; i < n; i++)
			if (buf[i] != (uint8_t)((got + (size_t)i) % sizeof(chunk)))
				break;
		CHECK(i == n || n < 0);
		if (n > 0)
			got += (size_t)n;
		loop_run_once(loop, 1);
	}
	CHECK_EQ(got, total);
	CHECK(f.write_ready >= 1);
	CHECK_EQ(chardev_write_room(c), CHARDEV_OUTBUF_SIZE);
	close(fd);
	chardev_close(c);
}

static void test_unix_client(struct dm_loop *loop)
{
	static struct fe f;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[96], spec[160], buf[16];
	struct chardev *c;
	int lfd, fd;

	memset(&f, 0, sizeof(f));
	f.room = 64;
	tmp_path(path, sizeof(path), "cli.sock");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(listen(lfd, 1), 0);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	CHECK_EQ(chardev_open(loop, spec, &c), 0);
	chardev_attach(c, &fe_ops, &f);
	SPIN(loop, chardev_connected(c), 1000);
	CHECK(chardev_connected(c));
	fd = accept(lfd, NULL, NULL);
	CHECK(fd >= 0);
	CHECK_EQ(chardev_write(c, (const uint8_t *)"ping", 4), 4);
	CHECK_EQ(recv(fd, buf, sizeof(buf), 0), 4);
	CHECK_EQ(send(fd, "pong", 4, 0), 4);
	SPIN(loop, f.len >= 4, 1000);
	CHECK(f.len == 4 && !memcmp(f.buf, "pong", 4));
	close(fd);
	close(lfd);
	chardev_close(c);
	unlink(path);
}

static void test_tcp(struct dm_loop *loop)
{
	static struct fe f;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct chardev *c;
	const char *addr;
	char buf[16];
	int fd, port;

	memset(&f, 0, sizeof(f));
	f.room = 64;
	CHECK_EQ(chardev_open(loop, "tcp:127.0.0.1:0,server,nowait", &c), 0);
	addr = chardev_listen_addr(c);
	CHECK(addr != NULL && !strncmp(addr, "127.0.0.1:", 10));
	port = addr ? atoi(strchr(addr, ':') + 1) : 0;
	CHECK(port > 0);
	chardev_attach(c, &fe_ops, &f);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	SPIN(loop, chardev_connected(c), 2000);
	CHECK_EQ(chardev_write(c, (const uint8_t *)"tcp!", 4), 4);
	CHECK_EQ(recv(fd, buf, sizeof(buf), 0), 4);
	CHECK(!memcmp(buf, "tcp!", 4));
	CHECK_EQ(send(fd, "back", 4, 0), 4);
	SPIN(loop, f.len >= 4, 1000);
	CHECK(f.len == 4 && !memcmp(f.buf, "back", 4));
	close(fd);
	chardev_close(c);
}

static void test_pty(struct dm_loop *loop)
{
	static struct fe f;
	struct chardev *c;
	const char *path;
	char buf[16];
	int fd, i;
	ssize_t n = -1;

	memset(&f, 0, sizeof(f));
	f.room = 64;
	CHECK_EQ(chardev_open(loop, "pty", &c), 0);
	path = chardev_pty_path(c);
	CHECK(path != NULL && !strncmp(path, "/dev/pts/", 9));
	chardev_attach(c, &fe_ops, &f);
	CHECK(!chardev_connected(c));
	/* Nobody attached: output is discarded, not queued for a later reader. */
	CHECK_EQ(chardev_write(c, (const uint8_t *)"early", 5), 5);
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
	CHECK(fd >= 0);
	/* Attachment is noticed by a 1 s poll. */
	SPIN(loop, chardev_connected(c), 3000);
	CHECK(chardev_connected(c));
	CHECK_EQ(chardev_write(c, (const uint8_t *)"out", 3), 3);
	for (i = 0; i < 100 && n < 0; i++) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			loop_run_once(loop, 10);
	}
	CHECK_EQ(n, 3);
	CHECK(!memcmp(buf, "out", 3));
	CHECK_EQ(write(fd, "in", 2), 2);
	SPIN(loop, f.len >= 2, 1000);
	CHECK(f.len == 2 && !memcmp(f.buf, "in", 2));
	/* The reader leaves: disconnected, and the dm does not spin on HUP. */
	close(fd);
	SPIN(loop, !chardev_connected(c), 1000);
	CHECK(!chardev_connected(c));
	CHECK_EQ(chardev_write(c, (const uint8_t *)"gone", 4), 4);
	chardev_close(c);
}

/* stdio on pipes: output, input, and EOF on stdin stops polling it (no spinning). */
static void test_stdio(struct dm_loop *loop)
{
	static struct fe f;
	int in_pipe[2], out_pipe[2], saved_in, saved_out, n;
	struct chardev *c;
	char buf[16];

	memset(&f, 0, sizeof(f));
	f.room = 64;
	fflush(stdout);
	saved_in = dup(0);
	saved_out = dup(1);
	CHECK_EQ(pipe(in_pipe), 0);
	CHECK_EQ(pipe(out_pipe), 0);
	dup2(in_pipe[0], 0);
	dup2(out_pipe[1], 1);
	close(in_pipe[0]);
	close(out_pipe[1]);
	CHECK_EQ(chardev_open(loop, "stdio", &c), 0);
	chardev_attach(c, &fe_ops, &f);
	CHECK(chardev_connected(c));
	CHECK_EQ(chardev_write(c, (const uint8_t *)"stdout", 6), 6);
	CHECK_EQ(read(out_pipe[0], buf, sizeof(buf)), 6);
	CHECK_EQ(write(in_pipe[1], "key", 3), 3);
	SPIN(loop, f.len >= 3, 1000);
	CHECK(f.len == 3 && !memcmp(f.buf, "key", 3));
	close(in_pipe[1]);
	SPIN(loop, 0, 50);
	/* stdin is at EOF and no longer watched: the loop has nothing to report. */
	n = loop_run_once(loop, 20);
	CHECK_EQ(n, 0);
	CHECK_EQ(chardev_write(c, (const uint8_t *)"still", 5), 5);
	CHECK_EQ(read(out_pipe[0], buf, sizeof(buf)), 5);
	chardev_close(c);
	dup2(saved_in, 0);
	dup2(saved_out, 1);
	close(saved_in);
	close(saved_out);
	close(out_pipe[0]);
}

/* End to end: bytes from a socket reach the guest through RBR, none lost. */
static void test_uart_over_unix(void)
{
	struct dm *dm = NULL;
	struct dev *d;
	char path[128], opts[200];
	uint8_t out[300], got[300];
	unsigned i, n = 0, guard;
	int fd;

	tmp_path(path, sizeof(path), "uart.sock");
	snprintf(opts, sizeof(opts), "index=0,chardev=unix:%s,server,nowait", path);
	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "uart16550", opts, &d), 0);
	CHECK(!strcmp(chardev_kind(uart_isa_chardev(d)), "unix"));
	fd = unix_connect(path);
	SPIN(dm->loop, chardev_connected(uart_isa_chardev(d)), 2000);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7);
	CHECK_EQ(send(fd, out, sizeof(out), 0), (ssize_t)sizeof(out));
	/* FIFO mode; the guest reads slowly: the backend waits, nothing drops. */
	{
		uint64_t v = UART_FCR_ENABLE;

		io_dispatch(dm, IO_PIO, 0x3f8 + UART_FCR, 1, true, &v);
	}
	for (guard = 0; guard < 5000 && n < sizeof(out); guard++) {
		uint64_t lsr = 0, rbr = 0;

		loop_run_once(dm->loop, 1);
		CHECK(uart_isa_core(d)->rx.count <= UART_FIFO_SIZE);
		io_dispatch(dm, IO_PIO, 0x3f8 + UART_LSR, 1, false, &lsr);
		CHECK(!(lsr & UART_LSR_OE));
		if (lsr & UART_LSR_DR) {
			io_dispatch(dm, IO_PIO, 0x3f8 + UART_RBR, 1, false, &rbr);
			got[n++] = (uint8_t)rbr;
		}
	}
	CHECK_EQ(n, sizeof(out));
	CHECK(!memcmp(out, got, sizeof(out)));
	/* Guest output reaches the peer. */
	for (i = 0; i < 4; i++) {
		uint64_t v = "serial"[i];

		io_dispatch(dm, IO_PIO, 0x3f8 + UART_THR, 1, true, &v);
	}
	SPIN(dm->loop, 0, 30);
	CHECK_EQ(recv(fd, got, sizeof(got), MSG_DONTWAIT), 4);
	CHECK(!memcmp(got, "seri", 4));
	close(fd);
	dm_destroy(dm);
}

/* A guest transmitting into a peer that never reads is held off by THRE. */
static void test_uart_tx_backpressure(void)
{
	struct dm *dm = NULL;
	struct dev *d;
	char path[128], opts[200];
	size_t written = 0, got = 0;
	unsigned guard;
	int fd;

	tmp_path(path, sizeof(path), "uarttx.sock");
	snprintf(opts, sizeof(opts), "chardev=unix:%s,,server", path);
	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "uart16550", opts, &d), 0);
	fd = unix_connect(path);
	SPIN(dm->loop, chardev_connected(uart_isa_chardev(d)), 2000);
	for (guard = 0; guard < 4000000; guard++) {
		uint64_t lsr = 0, v = (uint8_t)written;

		io_dispatch(dm, IO_PIO, 0x3f8 + UART_LSR, 1, false, &lsr);
		if (!(lsr & UART_LSR_THRE))
			break;
		io_dispatch(dm, IO_PIO, 0x3f8 + UART_THR, 1, true, &v);
		written++;
	}
	CHECK(guard < 4000000); /* THRE went low: the device is holding a byte */
	CHECK_EQ(uart_isa_core(d)->tx_dropped, 0);
	CHECK(written > CHARDEV_OUTBUF_SIZE);
	for (guard = 0; guard < 200000 && got < written; guard++) {
		uint8_t buf[65536];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT), i;

		for (i = 0; i < n; i++)
			if (buf[i] != (uint8_t)(got + (size_t)i))
				break;
		CHECK(n <= 0 || i == n);
		if (n > 0)
			got += (size_t)n;
		loop_run_once(dm->loop, 1);
	}
	CHECK_EQ(got, written);
	{
		uint64_t lsr = 0;

		io_dispatch(dm, IO_PIO, 0x3f8 + UART_LSR, 1, false, &lsr);
		CHECK(lsr & UART_LSR_THRE);
	}
	close(fd);
	dm_destroy(dm);
}

/* A pty port is announced for `hvmctl console`: QMP query-chardev lists it. */
static void test_uart_pty_announce(void)
{
	static const char req[] = "{\"execute\": \"qmp_capabilities\"}\n"
				  "{\"execute\": \"query-chardev\"}\n";
	struct dm *dm = NULL;
	struct dev *d;
	char buf[8192] = "", want[96];
	size_t len = 0;
	int sv[2], i;

	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "uart16550", "index=1,chardev=pty", &d), 0);
	CHECK(chardev_pty_path(uart_isa_chardev(d)) != NULL);
	snprintf(want, sizeof(want), "\"pty:%s\"", chardev_pty_path(uart_isa_chardev(d)));
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_EQ(qmp_attach_fd(dm, sv[0]), 0);
	CHECK_EQ(write(sv[1], req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	for (i = 0; i < 100 && !strstr(buf, "serial1"); i++) {
		ssize_t n;

		loop_run_once(dm->loop, 10);
		n = recv(sv[1], buf + len, sizeof(buf) - 1 - len, MSG_DONTWAIT);
		if (n > 0)
			len += (size_t)n;
		buf[len] = 0;
	}
	CHECK(strstr(buf, "\"serial1\"") != NULL);
	CHECK(strstr(buf, want) != NULL);
	close(sv[1]);
	dm_destroy(dm);
}

int main(void)
{
	struct dm_loop *loop;
	char path[128];

	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/hvmdm-chardev-%d", (int)getpid());
	if (mkdir(tmp_dir, 0700) < 0)
		return 1;
	CHECK_EQ(loop_create(&loop), 0);
	test_specs(loop);
	test_file();
	test_unix_server(loop);
	test_bounded_output(loop);
	test_unix_client(loop);
	test_tcp(loop);
	test_pty(loop);
	test_stdio(loop);
	loop_destroy(loop);
	test_uart_over_unix();
	test_uart_tx_backpressure();
	test_uart_pty_announce();
	tmp_path(path, sizeof(path), "out.txt");
	unlink(path);
	rmdir(tmp_dir);
	return tap_done();
}
