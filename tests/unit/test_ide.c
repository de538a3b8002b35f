// SPDX-License-Identifier: MIT
/*
 * test_ide.c - PIIX3 IDE against a standalone dm: ATA IDENTIFY, PIO and DMA
 * reads and writes against a raw image, LBA range checks, short PRD tables,
 * read-only disks, ATAPI identification, packets, READ(10) bounds, sense
 * data, and the IDE/ATAPI CVE triggers from reliability.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device.h"
#include "dm.h"
#include "gmem.h"
#include "ide/ide.h"
#include "ide_util.h"
#include "loop.h"
#include "pci/pci.h"
#include "qmp.h"
#include "tap.h"

#define DISK_SECTORS 2048
#define CD_BLOCKS 64

static char disk_path[] = "/tmp/hvm-ide-disk-XXXXXX";
static char cd_path[] = "/tmp/hvm-ide-cd-XXXXXX";
static char ro_path[] = "/tmp/hvm-ide-ro-XXXXXX";

/*
 * The registers the hypervisor may read from the dm's mirror (alternate
 * status, bus-master command/status/PRD address, and status while no
 * interrupt is pending) must agree with the device after every access and
 * every completion: mirror_check() compares what io_mirror_peek() would let
 * the hypervisor answer with a real read.  A status read the mirror may
 * answer must also change nothing (reading status clears INTRQ).
 */
static unsigned mirror_compared, mirror_mismatches, mirror_side_effects;

/* INTRQ of the channel whose command block starts at base (pending, masked or not). */
static bool irq_pending(uint16_t base)
{
	return piix_ide_drive(dm, base == 0x1f0 ? 0 : 2)->bus->irq_pending;
}

static void mirror_check(void)
{
	static const struct {
		uint16_t port;
		uint8_t size;
	} regs[] = {
		{ 0x3f6, 1 },	       { 0x376, 1 },	       { BMDMA_BASE, 1 },
		{ BMDMA_BASE + 2, 1 }, { BMDMA_BASE + 4, 4 },  { BMDMA_BASE + 5, 2 },
		{ BMDMA_BASE + 8, 1 }, { BMDMA_BASE + 10, 1 }, { BMDMA_BASE + 12, 4 },
		{ 0x1f7, 1 },	       { 0x177, 1 },
	};

	for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		uint64_t mirrored = 0, real = 0;
		bool status = (regs[i].port & 0xff) == 0xf7 || (regs[i].port & 0xff) == 0x77;
		uint16_t base = regs[i].port & ~7u;

		if (!io_mirror_peek(dm, regs[i].port, regs[i].size, &mirrored))
			continue;
		if (status && irq_pending(base) && !mirror_side_effects++)
			printf("# status 0x%x mirrored with an interrupt pending\n", regs[i].port);
		io_dispatch(dm, IO_PIO, regs[i].port, regs[i].size, false, &real);
		mirror_compared++;
		if (mirrored != real && !mirror_mismatches++)
			printf("# mirror of port 0x%x: 0x%llx, device reads 0x%llx\n", regs[i].port,
			       (unsigned long long)mirrored, (unsigned long long)real);
	}
}

static void lba28(uint16_t base, unsigned dev, uint32_t lba, uint8_t count)
{
	out(base + 6, 1, 0xe0 | dev << 4 | (lba >> 24 & 0xf));
	out(base + 2, 1, count);
	out(base + 3, 1, lba & 0xff);
	out(base + 4, 1, lba >> 8 & 0xff);
	out(base + 5, 1, lba >> 16 & 0xff);
}

static void test_identify(void)
{
	uint16_t id[256];
	char model[41];
	unsigned i;

	out(0x1f6, 1, 0xa0);
	out(0x1f7, 1, 0xec);
	CHECK_EQ(wait_idle(0x3f6) & 0x08, 0x08);
	CHECK(dm_irq_level(dm, 14));
	/* Status reads stay with the dm while they have INTRQ to clear. */
	CHECK(!io_mirror_peek(dm, 0x1f7, 1, &(uint64_t){ 0 }));
	for (i = 0; i < 256; i++)
		id[i] = (uint16_t)in(0x1f0, 2);
	CHECK_EQ(in(0x1f7, 1) & 0x08, 0); /* DRQ clears after 512 bytes */
	CHECK(!dm_irq_level(dm, 14));	  /* status read acknowledged */
	CHECK(io_mirror_peek(dm, 0x1f7, 1, &(uint64_t){ 0 }));
	for (i = 0; i < 20; i++) {
		model[2 * i] = (char)(id[27 + i] >> 8);
		model[2 * i + 1] = (char)id[27 + i];
	}
	model[40] = 0;
	CHECK(!strncmp(model, "HVMDM HARDDISK", 14));
	CHECK_EQ(id[60] | (uint32_t)id[61] << 16, DISK_SECTORS);
	CHECK_EQ(id[100], DISK_SECTORS);
	CHECK(id[83] & (1 << 10));	/* LBA48 */
	CHECK_EQ(in(0x1f0, 2), 0xffff); /* no data phase: reads float */
}

