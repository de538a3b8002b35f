/* SPDX-License-Identifier: MIT */
/*
 * vga.h - the standard VGA core shared by std VGA (stdvga.c) and the Cirrus
 * CL-GD5446 (cirrus.c): the register file (vga.c), the legacy memory window
 * (vga.c) and the scan-out into the console surface (vga_draw.c).
 *
 * Reference: IBM VGA technical reference (registers, memory maps, read and
 * write modes) and the FreeVGA documentation of it.  VRAM is a memfd so an
 * extended device can map its linear framebuffer straight into the guest;
 * the four planes are interleaved byte by byte (plane p of address a lives
 * at vram[a * 4 + p]), which makes chain-4 and linear modes plain byte
 * addressing.  Every VRAM offset is masked with vram_mask at the moment of
 * use.
 */
#ifndef HW_VGA_VGA_H
#define HW_VGA_VGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "hvm/setup.h"
#include "iospace.h"

struct dm;
struct console;

#define VGA_MIN_VRAM (256u << 10)

/* Hooks for extended modes (Bochs VBE, Cirrus): drawn instead of the VGA modes. */
struct vga_ext_ops {
	/* true if an extended graphics mode is active and was drawn. */
	bool (*draw)(void *opaque, bool full);
	/*
	 * MMIO mirror (vga_mirror.c), both optional: whether the extension
	 * leaves the legacy window to the VGA core right now (no bank, no
	 * MMIO registers in it), and withdraw (on) or restore the direct
	 * framebuffer mapping, whose writes would bypass the mirror.
	 */
	bool (*window_plain)(void *opaque);
	void (*mirror_trap)(void *opaque, bool on);
};

/* Maps the image into the guest (vga_mirror.c; unit tests bring their own). */
struct vga_mirror_map_ops {
	int (*map)(struct dm *dm, uint64_t gpa, uint64_t size, int fd, uint64_t offset);
	int (*unmap)(struct dm *dm, uint64_t gpa, uint64_t size);
};

/* The dm's half of the window's MMIO mirror (vga_mirror.c); hdr NULL: off. */
struct vga_mirror {
	struct hvm_mmio_mirror_hdr *hdr;
	uint8_t *image; /* 128 KiB: 0xA0000-0xBFFFF */
	int fd;
	unsigned misses;       /* synchronous reads that found it invalid */
	unsigned write_misses; /* window writes that found it invalid */
	bool want_validate;    /* at the guest's next synchronous request */
	uint64_t rebuilds;     /* statistics, logged at the end */
	/*
	 * The live range of the image mapped into the guest as memory: the
	 * image holds the window's bytes, VRAM catches up in vga_mirror_sync().
	 */
	const struct vga_mirror_map_ops *map_ops; /* NULL: never map */
	bool mapped;
	bool chain4;	  /* while mapped: window byte o is VRAM byte o */
	uint8_t plane_hi; /* while mapped, odd/even: GR4 bit 1 */
	uint32_t map_off; /* while mapped: the live range */
	uint32_t map_len;
	uint64_t maps;	 /* statistics */
	uint64_t folded; /* bytes the guest changed in the mapped image */
};

/*
 * Writes that only latch display state may be posted through the buffered
 * ring (io_ops.posted_writes): attribute controller 0x3C0, misc output 0x3C2,
 * DAC 0x3C6-0x3C9 and the CRTC index/data pairs (cursor and start address,
 * a dozen per console line).  Sequencer and graphics controller writes stay
 * synchronous: they decide how the memory window is decoded, and a card may
 * map or unmap guest memory in answer to them.
 */
#define VGA_POSTED_3C0 (1u << 0 | 1u << 2 | 1u << 6 | 1u << 7 | 1u << 8 | 1u << 9)
#define VGA_POSTED_CRTC 0x3u

struct vga {
	struct dm *dm;
	uint8_t *vram;
	uint32_t vram_size; /* power of two */
	uint32_t vram_mask;
	int vram_fd;

	uint8_t misc; /* misc output */
	uint8_t sr_index, sr[256];
	uint8_t gr_index, gr[256];
	uint8_t cr_index, cr[256];
	uint8_t ar_index, ar[21];
	bool ar_flipflop; /* false: next 0x3C0 write is an index */
	uint8_t dac_read_index, dac_write_index, dac_sub, dac_state, dac_mask;
	uint8_t dac_cache[3];
	uint8_t palette[768]; /* 6-bit RGB per entry */
	uint8_t feature;
	uint32_t latch;

	struct io_region pio_3c0, pio_3b4, pio_3d4, pio_3ba, pio_3da;
	struct io_region mem; /* 0xA0000-0xBFFFF */

