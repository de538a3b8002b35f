// SPDX-License-Identifier: MIT
/*
 * cirrus.c - Cirrus Logic CL-GD5446 PCI display adapter (PCI 1013:00B8),
 * the default display of the machine as in Xen's qemu-dm.  Built on the VGA
 * core (vga.c): its register ports, the 0xA0000 window and BAR regions are
 * wrapped here so the Cirrus extensions see every access first.
 *
 * Reference: CL-GD5446 Technical Reference Manual (extension registers
 * SR6-SR1F, GR9-GR3F, CR19-CR27, the hidden DAC register, the BitBLT
 * engine and its memory-mapped registers), cross-checked against the
 * behaviour of QEMU's cirrus-vga, which guests and Debian's
 * vgabios-cirrus.bin are tested with.
 *
 * Emulated: extension unlock (SR6), extended sequencer mode (SR7: 8, 15,
 * 16, 24, 32 bpp; 15/16 chosen by the hidden DAC), memory configuration
 * readback (SR0F/SR15/SR17), the hardware cursor (SR10-SR13, 32x32 and
 * 64x64, colours from the hidden palette entries 0 and 15 selected by SR12
 * bit 1), single and dual 4K/16K banks through the window (GR9/GRA/GRB),
 * the extended write modes 4 and 5 and the x8/x16 addressing of GRB, the
 * CRTC extensions (CR1A/CR1B/CR1D start address and offset overflow), the
 * part ID CR27 = 0xB8, the BitBLT engine (cirrus_blit.c), and its registers
 * through GR20-GR3F, BAR1 (VGA ports at 0x00 = 0x3C0, BitBLT at 0x100) and
 * 0xB8000 (SR17 bit 2).
 *
 * BAR0 (32 MB, prefetchable): VRAM at 0, mapped into the guest from the
 * VRAM memfd with dirty logging; the host-data BitBLT aperture at 16 MB.
 * BAR1 (4 KB): memory-mapped registers.  Option ROM: vgabios-cirrus.bin.
 *
 * Not emulated: video-to-system blits, interlace (CR1A bit 0), the
 * big-endian apertures.
 *
 * The hypervisor serves the linear framebuffer straight from the VRAM memfd
 * (dirty-logged) while accesses there are plain memory.  Whenever they are
 * not - a system-to-video blit waits for host data, GRB selects x8/x16
 * addressing or write modes 4/5, or SR17 puts the BitBLT registers at the
 * top of the framebuffer - the mapping is withdrawn so the accesses trap
 * into bar0_read/bar0_write, as QEMU switches its memory regions.
 *
 * The hardware cursor is drawn over the surface (it is not in VRAM's
 * picture): rows under its old and new position are redrawn from VRAM when
 * it moves or its bitmap changes.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cirrus.h"
#include "console.h"
#include "device.h"
#include "dm.h"
#include "log.h"

#define CIRRUS_ROM "/usr/share/seabios/vgabios-cirrus.bin"
#define CIRRUS_VENDOR 0x1013
#define CIRRUS_DEVICE_5446 0x00b8
#define CIRRUS_CURSOR_AREA (16u << 10) /* cursor patterns: the last 16 KB of VRAM */

/* SR12 graphics cursor attribute. */
#define SR12_SHOW 0x01
#define SR12_HIDDEN_PAL 0x02
#define SR12_LARGE 0x04

static bool extended(const struct cirrus *s)
{
	return s->vga.sr[7] & 0x01;
}

/* ---- banks (GR9/GRA/GRB) ---------------------------------------------- */

static void update_bank(struct cirrus *s, unsigned idx)
{
	const uint8_t *gr = s->vga.gr;
	uint32_t off = (gr[0x0b] & 0x01) ? gr[0x09 + idx] : gr[0x09], limit;

	off <<= (gr[0x0b] & 0x20) ? 14 : 12; /* 16K or 4K granularity */
	limit = off < s->vga.vram_size ? s->vga.vram_size - off : 0;
	if (!(gr[0x0b] & 0x01) && idx) {
		/* Single bank: A8000-AFFFF continue where A0000-A7FFF end. */
		if (limit > 0x8000) {
			off += 0x8000;
			limit -= 0x8000;
		} else {
			limit = 0;
		}
	}
	s->bank_base[idx] = limit ? off : 0;
	s->bank_limit[idx] = limit;
}

static void update_banks(struct cirrus *s)
{
	update_bank(s, 0);
	update_bank(s, 1);
}

/* GRB bits 1 and 4 (with bit 2): x8 or x16 addressing for extended write modes. */
static uint32_t ext_address(const struct cirrus *s, uint64_t a)
{
	if ((s->vga.gr[0x0b] & 0x14) == 0x14)
		a <<= 4;
	else if (s->vga.gr[0x0b] & 0x02)
		a <<= 3;
	return (uint32_t)(a & s->vga.vram_mask);
}

