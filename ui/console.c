// SPDX-License-Identifier: MIT
/*
 * console.c - the display mediator (see console.h): surface, dirty region,
 * refresh timer, listeners, and screendump to PNG (libpng) or PPM.
 */
#include "console.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dm.h"
#include "ioreq.h"
#include "json.h"
#include "log.h"
#include "qmp.h"

#define CONSOLE_MAX_LISTENERS 8

struct console_listener {
	const struct console_listener_ops *ops;
	void *opaque;
	bool needs_resize;
};

struct console {
	struct dm *dm;
	pixman_image_t *surface;
	pixman_region32_t dirty;
	const struct console_source_ops *src;
	void *src_opaque;
	struct console_listener l[CONSOLE_MAX_LISTENERS];
	unsigned nl;
	struct dm_timer timer;
	bool running;
};

struct console *console_of(struct dm *dm)
{
	struct console *c = dm->console;

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->dm = dm;
	pixman_region32_init(&c->dirty);
	if (console_resize(c, 640, 480)) {
		free(c);
		return NULL;
	}
	dm->console = c;
	return c;
}

void console_destroy(struct dm *dm)
{
	struct console *c = dm->console;

	if (!c)
		return;
	if (c->running)
		timer_del(&c->timer);
	pixman_region32_fini(&c->dirty);
	if (c->surface)
		pixman_image_unref(c->surface);
	free(c);
	dm->console = NULL;
}

int console_set_source(struct console *c, const struct console_source_ops *ops, void *opaque)
{
	if (c->src && ops)
		return -EBUSY;
	c->src = ops;
	c->src_opaque = opaque;
	return 0;
}

int console_add_listener(struct console *c, const struct console_listener_ops *ops, void *opaque)
{
	if (c->nl == CONSOLE_MAX_LISTENERS)
		return -ENOSPC;
	c->l[c->nl++] =
		(struct console_listener){ .ops = ops, .opaque = opaque, .needs_resize = true };
	if (c->src && c->src->invalidate)
		c->src->invalidate(c->src_opaque);
	console_dirty(c, 0, 0, (int)console_width(c), (int)console_height(c));
	return 0;
}

void console_remove_listener(struct console *c, void *opaque)
{
	unsigned i;

	for (i = 0; i < c->nl; i++) {
		if (c->l[i].opaque != opaque)
			continue;
		c->l[i] = c->l[--c->nl];
		return;
	}
}

int console_resize(struct console *c, unsigned width, unsigned height)
{
	pixman_image_t *img;
	unsigned i;

	width = width < 1 ? 1 : width > CONSOLE_MAX_WIDTH ? CONSOLE_MAX_WIDTH : width;
	height = height < 1 ? 1 : height > CONSOLE_MAX_HEIGHT ? CONSOLE_MAX_HEIGHT : height;
	if (c->surface && width == console_width(c) && height == console_height(c))
		return 0;
	/* pixman allocates and zeroes the bits: no stale bytes ever reach a client. */
	img = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)width, (int)height, NULL, 0);
	if (!img)
		return -ENOMEM;
	if (c->surface)
		pixman_image_unref(c->surface);
	c->surface = img;
	pixman_region32_fini(&c->dirty);
	pixman_region32_init_rect(&c->dirty, 0, 0, width, height);
	for (i = 0; i < c->nl; i++)
		c->l[i].needs_resize = true;
	return 0;
}

pixman_image_t *console_surface(struct console *c)
{
	return c->surface;
}

unsigned console_width(const struct console *c)
{
	return (unsigned)pixman_image_get_width(c->surface);
}

unsigned console_height(const struct console *c)
{
	return (unsigned)pixman_image_get_height(c->surface);
}

uint32_t *console_row(struct console *c, unsigned y)
{
	if (y >= console_height(c))
		return NULL;
	return (uint32_t *)((uint8_t *)pixman_image_get_data(c->surface) +
			    (size_t)y * (size_t)pixman_image_get_stride(c->surface));
}

void console_dirty(struct console *c, int x, int y, int w, int h)
{
	pixman_region32_t r;

	pixman_region32_init_rect(&r, x, y, w > 0 ? (unsigned)w : 0, h > 0 ? (unsigned)h : 0);
	pixman_region32_intersect_rect(&r, &r, 0, 0, console_width(c), console_height(c));
	pixman_region32_union(&c->dirty, &c->dirty, &r);
	pixman_region32_fini(&r);
}

