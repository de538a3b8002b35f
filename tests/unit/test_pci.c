// SPDX-License-Identifier: MIT
/*
 * test_pci.c - the PCI bus core (hw/pci/pci.c) with the i440FX and PIIX3
 * models: configuration mechanism #1, write masks, BAR sizing and mapping,
 * the expansion ROM, capabilities, INTx routing through the PIIX3 links,
 * bus-master DMA, reset, and hostile sequences (unaligned CF8 accesses,
 * BARs at the top of the address space, overlapping BARs).
 */
#include <errno.h>
#include <string.h>

#include "device.h"
#include "dm.h"
#include "iospace.h"
#include "irq.h"
#include "pci/pci.h"
#include "io_util.h"
#include "tap.h"

/* ---- a test device with an I/O, a 32-bit memory and a 64-bit memory BAR -------------------- */

struct tdev {
	struct pci_func f;
	struct io_region io, mem, mem64;
	unsigned io_hits, mem_hits, mem64_hits;
	uint64_t last_off;
	uint32_t hook_reg, hook_val;
	unsigned hook_writes;
};

static uint64_t t_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct tdev *t = opaque;

	t->io_hits++;
	t->last_off = off;
	return 0x1000 + off;
}

static uint64_t t_mem_read(void *opaque, uint64_t off, unsigned size)
{
	struct tdev *t = opaque;

	t->mem_hits++;
	t->last_off = off;
	return 0x2000 + off;
}

static uint64_t t_mem64_read(void *opaque, uint64_t off, unsigned size)
{
	struct tdev *t = opaque;

	t->mem64_hits++;
	t->last_off = off;
	return 0x3000 + off;
}

static void t_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
}

static const struct io_ops t_io_ops = { .read = t_io_read, .write = t_write };
static const struct io_ops t_mem_ops = { .read = t_mem_read, .write = t_write };
static const struct io_ops t_mem64_ops = { .read = t_mem64_read, .write = t_write };

/* Device-specific register 0x44 reads as the hook's own value. */
static uint32_t t_cfg_read(struct pci_func *f, uint32_t reg, unsigned size, uint32_t val)
{
	if (reg == 0x44 && size == 4)
		return 0xc0ffee00;
	return val;
}

static void t_cfg_write(struct pci_func *f, uint32_t reg, uint32_t val, unsigned size)
{
	struct tdev *t = f->opaque;

	t->hook_reg = reg;
	t->hook_val = val;
	t->hook_writes++;
}

static const struct pci_func_ops t_pci_ops = {
	.config_read = t_cfg_read,
	.config_write = t_cfg_write,
};

static int tdev_init(struct tdev *t, struct pci_bus *bus, int devfn, uint8_t pin)
{
	int ret;

	memset(t, 0, sizeof(*t));
	ret = pci_func_init(&t->f, bus, devfn, "tdev", &t_pci_ops, t);
	if (ret < 0)
		return ret;
	pci_set_ids(&t->f, 0x1234, 0x5678, 0x01, 0x020000);
	pci_set_byte(&t->f, PCI_INTERRUPT_PIN, pin);
	io_region_init(&t->io, &t_io_ops, t, "tdev-io", 0x20);
	io_region_init(&t->mem, &t_mem_ops, t, "tdev-mem", 0x100);
	io_region_init(&t->mem64, &t_mem64_ops, t, "tdev-mem64", 0x1000);
	CHECK_EQ(pci_bar_init(&t->f, 0, PCI_BAR_IO, 0x20, &t->io), 0);
	CHECK_EQ(pci_bar_init(&t->f, 1, PCI_BAR_MEM32 | PCI_BAR_PREFETCH, 0x1000, &t->mem), 0);
	CHECK_EQ(pci_bar_init(&t->f, 2, PCI_BAR_MEM64, 0x4000, &t->mem64), 0);
	pci_func_ready(&t->f);
	pci_func_reset(&t->f);
	return 0;
}

/* ---- configuration mechanism #1 through the dispatcher ------------------------------------- */

static uint64_t mmio_in(struct dm *dm, uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	CHECK_EQ(io_dispatch(dm, IO_MMIO, addr, size, false, &v), 0);
	return v;
}

static uint32_t cfg_addr(uint8_t devfn, uint32_t reg)
{
	return 0x80000000u | (uint32_t)devfn << 8 | (reg & 0xfc);
}

