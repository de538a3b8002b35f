// SPDX-License-Identifier: MIT
/*
 * stdvga.c - QEMU's "standard VGA" (PCI 1234:1111): the VGA core plus the
 * Bochs VBE "dispi" interface (ports 0x1CE/0x1CF; also at offset 0x500 of
 * the MMIO BAR, where 0x400 mirrors the VGA ports and 0x600 holds the
 * extension registers Linux's bochs-drm reads) and a linear framebuffer in
 * BAR0.  The framebuffer is the VRAM memfd mapped into the guest with dirty
 * logging; the scan-out reads the dirty bitmap instead of trapping writes.
 * Option ROM: Debian's vgabios-stdvga.bin.
 *
 * Every VBE register is validated when the mode is enabled (the geometry
 * must fit VRAM), and the bank and display offsets are masked with the VRAM
 * size at the moment of use (CVE-2016-3712, CVE-2014-3615).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vga.h"
#include "console.h"
#include "device.h"
#include "dm.h"
#include "log.h"
#include "pci/pci.h"

#define VBE_INDEX_PORT 0x1ce
#define VBE_DATA_PORT 0x1cf
#define VBE_ID 0
#define VBE_XRES 1
#define VBE_YRES 2
#define VBE_BPP 3
#define VBE_ENABLE 4
#define VBE_BANK 5
#define VBE_VIRT_WIDTH 6
#define VBE_VIRT_HEIGHT 7
#define VBE_X_OFFSET 8
#define VBE_Y_OFFSET 9
#define VBE_VIDEO_MEMORY_64K 10
#define VBE_NR_REGS 11
#define VBE_ID5 0xb0c5
#define VBE_EN_ENABLED 0x01
#define VBE_EN_GETCAPS 0x02
#define VBE_EN_8BIT_DAC 0x20
#define VBE_EN_LFB 0x40
#define VBE_EN_NOCLEAR 0x80
#define VBE_MAX_XRES 2560
#define VBE_MAX_YRES 1600
#define STDVGA_DEFAULT_VRAM (16u << 20)
#define STDVGA_ROM "/usr/share/seabios/vgabios-stdvga.bin"

struct stdvga {
	struct vga vga;
	struct pci_func pci;
	struct io_region lfb, mmio, vbe_io;
	uint16_t vbe_index;
	uint16_t vbe[VBE_NR_REGS];
	/* Validated geometry of the enabled mode. */
	uint32_t line_bytes, start;
	bool mirror_trap; /* framebuffer mapping withdrawn for the window mirror */
	uint8_t dirty_log[(STDVGA_DEFAULT_VRAM >> 12) * 4 / 8];
};

static unsigned vbe_bytes_pp(unsigned bpp)
{
	return (bpp + 7) / 8;
}

static bool vbe_enabled(const struct stdvga *s)
{
	return s->vbe[VBE_ENABLE] & VBE_EN_ENABLED;
}

