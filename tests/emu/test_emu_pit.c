// SPDX-License-Identifier: MIT
/*
 * test_emu_pit.c - the 8254 and port 0x61 driven like SeaBIOS and Linux do:
 * PIT TSC calibration on channel 2 (gate via 0x61 bit 0, OUT on bit 5),
 * quick_pit_calibrate's MSB polling, IRQ0 rate generator and square wave at
 * exact virtual times with no drift, latch and read-back commands, gate
 * behaviour, BCD, access modes, and hostile programming.
 *
 * Expected values come from the datasheet arithmetic: the counter sees
 * floor(t * 1193182 / 1e9) clocks after the count was written at time 0.
 */
#include <stdio.h>

#include "emu_fake.h"
#include "tap.h"

#define HZ 1193182ull

static uint64_t ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * HZ / 1000000000ull);
}

/* First ns at which `t` ticks have elapsed. */
static uint64_t ns_of(uint64_t t)
{
	return (uint64_t)(((unsigned __int128)t * 1000000000ull + HZ - 1) / HZ);
}

static uint16_t read_word(struct fake *f, uint16_t port)
{
	uint8_t lo = inb(f, port);

	return lo | inb(f, port) << 8;
}

static void test_linux_pit_calibrate(void)
{
	struct fake f;
	const uint16_t latch = HZ / (1000 / 50); /* 50 ms, as pit_calibrate_tsc */
	uint64_t t_end = ns_of(latch);

	fake_init(&f, 1);
	f.now = 12345;
	outb(&f, 0x61, (inb(&f, 0x61) & ~0x02) | 0x01);
	outb(&f, 0x43, 0xb0); /* channel 2, LSB/MSB, mode 0, binary */
	outb(&f, 0x42, latch & 0xff);
	outb(&f, 0x42, latch >> 8);
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0);
	f.now = 12345 + t_end - 1;
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0);
	f.now = 12345 + t_end;
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0x20);
	/* Mode 0 OUT stays high; the counter wraps and keeps counting. */
	f.now += 1000000000ull;
	CHECK_EQ(inb(&f, 0x61) & 0x21, 0x21);
	/* Refresh-detect (bit 4) toggles between reads. */
	CHECK((inb(&f, 0x61) ^ inb(&f, 0x61)) & 0x10);
	fake_fini(&f);
}

static void test_quick_pit_calibrate(void)
{
	struct fake f;

	fake_init(&f, 1);
	outb(&f, 0x61, (inb(&f, 0x61) & ~0x02) | 0x01);
	outb(&f, 0x43, 0xb0);
	outb(&f, 0x42, 0xff);
	outb(&f, 0x42, 0xff);
	/* pit_expect_msb(): read LSB (discarded) then MSB, over and over. */
	for (uint64_t t = 0; t < 50000000; t += 123457) {
		uint16_t want = 0xffff - ticks(t);

		f.now = t;
		(void)inb(&f, 0x42);
		CHECK_EQ(inb(&f, 0x42), want >> 8);
	}
	/* Word read from a latch: the pair is one consistent snapshot. */
	f.now = 51777777;
	outb(&f, 0x43, 0x80); /* latch channel 2 */
	f.now += 5000000;
	CHECK_EQ(read_word(&f, 0x42), (uint16_t)(0xffff - ticks(51777777)));
	fake_fini(&f);
}

static int count_irq0(struct fake *f, uint64_t until, unsigned *steps, bool exact, uint32_t n)
{
	int got = 0;
	uint64_t k = 1;

	for (;;) {
		uint64_t next = irqchip_next_deadline(f->chip);

		if (next > until)
			break;
		if (exact)
			CHECK_EQ(next, ns_of(k * n));
		f->now = next;
		irqchip_run_timers(f->chip, next);
		while (take(f, 0) == 0x30) {
			got++;
			outb(f, 0x20, 0x20);
		}
		k++;
		(*steps)++;
	}
	return got;
}

static void test_irq0_rate_generator(void)
{
	struct fake f;
	unsigned steps = 0;
	const uint16_t latch = (HZ + 500) / 1000; /* Linux PIT_LATCH for HZ=1000 */

	fake_init(&f, 1);
	pic_init_linux(&f);
	outb(&f, 0x21, 0xfa); /* IRQ0 and the cascade unmasked */
	outb(&f, 0x43, 0x34); /* channel 0, LSB/MSB, mode 2 */
	outb(&f, 0x40, latch & 0xff);
	outb(&f, 0x40, latch >> 8);
	/* One second: one interrupt per full period, edges at k * latch clocks. */
	CHECK_EQ(count_irq0(&f, 1000000000ull, &steps, true, latch), ticks(1000000000ull) / latch);
	CHECK_EQ(steps, ticks(1000000000ull) / latch);
	/* Far away in time: still exact (computed from the start, no accumulation). */
	f.now = 3600ull * 1000000000ull + 17;
	outb(&f, 0x43, 0x00);
	CHECK_EQ(read_word(&f, 0x40), latch - ticks(f.now) % latch);
	irqchip_run_timers(f.chip, f.now);
	CHECK_EQ(take(&f, 0), 0x30); /* missed edges coalesce into one */
	outb(&f, 0x20, 0x20);
	CHECK_EQ(take(&f, 0), -1);
	CHECK_EQ(irqchip_next_deadline(f.chip), ns_of((ticks(f.now) / latch + 1) * latch));
	/* Past the range of 64-bit intermediate products (about 4.3 hours). */
	f.now = 30000ull * 1000000000ull + 5;
	outb(&f, 0x43, 0x00);
	CHECK_EQ(read_word(&f, 0x40), latch - ticks(f.now) % latch);
	CHECK_EQ(irqchip_run_timers(f.chip, f.now), ns_of((ticks(f.now) / latch + 1) * latch));
	fake_fini(&f);
}

