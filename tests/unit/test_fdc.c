// SPDX-License-Identifier: MIT
/*
 * test_fdc.c - floppy controller and ISA DMA: reset and sense interrupt,
 * recalibrate/seek, READ DATA and WRITE DATA through DMA channel 2, READ ID,
 * VERSION/DUMPREG, and the FDC CVE triggers (VENOM FIFO overrun, command to
 * a drive without a medium, crafted DMA counts).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "dm.h"
#include "gmem.h"
#include "loop.h"
#include "io_util.h"
#include "tap.h"

static struct dm *dm;
static char img[] = "/tmp/hvm-fdc-XXXXXX";

/* Differs per sector, so a transfer from the wrong sector is caught. */
static uint8_t pattern(uint32_t off)
{
	return (uint8_t)(off + (off >> 9) * 3);
}

/* Wait (bounded) until the controller wants a byte in the given direction. */
static bool ready(bool dio)
{
	int i;

	for (i = 0; i < 2000; i++) {
		uint8_t msr = in8(dm, 0x3f4);

		if ((msr & 0x80) && !!(msr & 0x40) == dio)
			return true;
		loop_run_once(dm->loop, 5);
	}
	return false;
}

static void cmd(const uint8_t *b, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		CHECK(ready(false));
		out8(dm, 0x3f5, b[i]);
	}
}

static unsigned result(uint8_t *r, unsigned max)
{
	unsigned n = 0;

	while (n < max && ready(true))
		r[n++] = in8(dm, 0x3f5);
	return n;
}

static void dma_setup(uint32_t addr, uint16_t count, bool to_mem)
{
	out8(dm, 0x0a, 0x06); /* mask channel 2 */
	out8(dm, 0x0c, 0);
	out8(dm, 0x0b, to_mem ? 0x46 : 0x4a); /* single, write/read, channel 2 */
	out8(dm, 0x04, addr & 0xff);
	out8(dm, 0x04, (addr >> 8) & 0xff);
	out8(dm, 0x81, (addr >> 16) & 0xff);
	out8(dm, 0x0c, 0);
	out8(dm, 0x05, count & 0xff);
	out8(dm, 0x05, count >> 8);
	out8(dm, 0x0a, 0x02); /* unmask */
}

static void test_reset_and_seek(void)
{
	uint8_t r[8];
	unsigned i;
	uint32_t e0 = dm_irq_edges(dm, 6);

	out8(dm, 0x3f2, 0x00);
	out8(dm, 0x3f2, 0x1c); /* motor A, DMA, out of reset */
	CHECK(dm_irq_edges(dm, 6) > e0);
	for (i = 0; i < 4; i++) {
		cmd((const uint8_t[]){ 0x08 }, 1);
		CHECK_EQ(result(r, 2), 2);
		CHECK_EQ(r[0], 0xc0 | i);
	}
	cmd((const uint8_t[]){ 0x08 }, 1);
	CHECK_EQ(result(r, 2), 1);
	CHECK_EQ(r[0], 0x80); /* nothing pending: invalid */
	cmd((const uint8_t[]){ 0x03, 0xdf, 0x02 }, 3);
	cmd((const uint8_t[]){ 0x0f, 0x00, 5 }, 3);
	cmd((const uint8_t[]){ 0x08 }, 1);
	CHECK_EQ(result(r, 2), 2);
	CHECK_EQ(r[0], 0x20);
	CHECK_EQ(r[1], 5);
	cmd((const uint8_t[]){ 0x07, 0x00 }, 2);
	cmd((const uint8_t[]){ 0x08 }, 1);
	result(r, 2);
	CHECK_EQ(r[1], 0);
	cmd((const uint8_t[]){ 0x10 }, 1);
	CHECK_EQ(result(r, 1), 1);
	CHECK_EQ(r[0], 0x90);
}

