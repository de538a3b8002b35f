// SPDX-License-Identifier: MIT
/*
 * test_emu_lapic.c - local APICs driven like Linux and SeaBIOS do: reset
 * values, IA32_APIC_BASE, software enable, TPR/PPR priority, EOI, the timer
 * in one-shot and periodic mode firing at exact virtual times, divide
 * changes, IPIs (fixed, logical flat/cluster, shorthands, NMI), the
 * INIT-SIPI-SIPI start-up of an AP, error reporting, and hostile accesses.
 */
#include <stdio.h>

#include "emu_fake.h"
#include "tap.h"

#define ID 0x20
#define VER 0x30
#define TPR 0x80
#define APR 0x90
#define PPR 0xa0
#define EOI 0xb0
#define LDR 0xd0
#define DFR 0xe0
#define SVR 0xf0
#define ISR 0x100
#define TMR 0x180
#define IRR 0x200
#define ESR 0x280
#define ICR_LO 0x300
#define ICR_HI 0x310
#define LVT_TIMER 0x320
#define LVT_LINT0 0x350
#define LVT_LINT1 0x360
#define LVT_ERR 0x370
#define TMICT 0x380
#define TMCCT 0x390
#define TDCR 0x3e0

static bool vec_bit(struct fake *f, unsigned cpu, uint32_t reg, unsigned vec)
{
	return lapic_rd(f, cpu, reg + (vec / 32) * 0x10) >> (vec % 32) & 1;
}

static void ipi(struct fake *f, unsigned from, uint8_t dest, uint32_t lo)
{
	lapic_wr(f, from, ICR_HI, (uint32_t)dest << 24);
	lapic_wr(f, from, ICR_LO, lo);
}

static void test_reset_and_msr(void)
{
	struct fake f;
	uint64_t v;

	fake_init(&f, 2);
	pit_quiet(&f);
	CHECK_EQ(lapic_rd(&f, 0, ID), 0);
	CHECK_EQ(lapic_rd(&f, 1, ID), 1u << 24);
	CHECK_EQ(lapic_rd(&f, 0, VER), 0x00050014);
	CHECK_EQ(lapic_rd(&f, 0, SVR), 0xff);
	CHECK_EQ(lapic_rd(&f, 0, DFR), 0xffffffff);
	CHECK_EQ(lapic_rd(&f, 0, LVT_TIMER), 0x10000);
	CHECK_EQ(lapic_rd(&f, 0, LVT_LINT1), 0x10000);
	CHECK(irqchip_rdmsr(f.chip, 0, 0x1b, &v));
	CHECK_EQ(v, 0xfee00900);
	CHECK(irqchip_rdmsr(f.chip, 1, 0x1b, &v));
	CHECK_EQ(v, 0xfee00800);
	CHECK(!irqchip_rdmsr(f.chip, 0, 0x10, &v));
	CHECK(!irqchip_rdmsr(f.chip, 5, 0x1b, &v));
	/* The BSP flag is read-only; relocation moves the page. */
	lapic_wr(&f, 1, TPR, 0x30);
	CHECK(irqchip_wrmsr(f.chip, 1, 0x1b, 0xfed00900));
	CHECK(irqchip_rdmsr(f.chip, 1, 0x1b, &v));
	CHECK_EQ(v, 0xfed00800);
	v = 0;
	CHECK(irqchip_mmio(f.chip, 1, 0xfed00080, 4, false, &v));
	CHECK_EQ(v, 0x30);
	CHECK(!irqchip_mmio(f.chip, 1, 0xfee00080, 4, false, &v));
	/* Hardware disable forgets the state (SDM 10.4.3). */
	CHECK(irqchip_wrmsr(f.chip, 1, 0x1b, 0xfee00000));
	CHECK(!irqchip_mmio(f.chip, 1, 0xfee00080, 4, false, &v));
	CHECK(irqchip_wrmsr(f.chip, 1, 0x1b, 0xfee00800));
	CHECK_EQ(lapic_rd(&f, 1, TPR), 0);
	CHECK_EQ(lapic_rd(&f, 1, SVR), 0xff);
	fake_fini(&f);
}