static void test_irq0_seabios_square_wave(void)
{
	struct fake f;
	unsigned steps = 0;

	fake_init(&f, 1);
	pic_init_linux(&f);
	outb(&f, 0x21, 0xfa);
	outb(&f, 0x43, 0x36); /* channel 0, LSB/MSB, mode 3: 18.2 Hz */
	outb(&f, 0x40, 0);
	outb(&f, 0x40, 0);
	CHECK_EQ(count_irq0(&f, 10ull * 1000000000ull, &steps, true, 65536),
		 ticks(10000000000ull) >> 16);
	/* OUT is high for the first half period, low for the second. */
	f.now = ns_of(65536 * 300ull + 100);
	outb(&f, 0x43, 0xe2); /* read-back status of channel 0 */
	CHECK_EQ(inb(&f, 0x40), 0x80 | 0x36);
	f.now = ns_of(65536 * 300ull + 32768 + 5);
	outb(&f, 0x43, 0xe2);
	CHECK_EQ(inb(&f, 0x40), 0x36);
	fake_fini(&f);
}

static void test_channel2_square_wave_gate(void)
{
	struct fake f;

	fake_init(&f, 1);
	outb(&f, 0x61, 0x01);
	outb(&f, 0x43, 0xb6); /* channel 2, LSB/MSB, mode 3 */
	outb(&f, 0x42, 1000 & 0xff);
	outb(&f, 0x42, 1000 >> 8);
	f.now = ns_of(499);
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0x20);
	f.now = ns_of(500);
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0x00);
	f.now = ns_of(1000);
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0x20);
	/* Mode 3 decrements by two. */
	f.now = ns_of(1100);
	CHECK_EQ(read_word(&f, 0x42), 1000 - 200);
	/* Gate low forces OUT high; rising gate restarts the period. */
	f.now = ns_of(1600);
	outb(&f, 0x61, 0x00);
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0x20);
	f.now = ns_of(5000);
	outb(&f, 0x61, 0x01);
	f.now = ns_of(5000) + ns_of(499);
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0x20);
	f.now = ns_of(5000) + ns_of(501);
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0x00);
	fake_fini(&f);
}

static void test_gate_modes(void)
{
	struct fake f;

	fake_init(&f, 1);
	/* Mode 0 with the gate low: loaded but not counting. */
	outb(&f, 0x61, 0x00);
	outb(&f, 0x43, 0xb0);
	outb(&f, 0x42, 100);
	outb(&f, 0x42, 0);
	f.now = 1000000;
	CHECK_EQ(read_word(&f, 0x42), 100);
	outb(&f, 0x61, 0x01);
	f.now += ns_of(30);
	CHECK_EQ(read_word(&f, 0x42), 70);
	outb(&f, 0x61, 0x00); /* pause at 70 */
	f.now += 50000000;
	CHECK_EQ(read_word(&f, 0x42), 70);
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0);
	outb(&f, 0x61, 0x01);
	f.now += ns_of(70);
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0x20);
	/* Mode 1: OUT high until the gate's rising edge, then low for N clocks. */
	outb(&f, 0x61, 0x00);
	outb(&f, 0x43, 0xb2);
	outb(&f, 0x42, 200);
	outb(&f, 0x42, 0);
	f.now += 1000000;
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0x20);
	outb(&f, 0x61, 0x01);
	uint64_t t0 = f.now;
	f.now = t0 + ns_of(199);
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0x00);
	f.now = t0 + ns_of(200);
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0x20);
	/* Retrigger. */
	outb(&f, 0x61, 0x00);
	outb(&f, 0x61, 0x01);
	CHECK_EQ(inb(&f, 0x61) & 0x20, 0x00);
	fake_fini(&f);
}

