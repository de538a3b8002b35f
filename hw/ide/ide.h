/* SPDX-License-Identifier: MIT */
/*
 * ide.h - the IDE/ATA model shared by ide_core.c (register file, command
 * table, PIO state machine), ide_ata.c (ATA disk commands), ide_atapi.c
 * (ATAPI CD-ROM) and ide_piix.c (PIIX3/PIIX4 PCI function and bus-master
 * DMA).
 *
 * References: ATA/ATAPI-6 (T13/1410D) chapters 6-9 for registers, protocols
 * and commands; MMC-3 for ATAPI packets; Intel 82371SB (PIIX3) datasheet
 * section 2.7 and 82371AB (PIIX4) section 3.3 for bus-master IDE.  Loop
 * thread only; disk I/O goes through blk_submit() and continues in
 * completion callbacks.
 */
#ifndef HW_IDE_IDE_H
#define HW_IDE_IDE_H

#include <stdbool.h>
#include <stdint.h>

#include "block.h"
#include "iospace.h"
#include "irq.h"

struct dm;
struct ide_bus;
struct ide_bmdma;

/* Status register (ATA-6 7.15). */
#define IDE_ST_ERR 0x01
#define IDE_ST_DRQ 0x08
#define IDE_ST_DSC 0x10 /* seek complete (obsolete, still read by old drivers) */
#define IDE_ST_DF 0x20
#define IDE_ST_DRDY 0x40
#define IDE_ST_BSY 0x80
/* Error register. */
#define IDE_ER_ABRT 0x04
#define IDE_ER_IDNF 0x10
#define IDE_ER_UNC 0x40
/* Device control register. */
#define IDE_CTL_NIEN 0x02
#define IDE_CTL_SRST 0x04
#define IDE_CTL_HOB 0x80
/* Device/head register. */
#define IDE_DEV_LBA 0x40
#define IDE_DEV_DEV 0x10

#define IDE_SECTOR 512
/*
 * Largest chunk one block request moves: 1 MiB, so the 1 MiB commands Linux
 * issues for large transfers are one request, not eight (each request costs
 * a round trip through the block layer).
 */
#define IDE_BUF_SECTORS 2048
#define IDE_BUF_SIZE (IDE_BUF_SECTORS * IDE_SECTOR + 4)
#define IDE_MAX_MULT 16
#define IDE_CD_SECTOR 2048

enum ide_kind {
	IDE_NONE = 0,
	IDE_DISK,
	IDE_CDROM,
};

/* ATAPI state (ide_atapi.c). */
struct ide_atapi {
	uint8_t packet[12];
	uint8_t sense_key, asc, ascq;
	bool tray_open;
	bool locked;	     /* PREVENT MEDIUM REMOVAL */
	uint8_t media_event; /* pending GET EVENT STATUS media event */
	bool unit_attention; /* media changed: next command fails with 6/28 */
	uint64_t lba;	     /* current READ */
	uint32_t blocks_left;
	uint32_t block_size;	   /* 2048 or 2352 (READ CD raw) */
	uint32_t byte_limit;	   /* byte count limit from the cylinder registers */
	uint32_t bytes_left;	   /* of the whole transfer (PIO) */
	uint32_t buf_pos, buf_len; /* PIO: what of the buffer the guest still has to read */
	bool dma;
};

/*
 * Guest memory a bus-master command moves directly (ide_bm_map): host
 * pointers into guest RAM and the guest-physical address of each segment.
 */
struct ide_dma_sg {
	struct iovec iov[BLK_IOV_MAX];
	uint64_t gpa[BLK_IOV_MAX];
	int cnt;
};

struct ide_drive {
	struct ide_bus *bus;
	unsigned unit;
	enum ide_kind kind;
	struct blk *blk; /* NULL: no medium (CD-ROM) or no drive */
	bool readonly;
	uint64_t nb_sectors;	      /* 512-byte sectors (disk) */
	uint16_t cyls, heads, secs;   /* default CHS translation */
	uint16_t cur_heads, cur_secs; /* after INITIALIZE DEVICE PARAMETERS */
	char serial[21], model[41], fwrev[9];

	/* Task file (written to both drives of a bus, as on real cables). */
	uint8_t feature, nsector, sector, lcyl, hcyl, select;
	uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
	uint8_t status, error;

	uint8_t mult_sectors; /* READ/WRITE MULTIPLE block size, 0 = disabled */
	bool write_cache;
	bool smart_enabled;
	uint8_t smart_selftest_count;
	uint8_t xfer_mode; /* SET FEATURES 03h value */
	bool standby;

	/* PIO data window into buf: the guest moves bytes [data_pos, data_end). */
	uint8_t *buf;
	uint32_t data_pos, data_end;
	void (*end_transfer)(struct ide_drive *d);

	/* Current ATA sector command. */
	uint8_t cmd;
	uint64_t lba;
	uint32_t remaining; /* sectors still to move */
	uint32_t chunk;	    /* sectors in the current buffer */
	bool is_write;
	bool dma;
	bool io_pending;
	struct blk_req req;
	/* DMA request in flight that moves guest RAM directly (no bounce through buf). */
	bool dma_direct;
	struct ide_dma_sg sg;

	struct ide_atapi atapi;

	/* I/O accounting for query-blockstats (completed ATA transfers). */
	struct {
		uint64_t rd_bytes, wr_bytes, rd_ops, wr_ops, flush_ops;
		uint64_t dma_bytes; /* of rd_bytes + wr_bytes: moved by the bus master */
	} stats;
};

