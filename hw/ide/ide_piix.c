// SPDX-License-Identifier: MIT
/*
 * ide_piix.c - the PIIX3 IDE function (8086:7010, Intel 82371SB datasheet
 * sections 2.4 and 2.7): legacy-mode channels at 0x1F0/0x3F6 (IRQ 14) and
 * 0x170/0x376 (IRQ 15), IDE timing registers 0x40-0x44 kept for the
 * firmware and drivers, and bus-master DMA through BAR4 with PRD tables
 * read from guest memory.
 *
 * Device "piix4-ide" is the same function as the PIIX4 has it (8086:7111,
 * Intel 82371AB datasheet section 3.3): the PIIX3 registers plus Ultra DMA/33
 * control (UDMACTL 0x48: one enable bit per drive) and timing (UDMATIM
 * 0x4A-0x4B: two cycle-time bits per drive).  The pc machine uses it: Linux's
 * ata_piix drives a PIIX3 with multiword DMA only and a PIIX4 with UDMA/33,
 * and the drives' IDENTIFY data (words 88 and 93) already offer UDMA.  The
 * UDMA timing values are stored for drivers to read back; transfers run at
 * the same speed whatever the guest programs.  Xen's qemu-dm used the PIIX3
 * variant, which stays available as "piix3-ide".
 *
 * Options (devices "piix3-ide", "piix4-ide"): hda= hdb= hdc= hdd= each a drive spec
 * "file=PATH,format=raw|qcow2,media=disk|cdrom,readonly=on,snapshot=on,
 * cache=none|directsync|writeback,aio=native|threads|sync" (cache=none and
 * directsync open the image O_DIRECT; aio: see block/block.h)
 * with ',' inside a value written as ',,' twice over (opts nesting) — the
 * machine builder passes dm->cfg.drive[] instead, see piix_ide_create().
 *
 * A PRD walk is bounded by the 64 KiB table (8192 entries) and stops at
 * EOT; a table that describes too little ends the command with an error,
 * never a retry loop (CVE-2014-9718).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ide.h"
#include "device.h"
#include "dm.h"
#include "gmem.h"
#include "log.h"
#include "pci/pci.h"

#define BM_CMD_START 0x01
#define BM_CMD_WRITE_TO_MEM 0x08
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR 0x02
#define BM_ST_INT 0x04
#define BM_ST_DMA_CAP 0x60
#define BM_PRD_MAX 8192 /* entries in a 64 KiB table */
#define BM_PRD_EOT 0x80000000u
#define PIIX4_UDMACTL 0x48 /* 82371AB 3.3.6: bits 0-3 enable UDMA per drive */
#define PIIX4_UDMATIM 0x4a /* 82371AB 3.3.7: 2-bit cycle time per drive */

struct ide_bmdma {
	struct pci_func *pci;
	struct ide_bus *bus;
	struct io_region *io; /* BAR4, shared by both channels */
	unsigned io_off;      /* this channel's registers: 0 or 8 */
	/* Change only through bm_set_cmd/status/prd (they publish to the mirror). */
	uint8_t cmd, status;
	uint32_t prd_addr;
	/* PRD walker for the current command. */
	uint32_t next_prd;
	uint32_t cur_addr, cur_left;
	unsigned walked;
	bool eot;
};

struct piix_ide {
	struct dm *dm;
	struct pci_func pci;
	struct ide_bus bus[2];
	struct ide_bmdma bm[2];
	struct io_region bm_io;
};

/*
 * Command, status and PRD table address have no read side effects (82371SB
 * 2.7.1-2.7.3), so the hypervisor may answer their reads from the dm's
 * mirror; each setter publishes the new value before anything (an
 * interrupt, a reply) can tell the guest about it.
 */
static void bm_set_cmd(struct ide_bmdma *bm, uint8_t cmd)
{
	bm->cmd = cmd;
	io_mirror_set(bm->io, bm->io_off + 0, cmd);
}

static void bm_set_status(struct ide_bmdma *bm, uint8_t status)
{
	bm->status = status;
	io_mirror_set(bm->io, bm->io_off + 2, status);
}

static void bm_set_prd(struct ide_bmdma *bm, uint32_t prd_addr)
{
	bm->prd_addr = prd_addr;
	io_mirror_set(bm->io, bm->io_off + 4, prd_addr);
}

bool ide_bm_active(const struct ide_bmdma *bm)
{
	return bm->cmd & BM_CMD_START;
}

void ide_bm_irq(struct ide_bmdma *bm)
{
	bm_set_status(bm, bm->status | BM_ST_INT);
}