static void test_priority_eoi(void)
{
	struct fake f;

	fake_init(&f, 1);
	pit_quiet(&f);
	lapic_enable(&f, 0);
	lapic_wr(&f, 0, LVT_LINT0, 0x10700); /* PIC off, as with an IOAPIC */
	/* Self IPIs put vectors in IRR. */
	lapic_wr(&f, 0, ICR_LO, 0x40000 | 0x45);
	lapic_wr(&f, 0, ICR_LO, 0x40000 | 0x61);
	CHECK(vec_bit(&f, 0, IRR, 0x45) && vec_bit(&f, 0, IRR, 0x61));
	CHECK(f.kicks[0] > 0);
	lapic_wr(&f, 0, TPR, 0x70);
	CHECK_EQ(irqchip_pending(f.chip, 0), -1); /* both classes <= TPR */
	CHECK_EQ(lapic_rd(&f, 0, PPR), 0x70);
	CHECK_EQ(lapic_rd(&f, 0, APR), 0x70); /* TPR above IRR and ISR classes */
	lapic_wr(&f, 0, TPR, 0x23);
	CHECK_EQ(lapic_rd(&f, 0, APR), 0x60); /* highest IRR class wins */
	lapic_wr(&f, 0, TPR, 0x70);
	lapic_wr(&f, 0, TPR, 0x50);
	CHECK_EQ(take(&f, 0), 0x61);
	CHECK_EQ(lapic_rd(&f, 0, PPR), 0x60); /* ISR class above TPR */
	CHECK(vec_bit(&f, 0, ISR, 0x61));
	CHECK_EQ(irqchip_pending(f.chip, 0), -1); /* 0x45 below TPR and ISR */
	lapic_wr(&f, 0, TPR, 0x00);
	CHECK_EQ(irqchip_pending(f.chip, 0), -1); /* still below in-service 0x61 */
	lapic_wr(&f, 0, EOI, 0);
	CHECK(!vec_bit(&f, 0, ISR, 0x61));
	CHECK_EQ(take(&f, 0), 0x45);
	lapic_wr(&f, 0, EOI, 0);
	CHECK_EQ(take(&f, 0), -1);
	CHECK_EQ(lapic_rd(&f, 0, PPR), 0);
	/* TPR raised between pending and INTA: spurious vector, no ISR bit. */
	lapic_wr(&f, 0, SVR, 0x1ef);
	lapic_wr(&f, 0, ICR_LO, 0x40000 | 0x48);
	CHECK_EQ(irqchip_pending(f.chip, 0), 0x48);
	lapic_wr(&f, 0, TPR, 0x50);
	CHECK_EQ(irqchip_ack(f.chip, 0), 0xef);
	CHECK(!vec_bit(&f, 0, ISR, 0xef));
	CHECK(vec_bit(&f, 0, IRR, 0x48));
	lapic_wr(&f, 0, TPR, 0);
	CHECK_EQ(take(&f, 0), 0x48);
	lapic_wr(&f, 0, EOI, 0);
	/* Same class as in service does not nest. */
	lapic_wr(&f, 0, ICR_LO, 0x40000 | 0x52);
	CHECK_EQ(take(&f, 0), 0x52);
	lapic_wr(&f, 0, ICR_LO, 0x40000 | 0x5a);
	CHECK_EQ(irqchip_pending(f.chip, 0), -1);
	lapic_wr(&f, 0, EOI, 0);
	CHECK_EQ(take(&f, 0), 0x5a);
	lapic_wr(&f, 0, EOI, 0);
	/* A software-disabled APIC drops fixed messages and masks its LVTs. */
	lapic_wr(&f, 0, SVR, 0xff);
	CHECK_EQ(lapic_rd(&f, 0, LVT_LINT0) & 0x10000, 0x10000);
	lapic_wr(&f, 0, LVT_TIMER, 0x20);
	CHECK_EQ(lapic_rd(&f, 0, LVT_TIMER), 0x10020);
	lapic_wr(&f, 0, ICR_LO, 0x40000 | 0x66);
	CHECK_EQ(take(&f, 0), -1);
	fake_fini(&f);
}

