// SPDX-License-Identifier: MIT
/*
 * piix3.c - Intel 82371SB (PIIX3) PCI-to-ISA bridge, function 0 at 00:01.0:
 * PCI interrupt routing and the reset control register.
 *
 * Emulated (82371SB datasheet):
 *   - identification 8086:7000, class 06:01:00, multi-function header, and
 *     the power-on values of the ISA bridge registers as QEMU shows them;
 *   - PIRQ[A-D] route control 0x60-0x63 (PIRQRC[A:D]): bit 7 disables
 *     the link, bits 3:0 pick ISA IRQ 3-7, 9-12, 14 or 15 (other values are
 *     reserved and leave the link unrouted); bits 6:4 are reserved, read 0;
 *   - INTx swizzling as on the PC: pin P (1 = INTA#) of device D drives link
 *     (D + P - 1) mod 4.  A link is asserted while any of its INTx lines is,
 *     and drives its ISA IRQ through irq_line_route(); the dm's irq layer ORs
 *     it with other sources of that GSI;
 *   - reset control register at port 0xCF9 (RC): writing with
 *     RST_CPU (bit 2) set asks for a system reset; SYS_RST (bit 1) is stored.
 *
 * ELCR (ports 0x4D0/0x4D1) is deliberately not claimed: it belongs to the
 * 8259 model, which lives in the hypervisor (KVM's in-kernel PIC serves the
 * ports without an exit; the emu irqchip implements them too), so a dm claim
 * would never see an access or would shadow the real one.  The dm still
 * needs to know which GSIs are level-triggered (for resampling); it learns
 * it from the routing instead: every ISA IRQ that a link is routed to is
 * marked level-triggered (pci_bus_level_irq_get) for as long as some link
 * or other level source uses it, which is the configuration firmware and
 * OSes program into ELCR as well.
 * Not emulated: the ISA bus side (DMA, timers, PIC are elsewhere), the
 * deterministic-latency, APIC-chip-select, motherboard-IRQ (0x70-0x71) and
 * SMI registers beyond storage.
 */
#include <errno.h>
#include <stdint.h>

#include "device.h"
#include "dm.h"
#include "irq.h"
#include "log.h"
#include "pci/pci.h"

#define MOD "piix3"

#define PIIX3_DEVFN PCI_DEVFN(1, 0)
#define PIIX3_VENDOR 0x8086
#define PIIX3_DEVICE 0x7000
#define PIIX3_CLASS 0x060100 /* bridge, ISA */

#define PIIX3_PIRQC 0x60 /* PIRQ[A-D] route control, one byte per link */
#define PIIX3_PIRQ_DISABLE 0x80
#define PIIX3_PIRQ_IRQ_MASK 0x0f
#define PIIX3_PIRQ_WMASK 0x8f
#define PIIX3_NR_LINKS 4

/* ISA IRQs a link may be routed to (PIRQRC IRQ field): 3-7, 9-12, 14, 15. */
#define PIIX3_PIRQ_VALID_IRQS 0xdef8u

#define PIIX3_RCR_SYS_RST 0x02
#define PIIX3_RCR_RST_CPU 0x04

struct piix3 {
	struct dm *dm;
	struct pci_bus *bus;
	struct pci_func func;
	struct irq_line link[PIIX3_NR_LINKS];
	uint32_t link_irq[PIIX3_NR_LINKS];   /* routed ISA IRQ or IRQ_NONE */
	uint32_t link_count[PIIX3_NR_LINKS]; /* asserted INTx lines on the link */
	uint8_t rcr;
	bool routed_up; /* links initialised, refs held for link_irq */
};

/* Power-on values of the ISA bridge registers (datasheet defaults), as QEMU shows them. */
static const struct {
	uint8_t reg, val;
} piix3_defaults[] = {
	{ 0x4c, 0x4d }, /* IORT: ISA I/O recovery timer */
	{ 0x4e, 0x03 }, /* XBCS: X-bus chip select */
	{ 0x60, 0x80 }, /* PIRQA: disabled */
	{ 0x61, 0x80 }, /* PIRQB */
	{ 0x62, 0x80 }, /* PIRQC */
	{ 0x63, 0x80 }, /* PIRQD */
	{ 0x69, 0x02 }, /* TOM: top of memory */
	{ 0x70, 0x80 }, /* MBIRQ0: disabled */
	{ 0x76, 0x0c }, /* MBDMA0: disabled */
	{ 0x77, 0x0c }, /* MBDMA1: disabled */
	{ 0x78, 0x02 }, /* PCSC: programmable chip select */
	{ 0xa0, 0x08 }, /* SMICNTL */
	{ 0xa8, 0x0f }, /* FTMR: fast-off timer */
};

static uint32_t pirq_to_irq(uint8_t v)
{
	uint32_t irq = v & PIIX3_PIRQ_IRQ_MASK;

	if (v & PIIX3_PIRQ_DISABLE)
		return IRQ_NONE;
	if (!(PIIX3_PIRQ_VALID_IRQS & (1u << irq))) {
		dm_guest_err(MOD, "PIRQ route to reserved IRQ %u: link left unrouted", irq);
		return IRQ_NONE;
	}
	return irq;
}

