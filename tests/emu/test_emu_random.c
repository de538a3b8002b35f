// SPDX-License-Identifier: MIT
/*
 * test_emu_random.c - hostile guest: a long pseudo-random sequence over every
 * entry point (all owned ports, every LAPIC and IOAPIC offset and size, the
 * APIC base MSR, GSIs, MSIs, INTA, timers with time jumping around) on four
 * vCPUs.  Checks the invariants a vCPU backend relies on: vectors are
 * -1..255, run_timers() never returns a deadline at or before `now` (no busy
 * loop), and nothing crashes (run under ASan/UBSan with HVM_SANITIZE=ON).
 */
#include <stdio.h>

#include "emu_fake.h"
#include "tap.h"

#define OPS 2000000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const uint16_t ports[] = {
	0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42, 0x43, 0x61
};

int main(void)
{
	struct fake f;
	unsigned bad_vec = 0, bad_deadline = 0, pending_seen = 0;

	fake_init(&f, 4);
	for (unsigned i = 0; i < OPS; i++) {
		uint64_t r = rnd(), v = rnd();
		unsigned cpu = (r >> 8) % 5; /* one out of range */
		unsigned size = 1u << ((r >> 12) % 4);
		uint32_t pv = v;
		int vec;

		switch (r % 12) {
		case 0:
		case 1:
			irqchip_pio(f.chip, ports[(r >> 16) % 11], size, (r >> 20) & 1, &pv);
			break;
		case 2:
		case 3:
			irqchip_mmio(f.chip, cpu, 0xfee00000 + ((r >> 16) & 0xfff), size,
				     (r >> 30) & 1, &v);
			break;
		case 4:
			irqchip_mmio(f.chip, cpu, 0xfec00000 + ((r >> 16) & 0x1f), size,
				     (r >> 30) & 1, &v);
			break;
		case 5:
			irqchip_set_gsi(f.chip, (r >> 16) % 26, (r >> 24) & 1);
			break;
		case 6:
			irqchip_pulse_gsi(f.chip, (r >> 16) % 26);
			break;
		case 7:
			/* Mostly keep the APICs enabled so the rest gets exercised. */
			if ((r >> 16) % 8 == 0)
				irqchip_wrmsr(f.chip, cpu, 0x1b, v);
			else
				irqchip_wrmsr(f.chip, cpu, 0x1b, 0xfee00800);
			break;
		case 8:
			irqchip_msi(f.chip, 0xfee00000 | (v & 0xffffc), v >> 32);
			break;
		case 9:
		case 10:
			vec = irqchip_pending(f.chip, cpu);
			if (vec < -1 || vec > 255)
				bad_vec++;
			if (vec >= 0) {
				pending_seen++;
				vec = irqchip_ack(f.chip, cpu);
				if (vec < -1 || vec > 255)
					bad_vec++;
			}
			break;
		default: {
			/* Time mostly moves forward in small steps, sometimes jumps. */
			uint64_t step = (r >> 16) % 16 == 0 ? v % 4000000000ull : v % 200000;
			uint64_t next;

			f.now += step;
			next = irqchip_run_timers(f.chip, f.now);
			if (next <= f.now)
				bad_deadline++;
			break;
		}
		}
		if (i % 50000 == 49999)
			irqchip_reset(f.chip);
	}
	CHECK_EQ(bad_vec, 0);
	CHECK_EQ(bad_deadline, 0);
	CHECK(pending_seen > 0);
	printf("%u ops, %u interrupts taken\n", OPS, pending_seen);
	fake_fini(&f);
	return tap_done();
}
