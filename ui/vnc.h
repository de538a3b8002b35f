/* SPDX-License-Identifier: MIT */
/*
 * vnc.h - the VNC server (libvncserver): the console picture to any RFB
 * 3.3/3.7/3.8 client and to noVNC over WebSocket on the same port, keyboard
 * (keysym tables per layout, or QEMU's Extended Key Event with raw
 * scancodes) and absolute pointer input into ui/input.h.
 *
 * Threads: libvncserver runs a listener and per-client input/output
 * threads.  They read a framebuffer that only the dm loop thread writes
 * (copied from the console surface), allocated once at the maximum mode
 * size so a resize can never leave a client thread reading past its end.
 * Input callbacks hand events to the loop with loop_post(), with a hard cap
 * on queued events.
 */
#ifndef UI_VNC_H
#define UI_VNC_H

#include <stdbool.h>

struct dm;

struct vnc_opts {
	const char *listen;   /* address, default 127.0.0.1 */
	int display;	      /* port 5900 + display */
	bool find_unused;     /* -vncunused: try the next ports when taken */
	const char *password; /* NULL or "": no authentication */
	const char *keymap;   /* NULL: en-us */
};

/* Start serving the dm's console.  0 or -errno (logged with the reason). */
int vnc_start(struct dm *dm, const struct vnc_opts *o);
void vnc_stop(struct dm *dm);
/* TCP port actually listened on, or -1. */
int vnc_port(const struct dm *dm);

#endif /* UI_VNC_H */
