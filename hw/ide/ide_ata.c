// SPDX-License-Identifier: MIT
/*
 * ide_ata.c - ATA disk commands (ATA/ATAPI-6 chapter 8): IDENTIFY DEVICE,
 * READ/WRITE SECTORS, MULTIPLE and DMA (28- and 48-bit), READ VERIFY, FLUSH
 * CACHE, SET FEATURES, INITIALIZE DEVICE PARAMETERS, SET MULTIPLE MODE,
 * power management, READ NATIVE MAX ADDRESS, SMART.  Not emulated: security,
 * HPA changes (SET MAX), TRIM, queued commands.
 *
 * Every sector range is checked against the disk size with 64-bit math
 * before any I/O; a CHS address with zero sectors-per-track is refused.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "ide.h"
#include "dm.h"
#include "log.h"

#define ATA_SMART_MAGIC_LO 0x4f
#define ATA_SMART_MAGIC_HI 0xc2
#define ATA_SELFTEST_ENTRIES 21 /* SMART self-test log: 21 descriptors of 24 bytes */

static void put16(uint8_t *id, unsigned word, uint16_t v)
{
	id[word * 2] = (uint8_t)v;
	id[word * 2 + 1] = (uint8_t)(v >> 8);
}

void ide_ata_identify(struct ide_drive *d)
{
	uint8_t *id = d->buf;
	uint64_t lba28 = d->nb_sectors > 0x0fffffff ? 0x0fffffff : d->nb_sectors;
	uint64_t chs = (uint64_t)d->cur_heads * d->cur_secs * d->cyls;
	unsigned mode = d->xfer_mode;

	memset(id, 0, 512);
	put16(id, 0, 0x0040); /* fixed device */
	put16(id, 1, d->cyls);
	put16(id, 3, d->heads);
	put16(id, 6, d->secs);
	ide_padstr(id + 20, d->serial, 20);
	put16(id, 20, 3); /* buffer type */
	put16(id, 21, 512);
	put16(id, 22, 4);
	ide_padstr(id + 46, d->fwrev, 8);
	ide_padstr(id + 54, d->model, 40);
	put16(id, 47, 0x8000 | IDE_MAX_MULT);
	put16(id, 48, 1);				/* dword I/O */
	put16(id, 49, (1 << 11) | (1 << 9) | (1 << 8)); /* IORDY, LBA, DMA */
	put16(id, 51, 0x200);
	put16(id, 52, 0x200);
	put16(id, 53, 1 | 2 | 4); /* words 54-58, 64-70, 88 valid */
	put16(id, 54, d->cyls);
	put16(id, 55, d->cur_heads);
	put16(id, 56, d->cur_secs);
	put16(id, 57, (uint16_t)chs);
	put16(id, 58, (uint16_t)(chs >> 16));
	put16(id, 59, d->mult_sectors ? 0x100 | d->mult_sectors : 0);
	put16(id, 60, (uint16_t)lba28);
	put16(id, 61, (uint16_t)(lba28 >> 16));
	put16(id, 62, 0x07);
	put16(id, 63, 0x07 | ((mode >> 3) == 4 ? 0x100 << (mode & 7) : 0));
	put16(id, 64, 0x03); /* PIO 3 and 4 */
	put16(id, 65, 120);
	put16(id, 66, 120);
	put16(id, 67, 120);
	put16(id, 68, 120);
	put16(id, 80, 0xf0); /* ATA-4 to ATA-7 */
	put16(id, 81, 0x16);
	put16(id, 82, (1 << 14) | (1 << 5) | 1);		      /* NOP, write cache, SMART */
	put16(id, 83, (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10)); /* FLUSH EXT, FLUSH, LBA48 */
	put16(id, 84, 1 << 14);
	put16(id, 85, (1 << 14) | (d->write_cache ? 1 << 5 : 0) | (d->smart_enabled ? 1 : 0));
	put16(id, 86, (1 << 13) | (1 << 12) | (1 << 10));
	put16(id, 87, 1 << 14);
	put16(id, 88, 0x3f | ((mode >> 3) == 8 ? 0x100 << (mode & 7) : 0));
	put16(id, 93, 1 | (1 << 14) | (1 << 13)); /* 80-conductor cable detected */
	put16(id, 100, (uint16_t)d->nb_sectors);
	put16(id, 101, (uint16_t)(d->nb_sectors >> 16));
	put16(id, 102, (uint16_t)(d->nb_sectors >> 32));
	put16(id, 103, (uint16_t)(d->nb_sectors >> 48));
}

