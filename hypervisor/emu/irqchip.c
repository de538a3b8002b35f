// SPDX-License-Identifier: MIT
/*
 * irqchip.c - the glue that makes a PC's interrupt system out of the chip
 * cores: the 8259 pair, the IOAPIC, one local APIC per vCPU and the 8254,
 * wired as on an i440FX/PIIX3 board:
 *   - ISA IRQ n (GSI n) goes to 8259 input n and IOAPIC pin n, except IRQ0
 *     (the PIT), which is IOAPIC pin 2 (the usual ACPI interrupt source
 *     override); GSI 0 and GSI 2 from the caller both mean ISA IRQ0.
 *   - The 8259 master's INTR goes to every CPU's LINT0 (taken when LINT0 is
 *     ExtINT and unmasked, or straight to the BSP when its APIC is hardware-
 *     disabled) and to IOAPIC pin 0 (virtual wire through the IOAPIC).
 *   - GSIs 16-23 (PCI) reach the IOAPIC only.
 *   - The APIC bus carries IOAPIC messages and IPIs to the local APICs.
 *
 * Locking: one mutex for everything.  Chip code never calls a hook while it
 * is held; the effects a call produces (kicks, INIT, SIPI, NMI, EOIs of
 * level-triggered GSIs) are collected in c->ev and run after the unlock, so a
 * hook may call back into any irqchip_* function without deadlocking.
 */
#include "irqchip.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "i8254.h"
#include "i8259.h"
#include "ioapic.h"
#include "lapic.h"

#define IRQCHIP_MAX_CPUS 64
#define NR_GSIS 24

/* Hook calls owed once the lock is dropped. */
struct irq_events {
	uint64_t kick, init, sipi, nmi; /* bit per vCPU */
	uint32_t eoi_gsi;		/* bit per GSI */
	bool timer;			/* the deadline moved earlier (hooks.timer) */
	uint8_t sipi_vec[IRQCHIP_MAX_CPUS];
};

struct irqchip {
	pthread_mutex_t lock;
	struct irqchip_hooks hooks;
	unsigned nr_cpus;
	struct i8259_pair pic;
	struct ioapic ioapic;
	struct i8254 pit;
	struct lapic lapic[IRQCHIP_MAX_CPUS];
	struct irq_events ev;
	uint32_t gsi_lines; /* levels set by irqchip_set_gsi */
	uint64_t now;	    /* latest virtual time seen: time never runs backwards */
	uint64_t deadline;  /* earliest timer deadline last reported or armed */
	/*
	 * Bit per vCPU, readable without the lock: clear means "nothing can be
	 * deliverable".  Set (before the unlock) whenever a kick is queued for
	 * the vCPU, cleared by irqchip_pending() when it finds nothing under the
	 * lock, so the common poll of a quiet vCPU costs one atomic load.
	 */
	_Atomic uint64_t maybe;
};

static uint64_t bit64(unsigned n)
{
	return 1ull << n;
}

/* ---- locking and deferred hooks ---- */

/* With the lock held: the chip's time moves on to now (never back). */
static uint64_t advance_now(struct irqchip *c, uint64_t now)
{
	if (now < c->now)
		now = c->now;
	c->now = now;
	return now;
}

static uint64_t lock_at(struct irqchip *c, uint64_t now)
{
	pthread_mutex_lock(&c->lock);
	return advance_now(c, now);
}

static uint64_t lock_now(struct irqchip *c)
{
	return lock_at(c, c->hooks.now(c->hooks.opaque));
}

static void run_events(struct irqchip *c, const struct irq_events *ev)
{
	const struct irqchip_hooks *h = &c->hooks;

	for (unsigned g = 0; g < NR_GSIS; g++) {
		if ((ev->eoi_gsi >> g & 1) && h->eoi_gsi)
			h->eoi_gsi(h->opaque, g);
	}
	for (unsigned i = 0; i < c->nr_cpus; i++) {
		if ((ev->init & bit64(i)) && h->init)
			h->init(h->opaque, i);
		if ((ev->sipi & bit64(i)) && h->sipi)
			h->sipi(h->opaque, i, ev->sipi_vec[i]);
		if ((ev->nmi & bit64(i)) && h->nmi)
			h->nmi(h->opaque, i);
		if ((ev->kick & bit64(i)) && h->kick)
			h->kick(h->opaque, i);
	}
	if (ev->timer)
		h->timer(h->opaque);
}

