// SPDX-License-Identifier: MIT
/*
 * cirrus_blit.c - the CL-GD5446 BitBLT engine (CL-GD5446 Technical
 * Reference Manual, chapter "BitBLT Engine"; register summary GR20-GR33).
 *
 * Emulated: the 16 raster operations of GR32, forward and backward
 * (GR30 bit 0) video-to-video copies, source transparency against GR34/35
 * (8 and 16 bpp), colour expansion of a monochrome source (GR30 bit 7) with
 * the GR0/GR10-GR15 colours, inverted (GR33 bit 1) and transparent
 * expansion, 8x8 colour and monochrome patterns (GR30 bit 6), solid fill
 * (GR33 bit 2), and system-to-video blits (GR30 bit 2) whose source bytes
 * the CPU writes into the window or an aperture; they are collected a
 * scanline at a time.  Not emulated: video-to-system blits (GR30 bit 1),
 * the destination write mask (GR2F bits 5-7), line drawing.
 *
 * Safety (reliability.md invariants 5 and 7): one rectangle check,
 * rect_ok(), decides every blit, for the destination and for whatever
 * source the mode reads from VRAM, with the pitch sign of the direction,
 * in 64-bit arithmetic; nothing is divided by a guest value; and every
 * VRAM address is masked with the VRAM size inside the innermost loops
 * anyway (CVE-2014-8106, CVE-2016-9921/9922, CVE-2017-2615, CVE-2017-2620,
 * CVE-2017-7718, CVE-2017-7980, CVE-2017-15289, CVE-2017-18030).  Blits
 * never talk to the UI: the scan-out re-reads the dirty pages
 * (CVE-2016-9603).
 */
#include <string.h>

#include "cirrus.h"
#include "log.h"

/* Where a row's source bytes come from: VRAM at vaddr, or the host buffer. */
struct blt_src {
	bool video;
	int64_t vaddr;
	const uint8_t *buf;
	uint32_t len;
};

static uint8_t src_byte(const struct cirrus *s, const struct blt_src *src, uint64_t n)
{
	if (src->video)
		return s->vga.vram[(uint64_t)(src->vaddr + (int64_t)n) & s->vga.vram_mask];
	return n < src->len ? src->buf[n] : 0;
}

/* GR32 raster operation codes, applied bit by bit (so byte by byte). */
static uint8_t rop_apply(uint8_t rop, uint8_t d, uint8_t s)
{
	switch (rop) {
	case 0x00:
		return 0;
	case 0x05:
		return s & d;
	case 0x06:
		return d;
	case 0x09:
		return (uint8_t)(s & ~d);
	case 0x0b:
		return (uint8_t)~d;
	case 0x0d:
		return s;
	case 0x0e:
		return 0xff;
	case 0x50:
		return (uint8_t)(~s & d);
	case 0x59:
		return s ^ d;
	case 0x6d:
		return s | d;
	case 0x90:
		return (uint8_t)(~s | ~d);
	case 0x95:
		return (uint8_t) ~(s ^ d);
	case 0xad:
		return (uint8_t)(s | ~d);
	case 0xd0:
		return (uint8_t)~s;
	case 0xd6:
		return (uint8_t)(~s | d);
	case 0xda:
		return (uint8_t)(~s & ~d);
	default:
		return d; /* undefined codes leave the destination alone */
	}
}

/* One pixel (bypp bytes from dst upwards) combined with col by the ROP. */
static void put_pixel(struct cirrus *s, int64_t dst, uint32_t col)
{
	uint8_t *vram = s->vga.vram;
	unsigned i;

	for (i = 0; i < s->blt.bypp; i++) {
		uint32_t a = (uint32_t)((uint64_t)(dst + i) & s->vga.vram_mask);

		vram[a] = rop_apply(s->blt.rop, vram[a], (uint8_t)(col >> (8 * i)));
	}
}

