// SPDX-License-Identifier: MIT
/*
 * ide_atapi.c - ATAPI CD-ROM (ATA/ATAPI-6 chapter 9 for the PACKET protocol,
 * MMC-3 and SPC-3 for the commands): TEST UNIT READY, REQUEST SENSE, INQUIRY,
 * READ CAPACITY, READ(10)/(12), READ CD (user data and raw 2352-byte
 * sectors), READ TOC/PMA/ATIP formats 0-2, READ DISC INFORMATION, GET
 * CONFIGURATION, GET EVENT STATUS NOTIFICATION, MODE SENSE(6)/(10) pages 01h
 * and 2Ah, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, MECHANISM STATUS,
 * SET CD SPEED, SEEK, READ SUB-CHANNEL (header only).  Not emulated: audio
 * playback, writing, DVD structures, multi-session discs.
 *
 * Every LBA and length is checked against the medium with 64-bit math
 * before a transfer starts (CVE-2020-29443), every reply is clipped to the
 * allocation length and the buffer, and a finished command always clears
 * DRQ and the transfer callback (CVE-2015-5154).
 */
#include <stddef.h>
#include <string.h>

#include "ide.h"
#include "dm.h"
#include "log.h"

#define SK_NOT_READY 0x02
#define SK_ILLEGAL_REQUEST 0x05
#define SK_UNIT_ATTENTION 0x06
#define ASC_INV_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INV_FIELD 0x24
#define ASC_MEDIUM_CHANGED 0x28
#define ASC_INCOMPATIBLE_FORMAT 0x30
#define ASC_NO_MEDIUM 0x3a
#define ASC_REMOVAL_PREVENTED 0x53

/* Interrupt reason in the sector count register (ATA-6 9.9). */
#define IR_COD 0x01
#define IR_IO 0x02

#define CD_RAW_SECTOR 2352
#define ATAPI_READ_BLOCKS 56 /* per buffer fill: 56 * 2352 fits IDE_BUF_SECTORS * 512 */
#define ATAPI_DMA_BLOCKS 512 /* per direct DMA request: 1 MiB, as ATA's */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static bool atapi_has_medium(const struct ide_drive *d)
{
	return d->blk && !d->atapi.tray_open;
}

static uint64_t atapi_blocks(const struct ide_drive *d)
{
	return d->blk ? blk_size(d->blk) / IDE_CD_SECTOR : 0;
}

/* ---- completion ------------------------------------------------------ */

static void atapi_ok(struct ide_drive *d)
{
	ide_pio_stop(d);
	ide_set_status(d, IDE_ST_DRDY);
	d->error = 0;
	d->nsector = IR_IO | IR_COD;
	ide_set_irq(d->bus);
}

static void atapi_check_condition(struct ide_drive *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
	ide_pio_stop(d);
	d->io_pending = false;
	d->atapi.sense_key = key;
	d->atapi.asc = asc;
	d->atapi.ascq = ascq;
	ide_set_status(d, IDE_ST_DRDY | IDE_ST_ERR);
	d->error = (uint8_t)(key << 4 | IDE_ER_ABRT);
	d->nsector = IR_IO | IR_COD;
	ide_set_irq(d->bus);
}

static void atapi_not_ready(struct ide_drive *d)
{
	atapi_check_condition(d, SK_NOT_READY, ASC_NO_MEDIUM, d->atapi.tray_open ? 0x02 : 0x01);
}

static void atapi_illegal(struct ide_drive *d, uint8_t asc)
{
	atapi_check_condition(d, SK_ILLEGAL_REQUEST, asc, 0);
}

/* ---- data-in of a reply or of read data ------------------------------ */

static void atapi_pio_next(struct ide_drive *d);
static void atapi_read_fill(struct ide_drive *d);

/* Offer the next DRQ chunk of the buffer: at most the byte-count limit, even. */
static void atapi_pio_offer(struct ide_drive *d)
{
	struct ide_atapi *a = &d->atapi;
	uint32_t n = a->buf_len - a->buf_pos;

	if (n > a->byte_limit)
		n = a->byte_limit;
	d->lcyl = (uint8_t)n;
	d->hcyl = (uint8_t)(n >> 8);
	d->nsector = IR_IO;
	ide_pio_window(d, a->buf_pos, n, true, atapi_pio_next);
	a->buf_pos += n;
}

