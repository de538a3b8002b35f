// SPDX-License-Identifier: MIT
/*
 * test_qmp.c - QMP sessions against a standalone dm over a socketpair (and
 * one over a real unix socket): greeting, negotiation, every built-in
 * command, events, errors with ids echoed, extension tables, split and
 * batched input, malformed and oversized input, and random garbage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dm.h"
#include "json.h"
#include "loop.h"
#include "qmp.h"
#include "tap.h"

struct client {
	struct dm *dm;
	int fd;
	char buf[1 << 16];
	size_t len;
	bool eof;
};

static void pump(struct client *c)
{
	ssize_t n;

	loop_run_once(c->dm->loop, 20);
	if (c->len == sizeof(c->buf))
		return;
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	if (n > 0)
		c->len += (size_t)n;
	else if (n == 0)
		c->eof = true;
}

/* Next message from the server, or NULL after 200 loop iterations. */
static struct json *next_msg(struct client *c)
{
	struct json *j;
	size_t used;
	int i, r;

	for (i = 0; i < 200; i++) {
		r = json_parse(c->buf, c->len, &j, &used);
		if (!r) {
			/* Every message ends in CRLF (qmp-spec). */
			CHECK(c->len >= used + 2 && c->buf[used] == '\r' &&
			      c->buf[used + 1] == '\n');
			used += 2;
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return j;
		}
		if (r != -EAGAIN || c->eof)
			return NULL;
		pump(c);
	}
	return NULL;
}

static void send_str(struct client *c, const char *s)
{
	size_t n = strlen(s), off = 0;
	ssize_t w;

	while (off < n) {
		w = send(c->fd, s + off, n - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0)
			off += (size_t)w;
		else
			pump(c);
	}
}

/* The next reply (skipping events, which are counted per name in *events). */
static struct json *reply(struct client *c, char *events, size_t cap)
{
	struct json *j;
	int i;

	for (i = 0; i < 20; i++) {
		j = next_msg(c);
		if (!j || !json_get(j, "event"))
			return j;
		if (events) {
			size_t o = strlen(events);

			CHECK(json_get(j, "timestamp") != NULL);
			snprintf(events + o, cap - o, "%s,", json_get_str(j, "event"));
		}
		json_free(j);
	}
	return NULL;
}

static bool is_return(const struct json *j)
{
	return j && json_get(j, "return") && !json_get(j, "error");
}

static const char *err_class(const struct json *j)
{
	return json_get_str(json_get(j, "error"), "class");
}

static const char *err_desc(const struct json *j)
{
	return json_get_str(json_get(j, "error"), "desc");
}

static struct json *cmd(struct client *c, const char *s)
{
	send_str(c, s);
	return reply(c, NULL, 0);
}