/* Same, but the result is dropped when it equals the transparent colour (GR34/35). */
static void put_pixel_keyed(struct cirrus *s, int64_t dst, uint32_t col, uint32_t key)
{
	uint8_t *vram = s->vga.vram, out[4];
	uint32_t r = 0;
	unsigned i, n = s->blt.bypp;

	for (i = 0; i < n; i++) {
		uint32_t a = (uint32_t)((uint64_t)(dst + i) & s->vga.vram_mask);

		out[i] = rop_apply(s->blt.rop, vram[a], (uint8_t)(col >> (8 * i)));
		r |= (uint32_t)out[i] << (8 * i);
	}
	if (r == key)
		return;
	for (i = 0; i < n; i++)
		vram[(uint64_t)(dst + i) & s->vga.vram_mask] = out[i];
}

/*
 * The one rectangle check: `height` rows of `width` bytes, row y at
 * addr + y * pitch.  A row runs upwards from its address when pitch > 0
 * and downwards (ending at its address) when pitch < 0, as backward blits
 * walk.  Every byte must lie inside VRAM.  A zero pitch is refused, as the
 * reference model does.  64-bit: width <= 8192, height <= 8192, |pitch| <
 * 8192, so nothing overflows.
 */
static bool rect_ok(const struct cirrus *s, uint32_t addr, int64_t pitch, uint64_t width,
		    uint64_t height)
{
	int64_t vram = s->vga.vram_size, last;

	if (!width || !height || !pitch || width > CIRRUS_BLTBUF_SIZE || addr >= vram)
		return false;
	last = (int64_t)addr + (int64_t)(height - 1) * pitch;
	if (pitch > 0)
		return last + (int64_t)width <= vram;
	return last - (int64_t)(width - 1) >= 0;
}

static uint32_t blt_colour(const struct cirrus *s, bool fg)
{
	const uint8_t *gr = s->vga.gr;

	if (fg)
		return (uint32_t)s->shadow_gr1 | (uint32_t)gr[0x11] << 8 |
		       (uint32_t)gr[0x13] << 16 | (uint32_t)gr[0x15] << 24;
	return (uint32_t)s->shadow_gr0 | (uint32_t)gr[0x10] << 8 | (uint32_t)gr[0x12] << 16 |
	       (uint32_t)gr[0x14] << 24;
}

/* Left-edge skip of expansions and patterns (GR2F bits 0-2, 24 bpp: a byte count). */
static unsigned skip_pixels(const struct cirrus *s)
{
	unsigned sk = s->vga.gr[0x2f];

	if (s->blt.bypp == 3) /* bits 0-4 count bytes; keep a whole pixel inside 0..7 */
		return ((sk & 0x1f) / 3) & 7;
	return sk & 7;
}

/* ---- rows ---------------------------------------------------------- */

static void row_copy(struct cirrus *s, int64_t drow, const struct blt_src *src)
{
	struct cirrus_blt *b = &s->blt;
	uint32_t x, key = s->vga.gr[0x34] | (uint32_t)s->vga.gr[0x35] << 8;

	if (!b->transparent) {
		for (x = 0; x < b->width; x++) {
			int64_t d = b->backward ? drow - x : drow + x;
			uint32_t a = (uint32_t)((uint64_t)d & s->vga.vram_mask);
			uint8_t v = src_byte(s, src, b->backward ? (uint64_t) - (int64_t)x : x);

			s->vga.vram[a] = rop_apply(b->rop, s->vga.vram[a], v);
		}
		return;
	}
	if (b->bypp == 1)
		key &= 0xff;
	for (x = 0; x + b->bypp <= b->width; x += b->bypp) {
		/* Backward: the pixel ends at drow - x. */
		int64_t off = b->backward ? -(int64_t)x - (b->bypp - 1) : (int64_t)x;
		uint32_t col = src_byte(s, src, (uint64_t)off);

		if (b->bypp == 2)
			col |= (uint32_t)src_byte(s, src, (uint64_t)(off + 1)) << 8;
		put_pixel_keyed(s, drow + off, col, key);
	}
}