static void test_pio_rw(void)
{
	uint8_t buf[1024];
	unsigned i;
	int bad = 0;

	lba28(0x1f0, 0, 5, 2);
	out(0x1f7, 1, 0x20);
	for (i = 0; i < 512; i += 2) {
		CHECK_EQ(wait_idle(0x3f6) & 0x09, 0x08);
		*(uint16_t *)(buf + i) = (uint16_t)in(0x1f0, 2);
	}
	for (i = 512; i < 1024; i += 4) {
		wait_idle(0x3f6);
		*(uint32_t *)(buf + i) = (uint32_t)in(0x1f0, 4);
	}
	for (i = 0; i < 1024; i++)
		bad += buf[i] != pattern_byte(5 * 512 + i);
	CHECK_EQ(bad, 0);
	CHECK_EQ(wait_idle(0x3f6) & 0x09, 0);

	/* WRITE SECTORS: one sector of 0x5a at LBA 7, then read it back. */
	lba28(0x1f0, 0, 7, 1);
	out(0x1f7, 1, 0x30);
	CHECK_EQ(wait_idle(0x3f6) & 0x08, 0x08);
	for (i = 0; i < 256; i++)
		out(0x1f0, 2, 0x5a5a);
	CHECK_EQ(wait_idle(0x3f6) & 0x09, 0);
	lba28(0x1f0, 0, 7, 1);
	out(0x1f7, 1, 0x20);
	wait_idle(0x3f6);
	for (i = 0, bad = 0; i < 256; i++)
		bad += in(0x1f0, 2) != 0x5a5a;
	CHECK_EQ(bad, 0);

	/* Out of range: IDNF, no transfer. */
	lba28(0x1f0, 0, DISK_SECTORS - 1, 2);
	out(0x1f7, 1, 0x20);
	CHECK_EQ(wait_idle(0x3f6) & 0x09, 0x01);
	CHECK(in(0x1f1, 1) & 0x10);
}

static void test_dma(void)
{
	uint8_t *mem = gmem_map(dm, 0x20000, 0x10000);
	unsigned i;
	int bad = 0;

	/* READ DMA of 4 sectors into two PRDs. */
	memset(mem, 0, 0x10000);
	prd(0, 0x20000, 1024, false);
	prd(1, 0x30000 - 1024, 1024, true);
	out(BMDMA_BASE + 4, 4, PRD_TABLE);
	lba28(0x1f0, 0, 100, 4);
	out(0x1f7, 1, 0xc8);
	out(BMDMA_BASE, 1, 0x09); /* start, write to memory */
	CHECK_EQ(wait_idle(0x3f6) & 0x01, 0);
	CHECK_EQ(in(BMDMA_BASE + 2, 1) & 0x07, 0x04); /* interrupt, not active */
	for (i = 0; i < 1024; i++)
		bad += mem[i] != pattern_byte(100 * 512 + i);
	for (i = 0; i < 1024; i++)
		bad += mem[0x10000 - 1024 + i] != pattern_byte(100 * 512 + 1024 + i);
	CHECK_EQ(bad, 0);
	out(BMDMA_BASE, 1, 0x00);
	out(BMDMA_BASE + 2, 1, 0x06);

	/* A PRD table shorter than the transfer (CVE-2014-9718): error, no loop. */
	prd(0, 0x20000, 256, true);
	lba28(0x1f0, 0, 0, 2);
	out(0x1f7, 1, 0xc8);
	out(BMDMA_BASE, 1, 0x09);
	CHECK_EQ(wait_idle(0x3f6) & 0x01, 0x01);
	CHECK_EQ(in(BMDMA_BASE + 2, 1) & 0x05, 0x04);
	out(BMDMA_BASE, 1, 0x00);

	/* WRITE DMA from memory, then verify through PIO. */
	memset(mem, 0xc3, 512);
	prd(0, 0x20000, 512, true);
	lba28(0x1f0, 0, 200, 1);
	out(0x1f7, 1, 0xca);
	out(BMDMA_BASE, 1, 0x01);
	CHECK_EQ(wait_idle(0x3f6) & 0x01, 0);
	out(BMDMA_BASE, 1, 0x00);
	lba28(0x1f0, 0, 200, 1);
	out(0x1f7, 1, 0x20);
	wait_idle(0x3f6);
	for (i = 0, bad = 0; i < 256; i++)
		bad += in(0x1f0, 2) != 0xc3c3;
	CHECK_EQ(bad, 0);

	/* Bus master disabled in PCI COMMAND: DMA fails cleanly. */
	pci_bus_config_write(pci_bus_of(dm), 0, PCI_DEVFN(1, 1), PCI_COMMAND, 0x1, 2);
	prd(0, 0x20000, 512, true);
	lba28(0x1f0, 0, 0, 1);
	out(0x1f7, 1, 0xc8);
	out(BMDMA_BASE, 1, 0x09);
	CHECK_EQ(wait_idle(0x3f6) & 0x01, 0x01);
	out(BMDMA_BASE, 1, 0x00);
	pci_bus_config_write(pci_bus_of(dm), 0, PCI_DEVFN(1, 1), PCI_COMMAND, 0x5, 2);
}

