// SPDX-License-Identifier: MIT
/*
 * lapic.c - a local APIC in xAPIC mode (Intel SDM vol. 3, chapter 10, as of
 * the P6/Pentium 4 integrated APIC): version 0x14 with six LVT entries, ID,
 * TPR/APR/PPR, EOI with broadcast to the IOAPIC for TMR vectors, LDR/DFR
 * (flat and cluster), SVR software enable, ISR/TMR/IRR, ESR with the error
 * LVT, ICR IPIs (fixed, lowest priority, NMI, INIT assert, SIPI, shorthands),
 * the timer in one-shot and periodic mode on a 1 GHz bus clock (as KVM and
 * QEMU) derived from the virtual clock, and IA32_APIC_BASE (enable, BSP flag,
 * relocation).
 *
 * Not emulated: x2APIC, TSC-deadline timer mode, thermal and performance
 * monitoring interrupts (their LVTs are plain registers), focus-processor
 * checks, remote read, SMI, EOI-broadcast suppression, and LINT0/LINT1 pins
 * other than LINT0 in ExtINT mode (the 8259 virtual wire).
 *
 * Like KVM and QEMU, the BSP's LINT0 comes out of reset as ExtINT unmasked
 * (SDM says masked) so the 8259 reaches the BSP before firmware programs the
 * APIC; a software disable by the guest masks every LVT as the SDM says.
 */
#include "lapic.h"

#include <string.h>

#define APIC_VERSION (((LVT_NR - 1u) << 16) | 0x14u)

/* Register offsets (SDM table 10-1) divided by 16. */
enum lapic_reg {
	REG_ID = 0x02,
	REG_VER = 0x03,
	REG_TPR = 0x08,
	REG_APR = 0x09,
	REG_PPR = 0x0a,
	REG_EOI = 0x0b,
	REG_RRD = 0x0c,
	REG_LDR = 0x0d,
	REG_DFR = 0x0e,
	REG_SVR = 0x0f,
	REG_ISR = 0x10,
	REG_TMR = 0x18,
	REG_IRR = 0x20,
	REG_ESR = 0x28,
	REG_ICR_LO = 0x30,
	REG_ICR_HI = 0x31,
	REG_LVT = 0x32, /* 0x32-0x37 */
	REG_TMICT = 0x38,
	REG_TMCCT = 0x39,
	REG_TDCR = 0x3e,
};

#define SVR_ENABLE 0x100u
#define LVT_MASKED (1u << 16)
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_DELMOD(v) (((v) >> 8) & 7u)

#define ICR_DELMOD(v) (((v) >> 8) & 7u)
#define ICR_LOGICAL (1u << 11)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_TRIGGER_LEVEL (1u << 15)
#define ICR_SHORTHAND(v) (((v) >> 18) & 3u)
/* Writable ICR low bits: vector, mode, dest mode, level, trigger, shorthand. */
#define ICR_LO_WRITABLE 0x000ccfffu

#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)

/*
 * Periodic timers never fire more often than this (KVM clamps similarly):
 * a guest asking for a 1 ns period would otherwise keep the timer thread
 * spinning.  Expiries in between are coalesced; the counter reads stay exact.
 */
#define LAPIC_MIN_PERIOD_NS 50000ull

/*
 * Periodic expiries that found the previous timer interrupt still pending
 * are delivered later, one per EOI of the timer vector, as Xen's default
 * timer_mode (no_delay_for_missed_ticks) does: a guest that counts ticks
 * (Linux's periodic tick adds one jiffy per interrupt) keeps time while its
 * vCPU waits for a host CPU.  At most this many wait.
 */
#define LAPIC_MAX_MISSED 1000u

static const uint32_t lvt_writable[LVT_NR] = {
	[LVT_TIMER] = 0x000300ff, /* vector, mask, periodic (no TSC deadline) */
	[LVT_THERMAL] = 0x000107ff, [LVT_PERF] = 0x000107ff,
	[LVT_LINT0] = 0x0001a7ff, /* vector, mode, polarity, trigger, mask */
	[LVT_LINT1] = 0x0001a7ff,   [LVT_ERROR] = 0x000100ff,
};

bool lapic_hw_enabled(const struct lapic *l)
{
	return l->base_msr & APIC_BASE_ENABLE;
}

bool lapic_sw_enabled(const struct lapic *l)
{
	return l->svr & SVR_ENABLE;
}

