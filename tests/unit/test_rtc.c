// SPDX-License-Identifier: MIT
/*
 * test_rtc.c - the MC146818A RTC/CMOS on a standalone dm: time in BCD,
 * binary and 12-hour formats, UIP timing, the periodic interrupt rate by
 * stepping the virtual clock, alarm (with don't-care bytes) and update
 * interrupts, divider reset, setting the clock (the offset persists across
 * a reset), and the CMOS bytes SeaBIOS reads for 128 MiB and 5 GiB guests.
 * Expected calendar values come from libc's timegm()/gmtime_r(), not from
 * the device's own arithmetic.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "dm.h"
#include "irq.h"
#include "pc/rtc.h"
#include "io_util.h"
#include "tap.h"

static uint8_t cmos_read(struct dm *dm, uint8_t idx)
{
	out8(dm, 0x70, idx);
	return in8(dm, 0x71);
}

static void cmos_write(struct dm *dm, uint8_t idx, uint8_t val)
{
	out8(dm, 0x70, idx);
	out8(dm, 0x71, val);
}

static uint8_t bcd(int v)
{
	return (uint8_t)((v / 10) << 4 | v % 10);
}

static time_t mkutc(int y, int mon, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900,
			 .tm_mon = mon - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi,
			 .tm_sec = s };

	return timegm(&tm);
}

static struct dm *new_rtc(time_t base, struct dev **out, uint64_t ram)
{
	struct dm *dm = NULL;
	char opts[64];

	CHECK_EQ(dm_create_standalone(ram, &dm), 0);
	snprintf(opts, sizeof(opts), "base=%lld", (long long)base);
	CHECK_EQ(dev_create(dm, "rtc", opts, out), 0);
	return dm;
}

static void step(struct dm *dm, uint64_t ns)
{
	clock_set(dm->clock, clock_ns(dm->clock) + ns);
}

/* Move to the next whole second of virtual time (the RTC's update phase here). */
static void align_second(struct dm *dm)
{
	step(dm, NS_PER_SEC - clock_ns(dm->clock) % NS_PER_SEC);
}

/* Compare every clock register with gmtime_r(t) in BCD 24-hour format. */
static void check_time_bcd(struct dm *dm, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	CHECK_EQ(cmos_read(dm, RTC_SECONDS), bcd(tm.tm_sec));
	CHECK_EQ(cmos_read(dm, RTC_MINUTES), bcd(tm.tm_min));
	CHECK_EQ(cmos_read(dm, RTC_HOURS), bcd(tm.tm_hour));
	CHECK_EQ(cmos_read(dm, RTC_DAY_OF_WEEK), tm.tm_wday + 1);
	CHECK_EQ(cmos_read(dm, RTC_DAY_OF_MONTH), bcd(tm.tm_mday));
	CHECK_EQ(cmos_read(dm, RTC_MONTH), bcd(tm.tm_mon + 1));
	CHECK_EQ(cmos_read(dm, RTC_YEAR), bcd((tm.tm_year + 1900) % 100));
	CHECK_EQ(cmos_read(dm, CMOS_CENTURY), bcd((tm.tm_year + 1900) / 100));
}