/* Write modes 4 and 5: each data bit writes the foreground (or, mode 5, background). */
static void write_mode45(struct cirrus *s, unsigned mode, uint32_t a, uint8_t val)
{
	struct vga *v = &s->vga;
	bool wide = (v->gr[0x0b] & 0x14) == 0x14;
	unsigned x, bypp = wide ? 2 : 1;

	for (x = 0; x < 8; x++, val = (uint8_t)(val << 1)) {
		/* The address is masked on every pixel (CVE-2017-15289). */
		uint32_t d = (a + x * bypp) & v->vram_mask;

		if (val & 0x80) {
			v->vram[d] = s->shadow_gr1;
			if (wide)
				v->vram[(d + 1) & v->vram_mask] = v->gr[0x11];
		} else if (mode == 5) {
			v->vram[d] = s->shadow_gr0;
			if (wide)
				v->vram[(d + 1) & v->vram_mask] = v->gr[0x10];
		}
	}
	vga_mark_dirty(v, a, 8 * bypp);
}

static uint8_t vram_read_ext(struct cirrus *s, uint64_t a)
{
	return s->vga.vram[ext_address(s, a)];
}

static void vram_write_ext(struct cirrus *s, uint64_t a, uint8_t val)
{
	struct vga *v = &s->vga;
	uint32_t off = ext_address(s, a);
	unsigned mode = v->gr[5] & 7;

	if ((mode == 4 || mode == 5) && (v->gr[0x0b] & 0x04)) {
		write_mode45(s, mode, off, val);
		return;
	}
	v->vram[off] = val;
	vga_mark_dirty(v, off, 1);
}

/* ---- direct framebuffer mapping --------------------------------------- */

static void sync_dirty(struct cirrus *s);

/* Whether BAR0 accesses must reach the dm instead of plain VRAM. */
static bool lfb_must_trap(const struct cirrus *s)
{
	const uint8_t *gr = s->vga.gr;
	unsigned mode = gr[5] & 7;

	return s->mirror_trap || cirrus_blt_host_pending(s) || (gr[0x0b] & 0x02) ||
	       (gr[0x0b] & 0x14) == 0x14 || ((mode == 4 || mode == 5) && (gr[0x0b] & 0x04)) ||
	       (s->vga.sr[0x17] & 0x44) == 0x44;
}

/*
 * Withdraw the hypervisor's direct mapping of the framebuffer while BAR0
 * accesses must trap, and restore it afterwards (the bus keeps following
 * BAR moves either way).
 */
void cirrus_update_lfb(struct cirrus *s)
{
	bool trap = lfb_must_trap(s);

	if (trap == s->lfb_trapped || !s->pci.registered)
		return;
	s->lfb_trapped = trap;
	if (trap)
		sync_dirty(s); /* keep what the guest wrote so far */
	pci_bar_memfd_enable(&s->pci, 0, !trap);
}

/* ---- BitBLT registers ------------------------------------------------- */

static void gr_write(struct cirrus *s, uint8_t idx, uint8_t val);

/* Memory-mapped BitBLT register offset -> GR index (0xff: none). */
static uint8_t blt_reg_gr(unsigned off)
{
	static const uint8_t map[0x22] = {
		0x00, 0x10, 0x12, 0x14, 0x01, 0x11, 0x13, 0x15, /* bg, fg colours */
		0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, /* width .. src pitch */
		0x28, 0x29, 0x2a, 0xff, 0x2c, 0x2d, 0x2e, 0x2f, /* addresses, write mask */
		0x30, 0xff, 0x32, 0x33, 0x34, 0x35, 0xff, 0xff, /* mode, ROP, ext, key */
		0x38, 0x39,					/* key mask */
	};

	if (off == 0x40)
		return 0x31; /* status / start */
	return off < sizeof(map) ? map[off] : 0xff;
}

static uint8_t gr_read(struct cirrus *s, uint8_t idx);

static uint8_t blt_reg_read(struct cirrus *s, unsigned off)
{
	uint8_t g = blt_reg_gr(off);

	return g == 0xff ? 0xff : gr_read(s, g);
}

static void blt_reg_write(struct cirrus *s, unsigned off, uint8_t val)
{
	uint8_t g = blt_reg_gr(off);

	if (g != 0xff)
		gr_write(s, g, val);
}

static void blt_status_write(struct cirrus *s, uint8_t val)
{
	uint8_t old = s->vga.gr[0x31];

	s->vga.gr[0x31] = val;
	if ((old & CIRRUS_BLT_RESET) && !(val & CIRRUS_BLT_RESET))
		cirrus_blt_reset(s);
	else if (!(old & CIRRUS_BLT_START) && (val & CIRRUS_BLT_START))
		cirrus_blt_start(s);
}

/* ---- register file ---------------------------------------------------- */

static uint8_t sr_read(struct cirrus *s)
{
	uint8_t i = s->vga.sr_index;

	if ((i & 0x1e) == 0x10) /* SR10/SR11 and their aliases 0x30, 0x50, ... 0xF1 */
		return s->vga.sr[0x10 | (i & 1)];
	return i <= 0x1f ? s->vga.sr[i] : 0xff;
}

