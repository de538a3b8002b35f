// SPDX-License-Identifier: MIT
/*
 * smbios.c - SMBIOS 2.8 structure table and 2.1 (32-bit) entry point for the
 * "pc" machine (DMTF DSP0134 3.x field layouts, version 2.8 lengths).
 *
 * Structures, with QEMU's handle numbering so guests see familiar values:
 * type 0 BIOS (0x0000), 1 system with product name and UUID (0x0100),
 * 3 chassis (0x0300), 4 processor per vCPU (0x0400+n), 16 physical memory
 * array (0x1000), 17 memory device per 16 GiB (0x1100+n), 19 memory array
 * mapped address per RAM range (0x1300+n), 32 system boot (0x2000) and
 * 127 end of table (0x7F00).  SeaBIOS keeps a type 0 it is given and fills
 * in the table address of the entry point.
 * Not provided: the 64-bit (3.0) entry point, OEM strings, types 2/11/41.
 */
#include "smbios.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SMBIOS_DIMM_MAX (16ull << 30) /* QEMU's largest memory device */
#define SMBIOS_MAX_CPUS 255
#define SMBIOS_MAX_DIMMS 64

struct smb_buf {
	uint8_t *p;
	size_t len, cap;
	size_t cur;	   /* offset of the structure being built */
	unsigned nstrings; /* strings of the current structure */
	unsigned count;	   /* structures */
	unsigned max_size; /* largest structure incl. strings */
	int err;
};

static void smb_reserve(struct smb_buf *b, size_t n)
{
	uint8_t *np;
	size_t cap;

	if (b->err || b->len + n <= b->cap)
		return;
	cap = (b->cap ? b->cap * 2 : 1024) + n;
	np = realloc(b->p, cap);
	if (!np) {
		b->err = -ENOMEM;
		return;
	}
	memset(np + b->cap, 0, cap - b->cap);
	b->p = np;
	b->cap = cap;
}

/* Start a structure: formatted area of len bytes, zeroed. */
static void smb_begin(struct smb_buf *b, uint8_t type, uint8_t len, uint16_t handle)
{
	smb_reserve(b, len);
	if (b->err)
		return;
	b->cur = b->len;
	memset(b->p + b->len, 0, len);
	b->p[b->len] = type;
	b->p[b->len + 1] = len;
	b->p[b->len + 2] = (uint8_t)handle;
	b->p[b->len + 3] = (uint8_t)(handle >> 8);
	b->len += len;
	b->nstrings = 0;
}

static void smb_u8(struct smb_buf *b, unsigned off, uint8_t v)
{
	if (!b->err)
		b->p[b->cur + off] = v;
}

static void smb_u16(struct smb_buf *b, unsigned off, uint16_t v)
{
	smb_u8(b, off, (uint8_t)v);
	smb_u8(b, off + 1, (uint8_t)(v >> 8));
}

static void smb_u32(struct smb_buf *b, unsigned off, uint32_t v)
{
	smb_u16(b, off, (uint16_t)v);
	smb_u16(b, off + 2, (uint16_t)(v >> 16));
}

static void smb_u64(struct smb_buf *b, unsigned off, uint64_t v)
{
	smb_u32(b, off, (uint32_t)v);
	smb_u32(b, off + 4, (uint32_t)(v >> 32));
}

/*
 * Append a string to the current structure and store its number at off.  An
 * empty string would end the string-set early (two NULs): it becomes "no
 * string" (number 0) instead.
 */
static void smb_str(struct smb_buf *b, unsigned off, const char *s)
{
	size_t n = strlen(s) + 1;

	if (n == 1)
		return;

	if (n > 64)
		n = 64; /* keep strings short; the table is ours */
	smb_reserve(b, n);
	if (b->err)
		return;
	memcpy(b->p + b->len, s, n - 1);
	b->p[b->len + n - 1] = 0;
	b->len += n;
	smb_u8(b, off, (uint8_t)++b->nstrings);
}

/* Close the string-set: one extra NUL, or two when there were no strings. */
static void smb_end(struct smb_buf *b)
{
	size_t size;

	smb_reserve(b, 2);
	if (b->err)
		return;
	b->p[b->len++] = 0;
	if (!b->nstrings)
		b->p[b->len++] = 0;
	size = b->len - b->cur;
	if (size > b->max_size)
		b->max_size = (unsigned)size;
	b->count++;
}

