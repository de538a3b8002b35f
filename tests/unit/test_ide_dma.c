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
 * The secondary channel: ATAPI DMA from an ISO pattern on hdc (READ(10)
 * into two PRD entries and READ(12) of 600 blocks straight into guest RAM,
 * READ CD user data likewise; raw READ CD and a table too short through the
 * bounce path), and ATA DMA on a qcow2 image on hdd whose clusters are not
 * adjacent in the file and include a hole that must read as zeros.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "dm.h"
#include "gmem.h"
#include "ide/ide.h"
#include "ide_util.h"
#include "loop.h"
#include "pci/pci.h"
#include "qcow2.h"
#include "tap.h"

#define RAM_SIZE (16u << 20)
#define DISK_SECTORS 8192
#define SENTINEL 0xee

static char disk_a[] = "/tmp/hvm-idedma-a-XXXXXX";
static char disk_b[] = "/tmp/hvm-idedma-b-XXXXXX";
static char iso[] = "/tmp/hvm-idedma-iso-XXXXXX";
static char disk_q[] = "/tmp/hvm-idedma-q-XXXXXX";
static uint32_t written[RAM_SIZE / 4096 / 32];

static bool page_written(uint64_t gpa)
{
	uint64_t p = gpa >> 12;

	return written[p / 32] & (1u << (p % 32));
}

/* Start the DMA command: 48-bit for counts above 256. Returns the ATA status. */
static uint8_t dma_cmd(unsigned unit, bool write, uint32_t lba, uint32_t count)
{
	bool ext = count > 256;

	out(BM(2), 1, 0x06); /* clear INT and ERROR */
	out(BM(4), 4, PRD_TABLE);
	out(CMD(6), 1, 0xe0 | unit << 4);
	if (ext) {
		out(CMD(2), 1, count >> 8);
		out(CMD(3), 1, lba >> 24);
		out(CMD(4), 1, 0);
		out(CMD(5), 1, 0);
	}
	out(CMD(2), 1, count & 0xff);
	out(CMD(3), 1, lba & 0xff);
	out(CMD(4), 1, lba >> 8 & 0xff);
	out(CMD(5), 1, lba >> 16 & 0xff);
	if (!ext)
		out(CMD(6), 1, 0xe0 | unit << 4 | (lba >> 24 & 0xf));
	out(CMD(7), 1, write ? (ext ? 0x35 : 0xca) : (ext ? 0x25 : 0xc8));
	out(BM(0), 1, write ? 0x01 : 0x09);
	return wait_idle(CTL);
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

/* ---- ATAPI DMA (secondary master) and a qcow2 disk (secondary slave) ---- */

#define ISO_BLOCKS 2048
#define QCOW2_SIZE (1u << 20)
#define QCOW2_HOLE 5 /* 4 KiB cluster left unallocated: reads as zeros */

static uint8_t iso_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 11) * 3 + 5);
}

/* Guest bytes [gpa, gpa+len) against the ISO from byte off; returns mismatches. */
static unsigned cmp_iso(uint64_t gpa, uint32_t len, uint64_t off)
{
	return cmp_guest(gpa, len, off, iso_byte);
}

/* 4 KiB clusters written in reverse order (not adjacent in the file), one hole. */
static void make_qcow2(void)
{
	struct blk_opts o = { .path = disk_q, .format = "qcow2" };
	int fd = mkstemp(disk_q), c, i;
	uint8_t buf[4096];
	struct blk *b;

	CHECK_EQ(qcow2_create_fd(fd, QCOW2_SIZE, 12, NULL, NULL), 0);
	close(fd);
	CHECK_EQ(blk_open(&o, NULL, &b), 0);
	for (c = 63; c >= 0; c--) {
		if (c == QCOW2_HOLE)
			continue;
		for (i = 0; i < 4096; i++)
			buf[i] = pattern_byte((uint64_t)c * 4096 + i);
		CHECK_EQ(blk_pwrite(b, buf, sizeof(buf), (uint64_t)c * 4096), 0);
	}
	blk_close(b);
}

static uint8_t qcow2_byte(uint64_t off)
{
	return off / 4096 == QCOW2_HOLE ? 0 : pattern_byte(off);
}

/* Bytes of the bounce buffer past the 12-byte packet that lost the sentinel. */
static unsigned buf_touched_data(const struct ide_drive *d)
{
	return buf_touched(d, IDE_BUF_SIZE) - buf_touched(d, 12);
}

/* A PACKET command with DMA on the secondary master; returns the ATA status. */
static uint8_t atapi_dma(const uint8_t pkt[12])
{
	atapi_dma_start(pkt);
	return wait_idle(CTL);
}

