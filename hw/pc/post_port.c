// SPDX-License-Identifier: MIT
/*
 * post_port.c - the POST diagnostic port at I/O port 0x80 (ISA "manufacturing
 * test port"; PIIX3 forwards it to ISA).  Device type "post-port".
 *
 * Firmware writes progress codes here and Linux writes to it as an I/O
 * delay (outb_p, thousands of times per boot, mostly from the PIT and PIC
 * drivers).  Emulated: the last code is kept and read back, and a change of
 * code is logged at debug level (-debug post-port).  Writes only latch, so the
 * hypervisor may post them through the buffered ring instead of waiting for
 * each one (io_ops.posted_writes).
 * Not emulated: the few boards that delay on the bus for a fixed time.
 */
#include <stdint.h>

#include "device.h"
#include "dm.h"
#include "iospace.h"
#include "log.h"

#define MOD "post-port"
#define POST_PORT 0x80

struct post_port {
	struct io_region io;
	uint8_t code;
};

static uint64_t post_read(void *opaque, uint64_t off, unsigned size)
{
	struct post_port *s = opaque;

	(void)off;
	(void)size;
	return s->code;
}

static void post_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct post_port *s = opaque;

	(void)off;
	(void)size;
	if ((uint8_t)val != s->code)
		dm_dbg(MOD, "POST code %#04x", (unsigned)(uint8_t)val);
	s->code = (uint8_t)val;
}

static const struct io_ops post_ops = {
	.read = post_read,
	.write = post_write,
	.min_size = 1,
	.max_size = 1,
	.posted_writes = 0x1,
};

static int post_create(struct dev *d, const struct opts *o)
{
	struct post_port *s = d->state;

	(void)o;
	io_region_init(&s->io, &post_ops, s, "post-port", 1);
	return io_region_map(d->dm, &s->io, IO_PIO, POST_PORT);
}

static void post_destroy(struct dev *d)
{
	struct post_port *s = d->state;

	io_region_unmap(&s->io);
}

static const struct dev_type post_type = {
	.name = "post-port",
	.state_size = sizeof(struct post_port),
	.create = post_create,
	.destroy = post_destroy,
};
DM_DEVICE(post_type);