/* ---- sector transfers ------------------------------------------------ */

static bool ata_is_lba48(uint8_t cmd)
{
	switch (cmd) {
	case 0x24:
	case 0x25:
	case 0x29:
	case 0x34:
	case 0x35:
	case 0x39:
	case 0x42:
		return true;
	}
	return false;
}

static void ata_rw_error(struct ide_drive *d, int err)
{
	dm_warn("ide", "ide%u.%u: %s error at sector %llu: %s", d->bus->index, d->unit,
		d->is_write ? "write" : "read", (unsigned long long)d->lba, strerror(-err));
	ide_pio_stop(d);
	d->io_pending = false;
	ide_set_status(d, IDE_ST_DRDY | IDE_ST_ERR);
	d->error = d->is_write ? IDE_ER_ABRT : IDE_ER_UNC;
	ide_set_lba(d, d->lba, ata_is_lba48(d->cmd));
	if (d->dma && d->bus->bm)
		ide_bm_done(d->bus->bm, true); /* an error stops the engine */
	ide_set_irq(d->bus);
}

static void ata_submit(struct ide_drive *d, enum blk_op op, uint32_t sectors,
		       void (*done)(struct blk_req *, int));

/* Sectors in the next PIO block: one, or the MULTIPLE block size. */
static uint32_t ata_block(const struct ide_drive *d, bool multiple)
{
	uint32_t n = multiple && d->mult_sectors ? d->mult_sectors : 1;

	return n < d->remaining ? n : d->remaining;
}

static bool ata_is_multiple(uint8_t cmd)
{
	return cmd == 0xc4 || cmd == 0xc5 || cmd == 0x29 || cmd == 0x39;
}

static void ata_pio_read_next(struct ide_drive *d);
static void ata_pio_write_done(struct ide_drive *d);

/* A completion is ours only if no reset or new command happened since. */
static struct ide_drive *ata_req_owner(struct blk_req *req)
{
	struct ide_drive *d = req->opaque;

	if (!d || !d->io_pending)
		return NULL;
	d->io_pending = false;
	return d;
}

static void ata_pio_read_cb(struct blk_req *req, int err)
{
	struct ide_drive *d = ata_req_owner(req);

	if (!d)
		return;
	if (err) {
		ata_rw_error(d, err);
		return;
	}
	d->lba += d->chunk;
	d->remaining -= d->chunk;
	d->stats.rd_bytes += (uint64_t)d->chunk * IDE_SECTOR;
	if (!d->remaining)
		d->stats.rd_ops++;
	/* After the last block DRQ just clears: no further interrupt (ATA-6 9.7). */
	ide_pio_start(d, d->chunk * IDE_SECTOR, true,
		      d->remaining ? ata_pio_read_next : ide_pio_stop);
}

static void ata_pio_read_next(struct ide_drive *d)
{
	d->chunk = ata_block(d, ata_is_multiple(d->cmd));
	ata_submit(d, BLK_READ, d->chunk, ata_pio_read_cb);
}

static void ata_pio_write_cb(struct blk_req *req, int err)
{
	struct ide_drive *d = ata_req_owner(req);

	if (!d)
		return;
	if (err) {
		ata_rw_error(d, err);
		return;
	}
	d->lba += d->chunk;
	d->remaining -= d->chunk;
	d->stats.wr_bytes += (uint64_t)d->chunk * IDE_SECTOR;
	if (!d->remaining) {
		d->stats.wr_ops++;
		ide_done(d);
		return;
	}
	d->chunk = ata_block(d, ata_is_multiple(d->cmd));
	ide_pio_start(d, d->chunk * IDE_SECTOR, true, ata_pio_write_done);
}

static void ata_pio_write_done(struct ide_drive *d)
{
	ata_submit(d, BLK_WRITE, d->chunk, ata_pio_write_cb);
}

/* Submit op at d->lba on iov; an error is reported to the guest at once. */
static void ata_submit_iov(struct ide_drive *d, enum blk_op op, const struct iovec *iov, int cnt,
			   bool direct, void (*done)(struct blk_req *, int))
{
	struct blk_req *req = &d->req;
	int err;

	memset(req, 0, sizeof(*req));
	req->op = op;
	req->offset = d->lba * IDE_SECTOR;
	if (cnt)
		memcpy(req->iov, iov, (size_t)cnt * sizeof(*iov));
	req->iovcnt = cnt;
	req->done = done;
	req->opaque = d;
	ide_set_status(d, IDE_ST_BSY | IDE_ST_DRDY | IDE_ST_DSC);
	d->io_pending = true;
	d->dma_direct = direct; /* before submitting: sync mode completes inside */
	err = blk_submit(d->blk, req);
	if (err) {
		d->io_pending = false;
		d->dma_direct = false;
		ata_rw_error(d, err);
	}
}

