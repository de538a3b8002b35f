/* SPDX-License-Identifier: MIT */
/*
 * qmp.c - QMP monitor: unix-socket server, capability negotiation, command
 * dispatch and events, following QEMU's docs/interop/qmp-spec.rst.
 *
 * Wire format: the server greets with {"QMP": {...}}; a client must send
 * qmp_capabilities first; each command is {"execute": NAME, "arguments":
 * {...}, "id": ANY} and gets {"return": ...} or {"error": {"class", "desc"}}
 * with the id echoed; events are {"event", "data", "timestamp"}.  Lines end
 * in CRLF as QEMU's do.  Not implemented: out-of-band execution ("oob"
 * capability, "exec-oob"), human-monitor-command.
 *
 * Hostile clients: one pending command is bounded by QMP_MAX_INPUT, queued
 * output by QMP_MAX_OUTPUT (a client that does not read is dropped), and
 * malformed JSON discards the buffered input, as QEMU's streamer resyncs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "irq.h"
#include "dm.h"
#include "hvlink.h"
#include "log.h"
#include "loop.h"
#include "qmp.h"

#define QMP_VERSION_MAJOR 0
#define QMP_VERSION_MINOR 1
#define QMP_VERSION_MICRO 0

struct qmp_session {
	struct dm_qmp *q;
	int fd;
	struct loop_ev *ev;
	bool negotiated;
	bool closing; /* close once the output drained */
	char in[QMP_MAX_INPUT];
	size_t in_len;
	struct json_buf out;
	size_t out_off;
};

struct qmp_table {
	const struct qmp_command *cmds;
	size_t n;
	void *opaque;
};

struct qmp_chardev {
	char *label;
	char *filename;
};

struct dm_qmp {
	struct dm *dm;
	int listen_fd;
	struct loop_ev *listen_ev;
	char *path;
	struct qmp_session *sessions[QMP_MAX_SESSIONS];
	struct qmp_table tables[QMP_MAX_TABLES];
	unsigned nr_tables;
	struct qmp_chardev chardevs[QMP_MAX_CHARDEVS];
	unsigned nr_chardevs;
	qmp_key_fn key_fn;
	void *key_opaque;
};

static const struct qmp_command builtin_commands[];
static const size_t nr_builtin_commands;

static struct dm_qmp *qmp_get(struct dm *dm)
{
	struct dm_qmp *q = dm->qmp;

	if (q)
		return q;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->dm = dm;
	q->listen_fd = -1;
	q->tables[0].cmds = builtin_commands;
	q->tables[0].n = nr_builtin_commands;
	q->nr_tables = 1;
	dm->qmp = q;
	return q;
}

int qmp_error_class(struct qmp_req *req, const char *cls, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req->err_desc, sizeof(req->err_desc), fmt, ap);
	va_end(ap);
	req->err_class = cls;
	return -EINVAL;
}

int qmp_error(struct qmp_req *req, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req->err_desc, sizeof(req->err_desc), fmt, ap);
	va_end(ap);
	req->err_class = "GenericError";
	return -EINVAL;
}

/* ---- output ---- */

static void session_close(struct qmp_session *s)
{
	struct dm_qmp *q = s->q;
	unsigned i;

	for (i = 0; i < QMP_MAX_SESSIONS; i++)
		if (q->sessions[i] == s)
			q->sessions[i] = NULL;
	if (s->ev)
		loop_del(s->ev);
	close(s->fd);
	json_buf_free(&s->out);
	free(s);
}

/*
 * Give up on a session from inside a handler (it may be the session being
 * served): drop its output and shut the socket down, so the loop reports
 * a hang-up and session_cb() frees it outside any dispatch.
 */
static void session_kill(struct qmp_session *s)
{
	s->closing = true;
	s->out.len = 0;
	s->out_off = 0;
	shutdown(s->fd, SHUT_RDWR);
}

