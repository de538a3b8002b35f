// SPDX-License-Identifier: MIT
/*
 * vga_draw.c - VGA scan-out into the console surface: text modes (8- and
 * 9-dot characters from the font in plane 2, blink, cursor), 16-colour
 * planar modes, 256-colour modes (chain-4 and unchained "mode X"), with
 * line doubling.  Only what changed is redrawn: text cells are compared with
 * a shadow copy, graphics lines are redrawn when their VRAM pages are dirty.
 * Every VRAM offset is masked with vram_mask where it is used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vga.h"
#include "console.h"
#include "dm.h"
#include "log.h"

#define VGA_MAX_COLS 160
#define VGA_MAX_ROWS 100
#define VGA_BLINK_NS 266666667ull /* cursor/attribute blink: 16 frames at 60 Hz */

enum {
	DRAWN_NONE = 0,
	DRAWN_TEXT,
	DRAWN_GRAPHICS,
	DRAWN_EXT,
};

static uint32_t dac_rgb(const struct vga *v, uint8_t i)
{
	const uint8_t *p = &v->palette[(i & v->dac_mask) * 3];

	/* 6-bit DAC components to 8 bits: replicate the top bits into the bottom. */
	return (uint32_t)(p[0] << 2 | p[0] >> 4) << 16 | (uint32_t)(p[1] << 2 | p[1] >> 4) << 8 |
	       (uint32_t)(p[2] << 2 | p[2] >> 4);
}

/* Attribute-controller palette index (0-15) to a DAC index. */
static uint8_t ar_to_dac(const struct vga *v, uint8_t idx)
{
	uint8_t c = v->ar[idx & 0x0f];

	if (v->ar[0x10] & 0x80) /* P5/P4 from the colour select register */
		c = (uint8_t)((c & 0x0f) | (v->ar[0x14] & 0x03) << 4);
	return (uint8_t)(c | (v->ar[0x14] & 0x0c) << 4);
}

uint32_t vga_palette_rgb(const struct vga *v, uint8_t i)
{
	return dac_rgb(v, ar_to_dac(v, i));
}

static void update_palette(struct vga *v)
{
	unsigned i;

	for (i = 0; i < 256; i++)
		v->palette_rgb[i] = dac_rgb(v, (uint8_t)i);
	v->palette_dirty = false;
	v->full_redraw = true;
}

static uint32_t start_address(const struct vga *v)
{
	return (uint32_t)v->cr[0x0c] << 8 | v->cr[0x0d];
}

static unsigned vertical_display_end(const struct vga *v)
{
	return (v->cr[0x12] | (v->cr[7] & 0x02) << 7 | (v->cr[7] & 0x40) << 3) + 1u;
}

static bool resize(struct vga *v, unsigned w, unsigned h, uint8_t mode)
{
	if (w == v->last_w && h == v->last_h && mode == v->last_mode)
		return false;
	console_resize(v->con, w, h);
	v->last_w = w;
	v->last_h = h;
	v->last_mode = mode;
	v->full_redraw = true;
	return true;
}

/* ---- text ------------------------------------------------------------ */

static uint32_t font_map_offset(unsigned map)
{
	static const uint32_t off[8] = { 0x0000, 0x4000, 0x8000, 0xc000,
					 0x2000, 0x6000, 0xa000, 0xe000 };

	return off[map & 7];
}

static void draw_glyph(struct vga *v, unsigned px, unsigned py, unsigned cw, unsigned ch, uint8_t c,
		       uint8_t attr, bool cursor, unsigned cur_start, unsigned cur_end)
{
	uint8_t sr3 = v->sr[3];
	uint32_t map = attr & 0x08 ? font_map_offset((sr3 >> 2 & 3) | (sr3 >> 3 & 4))
				   : font_map_offset((sr3 & 3) | (sr3 >> 2 & 4));
	uint32_t fg = v->palette_rgb[ar_to_dac(v, attr & 0x0f)];
	uint32_t bg = v->palette_rgb[ar_to_dac(v, (attr >> 4) & (v->ar[0x10] & 0x08 ? 7 : 15))];
	bool dup9 = cw == 9 && (v->ar[0x10] & 0x04) && c >= 0xc0 && c <= 0xdf;
	unsigned y, x;

	if ((v->ar[0x10] & 0x08) && (attr & 0x80) && !v->blink_on)
		fg = bg;
	for (y = 0; y < ch; y++) {
		uint32_t *row = console_row(v->con, py + y);
		uint8_t bits = v->vram[((map + c * 32u + y) * 4 + 2) & v->vram_mask];

		if (!row)
			return;
		if (cursor && y >= cur_start && y <= cur_end)
			bits = 0xff;
		for (x = 0; x < 8; x++)
			row[px + x] = bits & (0x80 >> x) ? fg : bg;
		if (cw == 9)
			row[px + 8] = dup9 && (bits & 1) ? fg : bg;
	}
}

