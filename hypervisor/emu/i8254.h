/* SPDX-License-Identifier: MIT */
/*
 * i8254.h - the PC's 8254 programmable interval timer (ports 0x40-0x43) and
 * the port 0x61 bits that gate channel 2 and show its output.  Chip core
 * only: no locking, the caller serialises and passes virtual time in ns.
 */
#ifndef EMU_I8254_H
#define EMU_I8254_H

#include <stdbool.h>
#include <stdint.h>

#define PIT_HZ 1193182ull /* 14.31818 MHz / 12 */

struct i8254_ops {
	/* Rising edge on channel 0's OUT (ISA IRQ0). */
	void (*irq0)(void *opaque);
	/* Channel 0 was reprogrammed: its next edge is now at `deadline`. */
	void (*armed)(void *opaque, uint64_t deadline);
};

struct i8254_channel {
	uint8_t mode; /* effective mode 0-5 */
	uint8_t ctrl; /* control word bits 5:0 (RW, M2-M0 as written, BCD) */
	uint8_t rw;   /* 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;
	uint32_t n;   /* count in binary, 1..65536 (0 written means the maximum) */
	uint16_t raw; /* the count register as last written */
	bool loaded;  /* a count is in the counting element */
	bool armed;   /* modes 1 and 5: triggered by a gate rising edge */
	bool gate;
	bool null_count;
	/* Ticks counted = ticks0 + PIT ticks since base_ns (frozen while paused). */
	uint64_t base_ns, ticks0;
	uint8_t wstate, wlsb; /* word write: 1 after the LSB */
	uint8_t rstate;	      /* word read of the live count: 1 after the LSB */
	uint8_t latch_state;  /* 0 none, 1 LSB, 2 MSB, 3 word LSB next, 4 word MSB next */
	uint16_t latch;
	bool status_latched;
	uint8_t status;
	uint64_t irq_ticks; /* channel 0: ticks already examined for edges */
};

struct i8254 {
	struct i8254_channel ch[3];
	uint8_t port61;	     /* bits 3:0 as written (bit 0: channel 2 gate) */
	uint8_t refresh;     /* port 0x61 bit 4, toggled on every read as QEMU does */
	uint64_t not_before; /* periodic IRQ0 rate limit */
	const struct i8254_ops *ops;
	void *opaque;
};

void i8254_init(struct i8254 *p, const struct i8254_ops *ops, void *opaque, uint64_t now);
void i8254_reset(struct i8254 *p, uint64_t now);
/* Ports 0x40-0x43 and 0x61. */
bool i8254_owns(uint16_t port);
uint8_t i8254_read(struct i8254 *p, uint16_t port, uint64_t now);
void i8254_write(struct i8254 *p, uint16_t port, uint8_t val, uint64_t now);
/* OUT of a channel at `now` (tests; channel 2 is also port 0x61 bit 5). */
bool i8254_out(const struct i8254 *p, unsigned ch, uint64_t now);
/* Raise IRQ0 for channel-0 edges up to `now`; returns the next edge or UINT64_MAX. */
uint64_t i8254_run(struct i8254 *p, uint64_t now);
/* Next channel-0 edge that i8254_run() will act on, or UINT64_MAX. */
uint64_t i8254_next(const struct i8254 *p);

#endif /* EMU_I8254_H */
