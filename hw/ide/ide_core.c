// SPDX-License-Identifier: MIT
/*
 * ide_core.c - the IDE channel: task-file registers (ATA-6 section 7),
 * device selection, the PIO data port with a bounded data window, software
 * reset via the device control register, interrupts, and dispatch of a
 * command to the ATA or ATAPI command set by device type.
 *
 * Both devices on a channel see every task-file write, as on a real cable;
 * only the selected one answers reads and runs commands.  A command for an
 * absent device is ignored, and ATA-only commands to an ATAPI device abort
 * (ATA-6 9.10: the device sets the ATAPI signature).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ide.h"
#include "dm.h"
#include "log.h"

struct ide_drive *ide_cur(struct ide_bus *bus)
{
	return &bus->drive[bus->cur];
}

/*
 * The alternate status register (ATA-6 7.3) reads the selected device's
 * status without side effects, so the hypervisor may answer it from the
 * dm's mirror (io_mirror_set(); HVM_MSG_SET_PIO_MIRROR).  Republished at
 * every change of the status, of the selected device and of its presence,
 * before any interrupt that announces the change.
 */
static void ide_publish_altstatus(struct ide_bus *bus)
{
	const struct ide_drive *d = ide_cur(bus);
	uint8_t st = d->kind == IDE_NONE ? 0 : d->status;

	io_mirror_set(&bus->ctl_io, 0, st);
	/*
	 * The status register reads the same, and clears INTRQ: without an
	 * interrupt pending that changes nothing, so the hypervisor may answer
	 * it too (libata polls it before every command).  A pending interrupt
	 * takes it back before the line goes up (ide_set_irq).
	 */
	if (bus->irq_pending)
		io_mirror_clear(&bus->cmd_io, 7);
	else
		io_mirror_set(&bus->cmd_io, 7, st);
}

void ide_set_status(struct ide_drive *d, uint8_t status)
{
	d->status = status;
	if (d == ide_cur(d->bus))
		ide_publish_altstatus(d->bus);
}

static void ide_update_irq(struct ide_bus *bus)
{
	irq_set(&bus->irq, bus->irq_pending && !(bus->devctl & IDE_CTL_NIEN));
}

void ide_set_irq(struct ide_bus *bus)
{
	if (bus->bm)
		ide_bm_irq(bus->bm);
	bus->irq_pending = true;
	ide_publish_altstatus(bus); /* status reads go synchronous first */
	ide_update_irq(bus);
}

static void ide_clear_irq(struct ide_bus *bus)
{
	if (!bus->irq_pending)
		return;
	bus->irq_pending = false;
	ide_publish_altstatus(bus);
	ide_update_irq(bus);
}

void ide_pio_stop(struct ide_drive *d)
{
	d->data_pos = 0;
	d->data_end = 0;
	d->end_transfer = NULL;
	ide_set_status(d, d->status & (uint8_t)~IDE_ST_DRQ);
}

void ide_abort(struct ide_drive *d)
{
	ide_pio_stop(d);
	d->io_pending = false;
	ide_set_status(d, IDE_ST_DRDY | IDE_ST_ERR);
	d->error = IDE_ER_ABRT;
	ide_set_irq(d->bus);
}

void ide_done(struct ide_drive *d)
{
	ide_pio_stop(d);
	ide_set_status(d, IDE_ST_DRDY | IDE_ST_DSC);
	ide_set_irq(d->bus);
}

void ide_pio_window(struct ide_drive *d, uint32_t start, uint32_t len, bool irq,
		    void (*end)(struct ide_drive *))
{
	/* Host invariant: a window never leaves the buffer. */
	if (start > IDE_BUF_SIZE)
		start = IDE_BUF_SIZE;
	if (len > IDE_BUF_SIZE - start)
		len = IDE_BUF_SIZE - start;
	d->data_pos = start;
	d->data_end = start + len;
	d->end_transfer = end;
	ide_set_status(d, IDE_ST_DRDY | IDE_ST_DSC | IDE_ST_DRQ);
	if (irq)
		ide_set_irq(d->bus);
}

void ide_pio_start(struct ide_drive *d, uint32_t len, bool irq, void (*end)(struct ide_drive *))
{
	ide_pio_window(d, 0, len, irq, end);
}