static void test_timer_oneshot(void)
{
	struct fake f;
	uint64_t next;

	fake_init(&f, 1);
	pit_quiet(&f);
	lapic_enable(&f, 0);
	f.now = 1000;
	lapic_wr(&f, 0, TDCR, 0x3); /* divide by 16 */
	lapic_wr(&f, 0, LVT_TIMER, 0xec);
	lapic_wr(&f, 0, TMICT, 1000);
	next = irqchip_next_deadline(f.chip);
	CHECK_EQ(next, 1000 + 16000);
	f.now = 1000 + 8000;
	CHECK_EQ(lapic_rd(&f, 0, TMCCT), 500);
	f.now = 1000 + 8015;
	CHECK_EQ(lapic_rd(&f, 0, TMCCT), 500);
	f.now = 1000 + 8016;
	CHECK_EQ(lapic_rd(&f, 0, TMCCT), 499);
	CHECK_EQ(irqchip_run_timers(f.chip, next - 1), next);
	CHECK_EQ(irqchip_pending(f.chip, 0), -1);
	CHECK_EQ(irqchip_run_timers(f.chip, next), UINT64_MAX);
	CHECK_EQ(take(&f, 0), 0xec);
	lapic_wr(&f, 0, EOI, 0);
	f.now = next + 5;
	CHECK_EQ(lapic_rd(&f, 0, TMCCT), 0);
	irqchip_run_timers(f.chip, next + 100000000);
	CHECK_EQ(take(&f, 0), -1); /* one-shot fires once */
	/* Masked: counts down but raises nothing. */
	f.now = 200000000;
	lapic_wr(&f, 0, LVT_TIMER, 0x100ec);
	lapic_wr(&f, 0, TMICT, 10);
	next = irqchip_next_deadline(f.chip);
	CHECK_EQ(next, 200000000 + 160);
	irqchip_run_timers(f.chip, next);
	CHECK_EQ(take(&f, 0), -1);
	/* Writing TMICT = 0 stops the timer. */
	lapic_wr(&f, 0, LVT_TIMER, 0xec);
	lapic_wr(&f, 0, TMICT, 1000);
	lapic_wr(&f, 0, TMICT, 0);
	CHECK_EQ(irqchip_next_deadline(f.chip), UINT64_MAX);
	fake_fini(&f);
}

static void test_timer_periodic(void)
{
	struct fake f;
	const uint64_t period = 4 * 250000; /* divide by 4, count 250000: 1 ms */
	uint64_t t0 = 777, next;
	unsigned fired = 0;

	fake_init(&f, 2);
	pit_quiet(&f);
	lapic_enable(&f, 1);
	f.now = t0;
	lapic_wr(&f, 1, TDCR, 0x1);
	lapic_wr(&f, 1, LVT_TIMER, 0x20000 | 0xef);
	f.kicks[1] = 0;
	lapic_wr(&f, 1, TMICT, 250000);
	CHECK(f.kicks[1] > 0); /* the deadline moved earlier: owner kicked */
	for (unsigned k = 1; k <= 1000; k++) {
		next = irqchip_next_deadline(f.chip);
		CHECK_EQ(next, t0 + k * period);
		f.now = next;
		irqchip_run_timers(f.chip, next);
		if (take(&f, 1) == 0xef)
			fired++;
		lapic_wr(&f, 1, EOI, 0);
	}
	CHECK_EQ(fired, 1000);
	CHECK_EQ(take(&f, 0), -1); /* CPU 0 got nothing */
	/* Mid-period count. */
	f.now = t0 + 1000 * period + 4 * 1000;
	CHECK_EQ(lapic_rd(&f, 1, TMCCT), 250000 - 1000);
	/* Divide change mid-count: the rest counts at the new rate. */
	lapic_wr(&f, 1, TDCR, 0xb); /* divide by 1 */
	CHECK_EQ(irqchip_next_deadline(f.chip), f.now + 249000);
	f.now += 49000;
	CHECK_EQ(lapic_rd(&f, 1, TMCCT), 200000);
	/*
	 * Late timer processing (the first expiry 249000 ns on, then every
	 * 250000 ns up to 2549000: ten periods) delivers all of them, one per
	 * EOI, like Xen's no_delay_for_missed_ticks.
	 */
	irqchip_run_timers(f.chip, f.now + 10 * 250000);
	fired = 0;
	for (unsigned k = 0; k < 20 && take(&f, 1) == 0xef; k++) {
		fired++;
		lapic_wr(&f, 1, EOI, 0);
	}
	CHECK_EQ(fired, 10);
	CHECK_EQ(take(&f, 1), -1);
	/* A 1-tick periodic timer is rate limited: the caller never spins. */
	lapic_wr(&f, 1, TMICT, 1);
	next = irqchip_run_timers(f.chip, f.now + 10);
	CHECK(next >= f.now + 10 + 50000);
	fake_fini(&f);
}

