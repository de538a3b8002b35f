// SPDX-License-Identifier: MIT
/*
 * test_console.c - the display mediator: resize and update ordering for
 * listeners, dirty-region clipping, refresh calling the source, the
 * refresh timer's period on the stepped clock (30 ms, as QEMU's VNC server
 * refreshes a changing screen), and screendump to PPM (pixel exact) and PNG
 * (valid signature and size).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "console.h"
#include "dm.h"
#include "tap.h"

struct lst {
	unsigned resizes, updates, w, h;
	pixman_box32_t extents;
};

static void l_resize(void *opaque, unsigned w, unsigned h)
{
	struct lst *l = opaque;

	l->resizes++;
	l->w = w;
	l->h = h;
	l->updates = 0;
}

static void l_update(void *opaque, const pixman_region32_t *dirty)
{
	struct lst *l = opaque;

	l->updates++;
	l->extents = *pixman_region32_extents((pixman_region32_t *)dirty);
}

static const struct console_listener_ops lops = { .resize = l_resize, .update = l_update };

static unsigned src_refreshes;

static void src_refresh(void *opaque)
{
	struct console *c = opaque;
	uint32_t *row = console_row(c, 3);

	src_refreshes++;
	row[5] = 0x00ff8040;
	console_dirty(c, 5, 3, 1, 1);
}

static const struct console_source_ops sops = { .refresh = src_refresh };

int main(void)
{
	char path[] = "/tmp/hvm-console-XXXXXX", png[64];
	unsigned char hdr[24];
	struct dm *dm;
	struct console *c;
	struct lst l = { 0 };
	FILE *f;
	int fd;

	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	c = console_of(dm);
	CHECK(c != NULL);
	CHECK_EQ(console_set_source(c, &sops, c), 0);
	CHECK_EQ(console_set_source(c, &sops, c), -EBUSY);
	CHECK_EQ(console_resize(c, 16, 8), 0);
	CHECK_EQ(console_add_listener(c, &lops, &l), 0);
	console_refresh(c);
	CHECK_EQ(l.resizes, 1);
	CHECK_EQ(l.w, 16);
	CHECK_EQ(l.h, 8);
	CHECK_EQ(l.updates, 1);
	CHECK_EQ(src_refreshes, 1);
	/* A second refresh only reports what the source changed. */
	console_refresh(c);
	CHECK_EQ(l.updates, 2);
	CHECK_EQ(l.extents.x1, 5);
	CHECK_EQ(l.extents.y1, 3);
	CHECK_EQ(l.extents.x2, 6);
	/* Dirty rectangles are clipped to the surface. */
	console_dirty(c, -10, -10, 1000, 1000);
	console_refresh(c);
	CHECK_EQ(l.extents.x2, 16);
	CHECK_EQ(l.extents.y2, 8);
	CHECK(console_row(c, 8) == NULL);
	/* Oversized modes are clamped, not refused. */
	CHECK_EQ(console_resize(c, 100000, 0), 0);
	CHECK_EQ(console_width(c), CONSOLE_MAX_WIDTH);
	CHECK_EQ(console_height(c), 1);
	CHECK_EQ(console_resize(c, 16, 8), 0);
	console_refresh(c);
	CHECK_EQ(l.resizes, 2); /* two resizes between refreshes reach listeners once */
	CHECK_EQ(l.w, 16);

	/* The timer refreshes every 30 ms of (virtual) time, not every 33.3 ms. */
	{
		uint64_t t0 = clock_ns(dm->clock);
		unsigned n0 = src_refreshes;

		console_start(c);
		clock_set(dm->clock, t0 + 30000000ull - 1);
		CHECK_EQ(src_refreshes, n0);
		clock_set(dm->clock, t0 + 30000000ull);
		CHECK_EQ(src_refreshes, n0 + 1);
		clock_set(dm->clock, t0 + 10 * 30000000ull);
		CHECK_EQ(src_refreshes, n0 + 10);
	}

	fd = mkstemp(path);
	close(fd);
	CHECK_EQ(console_screendump(c, path, "ppm"), 0);
	f = fopen(path, "rb");
	{
		char magic[3] = { 0 };
		unsigned w = 0, h = 0, max = 0;
		unsigned char px[16 * 8 * 3];

		CHECK_EQ(fscanf(f, "%2s %u %u %u", magic, &w, &h, &max), 4);
		fgetc(f);
		CHECK(!strcmp(magic, "P6"));
		CHECK_EQ(w, 16);
		CHECK_EQ(h, 8);
		CHECK_EQ(fread(px, 1, sizeof(px), f), sizeof(px));
		CHECK_EQ(px[(3 * 16 + 5) * 3 + 0], 0xff);
		CHECK_EQ(px[(3 * 16 + 5) * 3 + 1], 0x80);
		CHECK_EQ(px[(3 * 16 + 5) * 3 + 2], 0x40);
		CHECK_EQ(px[0], 0);
	}
	fclose(f);
	snprintf(png, sizeof(png), "%s.png", path);
	CHECK_EQ(console_screendump(c, png, NULL), 0);
	f = fopen(png, "rb");
	CHECK_EQ(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));
	fclose(f);
	CHECK(!memcmp(hdr, "\x89PNG\r\n\x1a\n", 8));
	CHECK_EQ(hdr[19], 16); /* IHDR width */
	CHECK_EQ(hdr[23], 8);
	CHECK_EQ(console_screendump(c, "/nonexistent/dir/x.png", NULL), -ENOENT);
	CHECK_EQ(console_screendump(c, path, "bmp"), -EINVAL);
	unlink(path);
	unlink(png);
	dm_destroy(dm);
	return tap_done();
}