void console_refresh(struct console *c)
{
	unsigned i;

	/* VGA writes the guest made before now may wait in the buffered ring */
	if (c->dm)
		ioreq_drain_buffered(c->dm);
	if (c->src && c->src->refresh)
		c->src->refresh(c->src_opaque);
	for (i = 0; i < c->nl; i++) {
		if (c->l[i].needs_resize) {
			c->l[i].needs_resize = false;
			c->l[i].ops->resize(c->l[i].opaque, console_width(c), console_height(c));
		}
	}
	if (!pixman_region32_not_empty(&c->dirty))
		return;
	for (i = 0; i < c->nl; i++)
		c->l[i].ops->update(c->l[i].opaque, &c->dirty);
	pixman_region32_clear(&c->dirty);
}

static void console_timer_cb(void *opaque)
{
	struct console *c = opaque;

	if (c->nl)
		console_refresh(c);
	timer_mod(&c->timer, clock_ns(c->dm->clock) + CONSOLE_REFRESH_NS);
}

void console_start(struct console *c)
{
	if (c->running || !c->dm->clock)
		return;
	c->running = true;
	timer_init(&c->timer, c->dm->clock, console_timer_cb, c);
	timer_mod(&c->timer, clock_ns(c->dm->clock) + CONSOLE_REFRESH_NS);
}

/* ---- screendump ------------------------------------------------------ */

static void pixel_rgb(uint32_t p, uint8_t *rgb)
{
	rgb[0] = (uint8_t)(p >> 16);
	rgb[1] = (uint8_t)(p >> 8);
	rgb[2] = (uint8_t)p;
}

static int dump_ppm(struct console *c, FILE *f)
{
	unsigned w = console_width(c), h = console_height(c), x, y;
	uint8_t rgb[3];

	fprintf(f, "P6\n%u %u\n255\n", w, h);
	for (y = 0; y < h; y++) {
		const uint32_t *row = console_row(c, y);

		for (x = 0; x < w; x++) {
			pixel_rgb(row[x], rgb);
			fwrite(rgb, 1, 3, f);
		}
	}
	return ferror(f) ? -EIO : 0;
}

static int dump_png(struct console *c, FILE *f)
{
	unsigned w = console_width(c), h = console_height(c), x, y;
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	uint8_t *line = malloc((size_t)w * 3);

	if (!png || !info || !line)
		goto err;
	if (setjmp(png_jmpbuf(png)))
		goto err;
	png_init_io(png, f);
	png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (y = 0; y < h; y++) {
		const uint32_t *row = console_row(c, y);

		for (x = 0; x < w; x++)
			pixel_rgb(row[x], line + 3 * x);
		png_write_row(png, line);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	free(line);
	return 0;
err:
	png_destroy_write_struct(&png, info ? &info : NULL);
	free(line);
	return -EIO;
}

int console_screendump(struct console *c, const char *path, const char *format)
{
	const char *ext = strrchr(path, '.');
	bool png = format ? !strcmp(format, "png") : (ext && !strcmp(ext, ".png"));
	FILE *f;
	int err;

	if (format && strcmp(format, "png") && strcmp(format, "ppm"))
		return -EINVAL;
	console_refresh(c);
	f = fopen(path, "wb");
	if (!f)
		return -errno;
	err = png ? dump_png(c, f) : dump_ppm(c, f);
	if (fclose(f) && !err)
		err = -EIO;
	return err;
}

static int qmp_screendump(struct qmp_req *req)
{
	const char *file = json_get_str(req->args, "filename");
	const char *fmt = json_get_str(req->args, "format");
	struct console *c = console_of(req->dm);
	int err;

	if (!file)
		return qmp_error(req, "Parameter 'filename' is missing");
	if (!c)
		return qmp_error(req, "no display");
	err = console_screendump(c, file, fmt);
	if (err)
		return qmp_error(req, "could not write '%s': %s", file, strerror(-err));
	return 0;
}

static const struct qmp_command console_qmp_cmds[] = {
	{ .name = "screendump", .fn = qmp_screendump },
};

int console_qmp_register(struct dm *dm)
{
	return qmp_register_commands(dm, console_qmp_cmds, 1, NULL);
}
