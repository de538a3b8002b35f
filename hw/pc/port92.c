// SPDX-License-Identifier: MIT
/*
 * port92.c - System Control Port A at I/O port 0x92 ("fast A20 and reset",
 * PS/2 Model 50+ and every later PC chipset, e.g. PIIX3 datasheet 4.1.2).
 * Device type "port92".
 *
 * Emulated: bit 1 (A20 gate) is stored and read back; a rising edge of bit 0
 * (fast reset) requests a system reset.  Bit 0 reads back as written until
 * the reset clears it.
 * Not emulated: the A20 gate itself: guest memory is never wrapped at 1 MiB
 * (the hypervisor owns memory; Xen's HVM guests behave the same).
 */
#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "dm.h"
#include "iospace.h"
#include "log.h"

#define MOD "port92"
#define PORT92 0x92
#define PORT92_RESET 0x01
#define PORT92_A20 0x02

struct port92 {
	struct dm *dm;
	struct io_region io;
	uint8_t val;
};

static uint64_t port92_read(void *opaque, uint64_t off, unsigned size)
{
	struct port92 *s = opaque;

	(void)off;
	(void)size;
	return s->val;
}

static void port92_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct port92 *s = opaque;
	uint8_t old = s->val;

	(void)off;
	(void)size;
	s->val = (uint8_t)val;
	if ((s->val ^ old) & PORT92_A20)
		dm_dbg(MOD, "A20 gate %s", (s->val & PORT92_A20) ? "enabled" : "disabled");
	if ((s->val & PORT92_RESET) && !(old & PORT92_RESET)) {
		dm_info(MOD, "fast reset requested through port 0x92");
		dm_request_reset(s->dm);
	}
}

static const struct io_ops port92_ops = {
	.read = port92_read,
	.write = port92_write,
	.min_size = 1,
	.max_size = 1,
};

static void port92_reset(struct dev *d, enum dev_reset kind)
{
	struct port92 *s = d->state;

	(void)kind;
	/* A reset ends the reset pulse; the A20 bit is left as it was (QEMU does the same). */
	s->val &= ~PORT92_RESET;
}

static int port92_create(struct dev *d, const struct opts *o)
{
	struct port92 *s = d->state;

	(void)o;
	s->dm = d->dm;
	io_region_init(&s->io, &port92_ops, s, "port92", 1);
	return io_region_map(s->dm, &s->io, IO_PIO, PORT92);
}

static void port92_destroy(struct dev *d)
{
	struct port92 *s = d->state;

	io_region_unmap(&s->io);
}

static const struct dev_type port92_type = {
	.name = "port92",
	.state_size = sizeof(struct port92),
	.create = port92_create,
	.reset = port92_reset,
	.destroy = port92_destroy,
};
DM_DEVICE(port92_type);
