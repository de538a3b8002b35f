// SPDX-License-Identifier: MIT
/*
 * vga.c - VGA register file and the legacy memory window (see vga.h).
 *
 * Registers: attribute controller (0x3C0/0x3C1 with its index/data
 * flip-flop), misc output, sequencer, DAC, graphics controller, CRTC at
 * 0x3B4 or 0x3D4 by the misc I/O-select bit (CR0-CR7 write-protected by
 * CR11 bit 7), input status with a retrace derived from the virtual clock.
 * Window: memory maps A0000/128K, A0000/64K, B0000/32K, B8000/32K, chain-4,
 * odd/even and planar addressing, read modes 0-1 with latches, write modes
 * 0-3 with rotate, set/reset, logical functions, bit mask and map mask.
 */
#define _GNU_SOURCE
#include "vga.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dm.h"
#include "log.h"

#define VGA_FRAME_NS 16666667ull /* 60 Hz */
#define VGA_RETRACE_NS 1000000ull

/* Bit p of a 4-bit value -> byte p of a 32-bit value all ones. */
static uint32_t expand4(unsigned v)
{
	return (v & 1 ? 0x000000ffu : 0) | (v & 2 ? 0x0000ff00u : 0) | (v & 4 ? 0x00ff0000u : 0) |
	       (v & 8 ? 0xff000000u : 0);
}

void vga_mark_dirty(struct vga *v, uint32_t off, uint32_t len)
{
	uint32_t p, last;

	if (!len || !v->dirty)
		return;
	off &= v->vram_mask;
	last = len - 1 > v->vram_mask - off ? v->vram_mask : off + len - 1;
	for (p = off >> 12; p <= last >> 12; p++)
		v->dirty[p / 32] |= 1u << (p % 32);
}

/* Walk the dirty bits of [off, off+len) (clamped to VRAM); clear them if asked. */
static bool dirty_walk(struct vga *v, uint32_t off, uint32_t len, bool clear)
{
	uint32_t p, last;
	bool any = false;

	if (!len || !v->dirty)
		return false;
	off &= v->vram_mask;
	last = len - 1 > v->vram_mask - off ? v->vram_mask : off + len - 1;
	for (p = off >> 12; p <= last >> 12; p++) {
		if (v->dirty[p / 32] & (1u << (p % 32))) {
			any = true;
			if (clear)
				v->dirty[p / 32] &= ~(1u << (p % 32));
		}
	}
	return any;
}

bool vga_test_dirty(struct vga *v, uint32_t off, uint32_t len)
{
	return dirty_walk(v, off, len, false);
}

void vga_clear_dirty(struct vga *v, uint32_t off, uint32_t len)
{
	dirty_walk(v, off, len, true);
}

void vga_pull_dirty_log(struct vga *v, bool mapped, uint64_t gpa, uint8_t *scratch, size_t cap)
{
	uint32_t pages = v->vram_size >> 12, p;

	if (!mapped || (pages + 7) / 8 > cap)
		return;
	if (dm_dirty_log(v->dm, gpa, v->vram_size, scratch, cap))
		return;
	for (p = 0; p < pages; p++)
		if (scratch[p / 8] & (1u << (p % 8)))
			v->dirty[p / 32] |= 1u << (p % 32);
}

bool vga_in_retrace(const struct vga *v)
{
	return v->dm->clock && clock_ns(v->dm->clock) % VGA_FRAME_NS < VGA_RETRACE_NS;
}

/* ---- registers ------------------------------------------------------- */

static bool vga_port_ok(const struct vga *v, uint16_t port)
{
	/* 0x3Bx answers only in mono mode, 0x3Dx only in colour mode. */
	if ((port & 0xfff0) == 0x3b0)
		return !(v->misc & 1);
	if ((port & 0xfff0) == 0x3d0)
		return v->misc & 1;
	return true;
}

