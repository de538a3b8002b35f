// SPDX-License-Identifier: MIT
/*
 * fdc.c - floppy disk controller, Intel 82078 compatible (82078 datasheet
 * sections 5-8), at 0x3F0-0x3F5 and 0x3F7, IRQ 6, ISA DMA channel 2.  Two
 * drives with raw images of the usual PC sizes (360 KB to 2.88 MB),
 * geometry from the image size.
 *
 * Commands: READ DATA, WRITE DATA (DMA or polled non-DMA), READ ID, FORMAT
 * TRACK, RECALIBRATE, SEEK, SENSE INTERRUPT STATUS, SENSE DRIVE STATUS,
 * SPECIFY, CONFIGURE, DUMPREG, VERSION, PART ID, LOCK/UNLOCK, PERPENDICULAR
 * MODE; anything else answers "invalid" (ST0 = 0x80).  Not emulated: the
 * deleted-data and scan commands, implied seeks, data-rate mismatches,
 * per-byte interrupts in non-DMA mode.
 *
 * Every command starts with an empty FIFO and every FIFO index is checked
 * against the 512-byte FIFO (VENOM, CVE-2015-3456); commands check that the
 * drive has a medium (CVE-2021-20196); DMA lengths are clamped to the FIFO
 * (CVE-2021-3507).
 */
#include <errno.h>
#include <string.h>

#include "block.h"
#include "device.h"
#include "dm.h"
#include "dma/i8257.h"
#include "irq.h"
#include "log.h"

#define FDC_FIFO 512
#define FDC_DMA_CHAN 2
#define FDC_IRQ 6

#define DOR_SEL 0x03
#define DOR_NRESET 0x04
#define DOR_DMA 0x08
#define MSR_RQM 0x80
#define MSR_DIO 0x40
#define MSR_NDMA 0x20
#define MSR_CB 0x10

#define ST0_ABNORMAL 0x40
#define ST0_INVALID 0x80
#define ST0_SEEK_END 0x20
#define ST0_NOT_READY 0x08
#define ST1_NO_DATA 0x04
#define ST1_NOT_WRITABLE 0x02

enum fdc_phase {
	FDC_CMD,
	FDC_EXEC,
	FDC_RESULT,
};

struct fdc_drive {
	struct blk *blk;
	bool readonly;
	uint8_t tracks, heads, spt;
	uint8_t track;
	bool changed; /* DIR bit 7 until a seek with a medium present */
};

struct fdc {
	struct dm *dm;
	struct io_region io, io_dir;
	struct irq_line irq;
	struct fdc_drive drv[2];
	uint8_t dor, dsr, ccr;
	enum fdc_phase phase;
	bool dio; /* data from controller to CPU */
	uint8_t fifo[FDC_FIFO];
	uint32_t pos, len; /* FIFO window; len <= FDC_FIFO */
	uint8_t cmd[9];	   /* command bytes of the current command */
	uint8_t specify[2], config, pretrk;
	bool nodma, lock;
	uint8_t sense_st0, sense_count; /* pending SENSE INTERRUPT answers */
	/* Current data command. */
	uint8_t unit, head, sect, eot;
	bool write, mt, io_pending, polled;
	struct blk_req req;
};

struct fdc_cmd {
	uint8_t mask, value, len;
	void (*run)(struct fdc *s);
};

/* ---- phases ---------------------------------------------------------- */

static void fdc_raise(struct fdc *s)
{
	if (s->dor & DOR_DMA)
		irq_pulse(&s->irq);
}

static void fdc_to_cmd(struct fdc *s)
{
	s->phase = FDC_CMD;
	s->dio = false;
	s->pos = 0;
	s->len = 0;
}

static void fdc_result(struct fdc *s, const uint8_t *res, uint32_t n, bool irq)
{
	if (n > FDC_FIFO)
		n = FDC_FIFO;
	memcpy(s->fifo, res, n);
	s->phase = FDC_RESULT;
	s->dio = true;
	s->pos = 0;
	s->len = n;
	if (irq)
		fdc_raise(s);
}

static struct fdc_drive *fdc_cur(struct fdc *s, uint8_t unit)
{
	return (unit & 3) < 2 ? &s->drv[unit & 3] : NULL;
}