static void sr_write(struct cirrus *s, uint8_t val)
{
	struct vga *v = &s->vga;
	uint8_t i = v->sr_index;

	vga_mirror_invalidate(v); /* SR7 (extensions), SR17 (MMIO), SR2/SR4 */

	if ((i & 0x1e) == 0x10) {
		/* Cursor position: index bits 7-5 are the low three bits of the position. */
		v->sr[0x10 | (i & 1)] = val;
		if (i & 1)
			s->cursor_y = (uint16_t)(val << 3 | i >> 5);
		else
			s->cursor_x = (uint16_t)(val << 3 | i >> 5);
		return;
	}
	if (i <= 0x04) {
		vga_ioport_write(v, 0x3c5, val);
		return;
	}
	switch (i) {
	case 0x06: /* writing 0x12 unlocks the extensions; reads back 0x12 or 0x0F */
		v->sr[6] = (val & 0x17) == 0x12 ? 0x12 : 0x0f;
		break;
	case 0x07:
		v->sr[7] = val;
		v->full_redraw = true;
		break;
	case 0x17: /* bits 3-5 report the bus type */
		v->sr[0x17] = (uint8_t)((v->sr[0x17] & 0x38) | (val & 0xc7));
		cirrus_update_lfb(s);
		break;
	default:
		if (i <= 0x1f)
			v->sr[i] = val;
		break;
	}
}

static uint8_t gr_read(struct cirrus *s, uint8_t idx)
{
	if (idx == 0)
		return s->shadow_gr0;
	if (idx == 1)
		return s->shadow_gr1;
	return idx < 0x3a ? s->vga.gr[idx] : 0xff;
}

static void gr_write(struct cirrus *s, uint8_t idx, uint8_t val)
{
	struct vga *v = &s->vga;

	vga_mirror_invalidate(v); /* modes, banks, blits */

	switch (idx) {
	case 0x00: /* set/reset; all 8 bits are the BitBLT background low byte */
		s->shadow_gr0 = val;
		v->gr[0] = val & 0x0f;
		break;
	case 0x01:
		s->shadow_gr1 = val;
		v->gr[1] = val & 0x0f;
		break;
	case 0x02 ... 0x04:
	case 0x06 ... 0x08:
		v->gr[idx] = val;
		break;
	case 0x05: /* bits 0-2: write modes 0-5 */
		v->gr[5] = val & 0x7f;
		break;
	case 0x09 ... 0x0b:
		v->gr[idx] = val;
		update_banks(s);
		break;
	case 0x10 ... 0x15:
	case 0x20:
	case 0x22:
	case 0x24:
	case 0x26:
	case 0x28:
	case 0x29:
	case 0x2c:
	case 0x2d:
	case 0x2f:
	case 0x30:
	case 0x32:
	case 0x33:
	case 0x34:
	case 0x35:
	case 0x38:
	case 0x39:
		v->gr[idx] = val;
		break;
	case 0x21:
	case 0x23:
	case 0x25:
	case 0x27:
		v->gr[idx] = val & 0x1f;
		break;
	case 0x2a:
		v->gr[idx] = val & 0x3f;
		if (v->gr[0x31] & CIRRUS_BLT_AUTOSTART)
			cirrus_blt_start(s);
		break;
	case 0x2e:
		v->gr[idx] = val & 0x3f;
		break;
	case 0x31:
		blt_status_write(s, val);
		break;
	default:
		break;
	}
	cirrus_update_lfb(s);
}

static uint8_t cr_read(struct cirrus *s, uint8_t idx)
{
	struct vga *v = &s->vga;

	if (idx <= 0x18)
		return v->cr[idx];
	switch (idx) {
	case 0x24: /* attribute controller toggle readback */
		return (uint8_t)(!v->ar_flipflop ? 0 : 0x80);
	case 0x26: /* attribute controller index readback */
		return v->ar_index & 0x3f;
	case 0x19 ... 0x1d:
	case 0x22:
	case 0x25:
	case 0x27:
		return v->cr[idx];
	default:
		return 0xff;
	}
}

static void cr_write(struct cirrus *s, uint16_t port, uint8_t val)
{
	struct vga *v = &s->vga;
	uint8_t idx = v->cr_index;

	if (idx <= 0x18) {
		vga_ioport_write(v, port, val);
		return;
	}
	if (idx >= 0x19 && idx <= 0x1d) {
		v->cr[idx] = val;
		v->full_redraw = true;
	}
}

/* Hidden DAC: the fifth access after four reads of 0x3C6 reaches it. */
static uint8_t pel_mask_read(struct cirrus *s)
{
	if (++s->hidden_dac_count == 5) {
		s->hidden_dac_count = 0;
		return s->hidden_dac;
	}
	return s->vga.dac_mask;
}

static void pel_mask_write(struct cirrus *s, uint8_t val)
{
	if (s->hidden_dac_count == 4) {
		s->hidden_dac = val;
		s->vga.full_redraw = true;
	} else {
		vga_ioport_write(&s->vga, 0x3c6, val);
	}
	s->hidden_dac_count = 0;
}