static void client_open(struct client *c, bool negotiate)
{
	int sv[2];
	struct json *j;

	memset(c, 0, sizeof(*c));
	CHECK_EQ(dm_create_standalone(1 << 20, &c->dm), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c->fd = sv[1];
	CHECK_EQ(qmp_attach_fd(c->dm, sv[0]), 0);
	j = next_msg(c);
	CHECK(j && json_get(j, "QMP"));
	json_free(j);
	if (negotiate) {
		j = cmd(c, "{\"execute\": \"qmp_capabilities\"}");
		CHECK(is_return(j));
		json_free(j);
	}
}

static void client_close(struct client *c)
{
	close(c->fd);
	qmp_stop(c->dm);
	CHECK(c->dm->qmp == NULL);
	dm_destroy(c->dm);
}

static void test_greeting_negotiation(void)
{
	struct client c;
	struct json *j;
	const struct json *qmp, *caps;
	int sv[2];

	memset(&c, 0, sizeof(c));
	CHECK_EQ(dm_create_standalone(1 << 20, &c.dm), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c.fd = sv[1];
	CHECK_EQ(qmp_attach_fd(c.dm, sv[0]), 0);
	j = next_msg(&c);
	qmp = json_get(j, "QMP");
	CHECK(qmp != NULL);
	caps = json_get(qmp, "capabilities");
	CHECK(caps && caps->type == JSON_ARRAY && caps->len == 0);
	CHECK(json_get(json_get(json_get(qmp, "version"), "qemu"), "major") != NULL);
	json_free(j);

	/* Commands before negotiation are refused, ids echoed. */
	j = cmd(&c, "{\"execute\": \"query-status\", \"id\": 7}");
	CHECK(err_class(j) && !strcmp(err_class(j), "CommandNotFound"));
	CHECK(json_get(j, "id") && json_get(j, "id")->i == 7);
	json_free(j);
	j = cmd(&c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}");
	CHECK(err_class(j) && !strcmp(err_class(j), "GenericError"));
	json_free(j);
	j = cmd(&c, "{\"execute\": \"qmp_capabilities\", \"id\": {\"a\": [1, \"x\"]}}");
	CHECK(is_return(j));
	{
		char *s = json_to_string(json_get(j, "id"));

		CHECK(s && !strcmp(s, "{\"a\": [1, \"x\"]}"));
		free(s);
	}
	json_free(j);
	j = cmd(&c, "{\"execute\": \"qmp_capabilities\"}");
	CHECK(err_class(j) && !strcmp(err_class(j), "CommandNotFound"));
	json_free(j);
	client_close(&c);
}

static void test_status_stop_cont(void)
{
	struct client c;
	char ev[256] = "";
	struct json *j;

	client_open(&c, true);
	j = cmd(&c, "{\"execute\": \"query-status\"}");
	CHECK(is_return(j));
	CHECK(!strcmp(json_get_str(json_get(j, "return"), "status") ?: "", "running"));
	json_free(j);

	send_str(&c, "{\"execute\": \"stop\", \"id\": \"s1\"}");
	j = reply(&c, ev, sizeof(ev));
	CHECK(is_return(j));
	CHECK(!strcmp(json_get_str(j, "id") ?: "", "s1"));
	CHECK(!strcmp(ev, "STOP,"));
	CHECK(c.dm->paused);
	json_free(j);
	j = cmd(&c, "{\"execute\": \"query-status\"}");
	CHECK(!strcmp(json_get_str(json_get(j, "return"), "status") ?: "", "paused"));
	json_free(j);

	/* A second stop is no state change and sends no event. */
	ev[0] = '\0';
	send_str(&c, "{\"execute\": \"stop\"}{\"execute\": \"cont\"}");
	j = reply(&c, ev, sizeof(ev));
	CHECK(is_return(j));
	json_free(j);
	j = reply(&c, ev, sizeof(ev));
	CHECK(is_return(j));
	json_free(j);
	CHECK(!strcmp(ev, "RESUME,"));
	CHECK(!c.dm->paused);
	client_close(&c);
}

static void test_reset_quit(void)
{
	struct client c;
	char ev[256] = "";
	struct json *j;

	client_open(&c, true);
	send_str(&c, "{\"execute\": \"system_reset\"}");
	j = reply(&c, ev, sizeof(ev));
	CHECK(is_return(j));
	json_free(j);
	CHECK(!strcmp(ev, "RESET,"));
	CHECK_EQ(c.dm->shutdown_reason, HVM_SHUTDOWN_REBOOT);
	j = cmd(&c, "{\"execute\": \"query-status\"}");
	CHECK(!strcmp(json_get_str(json_get(j, "return"), "status") ?: "", "shutdown"));
	json_free(j);
	j = cmd(&c, "{\"execute\": \"cont\"}");
	CHECK(err_class(j) != NULL);
	json_free(j);

	ev[0] = '\0';
	CHECK(!loop_quitting(c.dm->loop));
	send_str(&c, "{\"execute\": \"quit\", \"id\": 1}");
	j = reply(&c, ev, sizeof(ev));
	CHECK(is_return(j));
	json_free(j);
	CHECK(!strcmp(ev, "SHUTDOWN,"));
	loop_run_once(c.dm->loop, 0); /* loop_quit() posts to the loop */
	CHECK(loop_quitting(c.dm->loop));
	client_close(&c);
}

static int powerdowns;

static void fake_powerdown(void *opaque)
{
	CHECK(opaque == &powerdowns);
	powerdowns++;
}

static void test_powerdown(void)
{
	struct client c;
	char ev[256] = "";
	struct json *j;

	client_open(&c, true);
	j = cmd(&c, "{\"execute\": \"system_powerdown\"}");
	CHECK(err_class(j) && !strcmp(err_class(j), "GenericError"));
	CHECK(err_desc(j) && strstr(err_desc(j), "power button"));
	json_free(j);
	c.dm->powerdown = fake_powerdown;
	c.dm->powerdown_opaque = &powerdowns;
	send_str(&c, "{\"execute\": \"system_powerdown\"}");
	j = reply(&c, ev, sizeof(ev));
	CHECK(is_return(j));
	json_free(j);
	CHECK_EQ(powerdowns, 1);
	CHECK(!strcmp(ev, "POWERDOWN,"));
	client_close(&c);
}

struct keylog {
	char names[256];
	unsigned hold;
	unsigned calls;
};

static int fake_keys(void *opaque, const struct qmp_key *keys, unsigned n, unsigned hold_ms)
{
	struct keylog *kl = opaque;
	unsigned i;

	kl->calls++;
	kl->hold = hold_ms;
	kl->names[0] = '\0';
	for (i = 0; i < n; i++) {
		size_t o = strlen(kl->names);

		if (keys[i].qcode)
			snprintf(kl->names + o, sizeof(kl->names) - o, "%s ", keys[i].qcode);
		else
			snprintf(kl->names + o, sizeof(kl->names) - o, "#%d ", keys[i].number);
	}
	return 0;
}

static void test_send_key(void)
{
	static const char ctrl_alt_del[] = "{\"execute\": \"send-key\", \"arguments\": {\"keys\": "
					   "[{\"type\": \"qcode\", "
					   "\"data\": \"ctrl\"}, {\"type\": \"qcode\", \"data\": "
					   "\"alt\"}, {\"type\": "
					   "\"qcode\", \"data\": \"delete\"}], \"hold-time\": 50}}";
	struct keylog kl = { 0 };
	struct client c;
	struct json *j;
	char big[2048];
	int i;

	client_open(&c, true);
	j = cmd(&c, ctrl_alt_del);
	CHECK(err_desc(j) && strstr(err_desc(j), "input router"));
	json_free(j);
	CHECK_EQ(qmp_set_key_handler(c.dm, fake_keys, &kl), 0);
	j = cmd(&c, ctrl_alt_del);
	CHECK(is_return(j));
	json_free(j);
	CHECK_EQ(kl.calls, 1);
	CHECK(!strcmp(kl.names, "ctrl alt delete "));
	CHECK_EQ(kl.hold, 50);

	j = cmd(&c, "{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": "
		    "\"number\", \"data\": 29}]}}");
	CHECK(is_return(j));
	json_free(j);
	CHECK(!strcmp(kl.names, "#29 "));
	CHECK_EQ(kl.hold, 100); /* default */

	/* Refused: unknown qcode, wrong types, empty, too many, bad hold-time. */
	static const char *const bad[] = {
		"{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": \"qcode\", "
		"\"data\": \"ctlr\"}]}}",
		"{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": \"qcode\", "
		"\"data\": 5}]}}",
		"{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": \"number\", "
		"\"data\": -1}]}}",
		"{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": \"x\", "
		"\"data\": \"a\"}]}}",
		"{\"execute\": \"send-key\", \"arguments\": {\"keys\": []}}",
		"{\"execute\": \"send-key\", \"arguments\": {\"keys\": \"ctrl\"}}",
		"{\"execute\": \"send-key\", \"arguments\": {}}",
		"{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": \"qcode\", "
		"\"data\": \"a\"}], \"hold-time\": -5}}",
		"{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": \"qcode\", "
		"\"data\": \"a\"}], \"hold-time\": \"5\"}}",
	};
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		j = cmd(&c, bad[i]);
		CHECK(err_class(j) && !strcmp(err_class(j), "GenericError"));
		json_free(j);
	}
	strcpy(big, "{\"execute\": \"send-key\", \"arguments\": {\"keys\": [");
	for (i = 0; i <= QMP_MAX_KEYS; i++)
		strcat(big, i ? ", {\"type\": \"qcode\", \"data\": \"a\"}"
			      : "{\"type\": \"qcode\", \"data\": \"a\"}");
	strcat(big, "]}}");
	j = cmd(&c, big);
	CHECK(err_class(j) != NULL);
	json_free(j);
	CHECK_EQ(kl.calls, 2); /* none of the bad ones reached the router */
	client_close(&c);
}

static void test_queries(void)
{
	struct client c;
	struct json *j;
	const struct json *r;

	client_open(&c, false);
	c.dm->cfg.name = "guest1";
	CHECK_EQ(qmp_add_chardev(c.dm, "serial0", "pty:/dev/pts/7"), 0);
	j = cmd(&c, "{\"execute\": \"qmp_capabilities\"}");
	json_free(j);
	j = cmd(&c, "{\"execute\": \"query-chardev\"}");
	r = json_get(j, "return");
	CHECK(r && r->type == JSON_ARRAY && r->len == 1);
	if (r && r->len == 1) {
		CHECK(!strcmp(json_get_str(r->v[0], "label") ?: "", "serial0"));
		CHECK(!strcmp(json_get_str(r->v[0], "filename") ?: "", "pty:/dev/pts/7"));
	}
	json_free(j);
	j = cmd(&c, "{\"execute\": \"query-version\"}");
	CHECK(json_get(json_get(json_get(j, "return"), "qemu"), "minor") != NULL);
	json_free(j);
	j = cmd(&c, "{\"execute\": \"query-name\"}");
	CHECK(!strcmp(json_get_str(json_get(j, "return"), "name") ?: "", "guest1"));
	json_free(j);
	c.dm->cfg.name = NULL;
	j = cmd(&c, "{\"execute\": \"query-commands\"}");
	r = json_get(j, "return");
	CHECK(r && r->type == JSON_ARRAY && r->len >= 13);
	json_free(j);
	client_close(&c);
}

static int ext_calls;

static int cmd_ext_echo(struct qmp_req *req)
{
	const char *s = json_get_str(req->args, "text");

	CHECK(req->opaque == &ext_calls);
	ext_calls++;
	if (!s)
		return qmp_error_class(req, "DeviceNotFound", "no text");
	req->ret = json_new_object();
	json_object_set(req->ret, "echo", json_new_str(s));
	return 0;
}

static int cmd_ext_fail(struct qmp_req *req)
{
	return -EIO; /* no message: dispatch makes one */
}

static const struct qmp_command ext_cmds[] = {
	{ "x-echo", cmd_ext_echo },
	{ "x-fail", cmd_ext_fail },
};

static const struct qmp_command ext_dup[] = {
	{ "stop", cmd_ext_fail },
};

static void test_extension(void)
{
	struct client c;
	struct json *j;

	client_open(&c, true);
	CHECK_EQ(qmp_register_commands(c.dm, ext_cmds, 2, &ext_calls), 0);
	CHECK_EQ(qmp_register_commands(c.dm, ext_dup, 1, NULL), (uint64_t)-EEXIST);
	j = cmd(&c, "{\"execute\": \"x-echo\", \"arguments\": {\"text\": \"hi\\u00e9\"}, "
		    "\"id\": \"e\"}");
	CHECK(!strcmp(json_get_str(json_get(j, "return"), "echo") ?: "", "hi\xc3\xa9"));
	json_free(j);
	j = cmd(&c, "{\"execute\": \"x-echo\", \"arguments\": {}}");
	CHECK(!strcmp(err_class(j) ?: "", "DeviceNotFound"));
	json_free(j);
	j = cmd(&c, "{\"execute\": \"x-fail\"}");
	CHECK(!strcmp(err_class(j) ?: "", "GenericError"));
	CHECK(err_desc(j) && strstr(err_desc(j), "x-fail"));
	json_free(j);
	CHECK_EQ(ext_calls, 2);
	client_close(&c);

	/* Tables registered before any session or qmp_start() work too. */
	struct dm *dm;

	CHECK_EQ(dm_create_standalone(0, &dm), 0);
	CHECK_EQ(qmp_register_commands(dm, ext_cmds, 2, &ext_calls), 0);
	qmp_stop(dm);
	dm_destroy(dm);
}

static void test_bad_input(void)
{
	static const char *const cases[][2] = {
		{ "[1, 2]", "must be a JSON object" },
		{ "{\"arguments\": {}}", "lacks member 'execute'" },
		{ "{\"execute\": 5}", "'execute' must be a string" },
		{ "{\"execute\": \"stop\", \"arguments\": [1]}", "'arguments' must be an object" },
		{ "{\"execute\": \"stop\", \"bogus\": 1}", "'bogus' is unexpected" },
		{ "{\"execute\": \"no-such-command\"}", "has not been found" },
		{ "{\"execute\": \"stop\",,}", "JSON parse error" },
		{ "\"\xff\"", "JSON parse error" },
	};
	struct client c;
	struct json *j;
	size_t i;

	client_open(&c, true);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = cmd(&c, cases[i][0]);
		CHECK(err_desc(j) && strstr(err_desc(j), cases[i][1]));
		if (!err_desc(j) || !strstr(err_desc(j), cases[i][1]))
			fprintf(stderr, "case %zu: %s\n", i, err_desc(j) ?: "(none)");
		json_free(j);
	}
	/* The session still works after every error. */
	j = cmd(&c, "{\"execute\": \"query-status\"}");
	CHECK(is_return(j));
	json_free(j);

	/* One byte at a time. */
	const char *s = "{ \"execute\" : \"query-version\" , \"id\" : [ true ] }";

	for (i = 0; s[i]; i++) {
		send(c.fd, &s[i], 1, 0);
		pump(&c);
	}
	j = reply(&c, NULL, 0);
	CHECK(is_return(j) && json_get(j, "id"));
	json_free(j);

	/* A command larger than the input limit: refused, the session survives. */
	char *big = malloc(QMP_MAX_INPUT + 100);

	strcpy(big, "{\"execute\": \"");
	memset(big + 13, 'a', QMP_MAX_INPUT + 50);
	big[QMP_MAX_INPUT + 63] = '\0';
	j = cmd(&c, big);
	CHECK(err_desc(j) && strstr(err_desc(j), "size limit"));
	json_free(j);
	free(big);
	/* The rest of the oversized string arrives as garbage and is discarded. */
	j = cmd(&c, "\"}{\"execute\": \"query-status\"}");
	json_free(j);
	for (i = 0; i < 5; i++)
		pump(&c);
	c.len = 0;
	j = cmd(&c, "{\"execute\": \"query-status\"}");
	CHECK(is_return(j));
	json_free(j);

	/* Deep nesting in arguments is a parse error, not a crash. */
	big = malloc(4096);
	strcpy(big, "{\"execute\": \"stop\", \"arguments\": {\"a\": ");
	for (i = 0; i < 200; i++)
		strcat(big, "[");
	j = cmd(&c, big);
	CHECK(err_desc(j) && strstr(err_desc(j), "nesting"));
	json_free(j);
	free(big);
	client_close(&c);
}