static void ata_submit(struct ide_drive *d, enum blk_op op, uint32_t sectors,
		       void (*done)(struct blk_req *, int))
{
	struct iovec iov = { d->buf, (size_t)sectors * IDE_SECTOR };

	ata_submit_iov(d, op, &iov, op == BLK_FLUSH ? 0 : 1, false, done);
}

/* ---- DMA ------------------------------------------------------------- */

static void ata_dma_step(struct ide_drive *d);

/*
 * A direct read stored into guest RAM whatever became of the command (a
 * reset may have disowned it): mark the pages before anything can raise
 * the completion interrupt, so the CPU sees code DMA overwrote.
 */
static bool ata_dma_direct_end(struct blk_req *req)
{
	struct ide_drive *d = (struct ide_drive *)((char *)req - offsetof(struct ide_drive, req));

	if (!d->dma_direct)
		return false;
	d->dma_direct = false;
	if (req->op == BLK_READ && d->bus->bm)
		ide_bm_mark_written(d->bus->bm, &d->sg);
	return true;
}

static void ata_dma_cb(struct blk_req *req, int err)
{
	bool direct = ata_dma_direct_end(req);
	struct ide_drive *d = ata_req_owner(req);
	uint32_t bytes;
	int64_t moved;

	if (!d)
		return;
	if (err) {
		ata_rw_error(d, err);
		return;
	}
	bytes = d->chunk * IDE_SECTOR;
	if (!d->is_write) {
		/* Direct: the bytes are in place; a stopped engine still fails it. */
		if (direct)
			moved = ide_bm_active(d->bus->bm) ? (int64_t)bytes : -1;
		else
			moved = ide_bm_transfer(d->bus->bm, d->buf, bytes, true);
		if (moved != bytes) {
			/* The PRD table ran out (or hit non-RAM) before the sectors did. */
			ide_set_status(d, IDE_ST_DRDY | IDE_ST_ERR);
			d->error = IDE_ER_ABRT;
			ide_bm_done(d->bus->bm, true);
			ide_set_irq(d->bus);
			return;
		}
	}
	d->lba += d->chunk;
	d->remaining -= d->chunk;
	if (d->is_write)
		d->stats.wr_bytes += bytes;
	else
		d->stats.rd_bytes += bytes;
	d->stats.dma_bytes += bytes;
	if (!d->remaining) {
		if (d->is_write)
			d->stats.wr_ops++;
		else
			d->stats.rd_ops++;
	}
	ata_dma_step(d);
}

static void ata_dma_step(struct ide_drive *d)
{
	uint32_t bytes;
	int64_t moved;

	if (!d->remaining) {
		ide_set_status(d, IDE_ST_DRDY | IDE_ST_DSC);
		ide_bm_done(d->bus->bm, false);
		ide_set_irq(d->bus);
		return;
	}
	d->chunk = d->remaining < IDE_BUF_SECTORS ? d->remaining : IDE_BUF_SECTORS;
	bytes = d->chunk * IDE_SECTOR;
	/*
	 * The PRD table maps the whole chunk into guest RAM: the image is read
	 * into, or written from, guest memory directly.  Anything else (non-RAM,
	 * a short table) takes the bounce path below, which reports it.
	 */
	if (!ide_bm_map(d->bus->bm, bytes, &d->sg)) {
		ata_submit_iov(d, d->is_write ? BLK_WRITE : BLK_READ, d->sg.iov, d->sg.cnt, true,
			       ata_dma_cb);
		return;
	}
	if (d->is_write) {
		moved = ide_bm_transfer(d->bus->bm, d->buf, bytes, false);
		if (moved != bytes) {
			ide_set_status(d, IDE_ST_DRDY | IDE_ST_ERR);
			d->error = IDE_ER_ABRT;
			ide_bm_done(d->bus->bm, true);
			ide_set_irq(d->bus);
			return;
		}
	}
	ata_submit(d, d->is_write ? BLK_WRITE : BLK_READ, d->chunk, ata_dma_cb);
}

/* Called by the bus master when its start bit is set with a DMA command waiting. */
static void ata_dma_start(struct ide_drive *d)
{
	ata_dma_step(d);
}

/* ---- command handlers ------------------------------------------------ */