static void unlock(struct irqchip *c)
{
	struct irq_events ev;

	/* Most accesses owe nothing: skip the copy and the hook scan. */
	if (!(c->ev.kick | c->ev.init | c->ev.sipi | c->ev.nmi | c->ev.eoi_gsi | c->ev.timer)) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	ev = c->ev;
	memset(&c->ev, 0, sizeof(c->ev));
	if (ev.kick)
		atomic_fetch_or_explicit(&c->maybe, ev.kick, memory_order_release);
	pthread_mutex_unlock(&c->lock);
	run_events(c, &ev);
}

/* ---- interrupt acceptance per vCPU ---- */

static int cpu_pending(struct irqchip *c, unsigned cpu)
{
	struct lapic *l = &c->lapic[cpu];

	if (c->pic.intr && lapic_accepts_pic(l))
		return i8259_pending(&c->pic);
	return lapic_pending(l);
}

static void maybe_kick(struct irqchip *c, unsigned cpu)
{
	if (cpu < c->nr_cpus && cpu_pending(c, cpu) >= 0)
		c->ev.kick |= bit64(cpu);
}

/* A timer moved: tell the caller if it is now due before what we last reported. */
static void deadline_moved(struct irqchip *c, unsigned owner, uint64_t deadline)
{
	if (deadline < c->deadline) {
		c->deadline = deadline;
		if (c->hooks.timer)
			c->ev.timer = true;
		else
			c->ev.kick |= bit64(owner);
	}
}

/* ---- the APIC bus ---- */

static uint64_t bus_targets(struct irqchip *c, const struct apic_msg *m, unsigned sh, unsigned src)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < c->nr_cpus; i++) {
		const struct lapic *l = &c->lapic[i];
		bool hit;

		switch (sh) {
		case APIC_SH_SELF:
			hit = i == src;
			break;
		case APIC_SH_ALL:
			hit = true;
			break;
		case APIC_SH_OTHERS:
			hit = i != src;
			break;
		default:
			hit = lapic_match(l, m->dest, m->logical);
			break;
		}
		if (hit && lapic_hw_enabled(l))
			t |= bit64(i);
	}
	return t;
}

/* Lowest-priority delivery: the enabled target with the lowest APR (SDM 10.6.2.4). */
static uint64_t lowest_priority(struct irqchip *c, uint64_t targets)
{
	int best = -1;
	unsigned best_apr = 256;

	for (unsigned i = 0; i < c->nr_cpus; i++) {
		const struct lapic *l = &c->lapic[i];

		if (!(targets & bit64(i)) || !lapic_sw_enabled(l))
			continue;
		if (lapic_apr(l) < best_apr) {
			best_apr = lapic_apr(l);
			best = i;
		}
	}
	return best < 0 ? 0 : bit64(best);
}

static void bus_deliver_one(struct irqchip *c, unsigned cpu, const struct apic_msg *m)
{
	struct lapic *l = &c->lapic[cpu];

	switch (m->mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		lapic_accept(l, m);
		break;
	case APIC_DM_NMI:
		c->ev.nmi |= bit64(cpu);
		break;
	case APIC_DM_INIT:
		lapic_init_signal(l);
		c->ev.init |= bit64(cpu);
		c->ev.sipi &= ~bit64(cpu);
		break;
	case APIC_DM_SIPI:
		/* Only a CPU waiting for SIPI starts; the second SIPI of the MP
		 * protocol finds it running and is ignored (SDM 8.4.4.1). */
		if (l->wait_sipi) {
			l->wait_sipi = false;
			c->ev.sipi |= bit64(cpu);
			c->ev.sipi_vec[cpu] = m->vector;
		}
		break;
	case APIC_DM_EXTINT:
		l->extint = true;
		maybe_kick(c, cpu);
		break;
	default:
		break; /* SMI and reserved modes are not emulated */
	}
}

