/* SPDX-License-Identifier: MIT */
/*
 * ide_util.h - what the PIIX3 IDE unit tests (test_ide*.c) share: a
 * standalone dm with i440fx and piix3-ide, image files filled with a known
 * pattern, port access, and the bus-master and ATAPI steps the tests take
 * alike.  Each test is its own program, so the dm under test and the
 * channel the CMD/CTL/BM macros address are plain globals defined here.
 */
#ifndef IDE_UTIL_H
#define IDE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm.h"

#define BMDMA_BASE 0xc000
#define PRD_TABLE 0x1000 /* guest address of the PRD table prd() fills */

extern struct dm *dm; /* the dm under test, made by ide_create() */
extern unsigned chan; /* channel CMD/CTL/BM address: 0 primary, 1 secondary */
/* If set, called after every port access and every loop turn of wait_idle(). */
extern void (*ide_after_io)(void);

#define CMD(reg) ((chan ? 0x170 : 0x1f0) + (reg))
#define CTL (chan ? 0x376 : 0x3f6)
#define BM(reg) (BMDMA_BASE + chan * 8 + (reg))

/* The byte make_file() stores at offset off of every image. */
uint8_t pattern_byte(uint64_t off);
/* mkstemp(path) and fill size bytes of it with byte(offset). */
void make_file_of(char *path, size_t size, uint8_t (*byte)(uint64_t off));
/* make_file_of() with pattern_byte(). */
void make_file(char *path, size_t size);
/* Guest bytes [gpa, gpa+len) against byte(off...); returns mismatches. */
unsigned cmp_guest(uint64_t gpa, uint32_t len, uint64_t off, uint8_t (*byte)(uint64_t off));
/* cmp_guest() against the images make_file() writes. */
unsigned cmp_image(uint64_t gpa, uint32_t len, uint64_t off);

uint64_t in(uint16_t port, unsigned size);
void out(uint16_t port, unsigned size, uint64_t v);
/* Run completions until BSY clears in the status at ctl (bounded); the last status. */
uint8_t wait_idle(uint16_t ctl);

/* PRD entry idx of the table at PRD_TABLE. */
void prd(unsigned idx, uint32_t addr, uint32_t len, bool eot);
void bm_stop(void);
/* A READ(10) packet of n blocks at lba. */
void read10(uint8_t *p, uint32_t lba, uint16_t n);
/* A PACKET command with DMA to the master of `chan`, the engine started; no wait. */
void atapi_dma_start(const uint8_t pkt[12]);

/* A standalone dm of ram bytes with an i440fx; drives then go to ide_set_drive(). */
void ide_create(uint32_t ram);
/* Drive idx (0 hda .. 3 hdd) is the file at path with the -drive options opts. */
void ide_set_drive(unsigned idx, const char *path, const char *opts);
/* Create piix3-ide with the drives set, decode its bus master at BMDMA_BASE. */
void ide_start(void);
/* Map the bus master's BAR and enable I/O and bus mastering (again after a reset). */
void ide_map_bmdma(void);
/* Free the n drive specs, destroy the dm and remove the n image files. */
void ide_finish(char *const paths[], unsigned n);

#endif /* IDE_UTIL_H */