/* Address and count of a sector command, validated.  false: aborted with IDNF. */
static bool ata_range(struct ide_drive *d, bool lba48, uint64_t *lba, uint32_t *count)
{
	*count = ide_get_nsector(d, lba48);
	if (lba48 || (d->select & IDE_DEV_LBA)) {
		*lba = ide_get_lba(d, lba48);
	} else {
		uint32_t cyl = (uint32_t)d->hcyl << 8 | d->lcyl, head = d->select & 0x0f;

		if (!d->cur_secs || !d->cur_heads || d->sector == 0 || d->sector > d->cur_secs ||
		    head >= d->cur_heads)
			goto idnf;
		*lba = ((uint64_t)cyl * d->cur_heads + head) * d->cur_secs + d->sector - 1;
	}
	if (*lba <= d->nb_sectors && *count <= d->nb_sectors - *lba)
		return true;
idnf:
	dm_guest_err("ide", "ide%u.%u: sector range outside the disk", d->bus->index, d->unit);
	ide_pio_stop(d);
	ide_set_status(d, IDE_ST_DRDY | IDE_ST_ERR);
	d->error = IDE_ER_IDNF | IDE_ER_ABRT;
	ide_set_irq(d->bus);
	return false;
}

static void ata_start_rw(struct ide_drive *d, uint8_t cmd, bool write, bool dma)
{
	uint64_t lba;
	uint32_t count;

	if (!d->blk) {
		ide_abort(d);
		return;
	}
	if (write && d->readonly) {
		dm_guest_err("ide", "ide%u.%u: write to a read-only disk", d->bus->index, d->unit);
		ide_abort(d);
		return;
	}
	if (ata_is_multiple(cmd) && !d->mult_sectors) {
		ide_abort(d);
		return;
	}
	if (!ata_range(d, ata_is_lba48(cmd), &lba, &count))
		return;
	d->cmd = cmd;
	d->lba = lba;
	d->remaining = count;
	d->is_write = write;
	d->dma = dma;
	if (dma) {
		ide_set_status(d, IDE_ST_DRDY | IDE_ST_DSC | IDE_ST_BSY);
		d->bus->dma_start = ata_dma_start;
		if (d->bus->bm && ide_bm_active(d->bus->bm)) {
			d->bus->dma_start = NULL;
			ata_dma_start(d);
		}
		return;
	}
	if (write) {
		d->chunk = ata_block(d, ata_is_multiple(cmd));
		ide_pio_start(d, d->chunk * IDE_SECTOR, false, ata_pio_write_done);
	} else {
		ata_pio_read_next(d);
	}
}

static void ata_verify(struct ide_drive *d, bool lba48)
{
	uint64_t lba;
	uint32_t count;

	if (ata_range(d, lba48, &lba, &count))
		ide_done(d);
}

static void ata_flush_cb(struct blk_req *req, int err)
{
	struct ide_drive *d = ata_req_owner(req);

	if (!d)
		return;
	if (err) {
		dm_warn("ide", "ide%u.%u: flush failed: %s", d->bus->index, d->unit,
			strerror(-err));
		ide_set_status(d, IDE_ST_DRDY | IDE_ST_ERR);
		d->error = IDE_ER_ABRT;
		ide_set_irq(d->bus);
		return;
	}
	d->stats.flush_ops++;
	ide_done(d);
}

static void ata_set_features(struct ide_drive *d)
{
	switch (d->feature) {
	case 0x02: /* enable write cache */
	case 0x82: /* disable write cache */
		d->write_cache = d->feature == 0x02;
		break;
	case 0x03: { /* set transfer mode: nsector = mode class << 3 | mode */
		uint8_t cls = d->nsector >> 3, m = d->nsector & 7;

		if ((cls == 0 || cls == 1) || (cls == 2 && m <= 2) || (cls == 4 && m <= 2) ||
		    (cls == 8 && m <= 5)) {
			d->xfer_mode = d->nsector;
			break;
		}
		ide_abort(d);
		return;
	}
	case 0x55:
	case 0xaa:
	case 0x66:
	case 0xcc:
	case 0x05:
	case 0x85:
	case 0x31:
	case 0x42:
		break; /* look-ahead, defaults, APM, media status: accepted as no-ops */
	default:
		ide_abort(d);
		return;
	}
	ide_done(d);
}

