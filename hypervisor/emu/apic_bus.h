/* SPDX-License-Identifier: MIT */
/*
 * apic_bus.h - an interrupt message on the (virtual) APIC bus, as sent by an
 * IOAPIC redirection entry or a local APIC's ICR (Intel SDM vol. 3 10.6.1,
 * 82093AA datasheet 3.2.4).  Delivery is instantaneous, so the "delivery
 * status" bits of the sources always read idle.
 */
#ifndef EMU_APIC_BUS_H
#define EMU_APIC_BUS_H

#include <stdbool.h>
#include <stdint.h>

enum apic_dm {
	APIC_DM_FIXED = 0,
	APIC_DM_LOWEST = 1,
	APIC_DM_SMI = 2,
	APIC_DM_NMI = 4,
	APIC_DM_INIT = 5,
	APIC_DM_SIPI = 6,
	APIC_DM_EXTINT = 7,
};

/* ICR destination shorthand (SDM 10.6.1 bits 19:18). */
enum apic_shorthand {
	APIC_SH_NONE = 0,
	APIC_SH_SELF = 1,
	APIC_SH_ALL = 2,
	APIC_SH_OTHERS = 3,
};

struct apic_msg {
	uint8_t vector;
	uint8_t mode; /* enum apic_dm */
	uint8_t dest; /* xAPIC: 8-bit physical ID or logical MDA */
	bool logical;
	bool level; /* trigger mode: level-triggered (sets the TMR bit) */
};

/* Highest set bit in a 256-bit vector register (IRR/ISR/TMR), or -1. */
static inline int apic_vec_highest(const uint32_t v[8])
{
	for (int i = 7; i >= 0; i--) {
		if (v[i])
			return i * 32 + 31 - __builtin_clz(v[i]);
	}
	return -1;
}

static inline bool apic_vec_test(const uint32_t v[8], uint8_t vec)
{
	return (v[vec >> 5] >> (vec & 31)) & 1;
}

static inline void apic_vec_set(uint32_t v[8], uint8_t vec)
{
	v[vec >> 5] |= 1u << (vec & 31);
}

static inline void apic_vec_clear(uint32_t v[8], uint8_t vec)
{
	v[vec >> 5] &= ~(1u << (vec & 31));
}

#endif /* EMU_APIC_BUS_H */