/* Write what is queued; 0, or -errno when the session must go. */
static int session_flush(struct qmp_session *s)
{
	ssize_t w;

	while (s->out_off < s->out.len) {
		w = send(s->fd, s->out.p + s->out_off, s->out.len - s->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		s->out_off += (size_t)w;
	}
	if (s->out_off == s->out.len) {
		s->out.len = 0;
		s->out_off = 0;
	}
	if (s->ev)
		loop_set_events(s->ev, LOOP_IN | (s->out.len ? LOOP_OUT : 0));
	return 0;
}

/* Queue one message (compact JSON + CRLF); drops sessions that do not read. */
static int session_send(struct qmp_session *s, const struct json *msg)
{
	json_write(&s->out, msg);
	json_buf_put(&s->out, "\r\n", 2);
	if (s->out.oom || s->out.len - s->out_off > QMP_MAX_OUTPUT) {
		dm_warn("qmp", "client not reading its output, dropping the session");
		return -ENOBUFS;
	}
	return session_flush(s);
}

static struct json *timestamp_now(void)
{
	struct json *ts = json_new_object();
	struct timeval tv;

	gettimeofday(&tv, NULL);
	json_object_set(ts, "seconds", json_new_int(tv.tv_sec));
	json_object_set(ts, "microseconds", json_new_int(tv.tv_usec));
	return ts;
}

void qmp_event(struct dm *dm, const char *name, struct json *data)
{
	struct dm_qmp *q = dm->qmp;
	struct json *ev;
	unsigned i;

	if (!q) {
		json_free(data);
		return;
	}
	ev = json_new_object();
	json_object_set(ev, "event", json_new_str(name));
	if (data)
		json_object_set(ev, "data", data);
	json_object_set(ev, "timestamp", timestamp_now());
	for (i = 0; i < QMP_MAX_SESSIONS; i++) {
		struct qmp_session *s = q->sessions[i];

		if (s && s->negotiated && !s->closing && session_send(s, ev))
			session_kill(s);
	}
	json_free(ev);
}

/* ---- built-in commands ---- */

static int cmd_capabilities(struct qmp_req *req)
{
	/* Handled in dispatch (needs the session); reached only when negotiated. */
	return qmp_error_class(req, "CommandNotFound",
			       "Capabilities negotiation is already complete, command ignored");
}

static struct json *version_object(void)
{
	struct json *v = json_new_object();
	struct json *qemu = json_new_object();

	json_object_set(qemu, "major", json_new_int(QMP_VERSION_MAJOR));
	json_object_set(qemu, "minor", json_new_int(QMP_VERSION_MINOR));
	json_object_set(qemu, "micro", json_new_int(QMP_VERSION_MICRO));
	json_object_set(v, "qemu", qemu);
	json_object_set(v, "package", json_new_str("hvmdm"));
	return v;
}

static int cmd_query_version(struct qmp_req *req)
{
	req->ret = version_object();
	return 0;
}

static int cmd_query_status(struct qmp_req *req)
{
	struct dm *dm = req->dm;
	const char *st = dm->shutdown_reason >= 0 ? "shutdown"
			 : dm_is_paused(dm)	  ? "paused"
						  : "running";

	req->ret = json_new_object();
	json_object_set(req->ret, "status", json_new_str(st));
	json_object_set(req->ret, "running", json_new_bool(!strcmp(st, "running")));
	json_object_set(req->ret, "singlestep", json_new_bool(false));
	return 0;
}

static int cmd_query_name(struct qmp_req *req)
{
	req->ret = json_new_object();
	if (req->dm->cfg.name)
		json_object_set(req->ret, "name", json_new_str(req->dm->cfg.name));
	return 0;
}

static int cmd_query_uuid(struct qmp_req *req)
{
	const char *u = req->dm->cfg.uuid ? req->dm->cfg.uuid
					  : "00000000-0000-0000-0000-000000000000";

	req->ret = json_new_object();
	json_object_set(req->ret, "UUID", json_new_str(u));
	return 0;
}

static int cmd_query_chardev(struct qmp_req *req)
{
	struct dm_qmp *q = req->dm->qmp;
	unsigned i;

	req->ret = json_new_array();
	for (i = 0; i < q->nr_chardevs; i++) {
		struct json *c = json_new_object();

		json_object_set(c, "label", json_new_str(q->chardevs[i].label));
		json_object_set(c, "filename", json_new_str(q->chardevs[i].filename));
		json_object_set(c, "frontend-open", json_new_bool(true));
		json_array_add(req->ret, c);
	}
	return 0;
}

static int cmd_query_commands(struct qmp_req *req)
{
	struct dm_qmp *q = req->dm->qmp;
	unsigned t;
	size_t i;

	req->ret = json_new_array();
	for (t = 0; t < q->nr_tables; t++) {
		for (i = 0; i < q->tables[t].n; i++) {
			struct json *c = json_new_object();

			json_object_set(c, "name", json_new_str(q->tables[t].cmds[i].name));
			json_array_add(req->ret, c);
		}
	}
	return 0;
}

static int cmd_stop(struct qmp_req *req)
{
	bool was = req->dm->paused;
	int r = dm_pause(req->dm, true);

	if (r)
		return qmp_error(req, "cannot pause the domain: %s", strerror(-r));
	if (!was)
		qmp_event(req->dm, "STOP", NULL);
	return 0;
}

static int cmd_cont(struct qmp_req *req)
{
	bool was = req->dm->paused;
	int r;

	if (req->dm->shutdown_reason >= 0)
		return qmp_error(req, "the domain is shutting down");
	r = dm_pause(req->dm, false);
	if (r)
		return qmp_error(req, "cannot resume the domain: %s", strerror(-r));
	if (was)
		qmp_event(req->dm, "RESUME", NULL);
	return 0;
}

static struct json *host_reason(const char *reason)
{
	struct json *d = json_new_object();

	json_object_set(d, "guest", json_new_bool(false));
	json_object_set(d, "reason", json_new_str(reason));
	return d;
}

static int cmd_system_reset(struct qmp_req *req)
{
	dm_request_shutdown_host(req->dm, HVM_SHUTDOWN_REBOOT);
	qmp_event(req->dm, "RESET", host_reason("host-qmp-system-reset"));
	return 0;
}

static int cmd_system_powerdown(struct qmp_req *req)
{
	struct dm *dm = req->dm;

	if (!dm->powerdown)
		return qmp_error(req, "this machine has no ACPI power button (acpi=0?)");
	dm->powerdown(dm->powerdown_opaque);
	qmp_event(dm, "POWERDOWN", NULL);
	return 0;
}

static int cmd_quit(struct qmp_req *req)
{
	qmp_event(req->dm, "SHUTDOWN", host_reason("host-qmp-quit"));
	req->quit = true; /* acted on in quit_now(), once the reply is out */
	return 0;
}

/*
 * QEMU exits at once and, under Xen, the toolstack then destroys the
 * domain.  Without its dm the domain cannot run, so ask the hypervisor to
 * destroy it: it then ends with HVM_EXIT_DESTROYED rather than a crash that
 * on_crash=restart would bring back.  The hypervisor may go away before it
 * answers, which is why the QMP reply has been written already.
 */
static void quit_now(struct dm *dm)
{
	int r;

	dm_info("qmp", "quit requested over QMP");
	if (dm->setup_sock >= 0) {
		r = hvlink_call(dm, HVM_MSG_DESTROY, NULL, 0, NULL, 0, NULL, 0, NULL);
		if (r)
			dm_warn("qmp", "quit: DESTROY request: %s", strerror(-r));
	}
	if (dm->loop)
		loop_quit(dm->loop);
}

/* QKeyCode names (QEMU qapi/ui.json). */
static const char *const qcodes[] = {
	"unmapped",
	"shift",
	"shift_r",
	"alt",
	"alt_r",
	"ctrl",
	"ctrl_r",
	"menu",
	"esc",
	"1",
	"2",
	"3",
	"4",
	"5",
	"6",
	"7",
	"8",
	"9",
	"0",
	"minus",
	"equal",
	"backspace",
	"tab",
	"q",
	"w",
	"e",
	"r",
	"t",
	"y",
	"u",
	"i",
	"o",
	"p",
	"bracket_left",
	"bracket_right",
	"ret",
	"a",
	"s",
	"d",
	"f",
	"g",
	"h",
	"j",
	"k",
	"l",
	"semicolon",
	"apostrophe",
	"grave_accent",
	"backslash",
	"z",
	"x",
	"c",
	"v",
	"b",
	"n",
	"m",
	"comma",
	"dot",
	"slash",
	"asterisk",
	"spc",
	"caps_lock",
	"f1",
	"f2",
	"f3",
	"f4",
	"f5",
	"f6",
	"f7",
	"f8",
	"f9",
	"f10",
	"num_lock",
	"scroll_lock",
	"kp_divide",
	"kp_multiply",
	"kp_subtract",
	"kp_add",
	"kp_enter",
	"kp_decimal",
	"sysrq",
	"kp_0",
	"kp_1",
	"kp_2",
	"kp_3",
	"kp_4",
	"kp_5",
	"kp_6",
	"kp_7",
	"kp_8",
	"kp_9",
	"less",
	"f11",
	"f12",
	"print",
	"home",
	"pgup",
	"pgdn",
	"end",
	"left",
	"up",
	"down",
	"right",
	"insert",
	"delete",
	"stop",
	"again",
	"props",
	"undo",
	"front",
	"copy",
	"open",
	"paste",
	"find",
	"cut",
	"lf",
	"help",
	"meta_l",
	"meta_r",
	"compose",
	"pause",
	"ro",
	"hiragana",
	"henkan",
	"yen",
	"muhenkan",
	"katakanahiragana",
	"kp_comma",
	"kp_equals",
	"power",
	"sleep",
	"wake",
	"audionext",
	"audioprev",
	"audiostop",
	"audioplay",
	"audiomute",
	"volumeup",
	"volumedown",
	"mediaselect",
	"mail",
	"calculator",
	"computer",
	"ac_home",
	"ac_back",
	"ac_forward",
	"ac_refresh",
	"ac_bookmarks",
	"lang1",
	"lang2",
	"f13",
	"f14",
	"f15",
	"f16",
	"f17",
	"f18",
	"f19",
	"f20",
	"f21",
	"f22",
	"f23",
	"f24",
};

static const char *find_qcode(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(qcodes) / sizeof(qcodes[0]); i++)
		if (!strcmp(qcodes[i], name))
			return qcodes[i];
	return NULL;
}