static void ata_smart(struct ide_drive *d)
{
	if (d->lcyl != ATA_SMART_MAGIC_LO || d->hcyl != ATA_SMART_MAGIC_HI ||
	    (!d->smart_enabled && d->feature != 0xd8)) {
		ide_abort(d);
		return;
	}
	switch (d->feature) {
	case 0xd8: /* enable */
	case 0xd9: /* disable */
		d->smart_enabled = d->feature == 0xd8;
		ide_done(d);
		return;
	case 0xd2: /* attribute autosave */
	case 0xd3:
		ide_done(d);
		return;
	case 0xda: /* return status: magic left in place means "threshold not exceeded" */
		ide_done(d);
		return;
	case 0xd4: /* execute off-line immediate: the self-test log index is bounded */
		d->smart_selftest_count =
			(uint8_t)((d->smart_selftest_count + 1) % ATA_SELFTEST_ENTRIES);
		ide_done(d);
		return;
	case 0xd0: /* read data */
	case 0xd1: /* read thresholds */
	case 0xd5: /* read log: every log page reads as an empty, valid page */
		memset(d->buf, 0, IDE_SECTOR);
		d->buf[0] = 0x01; /* revision */
		if (d->feature == 0xd0)
			d->buf[362] = 0x82; /* off-line collection completed */
		{
			uint8_t sum = 0;
			unsigned i;

			for (i = 0; i < 511; i++)
				sum = (uint8_t)(sum + d->buf[i]);
			d->buf[511] = (uint8_t)-sum;
		}
		ide_pio_start(d, IDE_SECTOR, true, ide_pio_stop);
		return;
	}
	ide_abort(d);
}

static void ata_native_max(struct ide_drive *d, bool lba48)
{
	uint64_t max = d->nb_sectors ? d->nb_sectors - 1 : 0;

	if (!lba48 && max > 0x0fffffff)
		max = 0x0fffffff;
	ide_set_lba(d, max, lba48);
	ide_done(d);
}

bool ide_ata_exec(struct ide_drive *d, uint8_t cmd)
{
	switch (cmd) {
	case 0xec: /* IDENTIFY DEVICE */
		ide_ata_identify(d);
		ide_pio_start(d, IDE_SECTOR, true, ide_pio_stop);
		return true;
	case 0x20:
	case 0x21:
	case 0x24:
	case 0xc4:
	case 0x29:
		ata_start_rw(d, cmd, false, false);
		return true;
	case 0x30:
	case 0x31:
	case 0x34:
	case 0xc5:
	case 0x39:
		ata_start_rw(d, cmd, true, false);
		return true;
	case 0xc8:
	case 0xc9:
	case 0x25:
		ata_start_rw(d, cmd, false, true);
		return true;
	case 0xca:
	case 0xcb:
	case 0x35:
		ata_start_rw(d, cmd, true, true);
		return true;
	case 0x40:
	case 0x41:
	case 0x42: /* READ VERIFY SECTORS (EXT) */
		ata_verify(d, cmd == 0x42);
		return true;
	case 0xe7:
	case 0xea: /* FLUSH CACHE (EXT): reaches stable storage */
		if (!d->blk || d->readonly) {
			ide_done(d);
			return true;
		}
		ata_submit(d, BLK_FLUSH, 0, ata_flush_cb);
		return true;
	case 0xef:
		ata_set_features(d);
		return true;
	case 0x91: /* INITIALIZE DEVICE PARAMETERS */
		d->cur_heads = (uint16_t)((d->select & 0x0f) + 1);
		d->cur_secs = d->nsector;
		ide_done(d);
		return true;
	case 0xc6: /* SET MULTIPLE MODE: 0 disables, powers of two up to the maximum */
		if (d->nsector > IDE_MAX_MULT || (d->nsector & (d->nsector - 1))) {
			ide_abort(d);
			return true;
		}
		d->mult_sectors = d->nsector;
		ide_done(d);
		return true;
	case 0xe0:
	case 0xe2:
	case 0xe6:
	case 0x94:
	case 0x96:
	case 0x99: /* standby, sleep */
		d->standby = true;
		ide_done(d);
		return true;
	case 0xe1:
	case 0xe3:
	case 0x95:
	case 0x97: /* idle */
		d->standby = false;
		ide_done(d);
		return true;
	case 0xe5:
	case 0x98: /* CHECK POWER MODE */
		d->nsector = d->standby ? 0x00 : 0xff;
		ide_done(d);
		return true;
	case 0xf8:
		ata_native_max(d, false);
		return true;
	case 0x27:
		ata_native_max(d, true);
		return true;
	case 0xb0:
		ata_smart(d);
		return true;
	case 0x70:	    /* SEEK */
	case 0x10 ... 0x1f: /* RECALIBRATE */
		ide_done(d);
		return true;
	}
	return false;
}