/* SR12 bit 1 redirects the DAC data port to the 16 extra (cursor) entries. */
static uint8_t dac_data_read(struct cirrus *s)
{
	struct vga *v = &s->vga;
	uint8_t r;

	if (!(v->sr[0x12] & SR12_HIDDEN_PAL))
		return vga_ioport_read(v, 0x3c9);
	r = s->hidden_palette[(v->dac_read_index & 0x0f) * 3 + v->dac_sub % 3];
	if (++v->dac_sub >= 3) {
		v->dac_sub = 0;
		v->dac_read_index++;
	}
	return r;
}

static void dac_data_write(struct cirrus *s, uint8_t val)
{
	struct vga *v = &s->vga;

	if (!(v->sr[0x12] & SR12_HIDDEN_PAL)) {
		vga_ioport_write(v, 0x3c9, val);
		return;
	}
	v->dac_cache[v->dac_sub % 3] = val & 0x3f;
	if (++v->dac_sub < 3)
		return;
	memcpy(&s->hidden_palette[(v->dac_write_index & 0x0f) * 3], v->dac_cache, 3);
	v->dac_sub = 0;
	v->dac_write_index++;
}

static bool crtc_port_ok(const struct cirrus *s, uint16_t port)
{
	return (port & 0xfff0) == 0x3d0 ? (s->vga.misc & 1) : !(s->vga.misc & 1);
}

static uint8_t cirrus_port_read(struct cirrus *s, uint16_t port)
{
	struct vga *v = &s->vga;

	if (port >= 0x3c7 && port <= 0x3c9)
		s->hidden_dac_count = 0;
	switch (port) {
	case 0x3c5:
		return sr_read(s);
	case 0x3c6:
		return pel_mask_read(s);
	case 0x3c9:
		return dac_data_read(s);
	case 0x3cf:
		return gr_read(s, v->gr_index);
	case 0x3b5:
	case 0x3d5:
		return crtc_port_ok(s, port) ? cr_read(s, v->cr_index) : 0xff;
	default:
		return vga_ioport_read(v, port);
	}
}

static void cirrus_port_write(struct cirrus *s, uint16_t port, uint8_t val)
{
	struct vga *v = &s->vga;

	if (port >= 0x3c7 && port <= 0x3c9)
		s->hidden_dac_count = 0;
	switch (port) {
	case 0x3c5:
		sr_write(s, val);
		break;
	case 0x3c6:
		pel_mask_write(s, val);
		break;
	case 0x3c9:
		dac_data_write(s, val);
		break;
	case 0x3cf:
		gr_write(s, v->gr_index, val);
		break;
	case 0x3b5:
	case 0x3d5:
		if (crtc_port_ok(s, port))
			cr_write(s, port, val);
		break;
	default:
		vga_ioport_write(v, port, val);
		break;
	}
}

/* Port regions of the core, re-initialised with these ops (offsets relative to base). */
#define CIRRUS_PIO_OPS(name, base, posted)                                                \
	static uint64_t name##_read(void *opaque, uint64_t off, unsigned size)            \
	{                                                                                 \
		return cirrus_port_read(opaque, (uint16_t)((base) + off));                \
	}                                                                                 \
	static void name##_write(void *opaque, uint64_t off, uint64_t val, unsigned size) \
	{                                                                                 \
		/* 16-bit writes to 0x3C4/0x3CE/0x3D4 arrive split: index, then data. */  \
		cirrus_port_write(opaque, (uint16_t)((base) + off), (uint8_t)val);        \
	}                                                                                 \
	static const struct io_ops name##_ops = { .read = name##_read,                    \
						  .write = name##_write,                  \
						  .max_size = 1,                          \
						  .posted_writes = (posted) }

/*
 * Posted as on the VGA core (vga.c).  The extended CRTC registers, the
 * hidden DAC and the cursor palette only latch too; SR and GR writes, which
 * bank, remap the window and start blits, stay synchronous.
 */
CIRRUS_PIO_OPS(cirrus_3c0, 0x3c0, VGA_POSTED_3C0);
CIRRUS_PIO_OPS(cirrus_3b4, 0x3b4, VGA_POSTED_CRTC);
CIRRUS_PIO_OPS(cirrus_3d4, 0x3d4, VGA_POSTED_CRTC);

/* ---- 0xA0000 window --------------------------------------------------- */

static bool window_mmio(const struct cirrus *s, uint64_t off)
{
	/* BitBLT registers at 0xB8000 when SR17 enables MMIO there (bit 2, not bit 6). */
	return off >= 0x18000 && off < 0x18100 && (s->vga.sr[0x17] & 0x44) == 0x04;
}

static uint64_t window_read(void *opaque, uint64_t off, unsigned size)
{
	struct cirrus *s = opaque;
	unsigned b;

	vga_mirror_window_read(&s->vga);

	if (!extended(s))
		return vga_mem_readb(&s->vga, (uint32_t)off);
	if (off < 0x10000) {
		b = (unsigned)(off >> 15);
		off &= 0x7fff;
		if (off >= s->bank_limit[b])
			return 0xff;
		return vram_read_ext(s, s->bank_base[b] + off);
	}
	if (window_mmio(s, off))
		return blt_reg_read(s, (unsigned)(off & 0xff));
	return 0xff;
}

