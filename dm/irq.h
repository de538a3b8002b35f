/* SPDX-License-Identifier: MIT */
/*
 * irq.h - interrupt lines from devices to the hypervisor's GSIs.
 *
 * A device owns struct irq_line sources; several sources may share a GSI
 * (PCI INTx routed through PIIX3 links), and the GSI's level is the OR of its
 * sources.  Level changes are published in the shared hvm_irq_page and
 * signalled on the GSI's eventfd following the mode the hypervisor chose
 * (include/hvm/setup.h).  A GSI marked level-triggered is re-asserted after
 * the guest's EOI (resample) while still high.  Loop thread only.
 */
#ifndef DM_IRQ_H
#define DM_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct dm;

#define IRQ_NONE 0xffffffffu /* an unrouted line */
#define DM_MAX_GSIS 24

struct irq_line {
	struct dm *dm;
	uint32_t gsi; /* IRQ_NONE when unrouted */
	bool level;
};

void irq_line_init(struct irq_line *l, struct dm *dm, uint32_t gsi);
/* Set the source's level (0/1); no-op when unchanged. */
void irq_set(struct irq_line *l, bool level);
/* Rising then falling edge (edge-triggered ISA sources). */
void irq_pulse(struct irq_line *l);
/* Re-route the source (PIRQ link change); its level moves with it. */
void irq_line_route(struct irq_line *l, uint32_t gsi);

/* Mark a GSI level-triggered (PCI INTx, ELCR) or edge-triggered (default). */
void dm_irq_set_trigger(struct dm *dm, uint32_t gsi, bool level_triggered);
/* Current OR-ed level of a GSI (tests, harness). */
bool dm_irq_level(const struct dm *dm, uint32_t gsi);
/* Number of rising edges a GSI has seen (tests). */
uint32_t dm_irq_edges(const struct dm *dm, uint32_t gsi);
/* Resample event for gsi (guest EOI): re-signal if level-triggered and still high. */
void dm_irq_resample(struct dm *dm, uint32_t gsi);

#endif /* DM_IRQ_H */
