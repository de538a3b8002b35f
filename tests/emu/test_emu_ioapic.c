// SPDX-License-Identifier: MIT
/*
 * test_emu_ioapic.c - the 82093AA driven like Linux does: identification
 * registers, redirection entries, ISA IRQ0 on pin 2, edge and level pins,
 * remote IRR and the EOI broadcast, TMR, masking, physical/logical/lowest
 * priority destinations, NMI/INIT/ExtINT delivery, PCI GSIs 16-23, MSI,
 * and out-of-range register selects.
 */
#include <stdio.h>

#include "emu_fake.h"
#include "tap.h"

#define RTE_LEVEL (1ull << 15)
#define RTE_MASKED (1ull << 16)
#define RTE_LOGICAL (1ull << 11)
#define RTE_REMOTE_IRR (1u << 14)
#define DEST(d) ((uint64_t)(d) << 56)
#define MODE(m) ((uint64_t)(m) << 8)

static void setup(struct fake *f, unsigned cpus)
{
	fake_init(f, cpus);
	pit_quiet(f);
	for (unsigned i = 0; i < cpus; i++) {
		lapic_enable(f, i);
		lapic_wr(f, i, 0x350, 0x10700); /* LINT0 masked: IOAPIC mode */
	}
}

static bool tmr_bit(struct fake *f, unsigned cpu, unsigned vec)
{
	return lapic_rd(f, cpu, 0x180 + (vec / 32) * 0x10) >> (vec % 32) & 1;
}

static void test_ident(void)
{
	struct fake f;
	uint64_t v;

	setup(&f, 1);
	CHECK_EQ(ioapic_rd(&f, 1), 0x00170011);
	CHECK_EQ(ioapic_rd(&f, 0), 0);
	ioapic_wr(&f, 0, 0x0f000000 | 0xffffff);
	CHECK_EQ(ioapic_rd(&f, 0), 0x0f000000); /* only bits 27:24 */
	CHECK_EQ(ioapic_rd(&f, 2), 0x0f000000);
	ioapic_wr(&f, 1, 0);
	CHECK_EQ(ioapic_rd(&f, 1), 0x00170011); /* read-only */
	/* Reset: every entry masked. */
	for (unsigned pin = 0; pin < 24; pin++)
		CHECK_EQ(ioapic_rd(&f, 0x10 + 2 * pin), 0x10000);
	/* Selects past the table read 0 and ignore writes. */
	ioapic_wr(&f, 0x40, 0x1234);
	CHECK_EQ(ioapic_rd(&f, 0x40), 0);
	CHECK_EQ(ioapic_rd(&f, 0xff), 0);
	/* IOREGSEL reads back; byte reads of IOWIN see the right byte. */
	v = 0x11;
	irqchip_mmio(f.chip, 0, 0xfec00000, 4, true, &v);
	v = 0;
	irqchip_mmio(f.chip, 0, 0xfec00000, 4, false, &v);
	CHECK_EQ(v, 0x11);
	v = 0x01;
	irqchip_mmio(f.chip, 0, 0xfec00000, 1, true, &v);
	irqchip_mmio(f.chip, 0, 0xfec00012, 1, false, &v);
	CHECK_EQ(v, 0x17);
	/* Delivery status and remote IRR are read-only. */
	ioapic_wr(&f, 0x10, 0xffffffff);
	CHECK_EQ(ioapic_rd(&f, 0x10), 0x1afff);
	ioapic_wr(&f, 0x11, 0xffffffff);
	CHECK_EQ(ioapic_rd(&f, 0x11), 0xff000000);
	/* Unclaimed space next to the IOAPIC is not ours. */
	CHECK(!irqchip_mmio(f.chip, 0, 0xfec01000, 4, false, &v));
	fake_fini(&f);
}

