// SPDX-License-Identifier: MIT
/*
 * test_ide_dma.c - PIIX3 bus-master DMA straight between the image and guest
 * RAM: a READ DMA lands in guest memory without passing through the drive's
 * bounce buffer and marks the pages it stored into in the written-page
 * bitmap; PRD tables of several entries with odd splits and adjacent
 * entries, a multi-chunk 48-bit transfer; PRD entries outside RAM, across
 * the end of RAM or too scattered fall back to the bounce path with the
 * same status and error bits as before; a WRITE DMA round trip.  hda runs
 * requests the default way (Linux AIO), hdb on the worker thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "dm.h"
#include "gmem.h"
#include "ide/ide.h"
#include "loop.h"
#include "pci/pci.h"
#include "tap.h"

#define BMDMA_BASE 0xc000
#define RAM_SIZE (16u << 20)
#define DISK_SECTORS 8192
#define PRD_TABLE 0x1000
#define SENTINEL 0xee

static struct dm *dm;
static char disk_a[] = "/tmp/hvm-idedma-a-XXXXXX";
static char disk_b[] = "/tmp/hvm-idedma-b-XXXXXX";
static uint32_t written[RAM_SIZE / 4096 / 32];

static uint8_t pattern_byte(uint64_t off)
{
	return (uint8_t)(off * 13 + (off >> 9) + 1);
}

static void make_file(char *path, size_t size)
{
	int fd = mkstemp(path);
	uint8_t *b = malloc(size);
	size_t i;

	for (i = 0; i < size; i++)
		b[i] = pattern_byte(i);
	CHECK_EQ(write(fd, b, size), (ssize_t)size);
	close(fd);
	free(b);
}

static uint64_t in(uint16_t port, unsigned size)
{
	uint64_t v = 0;

	io_dispatch(dm, IO_PIO, port, size, false, &v);
	return v;
}

static void out(uint16_t port, unsigned size, uint64_t v)
{
	io_dispatch(dm, IO_PIO, port, size, true, &v);
}

static uint8_t wait_idle(void)
{
	uint8_t st = 0;
	int i;

	for (i = 0; i < 5000; i++) {
		st = (uint8_t)in(0x3f6, 1);
		if (!(st & 0x80))
			return st;
		loop_run_once(dm->loop, 10);
	}
	return st;
}

static void prd(unsigned idx, uint32_t addr, uint32_t len, bool eot)
{
	uint32_t e[2] = { addr, (len & 0xffff) | (eot ? 0x80000000u : 0) };

	CHECK_EQ(gmem_write(dm, PRD_TABLE + idx * 8, e, sizeof(e)), 0);
}

static bool page_written(uint64_t gpa)
{
	uint64_t p = gpa >> 12;

	return written[p / 32] & (1u << (p % 32));
}

/* Start the DMA command: 48-bit for counts above 256. Returns the ATA status. */
static uint8_t dma_cmd(unsigned unit, bool write, uint32_t lba, uint32_t count)
{
	bool ext = count > 256;

	out(BMDMA_BASE + 2, 1, 0x06); /* clear INT and ERROR */
	out(BMDMA_BASE + 4, 4, PRD_TABLE);
	out(0x1f6, 1, 0xe0 | unit << 4);
	if (ext) {
		out(0x1f2, 1, count >> 8);
		out(0x1f3, 1, lba >> 24);
		out(0x1f4, 1, 0);
		out(0x1f5, 1, 0);
	}
	out(0x1f2, 1, count & 0xff);
	out(0x1f3, 1, lba & 0xff);
	out(0x1f4, 1, lba >> 8 & 0xff);
	out(0x1f5, 1, lba >> 16 & 0xff);
	if (!ext)
		out(0x1f6, 1, 0xe0 | unit << 4 | (lba >> 24 & 0xf));
	out(0x1f7, 1, write ? (ext ? 0x35 : 0xca) : (ext ? 0x25 : 0xc8));
	out(BMDMA_BASE, 1, write ? 0x01 : 0x09);
	return wait_idle();
}

static void bm_stop(void)
{
	out(BMDMA_BASE, 1, 0x00);
}