uint8_t vga_ioport_read(struct vga *v, uint16_t port)
{
	uint8_t r;

	if (!vga_port_ok(v, port))
		return 0xff;
	switch (port) {
	case 0x3c0:
		return v->ar_flipflop ? 0 : v->ar_index;
	case 0x3c1:
		return (v->ar_index & 0x1f) < 21 ? v->ar[v->ar_index & 0x1f] : 0;
	case 0x3c2:
		return 0x10; /* switch sense: colour monitor */
	case 0x3c4:
		return v->sr_index;
	case 0x3c5:
		return v->sr[v->sr_index];
	case 0x3c6:
		return v->dac_mask;
	case 0x3c7:
		return v->dac_state;
	case 0x3c8:
		return v->dac_write_index;
	case 0x3c9:
		r = v->palette[v->dac_read_index * 3 + v->dac_sub];
		if (++v->dac_sub == 3) {
			v->dac_sub = 0;
			v->dac_read_index++;
		}
		return r;
	case 0x3ca:
		return v->feature;
	case 0x3cc:
		return v->misc;
	case 0x3ce:
		return v->gr_index;
	case 0x3cf:
		return v->gr[v->gr_index];
	case 0x3b4:
	case 0x3d4:
		return v->cr_index;
	case 0x3b5:
	case 0x3d5:
		return v->cr[v->cr_index];
	case 0x3ba:
	case 0x3da:
		v->ar_flipflop = false;
		r = vga_in_retrace(v) ? 0x09 : 0x00;
		/* Display-enable toggles so polling loops for the blanking edge finish. */
		v->feature ^= 0x80;
		return (uint8_t)(r | ((v->feature >> 7) & 1));
	}
	return 0xff;
}

static void ar_write(struct vga *v, uint8_t val)
{
	unsigned idx = v->ar_index & 0x1f;

	if (!v->ar_flipflop) {
		v->ar_index = val & 0x3f;
	} else if (idx < 21) {
		v->ar[idx] = idx < 16 ? val & 0x3f : val;
		v->palette_dirty = true;
	}
	v->ar_flipflop = !v->ar_flipflop;
}

static void dac_write(struct vga *v, uint8_t val)
{
	v->dac_cache[v->dac_sub++] = val & 0x3f;
	if (v->dac_sub < 3)
		return;
	memcpy(&v->palette[v->dac_write_index * 3], v->dac_cache, 3);
	v->dac_write_index++;
	v->dac_sub = 0;
	v->palette_dirty = true;
}

void vga_ioport_write(struct vga *v, uint16_t port, uint8_t val)
{
	if (!vga_port_ok(v, port))
		return;
	switch (port) {
	case 0x3c0:
		ar_write(v, val);
		break;
	case 0x3c2:
		/* Posted; the window's decoding here does not depend on it (vga_mirror.c). */
		v->misc = val;
		break;
	case 0x3c4:
		v->sr_index = val;
		break;
	case 0x3c5:
		/* Sequencer and GR writes may change the window's decoding. */
		vga_mirror_invalidate(v);
		v->sr[v->sr_index] = val;
		if (v->sr_index == 3)
			v->full_redraw = true; /* character map select */
		break;
	case 0x3c6:
		v->dac_mask = val;
		v->palette_dirty = true;
		break;
	case 0x3c7:
		v->dac_read_index = val;
		v->dac_sub = 0;
		v->dac_state = 3;
		break;
	case 0x3c8:
		v->dac_write_index = val;
		v->dac_sub = 0;
		v->dac_state = 0;
		break;
	case 0x3c9:
		dac_write(v, val);
		break;
	case 0x3ce:
		v->gr_index = val;
		break;
	case 0x3cf:
		vga_mirror_invalidate(v);
		v->gr[v->gr_index] = val;
		break;
	case 0x3b4:
	case 0x3d4:
		v->cr_index = val;
		break;
	case 0x3b5:
	case 0x3d5:
		/* CR11 bit 7 protects CR0-CR7, except the line-compare bit of CR7. */
		if ((v->cr[0x11] & 0x80) && v->cr_index <= 7) {
			if (v->cr_index == 7)
				v->cr[7] = (uint8_t)((v->cr[7] & ~0x10) | (val & 0x10));
			break;
		}
		v->cr[v->cr_index] = val;
		break;
	case 0x3ba:
	case 0x3da:
		v->feature = (uint8_t)((v->feature & 0x80) | (val & 0x7f));
		break;
	}
}

/* ---- memory window --------------------------------------------------- */

/* Offset inside the enabled memory map, or -1 when addr is outside it. */
static int64_t window_offset(const struct vga *v, uint32_t addr)
{
	int64_t a = addr;

	switch ((v->gr[6] >> 2) & 3) {
	case 0:
		return a < 0x20000 ? a : -1;
	case 1:
		return a < 0x10000 ? a : -1;
	case 2:
		return a >= 0x10000 && a < 0x18000 ? a - 0x10000 : -1;
	default:
		return a >= 0x18000 && a < 0x20000 ? a - 0x18000 : -1;
	}
}

static uint32_t vram32(const struct vga *v, uint32_t a)
{
	uint32_t w;

	memcpy(&w, v->vram + ((a * 4) & v->vram_mask), 4);
	return w;
}