/* Make the registers describe a mode that fits VRAM; recompute offsets. */
static void vbe_fixup(struct stdvga *s)
{
	uint16_t *r = s->vbe;
	unsigned bpp = r[VBE_BPP], bypp;
	uint64_t lines;

	if (bpp != 4 && bpp != 8 && bpp != 15 && bpp != 16 && bpp != 24 && bpp != 32)
		bpp = r[VBE_BPP] = 8;
	bypp = bpp == 4 ? 1 : vbe_bytes_pp(bpp);
	r[VBE_XRES] = (uint16_t)((r[VBE_XRES] + 7) & ~7);
	if (r[VBE_XRES] == 0 || r[VBE_XRES] > VBE_MAX_XRES)
		r[VBE_XRES] = 640;
	if (r[VBE_YRES] == 0 || r[VBE_YRES] > VBE_MAX_YRES)
		r[VBE_YRES] = 480;
	if (r[VBE_VIRT_WIDTH] < r[VBE_XRES])
		r[VBE_VIRT_WIDTH] = r[VBE_XRES];
	s->line_bytes = (uint32_t)r[VBE_VIRT_WIDTH] * bypp;
	if ((uint64_t)s->line_bytes * r[VBE_YRES] > s->vga.vram_size) {
		/* Does not fit: fall back to the visible width, then to 640x480. */
		r[VBE_VIRT_WIDTH] = r[VBE_XRES];
		s->line_bytes = (uint32_t)r[VBE_XRES] * bypp;
		if ((uint64_t)s->line_bytes * r[VBE_YRES] > s->vga.vram_size) {
			r[VBE_XRES] = 640;
			r[VBE_YRES] = 480;
			r[VBE_VIRT_WIDTH] = 640;
			s->line_bytes = 640 * bypp;
		}
	}
	lines = s->vga.vram_size / s->line_bytes;
	r[VBE_VIRT_HEIGHT] = (uint16_t)(lines > 0xffff ? 0xffff : lines);
	if (r[VBE_X_OFFSET] > r[VBE_VIRT_WIDTH] - r[VBE_XRES])
		r[VBE_X_OFFSET] = 0;
	if ((uint64_t)r[VBE_Y_OFFSET] + r[VBE_YRES] > r[VBE_VIRT_HEIGHT])
		r[VBE_Y_OFFSET] = 0;
	s->start = r[VBE_Y_OFFSET] * s->line_bytes + r[VBE_X_OFFSET] * bypp;
}

static uint16_t vbe_read(struct stdvga *s)
{
	unsigned i = s->vbe_index;

	if (i >= VBE_NR_REGS)
		return 0;
	if (s->vbe[VBE_ENABLE] & VBE_EN_GETCAPS) {
		if (i == VBE_XRES)
			return VBE_MAX_XRES;
		if (i == VBE_YRES)
			return VBE_MAX_YRES;
		if (i == VBE_BPP)
			return 32;
	}
	if (i == VBE_VIDEO_MEMORY_64K)
		return (uint16_t)(s->vga.vram_size >> 16);
	return s->vbe[i];
}

static void vbe_enable(struct stdvga *s, uint16_t val)
{
	struct vga *v = &s->vga;

	s->vbe[VBE_ENABLE] = val;
	if (!(val & VBE_EN_ENABLED)) {
		v->full_redraw = true;
		return;
	}
	vbe_fixup(s);
	if (!(val & VBE_EN_NOCLEAR))
		memset(v->vram, 0, (size_t)s->line_bytes * s->vbe[VBE_YRES]);
	/* Put the VGA core in a graphics, chain-4 state so legacy paths agree. */
	v->gr[6] = (uint8_t)((v->gr[6] & ~0x0c) | 0x05);
	v->sr[4] |= 0x08;
	v->ar_index |= 0x20;
	v->full_redraw = true;
	dm_info("stdvga", "VBE mode %ux%ux%u", s->vbe[VBE_XRES], s->vbe[VBE_YRES], s->vbe[VBE_BPP]);
}

static void vbe_write(struct stdvga *s, uint16_t val)
{
	unsigned i = s->vbe_index;

	if (i >= VBE_NR_REGS)
		return;
	switch (i) {
	case VBE_ID:
		if (val >= 0xb0c0 && val <= VBE_ID5)
			s->vbe[VBE_ID] = val;
		return;
	case VBE_ENABLE:
		vbe_enable(s, val);
		return;
	case VBE_VIDEO_MEMORY_64K:
		return;
	case VBE_XRES:
	case VBE_YRES:
	case VBE_BPP:
		/* Mode geometry changes only while disabled (the BIOS disables first). */
		if (vbe_enabled(s))
			return;
		break;
	}
	s->vbe[i] = val;
	if (vbe_enabled(s) && (i == VBE_X_OFFSET || i == VBE_Y_OFFSET || i == VBE_VIRT_WIDTH)) {
		vbe_fixup(s);
		s->vga.full_redraw = true;
	}
}

static uint64_t vbe_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct stdvga *s = opaque;

	return off == 0 ? s->vbe_index : vbe_read(s);
}

