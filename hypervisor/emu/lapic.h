/* SPDX-License-Identifier: MIT */
/*
 * lapic.h - one xAPIC-mode local APIC (Intel SDM vol. 3 chapter 10).  Chip
 * core only: no locking, the caller serialises.  The APIC bus (IPIs, IOAPIC
 * messages) lives in irqchip.c.
 */
#ifndef EMU_LAPIC_H
#define EMU_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "apic_bus.h"

#define LAPIC_DEFAULT_BASE 0xfee00000ull
#define LAPIC_SIZE 0x1000ull
#define MSR_IA32_APIC_BASE 0x1b
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_ADDR_MASK 0xffffff000ull /* bits 35:12 (36-bit MAXPHYADDR) */

enum lapic_lvt {
	LVT_TIMER,
	LVT_THERMAL,
	LVT_PERF,
	LVT_LINT0,
	LVT_LINT1,
	LVT_ERROR,
	LVT_NR,
};

struct lapic_ops {
	/* ICR write: send `m` with destination shorthand `sh` from `cpu`. */
	void (*ipi)(void *opaque, unsigned cpu, const struct apic_msg *m, unsigned sh);
	/* EOI of a vector whose TMR bit was set: tell the IOAPIC. */
	void (*eoi_broadcast)(void *opaque, uint8_t vector);
	/* The CPU's deliverable interrupts may have changed. */
	void (*notify)(void *opaque, unsigned cpu);
	/* The timer's next expiry moved to `deadline` (UINT64_MAX: stopped). */
	void (*timer_armed)(void *opaque, unsigned cpu, uint64_t deadline);
};

struct lapic {
	unsigned cpu;
	uint64_t base_msr; /* IA32_APIC_BASE */
	uint8_t id;
	uint8_t tpr;
	uint32_t ldr, dfr, svr;
	uint32_t esr;	      /* value software reads */
	uint32_t esr_pending; /* errors since the last ESR write */
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LVT_NR];
	uint32_t tmict, tdcr;
	uint32_t irr[8], isr[8], tmr[8];
	bool extint;	/* an ExtINT message waits for the INTA to the 8259 */
	bool wait_sipi; /* in wait-for-SIPI state: the next SIPI starts the CPU */
	/* Timer: ticks counted = t_ticks0 + (now - t_base) / divisor. */
	bool t_running;
	uint64_t t_base, t_ticks0, t_next;
	uint32_t t_missed; /* periodic expiries still to deliver (lapic_timer_run) */
	const struct lapic_ops *ops;
	void *opaque;
};

void lapic_init(struct lapic *l, unsigned cpu, const struct lapic_ops *ops, void *opaque);
/* Power-on reset (APIC ID = cpu index; cpu 0 is the BSP). */
void lapic_reset(struct lapic *l);
/* INIT signal: registers to their reset values, ID and APIC base kept. */
void lapic_init_signal(struct lapic *l);

bool lapic_hw_enabled(const struct lapic *l);
bool lapic_sw_enabled(const struct lapic *l);
uint64_t lapic_base(const struct lapic *l);
void lapic_set_base_msr(struct lapic *l, uint64_t val);

/* `off` is the offset into the 4 KiB page. */
uint64_t lapic_read(struct lapic *l, uint64_t off, unsigned size, uint64_t now);
void lapic_write(struct lapic *l, uint64_t off, unsigned size, uint64_t val, uint64_t now);

/* Does `m`'s destination select this APIC (shorthands handled by the caller)? */
bool lapic_match(const struct lapic *l, uint8_t dest, bool logical);
/* Arbitration priority (SDM 10.8.3.1 / figure 10-15) for lowest-priority delivery. */
uint8_t lapic_apr(const struct lapic *l);
/* Accept a fixed or lowest-priority message. */
void lapic_accept(struct lapic *l, const struct apic_msg *m);
/* Is the 8259's INTR routed to this CPU (LINT0 ExtINT, ExtINT message, or APIC off)? */
bool lapic_accepts_pic(const struct lapic *l);
/*
 * Highest deliverable vector (IRR above PPR) or -1; ack moves it to the ISR,
 * or returns the SVR's spurious vector if nothing is deliverable.
 */
int lapic_pending(const struct lapic *l);
int lapic_ack(struct lapic *l);

/* Fire the timer if due; returns its next expiry or UINT64_MAX. */
uint64_t lapic_timer_run(struct lapic *l, uint64_t now);

#endif /* EMU_LAPIC_H */