/* Bytes of the drive's bounce buffer that no longer hold the sentinel. */
static unsigned buf_touched(const struct ide_drive *d, size_t len)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n += d->buf[i] != SENTINEL;
	return n;
}

/* Bytes of the bounce buffer that differ from the image from byte off. */
static unsigned buf_differs(const struct ide_drive *d, size_t len, uint64_t off)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n += d->buf[i] != pattern_byte(off + i);
	return n;
}

/* Guest bytes [gpa, gpa+len) against the image from byte off; returns mismatches. */
static unsigned cmp_image(uint64_t gpa, uint32_t len, uint64_t off)
{
	const uint8_t *m = gmem_map(dm, gpa, len);
	unsigned bad = 0;
	uint32_t i;

	for (i = 0; i < len; i++)
		bad += m[i] != pattern_byte(off + i);
	return bad;
}

/* One PRD entry, 16 sectors over two pages: direct, right bytes, pages marked. */
static void test_read_direct(void)
{
	struct ide_drive *d = piix_ide_drive(dm, 0);
	uint8_t *mem = gmem_map(dm, 0x3f000, 0x4000);

	memset(mem, 0, 0x4000);
	memset(written, 0, sizeof(written));
	memset(d->buf, SENTINEL, IDE_BUF_SIZE);
	prd(0, 0x40000, 8192, true);
	CHECK_EQ(dma_cmd(0, false, 10, 16) & 0x01, 0);
	CHECK_EQ(in(BMDMA_BASE + 2, 1) & 0x07, 0x04); /* INT, table used up */
	CHECK_EQ(cmp_image(0x40000, 8192, 10 * 512), 0);
	CHECK_EQ(mem[0xfff], 0);  /* nothing before the buffer */
	CHECK_EQ(mem[0x3000], 0); /* nor after */
	CHECK_EQ(buf_touched(d, IDE_BUF_SIZE), 0);
	CHECK(page_written(0x40000));
	CHECK(page_written(0x41000));
	CHECK(!page_written(0x3f000));
	CHECK(!page_written(0x42000));
	bm_stop();
}

/* Several entries, odd lengths, two adjacent ones, a 64 KiB (length 0) tail. */
static void test_read_split(void)
{
	static const struct {
		uint32_t addr, len;
	} seg[] = { { 0x50000, 1000 }, { 0x60006, 2 }, { 0x61000, 3094 }, { 0x61c16, 2 } };
	struct ide_drive *d = piix_ide_drive(dm, 1);
	uint64_t off = 20 * 512;
	unsigned i, bad = 0;

	memset(gmem_map(dm, 0x50000, 0x30000), 0, 0x30000);
	memset(written, 0, sizeof(written));
	memset(d->buf, SENTINEL, IDE_BUF_SIZE);
	for (i = 0; i < 4; i++)
		prd(i, seg[i].addr, seg[i].len, false);
	prd(4, 0x70000, 0, false); /* 64 KiB, only 4094 bytes of it used */
	prd(5, 0x7f000, 512, true);
	CHECK_EQ(dma_cmd(1, false, 20, 16) & 0x01, 0);
	/* The table describes more than the transfer used: ACTIVE stays set. */
	CHECK_EQ(in(BMDMA_BASE + 2, 1) & 0x07, 0x05);
	for (i = 0; i < 4; i++) {
		bad += cmp_image(seg[i].addr, seg[i].len, off);
		off += seg[i].len;
	}
	bad += cmp_image(0x70000, 4094, off);
	CHECK_EQ(bad, 0);
	CHECK_EQ(*(uint8_t *)gmem_map(dm, 0x70000 + 4094, 1), 0);
	CHECK_EQ(*(uint8_t *)gmem_map(dm, 0x60005, 1), 0);
	CHECK_EQ(buf_touched(d, IDE_BUF_SIZE), 0);
	CHECK(page_written(0x50000) && page_written(0x60000) && page_written(0x61000));
	CHECK(page_written(0x70000));
	CHECK(!page_written(0x51000) && !page_written(0x62000) && !page_written(0x71000));
	CHECK(!page_written(0x7f000));
	bm_stop();
}