uint64_t lapic_base(const struct lapic *l)
{
	return l->base_msr & APIC_BASE_ADDR_MASK;
}

static void notify(struct lapic *l)
{
	if (l->ops && l->ops->notify)
		l->ops->notify(l->opaque, l->cpu);
}

static void timer_armed(struct lapic *l)
{
	if (l->ops && l->ops->timer_armed)
		l->ops->timer_armed(l->opaque, l->cpu, l->t_next);
}

static uint8_t ppr(const struct lapic *l)
{
	int isrv = apic_vec_highest(l->isr);
	uint8_t isr_class = isrv < 0 ? 0 : (isrv & 0xf0);

	return (l->tpr & 0xf0) >= isr_class ? l->tpr : isr_class;
}

uint8_t lapic_apr(const struct lapic *l)
{
	int isrv = apic_vec_highest(l->isr);
	int irrv = apic_vec_highest(l->irr);
	uint8_t isr_class = isrv < 0 ? 0 : (isrv & 0xf0);
	uint8_t irr_class = irrv < 0 ? 0 : (irrv & 0xf0);
	uint8_t tpr_class = l->tpr & 0xf0;
	uint8_t max = tpr_class;

	if (tpr_class >= irr_class && tpr_class > isr_class)
		return l->tpr;
	if (isr_class > max)
		max = isr_class;
	if (irr_class > max)
		max = irr_class;
	return max;
}

/* SDM 10.5.3: record an error and raise the error LVT. */
static void set_error(struct lapic *l, uint32_t bits)
{
	uint32_t lvt = l->lvt[LVT_ERROR];
	uint8_t vec = lvt & 0xff;

	l->esr_pending |= bits;
	if ((lvt & LVT_MASKED) || vec < 16)
		return;
	apic_vec_set(l->irr, vec);
	apic_vec_clear(l->tmr, vec);
	notify(l);
}

/* A local interrupt source (timer) with a fixed vector. */
static void local_fixed(struct lapic *l, enum lapic_lvt idx)
{
	uint32_t lvt = l->lvt[idx];
	uint8_t vec = lvt & 0xff;

	if (lvt & LVT_MASKED)
		return;
	if (vec < 16) {
		set_error(l, ESR_RECV_ILLEGAL);
		return;
	}
	apic_vec_set(l->irr, vec);
	apic_vec_clear(l->tmr, vec);
	notify(l);
}

void lapic_accept(struct lapic *l, const struct apic_msg *m)
{
	/* KVM drops fixed messages to a disabled APIC; the SDM leaves it open. */
	if (!lapic_hw_enabled(l) || !lapic_sw_enabled(l))
		return;
	if (m->vector < 16) {
		set_error(l, ESR_RECV_ILLEGAL);
		return;
	}
	apic_vec_set(l->irr, m->vector);
	if (m->level)
		apic_vec_set(l->tmr, m->vector);
	else
		apic_vec_clear(l->tmr, m->vector);
	notify(l);
}

bool lapic_accepts_pic(const struct lapic *l)
{
	uint32_t lint0 = l->lvt[LVT_LINT0];

	/* With the APIC hardware-disabled, LINT0 is the CPU's INTR pin (BSP only). */
	if (!lapic_hw_enabled(l))
		return l->base_msr & APIC_BASE_BSP;
	if (l->extint)
		return true;
	return !(lint0 & LVT_MASKED) && LVT_DELMOD(lint0) == APIC_DM_EXTINT;
}

int lapic_pending(const struct lapic *l)
{
	int v;

	if (!lapic_hw_enabled(l))
		return -1;
	v = apic_vec_highest(l->irr);
	if (v < 0 || (v & 0xf0) <= (ppr(l) & 0xf0))
		return -1;
	return v;
}

int lapic_ack(struct lapic *l)
{
	int v = lapic_pending(l);

	/*
	 * SDM 10.9: if the request vanished (TPR raised, INIT) between the
	 * CPU seeing it and the acknowledge, the APIC answers with the
	 * spurious vector and sets no ISR bit.
	 */
	if (v < 0)
		return lapic_hw_enabled(l) ? (int)(l->svr & 0xff) : -1;
	apic_vec_clear(l->irr, v);
	apic_vec_set(l->isr, v);
	return v;
}