static void test_power_on_and_formats(void)
{
	time_t base = mkutc(2023, 6, 15, 13, 45, 30);
	struct dev *d;
	struct dm *dm = new_rtc(base, &d, 1 << 20);

	CHECK_EQ(cmos_read(dm, RTC_REG_A), 0x26);
	CHECK_EQ(cmos_read(dm, RTC_REG_B), 0x02);
	CHECK_EQ(cmos_read(dm, RTC_REG_C), 0);
	CHECK_EQ(cmos_read(dm, RTC_REG_D), 0x80);
	CHECK_EQ(in8(dm, 0x70), 0xff);
	check_time_bcd(dm, base);
	/* Binary 24-hour. */
	cmos_write(dm, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	CHECK_EQ(cmos_read(dm, RTC_SECONDS), 30);
	CHECK_EQ(cmos_read(dm, RTC_HOURS), 13);
	CHECK_EQ(cmos_read(dm, RTC_YEAR), 23);
	CHECK_EQ(cmos_read(dm, CMOS_CENTURY), 20);
	/* BCD 12-hour: 13:45 is 1 PM. */
	cmos_write(dm, RTC_REG_B, 0);
	CHECK_EQ(cmos_read(dm, RTC_HOURS), 0x81);
	/* Binary 12-hour. */
	cmos_write(dm, RTC_REG_B, RTC_B_DM_BINARY);
	CHECK_EQ(cmos_read(dm, RTC_HOURS), 0x81);
	/* NMI mask bit of the index does not change the register selected. */
	cmos_write(dm, RTC_REG_B, RTC_B_24H);
	out8(dm, 0x70, 0x80 | RTC_REG_D);
	CHECK_EQ(in8(dm, 0x71), 0x80);
	/* The clock follows the virtual clock: 1 day, 1 hour, 61 seconds later. */
	step(dm, (86400ull + 3600 + 61) * NS_PER_SEC);
	check_time_bcd(dm, base + 86400 + 3600 + 61);
	dm_destroy(dm);

	/* Midnight and noon in 12-hour mode. */
	dm = new_rtc(mkutc(1999, 12, 31, 0, 5, 0), &d, 1 << 20);
	cmos_write(dm, RTC_REG_B, 0);
	CHECK_EQ(cmos_read(dm, RTC_HOURS), 0x12);
	step(dm, 12 * 3600 * NS_PER_SEC);
	CHECK_EQ(cmos_read(dm, RTC_HOURS), 0x92);
	cmos_write(dm, RTC_REG_B, RTC_B_24H);
	/* Year rollover into 2000 across the century register. */
	step(dm, 12 * 3600 * NS_PER_SEC);
	check_time_bcd(dm, mkutc(2000, 1, 1, 0, 5, 0));
	dm_destroy(dm);
}

static void test_uip(void)
{
	struct dev *d;
	struct dm *dm = new_rtc(mkutc(2020, 2, 28, 23, 59, 59), &d, 1 << 20);

	/* Clock starts on a second boundary: UIP low for the first 999.756 ms. */
	CHECK(!(cmos_read(dm, RTC_REG_A) & RTC_A_UIP));
	step(dm, NS_PER_SEC - 300 * NS_PER_US);
	CHECK(!(cmos_read(dm, RTC_REG_A) & RTC_A_UIP));
	step(dm, 100 * NS_PER_US); /* 200 us before the update */
	CHECK(cmos_read(dm, RTC_REG_A) & RTC_A_UIP);
	CHECK_EQ(cmos_read(dm, RTC_SECONDS), 0x59);
	step(dm, 201 * NS_PER_US);
	CHECK(!(cmos_read(dm, RTC_REG_A) & RTC_A_UIP));
	/* 2020 is a leap year: Feb 29. */
	check_time_bcd(dm, mkutc(2020, 2, 29, 0, 0, 0));
	/* SET stops updates: no UIP. */
	cmos_write(dm, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	step(dm, NS_PER_SEC - 100 * NS_PER_US);
	CHECK(!(cmos_read(dm, RTC_REG_A) & RTC_A_UIP));
	dm_destroy(dm);
}

/* Count IRQ 8 edges over `total` ns in `inc` steps, acknowledging each by reading C. */
static uint32_t count_periodic(struct dm *dm, uint64_t total, uint64_t inc, unsigned *pf)
{
	uint32_t e0 = dm_irq_edges(dm, RTC_IRQ);
	uint64_t t;
	uint8_t c;

	*pf = 0;
	for (t = 0; t < total; t += inc) {
		step(dm, inc);
		if (dm_irq_level(dm, RTC_IRQ)) {
			c = cmos_read(dm, RTC_REG_C);
			if (c & RTC_C_PF)
				(*pf)++;
			CHECK(!dm_irq_level(dm, RTC_IRQ));
		}
	}
	return dm_irq_edges(dm, RTC_IRQ) - e0;
}

static void test_periodic(void)
{
	struct dev *d;
	struct dm *dm = new_rtc(mkutc(2021, 1, 1, 0, 0, 0), &d, 1 << 20);
	unsigned pf;

	/* Power-on RS 6: 1024 Hz, PIE off: no interrupt, but PF is set. */
	step(dm, 10 * NS_PER_MS);
	CHECK(!dm_irq_level(dm, RTC_IRQ));
	CHECK_EQ(cmos_read(dm, RTC_REG_C) & RTC_C_PF, RTC_C_PF);
	CHECK_EQ(cmos_read(dm, RTC_REG_C) & RTC_C_PF, 0); /* read-to-clear */

	cmos_write(dm, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	CHECK_EQ(count_periodic(dm, NS_PER_SEC, 100 * NS_PER_US, &pf), 1024);
	CHECK_EQ(pf, 1024);
	/* RS 15: 2 Hz.  RS 3: 8192 Hz (122 us) in 50 us steps over 100 ms from a second boundary. */
	cmos_write(dm, RTC_REG_A, 0x2f);
	CHECK_EQ(count_periodic(dm, 3 * NS_PER_SEC, 10 * NS_PER_MS, &pf), 6);
	cmos_write(dm, RTC_REG_A, 0x23);
	align_second(dm);
	cmos_read(dm, RTC_REG_C);
	CHECK_EQ(count_periodic(dm, 100 * NS_PER_MS, 50 * NS_PER_US, &pf), 819);
	/* RS 1 is RS 8 (256 Hz) at 32.768 kHz. */
	cmos_write(dm, RTC_REG_A, 0x21);
	align_second(dm);
	cmos_read(dm, RTC_REG_C);
	CHECK_EQ(count_periodic(dm, NS_PER_SEC, NS_PER_MS, &pf), 256);
	/* Without acknowledging, IRQF stays high: one edge only. */
	{
		uint32_t e0 = dm_irq_edges(dm, RTC_IRQ);

		step(dm, 100 * NS_PER_MS);
		CHECK(dm_irq_level(dm, RTC_IRQ));
		CHECK_EQ(dm_irq_edges(dm, RTC_IRQ) - e0, 1);
		CHECK_EQ(cmos_read(dm, RTC_REG_C) & (RTC_C_IRQF | RTC_C_PF), RTC_C_IRQF | RTC_C_PF);
	}
	/* RS 0: no periodic interrupt. */
	cmos_write(dm, RTC_REG_A, 0x20);
	CHECK_EQ(count_periodic(dm, NS_PER_SEC, 10 * NS_PER_MS, &pf), 0);
	/* A warm reset clears PIE. */
	cmos_write(dm, RTC_REG_A, 0x26);
	dev_reset_all(dm, DEV_RESET_WARM);
	CHECK_EQ(cmos_read(dm, RTC_REG_B) & RTC_B_PIE, 0);
	dm_destroy(dm);
}

static void test_alarm_and_update(void)
{
	time_t base = mkutc(2022, 3, 10, 8, 0, 10);
	struct dev *d;
	struct dm *dm = new_rtc(base, &d, 1 << 20);
	uint32_t e0;
	uint8_t c;

	cmos_write(dm, RTC_REG_A, 0x20); /* no periodic flag to muddle C */
	/* Alarm at 08:00:15, hours and minutes exact. */
	cmos_write(dm, RTC_SECONDS_ALARM, 0x15);
	cmos_write(dm, RTC_MINUTES_ALARM, 0x00);
	cmos_write(dm, RTC_HOURS_ALARM, 0x08);
	cmos_write(dm, RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	e0 = dm_irq_edges(dm, RTC_IRQ);
	step(dm, 4 * NS_PER_SEC + 900 * NS_PER_MS);
	CHECK(!dm_irq_level(dm, RTC_IRQ));
	step(dm, 100 * NS_PER_MS);
	CHECK(dm_irq_level(dm, RTC_IRQ));
	CHECK_EQ(dm_irq_edges(dm, RTC_IRQ) - e0, 1);
	c = cmos_read(dm, RTC_REG_C);
	CHECK_EQ(c, RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
	CHECK_EQ(cmos_read(dm, RTC_SECONDS), 0x15);
	/* The next match is a day later: nothing within an hour. */
	step(dm, 3600 * NS_PER_SEC);
	CHECK(!dm_irq_level(dm, RTC_IRQ));
	CHECK_EQ(cmos_read(dm, RTC_REG_C), RTC_C_UF);

	/* Don't-care hours and minutes: every minute at :20. */
	cmos_write(dm, RTC_HOURS_ALARM, 0xc0);
	cmos_write(dm, RTC_MINUTES_ALARM, 0xff);
	cmos_write(dm, RTC_SECONDS_ALARM, 0x20);
	e0 = dm_irq_edges(dm, RTC_IRQ);
	{
		unsigned i, hits = 0;

		for (i = 0; i < 180; i++) {
			step(dm, NS_PER_SEC);
			if (dm_irq_level(dm, RTC_IRQ)) {
				hits++;
				CHECK_EQ(cmos_read(dm, RTC_SECONDS), 0x20);
				CHECK(cmos_read(dm, RTC_REG_C) & RTC_C_AF);
			}
		}
		CHECK_EQ(hits, 3);
	}
	/* All don't-care: every second. */
	cmos_write(dm, RTC_SECONDS_ALARM, 0xc0);
	cmos_read(dm, RTC_REG_C);
	e0 = dm_irq_edges(dm, RTC_IRQ);
	{
		unsigned i;

		for (i = 0; i < 5; i++) {
			step(dm, NS_PER_SEC);
			cmos_read(dm, RTC_REG_C);
		}
	}
	CHECK_EQ(dm_irq_edges(dm, RTC_IRQ) - e0, 5);
	/* An alarm hour that cannot exist never fires. */
	cmos_write(dm, RTC_HOURS_ALARM, 0x25);
	cmos_write(dm, RTC_SECONDS_ALARM, 0x00);
	cmos_read(dm, RTC_REG_C);
	step(dm, 2 * 86400 * NS_PER_SEC);
	CHECK_EQ(cmos_read(dm, RTC_REG_C) & RTC_C_AF, 0);

	/* Update-ended interrupt: once per second. */
	cmos_write(dm, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	cmos_read(dm, RTC_REG_C);
	e0 = dm_irq_edges(dm, RTC_IRQ);
	{
		unsigned i;

		for (i = 0; i < 10; i++) {
			step(dm, 250 * NS_PER_MS);
			if (dm_irq_level(dm, RTC_IRQ))
				CHECK_EQ(cmos_read(dm, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
		}
	}
	CHECK(dm_irq_edges(dm, RTC_IRQ) - e0 >= 2 && dm_irq_edges(dm, RTC_IRQ) - e0 <= 3);
	/* Setting SET clears UIE. */
	cmos_write(dm, RTC_REG_B, RTC_B_24H | RTC_B_UIE | RTC_B_SET);
	CHECK_EQ(cmos_read(dm, RTC_REG_B), RTC_B_24H | RTC_B_SET);
	dm_destroy(dm);
}

static void test_set_time_offset(void)
{
	time_t base = mkutc(2024, 7, 1, 12, 0, 0), want = mkutc(1999, 12, 31, 23, 59, 50);
	struct dev *d;
	struct dm *dm = new_rtc(base, &d, 1 << 20);

	CHECK_EQ(rtc_offset_get(d), 0);
	step(dm, 300 * NS_PER_MS);
	cmos_write(dm, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	cmos_write(dm, RTC_SECONDS, 0x50);
	cmos_write(dm, RTC_MINUTES, 0x59);
	cmos_write(dm, RTC_HOURS, 0x23);
	cmos_write(dm, RTC_DAY_OF_MONTH, 0x31);
	cmos_write(dm, RTC_MONTH, 0x12);
	cmos_write(dm, RTC_YEAR, 0x99);
	cmos_write(dm, CMOS_CENTURY, 0x19);
	/* While SET is held, the registers keep what was written. */
	step(dm, 5 * NS_PER_SEC);
	CHECK_EQ(cmos_read(dm, RTC_SECONDS), 0x50);
	cmos_write(dm, RTC_REG_B, RTC_B_24H);
	check_time_bcd(dm, want);
	CHECK_EQ(rtc_offset_get(d), (int64_t)(want - (base + 5)));
	step(dm, 15 * NS_PER_SEC);
	check_time_bcd(dm, want + 15);
	/* The offset survives a reset. */
	dev_reset_all(dm, DEV_RESET_WARM);
	dev_reset_all(dm, DEV_RESET_COLD);
	check_time_bcd(dm, want + 15);
	CHECK_EQ(rtc_offset_get(d), (int64_t)(want - (base + 5)));
	/* A write with SET clear takes effect at once. */
	cmos_write(dm, RTC_HOURS, 0x05);
	check_time_bcd(dm, want + 15 + 5 * 3600);
	dm_destroy(dm);

	/* -rtc-offset adds to the host time. */
	{
		struct dm *dm2 = NULL;

		CHECK_EQ(dm_create_standalone(1 << 20, &dm2), 0);
		dm2->cfg.rtc_offset = -3600;
		CHECK_EQ(dev_create(dm2, "rtc", "base=1700000000", &d), 0);
		check_time_bcd(dm2, 1700000000 - 3600);
		CHECK_EQ(rtc_offset_get(d), -3600);
		dm_destroy(dm2);
	}
}

static void test_divider_reset(void)
{
	time_t base = mkutc(2010, 5, 5, 5, 5, 5);
	struct dev *d;
	struct dm *dm = new_rtc(base, &d, 1 << 20);

	step(dm, 2 * NS_PER_SEC + 100 * NS_PER_MS);
	cmos_write(dm, RTC_REG_A, 0x70); /* hold the divider chain */
	step(dm, 10 * NS_PER_SEC);
	check_time_bcd(dm, base + 2);
	cmos_write(dm, RTC_REG_A, 0x26);
	/* First update 500 ms after release. */
	step(dm, 499 * NS_PER_MS);
	check_time_bcd(dm, base + 2);
	step(dm, 2 * NS_PER_MS);
	check_time_bcd(dm, base + 3);
	dm_destroy(dm);
}

static void test_cmos_layout(void)
{
	struct dev *d;
	struct dm *dm = new_rtc(1700000000, &d, 128 << 20);
	unsigned sum = 0, i;

	CHECK_EQ(cmos_read(dm, CMOS_BASE_MEM_LO), 0x80);
	CHECK_EQ(cmos_read(dm, CMOS_BASE_MEM_HI), 0x02);
	CHECK_EQ(cmos_read(dm, CMOS_EXT_MEM_LO), 0xff); /* 127 MiB > 0xFFFF KiB: capped */
	CHECK_EQ(cmos_read(dm, CMOS_EXT_MEM_HI), 0xff);
	CHECK_EQ(cmos_read(dm, CMOS_EXT_MEM2_LO), 0xff);
	CHECK_EQ(cmos_read(dm, CMOS_EXT_MEM2_HI), 0xff);
	CHECK_EQ(cmos_read(dm, CMOS_MEM_ABOVE_16M_LO), 0x00); /* 112 MiB / 64 KiB = 0x700 */
	CHECK_EQ(cmos_read(dm, CMOS_MEM_ABOVE_16M_HI), 0x07);
	CHECK_EQ(cmos_read(dm, CMOS_MEM_ABOVE_4G), 0);
	CHECK_EQ(cmos_read(dm, CMOS_NB_CPUS), 0);
	CHECK_EQ(cmos_read(dm, CMOS_EQUIPMENT), 0x06);
	CHECK_EQ(cmos_read(dm, CMOS_FLOPPY_TYPES), 0);
	CHECK_EQ(cmos_read(dm, CMOS_BOOT_FLAGS2), 0x12); /* default "cad": hdd, floppy */
	CHECK_EQ(cmos_read(dm, CMOS_BOOT_FLAGS1), 0x30); /* then cdrom */
	for (i = CMOS_FLOPPY_TYPES; i < CMOS_CHECKSUM_HI; i++)
		sum += cmos_read(dm, (uint8_t)i);
	CHECK_EQ(cmos_read(dm, CMOS_CHECKSUM_HI) << 8 | cmos_read(dm, CMOS_CHECKSUM_LO), sum);
	/* NVRAM bytes are plain storage. */
	cmos_write(dm, 0x7f, 0xa5);
	CHECK_EQ(cmos_read(dm, 0x7f), 0xa5);
	dm_destroy(dm);

	/* 5 GiB (3 GiB below 4 GiB), 4 vCPUs, -boot dn, one 1.44 MB floppy. */
	dm = NULL;
	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	dm->info.ram_below_4g = 3ull << 30;
	dm->info.ram_above_4g = 2ull << 30;
	dm->info.nr_vcpus = 4;
	dm->cfg.boot = (char *)"dn";
	CHECK_EQ(dev_create(dm, "rtc", "base=0,floppy=0x40", &d), 0);
	CHECK_EQ(cmos_read(dm, CMOS_MEM_ABOVE_16M_LO), 0x00); /* (3G - 16M) / 64K = 0xBF00 */
	CHECK_EQ(cmos_read(dm, CMOS_MEM_ABOVE_16M_HI), 0xbf);
	CHECK_EQ(cmos_read(dm, CMOS_MEM_ABOVE_4G), 0x00); /* 2G / 64K = 0x8000 */
	CHECK_EQ(cmos_read(dm, CMOS_MEM_ABOVE_4G + 1), 0x80);
	CHECK_EQ(cmos_read(dm, CMOS_MEM_ABOVE_4G + 2), 0x00);
	CHECK_EQ(cmos_read(dm, CMOS_NB_CPUS), 3);
	CHECK_EQ(cmos_read(dm, CMOS_BOOT_FLAGS2), 0x43);
	CHECK_EQ(cmos_read(dm, CMOS_BOOT_FLAGS1), 0x00);
	CHECK_EQ(cmos_read(dm, CMOS_FLOPPY_TYPES), 0x40);
	CHECK_EQ(cmos_read(dm, CMOS_EQUIPMENT), 0x07);
	/* base=0 is 1970-01-01, a Thursday. */
	check_time_bcd(dm, 0);
	dm_destroy(dm);

	/* Floppy types from -fda/-fdb: a 720K image, and a 1.44M default. */
	{
		char path[] = "/tmp/hvmdm-test-fdXXXXXX";
		int fd = mkstemp(path);

		CHECK(fd >= 0 && ftruncate(fd, 737280) == 0);
		dm = NULL;
		CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
		dm->cfg.floppy[0] = path;
		dm->cfg.floppy[1] = (char *)"file=/nonexistent/fd.img,format=raw";
		CHECK_EQ(dev_create(dm, "rtc", "base=0", &d), 0);
		CHECK_EQ(cmos_read(dm, CMOS_FLOPPY_TYPES), 0x34);
		CHECK_EQ(cmos_read(dm, CMOS_EQUIPMENT), 0x47);
		dm_destroy(dm);
		unlink(path);
		close(fd);
	}
}

/* Random register traffic with clock steps: nothing breaks, invariants hold. */
static void test_hostile(void)
{
	struct dev *d;
	struct dm *dm = new_rtc(1700000000, &d, 1 << 20);
	uint32_t x = 12345;
	unsigned i;

	for (i = 0; i < 200000; i++) {
		x = x * 1103515245u + 12345u;
		switch ((x >> 16) % 4) {
		case 0:
			out8(dm, 0x70, (uint8_t)(x >> 8));
			break;
		case 1:
			out8(dm, 0x71, (uint8_t)(x >> 4));
			break;
		case 2:
			in8(dm, 0x71);
			break;
		default:
			step(dm, (x >> 8) % (3 * NS_PER_MS));
			break;
		}
	}
	CHECK_EQ(cmos_read(dm, RTC_REG_D), 0x80);
	CHECK_EQ(in8(dm, 0x70), 0xff);
	cmos_read(dm, RTC_REG_C);
	CHECK(!dm_irq_level(dm, RTC_IRQ));
	/* A year's jump of the virtual clock with every interrupt enabled. */
	cmos_write(dm, RTC_REG_A, 0x23);
	cmos_write(dm, RTC_SECONDS_ALARM, 0xc0);
	cmos_write(dm, RTC_MINUTES_ALARM, 0xc0);
	cmos_write(dm, RTC_HOURS_ALARM, 0xc0);
	cmos_write(dm, RTC_REG_B, RTC_B_24H | RTC_B_PIE | RTC_B_AIE | RTC_B_UIE);
	step(dm, 365ull * 86400 * NS_PER_SEC);
	CHECK(dm_irq_level(dm, RTC_IRQ));
	CHECK_EQ(cmos_read(dm, RTC_REG_C) & 0xf0, 0xf0);
	dm_destroy(dm);
}

int main(void)
{
	test_hostile();
	test_power_on_and_formats();
	test_uip();
	test_periodic();
	test_alarm_and_update();
	test_set_time_offset();
	test_divider_reset();
	test_cmos_layout();
	return tap_done();
}
