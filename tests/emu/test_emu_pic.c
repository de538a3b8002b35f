// SPDX-License-Identifier: MIT
/*
 * test_emu_pic.c - the 8259A pair and ELCR driven like Linux and SeaBIOS do:
 * initialisation, vectors, priority and nesting, cascade, EOI forms, AEOI,
 * rotation, special mask, poll, OCW3 register reads, level lines re-raising
 * after EOI, spurious IRQ7/IRQ15, and where INTR goes (LINT0 / APIC off).
 */
#include <stdio.h>

#include "emu_fake.h"
#include "tap.h"

/* OCW3 selections */
#define READ_IRR 0x0a
#define READ_ISR 0x0b

static void unmask(struct fake *f, unsigned irq)
{
	uint16_t port = irq < 8 ? 0x21 : 0xa1;

	outb(f, port, inb(f, port) & ~(1u << (irq & 7)));
}

static void eoi(struct fake *f, unsigned irq)
{
	if (irq >= 8) {
		outb(f, 0xa0, 0x60 | (irq & 7)); /* specific EOI, as Linux */
		outb(f, 0x20, 0x62);
	} else {
		outb(f, 0x20, 0x60 | irq);
	}
}

static void test_init_and_vectors(void)
{
	struct fake f;

	fake_init(&f, 1);
	pic_init_linux(&f);
	CHECK_EQ(inb(&f, 0x21), 0xfb);
	CHECK_EQ(inb(&f, 0xa1), 0xff);
	/* Masked: an edge is latched in IRR but INTR stays low. */
	irqchip_pulse_gsi(f.chip, 1);
	CHECK_EQ(irqchip_pending(f.chip, 0), -1);
	outb(&f, 0x20, READ_IRR);
	CHECK_EQ(inb(&f, 0x20), 0x02);
	unmask(&f, 1);
	CHECK_EQ(irqchip_pending(f.chip, 0), 0x31);
	CHECK(f.kicks[0] > 0);
	CHECK_EQ(irqchip_ack(f.chip, 0), 0x31);
	CHECK_EQ(inb(&f, 0x20), 0x00); /* IRR cleared by INTA (edge) */
	outb(&f, 0x20, READ_ISR);
	CHECK_EQ(inb(&f, 0x20), 0x02);
	CHECK_EQ(irqchip_pending(f.chip, 0), -1);
	outb(&f, 0x20, 0x20); /* non-specific EOI */
	CHECK_EQ(inb(&f, 0x20), 0x00);
	/* IRQ 12 through the slave on IR2. */
	unmask(&f, 12);
	irqchip_pulse_gsi(f.chip, 12);
	CHECK_EQ(take(&f, 0), 0x3c);
	CHECK_EQ(inb(&f, 0x20), 0x04); /* master ISR: IR2 */
	outb(&f, 0xa0, READ_ISR);
	CHECK_EQ(inb(&f, 0xa0), 0x10);
	eoi(&f, 12);
	CHECK_EQ(inb(&f, 0x20), 0x00);
	CHECK_EQ(inb(&f, 0xa0), 0x00);
	CHECK_EQ(f.eois[12], 0); /* edge lines are not resampled */
	fake_fini(&f);
}

static void test_priority_nesting(void)
{
	struct fake f;

	fake_init(&f, 1);
	pic_init_linux(&f);
	outb(&f, 0x21, 0x00);
	outb(&f, 0xa1, 0x00);
	irqchip_pulse_gsi(f.chip, 4);
	irqchip_pulse_gsi(f.chip, 3);
	CHECK_EQ(take(&f, 0), 0x33);		  /* IR3 beats IR4 */
	CHECK_EQ(irqchip_pending(f.chip, 0), -1); /* IR4 is lower than in-service IR3 */
	irqchip_pulse_gsi(f.chip, 1);
	CHECK_EQ(take(&f, 0), 0x31); /* higher priority nests */
	/* Slave IRQs rank as IR2: above IR3 and IR4 but below IR1. */
	irqchip_pulse_gsi(f.chip, 9);
	CHECK_EQ(irqchip_pending(f.chip, 0), -1);
	outb(&f, 0x20, 0x20); /* EOI for IR1 */
	CHECK_EQ(take(&f, 0), 0x39);
	eoi(&f, 9);
	outb(&f, 0x20, 0x20); /* EOI for IR3 (highest in service) */
	outb(&f, 0x20, READ_ISR);
	CHECK_EQ(inb(&f, 0x20), 0x00);
	CHECK_EQ(take(&f, 0), 0x34);
	outb(&f, 0x20, 0x64);
	CHECK_EQ(take(&f, 0), -1);
	fake_fini(&f);
}

