// SPDX-License-Identifier: MIT
/*
 * i8257.c - ISA DMA: two 8237A controllers (8237A datasheet; PIIX3
 * datasheet section 2.6 for the port map and page registers).
 *
 * Ports 0x00-0x0F (channels 0-3) and 0xC0-0xDF (channels 4-7, every other
 * byte), page registers 0x81-0x8F.  Implemented: base/current address and
 * count with the byte-pointer flip-flop, mode (direction, auto-initialise,
 * decrement), single and all-channel masks, request register, status with
 * terminal count and request bits, master clear, temporary register.  Not
 * emulated: memory-to-memory transfers (never used on PCs), demand/cascade
 * timing.  Every transfer is bounded by the channel's count and goes
 * through checked guest memory.
 */
#include <string.h>

#include "i8257.h"
#include "device.h"
#include "dm.h"
#include "gmem.h"
#include "log.h"

#define DMA_MODE_DIR_MASK 0x0c /* 01 write to memory, 10 read from memory */
#define DMA_MODE_WRITE 0x04
#define DMA_MODE_READ 0x08
#define DMA_MODE_AUTOINIT 0x10
#define DMA_MODE_DEC 0x20

struct i8257_chan {
	uint16_t base_addr, base_count;
	uint16_t addr, count;
	uint8_t mode;
	uint8_t page;
};

struct i8257_ctl {
	struct i8257_chan ch[4];
	bool flipflop;
	uint8_t mask;	/* bit per channel */
	uint8_t status; /* low nibble TC, high nibble request */
	uint8_t command;
	uint8_t request;
	unsigned shift; /* 0 for byte channels, 1 for word channels */
};

struct i8257 {
	struct i8257_ctl ctl[2];
	struct io_region io_lo, io_hi, io_page;
	struct dm *dm;
};

/* Page register port per channel; the region starts at 0x81 (0x80 is the POST port). */
#define DMA_PAGE_BASE 0x81
static const uint8_t page_port[8] = { 0x87, 0x83, 0x81, 0x82, 0x8f, 0x8b, 0x89, 0x8a };

static uint64_t ctl_read(struct i8257_ctl *c, unsigned reg)
{
	struct i8257_chan *ch;
	uint16_t v;

	if (reg < 8) {
		ch = &c->ch[reg >> 1];
		v = reg & 1 ? ch->count : ch->addr;
		c->flipflop = !c->flipflop;
		return c->flipflop ? v & 0xff : v >> 8;
	}
	switch (reg) {
	case 8: { /* status: reading clears the TC bits */
		uint8_t s = c->status;

		c->status &= 0xf0;
		return s;
	}
	case 0xd: /* temporary register */
		return 0;
	case 0xf:
		return c->mask | 0xf0;
	}
	return 0xff;
}

static void ctl_write(struct i8257_ctl *c, unsigned reg, uint8_t v)
{
	struct i8257_chan *ch;

	if (reg < 8) {
		uint16_t *base, *cur;

		ch = &c->ch[reg >> 1];
		base = reg & 1 ? &ch->base_count : &ch->base_addr;
		cur = reg & 1 ? &ch->count : &ch->addr;
		*base = c->flipflop ? (uint16_t)((*base & 0xff) | v << 8)
				    : (uint16_t)((*base & 0xff00) | v);
		*cur = *base;
		c->flipflop = !c->flipflop;
		return;
	}
	switch (reg) {
	case 8:
		c->command = v;
		break;
	case 9:
		c->request = (uint8_t)((c->request & ~(1u << (v & 3))) | ((v >> 2) & 1) << (v & 3));
		break;
	case 0xa:
		c->mask = (uint8_t)((c->mask & ~(1u << (v & 3))) | ((v >> 2) & 1) << (v & 3));
		break;
	case 0xb:
		c->ch[v & 3].mode = v;
		break;
	case 0xc:
		c->flipflop = false;
		break;
	case 0xd: /* master clear */
		c->flipflop = false;
		c->status = 0;
		c->command = 0;
		c->request = 0;
		c->mask = 0x0f;
		break;
	case 0xe:
		c->mask = 0;
		break;
	case 0xf:
		c->mask = v & 0x0f;
		break;
	}
}

static uint64_t lo_read(void *opaque, uint64_t off, unsigned size)
{
	return ctl_read(&((struct i8257 *)opaque)->ctl[0], (unsigned)off);
}

static void lo_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	ctl_write(&((struct i8257 *)opaque)->ctl[0], (unsigned)off, (uint8_t)val);
}

/* The second controller decodes every other port: 0xC0, 0xC2, ... 0xDE. */
static uint64_t hi_read(void *opaque, uint64_t off, unsigned size)
{
	return off & 1 ? 0xff : ctl_read(&((struct i8257 *)opaque)->ctl[1], (unsigned)off >> 1);
}

static void hi_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	if (!(off & 1))
		ctl_write(&((struct i8257 *)opaque)->ctl[1], (unsigned)off >> 1, (uint8_t)val);
}

