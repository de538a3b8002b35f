// SPDX-License-Identifier: MIT
#include "emu_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void f_kick(void *opaque, unsigned cpu)
{
	struct fake *f = opaque;

	if (cpu < FAKE_CPUS)
		__atomic_fetch_add(&f->kicks[cpu], 1, __ATOMIC_RELAXED);
}

static void f_eoi_gsi(void *opaque, unsigned gsi)
{
	struct fake *f = opaque;

	if (gsi < 24) {
		__atomic_fetch_add(&f->eois[gsi], 1, __ATOMIC_RELAXED);
		/* A hook may call back into the chip: it does not hold its lock. */
		if (__atomic_load_n(&f->reassert, __ATOMIC_RELAXED) & (1u << gsi))
			irqchip_set_gsi(f->chip, gsi, true);
	}
}

static void f_init(void *opaque, unsigned cpu)
{
	struct fake *f = opaque;

	if (cpu < FAKE_CPUS)
		__atomic_fetch_add(&f->inits[cpu], 1, __ATOMIC_RELAXED);
}

static void f_sipi(void *opaque, unsigned cpu, uint8_t vec)
{
	struct fake *f = opaque;

	if (cpu < FAKE_CPUS) {
		f->sipis[cpu]++;
		f->sipi_vec[cpu] = vec;
	}
}

static void f_nmi(void *opaque, unsigned cpu)
{
	struct fake *f = opaque;

	if (cpu < FAKE_CPUS)
		__atomic_fetch_add(&f->nmis[cpu], 1, __ATOMIC_RELAXED);
}

static uint64_t f_now(void *opaque)
{
	return ((struct fake *)opaque)->now;
}

static void f_timer(void *opaque)
{
	struct fake *f = opaque;

	__atomic_fetch_add(&f->timers, 1, __ATOMIC_RELAXED);
}

static void init_hooks(struct fake *f, unsigned cpus, bool timer_hook)
{
	struct irqchip_hooks h = {
		.kick = f_kick,
		.eoi_gsi = f_eoi_gsi,
		.init = f_init,
		.sipi = f_sipi,
		.nmi = f_nmi,
		.now = f_now,
		.timer = timer_hook ? f_timer : NULL,
	};

	memset(f, 0, sizeof(*f));
	h.opaque = f;
	if (irqchip_create(cpus, &h, &f->chip)) {
		fprintf(stderr, "irqchip_create failed\n");
		exit(1);
	}
}

void fake_init(struct fake *f, unsigned cpus)
{
	init_hooks(f, cpus, false);
}

void fake_init_timer(struct fake *f, unsigned cpus)
{
	init_hooks(f, cpus, true);
}

void fake_fini(struct fake *f)
{
	irqchip_destroy(f->chip);
	f->chip = NULL;
}

void outb(struct fake *f, uint16_t port, uint8_t val)
{
	uint32_t v = val;

	if (!irqchip_pio(f->chip, port, 1, true, &v))
		fprintf(stderr, "outb 0x%x not claimed\n", port);
}

uint32_t pio_in(struct fake *f, uint16_t port, unsigned size)
{
	uint32_t v = 0xdeadbeef;

	if (!irqchip_pio(f->chip, port, size, false, &v))
		return 0xffffffff;
	return v;
}

uint8_t inb(struct fake *f, uint16_t port)
{
	return pio_in(f, port, 1);
}

uint32_t lapic_rd(struct fake *f, unsigned cpu, uint32_t off)
{
	uint64_t v = 0;

	if (!irqchip_mmio(f->chip, cpu, 0xfee00000ull + off, 4, false, &v))
		return 0xffffffff;
	return v;
}

void lapic_wr(struct fake *f, unsigned cpu, uint32_t off, uint32_t val)
{
	uint64_t v = val;

	irqchip_mmio(f->chip, cpu, 0xfee00000ull + off, 4, true, &v);
}

uint32_t ioapic_rd(struct fake *f, uint8_t index)
{
	uint64_t v = index;

	irqchip_mmio(f->chip, 0, 0xfec00000ull, 4, true, &v);
	irqchip_mmio(f->chip, 0, 0xfec00010ull, 4, false, &v);
	return v;
}

void ioapic_wr(struct fake *f, uint8_t index, uint32_t val)
{
	uint64_t v = index;

	irqchip_mmio(f->chip, 0, 0xfec00000ull, 4, true, &v);
	v = val;
	irqchip_mmio(f->chip, 0, 0xfec00010ull, 4, true, &v);
}

void ioapic_rte(struct fake *f, unsigned pin, uint64_t rte)
{
	/* High half first, as Linux does, so the entry is never live half-written. */
	ioapic_wr(f, 0x10 + 2 * pin, (uint32_t)(rte | 0x10000));
	ioapic_wr(f, 0x11 + 2 * pin, rte >> 32);
	ioapic_wr(f, 0x10 + 2 * pin, (uint32_t)rte);
}

void pic_init_linux(struct fake *f)
{
	outb(f, 0x21, 0xff);
	outb(f, 0xa1, 0xff);
	outb(f, 0x20, 0x11); /* ICW1: edge, cascade, ICW4 */
	outb(f, 0x21, 0x30); /* ICW2: vectors 0x30-0x37 */
	outb(f, 0x21, 0x04); /* ICW3: slave on IR2 */
	outb(f, 0x21, 0x01); /* ICW4: 8086, normal EOI */
	outb(f, 0xa0, 0x11);
	outb(f, 0xa1, 0x38);
	outb(f, 0xa1, 0x02); /* slave ID 2 */
	outb(f, 0xa1, 0x01);
	outb(f, 0x21, 0xfb); /* everything masked but the cascade */
	outb(f, 0xa1, 0xff);
}

void pit_quiet(struct fake *f)
{
	outb(f, 0x43, 0x30);
}

void lapic_enable(struct fake *f, unsigned cpu)
{
	lapic_wr(f, cpu, 0xf0, 0x1ff);
}

int take(struct fake *f, unsigned cpu)
{
	if (irqchip_pending(f->chip, cpu) < 0)
		return -1;
	return irqchip_ack(f->chip, cpu);
}