static void test_edge_and_irq0(void)
{
	struct fake f;
	uint64_t next;

	setup(&f, 2);
	/* Keyboard on pin 1, to CPU 1 physical. */
	ioapic_rte(&f, 1, 0x31 | DEST(1));
	irqchip_pulse_gsi(f.chip, 1);
	CHECK_EQ(take(&f, 1), 0x31);
	CHECK_EQ(take(&f, 0), -1);
	CHECK(!tmr_bit(&f, 1, 0x31));
	lapic_wr(&f, 1, 0xb0, 0);
	CHECK_EQ(f.eois[1], 0);
	/* The PIT's IRQ0 arrives on pin 2 (interrupt source override). */
	ioapic_rte(&f, 2, 0x30 | DEST(0));
	outb(&f, 0x43, 0x34);
	outb(&f, 0x40, 0xa9);
	outb(&f, 0x40, 0x04);
	next = irqchip_next_deadline(f.chip);
	CHECK(next != UINT64_MAX);
	irqchip_run_timers(f.chip, next);
	CHECK_EQ(take(&f, 0), 0x30);
	lapic_wr(&f, 0, 0xb0, 0);
	/* Pin 0 is the 8259's INTR, not IRQ0: with the 8259 masked it stays quiet. */
	pic_init_linux(&f);
	ioapic_rte(&f, 0, 0x50 | DEST(0));
	next = irqchip_next_deadline(f.chip);
	irqchip_run_timers(f.chip, next);
	CHECK_EQ(take(&f, 0), 0x30);
	lapic_wr(&f, 0, 0xb0, 0);
	/* An edge on a masked pin is discarded (82093AA 3.2.4). */
	ioapic_rte(&f, 4, 0x34 | DEST(0) | RTE_MASKED);
	irqchip_pulse_gsi(f.chip, 4);
	CHECK_EQ(take(&f, 0), -1);
	ioapic_rte(&f, 4, 0x34 | DEST(0));
	CHECK_EQ(take(&f, 0), -1);
	irqchip_pulse_gsi(f.chip, 4);
	CHECK_EQ(take(&f, 0), 0x34);
	fake_fini(&f);
}

static void test_level_remote_irr(void)
{
	struct fake f;

	setup(&f, 1);
	/* A PCI INTx line on GSI 16, level, as Linux programs it. */
	ioapic_rte(&f, 16, 0x51 | RTE_LEVEL | DEST(0));
	irqchip_set_gsi(f.chip, 16, true);
	CHECK(ioapic_rd(&f, 0x10 + 32) & RTE_REMOTE_IRR);
	CHECK_EQ(take(&f, 0), 0x51);
	CHECK(tmr_bit(&f, 0, 0x51));
	/* Asserted still, but remote IRR blocks a second message. */
	irqchip_set_gsi(f.chip, 16, true);
	CHECK_EQ(irqchip_pending(f.chip, 0), -1);
	CHECK_EQ(lapic_rd(&f, 0, 0x200 + 0x20) & (1u << (0x51 - 64)), 0);
	/* EOI: broadcast clears remote IRR, the dm is told, the line is still high. */
	lapic_wr(&f, 0, 0xb0, 0);
	CHECK_EQ(f.eois[16], 1);
	CHECK(ioapic_rd(&f, 0x10 + 32) & RTE_REMOTE_IRR);
	CHECK_EQ(take(&f, 0), 0x51);
	irqchip_set_gsi(f.chip, 16, false);
	lapic_wr(&f, 0, 0xb0, 0);
	CHECK_EQ(f.eois[16], 2);
	CHECK(!(ioapic_rd(&f, 0x10 + 32) & RTE_REMOTE_IRR));
	CHECK_EQ(take(&f, 0), -1);
	/* Masked level pin: nothing until unmasked with the line still high. */
	ioapic_rte(&f, 17, 0x52 | RTE_LEVEL | RTE_MASKED | DEST(0));
	irqchip_set_gsi(f.chip, 17, true);
	CHECK_EQ(take(&f, 0), -1);
	ioapic_rte(&f, 17, 0x52 | RTE_LEVEL | DEST(0));
	CHECK_EQ(take(&f, 0), 0x52);
	/* Switching the pin to edge drops its remote IRR. */
	ioapic_rte(&f, 17, 0x52 | DEST(0));
	CHECK(!(ioapic_rd(&f, 0x10 + 34) & RTE_REMOTE_IRR));
	lapic_wr(&f, 0, 0xb0, 0);
	/* A level line that went away before the EOI is not re-sent. */
	ioapic_rte(&f, 18, 0x53 | RTE_LEVEL | DEST(0));
	irqchip_set_gsi(f.chip, 18, true);
	irqchip_set_gsi(f.chip, 18, false);
	CHECK_EQ(take(&f, 0), 0x53);
	lapic_wr(&f, 0, 0xb0, 0);
	CHECK_EQ(take(&f, 0), -1);
	fake_fini(&f);
}