static int parse_key(struct qmp_req *req, const struct json *k, struct qmp_key *out)
{
	const char *type = json_get_str(k, "type");
	const struct json *data = json_get(k, "data");

	if (!type || !data)
		return qmp_error(req, "each key needs 'type' and 'data'");
	if (!strcmp(type, "qcode")) {
		if (data->type != JSON_STRING)
			return qmp_error(req, "a qcode key's 'data' must be a string");
		out->qcode = find_qcode(data->s);
		if (!out->qcode)
			return qmp_error(req, "Parameter 'keys.data' does not accept value '%.64s'",
					 data->s);
		return 0;
	}
	if (!strcmp(type, "number")) {
		if (data->type != JSON_NUMBER || !data->is_int || data->i < 0 || data->i > 0xffff)
			return qmp_error(req, "a number key's 'data' must be 0..65535");
		out->qcode = NULL;
		out->number = (int)data->i;
		return 0;
	}
	return qmp_error(req, "key type must be 'qcode' or 'number'");
}

static int cmd_send_key(struct qmp_req *req)
{
	struct dm_qmp *q = req->dm->qmp;
	const struct json *keys = json_get(req->args, "keys");
	struct qmp_key k[QMP_MAX_KEYS];
	int64_t hold = 100; /* QEMU's default hold time in ms */
	size_t i;
	int r;

	if (!keys || keys->type != JSON_ARRAY || keys->len == 0)
		return qmp_error(req, "Parameter 'keys' is missing or not a non-empty array");
	if (keys->len > QMP_MAX_KEYS)
		return qmp_error(req, "at most %d keys at once", QMP_MAX_KEYS);
	r = json_get_int(req->args, "hold-time", &hold);
	if (r == -EINVAL || hold < 0 || hold > 60000)
		return qmp_error(req, "Parameter 'hold-time' must be 0..60000 ms");
	for (i = 0; i < keys->len; i++) {
		r = parse_key(req, keys->v[i], &k[i]);
		if (r)
			return r;
	}
	if (!q->key_fn)
		return qmp_error(req, "this machine has no keyboard input router");
	r = q->key_fn(q->key_opaque, k, (unsigned)keys->len, (unsigned)hold);
	if (r)
		return qmp_error(req, "send-key failed: %s", strerror(-r));
	return 0;
}