/*
 * Load the next PRD entry into the walker, read once into locals (the
 * guest may change it): 1, or 0 past the table's end (EOT, or BM_PRD_MAX
 * entries walked), -1 when the entry is not in guest RAM.
 */
static int bm_next_prd(struct ide_bmdma *bm)
{
	uint32_t prd[2];

	if (bm->eot || bm->walked >= BM_PRD_MAX)
		return 0;
	if (pci_dma_read(bm->pci, bm->next_prd, prd, sizeof(prd)))
		return -1;
	bm->next_prd += 8;
	bm->walked++;
	bm->cur_addr = prd[0] & ~1u;
	bm->cur_left = prd[1] & 0xfffe;
	if (!bm->cur_left)
		bm->cur_left = 0x10000;
	bm->eot = prd[1] & BM_PRD_EOT;
	return 1;
}

int64_t ide_bm_transfer(struct ide_bmdma *bm, uint8_t *buf, uint32_t len, bool to_mem)
{
	uint32_t done = 0;

	if (!ide_bm_active(bm))
		return -1;
	while (done < len) {
		uint32_t n;
		int err;

		if (!bm->cur_left) {
			int got = bm_next_prd(bm);

			if (got < 0)
				return -1;
			if (!got)
				break;
		}
		n = bm->cur_left < len - done ? bm->cur_left : len - done;
		err = to_mem ? pci_dma_write(bm->pci, bm->cur_addr, buf + done, n)
			     : pci_dma_read(bm->pci, bm->cur_addr, buf + done, n);
		if (err) {
			dm_guest_err("ide", "bus master: PRD buffer 0x%x not in guest RAM",
				     bm->cur_addr);
			bm_set_status(bm, bm->status | BM_ST_ERROR);
			return -1;
		}
		bm->cur_addr += n;
		bm->cur_left -= n;
		done += n;
	}
	return done;
}

/* The PRD walker's position, saved so a refused mapping leaves no trace. */
struct bm_walk {
	uint32_t next_prd, cur_addr, cur_left;
	unsigned walked;
	bool eot;
};

static void bm_walk_save(const struct ide_bmdma *bm, struct bm_walk *w)
{
	*w = (struct bm_walk){ bm->next_prd, bm->cur_addr, bm->cur_left, bm->walked, bm->eot };
}

static void bm_walk_restore(struct ide_bmdma *bm, const struct bm_walk *w)
{
	bm->next_prd = w->next_prd;
	bm->cur_addr = w->cur_addr;
	bm->cur_left = w->cur_left;
	bm->walked = w->walked;
	bm->eot = w->eot;
}

/*
 * Append [gpa, gpa+n) at host to the segment list, merging it into the last
 * segment when both guest and host addresses continue it.  false: full.
 */
static bool bm_seg_add(struct ide_dma_sg *sg, uint64_t gpa, uint8_t *host, uint32_t n)
{
	if (sg->cnt) {
		struct iovec *last = &sg->iov[sg->cnt - 1];

		if (sg->gpa[sg->cnt - 1] + last->iov_len == gpa &&
		    (uint8_t *)last->iov_base + last->iov_len == host) {
			last->iov_len += n;
			return true;
		}
	}
	if (sg->cnt >= BLK_IOV_MAX)
		return false;
	sg->iov[sg->cnt] = (struct iovec){ host, n };
	sg->gpa[sg->cnt++] = gpa;
	return true;
}

int ide_bm_map(struct ide_bmdma *bm, uint32_t len, struct ide_dma_sg *sg)
{
	struct dm *dm = bm->bus->dm;
	struct bm_walk saved;
	uint32_t done = 0;

	sg->cnt = 0;
	if (!ide_bm_active(bm))
		return -EINVAL;
	bm_walk_save(bm, &saved);
	while (done < len) {
		uint32_t n;
		uint8_t *host;

		/* the walker ide_bm_transfer() uses; a short table bounces */
		if (!bm->cur_left && bm_next_prd(bm) <= 0)
			goto refuse;
		n = bm->cur_left < len - done ? bm->cur_left : len - done;
		/* Wholly inside one RAM region, or the bounce path reports the fault. */
		host = gmem_map(dm, bm->cur_addr, n);
		if (!host || !bm_seg_add(sg, bm->cur_addr, host, n))
			goto refuse;
		bm->cur_addr += n;
		bm->cur_left -= n;
		done += n;
	}
	return 0;
refuse:
	bm_walk_restore(bm, &saved);
	sg->cnt = 0;
	return -EAGAIN;
}

