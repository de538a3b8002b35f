/* SPDX-License-Identifier: MIT */
/*
 * irqchip.h - interrupt controllers and timers that hvmhv emulates itself
 * under the `emu` backend: 8259A pair with ELCR, IOAPIC (24 pins), one local
 * APIC per vCPU (timer, IPIs, EOI, TPR), and the 8254 PIT with port 0x61.
 * (Under `kvm` the in-kernel ones are used instead.)
 *
 * All timers run on the hypervisor's virtual clock (passed in as `now` in
 * nanoseconds), so tests can step time.  Every entry point takes the chip's
 * lock: vCPU threads and the irq-line thread call in concurrently.
 *
 * Hooks are never called with the lock held (effects are queued and the
 * hooks run just before the entry point returns), so a hook may call any
 * irqchip_* function.  hooks->now is required; the others may be NULL.
 *   - kick(cpu): cpu has a deliverable interrupt, or (without a timer
 *     hook) the timer deadline that the caller last got from
 *     irqchip_run_timers()/irqchip_next_deadline() moved earlier (LAPIC
 *     timer: its own cpu; PIT: cpu 0).  Call irqchip_next_deadline() or
 *     irqchip_run_timers() again after such a kick.
 *   - timer(): optional; that deadline moved earlier.  With it, kick()
 *     means only an interrupt, so whoever keeps the host timer can re-arm
 *     it without waking a vCPU, and a vCPU taking an interrupt need not
 *     wake the timer's keeper.
 *   - sipi(cpu, vec) is called only for a cpu in wait-for-SIPI state (an AP
 *     after power-on or INIT), once; the repeated SIPI of the MP start-up
 *     protocol is filtered here.  init(cpu) means: reset the CPU; APs then
 *     wait for SIPI, the BSP restarts at the reset vector.  The LAPIC has
 *     already been reset by the chip.
 *   - eoi_gsi(gsi): informational resample.  Lines keep the level passed to
 *     irqchip_set_gsi(); a level-triggered line still high is re-delivered by
 *     the chip itself after the EOI, so re-asserting is harmless.
 * APIC IDs equal cpu indexes (CPUID leaf 1 EBX[31:24] must match); cpu 0 is
 * the BSP.  At most 64 vCPUs.
 *
 * Wiring: GSI n = ISA IRQ n on 8259 input n and IOAPIC pin n, except ISA IRQ0
 * (PIT), which is IOAPIC pin 2; the caller's GSI 0 and GSI 2 both mean ISA
 * IRQ0.  IOAPIC pin 0 carries the 8259's INTR (virtual wire via the IOAPIC).
 * irqchip_pending() on a vCPU with nothing deliverable is one atomic load
 * (no lock), so polling it at instruction boundaries is cheap.
 */
#ifndef EMU_IRQCHIP_H
#define EMU_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>

struct irqchip;

struct irqchip_hooks {
	void *opaque;
	/* Wake vCPU `cpu` because it may have a deliverable interrupt. */
	void (*kick)(void *opaque, unsigned cpu);
	/* Guest EOI'd a level-triggered GSI (resample: the dm re-asserts if still high). */
	void (*eoi_gsi)(void *opaque, unsigned gsi);
	/* INIT and SIPI IPIs to vCPU `cpu`. */
	void (*init)(void *opaque, unsigned cpu);
	void (*sipi)(void *opaque, unsigned cpu, uint8_t vector);
	/* NMI to vCPU `cpu`. */
	void (*nmi)(void *opaque, unsigned cpu);
	/* Current virtual time in ns. */
	uint64_t (*now)(void *opaque);
	/* Optional: the next timer deadline moved earlier (see above). */
	void (*timer)(void *opaque);
};

int irqchip_create(unsigned nr_cpus, const struct irqchip_hooks *hooks, struct irqchip **out);
void irqchip_destroy(struct irqchip *c);
void irqchip_reset(struct irqchip *c);

/* Drive GSI `gsi` (0-23) to `level`; ISA GSIs 0-15 also feed the 8259s (GSI 2 = IRQ0 on the IOAPIC). */
void irqchip_set_gsi(struct irqchip *c, unsigned gsi, bool level);
/* A rising-and-falling edge on an edge-triggered line. */
void irqchip_pulse_gsi(struct irqchip *c, unsigned gsi);

/*
 * Port I/O the chip owns (0x20-0x21, 0xa0-0xa1, 0x40-0x43, 0x61, 0x4d0-0x4d1).
 * Returns true if handled (then *val is filled for reads).
 */
bool irqchip_pio(struct irqchip *c, uint16_t port, unsigned size, bool is_write, uint32_t *val);
/* MMIO the chip owns: IOAPIC 0xfec00000 and vCPU `cpu`'s LAPIC page. */
bool irqchip_mmio(struct irqchip *c, unsigned cpu, uint64_t gpa, unsigned size, bool is_write,
		  uint64_t *val);
/* LAPIC MSRs (0x800-0x8ff x2APIC not required) and IA32_APIC_BASE (0x1b). */
bool irqchip_rdmsr(struct irqchip *c, unsigned cpu, uint32_t msr, uint64_t *val);
bool irqchip_wrmsr(struct irqchip *c, unsigned cpu, uint32_t msr, uint64_t val);

/* Vector of the highest-priority deliverable interrupt for `cpu`, or -1. */
int irqchip_pending(struct irqchip *c, unsigned cpu);
/*
 * Acknowledge (INTA): returns the vector and moves it to in-service.  If the
 * request went away since irqchip_pending(), the answer is what hardware
 * gives: the 8259's IR7 vector or the LAPIC's spurious vector (SVR), neither
 * of which is put in service; -1 only for a bad cpu or a disabled APIC with
 * no 8259 path.
 */
int irqchip_ack(struct irqchip *c, unsigned cpu);

/* Fire timers due at `now`; returns the next deadline (UINT64_MAX if none). */
uint64_t irqchip_run_timers(struct irqchip *c, uint64_t now);
/* The next deadline without firing anything (UINT64_MAX if none). */
uint64_t irqchip_next_deadline(struct irqchip *c);

/*
 * A PCI MSI write: `addr` 0xfeeXXXXX (destination ID in bits 19:12, logical
 * in bit 2), `data` vector/delivery mode/trigger.  False if addr is not an
 * MSI address.
 */
bool irqchip_msi(struct irqchip *c, uint64_t addr, uint32_t data);

#endif /* EMU_IRQCHIP_H */