/* READ(10) of 3 blocks into two PRD entries: direct, right bytes, pages marked. */
static void test_atapi_read10(void)
{
	struct ide_drive *d = piix_ide_drive(dm, 2);
	uint8_t p[12];

	chan = 1;
	memset(gmem_map(dm, 0x400000, 0x20000), 0, 0x20000);
	memset(written, 0, sizeof(written));
	memset(d->buf, SENTINEL, IDE_BUF_SIZE);
	prd(0, 0x400000, 4096, false);
	prd(1, 0x410800, 2048, true);
	read10(p, 5, 3);
	CHECK_EQ(atapi_dma(p) & 0x01, 0);
	CHECK_EQ(in(BM(2), 1) & 0x07, 0x04);
	CHECK_EQ(cmp_iso(0x400000, 4096, 5 * 2048), 0);
	CHECK_EQ(cmp_iso(0x410800, 2048, 7 * 2048), 0);
	CHECK_EQ(*(uint8_t *)gmem_map(dm, 0x401000, 1), 0);
	CHECK_EQ(*(uint8_t *)gmem_map(dm, 0x411000, 1), 0);
	CHECK_EQ(buf_touched_data(d), 0);
	CHECK(page_written(0x400000) && page_written(0x410000));
	CHECK(!page_written(0x401000) && !page_written(0x411000));
	bm_stop();
}

/* READ(12) of 600 blocks: two direct requests, the walker carries on; READ CD user data. */
static void test_atapi_big(void)
{
	struct ide_drive *d = piix_ide_drive(dm, 2);
	uint8_t p[12] = { 0xa8 };
	unsigned i;

	chan = 1;
	memset(gmem_map(dm, 0x600000, 0x140000), 0, 0x140000);
	memset(written, 0, sizeof(written));
	memset(d->buf, SENTINEL, IDE_BUF_SIZE);
	for (i = 0; i < 20; i++) /* 20 x 64 KiB = 640 blocks */
		prd(i, 0x600000 + i * 0x10000, 0, i == 19);
	p[5] = 100;			    /* LBA 100 */
	p[8] = 600 >> 8, p[9] = 600 & 0xff; /* 600 blocks */
	CHECK_EQ(atapi_dma(p) & 0x01, 0);
	CHECK_EQ(in(BM(2), 1) & 0x07, 0x05); /* table longer than the transfer */
	CHECK_EQ(cmp_iso(0x600000, 600 * 2048, 100 * 2048), 0);
	CHECK_EQ(*(uint8_t *)gmem_map(dm, 0x600000 + 600 * 2048, 1), 0);
	CHECK_EQ(buf_touched_data(d), 0);
	CHECK(page_written(0x600000 + 600 * 2048 - 1) && !page_written(0x600000 + 600 * 2048));
	bm_stop();

	memset(p, 0, sizeof(p));
	p[0] = 0xbe;
	p[5] = 200;
	p[8] = 4;
	p[9] = 0x10; /* user data */
	memset(gmem_map(dm, 0x400000, 0x4000), 0, 0x4000);
	prd(0, 0x400000, 8192, true);
	CHECK_EQ(atapi_dma(p) & 0x01, 0);
	CHECK_EQ(cmp_iso(0x400000, 8192, 200 * 2048), 0);
	CHECK_EQ(buf_touched_data(d), 0);
	bm_stop();
}

/* Raw READ CD and a PRD table too short: the bounce path, results as before. */
static void test_atapi_bounce(void)
{
	struct ide_drive *d = piix_ide_drive(dm, 2);
	uint8_t p[12] = { 0xbe }, *m;

	chan = 1;
	p[5] = 9;
	p[8] = 2;
	p[9] = 0xf8; /* sync, header, user data, EDC */
	m = gmem_map(dm, 0x400000, 2 * 2352);
	memset(m, 0, 2 * 2352);
	memset(d->buf, SENTINEL, IDE_BUF_SIZE);
	prd(0, 0x400000, 2 * 2352, true);
	CHECK_EQ(atapi_dma(p) & 0x01, 0);
	CHECK_EQ(m[1], 0xff);
	CHECK_EQ(m[15], 1); /* mode 1 */
	CHECK_EQ(cmp_iso(0x400000 + 16, 2048, 9 * 2048), 0);
	CHECK_EQ(cmp_iso(0x400000 + 2352 + 16, 2048, 10 * 2048), 0);
	CHECK(buf_touched_data(d) > 0);
	bm_stop();

	/* Two blocks, a table of one: the first lands, then a check condition. */
	memset(gmem_map(dm, 0x400000, 0x2000), 0, 0x2000);
	memset(d->buf, SENTINEL, IDE_BUF_SIZE);
	prd(0, 0x400000, 2048, true);
	read10(p, 12, 2);
	CHECK_EQ(atapi_dma(p) & 0x01, 0x01);
	CHECK_EQ(in(BM(2), 1) & 0x07, 0x04); /* INT, ACTIVE clear */
	CHECK_EQ(cmp_iso(0x400000, 2048, 12 * 2048), 0);
	CHECK_EQ(*(uint8_t *)gmem_map(dm, 0x400800, 1), 0);
	CHECK(buf_touched_data(d) > 0);
	bm_stop();
}