static void test_latch_readback_access(void)
{
	struct fake f;

	fake_init(&f, 1);
	outb(&f, 0x43, 0x34);
	outb(&f, 0x40, 0x00);
	outb(&f, 0x40, 0x10); /* 4096 */
	/* Status right after the write: NULL COUNT set, OUT high (mode 2). */
	outb(&f, 0x43, 0xe2);
	CHECK_EQ(inb(&f, 0x40), 0xc0 | 0x34);
	f.now = ns_of(10);
	outb(&f, 0x43, 0xe2);
	CHECK_EQ(inb(&f, 0x40), 0x80 | 0x34);
	/* Latch, then a second latch is ignored until the first is read. */
	outb(&f, 0x43, 0x00);
	f.now = ns_of(20);
	outb(&f, 0x43, 0x00);
	CHECK_EQ(read_word(&f, 0x40), 4096 - 10);
	CHECK_EQ(read_word(&f, 0x40), 4096 - 20);
	/* Read-back of count and status: status first, then the count. */
	f.now = ns_of(33);
	outb(&f, 0x43, 0xc2);
	CHECK_EQ(inb(&f, 0x40), 0x80 | 0x34);
	CHECK_EQ(read_word(&f, 0x40), 4096 - 33);
	/* LSB-only and MSB-only access. */
	outb(&f, 0x43, 0x14); /* LSB only, mode 2 */
	outb(&f, 0x40, 0x80);
	f.now += ns_of(0x10);
	CHECK_EQ(inb(&f, 0x40), 0x70);
	CHECK_EQ(inb(&f, 0x40), 0x70); /* no flip-flop */
	outb(&f, 0x43, 0x24);	       /* MSB only */
	outb(&f, 0x40, 0x02);	       /* 512 */
	f.now += ns_of(256);
	CHECK_EQ(inb(&f, 0x40), 0x01);
	/* BCD: 1000 decimal, one clock later reads 0999 in BCD. */
	outb(&f, 0x43, 0x35);
	outb(&f, 0x40, 0x00);
	outb(&f, 0x40, 0x10);
	f.now += ns_of(1);
	CHECK_EQ(read_word(&f, 0x40), 0x0999);
	/* Control register reads 0, as on QEMU. */
	CHECK_EQ(inb(&f, 0x43), 0);
	fake_fini(&f);
}

static void test_mode4_strobe_once(void)
{
	struct fake f;
	uint64_t next;

	fake_init(&f, 1);
	pic_init_linux(&f);
	outb(&f, 0x21, 0xfa);
	outb(&f, 0x43, 0x38); /* Linux's one-shot clockevent: mode 4 */
	outb(&f, 0x40, 100);
	outb(&f, 0x40, 0);
	next = irqchip_next_deadline(f.chip);
	CHECK_EQ(next, ns_of(101)); /* OUT rises one clock after terminal count */
	irqchip_run_timers(f.chip, next);
	CHECK_EQ(take(&f, 0), 0x30);
	outb(&f, 0x20, 0x20);
	CHECK_EQ(irqchip_next_deadline(f.chip), UINT64_MAX);
	f.now = 1000000000;
	irqchip_run_timers(f.chip, f.now);
	CHECK_EQ(take(&f, 0), -1);
	fake_fini(&f);
}

static void test_hostile(void)
{
	struct fake f;
	uint64_t t = 0;

	fake_init(&f, 1);
	pic_init_linux(&f);
	outb(&f, 0x21, 0xfa);
	for (unsigned cw = 0; cw < 256; cw++) {
		for (unsigned ch = 0; ch < 3; ch++) {
			uint64_t next;

			outb(&f, 0x43, cw);
			outb(&f, 0x40 + ch, cw & 1 ? 0xff : 0x01);
			outb(&f, 0x40 + ch, cw & 2 ? 0x00 : 0x01);
			outb(&f, 0x61, cw);
			t += 997;
			f.now = t;
			(void)inb(&f, 0x40 + ch);
			(void)inb(&f, 0x61);
			next = irqchip_run_timers(f.chip, t);
			/* Never a deadline in the past: no busy loop for the caller. */
			CHECK(next > t);
			(void)take(&f, 0);
			outb(&f, 0x20, 0x20);
		}
	}
	/* Count 1 in mode 2: IRQ0 is rate limited, counter still exact. */
	outb(&f, 0x43, 0x34);
	outb(&f, 0x40, 1);
	outb(&f, 0x40, 0);
	t += 1000000;
	CHECK(irqchip_run_timers(f.chip, t) >= t + 50000);
	/* 16/32-bit accesses are byte cycles: 0x40 then 0x41. */
	CHECK(pio_in(&f, 0x40, 2) != 0xffffffff);
	CHECK_EQ(pio_in(&f, 0x43, 2) >> 8, 0xff);
	fake_fini(&f);
}

int main(void)
{
	test_linux_pit_calibrate();
	test_quick_pit_calibrate();
	test_irq0_rate_generator();
	test_irq0_seabios_square_wave();
	test_channel2_square_wave_gate();
	test_gate_modes();
	test_latch_readback_access();
	test_mode4_strobe_once();
	test_hostile();
	return tap_done();
}