static void bus_send(struct irqchip *c, const struct apic_msg *m, unsigned sh, unsigned src)
{
	uint64_t targets = bus_targets(c, m, sh, src);

	if (m->mode == APIC_DM_LOWEST)
		targets = lowest_priority(c, targets);
	for (unsigned i = 0; i < c->nr_cpus; i++) {
		if (targets & bit64(i))
			bus_deliver_one(c, i, m);
	}
}

/* ---- chip callbacks (called with the lock held) ---- */

static void pic_intr(void *opaque, bool level)
{
	struct irqchip *c = opaque;

	for (unsigned i = 0; i < c->nr_cpus; i++) {
		if (!level)
			c->lapic[i].extint = false;
		else if (lapic_accepts_pic(&c->lapic[i]))
			c->ev.kick |= bit64(i);
	}
	ioapic_set_pin(&c->ioapic, 0, level);
}

static void pic_level_eoi(void *opaque, unsigned irq)
{
	struct irqchip *c = opaque;

	c->ev.eoi_gsi |= 1u << (irq == 0 ? 2 : irq);
}

static const struct i8259_ops pic_ops = {
	.intr = pic_intr,
	.level_eoi = pic_level_eoi,
};

static void ioapic_deliver(void *opaque, const struct apic_msg *m)
{
	bus_send(opaque, m, APIC_SH_NONE, 0);
}

static void ioapic_level_eoi(void *opaque, unsigned pin)
{
	struct irqchip *c = opaque;

	if (pin != 0) /* pin 0 is the 8259's INTR, not a GSI the caller drives */
		c->ev.eoi_gsi |= 1u << pin;
}

static const struct ioapic_ops ioapic_ops = {
	.deliver = ioapic_deliver,
	.level_eoi = ioapic_level_eoi,
};

static void lapic_ipi(void *opaque, unsigned cpu, const struct apic_msg *m, unsigned sh)
{
	bus_send(opaque, m, sh, cpu);
}

static void lapic_eoi_broadcast(void *opaque, uint8_t vector)
{
	struct irqchip *c = opaque;

	ioapic_eoi(&c->ioapic, vector);
}

static void lapic_notify(void *opaque, unsigned cpu)
{
	maybe_kick(opaque, cpu);
}

static void lapic_timer_armed(void *opaque, unsigned cpu, uint64_t deadline)
{
	deadline_moved(opaque, cpu, deadline);
}

static const struct lapic_ops lapic_ops = {
	.ipi = lapic_ipi,
	.eoi_broadcast = lapic_eoi_broadcast,
	.notify = lapic_notify,
	.timer_armed = lapic_timer_armed,
};

/* ISA IRQ0 is the PIT's OUT or'ed with whatever the caller drives on GSI 0/2. */
static void set_isa_irq0(struct irqchip *c, bool level)
{
	i8259_set_irq(&c->pic, 0, level);
	ioapic_set_pin(&c->ioapic, 2, level);
}

static bool caller_irq0(const struct irqchip *c)
{
	return c->gsi_lines & 0x5;
}

static void pit_irq0(void *opaque)
{
	struct irqchip *c = opaque;

	set_isa_irq0(c, true);
	set_isa_irq0(c, caller_irq0(c));
}

static void pit_armed(void *opaque, uint64_t deadline)
{
	deadline_moved(opaque, 0, deadline);
}

static const struct i8254_ops pit_ops = {
	.irq0 = pit_irq0,
	.armed = pit_armed,
};

/* ---- public entry points ---- */

int irqchip_create(unsigned nr_cpus, const struct irqchip_hooks *hooks, struct irqchip **out)
{
	struct irqchip *c;
	uint64_t now;

	if (!hooks || !hooks->now || !out || nr_cpus == 0 || nr_cpus > IRQCHIP_MAX_CPUS)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		return -ENOMEM;
	}
	c->hooks = *hooks;
	c->nr_cpus = nr_cpus;
	c->deadline = UINT64_MAX;
	now = hooks->now(hooks->opaque);
	c->now = now;
	ioapic_init(&c->ioapic, &ioapic_ops, c);
	for (unsigned i = 0; i < nr_cpus; i++)
		lapic_init(&c->lapic[i], i, &lapic_ops, c);
	i8259_init(&c->pic, &pic_ops, c);
	i8254_init(&c->pit, &pit_ops, c, now);
	memset(&c->ev, 0, sizeof(c->ev)); /* nobody is running yet */
	atomic_init(&c->maybe, ~0ull);
	*out = c;
	return 0;
}