/* Monochrome source bits, MSB first; srcbits starts after the skipped pixels. */
static void row_expand(struct cirrus *s, int64_t drow, const struct blt_src *src, uint8_t pat)
{
	struct cirrus_blt *b = &s->blt;
	bool inv = b->modeext & CIRRUS_BLTMODEEXT_EXPINV;
	unsigned skip = skip_pixels(s);
	uint64_t n = skip;
	uint32_t x;

	for (x = skip * b->bypp; x + b->bypp <= b->width; x += b->bypp, n++) {
		unsigned bit;

		if (b->kind == CIRRUS_BLT_PATTERN_EXP)
			bit = (pat >> (7 - (n & 7))) & 1;
		else
			bit = (src_byte(s, src, n / 8) >> (7 - (n & 7))) & 1;
		if (b->transparent) {
			/* Only set bits draw (cleared bits with GR33 bit 1, in the bg colour). */
			if (bit ^ inv)
				put_pixel(s, drow + x, inv ? b->bg : b->fg);
		} else {
			put_pixel(s, drow + x, bit ? b->fg : b->bg);
		}
	}
}

/* Bytes per row of an 8x8 colour pattern. */
static unsigned pattern_pitch(unsigned bypp)
{
	return bypp == 3 ? 32 : 8 * bypp;
}

static void row_pattern(struct cirrus *s, int64_t drow, const struct blt_src *src, unsigned py)
{
	struct cirrus_blt *b = &s->blt;
	unsigned skip = skip_pixels(s), px = skip, i, pp = pattern_pitch(b->bypp);
	uint32_t x;

	for (x = skip * b->bypp; x + b->bypp <= b->width; x += b->bypp, px = (px + 1) & 7) {
		uint32_t col = 0;

		for (i = 0; i < b->bypp; i++)
			col |= (uint32_t)src_byte(s, src, py * pp + px * b->bypp + i) << (8 * i);
		put_pixel(s, drow + x, col);
	}
}

static void row_fill(struct cirrus *s, int64_t drow)
{
	uint32_t x;

	for (x = 0; x + s->blt.bypp <= s->blt.width; x += s->blt.bypp)
		put_pixel(s, drow + x, s->blt.fg);
}

static void mark_row(struct cirrus *s, int64_t drow)
{
	int64_t lo = s->blt.backward ? drow - (int64_t)(s->blt.width - 1) : drow;

	/* vga_mark_dirty masks the start and clamps the end (CVE-2017-18030). */
	vga_mark_dirty(&s->vga, (uint32_t)((uint64_t)lo & s->vga.vram_mask), s->blt.width);
}

/* Destination row y of the latched blit from the given source. */
static void blt_row(struct cirrus *s, uint32_t y, const struct blt_src *src)
{
	struct cirrus_blt *b = &s->blt;
	int64_t drow = (int64_t)b->daddr + (int64_t)y * b->dpitch;
	unsigned py = (b->saddr + y) & 7;

	switch (b->kind) {
	case CIRRUS_BLT_COPY:
		row_copy(s, drow, src);
		break;
	case CIRRUS_BLT_EXPAND:
		row_expand(s, drow, src, 0);
		break;
	case CIRRUS_BLT_PATTERN_EXP:
		row_expand(s, drow, src, src_byte(s, src, py));
		break;
	case CIRRUS_BLT_PATTERN:
		row_pattern(s, drow, src, py);
		break;
	case CIRRUS_BLT_FILL:
		row_fill(s, drow);
		break;
	}
	mark_row(s, drow);
}

/* ---- start, host data, reset ---------------------------------------- */

void cirrus_blt_reset(struct cirrus *s)
{
	s->vga.gr[0x31] &= (uint8_t) ~(CIRRUS_BLT_START | CIRRUS_BLT_BUSY | CIRRUS_BLT_FIFOUSED);
	s->blt.host = false;
	s->blt.buf_len = 0;
	s->blt.rows_done = 0;
	cirrus_update_lfb(s);
}

bool cirrus_blt_host_pending(const struct cirrus *s)
{
	return s->blt.host;
}

/* Source bytes one monochrome row needs (the first byte is always fetched). */
static uint32_t expand_row_bytes(const struct cirrus *s)
{
	uint32_t npix = s->blt.width / s->blt.bypp, skip = skip_pixels(s);

	if (npix <= skip)
		return 1;
	return (npix - 1) / 8 + 1;
}

