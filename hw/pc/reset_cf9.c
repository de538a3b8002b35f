// SPDX-License-Identifier: MIT
/*
 * reset_cf9.c - the Reset Control Register at I/O port 0xCF9 (PIIX3
 * datasheet section 4.1.3, RCR) as a stand-alone device, for machines
 * without a PIIX3 (on the "pc" machine hw/pci/piix3.c decodes 0xCF9, which
 * shares the dword of CONFIG_ADDRESS).  Device type "reset-cf9".
 *
 * Emulated: a write with RST_CPU (bit 2) set requests a system reset (SYS_RST,
 * bit 1, picks hard or soft reset on real hardware; here every reset is a
 * reboot of the domain, as qemu-dm under Xen does it); SYS_RST is stored and
 * read back, RST_CPU reads as 0.  The register clears on reset.
 */
#include <stdint.h>

#include "device.h"
#include "dm.h"
#include "iospace.h"
#include "log.h"

#define MOD "reset-cf9"
#define RCR_PORT 0xcf9
#define RCR_SYS_RST 0x02
#define RCR_RST_CPU 0x04

struct reset_cf9 {
	struct dm *dm;
	struct io_region io;
	uint8_t rcr;
};

static uint64_t reset_cf9_read(void *opaque, uint64_t off, unsigned size)
{
	struct reset_cf9 *s = opaque;

	(void)off;
	(void)size;
	return s->rcr;
}

static void reset_cf9_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct reset_cf9 *s = opaque;

	(void)off;
	(void)size;
	if (val & RCR_RST_CPU) {
		dm_info(MOD, "reset requested through port 0xCF9 (0x%02x)", (unsigned)(val & 0xff));
		dm_request_reset(s->dm);
		return;
	}
	s->rcr = val & RCR_SYS_RST;
}

static const struct io_ops reset_cf9_ops = {
	.read = reset_cf9_read,
	.write = reset_cf9_write,
	.min_size = 1,
	.max_size = 1,
};

static void reset_cf9_reset(struct dev *d, enum dev_reset kind)
{
	struct reset_cf9 *s = d->state;

	(void)kind;
	s->rcr = 0;
}

static int reset_cf9_create(struct dev *d, const struct opts *o)
{
	struct reset_cf9 *s = d->state;

	(void)o;
	s->dm = d->dm;
	io_region_init(&s->io, &reset_cf9_ops, s, "reset-cf9", 1);
	return io_region_map(s->dm, &s->io, IO_PIO, RCR_PORT);
}

static void reset_cf9_destroy(struct dev *d)
{
	struct reset_cf9 *s = d->state;

	io_region_unmap(&s->io);
}

static const struct dev_type reset_cf9_type = {
	.name = "reset-cf9",
	.state_size = sizeof(struct reset_cf9),
	.create = reset_cf9_create,
	.reset = reset_cf9_reset,
	.destroy = reset_cf9_destroy,
};
DM_DEVICE(reset_cf9_type);