static void test_readonly_and_smart(void)
{
	unsigned i;

	/* hdb is read-only: writes abort. */
	lba28(0x1f0, 1, 0, 1);
	out(0x1f7, 1, 0x30);
	CHECK_EQ(wait_idle(0x3f6) & 0x09, 0x01);
	CHECK(in(0x1f1, 1) & 0x04);
	/* SMART: enable, then EXECUTE OFF-LINE many times (CVE-2014-2894), then status. */
	out(0x1f6, 1, 0xa0);
	out(0x1f4, 1, 0x4f);
	out(0x1f5, 1, 0xc2);
	out(0x1f1, 1, 0xd8);
	out(0x1f7, 1, 0xb0);
	CHECK_EQ(wait_idle(0x3f6) & 0x01, 0);
	for (i = 0; i < 100; i++) {
		out(0x1f1, 1, 0xd4);
		out(0x1f7, 1, 0xb0);
	}
	CHECK_EQ(wait_idle(0x3f6) & 0x01, 0);
	out(0x1f1, 1, 0xda);
	out(0x1f7, 1, 0xb0);
	CHECK_EQ(in(0x1f4, 1), 0x4f);
	CHECK_EQ(in(0x1f5, 1), 0xc2);
}

static void packet(const uint8_t *p, uint16_t limit)
{
	unsigned i;

	out(0x176, 1, 0xa0);
	out(0x171, 1, 0);
	out(0x174, 1, limit & 0xff);
	out(0x175, 1, limit >> 8);
	out(0x177, 1, 0xa0);
	CHECK_EQ(wait_idle(0x376) & 0x08, 0x08);
	CHECK_EQ(in(0x172, 1) & 3, 1); /* CoD: expecting the packet */
	for (i = 0; i < 12; i += 2)
		out(0x170, 2, p[i] | p[i + 1] << 8);
}

