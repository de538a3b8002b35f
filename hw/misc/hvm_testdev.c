// SPDX-License-Identifier: MIT
/*
 * hvm_testdev.c - a device for testing the hypervisor -> ring -> dm path
 * (not real hardware).  Every access is logged at info level as
 * "testdev: ..." so tests can check what reached the device model.
 *
 * Ports 0xE0-0xE7:
 *   0xE0-0xE3  32-bit scratch register, any access size
 *   0xE4       write: end the domain (0 poweroff, 1 reboot, 2+ crash)
 *   0xE5       read: number of writes to the scratch register (low 8 bits)
 *   0xE6       write: append a byte to a text line, logged at '\n' or 80 bytes
 *   0xE7       read: 0x5A (presence)
 * MMIO 0xFED00000-0xFED00FFF: 4 KiB of scratch memory.
 */
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "dm.h"
#include "iospace.h"
#include "log.h"

#define TESTDEV_PIO_BASE 0xe0
#define TESTDEV_MMIO_BASE 0xfed00000ull
#define TESTDEV_MMIO_SIZE 4096
#define TESTDEV_LINE_MAX 80

struct testdev {
	struct dm *dm;
	struct io_region pio, mmio;
	uint32_t scratch;
	uint8_t writes;
	char line[TESTDEV_LINE_MAX + 1];
	unsigned line_len;
	uint8_t mem[TESTDEV_MMIO_SIZE];
};

static void testdev_flush_line(struct testdev *t)
{
	t->line[t->line_len] = 0;
	dm_info("testdev", "line \"%s\"", t->line);
	t->line_len = 0;
}

static uint64_t testdev_pio_read(void *opaque, uint64_t off, unsigned size)
{
	struct testdev *t = opaque;
	uint64_t v;

	if (off < 4)
		v = t->scratch >> (off * 8);
	else if (off == 5)
		v = t->writes;
	else if (off == 7)
		v = 0x5a;
	else
		v = 0xff;
	dm_info("testdev", "in 0x%llx size %u -> 0x%llx",
		(unsigned long long)(TESTDEV_PIO_BASE + off), size, (unsigned long long)v);
	return v;
}

static void testdev_pio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct testdev *t = opaque;

	dm_info("testdev", "out 0x%llx size %u val 0x%llx",
		(unsigned long long)(TESTDEV_PIO_BASE + off), size, (unsigned long long)val);
	if (off < 4) {
		uint32_t mask = (size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1) << (off * 8);

		t->scratch = (t->scratch & ~mask) | (((uint32_t)val << (off * 8)) & mask);
		t->writes++;
	} else if (off == 4) {
		dm_request_shutdown(t->dm, val > 2 ? 2 + 1 : (unsigned)(val == 2 ? 3 : val));
	} else if (off == 6) {
		if (val == '\n' || t->line_len == TESTDEV_LINE_MAX)
			testdev_flush_line(t);
		if (val != '\n')
			t->line[t->line_len++] = (char)val;
	}
}

static uint64_t testdev_mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct testdev *t = opaque;
	uint64_t v = 0;

	/* The dispatcher never hands us an access past the region. */
	memcpy(&v, &t->mem[off], size);
	dm_info("testdev", "mmio read 0x%llx size %u -> 0x%llx",
		(unsigned long long)(TESTDEV_MMIO_BASE + off), size, (unsigned long long)v);
	return v;
}

static void testdev_mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct testdev *t = opaque;

	memcpy(&t->mem[off], &val, size);
	dm_info("testdev", "mmio write 0x%llx size %u val 0x%llx",
		(unsigned long long)(TESTDEV_MMIO_BASE + off), size, (unsigned long long)val);
}

static const struct io_ops testdev_pio_ops = {
	.read = testdev_pio_read,
	.write = testdev_pio_write,
	.min_size = 1,
	.max_size = 1,
};

static const struct io_ops testdev_mmio_ops = {
	.read = testdev_mmio_read,
	.write = testdev_mmio_write,
	.min_size = 1,
	.max_size = 8,
};

static void testdev_reset(struct dev *d, enum dev_reset kind)
{
	struct testdev *t = d->state;

	t->scratch = 0;
	t->writes = 0;
	t->line_len = 0;
	memset(t->mem, 0, sizeof(t->mem));
}

static int testdev_create(struct dev *d, const struct opts *o)
{
	struct testdev *t = d->state;
	int err;

	t->dm = d->dm;
	io_region_init(&t->pio, &testdev_pio_ops, t, "testdev", 8);
	io_region_init(&t->mmio, &testdev_mmio_ops, t, "testdev-mmio", TESTDEV_MMIO_SIZE);
	err = io_region_map(d->dm, &t->pio, IO_PIO, TESTDEV_PIO_BASE);
	if (!err)
		err = io_region_map(d->dm, &t->mmio, IO_MMIO, TESTDEV_MMIO_BASE);
	if (err)
		return err;
	testdev_reset(d, DEV_RESET_COLD);
	return 0;
}

static void testdev_destroy(struct dev *d)
{
	struct testdev *t = d->state;

	io_region_unmap(&t->pio);
	io_region_unmap(&t->mmio);
}

static const struct dev_type testdev_type = {
	.name = "hvm-testdev",
	.state_size = sizeof(struct testdev),
	.create = testdev_create,
	.reset = testdev_reset,
	.destroy = testdev_destroy,
};
DM_DEVICE(testdev_type);