static uint32_t cfg_rd(struct dm *dm, uint8_t devfn, uint32_t reg, unsigned size)
{
	pio_out(dm, 0xcf8, 4, cfg_addr(devfn, reg));
	return (uint32_t)pio_in(dm, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void cfg_wr(struct dm *dm, uint8_t devfn, uint32_t reg, unsigned size, uint32_t v)
{
	pio_out(dm, 0xcf8, 4, cfg_addr(devfn, reg));
	pio_out(dm, (uint16_t)(0xcfc + (reg & 3)), size, v);
}

static struct dm *make_machine(void)
{
	struct dm *dm = NULL;

	CHECK_EQ(dm_create_standalone(64 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	CHECK_EQ(dev_create(dm, "piix3", NULL, NULL), 0);
	CHECK(pci_bus_of(dm) != NULL);
	return dm;
}

static void test_ids(void)
{
	struct dm *dm = make_machine();
	struct pci_bus *bus = pci_bus_of(dm);

	CHECK_EQ(cfg_rd(dm, 0x00, 0x00, 4), 0x12378086);
	CHECK_EQ(cfg_rd(dm, 0x00, 0x08, 4), 0x06000002);
	CHECK_EQ(cfg_rd(dm, 0x00, 0x2c, 4), 0x11001af4);
	CHECK_EQ(cfg_rd(dm, 0x00, 0x57, 1), 8); /* 64 MiB in 8 MiB units */
	CHECK_EQ(cfg_rd(dm, 0x00, 0x72, 1), 0x02);
	CHECK_EQ(cfg_rd(dm, 0x08, 0x00, 4), 0x70008086);
	CHECK_EQ(cfg_rd(dm, 0x08, 0x08, 4), 0x06010000);
	CHECK_EQ(cfg_rd(dm, 0x08, 0x0e, 1), 0x80);
	CHECK_EQ(cfg_rd(dm, 0x08, 0x60, 4), 0x80808080);
	/* Word and byte data cycles at 0xCFC + n. */
	CHECK_EQ(cfg_rd(dm, 0x00, 0x02, 2), 0x1237);
	CHECK_EQ(cfg_rd(dm, 0x00, 0x03, 1), 0x12);
	CHECK_EQ(cfg_rd(dm, 0x00, 0x01, 1), 0x80);
	/* Nothing at 00:05.0, on bus 1, or with the enable bit clear. */
	CHECK_EQ(cfg_rd(dm, PCI_DEVFN(5, 0), 0, 4), 0xffffffff);
	CHECK_EQ(cfg_rd(dm, PCI_DEVFN(5, 0), 2, 2), 0xffff);
	pio_out(dm, 0xcf8, 4, 0x80010000);
	CHECK_EQ(pio_in(dm, 0xcfc, 4), 0xffffffff);
	pio_out(dm, 0xcf8, 4, 0x00000000);
	CHECK_EQ(pio_in(dm, 0xcfc, 4), 0xffffffff);
	/* The same through IOREQ_TYPE_PCI_CONFIG (dm->pci_ops). */
	CHECK(dm->pci_ops != NULL);
	CHECK_EQ(dm->pci_ops->read(dm->pci_opaque, 0x0008, 0, 4), 0x70008086);
	CHECK_EQ(dm->pci_ops->read(dm->pci_opaque, 0x0008, 2, 2), 0x7000);
	CHECK_EQ(dm->pci_ops->read(dm->pci_opaque, 0x10008, 0, 4), 0xffffffff); /* segment 1 */
	CHECK_EQ(dm->pci_ops->read(dm->pci_opaque, 0x0008, 0x100, 4), 0xffffffff);
	CHECK_EQ(dm->pci_ops->read(dm->pci_opaque, 0x0000, 0x01, 4), 0x00123780); /* misaligned */
	CHECK_EQ(dm->pci_ops->read(dm->pci_opaque, 0x0000, 0xfe, 4), 0xffff0000); /* past the end */
	dm->pci_ops->write(dm->pci_opaque, 0x0000, 0x5a, 0x33, 1);
	CHECK_EQ(cfg_rd(dm, 0x00, 0x5a, 1), 0x33);
	CHECK_EQ(pci_bus_func(bus, 0x08)->devfn, 0x08);
	dm_destroy(dm);
}

static void test_masks(void)
{
	struct dm *dm = make_machine();
	struct pci_bus *bus = pci_bus_of(dm);
	struct tdev t;

	CHECK_EQ(tdev_init(&t, bus, PCI_DEVFN(3, 0), 1), 0);
	/* IDs and class are read-only. */
	cfg_wr(dm, t.f.devfn, 0x00, 4, 0xffffffff);
	cfg_wr(dm, t.f.devfn, 0x08, 4, 0xffffffff);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, 0x00, 4), 0x56781234);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, 0x08, 4), 0x02000001);
	/* COMMAND keeps only the implemented bits. */
	cfg_wr(dm, t.f.devfn, PCI_COMMAND, 2, 0xffff);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, PCI_COMMAND, 2), 0x0507);
	cfg_wr(dm, t.f.devfn, PCI_COMMAND, 2, 0);
	/* STATUS error bits are write-1-to-clear; writing 0 keeps them. */
	pci_set_word(&t.f, PCI_STATUS, 0x2000 | PCI_STATUS_DEVSEL_MEDIUM);
	cfg_wr(dm, t.f.devfn, PCI_STATUS, 2, 0x0000);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, PCI_STATUS, 2), 0x2200);
	cfg_wr(dm, t.f.devfn, PCI_STATUS, 2, 0xffff);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, PCI_STATUS, 2), 0x0200);
	/* Interrupt line writable, pin not. */
	cfg_wr(dm, t.f.devfn, PCI_INTERRUPT_LINE, 2, 0x040b);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, PCI_INTERRUPT_LINE, 2), 0x010b);
	/* Device hooks: config_read may override, config_write sees the write. */
	CHECK_EQ(cfg_rd(dm, t.f.devfn, 0x44, 4), 0xc0ffee00);
	cfg_wr(dm, t.f.devfn, 0x48, 2, 0xbeef);
	CHECK_EQ(t.hook_reg, 0x48);
	CHECK_EQ(t.hook_val, 0xbeef);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, 0x48, 4), 0xbeef);
	/* Reset restores the power-on image. */
	pci_func_reset(&t.f);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, 0x48, 4), 0);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, PCI_INTERRUPT_LINE, 1), 0);
	/* A claimed devfn cannot be claimed twice; AUTO picks a free slot. */
	{
		struct tdev t2, t3;

		CHECK_EQ(tdev_init(&t2, bus, PCI_DEVFN(3, 0), 1), -EEXIST);
		CHECK_EQ(tdev_init(&t3, bus, PCI_DEVFN_AUTO, 1), 0);
		CHECK_EQ(t3.f.devfn, PCI_DEVFN(2, 0));
		pci_func_exit(&t3.f);
		pci_func_exit(&t2.f);
	}
	pci_func_exit(&t.f);
	CHECK_EQ(cfg_rd(dm, PCI_DEVFN(3, 0), 0, 4), 0xffffffff);
	dm_destroy(dm);
}