bool lapic_match(const struct lapic *l, uint8_t dest, bool logical)
{
	uint8_t ldr = l->ldr >> 24;

	if (!lapic_hw_enabled(l))
		return false;
	if (dest == 0xff)
		return true; /* broadcast in both modes */
	if (!logical)
		return dest == l->id;
	if ((l->dfr >> 28) == 0xf)
		return ldr & dest; /* flat model */
	/* Cluster model: bits 7:4 select the cluster, 3:0 the members. */
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0x0f);
}

static unsigned timer_divisor(const struct lapic *l)
{
	/* SDM figure 10-10: bits 3,1,0; 111b divides by 1. */
	unsigned v = (l->tdcr & 3) | ((l->tdcr >> 1) & 4);

	return v == 7 ? 1 : 2u << v;
}

static uint64_t timer_ticks(const struct lapic *l, uint64_t now)
{
	uint64_t dt = now > l->t_base ? now - l->t_base : 0;

	return l->t_ticks0 + dt / timer_divisor(l);
}

/* Virtual time at which tick count `ticks` is reached. */
static uint64_t timer_time_of(const struct lapic *l, uint64_t ticks)
{
	if (ticks <= l->t_ticks0)
		return l->t_base;
	return l->t_base + (ticks - l->t_ticks0) * timer_divisor(l);
}

static bool timer_periodic(const struct lapic *l)
{
	return l->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC;
}

/* Next expiry strictly after `now`'s tick count. */
static void timer_schedule(struct lapic *l, uint64_t now)
{
	uint64_t ticks = timer_ticks(l, now);

	if (!l->t_running || !l->tmict) {
		l->t_running = false;
		l->t_next = UINT64_MAX;
	} else if (timer_periodic(l)) {
		l->t_next = timer_time_of(l, (ticks / l->tmict + 1) * l->tmict);
	} else {
		l->t_next = ticks >= l->tmict ? now : timer_time_of(l, l->tmict);
	}
}

static uint32_t timer_current(const struct lapic *l, uint64_t now)
{
	uint64_t ticks;

	if (!l->t_running || !l->tmict)
		return 0;
	ticks = timer_ticks(l, now);
	if (timer_periodic(l))
		return l->tmict - ticks % l->tmict;
	return ticks >= l->tmict ? 0 : l->tmict - ticks;
}

/* `n` periodic expiries: raise one if the last was taken, keep the rest for later. */
static void timer_periodic_fire(struct lapic *l, uint64_t n)
{
	uint32_t lvt = l->lvt[LVT_TIMER];

	if (lvt & LVT_MASKED) {
		l->t_missed = 0;
		return;
	}
	if (!apic_vec_test(l->irr, lvt & 0xff)) {
		local_fixed(l, LVT_TIMER);
		n--;
	}
	l->t_missed = n >= LAPIC_MAX_MISSED - l->t_missed ? LAPIC_MAX_MISSED
							  : l->t_missed + (uint32_t)n;
}

uint64_t lapic_timer_run(struct lapic *l, uint64_t now)
{
	uint64_t period, due = l->t_next;

	if (!l->t_running || now < l->t_next)
		return l->t_next;
	if (!timer_periodic(l)) {
		local_fixed(l, LVT_TIMER);
		/* One-shot: the count stays at zero until the next TMICT write. */
		l->t_running = false;
		l->t_next = UINT64_MAX;
		return l->t_next;
	}
	period = (uint64_t)l->tmict * timer_divisor(l);
	/* Periods below the clamp are coalesced, not counted as missed. */
	timer_periodic_fire(l, period < LAPIC_MIN_PERIOD_NS ? 1 : 1 + (now - due) / period);
	timer_schedule(l, now);
	if (l->t_next < now + LAPIC_MIN_PERIOD_NS)
		l->t_next = now + LAPIC_MIN_PERIOD_NS;
	return l->t_next;
}

static void timer_start(struct lapic *l, uint32_t count, uint64_t now)
{
	l->tmict = count;
	l->t_base = now;
	l->t_ticks0 = 0;
	l->t_missed = 0;
	l->t_running = count != 0;
	timer_schedule(l, now);
	timer_armed(l);
}

/* New divisor: keep the ticks counted so far, count on at the new rate. */
static void timer_set_divide(struct lapic *l, uint32_t val, uint64_t now)
{
	l->t_ticks0 = timer_ticks(l, now);
	l->t_base = now;
	l->tdcr = val & 0xb;
	timer_schedule(l, now);
	timer_armed(l);
}