void ide_bm_mark_written(struct ide_bmdma *bm, const struct ide_dma_sg *sg)
{
	int i;

	for (i = 0; i < sg->cnt; i++)
		gmem_mark_written(bm->bus->dm, sg->gpa[i], sg->iov[i].iov_len);
}

void ide_bm_done(struct ide_bmdma *bm, bool prd_exhausted_early)
{
	/*
	 * Bus Master IDE programming interface rev 1.0: ACTIVE stays set only
	 * when the PRD table still describes memory the transfer did not use
	 * (the guest then stops the engine); an early end or an error clears it.
	 */
	bool more = bm->cur_left || (!bm->eot && bm->walked < BM_PRD_MAX);
	uint8_t st = bm->status;

	if (prd_exhausted_early || !more)
		st &= (uint8_t)~BM_ST_ACTIVE;
	else
		st |= BM_ST_ACTIVE;
	bm_set_status(bm, st | BM_ST_INT);
}

static void bm_start(struct ide_bmdma *bm)
{
	struct ide_bus *bus = bm->bus;
	void (*start)(struct ide_drive *) = bus->dma_start;

	bm->next_prd = bm->prd_addr;
	bm->cur_left = 0;
	bm->walked = 0;
	bm->eot = false;
	bm_set_status(bm, bm->status | BM_ST_ACTIVE);
	if (start) {
		bus->dma_start = NULL;
		start(ide_cur(bus));
	}
}

static uint64_t bm_read(void *opaque, uint64_t off, unsigned size)
{
	struct piix_ide *s = opaque;
	struct ide_bmdma *bm = &s->bm[off >= 8];

	switch (off & 7) {
	case 0:
		return bm->cmd;
	case 2:
		return bm->status;
	case 4:
	case 5:
	case 6:
	case 7:
		return (bm->prd_addr >> ((off & 3) * 8)) & 0xff;
	}
	return 0xff;
}

static void bm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct piix_ide *s = opaque;
	struct ide_bmdma *bm = &s->bm[off >= 8];
	unsigned shift = (off & 3) * 8;

	switch (off & 7) {
	case 0: {
		uint8_t old = bm->cmd;

		bm_set_cmd(bm, (uint8_t)(val & (BM_CMD_START | BM_CMD_WRITE_TO_MEM)));
		if ((bm->cmd & BM_CMD_START) && !(old & BM_CMD_START)) {
			bm_start(bm);
		} else if (!(bm->cmd & BM_CMD_START)) {
			bm_set_status(bm, bm->status & (uint8_t)~BM_ST_ACTIVE);
			/* The guest may reuse the PRD buffers now: nothing may store there later. */
			if (old & BM_CMD_START)
				ide_bus_dma_stopped(bm->bus);
		}
		break;
	}
	case 2: {
		uint8_t st = (uint8_t)((bm->status & ~(BM_ST_DMA_CAP)) | (val & BM_ST_DMA_CAP));

		bm_set_status(bm, st & (uint8_t) ~(val & (BM_ST_ERROR | BM_ST_INT)));
		break;
	}
	case 4:
	case 5:
	case 6:
	case 7:
		bm_set_prd(bm, ((bm->prd_addr & ~(0xffu << shift)) |
				((uint32_t)(val & 0xff) << shift)) &
				       ~3u);
		break;
	}
}

static const struct io_mirror_reg bm_mirrored[] = {
	{ .off = 0, .size = 1 }, { .off = 2, .size = 1 },  { .off = 4, .size = 4 },
	{ .off = 8, .size = 1 }, { .off = 10, .size = 1 }, { .off = 12, .size = 4 },
};

/*
 * Each channel's registers change only their own mirrors (bits: bm_mirrored
 * indices).  A command write starts or stops the engine, which changes the
 * command and status registers; the drive's status changes when the
 * transfer ends, which the guest learns by its interrupt or a later status
 * read in any case, so it is not listed (a stop that ends a pending
 * transfer may show a moment later, as if the transfer ended then).
 */
static const struct io_post_effect bm_effects[] = {
	{ .off = 0, .len = 1, .mirrored = 0x03 },  { .off = 2, .len = 1, .mirrored = 0x02 },
	{ .off = 4, .len = 4, .mirrored = 0x04 },  { .off = 8, .len = 1, .mirrored = 0x18 },
	{ .off = 10, .len = 1, .mirrored = 0x10 }, { .off = 12, .len = 4, .mirrored = 0x20 },
};

