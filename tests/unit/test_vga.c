// SPDX-License-Identifier: MIT
/*
 * test_vga.c - VGA core and std VGA against a standalone dm: a text mode
 * programmed register by register with a glyph loaded into plane 2 renders
 * pixel-exact; write mode 2 and read mode 1 on planar memory; mode 13h;
 * VBE linear framebuffer at 32 bpp through BAR0; the VGA/VBE CVE-style
 * hostile values (bank, offsets, CRTC geometry) stay in bounds.
 */
#include <string.h>

#include "console.h"
#include "device.h"
#include "dm.h"
#include "pci/pci.h"
#include "io_util.h"
#include "tap.h"

static struct dm *dm;

static void memw(uint64_t a, uint8_t v)
{
	uint64_t x = v;

	io_dispatch(dm, IO_MMIO, a, 1, true, &x);
}

static uint8_t memr(uint64_t a)
{
	uint64_t x = 0;

	io_dispatch(dm, IO_MMIO, a, 1, false, &x);
	return (uint8_t)x;
}

static void seq(uint8_t i, uint8_t v)
{
	io_out(dm, 0x3c4, 1, i);
	io_out(dm, 0x3c5, 1, v);
}

static void gr(uint8_t i, uint8_t v)
{
	io_out(dm, 0x3ce, 1, i);
	io_out(dm, 0x3cf, 1, v);
}

static void crtc(uint8_t i, uint8_t v)
{
	io_out(dm, 0x3d4, 1, i);
	io_out(dm, 0x3d5, 1, v);
}

static void attr(uint8_t i, uint8_t v)
{
	io_in(dm, 0x3da, 1);
	io_out(dm, 0x3c0, 1, i);
	io_out(dm, 0x3c0, 1, v);
}

static void palette_std(void)
{
	unsigned i;

	io_out(dm, 0x3c8, 1, 0);
	for (i = 0; i < 16; i++) {
		io_out(dm, 0x3c9, 1, i & 4 ? 0x2a : 0); /* red */
		io_out(dm, 0x3c9, 1, i & 2 ? 0x2a : 0);
		io_out(dm, 0x3c9, 1, i & 1 ? 0x2a : 0);
	}
	io_out(dm, 0x3c8, 1, 15);
	io_out(dm, 0x3c9, 1, 0x3f);
	io_out(dm, 0x3c9, 1, 0x3f);
	io_out(dm, 0x3c9, 1, 0x3f);
	for (i = 0; i < 16; i++)
		attr((uint8_t)i, (uint8_t)i);
}

static void mode3(void)
{
	io_out(dm, 0x3c2, 1, 0x67);
	seq(1, 0x00);
	seq(2, 0x03);
	seq(3, 0x00);
	seq(4, 0x02);
	gr(4, 0);
	gr(5, 0x10);
	gr(6, 0x0e);
	gr(8, 0xff);
	crtc(0x11, 0x00);
	crtc(1, 0x4f);
	crtc(7, 0x1f);
	crtc(9, 0x0f);
	crtc(0x17, 0xa3); /* word mode, as the BIOS sets mode 3 */
	crtc(0x0a, 0x20); /* cursor off */
	crtc(0x0c, 0);
	crtc(0x0d, 0);
	crtc(0x12, 0x8f);
	crtc(0x13, 0x28);
	attr(0x10, 0x0c);
	attr(0x12, 0x0f);
	palette_std();
	io_in(dm, 0x3da, 1);
	io_out(dm, 0x3c0, 1, 0x20); /* palette address source: display on */
}

