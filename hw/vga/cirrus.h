/* SPDX-License-Identifier: MIT */
/*
 * cirrus.h - state shared by the Cirrus Logic CL-GD5446 device (cirrus.c)
 * and its BitBLT engine (cirrus_blit.c).
 *
 * Register names follow the CL-GD5446 Technical Reference Manual (SRxx
 * sequencer, GRxx graphics controller, CRxx CRTC extensions).  The BitBLT
 * parameters live in GR20-GR3F (mirrored in the memory-mapped register
 * block at MMIO BAR offset 0x100 and at 0xB8000 of the VGA window).
 */
#ifndef HW_VGA_CIRRUS_H
#define HW_VGA_CIRRUS_H

#include <stdbool.h>
#include <stdint.h>

#include "vga.h"
#include "pci/pci.h"

#define CIRRUS_VRAM_SIZE (4u << 20) /* the CL-GD5446 addresses at most 4 MB */
#define CIRRUS_BAR0_SIZE (32u << 20)
#define CIRRUS_BLT_APERTURE 0x1000000u /* BAR0 offset of the host-data aperture */
#define CIRRUS_BLTBUF_SIZE 8192u       /* one scanline of host data, the maximum width */

/* GR30 BLT mode. */
#define CIRRUS_BLTMODE_BACKWARDS 0x01
#define CIRRUS_BLTMODE_MEMSYSDEST 0x02
#define CIRRUS_BLTMODE_MEMSYSSRC 0x04
#define CIRRUS_BLTMODE_TRANSPARENT 0x08
#define CIRRUS_BLTMODE_PIXELWIDTH 0x30
#define CIRRUS_BLTMODE_PATTERN 0x40
#define CIRRUS_BLTMODE_COLOREXPAND 0x80
/* GR31 BLT start/status. */
#define CIRRUS_BLT_BUSY 0x01
#define CIRRUS_BLT_START 0x02
#define CIRRUS_BLT_RESET 0x04
#define CIRRUS_BLT_FIFOUSED 0x10
#define CIRRUS_BLT_AUTOSTART 0x80
/* GR33 BLT mode extensions. */
#define CIRRUS_BLTMODEEXT_DWORDGRAN 0x01
#define CIRRUS_BLTMODEEXT_EXPINV 0x02
#define CIRRUS_BLTMODEEXT_SOLIDFILL 0x04

enum cirrus_blt_kind {
	CIRRUS_BLT_COPY,	/* source pixels (video or host) */
	CIRRUS_BLT_EXPAND,	/* monochrome source, one bit per pixel */
	CIRRUS_BLT_PATTERN,	/* 8x8 colour pattern */
	CIRRUS_BLT_PATTERN_EXP, /* 8x8 monochrome pattern */
	CIRRUS_BLT_FILL,	/* solid foreground */
};

/* One BitBLT operation, latched from GR20-GR33 when it starts. */
struct cirrus_blt {
	enum cirrus_blt_kind kind;
	uint32_t width, height; /* bytes per row, rows; both >= 1 */
	int64_t dpitch, spitch; /* negative for backward blits */
	uint32_t daddr, saddr;	/* masked with the VRAM size */
	uint8_t mode, modeext, rop, bypp;
	bool transparent, backward;
	uint32_t fg, bg;
	/* Host (system-to-video) source: bytes collected for the current row. */
	bool host;
	uint32_t row_bytes; /* host bytes per destination row (or the pattern size) */
	uint32_t buf_len;
	uint32_t rows_done;
	uint8_t buf[CIRRUS_BLTBUF_SIZE];
};

struct cirrus {
	struct vga vga;
	struct pci_func pci;
	struct io_region bar0, mmio;
	uint8_t shadow_gr0, shadow_gr1; /* full 8-bit GR0/GR1 (BLT bg/fg low byte) */
	uint8_t hidden_dac, hidden_dac_count;
	uint8_t hidden_palette[16 * 3]; /* cursor colours: entry 0 bg, entry 15 fg */
	uint32_t bank_base[2], bank_limit[2];
	uint16_t cursor_x, cursor_y;
	/* Scan-out state (what the last frame drew). */
	unsigned last_bpp;
	uint32_t last_start, last_pitch;
	bool cur_shown;
	unsigned cur_x, cur_y, cur_size;
	uint8_t cur_shadow[64 * 16]; /* cursor bitmap last drawn */
	struct cirrus_blt blt;
	bool lfb_trapped; /* BAR0's VRAM mapping withdrawn so accesses reach the dm */
	bool mirror_trap; /* the window mirror wants BAR0 to trap (vga_mirror.c) */
	uint8_t dirty_log[(CIRRUS_VRAM_SIZE >> 12) / 8];
};

/* cirrus.c: map or withdraw the direct framebuffer mapping as the mode needs. */
void cirrus_update_lfb(struct cirrus *s);

/* cirrus_blit.c */
/* GR31 was written with START rising (or GR2A with autostart): run or arm a blit. */
void cirrus_blt_start(struct cirrus *s);
/* Abandon a pending host-source blit; clear the status bits. */
void cirrus_blt_reset(struct cirrus *s);
/* True while a system-to-video blit waits for host data. */
bool cirrus_blt_host_pending(const struct cirrus *s);
/* One byte of host data (window, linear aperture, BitBLT aperture). */
void cirrus_blt_host_write(struct cirrus *s, uint8_t val);

#endif /* HW_VGA_CIRRUS_H */