/* Result of a data command: ST0 ST1 ST2 C H R N. */
static void fdc_data_result(struct fdc *s, uint8_t st0, uint8_t st1, uint8_t st2)
{
	struct fdc_drive *d = fdc_cur(s, s->unit);
	uint8_t res[7] = { (uint8_t)(st0 | s->head << 2 | s->unit),
			   st1,
			   st2,
			   d ? d->track : 0,
			   s->head,
			   s->sect,
			   2 };

	s->io_pending = false;
	fdc_result(s, res, 7, true);
}

static void fdc_invalid(struct fdc *s)
{
	uint8_t st0 = ST0_INVALID;

	fdc_result(s, &st0, 1, false);
}

/* ---- data transfer --------------------------------------------------- */

static void fdc_sector(struct fdc *s);

static uint64_t fdc_lba(const struct fdc_drive *d, uint8_t head, uint8_t sect)
{
	return ((uint64_t)d->track * d->heads + head) * d->spt + sect - 1;
}

/* Advance to the next sector; false once past EOT (end of the transfer). */
static bool fdc_next_sector(struct fdc *s)
{
	if (s->sect < s->eot) {
		s->sect++;
		return true;
	}
	s->sect = 1;
	if (s->mt && s->head == 0) {
		s->head = 1;
		return true;
	}
	return false;
}

static void fdc_sector_done(struct fdc *s)
{
	if (!s->polled && i8257_tc(i8257_of(s->dm), FDC_DMA_CHAN)) {
		fdc_next_sector(s);
		fdc_data_result(s, 0, 0, 0);
		return;
	}
	if (!fdc_next_sector(s)) {
		fdc_data_result(s, 0, 0, 0);
		return;
	}
	fdc_sector(s);
}

static void fdc_io_cb(struct blk_req *req, int err)
{
	struct fdc *s = req->opaque;
	int n;

	if (!s->io_pending)
		return;
	s->io_pending = false;
	if (err) {
		fdc_data_result(s, ST0_ABNORMAL, ST1_NO_DATA, 0);
		return;
	}
	if (s->write) {
		fdc_sector_done(s);
		return;
	}
	if (s->polled) {
		/* Non-DMA read: the CPU takes the sector from the FIFO. */
		s->phase = FDC_EXEC;
		s->dio = true;
		s->pos = 0;
		s->len = FDC_FIFO;
		return;
	}
	n = i8257_transfer(i8257_of(s->dm), FDC_DMA_CHAN, s->fifo, FDC_FIFO, true);
	if (n < 0) {
		fdc_data_result(s, ST0_ABNORMAL, ST1_NO_DATA, 0);
		return;
	}
	fdc_sector_done(s);
}

static void fdc_submit(struct fdc *s, enum blk_op op)
{
	struct fdc_drive *d = fdc_cur(s, s->unit);

	memset(&s->req, 0, sizeof(s->req));
	s->req.op = op;
	s->req.offset = fdc_lba(d, s->head, s->sect) * 512;
	s->req.iov[0].iov_base = s->fifo;
	s->req.iov[0].iov_len = FDC_FIFO;
	s->req.iovcnt = 1;
	s->req.done = fdc_io_cb;
	s->req.opaque = s;
	s->io_pending = true;
	if (blk_submit(d->blk, &s->req)) {
		s->io_pending = false;
		fdc_data_result(s, ST0_ABNORMAL, ST1_NO_DATA, 0);
	}
}

/* Move one sector: read it, or fetch it from memory (DMA) or the CPU (polled) and write. */
static void fdc_sector(struct fdc *s)
{
	struct fdc_drive *d = fdc_cur(s, s->unit);
	int n;

	if (s->sect == 0 || s->sect > d->spt || s->head >= d->heads || d->track >= d->tracks) {
		fdc_data_result(s, ST0_ABNORMAL, ST1_NO_DATA, 0);
		return;
	}
	if (!s->write) {
		fdc_submit(s, BLK_READ);
		return;
	}
	if (s->polled) {
		s->phase = FDC_EXEC;
		s->dio = false;
		s->pos = 0;
		s->len = FDC_FIFO;
		return;
	}
	n = i8257_transfer(i8257_of(s->dm), FDC_DMA_CHAN, s->fifo, FDC_FIFO, false);
	if (n != FDC_FIFO) {
		fdc_data_result(s, ST0_ABNORMAL, ST1_NO_DATA, 0);
		return;
	}
	fdc_submit(s, BLK_WRITE);
}

