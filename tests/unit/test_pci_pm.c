// SPDX-License-Identifier: MIT
/*
 * test_pci_pm.c - the PIIX4 power management function: configuration
 * registers, the PM I/O block (mapping, PM timer on the stepped clock,
 * TMR_STS overflow and its SCI), PM1 control (S5 poweroff, other sleep
 * types ignored), ACPI enable/disable through port 0xB2, the power button
 * and GPE0.
 */
#include <string.h>

#include "clock.h"
#include "device.h"
#include "dm.h"
#include "iospace.h"
#include "irq.h"
#include "pci/pci.h"
#include "io_util.h"
#include "tap.h"

#define PM_DEVFN PCI_DEVFN(1, 3)
#define PMBASE 0x600
#define SCI 9

static uint32_t cfg_rd(struct dm *dm, uint32_t reg, unsigned size)
{
	pio_out(dm, 0xcf8, 4, 0x80000000u | PM_DEVFN << 8 | (reg & 0xfc));
	return (uint32_t)pio_in(dm, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void cfg_wr(struct dm *dm, uint32_t reg, unsigned size, uint32_t v)
{
	pio_out(dm, 0xcf8, 4, 0x80000000u | PM_DEVFN << 8 | (reg & 0xfc));
	pio_out(dm, (uint16_t)(0xcfc + (reg & 3)), size, v);
}

static struct dm *make_machine(void)
{
	struct dm *dm = NULL;

	CHECK_EQ(dm_create_standalone(16 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	CHECK_EQ(dev_create(dm, "piix3", NULL, NULL), 0);
	CHECK_EQ(dev_create(dm, "piix4-pm", NULL, NULL), 0);
	return dm;
}

/* What SeaBIOS does (src/fw/pciinit.c piix4_pm_setup), at base 0x600. */
static void enable_pm_io(struct dm *dm)
{
	cfg_wr(dm, 0x40, 4, PMBASE | 1);
	cfg_wr(dm, 0x80, 1, 0x01);
}

/* The tick count the PM timer must show at virtual time ns. */
static uint32_t expected_ticks(uint64_t ns)
{
	return (uint32_t)((unsigned __int128)ns * 3579545 / 1000000000ull) & 0xffffff;
}

static void test_config(void)
{
	struct dm *dm = make_machine();

	CHECK_EQ(cfg_rd(dm, 0x00, 4), 0x71138086);
	CHECK_EQ(cfg_rd(dm, 0x08, 4), 0x06800003);
	CHECK_EQ(cfg_rd(dm, 0x2c, 4), 0x11001af4);
	CHECK_EQ(cfg_rd(dm, 0x3d, 1), 0x01);
	CHECK_EQ(cfg_rd(dm, 0x40, 4), 0x00000001);
	CHECK_EQ(cfg_rd(dm, 0x90, 4), 0x0000b101);
	/* SMM reported as set up already: SeaBIOS must not wait for an SMI. */
	CHECK_EQ(cfg_rd(dm, 0x58, 4), 0x02000000);
	/* PMBA: bits 15:6 writable, bit 0 hard-wired. */
	cfg_wr(dm, 0x40, 4, 0xffffffff);
	CHECK_EQ(cfg_rd(dm, 0x40, 4), 0x0000ffc1);
	cfg_wr(dm, 0x40, 4, 0);
	CHECK_EQ(cfg_rd(dm, 0x40, 4), 0x00000001);
	cfg_wr(dm, 0x90, 4, 0xffffffff);
	CHECK_EQ(cfg_rd(dm, 0x90, 4), 0x0000fff1);
	cfg_wr(dm, 0x80, 1, 0xff);
	CHECK_EQ(cfg_rd(dm, 0x80, 1), 0x01);
	/* The SCI line is level-triggered from creation on. */
	CHECK(dm->irq_level_triggered & (1u << SCI));
	dm_destroy(dm);
}

static void test_io_mapping(void)
{
	struct dm *dm = make_machine();

	/* Nothing before PMREGMISC enables the block. */
	cfg_wr(dm, 0x40, 4, PMBASE | 1);
	CHECK_EQ(pio_in(dm, PMBASE + 4, 2), 0xffff);
	cfg_wr(dm, 0x80, 1, 0x01);
	CHECK_EQ(pio_in(dm, PMBASE + 4, 2), 0x0000);
	CHECK_EQ(pio_in(dm, PMBASE + 0x0c, 4), 0xffffffff); /* outside the registers */
	/* Moving PMBA moves the block. */
	cfg_wr(dm, 0x40, 4, 0xb000 | 1);
	CHECK_EQ(pio_in(dm, PMBASE + 4, 2), 0xffff);
	CHECK_EQ(pio_in(dm, 0xb004, 2), 0x0000);
	/* A base colliding with the configuration ports is refused, not fatal. */
	cfg_wr(dm, 0x40, 4, 0x0cc0 | 1);
	CHECK_EQ(pio_in(dm, 0xb004, 2), 0xffff);
	CHECK_EQ(cfg_rd(dm, 0x00, 4), 0x71138086);
	cfg_wr(dm, 0x40, 4, PMBASE | 1);
	CHECK_EQ(pio_in(dm, PMBASE + 4, 2), 0x0000);
	cfg_wr(dm, 0x80, 1, 0x00);
	CHECK_EQ(pio_in(dm, PMBASE + 4, 2), 0xffff);
	/* Reset disables it again. */
	cfg_wr(dm, 0x80, 1, 0x01);
	dev_reset_all(dm, DEV_RESET_WARM);
	CHECK_EQ(pio_in(dm, PMBASE + 4, 2), 0xffff);
	CHECK_EQ(cfg_rd(dm, 0x40, 4), 0x00000001);
	dm_destroy(dm);
}

static void test_timer(void)
{
	struct dm *dm = make_machine();
	static const uint64_t steps[] = { 0,
					  1,
					  279,
					  280,
					  1000000,
					  999999999,
					  1000000000,
					  4686902000ull,
					  10000000000ull,
					  123456789012ull };
	uint64_t ovf_ns;
	unsigned i;

	enable_pm_io(dm);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		clock_set(dm->clock, steps[i]);
		CHECK_EQ(pio_in(dm, PMBASE + 8, 4), expected_ticks(steps[i]));
	}
	/* One second is 3579545 ticks. */
	clock_set(dm->clock, 200 * NS_PER_SEC);
	{
		uint32_t a = (uint32_t)pio_in(dm, PMBASE + 8, 4);

		clock_set(dm->clock, 201 * NS_PER_SEC);
		CHECK_EQ(((uint32_t)pio_in(dm, PMBASE + 8, 4) - a) & 0xffffff, 3579545);
	}
	/* Byte reads of the counter see the same value. */
	CHECK_EQ(pio_in(dm, PMBASE + 10, 1), (expected_ticks(201 * NS_PER_SEC) >> 16) & 0xff);
	dm_destroy(dm);

	/* TMR_STS: set when bit 23 toggles, cleared by writing 1; SCI when enabled. */
	dm = make_machine();
	enable_pm_io(dm);
	pio_out(dm, PMBASE + 2, 2, 0x0001); /* TMR_EN */
	/* First toggle of bit 23: tick 2^23, at ceil(2^23 / 3.579545 MHz). */
	ovf_ns = (((uint64_t)1 << 23) * NS_PER_SEC + 3579545 - 1) / 3579545;
	clock_set(dm->clock, ovf_ns - 1);
	CHECK_EQ(pio_in(dm, PMBASE, 2) & 1, 0);
	CHECK_EQ(dm_irq_level(dm, SCI), 0);
	clock_set(dm->clock, ovf_ns);
	CHECK_EQ(dm_irq_level(dm, SCI), 1); /* the timer fired without a read */
	CHECK_EQ(pio_in(dm, PMBASE, 2) & 1, 1);
	pio_out(dm, PMBASE, 2, 0x0001);
	CHECK_EQ(pio_in(dm, PMBASE, 2) & 1, 0);
	CHECK_EQ(dm_irq_level(dm, SCI), 0);
	/* Next toggle (bit 23 back to 0) 2^23 ticks later. */
	clock_set(dm->clock, 2 * ovf_ns + 1000);
	CHECK_EQ(dm_irq_level(dm, SCI), 1);
	pio_out(dm, PMBASE, 2, 0x0001);
	/* With TMR_EN clear the status still latches but no SCI. */
	pio_out(dm, PMBASE + 2, 2, 0x0000);
	clock_set(dm->clock, 4 * ovf_ns);
	CHECK_EQ(dm_irq_level(dm, SCI), 0);
	CHECK_EQ(pio_in(dm, PMBASE, 2) & 1, 1);
	dm_destroy(dm);
}

static void test_sleep(void)
{
	struct dm *dm = make_machine();

	enable_pm_io(dm);
	/* SCI_EN and SLP_TYP are stored; SLP_EN reads back 0. */
	pio_out(dm, PMBASE + 4, 2, 0x0001 | (5 << 10));
	CHECK_EQ(pio_in(dm, PMBASE + 4, 2), 0x1401);
	/* Sleep types other than soft-off are ignored. */
	pio_out(dm, PMBASE + 4, 2, (1 << 10) | 0x2000);
	CHECK_EQ(dm->shutdown_reason, -1);
	CHECK_EQ(pio_in(dm, PMBASE + 4, 2), 0x0400);
	pio_out(dm, PMBASE + 4, 2, (5 << 10) | 0x2000);
	CHECK_EQ(dm->shutdown_reason, -1);
	/* SLP_TYP 0 + SLP_EN: soft off, in one byte write of the high half too. */
	pio_out(dm, PMBASE + 4, 2, 0);
	pio_out(dm, PMBASE + 5, 1, 0x20);
	CHECK_EQ(dm->shutdown_reason, HVM_SHUTDOWN_POWEROFF);
	dm_destroy(dm);
}

static void test_acpi_enable_and_button(void)
{
	struct dm *dm = make_machine();

	enable_pm_io(dm);
	CHECK(dm->powerdown != NULL);
	CHECK_EQ(pio_in(dm, PMBASE + 4, 2) & 1, 0);
	pio_out(dm, 0xb2, 1, 0xf1);
	CHECK_EQ(pio_in(dm, 0xb2, 1), 0xf1);
	CHECK_EQ(pio_in(dm, PMBASE + 4, 2) & 1, 1);
	pio_out(dm, 0xb2, 1, 0xf0);
	CHECK_EQ(pio_in(dm, PMBASE + 4, 2) & 1, 0);
	pio_out(dm, 0xb3, 1, 0x5a); /* APM status is a scratch byte */
	CHECK_EQ(pio_in(dm, 0xb3, 1), 0x5a);

	/* Power button with the event disabled: status only. */
	dm->powerdown(dm->powerdown_opaque);
	CHECK_EQ(pio_in(dm, PMBASE, 2) & 0x100, 0x100);
	CHECK_EQ(dm_irq_level(dm, SCI), 0);
	/* Enabling the event raises SCI (SCI_EN does not gate it: no SMM). */
	pio_out(dm, PMBASE + 2, 2, 0x0100);
	CHECK_EQ(pio_in(dm, PMBASE + 2, 2), 0x0100);
	CHECK_EQ(dm_irq_level(dm, SCI), 1);
	pio_out(dm, PMBASE + 2, 2, 0x0000);
	CHECK_EQ(dm_irq_level(dm, SCI), 0);
	pio_out(dm, 0xb2, 1, 0xf1);
	pio_out(dm, PMBASE + 2, 2, 0x0100);
	CHECK_EQ(dm_irq_level(dm, SCI), 1);
	/* Writing 0 to the status keeps it; writing 1 clears it and the SCI. */
	pio_out(dm, PMBASE, 2, 0x0000);
	CHECK_EQ(dm_irq_level(dm, SCI), 1);
	pio_out(dm, PMBASE + 1, 1, 0x01); /* byte write of PWRBTN_STS */
	CHECK_EQ(pio_in(dm, PMBASE, 2) & 0x100, 0);
	CHECK_EQ(dm_irq_level(dm, SCI), 0);
	/* A second press raises it again; a dword write clears STS and sets EN. */
	dm->powerdown(dm->powerdown_opaque);
	CHECK_EQ(dm_irq_level(dm, SCI), 1);
	pio_out(dm, PMBASE, 4, 0x01000100);
	CHECK_EQ(dm_irq_level(dm, SCI), 0);
	CHECK_EQ(pio_in(dm, PMBASE, 4), 0x01000000);

	/* GPE0: enable bits stored, status write-1-to-clear of nothing. */
	pio_out(dm, 0xafe2, 2, 0x0004);
	CHECK_EQ(pio_in(dm, 0xafe0, 4), 0x00040000);
	pio_out(dm, 0xafe0, 2, 0xffff);
	CHECK_EQ(pio_in(dm, 0xafe0, 4), 0x00040000);
	CHECK_EQ(dm_irq_level(dm, SCI), 0);

	/* Reset: events and ACPI mode off. */
	dm->powerdown(dm->powerdown_opaque);
	CHECK_EQ(dm_irq_level(dm, SCI), 1);
	dev_reset_all(dm, DEV_RESET_WARM);
	CHECK_EQ(dm_irq_level(dm, SCI), 0);
	enable_pm_io(dm);
	CHECK_EQ(pio_in(dm, PMBASE, 4), 0);
	dm_destroy(dm);
}

static void test_destroy_hooks(void)
{
	struct dm *dm = NULL;
	struct dev *pm = NULL;

	CHECK_EQ(dm_create_standalone(16 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	CHECK_EQ(dev_create(dm, "piix4-pm", NULL, &pm), 0);
	CHECK(pm != NULL);
	CHECK(dm->powerdown != NULL);
	/* A link routed to the SCI IRQ and away keeps it level-triggered. */
	CHECK_EQ(dev_create(dm, "piix3", NULL, NULL), 0);
	pio_out(dm, 0xcf8, 4, 0x80000860);
	pio_out(dm, 0xcfc, 1, SCI);
	pio_out(dm, 0xcfc, 1, 0x80);
	CHECK(dm->irq_level_triggered & (1u << SCI));
	dm_destroy(dm);
}

int main(void)
{
	test_config();
	test_io_mapping();
	test_timer();
	test_sleep();
	test_acpi_enable_and_button();
	test_destroy_hooks();
	return tap_done();
}