void ide_set_signature(struct ide_drive *d)
{
	d->select &= 0xf0; /* clear head */
	d->nsector = 1;
	d->sector = 1;
	if (d->kind == IDE_CDROM) {
		d->lcyl = 0x14;
		d->hcyl = 0xeb;
	} else {
		d->lcyl = 0;
		d->hcyl = 0;
	}
}

uint64_t ide_get_lba(const struct ide_drive *d, bool lba48)
{
	if (lba48)
		return (uint64_t)d->hob_hcyl << 40 | (uint64_t)d->hob_lcyl << 32 |
		       (uint64_t)d->hob_sector << 24 | (uint64_t)d->hcyl << 16 |
		       (uint64_t)d->lcyl << 8 | d->sector;
	return (uint64_t)(d->select & 0x0f) << 24 | (uint64_t)d->hcyl << 16 |
	       (uint64_t)d->lcyl << 8 | d->sector;
}

void ide_set_lba(struct ide_drive *d, uint64_t lba, bool lba48)
{
	d->sector = (uint8_t)lba;
	d->lcyl = (uint8_t)(lba >> 8);
	d->hcyl = (uint8_t)(lba >> 16);
	if (lba48) {
		d->hob_sector = (uint8_t)(lba >> 24);
		d->hob_lcyl = (uint8_t)(lba >> 32);
		d->hob_hcyl = (uint8_t)(lba >> 40);
	} else {
		d->select = (uint8_t)((d->select & 0xf0) | ((lba >> 24) & 0x0f));
	}
}

uint32_t ide_get_nsector(const struct ide_drive *d, bool lba48)
{
	uint32_t n = lba48 ? (uint32_t)d->hob_nsector << 8 | d->nsector : d->nsector;

	if (n == 0)
		n = lba48 ? 65536 : 256;
	return n;
}

void ide_padstr(uint8_t *dst, const char *src, size_t len)
{
	size_t i, n = strlen(src);

	/* ATA strings: space padded, two characters per word, high byte first. */
	for (i = 0; i < len; i++)
		dst[i ^ 1] = i < n ? (uint8_t)src[i] : ' ';
}

/* ---- commands -------------------------------------------------------- */

static void ide_exec(struct ide_bus *bus, uint8_t cmd)
{
	struct ide_drive *d = ide_cur(bus);

	if (d->kind == IDE_NONE)
		return; /* no device answers: the command is lost, as on a real bus */
	if ((d->status & IDE_ST_BSY) && cmd != 0x08)
		return;
	dm_dbg("ide", "ide%u.%u command 0x%02x", bus->index, d->unit, cmd);
	ide_pio_stop(d);
	d->error = 0;
	if (cmd == 0x90) { /* EXECUTE DEVICE DIAGNOSTIC: both devices, signature */
		ide_set_signature(d);
		d->error = 0x01; /* passed */
		ide_set_status(d, d->kind == IDE_CDROM ? 0 : IDE_ST_DRDY | IDE_ST_DSC);
		ide_set_irq(bus);
		return;
	}
	if (d->kind == IDE_CDROM ? ide_atapi_exec(d, cmd) : ide_ata_exec(d, cmd))
		return;
	dm_guest_err("ide", "ide%u.%u: command 0x%02x aborted", bus->index, d->unit, cmd);
	if (d->kind == IDE_CDROM)
		ide_set_signature(d);
	ide_abort(d);
}

/* ---- data port ------------------------------------------------------- */

static void ide_data_advance(struct ide_drive *d)
{
	if (d->data_pos < d->data_end)
		return;
	ide_set_status(d, d->status & (uint8_t)~IDE_ST_DRQ);
	if (d->end_transfer) {
		void (*end)(struct ide_drive *) = d->end_transfer;

		d->end_transfer = NULL;
		end(d);
	}
}

static uint32_t ide_data_read(struct ide_bus *bus, unsigned size)
{
	struct ide_drive *d = ide_cur(bus);
	uint32_t v = 0;

	if (!(d->status & IDE_ST_DRQ) || d->data_pos >= d->data_end || !d->buf)
		return 0xffffffffu >> (32 - size * 8);
	if (size > d->data_end - d->data_pos)
		size = d->data_end - d->data_pos;
	memcpy(&v, d->buf + d->data_pos, size);
	d->data_pos += size;
	ide_data_advance(d);
	return v;
}

