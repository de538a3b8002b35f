/* SPDX-License-Identifier: MIT */
/*
 * qmp.h - the QEMU Machine Protocol monitor of hvmdm (docs/interop/qmp-spec
 * of QEMU): JSON commands over a unix stream socket, served on the dm loop.
 *
 * Built-in commands: qmp_capabilities, query-status, query-version,
 * query-name, query-uuid, query-chardev, query-commands, stop, cont,
 * system_reset, system_powerdown, send-key, quit.  Devices add their own
 * commands (eject, screendump, ...) with qmp_register_commands(), which
 * works before or after qmp_start().  Events (SHUTDOWN, STOP, RESUME,
 * POWERDOWN, RESET, ...) go to every session that finished negotiation.
 * Loop thread only (qmp_event() included).
 */
#ifndef DM_QMP_H
#define DM_QMP_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"

struct dm;

#define QMP_MAX_SESSIONS 8
#define QMP_MAX_INPUT 65536	 /* bytes of one pending command */
#define QMP_MAX_OUTPUT (1 << 20) /* queued replies/events before a session is dropped */
#define QMP_MAX_TABLES 16
#define QMP_MAX_CHARDEVS 8
#define QMP_MAX_KEYS 16 /* keys in one send-key */

/* One command invocation, handed to a handler. */
struct qmp_req {
	struct dm *dm;
	void *opaque;		 /* as given to qmp_register_commands() */
	const struct json *args; /* always an object (empty when absent) */
	struct json *ret;	 /* handler's result; {} when left NULL */
	const char *err_class;	 /* set by qmp_error() */
	char err_desc[256];
	bool quit; /* set by `quit`: stop the loop once the reply is out */
};

/* Return 0 with req->ret set (or NULL for {}), or the result of qmp_error(). */
typedef int (*qmp_fn)(struct qmp_req *req);

struct qmp_command {
	const char *name;
	qmp_fn fn;
};

/* Fill in a GenericError reply; returns -EINVAL so handlers can `return qmp_error(...)`. */
int qmp_error(struct qmp_req *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same with an explicit class ("DeviceNotFound", "CommandNotFound", ...). */
int qmp_error_class(struct qmp_req *req, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Add a static const table of n commands; `opaque` reaches each handler as
 * req->opaque.  Later tables may not redefine a name (-EEXIST).  Returns 0,
 * -ENOSPC past QMP_MAX_TABLES, or -ENOMEM.
 */
int qmp_register_commands(struct dm *dm, const struct qmp_command *cmds, size_t n, void *opaque);

/* Listen on the unix socket PATH (a stale socket is replaced).  0 or -errno. */
int qmp_start(struct dm *dm, const char *path);
/* Serve a session on an already connected stream fd (tests, -qmp stdio).  Takes the fd. */
int qmp_attach_fd(struct dm *dm, int fd);
/* Close every session and the listener, unlink the socket, free dm->qmp. */
void qmp_stop(struct dm *dm);

/*
 * Broadcast {"event": name, "data": data, "timestamp": {...}}; takes data
 * (may be NULL for no data member).  A no-op without a monitor.
 */
void qmp_event(struct dm *dm, const char *name, struct json *data);

/* Record a character device for query-chardev (e.g. "serial0", "pty:/dev/pts/3"). */
int qmp_add_chardev(struct dm *dm, const char *label, const char *filename);

/* One key of send-key: a QKeyCode name, or a raw number when qcode is NULL. */
struct qmp_key {
	const char *qcode;
	int number;
};

/*
 * Where send-key goes (the input router installs this).  The handler presses
 * the keys in order, holds them hold_ms, and releases them in reverse order.
 */
typedef int (*qmp_key_fn)(void *opaque, const struct qmp_key *keys, unsigned n, unsigned hold_ms);
int qmp_set_key_handler(struct dm *dm, qmp_key_fn fn, void *opaque);

#endif /* DM_QMP_H */