static void window_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct cirrus *s = opaque;
	unsigned b;

	vga_mirror_window_write(&s->vga, off);
	if (!extended(s)) {
		vga_mem_writeb(&s->vga, (uint32_t)off, (uint8_t)val);
		return;
	}
	if (off < 0x10000) {
		if (cirrus_blt_host_pending(s)) {
			cirrus_blt_host_write(s, (uint8_t)val);
			return;
		}
		b = (unsigned)(off >> 15);
		off &= 0x7fff;
		if (off < s->bank_limit[b])
			vram_write_ext(s, s->bank_base[b] + off, (uint8_t)val);
		return;
	}
	if (window_mmio(s, off))
		blt_reg_write(s, (unsigned)(off & 0xff), (uint8_t)val);
}

static const struct io_ops window_ops = {
	.read = window_read,
	.write = window_write,
	.max_size = 1,
};

/* ---- BARs --------------------------------------------------------------- */

/* BAR0 accesses that reach the dm: all of them standalone, the aperture always. */
/* SR17 bits 6 and 2: BitBLT registers in the last 256 bytes of the framebuffer. */
static bool lfb_mmio(const struct cirrus *s, uint64_t off)
{
	return (s->vga.sr[0x17] & 0x44) == 0x44 && off >= s->vga.vram_size - 256;
}

/* While the window mirror is valid BAR0 traps (vga_mirror.c). */
static void cirrus_mirror_trap(void *opaque, bool on)
{
	struct cirrus *s = opaque;

	s->mirror_trap = on;
	cirrus_update_lfb(s);
}

/* A BAR0 access reached us: framebuffer writes and blits change the window. */
static void bar0_touched(struct cirrus *s)
{
	vga_mirror_invalidate(&s->vga);
	if (s->mirror_trap)
		cirrus_mirror_trap(s, false);
}

static bool cirrus_window_plain(void *opaque)
{
	return !extended(opaque);
}

static uint64_t bar0_read(void *opaque, uint64_t off, unsigned size)
{
	struct cirrus *s = opaque;

	bar0_touched(s);

	if (off >= s->vga.vram_size)
		return 0xff;
	if (lfb_mmio(s, off))
		return blt_reg_read(s, (unsigned)(off & 0xff));
	return vram_read_ext(s, off);
}

static void bar0_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct cirrus *s = opaque;

	bar0_touched(s);

	if (off < s->vga.vram_size) {
		if (lfb_mmio(s, off))
			blt_reg_write(s, (unsigned)(off & 0xff), (uint8_t)val);
		else if (cirrus_blt_host_pending(s))
			cirrus_blt_host_write(s, (uint8_t)val);
		else
			vram_write_ext(s, off, (uint8_t)val);
		return;
	}
	/* Host-data aperture (16 MB - 20 MB): BitBLT source bytes. */
	if (off >= CIRRUS_BLT_APERTURE && off < CIRRUS_BLT_APERTURE + (4u << 20) &&
	    cirrus_blt_host_pending(s))
		cirrus_blt_host_write(s, (uint8_t)val);
}

static const struct io_ops bar0_ops = {
	.read = bar0_read,
	.write = bar0_write,
	.max_size = 1,
};

/* BAR1: 0x00-0x1F are ports 0x3C0-0x3DF, 0x100+ the BitBLT registers. */
static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct cirrus *s = opaque;

	if (off >= 0x100)
		return blt_reg_read(s, (unsigned)(off - 0x100));
	if (off < 0x20)
		return cirrus_port_read(s, (uint16_t)(0x3c0 + off));
	return 0xff;
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct cirrus *s = opaque;

	vga_mirror_invalidate(&s->vga); /* register aliases and blits */

	if (off >= 0x100)
		blt_reg_write(s, (unsigned)(off - 0x100), (uint8_t)val);
	else if (off < 0x20)
		cirrus_port_write(s, (uint16_t)(0x3c0 + off), (uint8_t)val);
}

static const struct io_ops mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
	.max_size = 1,
};

/* ---- scan-out ------------------------------------------------------------ */

static unsigned cirrus_bpp(const struct cirrus *s)
{
	switch (s->vga.sr[7] & 0x0e) {
	case 0x02: /* 16 bpp, double clock */
	case 0x06:
		/* Hidden DAC low nibble 1: 5-6-5 (XGA); otherwise 5-5-5 (Sierra). */
		return (s->hidden_dac & 0x0f) == 1 ? 16 : 15;
	case 0x04:
		return 24;
	case 0x08:
		return 32;
	default:
		return 8;
	}
}