/* READ DMA EXT of 3000 sectors: two block requests, the walker carries on. */
static void test_read_chunks(void)
{
	struct ide_drive *d = piix_ide_drive(dm, 0);
	unsigned i;

	memset(gmem_map(dm, 0x200000, 0x180000), 0, 0x180000);
	memset(written, 0, sizeof(written));
	memset(d->buf, SENTINEL, IDE_BUF_SIZE);
	for (i = 0; i < 24; i++) /* 24 x 64 KiB = 3072 sectors */
		prd(i, 0x200000 + i * 0x10000, 0, i == 23);
	CHECK_EQ(dma_cmd(0, false, 1000, 3000) & 0x01, 0);
	CHECK_EQ(in(BMDMA_BASE + 2, 1) & 0x07, 0x05);
	CHECK_EQ(cmp_image(0x200000, 3000 * 512, 1000 * 512), 0);
	CHECK_EQ(*(uint8_t *)gmem_map(dm, 0x200000 + 3000 * 512, 1), 0);
	CHECK_EQ(buf_touched(d, IDE_BUF_SIZE), 0);
	CHECK(page_written(0x200000) && page_written(0x200000 + 3000 * 512 - 1));
	CHECK(!page_written(0x200000 + 3000 * 512 + 4096));
	bm_stop();
}

/* PRD entries the direct path cannot take: bounce path, status as before. */
static void test_fallback(void)
{
	struct ide_drive *d = piix_ide_drive(dm, 0);
	uint8_t *mem = gmem_map(dm, 0x40000, 0x1000);
	uint8_t *top = gmem_map(dm, RAM_SIZE - 512, 512);
	unsigned i, bad = 0;

	/* Second entry in MMIO space: the first lands, then ERROR, ACTIVE clear. */
	memset(mem, 0, 0x1000);
	memset(d->buf, SENTINEL, IDE_BUF_SIZE);
	prd(0, 0x40000, 512, false);
	prd(1, 0xfe000000, 512, true);
	CHECK_EQ(dma_cmd(0, false, 30, 2) & 0x01, 0x01);
	CHECK_EQ(in(0x1f1, 1), 0x04); /* ABRT */
	CHECK_EQ(in(BMDMA_BASE + 2, 1) & 0x07, 0x06);
	CHECK_EQ(cmp_image(0x40000, 512, 30 * 512), 0);
	CHECK_EQ(mem[512], 0);
	CHECK_EQ(buf_differs(d, 1024, 30 * 512), 0); /* read through the bounce buffer */
	bm_stop();

	/* An entry running past the end of RAM: nothing stored, same error. */
	memset(top, 0, 512);
	prd(0, RAM_SIZE - 512, 1024, true);
	CHECK_EQ(dma_cmd(0, false, 30, 2) & 0x01, 0x01);
	CHECK_EQ(in(BMDMA_BASE + 2, 1) & 0x07, 0x06);
	for (i = 0; i < 512; i++)
		bad += top[i] != 0;
	CHECK_EQ(bad, 0);
	bm_stop();

	/* WRITE DMA from outside RAM: refused before any I/O, the image unchanged. */
	prd(0, 0xfe000000, 512, true);
	CHECK_EQ(dma_cmd(0, true, 40, 1) & 0x01, 0x01);
	CHECK_EQ(in(BMDMA_BASE + 2, 1) & 0x07, 0x06);
	bm_stop();
	prd(0, 0x40000, 512, true);
	CHECK_EQ(dma_cmd(0, false, 40, 1) & 0x01, 0);
	CHECK_EQ(cmp_image(0x40000, 512, 40 * 512), 0);
	bm_stop();

	/* 512 scattered 2-byte entries (more than BLK_IOV_MAX): bounced, still right. */
	memset(gmem_map(dm, 0x100000, 0x1000), 0, 0x1000);
	memset(d->buf, SENTINEL, IDE_BUF_SIZE);
	for (i = 0; i < 512; i++)
		prd(i, 0x100000 + i * 4, 2, i == 511);
	CHECK_EQ(dma_cmd(0, false, 50, 2) & 0x01, 0);
	CHECK_EQ(in(BMDMA_BASE + 2, 1) & 0x07, 0x04);
	for (i = 0, bad = 0; i < 512; i++)
		bad += cmp_image(0x100000 + i * 4, 2, 50 * 512 + i * 2);
	CHECK_EQ(bad, 0);
	CHECK_EQ(buf_differs(d, 1024, 50 * 512), 0);
	bm_stop();
}