static void fdc_rw(struct fdc *s)
{
	struct fdc_drive *d;

	s->unit = s->cmd[1] & 3;
	s->head = (s->cmd[1] >> 2) & 1;
	s->sect = s->cmd[4];
	s->eot = s->cmd[6];
	s->mt = s->cmd[0] & 0x80;
	s->write = (s->cmd[0] & 0x1f) == 0x05;
	s->polled = s->nodma || !(s->dor & DOR_DMA);
	d = fdc_cur(s, s->unit);
	if (!d || !d->blk) {
		fdc_data_result(s, ST0_ABNORMAL | ST0_NOT_READY, 0, 0);
		return;
	}
	if (s->write && d->readonly) {
		fdc_data_result(s, ST0_ABNORMAL, ST1_NOT_WRITABLE, 0);
		return;
	}
	if (s->cmd[2] != d->track || s->cmd[5] != 2) {
		/* C must match the head position; only 512-byte sectors exist. */
		fdc_data_result(s, ST0_ABNORMAL, ST1_NO_DATA, 0);
		return;
	}
	s->phase = FDC_EXEC;
	fdc_sector(s);
}

/* Polled execution phase: the FIFO window of one sector was used up. */
static void fdc_exec_window_done(struct fdc *s)
{
	if (s->write) {
		fdc_submit(s, BLK_WRITE);
		return;
	}
	fdc_sector_done(s);
}

/* ---- other commands -------------------------------------------------- */

static void fdc_seek_to(struct fdc *s, uint8_t unit, uint8_t track)
{
	struct fdc_drive *d = fdc_cur(s, unit);

	if (d) {
		if (d->blk && track != d->track)
			d->changed = false;
		d->track = track;
		if (d->tracks && d->track >= d->tracks)
			d->track = (uint8_t)(d->tracks - 1);
	}
	s->sense_st0 = (uint8_t)(ST0_SEEK_END | (unit & 3) | (d ? 0 : ST0_ABNORMAL));
	s->sense_count = 1;
	fdc_to_cmd(s);
	fdc_raise(s);
}

static void fdc_recalibrate(struct fdc *s)
{
	fdc_seek_to(s, s->cmd[1] & 3, 0);
}

static void fdc_seek(struct fdc *s)
{
	fdc_seek_to(s, s->cmd[1] & 3, s->cmd[2]);
}

static void fdc_sense_int(struct fdc *s)
{
	struct fdc_drive *d;
	uint8_t res[2];

	if (!s->sense_count) {
		fdc_invalid(s);
		return;
	}
	res[0] = s->sense_st0;
	d = fdc_cur(s, s->sense_st0 & 3);
	res[1] = d ? d->track : 0;
	s->sense_count--;
	/* After a reset each of the four drives reports once. */
	if (s->sense_count && (s->sense_st0 & 0xc0) == 0xc0)
		s->sense_st0 = (uint8_t)((s->sense_st0 & ~3) | ((s->sense_st0 + 1) & 3));
	fdc_result(s, res, 2, false);
}

static void fdc_sense_drive(struct fdc *s)
{
	struct fdc_drive *d = fdc_cur(s, s->cmd[1]);
	uint8_t st3 = (uint8_t)(0x20 | (s->cmd[1] & 7)); /* ready */

	if (d && d->track == 0)
		st3 |= 0x10;
	if (d && d->heads > 1)
		st3 |= 0x08;
	if (d && d->readonly)
		st3 |= 0x40;
	fdc_result(s, &st3, 1, false);
}

static void fdc_specify(struct fdc *s)
{
	s->specify[0] = s->cmd[1];
	s->specify[1] = s->cmd[2];
	s->nodma = s->cmd[2] & 1;
	fdc_to_cmd(s);
}