/* ATA DMA on a qcow2 image: direct reads over non-adjacent clusters and a hole, a write. */
static void test_qcow2_dma(void)
{
	struct ide_drive *d = piix_ide_drive(dm, 3);
	uint8_t *m = gmem_map(dm, 0x800000, 0x40000);
	unsigned i, bad = 0;

	chan = 1;
	memset(m, SENTINEL, 0x40000); /* the hole must be zero-filled */
	memset(written, 0, sizeof(written));
	memset(d->buf, SENTINEL, IDE_BUF_SIZE);
	prd(0, 0x800000, 0x3000, false);
	prd(1, 0x810200, 0xfe00, false);
	prd(2, 0x830000, 0x1000, true); /* 12 + 63.5 + 4 KiB = 159 sectors */
	CHECK_EQ(dma_cmd(1, false, 3, 159) & 0x01, 0);
	CHECK_EQ(in(BM(2), 1) & 0x07, 0x04);
	for (i = 0; i < 0x3000; i++)
		bad += m[i] != qcow2_byte(3 * 512 + i);
	for (i = 0; i < 0xfe00; i++)
		bad += m[0x10200 + i] != qcow2_byte(3 * 512 + 0x3000 + i);
	for (i = 0; i < 0x1000; i++)
		bad += m[0x30000 + i] != qcow2_byte(3 * 512 + 0x12e00 + i);
	CHECK_EQ(bad, 0);
	CHECK_EQ(buf_touched(d, IDE_BUF_SIZE), 0);
	CHECK(page_written(0x800000) && page_written(0x81f000) && page_written(0x830000));
	bm_stop();

	/* Write 8 KiB over the hole and its neighbour, read it back by DMA. */
	for (i = 0; i < 8192; i++)
		m[i] = (uint8_t)(i * 11 + 7);
	prd(0, 0x800000, 8192, true);
	CHECK_EQ(dma_cmd(1, true, QCOW2_HOLE * 8 - 4, 16) & 0x01, 0);
	bm_stop();
	memset(m + 0x20000, SENTINEL, 0x3000);
	prd(0, 0x820000, 0x3000, true);
	CHECK_EQ(dma_cmd(1, false, QCOW2_HOLE * 8 - 8, 24) & 0x01, 0);
	for (i = 0, bad = 0; i < 2048; i++)
		bad += m[0x20000 + i] != qcow2_byte((QCOW2_HOLE * 8 - 8) * 512 + i);
	CHECK_EQ(memcmp(m + 0x20800, m, 8192), 0);
	for (i = 0; i < 2048; i++)
		bad += m[0x22800 + i] != qcow2_byte((QCOW2_HOLE * 8 + 12) * 512 + i);
	CHECK_EQ(bad, 0);
	CHECK_EQ(buf_touched(d, IDE_BUF_SIZE), 0);
	bm_stop();
	chan = 0;
}

int main(void)
{
	make_file(disk_a, DISK_SECTORS * 512);
	make_file(disk_b, DISK_SECTORS * 512);
	make_file_of(iso, ISO_BLOCKS * 2048, iso_byte);
	make_qcow2();
	ide_create(RAM_SIZE);
	/* Track RAM in a written-page bitmap, as the hypervisor's memfd does. */
	CHECK_EQ(dm->mem.r[0].gpa, 0);
	dm->mem.r[0].fd_offset = 0;
	dm->mem.written = written;
	dm->mem.written_pages = RAM_SIZE / 4096;
	ide_set_drive(0, disk_a, "format=raw");
	ide_set_drive(1, disk_b, "format=raw,aio=threads");
	ide_set_drive(2, iso, "format=raw,media=cdrom");
	ide_set_drive(3, disk_q, "format=qcow2");
	ide_start();
	CHECK(piix_ide_drive(dm, 0) && piix_ide_drive(dm, 1));

	test_read_direct();
	test_read_split();
	test_read_chunks();
	test_fallback();
	test_write_roundtrip();
	test_atapi_read10();
	test_atapi_big();
	test_atapi_bounce();
	test_qcow2_dma();

	ide_finish((char *const[]){ disk_a, disk_b, iso, disk_q }, 4);
	return tap_done();
}