static void ide_data_write(struct ide_bus *bus, uint32_t v, unsigned size)
{
	struct ide_drive *d = ide_cur(bus);

	if (!(d->status & IDE_ST_DRQ) || d->data_pos >= d->data_end || !d->buf)
		return;
	if (size > d->data_end - d->data_pos)
		size = d->data_end - d->data_pos;
	memcpy(d->buf + d->data_pos, &v, size);
	d->data_pos += size;
	ide_data_advance(d);
}

/* ---- task file ------------------------------------------------------- */

static bool ide_bus_empty(const struct ide_bus *bus)
{
	return bus->drive[0].kind == IDE_NONE && bus->drive[1].kind == IDE_NONE;
}

uint32_t ide_cmd_read(struct ide_bus *bus, unsigned reg, unsigned size)
{
	struct ide_drive *d = ide_cur(bus);
	bool hob = bus->devctl & IDE_CTL_HOB;

	if (reg == 0)
		return ide_data_read(bus, size);
	if (ide_bus_empty(bus))
		return 0;
	switch (reg) {
	case 1:
		return hob ? d->hob_feature : d->error;
	case 2:
		return hob ? d->hob_nsector : d->nsector;
	case 3:
		return hob ? d->hob_sector : d->sector;
	case 4:
		return hob ? d->hob_lcyl : d->lcyl;
	case 5:
		return hob ? d->hob_hcyl : d->hcyl;
	case 6:
		return d->select;
	case 7:
		ide_clear_irq(bus);
		return d->kind == IDE_NONE ? 0 : d->status;
	case 8: /* alternate status: no side effect */
		return d->kind == IDE_NONE ? 0 : d->status;
	}
	return 0xff;
}

/* Both devices latch task-file writes; the previous value moves to HOB. */
#define IDE_LATCH(field)                                                 \
	do {                                                             \
		for (i = 0; i < 2; i++) {                                \
			bus->drive[i].hob_##field = bus->drive[i].field; \
			bus->drive[i].field = (uint8_t)val;              \
		}                                                        \
	} while (0)

/*
 * A request still with the block layer may store into guest memory the
 * guest takes back once it sees the reset (or into d->buf), and its struct
 * (d->req) is what the next command fills in.  Disown it, so its completion
 * changes nothing, and wait for it: the reset is not visible to the guest
 * (its status reads wait for this write to be handled) before the request
 * has finished.
 */
void ide_drive_quiesce(struct ide_drive *d)
{
	d->io_pending = false;
	if (d->blk)
		blk_drain(d->blk);
}

void ide_bus_dma_stopped(struct ide_bus *bus)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		struct ide_drive *d = &bus->drive[i];

		/* Still owned: the completion sees the engine stopped and ends the command. */
		if (d->io_pending && d->blk)
			blk_drain(d->blk);
	}
}

static void ide_soft_reset(struct ide_bus *bus)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		struct ide_drive *d = &bus->drive[i];

		ide_drive_quiesce(d);
		ide_pio_stop(d);
		d->mult_sectors = IDE_MAX_MULT;
		ide_set_signature(d);
		d->error = 0x01;
		ide_set_status(d, d->kind == IDE_DISK ? IDE_ST_DRDY | IDE_ST_DSC : 0);
		if (d->kind == IDE_CDROM)
			ide_atapi_reset(d);
	}
	bus->dma_start = NULL;
	bus->dma_ready = false;
	bus->cur = 0;
	ide_publish_altstatus(bus);
}

static void ide_ctl_write(struct ide_bus *bus, uint8_t val)
{
	unsigned i;

	if ((val & IDE_CTL_SRST) && !(bus->devctl & IDE_CTL_SRST)) {
		for (i = 0; i < 2; i++) {
			ide_drive_quiesce(&bus->drive[i]);
			ide_set_status(&bus->drive[i], IDE_ST_BSY | IDE_ST_DSC);
		}
	} else if (!(val & IDE_CTL_SRST) && (bus->devctl & IDE_CTL_SRST)) {
		ide_soft_reset(bus);
	}
	bus->devctl = val;
	ide_update_irq(bus);
}