static void fdc_configure(struct fdc *s)
{
	s->config = s->cmd[2];
	s->pretrk = s->cmd[3];
	fdc_to_cmd(s);
}

static void fdc_read_id(struct fdc *s)
{
	struct fdc_drive *d = fdc_cur(s, s->cmd[1]);

	s->unit = s->cmd[1] & 3;
	s->head = (s->cmd[1] >> 2) & 1;
	s->sect = 1;
	if (!d || !d->blk)
		fdc_data_result(s, ST0_ABNORMAL | ST0_NOT_READY, 0, 0);
	else
		fdc_data_result(s, 0, 0, 0);
}

/* FORMAT TRACK: sector IDs arrive by DMA, every sector gets the filler byte. */
static void fdc_format(struct fdc *s)
{
	struct fdc_drive *d = fdc_cur(s, s->cmd[1]);
	uint8_t ids[4], count = s->cmd[3], i;
	int n;

	s->unit = s->cmd[1] & 3;
	s->head = (s->cmd[1] >> 2) & 1;
	s->sect = 1;
	if (!d || !d->blk || d->readonly || s->cmd[2] != 2 || count > d->spt) {
		fdc_data_result(s, ST0_ABNORMAL | (d && d->blk ? 0 : ST0_NOT_READY),
				d && d->readonly ? ST1_NOT_WRITABLE : 0, 0);
		return;
	}
	memset(s->fifo, s->cmd[5], FDC_FIFO);
	for (i = 0; i < count; i++) {
		n = i8257_transfer(i8257_of(s->dm), FDC_DMA_CHAN, ids, 4, false);
		if (n != 4 || ids[2] == 0 || ids[2] > d->spt || ids[1] >= d->heads)
			break;
		/* Synchronous on purpose: formatting is rare and the image is small. */
		if (blk_pwrite(d->blk, s->fifo, FDC_FIFO, fdc_lba(d, ids[1], ids[2]) * FDC_FIFO)) {
			fdc_data_result(s, ST0_ABNORMAL, ST1_NO_DATA, 0);
			return;
		}
	}
	fdc_data_result(s, 0, 0, 0);
}

static void fdc_dumpreg(struct fdc *s)
{
	uint8_t r[10] = { s->drv[0].track, s->drv[1].track, 0,	    0,
			  s->specify[0],   s->specify[1],   s->eot, (uint8_t)(s->lock << 7),
			  s->config,	   s->pretrk };

	fdc_result(s, r, 10, false);
}

static void fdc_version(struct fdc *s)
{
	uint8_t v = 0x90; /* enhanced controller (82077AA/82078) */

	fdc_result(s, &v, 1, false);
}

static void fdc_part_id(struct fdc *s)
{
	uint8_t v = 0x41; /* 82078, stepping 1 */

	fdc_result(s, &v, 1, false);
}

static void fdc_lock(struct fdc *s)
{
	uint8_t v;

	s->lock = s->cmd[0] & 0x80;
	v = (uint8_t)(s->lock << 4);
	fdc_result(s, &v, 1, false);
}

static void fdc_nop_cmd(struct fdc *s)
{
	fdc_to_cmd(s); /* PERPENDICULAR MODE: accepted, no result phase */
}

static const struct fdc_cmd fdc_cmds[] = {
	{ 0x1f, 0x06, 9, fdc_rw }, /* READ DATA (MT, MFM, SK bits masked) */
	{ 0x3f, 0x05, 9, fdc_rw }, /* WRITE DATA */
	{ 0xbf, 0x0a, 2, fdc_read_id },	    { 0xbf, 0x0d, 6, fdc_format },
	{ 0xff, 0x07, 2, fdc_recalibrate }, { 0xff, 0x0f, 3, fdc_seek },
	{ 0xff, 0x08, 1, fdc_sense_int },   { 0xff, 0x04, 2, fdc_sense_drive },
	{ 0xff, 0x03, 3, fdc_specify },	    { 0xff, 0x13, 4, fdc_configure },
	{ 0xff, 0x0e, 1, fdc_dumpreg },	    { 0xff, 0x10, 1, fdc_version },
	{ 0xff, 0x18, 1, fdc_part_id },	    { 0x7f, 0x14, 1, fdc_lock },
	{ 0xff, 0x12, 2, fdc_nop_cmd },
};