void irqchip_destroy(struct irqchip *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void irqchip_reset(struct irqchip *c)
{
	uint64_t now = lock_now(c);

	ioapic_reset(&c->ioapic);
	for (unsigned i = 0; i < c->nr_cpus; i++)
		lapic_reset(&c->lapic[i]);
	i8259_reset(&c->pic);
	i8254_reset(&c->pit, now);
	atomic_store(&c->maybe, ~0ull);
	/* Inputs keep their levels across the reset; level pins see them again. */
	for (unsigned g = 1; g < NR_GSIS; g++) {
		if (g != 2)
			ioapic_set_pin(&c->ioapic, g, c->gsi_lines >> g & 1);
	}
	unlock(c);
}

static void set_gsi_locked(struct irqchip *c, unsigned gsi, bool level)
{
	if (level)
		c->gsi_lines |= 1u << gsi;
	else
		c->gsi_lines &= ~(1u << gsi);
	if (gsi == 0 || gsi == 2) {
		set_isa_irq0(c, caller_irq0(c));
		return;
	}
	if (gsi < 16)
		i8259_set_irq(&c->pic, gsi, level);
	ioapic_set_pin(&c->ioapic, gsi, level);
}

void irqchip_set_gsi(struct irqchip *c, unsigned gsi, bool level)
{
	if (gsi >= NR_GSIS)
		return;
	lock_now(c);
	set_gsi_locked(c, gsi, level);
	unlock(c);
}

void irqchip_pulse_gsi(struct irqchip *c, unsigned gsi)
{
	if (gsi >= NR_GSIS)
		return;
	lock_now(c);
	set_gsi_locked(c, gsi, true);
	set_gsi_locked(c, gsi, false);
	unlock(c);
}

static bool pio_owned(uint16_t port)
{
	return i8259_owns(port) || i8254_owns(port);
}

static uint8_t pio_read_byte(struct irqchip *c, uint16_t port, uint64_t now)
{
	if (i8259_owns(port))
		return i8259_read(&c->pic, port);
	if (i8254_owns(port))
		return i8254_read(&c->pit, port, now);
	return 0xff;
}

static void pio_write_byte(struct irqchip *c, uint16_t port, uint8_t val, uint64_t now)
{
	if (i8259_owns(port))
		i8259_write(&c->pic, port, val);
	else if (i8254_owns(port))
		i8254_write(&c->pit, port, val, now);
}

/*
 * These are 8-bit ISA registers: a wider access is split into byte cycles at
 * consecutive ports, as the PIIX does; bytes that land on a port we do not
 * own read as 0xff and are dropped on write.
 */
bool irqchip_pio(struct irqchip *c, uint16_t port, unsigned size, bool is_write, uint32_t *val)
{
	uint32_t result = 0;
	uint64_t now;

	if (!pio_owned(port) || !val)
		return false;
	if (size == 0 || size > 4)
		size = 1;
	now = lock_now(c);
	for (unsigned i = 0; i < size; i++) {
		uint16_t p = port + i;

		if (is_write)
			pio_write_byte(c, p, *val >> (8 * i), now);
		else
			result |= (uint32_t)pio_read_byte(c, p, now) << (8 * i);
	}
	unlock(c);
	if (!is_write)
		*val = result;
	return true;
}

static bool in_window(uint64_t gpa, uint64_t base, uint64_t size)
{
	return gpa >= base && gpa - base < size;
}

bool irqchip_mmio(struct irqchip *c, unsigned cpu, uint64_t gpa, unsigned size, bool is_write,
		  uint64_t *val)
{
	struct lapic *l = cpu < c->nr_cpus ? &c->lapic[cpu] : NULL;
	bool handled = true;
	uint64_t now;

	if (!val || size == 0 || size > 8)
		return false;
	/* every MMIO access asks here (the VGA window too): the clock only for the APIC */
	pthread_mutex_lock(&c->lock);
	/* The CPU's own APIC claims its page before anything on the bus. */
	if (l && lapic_hw_enabled(l) && in_window(gpa, lapic_base(l), LAPIC_SIZE)) {
		now = advance_now(c, c->hooks.now(c->hooks.opaque));
		if (is_write)
			lapic_write(l, gpa - lapic_base(l), size, *val, now);
		else
			*val = lapic_read(l, gpa - lapic_base(l), size, now);
	} else if (in_window(gpa, IOAPIC_BASE, IOAPIC_SIZE)) {
		if (is_write)
			ioapic_write(&c->ioapic, gpa - IOAPIC_BASE, size, *val);
		else
			*val = ioapic_read(&c->ioapic, gpa - IOAPIC_BASE, size);
	} else {
		handled = false;
	}
	unlock(c);
	return handled;
}

bool irqchip_rdmsr(struct irqchip *c, unsigned cpu, uint32_t msr, uint64_t *val)
{
	if (msr != MSR_IA32_APIC_BASE || cpu >= c->nr_cpus || !val)
		return false;
	lock_now(c);
	*val = c->lapic[cpu].base_msr;
	unlock(c);
	return true;
}

bool irqchip_wrmsr(struct irqchip *c, unsigned cpu, uint32_t msr, uint64_t val)
{
	if (msr != MSR_IA32_APIC_BASE || cpu >= c->nr_cpus)
		return false;
	lock_now(c);
	lapic_set_base_msr(&c->lapic[cpu], val);
	unlock(c);
	return true;
}

int irqchip_pending(struct irqchip *c, unsigned cpu)
{
	int v;

	if (cpu >= c->nr_cpus)
		return -1;
	if (!(atomic_load_explicit(&c->maybe, memory_order_acquire) & bit64(cpu)))
		return -1;
	pthread_mutex_lock(&c->lock);
	v = cpu_pending(c, cpu);
	if (v < 0)
		atomic_fetch_and_explicit(&c->maybe, ~bit64(cpu), memory_order_relaxed);
	unlock(c);
	return v;
}

int irqchip_ack(struct irqchip *c, unsigned cpu)
{
	struct lapic *l;
	int v;

	if (cpu >= c->nr_cpus)
		return -1;
	l = &c->lapic[cpu];
	pthread_mutex_lock(&c->lock);
	/*
	 * If the 8259 request went away between irqchip_pending() and here, the
	 * INTA cycle still happens and yields the spurious IR7 vector.
	 */
	if (lapic_accepts_pic(l) && (c->pic.intr || lapic_pending(l) < 0)) {
		l->extint = false;
		v = i8259_ack(&c->pic);
	} else {
		v = lapic_ack(l);
	}
	unlock(c);
	return v;
}

static uint64_t next_deadline_locked(struct irqchip *c)
{
	uint64_t next = i8254_next(&c->pit);

	for (unsigned i = 0; i < c->nr_cpus; i++) {
		if (c->lapic[i].t_next < next)
			next = c->lapic[i].t_next;
	}
	return next;
}

uint64_t irqchip_run_timers(struct irqchip *c, uint64_t now)
{
	uint64_t next, t;

	now = lock_at(c, now);
	next = i8254_run(&c->pit, now);
	for (unsigned i = 0; i < c->nr_cpus; i++) {
		t = lapic_timer_run(&c->lapic[i], now);
		if (t < next)
			next = t;
	}
	c->deadline = next;
	unlock(c);
	return next;
}

uint64_t irqchip_next_deadline(struct irqchip *c)
{
	uint64_t next;

	pthread_mutex_lock(&c->lock);
	next = next_deadline_locked(c);
	c->deadline = next;
	unlock(c);
	return next;
}

bool irqchip_msi(struct irqchip *c, uint64_t addr, uint32_t data)
{
	struct apic_msg m = {
		.vector = data & 0xff,
		.mode = (data >> 8) & 7,
		.dest = (addr >> 12) & 0xff,
		.logical = addr & 0x4,
		.level = data & 0x8000,
	};

	/* MSI address format: 0xfeeXXXXX (SDM 10.11.1). */
	if ((addr & 0xfff00000ull) != 0xfee00000ull || (addr >> 32))
		return false;
	lock_now(c);
	bus_send(c, &m, APIC_SH_NONE, 0);
	unlock(c);
	return true;
}