void ide_cmd_write(struct ide_bus *bus, unsigned reg, uint32_t val, unsigned size)
{
	unsigned i;

	if (reg == 0) {
		ide_data_write(bus, val, size);
		return;
	}
	if (reg == 8) {
		ide_ctl_write(bus, (uint8_t)val);
		return;
	}
	bus->devctl &= (uint8_t)~IDE_CTL_HOB; /* ATA-6 7.9: a register write clears HOB */
	switch (reg) {
	case 1:
		IDE_LATCH(feature);
		break;
	case 2:
		IDE_LATCH(nsector);
		break;
	case 3:
		IDE_LATCH(sector);
		break;
	case 4:
		IDE_LATCH(lcyl);
		break;
	case 5:
		IDE_LATCH(hcyl);
		break;
	case 6:
		for (i = 0; i < 2; i++)
			bus->drive[i].select =
				(uint8_t)((val & ~IDE_DEV_DEV) | 0xa0 | (i ? IDE_DEV_DEV : 0));
		bus->cur = (val >> 4) & 1;
		ide_publish_altstatus(bus);
		break;
	case 7:
		ide_clear_irq(bus);
		ide_exec(bus, (uint8_t)val);
		break;
	}
}

/* ---- legacy ports ---------------------------------------------------- */

/*
 * Only the data register (offset 0) is 16/32 bits wide.  The others are
 * 8-bit registers on an ISA-style bus, where a wider access becomes byte
 * cycles at rising addresses: a word written to the sector count register
 * latches the LBA low byte too.
 */
static uint64_t ide_cmd_io_read(void *opaque, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	if (off == 0)
		return ide_cmd_read(opaque, 0, size);
	for (unsigned i = 0; i < size && off + i < 8; i++)
		v |= (uint64_t)(ide_cmd_read(opaque, (unsigned)off + i, 1) & 0xff) << (8 * i);
	return v;
}

static void ide_cmd_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	if (off == 0) {
		ide_cmd_write(opaque, 0, (uint32_t)val, size);
		return;
	}
	for (unsigned i = 0; i < size && off + i < 8; i++)
		ide_cmd_write(opaque, (unsigned)off + i, (uint32_t)(val >> (8 * i)) & 0xff, 1);
}

static uint64_t ide_ctl_io_read(void *opaque, uint64_t off, unsigned size)
{
	return ide_cmd_read(opaque, 8, 1);
}

static void ide_ctl_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	ide_cmd_write(opaque, 8, (uint32_t)val, 1);
}

/* Status (offset 7) while no interrupt is pending: see ide_publish_altstatus(). */
static const struct io_mirror_reg ide_cmd_mirrored[] = {
	{ .off = 7, .size = 1 },
};

/*
 * Features, sector count and LBA (1-5) change no mirrored register.  The
 * device register (6) selects whose status shows, here and at the
 * alternate status port, but only through its DEV bit, which nothing else
 * changes but SRST (a synchronous device control write); libata rewrites
 * it unchanged before every command.  A command (7) changes the status
 * (any) but never the selection.  Until the drive has taken a command it is
 * BSY (ATA8-ACS 4.x: BSY within 400 ns of the write), and the status and
 * alternate status reads that libata makes right after the write (the
 * 400 ns pause) may see just that; reading status clears INTRQ, which the
 * command write does too.
 */
static const struct io_post_effect ide_cmd_effects[] = {
	{ .off = 1, .len = 5, .mirrored = 0 },
	{ .off = 6, .len = 1, .any = true, .quiet_mask = IDE_DEV_DEV },
	{ .off = 7,
	  .len = 1,
	  .any = true,
	  .busy = IDE_ST_BSY,
	  .busy_mirrored = 0x01,
	  .busy_linked = true },
};

/* Offset 0 (data) takes 16- and 32-bit accesses; the dispatcher splits the rest. */
static const struct io_ops ide_cmd_ops = {
	.read = ide_cmd_io_read,
	.write = ide_cmd_io_write,
	.min_size = 1,
	.max_size = 4,
	.allow_unaligned = true,
	/*
	 * Features, sector count, LBA low/mid/high and device (offsets 1-6)
	 * only latch (ATA-6 7.x; ide_cmd_write), so the hypervisor may post
	 * them; data (0) moves bytes and stays synchronous.
	 */
	.posted_writes = 0x7e,
	/*
	 * Command (7) starts the command and returns nothing: posted, with an
	 * immediate signal to the dm.  The guest sees its effect only through
	 * later reads (status, alternate status, data), which wait for the
	 * ring to drain, and through the interrupt (see SET_URGENT_PIO in
	 * include/hvm/setup.h for the whole argument).
	 */
	.urgent_writes = 0x80,
	.mirrored = ide_cmd_mirrored,
	.nr_mirrored = 1,
	.post_effects = ide_cmd_effects,
	.nr_post_effects = 3,
};