static void test_atapi(void)
{
	static const uint8_t tur[12] = { 0x00 };
	static const uint8_t sense[12] = { 0x03, 0, 0, 0, 18 };
	static const uint8_t ssu[12] = { 0x1b, 0, 0, 0, 0x01 };
	uint8_t rd[12] = { 0x28 }, buf[4096];
	unsigned i;
	int bad = 0;

	/* IDENTIFY DEVICE aborts and leaves the ATAPI signature. */
	out(0x176, 1, 0xa0);
	out(0x177, 1, 0xec);
	CHECK_EQ(wait_idle(0x376) & 0x01, 0x01);
	CHECK_EQ(in(0x174, 1), 0x14);
	CHECK_EQ(in(0x175, 1), 0xeb);
	out(0x177, 1, 0xa1);
	wait_idle(0x376);
	CHECK_EQ(in(0x170, 2), 0x85c0);

	packet(tur, 0);
	CHECK_EQ(wait_idle(0x376) & 0x01, 0);
	CHECK_EQ(in(0x172, 1) & 3, 3);

	/* READ(10) of 2 blocks at LBA 3 through PIO, in byte-limit sized chunks. */
	rd[5] = 3;
	rd[8] = 2;
	packet(rd, 2048);
	for (i = 0; i < 4096; i += 2) {
		if (i % 2048 == 0) {
			CHECK_EQ(wait_idle(0x376) & 0x08, 0x08);
			CHECK_EQ(in(0x174, 1) | in(0x175, 1) << 8, 2048);
		}
		*(uint16_t *)(buf + i) = (uint16_t)in(0x170, 2);
	}
	for (i = 0; i < 4096; i++)
		bad += buf[i] != pattern_byte(3 * 2048 + i);
	CHECK_EQ(bad, 0);
	CHECK_EQ(wait_idle(0x376) & 0x09, 0);

	/* LBA 0xFFFFFFFF and LBA+count past the end (CVE-2020-29443): check condition. */
	memset(rd + 2, 0xff, 4);
	packet(rd, 2048);
	CHECK_EQ(wait_idle(0x376) & 0x09, 0x01);
	CHECK_EQ(in(0x171, 1) >> 4, 5);
	memset(rd + 2, 0, 4);
	rd[5] = CD_BLOCKS - 1;
	packet(rd, 2048);
	CHECK_EQ(wait_idle(0x376) & 0x09, 0x01);
	packet(sense, 18);
	wait_idle(0x376);
	for (i = 0; i < 18; i += 2)
		*(uint16_t *)(buf + i) = (uint16_t)in(0x170, 2);
	CHECK_EQ(buf[2], 5);
	CHECK_EQ(buf[12], 0x21);

	/* START STOP UNIT completes early; hammering the data port afterwards is harmless
	 * (CVE-2015-5154): DRQ is clear and nothing moves. */
	packet(ssu, 0);
	CHECK_EQ(wait_idle(0x376) & 0x09, 0);
	for (i = 0; i < 100000; i++)
		out(0x170, 2, 0xdead);
	CHECK_EQ(in(0x177, 1) & 0x08, 0);
	/* ATA-only READ NATIVE MAX to a CD-ROM (CVE-2015-6855): aborted. */
	out(0x177, 1, 0xf8);
	CHECK_EQ(wait_idle(0x376) & 0x01, 0x01);
}

/* Send one QMP line and collect replies until one contains `want` (bounded). */
static bool qmp_cmd(int fd, const char *cmd, const char *want)
{
	char buf[8192];
	size_t len = 0;
	int i;

	CHECK_EQ(write(fd, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	for (i = 0; i < 200 && len < sizeof(buf) - 1; i++) {
		ssize_t n;

		loop_run_once(dm->loop, 10);
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, MSG_DONTWAIT);
		if (n > 0)
			len += (size_t)n;
		buf[len] = 0;
		if (strstr(buf, want))
			return true;
	}
	fprintf(stderr, "qmp: no '%s' in: %s\n", want, buf);
	return false;
}

static uint8_t tur_status(void)
{
	static const uint8_t tur[12] = { 0x00 };

	packet(tur, 0);
	return wait_idle(0x376) & 0x01 ? (uint8_t)(in(0x171, 1) >> 4) : 0;
}

static void test_qmp_media(void)
{
	char cmd[512];
	int sv[2];

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_EQ(qmp_attach_fd(dm, sv[0]), 0);
	CHECK(qmp_cmd(sv[1], "{\"execute\":\"qmp_capabilities\"}\n", "return"));
	CHECK(qmp_cmd(sv[1], "{\"execute\":\"query-block\"}\n", "\"ide1-cd0\""));
	CHECK(qmp_cmd(sv[1], "{\"execute\":\"eject\",\"arguments\":{\"device\":\"hda\"}}\n",
		      "not removable"));
	CHECK(qmp_cmd(sv[1], "{\"execute\":\"eject\",\"arguments\":{\"device\":\"hdc\"}}\n",
		      "return"));
	CHECK_EQ(tur_status(), 6); /* unit attention: medium changed */
	CHECK_EQ(tur_status(), 2); /* then not ready: no medium */
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"blockdev-change-medium\",\"arguments\":{\"device\":"
		 "\"ide1-cd0\",\"filename\":\"%s\",\"format\":\"raw\"}}\n",
		 cd_path);
	CHECK(qmp_cmd(sv[1], cmd, "return"));
	CHECK_EQ(tur_status(), 6);
	CHECK_EQ(tur_status(), 0);
	CHECK(qmp_cmd(sv[1],
		      "{\"execute\":\"blockdev-change-medium\",\"arguments\":{\"device\":"
		      "\"hdc\",\"filename\":\"/nonexistent.iso\"}}\n",
		      "Could not open"));
	CHECK_EQ(tur_status(), 0); /* a failed change keeps the old medium */
	close(sv[1]);
}