static void atapi_pio_next(struct ide_drive *d)
{
	struct ide_atapi *a = &d->atapi;

	if (a->buf_pos < a->buf_len) {
		atapi_pio_offer(d);
		return;
	}
	if (a->blocks_left) {
		atapi_read_fill(d);
		return;
	}
	atapi_ok(d);
}

/* Send buf[0, len) to the host (len already clipped to the allocation length). */
static void atapi_reply(struct ide_drive *d, uint32_t len)
{
	struct ide_atapi *a = &d->atapi;

	if (len > IDE_BUF_SIZE)
		len = IDE_BUF_SIZE;
	a->blocks_left = 0;
	if (!len) {
		atapi_ok(d);
		return;
	}
	if (a->dma) {
		if (ide_bm_transfer(d->bus->bm, d->buf, len, true) < 0) {
			ide_bm_done(d->bus->bm, true);
			atapi_illegal(d, ASC_INV_FIELD);
			return;
		}
		ide_bm_done(d->bus->bm, false);
		atapi_ok(d);
		return;
	}
	a->buf_pos = 0;
	a->buf_len = len;
	atapi_pio_offer(d);
}

static uint32_t clip(uint32_t len, uint32_t alloc)
{
	return len < alloc ? len : alloc;
}

/* ---- READ engine ----------------------------------------------------- */

static void lba_to_msf(uint8_t *msf, uint64_t lba)
{
	lba += 150;
	msf[0] = (uint8_t)(lba / (75 * 60));
	msf[1] = (uint8_t)((lba / 75) % 60);
	msf[2] = (uint8_t)(lba % 75);
}