/* Latch GR20-GR33 into s->blt; false when the combination is not a blit. */
static bool blt_latch(struct cirrus *s)
{
	struct cirrus_blt *b = &s->blt;
	const uint8_t *gr = s->vga.gr;
	uint32_t m = s->vga.vram_mask;
	uint8_t mode = gr[0x30];

	b->width = ((uint32_t)gr[0x20] | (uint32_t)(gr[0x21] & 0x1f) << 8) + 1;
	b->height = ((uint32_t)gr[0x22] | (uint32_t)(gr[0x23] & 0x1f) << 8) + 1;
	b->dpitch = gr[0x24] | (gr[0x25] & 0x1f) << 8;
	b->spitch = gr[0x26] | (gr[0x27] & 0x1f) << 8;
	b->daddr = ((uint32_t)gr[0x28] | (uint32_t)gr[0x29] << 8 | (uint32_t)gr[0x2a] << 16) & m;
	b->saddr = ((uint32_t)gr[0x2c] | (uint32_t)gr[0x2d] << 8 | (uint32_t)gr[0x2e] << 16) & m;
	b->mode = mode;
	b->modeext = gr[0x33];
	b->rop = gr[0x32];
	b->bypp = (uint8_t)(((mode & CIRRUS_BLTMODE_PIXELWIDTH) >> 4) + 1);
	b->transparent = mode & CIRRUS_BLTMODE_TRANSPARENT;
	b->backward = false;
	b->host = false;
	b->fg = blt_colour(s, true);
	b->bg = blt_colour(s, false);
	if (mode & CIRRUS_BLTMODE_MEMSYSDEST) /* video-to-system: not emulated */
		return false;
	if ((b->modeext & CIRRUS_BLTMODEEXT_SOLIDFILL) &&
	    (mode &
	     (CIRRUS_BLTMODE_TRANSPARENT | CIRRUS_BLTMODE_PATTERN | CIRRUS_BLTMODE_COLOREXPAND)) ==
		    (CIRRUS_BLTMODE_PATTERN | CIRRUS_BLTMODE_COLOREXPAND)) {
		b->kind = CIRRUS_BLT_FILL;
		return true;
	}
	if (mode & CIRRUS_BLTMODE_PATTERN) {
		b->kind = mode & CIRRUS_BLTMODE_COLOREXPAND ? CIRRUS_BLT_PATTERN_EXP
							    : CIRRUS_BLT_PATTERN;
		return true;
	}
	if (mode & CIRRUS_BLTMODE_COLOREXPAND) {
		b->kind = CIRRUS_BLT_EXPAND;
		return true;
	}
	b->kind = CIRRUS_BLT_COPY;
	/* Keyed copies exist for 8 and 16 bpp only. */
	if (b->transparent && b->bypp > 2)
		return false;
	/* Backward walks both rectangles from their last byte; host data always forward. */
	if ((mode & CIRRUS_BLTMODE_BACKWARDS) && !(mode & CIRRUS_BLTMODE_MEMSYSSRC)) {
		b->backward = true;
		b->dpitch = -b->dpitch;
		b->spitch = -b->spitch;
	}
	return true;
}

/* Pattern source: the 8 (mono) or 8 * pattern_pitch bytes; video ones are aligned. */
static uint32_t pattern_size(const struct cirrus_blt *b)
{
	return b->kind == CIRRUS_BLT_PATTERN_EXP ? 8 : 8 * pattern_pitch(b->bypp);
}