static uint32_t fetch_pixel(const struct cirrus *s, uint64_t a, unsigned bpp)
{
	const struct vga *v = &s->vga;
	uint32_t m = v->vram_mask, p;
	uint8_t b0 = v->vram[a & m];

	if (bpp == 8)
		return v->palette_rgb[b0];
	p = b0 | (uint32_t)v->vram[(a + 1) & m] << 8;
	if (bpp == 15)
		return ((p >> 10 & 0x1f) * 255 / 31) << 16 | ((p >> 5 & 0x1f) * 255 / 31) << 8 |
		       (p & 0x1f) * 255 / 31;
	if (bpp == 16)
		return ((p >> 11 & 0x1f) * 255 / 31) << 16 | ((p >> 5 & 0x3f) * 255 / 63) << 8 |
		       (p & 0x1f) * 255 / 31;
	/* 24 and 32 bpp: blue, green, red in ascending addresses. */
	return (uint32_t)v->vram[(a + 2) & m] << 16 | p;
}

/* 5- and 6-bit channels scaled to 8 bits, as fetch_pixel() does. */
static inline uint32_t c5(uint32_t v)
{
	return v * 255 / 31;
}

static inline uint32_t c6(uint32_t v)
{
	return v * 255 / 63;
}

/*
 * A row that lies wholly inside VRAM (the common case): one loop per depth
 * without the per-byte wrap of fetch_pixel(), which matters at 1024x768
 * where the refresh converts whole screens while the guest draws.
 */
