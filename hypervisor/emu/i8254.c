// SPDX-License-Identifier: MIT
/*
 * i8254.c - Intel 8254 programmable interval timer as wired in a PC: three
 * 16-bit down counters clocked at 1.193182 MHz; channel 0's OUT is ISA IRQ0,
 * channel 1 (DRAM refresh) has no output, channel 2's gate is port 0x61
 * bit 0 and its OUT reads back on port 0x61 bit 5 (speaker data, bit 1, is
 * stored only).  Emulated (8254 datasheet 231164): modes 0-5 (6 and 7 alias
 * 2 and 3), binary and BCD counting, LSB/MSB/word access with the read and
 * write flip-flops, counter latch and read-back (count and status) commands,
 * gate levels and edges.
 *
 * Counts are computed from the virtual time at which counting started, never
 * accumulated, so there is no drift from rounding.  Simplifications shared
 * with QEMU: a count is loaded at the moment it is written (not on the next
 * CLK), a new count in mode 2/3 restarts the period immediately, and the
 * reset state has every channel in mode 3 with the maximum count (channel 0
 * runs at 18.2 Hz before firmware programs it).  Port 0x61 bit 4 (refresh
 * detect) toggles on each read, so polling loops end even with time stopped.
 * Unlike QEMU, OUT follows the datasheet in modes 1, 2, 4 and 5 (QEMU's is
 * inverted there) and the read-back status reports NULL COUNT; both
 * differences are visible only in status bytes and port 0x61 bit 5.
 */
#include "i8254.h"

#include <string.h>

#define NS_PER_SEC 1000000000ull
#define PORT_CTRL 0x43
#define PORT_61 0x61
#define CW_READBACK 3 /* SC1:SC0 = 11 */

/* Periodic IRQ0 never fires more often than this; edges in between coalesce. */
#define PIT_MIN_IRQ_PERIOD_NS 50000ull

static uint64_t ticks_between(uint64_t from, uint64_t to)
{
	uint64_t dt = to - from;

	if (to <= from)
		return 0;
	/* Exact either way; 64-bit math while the product fits (about 4 hours). */
	if (dt < UINT64_MAX / PIT_HZ)
		return dt * PIT_HZ / NS_PER_SEC;
	return (uint64_t)((unsigned __int128)dt * PIT_HZ / NS_PER_SEC);
}

static bool gate_pauses(const struct i8254_channel *c)
{
	return !c->gate && c->mode != 1 && c->mode != 5;
}

static bool counting(const struct i8254_channel *c)
{
	if (!c->loaded)
		return false;
	return (c->mode != 1 && c->mode != 5) || c->armed;
}

static uint64_t ticks_at(const struct i8254_channel *c, uint64_t now)
{
	if (!counting(c))
		return 0;
	if (gate_pauses(c))
		return c->ticks0;
	return c->ticks0 + ticks_between(c->base_ns, now);
}

/* First virtual time at which tick count `d` has been reached (not paused). */
static uint64_t time_of(const struct i8254_channel *c, uint64_t d)
{
	unsigned __int128 ns;

	if (d <= c->ticks0)
		return c->base_ns;
	ns = ((unsigned __int128)(d - c->ticks0) * NS_PER_SEC + PIT_HZ - 1) / PIT_HZ;
	if (ns > UINT64_MAX - c->base_ns)
		return UINT64_MAX;
	return c->base_ns + (uint64_t)ns;
}

static uint32_t bcd_to_bin(uint16_t v)
{
	return (v >> 12) * 1000 + ((v >> 8) & 15) * 100 + ((v >> 4) & 15) * 10 + (v & 15);
}

static uint16_t bin_to_bcd(uint32_t v)
{
	v %= 10000;
	return (v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10);
}

static bool channel_out(const struct i8254_channel *c, uint64_t now)
{
	uint64_t d;

	if (!c->loaded)
		return c->mode != 0; /* state after the control word */
	if ((c->mode == 1 || c->mode == 5) && !c->armed)
		return true;
	if ((c->mode == 2 || c->mode == 3) && !c->gate)
		return true; /* gate low forces OUT high at once */
	d = ticks_at(c, now);
	switch (c->mode) {
	case 0:
	case 1:
		return d >= c->n;
	case 2:
		return d % c->n != c->n - 1;
	case 3:
		return d % c->n < (c->n + 1) / 2;
	default: /* 4, 5: one CLK low strobe at terminal count */
		return d != c->n;
	}
}