static void test_text(void)
{
	static const uint8_t glyph_a[16] = { 0,	   0,	 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe,
					     0xc6, 0xc6, 0xc6, 0xc6, 0,	   0,	 0,    0 };
	struct console *c = console_of(dm);
	unsigned y, x;
	int bad = 0;

	mode3();
	/* Load the glyph: plane 2 only, sequential addressing at A0000. */
	seq(2, 0x04);
	seq(4, 0x06);
	gr(4, 0x02);
	gr(5, 0x00);
	gr(6, 0x04);
	for (y = 0; y < 16; y++)
		memw(0xa0000 + 'A' * 32 + y, glyph_a[y]);
	mode3();
	memw(0xb8000, 'A');
	memw(0xb8001, 0x1f); /* white on blue */
	/* Cell 1 of row 1 (offset 2 * (80 + 1)): the same glyph, black on red. */
	memw(0xb8000 + 2 * 81, 'A');
	memw(0xb8000 + 2 * 81 + 1, 0x40);
	console_refresh(c);
	CHECK_EQ(console_width(c), 720);
	CHECK_EQ(console_height(c), 400);
	for (y = 0; y < 16; y++) {
		uint32_t *row = console_row(c, y);

		for (x = 0; x < 9; x++) {
			bool set = x < 8 && (glyph_a[y] & (0x80 >> x));

			bad += row[x] != (set ? 0xffffffu : 0x0000aau);
		}
	}
	CHECK_EQ(bad, 0);
	for (y = 0, bad = 0; y < 16; y++) {
		uint32_t *row = console_row(c, 16 + y);

		for (x = 0; x < 9; x++) {
			bool set = x < 8 && (glyph_a[y] & (0x80 >> x));

			bad += row[9 + x] != (set ? 0x000000u : 0xaa0000u);
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(console_row(c, 0)[9], 0); /* cell 1 of row 0 is empty (black) */
	/* Read back through odd/even addressing. */
	CHECK_EQ(memr(0xb8000), 'A');
	CHECK_EQ(memr(0xb8001), 0x1f);
}

static void test_planar(void)
{
	/* Write mode 2 sets all four planes from the colour; read mode 1 compares. */
	seq(2, 0x0f);
	seq(4, 0x06);
	gr(5, 0x02);
	gr(6, 0x05);
	gr(8, 0xff);
	gr(3, 0x00);
	memw(0xa0010, 0x0a);
	gr(5, 0x08); /* read mode 1 */
	gr(2, 0x0a);
	gr(7, 0x0f);
	CHECK_EQ(memr(0xa0010), 0xff);
	gr(2, 0x05);
	CHECK_EQ(memr(0xa0010), 0x00);
	gr(5, 0x00);
	gr(4, 1);
	CHECK_EQ(memr(0xa0010), 0xff); /* plane 1 of colour 0x0a is set */
	gr(4, 0);
	CHECK_EQ(memr(0xa0010), 0x00);
}

static void test_mode13(void)
{
	struct console *c = console_of(dm);

	io_out(dm, 0x3c2, 1, 0x63);
	seq(1, 0x01);
	seq(2, 0x0f);
	seq(4, 0x0e);
	gr(5, 0x40);
	gr(6, 0x05);
	crtc(0x11, 0x0e);
	crtc(1, 0x4f);
	crtc(7, 0x1f);
	crtc(9, 0x41);
	crtc(0x12, 0x8f);
	crtc(0x13, 0x28);
	crtc(0x14, 0x40);
	attr(0x10, 0x41);
	io_in(dm, 0x3da, 1);
	io_out(dm, 0x3c0, 1, 0x20);
	memw(0xa0000 + 320 * 10 + 7, 15);
	console_refresh(c);
	CHECK_EQ(console_width(c), 320);
	CHECK_EQ(console_height(c), 200);
	CHECK_EQ(console_row(c, 10)[7], 0xffffff);
	CHECK_EQ(console_row(c, 10)[8], 0);
}

static void vbe(uint16_t idx, uint16_t val)
{
	io_out(dm, 0x1ce, 2, idx);
	io_out(dm, 0x1cf, 2, val);
}

static void test_vbe(void)
{
	struct pci_bus *bus = pci_bus_of(dm);
	struct console *c = console_of(dm);
	uint64_t px = 0x00123456;
	unsigned i;

	CHECK_EQ(pci_bus_config_read(bus, 0, PCI_DEVFN(2, 0), 0, 4), 0x11111234);
	pci_bus_config_write(bus, 0, PCI_DEVFN(2, 0), 0x10, 0xe0000000, 4);
	pci_bus_config_write(bus, 0, PCI_DEVFN(2, 0), PCI_COMMAND, 0x3, 2);
	io_out(dm, 0x1ce, 2, 0);
	CHECK_EQ(io_in(dm, 0x1cf, 2), 0xb0c5);
	vbe(4, 0);
	vbe(1, 640);
	vbe(2, 480);
	vbe(3, 32);
	vbe(4, 0x41);
	io_dispatch(dm, IO_MMIO, 0xe0000000 + (5 * 640 + 9) * 4, 4, true, &px);
	console_refresh(c);
	CHECK_EQ(console_width(c), 640);
	CHECK_EQ(console_height(c), 480);
	CHECK_EQ(console_row(c, 5)[9], 0x123456);
	/* GETCAPS reports the maxima; VIDEO_MEMORY_64K the VRAM size. */
	io_out(dm, 0x1ce, 2, 10);
	CHECK_EQ(io_in(dm, 0x1cf, 2), 256);
	/* Hostile: huge bank in banked mode, offsets beyond VRAM, absurd geometry. */
	vbe(4, 0);
	vbe(1, 0xffff);
	vbe(2, 0xffff);
	vbe(3, 33);
	vbe(4, 0x01);
	vbe(5, 0xffff);
	for (i = 0; i < 0x10000; i += 0x101)
		memw(0xa0000 + i, 0xaa);
	vbe(8, 0xffff);
	vbe(9, 0xffff);
	vbe(6, 0xffff);
	console_refresh(c);
	io_out(dm, 0x1ce, 2, 1);
	CHECK(io_in(dm, 0x1cf, 2) <= 2560);
	vbe(4, 0);
	/* CRTC start address and offsets at their maxima in a VGA mode. */
	crtc(0x0c, 0xff);
	crtc(0x0d, 0xff);
	crtc(0x13, 0xff);
	crtc(1, 0xff);
	crtc(0x12, 0xff);
	crtc(7, 0xff);
	console_refresh(c);
	gr(6, 0x0e);
	crtc(9, 0x1f);
	console_refresh(c);
	CHECK(console_width(c) <= CONSOLE_MAX_WIDTH);
}

int main(void)
{
	CHECK_EQ(dm_create_standalone(16 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	CHECK_EQ(dev_create(dm, "stdvga", "vram=16", NULL), 0);
	test_text();
	test_planar();
	test_mode13();
	test_vbe();
	dm_destroy(dm);
	return tap_done();
}