/* Expiries while the last tick is still pending wait, are capped, and masking drops them. */
static void test_timer_catchup(void)
{
	struct fake f;
	uint64_t next;
	unsigned fired = 0;

	fake_init(&f, 1);
	pit_quiet(&f);
	lapic_enable(&f, 0);
	lapic_wr(&f, 0, TDCR, 0xb);		    /* divide by 1 */
	lapic_wr(&f, 0, LVT_TIMER, 0x20000 | 0x40); /* periodic, vector 0x40 */
	lapic_wr(&f, 0, TMICT, 100000);		    /* 100 us */
	/* Five expiries on time, but the CPU takes none of them. */
	for (unsigned k = 0; k < 5; k++) {
		next = irqchip_next_deadline(f.chip);
		f.now = next;
		irqchip_run_timers(f.chip, next);
	}
	CHECK(vec_bit(&f, 0, IRR, 0x40));
	for (unsigned k = 0; k < 10 && take(&f, 0) == 0x40; k++) {
		fired++;
		/* Nothing new is raised before the EOI. */
		CHECK(!vec_bit(&f, 0, IRR, 0x40));
		lapic_wr(&f, 0, EOI, 0);
	}
	CHECK_EQ(fired, 5);
	/* A stall of ten seconds queues at most 1000 ticks. */
	irqchip_run_timers(f.chip, f.now + 10000000000ull);
	fired = 0;
	for (unsigned k = 0; k < 2000 && take(&f, 0) == 0x40; k++) {
		fired++;
		lapic_wr(&f, 0, EOI, 0);
	}
	CHECK_EQ(fired, 1001);
	/* Masking the timer drops the backlog. */
	f.now += 10000000000ull;
	irqchip_run_timers(f.chip, f.now + 1000000);
	CHECK_EQ(take(&f, 0), 0x40);
	lapic_wr(&f, 0, LVT_TIMER, 0x30000 | 0x40);
	lapic_wr(&f, 0, EOI, 0);
	CHECK_EQ(take(&f, 0), -1);
	fake_fini(&f);
}

static void test_ipis(void)
{
	struct fake f;

	fake_init(&f, 4);
	pit_quiet(&f);
	for (unsigned i = 0; i < 4; i++) {
		lapic_enable(&f, i);
		lapic_wr(&f, i, LDR, 1u << (24 + i)); /* flat: bit per CPU */
	}
	/* Physical fixed IPI 0 -> 2. */
	ipi(&f, 0, 2, 0x4041);
	CHECK_EQ(take(&f, 2), 0x41);
	CHECK_EQ(take(&f, 1), -1);
	lapic_wr(&f, 2, EOI, 0);
	/* Logical flat: CPUs 1 and 3. */
	ipi(&f, 0, 0x0a, 0x4842);
	CHECK_EQ(take(&f, 1), 0x42);
	CHECK_EQ(take(&f, 3), 0x42);
	CHECK_EQ(take(&f, 2), -1);
	lapic_wr(&f, 1, EOI, 0);
	lapic_wr(&f, 3, EOI, 0);
	/* All excluding self, all including self. */
	ipi(&f, 2, 0, 0xc4043);
	CHECK_EQ(take(&f, 2), -1);
	for (unsigned i = 0; i < 4; i++) {
		if (i != 2) {
			CHECK_EQ(take(&f, i), 0x43);
			lapic_wr(&f, i, EOI, 0);
		}
	}
	ipi(&f, 2, 0, 0x84044);
	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(take(&f, i), 0x44);
		lapic_wr(&f, i, EOI, 0);
	}
	/* Cluster model: cluster 1 members 0x1 and 0x2. */
	for (unsigned i = 0; i < 4; i++) {
		lapic_wr(&f, i, DFR, 0x0fffffff);
		lapic_wr(&f, i, LDR, (i < 2 ? 0x10u : 0x20u) << 24 | (1u << (24 + (i & 1))));
		for (unsigned n = 0; n < 8; n++)
			lapic_wr(&f, i, EOI, 0);
	}
	ipi(&f, 0, 0x22, 0x4845);
	CHECK_EQ(take(&f, 3), 0x45);
	CHECK_EQ(take(&f, 2), -1);
	CHECK_EQ(take(&f, 1), -1);
	/* NMI IPI. */
	ipi(&f, 0, 1, 0x4400);
	CHECK_EQ(f.nmis[1], 1);
	/* Illegal vector: not sent, ESR "send illegal vector" after the ESR write. */
	lapic_wr(&f, 0, LVT_ERR, 0xfe);
	ipi(&f, 0, 1, 0x4005);
	CHECK_EQ(take(&f, 1), -1);
	lapic_wr(&f, 0, ESR, 0);
	CHECK_EQ(lapic_rd(&f, 0, ESR), 0x20);
	CHECK_EQ(take(&f, 0), 0xfe);
	lapic_wr(&f, 0, ESR, 0);
	CHECK_EQ(lapic_rd(&f, 0, ESR), 0);
	fake_fini(&f);
}