static void test_elcr_level(void)
{
	struct fake f;

	fake_init(&f, 1);
	pic_init_linux(&f);
	/* ELCR: bits that must stay edge are read-only zero. */
	outb(&f, 0x4d0, 0xff);
	outb(&f, 0x4d1, 0xff);
	CHECK_EQ(inb(&f, 0x4d0), 0xf8);
	CHECK_EQ(inb(&f, 0x4d1), 0xde);
	outb(&f, 0x4d0, 0x00);
	outb(&f, 0x4d1, 0x0c); /* IRQ 10, 11 level (PCI INTx via PIRQ) */
	unmask(&f, 11);
	irqchip_set_gsi(f.chip, 11, true);
	CHECK_EQ(take(&f, 0), 0x3b);
	/* Level input stays in IRR while the line is high. */
	outb(&f, 0xa0, READ_IRR);
	CHECK_EQ(inb(&f, 0xa0), 0x08);
	eoi(&f, 11);
	CHECK_EQ(f.eois[11], 1);
	/* Still high: it comes back after the EOI. */
	CHECK_EQ(take(&f, 0), 0x3b);
	irqchip_set_gsi(f.chip, 11, false);
	eoi(&f, 11);
	CHECK_EQ(f.eois[11], 2);
	CHECK_EQ(irqchip_pending(f.chip, 0), -1);
	/* The device's handler re-asserts from the EOI hook (resample). */
	f.reassert = 1u << 11;
	irqchip_set_gsi(f.chip, 11, true);
	CHECK_EQ(take(&f, 0), 0x3b);
	eoi(&f, 11);
	CHECK_EQ(take(&f, 0), 0x3b);
	f.reassert = 0;
	irqchip_set_gsi(f.chip, 11, false);
	eoi(&f, 11);
	CHECK_EQ(take(&f, 0), -1);
	/* An edge line is not level-sensed: one interrupt per rising edge. */
	unmask(&f, 10);
	outb(&f, 0x4d1, 0x00);
	irqchip_set_gsi(f.chip, 10, true);
	CHECK_EQ(take(&f, 0), 0x3a);
	eoi(&f, 10);
	CHECK_EQ(take(&f, 0), -1);
	irqchip_set_gsi(f.chip, 10, false);
	fake_fini(&f);
}

static void test_spurious(void)
{
	struct fake f;

	fake_init(&f, 1);
	pic_init_linux(&f);
	outb(&f, 0x21, 0x00);
	outb(&f, 0xa1, 0x00);
	outb(&f, 0x4d0, 0x20); /* IRQ5 level */
	irqchip_set_gsi(f.chip, 5, true);
	CHECK_EQ(irqchip_pending(f.chip, 0), 0x35);
	irqchip_set_gsi(f.chip, 5, false);	/* request withdrawn before INTA */
	CHECK_EQ(irqchip_ack(f.chip, 0), 0x37); /* spurious IRQ7 */
	outb(&f, 0x20, READ_ISR);
	CHECK_EQ(inb(&f, 0x20), 0x00); /* no ISR bit for a spurious IRQ7 */
	/* Spurious IRQ15: master latched IR2 but the slave's level request left. */
	outb(&f, 0x4d1, 0x04); /* IRQ10 level */
	irqchip_set_gsi(f.chip, 10, true);
	irqchip_set_gsi(f.chip, 10, false);
	CHECK_EQ(irqchip_ack(f.chip, 0), 0x3f);
	CHECK_EQ(inb(&f, 0x20), 0x04); /* master IR2 in service: OS must EOI it */
	outb(&f, 0xa0, READ_ISR);
	CHECK_EQ(inb(&f, 0xa0), 0x00);
	outb(&f, 0x20, 0x62);
	CHECK_EQ(inb(&f, 0x20), 0x00);
	fake_fini(&f);
}