/* Counting element contents as the chip would show them (before encoding). */
static uint32_t channel_count(const struct i8254_channel *c, uint64_t now)
{
	uint32_t mod = c->bcd ? 10000 : 65536;
	uint64_t d = ticks_at(c, now);

	switch (c->mode) {
	case 2:
		return (c->n - d % c->n) % mod;
	case 3:
		/* Decrements by two through each half period. */
		return (c->n - (2 * d) % c->n) % mod;
	default:
		return (c->n + mod - d % mod) % mod;
	}
}

static uint16_t encoded_count(const struct i8254_channel *c, uint64_t now)
{
	uint32_t v;

	/* Not counting (no count since the control word): the last count written. */
	if (!counting(c))
		return c->raw;
	v = channel_count(c, now);

	return c->bcd ? bin_to_bcd(v) : (uint16_t)v;
}

/* Tick count of the first OUT rising edge after tick `d`, or UINT64_MAX. */
static uint64_t next_edge(const struct i8254_channel *c, uint64_t d)
{
	uint64_t e;

	if (!counting(c) || gate_pauses(c))
		return UINT64_MAX;
	switch (c->mode) {
	case 2:
	case 3:
		return (d / c->n + 1) * c->n;
	case 0:
	case 1:
		e = c->n;
		break;
	default:
		e = c->n + 1ull;
		break;
	}
	return e > d ? e : UINT64_MAX;
}

uint64_t i8254_next(const struct i8254 *p)
{
	const struct i8254_channel *c = &p->ch[0];
	uint64_t e = next_edge(c, c->irq_ticks);
	uint64_t t;

	if (e == UINT64_MAX)
		return UINT64_MAX;
	t = time_of(c, e);
	return t < p->not_before ? p->not_before : t;
}

uint64_t i8254_run(struct i8254 *p, uint64_t now)
{
	struct i8254_channel *c = &p->ch[0];
	uint64_t t = i8254_next(p);

	if (t == UINT64_MAX || now < t)
		return t;
	c->irq_ticks = ticks_at(c, now);
	if (p->ops && p->ops->irq0)
		p->ops->irq0(p->opaque);
	if (c->mode == 2 || c->mode == 3)
		p->not_before = now + PIT_MIN_IRQ_PERIOD_NS;
	return i8254_next(p);
}

/* Channel 0 was reprogrammed: drop the rate limit and report its next edge. */
static void armed(struct i8254 *p, unsigned ch)
{
	if (ch != 0)
		return;
	p->not_before = 0;
	if (p->ops && p->ops->armed)
		p->ops->armed(p->opaque, i8254_next(p));
}

static void restart(struct i8254_channel *c, uint64_t now)
{
	c->base_ns = now;
	c->ticks0 = 0;
	c->irq_ticks = 0;
}

static void load_count(struct i8254 *p, unsigned ch, uint16_t raw, uint64_t now)
{
	struct i8254_channel *c = &p->ch[ch];
	uint32_t n = c->bcd ? bcd_to_bin(raw) : raw;

	if (n == 0)
		n = c->bcd ? 10000 : 65536;
	c->n = n;
	c->raw = raw;
	c->null_count = true;
	c->loaded = true;
	/* Modes 1 and 5 wait for (or keep) their gate trigger. */
	if (c->mode != 1 && c->mode != 5)
		restart(c, now);
	armed(p, ch);
}

static void write_counter(struct i8254 *p, unsigned ch, uint8_t val, uint64_t now)
{
	struct i8254_channel *c = &p->ch[ch];

	switch (c->rw) {
	case 0: /* only before the first control word */
	case 1:
		load_count(p, ch, val, now);
		break;
	case 2:
		load_count(p, ch, (uint16_t)val << 8, now);
		break;
	default:
		if (!c->wstate) {
			c->wlsb = val;
			c->wstate = 1;
			/* Mode 0: the first byte stops counting and drives OUT low. */
			if (c->mode == 0 && c->loaded) {
				c->loaded = false;
				armed(p, ch);
			}
		} else {
			c->wstate = 0;
			load_count(p, ch, c->wlsb | (uint16_t)val << 8, now);
		}
		break;
	}
}

static void latch_count(struct i8254_channel *c, uint64_t now)
{
	if (c->latch_state)
		return; /* a second latch before the read is ignored */
	c->latch = encoded_count(c, now);
	c->latch_state = c->rw == 3 ? 3 : c->rw;
}

static void latch_status(struct i8254_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	/* NULL COUNT clears once the count has been in the counter for a tick. */
	if (c->null_count && counting(c) && ticks_between(c->base_ns, now) >= 1)
		c->null_count = false;
	c->status = (uint8_t)channel_out(c, now) << 7 | (uint8_t)c->null_count << 6 | c->ctrl;
	c->status_latched = true;
}