static void test_garbage(void)
{
	uint32_t seed = 777;
	struct client c;
	char buf[256];
	int round, i;

	client_open(&c, true);
	for (round = 0; round < 2000 && !c.eof; round++) {
		for (i = 0; i < (int)sizeof(buf); i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = "{}[]\":,ab0\\u \xff\xc3"[(seed >> 16) % 15];
		}
		send(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
		pump(&c);
		c.len = 0; /* drop whatever error replies came back */
	}
	CHECK(round == 2000);
	client_close(&c);
}

static void test_unix_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[64];
	struct client c;
	struct json *j;

	memset(&c, 0, sizeof(c));
	snprintf(path, sizeof(path), "/tmp/test_qmp.%d.sock", (int)getpid());
	CHECK_EQ(dm_create_standalone(1 << 20, &c.dm), 0);
	CHECK_EQ(qmp_start(c.dm, path), 0);
	CHECK_EQ(qmp_start(c.dm, path), (uint64_t)-EBUSY);
	strcpy(sa.sun_path, path);
	c.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ(connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	loop_run_once(c.dm->loop, 100); /* accept */
	j = next_msg(&c);
	CHECK(j && json_get(j, "QMP"));
	json_free(j);
	j = cmd(&c, "{\"execute\": \"qmp_capabilities\"}");
	CHECK(is_return(j));
	json_free(j);
	client_close(&c);
	CHECK(access(path, F_OK) != 0); /* qmp_stop removed the socket */
}

int main(void)
{
	test_greeting_negotiation();
	test_status_stop_cont();
	test_reset_quit();
	test_powerdown();
	test_send_key();
	test_queries();
	test_extension();
	test_bad_input();
	test_garbage();
	test_unix_socket();
	return tap_done();
}