uint8_t vga_mem_readb(struct vga *v, uint32_t addr)
{
	int64_t o = window_offset(v, addr);
	uint32_t a, plane, r;

	if (o < 0)
		return 0xff;
	a = (uint32_t)o;
	if (v->sr[4] & 0x08) /* chain 4 */
		return v->vram[a & v->vram_mask];
	if (v->gr[5] & 0x10) { /* odd/even */
		plane = (v->gr[4] & 2) | (a & 1);
		return v->vram[(((a & ~1u) * 4) | plane) & v->vram_mask];
	}
	v->latch = vram32(v, a);
	if (!(v->gr[5] & 0x08)) /* read mode 0 */
		return (uint8_t)(v->latch >> ((v->gr[4] & 3) * 8));
	/* Read mode 1: colour compare. */
	r = (v->latch ^ expand4(v->gr[2])) & expand4(v->gr[7]);
	r |= r >> 16;
	r |= r >> 8;
	return (uint8_t)~r;
}

static uint32_t planar_value(struct vga *v, uint8_t val, uint32_t *bit_mask)
{
	unsigned rot = v->gr[3] & 7, mode = v->gr[5] & 3;
	uint32_t w;

	*bit_mask = v->gr[8];
	switch (mode) {
	case 0:
		val = (uint8_t)((val >> rot) | (val << (8 - rot)));
		w = val * 0x01010101u;
		w = (w & ~expand4(v->gr[1])) | (expand4(v->gr[0]) & expand4(v->gr[1]));
		break;
	case 1:
		return v->latch;
	case 2:
		w = expand4(val & 0x0f);
		break;
	default:
		val = (uint8_t)((val >> rot) | (val << (8 - rot)));
		*bit_mask &= val;
		w = expand4(v->gr[0]);
		break;
	}
	switch ((v->gr[3] >> 3) & 3) {
	case 1:
		w &= v->latch;
		break;
	case 2:
		w |= v->latch;
		break;
	case 3:
		w ^= v->latch;
		break;
	}
	*bit_mask *= 0x01010101u;
	return (w & *bit_mask) | (v->latch & ~*bit_mask);
}

void vga_mem_writeb(struct vga *v, uint32_t addr, uint8_t val)
{
	int64_t o = window_offset(v, addr);
	uint32_t a, plane, w, mask, planes, off;

	if (o < 0)
		return;
	a = (uint32_t)o;
	/*
	 * Chain 4 and odd/even ignore the write mode, set/reset and bit mask
	 * here; vga_window_simple() (vga_mirror.c) relies on that, so keep
	 * them in step.
	 */
	if (v->sr[4] & 0x08) { /* chain 4: plane = low two address bits */
		if (v->sr[2] & (1u << (a & 3))) {
			v->vram[a & v->vram_mask] = val;
			vga_mark_dirty(v, a, 1);
		}
		return;
	}
	if (v->gr[5] & 0x10) { /* odd/even */
		plane = (v->gr[4] & 2) | (a & 1);
		if (v->sr[2] & (1u << plane)) {
			off = (((a & ~1u) * 4) | plane) & v->vram_mask;
			v->vram[off] = val;
			vga_mark_dirty(v, off, 1);
		}
		return;
	}
	w = planar_value(v, val, &mask);
	planes = expand4(v->sr[2] & 0x0f);
	off = (a * 4) & v->vram_mask;
	{
		uint32_t old;

		memcpy(&old, v->vram + off, 4);
		old = (old & ~planes) | (w & planes);
		memcpy(v->vram + off, &old, 4);
	}
	vga_mark_dirty(v, off, 4);
}

static uint64_t mem_read(void *opaque, uint64_t off, unsigned size)
{
	vga_mirror_window_read(opaque);
	return vga_mem_readb(opaque, (uint32_t)off);
}

static void mem_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	vga_mirror_window_write(opaque, off);
	vga_mem_writeb(opaque, (uint32_t)off, (uint8_t)val);
}

static const struct io_ops vga_mem_ops = {
	.read = mem_read,
	.write = mem_write,
	.min_size = 1,
	.max_size = 1,
};

/* Ports: offsets are relative to each region's base. */
static uint64_t pio_read(void *opaque, uint64_t off, unsigned size)
{
	struct vga *v = opaque;

	return vga_ioport_read(v, (uint16_t)(off + 0x3c0));
}

static void pio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct vga *v = opaque;

	/* A 16-bit write to an index port is index then data (common in BIOSes). */
	vga_ioport_write(v, (uint16_t)(off + 0x3c0), (uint8_t)val);
}

static const struct io_ops vga_pio_ops = {
	.read = pio_read,
	.write = pio_write,
	.max_size = 1,
	.posted_writes = VGA_POSTED_3C0,
};