/* Expand 2048-byte blocks in place into raw mode-1 sectors (sync, header, data, zero EDC). */
static void atapi_make_raw(uint8_t *buf, uint32_t nblk, uint64_t lba)
{
	static const uint8_t sync[12] = { 0,	0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	uint32_t i;

	for (i = nblk; i-- > 0;) {
		uint8_t *raw = buf + (size_t)i * CD_RAW_SECTOR;

		memmove(raw + 16, buf + (size_t)i * IDE_CD_SECTOR, IDE_CD_SECTOR);
		memcpy(raw, sync, 12);
		lba_to_msf(raw + 12, lba + i);
		raw[15] = 1; /* mode 1 */
		memset(raw + 16 + IDE_CD_SECTOR, 0, CD_RAW_SECTOR - 16 - IDE_CD_SECTOR);
	}
}

/*
 * A direct DMA read stored into guest RAM whatever became of the command (a
 * reset or a new command may have disowned it): mark the pages before
 * anything can raise the completion interrupt.  true: it was direct.
 */
static bool atapi_direct_end(struct blk_req *req)
{
	struct ide_drive *d = (struct ide_drive *)((char *)req - offsetof(struct ide_drive, req));

	if (!d->dma_direct)
		return false;
	d->dma_direct = false;
	if (d->bus->bm)
		ide_bm_mark_written(d->bus->bm, &d->sg);
	return true;
}

static void atapi_read_cb(struct blk_req *req, int err)
{
	bool direct = atapi_direct_end(req);
	struct ide_drive *d = req->opaque;
	struct ide_atapi *a;
	uint32_t n, bytes;
	int64_t moved;

	if (!d || !d->io_pending)
		return;
	d->io_pending = false;
	a = &d->atapi;
	if (err) {
		dm_warn("ide", "cdrom read error at block %llu", (unsigned long long)a->lba);
		atapi_check_condition(d, 0x03, 0x11, 0); /* medium error, unrecovered read */
		return;
	}
	n = (uint32_t)(iov_size(req->iov, req->iovcnt) / IDE_CD_SECTOR);
	if (a->block_size == CD_RAW_SECTOR)
		atapi_make_raw(d->buf, n, a->lba);
	a->lba += n;
	a->blocks_left -= n;
	bytes = n * a->block_size;
	if (a->dma) {
		/* Direct: the bytes are in place; a stopped engine still fails it. */
		if (direct)
			moved = ide_bm_active(d->bus->bm) ? (int64_t)bytes : -1;
		else
			moved = ide_bm_transfer(d->bus->bm, d->buf, bytes, true);
		if (moved != bytes) {
			ide_bm_done(d->bus->bm, true);
			atapi_illegal(d, ASC_INV_FIELD);
			return;
		}
		if (a->blocks_left) {
			atapi_read_fill(d);
			return;
		}
		ide_bm_done(d->bus->bm, false);
		atapi_ok(d);
		return;
	}
	a->buf_pos = 0;
	a->buf_len = bytes;
	atapi_pio_offer(d);
}

/*
 * A DMA read of plain 2048-byte blocks whose PRD table maps the next
 * chunk into guest RAM goes there directly (up to ATAPI_DMA_BLOCKS per
 * request, at most BLK_IOV_MAX segments): the blocks to move, with d->sg
 * set.  0: bounce through d->buf (raw sectors, PIO, non-RAM or short
 * tables, which that path reports).
 */
static uint32_t atapi_map_direct(struct ide_drive *d)
{
	struct ide_atapi *a = &d->atapi;
	uint32_t n = a->blocks_left < ATAPI_DMA_BLOCKS ? a->blocks_left : ATAPI_DMA_BLOCKS;

	if (!a->dma || a->block_size != IDE_CD_SECTOR || !d->bus->bm)
		return 0;
	return ide_bm_map(d->bus->bm, n * IDE_CD_SECTOR, &d->sg) ? 0 : n;
}

static void atapi_read_fill(struct ide_drive *d)
{
	struct ide_atapi *a = &d->atapi;
	struct blk_req *req = &d->req;
	uint32_t n;

	if (!atapi_has_medium(d)) {
		atapi_not_ready(d);
		return;
	}
	memset(req, 0, sizeof(*req));
	n = atapi_map_direct(d);
	d->dma_direct = n != 0; /* before submitting: sync mode completes inside */
	if (n) {
		memcpy(req->iov, d->sg.iov, (size_t)d->sg.cnt * sizeof(req->iov[0]));
		req->iovcnt = d->sg.cnt;
	} else {
		n = a->blocks_left < ATAPI_READ_BLOCKS ? a->blocks_left : ATAPI_READ_BLOCKS;
		req->iov[0].iov_base = d->buf;
		req->iov[0].iov_len = (size_t)n * IDE_CD_SECTOR;
		req->iovcnt = 1;
	}
	req->op = BLK_READ;
	req->offset = a->lba * IDE_CD_SECTOR;
	req->done = atapi_read_cb;
	req->opaque = d;
	ide_set_status(d, IDE_ST_BSY | IDE_ST_DRDY);
	d->io_pending = true;
	if (blk_submit(d->blk, req)) {
		d->io_pending = false;
		d->dma_direct = false;
		atapi_check_condition(d, 0x04, 0x44, 0); /* hardware error */
	}
}

static void atapi_read(struct ide_drive *d, uint64_t lba, uint64_t count, uint32_t block_size)
{
	uint64_t total = atapi_blocks(d);

	if (lba > total || count > total - lba) {
		atapi_illegal(d, ASC_LBA_OUT_OF_RANGE);
		return;
	}
	if (!count) {
		atapi_ok(d);
		return;
	}
	d->atapi.lba = lba;
	d->atapi.blocks_left = (uint32_t)count;
	d->atapi.block_size = block_size;
	atapi_read_fill(d);
}

/* ---- replies --------------------------------------------------------- */

static uint32_t atapi_inquiry(struct ide_drive *d)
{
	uint8_t *b = d->buf;

	memset(b, 0, 36);
	b[0] = 0x05; /* CD/DVD device */
	b[1] = 0x80; /* removable */
	b[2] = 0x00;
	b[3] = 0x21; /* ATAPI, response format 1 */
	b[4] = 31;
	memcpy(b + 8, "HVMDM   ", 8);
	memcpy(b + 16, "DVD-ROM         ", 16);
	memcpy(b + 32, "0.1 ", 4);
	return 36;
}

static uint32_t atapi_request_sense(struct ide_drive *d)
{
	uint8_t *b = d->buf;

	memset(b, 0, 18);
	b[0] = 0x70;
	b[2] = d->atapi.sense_key;
	b[7] = 10;
	b[12] = d->atapi.asc;
	b[13] = d->atapi.ascq;
	d->atapi.sense_key = 0;
	d->atapi.asc = 0;
	d->atapi.ascq = 0;
	return 18;
}

static void toc_addr(uint8_t *p, uint64_t lba, bool msf)
{
	if (msf) {
		p[0] = 0;
		lba_to_msf(p + 1, lba);
	} else {
		put_be32(p, (uint32_t)lba);
	}
}

/* READ TOC/PMA/ATIP; returns the reply length, or 0 after a check condition. */
static uint32_t atapi_read_toc(struct ide_drive *d, const uint8_t *p)
{
	uint8_t fmt = p[2] & 0x0f, start = p[6], *b = d->buf;
	bool msf = p[1] & 0x02;
	uint64_t blocks = atapi_blocks(d);
	uint32_t len = 4;

	if (!fmt && (p[9] >> 6))
		fmt = p[9] >> 6; /* older drivers put the format in the control byte */
	memset(b, 0, 64);
	b[2] = 1;
	b[3] = 1;
	switch (fmt) {
	case 0:
		if (start > 1 && start != 0xaa)
			return 0;
		if (start <= 1) {
			b[len + 1] = 0x14; /* data track, ADR 1 */
			b[len + 2] = 1;
			toc_addr(b + len + 4, 0, msf);
			len += 8;
		}
		b[len + 1] = 0x14;
		b[len + 2] = 0xaa;
		toc_addr(b + len + 4, blocks, msf);
		len += 8;
		break;
	case 1: /* session info */
		b[5] = 0x14;
		b[6] = 1;
		toc_addr(b + 8, 0, msf);
		len = 12;
		break;
	case 2: { /* full TOC: A0, A1, A2 and track 1, MSF form */
		static const uint8_t points[4] = { 0xa0, 0xa1, 0xa2, 1 };
		unsigned i;

		for (i = 0; i < 4; i++, len += 11) {
			uint8_t *e = b + len;

			e[0] = 1; /* session */
			e[1] = 0x14;
			e[3] = points[i];
			if (points[i] == 0xa0 || points[i] == 0xa1)
				e[8] = 1; /* first/last track; disc type 0 */
			else if (points[i] == 0xa2)
				lba_to_msf(e + 8, blocks);
			else
				lba_to_msf(e + 8, 0);
		}
		break;
	}
	default:
		return 0;
	}
	put_be16(b, (uint16_t)(len - 2));
	return len;
}

static uint32_t atapi_disc_info(struct ide_drive *d)
{
	uint8_t *b = d->buf;

	memset(b, 0, 34);
	put_be16(b, 32);
	b[2] = 0x0e; /* last session complete, disc finalized */
	b[3] = 1;
	b[4] = 1;
	b[5] = 1;
	b[6] = 1;
	return 34;
}

static uint32_t atapi_get_configuration(struct ide_drive *d)
{
	uint8_t *b = d->buf;
	bool medium = atapi_has_medium(d);
	uint16_t profile = !medium ? 0 : atapi_blocks(d) > 1440000 ? 0x10 : 0x08;

	memset(b, 0, 64);
	put_be16(b + 6, profile);
	/* Profile list: DVD-ROM and CD-ROM. */
	put_be16(b + 8, 0x0000);
	b[10] = 0x03; /* persistent, current */
	b[11] = 8;
	put_be16(b + 12, 0x10);
	b[14] = profile == 0x10;
	put_be16(b + 16, 0x08);
	b[18] = profile == 0x08;
	/* Core feature: ATAPI interface. */
	put_be16(b + 20, 0x0001);
	b[22] = 0x0b;
	b[23] = 8;
	put_be32(b + 24, 2);
	/* Removable medium: tray, eject, lock. */
	put_be16(b + 32, 0x0003);
	b[34] = 0x03;
	b[35] = 4;
	b[36] = 0x29 | (d->atapi.locked ? 0x01 : 0);
	/* Random readable. */
	put_be16(b + 40, 0x0010);
	b[42] = medium ? 0x01 : 0;
	b[43] = 8;
	put_be32(b + 44, IDE_CD_SECTOR);
	put_be16(b + 48, 16);
	put_be32(b, 52 - 4);
	return 52;
}

static uint32_t atapi_event_status(struct ide_drive *d, const uint8_t *p)
{
	uint8_t *b = d->buf;

	if (!(p[1] & 0x01)) /* only polled operation is supported */
		return 0;
	memset(b, 0, 8);
	b[3] = 0x10; /* supported classes: media */
	if (!(p[4] & 0x10)) {
		b[2] = 0x80; /* no event available */
		return 4;
	}
	put_be16(b, 6);
	b[2] = 0x04; /* media class */
	b[4] = d->atapi.media_event;
	b[5] = (uint8_t)((atapi_has_medium(d) ? 0x02 : 0) | (d->atapi.tray_open ? 0x01 : 0));
	d->atapi.media_event = 0;
	return 8;
}

/* MODE SENSE pages after a header of hdr bytes; 0 after a check condition. */
static uint32_t atapi_mode_sense(struct ide_drive *d, const uint8_t *p, bool ten)
{
	uint8_t page = p[2] & 0x3f, pc = p[2] >> 6, *b = d->buf;
	uint32_t hdr = ten ? 8 : 4, len = hdr;

	if (pc == 3) {
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, 0x39, 0); /* saving not supported */
		return 0;
	}
	memset(b, 0, 64);
	if (page == 0x01 || page == 0x3f) {
		static const uint8_t err_rec[8] = { 0x01, 0x06, 0x00, 0x05, 0, 0, 0, 0 };

		memcpy(b + len, err_rec, sizeof(err_rec));
		len += sizeof(err_rec);
	}
	if (page == 0x2a || page == 0x3f) {
		uint8_t *c = b + len;

		c[0] = 0x2a;
		c[1] = 0x14;
		c[2] = 0x3b; /* reads CD-R, CD-RW, DVD-ROM */
		c[4] = 0x71; /* audio play, multi-session, mode 2 forms */
		c[5] = 0x60; /* ISRC, UPC */
		c[6] = (uint8_t)(0x29 | (d->atapi.locked ? 0x02 : 0)); /* lock, eject, tray */
		put_be16(c + 8, 0x2c2);				       /* max speed, KB/s */
		put_be16(c + 10, 2);
		put_be16(c + 12, 0x200);
		put_be16(c + 14, 0x2c2);
		len += 22;
	}
	if (len == hdr) {
		atapi_illegal(d, ASC_INV_FIELD);
		return 0;
	}
	if (ten) {
		put_be16(b, (uint16_t)(len - 2));
		b[2] = 0x70; /* medium type: no disc... refined below */
	} else {
		b[0] = (uint8_t)(len - 1);
		b[1] = 0x70;
	}
	if (atapi_has_medium(d))
		b[ten ? 2 : 1] = 0x01; /* 120 mm data disc */
	return len;
}