static void vbe_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct stdvga *s = opaque;

	vga_mirror_invalidate(&s->vga); /* banks, VBE enable (clears VRAM) */

	if (off == 0)
		s->vbe_index = (uint16_t)val;
	else
		vbe_write(s, (uint16_t)val);
}

/* Index at 0x1CE and data at 0x1CF are 16-bit registers one byte apart. */
static const struct io_ops vbe_io_ops = {
	.read = vbe_io_read,
	.write = vbe_io_write,
	.min_size = 2,
	.max_size = 2,
	.allow_unaligned = true,
};

/* ---- legacy window when VBE is on: banked linear access ----------------- */

static uint64_t stdvga_window_read(void *opaque, uint64_t off, unsigned size)
{
	struct stdvga *s = opaque;

	vga_mirror_window_read(&s->vga);

	if (vbe_enabled(s) && !(s->vbe[VBE_ENABLE] & VBE_EN_LFB) && off < 0x10000)
		return s->vga.vram[(((uint32_t)s->vbe[VBE_BANK] << 16) + off) & s->vga.vram_mask];
	return vga_mem_readb(&s->vga, (uint32_t)off);
}

static void stdvga_window_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct stdvga *s = opaque;
	uint32_t a;

	vga_mirror_window_write(&s->vga, off);
	if (vbe_enabled(s) && !(s->vbe[VBE_ENABLE] & VBE_EN_LFB) && off < 0x10000) {
		a = (((uint32_t)s->vbe[VBE_BANK] << 16) + (uint32_t)off) & s->vga.vram_mask;
		s->vga.vram[a] = (uint8_t)val;
		vga_mark_dirty(&s->vga, a, 1);
		return;
	}
	vga_mem_writeb(&s->vga, (uint32_t)off, (uint8_t)val);
}

static const struct io_ops stdvga_window_ops = {
	.read = stdvga_window_read,
	.write = stdvga_window_write,
	.max_size = 1,
};

/* ---- BARs -------------------------------------------------------------- */

static void stdvga_sync_dirty(struct stdvga *s);

/* While the window mirror is valid the framebuffer traps (vga_mirror.c). */
static void stdvga_mirror_trap(void *opaque, bool on)
{
	struct stdvga *s = opaque;

	if (s->mirror_trap == on || !s->pci.registered)
		return;
	s->mirror_trap = on;
	if (on)
		stdvga_sync_dirty(s); /* keep what the guest wrote so far */
	pci_bar_memfd_enable(&s->pci, 0, !on);
}

/* A framebuffer access reached us: any write may change the window. */
static void lfb_touched(struct stdvga *s)
{
	vga_mirror_invalidate(&s->vga);
	stdvga_mirror_trap(s, false);
}

static bool stdvga_window_plain(void *opaque)
{
	const struct stdvga *s = opaque;

	return !vbe_enabled(s) || (s->vbe[VBE_ENABLE] & VBE_EN_LFB);
}

/*
 * Framebuffer accesses that reach the dm (no hypervisor mapping: harness,
 * tests, or withdrawn for the window mirror).
 */
static uint64_t lfb_read(void *opaque, uint64_t off, unsigned size)
{
	struct stdvga *s = opaque;
	uint64_t v = 0;

	lfb_touched(s);

	if (off + size <= s->vga.vram_size)
		memcpy(&v, s->vga.vram + off, size);
	return v;
}

static void lfb_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct stdvga *s = opaque;

	lfb_touched(s);

	if (off + size > s->vga.vram_size)
		return;
	memcpy(s->vga.vram + off, &val, size);
	vga_mark_dirty(&s->vga, (uint32_t)off, size);
}

