/* SPDX-License-Identifier: MIT */
/*
 * ioapic.h - an Intel 82093AA I/O APIC with 24 input pins.  Chip core only:
 * no locking, the caller serialises.
 */
#ifndef EMU_IOAPIC_H
#define EMU_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "apic_bus.h"

#define IOAPIC_BASE 0xfec00000ull
#define IOAPIC_SIZE 0x1000ull
#define IOAPIC_PINS 24

struct ioapic_ops {
	/* Send an interrupt message on the APIC bus. */
	void (*deliver)(void *opaque, const struct apic_msg *m);
	/* An EOI cleared the remote IRR of level-triggered pin `pin`. */
	void (*level_eoi)(void *opaque, unsigned pin);
};

struct ioapic {
	uint8_t id;  /* IOAPICID bits 27:24 */
	uint8_t sel; /* IOREGSEL */
	uint64_t rte[IOAPIC_PINS];
	uint32_t lines; /* input pin levels */
	uint32_t irr;	/* requests not yet delivered (edges latched, levels asserted) */
	const struct ioapic_ops *ops;
	void *opaque;
};

void ioapic_init(struct ioapic *io, const struct ioapic_ops *ops, void *opaque);
void ioapic_reset(struct ioapic *io);
void ioapic_set_pin(struct ioapic *io, unsigned pin, bool level);
/* `off` is the offset into the 4 KiB window. */
uint64_t ioapic_read(struct ioapic *io, uint64_t off, unsigned size);
void ioapic_write(struct ioapic *io, uint64_t off, unsigned size, uint64_t val);
/* A local APIC broadcast an EOI for `vector` (level-triggered, TMR set). */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

#endif /* EMU_IOAPIC_H */