#define VGA_SUBRANGE_OPS(name, base, posted)                                              \
	static uint64_t name##_read(void *opaque, uint64_t off, unsigned size)            \
	{                                                                                 \
		return vga_ioport_read(opaque, (uint16_t)(off + (base)));                 \
	}                                                                                 \
	static void name##_write(void *opaque, uint64_t off, uint64_t val, unsigned size) \
	{                                                                                 \
		vga_ioport_write(opaque, (uint16_t)(off + (base)), (uint8_t)val);         \
	}                                                                                 \
	static const struct io_ops name##_ops = { .read = name##_read,                    \
						  .write = name##_write,                  \
						  .max_size = 1,                          \
						  .posted_writes = (posted) }

VGA_SUBRANGE_OPS(vga_3b4, 0x3b4, VGA_POSTED_CRTC);
VGA_SUBRANGE_OPS(vga_3d4, 0x3d4, VGA_POSTED_CRTC);
VGA_SUBRANGE_OPS(vga_3ba, 0x3ba, 0);
VGA_SUBRANGE_OPS(vga_3da, 0x3da, 0);

void vga_reset(struct vga *v)
{
	vga_mirror_invalidate(v);
	memset(v->sr, 0, sizeof(v->sr));
	memset(v->gr, 0, sizeof(v->gr));
	memset(v->cr, 0, sizeof(v->cr));
	memset(v->ar, 0, sizeof(v->ar));
	v->misc = 0;
	v->sr_index = v->gr_index = v->cr_index = v->ar_index = 0;
	v->ar_flipflop = false;
	v->dac_mask = 0xff;
	v->dac_sub = 0;
	v->dac_read_index = v->dac_write_index = 0;
	v->latch = 0;
	v->full_redraw = true;
	v->palette_dirty = true;
}

int vga_init(struct vga *v, struct dm *dm, uint32_t vram_size)
{
	uint32_t pages;

	v->vram_fd = -1;
	v->mirror.fd = -1;
	if (vram_size < VGA_MIN_VRAM || (vram_size & (vram_size - 1)))
		return -EINVAL;
	v->dm = dm;
	v->vram_size = vram_size;
	v->vram_mask = vram_size - 1;
	v->vram_fd = memfd_create("hvm-vram", MFD_CLOEXEC);
	if (v->vram_fd < 0)
		return -errno;
	if (ftruncate(v->vram_fd, vram_size) < 0)
		return -errno;
	v->vram = mmap(NULL, vram_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vram_fd, 0);
	if (v->vram == MAP_FAILED) {
		v->vram = NULL;
		return -errno;
	}
	pages = vram_size >> 12;
	v->dirty = calloc((pages + 31) / 32, sizeof(uint32_t));
	if (!v->dirty)
		return -ENOMEM;
	io_region_init(&v->pio_3c0, &vga_pio_ops, v, "vga", 16);
	io_region_init(&v->pio_3b4, &vga_3b4_ops, v, "vga-3b4", 2);
	io_region_init(&v->pio_3d4, &vga_3d4_ops, v, "vga-3d4", 2);
	io_region_init(&v->pio_3ba, &vga_3ba_ops, v, "vga-3ba", 1);
	io_region_init(&v->pio_3da, &vga_3da_ops, v, "vga-3da", 1);
	io_region_init(&v->mem, &vga_mem_ops, v, "vga-window", 0x20000);
	vga_reset(v);
	return 0;
}

int vga_map_legacy(struct vga *v)
{
	int err = io_region_map(v->dm, &v->pio_3c0, IO_PIO, 0x3c0);

	if (!err)
		err = io_region_map(v->dm, &v->pio_3b4, IO_PIO, 0x3b4);
	if (!err)
		err = io_region_map(v->dm, &v->pio_3d4, IO_PIO, 0x3d4);
	if (!err)
		err = io_region_map(v->dm, &v->pio_3ba, IO_PIO, 0x3ba);
	if (!err)
		err = io_region_map(v->dm, &v->pio_3da, IO_PIO, 0x3da);
	if (!err)
		err = io_region_map(v->dm, &v->mem, IO_MMIO, 0xa0000);
	return err;
}

void vga_exit(struct vga *v)
{
	io_region_unmap(&v->pio_3c0);
	io_region_unmap(&v->pio_3b4);
	io_region_unmap(&v->pio_3d4);
	io_region_unmap(&v->pio_3ba);
	io_region_unmap(&v->pio_3da);
	io_region_unmap(&v->mem);
	vga_mirror_destroy(v);
	if (v->vram)
		munmap(v->vram, v->vram_size);
	if (v->vram_fd >= 0)
		close(v->vram_fd);
	free(v->dirty);
	free(v->shadow);
	v->vram = NULL;
}
