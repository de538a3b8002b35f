// SPDX-License-Identifier: MIT
/*
 * ioapic.c - Intel 82093AA I/O APIC (datasheet 290566, section 3): the
 * IOREGSEL/IOWIN indirect window at 0xfec00000, IOAPICID, IOAPICVER (version
 * 0x11, 24 entries), IOAPICARB and the 24 redirection entries with fixed,
 * lowest-priority, NMI, INIT and ExtINT delivery, physical and logical
 * destinations, masking, and level-triggered pins with remote IRR cleared by
 * the local APICs' EOI broadcast.
 *
 * An edge arriving on a masked pin is discarded (datasheet 3.2.4, "Interrupt
 * Mask"; QEMU and KVM do the same).  The polarity bit is stored but not
 * applied: the level passed in means "asserted", as in KVM, QEMU and Xen,
 * because firmware tables describe PCI lines as active-low while the device
 * model reports assertion.  Not emulated: the PIIX APICBASE relocation and
 * the EOI register of later (0x20) versions.
 */
#include "ioapic.h"

#include <string.h>

#define IOREGSEL 0x00
#define IOWIN 0x10

#define REG_ID 0x00
#define REG_VER 0x01
#define REG_ARB 0x02
#define REG_RTE 0x10

#define IOAPIC_VERSION 0x11

#define RTE_VECTOR 0xffull
#define RTE_DELMOD_SHIFT 8
#define RTE_DESTMOD (1ull << 11)
#define RTE_DELIVS (1ull << 12)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL (1ull << 15)
#define RTE_MASK (1ull << 16)
#define RTE_DEST_SHIFT 56
/* Delivery status and remote IRR are read-only; bits 55:17 are reserved. */
#define RTE_WRITABLE (0xff000000000000ffull | 0x1ull << 16 | 0xaf00ull)

static bool uses_remote_irr(uint64_t rte)
{
	unsigned mode = (rte >> RTE_DELMOD_SHIFT) & 7;

	return (rte & RTE_LEVEL) && (mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST);
}

/* Deliver pin's pending request if the entry allows it (3.2.4). */
static void service(struct ioapic *io, unsigned pin)
{
	uint64_t rte = io->rte[pin];
	uint32_t bit = 1u << pin;
	struct apic_msg m;

	if (!(io->irr & bit) || (rte & RTE_MASK))
		return;
	if (rte & RTE_LEVEL) {
		if (rte & RTE_REMOTE_IRR)
			return;
		if (uses_remote_irr(rte))
			io->rte[pin] |= RTE_REMOTE_IRR;
	} else {
		io->irr &= ~bit;
	}
	m.vector = rte & RTE_VECTOR;
	m.mode = (rte >> RTE_DELMOD_SHIFT) & 7;
	m.dest = rte >> RTE_DEST_SHIFT;
	m.logical = rte & RTE_DESTMOD;
	m.level = rte & RTE_LEVEL;
	if (io->ops && io->ops->deliver)
		io->ops->deliver(io->opaque, &m);
}

void ioapic_set_pin(struct ioapic *io, unsigned pin, bool level)
{
	uint32_t bit;

	if (pin >= IOAPIC_PINS)
		return;
	bit = 1u << pin;
	if (io->rte[pin] & RTE_LEVEL) {
		if (level)
			io->irr |= bit;
		else
			io->irr &= ~bit;
	} else if (level && !(io->lines & bit) && !(io->rte[pin] & RTE_MASK)) {
		io->irr |= bit;
	}
	if (level)
		io->lines |= bit;
	else
		io->lines &= ~bit;
	service(io, pin);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t rte = io->rte[pin];

		if ((rte & RTE_VECTOR) != vector || !(rte & RTE_LEVEL) || !(rte & RTE_REMOTE_IRR))
			continue;
		io->rte[pin] &= ~RTE_REMOTE_IRR;
		if (io->ops && io->ops->level_eoi)
			io->ops->level_eoi(io->opaque, pin);
		/* Still asserted: the 82093AA sends the message again. */
		service(io, pin);
	}
}

static uint32_t read_reg(const struct ioapic *io, uint8_t index)
{
	unsigned pin;

	switch (index) {
	case REG_ID:
	case REG_ARB:
		return (uint32_t)io->id << 24;
	case REG_VER:
		return (IOAPIC_PINS - 1) << 16 | IOAPIC_VERSION;
	default:
		break;
	}
	if (index < REG_RTE)
		return 0;
	pin = (index - REG_RTE) / 2u;
	if (pin >= IOAPIC_PINS)
		return 0;
	return index & 1 ? io->rte[pin] >> 32 : (uint32_t)io->rte[pin];
}

static void write_rte(struct ioapic *io, unsigned pin, bool high, uint32_t val)
{
	uint64_t old = io->rte[pin];
	uint64_t v;
	uint32_t bit = 1u << pin;

	if (high)
		v = (old & 0xffffffffull) | (uint64_t)val << 32;
	else
		v = (old & ~0xffffffffull) | val;
	v = (v & RTE_WRITABLE) | (old & RTE_REMOTE_IRR);
	if (!(v & RTE_LEVEL)) {
		/* An edge pin has no remote IRR (KVM and QEMU clear it too). */
		v &= ~RTE_REMOTE_IRR;
		if (old & RTE_LEVEL)
			io->irr &= ~bit;
	} else {
		/* A level pin's request is the line itself. */
		io->irr = (io->irr & ~bit) | (io->lines & bit);
	}
	io->rte[pin] = v;
	service(io, pin);
}

static void write_reg(struct ioapic *io, uint8_t index, uint32_t val)
{
	unsigned pin;

	if (index == REG_ID) {
		io->id = (val >> 24) & 0x0f;
		return;
	}
	if (index < REG_RTE)
		return; /* version and arbitration are read-only */
	pin = (index - REG_RTE) / 2u;
	if (pin >= IOAPIC_PINS)
		return;
	write_rte(io, pin, index & 1, val);
}

uint64_t ioapic_read(struct ioapic *io, uint64_t off, unsigned size)
{
	uint32_t reg;
	unsigned shift = (off & 3) * 8;

	if (off >= IOAPIC_SIZE)
		return 0;
	switch (off & ~3ull) {
	case IOREGSEL:
		reg = io->sel;
		break;
	case IOWIN:
		reg = read_reg(io, io->sel);
		break;
	default:
		return 0;
	}
	reg >>= shift;
	if (size < 4)
		reg &= (1u << (size * 8)) - 1;
	return reg;
}

void ioapic_write(struct ioapic *io, uint64_t off, unsigned size, uint64_t val)
{
	if (off == IOREGSEL) {
		io->sel = val & 0xff;
	} else if (off == IOWIN && size >= 4) {
		/* IOWIN is a dword register (3.1); narrower writes are dropped. */
		write_reg(io, io->sel, (uint32_t)val);
	}
}

void ioapic_reset(struct ioapic *io)
{
	io->id = 0;
	io->sel = 0;
	io->irr = 0;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		io->rte[pin] = RTE_MASK;
}

void ioapic_init(struct ioapic *io, const struct ioapic_ops *ops, void *opaque)
{
	memset(io, 0, sizeof(*io));
	io->ops = ops;
	io->opaque = opaque;
	ioapic_reset(io);
}