/* Read out a PIO data-in phase a command left (bounded). */
static void drain_pio(uint16_t base, uint16_t ctl)
{
	for (unsigned i = 0; i < 4096 && (in(ctl, 1) & 0x08); i++)
		in(base, 2);
}

/*
 * hvmhv answers status reads across a queued device-register write that
 * keeps DEV (the quiet entry in ide_cmd_effects): sound only while nothing
 * but a device-register write or SRST changes the selection.  Every
 * command, to either drive of either channel (present or not), leaves it.
 */
static void test_select_kept(void)
{
	static const uint8_t cmds[] = { 0xec, 0xa1, 0x90, 0x08, 0xe5, 0xe0, 0xe1, 0xe7,
					0xea, 0xef, 0x91, 0xc6, 0xb0, 0x00, 0xff };
	static const uint16_t bases[] = { 0x1f0, 0x170 }, ctls[] = { 0x3f6, 0x376 };

	for (unsigned c = 0; c < 2; c++) {
		for (unsigned dev = 0; dev < 2; dev++) {
			for (unsigned k = 0; k < sizeof(cmds); k++) {
				out(bases[c] + 6, 1, 0xa0 | dev << 4);
				out(bases[c] + 7, 1, cmds[k]);
				wait_idle(ctls[c]);
				drain_pio(bases[c], ctls[c]);
				CHECK_EQ(in(bases[c] + 6, 1) & 0x10, dev << 4);
			}
		}
		out(bases[c] + 6, 1, 0xa0);
	}
}

static void test_srst(void)
{
	out(0x3f6, 1, 0x04);
	out(0x3f6, 1, 0x00);
	CHECK_EQ(in(0x1f7, 1) & 0xc0, 0x40);
	CHECK_EQ(in(0x1f2, 1), 1);
	CHECK_EQ(in(0x1f3, 1), 1);
}

int main(void)
{
	make_file(disk_path, DISK_SECTORS * 512);
	make_file(cd_path, CD_BLOCKS * 2048);
	make_file(ro_path, 64 * 512);
	ide_create(16 << 20);
	ide_set_drive(0, disk_path, "format=raw");
	ide_set_drive(1, ro_path, "readonly=on");
	ide_set_drive(2, cd_path, "media=cdrom");
	/* Every access and completion compares the mirror with the device. */
	ide_after_io = mirror_check;
	ide_start();
	CHECK_EQ(pci_bus_config_read(pci_bus_of(dm), 0, PCI_DEVFN(1, 1), 0, 4), 0x70108086);
	test_identify();
	test_pio_rw();
	test_dma();
	test_readonly_and_smart();
	test_atapi();
	test_qmp_media();
	test_select_kept();
	test_srst();
	/* Both kinds of register were published and compared throughout. */
	CHECK(io_mirror_peek(dm, 0x3f6, 1, &(uint64_t){ 0 }));
	CHECK(io_mirror_peek(dm, 0x376, 1, &(uint64_t){ 0 }));
	CHECK(io_mirror_peek(dm, BMDMA_BASE, 1, &(uint64_t){ 0 }));
	CHECK(io_mirror_peek(dm, BMDMA_BASE + 2, 1, &(uint64_t){ 0 }));
	CHECK(io_mirror_peek(dm, BMDMA_BASE + 12, 4, &(uint64_t){ 0 }));
	CHECK(mirror_compared > 100);
	CHECK_EQ(mirror_mismatches, 0);
	CHECK_EQ(mirror_side_effects, 0);
	printf("# mirror: %u comparisons\n", mirror_compared);
	ide_finish((char *const[]){ disk_path, ro_path, cd_path }, 3);
	return tap_done();
}