static void smb_type0(struct smb_buf *b)
{
	smb_begin(b, 0, 0x18, 0x0000);
	smb_str(b, 4, "SeaBIOS");
	smb_str(b, 5, "hvmdm");
	smb_u16(b, 6, 0xe800); /* BIOS starting address segment */
	smb_str(b, 8, "04/01/2014");
	smb_u8(b, 9, 0);      /* ROM size 64 KiB */
	smb_u64(b, 10, 0x08); /* characteristics not supported */
	smb_u8(b, 19, 0x14);  /* targeted content distribution, virtual machine */
	smb_u8(b, 20, 0);
	smb_u8(b, 21, 0);
	smb_u8(b, 22, 0xff); /* no embedded controller */
	smb_u8(b, 23, 0xff);
	smb_end(b);
}

static void smb_type1(struct smb_buf *b, const struct smbios_info *in)
{
	static const uint8_t swap[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	unsigned i;

	smb_begin(b, 1, 27, 0x0100);
	smb_str(b, 4, "hvmdm");
	smb_str(b, 5, in->product);
	smb_str(b, 6, "1.0");
	/* UUID: the first three fields little-endian since SMBIOS 2.6 (7.2.1). */
	for (i = 0; i < 16; i++)
		smb_u8(b, 8 + i, in->uuid[swap[i]]);
	smb_u8(b, 24, 6); /* wake-up type: power switch */
	smb_end(b);
}

static void smb_type3(struct smb_buf *b)
{
	smb_begin(b, 3, 22, 0x0300);
	smb_str(b, 4, "hvmdm");
	smb_u8(b, 5, 1);  /* other */
	smb_u8(b, 9, 3);  /* boot-up state: safe */
	smb_u8(b, 10, 3); /* power supply: safe */
	smb_u8(b, 11, 3); /* thermal: safe */
	smb_u8(b, 12, 2); /* security: unknown */
	smb_end(b);
}

static void smb_type4(struct smb_buf *b, unsigned cpu)
{
	char name[16] = "CPU ";
	unsigned n = 4;

	if (cpu >= 100)
		name[n++] = (char)('0' + cpu / 100);
	if (cpu >= 10)
		name[n++] = (char)('0' + cpu / 10 % 10);
	name[n++] = (char)('0' + cpu % 10);
	name[n] = 0;
	smb_begin(b, 4, 42, (uint16_t)(0x0400 + cpu));
	smb_str(b, 4, name);
	smb_u8(b, 5, 3); /* central processor */
	smb_u8(b, 6, 1); /* family: other */
	smb_str(b, 7, "hvmdm");
	smb_str(b, 16, "pc");
	smb_u16(b, 20, 2000);	/* max speed, MHz */
	smb_u16(b, 22, 2000);	/* current speed */
	smb_u8(b, 24, 0x41);	/* socket populated, CPU enabled */
	smb_u8(b, 25, 1);	/* upgrade: other */
	smb_u16(b, 26, 0xffff); /* no cache information */
	smb_u16(b, 28, 0xffff);
	smb_u16(b, 30, 0xffff);
	smb_u8(b, 35, 1); /* cores */
	smb_u8(b, 36, 1);
	smb_u8(b, 37, 1);
	smb_u16(b, 38, 0x02); /* characteristics unknown */
	smb_u16(b, 40, 1);
	smb_end(b);
}

static void smb_memory(struct smb_buf *b, const struct smbios_info *in)
{
	uint64_t total = in->below_4g + in->above_4g, left = total, size;
	unsigned dimms = (unsigned)((total + SMBIOS_DIMM_MAX - 1) / SMBIOS_DIMM_MAX), i, n = 0;
	uint64_t kb = total >> 10;

	if (dimms > SMBIOS_MAX_DIMMS)
		dimms = SMBIOS_MAX_DIMMS;
	smb_begin(b, 16, 23, 0x1000);
	smb_u8(b, 4, 1); /* location: other */
	smb_u8(b, 5, 3); /* use: system memory */
	smb_u8(b, 6, 6); /* error correction: multi-bit ECC */
	smb_u32(b, 7, kb < 0x80000000ull ? (uint32_t)kb : 0x80000000u);
	smb_u16(b, 11, 0xfffe); /* no error information */
	smb_u16(b, 13, (uint16_t)dimms);
	if (kb >= 0x80000000ull)
		smb_u64(b, 15, total);
	smb_end(b);
	for (i = 0; i < dimms; i++) {
		char loc[16] = "DIMM ";

		size = i + 1 == dimms ? left : (left < SMBIOS_DIMM_MAX ? left : SMBIOS_DIMM_MAX);
		left -= size;
		loc[5] = (char)('0' + i / 10);
		loc[6] = (char)('0' + i % 10);
		smb_begin(b, 17, 40, (uint16_t)(0x1100 + i));
		smb_u16(b, 4, 0x1000);
		smb_u16(b, 6, 0xfffe);
		smb_u16(b, 8, 0xffff);
		smb_u16(b, 10, 0xffff);
		smb_u16(b, 12, (uint16_t)(size >> 20)); /* MiB; at most 16384 */
		smb_u8(b, 14, 9);			/* DIMM */
		smb_str(b, 16, loc);
		smb_u8(b, 18, 7);  /* RAM */
		smb_u16(b, 19, 2); /* other */
		smb_str(b, 23, "hvmdm");
		smb_end(b);
	}
	for (i = 0; i < 2; i++) {
		uint64_t start = i ? 1ull << 32 : 0, len = i ? in->above_4g : in->below_4g;
		uint64_t s_kb = start >> 10, e_kb = (start + len - 1) >> 10;

		if (!len)
			continue;
		smb_begin(b, 19, 31, (uint16_t)(0x1300 + n++));
		if (e_kb < 0xffffffffull) {
			smb_u32(b, 4, (uint32_t)s_kb);
			smb_u32(b, 8, (uint32_t)e_kb);
		} else {
			smb_u32(b, 4, 0xffffffffu);
			smb_u32(b, 8, 0xffffffffu);
			smb_u64(b, 15, start);
			smb_u64(b, 23, start + len - 1);
		}
		smb_u16(b, 12, 0x1000);
		smb_u8(b, 14, 1);
		smb_end(b);
	}
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

int smbios_build(const struct smbios_info *in, uint8_t **tables, uint32_t *tables_len,
		 uint8_t **anchor, uint32_t *anchor_len)
{
	struct smb_buf b = { 0 };
	unsigned cpus = in->nr_cpus > SMBIOS_MAX_CPUS ? SMBIOS_MAX_CPUS : in->nr_cpus, i;
	uint8_t *ep;

	smb_type0(&b);
	smb_type1(&b, in);
	smb_type3(&b);
	for (i = 0; i < cpus; i++)
		smb_type4(&b, i);
	smb_memory(&b, in);
	smb_begin(&b, 32, 11, 0x2000); /* boot status 0: no errors */
	smb_end(&b);
	smb_begin(&b, 127, 4, 0x7f00);
	smb_end(&b);
	ep = calloc(1, SMBIOS_ANCHOR_LEN);
	if (b.err || !ep || b.len > 0xffff) {
		free(b.p);
		free(ep);
		return -ENOMEM;
	}
	memcpy(ep, "_SM_", 4);
	ep[5] = SMBIOS_ANCHOR_LEN;
	ep[6] = 2;
	ep[7] = 8;
	ep[8] = (uint8_t)b.max_size;
	ep[9] = (uint8_t)(b.max_size >> 8);
	memcpy(ep + 16, "_DMI_", 5);
	ep[22] = (uint8_t)b.len;
	ep[23] = (uint8_t)(b.len >> 8);
	/* 24..27: table address, filled in by the firmware */
	ep[28] = (uint8_t)b.count;
	ep[29] = (uint8_t)(b.count >> 8);
	ep[30] = 0x28;
	ep[21] = (uint8_t)-sum8(ep + 16, 15);
	ep[4] = (uint8_t)-sum8(ep, SMBIOS_ANCHOR_LEN);
	*tables = b.p;
	*tables_len = (uint32_t)b.len;
	*anchor = ep;
	*anchor_len = SMBIOS_ANCHOR_LEN;
	return 0;
}
