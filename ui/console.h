/* SPDX-License-Identifier: MIT */
/*
 * console.h - the display side of the console layer: one mediator between
 * the graphics device that produces the picture (VGA, Cirrus, std VGA) and
 * the front ends that show it (VNC, SDL, screendump).
 *
 * The picture is one surface: a pixman image in x8r8g8b8 (32 bits per
 * pixel, native endian), owned by the console.  The source device draws into
 * it and reports what it changed with console_dirty(); front ends never
 * touch devices.  Every refresh period the console asks the source to update
 * the surface (source->refresh), then hands the accumulated dirty region to
 * every listener once, and clears it.  A mode change is console_resize():
 * listeners get resize() (VNC sends DesktopSize) before the next update.
 *
 * Loop thread only.  Front ends that run their own threads copy what they
 * need inside their callbacks.
 */
#ifndef UI_CONSOLE_H
#define UI_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include <pixman.h>

struct dm;
struct console;

#define CONSOLE_MAX_WIDTH 4096
#define CONSOLE_MAX_HEIGHT 4096
/*
 * Refresh period: 30 ms, the period QEMU's VNC server refreshes at while
 * the screen keeps changing (its GUI_REFRESH_INTERVAL_DEFAULT).  At 30 Hz a
 * client watching a scrolling console got 0.9 of QEMU's updates per second.
 */
#define CONSOLE_REFRESH_NS 30000000ull

/* The device that produces the picture. */
struct console_source_ops {
	/* Bring the surface up to date (draw what changed since the last call). */
	void (*refresh)(void *opaque);
	/* Mark everything as changed (a new listener needs a full picture). */
	void (*invalidate)(void *opaque);
};

/* A front end. */
struct console_listener_ops {
	void (*resize)(void *opaque, unsigned width, unsigned height);
	/* Rectangles of the surface that changed since the last update. */
	void (*update)(void *opaque, const pixman_region32_t *dirty);
};

/* The dm's console, created on first use (NULL only on allocation failure). */
struct console *console_of(struct dm *dm);
void console_destroy(struct dm *dm);

int console_set_source(struct console *c, const struct console_source_ops *ops, void *opaque);
int console_add_listener(struct console *c, const struct console_listener_ops *ops, void *opaque);
void console_remove_listener(struct console *c, void *opaque);

/* Resize the surface (clamped to 1..CONSOLE_MAX_*); contents become black.  0 or -errno. */
int console_resize(struct console *c, unsigned width, unsigned height);
pixman_image_t *console_surface(struct console *c);
unsigned console_width(const struct console *c);
unsigned console_height(const struct console *c);
/* Row pointer for drawing: y is clamped by the caller; NULL if out of range. */
uint32_t *console_row(struct console *c, unsigned y);
/* Report a changed rectangle (clipped to the surface). */
void console_dirty(struct console *c, int x, int y, int w, int h);

/* Run one refresh now (the timer does it every CONSOLE_REFRESH_NS). */
void console_refresh(struct console *c);
/* Start the refresh timer (front ends call it; no listeners, no work). */
void console_start(struct console *c);

/* Write the current picture to path as PNG or PPM ("png"/"ppm"; NULL: by extension). */
int console_screendump(struct console *c, const char *path, const char *format);

/* Register the QMP `screendump` command.  0 or -errno. */
int console_qmp_register(struct dm *dm);

#endif /* UI_CONSOLE_H */