static void test_aeoi_rotate_prio(void)
{
	struct fake f;

	fake_init(&f, 1);
	/* SeaBIOS-style init with AEOI on the master (ICW4 = 0x03). */
	outb(&f, 0x20, 0x11);
	outb(&f, 0x21, 0x08);
	outb(&f, 0x21, 0x04);
	outb(&f, 0x21, 0x03);
	outb(&f, 0x21, 0x00);
	irqchip_pulse_gsi(f.chip, 6);
	CHECK_EQ(take(&f, 0), 0x0e);
	outb(&f, 0x20, READ_ISR);
	CHECK_EQ(inb(&f, 0x20), 0x00); /* AEOI: nothing stays in service */
	/* Rotate in AEOI mode: the serviced level becomes the lowest. */
	outb(&f, 0x20, 0x80);
	irqchip_pulse_gsi(f.chip, 3);
	CHECK_EQ(take(&f, 0), 0x0b);
	irqchip_pulse_gsi(f.chip, 3);
	irqchip_pulse_gsi(f.chip, 4);
	CHECK_EQ(take(&f, 0), 0x0c); /* IR4 now above IR3 */
	CHECK_EQ(take(&f, 0), 0x0b);
	outb(&f, 0x20, 0x00); /* clear rotate in AEOI */
	/* Set priority: IR4 lowest, so IR5 highest. */
	outb(&f, 0x20, 0xc4);
	irqchip_pulse_gsi(f.chip, 1);
	irqchip_pulse_gsi(f.chip, 5);
	CHECK_EQ(take(&f, 0), 0x0d);
	CHECK_EQ(take(&f, 0), 0x09);
	fake_fini(&f);

	/* Rotate on non-specific EOI without AEOI. */
	fake_init(&f, 1);
	pic_init_linux(&f);
	outb(&f, 0x21, 0x00);
	irqchip_pulse_gsi(f.chip, 3);
	CHECK_EQ(take(&f, 0), 0x33);
	outb(&f, 0x20, 0xa0); /* rotate on non-specific EOI */
	irqchip_pulse_gsi(f.chip, 3);
	irqchip_pulse_gsi(f.chip, 4);
	CHECK_EQ(take(&f, 0), 0x34);
	outb(&f, 0x20, 0x20);
	CHECK_EQ(take(&f, 0), 0x33);
	fake_fini(&f);
}

static void test_special_mask_poll(void)
{
	struct fake f;

	fake_init(&f, 1);
	pic_init_linux(&f);
	outb(&f, 0x21, 0x00);
	irqchip_pulse_gsi(f.chip, 3);
	CHECK_EQ(take(&f, 0), 0x33);
	irqchip_pulse_gsi(f.chip, 5);
	CHECK_EQ(irqchip_pending(f.chip, 0), -1);
	/* Special mask mode: mask IR3 in service, lower levels get through. */
	outb(&f, 0x21, 0x08);
	outb(&f, 0x20, 0x68);
	CHECK_EQ(take(&f, 0), 0x35);
	outb(&f, 0x20, 0x48); /* reset special mask */
	outb(&f, 0x20, 0x65);
	outb(&f, 0x20, 0x63);
	outb(&f, 0x21, 0x00);
	/* Poll command: the read acknowledges like an INTA. */
	irqchip_pulse_gsi(f.chip, 6);
	outb(&f, 0x20, 0x0c);
	CHECK_EQ(inb(&f, 0x20), 0x86);
	outb(&f, 0x20, READ_ISR);
	CHECK_EQ(inb(&f, 0x20), 0x40);
	outb(&f, 0x20, 0x20);
	outb(&f, 0x20, 0x0c);
	CHECK_EQ(inb(&f, 0x20), 0x00); /* nothing requesting */
	fake_fini(&f);
}

static void test_sfnm(void)
{
	struct fake f;

	for (unsigned sfnm = 0; sfnm < 2; sfnm++) {
		fake_init(&f, 1);
		pic_init_linux(&f);
		if (sfnm) {
			outb(&f, 0x20, 0x11);
			outb(&f, 0x21, 0x30);
			outb(&f, 0x21, 0x04);
			outb(&f, 0x21, 0x11); /* ICW4: special fully nested mode */
		}
		outb(&f, 0x21, 0x00);
		outb(&f, 0xa1, 0x00);
		irqchip_pulse_gsi(f.chip, 9);
		CHECK_EQ(take(&f, 0), 0x39);
		/* IRQ8 outranks IRQ9 on the slave, but the master has IR2 in service. */
		irqchip_pulse_gsi(f.chip, 8);
		if (sfnm) {
			CHECK_EQ(take(&f, 0), 0x38); /* nests through the cascade */
		} else {
			CHECK_EQ(take(&f, 0), -1);
			outb(&f, 0xa0, 0x20);
			outb(&f, 0x20, 0x20);
			CHECK_EQ(take(&f, 0), 0x38);
		}
		fake_fini(&f);
	}
}

