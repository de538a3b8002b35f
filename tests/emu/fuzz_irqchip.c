// SPDX-License-Identifier: MIT
/*
 * fuzz_irqchip.c - decode a byte string into irqchip operations: every 8
 * bytes are one operation (kind, three selector bytes, a 32-bit value) over
 * all owned ports, every LAPIC/IOAPIC offset and size, the APIC base MSR,
 * GSIs, MSIs, INTA and timers with time moving forward by fuzzed steps.
 * Invariants: vectors stay in -1..255 and run_timers() never returns a
 * deadline at or before `now` (a backend would busy-loop).
 */
#include "fuzz_irqchip.h"

#include <stdlib.h>
#include <string.h>

#include "emu_fake.h"

#define OP_BYTES 8
#define FUZZ_CPUS 4

static const uint16_t ports[] = {
	0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42, 0x43, 0x61
};

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check_vec(struct fuzz_stats *st, int v)
{
	if (v < -1 || v > 255)
		st->violations++;
}

static void one_op(struct fake *f, const uint8_t *b, struct fuzz_stats *st)
{
	unsigned cpu = b[1] % (FUZZ_CPUS + 1); /* one out of range */
	unsigned size = 1u << (b[2] & 3);
	bool wr = b[2] & 4;
	uint32_t v32 = le32(b + 4);
	uint64_t v = v32 | (uint64_t)b[3] << 32;
	uint64_t next;
	int vec;

	switch (b[0] % 12) {
	case 0:
	case 1:
		irqchip_pio(f->chip, ports[b[3] % 11], size, wr, &v32);
		break;
	case 2:
	case 3:
		irqchip_mmio(f->chip, cpu, 0xfee00000 + ((b[3] | b[2] << 8) & 0xfff), size, wr, &v);
		break;
	case 4:
		irqchip_mmio(f->chip, cpu, 0xfec00000 + (b[3] & 0x1f), size, wr, &v);
		break;
	case 5:
		irqchip_set_gsi(f->chip, b[3] % 26, b[2] & 1);
		break;
	case 6:
		irqchip_pulse_gsi(f->chip, b[3] % 26);
		break;
	case 7:
		/* Mostly keep the APICs enabled so the rest gets exercised. */
		irqchip_wrmsr(f->chip, cpu, 0x1b, (b[2] & 7) ? 0xfee00800 : v);
		break;
	case 8:
		irqchip_msi(f->chip, 0xfee00000 | (v32 & 0xffffc), le32(b) >> 8);
		break;
	case 9:
	case 10:
		vec = irqchip_pending(f->chip, cpu);
		check_vec(st, vec);
		if (vec >= 0) {
			vec = irqchip_ack(f->chip, cpu);
			check_vec(st, vec);
			st->taken++;
		}
		break;
	default:
		/* Small steps mostly, sometimes seconds. */
		f->now += (b[2] & 0xf) == 0 ? v32 * 4ull : v32 % 200000;
		next = irqchip_run_timers(f->chip, f->now);
		if (next <= f->now)
			st->violations++;
		if (b[3] == 0xff)
			irqchip_reset(f->chip);
		break;
	}
	st->ops++;
}

void emu_fuzz_one(const uint8_t *data, size_t size, struct fuzz_stats *st)
{
	struct fake *f = malloc(sizeof(*f));

	if (!f)
		return;
	fake_init(f, FUZZ_CPUS);
	for (size_t off = 0; off + OP_BYTES <= size; off += OP_BYTES)
		one_op(f, data + off, st);
	fake_fini(f);
	free(f);
}

#ifdef EMU_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_stats st = { 0 };

	emu_fuzz_one(data, size, &st);
	if (st.violations)
		abort();
	return 0;
}
#endif