static void blt_video(struct cirrus *s)
{
	struct cirrus_blt *b = &s->blt;
	struct blt_src src = { .video = true };
	uint32_t y, psize;
	bool ok = rect_ok(s, b->daddr, b->dpitch, b->width, b->height);

	switch (b->kind) {
	case CIRRUS_BLT_COPY:
		ok = ok && rect_ok(s, b->saddr, b->spitch, b->width, b->height);
		/* Forward rows overlapping the next row are refused as the reference does. */
		if (!b->backward && b->height > 1 &&
		    (b->dpitch < (int64_t)b->width || b->spitch < (int64_t)b->width))
			ok = false;
		break;
	case CIRRUS_BLT_EXPAND:
		ok = ok &&
		     rect_ok(s, b->saddr, expand_row_bytes(s), expand_row_bytes(s), b->height);
		break;
	case CIRRUS_BLT_PATTERN:
	case CIRRUS_BLT_PATTERN_EXP:
		psize = pattern_size(b);
		b->saddr &= ~(psize - 1);
		ok = ok && rect_ok(s, b->saddr, psize, psize, 1);
		break;
	case CIRRUS_BLT_FILL:
		break;
	}
	if (!ok) {
		dm_guest_err("cirrus", "blit refused: %ux%u dst %#x/%lld src %#x/%lld mode %#x",
			     b->width, b->height, b->daddr, (long long)b->dpitch, b->saddr,
			     (long long)b->spitch, b->mode);
		return;
	}
	for (y = 0; y < b->height; y++) {
		if (b->kind == CIRRUS_BLT_COPY)
			src.vaddr = (int64_t)b->saddr + (int64_t)y * b->spitch;
		else if (b->kind == CIRRUS_BLT_EXPAND)
			src.vaddr = (int64_t)b->saddr + (int64_t)y * expand_row_bytes(s);
		else
			src.vaddr = b->saddr;
		blt_row(s, y, &src);
	}
}

/* Arm a system-to-video blit: the destination is checked now, rows run as data arrives. */
static bool blt_host_arm(struct cirrus *s)
{
	struct cirrus_blt *b = &s->blt;
	uint32_t npix = b->width / b->bypp;

	if (!rect_ok(s, b->daddr, b->dpitch, b->width, b->height))
		return false;
	switch (b->kind) {
	case CIRRUS_BLT_PATTERN:
	case CIRRUS_BLT_PATTERN_EXP:
		b->row_bytes = pattern_size(b);
		break;
	case CIRRUS_BLT_EXPAND:
		/* Rows padded to a byte, or to a dword with GR33 bit 0. */
		if (b->modeext & CIRRUS_BLTMODEEXT_DWORDGRAN)
			b->row_bytes = ((npix + 31) / 32) * 4;
		else
			b->row_bytes = (npix + 7) / 8;
		break;
	case CIRRUS_BLT_COPY:
		b->row_bytes = (b->width + 3) & ~3u; /* host rows are dword padded */
		break;
	case CIRRUS_BLT_FILL:
		return false; /* solid fills never take host data (see cirrus_blt_start) */
	}
	if (!b->row_bytes || b->row_bytes > CIRRUS_BLTBUF_SIZE)
		return false;
	b->host = true;
	b->buf_len = 0;
	b->rows_done = 0;
	cirrus_update_lfb(s); /* host data written to the framebuffer must reach the dm */
	return true;
}

void cirrus_blt_host_write(struct cirrus *s, uint8_t val)
{
	struct cirrus_blt *b = &s->blt;
	struct blt_src src = { .video = false, .buf = b->buf };
	uint32_t y;

	if (!b->host || b->buf_len >= b->row_bytes || b->row_bytes > sizeof(b->buf))
		return;
	b->buf[b->buf_len++] = val;
	if (b->buf_len < b->row_bytes)
		return;
	src.len = b->row_bytes;
	if (b->kind == CIRRUS_BLT_PATTERN || b->kind == CIRRUS_BLT_PATTERN_EXP) {
		for (y = 0; y < b->height; y++)
			blt_row(s, y, &src);
		cirrus_blt_reset(s);
		return;
	}
	blt_row(s, b->rows_done, &src);
	b->buf_len = 0;
	if (++b->rows_done >= b->height)
		cirrus_blt_reset(s);
}

void cirrus_blt_start(struct cirrus *s)
{
	s->vga.gr[0x31] |= CIRRUS_BLT_BUSY;
	if (!blt_latch(s)) {
		cirrus_blt_reset(s);
		return;
	}
	if ((s->blt.mode & CIRRUS_BLTMODE_MEMSYSSRC) && s->blt.kind != CIRRUS_BLT_FILL) {
		if (!blt_host_arm(s))
			cirrus_blt_reset(s);
		return;
	}
	blt_video(s);
	cirrus_blt_reset(s);
}