static const struct qmp_command builtin_commands[] = {
	{ "qmp_capabilities", cmd_capabilities },
	{ "query-version", cmd_query_version },
	{ "query-status", cmd_query_status },
	{ "query-name", cmd_query_name },
	{ "query-uuid", cmd_query_uuid },
	{ "query-chardev", cmd_query_chardev },
	{ "query-commands", cmd_query_commands },
	{ "stop", cmd_stop },
	{ "cont", cmd_cont },
	{ "system_reset", cmd_system_reset },
	{ "system_powerdown", cmd_system_powerdown },
	{ "send-key", cmd_send_key },
	{ "quit", cmd_quit },
};
static const size_t nr_builtin_commands = sizeof(builtin_commands) / sizeof(builtin_commands[0]);

static const struct qmp_command *find_command(struct dm_qmp *q, const char *name, void **opaque)
{
	unsigned t;
	size_t i;

	for (t = 0; t < q->nr_tables; t++) {
		for (i = 0; i < q->tables[t].n; i++) {
			if (!strcmp(q->tables[t].cmds[i].name, name)) {
				*opaque = q->tables[t].opaque;
				return &q->tables[t].cmds[i];
			}
		}
	}
	return NULL;
}

int qmp_register_commands(struct dm *dm, const struct qmp_command *cmds, size_t n, void *opaque)
{
	struct dm_qmp *q = qmp_get(dm);
	void *unused;
	size_t i;

	if (!q)
		return -ENOMEM;
	if (q->nr_tables >= QMP_MAX_TABLES)
		return -ENOSPC;
	for (i = 0; i < n; i++)
		if (find_command(q, cmds[i].name, &unused))
			return -EEXIST;
	q->tables[q->nr_tables].cmds = cmds;
	q->tables[q->nr_tables].n = n;
	q->tables[q->nr_tables].opaque = opaque;
	q->nr_tables++;
	return 0;
}

