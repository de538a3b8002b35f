// SPDX-License-Identifier: MIT
/*
 * test_emu_glue.c - the irqchip glue: argument checks, reset, the timer
 * deadline contract (kick when a reprogrammed timer is due earlier, time
 * never running backwards), and concurrency: an irq-line thread and vCPU
 * threads hammering the chip while hooks call back into it, which must
 * neither deadlock nor lose a level-triggered interrupt.
 */
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "emu_fake.h"
#include "tap.h"

static uint64_t zero_now(void *opaque)
{
	(void)opaque;
	return 0;
}

static void test_create_args(void)
{
	struct irqchip_hooks h = { .now = zero_now };
	struct irqchip_hooks no_now = { 0 };
	struct irqchip *c = NULL;

	CHECK(irqchip_create(0, &h, &c) < 0);
	CHECK(irqchip_create(65, &h, &c) < 0);
	CHECK(irqchip_create(1, NULL, &c) < 0);
	CHECK(irqchip_create(1, &no_now, &c) < 0);
	CHECK(irqchip_create(1, &h, NULL) < 0);
	CHECK_EQ(irqchip_create(64, &h, &c), 0);
	/* Hooks other than now() may be absent. */
	irqchip_pulse_gsi(c, 1);
	CHECK_EQ(irqchip_wrmsr(c, 63, 0x1b, 0xfee00800), true);
	irqchip_run_timers(c, 1000000000);
	irqchip_destroy(c);
	irqchip_destroy(NULL);
}

static void test_reset(void)
{
	struct fake f;
	uint64_t v;

	fake_init(&f, 2);
	pic_init_linux(&f);
	lapic_enable(&f, 1);
	lapic_wr(&f, 1, 0x80, 0x40);
	ioapic_rte(&f, 16, 0x51 | 1ull << 15);
	irqchip_set_gsi(f.chip, 16, true);
	irqchip_wrmsr(f.chip, 0, 0x1b, 0xfee00000);
	irqchip_reset(f.chip);
	CHECK_EQ(inb(&f, 0x21), 0x00);
	CHECK_EQ(lapic_rd(&f, 1, 0x80), 0);
	CHECK_EQ(lapic_rd(&f, 1, 0xf0), 0xff);
	CHECK_EQ(ioapic_rd(&f, 0x10 + 32), 0x10000);
	CHECK(irqchip_rdmsr(f.chip, 0, 0x1b, &v));
	CHECK_EQ(v, 0xfee00900);
	/* The level input survives the reset: unmasking the pin delivers it. */
	lapic_enable(&f, 0);
	lapic_wr(&f, 0, 0x350, 0x10700);
	outb(&f, 0x43, 0x30);
	ioapic_rte(&f, 16, 0x51 | 1ull << 15);
	CHECK_EQ(take(&f, 0), 0x51);
	/* After a reset APs wait for SIPI again. */
	lapic_wr(&f, 0, 0x310, 1u << 24);
	lapic_wr(&f, 0, 0x300, 0x0608);
	CHECK_EQ(f.sipis[1], 1);
	fake_fini(&f);
}

static void test_deadline_contract(void)
{
	struct fake f;
	uint64_t next;

	fake_init(&f, 2);
	f.now = 5000000;
	irqchip_reset(f.chip);
	/* Power-on PIT: 18.2 Hz on channel 0. */
	next = irqchip_next_deadline(f.chip);
	CHECK(next > f.now && next <= f.now + 55000000);
	/* A LAPIC timer due earlier kicks its own CPU. */
	memset(f.kicks, 0, sizeof(f.kicks));
	lapic_enable(&f, 1);
	lapic_wr(&f, 1, 0x3e0, 0xb);
	lapic_wr(&f, 1, 0x320, 0x40);
	lapic_wr(&f, 1, 0x380, 1000);
	CHECK_EQ(f.kicks[1], 1);
	CHECK_EQ(f.kicks[0], 0);
	CHECK_EQ(irqchip_next_deadline(f.chip), f.now + 1000);
	/* One due later does not. */
	lapic_wr(&f, 0, 0x3e0, 0xb);
	lapic_wr(&f, 0, 0x380, 100000);
	CHECK_EQ(f.kicks[0], 0);
	/* The PIT reprogrammed to fire sooner kicks CPU 0. */
	irqchip_run_timers(f.chip, f.now + 1000);
	memset(f.kicks, 0, sizeof(f.kicks));
	outb(&f, 0x43, 0x34);
	outb(&f, 0x40, 2);
	outb(&f, 0x40, 0);
	CHECK_EQ(f.kicks[0], 1);
	/* Time never runs backwards: a stale `now` is treated as the latest. */
	f.now += 10000000;
	(void)inb(&f, 0x61);
	next = irqchip_run_timers(f.chip, 0);
	CHECK(next > f.now);
	fake_fini(&f);
}