static void atapi_start_stop(struct ide_drive *d, const uint8_t *p)
{
	bool loej = p[4] & 0x02, start = p[4] & 0x01;

	if (loej && !start) {
		if (d->atapi.locked) {
			atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 0x02);
			return;
		}
		if (!d->atapi.tray_open && d->blk)
			d->atapi.media_event = 3; /* media removal */
		d->atapi.tray_open = true;
	} else if (loej && start) {
		if (d->atapi.tray_open && d->blk)
			d->atapi.media_event = 2; /* new media */
		d->atapi.tray_open = false;
	}
	atapi_ok(d);
}

/* ---- packet dispatch --------------------------------------------------- */

/* Commands that may run while a unit attention or no medium is pending. */
static bool atapi_always_allowed(uint8_t op)
{
	return op == 0x12 || op == 0x03 || op == 0x4a || op == 0x46 || op == 0xbd || op == 0x1e ||
	       op == 0x1b || op == 0x5a || op == 0x1a || op == 0xbb;
}

static bool atapi_needs_medium(uint8_t op)
{
	switch (op) {
	case 0x00:
	case 0x25:
	case 0x28:
	case 0xa8:
	case 0xbe:
	case 0x43:
	case 0x51:
	case 0x2b:
	case 0x42:
	case 0x35:
		return true;
	}
	return false;
}