static const struct fdc_cmd *fdc_find(uint8_t b)
{
	size_t i;

	for (i = 0; i < sizeof(fdc_cmds) / sizeof(fdc_cmds[0]); i++)
		if ((b & fdc_cmds[i].mask) == fdc_cmds[i].value)
			return &fdc_cmds[i];
	return NULL;
}

/* ---- registers ------------------------------------------------------- */

static void fdc_reset_ctl(struct fdc *s)
{
	fdc_to_cmd(s);
	s->io_pending = false;
	s->sense_st0 = 0xc0; /* polling-mode change of ready state, drive 0..3 */
	s->sense_count = 4;
	s->nodma = false;
}

static void fdc_fifo_write(struct fdc *s, uint8_t v)
{
	const struct fdc_cmd *c;

	if (s->phase == FDC_EXEC && !s->dio && s->pos < s->len) {
		s->fifo[s->pos++] = v;
		if (s->pos == s->len)
			fdc_exec_window_done(s);
		return;
	}
	if (s->phase != FDC_CMD || s->io_pending)
		return; /* not expecting a byte: dropped */
	if (s->pos == 0) {
		c = fdc_find(v);
		if (!c) {
			fdc_invalid(s);
			return;
		}
		s->len = c->len;
	}
	if (s->pos < sizeof(s->cmd))
		s->cmd[s->pos] = v;
	s->pos++;
	if (s->pos < s->len)
		return;
	c = fdc_find(s->cmd[0]);
	s->pos = 0;
	s->len = 0;
	c->run(s);
}

static uint8_t fdc_fifo_read(struct fdc *s)
{
	uint8_t v;

	if (!s->dio || s->pos >= s->len || s->len > FDC_FIFO)
		return 0;
	v = s->fifo[s->pos++];
	if (s->pos < s->len)
		return v;
	if (s->phase == FDC_EXEC)
		fdc_exec_window_done(s);
	else
		fdc_to_cmd(s);
	return v;
}

static uint8_t fdc_msr(const struct fdc *s)
{
	uint8_t m = 0;

	if (s->io_pending)
		return MSR_CB;
	if (s->phase != FDC_CMD || s->pos)
		m |= MSR_CB;
	if (s->phase == FDC_EXEC)
		m |= MSR_NDMA;
	if (s->dio)
		m |= MSR_DIO;
	return (uint8_t)(m | MSR_RQM);
}

static uint64_t fdc_read(void *opaque, uint64_t off, unsigned size)
{
	struct fdc *s = opaque;

	switch (off) {
	case 2:
		return s->dor;
	case 3:
		return 0; /* tape drive register */
	case 4:
		return fdc_msr(s);
	case 5:
		return fdc_fifo_read(s);
	}
	return 0xff;
}

static void fdc_write_dor(struct fdc *s, uint8_t v)
{
	bool was_reset = !(s->dor & DOR_NRESET);

	s->dor = v;
	if (!(v & DOR_NRESET)) {
		fdc_reset_ctl(s);
		return;
	}
	if (was_reset) {
		fdc_reset_ctl(s);
		fdc_raise(s);
	}
}

static void fdc_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct fdc *s = opaque;

	switch (off) {
	case 2:
		fdc_write_dor(s, (uint8_t)val);
		break;
	case 4: /* data-rate select; bit 7 is a self-clearing software reset */
		s->dsr = (uint8_t)val & 0x7f;
		if (val & 0x80) {
			fdc_reset_ctl(s);
			fdc_raise(s);
		}
		break;
	case 5:
		fdc_fifo_write(s, (uint8_t)val);
		break;
	}
}

static uint64_t fdc_dir_read(void *opaque, uint64_t off, unsigned size)
{
	struct fdc *s = opaque;
	struct fdc_drive *d = fdc_cur(s, s->dor & DOR_SEL);

	return d && (d->changed || !d->blk) ? 0x80 : 0x00;
}

static void fdc_dir_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	((struct fdc *)opaque)->ccr = (uint8_t)val & 3;
}