static const struct io_ops bm_ops = {
	.read = bm_read,
	.write = bm_write,
	.min_size = 1,
	.max_size = 1,
	/*
	 * The PRD table address dwords (offsets 4-7 and 12-15, 82371SB 2.7.3)
	 * only latch: bm_start() copies the address when a transfer starts.
	 * Status (2, 10) clears the INT and ERROR bits it is written with and
	 * sets the drive-DMA-capable bits; nothing else follows from it (the
	 * interrupt line belongs to the drive, lowered by reading its status),
	 * and a later read waits for it (a read goes synchronous while the ring
	 * holds writes, and the dm applies them first).
	 */
	.posted_writes = 0xf4f4,
	/*
	 * Command (0, 8) starts or stops the engine and returns nothing:
	 * posted with an immediate signal (SET_URGENT_PIO in
	 * include/hvm/setup.h); a later status or command read waits for it.
	 */
	.urgent_writes = 0x0101,
	.mirrored = bm_mirrored,
	.nr_mirrored = 6,
	.post_effects = bm_effects,
	.nr_post_effects = 6,
};

/*
 * l2-cache-size=SIZE (QEMU's -drive spelling): bytes of qcow2 L2 tables to
 * cache, with an optional K, M or G suffix.  Only qcow2 has the cache; the
 * block layer keeps at least two tables.
 */
static int piix_l2_cache(const struct opts *o, struct blk_opts *bo, unsigned idx)
{
	const char *v = opts_get(o, "l2-cache-size");

	if (!v)
		return 0;
	if (!bo->format || strcmp(bo->format, "qcow2")) {
		dm_err("ide", "hd%c: l2-cache-size= is for qcow2 images only (format=%s)",
		       'a' + idx, bo->format ? bo->format : "raw");
		return -EINVAL;
	}
	if (opts_parse_size(v, &bo->l2_cache_size) || !bo->l2_cache_size ||
	    bo->l2_cache_size > BLK_L2_CACHE_MAX) {
		dm_err("ide",
		       "hd%c: l2-cache-size=%s: give a size up to %uM, in bytes or with a K or "
		       "M suffix (such as 4M)",
		       'a' + idx, v, BLK_L2_CACHE_MAX >> 20);
		return -EINVAL;
	}
	return 0;
}

/*
 * "file=...,format=...,media=cdrom,readonly=on,snapshot=on,l2-cache-size=4M"
 * -> attached drive.
 */
static int piix_attach(struct piix_ide *s, unsigned idx, const char *spec)
{
	struct blk_opts bo = { 0 };
	struct blk *blk = NULL;
	bool ro = false, cdrom, snap = false;
	const char *media, *cache;
	struct opts o;
	int err = opts_parse(&o, spec);

	if (err)
		return err;
	media = opts_get(&o, "media");
	cdrom = media && !strcmp(media, "cdrom");
	if (opts_get_bool(&o, "readonly", cdrom, &ro) ||
	    opts_get_bool(&o, "snapshot", false, &snap)) {
		opts_free(&o);
		return -EINVAL;
	}
	bo.path = opts_get(&o, "file");
	bo.format = opts_get(&o, "format");
	bo.readonly = ro;
	bo.snapshot = snap;
	/* QEMU's cache=none and directsync bypass the host page cache (O_DIRECT). */
	cache = opts_get(&o, "cache");
	bo.direct = cache && (!strcmp(cache, "none") || !strcmp(cache, "directsync"));
	if (piix_l2_cache(&o, &bo, idx)) {
		opts_free(&o);
		return -EINVAL;
	}
	if (blk_aio_parse(opts_get(&o, "aio"), &bo.aio)) {
		dm_err("ide", "hd%c: aio=%s: use threads, native or sync", 'a' + idx,
		       opts_get(&o, "aio"));
		opts_free(&o);
		return -EINVAL;
	}
	if (bo.path && *bo.path)
		err = blk_open(&bo, s->dm->loop, &blk);
	else if (!cdrom) {
		dm_err("ide", "hd%c: a disk needs file=PATH", 'a' + idx);
		err = -EINVAL;
	}
	if (!err)
		err = ide_drive_attach(&s->bus[idx / 2], idx % 2, cdrom ? IDE_CDROM : IDE_DISK, blk,
				       ro);
	if (err && blk)
		blk_close(blk);
	if (!err)
		dm_info("ide", "hd%c: %s %s%s", 'a' + idx, cdrom ? "cdrom" : "disk",
			bo.path && *bo.path ? bo.path : "(empty)", ro ? " read-only" : "");
	opts_free(&o);
	return err;
}