static void draw_text(struct vga *v)
{
	unsigned cw = v->sr[1] & 1 ? 8 : 9, ch = (v->cr[9] & 0x1f) + 1u;
	unsigned cols = v->cr[1] + 1u, rows = vertical_display_end(v) / ch;
	uint32_t start = start_address(v), stride = v->cr[0x13] * 2u;
	uint32_t cursor = (uint32_t)v->cr[0x0e] << 8 | v->cr[0x0f];
	bool cursor_on = !(v->cr[0x0a] & 0x20) && v->blink_on;
	unsigned r, c, cur_start = v->cr[0x0a] & 0x1f, cur_end = v->cr[0x0b] & 0x1f;
	uint64_t now = clock_ns(v->dm->clock);
	bool blink = (now / VGA_BLINK_NS) & 1, word_mode = !(v->cr[0x17] & 0x40);

	if (cols > VGA_MAX_COLS)
		cols = VGA_MAX_COLS;
	if (!rows)
		rows = 1;
	if (rows > VGA_MAX_ROWS)
		rows = VGA_MAX_ROWS;
	if (blink != v->blink_on) {
		v->blink_on = blink;
		v->full_redraw = true; /* blinking attributes and the cursor change */
	}
	resize(v, cols * cw, rows * ch, DRAWN_TEXT);
	if (v->shadow_len < cols * rows * 2) {
		free(v->shadow);
		v->shadow = calloc(cols * rows, 2);
		v->shadow_len = v->shadow ? cols * rows * 2 : 0;
		v->full_redraw = true;
	}
	if (!v->shadow)
		return;
	if (cursor != v->last_cursor)
		v->full_redraw = true;
	v->last_cursor = cursor;
	for (r = 0; r < rows; r++) {
		for (c = 0; c < cols; c++) {
			/* Word mode (CR17 bit 6 clear): the CRTC fetches from address << 1,
			 * where odd/even writes put character c (plane 0) and its attribute
			 * (plane 1). */
			uint32_t a = start + r * stride + c;
			uint32_t off = ((word_mode ? a << 1 : a) * 4) & v->vram_mask;
			uint8_t chr = v->vram[off], attr = v->vram[(off + 1) & v->vram_mask];
			uint8_t *sh = &v->shadow[(r * cols + c) * 2];

			if (!v->full_redraw && sh[0] == chr && sh[1] == attr)
				continue;
			sh[0] = chr;
			sh[1] = attr;
			draw_glyph(v, c * cw, r * ch, cw, ch, chr, attr, cursor_on && a == cursor,
				   cur_start, cur_end);
			console_dirty(v->con, (int)(c * cw), (int)(r * ch), (int)cw, (int)ch);
		}
	}
	v->full_redraw = false;
}

/* ---- graphics -------------------------------------------------------- */

static void draw_line_planar(struct vga *v, uint32_t *row, uint32_t addr, unsigned w, bool half)
{
	uint8_t plane_mask = v->ar[0x12] & 0x0f;
	unsigned x = 0;

	while (x < w) {
		uint32_t off = (addr++ * 4) & v->vram_mask;
		uint8_t p0 = v->vram[off], p1 = v->vram[off + 1], p2 = v->vram[off + 2],
			p3 = v->vram[off + 3];
		int bit;

		for (bit = 7; bit >= 0 && x < w; bit--) {
			uint8_t idx = (uint8_t)(((p0 >> bit) & 1) | ((p1 >> bit) & 1) << 1 |
						((p2 >> bit) & 1) << 2 | ((p3 >> bit) & 1) << 3);
			uint32_t px = v->palette_rgb[ar_to_dac(v, idx & plane_mask)];

			row[x++] = px;
			if (half && x < w)
				row[x++] = px;
		}
	}
}