static void atapi_dispatch(struct ide_drive *d, const uint8_t *p)
{
	uint32_t n;

	switch (p[0]) {
	case 0x00: /* TEST UNIT READY */
	case 0xbb: /* SET CD SPEED */
	case 0x35: /* SYNCHRONIZE CACHE */
		atapi_ok(d);
		return;
	case 0x03: /* REQUEST SENSE */
		n = atapi_request_sense(d);
		atapi_reply(d, clip(n, p[4]));
		return;
	case 0x12: /* INQUIRY */
		atapi_reply(d, clip(atapi_inquiry(d), be16(p + 3)));
		return;
	case 0x25: /* READ CAPACITY */
		put_be32(d->buf, (uint32_t)(atapi_blocks(d) - 1));
		put_be32(d->buf + 4, IDE_CD_SECTOR);
		atapi_reply(d, 8);
		return;
	case 0x28: /* READ(10) */
		atapi_read(d, be32(p + 2), be16(p + 7), IDE_CD_SECTOR);
		return;
	case 0xa8: /* READ(12) */
		atapi_read(d, be32(p + 2), be32(p + 6), IDE_CD_SECTOR);
		return;
	case 0xbe: { /* READ CD */
		uint32_t count = (uint32_t)p[6] << 16 | (uint32_t)p[7] << 8 | p[8];

		if (p[9] == 0x00)
			atapi_read(d, be32(p + 2), 0, IDE_CD_SECTOR);
		else if (p[9] == 0x10)
			atapi_read(d, be32(p + 2), count, IDE_CD_SECTOR);
		else if (p[9] == 0xf8)
			atapi_read(d, be32(p + 2), count, CD_RAW_SECTOR);
		else
			atapi_illegal(d, ASC_INV_FIELD);
		return;
	}
	case 0x2b: /* SEEK(10) */
		if (be32(p + 2) >= atapi_blocks(d))
			atapi_illegal(d, ASC_LBA_OUT_OF_RANGE);
		else
			atapi_ok(d);
		return;
	case 0x43: /* READ TOC/PMA/ATIP */
		n = atapi_read_toc(d, p);
		if (!n)
			atapi_illegal(d, ASC_INV_FIELD);
		else
			atapi_reply(d, clip(n, be16(p + 7)));
		return;
	case 0x51: /* READ DISC INFORMATION */
		atapi_reply(d, clip(atapi_disc_info(d), be16(p + 7)));
		return;
	case 0x46: /* GET CONFIGURATION */
		atapi_reply(d, clip(atapi_get_configuration(d), be16(p + 7)));
		return;
	case 0x4a: /* GET EVENT STATUS NOTIFICATION */
		n = atapi_event_status(d, p);
		if (!n)
			atapi_illegal(d, ASC_INV_FIELD);
		else
			atapi_reply(d, clip(n, be16(p + 7)));
		return;
	case 0x5a: /* MODE SENSE(10) */
	case 0x1a: /* MODE SENSE(6) */
		n = atapi_mode_sense(d, p, p[0] == 0x5a);
		if (n)
			atapi_reply(d, clip(n, p[0] == 0x5a ? be16(p + 7) : p[4]));
		return;
	case 0x1b: /* START STOP UNIT */
		atapi_start_stop(d, p);
		return;
	case 0x1e: /* PREVENT ALLOW MEDIUM REMOVAL */
		d->atapi.locked = p[4] & 0x01;
		atapi_ok(d);
		return;
	case 0xbd: /* MECHANISM STATUS */
		memset(d->buf, 0, 8);
		d->buf[1] = d->atapi.tray_open ? 0x10 : 0; /* door open */
		atapi_reply(d, clip(8, be16(p + 8)));
		return;
	case 0x42: /* READ SUB-CHANNEL: header only, no audio status */
		memset(d->buf, 0, 4);
		d->buf[1] = 0x15;
		atapi_reply(d, clip(4, be16(p + 7)));
		return;
	}
	atapi_illegal(d, ASC_INV_OPCODE);
}