static const struct io_ops lfb_ops = {
	.read = lfb_read,
	.write = lfb_write,
	.min_size = 1,
	.max_size = 8,
	.allow_unaligned = true,
};

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct stdvga *s = opaque;

	if (off >= 0x400 && off < 0x420 && size == 1)
		return vga_ioport_read(&s->vga, (uint16_t)(0x3c0 + off - 0x400));
	if (off >= 0x500 && off < 0x500 + VBE_NR_REGS * 2 && size == 2) {
		s->vbe_index = (uint16_t)((off - 0x500) / 2);
		return vbe_read(s);
	}
	if (off == 0x600 && size == 4)
		return 8; /* size of the extension register block */
	if (off == 0x604 && size == 4)
		return 0x1e1e1e1e; /* framebuffer byte order: little endian */
	return 0;
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct stdvga *s = opaque;

	vga_mirror_invalidate(&s->vga); /* VGA and VBE register aliases */

	if (off >= 0x400 && off < 0x420 && size == 1)
		vga_ioport_write(&s->vga, (uint16_t)(0x3c0 + off - 0x400), (uint8_t)val);
	else if (off >= 0x500 && off < 0x500 + VBE_NR_REGS * 2 && size == 2) {
		s->vbe_index = (uint16_t)((off - 0x500) / 2);
		vbe_write(s, (uint16_t)val);
	}
}

static const struct io_ops mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
	.min_size = 1,
	.max_size = 4,
};

/* ---- scan-out of VBE modes ------------------------------------------- */