static void fetch_row(const struct cirrus *s, uint32_t *row, uint64_t a, unsigned w, unsigned bpp)
{
	const uint8_t *p = s->vga.vram + a;
	unsigned x;

	switch (bpp) {
	case 8:
		for (x = 0; x < w; x++)
			row[x] = s->vga.palette_rgb[p[x]];
		break;
	case 15:
		for (x = 0; x < w; x++, p += 2) {
			uint32_t v = p[0] | (uint32_t)p[1] << 8;

			row[x] = c5(v >> 10 & 0x1f) << 16 | c5(v >> 5 & 0x1f) << 8 | c5(v & 0x1f);
		}
		break;
	case 16:
		for (x = 0; x < w; x++, p += 2) {
			uint32_t v = p[0] | (uint32_t)p[1] << 8;

			row[x] = c5(v >> 11) << 16 | c6(v >> 5 & 0x3f) << 8 | c5(v & 0x1f);
		}
		break;
	case 24:
		for (x = 0; x < w; x++, p += 3)
			row[x] = (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
		break;
	default:
		for (x = 0; x < w; x++, p += 4)
			row[x] = (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
		break;
	}
}

static void sync_dirty(struct cirrus *s)
{
	uint64_t at = pci_bar_memfd_addr(&s->pci, 0);

	vga_pull_dirty_log(&s->vga, at != PCI_BAR_UNMAPPED, at, s->dirty_log, sizeof(s->dirty_log));
}

static uint32_t cursor_base(const struct cirrus *s, unsigned size)
{
	uint32_t sel = size == 64 ? (s->vga.sr[0x13] & 0x3c) : (s->vga.sr[0x13] & 0x3f);

	return s->vga.vram_size - CIRRUS_CURSOR_AREA + sel * 256;
}

/* Bytes of the cursor bitmap (both planes): 32x32 -> 256, 64x64 -> 1024. */
static unsigned cursor_bytes(unsigned size)
{
	return size == 64 ? 1024 : 256;
}

/* Refresh the cursor state; true (with the old rows) if what is on screen must change. */
static bool cursor_update(struct cirrus *s, unsigned *old_y, unsigned *old_h)
{
	bool shown = s->vga.sr[0x12] & SR12_SHOW;
	unsigned size = (s->vga.sr[0x12] & SR12_LARGE) ? 64 : 32;
	bool changed = shown != s->cur_shown;

	*old_y = s->cur_y;
	*old_h = s->cur_shown ? s->cur_size : 0;
	if (shown) {
		const uint8_t *bm = s->vga.vram + cursor_base(s, size);

		changed = changed || size != s->cur_size || s->cursor_x != s->cur_x ||
			  s->cursor_y != s->cur_y || memcmp(bm, s->cur_shadow, cursor_bytes(size));
		memcpy(s->cur_shadow, bm, cursor_bytes(size));
	}
	s->cur_shown = shown;
	s->cur_size = size;
	s->cur_x = s->cursor_x;
	s->cur_y = s->cursor_y;
	return changed;
}

static uint32_t hidden_rgb(const struct cirrus *s, unsigned i)
{
	const uint8_t *p = &s->hidden_palette[i * 3];

	return (uint32_t)(p[0] << 2 | p[0] >> 4) << 16 | (uint32_t)(p[1] << 2 | p[1] >> 4) << 8 |
	       (uint32_t)(p[2] << 2 | p[2] >> 4);
}

/* Cursor pixels of screen row y: plane 0/1 bits 00 transparent, 01 invert, 10 bg, 11 fg. */
static void cursor_row(const struct cirrus *s, uint32_t *row, unsigned y, unsigned w)
{
	unsigned size = s->cur_size, line = y - s->cur_y, x;
	const uint8_t *p0, *p1;

	if (!s->cur_shown || y < s->cur_y || line >= size)
		return;
	if (size == 64) {
		p0 = s->cur_shadow + line * 16;
		p1 = p0 + 8;
	} else {
		p0 = s->cur_shadow + line * 4;
		p1 = p0 + 128;
	}
	for (x = 0; x < size && s->cur_x + x < w; x++) {
		unsigned b0 = (p0[x / 8] >> (7 - x % 8)) & 1, b1 = (p1[x / 8] >> (7 - x % 8)) & 1;
		uint32_t *px = &row[s->cur_x + x];

		switch (b0 | b1 << 1) {
		case 1:
			*px ^= 0xffffff;
			break;
		case 2:
			*px = hidden_rgb(s, 0);
			break;
		case 3:
			*px = hidden_rgb(s, 15);
			break;
		}
	}
}

static bool line_dirty(struct vga *v, uint64_t off, uint64_t len)
{
	if (off + len > v->vram_size)
		return true; /* wraps around the end of VRAM: just redraw */
	return vga_test_dirty(v, (uint32_t)off, (uint32_t)len);
}

static bool in_rows(unsigned y, unsigned top, unsigned h)
{
	return y >= top && y - top < h;
}

static bool cirrus_draw(void *opaque, bool full)
{
	struct cirrus *s = opaque;
	struct vga *v = &s->vga;
	unsigned bpp, bypp, w, h, y, x, old_y, old_h;
	uint32_t start, pitch;
	uint64_t len, span;
	bool cur_changed;

	if (!extended(s))
		return false;
	bpp = cirrus_bpp(s);
	bypp = (bpp + 7) / 8;
	w = (v->cr[1] + 1u) * 8;
	h = (v->cr[0x12] | (v->cr[7] & 0x02) << 7 | (v->cr[7] & 0x40) << 3) + 1u;
	if (w > CONSOLE_MAX_WIDTH)
		w = CONSOLE_MAX_WIDTH;
	if (h > CONSOLE_MAX_HEIGHT)
		h = CONSOLE_MAX_HEIGHT;
	/* Line offset in 8-byte units (CR13, CR1B bit 4); start in dwords (CR0C/0D/1B/1D). */
	pitch = (uint32_t)(v->cr[0x13] | (v->cr[0x1b] & 0x10) << 4) << 3;
	start = ((uint32_t)v->cr[0x0c] << 8 | v->cr[0x0d] | (uint32_t)(v->cr[0x1b] & 0x01) << 16 |
		 (uint32_t)(v->cr[0x1b] & 0x0c) << 15 | (uint32_t)(v->cr[0x1d] & 0x80) << 12) *
		4;
	start &= v->vram_mask;
	sync_dirty(s);
	if (bpp != s->last_bpp || w != v->last_w || h != v->last_h || v->last_mode != 3)
		dm_info("cirrus", "mode %ux%u %u bpp, line %u bytes", w, h, bpp, pitch);
	if (w != v->last_w || h != v->last_h || v->last_mode != 3) {
		console_resize(v->con, w, h);
		v->last_w = w;
		v->last_h = h;
		full = true;
	}
	if (bpp != s->last_bpp || start != s->last_start || pitch != s->last_pitch)
		full = true;
	s->last_bpp = bpp;
	s->last_start = start;
	s->last_pitch = pitch;
	cur_changed = cursor_update(s, &old_y, &old_h);
	len = (uint64_t)w * bypp;
	for (y = 0; y < h; y++) {
		uint64_t off = start + (uint64_t)y * pitch;
		uint32_t *row;

		if (!full && !line_dirty(v, off, len) &&
		    !(cur_changed && (in_rows(y, old_y, old_h) ||
				      (s->cur_shown && in_rows(y, s->cur_y, s->cur_size)))))
			continue;
		row = console_row(v->con, y);
		if (!row)
			break;
		if (off + len <= v->vram_size)
			fetch_row(s, row, off, w, bpp);
		else
			for (x = 0; x < w; x++)
				row[x] = fetch_pixel(s, off + (uint64_t)x * bypp, bpp);
		cursor_row(s, row, y, w);
		console_dirty(v->con, 0, (int)y, (int)w, 1);
	}
	span = (uint64_t)(h - 1) * pitch + len;
	if (start + span > v->vram_size)
		vga_clear_dirty(v, 0, v->vram_size);
	else
		vga_clear_dirty(v, start, (uint32_t)span);
	return true;
}

static const struct vga_ext_ops cirrus_ext_ops = {
	.draw = cirrus_draw,
	.window_plain = cirrus_window_plain,
	.mirror_trap = cirrus_mirror_trap,
};

/* Writes that change how the window decodes: misc, SR (also SR7/SR17), GR. */
static const struct hvm_range cirrus_mode_ports[] = {
	{ 0x3c2, 1 },
	{ 0x3c4, 2 },
	{ 0x3ce, 2 },
};

/* ---- device --------------------------------------------------------------- */

static void cirrus_reset(struct dev *d, enum dev_reset kind)
{
	struct cirrus *s = d->state;
	struct vga *v = &s->vga;

	pci_func_reset(&s->pci); /* unmaps BAR0, direct mapping enabled again */
	s->lfb_trapped = false;
	s->mirror_trap = false;
	vga_reset(v);
	/* Power-on values of the 5446 with 4 MB on PCI (as the BIOS expects them). */
	v->sr[0x06] = 0x0f;
	v->sr[0x0f] = 0x98; /* DRAM control: 32-bit bank, 4 MB with bit 7 */
	v->sr[0x15] = 0x04; /* memory size: 4 MB */
	v->sr[0x17] = 0x20; /* PCI bus */
	v->sr[0x1f] = 0x2d; /* MCLK */
	v->gr[0x18] = 0x0f;
	v->cr[0x27] = CIRRUS_DEVICE_5446; /* part ID */
	s->shadow_gr0 = s->shadow_gr1 = 0;
	s->hidden_dac = 0;
	s->hidden_dac_count = 0;
	memset(s->hidden_palette, 0, sizeof(s->hidden_palette));
	s->cursor_x = s->cursor_y = 0;
	s->cur_shown = false;
	s->last_bpp = 0;
	update_banks(s);
	cirrus_blt_reset(s);
}

static int cirrus_create(struct dev *d, const struct opts *o)
{
	struct cirrus *s = d->state;
	struct pci_bus *bus = pci_bus_of(d->dm);
	uint64_t mb = CIRRUS_VRAM_SIZE >> 20;
	const char *rom = opts_get(o, "rom");
	int err;

	if (!bus)
		return -ENODEV;
	/* xl configurations say videoram=8 or 16 for Cirrus; the chip has 4 MB (as in QEMU). */
	if (opts_get_u64(o, "vram", mb, &mb) || (mb != 4 && mb != 8 && mb != 16)) {
		dm_err("cirrus", "videoram must be 4, 8 or 16 (MB); the CL-GD5446 uses 4");
		return -EINVAL;
	}
	if (mb != 4)
		dm_info("cirrus", "videoram=%llu: the CL-GD5446 has 4 MB", (unsigned long long)mb);
	err = vga_init(&s->vga, d->dm, CIRRUS_VRAM_SIZE);
	if (err)
		return err;
	/* Every register port and the window go through the extensions first. */
	io_region_init(&s->vga.pio_3c0, &cirrus_3c0_ops, s, "cirrus", 16);
	io_region_init(&s->vga.pio_3b4, &cirrus_3b4_ops, s, "cirrus-3b4", 2);
	io_region_init(&s->vga.pio_3d4, &cirrus_3d4_ops, s, "cirrus-3d4", 2);
	io_region_init(&s->vga.mem, &window_ops, s, "cirrus-window", 0x20000);
	err = vga_map_legacy(&s->vga);
	if (err)
		return err;
	err = pci_func_init(&s->pci, bus, PCI_DEVFN(2, 0), "cirrus", NULL, s);
	if (err)
		return err;
	pci_set_ids(&s->pci, CIRRUS_VENDOR, CIRRUS_DEVICE_5446, 0x00, 0x030000);
	io_region_init(&s->bar0, &bar0_ops, s, "cirrus-lfb", CIRRUS_BAR0_SIZE);
	io_region_init(&s->mmio, &mmio_ops, s, "cirrus-mmio", 0x1000);
	err = pci_bar_init(&s->pci, 0, PCI_BAR_MEM32 | PCI_BAR_PREFETCH, CIRRUS_BAR0_SIZE,
			   &s->bar0);
	if (!err)
		err = pci_bar_set_memfd(&s->pci, 0, s->vga.vram_fd, 0, s->vga.vram_size,
					HVM_MAP_F_DIRTY_LOG);
	if (!err)
		err = pci_bar_init(&s->pci, 1, PCI_BAR_MEM32, 0x1000, &s->mmio);
	if (!err && (rom || !access(CIRRUS_ROM, R_OK)))
		err = pci_rom_load(&s->pci, rom ? rom : CIRRUS_ROM);
	if (err)
		return err;
	pci_func_ready(&s->pci);
	err = vga_display_init(&s->vga, &cirrus_ext_ops, s);
	if (err)
		return err;
	cirrus_reset(d, DEV_RESET_COLD);
	return vga_mirror_start(&s->vga, cirrus_mode_ports,
				sizeof(cirrus_mode_ports) / sizeof(cirrus_mode_ports[0]));
}

static void cirrus_destroy(struct dev *d)
{
	struct cirrus *s = d->state;

	if (s->pci.registered)
		pci_func_exit(&s->pci);
	if (s->vga.dm)
		vga_exit(&s->vga);
}

static const struct dev_type cirrus_type = {
	.name = "cirrus",
	.state_size = sizeof(struct cirrus),
	.create = cirrus_create,
	.reset = cirrus_reset,
	.destroy = cirrus_destroy,
};
DM_DEVICE(cirrus_type);