static const struct io_mirror_reg ide_ctl_mirrored[] = {
	{ .off = 0, .size = 1 }, /* alternate status (reads); device control (writes) */
};

static const struct io_ops ide_ctl_ops = {
	.read = ide_ctl_io_read,
	.write = ide_ctl_io_write,
	.min_size = 1,
	.max_size = 1,
	.mirrored = ide_ctl_mirrored,
	.nr_mirrored = 1,
};

void ide_bus_init(struct ide_bus *bus, struct dm *dm, unsigned index, uint32_t gsi)
{
	unsigned i;

	memset(bus, 0, sizeof(*bus));
	bus->dm = dm;
	bus->index = index;
	irq_line_init(&bus->irq, dm, gsi);
	io_region_init(&bus->cmd_io, &ide_cmd_ops, bus, index ? "ide1" : "ide0", 8);
	io_region_init(&bus->ctl_io, &ide_ctl_ops, bus, index ? "ide1-ctl" : "ide0-ctl", 1);
	bus->cmd_io.linked = &bus->ctl_io; /* alternate status: busy after a command */
	for (i = 0; i < 2; i++) {
		bus->drive[i].bus = bus;
		bus->drive[i].unit = i;
	}
	ide_publish_altstatus(bus);
}

int ide_bus_map_legacy(struct ide_bus *bus, uint16_t cmd_base, uint16_t ctl_base)
{
	int err = io_region_map(bus->dm, &bus->cmd_io, IO_PIO, cmd_base);

	if (!err)
		err = io_region_map(bus->dm, &bus->ctl_io, IO_PIO, ctl_base);
	return err;
}

void ide_bus_unmap(struct ide_bus *bus)
{
	io_region_unmap(&bus->cmd_io);
	io_region_unmap(&bus->ctl_io);
}

void ide_bus_reset(struct ide_bus *bus)
{
	bus->devctl = 0;
	ide_soft_reset(bus);
	ide_clear_irq(bus);
}

static void ide_default_geometry(struct ide_drive *d)
{
	uint64_t cyls = d->nb_sectors / (16 * 63);

	d->heads = 16;
	d->secs = 63;
	d->cyls = (uint16_t)(cyls > 16383 ? 16383 : cyls < 1 ? 1 : cyls);
	d->cur_heads = d->heads;
	d->cur_secs = d->secs;
}

int ide_drive_attach(struct ide_bus *bus, unsigned unit, enum ide_kind kind, struct blk *blk,
		     bool readonly)
{
	struct ide_drive *d = &bus->drive[unit & 1];

	d->buf = calloc(1, IDE_BUF_SIZE);
	if (!d->buf)
		return -ENOMEM;
	d->kind = kind;
	d->blk = blk;
	d->readonly = readonly || (blk && blk_readonly(blk));
	d->nb_sectors = blk ? blk_size(blk) / IDE_SECTOR : 0;
	d->write_cache = true;
	snprintf(d->serial, sizeof(d->serial), "HVM%05u%u%u", bus->dm->cfg.domid, bus->index, unit);
	snprintf(d->model, sizeof(d->model), "%s",
		 kind == IDE_CDROM ? "HVMDM DVD-ROM" : "HVMDM HARDDISK");
	snprintf(d->fwrev, sizeof(d->fwrev), "0.1");
	ide_default_geometry(d);
	ide_publish_altstatus(bus);
	return 0;
}

void ide_drive_detach(struct ide_drive *d)
{
	ide_drive_quiesce(d);
	if (d->blk)
		blk_close(d->blk);
	d->blk = NULL;
	free(d->buf);
	d->buf = NULL;
	d->kind = IDE_NONE;
	ide_publish_altstatus(d->bus);
}