/* WRITE DMA from two entries straight from guest RAM, read back by DMA and from the file. */
static void test_write_roundtrip(void)
{
	struct ide_drive *d = piix_ide_drive(dm, 0);
	uint8_t *a = gmem_map(dm, 0x30000, 1536), *b = gmem_map(dm, 0x33002, 512);
	uint8_t file[2048], *back;
	unsigned i, bad = 0;
	FILE *f;

	for (i = 0; i < 1536; i++)
		a[i] = (uint8_t)(i * 5 + 3);
	for (i = 0; i < 512; i++)
		b[i] = (uint8_t)(i ^ 0x5a);
	memset(written, 0, sizeof(written));
	memset(d->buf, SENTINEL, IDE_BUF_SIZE);
	prd(0, 0x30000, 1536, false);
	prd(1, 0x33002, 512, true);
	CHECK_EQ(dma_cmd(0, true, 300, 4) & 0x01, 0);
	CHECK_EQ(in(BMDMA_BASE + 2, 1) & 0x07, 0x04);
	CHECK_EQ(buf_touched(d, IDE_BUF_SIZE), 0);
	CHECK(!page_written(0x30000) && !page_written(0x33000)); /* DMA only read them */
	bm_stop();

	f = fopen(disk_a, "rb");
	CHECK(f != NULL);
	CHECK_EQ(fseek(f, 300 * 512, SEEK_SET), 0);
	CHECK_EQ(fread(file, 1, sizeof(file), f), sizeof(file));
	fclose(f);
	CHECK_EQ(memcmp(file, a, 1536), 0);
	CHECK_EQ(memcmp(file + 1536, b, 512), 0);

	back = gmem_map(dm, 0x90000, 2048);
	memset(back, 0, 2048);
	prd(0, 0x90000, 2048, true);
	CHECK_EQ(dma_cmd(0, false, 300, 4) & 0x01, 0);
	for (i = 0; i < 2048; i++)
		bad += back[i] != file[i];
	CHECK_EQ(bad, 0);
	CHECK(page_written(0x90000));
	bm_stop();
}

int main(void)
{
	struct pci_bus *bus;
	char spec[256];

	make_file(disk_a, DISK_SECTORS * 512);
	make_file(disk_b, DISK_SECTORS * 512);
	CHECK_EQ(dm_create_standalone(RAM_SIZE, &dm), 0);
	/* Track RAM in a written-page bitmap, as the hypervisor's memfd does. */
	CHECK_EQ(dm->mem.r[0].gpa, 0);
	dm->mem.r[0].fd_offset = 0;
	dm->mem.written = written;
	dm->mem.written_pages = RAM_SIZE / 4096;
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	snprintf(spec, sizeof(spec), "file=%s,format=raw", disk_a);
	dm->cfg.drive[0] = strdup(spec);
	snprintf(spec, sizeof(spec), "file=%s,format=raw,aio=threads", disk_b);
	dm->cfg.drive[1] = strdup(spec);
	CHECK_EQ(dev_create(dm, "piix3-ide", NULL, NULL), 0);
	bus = pci_bus_of(dm);
	pci_bus_config_write(bus, 0, PCI_DEVFN(1, 1), 0x20, BMDMA_BASE | 1, 4);
	pci_bus_config_write(bus, 0, PCI_DEVFN(1, 1), PCI_COMMAND, 0x5, 2);
	CHECK(piix_ide_drive(dm, 0) && piix_ide_drive(dm, 1));

	test_read_direct();
	test_read_split();
	test_read_chunks();
	test_fallback();
	test_write_roundtrip();

	free(dm->cfg.drive[0]);
	free(dm->cfg.drive[1]);
	dm_destroy(dm);
	unlink(disk_a);
	unlink(disk_b);
	return tap_done();
}
