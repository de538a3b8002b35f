// SPDX-License-Identifier: MIT
/*
 * debugcon.c - the Bochs/QEMU debug console ports: 0x402, where SeaBIOS
 * writes its debug output on QEMU, and 0xE9 (Bochs "port E9 hack", also the
 * Xen HVM debug port).  Device type "debugcon".
 *
 * Emulated: bytes written to either port are collected into lines and
 * written to the domain log ("debugcon" module), one log message per line;
 * a line is cut at DEBUGCON_LINE_MAX bytes, carriage returns are dropped and
 * other control bytes are shown as '.'.  With chardev=SPEC (the -debugcon
 * option) port 0xE9 goes to that character backend unchanged instead.
 * Reads return 0xE9, the value SeaBIOS and Bochs check to find the port.
 * A guest cannot flood the log: beyond a burst of DEBUGCON_BURST lines, at
 * most DEBUGCON_RATE lines per second of virtual time are logged and the
 * rest are counted and reported.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "chardev.h"
#include "clock.h"
#include "device.h"
#include "dm.h"
#include "iospace.h"
#include "log.h"

#define MOD "debugcon"
#define DEBUGCON_PORT_SEABIOS 0x402
#define DEBUGCON_PORT_E9 0xe9
#define DEBUGCON_READBACK 0xe9
#define DEBUGCON_LINE_MAX 200
#define DEBUGCON_BURST 2000 /* a whole SeaBIOS debug boot log fits */
#define DEBUGCON_RATE 100   /* lines per second after the burst */
#define DEBUGCON_SPEC_MAX 512

struct debugcon_port {
	struct debugcon *con;
	struct io_region io;
	uint16_t port;
	char line[DEBUGCON_LINE_MAX + 1];
	unsigned len;
};

struct debugcon {
	struct dm *dm;
	struct debugcon_port port[2];
	struct chardev *chr; /* 0xE9 output when -debugcon was given */
	uint64_t tokens;     /* lines that may still be logged */
	uint64_t refill_ns;  /* virtual time of the last refill */
	uint64_t dropped;
};

/* Token bucket on the virtual clock: true if one more line may be logged. */
static bool debugcon_take_token(struct debugcon *s)
{
	uint64_t now = clock_ns(s->dm->clock), add;

	if (now > s->refill_ns) {
		add = (now - s->refill_ns) / (NS_PER_SEC / DEBUGCON_RATE);
		if (add) {
			s->tokens = s->tokens + add > DEBUGCON_BURST ? DEBUGCON_BURST
								     : s->tokens + add;
			s->refill_ns += add * (NS_PER_SEC / DEBUGCON_RATE);
		}
	}
	if (!s->tokens)
		return false;
	s->tokens--;
	return true;
}

static void debugcon_flush(struct debugcon_port *p)
{
	struct debugcon *s = p->con;

	p->line[p->len] = '\0';
	if (debugcon_take_token(s)) {
		if (s->dropped) {
			dm_warn(MOD, "%llu lines from the guest were not logged (rate limit)",
				(unsigned long long)s->dropped);
			s->dropped = 0;
		}
		dm_info(MOD, "%03x: %s", p->port, p->line);
	} else {
		s->dropped++;
	}
	p->len = 0;
}

static void debugcon_put(struct debugcon_port *p, uint8_t c)
{
	if (c == '\n') {
		debugcon_flush(p);
		return;
	}
	if (c == '\r')
		return;
	p->line[p->len++] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
	if (p->len >= DEBUGCON_LINE_MAX)
		debugcon_flush(p);
}

static uint64_t debugcon_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)size;
	return DEBUGCON_READBACK;
}

static void debugcon_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct debugcon_port *p = opaque;
	uint8_t c = (uint8_t)val;

	(void)off;
	(void)size;
	if (p->port == DEBUGCON_PORT_E9 && p->con->chr) {
		/* A full backend drops the byte: debug output must never stall the guest. */
		chardev_write(p->con->chr, &c, 1);
		return;
	}
	debugcon_put(p, c);
}

static const struct io_ops debugcon_ops = {
	.read = debugcon_read,
	.write = debugcon_write,
	.min_size = 1,
	.max_size = 1,
	.posted_writes = 0x1, /* output only: the hypervisor need not wait */
};

/* chardev=SPEC plus socket flags split off as bare keys (as uart16550 takes them). */
static int debugcon_spec(const struct opts *o, char *buf, size_t cap)
{
	static const char *const flags[] = { "server", "nowait", "wait", "nodelay", "telnet" };
	const char *spec = opts_get(o, "chardev");
	size_t i, len;

	if (!spec)
		return -ENOENT;
	len = (size_t)snprintf(buf, cap, "%s", spec);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]) && len < cap; i++) {
		const char *v = opts_get(o, flags[i]);

		if (v && !*v)
			len += (size_t)snprintf(buf + len, cap - len, ",%s", flags[i]);
	}
	return len < cap ? 0 : -ENAMETOOLONG;
}

static int debugcon_create(struct dev *d, const struct opts *o)
{
	static const uint16_t ports[2] = { DEBUGCON_PORT_SEABIOS, DEBUGCON_PORT_E9 };
	struct debugcon *s = d->state;
	char spec[DEBUGCON_SPEC_MAX];
	unsigned i;
	int err;

	s->dm = d->dm;
	s->tokens = DEBUGCON_BURST;
	s->refill_ns = clock_ns(d->dm->clock);
	err = debugcon_spec(o, spec, sizeof(spec));
	if (!err) {
		err = chardev_open(d->dm->loop, spec, &s->chr);
		if (err)
			return err;
	} else if (err != -ENOENT) {
		return err;
	}
	for (i = 0; i < 2; i++) {
		struct debugcon_port *p = &s->port[i];

		p->con = s;
		p->port = ports[i];
		io_region_init(&p->io, &debugcon_ops, p, "debugcon", 1);
		err = io_region_map(d->dm, &p->io, IO_PIO, p->port);
		if (err) {
			dm_err(MOD, "port 0x%x is taken", p->port);
			return err;
		}
	}
	return 0;
}

static void debugcon_destroy(struct dev *d)
{
	struct debugcon *s = d->state;
	unsigned i;

	for (i = 0; i < 2; i++) {
		if (s->port[i].con && s->port[i].len)
			debugcon_flush(&s->port[i]);
		io_region_unmap(&s->port[i].io);
	}
	chardev_close(s->chr);
	s->chr = NULL;
}

static const struct dev_type debugcon_type = {
	.name = "debugcon",
	.state_size = sizeof(struct debugcon),
	.create = debugcon_create,
	.destroy = debugcon_destroy,
};
DM_DEVICE(debugcon_type);