static void test_init_sipi(void)
{
	struct fake f;

	fake_init(&f, 2);
	pit_quiet(&f);
	lapic_enable(&f, 0);
	/* Linux's wakeup_secondary_cpu_via_init(): INIT assert, de-assert, 2 x SIPI. */
	ipi(&f, 0, 1, 0xc500);
	CHECK_EQ(f.inits[1], 1);
	ipi(&f, 0, 1, 0x8500); /* INIT level de-assert: no effect */
	CHECK_EQ(f.inits[1], 1);
	ipi(&f, 0, 1, 0x0609);
	CHECK_EQ(f.sipis[1], 1);
	CHECK_EQ(f.sipi_vec[1], 0x09);
	ipi(&f, 0, 1, 0x0609);
	CHECK_EQ(f.sipis[1], 1); /* the AP is running: second SIPI ignored */
	CHECK_EQ(f.inits[0] + f.sipis[0], 0);
	/* A broadcast INIT/SIPI (SeaBIOS smp_setup) reaches every AP once. */
	ipi(&f, 0, 0, 0xcc500);
	ipi(&f, 0, 0, 0xc0610);
	CHECK_EQ(f.inits[1], 2);
	CHECK_EQ(f.sipis[1], 2);
	CHECK_EQ(f.sipi_vec[1], 0x10);
	CHECK_EQ(f.inits[0], 0);
	/* INIT resets the target's APIC (ID kept). */
	lapic_enable(&f, 1);
	lapic_wr(&f, 1, TPR, 0x20);
	ipi(&f, 0, 1, 0xc500);
	CHECK_EQ(lapic_rd(&f, 1, TPR), 0);
	CHECK_EQ(lapic_rd(&f, 1, SVR), 0xff);
	CHECK_EQ(lapic_rd(&f, 1, ID), 1u << 24);
	fake_fini(&f);
}

static void test_hostile(void)
{
	struct fake f;
	uint64_t v;

	fake_init(&f, 2);
	pit_quiet(&f);
	lapic_enable(&f, 0);
	/* Every register offset, every size, odd alignment, junk values. */
	for (uint64_t off = 0; off < 0x1000; off += 3) {
		for (unsigned size = 1; size <= 8; size *= 2) {
			v = 0xffffffffffffffffull ^ off;
			if (off != ICR_LO && off != 0x3e0 && off != 0xf0 && off != 0x20)
				irqchip_mmio(f.chip, 0, 0xfee00000 + off, size, true, &v);
			irqchip_mmio(f.chip, 0, 0xfee00000 + off, size, false, &v);
		}
	}
	/* Extreme timer: max count, divide by 128, never overflows the clock. */
	lapic_wr(&f, 0, TDCR, 0xa);
	lapic_wr(&f, 0, LVT_TIMER, 0x200ec);
	lapic_wr(&f, 0, TMICT, 0xffffffff);
	CHECK_EQ(irqchip_next_deadline(f.chip) - f.now, 128ull * 0xffffffffull);
	/* Odd divide values (bit 2 is reserved) decode like hardware. */
	lapic_wr(&f, 0, TDCR, 0xf);
	CHECK_EQ(lapic_rd(&f, 0, TDCR), 0xb);
	/* Narrow reads return bytes of the register. */
	v = 0;
	irqchip_mmio(f.chip, 0, 0xfee00032, 1, false, &v);
	CHECK_EQ(v, 0x05); /* version bits 23:16 */
	/* Narrow writes are dropped. */
	v = 0xff;
	irqchip_mmio(f.chip, 0, 0xfee00080, 1, true, &v);
	CHECK_EQ(lapic_rd(&f, 0, TPR), 0);
	/* Bad sizes and out-of-range cpus are refused. */
	CHECK(!irqchip_mmio(f.chip, 0, 0xfee00080, 0, false, &v));
	CHECK(!irqchip_mmio(f.chip, 0, 0xfee00080, 16, false, &v));
	CHECK(!irqchip_mmio(f.chip, 9, 0xfee00080, 4, false, &v));
	CHECK(!irqchip_wrmsr(f.chip, 9, 0x1b, 0));
	CHECK(irqchip_wrmsr(f.chip, 0, 0x1b, ~0ull)); /* reserved bits ignored */
	CHECK(irqchip_rdmsr(f.chip, 0, 0x1b, &v));
	CHECK_EQ(v, 0xffffff900ull);
	fake_fini(&f);
}

int main(void)
{
	test_reset_and_msr();
	test_priority_eoi();
	test_timer_oneshot();
	test_timer_periodic();
	test_timer_catchup();
	test_ipis();
	test_init_sipi();
	test_hostile();
	return tap_done();
}
