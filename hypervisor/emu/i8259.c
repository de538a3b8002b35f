// SPDX-License-Identifier: MIT
/*
 * i8259.c - two cascaded Intel 8259A programmable interrupt controllers as
 * wired in a PC/PIIX3: master at 0x20/0x21 driving the CPU's INTR, slave at
 * 0xa0/0xa1 on master IR2, plus the PIIX edge/level control registers
 * ELCR1/ELCR2 at 0x4d0/0x4d1 (IRQ 0, 1, 2, 8 and 13 are always edge).
 *
 * Emulated (8259A datasheet, "Programming the 8259A"): ICW1-ICW4, OCW1
 * masking, OCW2 non-specific/specific EOI, rotation and set-priority, OCW3
 * IRR/ISR read, poll command and special mask mode, automatic EOI with
 * optional rotation, special fully nested mode, edge and level sense.
 * Not emulated: MCS-80/85 mode (vectors are always 8086 style), buffered
 * mode (no bus effect) and the aliases of the PIIX decode (0x22-0x3f).
 */
#include "i8259.h"

#include <string.h>

#define ICW1 0x10 /* command-port write with D4 set */
#define OCW3 0x08 /* command-port write with D4 clear, D3 set */
#define CASCADE_IRQ 2

enum ocw2_cmd {
	OCW2_ROT_AEOI_CLR = 0,
	OCW2_EOI = 1,
	OCW2_NOP = 2,
	OCW2_SEOI = 3,
	OCW2_ROT_AEOI_SET = 4,
	OCW2_ROT_EOI = 5,
	OCW2_SET_PRIO = 6,
	OCW2_ROT_SEOI = 7,
};

static uint8_t level_mask(const struct i8259 *s)
{
	return s->ltim ? 0xff : s->elcr;
}

/* Distance of the highest-priority set bit of mask from prio_add; 8 if none. */
static unsigned priority(const struct i8259 *s, uint8_t mask)
{
	unsigned p;

	if (!mask)
		return 8;
	for (p = 0; p < 8; p++) {
		if (mask & (1u << ((p + s->prio_add) & 7)))
			break;
	}
	return p;
}

/*
 * The IR level this chip would present on INTR: the highest-priority unmasked
 * request that beats every in-service level.  In special mask mode masked
 * in-service levels stop blocking; in special fully nested mode the master's
 * cascade input does not block further requests from the slave.
 */
static int chip_irq(const struct i8259 *s, bool master)
{
	unsigned prio = priority(s, s->irr & ~s->imr);
	uint8_t isr = s->isr;

	if (prio == 8)
		return -1;
	if (s->special_mask)
		isr &= ~s->imr;
	if (master && s->sfnm)
		isr &= ~(1u << CASCADE_IRQ);
	if (prio < priority(s, isr))
		return (prio + s->prio_add) & 7;
	return -1;
}

/* Sample input `irq`: level inputs follow the line, edge inputs latch a rising edge. */
static void chip_set_line(struct i8259 *s, unsigned irq, bool level)
{
	uint8_t mask = 1u << irq;

	if (level) {
		if ((level_mask(s) & mask) || !(s->edge_seen & mask))
			s->irr |= mask;
		s->lines |= mask;
		s->edge_seen |= mask;
	} else {
		s->lines &= ~mask;
		s->edge_seen &= ~mask;
		if (level_mask(s) & mask)
			s->irr &= ~mask;
	}
}

/* Second INTA pulse: set ISR (unless AEOI), clear an edge request. */
static void chip_ack(struct i8259 *s, unsigned irq)
{
	uint8_t mask = 1u << irq;

	if (s->aeoi) {
		if (s->rotate_aeoi)
			s->prio_add = (irq + 1) & 7;
	} else {
		s->isr |= mask;
	}
	if (!(level_mask(s) & mask))
		s->irr &= ~mask;
}

static void update(struct i8259_pair *p)
{
	struct i8259 *m = &p->pic[0];
	bool slave_int = chip_irq(&p->pic[1], false) >= 0;
	bool intr;

	if (slave_int != !!(m->lines & (1u << CASCADE_IRQ)))
		chip_set_line(m, CASCADE_IRQ, slave_int);
	intr = chip_irq(m, true) >= 0;
	p->intr = intr;
	if (p->ops && p->ops->intr)
		p->ops->intr(p->opaque, intr);
}

