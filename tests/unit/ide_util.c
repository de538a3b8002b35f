// SPDX-License-Identifier: MIT
/* ide_util.c - helpers the IDE unit tests share; see ide_util.h. */
#include "ide_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "gmem.h"
#include "loop.h"
#include "pci/pci.h"
#include "tap.h"

struct dm *dm;
unsigned chan;
void (*ide_after_io)(void);

static void after_io(void)
{
	if (ide_after_io)
		ide_after_io();
}

uint8_t pattern_byte(uint64_t off)
{
	return (uint8_t)(off * 13 + (off >> 9) + 1);
}

void make_file_of(char *path, size_t size, uint8_t (*byte)(uint64_t off))
{
	int fd = mkstemp(path);
	uint8_t *b = malloc(size);
	size_t i;

	for (i = 0; i < size; i++)
		b[i] = byte(i);
	CHECK_EQ(write(fd, b, size), (ssize_t)size);
	close(fd);
	free(b);
}

void make_file(char *path, size_t size)
{
	make_file_of(path, size, pattern_byte);
}

unsigned cmp_guest(uint64_t gpa, uint32_t len, uint64_t off, uint8_t (*byte)(uint64_t off))
{
	const uint8_t *m = gmem_map(dm, gpa, len);
	unsigned bad = 0;
	uint32_t i;

	for (i = 0; i < len; i++)
		bad += m[i] != byte(off + i);
	return bad;
}

unsigned cmp_image(uint64_t gpa, uint32_t len, uint64_t off)
{
	return cmp_guest(gpa, len, off, pattern_byte);
}

uint64_t in(uint16_t port, unsigned size)
{
	uint64_t v = 0;

	io_dispatch(dm, IO_PIO, port, size, false, &v);
	after_io();
	return v;
}

void out(uint16_t port, unsigned size, uint64_t v)
{
	io_dispatch(dm, IO_PIO, port, size, true, &v);
	after_io();
}

uint8_t wait_idle(uint16_t ctl)
{
	uint8_t st = 0;
	int i;

	for (i = 0; i < 5000; i++) {
		st = (uint8_t)in(ctl, 1);
		if (!(st & 0x80))
			return st;
		loop_run_once(dm->loop, 10);
		after_io();
	}
	return st;
}

void prd(unsigned idx, uint32_t addr, uint32_t len, bool eot)
{
	uint32_t e[2] = { addr, (len & 0xffff) | (eot ? 0x80000000u : 0) };

	CHECK_EQ(gmem_write(dm, PRD_TABLE + idx * 8, e, sizeof(e)), 0);
}

void bm_stop(void)
{
	out(BM(0), 1, 0x00);
}

void read10(uint8_t *p, uint32_t lba, uint16_t n)
{
	memset(p, 0, 12);
	p[0] = 0x28;
	p[2] = (uint8_t)(lba >> 24);
	p[3] = (uint8_t)(lba >> 16);
	p[4] = (uint8_t)(lba >> 8);
	p[5] = (uint8_t)lba;
	p[7] = (uint8_t)(n >> 8);
	p[8] = (uint8_t)n;
}

void atapi_dma_start(const uint8_t pkt[12])
{
	unsigned i;

	out(BM(2), 1, 0x06); /* clear INT and ERROR */
	out(BM(4), 4, PRD_TABLE);
	out(CMD(6), 1, 0xa0);
	out(CMD(1), 1, 0x01); /* DMA */
	out(CMD(4), 1, 0xfe);
	out(CMD(5), 1, 0xff);
	out(CMD(7), 1, 0xa0);
	CHECK(in(CTL, 1) & 0x08); /* DRQ for the packet */
	for (i = 0; i < 6; i++)
		out(CMD(0), 2, pkt[2 * i] | pkt[2 * i + 1] << 8);
	out(BM(0), 1, 0x09);
}

void ide_create(uint32_t ram)
{
	CHECK_EQ(dm_create_standalone(ram, &dm), 0);
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
}

void ide_set_drive(unsigned idx, const char *path, const char *opts)
{
	char spec[256];

	snprintf(spec, sizeof(spec), "file=%s,%s", path, opts);
	dm->cfg.drive[idx] = strdup(spec);
}

void ide_map_bmdma(void)
{
	struct pci_bus *bus = pci_bus_of(dm);

	pci_bus_config_write(bus, 0, PCI_DEVFN(1, 1), 0x20, BMDMA_BASE | 1, 4);
	pci_bus_config_write(bus, 0, PCI_DEVFN(1, 1), PCI_COMMAND, 0x5, 2); /* I/O + master */
}

void ide_start(void)
{
	CHECK_EQ(dev_create(dm, "piix3-ide", NULL, NULL), 0);
	ide_map_bmdma();
}

void ide_finish(char *const paths[], unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		free(dm->cfg.drive[i]);
	dm_destroy(dm);
	for (i = 0; i < n; i++)
		unlink(paths[i]);
}