	/* Scan-out state (vga_draw.c). */
	struct console *con;
	const struct vga_ext_ops *ext;
	void *ext_opaque;
	uint32_t *dirty; /* bit per 4 KiB page of VRAM written through the window */
	bool full_redraw;
	unsigned last_w, last_h;
	uint8_t last_mode; /* what was drawn: 0 none, 1 text, 2 graphics, 3 extended */
	uint32_t last_cursor;
	uint32_t palette_rgb[256]; /* DAC as 0x00RRGGBB */
	bool palette_dirty;
	uint64_t blink_epoch;
	bool blink_on;
	uint8_t *shadow; /* last drawn text cells, to redraw only changes */
	uint32_t shadow_len;

	struct vga_mirror mirror;
};

/* Allocate VRAM (a memfd, also mapped here) and register ports and the window. */
int vga_init(struct vga *v, struct dm *dm, uint32_t vram_size);
void vga_exit(struct vga *v);
void vga_reset(struct vga *v);
/* Map the legacy ports and the 0xA0000 window.  0 or -errno. */
int vga_map_legacy(struct vga *v);

/* Register file access by port (0x3B0-0x3DF); extended devices filter first. */
uint8_t vga_ioport_read(struct vga *v, uint16_t port);
void vga_ioport_write(struct vga *v, uint16_t port, uint8_t val);
/* Legacy window access at offset from 0xA0000. */
uint8_t vga_mem_readb(struct vga *v, uint32_t addr);
void vga_mem_writeb(struct vga *v, uint32_t addr, uint8_t val);

/* Mark VRAM bytes [off, off+len) changed (writes that bypass the window). */
void vga_mark_dirty(struct vga *v, uint32_t off, uint32_t len);
/* Whether any page of [off, off+len) changed; clear those pages. */
bool vga_test_dirty(struct vga *v, uint32_t off, uint32_t len);
void vga_clear_dirty(struct vga *v, uint32_t off, uint32_t len);

/*
 * Pull the hypervisor's dirty log of a framebuffer mapped at gpa (all of
 * VRAM) into v->dirty; scratch holds the bitmap (a bit per 4 KiB page).
 * Does nothing when the mapping is not live or scratch is too small.
 */
void vga_pull_dirty_log(struct vga *v, bool mapped, uint64_t gpa, uint8_t *scratch, size_t cap);

/* vga_draw.c: attach to the console and draw on refresh. */
int vga_display_init(struct vga *v, const struct vga_ext_ops *ext, void *ext_opaque);
void vga_invalidate(struct vga *v);
/* Standard 16-colour DAC value of palette index i as 0x00RRGGBB. */
uint32_t vga_palette_rgb(const struct vga *v, uint8_t i);

/*
 * vga_mirror.c.  Offer the hypervisor the window's mirror, with the mode
 * ports whose writes change how the window decodes (0 when it is off or
 * refused; window reads then stay synchronous).  Devices call it after
 * vga_display_init().
 */
int vga_mirror_start(struct vga *v, const struct hvm_range *ports, unsigned n);
/* Create the image without offering it (vga_mirror_start(); unit tests). */
int vga_mirror_create(struct vga *v);
void vga_mirror_destroy(struct vga *v);
/*
 * The window's contents or decoding changed by a path the hv does not see,
 * or is about to: a mapped image is unmapped and folded into VRAM first.
 * Callers hold the guest stopped in a synchronous request (see vga_mirror.c).
 */
void vga_mirror_invalidate(struct vga *v);
/* Before VRAM is read (scan-out): fold the guest's writes to a mapped image. */
void vga_mirror_sync(struct vga *v);
/* A window write reached us at offset off (from 0xA0000). */
void vga_mirror_window_write(struct vga *v, uint64_t off);
/* A synchronous window read reached us: maybe rebuild and validate. */
void vga_mirror_window_read(struct vga *v);
/*
 * Rebuild the image and store VALID if the window decodes simply (callers
 * make sure the guest is stopped).  true when it validated.
 */
bool vga_mirror_try_validate(struct vga *v);
bool vga_mirror_valid(const struct vga *v);
const uint8_t *vga_mirror_image(const struct vga *v);
/*
 * Whether the VGA core's window decodes simply now (see vga_mirror.c), and
 * which part of 0xA0000-0xBFFFF decodes (offsets from 0xA0000).
 */
bool vga_window_simple(const struct vga *v, uint32_t *live_off, uint32_t *live_len);

/* True while the CRTC is in vertical retrace (from the virtual clock, 60 Hz). */
bool vga_in_retrace(const struct vga *v);

#endif /* HW_VGA_VGA_H */