static void test_icw1_edge_latch(void)
{
	struct fake f;

	fake_init(&f, 1);
	irqchip_set_gsi(f.chip, 4, true);
	pic_init_linux(&f); /* ICW1 resets the edge-sense latch */
	outb(&f, 0x21, 0x00);
	CHECK_EQ(irqchip_pending(f.chip, 0), -1);
	irqchip_set_gsi(f.chip, 4, false);
	irqchip_set_gsi(f.chip, 4, true);
	CHECK_EQ(take(&f, 0), 0x34);
	fake_fini(&f);
}

static void test_intr_routing(void)
{
	struct fake f;

	fake_init(&f, 2);
	pic_init_linux(&f);
	outb(&f, 0x21, 0x00);
	irqchip_pulse_gsi(f.chip, 1);
	/* Reset state: BSP LINT0 is ExtINT (virtual wire); APs do not see INTR. */
	CHECK_EQ(lapic_rd(&f, 0, 0x350), 0x700);
	CHECK_EQ(lapic_rd(&f, 1, 0x350), 0x10000);
	CHECK_EQ(irqchip_pending(f.chip, 0), 0x31);
	CHECK_EQ(irqchip_pending(f.chip, 1), -1);
	/* Linux with an IOAPIC masks LINT0: INTR no longer reaches the CPU. */
	lapic_enable(&f, 0);
	lapic_wr(&f, 0, 0x350, 0x10700);
	CHECK_EQ(irqchip_pending(f.chip, 0), -1);
	/* APIC hardware-disabled: INTR goes straight to the BSP. */
	CHECK(irqchip_wrmsr(f.chip, 0, 0x1b, 0xfee00100));
	CHECK_EQ(irqchip_pending(f.chip, 0), 0x31);
	CHECK_EQ(lapic_rd(&f, 0, 0x30), 0xffffffff); /* page not claimed */
	CHECK_EQ(take(&f, 0), 0x31);
	fake_fini(&f);
}

static void test_hostile(void)
{
	struct fake f;
	uint32_t v;

	fake_init(&f, 1);
	/* Every byte value to every port, in every init state: no crash, sane reads. */
	for (unsigned port = 0; port < 6; port++) {
		static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };

		for (unsigned val = 0; val < 256; val++) {
			outb(&f, ports[port], val);
			outb(&f, ports[port ^ 1], val ^ 0x5a);
			irqchip_pulse_gsi(f.chip, val % 24);
			(void)take(&f, 0);
			(void)inb(&f, ports[port]);
		}
	}
	irqchip_set_gsi(f.chip, 99, true);
	irqchip_pulse_gsi(f.chip, 24);
	CHECK(!irqchip_pio(f.chip, 0x22, 1, false, &v));
	/* A 16-bit read at 0x20 is two byte cycles: 0x20 then 0x21 (IMR). */
	pic_init_linux(&f);
	v = pio_in(&f, 0x20, 2);
	CHECK_EQ(v >> 8, 0xfb);
	CHECK_EQ(pio_in(&f, 0xa1, 4) & 0xff, 0xff);
	CHECK_EQ(pio_in(&f, 0xa1, 4) >> 8, 0xffffff); /* 0xa2-0xa4 are not ours */
	CHECK_EQ(irqchip_pending(f.chip, 7), -1);
	CHECK_EQ(irqchip_ack(f.chip, 7), -1);
	fake_fini(&f);
}

int main(void)
{
	test_init_and_vectors();
	test_priority_nesting();
	test_elcr_level();
	test_spurious();
	test_aeoi_rotate_prio();
	test_special_mask_poll();
	test_sfnm();
	test_icw1_edge_latch();
	test_intr_routing();
	test_hostile();
	return tap_done();
}