struct ide_bus {
	struct dm *dm;
	unsigned index; /* 0 primary, 1 secondary */
	struct ide_drive drive[2];
	unsigned cur; /* selected unit */
	uint8_t devctl;
	bool irq_pending;
	struct irq_line irq;
	struct io_region cmd_io, ctl_io;
	struct ide_bmdma *bm;
	/* DMA command waiting for the bus master (or the other way round). */
	bool dma_ready;
	void (*dma_start)(struct ide_drive *d); /* set by the command, run when BM starts */
};

/* ide_core.c */
void ide_bus_init(struct ide_bus *bus, struct dm *dm, unsigned index, uint32_t gsi);
int ide_bus_map_legacy(struct ide_bus *bus, uint16_t cmd_base, uint16_t ctl_base);
void ide_bus_unmap(struct ide_bus *bus);
void ide_bus_reset(struct ide_bus *bus);
/*
 * Disown the drive's request in flight and wait for it to finish (reset,
 * medium change): afterwards nothing of it touches guest memory, d->buf or
 * d->req again.
 */
void ide_drive_quiesce(struct ide_drive *d);
/* The bus master stopped: wait for the channel's requests in flight (they then fail). */
void ide_bus_dma_stopped(struct ide_bus *bus);
/* Attach a drive (blk may be NULL for an empty CD-ROM).  0 or -errno. */
int ide_drive_attach(struct ide_bus *bus, unsigned unit, enum ide_kind kind, struct blk *blk,
		     bool readonly);
void ide_drive_detach(struct ide_drive *d);
/* Register file access (offset 0-7 command block, 8 = control block). */
uint32_t ide_cmd_read(struct ide_bus *bus, unsigned reg, unsigned size);
void ide_cmd_write(struct ide_bus *bus, unsigned reg, uint32_t val, unsigned size);

/* Helpers for command implementations. */
struct ide_drive *ide_cur(struct ide_bus *bus);
/* Every change of a drive's status goes through here (alternate status mirror). */
void ide_set_status(struct ide_drive *d, uint8_t status);
void ide_set_irq(struct ide_bus *bus);
void ide_abort(struct ide_drive *d);
void ide_done(struct ide_drive *d); /* DRDY|DSC, raise IRQ */
/* Start a PIO data-in/out window of len bytes of d->buf. */
void ide_pio_start(struct ide_drive *d, uint32_t len, bool irq, void (*end)(struct ide_drive *));
/* The same for bytes [start, start+len) of d->buf. */
void ide_pio_window(struct ide_drive *d, uint32_t start, uint32_t len, bool irq,
		    void (*end)(struct ide_drive *));
void ide_pio_stop(struct ide_drive *d);
void ide_set_signature(struct ide_drive *d);
uint64_t ide_get_lba(const struct ide_drive *d, bool lba48);
void ide_set_lba(struct ide_drive *d, uint64_t lba, bool lba48);
uint32_t ide_get_nsector(const struct ide_drive *d, bool lba48);
void ide_padstr(uint8_t *dst, const char *src, size_t len); /* ATA byte-swapped string */

/* ide_ata.c: ATA commands; returns false if cmd is not an ATA disk command. */
bool ide_ata_exec(struct ide_drive *d, uint8_t cmd);
void ide_ata_identify(struct ide_drive *d);

/* ide_atapi.c */
bool ide_atapi_exec(struct ide_drive *d, uint8_t cmd);
void ide_atapi_reset(struct ide_drive *d);
/* Medium changed (cd-insert/cd-eject): blk may be NULL. */
void ide_atapi_change_medium(struct ide_drive *d, struct blk *blk);

/* ide_piix.c: bus master moves bytes between buf and the PRD-described memory. */
/* Copy len bytes to (to_mem) or from guest memory; returns bytes moved, -1 on error. */
int64_t ide_bm_transfer(struct ide_bmdma *bm, uint8_t *buf, uint32_t len, bool to_mem);
/* DMA command finished: BM status INT, ACTIVE per the PRD rules; true = error or early end. */
void ide_bm_done(struct ide_bmdma *bm, bool prd_exhausted_early);
bool ide_bm_active(const struct ide_bmdma *bm);
/*
 * Walk the PRD table for the next len bytes into host pointers (zero-copy
 * DMA).  0: sg covers exactly len bytes and the walker moved on.  -EAGAIN
 * (a segment outside one RAM region, a table shorter than len, more
 * segments than BLK_IOV_MAX) or -EINVAL (engine stopped): the walker is
 * left where it was, so ide_bm_transfer() can run the command as before.
 */
int ide_bm_map(struct ide_bmdma *bm, uint32_t len, struct ide_dma_sg *sg);
/* After the device stored into sg's memory: mark it written (gmem_mark_written). */
void ide_bm_mark_written(struct ide_bmdma *bm, const struct ide_dma_sg *sg);
/* The channel raised INTRQ: the bus master's status shows it (PIIX3 2.7.2). */
void ide_bm_irq(struct ide_bmdma *bm);

/* The drive at index 0-3 (hda-hdd) of the dm's PIIX4 (or PIIX3) IDE, or NULL. */
struct ide_drive *piix_ide_drive(struct dm *dm, unsigned index);

/* ide_qmp.c: query-block, eject, blockdev-change-medium. */
int ide_qmp_register(struct dm *dm);

#endif /* HW_IDE_IDE_H */