static void test_destinations(void)
{
	struct fake f;

	setup(&f, 4);
	for (unsigned i = 0; i < 4; i++)
		lapic_wr(&f, i, 0xd0, 1u << (24 + i));
	/* Logical flat to CPU 2. */
	ioapic_rte(&f, 5, 0x35 | RTE_LOGICAL | DEST(0x04));
	irqchip_pulse_gsi(f.chip, 5);
	CHECK_EQ(take(&f, 2), 0x35);
	CHECK_EQ(take(&f, 0), -1);
	lapic_wr(&f, 2, 0xb0, 0);
	/* Lowest priority among CPUs 0-3: the one with the lowest TPR wins. */
	lapic_wr(&f, 0, 0x80, 0x40);
	lapic_wr(&f, 1, 0x80, 0x30);
	lapic_wr(&f, 2, 0x80, 0x20);
	lapic_wr(&f, 3, 0x80, 0x10);
	ioapic_rte(&f, 6, 0x66 | MODE(1) | RTE_LOGICAL | DEST(0x0f));
	irqchip_pulse_gsi(f.chip, 6);
	CHECK_EQ(take(&f, 3), 0x66);
	CHECK_EQ(take(&f, 0) + take(&f, 1) + take(&f, 2), -3);
	lapic_wr(&f, 3, 0xb0, 0);
	/* Physical broadcast 0xff. */
	ioapic_rte(&f, 7, 0x77 | DEST(0xff));
	irqchip_pulse_gsi(f.chip, 7);
	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(take(&f, i), 0x77);
		lapic_wr(&f, i, 0xb0, 0);
	}
	/* NMI and INIT delivery modes. */
	ioapic_rte(&f, 8, MODE(4) | DEST(1));
	irqchip_pulse_gsi(f.chip, 8);
	CHECK_EQ(f.nmis[1], 1);
	ioapic_rte(&f, 9, MODE(5) | DEST(3));
	irqchip_pulse_gsi(f.chip, 9);
	CHECK_EQ(f.inits[3], 1);
	/* Illegal vector on a fixed entry: receive error, nothing delivered. */
	ioapic_rte(&f, 10, 0x05 | DEST(0));
	irqchip_pulse_gsi(f.chip, 10);
	CHECK_EQ(take(&f, 0), -1);
	lapic_wr(&f, 0, 0x280, 0);
	CHECK_EQ(lapic_rd(&f, 0, 0x280), 0x40);
	/* MSI: to CPU 1, vector 0x91. */
	CHECK(irqchip_msi(f.chip, 0xfee01000, 0x91));
	CHECK_EQ(take(&f, 1), 0x91);
	CHECK(!irqchip_msi(f.chip, 0xfec00000, 0x91));
	fake_fini(&f);
}

static void test_extint_pin0(void)
{
	struct fake f;

	setup(&f, 1);
	pic_init_linux(&f);
	outb(&f, 0x21, 0x00);
	/* Virtual wire through the IOAPIC: pin 0 ExtINT, LINT0 masked. */
	ioapic_rte(&f, 0, MODE(7) | DEST(0));
	irqchip_pulse_gsi(f.chip, 3);
	CHECK_EQ(take(&f, 0), 0x33); /* vector supplied by the 8259 */
	outb(&f, 0x20, 0x20);
	CHECK_EQ(take(&f, 0), -1);
	/* Masking pin 0 cuts the path. */
	ioapic_rte(&f, 0, MODE(7) | DEST(0) | RTE_MASKED);
	irqchip_pulse_gsi(f.chip, 4);
	CHECK_EQ(take(&f, 0), -1);
	fake_fini(&f);
}

int main(void)
{
	test_ident();
	test_edge_and_irq0();
	test_level_remote_irr();
	test_destinations();
	test_extint_pin0();
	return tap_done();
}