static void test_bars(void)
{
	struct dm *dm = make_machine();
	struct tdev t;
	uint8_t df;

	CHECK_EQ(tdev_init(&t, pci_bus_of(dm), PCI_DEVFN(3, 0), 1), 0);
	df = t.f.devfn;
	/* Type bits before sizing. */
	CHECK_EQ(cfg_rd(dm, df, 0x10, 4), 0x1);
	CHECK_EQ(cfg_rd(dm, df, 0x14, 4), 0x8);
	CHECK_EQ(cfg_rd(dm, df, 0x18, 4), 0x4);
	CHECK_EQ(cfg_rd(dm, df, 0x20, 4), 0); /* unimplemented BAR4 */
	/* Sizing: write all-ones, read back ~(size-1) with the type bits. */
	cfg_wr(dm, df, 0x10, 4, 0xffffffff);
	cfg_wr(dm, df, 0x14, 4, 0xffffffff);
	cfg_wr(dm, df, 0x18, 4, 0xffffffff);
	cfg_wr(dm, df, 0x1c, 4, 0xffffffff);
	cfg_wr(dm, df, 0x20, 4, 0xffffffff);
	CHECK_EQ(cfg_rd(dm, df, 0x10, 4), 0xffffffe1);
	CHECK_EQ(cfg_rd(dm, df, 0x14, 4), 0xfffff008);
	CHECK_EQ(cfg_rd(dm, df, 0x18, 4), 0xffffc004);
	CHECK_EQ(cfg_rd(dm, df, 0x1c, 4), 0xffffffff);
	CHECK_EQ(cfg_rd(dm, df, 0x20, 4), 0);

	/* Sizing pattern with decoding enabled maps nothing. */
	cfg_wr(dm, df, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	CHECK_EQ(pci_bar_addr(&t.f, 0), PCI_BAR_UNMAPPED);
	CHECK_EQ(pci_bar_addr(&t.f, 1), PCI_BAR_UNMAPPED);
	CHECK_EQ(pci_bar_addr(&t.f, 2), PCI_BAR_UNMAPPED);

	/* Program addresses: reachable through the dispatcher. */
	cfg_wr(dm, df, 0x10, 4, 0xc000);
	cfg_wr(dm, df, 0x14, 4, 0xe0000000);
	cfg_wr(dm, df, 0x18, 4, 0x00000000);
	cfg_wr(dm, df, 0x1c, 4, 0x00000001); /* 4 GiB */
	CHECK_EQ(pci_bar_addr(&t.f, 0), 0xc000);
	CHECK_EQ(pio_in(dm, 0xc004, 2), 0x1004);
	CHECK_EQ(t.io_hits, 1);
	CHECK_EQ(mmio_in(dm, 0xe0000010, 4), 0x2010);
	CHECK_EQ(mmio_in(dm, 0x100000020ull, 4), 0x3020);
	CHECK_EQ(t.mem64_hits, 1);
	/* Low bits of an I/O BAR are ignored: 0xc01f decodes at 0xc000. */
	cfg_wr(dm, df, 0x10, 4, 0xc01f);
	CHECK_EQ(cfg_rd(dm, df, 0x10, 4), 0xc001);
	CHECK_EQ(pci_bar_addr(&t.f, 0), 0xc000);

	/* Moving the BAR moves the region. */
	cfg_wr(dm, df, 0x10, 4, 0xc100);
	CHECK_EQ(pio_in(dm, 0xc004, 2), 0xffff);
	CHECK_EQ(pio_in(dm, 0xc104, 2), 0x1004);
	cfg_wr(dm, df, 0x14, 4, 0xe0100000);
	CHECK_EQ(mmio_in(dm, 0xe0000010, 4), 0xffffffff);
	CHECK_EQ(mmio_in(dm, 0xe0100010, 4), 0x2010);

	/* COMMAND disables decoding per space. */
	cfg_wr(dm, df, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	CHECK_EQ(pio_in(dm, 0xc104, 2), 0xffff);
	CHECK_EQ(mmio_in(dm, 0xe0100010, 4), 0x2010);
	cfg_wr(dm, df, PCI_COMMAND, 2, PCI_COMMAND_IO);
	CHECK_EQ(pio_in(dm, 0xc104, 2), 0x1004);
	CHECK_EQ(mmio_in(dm, 0xe0100010, 4), 0xffffffff);
	CHECK_EQ(mmio_in(dm, 0x100000020ull, 4), 0xffffffff);

	/* Hostile: BARs at the very top, I/O BAR across 64 KiB, address 0. */
	cfg_wr(dm, df, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	cfg_wr(dm, df, 0x14, 4, 0xfffff000);
	CHECK_EQ(pci_bar_addr(&t.f, 1), PCI_BAR_UNMAPPED); /* would end at 4 GiB */
	cfg_wr(dm, df, 0x10, 4, 0xffe0);
	CHECK_EQ(pci_bar_addr(&t.f, 0), 0xffe0); /* last 32 ports: fits */
	CHECK_EQ(pio_in(dm, 0xffff, 1), 0x1f);
	cfg_wr(dm, df, 0x10, 4, 0x10000);
	CHECK_EQ(pci_bar_addr(&t.f, 0), PCI_BAR_UNMAPPED);
	cfg_wr(dm, df, 0x18, 4, 0xffffffff);
	cfg_wr(dm, df, 0x1c, 4, 0xffffffff);
	CHECK_EQ(pci_bar_addr(&t.f, 2), PCI_BAR_UNMAPPED);
	cfg_wr(dm, df, 0x10, 4, 0);
	CHECK_EQ(pci_bar_addr(&t.f, 0), PCI_BAR_UNMAPPED);

	/* Reset unmaps and clears the addresses. */
	cfg_wr(dm, df, 0x10, 4, 0xc000);
	CHECK_EQ(pci_bar_addr(&t.f, 0), 0xc000);
	pci_func_reset(&t.f);
	CHECK_EQ(pci_bar_addr(&t.f, 0), PCI_BAR_UNMAPPED);
	CHECK_EQ(cfg_rd(dm, df, 0x10, 4), 0x1);
	CHECK_EQ(pio_in(dm, 0xc004, 2), 0xffff);
	pci_func_exit(&t.f);
	dm_destroy(dm);
}

static void test_overlap(void)
{
	struct dm *dm = make_machine();
	struct tdev a, b;

	CHECK_EQ(tdev_init(&a, pci_bus_of(dm), PCI_DEVFN(3, 0), 1), 0);
	CHECK_EQ(tdev_init(&b, pci_bus_of(dm), PCI_DEVFN(4, 0), 1), 0);
	cfg_wr(dm, a.f.devfn, 0x14, 4, 0xe0000000);
	cfg_wr(dm, b.f.devfn, 0x14, 4, 0xe0000000);
	cfg_wr(dm, a.f.devfn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cfg_wr(dm, b.f.devfn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	/* The first one wins, the second stays unmapped. */
	CHECK_EQ(pci_bar_addr(&a.f, 1), 0xe0000000);
	CHECK_EQ(pci_bar_addr(&b.f, 1), PCI_BAR_UNMAPPED);
	CHECK_EQ(mmio_in(dm, 0xe0000000, 4), 0x2000);
	CHECK_EQ(a.mem_hits, 1);
	CHECK_EQ(b.mem_hits, 0);
	/* Moving the first away lets the second map where it asked. */
	cfg_wr(dm, a.f.devfn, 0x14, 4, 0xe0001000);
	CHECK_EQ(pci_bar_addr(&a.f, 1), 0xe0001000);
	CHECK_EQ(pci_bar_addr(&b.f, 1), 0xe0000000);
	CHECK_EQ(mmio_in(dm, 0xe0000000, 4), 0x2000);
	CHECK_EQ(b.mem_hits, 1);
	/* Swapping the two addresses works in either order of writes. */
	cfg_wr(dm, a.f.devfn, 0x14, 4, 0xe0000000);
	CHECK_EQ(pci_bar_addr(&a.f, 1), PCI_BAR_UNMAPPED);
	cfg_wr(dm, b.f.devfn, 0x14, 4, 0xe0001000);
	CHECK_EQ(pci_bar_addr(&a.f, 1), 0xe0000000);
	CHECK_EQ(pci_bar_addr(&b.f, 1), 0xe0001000);
	/* An I/O BAR over the configuration ports is refused; CF8/CFC keep working. */
	cfg_wr(dm, a.f.devfn, 0x10, 4, 0xce0);
	cfg_wr(dm, a.f.devfn, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	CHECK_EQ(pci_bar_addr(&a.f, 0), PCI_BAR_UNMAPPED);
	CHECK_EQ(cfg_rd(dm, 0x00, 0x00, 4), 0x12378086);
	/* Removing a function frees its space for the pending one. */
	cfg_wr(dm, b.f.devfn, 0x14, 4, 0xe0000000);
	CHECK_EQ(pci_bar_addr(&b.f, 1), PCI_BAR_UNMAPPED);
	pci_func_exit(&a.f);
	CHECK_EQ(pci_bar_addr(&b.f, 1), 0xe0000000);
	CHECK_EQ(mmio_in(dm, 0xe0000004, 4), 0x2004);
	pci_func_exit(&b.f);
	CHECK_EQ(mmio_in(dm, 0xe0000004, 4), 0xffffffff);
	dm_destroy(dm);
}

static void test_hostile_cf8(void)
{
	struct dm *dm = make_machine();

	/* Reserved bits 30:24 and 1:0 read as zero. */
	pio_out(dm, 0xcf8, 4, 0xffffffff);
	CHECK_EQ(pio_in(dm, 0xcf8, 4), 0x80fffffc);
	pio_out(dm, 0xcf8, 4, 0x80000003);
	CHECK_EQ(pio_in(dm, 0xcf8, 4), 0x80000000);
	/* Byte and word accesses to 0xCF8/0xCFA never reach CONFIG_ADDRESS. */
	pio_out(dm, 0xcf8, 1, 0x08);
	pio_out(dm, 0xcfa, 2, 0x1234);
	CHECK_EQ(pio_in(dm, 0xcf8, 4), 0x80000000);
	CHECK_EQ(pio_in(dm, 0xcf8, 1), 0xff);
	CHECK_EQ(pio_in(dm, 0xcfa, 2), 0xffff);
	/* An unaligned dword at 0xCF9 is split; nothing latches, no reset. */
	pio_out(dm, 0xcf9, 4, 0x80000800);
	CHECK_EQ(pio_in(dm, 0xcf8, 4), 0x80000000);
	CHECK_EQ(dm->shutdown_reason, -1);
	/* Unaligned data accesses: word at 0xCFF splits into 0xCFF and 0xD00. */
	pio_out(dm, 0xcf8, 4, 0x80000000);
	CHECK_EQ(pio_in(dm, 0xcff, 2), 0xff12);
	CHECK_EQ(pio_in(dm, 0xcfd, 2), 0x3780);
	CHECK_EQ(pio_in(dm, 0xcfe, 4), 0xffff1237);
	/* 0xCF9 is the PIIX3 reset control register: bit 1 stored, bit 2 resets. */
	pio_out(dm, 0xcf9, 1, 0x02);
	CHECK_EQ(pio_in(dm, 0xcf9, 1), 0x02);
	CHECK_EQ(dm->shutdown_reason, -1);
	pio_out(dm, 0xcf9, 1, 0x06);
	CHECK_EQ(dm->shutdown_reason, HVM_SHUTDOWN_REBOOT);
	dm_destroy(dm);
}

static void test_rom(void)
{
	struct dm *dm = make_machine();
	uint8_t img[5000];
	struct tdev t;
	unsigned i;

	for (i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 7);
	img[0] = 0x55;
	img[1] = 0xaa;
	CHECK_EQ(tdev_init(&t, pci_bus_of(dm), PCI_DEVFN(3, 0), 1), 0);
	CHECK_EQ(pci_rom_init(&t.f, img, sizeof(img)), 0);
	CHECK_EQ(pci_rom_init(&t.f, img, sizeof(img)), -EEXIST);
	/* 5000 bytes become an 8 KiB ROM BAR. */
	cfg_wr(dm, t.f.devfn, PCI_ROM_ADDRESS, 4, 0xfffff800);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, PCI_ROM_ADDRESS, 4), 0xffffe000);
	cfg_wr(dm, t.f.devfn, PCI_ROM_ADDRESS, 4, 0xfeb00000);
	cfg_wr(dm, t.f.devfn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	/* Not enabled by bit 0 yet. */
	CHECK_EQ(mmio_in(dm, 0xfeb00000, 2), 0xffff);
	cfg_wr(dm, t.f.devfn, PCI_ROM_ADDRESS, 4, 0xfeb00001);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, PCI_ROM_ADDRESS, 4), 0xfeb00001);
	CHECK_EQ(pci_bar_addr(&t.f, PCI_NUM_BARS), 0xfeb00000);
	CHECK_EQ(mmio_in(dm, 0xfeb00000, 2), 0xaa55);
	CHECK_EQ(mmio_in(dm, 0xfeb00000 + 4999, 1), (uint8_t)(4999 * 7));
	CHECK_EQ(mmio_in(dm, 0xfeb00000 + 5000, 1), 0); /* padding */
	/* Writes are dropped. */
	{
		uint64_t v = 0x1234;

		CHECK_EQ(io_dispatch(dm, IO_MMIO, 0xfeb00000, 2, true, &v), 0);
		CHECK_EQ(mmio_in(dm, 0xfeb00000, 2), 0xaa55);
	}
	cfg_wr(dm, t.f.devfn, PCI_COMMAND, 2, 0);
	CHECK_EQ(mmio_in(dm, 0xfeb00000, 2), 0xffff);
	pci_func_exit(&t.f);
	dm_destroy(dm);
}

static void test_caps(void)
{
	struct dm *dm = make_machine();
	struct tdev t;

	CHECK_EQ(tdev_init(&t, pci_bus_of(dm), PCI_DEVFN(3, 0), 1), 0);
	CHECK_EQ(pci_add_capability(&t.f, 0x01, 0x50, 8), 0x50);
	CHECK_EQ(pci_add_capability(&t.f, 0x05, 0x60, 0x10), 0x60);
	CHECK_EQ(pci_add_capability(&t.f, 0x09, 0x54, 4), -EEXIST);
	CHECK_EQ(pci_add_capability(&t.f, 0x09, 0x3c, 4), -EINVAL);
	CHECK_EQ(pci_add_capability(&t.f, 0x09, 0x62, 4), -EINVAL);
	CHECK_EQ(pci_add_capability(&t.f, 0x09, 0xfc, 8), -EINVAL);
	CHECK(cfg_rd(dm, t.f.devfn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, PCI_CAPABILITY_LIST, 1), 0x60);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, 0x60, 2), 0x5005);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, 0x50, 2), 0x0001);
	/* ID and next pointer are read-only; the body stays writable. */
	cfg_wr(dm, t.f.devfn, 0x60, 4, 0xffffffff);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, 0x60, 4), 0xffff5005);
	cfg_wr(dm, t.f.devfn, PCI_CAPABILITY_LIST, 1, 0);
	CHECK_EQ(cfg_rd(dm, t.f.devfn, PCI_CAPABILITY_LIST, 1), 0x60);
	pci_func_exit(&t.f);
	dm_destroy(dm);
}