static void write_control(struct i8254 *p, uint8_t val, uint64_t now)
{
	unsigned sc = val >> 6;
	struct i8254_channel *c;

	if (sc == CW_READBACK) {
		for (unsigned ch = 0; ch < 3; ch++) {
			if (!(val & (2u << ch)))
				continue;
			if (!(val & 0x20))
				latch_count(&p->ch[ch], now);
			if (!(val & 0x10))
				latch_status(&p->ch[ch], now);
		}
		return;
	}
	c = &p->ch[sc];
	if (!((val >> 4) & 3)) {
		latch_count(c, now);
		return;
	}
	/* A control word resets the counter's logic; OUT takes its initial state. */
	c->ctrl = val & 0x3f;
	c->rw = (val >> 4) & 3;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;
	c->bcd = val & 1;
	c->loaded = false;
	c->armed = false;
	c->null_count = true;
	c->wstate = 0;
	c->rstate = 0;
	/* A pending latch or status survives, as on QEMU. */
	armed(p, sc);
}

static uint8_t read_counter(struct i8254_channel *c, uint64_t now)
{
	uint16_t v;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	switch (c->latch_state) {
	case 1:
		c->latch_state = 0;
		return c->latch & 0xff;
	case 2:
		c->latch_state = 0;
		return c->latch >> 8;
	case 3:
		c->latch_state = 4;
		return c->latch & 0xff;
	case 4:
		c->latch_state = 0;
		return c->latch >> 8;
	default:
		break;
	}
	v = encoded_count(c, now);
	switch (c->rw) {
	case 0:
	case 1:
		return v & 0xff;
	case 2:
		return v >> 8;
	default:
		c->rstate ^= 1;
		return c->rstate ? v & 0xff : v >> 8;
	}
}

/* Channel 2 gate from port 0x61 bit 0 (datasheet table "Gate Pin Operations"). */
static void set_gate(struct i8254 *p, unsigned ch, bool gate, uint64_t now)
{
	struct i8254_channel *c = &p->ch[ch];

	if (gate == c->gate)
		return;
	if (!gate) {
		/* Modes 0, 2, 3, 4 stop counting; remember how far they got. */
		if (c->mode != 1 && c->mode != 5)
			c->ticks0 = ticks_at(c, now);
		c->gate = false;
		return;
	}
	c->gate = true;
	switch (c->mode) {
	case 0:
	case 4:
		c->base_ns = now; /* resume where counting stopped */
		break;
	case 1:
	case 5:
		if (c->loaded) {
			c->armed = true;
			restart(c, now);
		}
		break;
	default:
		restart(c, now); /* modes 2, 3: reload and start a new period */
		break;
	}
	armed(p, ch);
}

bool i8254_owns(uint16_t port)
{
	return (port >= 0x40 && port <= 0x43) || port == PORT_61;
}

uint8_t i8254_read(struct i8254 *p, uint16_t port, uint64_t now)
{
	if (port == PORT_61) {
		p->refresh ^= 0x10;
		return p->port61 | p->refresh | (uint8_t)channel_out(&p->ch[2], now) << 5;
	}
	if (port >= 0x40 && port <= 0x42)
		return read_counter(&p->ch[port - 0x40], now);
	return 0; /* the control register is write-only; QEMU reads 0 */
}

void i8254_write(struct i8254 *p, uint16_t port, uint8_t val, uint64_t now)
{
	if (port == PORT_61) {
		p->port61 = val & 0x0f;
		set_gate(p, 2, val & 1, now);
	} else if (port == PORT_CTRL) {
		write_control(p, val, now);
	} else if (port >= 0x40 && port <= 0x42) {
		write_counter(p, port - 0x40, val, now);
	}
}

bool i8254_out(const struct i8254 *p, unsigned ch, uint64_t now)
{
	return ch < 3 && channel_out(&p->ch[ch], now);
}

void i8254_reset(struct i8254 *p, uint64_t now)
{
	for (unsigned ch = 0; ch < 3; ch++) {
		struct i8254_channel *c = &p->ch[ch];

		memset(c, 0, sizeof(*c));
		/* QEMU's reset state: mode 3, access mode 0 (behaves as LSB only). */
		c->mode = 3;
		c->rw = 0;
		c->ctrl = 3 << 1;
		c->n = 65536;
		c->loaded = true;
		c->gate = ch != 2;
		restart(c, now);
	}
	p->port61 = 0;
	p->refresh = 0;
	armed(p, 0);
}

void i8254_init(struct i8254 *p, const struct i8254_ops *ops, void *opaque, uint64_t now)
{
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->opaque = opaque;
	i8254_reset(p, now);
}
