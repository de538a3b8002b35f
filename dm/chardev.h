/* SPDX-License-Identifier: MIT */
/*
 * chardev.h - character backends for serial ports (and any other byte-stream
 * frontend): the host end of a UART.
 *
 * Specs (QEMU's -serial spelling, which xl.cfg's serial= passes through):
 *   null                     discard output, never any input
 *   none                     no backend at all: chardev_open() succeeds with
 *                            *out == NULL (the machine builder skips the port)
 *   vc                       no virtual console yet: behaves as null
 *   stdio                    the dm's stdin/stdout (a tty is put in raw mode)
 *   pty                      a new pseudo-terminal; chardev_pty_path() names
 *                            the slave for `hvmctl console`
 *   file:PATH                output appended to PATH (truncated at open)
 *   unix:PATH[,server]       a stream socket: connect to PATH, or listen on it
 *   tcp:HOST:PORT[,server]   the same over TCP (HOST may be empty: loopback for
 *                            clients, any address for servers)
 *   telnet:HOST:PORT[,...]   accepted as tcp: (no telnet negotiation)
 *   /dev/...                 a host character device (tty), both directions
 * Flags "nowait", "wait" and "nodelay" are accepted and ignored: servers
 * never block start-up.
 *
 * Flow control, both directions bounded:
 *   - input: the backend reads its fd only while the frontend's can_read()
 *     says there is room, and never more than that; when the frontend has
 *     room again it calls chardev_accept_input().  Nothing is ever dropped.
 *   - output: chardev_write() copies into a bounded buffer
 *     (CHARDEV_OUTBUF_SIZE) that the loop drains.  When the buffer is full it
 *     accepts fewer bytes than offered and calls the frontend's write_ready()
 *     once space frees up; a UART keeps the bytes in its TX FIFO meanwhile, so
 *     the guest sees THRE clear (backpressure device-side).  While the backend
 *     has no peer (pty slave not open, socket not connected) output is
 *     discarded, like a cable that is not plugged in, so an unattended console
 *     never stalls the guest.
 *
 * Loop thread only.
 */
#ifndef DM_CHARDEV_H
#define DM_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dm_loop;
struct chardev;

#define CHARDEV_OUTBUF_SIZE 65536

/* Callbacks of the frontend (the device that owns the backend). */
struct chardev_fe_ops {
	/* Bytes the frontend can take now (0 stops reading the backend). */
	size_t (*can_read)(void *opaque);
	/* Deliver len (<= the last can_read()) bytes. */
	void (*read)(void *opaque, const uint8_t *buf, size_t len);
	/* Output buffer space became available after a short chardev_write(). */
	void (*write_ready)(void *opaque);
	/* Peer connected (true) or went away (false); may be NULL. */
	void (*event)(void *opaque, bool connected);
};

/*
 * Open a backend from spec.  loop may be NULL only for null, none, vc and
 * file: (unit tests).  Returns 0 or -errno (-EINVAL for a malformed spec,
 * with a message saying what to fix).  "none" yields *out == NULL.
 */
int chardev_open(struct dm_loop *loop, const char *spec, struct chardev **out);
/* Close and free; NULL is a no-op.  A server unix socket's path is removed. */
void chardev_close(struct chardev *c);

/* Attach the frontend; ops == NULL detaches.  Starts reading when ops can. */
void chardev_attach(struct chardev *c, const struct chardev_fe_ops *ops, void *opaque);

/*
 * Queue len bytes for output.  Returns the number accepted (all of them while
 * disconnected: they are discarded); fewer than len means the buffer is full
 * and write_ready() follows when space frees up.
 */
size_t chardev_write(struct chardev *c, const uint8_t *buf, size_t len);
/* Bytes chardev_write() would accept now. */
size_t chardev_write_room(const struct chardev *c);
/* The frontend has room again: resume reading the backend. */
void chardev_accept_input(struct chardev *c);

/* True while a peer is attached (always true for stdio, file, null). */
bool chardev_connected(const struct chardev *c);
/* Slave path of a pty backend ("/dev/pts/N"), NULL for other kinds. */
const char *chardev_pty_path(const struct chardev *c);
/* Backend kind as a short string ("pty", "unix", ...) for logs and QMP query-chardev. */
const char *chardev_kind(const struct chardev *c);
/* The spec this backend was opened from. */
const char *chardev_spec(const struct chardev *c);
/* Listening address of a server socket (unix path or "host:port"), else NULL. */
const char *chardev_listen_addr(const struct chardev *c);

#endif /* DM_CHARDEV_H */