int qmp_set_key_handler(struct dm *dm, qmp_key_fn fn, void *opaque)
{
	struct dm_qmp *q = qmp_get(dm);

	if (!q)
		return -ENOMEM;
	q->key_fn = fn;
	q->key_opaque = opaque;
	return 0;
}

int qmp_add_chardev(struct dm *dm, const char *label, const char *filename)
{
	struct dm_qmp *q = qmp_get(dm);
	struct qmp_chardev *c;

	if (!q)
		return -ENOMEM;
	if (q->nr_chardevs >= QMP_MAX_CHARDEVS)
		return -ENOSPC;
	c = &q->chardevs[q->nr_chardevs];
	c->label = strdup(label);
	c->filename = strdup(filename);
	if (!c->label || !c->filename) {
		free(c->label);
		free(c->filename);
		return -ENOMEM;
	}
	q->nr_chardevs++;
	return 0;
}

/* ---- dispatch ---- */

static struct json *error_reply(const char *cls, const char *desc)
{
	struct json *r = json_new_object();
	struct json *e = json_new_object();

	json_object_set(e, "class", json_new_str(cls));
	json_object_set(e, "desc", json_new_str(desc));
	json_object_set(r, "error", e);
	return r;
}

/* Deep copy through the writer and parser: ids are small. */
static struct json *json_clone(const struct json *j)
{
	char *s = json_to_string(j);
	struct json *c = NULL;