static void atapi_packet_received(struct ide_drive *d)
{
	struct ide_atapi *a = &d->atapi;
	uint8_t *p = a->packet;

	memcpy(p, d->buf, sizeof(a->packet));
	dm_dbg("ide", "atapi packet %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x", p[0], p[1],
	       p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]);
	if (a->dma && !d->bus->bm) {
		atapi_illegal(d, ASC_INV_FIELD);
		return;
	}
	if (a->unit_attention && !atapi_always_allowed(p[0])) {
		a->unit_attention = false;
		atapi_check_condition(d, SK_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
		return;
	}
	if (atapi_needs_medium(p[0]) && !atapi_has_medium(d)) {
		atapi_not_ready(d);
		return;
	}
	atapi_dispatch(d, p);
}

/* DMA data phases wait for the bus master like ATA DMA does. */
static void atapi_dma_packet(struct ide_drive *d)
{
	atapi_packet_received(d);
}

static void atapi_packet_end(struct ide_drive *d)
{
	if (!d->atapi.dma) {
		atapi_packet_received(d);
		return;
	}
	ide_set_status(d, IDE_ST_DRDY | IDE_ST_BSY);
	if (d->bus->bm && ide_bm_active(d->bus->bm)) {
		atapi_dma_packet(d);
		return;
	}
	d->bus->dma_start = atapi_dma_packet;
}