static void reset_regs(struct lapic *l)
{
	memset(l->irr, 0, sizeof(l->irr));
	memset(l->isr, 0, sizeof(l->isr));
	memset(l->tmr, 0, sizeof(l->tmr));
	l->tpr = 0;
	l->ldr = 0;
	l->dfr = 0xffffffff;
	l->svr = 0xff;
	l->esr = 0;
	l->esr_pending = 0;
	l->icr_lo = 0;
	l->icr_hi = 0;
	for (unsigned i = 0; i < LVT_NR; i++)
		l->lvt[i] = LVT_MASKED;
	if (l->base_msr & APIC_BASE_BSP)
		l->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;
	l->tmict = 0;
	l->tdcr = 0;
	l->extint = false;
	l->t_running = false;
	l->t_base = 0;
	l->t_ticks0 = 0;
	l->t_next = UINT64_MAX;
	l->t_missed = 0;
}

void lapic_reset(struct lapic *l)
{
	l->base_msr = LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE | (l->cpu == 0 ? APIC_BASE_BSP : 0);
	l->id = l->cpu;
	reset_regs(l);
	l->wait_sipi = l->cpu != 0;
	timer_armed(l);
	notify(l);
}

void lapic_init_signal(struct lapic *l)
{
	reset_regs(l);
	l->wait_sipi = !(l->base_msr & APIC_BASE_BSP);
	timer_armed(l);
	notify(l);
}

void lapic_init(struct lapic *l, unsigned cpu, const struct lapic_ops *ops, void *opaque)
{
	memset(l, 0, sizeof(*l));
	l->cpu = cpu;
	l->ops = ops;
	l->opaque = opaque;
	lapic_reset(l);
}

/*
 * IA32_APIC_BASE: clearing the enable bit puts the APIC back into its reset
 * state (SDM 10.4.3); the BSP flag is read-only; x2APIC enable is not
 * supported and ignored (the caller cannot raise #GP).
 */
void lapic_set_base_msr(struct lapic *l, uint64_t val)
{
	bool was = lapic_hw_enabled(l);

	l->base_msr = (val & (APIC_BASE_ADDR_MASK | APIC_BASE_ENABLE)) |
		      (l->base_msr & APIC_BASE_BSP);
	if (was && !lapic_hw_enabled(l)) {
		reset_regs(l);
		timer_armed(l);
	}
	if (was != lapic_hw_enabled(l))
		notify(l);
}

static void do_eoi(struct lapic *l)
{
	int v = apic_vec_highest(l->isr);

	if (v < 0)
		return;
	apic_vec_clear(l->isr, v);
	if (apic_vec_test(l->tmr, v) && l->ops && l->ops->eoi_broadcast)
		l->ops->eoi_broadcast(l->opaque, v);
	/* The guest has taken a timer tick: the next missed one follows. */
	if (l->t_missed && l->t_running && timer_periodic(l) &&
	    v == (int)(l->lvt[LVT_TIMER] & 0xff) && !apic_vec_test(l->irr, v)) {
		l->t_missed--;
		local_fixed(l, LVT_TIMER);
	}
	notify(l);
}

static void send_ipi(struct lapic *l)
{
	uint32_t lo = l->icr_lo;
	struct apic_msg m = {
		.vector = lo & 0xff,
		.mode = ICR_DELMOD(lo),
		.dest = l->icr_hi >> 24,
		.logical = lo & ICR_LOGICAL,
		.level = false, /* IPIs are edge-triggered */
	};

	/* INIT level de-assert only synchronises arbitration IDs (SDM 10.6.1). */
	if (m.mode == APIC_DM_INIT && (lo & ICR_TRIGGER_LEVEL) && !(lo & ICR_LEVEL_ASSERT))
		return;
	if ((m.mode == APIC_DM_FIXED || m.mode == APIC_DM_LOWEST) && m.vector < 16) {
		set_error(l, ESR_SEND_ILLEGAL);
		return;
	}
	if (l->ops && l->ops->ipi)
		l->ops->ipi(l->opaque, l->cpu, &m, ICR_SHORTHAND(lo));
}

static void write_svr(struct lapic *l, uint32_t val)
{
	l->svr = val & 0x3ff;
	if (!(val & SVR_ENABLE)) {
		/* SDM 10.4.7.2: software disable masks every LVT. */
		for (unsigned i = 0; i < LVT_NR; i++)
			l->lvt[i] |= LVT_MASKED;
	}
	notify(l);
}