static uint32_t vbe_pixel(const struct stdvga *s, const uint8_t *p, unsigned bpp)
{
	uint32_t v;

	switch (bpp) {
	case 8:
		return s->vga.palette_rgb[p[0]];
	case 15:
		v = (uint32_t)(p[0] | p[1] << 8);
		return ((v >> 10 & 0x1f) * 255 / 31) << 16 | ((v >> 5 & 0x1f) * 255 / 31) << 8 |
		       (v & 0x1f) * 255 / 31;
	case 16:
		v = (uint32_t)(p[0] | p[1] << 8);
		return ((v >> 11 & 0x1f) * 255 / 31) << 16 | ((v >> 5 & 0x3f) * 255 / 63) << 8 |
		       (v & 0x1f) * 255 / 31;
	case 24:
		return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
	default:
		return ((uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
	}
}

/* Pull the hypervisor's dirty log for the mapped framebuffer into vga->dirty. */
static void stdvga_sync_dirty(struct stdvga *s)
{
	uint64_t at = pci_bar_memfd_addr(&s->pci, 0);

	vga_pull_dirty_log(&s->vga, at != PCI_BAR_UNMAPPED, at, s->dirty_log, sizeof(s->dirty_log));
}

static bool stdvga_draw(void *opaque, bool full)
{
	struct stdvga *s = opaque;
	struct vga *v = &s->vga;
	unsigned w = s->vbe[VBE_XRES], h = s->vbe[VBE_YRES], bpp = s->vbe[VBE_BPP], y, x;
	unsigned bypp = vbe_bytes_pp(bpp);

	if (!vbe_enabled(s) || bpp == 4)
		return false;
	stdvga_sync_dirty(s);
	if (w != v->last_w || h != v->last_h || v->last_mode != 3) {
		console_resize(v->con, w, h);
		v->last_w = w;
		v->last_h = h;
		full = true;
	}
	for (y = 0; y < h; y++) {
		uint32_t off = s->start + y * s->line_bytes, *row = console_row(v->con, y);

		/* vbe_fixup() guarantees the visible area lies inside VRAM; check anyway. */
		if (!row || (uint64_t)off + (uint64_t)w * bypp > v->vram_size)
			break;
		if (!full && !vga_test_dirty(v, off, w * bypp))
			continue;
		for (x = 0; x < w; x++)
			row[x] = vbe_pixel(s, v->vram + off + x * bypp, bpp);
		console_dirty(v->con, 0, (int)y, (int)w, 1);
	}
	vga_clear_dirty(v, s->start, (h ? h - 1 : 0) * s->line_bytes + w * bypp);
	return true;
}

static const struct vga_ext_ops stdvga_ext_ops = {
	.draw = stdvga_draw,
	.window_plain = stdvga_window_plain,
	.mirror_trap = stdvga_mirror_trap,
};

/* Writes that change how the window decodes: misc, SR, GR, VBE. */
static const struct hvm_range stdvga_mode_ports[] = {
	{ 0x3c2, 1 },
	{ 0x3c4, 2 },
	{ 0x3ce, 2 },
	{ VBE_INDEX_PORT, 3 },
};

/* ---- device ------------------------------------------------------------ */

static void stdvga_reset(struct dev *d, enum dev_reset kind)
{
	struct stdvga *s = d->state;

	pci_func_reset(&s->pci); /* direct framebuffer mapping enabled again */
	s->mirror_trap = false;
	vga_reset(&s->vga);
	memset(s->vbe, 0, sizeof(s->vbe));
	s->vbe[VBE_ID] = VBE_ID5;
	s->vbe_index = 0;
}

static int stdvga_create(struct dev *d, const struct opts *o)
{
	struct stdvga *s = d->state;
	struct pci_bus *bus = pci_bus_of(d->dm);
	uint64_t mb = STDVGA_DEFAULT_VRAM >> 20;
	const char *rom = opts_get(o, "rom");
	int err;

	if (!bus)
		return -ENODEV;
	if (opts_get_u64(o, "vram", mb, &mb) || mb < 1 || mb > 16 || (mb & (mb - 1))) {
		dm_err("stdvga", "videoram must be 1, 2, 4, 8 or 16 (MB)");
		return -EINVAL;
	}
	err = vga_init(&s->vga, d->dm, (uint32_t)(mb << 20));
	if (err)
		return err;
	io_region_init(&s->vga.mem, &stdvga_window_ops, s, "vga-window", 0x20000);
	err = vga_map_legacy(&s->vga);
	if (err)
		return err;
	io_region_init(&s->vbe_io, &vbe_io_ops, s, "vbe", 3);
	err = io_region_map(d->dm, &s->vbe_io, IO_PIO, VBE_INDEX_PORT);
	if (err)
		return err;
	err = pci_func_init(&s->pci, bus, PCI_DEVFN(2, 0), "stdvga", NULL, s);
	if (err)
		return err;
	pci_set_ids(&s->pci, 0x1234, 0x1111, 0x02, 0x030000);
	io_region_init(&s->lfb, &lfb_ops, s, "stdvga-lfb", s->vga.vram_size);
	io_region_init(&s->mmio, &mmio_ops, s, "stdvga-mmio", 0x1000);
	err = pci_bar_init(&s->pci, 0, PCI_BAR_MEM32 | PCI_BAR_PREFETCH, s->vga.vram_size, &s->lfb);
	if (!err)
		err = pci_bar_set_memfd(&s->pci, 0, s->vga.vram_fd, 0, s->vga.vram_size,
					HVM_MAP_F_DIRTY_LOG);
	if (!err)
		err = pci_bar_init(&s->pci, 2, PCI_BAR_MEM32, 0x1000, &s->mmio);
	if (!err && (rom || !access(STDVGA_ROM, R_OK)))
		err = pci_rom_load(&s->pci, rom ? rom : STDVGA_ROM);
	if (err)
		return err;
	pci_func_ready(&s->pci);
	err = vga_display_init(&s->vga, &stdvga_ext_ops, s);
	if (err)
		return err;
	stdvga_reset(d, DEV_RESET_COLD);
	return vga_mirror_start(&s->vga, stdvga_mode_ports,
				sizeof(stdvga_mode_ports) / sizeof(stdvga_mode_ports[0]));
}

static void stdvga_destroy(struct dev *d)
{
	struct stdvga *s = d->state;

	io_region_unmap(&s->vbe_io);
	if (s->pci.registered)
		pci_func_exit(&s->pci);
	if (s->vga.dm)
		vga_exit(&s->vga);
}

static const struct dev_type stdvga_type = {
	.name = "stdvga",
	.state_size = sizeof(struct stdvga),
	.create = stdvga_create,
	.reset = stdvga_reset,
	.destroy = stdvga_destroy,
};
DM_DEVICE(stdvga_type);