static void atapi_packet_cmd(struct ide_drive *d)
{
	struct ide_atapi *a = &d->atapi;
	uint32_t limit = (uint32_t)d->hcyl << 8 | d->lcyl;

	a->dma = d->feature & 0x01;
	/* ATA-6 9.9: a limit of 0 is invalid; 0xffff means 0xfffe (it must be even). */
	if (limit == 0 || limit == 0xffff)
		limit = 0xfffe;
	a->byte_limit = limit & ~1u;
	d->nsector = IR_COD;
	ide_pio_start(d, sizeof(a->packet), false, atapi_packet_end);
}

static void atapi_identify(struct ide_drive *d)
{
	uint8_t *id = d->buf;

	memset(id, 0, 512);
	id[0] = 0xc0; /* 0x85C0: ATAPI, CD-ROM, removable, 50us DRQ, 12-byte packets */
	id[1] = 0x85;
	ide_padstr(id + 20, d->serial, 20);
	ide_padstr(id + 46, d->fwrev, 8);
	ide_padstr(id + 54, d->model, 40);
	id[96] = 1;				      /* word 48: dword I/O */
	id[99] = 0x03;				      /* word 49: LBA, DMA */
	id[106] = 0x07;				      /* word 53 */
	id[124] = 0x07;				      /* word 62 */
	id[126] = 0x07;				      /* word 63 */
	id[128] = 0x03;				      /* word 64: PIO 3, 4 */
	id[130] = id[132] = id[134] = id[136] = 0xb4; /* words 65-68 */
	id[160] = 0x1e;				      /* word 80: ATA/ATAPI-1..4 */
	id[164] = 0x10;				      /* word 82: PACKET feature set */
	id[176] = 0x3f;				      /* word 88: UDMA 0-5 */
	/* Words 63 and 88, high bytes: the mode SET FEATURES selected (ATA-6 8.16). */
	if ((d->xfer_mode >> 3) == 4 && (d->xfer_mode & 7) <= 2)
		id[127] = (uint8_t)(1 << (d->xfer_mode & 7));
	if ((d->xfer_mode >> 3) == 8 && (d->xfer_mode & 7) <= 5)
		id[177] = (uint8_t)(1 << (d->xfer_mode & 7));
}

bool ide_atapi_exec(struct ide_drive *d, uint8_t cmd)
{
	switch (cmd) {
	case 0xa1: /* IDENTIFY PACKET DEVICE */
		atapi_identify(d);
		ide_pio_start(d, 512, true, ide_pio_stop);
		ide_set_status(d, IDE_ST_DRDY | IDE_ST_DRQ);
		return true;
	case 0xa0: /* PACKET */
		atapi_packet_cmd(d);
		return true;
	case 0x08: /* DEVICE RESET */
		ide_drive_quiesce(d);
		ide_set_signature(d);
		ide_set_status(d, 0);
		d->error = 0x01;
		return true;
	case 0xef: /* SET FEATURES: the transfer mode is remembered for IDENTIFY */
		if (d->feature == 0x03)
			d->xfer_mode = d->nsector;
		ide_set_status(d, IDE_ST_DRDY);
		ide_set_irq(d->bus);
		return true;
	case 0xe1:
	case 0xe0:
	case 0xe6:
	case 0x00:
		ide_set_status(d, IDE_ST_DRDY);
		ide_set_irq(d->bus);
		return true;
	case 0xe5: /* CHECK POWER MODE */
		d->nsector = 0xff;
		ide_set_status(d, IDE_ST_DRDY);
		ide_set_irq(d->bus);
		return true;
	}
	return false; /* ATA-only (IDENTIFY DEVICE, READ SECTORS, ...): abort with signature */
}

void ide_atapi_reset(struct ide_drive *d)
{
	struct ide_atapi *a = &d->atapi;

	a->sense_key = 0;
	a->asc = 0;
	a->ascq = 0;
	a->blocks_left = 0;
	a->buf_pos = a->buf_len = 0;
	a->locked = false;
}

void ide_atapi_change_medium(struct ide_drive *d, struct blk *blk)
{
	ide_drive_quiesce(d); /* a read of the old medium must not complete into the new one */
	if (d->blk)
		blk_close(d->blk);
	d->blk = blk;
	d->atapi.tray_open = false;
	d->atapi.locked = false;
	d->atapi.media_event = blk ? 2 : 3;
	d->atapi.unit_attention = true;
}