static void test_intx(void)
{
	struct dm *dm = make_machine();
	struct pci_bus *bus = pci_bus_of(dm);
	struct tdev a, b, c;

	/* 03.0 INTA -> link (3+0)&3 = PIRQD; 04.0 INTD -> (4+3)&3 = PIRQD; 05.0 INTA -> PIRQB. */
	CHECK_EQ(tdev_init(&a, bus, PCI_DEVFN(3, 0), 1), 0);
	CHECK_EQ(tdev_init(&b, bus, PCI_DEVFN(4, 0), 4), 0);
	CHECK_EQ(tdev_init(&c, bus, PCI_DEVFN(5, 0), 1), 0);

	/* Unrouted links reach no GSI. */
	pci_set_irq(&a.f, true);
	CHECK(cfg_rd(dm, a.f.devfn, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	CHECK_EQ(dm_irq_level(dm, 11), 0);
	CHECK_EQ(dm->irq_level_triggered, 0);

	/* Route PIRQD to IRQ 11: the pending INTx appears, level-triggered. */
	cfg_wr(dm, 0x08, 0x63, 1, 11);
	CHECK_EQ(cfg_rd(dm, 0x08, 0x63, 1), 11);
	CHECK_EQ(dm_irq_level(dm, 11), 1);
	CHECK(dm->irq_level_triggered & (1u << 11));

	/* Shared link: b asserts too; a drops; still high until b drops. */
	pci_set_irq(&b.f, true);
	pci_set_irq(&a.f, false);
	CHECK_EQ(dm_irq_level(dm, 11), 1);
	CHECK(!(cfg_rd(dm, a.f.devfn, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));
	pci_set_irq(&b.f, false);
	CHECK_EQ(dm_irq_level(dm, 11), 0);

	/* Two links on one IRQ are OR-ed by the dm's irq layer. */
	cfg_wr(dm, 0x08, 0x61, 1, 11);
	pci_set_irq(&a.f, true);
	pci_set_irq(&c.f, true);
	pci_set_irq(&a.f, false);
	CHECK_EQ(dm_irq_level(dm, 11), 1);
	pci_set_irq(&c.f, false);
	CHECK_EQ(dm_irq_level(dm, 11), 0);

	/* Re-routing a link while asserted moves the level. */
	pci_set_irq(&a.f, true);
	cfg_wr(dm, 0x08, 0x63, 1, 10);
	CHECK_EQ(dm_irq_level(dm, 11), 0);
	CHECK_EQ(dm_irq_level(dm, 10), 1);
	CHECK(dm->irq_level_triggered & (1u << 10));
	CHECK(dm->irq_level_triggered & (1u << 11)); /* PIRQB still there */
	cfg_wr(dm, 0x08, 0x61, 1, 0x80);
	CHECK(!(dm->irq_level_triggered & (1u << 11)));

	/* INTx Disable masks the line but not Interrupt Status. */
	cfg_wr(dm, a.f.devfn, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	CHECK_EQ(dm_irq_level(dm, 10), 0);
	CHECK(cfg_rd(dm, a.f.devfn, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_wr(dm, a.f.devfn, PCI_COMMAND, 2, 0);
	CHECK_EQ(dm_irq_level(dm, 10), 1);

	/* Disabled (bit 7) and reserved IRQ values leave the link unrouted. */
	cfg_wr(dm, 0x08, 0x63, 1, 0x8a);
	CHECK_EQ(dm_irq_level(dm, 10), 0);
	cfg_wr(dm, 0x08, 0x63, 1, 0x08); /* IRQ 8 is reserved */
	CHECK_EQ(dm_irq_level(dm, 8), 0);
	cfg_wr(dm, 0x08, 0x63, 1, 0x02);
	CHECK_EQ(dm_irq_level(dm, 2), 0);
	CHECK_EQ(dm->irq_level_triggered, 0);
	/* Reserved bits 6:4 read as zero. */
	cfg_wr(dm, 0x08, 0x63, 1, 0x7f);
	CHECK_EQ(cfg_rd(dm, 0x08, 0x63, 1), 0x0f);
	CHECK_EQ(dm_irq_level(dm, 15), 1);

	/* Device reset deasserts. */
	pci_func_reset(&a.f);
	CHECK_EQ(dm_irq_level(dm, 15), 0);

	/* Chipset reset: links back to disabled. */
	pci_set_irq(&c.f, true);
	cfg_wr(dm, 0x08, 0x61, 1, 5);
	CHECK_EQ(dm_irq_level(dm, 5), 1);
	dev_reset_all(dm, DEV_RESET_WARM);
	CHECK_EQ(cfg_rd(dm, 0x08, 0x60, 4), 0x80808080);
	CHECK_EQ(dm_irq_level(dm, 5), 0);
	pci_set_irq(&c.f, false);

	pci_func_exit(&c.f);
	pci_func_exit(&b.f);
	pci_func_exit(&a.f);
	dm_destroy(dm);
}

static void test_dma(void)
{
	struct dm *dm = make_machine();
	uint8_t buf[4] = { 1, 2, 3, 4 }, back[4] = { 0 };
	struct tdev t;

	CHECK_EQ(tdev_init(&t, pci_bus_of(dm), PCI_DEVFN(3, 0), 1), 0);
	CHECK_EQ(pci_dma_write(&t.f, 0x1000, buf, 4), -EPERM);
	CHECK_EQ(gmem_read(dm, 0x1000, back, 4), 0);
	CHECK_EQ(back[0], 0);
	CHECK_EQ(pci_dma_read(&t.f, 0x1000, back, 4), -EPERM);
	cfg_wr(dm, t.f.devfn, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	CHECK_EQ(pci_dma_write(&t.f, 0x1000, buf, 4), 0);
	CHECK_EQ(pci_dma_read(&t.f, 0x1000, back, 4), 0);
	CHECK_EQ(memcmp(back, buf, 4), 0);
	CHECK_EQ(pci_dma_write(&t.f, (64 << 20) - 2, buf, 4), -EFAULT);
	CHECK_EQ(pci_dma_read(&t.f, UINT64_MAX - 1, back, 4), -EFAULT);
	pci_func_exit(&t.f);
	dm_destroy(dm);
}

static void test_order(void)
{
	struct dm *dm = NULL;

	/* Without the host bridge there is no bus. */
	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	CHECK(pci_bus_of(dm) == NULL);
	CHECK(dev_create(dm, "piix3", NULL, NULL) < 0);
	CHECK(dev_create(dm, "piix4-pm", NULL, NULL) < 0);
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	CHECK(dev_create(dm, "i440fx", NULL, NULL) < 0); /* one bus per dm */
	CHECK_EQ(dev_create(dm, "piix3", NULL, NULL), 0);
	CHECK(dev_create(dm, "piix3", NULL, NULL) < 0); /* devfn taken */
	dm_destroy(dm);
}

static void test_late_router(void)
{
	struct dm *dm = NULL;
	struct tdev t;

	/* INTx asserted before the ISA bridge exists reaches the GSI once routed. */
	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	CHECK_EQ(tdev_init(&t, pci_bus_of(dm), PCI_DEVFN(3, 0), 2), 0); /* INTB -> PIRQA */
	pci_set_irq(&t.f, true);
	CHECK_EQ(dev_create(dm, "piix3", NULL, NULL), 0);
	cfg_wr(dm, 0x08, 0x60, 1, 5);
	CHECK_EQ(dm_irq_level(dm, 5), 1);
	pci_set_irq(&t.f, false);
	CHECK_EQ(dm_irq_level(dm, 5), 0);
	pci_func_exit(&t.f);
	dm_destroy(dm);
}

/* A deterministic stream of hostile accesses; the invariants must hold after it. */
static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void check_bar_consistency(struct dm *dm, struct tdev *t)
{
	unsigned i;

	for (i = 0; i <= PCI_NUM_BARS; i++) {
		const struct pci_bar *b = i < PCI_NUM_BARS ? &t->f.bar[i] : &t->f.rom.bar;
		uint64_t at = pci_bar_addr(&t->f, i);

		if (!b->region)
			continue;
		if (at == PCI_BAR_UNMAPPED) {
			CHECK(!b->region->mapped);
			continue;
		}
		CHECK(io_lookup(dm, (b->type & PCI_BAR_IO) ? IO_PIO : IO_MMIO, at) == b->region);
	}
}

/* All-ones, small (I/O-like), 32-bit MMIO-like, zero (upper halves) or anything. */
static uint32_t bar_pattern(uint32_t r, uint32_t v)
{
	switch ((r >> 8) % 5) {
	case 0:
		return 0xffffffff;
	case 1:
		return v & 0xfff0;
	case 2:
		return 0xe0000000 | (v & 0x3f000);
	case 3:
		return 0;
	default:
		return v;
	}
}

static void test_random_hostile(void)
{
	static const uint16_t ports[] = { 0xcf8, 0xcf9, 0xcfa, 0xcfb, 0xcfc, 0xcfd, 0xcfe,
					  0xcff, 0xb2,	0xb3,  0x600, 0x604, 0x608, 0xafe0 };
	static const uint8_t devfns[] = { 0x00, 0x08, 0x0b, 0x18, 0x20, 0x28, 0xff };
	struct dm *dm = make_machine();
	struct tdev a, b;
	uint32_t seed = 12345;
	unsigned i, gsi;
	uint8_t img[3000] = { 0x55, 0xaa };

	CHECK_EQ(dev_create(dm, "piix4-pm", NULL, NULL), 0);
	CHECK_EQ(tdev_init(&a, pci_bus_of(dm), PCI_DEVFN(3, 0), 1), 0);
	CHECK_EQ(tdev_init(&b, pci_bus_of(dm), PCI_DEVFN(4, 0), 3), 0);
	CHECK_EQ(pci_rom_init(&b.f, img, sizeof(img)), 0);
	for (i = 0; i < 200000; i++) {
		uint32_t r = lcg(&seed), v = lcg(&seed) | (lcg(&seed) << 24);
		unsigned size = 1u << (r % 3);
		uint8_t devfn = devfns[(r >> 2) % sizeof(devfns)];
		uint32_t reg = (r >> 5) & 0x1ff;
		uint64_t val = v;

		switch ((r >> 14) % 6) {
		case 0: /* mechanism #1 with a random address */
			cfg_wr(dm, devfn, reg & 0xff, size, v);
			break;
		case 1: /* IOREQ_TYPE_PCI_CONFIG, possibly misaligned or past 256 */
			dm->pci_ops->write(dm->pci_opaque, devfn, reg, v, size);
			(void)dm->pci_ops->read(dm->pci_opaque, devfn, reg ^ 1, size);
			break;
		case 2: /* BAR-like values where they matter most */
			cfg_wr(dm, devfn, 0x10 + 4 * ((r >> 20) % 7), 4, bar_pattern(r, v));
			cfg_wr(dm, devfn, PCI_COMMAND, 2, v);
			break;
		case 3: /* raw port accesses, any size, any alignment */
			io_dispatch(dm, IO_PIO, ports[(r >> 3) % (sizeof(ports) / 2)] + (r & 3),
				    size, r & 0x40, &val);
			break;
		case 4:
			pci_set_irq((r & 1) ? &a.f : &b.f, r & 2);
			break;
		default: /* reads everywhere */
			(void)cfg_rd(dm, devfn, reg & 0xff, size);
			io_dispatch(dm, IO_MMIO, 0xe0000000ull + (v & 0xfffff), size, false, &val);
			break;
		}
		if ((i & 1023) == 0) {
			check_bar_consistency(dm, &a);
			check_bar_consistency(dm, &b);
		}
	}
	check_bar_consistency(dm, &a);
	check_bar_consistency(dm, &b);
	/* The mechanism still works and everything resets cleanly. */
	CHECK_EQ(cfg_rd(dm, 0x00, 0x00, 4), 0x12378086);
	CHECK_EQ(cfg_rd(dm, 0x0b, 0x00, 4), 0x71138086);
	pci_set_irq(&a.f, false);
	pci_set_irq(&b.f, false);
	dev_reset_all(dm, DEV_RESET_WARM);
	pci_func_reset(&a.f);
	pci_func_reset(&b.f);
	for (gsi = 0; gsi < DM_MAX_GSIS; gsi++)
		CHECK_EQ(dm_irq_level(dm, gsi), 0);
	CHECK_EQ(cfg_rd(dm, 0x08, 0x60, 4), 0x80808080);
	for (i = 0; i < PCI_NUM_BARS; i++)
		CHECK_EQ(pci_bar_addr(&a.f, i), PCI_BAR_UNMAPPED);
	CHECK_EQ(pci_bar_addr(&b.f, PCI_NUM_BARS), PCI_BAR_UNMAPPED);
	CHECK_EQ(dm->irq_level_triggered, 1u << 9); /* only the SCI */
	pci_func_exit(&b.f);
	pci_func_exit(&a.f);
	dm_destroy(dm);
}

int main(void)
{
	test_ids();
	test_masks();
	test_bars();
	test_overlap();
	test_hostile_cf8();
	test_rom();
	test_caps();
	test_intx();
	test_dma();
	test_order();
	test_late_router();
	test_random_hostile();
	return tap_done();
}
