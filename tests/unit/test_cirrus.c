// SPDX-License-Identifier: MIT
/*
 * test_cirrus.c - the Cirrus CL-GD5446 against a standalone dm: PCI
 * identity and BARs, extension registers (SR6 unlock, CR27, hidden DAC,
 * cursor aliases, 16-bit index/data writes), banked and linear VRAM access,
 * write modes 4/5, every BitBLT mode checked against a small reference
 * model written here (ROPs as truth tables, copies as memmove), the
 * reliability.md Cirrus CVE triggers (VRAM outside the legitimate target
 * stays untouched), a random register fuzz, and pixel-exact scan-out of
 * 8/15/16/24/32 bpp modes with the hardware cursor.
 */
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "device.h"
#include "dm.h"
#include "pci/pci.h"
#include "io_util.h"
#include "tap.h"
#include "vga/cirrus.h"

#define BAR0 0xe0000000u
#define BAR1 0xe2000000u
#define VRAM CIRRUS_VRAM_SIZE
#define CIRRUS_CURSOR_AREA_TEST (16u << 10)

static struct dm *dm;
static struct cirrus *cs;
static uint8_t *vram;
static uint8_t *ref; /* reference VRAM image */

static void memw(uint64_t a, unsigned size, uint64_t v)
{
	io_dispatch(dm, IO_MMIO, a, size, true, &v);
}

static uint64_t memr(uint64_t a, unsigned size)
{
	uint64_t v = 0;

	io_dispatch(dm, IO_MMIO, a, size, false, &v);
	return v;
}

static void seq(uint8_t i, uint8_t v)
{
	io_out(dm, 0x3c4, 1, i);
	io_out(dm, 0x3c5, 1, v);
}

static uint8_t seq_r(uint8_t i)
{
	io_out(dm, 0x3c4, 1, i);
	return (uint8_t)io_in(dm, 0x3c5, 1);
}

static void gr(uint8_t i, uint8_t v)
{
	io_out(dm, 0x3ce, 1, i);
	io_out(dm, 0x3cf, 1, v);
}

static uint8_t gr_r(uint8_t i)
{
	io_out(dm, 0x3ce, 1, i);
	return (uint8_t)io_in(dm, 0x3cf, 1);
}

static void crtc(uint8_t i, uint8_t v)
{
	io_out(dm, 0x3d4, 1, i);
	io_out(dm, 0x3d5, 1, v);
}

static uint8_t crtc_r(uint8_t i)
{
	io_out(dm, 0x3d4, 1, i);
	return (uint8_t)io_in(dm, 0x3d5, 1);
}

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static void vram_randomise(void)
{
	uint32_t i;

	for (i = 0; i < VRAM; i += 4) {
		uint32_t r = rnd();

		memcpy(vram + i, &r, 4);
	}
	memcpy(ref, vram, VRAM);
}

/* Number of VRAM bytes differing from the reference image. */
static unsigned vram_diff(void)
{
	unsigned n = 0, i;

	for (i = 0; i < VRAM; i++)
		n += vram[i] != ref[i];
	return n;
}

/* ---- blit programming --------------------------------------------------- */

struct blt {
	uint32_t w, h, dpitch, spitch, daddr, saddr;
	uint8_t mode, rop, modeext, skip;
	uint32_t fg, bg;
	uint16_t key;
};

/* Through GR registers (ports) or the BAR1 memory-mapped block. */
static void blt_reg(bool mmio, unsigned mmio_off, uint8_t gidx, uint8_t v)
{
	if (mmio)
		memw(BAR1 + 0x100 + mmio_off, 1, v);
	else
		gr(gidx, v);
}

static void blt_run(const struct blt *b, bool mmio)
{
	static const uint8_t bg_gr[4] = { 0x00, 0x10, 0x12, 0x14 },
			     fg_gr[4] = { 0x01, 0x11, 0x13, 0x15 };
	unsigned i;

	for (i = 0; i < 4; i++) {
		blt_reg(mmio, i, bg_gr[i], (uint8_t)(b->bg >> (8 * i)));
		blt_reg(mmio, 4 + i, fg_gr[i], (uint8_t)(b->fg >> (8 * i)));
	}
	blt_reg(mmio, 0x08, 0x20, (uint8_t)(b->w - 1));
	blt_reg(mmio, 0x09, 0x21, (uint8_t)((b->w - 1) >> 8));
	blt_reg(mmio, 0x0a, 0x22, (uint8_t)(b->h - 1));
	blt_reg(mmio, 0x0b, 0x23, (uint8_t)((b->h - 1) >> 8));
	blt_reg(mmio, 0x0c, 0x24, (uint8_t)b->dpitch);
	blt_reg(mmio, 0x0d, 0x25, (uint8_t)(b->dpitch >> 8));
	blt_reg(mmio, 0x0e, 0x26, (uint8_t)b->spitch);
	blt_reg(mmio, 0x0f, 0x27, (uint8_t)(b->spitch >> 8));
	blt_reg(mmio, 0x14, 0x2c, (uint8_t)b->saddr);
	blt_reg(mmio, 0x15, 0x2d, (uint8_t)(b->saddr >> 8));
	blt_reg(mmio, 0x16, 0x2e, (uint8_t)(b->saddr >> 16));
	blt_reg(mmio, 0x17, 0x2f, b->skip);
	blt_reg(mmio, 0x18, 0x30, b->mode);
	blt_reg(mmio, 0x1a, 0x32, b->rop);
	blt_reg(mmio, 0x1b, 0x33, b->modeext);
	blt_reg(mmio, 0x1c, 0x34, (uint8_t)b->key);
	blt_reg(mmio, 0x1d, 0x35, (uint8_t)(b->key >> 8));
	blt_reg(mmio, 0x10, 0x28, (uint8_t)b->daddr);
	blt_reg(mmio, 0x11, 0x29, (uint8_t)(b->daddr >> 8));
	blt_reg(mmio, 0x12, 0x2a, (uint8_t)(b->daddr >> 16));
	blt_reg(mmio, 0x40, 0x31, 0x02); /* start */
}

static uint8_t blt_status(void)
{
	return gr_r(0x31);
}