static void draw_line_256(struct vga *v, uint32_t *row, uint32_t addr, unsigned w)
{
	unsigned x;

	/* Four pixels per address, one from each plane (chain-4 or unchained). */
	for (x = 0; x < w; x++)
		row[x] = v->palette_rgb[v->vram[((addr + x / 4) * 4 + (x & 3)) & v->vram_mask]];
}

static void draw_graphics(struct vga *v)
{
	unsigned shift = (v->gr[5] >> 5) & 3, scan = (v->cr[9] & 0x1f) + 1u;
	unsigned w = (v->cr[1] + 1u) * 8, h = vertical_display_end(v), y;
	uint32_t start = start_address(v), stride = v->cr[0x13] * 2u, addr, span;
	bool half = v->sr[1] & 0x08;

	if (v->cr[9] & 0x80)
		scan *= 2;
	if (shift >= 2)
		w /= 2;
	else if (half)
		w /= 2;
	h /= scan;
	if (!h)
		h = 1;
	/*
	 * No doubleword scaling: chain-4 writes land at vram[byte] here (not at
	 * the planar address real hardware uses), so CR13 * 2 addresses is the
	 * line length in both chained and unchained 256-colour modes.
	 */
	if (w > CONSOLE_MAX_WIDTH || h > CONSOLE_MAX_HEIGHT)
		return;
	resize(v, w, h, DRAWN_GRAPHICS);
	/* VRAM bytes one line spans: 4 per address; 4 pixels (256-colour) or 8 per address. */
	span = (shift >= 2 ? (w + 3) / 4 : (half ? w / 2 : w) / 8 + 1) * 4;
	for (y = 0; y < h; y++) {
		uint32_t *row = console_row(v->con, y);

		addr = start + y * stride;
		if (!row)
			break;
		/* Test only: a page shared by several lines must stay dirty for all of them. */
		if (!v->full_redraw && !vga_test_dirty(v, addr * 4, span))
			continue;
		if (shift >= 2)
			draw_line_256(v, row, addr, w);
		else
			draw_line_planar(v, row, addr, w, half);
		console_dirty(v->con, 0, (int)y, (int)w, 1);
	}
	vga_clear_dirty(v, start * 4, (h ? h - 1 : 0) * stride * 4 + span);
	v->full_redraw = false;
}

static void vga_refresh(void *opaque)
{
	struct vga *v = opaque;

	vga_mirror_sync(v);
	if (v->palette_dirty)
		update_palette(v);
	if (v->ext && v->ext->draw(v->ext_opaque, v->full_redraw)) {
		v->last_mode = DRAWN_EXT;
		v->full_redraw = false;
		return;
	}
	if (v->last_mode == DRAWN_EXT)
		v->full_redraw = true;
	if (!(v->ar_index & 0x20)) {
		/* Palette address source clear: the screen is blanked. */
		resize(v, v->last_w ? v->last_w : 640, v->last_h ? v->last_h : 480, v->last_mode);
		return;
	}
	if (v->gr[6] & 1)
		draw_graphics(v);
	else
		draw_text(v);
}

void vga_invalidate(struct vga *v)
{
	v->full_redraw = true;
}

static void vga_invalidate_cb(void *opaque)
{
	vga_invalidate(opaque);
}

static const struct console_source_ops vga_source_ops = {
	.refresh = vga_refresh,
	.invalidate = vga_invalidate_cb,
};

int vga_display_init(struct vga *v, const struct vga_ext_ops *ext, void *ext_opaque)
{
	v->con = console_of(v->dm);
	if (!v->con)
		return -ENOMEM;
	v->ext = ext;
	v->ext_opaque = ext_opaque;
	return console_set_source(v->con, &vga_source_ops, v);
}