static void piix3_update_link(struct piix3 *s, unsigned l)
{
	uint32_t irq = pirq_to_irq(pci_get_byte(&s->func, PIIX3_PIRQC + l));
	uint32_t old = s->link_irq[l];

	if (irq == old)
		return;
	if (irq != IRQ_NONE)
		pci_bus_level_irq_get(s->bus, irq);
	irq_line_route(&s->link[l], irq);
	if (old != IRQ_NONE)
		pci_bus_level_irq_put(s->bus, old);
	s->link_irq[l] = irq;
	dm_dbg(MOD, "PIRQ%c -> %s%d", 'A' + l, irq == IRQ_NONE ? "none " : "IRQ ",
	       irq == IRQ_NONE ? -1 : (int)irq);
}

static void piix3_update_links(struct piix3 *s)
{
	unsigned l;

	for (l = 0; l < PIIX3_NR_LINKS; l++)
		piix3_update_link(s, l);
}

static void piix3_set_intx(void *opaque, uint8_t devfn, uint8_t pin, bool level)
{
	struct piix3 *s = opaque;
	unsigned l;

	if (pin < 1 || pin > 4)
		return;
	l = (PCI_SLOT(devfn) + pin - 1) & 3;
	if (level)
		s->link_count[l]++;
	else if (s->link_count[l])
		s->link_count[l]--;
	irq_set(&s->link[l], s->link_count[l] != 0);
}

static const struct pci_intx_router piix3_router = {
	.set_intx = piix3_set_intx,
};

static uint8_t piix3_rcr_read(void *opaque)
{
	struct piix3 *s = opaque;

	return s->rcr;
}

static void piix3_rcr_write(void *opaque, uint8_t val)
{
	struct piix3 *s = opaque;

	if (val & PIIX3_RCR_RST_CPU) {
		dm_info(MOD, "reset requested through port 0xCF9 (0x%02x)", val);
		dm_request_reset(s->dm);
		return;
	}
	s->rcr = val & PIIX3_RCR_SYS_RST;
}

static const struct pci_cf9_ops piix3_cf9_ops = {
	.read = piix3_rcr_read,
	.write = piix3_rcr_write,
};

static void piix3_config_write(struct pci_func *f, uint32_t reg, uint32_t val, unsigned size)
{
	struct piix3 *s = f->opaque;

	if (reg < PIIX3_PIRQC + PIIX3_NR_LINKS && reg + size > PIIX3_PIRQC)
		piix3_update_links(s);
}

static const struct pci_func_ops piix3_pci_ops = {
	.config_write = piix3_config_write,
};

static void piix3_reset(struct dev *d, enum dev_reset kind)
{
	struct piix3 *s = d->state;

	pci_func_reset(&s->func);
	s->rcr = 0;
	piix3_update_links(s);
}

static int piix3_create(struct dev *d, const struct opts *o)
{
	struct piix3 *s = d->state;
	unsigned i;
	int ret;

	s->dm = d->dm;
	s->bus = pci_bus_of(d->dm);
	if (!s->bus) {
		dm_err(MOD, "no PCI bus: create the i440fx host bridge first");
		return -ENODEV;
	}
	ret = pci_func_init(&s->func, s->bus, PIIX3_DEVFN, "piix3", &piix3_pci_ops, s);
	if (ret < 0) {
		dm_err(MOD, "devfn 0x%02x: %d", PIIX3_DEVFN, ret);
		return ret;
	}
	pci_set_ids(&s->func, PIIX3_VENDOR, PIIX3_DEVICE, 0, PIIX3_CLASS);
	pci_set_byte(&s->func, PCI_HEADER_TYPE, PCI_HEADER_TYPE_MULTI_FUNCTION);
	pci_set_word(&s->func, PCI_STATUS, PCI_STATUS_DEVSEL_MEDIUM);
	for (i = 0; i < sizeof(piix3_defaults) / sizeof(piix3_defaults[0]); i++)
		pci_set_byte(&s->func, piix3_defaults[i].reg, piix3_defaults[i].val);
	pci_set_wmask(&s->func, PIIX3_PIRQC, 4, 0x01010101u * PIIX3_PIRQ_WMASK);
	pci_func_ready(&s->func);

	for (i = 0; i < PIIX3_NR_LINKS; i++) {
		irq_line_init(&s->link[i], d->dm, IRQ_NONE);
		s->link_irq[i] = IRQ_NONE;
	}
	s->routed_up = true;
	pci_bus_set_intx_router(s->bus, &piix3_router, s);
	pci_bus_set_cf9(s->bus, &piix3_cf9_ops, s);
	piix3_reset(d, DEV_RESET_COLD);
	return 0;
}

static void piix3_destroy(struct dev *d)
{
	struct piix3 *s = d->state;
	unsigned l;

	if (!s->bus)
		return;
	if (s->routed_up) {
		pci_bus_set_intx_router(s->bus, NULL, NULL);
		pci_bus_set_cf9(s->bus, NULL, NULL);
		for (l = 0; l < PIIX3_NR_LINKS; l++) {
			irq_set(&s->link[l], false);
			if (s->link_irq[l] != IRQ_NONE)
				pci_bus_level_irq_put(s->bus, s->link_irq[l]);
			s->link_irq[l] = IRQ_NONE;
		}
	}
	pci_func_exit(&s->func);
	s->bus = NULL;
}

static const struct dev_type piix3_type = {
	.name = "piix3",
	.state_size = sizeof(struct piix3),
	.create = piix3_create,
	.reset = piix3_reset,
	.destroy = piix3_destroy,
};
DM_DEVICE(piix3_type);