/* ---- reference model ------------------------------------------------------ */

/* GR32 code -> truth table: bit (s << 1 | d) is the result for source bit s, dest bit d. */
static unsigned rop_table(uint8_t rop)
{
	switch (rop) {
	case 0x00:
		return 0x0; /* 0 */
	case 0x05:
		return 0x8; /* S and D */
	case 0x06:
		return 0xa; /* D */
	case 0x09:
		return 0x4; /* S and not D */
	case 0x0b:
		return 0x5; /* not D */
	case 0x0d:
		return 0xc; /* S */
	case 0x0e:
		return 0xf; /* 1 */
	case 0x50:
		return 0x2; /* not S and D */
	case 0x59:
		return 0x6; /* S xor D */
	case 0x6d:
		return 0xe; /* S or D */
	case 0x90:
		return 0x7; /* not S or not D */
	case 0x95:
		return 0x9; /* not (S xor D) */
	case 0xad:
		return 0xd; /* S or not D */
	case 0xd0:
		return 0x3; /* not S */
	case 0xd6:
		return 0xb; /* not S or D */
	case 0xda:
		return 0x1; /* not S and not D */
	default:
		return 0xa;
	}
}

static uint8_t ref_rop(uint8_t rop, uint8_t d, uint8_t s)
{
	unsigned t = rop_table(rop), bit;
	uint8_t r = 0;

	for (bit = 0; bit < 8; bit++) {
		unsigned sb = (s >> bit) & 1, db = (d >> bit) & 1;

		r |= (uint8_t)(((t >> (sb << 1 | db)) & 1) << bit);
	}
	return r;
}

static void ref_pixel(uint32_t a, uint32_t col, unsigned bypp, uint8_t rop)
{
	unsigned i;

	for (i = 0; i < bypp; i++)
		ref[a + i] = ref_rop(rop, ref[a + i], (uint8_t)(col >> (8 * i)));
}

/* ---- tests ---------------------------------------------------------------- */