static void write_lvt(struct lapic *l, unsigned idx, uint32_t val, uint64_t now)
{
	uint32_t old = l->lvt[idx];

	val &= lvt_writable[idx];
	if (!lapic_sw_enabled(l))
		val |= LVT_MASKED; /* mask bits cannot be cleared while disabled */
	/* Keep the read-only remote IRR bit of LINT0/LINT1. */
	l->lvt[idx] = val | (old & ~lvt_writable[idx] & (1u << 14));
	if (idx == LVT_TIMER && ((old ^ val) & (LVT_TIMER_PERIODIC | LVT_MASKED)))
		l->t_missed = 0;
	if (idx == LVT_TIMER && ((old ^ val) & LVT_TIMER_PERIODIC)) {
		timer_schedule(l, now);
		timer_armed(l);
	}
	notify(l);
}

static uint32_t read_reg(struct lapic *l, unsigned reg, uint64_t now)
{
	switch (reg) {
	case REG_ID:
		return (uint32_t)l->id << 24;
	case REG_VER:
		return APIC_VERSION;
	case REG_TPR:
		return l->tpr;
	case REG_APR:
		return lapic_apr(l);
	case REG_PPR:
		return ppr(l);
	case REG_LDR:
		return l->ldr;
	case REG_DFR:
		return l->dfr | 0x0fffffff;
	case REG_SVR:
		return l->svr;
	case REG_ESR:
		return l->esr;
	case REG_ICR_LO:
		return l->icr_lo; /* delivery status always idle */
	case REG_ICR_HI:
		return l->icr_hi;
	case REG_TMICT:
		return l->tmict;
	case REG_TMCCT:
		return timer_current(l, now);
	case REG_TDCR:
		return l->tdcr;
	default:
		break;
	}
	if (reg >= REG_ISR && reg < REG_ISR + 8)
		return l->isr[reg - REG_ISR];
	if (reg >= REG_TMR && reg < REG_TMR + 8)
		return l->tmr[reg - REG_TMR];
	if (reg >= REG_IRR && reg < REG_IRR + 8)
		return l->irr[reg - REG_IRR];
	if (reg >= REG_LVT && reg < REG_LVT + LVT_NR)
		return l->lvt[reg - REG_LVT];
	return 0; /* EOI, RRD and reserved registers read as zero */
}

uint64_t lapic_read(struct lapic *l, uint64_t off, unsigned size, uint64_t now)
{
	uint32_t val;

	/* Registers are 32 bits wide on 16-byte boundaries (SDM 10.4.1). */
	if (off >= LAPIC_SIZE || (off & 0xf) >= 4)
		return 0;
	val = read_reg(l, off >> 4, now) >> ((off & 3) * 8);
	if (size < 4)
		val &= (1u << (size * 8)) - 1;
	return val;
}

void lapic_write(struct lapic *l, uint64_t off, unsigned size, uint64_t val64, uint64_t now)
{
	uint32_t val = val64;
	unsigned reg = off >> 4;

	/* Only aligned 32-bit (or wider) stores reach a register. */
	if (off >= LAPIC_SIZE || (off & 0xf) || size < 4)
		return;
	switch (reg) {
	case REG_ID:
		l->id = val >> 24;
		break;
	case REG_TPR:
		l->tpr = val & 0xff;
		notify(l);
		break;
	case REG_EOI:
		do_eoi(l);
		break;
	case REG_LDR:
		l->ldr = val & 0xff000000;
		break;
	case REG_DFR:
		l->dfr = val | 0x0fffffff;
		break;
	case REG_SVR:
		write_svr(l, val);
		break;
	case REG_ESR:
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		break;
	case REG_ICR_LO:
		l->icr_lo = val & ICR_LO_WRITABLE;
		send_ipi(l);
		break;
	case REG_ICR_HI:
		l->icr_hi = val & 0xff000000;
		break;
	case REG_TMICT:
		timer_start(l, val, now);
		break;
	case REG_TDCR:
		timer_set_divide(l, val, now);
		break;
	default:
		if (reg >= REG_LVT && reg < REG_LVT + LVT_NR)
			write_lvt(l, reg - REG_LVT, val, now);
		break;
	}
}