/*
 * With a timer hook the same moves call it and kick no one (hvmhv re-arms
 * its host timer from the thread that moved the deadline); an interrupt
 * still kicks.
 */
static void test_deadline_timer_hook(void)
{
	struct fake f;

	fake_init_timer(&f, 2);
	f.now = 5000000;
	irqchip_reset(f.chip);
	(void)irqchip_next_deadline(f.chip);
	lapic_enable(&f, 1);
	lapic_wr(&f, 1, 0x3e0, 0xb);
	lapic_wr(&f, 1, 0x320, 0x40);
	memset(f.kicks, 0, sizeof(f.kicks));
	f.timers = 0;
	lapic_wr(&f, 1, 0x380, 1000);
	CHECK_EQ(f.timers, 1u);
	CHECK_EQ(f.kicks[0] + f.kicks[1], 0u);
	CHECK_EQ(irqchip_next_deadline(f.chip), f.now + 1000);
	/* Due later: nothing. */
	lapic_wr(&f, 0, 0x3e0, 0xb);
	lapic_wr(&f, 0, 0x380, 100000);
	CHECK_EQ(f.timers, 1u);
	/* The PIT sooner: the hook again. */
	irqchip_run_timers(f.chip, f.now + 1000);
	CHECK_EQ(f.kicks[1], 1u); /* the LAPIC timer fired: an interrupt for CPU 1 */
	f.timers = 0;
	outb(&f, 0x43, 0x34);
	outb(&f, 0x40, 2);
	outb(&f, 0x40, 0);
	CHECK_EQ(f.timers, 1u);
	CHECK_EQ(f.kicks[0], 0u);
	fake_fini(&f);
}

/* ---- concurrency ---- */

#define ITERS 20000

struct shared {
	struct fake f;
	atomic_bool stop;
	atomic_uint handled[2];
	atomic_uint ipis_seen[2];
};

static void *line_thread(void *arg)
{
	struct shared *s = arg;

	for (unsigned i = 0; i < ITERS; i++) {
		irqchip_set_gsi(s->f.chip, 16, true);
		irqchip_pulse_gsi(s->f.chip, 4);
		if (i % 3 == 0)
			irqchip_set_gsi(s->f.chip, 16, false);
		irqchip_run_timers(s->f.chip, i * 1000ull);
	}
	irqchip_set_gsi(s->f.chip, 16, false);
	return NULL;
}

static void *cpu_thread(void *arg)
{
	struct shared *s = ((void **)arg)[0];
	unsigned cpu = (unsigned)(uintptr_t)((void **)arg)[1];

	while (!atomic_load(&s->stop)) {
		int v = irqchip_pending(s->f.chip, cpu);
		uint64_t eoi = 0;

		if (v >= 0) {
			v = irqchip_ack(s->f.chip, cpu);
			if (v == 0x61 + (int)cpu)
				atomic_fetch_add(&s->ipis_seen[cpu], 1);
			else
				atomic_fetch_add(&s->handled[cpu], 1);
			if (v >= 0x20)
				irqchip_mmio(s->f.chip, cpu, 0xfee000b0, 4, true, &eoi);
		}
		/* IPI the other CPU, above the level storm of GSI 16 so never starved. */
		uint64_t hi = (uint64_t)(cpu ^ 1) << 24, lo = 0x4061 + (cpu ^ 1);

		irqchip_mmio(s->f.chip, cpu, 0xfee00310, 4, true, &hi);
		irqchip_mmio(s->f.chip, cpu, 0xfee00300, 4, true, &lo);
		irqchip_run_timers(s->f.chip, s->f.now);
	}
	return NULL;
}