static const struct io_ops fdc_ops = { .read = fdc_read, .write = fdc_write, .max_size = 1 };
static const struct io_ops fdc_dir_ops = { .read = fdc_dir_read,
					   .write = fdc_dir_write,
					   .max_size = 1 };

/* ---- drives ---------------------------------------------------------- */

struct fdc_geometry {
	uint64_t size;
	uint8_t tracks, heads, spt;
};

static const struct fdc_geometry fdc_geometries[] = {
	{ 368640, 40, 2, 9 },	{ 737280, 80, 2, 9 },	{ 1228800, 80, 2, 15 },
	{ 1474560, 80, 2, 18 }, { 1720320, 80, 2, 21 }, { 2949120, 80, 2, 36 },
};

static int fdc_attach(struct fdc *s, unsigned unit, const char *spec)
{
	struct blk_opts bo = { .path = spec, .format = "raw" };
	struct fdc_drive *d = &s->drv[unit];
	const struct fdc_geometry *g = NULL;
	size_t i;
	int err;

	err = blk_open(&bo, s->dm->loop, &d->blk);
	if (err == -EROFS || err == -EACCES) {
		bo.readonly = true;
		err = blk_open(&bo, s->dm->loop, &d->blk);
	}
	if (err)
		return err;
	for (i = 0; i < sizeof(fdc_geometries) / sizeof(fdc_geometries[0]); i++)
		if (fdc_geometries[i].size == blk_size(d->blk))
			g = &fdc_geometries[i];
	if (!g) {
		dm_err("fdc",
		       "fd%c: %s is %llu bytes; floppy images are 360K, 720K, 1.2M, 1.44M, "
		       "1.68M or 2.88M",
		       'a' + unit, spec, (unsigned long long)blk_size(d->blk));
		blk_close(d->blk);
		d->blk = NULL;
		return -EINVAL;
	}
	d->readonly = blk_readonly(d->blk);
	d->tracks = g->tracks;
	d->heads = g->heads;
	d->spt = g->spt;
	d->changed = true;
	dm_info("fdc", "fd%c: %s (%u/%u/%u)%s", 'a' + unit, spec, d->tracks, d->heads, d->spt,
		d->readonly ? " read-only" : "");
	return 0;
}

static void fdc_dev_reset(struct dev *dv, enum dev_reset kind)
{
	struct fdc *s = dv->state;

	s->dor = DOR_NRESET | DOR_DMA;
	s->lock = false;
	s->specify[0] = s->specify[1] = 0;
	fdc_reset_ctl(s);
	s->sense_count = 0;
}

static int fdc_create(struct dev *dv, const struct opts *o)
{
	struct fdc *s = dv->state;
	unsigned i;
	int err;

	s->dm = dv->dm;
	irq_line_init(&s->irq, dv->dm, FDC_IRQ);
	io_region_init(&s->io, &fdc_ops, s, "fdc", 6);
	io_region_init(&s->io_dir, &fdc_dir_ops, s, "fdc-dir", 1);
	err = io_region_map(dv->dm, &s->io, IO_PIO, 0x3f0);
	if (!err)
		err = io_region_map(dv->dm, &s->io_dir, IO_PIO, 0x3f7);
	for (i = 0; !err && i < 2; i++) {
		const char *spec = opts_get(o, i ? "fdb" : "fda");

		if (!spec)
			spec = dv->dm->cfg.floppy[i];
		if (spec)
			err = fdc_attach(s, i, spec);
	}
	if (err)
		return err;
	fdc_dev_reset(dv, DEV_RESET_COLD);
	return 0;
}

static void fdc_destroy(struct dev *dv)
{
	struct fdc *s = dv->state;
	unsigned i;

	io_region_unmap(&s->io);
	io_region_unmap(&s->io_dir);
	for (i = 0; i < 2; i++)
		if (s->drv[i].blk)
			blk_close(s->drv[i].blk);
}

static const struct dev_type fdc_type = {
	.name = "fdc",
	.state_size = sizeof(struct fdc),
	.create = fdc_create,
	.reset = fdc_dev_reset,
	.destroy = fdc_destroy,
};
DM_DEVICE(fdc_type);