static void piix_ide_reset(struct dev *d, enum dev_reset kind)
{
	struct piix_ide *s = d->state;
	unsigned i;

	pci_func_reset(&s->pci);
	for (i = 0; i < 2; i++) {
		bm_set_cmd(&s->bm[i], 0);
		bm_set_status(&s->bm[i], 0);
		bm_set_prd(&s->bm[i], 0);
		ide_bus_reset(&s->bus[i]);
	}
}

static int piix_ide_create(struct dev *d, const struct opts *o, bool piix4)
{
	static const char *const keys[4] = { "hda", "hdb", "hdc", "hdd" };
	struct piix_ide *s = d->state;
	struct pci_bus *pbus = pci_bus_of(d->dm);
	unsigned i;
	int err;

	s->dm = d->dm;
	if (!pbus)
		return -ENODEV;
	err = pci_func_init(&s->pci, pbus, PCI_DEVFN(1, 1), d->type->name, NULL, s);
	if (err)
		return err;
	/* Class 01 01 80: IDE, both channels in legacy mode, bus master capable. */
	if (piix4) {
		pci_set_ids(&s->pci, 0x8086, 0x7111, 0x01, 0x010180);
		pci_set_wmask(&s->pci, PIIX4_UDMACTL, 1, 0x0f);
		pci_set_wmask(&s->pci, PIIX4_UDMATIM, 2, 0x3333);
	} else {
		pci_set_ids(&s->pci, 0x8086, 0x7010, 0x00, 0x010180);
	}
	pci_set_wmask(&s->pci, 0x40, 4, 0xffffffff); /* IDETIM primary/secondary */
	pci_set_wmask(&s->pci, 0x44, 1, 0xff);	     /* SIDETIM */
	io_region_init(&s->bm_io, &bm_ops, s, "piix3-bmdma", 16);
	err = pci_bar_init(&s->pci, 4, PCI_BAR_IO, 16, &s->bm_io);
	if (err)
		return err;
	pci_func_ready(&s->pci);
	for (i = 0; i < 2; i++) {
		ide_bus_init(&s->bus[i], d->dm, i, i ? 15 : 14);
		s->bm[i].pci = &s->pci;
		s->bm[i].bus = &s->bus[i];
		s->bm[i].io = &s->bm_io;
		s->bm[i].io_off = i * 8;
		s->bus[i].bm = &s->bm[i];
	}
	err = ide_bus_map_legacy(&s->bus[0], 0x1f0, 0x3f6);
	if (!err)
		err = ide_bus_map_legacy(&s->bus[1], 0x170, 0x376);
	for (i = 0; !err && i < 4; i++) {
		const char *spec = opts_get(o, keys[i]);

		if (!spec)
			spec = d->dm->cfg.drive[i];
		if (spec)
			err = piix_attach(s, i, spec);
	}
	if (!err)
		err = ide_qmp_register(d->dm);
	if (err)
		return err;
	piix_ide_reset(d, DEV_RESET_COLD);
	return 0;
}

static int piix3_ide_create(struct dev *d, const struct opts *o)
{
	return piix_ide_create(d, o, false);
}

static int piix4_ide_create(struct dev *d, const struct opts *o)
{
	return piix_ide_create(d, o, true);
}

static void piix_ide_destroy(struct dev *d)
{
	struct piix_ide *s = d->state;
	unsigned i;

	for (i = 0; i < 2; i++) {
		ide_bus_unmap(&s->bus[i]);
		ide_drive_detach(&s->bus[i].drive[0]);
		ide_drive_detach(&s->bus[i].drive[1]);
	}
	if (s->pci.registered)
		pci_func_exit(&s->pci);
}

/* The IDE drive at index 0-3 (hda-hdd) of the dm's controller, or NULL. */
struct ide_drive *piix_ide_drive(struct dm *dm, unsigned index)
{
	struct dev *d = dev_find(dm, "piix4-ide");
	struct piix_ide *s;

	if (!d)
		d = dev_find(dm, "piix3-ide");
	if (!d || index > 3)
		return NULL;
	s = d->state;
	return &s->bus[index / 2].drive[index % 2];
}

static const struct dev_type piix3_ide_type = {
	.name = "piix3-ide",
	.state_size = sizeof(struct piix_ide),
	.create = piix3_ide_create,
	.reset = piix_ide_reset,
	.destroy = piix_ide_destroy,
};
DM_DEVICE(piix3_ide_type);

static const struct dev_type piix4_ide_type = {
	.name = "piix4-ide",
	.state_size = sizeof(struct piix_ide),
	.create = piix4_ide_create,
	.reset = piix_ide_reset,
	.destroy = piix_ide_destroy,
};
DM_DEVICE(piix4_ide_type);