static void test_threads(void)
{
	static struct shared s;
	pthread_t lt, ct[2];
	void *args[2][2];

	fake_init(&s.f, 2);
	pit_quiet(&s.f);
	for (unsigned i = 0; i < 2; i++) {
		lapic_enable(&s.f, i);
		lapic_wr(&s.f, i, 0x350, 0x10700);
		/* Periodic LAPIC timers running on the frozen clock: never due. */
		lapic_wr(&s.f, i, 0x320, 0x20060);
		lapic_wr(&s.f, i, 0x380, 12345);
	}
	ioapic_rte(&s.f, 16, 0x51 | 1ull << 15 | 0ull << 56);
	ioapic_rte(&s.f, 4, 0x34 | 1ull << 56);
	s.f.reassert = 1u << 16; /* the EOI hook calls back into the chip */
	for (unsigned i = 0; i < 2; i++) {
		args[i][0] = &s;
		args[i][1] = (void *)(uintptr_t)i;
		pthread_create(&ct[i], NULL, cpu_thread, args[i]);
	}
	pthread_create(&lt, NULL, line_thread, &s);
	pthread_join(lt, NULL);
	__atomic_store_n(&s.f.reassert, 0, __ATOMIC_RELAXED);
	/*
	 * Let the CPUs drain what is left, then stop them.  Sleep rather than
	 * spin: on a loaded host the CPU threads must get to run (up to 5 s).
	 */
	for (unsigned wait = 0; wait < 5000; wait++) {
		if (irqchip_pending(s.f.chip, 0) < 0 && irqchip_pending(s.f.chip, 1) < 0 &&
		    atomic_load(&s.handled[0]) && atomic_load(&s.handled[1]))
			break;
		usleep(1000);
	}
	atomic_store(&s.stop, true);
	pthread_join(ct[0], NULL);
	pthread_join(ct[1], NULL);
	/*
	 * A hook that read `reassert` before it was cleared may have raised the
	 * line again; with every thread gone, lower it and drain by hand: then
	 * nothing may be left anywhere.
	 */
	irqchip_set_gsi(s.f.chip, 16, false);
	for (unsigned cpu = 0; cpu < 2; cpu++) {
		/*
		 * Mask the periodic timer first: ticks it missed while the
		 * threads ran are delivered one per EOI (up to 1000), and
		 * masking drops them, so the drain below ends.
		 */
		lapic_wr(&s.f, cpu, 0x320, 0x20060 | 1u << 16);
		for (unsigned n = 0; n < 8 && take(&s.f, cpu) >= 0; n++)
			lapic_wr(&s.f, cpu, 0xb0, 0);
		CHECK_EQ(irqchip_pending(s.f.chip, cpu), -1);
		CHECK_EQ(lapic_rd(&s.f, cpu, 0x100 + 0x20) | lapic_rd(&s.f, cpu, 0x100 + 0x30), 0);
	}
	CHECK(atomic_load(&s.handled[0]) > 0); /* GSI 16 went to CPU 0 */
	CHECK(atomic_load(&s.handled[1]) > 0); /* GSI 4 went to CPU 1 */
	CHECK(atomic_load(&s.ipis_seen[0]) > 0 && atomic_load(&s.ipis_seen[1]) > 0);
	/* Remote IRR is clear once the line is low and everything was EOI'd. */
	CHECK_EQ(ioapic_rd(&s.f, 0x10 + 32) & (1u << 14), 0);
	CHECK(s.f.eois[16] > 0);
	printf("threads: cpu0 %u irqs %u ipis, cpu1 %u irqs %u ipis, %u GSI16 EOIs\n",
	       atomic_load(&s.handled[0]), atomic_load(&s.ipis_seen[0]), atomic_load(&s.handled[1]),
	       atomic_load(&s.ipis_seen[1]), s.f.eois[16]);
	fake_fini(&s.f);
}

int main(void)
{
	test_create_args();
	test_reset();
	test_deadline_contract();
	test_deadline_timer_hook();
	test_threads();
	return tap_done();
}
