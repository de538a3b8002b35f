/* SPDX-License-Identifier: MIT */
/*
 * i8259.h - the cascaded 8259A pair of a PC (master at 0x20, slave at 0xa0
 * on master IR2) with the PIIX edge/level control registers (0x4d0/0x4d1).
 * Chip core only: no locking, the caller serialises.
 */
#ifndef EMU_I8259_H
#define EMU_I8259_H

#include <stdbool.h>
#include <stdint.h>

struct i8259_ops {
	/* The master's INTR output may have changed (level is the new value). */
	void (*intr)(void *opaque, bool level);
	/* The guest EOI'd level-triggered ISA IRQ `irq` (0-15). */
	void (*level_eoi)(void *opaque, unsigned irq);
};

struct i8259 {
	uint8_t irr;	   /* interrupt request register */
	uint8_t isr;	   /* in-service register */
	uint8_t imr;	   /* interrupt mask register (OCW1) */
	uint8_t lines;	   /* current IR input levels */
	uint8_t edge_seen; /* edge detector: input level last sampled */
	uint8_t elcr;	   /* PIIX ELCR: 1 = level-triggered */
	uint8_t elcr_mask; /* ELCR bits that can be set */
	uint8_t base;	   /* ICW2 vector base (T7-T3) */
	uint8_t icw3;
	uint8_t prio_add;  /* IR level with the highest priority (rotation) */
	uint8_t init_step; /* 0: operational; 2/3/4: expecting that ICW */
	bool need_icw4;
	bool single;	   /* ICW1 SNGL */
	bool ltim;	   /* ICW1 LTIM: every input level-triggered */
	bool aeoi;	   /* ICW4 AEOI */
	bool rotate_aeoi;  /* OCW2 rotate in automatic EOI mode */
	bool sfnm;	   /* ICW4 special fully nested mode */
	bool special_mask; /* OCW3 SMM */
	bool read_isr;	   /* OCW3 RIS: command-port reads return ISR */
	bool poll;	   /* OCW3 P: next command-port read is a poll */
};

struct i8259_pair {
	struct i8259 pic[2]; /* [0] master, [1] slave */
	bool intr;	     /* master INTR output */
	const struct i8259_ops *ops;
	void *opaque;
};

void i8259_init(struct i8259_pair *p, const struct i8259_ops *ops, void *opaque);
void i8259_reset(struct i8259_pair *p);
/* Drive ISA IRQ input `irq` (0-15; 2 is the cascade and is ignored). */
void i8259_set_irq(struct i8259_pair *p, unsigned irq, bool level);
/* Ports 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1; false if not one of them. */
bool i8259_owns(uint16_t port);
uint8_t i8259_read(struct i8259_pair *p, uint16_t port);
void i8259_write(struct i8259_pair *p, uint16_t port, uint8_t val);
/* Vector an INTA would return now, without side effects; -1 if INTR is low. */
int i8259_pending(const struct i8259_pair *p);
/* INTA cycle: the vector (base+7 of the chip that lost the request: spurious). */
int i8259_ack(struct i8259_pair *p);

#endif /* EMU_I8259_H */