static void level_eoi(struct i8259_pair *p, unsigned chip, unsigned irq)
{
	const struct i8259 *s = &p->pic[chip];

	if (chip == 0 && irq == CASCADE_IRQ)
		return;
	if ((level_mask(s) & (1u << irq)) && p->ops && p->ops->level_eoi)
		p->ops->level_eoi(p->opaque, chip * 8 + irq);
}

static void chip_reset(struct i8259 *s, uint8_t elcr_mask)
{
	uint8_t lines = s->lines;

	memset(s, 0, sizeof(*s));
	s->lines = lines;
	s->edge_seen = lines;
	s->elcr_mask = elcr_mask;
}

void i8259_reset(struct i8259_pair *p)
{
	/* PIIX3 ELCR: IRQ 0, 1, 2 (master) and 8, 13 (slave) are edge only. */
	chip_reset(&p->pic[0], 0xf8);
	chip_reset(&p->pic[1], 0xde);
	update(p);
}

void i8259_init(struct i8259_pair *p, const struct i8259_ops *ops, void *opaque)
{
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->opaque = opaque;
	i8259_reset(p);
}

void i8259_set_irq(struct i8259_pair *p, unsigned irq, bool level)
{
	if (irq >= 16 || irq == CASCADE_IRQ)
		return;
	chip_set_line(&p->pic[irq >> 3], irq & 7, level);
	update(p);
}

bool i8259_owns(uint16_t port)
{
	switch (port) {
	case 0x20:
	case 0x21:
	case 0xa0:
	case 0xa1:
	case 0x4d0:
	case 0x4d1:
		return true;
	default:
		return false;
	}
}

/*
 * ICW1 starts initialisation: IMR and ISR cleared, IR7 lowest priority,
 * special mask off, IRR reads selected, and the edge-sense latch reset so an
 * edge input that is already high must go low and high again.
 */
static void write_icw1(struct i8259 *s, uint8_t val)
{
	s->init_step = 2;
	s->need_icw4 = val & 0x01;
	s->single = val & 0x02;
	s->ltim = val & 0x08;
	s->imr = 0;
	s->isr = 0;
	s->prio_add = 0;
	s->special_mask = false;
	s->read_isr = false;
	s->poll = false;
	s->edge_seen = s->lines;
	s->irr = s->lines & level_mask(s);
	if (!s->need_icw4) {
		/* "If ICW4 is not needed, all its functions are set to zero." */
		s->aeoi = false;
		s->sfnm = false;
		s->rotate_aeoi = false;
	}
}

static void write_ocw2(struct i8259_pair *p, unsigned chip, uint8_t val)
{
	struct i8259 *s = &p->pic[chip];
	unsigned irq = val & 7;
	unsigned prio;

	switch (val >> 5) {
	case OCW2_ROT_AEOI_CLR:
	case OCW2_ROT_AEOI_SET:
		s->rotate_aeoi = (val >> 5) == OCW2_ROT_AEOI_SET;
		break;
	case OCW2_EOI:
	case OCW2_ROT_EOI:
		prio = priority(s, s->isr);
		if (prio == 8)
			break;
		irq = (prio + s->prio_add) & 7;
		s->isr &= ~(1u << irq);
		if ((val >> 5) == OCW2_ROT_EOI)
			s->prio_add = (irq + 1) & 7;
		level_eoi(p, chip, irq);
		break;
	case OCW2_SEOI:
	case OCW2_ROT_SEOI: {
		bool was = s->isr & (1u << irq);

		s->isr &= ~(1u << irq);
		if ((val >> 5) == OCW2_ROT_SEOI)
			s->prio_add = (irq + 1) & 7;
		if (was)
			level_eoi(p, chip, irq);
		break;
	}
	case OCW2_SET_PRIO:
		/* L2-L0 names the lowest-priority level. */
		s->prio_add = (irq + 1) & 7;
		break;
	default:
		break;
	}
}