static void test_pci(void)
{
	struct pci_bus *bus = pci_bus_of(dm);
	uint8_t df = PCI_DEVFN(2, 0);

	CHECK_EQ(pci_bus_config_read(bus, 0, df, 0, 4), 0x00b81013);
	CHECK_EQ(pci_bus_config_read(bus, 0, df, 8, 4), 0x03000000);
	CHECK_EQ(pci_bus_config_read(bus, 0, df, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);
	pci_bus_config_write(bus, 0, df, 0x10, 0xffffffff, 4);
	CHECK_EQ(pci_bus_config_read(bus, 0, df, 0x10, 4), 0xfe000008); /* 32 MB prefetchable */
	pci_bus_config_write(bus, 0, df, 0x14, 0xffffffff, 4);
	CHECK_EQ(pci_bus_config_read(bus, 0, df, 0x14, 4), 0xfffff000);
	pci_bus_config_write(bus, 0, df, 0x10, BAR0, 4);
	pci_bus_config_write(bus, 0, df, 0x14, BAR1, 4);
	pci_bus_config_write(bus, 0, df, PCI_COMMAND, 0x3, 2);
	CHECK_EQ(pci_bar_addr(&cs->pci, 0), BAR0);
	CHECK_EQ(pci_bar_addr(&cs->pci, 1), BAR1);
}

static void test_registers(void)
{
	unsigned i;

	io_out(dm, 0x3c2, 1, 0x67); /* colour CRTC addressing */
	CHECK_EQ(seq_r(6), 0x0f);
	seq(6, 0x12);
	CHECK_EQ(seq_r(6), 0x12);
	seq(6, 0x00);
	CHECK_EQ(seq_r(6), 0x0f);
	io_out(dm, 0x3c4, 2, 0x1206); /* 16-bit form: index then data */
	CHECK_EQ(seq_r(6), 0x12);
	CHECK_EQ(crtc_r(0x27), 0xb8);
	crtc(0x27, 0x00); /* read-only */
	CHECK_EQ(crtc_r(0x27), 0xb8);
	CHECK_EQ(seq_r(0x0f), 0x98);
	CHECK_EQ(seq_r(0x15), 0x04);
	CHECK_EQ(seq_r(0x17) & 0x38, 0x20);
	seq(0x17, 0xff);
	CHECK_EQ(seq_r(0x17), 0xe7); /* bus type bits stay */
	seq(0x17, 0x20);
	io_out(dm, 0x3ce, 2, 0x3409); /* GR9 = 0x34 via the 16-bit form */
	CHECK_EQ(gr_r(9), 0x34);
	gr(9, 0);
	gr(0x21, 0xff);
	CHECK_EQ(gr_r(0x21), 0x1f);
	gr(0x2a, 0xff);
	CHECK_EQ(gr_r(0x2a), 0x3f);
	CHECK_EQ(gr_r(0x3a), 0xff);
	gr(0x00, 0xa5); /* 8-bit background for blits, 4-bit set/reset for VGA */
	CHECK_EQ(gr_r(0x00), 0xa5);
	CHECK_EQ(cs->vga.gr[0] & 0xf0, 0);
	/* Cursor position aliases: index bits 7-5 carry position bits 2-0. */
	seq(0x70, 0x10);
	CHECK_EQ(seq_r(0x10), 0x10);
	CHECK_EQ(cs->cursor_x, 0x83);
	seq(0xf1, 0x02);
	CHECK_EQ(cs->cursor_y, 0x17);
	/* Hidden DAC: the fifth access after four reads of 0x3C6. */
	io_in(dm, 0x3c8, 1);
	for (i = 0; i < 4; i++)
		CHECK_EQ(io_in(dm, 0x3c6, 1), 0xff);
	io_out(dm, 0x3c6, 1, 0xe1);
	CHECK_EQ(cs->vga.dac_mask, 0xff);
	io_in(dm, 0x3c8, 1);
	for (i = 0; i < 4; i++)
		io_in(dm, 0x3c6, 1);
	CHECK_EQ(io_in(dm, 0x3c6, 1), 0xe1);
	io_out(dm, 0x3c6, 1, 0xfe); /* a plain write is the pixel mask */
	CHECK_EQ(cs->vga.dac_mask, 0xfe);
	io_out(dm, 0x3c6, 1, 0xff);
	/* BAR1: ports 0x3C0+ at 0, BitBLT registers at 0x100. */
	memw(BAR1 + 0x04, 1, 0x06);
	CHECK_EQ(memr(BAR1 + 0x05, 1), 0x12);
	memw(BAR1 + 0x108, 2, 0x0123);
	CHECK_EQ(gr_r(0x20), 0x23);
	CHECK_EQ(gr_r(0x21), 0x01);
	CHECK_EQ(memr(BAR1 + 0x109, 1), 0x01);
}

static void test_banked_linear(void)
{
	seq(7, 0x01); /* extended mode, 8 bpp */
	gr(0x0b, 0x00);
	gr(0x09, 0x10); /* single bank, 4K granularity: 64K */
	memw(0xa0123, 1, 0x5a);
	CHECK_EQ(vram[0x10123], 0x5a);
	memw(0xa8005, 1, 0x6b);
	CHECK_EQ(vram[0x18005], 0x6b);
	CHECK_EQ(memr(0xa0123, 1), 0x5a);
	gr(0x0b, 0x01); /* dual banks */
	gr(0x09, 0x01);
	gr(0x0a, 0x02);
	memw(0xa0000, 1, 0x11);
	memw(0xa8000, 1, 0x22);
	CHECK_EQ(vram[0x1000], 0x11);
	CHECK_EQ(vram[0x2000], 0x22);
	gr(0x0b, 0x20); /* single, 16K granularity */
	gr(0x09, 0x01);
	memw(0xa0001, 1, 0x33);
	CHECK_EQ(vram[0x4001], 0x33);
	/* Top of VRAM: bank 0 sees the last 16K, the rest of the window reads open bus. */
	gr(0x09, 0xff);
	memw(0xa0000, 1, 0x44);
	CHECK_EQ(vram[0x3fc000], 0x44);
	CHECK_EQ(memr(0xa4000, 1), 0xff);
	CHECK_EQ(memr(0xa8000, 1), 0xff);
	memw(0xa8000, 1, 0x55); /* dropped */
	CHECK_EQ(memr(0xa8000, 1), 0xff);
	gr(0x0b, 0);
	gr(0x09, 0);
	/* Linear framebuffer through BAR0 (the dm's handler when no hypervisor maps it). */
	memw(BAR0 + 0x200000, 1, 0xaa);
	CHECK_EQ(vram[0x200000], 0xaa);
	memw(BAR0 + 0x200004, 4, 0x44332211);
	CHECK_EQ(vram[0x200007], 0x44);
	CHECK_EQ(memr(BAR0 + 0x200004, 4), 0x44332211);
	CHECK_EQ(memr(BAR0 + 0x500000, 1), 0xff); /* between VRAM and the aperture */
	/* BitBLT registers at 0xB8000 once SR17 bit 2 enables them. */
	seq(0x17, 0x24);
	memw(0xb8000 + 0x0c, 1, 0x40);
	CHECK_EQ(gr_r(0x24), 0x40);
	seq(0x17, 0x20);
	CHECK_EQ(memr(0xb8000 + 0x0c, 1), 0xff);
	/* SR17 bits 6+2: the registers sit in the last 256 bytes of the framebuffer instead. */
	seq(0x17, 0x64);
	CHECK(cs->lfb_trapped);
	memw(BAR0 + VRAM - 256 + 0x0c, 1, 0x48);
	CHECK_EQ(gr_r(0x24), 0x48);
	CHECK_EQ(memr(BAR0 + VRAM - 256 + 0x0c, 1), 0x48);
	seq(0x17, 0x20);
	CHECK(!cs->lfb_trapped);
	CHECK_EQ(cs->pci.bar[0].memfd, cs->vga.vram_fd);
}

static void test_write_modes(void)
{
	unsigned x;

	vram_randomise();
	seq(7, 0x01);
	gr(0x0b, 0x04); /* extended write modes */
	gr(0x09, 0x00);
	gr(0x01, 0x77);
	gr(0x00, 0x99);
	gr(0x05, 0x04); /* mode 4: set bits write the foreground */
	memw(0xa0100, 1, 0xa5);
	for (x = 0; x < 8; x++)
		ref[0x100 + x] = (0xa5 & (0x80 >> x)) ? 0x77 : ref[0x100 + x];
	gr(0x05, 0x05); /* mode 5: clear bits the background */
	memw(0xa0200, 1, 0x0f);
	for (x = 0; x < 8; x++)
		ref[0x200 + x] = (0x0f & (0x80 >> x)) ? 0x77 : 0x99;
	CHECK_EQ(vram_diff(), 0);
	/* CVE-2017-15289: mode 5 at the last byte of VRAM wraps, pixel by pixel. */
	gr(0x0b, 0x24); /* 16K banks, extended writes, no address shift */
	gr(0x09, 0xff);
	memw(0xa3fff, 1, 0xf0);
	for (x = 0; x < 8; x++)
		ref[(0x3fffffu + x) & (VRAM - 1)] = x < 4 ? 0x77 : 0x99;
	CHECK_EQ(vram_diff(), 0);
	/* x16 addressing with 16-bit pixels at the top of VRAM. */
	gr(0x0b, 0x36); /* 16K banks, extended writes, x16 (bits 4+2) */
	gr(0x11, 0xee);
	gr(0x10, 0xdd);
	gr(0x09, 0x0f);
	memw(0xa3fff, 1, 0x80);
	{
		uint32_t a = ((0x3c000u + 0x3fff) << 4) & (VRAM - 1);

		for (x = 0; x < 8; x++) {
			ref[(a + 2 * x) & (VRAM - 1)] = x ? 0x99 : 0x77;
			ref[(a + 2 * x + 1) & (VRAM - 1)] = x ? 0xdd : 0xee;
		}
	}
	CHECK_EQ(vram_diff(), 0);
	gr(0x05, 0);
	gr(0x0b, 0);
	gr(0x09, 0);
}

static void test_rops(void)
{
	static const uint8_t rops[16] = { 0x00, 0x05, 0x06, 0x09, 0x0b, 0x0d, 0x0e, 0x50,
					  0x59, 0x6d, 0x90, 0x95, 0xad, 0xd0, 0xd6, 0xda };
	unsigned i, x, y, bad = 0;

	for (i = 0; i < 16; i++) {
		struct blt b = { .w = 40,
				 .h = 10,
				 .dpitch = 256,
				 .spitch = 300,
				 .daddr = 0x20010,
				 .saddr = 0x10020,
				 .rop = rops[i] };

		vram_randomise();
		blt_run(&b, i & 1);
		for (y = 0; y < b.h; y++)
			for (x = 0; x < b.w; x++)
				ref_pixel(b.daddr + y * b.dpitch + x,
					  ref[b.saddr + y * b.spitch + x], 1, b.rop);
		bad += vram_diff() != 0;
		bad += (blt_status() & (CIRRUS_BLT_BUSY | CIRRUS_BLT_START)) != 0;
	}
	CHECK_EQ(bad, 0);
}

/* Overlapping copies behave like memmove in both directions. */
static void test_copy_directions(void)
{
	struct blt b = { .w = 64, .h = 16, .dpitch = 512, .spitch = 512, .rop = 0x0d };
	uint8_t save[16][64];
	unsigned x, y;

	/* Forward, destination above the source (scroll up). */
	vram_randomise();
	b.saddr = 0x30000 + 4 * 512;
	b.daddr = 0x30000;
	for (y = 0; y < b.h; y++)
		memcpy(save[y], ref + b.saddr + y * 512, 64);
	blt_run(&b, false);
	for (y = 0; y < b.h; y++)
		memcpy(ref + b.daddr + y * 512, save[y], 64);
	CHECK_EQ(vram_diff(), 0);
	/* Backward (addresses are of the last byte), destination below (scroll down). */
	vram_randomise();
	b.mode = CIRRUS_BLTMODE_BACKWARDS;
	b.saddr = 0x30000 + 15 * 512 + 63;
	b.daddr = b.saddr + 3 * 512 + 5;
	for (y = 0; y < b.h; y++)
		memcpy(save[y], ref + b.saddr - 63 - y * 512, 64);
	blt_run(&b, true);
	for (y = 0; y < b.h; y++)
		memcpy(ref + b.daddr - 63 - y * 512, save[y], 64);
	CHECK_EQ(vram_diff(), 0);
	/* Backward with a ROP reads the destination too. */
	vram_randomise();
	b.rop = 0x59;
	b.daddr = 0x200000 + 7 * 512 + 63;
	b.saddr = 0x100000 + 7 * 512 + 63;
	b.h = 8;
	blt_run(&b, false);
	for (y = 0; y < 8; y++)
		for (x = 0; x < 64; x++)
			ref_pixel(b.daddr - y * 512 - x, ref[b.saddr - y * 512 - x], 1, 0x59);
	CHECK_EQ(vram_diff(), 0);
}

static void test_transparent_copy(void)
{
	unsigned x, y, bypp;

	for (bypp = 1; bypp <= 2; bypp++) {
		struct blt b = { .w = 32,
				 .h = 4,
				 .dpitch = 128,
				 .spitch = 128,
				 .daddr = 0x40000,
				 .saddr = 0x50000,
				 .rop = 0x0d,
				 .key = 0x3c3c,
				 .mode = (uint8_t)(CIRRUS_BLTMODE_TRANSPARENT | (bypp - 1) << 4) };

		vram_randomise();
		/* Every third source pixel is the transparent colour. */
		for (y = 0; y < b.h; y++)
			for (x = 0; x < b.w; x += bypp)
				if ((x / bypp) % 3 == 0)
					memset(vram + b.saddr + y * 128 + x, 0x3c, bypp);
		memcpy(ref, vram, VRAM);
		blt_run(&b, false);
		for (y = 0; y < b.h; y++)
			for (x = 0; x < b.w; x += bypp) {
				uint32_t s = b.saddr + y * 128 + x, d = b.daddr + y * 128 + x;
				uint32_t p = ref[s] | (bypp == 2 ? ref[s + 1] << 8 : 0);

				if (p != (bypp == 2 ? 0x3c3cu : 0x3cu))
					memcpy(ref + d, ref + s, bypp);
			}
		CHECK_EQ(vram_diff(), 0);
	}
}

static const unsigned bypps[4] = { 1, 2, 3, 4 };

static void test_expand(void)
{
	unsigned k, x, y, variant;

	for (k = 0; k < 4; k++) {
		for (variant = 0; variant < 4; variant++) {
			/* 0 opaque, 1 transparent, 2 inverted transparent, 3 opaque with skip */
			unsigned bypp = bypps[k], npix = 21, rowb = (npix + 7) / 8, skip = 0;
			struct blt b = { .w = npix * bypp,
					 .h = 5,
					 .dpitch = 256,
					 .spitch = 0x999,
					 .daddr = 0x60000,
					 .saddr = 0x70000,
					 .rop = 0x0d,
					 .fg = 0xa1b2c3d4,
					 .bg = 0x15263748 };

			b.mode = (uint8_t)(CIRRUS_BLTMODE_COLOREXPAND | (bypp - 1) << 4);
			if (variant == 1 || variant == 2)
				b.mode |= CIRRUS_BLTMODE_TRANSPARENT;
			if (variant == 2)
				b.modeext = CIRRUS_BLTMODEEXT_EXPINV;
			if (variant == 3)
				skip = 3;
			/* 24 bpp counts the skip in bytes. */
			b.skip = (uint8_t)(bypp == 3 ? skip * 3 : skip);
			vram_randomise();
			blt_run(&b, variant & 1);
			for (y = 0; y < b.h; y++)
				for (x = skip; x < npix; x++) {
					unsigned bit =
						(ref[b.saddr + y * rowb + x / 8] >> (7 - x % 8)) &
						1;
					uint32_t d = b.daddr + y * 256 + x * bypp;

					if (variant == 0 || variant == 3)
						ref_pixel(d, bit ? b.fg : b.bg, bypp, 0x0d);
					else if (variant == 1 && bit)
						ref_pixel(d, b.fg, bypp, 0x0d);
					else if (variant == 2 && !bit)
						ref_pixel(d, b.bg, bypp, 0x0d);
				}
			CHECK_EQ(vram_diff(), 0);
		}
	}
}

static void test_patterns(void)
{
	unsigned k, x, y;

	for (k = 0; k < 4; k++) {
		unsigned bypp = bypps[k], pp = bypp == 3 ? 32 : 8 * bypp;
		struct blt b = { .w = 19 * bypp,
				 .h = 11,
				 .dpitch = 1024,
				 .daddr = 0x80000,
				 .saddr = 0x90000,
				 .rop = 0x59,
				 .fg = 0x01020304,
				 .bg = 0xf0e0d0c0 };

		/* Colour pattern. */
		b.mode = (uint8_t)(CIRRUS_BLTMODE_PATTERN | (bypp - 1) << 4);
		vram_randomise();
		blt_run(&b, k & 1);
		for (y = 0; y < b.h; y++)
			for (x = 0; x < 19; x++) {
				const uint8_t *p = ref + b.saddr + (y & 7) * pp + (x & 7) * bypp;
				uint32_t col = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;

				ref_pixel(b.daddr + y * 1024 + x * bypp, col, bypp, b.rop);
			}
		CHECK_EQ(vram_diff(), 0);
		/* Monochrome pattern, opaque. */
		b.mode = (uint8_t)(CIRRUS_BLTMODE_PATTERN | CIRRUS_BLTMODE_COLOREXPAND |
				   (bypp - 1) << 4);
		b.rop = 0x0d;
		vram_randomise();
		blt_run(&b, false);
		for (y = 0; y < b.h; y++)
			for (x = 0; x < 19; x++) {
				unsigned bit = (ref[b.saddr + (y & 7)] >> (7 - (x & 7))) & 1;

				ref_pixel(b.daddr + y * 1024 + x * bypp, bit ? b.fg : b.bg, bypp,
					  0x0d);
			}
		CHECK_EQ(vram_diff(), 0);
		/* Solid fill (GR33 bit 2) with a ROP. */
		b.modeext = CIRRUS_BLTMODEEXT_SOLIDFILL;
		b.rop = 0x6d;
		vram_randomise();
		blt_run(&b, true);
		for (y = 0; y < b.h; y++)
			for (x = 0; x < 19; x++)
				ref_pixel(b.daddr + y * 1024 + x * bypp, b.fg, bypp, 0x6d);
		CHECK_EQ(vram_diff(), 0);
	}
}

/* System-to-video: the CPU supplies source rows through the window or the aperture. */
static void test_host_blits(void)
{
	struct blt b = { .w = 10,
			 .h = 3,
			 .dpitch = 64,
			 .daddr = 0xa0000,
			 .rop = 0x0d,
			 .mode = CIRRUS_BLTMODE_MEMSYSSRC };
	uint8_t data[3][12];
	unsigned x, y;

	seq(7, 0x01);
	vram_randomise();
	blt_run(&b, false);
	CHECK(blt_status() & CIRRUS_BLT_BUSY);
	/* Host data must reach the dm: the direct framebuffer mapping is withdrawn meanwhile. */
	CHECK(cs->lfb_trapped);
	CHECK(cs->pci.bar[0].memfd_off);
	for (y = 0; y < 3; y++)
		for (x = 0; x < 12; x++) { /* rows padded to a dword */
			data[y][x] = (uint8_t)rnd();
			if (y == 2 && x == 11) {
				CHECK(blt_status() & CIRRUS_BLT_BUSY);
			}
			memw(0xa0000 + x, 1, data[y][x]);
		}
	CHECK_EQ(blt_status() & CIRRUS_BLT_BUSY, 0);
	CHECK(!cs->lfb_trapped);
	for (y = 0; y < 3; y++)
		memcpy(ref + b.daddr + y * 64, data[y], 10);
	CHECK_EQ(vram_diff(), 0);
	/* Colour expansion from host data, 16 bpp, through the BitBLT aperture in dwords. */
	b.w = 20 * 2;
	b.h = 4;
	b.daddr = 0xb0000;
	b.fg = 0xbeef;
	b.bg = 0x1234;
	b.mode = CIRRUS_BLTMODE_MEMSYSSRC | CIRRUS_BLTMODE_COLOREXPAND | 0x10;
	vram_randomise();
	blt_run(&b, true);
	for (y = 0; y < 4; y++) {
		uint8_t bits[3] = { (uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd() };

		for (x = 0; x < 3; x++)
			memw(BAR0 + CIRRUS_BLT_APERTURE + x, 1, bits[x]);
		for (x = 0; x < 20; x++)
			ref_pixel(b.daddr + y * 64 + 2 * x,
				  (bits[x / 8] >> (7 - x % 8)) & 1 ? 0xbeef : 0x1234, 2, 0x0d);
	}
	CHECK_EQ(blt_status() & CIRRUS_BLT_BUSY, 0);
	CHECK_EQ(vram_diff(), 0);
	/* Host pattern (8 bpp, 64 bytes) through the linear framebuffer handler. */
	b.w = 16;
	b.h = 9;
	b.daddr = 0xc0000;
	b.mode = CIRRUS_BLTMODE_MEMSYSSRC | CIRRUS_BLTMODE_PATTERN;
	vram_randomise();
	blt_run(&b, false);
	for (x = 0; x < 64; x++)
		memw(BAR0 + x, 1, (uint8_t)(x * 7));
	for (y = 0; y < 9; y++)
		for (x = 0; x < 16; x++)
			ref[b.daddr + y * 64 + x] = (uint8_t)(((y & 7) * 8 + (x & 7)) * 7);
	CHECK_EQ(vram_diff(), 0);
	/* GR31 reset abandons a pending host blit. */
	b.mode = CIRRUS_BLTMODE_MEMSYSSRC;
	blt_run(&b, false);
	CHECK(cirrus_blt_host_pending(cs));
	gr(0x31, CIRRUS_BLT_RESET);
	gr(0x31, 0);
	CHECK(!cirrus_blt_host_pending(cs));
	CHECK_EQ(blt_status() & CIRRUS_BLT_BUSY, 0);
}

/* Autostart: writing GR2A starts the blit when GR31 bit 7 is set. */
static void test_autostart(void)
{
	struct blt b = { .w = 8, .h = 2, .dpitch = 16, .daddr = 0x1000, .rop = 0x0e };

	vram_randomise();
	gr(0x31, CIRRUS_BLT_AUTOSTART);
	gr(0x20, 7);
	gr(0x21, 0);
	gr(0x22, 1);
	gr(0x23, 0);
	gr(0x24, 16);
	gr(0x25, 0);
	gr(0x26, 16);
	gr(0x27, 0);
	gr(0x30, 0);
	gr(0x32, 0x0e);
	gr(0x28, 0x00);
	gr(0x29, 0x10);
	CHECK_EQ(vram_diff(), 0);
	gr(0x2a, 0x00);
	memset(ref + 0x1000, 0xff, 8);
	memset(ref + 0x1010, 0xff, 8);
	CHECK_EQ(vram_diff(), 0);
	gr(0x31, 0);
	(void)b;
}

/* reliability.md: the Cirrus CVE triggers leave VRAM outside the target untouched. */
static void test_cves(void)
{
	struct blt b;
	unsigned i;

	/* CVE-2014-8106 / CVE-2017-2615: backward blit reaching below address 0. */
	vram_randomise();
	b = (struct blt){ .w = 256,
			  .h = 16,
			  .dpitch = 1024,
			  .spitch = 1024,
			  .daddr = 0x1000,
			  .saddr = 0x10,
			  .rop = 0x0d,
			  .mode = CIRRUS_BLTMODE_BACKWARDS };
	blt_run(&b, false);
	CHECK_EQ(vram_diff(), 0);
	b.saddr = 0x200000;
	b.daddr = 0x100; /* dst below 0 */
	blt_run(&b, false);
	CHECK_EQ(vram_diff(), 0);
	/* Forward source or destination running past the end of VRAM. */
	b = (struct blt){ .w = 256,
			  .h = 2,
			  .dpitch = 256,
			  .spitch = 256,
			  .daddr = 0x1000,
			  .saddr = VRAM - 300,
			  .rop = 0x0d };
	blt_run(&b, true);
	CHECK_EQ(vram_diff(), 0);
	b.saddr = 0x1000;
	b.daddr = VRAM - 300;
	blt_run(&b, false);
	CHECK_EQ(vram_diff(), 0);
	/* Maximum width and pitch, height 8192 (every register at its top). */
	b = (struct blt){ .w = 8192, .h = 8192, .dpitch = 8191, .spitch = 8191, .rop = 0x0d };
	blt_run(&b, false);
	CHECK_EQ(vram_diff(), 0);
	/* CVE-2016-9921/9922: zero pitches (and width 1) - no division, no blit. */
	b = (struct blt){ .w = 1, .h = 100, .dpitch = 0, .spitch = 0, .daddr = 0x100, .rop = 0x0d };
	blt_run(&b, false);
	CHECK_EQ(vram_diff(), 0);
	b.mode = CIRRUS_BLTMODE_BACKWARDS;
	blt_run(&b, true);
	CHECK_EQ(vram_diff(), 0);
	/* CVE-2017-2620: host-source blit whose destination leaves VRAM is never armed. */
	b = (struct blt){ .w = 64,
			  .h = 64,
			  .dpitch = 4096,
			  .daddr = VRAM - 4096 * 10,
			  .rop = 0x0d,
			  .mode = CIRRUS_BLTMODE_MEMSYSSRC };
	blt_run(&b, false);
	CHECK(!cirrus_blt_host_pending(cs));
	CHECK_EQ(blt_status() & CIRRUS_BLT_BUSY, 0);
	CHECK_EQ(vram_diff(), 0);
	/* CVE-2017-7718: transparent copy with the source at the end of VRAM. */
	b = (struct blt){ .w = 64,
			  .h = 4,
			  .dpitch = 64,
			  .spitch = 64,
			  .saddr = VRAM - 100,
			  .daddr = 0x1000,
			  .rop = 0x0d,
			  .key = 0x11,
			  .mode = CIRRUS_BLTMODE_TRANSPARENT };
	blt_run(&b, false);
	CHECK_EQ(vram_diff(), 0);
	/* CVE-2017-7980: colour expansion whose packed source runs off the end. */
	b = (struct blt){ .w = 8000,
			  .h = 64,
			  .dpitch = 8000,
			  .saddr = VRAM - 64,
			  .daddr = 0,
			  .rop = 0x0d,
			  .mode = CIRRUS_BLTMODE_COLOREXPAND };
	blt_run(&b, false);
	CHECK_EQ(vram_diff(), 0);
	/* Pattern source at the last bytes is aligned down, inside VRAM. */
	b = (struct blt){ .w = 8,
			  .h = 1,
			  .dpitch = 8,
			  .saddr = VRAM - 1,
			  .daddr = 0x2000,
			  .rop = 0x0d,
			  .mode = CIRRUS_BLTMODE_PATTERN };
	blt_run(&b, false);
	memcpy(ref + 0x2000, ref + VRAM - 64, 8);
	CHECK_EQ(vram_diff(), 0);
	/* QEMU #3377: 24 bpp transparent pattern expansion with the largest GR2F. */
	vram_randomise();
	b = (struct blt){ .w = 24 * 3,
			  .h = 8,
			  .dpitch = 256,
			  .saddr = 0x3000,
			  .daddr = 0x4000,
			  .rop = 0x0d,
			  .skip = 0xff,
			  .fg = 0x123456,
			  .mode = CIRRUS_BLTMODE_PATTERN | CIRRUS_BLTMODE_COLOREXPAND |
				  CIRRUS_BLTMODE_TRANSPARENT | 0x20 };
	blt_run(&b, false);
	for (i = 0; i < VRAM; i++)
		if (vram[i] != ref[i] && (i < 0x4000 || i >= 0x4000 + 8 * 256))
			break;
	CHECK_EQ(i, VRAM);
	/* CVE-2017-18030: a legitimate backward blit ending at address 0 marks the right pages. */
	vram_randomise();
	memset(cs->vga.dirty, 0, (VRAM >> 12) / 8);
	b = (struct blt){ .w = 16,
			  .h = 2,
			  .dpitch = 0x1000,
			  .spitch = 0x1000,
			  .daddr = 0x100f,
			  .saddr = 0x10000f,
			  .rop = 0x0d,
			  .mode = CIRRUS_BLTMODE_BACKWARDS };
	blt_run(&b, false);
	CHECK(vga_test_dirty(&cs->vga, 0x1000, 16));
	CHECK(vga_test_dirty(&cs->vga, 0, 16));
	CHECK(!vga_test_dirty(&cs->vga, 0x2000, 16));
	memcpy(ref + 0x1000, ref + 0x100000, 16);
	memcpy(ref + 0x0000, ref + 0x100000 - 0x1000, 16);
	CHECK_EQ(vram_diff(), 0);
}

/* Random registers, random host data: no crash, no stuck state (run it under ASan). */
static void test_fuzz(void)
{
	unsigned i, j, stuck = 0;

	seq(7, 0x01);
	for (i = 0; i < 3000; i++) {
		static const uint8_t regs[] = { 0x00, 0x01, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
						0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
						0x28, 0x29, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x32,
						0x33, 0x34, 0x35, 0x0b, 0x09, 0x0a, 0x05 };

		for (j = 0; j < 8; j++)
			gr(regs[rnd() % sizeof(regs)], (uint8_t)rnd());
		/* Keep blits small enough to be quick. */
		gr(0x21, (uint8_t)(rnd() & 1));
		gr(0x23, 0);
		gr(0x2a, (uint8_t)rnd());
		gr(0x31, CIRRUS_BLT_START);
		for (j = 0; j < 600 && cirrus_blt_host_pending(cs); j++)
			memw(0xa0000 + (rnd() & 0xffff), 1, (uint8_t)rnd());
		if (cirrus_blt_host_pending(cs)) {
			gr(0x31, CIRRUS_BLT_RESET);
			gr(0x31, 0);
		}
		stuck += (blt_status() & CIRRUS_BLT_BUSY) != 0;
		gr(0x31, 0);
	}
	CHECK_EQ(stuck, 0);
	gr(0x05, 0);
	gr(0x0b, 0);
	gr(0x09, 0);
}

/* ---- scan-out -------------------------------------------------------------- */

static void mode_setup(uint8_t sr7, unsigned w, unsigned h, unsigned pitch_bytes)
{
	unsigned off = pitch_bytes / 8;

	io_out(dm, 0x3c2, 1, 0x67);
	crtc(0x11, 0x00); /* unlock CR0-7 */
	seq(7, sr7);
	crtc(1, (uint8_t)(w / 8 - 1));
	crtc(0x12, (uint8_t)(h - 1));
	crtc(7, (uint8_t)(((h - 1) >> 8 & 1) << 1 | ((h - 1) >> 9 & 1) << 6));
	crtc(0x13, (uint8_t)off);
	crtc(0x1b, (uint8_t)((off >> 8 & 1) << 4));
	crtc(0x0c, 0);
	crtc(0x0d, 0);
}

static void set_hidden_dac(uint8_t v)
{
	unsigned i;

	io_in(dm, 0x3c8, 1);
	for (i = 0; i < 4; i++)
		io_in(dm, 0x3c6, 1);
	io_out(dm, 0x3c6, 1, v);
}

static void test_scanout(void)
{
	struct console *c = console_of(dm);
	unsigned bpp_idx;
	static const struct {
		uint8_t sr7, dac;
		unsigned bypp;
		uint32_t red, green, white; /* pixel values */
	} modes[] = {
		{ 0x07, 0xe1, 2, 0xf800, 0x07e0, 0xffff }, /* 16 bpp 5-6-5 */
		{ 0x07, 0xf0, 2, 0x7c00, 0x03e0, 0x7fff }, /* 15 bpp */
		{ 0x05, 0x00, 3, 0xff0000, 0x00ff00, 0xffffff },
		{ 0x09, 0x00, 4, 0xff0000, 0x00ff00, 0xffffff },
	};
	uint32_t *row;

	/* 8 bpp through the palette. */
	memset(vram, 0, VRAM);
	mode_setup(0x01, 640, 480, 640);
	io_out(dm, 0x3c8, 1, 3);
	io_out(dm, 0x3c9, 1, 0x3f);
	io_out(dm, 0x3c9, 1, 0x00);
	io_out(dm, 0x3c9, 1, 0x20);
	vram[7 * 640 + 5] = 3;
	console_refresh(c);
	CHECK_EQ(console_width(c), 640);
	CHECK_EQ(console_height(c), 480);
	CHECK_EQ(console_row(c, 7)[5], 0xff0082);
	CHECK_EQ(console_row(c, 7)[4], 0);
	/* A blit into the visible area shows up on the next refresh (dirty pages). */
	{
		struct blt b = { .w = 4,
				 .h = 2,
				 .dpitch = 640,
				 .daddr = 100 * 640 + 200,
				 .rop = 0x0d,
				 .fg = 3,
				 .mode = CIRRUS_BLTMODE_PATTERN | CIRRUS_BLTMODE_COLOREXPAND,
				 .modeext = CIRRUS_BLTMODEEXT_SOLIDFILL };

		blt_run(&b, true);
		console_refresh(c);
		CHECK_EQ(console_row(c, 101)[203], 0xff0082);
		CHECK_EQ(console_row(c, 101)[204], 0);
	}
	for (bpp_idx = 0; bpp_idx < 4; bpp_idx++) {
		unsigned bypp = modes[bpp_idx].bypp, pitch = 800 * bypp, x;
		uint32_t base = 0x40000; /* start address through CR1B bit 0 (dwords) */

		memset(vram, 0, VRAM);
		set_hidden_dac(modes[bpp_idx].dac);
		mode_setup(modes[bpp_idx].sr7, 800, 600, pitch);
		crtc(0x1b, (uint8_t)(cs->vga.cr[0x1b] | 0x01)); /* start += 0x10000 dwords */
		for (x = 0; x < bypp; x++) {
			vram[base + 9 * pitch + 2 * bypp + x] =
				(uint8_t)(modes[bpp_idx].red >> (8 * x));
			vram[base + 9 * pitch + 3 * bypp + x] =
				(uint8_t)(modes[bpp_idx].green >> (8 * x));
			vram[base + 599 * pitch + 799 * bypp + x] =
				(uint8_t)(modes[bpp_idx].white >> (8 * x));
		}
		console_refresh(c);
		CHECK_EQ(console_width(c), 800);
		CHECK_EQ(console_height(c), 600);
		row = console_row(c, 9);
		CHECK_EQ(row[2], 0xff0000);
		CHECK_EQ(row[3], 0x00ff00);
		CHECK_EQ(row[4], 0);
		CHECK_EQ(console_row(c, 599)[799], 0xffffff);
	}
	/* 32 bpp 1000x700: line offset 4000 needs CR1B bit 4 (CR13 overflow). */
	memset(vram, 0, VRAM);
	mode_setup(0x09, 1000, 700, 4000);
	CHECK_EQ(crtc_r(0x1b) & 0x10, 0x10);
	vram[699 * 4000 + 999 * 4 + 1] = 0xff;
	console_refresh(c);
	CHECK_EQ(console_width(c), 1000);
	CHECK_EQ(console_row(c, 699)[999], 0x00ff00);
	/* Start address near the end wraps inside VRAM instead of reading past it. */
	crtc(0x1d, 0x80);
	crtc(0x1b, 0x1d);
	crtc(0x0c, 0xff);
	crtc(0x0d, 0xff);
	console_refresh(c);
	CHECK_EQ(console_width(c), 1000);
	crtc(0x1d, 0);
	crtc(0x0c, 0);
	crtc(0x0d, 0);
	/* Zero line offset (CR13 = 0): every line is the first one. */
	mode_setup(0x09, 640, 480, 0);
	vram[4] = 0x80;
	console_refresh(c);
	CHECK_EQ(console_row(c, 479)[1], 0x80);
}

static void test_cursor(void)
{
	struct console *c = console_of(dm);
	uint32_t cur = VRAM - CIRRUS_CURSOR_AREA_TEST;
	uint32_t *row;

	memset(vram, 0, VRAM);
	mode_setup(0x09, 640, 480, 2560);
	/* Underlying picture at (101, 50): dark blue. */
	vram[50 * 2560 + 101 * 4] = 0x10;
	/* Cursor colours through the hidden palette (SR12 bit 1): entry 15 yellow, 0 grey. */
	seq(0x12, 0x02);
	io_out(dm, 0x3c8, 1, 0x0f);
	io_out(dm, 0x3c9, 1, 0x3f);
	io_out(dm, 0x3c9, 1, 0x3f);
	io_out(dm, 0x3c9, 1, 0x00);
	io_out(dm, 0x3c8, 1, 0x00);
	io_out(dm, 0x3c9, 1, 0x20);
	io_out(dm, 0x3c9, 1, 0x20);
	io_out(dm, 0x3c9, 1, 0x20);
	/* Pattern 0 (32x32), row 0: pixel 0 fg (11), pixel 1 invert (01), pixel 2 bg (10). */
	vram[cur + 0] = 0xc0;	/* plane 0 */
	vram[cur + 128] = 0xa0; /* plane 1 */
	seq(0x13, 0x00);
	seq(0x10 | (4 << 5), 100 >> 3); /* x = 100: index bits 7-5 hold x & 7 */
	seq(0x11 | (2 << 5), 50 >> 3);	/* y = 50 */
	seq(0x12, 0x01);		/* show, 32x32 */
	console_refresh(c);
	row = console_row(c, 50);
	CHECK_EQ(row[100], 0xffff00);
	CHECK_EQ(row[101], 0xffffff ^ 0x000010);
	CHECK_EQ(row[102], 0x828282);
	CHECK_EQ(row[103], 0);
	CHECK_EQ(console_row(c, 51)[100], 0);
	/* Moving it restores the picture underneath. */
	seq(0x10, 200 >> 3);
	console_refresh(c);
	row = console_row(c, 50);
	CHECK_EQ(row[100], 0);
	CHECK_EQ(row[101], 0x000010);
	CHECK_EQ(row[200], 0xffff00);
	/* 64x64: each line is 8 bytes of plane 0 then 8 of plane 1; pattern 4 (SR13 & 0x3c). */
	memset(vram + cur, 0, CIRRUS_CURSOR_AREA_TEST);
	vram[cur + 4 * 256 + 63 * 16 + 7] = 0x01;     /* line 63, pixel 63, plane 0 */
	vram[cur + 4 * 256 + 63 * 16 + 8 + 7] = 0x01; /* plane 1 */
	seq(0x13, 0x04);
	seq(0x12, 0x05);
	console_refresh(c);
	CHECK_EQ(console_row(c, 50 + 63)[200 + 63], 0xffff00);
	CHECK_EQ(console_row(c, 50)[200], 0);
	/* Cursor hanging off the right edge is clipped. */
	seq(0x10, 620 >> 3);
	seq(0x11, 470 >> 3);
	console_refresh(c);
	CHECK_EQ(console_width(c), 640);
	seq(0x12, 0);
	console_refresh(c);
}

int main(void)
{
	struct dev *d;

	ref = malloc(VRAM);
	CHECK(ref != NULL);
	CHECK_EQ(dm_create_standalone(16 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	CHECK(dev_create(dm, "cirrus", "vram=2", NULL) != 0);
	CHECK_EQ(dev_create(dm, "cirrus", "vram=16", &d), 0); /* accepted, 4 MB as QEMU */
	cs = d->state;
	CHECK_EQ(cs->vga.vram_size, VRAM);
	vram = cs->vga.vram;
	test_pci();
	test_registers();
	test_banked_linear();
	test_write_modes();
	test_rops();
	test_copy_directions();
	test_transparent_copy();
	test_expand();
	test_patterns();
	test_host_blits();
	test_autostart();
	test_cves();
	test_fuzz();
	test_scanout();
	test_cursor();
	dm_destroy(dm);
	free(ref);
	return tap_done();
}