	if (s && json_parse_all(s, strlen(s), &c))
		c = NULL;
	free(s);
	return c;
}

static int check_members(struct qmp_req *req, const struct json *msg)
{
	size_t i;

	for (i = 0; i < msg->len; i++) {
		const char *k = msg->k[i];

		if (strcmp(k, "execute") && strcmp(k, "arguments") && strcmp(k, "id"))
			return qmp_error(req, "QMP input member '%.64s' is unexpected", k);
	}
	return 0;
}

/* Build the reply for one parsed message. */
static struct json *dispatch(struct qmp_session *s, const struct json *msg, bool *quit)
{
	struct dm_qmp *q = s->q;
	struct qmp_req req = { .dm = q->dm };
	const struct json *id = json_get(msg, "id");
	const struct json *args = NULL;
	const struct qmp_command *cmd;
	struct json *empty = NULL, *reply;
	const char *name;
	int r;

	if (msg->type != JSON_OBJECT) {
		qmp_error(&req, "QMP input must be a JSON object");
		id = NULL;
		goto out;
	}
	r = check_members(&req, msg);
	if (r)
		goto out;
	name = json_get_str(msg, "execute");
	if (!name) {
		qmp_error(&req, json_get(msg, "execute") ? "QMP input member 'execute' must be a "
							   "string"
							 : "QMP input lacks member 'execute'");
		goto out;
	}
	args = json_get(msg, "arguments");
	if (args && args->type != JSON_OBJECT) {
		qmp_error(&req, "QMP input member 'arguments' must be an object");
		goto out;
	}
	if (!args) {
		empty = json_new_object();
		args = empty;
	}
	if (!s->negotiated) {
		if (!strcmp(name, "qmp_capabilities")) {
			const struct json *en = json_get(args, "enable");

			if (en && (en->type != JSON_ARRAY || en->len))
				qmp_error(&req, "Capability negotiation: no capabilities are "
						"offered");
			else
				s->negotiated = true;
		} else {
			qmp_error_class(&req, "CommandNotFound",
					"Expecting capabilities negotiation with "
					"'qmp_capabilities'");
		}
		goto out;
	}
	cmd = find_command(q, name, &req.opaque);
	if (!cmd) {
		qmp_error_class(&req, "CommandNotFound", "The command %.64s has not been found",
				name);
		goto out;
	}
	req.args = args;
	r = cmd->fn(&req);
	if (r && !req.err_class)
		qmp_error(&req, "%s: %s", name, strerror(r < 0 ? -r : r));
	*quit = !r && req.quit;
out:
	json_free(empty);
	reply = json_new_object();
	if (req.err_class) {
		struct json *e = json_new_object();

		json_free(req.ret);
		json_object_set(e, "class", json_new_str(req.err_class));
		json_object_set(e, "desc", json_new_str(req.err_desc));
		json_object_set(reply, "error", e);
	} else {
		json_object_set(reply, "return", req.ret ? req.ret : json_new_object());
	}
	if (id)
		json_object_set(reply, "id", json_clone(id));
	return reply;
}

static void send_parse_error(struct qmp_session *s, const char *desc)
{
	struct json *r = error_reply("GenericError", desc);

	if (session_send(s, r))
		session_kill(s);
	json_free(r);
}