static uint64_t page_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8257 *d = opaque;
	unsigned i;

	for (i = 0; i < 8; i++)
		if (page_port[i] == off + DMA_PAGE_BASE)
			return d->ctl[i / 4].ch[i % 4].page;
	return 0xff; /* unused page ports: plain scratch on real boards, all-ones here */
}

static void page_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct i8257 *d = opaque;
	unsigned i;

	for (i = 0; i < 8; i++)
		if (page_port[i] == off + DMA_PAGE_BASE)
			d->ctl[i / 4].ch[i % 4].page = (uint8_t)val;
}

static const struct io_ops lo_ops = { .read = lo_read, .write = lo_write, .max_size = 1 };
static const struct io_ops hi_ops = { .read = hi_read, .write = hi_write, .max_size = 1 };
static const struct io_ops page_ops = { .read = page_read, .write = page_write, .max_size = 1 };

int i8257_transfer(struct i8257 *d, unsigned ch, uint8_t *buf, uint32_t len, bool to_mem)
{
	struct i8257_ctl *c;
	struct i8257_chan *chan;
	unsigned shift, i = 0;
	uint8_t dir;

	if (!d || ch > 7 || ch == 4)
		return -1;
	c = &d->ctl[ch / 4];
	chan = &c->ch[ch % 4];
	shift = c->shift;
	dir = chan->mode & DMA_MODE_DIR_MASK;
	if ((c->mask & (1u << (ch % 4))) || dir != (to_mem ? DMA_MODE_WRITE : DMA_MODE_READ))
		return -1;
	/* One byte (or word) per step: count+1 units in total, never more than len. */
	while (i + (1u << shift) <= len) {
		/* Word channels address 128 KiB blocks: the page's bit 0 is not used. */
		uint64_t gpa = shift ? ((uint64_t)(chan->page & 0xfe) << 16) | (uint64_t)chan->addr
										       << 1
				     : ((uint64_t)chan->page << 16) | chan->addr;
		int err;

		err = to_mem ? gmem_write(d->dm, gpa, buf + i, 1u << shift)
			     : gmem_read(d->dm, gpa, buf + i, 1u << shift);
		if (err)
			dm_guest_err("dma", "channel %u: address 0x%llx not in RAM", ch,
				     (unsigned long long)gpa);
		i += 1u << shift;
		chan->addr =
			(uint16_t)(chan->mode & DMA_MODE_DEC ? chan->addr - 1 : chan->addr + 1);
		if (chan->count-- == 0) {
			c->status |= (uint8_t)(1u << (ch % 4));
			if (chan->mode & DMA_MODE_AUTOINIT) {
				chan->addr = chan->base_addr;
				chan->count = chan->base_count;
			} else {
				chan->count = 0xffff;
			}
			break;
		}
	}
	return (int)i;
}

uint32_t i8257_remaining(struct i8257 *d, unsigned ch)
{
	struct i8257_ctl *c;

	if (!d || ch > 7)
		return 0;
	c = &d->ctl[ch / 4];
	return ((uint32_t)c->ch[ch % 4].count + 1) << c->shift;
}

bool i8257_tc(struct i8257 *d, unsigned ch)
{
	return d && ch < 8 && (d->ctl[ch / 4].status & (1u << (ch % 4)));
}

struct i8257 *i8257_of(struct dm *dm)
{
	struct dev *d = dev_find(dm, "i8257");

	return d ? d->state : NULL;
}

static void i8257_reset(struct dev *dv, enum dev_reset kind)
{
	struct i8257 *d = dv->state;
	unsigned i;

	for (i = 0; i < 2; i++) {
		memset(d->ctl[i].ch, 0, sizeof(d->ctl[i].ch));
		d->ctl[i].mask = 0x0f;
		d->ctl[i].status = 0;
		d->ctl[i].flipflop = false;
		d->ctl[i].command = 0;
		d->ctl[i].shift = i;
	}
}

static int i8257_create(struct dev *dv, const struct opts *o)
{
	struct i8257 *d = dv->state;
	int err;

	d->dm = dv->dm;
	io_region_init(&d->io_lo, &lo_ops, d, "dma1", 16);
	io_region_init(&d->io_hi, &hi_ops, d, "dma2", 32);
	io_region_init(&d->io_page, &page_ops, d, "dma-page", 0x90 - DMA_PAGE_BASE);
	err = io_region_map(dv->dm, &d->io_lo, IO_PIO, 0x00);
	if (!err)
		err = io_region_map(dv->dm, &d->io_hi, IO_PIO, 0xc0);
	if (!err)
		err = io_region_map(dv->dm, &d->io_page, IO_PIO, DMA_PAGE_BASE);
	if (err)
		return err;
	i8257_reset(dv, DEV_RESET_COLD);
	return 0;
}

static void i8257_destroy(struct dev *dv)
{
	struct i8257 *d = dv->state;

	io_region_unmap(&d->io_lo);
	io_region_unmap(&d->io_hi);
	io_region_unmap(&d->io_page);
}

static const struct dev_type i8257_type = {
	.name = "i8257",
	.state_size = sizeof(struct i8257),
	.create = i8257_create,
	.reset = i8257_reset,
	.destroy = i8257_destroy,
};
DM_DEVICE(i8257_type);