static void test_read_write(void)
{
	uint8_t *mem = gmem_map(dm, 0x10000, 1024), r[8], buf[512];
	int bad = 0, fd;
	unsigned i;

	/* READ DATA C0 H1 S3, one sector (DMA count 511 -> TC after it). */
	memset(mem, 0, 1024);
	dma_setup(0x10000, 511, true);
	cmd((const uint8_t[]){ 0xe6, 0x04, 0, 1, 3, 2, 18, 0x1b, 0xff }, 9);
	CHECK_EQ(result(r, 7), 7);
	CHECK_EQ(r[0] & 0xc0, 0);
	CHECK_EQ(r[5], 4); /* next sector */
	for (i = 0; i < 512; i++)
		bad += mem[i] != pattern((18 + 2) * 512 + i);
	CHECK_EQ(bad, 0);
	CHECK_EQ(mem[512], 0); /* nothing past the DMA count */

	/* WRITE DATA to C0 H0 S1 from memory, then check the image file. */
	memset(mem, 0xa5, 512);
	dma_setup(0x10000, 511, false);
	cmd((const uint8_t[]){ 0xc5, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff }, 9);
	CHECK_EQ(result(r, 7), 7);
	CHECK_EQ(r[0] & 0xc0, 0);
	fd = open(img, 0);
	CHECK_EQ(read(fd, buf, 512), 512);
	close(fd);
	for (i = 0, bad = 0; i < 512; i++)
		bad += buf[i] != 0xa5;
	CHECK_EQ(bad, 0);

	/* Sector outside the track: abnormal termination, no transfer. */
	dma_setup(0x10000, 511, true);
	cmd((const uint8_t[]){ 0xe6, 0x00, 0, 0, 19, 2, 19, 0x1b, 0xff }, 9);
	CHECK_EQ(result(r, 7), 7);
	CHECK_EQ(r[0] & 0xc0, 0x40);
	cmd((const uint8_t[]){ 0x4a, 0x00 }, 2); /* READ ID */
	CHECK_EQ(result(r, 7), 7);
	CHECK_EQ(r[6], 2);
}

static void test_cves(void)
{
	uint8_t r[16];
	unsigned i;

	/* VENOM: DRIVE SPECIFICATION (0x8e) then a stream of bytes. */
	for (i = 0; i < 10000; i++)
		out8(dm, 0x3f5, i == 0 ? 0x8e : 0x42);
	out8(dm, 0x3f2, 0x00);
	out8(dm, 0x3f2, 0x0c);
	for (i = 0; i < 4; i++) {
		cmd((const uint8_t[]){ 0x08 }, 1);
		result(r, 2);
	}
	/* Drive B has no medium: READ DATA ends "not ready", nothing crashes. */
	out8(dm, 0x3f2, 0x2d);
	dma_setup(0x10000, 511, true);
	cmd((const uint8_t[]){ 0xe6, 0x01, 0, 0, 1, 2, 18, 0x1b, 0xff }, 9);
	CHECK_EQ(result(r, 7), 7);
	CHECK_EQ(r[0] & 0x48, 0x48);
	/* CVE-2021-3507: DMA count far above the sector, transfer in the other direction. */
	out8(dm, 0x3f2, 0x1c);
	out8(dm, 0x09, 0x06);
	dma_setup(0x10000, 0xffff, false);
	cmd((const uint8_t[]){ 0xe6, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff }, 9);
	CHECK_EQ(result(r, 7), 7);
	CHECK_EQ(r[0] & 0xc0, 0x40);
	/* Random junk on every port: still alive and answering VERSION. */
	srand(1);
	for (i = 0; i < 20000; i++)
		out8(dm, (uint16_t)(0x3f0 + rand() % 8), (uint8_t)rand());
	out8(dm, 0x3f2, 0x00);
	out8(dm, 0x3f2, 0x0c);
	for (i = 0; i < 4; i++) {
		cmd((const uint8_t[]){ 0x08 }, 1);
		result(r, 2);
	}
	cmd((const uint8_t[]){ 0x10 }, 1);
	CHECK_EQ(result(r, 1), 1);
	CHECK_EQ(r[0], 0x90);
}

int main(void)
{
	uint8_t *b = malloc(1474560);
	int fd = mkstemp(img);
	unsigned i;

	for (i = 0; i < 1474560; i++)
		b[i] = pattern(i);
	CHECK_EQ(write(fd, b, 1474560), 1474560);
	close(fd);
	free(b);
	CHECK_EQ(dm_create_standalone(4 << 20, &dm), 0);
	dm->cfg.floppy[0] = img;
	CHECK_EQ(dev_create(dm, "i8257", NULL, NULL), 0);
	CHECK_EQ(dev_create(dm, "fdc", NULL, NULL), 0);
	test_reset_and_seek();
	test_read_write();
	test_cves();
	dm_destroy(dm);
	unlink(img);
	return tap_done();
}