/* Parse and run every complete command in the input buffer. */
static void process_input(struct qmp_session *s)
{
	struct dm *dm = s->q->dm;
	size_t used;
	struct json *msg, *reply;
	bool quit = false;
	int r;

	while (s->in_len && !s->closing) {
		r = json_parse(s->in, s->in_len, &msg, &used);
		if (r == -EAGAIN) {
			if (s->in_len >= sizeof(s->in)) {
				send_parse_error(s, "QMP input exceeds the size limit");
				s->in_len = 0;
			}
			return;
		}
		if (r) {
			send_parse_error(s, r == -E2BIG ? "JSON nesting or size limit exceeded"
							: "JSON parse error");
			s->in_len = 0;
			return;
		}
		memmove(s->in, s->in + used, s->in_len - used);
		s->in_len -= used;
		reply = dispatch(s, msg, &quit);
		json_free(msg);
		if (!reply || session_send(s, reply))
			session_kill(s);
		json_free(reply);
		if (quit) {
			quit_now(dm);
			return;
		}
	}
}

static void session_cb(int fd, unsigned events, void *arg)
{
	struct qmp_session *s = arg;
	ssize_t n;

	if (events & LOOP_OUT && session_flush(s)) {
		session_close(s);
		return;
	}
	if (events & (LOOP_IN | LOOP_HUP | LOOP_ERR)) {
		n = recv(fd, s->in + s->in_len, sizeof(s->in) - s->in_len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			session_close(s);
			return;
		}
		if (n > 0) {
			s->in_len += (size_t)n;
			process_input(s);
		}
	}
	if (s->closing && s->out.len == 0)
		session_close(s);
}

int qmp_attach_fd(struct dm *dm, int fd)
{
	struct dm_qmp *q = qmp_get(dm);
	struct qmp_session *s;
	struct json *greet, *inner;
	unsigned i;

	if (!q) {
		close(fd);
		return -ENOMEM;
	}
	for (i = 0; i < QMP_MAX_SESSIONS && q->sessions[i]; i++)
		;
	if (i == QMP_MAX_SESSIONS) {
		dm_warn("qmp", "too many QMP clients, refusing one");
		close(fd);
		return -EBUSY;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->q = q;
	s->fd = fd;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	s->ev = loop_add_fd(dm->loop, fd, LOOP_IN, session_cb, s);
	if (!s->ev) {
		close(fd);
		free(s);
		return -ENOMEM;
	}
	q->sessions[i] = s;
	greet = json_new_object();
	inner = json_new_object();
	json_object_set(inner, "version", version_object());
	json_object_set(inner, "capabilities", json_new_array());
	json_object_set(greet, "QMP", inner);
	if (session_send(s, greet))
		session_kill(s);
	json_free(greet);
	return 0;
}

static void listen_cb(int fd, unsigned events, void *arg)
{
	struct dm_qmp *q = arg;
	int c;

	c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	qmp_attach_fd(q->dm, c);
}

int qmp_start(struct dm *dm, const char *path)
{
	struct dm_qmp *q = qmp_get(dm);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (!q)
		return -ENOMEM;
	if (q->listen_fd >= 0)
		return -EBUSY;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)) {
		r = -errno;
		goto err_close;
	}
	q->path = strdup(path);
	q->listen_ev = loop_add_fd(dm->loop, fd, LOOP_IN, listen_cb, q);
	if (!q->path || !q->listen_ev) {
		r = -ENOMEM;
		goto err_unlink;
	}
	q->listen_fd = fd;
	dm_info("qmp", "QMP monitor on %s", path);
	return 0;
err_unlink:
	unlink(path);
	free(q->path);
	q->path = NULL;
err_close:
	close(fd);
	return r;
}

void qmp_stop(struct dm *dm)
{
	struct dm_qmp *q = dm->qmp;
	unsigned i;

	if (!q)
		return;
	for (i = 0; i < QMP_MAX_SESSIONS; i++) {
		if (q->sessions[i]) {
			session_flush(q->sessions[i]);
			session_close(q->sessions[i]);
		}
	}
	if (q->listen_ev)
		loop_del(q->listen_ev);
	if (q->listen_fd >= 0)
		close(q->listen_fd);
	if (q->path)
		unlink(q->path);
	free(q->path);
	for (i = 0; i < q->nr_chardevs; i++) {
		free(q->chardevs[i].label);
		free(q->chardevs[i].filename);
	}
	free(q);
	dm->qmp = NULL;
}
