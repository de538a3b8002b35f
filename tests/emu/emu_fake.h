/* SPDX-License-Identifier: MIT */
/*
 * emu_fake.h - a fake vCPU backend for the irqchip tests: a settable virtual
 * clock and hooks that count what the chip asked for, plus guest-style
 * accessors (outb/inb, LAPIC and IOAPIC registers).
 */
#ifndef EMU_FAKE_H
#define EMU_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "irqchip.h"

#define FAKE_CPUS 4

struct fake {
	struct irqchip *chip;
	uint64_t now;
	unsigned kicks[FAKE_CPUS];
	unsigned eois[24];
	unsigned inits[FAKE_CPUS];
	unsigned sipis[FAKE_CPUS];
	int sipi_vec[FAKE_CPUS];
	unsigned nmis[FAKE_CPUS];
	unsigned timers; /* calls of the timer hook (fake_init_timer()) */
	/* Counters are updated atomically (hooks run on any thread).
	 * Re-assert GSIs whose bit is set here from the eoi_gsi hook (resample). */
	uint32_t reassert;
};

/* Creates the chip with `cpus` vCPUs; aborts the test on failure. */
void fake_init(struct fake *f, unsigned cpus);
/* The same with a timer hook: deadline moves call it instead of kicking. */
void fake_init_timer(struct fake *f, unsigned cpus);
void fake_fini(struct fake *f);

void outb(struct fake *f, uint16_t port, uint8_t val);
uint8_t inb(struct fake *f, uint16_t port);
uint32_t pio_in(struct fake *f, uint16_t port, unsigned size);

uint32_t lapic_rd(struct fake *f, unsigned cpu, uint32_t off);
void lapic_wr(struct fake *f, unsigned cpu, uint32_t off, uint32_t val);
uint32_t ioapic_rd(struct fake *f, uint8_t index);
void ioapic_wr(struct fake *f, uint8_t index, uint32_t val);
void ioapic_rte(struct fake *f, unsigned pin, uint64_t rte);

/* Program both 8259s as Linux does (init_8259A): vectors 0x30/0x38, all masked. */
void pic_init_linux(struct fake *f);
/* Stop the PIT's power-on 18.2 Hz IRQ0 (control word without a count). */
void pit_quiet(struct fake *f);
/* Software-enable cpu's LAPIC with spurious vector 0xff. */
void lapic_enable(struct fake *f, unsigned cpu);
/* Deliver the CPU's pending interrupt (INTA) like the CPU would: -1 if none. */
int take(struct fake *f, unsigned cpu);

#endif /* EMU_FAKE_H */