static void write_ocw3(struct i8259 *s, uint8_t val)
{
	if (val & 0x04)
		s->poll = true;
	if (val & 0x02)
		s->read_isr = val & 0x01;
	if (val & 0x40)
		s->special_mask = val & 0x20;
}

static void write_data(struct i8259 *s, uint8_t val)
{
	switch (s->init_step) {
	case 2:
		s->base = val & 0xf8;
		if (!s->single)
			s->init_step = 3;
		else
			s->init_step = s->need_icw4 ? 4 : 0;
		break;
	case 3:
		s->icw3 = val;
		s->init_step = s->need_icw4 ? 4 : 0;
		break;
	case 4:
		s->aeoi = val & 0x02;
		s->sfnm = val & 0x10;
		s->init_step = 0;
		break;
	default:
		s->imr = val;
		break;
	}
}

static void write_elcr(struct i8259 *s, uint8_t val)
{
	s->elcr = val & s->elcr_mask;
	/* Inputs that are now level-sensed report the line as it is. */
	s->irr = (s->irr & ~level_mask(s)) | (s->lines & level_mask(s));
}

void i8259_write(struct i8259_pair *p, uint16_t port, uint8_t val)
{
	unsigned chip = (port == 0xa0 || port == 0xa1 || port == 0x4d1);
	struct i8259 *s = &p->pic[chip];

	switch (port) {
	case 0x20:
	case 0xa0:
		if (val & ICW1)
			write_icw1(s, val);
		else if (val & OCW3)
			write_ocw3(s, val);
		else
			write_ocw2(p, chip, val);
		break;
	case 0x21:
	case 0xa1:
		write_data(s, val);
		break;
	case 0x4d0:
	case 0x4d1:
		write_elcr(s, val);
		break;
	default:
		return;
	}
	update(p);
}

/* Poll command: acknowledge this chip's highest request like an INTA would. */
static uint8_t poll_read(struct i8259_pair *p, unsigned chip)
{
	struct i8259 *s = &p->pic[chip];
	int irq = chip_irq(s, chip == 0);

	if (irq < 0)
		return 0;
	chip_ack(s, irq);
	return 0x80 | irq;
}

uint8_t i8259_read(struct i8259_pair *p, uint16_t port)
{
	unsigned chip = (port == 0xa0 || port == 0xa1 || port == 0x4d1);
	struct i8259 *s = &p->pic[chip];
	uint8_t val;

	switch (port) {
	case 0x20:
	case 0xa0:
		if (!s->poll)
			return s->read_isr ? s->isr : s->irr;
		s->poll = false;
		val = poll_read(p, chip);
		update(p);
		return val;
	case 0x21:
	case 0xa1:
		return s->imr;
	case 0x4d0:
	case 0x4d1:
		return s->elcr;
	default:
		return 0xff;
	}
}

int i8259_pending(const struct i8259_pair *p)
{
	const struct i8259 *m = &p->pic[0];
	const struct i8259 *sl = &p->pic[1];
	int irq = chip_irq(m, true);
	int irq2;

	if (irq < 0)
		return -1;
	if (irq != CASCADE_IRQ || m->single)
		return m->base + irq;
	irq2 = chip_irq(sl, false);
	return sl->base + (irq2 < 0 ? 7 : irq2);
}

int i8259_ack(struct i8259_pair *p)
{
	struct i8259 *m = &p->pic[0];
	struct i8259 *sl = &p->pic[1];
	int irq = chip_irq(m, true);
	int irq2, vec;

	if (irq < 0) {
		/* The request went away before INTA: default IR7 (spurious IRQ7). */
		vec = m->base + 7;
		goto out;
	}
	chip_ack(m, irq);
	if (irq != CASCADE_IRQ || m->single) {
		vec = m->base + irq;
		goto out;
	}
	irq2 = chip_irq(sl, false);
	if (irq2 < 0) {
		vec = sl->base + 7; /* spurious IRQ15: master ISR2 stays set */
	} else {
		chip_ack(sl, irq2);
		vec = sl->base + irq2;
	}
	/* The slave drops INT during INTA; a further request raises a new edge. */
	m->edge_seen &= ~(1u << CASCADE_IRQ);
	m->lines &= ~(1u << CASCADE_IRQ);
out:
	update(p);
	return vec;
}
