// SPDX-License-Identifier: MIT
/*
 * rtc.c - Motorola MC146818A real-time clock with 128 bytes of CMOS RAM at
 * ports 0x70 (index; bit 7 masks NMI) and 0x71 (data), interrupting on ISA
 * IRQ 8.  Device type "rtc".
 *
 * Emulated (MC146818A datasheet; PC/AT CMOS map from the IBM PC/AT
 * Technical Reference):
 *   - time, calendar and alarm registers in BCD or binary (register B DM)
 *     and 24- or 12-hour format (B 24/12, bit 7 of the hour = PM);
 *   - register A: divider DV (010/000/001 run, 11x holds the chain in reset;
 *     the first update follows 500 ms after release), rate select RS, and
 *     UIP, high during the last 244 us before each update;
 *   - register B: SET inhibits updates and clears UIE; the time the guest
 *     writes is taken over when SET is cleared (or at once, for writes made
 *     with SET clear);
 *   - register C: IRQF/PF/AF/UF, cleared by reading; PF at the periodic rate
 *     whether or not PIE is set, AF when the time matches the alarm (alarm
 *     bytes 0xC0-0xFF match any value), UF after every update; IRQ 8 is high
 *     while IRQF is set.  Flags are computed from the virtual clock when C is
 *     read; a timer is armed only for the next event that raises IRQ 8;
 *   - register D: VRT always set.
 * Time is (host UTC, or local time with -localtime) + -rtc-offset + the
 * offset made by guest writes, advancing with the dm's virtual clock.  When
 * the guest sets the clock the new total offset is logged so the toolstack
 * can pass it back with -rtc-offset.
 * CMOS RAM is filled at creation with what PC firmware reads: floppy types
 * (from -fda/-fdb image sizes, or floppy=BYTE),
 * equipment, base/extended memory sizes, memory above 16 MiB and 4 GiB,
 * CPU count, boot order (from -boot), the PS/2 century copy (0x37) and the
 * 0x10-0x2D checksum.
 * Not emulated: daylight-saving adjustment (DSE), the square-wave output,
 * the 4.194304 and 1.048576 MHz time bases (all run at 32.768 kHz).
 */
#include "rtc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "device.h"
#include "dm.h"
#include "iospace.h"
#include "irq.h"
#include "log.h"
#include "pc.h"

#define MOD "rtc"

#define RTC_HZ 32768ull
/* UIP rises 244 us (8 cycles of 32.768 kHz) before the update. */
#define RTC_UIP_NS (8 * NS_PER_SEC / RTC_HZ)
#define RTC_RESET_FIRST_UPDATE_NS (NS_PER_SEC / 2)
#define SECS_PER_DAY 86400

struct rtc {
	struct dm *dm;
	struct io_region io;
	struct irq_line irq;
	struct dm_timer timer;
	bool timer_inited;
	uint8_t cmos[RTC_CMOS_SIZE];
	uint8_t index;
	bool nmi_masked;
	/* Host clock: host_base seconds at virtual time host_ns (no -rtc-offset). */
	int64_t host_base;
	int64_t host_ns;
	/* Guest clock: base_secs at virtual time origin_ns, a second boundary. */
	int64_t base_secs;
	int64_t origin_ns;
	/* Events up to this virtual time are folded into register C. */
	int64_t checked_ns;
};

struct rtc_tm {
	int year, mon, mday, hour, min, sec, wday; /* mon 1-12, wday 0 = Sunday */
};

static int64_t rtc_now(const struct rtc *s)
{
	return (int64_t)clock_ns(s->dm->clock);
}

/* ---- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) ------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void rtc_secs_to_tm(int64_t secs, struct rtc_tm *tm)
{
	int64_t days = floor_div(secs, SECS_PER_DAY), sod = secs - days * SECS_PER_DAY;
	int64_t z = days + 719468, era = floor_div(z, 146097), doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

	tm->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	tm->year = (int)(yoe + era * 400 + (tm->mon <= 2));
	tm->hour = (int)(sod / 3600);
	tm->min = (int)(sod / 60 % 60);
	tm->sec = (int)(sod % 60);
	tm->wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
}

static int64_t rtc_tm_to_secs(const struct rtc_tm *tm)
{
	return days_from_civil(tm->year, tm->mon, tm->mday) * SECS_PER_DAY + tm->hour * 3600 +
	       tm->min * 60 + tm->sec;
}

/* ---- register encoding -------------------------------------------------------------------- */

static bool rtc_binary(const struct rtc *s)
{
	return s->cmos[RTC_REG_B] & RTC_B_DM_BINARY;
}

static uint8_t rtc_to_reg(const struct rtc *s, int v)
{
	return rtc_binary(s) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int rtc_from_reg(const struct rtc *s, uint8_t v)
{
	return rtc_binary(s) ? v : ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

static uint8_t rtc_hour_to_reg(const struct rtc *s, int h)
{
	int h12;

	if (s->cmos[RTC_REG_B] & RTC_B_24H)
		return rtc_to_reg(s, h);
	h12 = h % 12 ? h % 12 : 12;
	return rtc_to_reg(s, h12) | (h >= 12 ? 0x80 : 0);
}

static int rtc_hour_from_reg(const struct rtc *s, uint8_t v)
{
	if (s->cmos[RTC_REG_B] & RTC_B_24H)
		return rtc_from_reg(s, v);
	return rtc_from_reg(s, v & 0x7f) % 12 + (v & 0x80 ? 12 : 0);
}

static int clamp_int(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- the clock ---------------------------------------------------------------------------- */

/* The divider chain runs for DV 000, 001 and 010; 11x (and test modes) stop it. */
static bool rtc_divider_running(const struct rtc *s)
{
	return (s->cmos[RTC_REG_A] & RTC_A_DV_MASK) <= 0x20;
}

static bool rtc_updating(const struct rtc *s)
{
	return rtc_divider_running(s) && !(s->cmos[RTC_REG_B] & RTC_B_SET);
}

/* Whole seconds elapsed on the divider chain since origin_ns. */
static int64_t rtc_elapsed(const struct rtc *s, int64_t now)
{
	if (!rtc_divider_running(s) || now < s->origin_ns)
		return 0;
	return (now - s->origin_ns) / (int64_t)NS_PER_SEC;
}

static int64_t rtc_guest_secs(const struct rtc *s, int64_t now)
{
	return s->base_secs + rtc_elapsed(s, now);
}

static int64_t rtc_host_secs(const struct rtc *s, int64_t now)
{
	return s->host_base + floor_div(now - s->host_ns, (int64_t)NS_PER_SEC);
}

int64_t rtc_offset_get(struct dev *d)
{
	struct rtc *s = d->state;

	return rtc_guest_secs(s, rtc_now(s)) - rtc_host_secs(s, rtc_now(s));
}

/* 32.768 kHz cycles in d nanoseconds (d >= 0), without 64-bit overflow. */
static uint64_t rtc_cycles(uint64_t d)
{
	return d / NS_PER_SEC * RTC_HZ + d % NS_PER_SEC * RTC_HZ / NS_PER_SEC;
}

/* First nanosecond offset at which rtc_cycles() reaches n. */
static uint64_t rtc_cycle_ns(uint64_t n)
{
	return n / RTC_HZ * NS_PER_SEC + (n % RTC_HZ * NS_PER_SEC + RTC_HZ - 1) / RTC_HZ;
}

/* Periodic interrupt period in 32.768 kHz cycles; RS 1 and 2 repeat RS 8 and 9. */
static uint64_t rtc_period_cycles(const struct rtc *s)
{
	unsigned rs = s->cmos[RTC_REG_A] & RTC_A_RS_MASK;

	if (!rs)
		return 0;
	if (rs <= 2)
		rs += 7;
	return 1ull << (rs - 1);
}

/* Write the current time into the clock registers (format of register B). */
static void rtc_copy_time(struct rtc *s, int64_t now)
{
	struct rtc_tm tm;

	rtc_secs_to_tm(rtc_guest_secs(s, now), &tm);
	s->cmos[RTC_SECONDS] = rtc_to_reg(s, tm.sec);
	s->cmos[RTC_MINUTES] = rtc_to_reg(s, tm.min);
	s->cmos[RTC_HOURS] = rtc_hour_to_reg(s, tm.hour);
	s->cmos[RTC_DAY_OF_WEEK] = rtc_to_reg(s, tm.wday + 1);
	s->cmos[RTC_DAY_OF_MONTH] = rtc_to_reg(s, tm.mday);
	s->cmos[RTC_MONTH] = rtc_to_reg(s, tm.mon);
	s->cmos[RTC_YEAR] = rtc_to_reg(s, ((tm.year % 100) + 100) % 100);
	s->cmos[CMOS_CENTURY] = rtc_to_reg(s, clamp_int(tm.year / 100, 0, 99));
}

/* Take the time from the clock registers; the divider phase is kept. */
static void rtc_take_time(struct rtc *s, int64_t now)
{
	struct rtc_tm tm;
	int64_t secs;

	tm.sec = clamp_int(rtc_from_reg(s, s->cmos[RTC_SECONDS] & 0x7f), 0, 59);
	tm.min = clamp_int(rtc_from_reg(s, s->cmos[RTC_MINUTES] & 0x7f), 0, 59);
	tm.hour = clamp_int(rtc_hour_from_reg(s, s->cmos[RTC_HOURS]), 0, 23);
	tm.mday = clamp_int(rtc_from_reg(s, s->cmos[RTC_DAY_OF_MONTH]), 1, 31);
	tm.mon = clamp_int(rtc_from_reg(s, s->cmos[RTC_MONTH]), 1, 12);
	tm.year = clamp_int(rtc_from_reg(s, s->cmos[CMOS_CENTURY]), 0, 99) * 100 +
		  clamp_int(rtc_from_reg(s, s->cmos[RTC_YEAR]), 0, 99);
	secs = rtc_tm_to_secs(&tm);
	if (rtc_divider_running(s) && now >= s->origin_ns)
		s->origin_ns += rtc_elapsed(s, now) * (int64_t)NS_PER_SEC;
	s->base_secs = secs;
	dm_info(MOD, "guest set the clock: offset from host %s time now %+lld s",
		s->dm->cfg.localtime ? "local" : "UTC", (long long)(secs - rtc_host_secs(s, now)));
}

/* ---- alarm -------------------------------------------------------------------------------- */

/* Alarm field: -1 = don't care (0xC0-0xFF), -2 = can never match, else the value. */
static int rtc_alarm_field(const struct rtc *s, unsigned reg, int limit)
{
	uint8_t v = s->cmos[reg];
	int x;

	if ((v & 0xc0) == 0xc0)
		return -1;
	x = reg == RTC_HOURS_ALARM ? rtc_hour_from_reg(s, v) : rtc_from_reg(s, v);
	return x >= 0 && x < limit ? x : -2;
}

/* First time-of-day >= from (seconds in a day) matching the alarm, or -1. */
static int rtc_alarm_in_day(int ah, int am, int as, int from)
{
	int h, m, sec, fh = from / 3600, fm = from / 60 % 60, fs = from % 60;

	for (h = fh; h < 24; h++) {
		if (ah >= 0 && h != ah)
			continue;
		for (m = h == fh ? fm : 0; m < 60; m++) {
			if (am >= 0 && m != am)
				continue;
			sec = (h == fh && m == fm) ? fs : 0;
			if (as >= 0)
				sec = as >= sec ? as : 60;
			if (sec < 60)
				return h * 3600 + m * 60 + sec;
		}
	}
	return -1;
}

/* Earliest guest time t > after whose clock matches the alarm; INT64_MAX if never. */
static int64_t rtc_next_alarm(const struct rtc *s, int64_t after)
{
	int ah = rtc_alarm_field(s, RTC_HOURS_ALARM, 24);
	int am = rtc_alarm_field(s, RTC_MINUTES_ALARM, 60);
	int as = rtc_alarm_field(s, RTC_SECONDS_ALARM, 60);
	int64_t t = after + 1, day = floor_div(t, SECS_PER_DAY);
	int tod = (int)(t - day * SECS_PER_DAY), d, hit;

	if (ah == -2 || am == -2 || as == -2)
		return INT64_MAX;
	for (d = 0; d < 2; d++) {
		hit = rtc_alarm_in_day(ah, am, as, d ? 0 : tod);
		if (hit >= 0)
			return (day + d) * SECS_PER_DAY + hit;
	}
	return INT64_MAX;
}

/* ---- flags, interrupt and timer ----------------------------------------------------------- */

static void rtc_update_irq(struct rtc *s)
{
	uint8_t c = s->cmos[RTC_REG_C] & (RTC_C_PF | RTC_C_AF | RTC_C_UF);
	uint8_t en = s->cmos[RTC_REG_B] & (RTC_B_PIE | RTC_B_AIE | RTC_B_UIE);

	/* PF/AF/UF sit one bit below PIE/AIE/UIE (datasheet, register C). */
	if (c & en)
		c |= RTC_C_IRQF;
	s->cmos[RTC_REG_C] = c;
	irq_set(&s->irq, c & RTC_C_IRQF);
}

/* Fold the events of (checked_ns, now] into register C. */
static void rtc_sync(struct rtc *s, int64_t now)
{
	int64_t t0 = s->checked_ns, k0, k1;
	uint64_t period;

	if (now <= t0)
		return;
	s->checked_ns = now;
	if (!rtc_divider_running(s) || t0 < s->origin_ns)
		return;
	k0 = rtc_elapsed(s, t0);
	k1 = rtc_elapsed(s, now);
	if (k1 > k0 && !(s->cmos[RTC_REG_B] & RTC_B_SET)) {
		s->cmos[RTC_REG_C] |= RTC_C_UF;
		if (rtc_next_alarm(s, s->base_secs + k0) <= s->base_secs + k1)
			s->cmos[RTC_REG_C] |= RTC_C_AF;
	}
	period = rtc_period_cycles(s);
	if (period && rtc_cycles((uint64_t)(now - s->origin_ns)) / period >
			      rtc_cycles((uint64_t)(t0 - s->origin_ns)) / period)
		s->cmos[RTC_REG_C] |= RTC_C_PF;
	rtc_update_irq(s);
}

static int64_t min_i64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Arm the timer for the next event that would raise IRQ 8 (none while IRQF is high). */
static void rtc_rearm(struct rtc *s)
{
	int64_t now = rtc_now(s), next = INT64_MAX, k, alarm;
	uint8_t b = s->cmos[RTC_REG_B];
	uint64_t period = rtc_period_cycles(s), c;

	if (!(s->cmos[RTC_REG_C] & RTC_C_IRQF) && rtc_divider_running(s) && now >= s->origin_ns) {
		if ((b & RTC_B_PIE) && period) {
			c = rtc_cycles((uint64_t)(now - s->origin_ns));
			next = s->origin_ns + (int64_t)rtc_cycle_ns((c / period + 1) * period);
		}
		k = rtc_elapsed(s, now);
		if ((b & RTC_B_UIE) && !(b & RTC_B_SET))
			next = min_i64(next, s->origin_ns + (k + 1) * (int64_t)NS_PER_SEC);
		if ((b & RTC_B_AIE) && !(b & RTC_B_SET)) {
			alarm = rtc_next_alarm(s, s->base_secs + k);
			if (alarm != INT64_MAX)
				next = min_i64(next, s->origin_ns + (alarm - s->base_secs) *
									    (int64_t)NS_PER_SEC);
		}
	}
	if (next == INT64_MAX)
		timer_del(&s->timer);
	else
		timer_mod(&s->timer, (uint64_t)next);
}

static void rtc_timer_cb(void *opaque)
{
	struct rtc *s = opaque;

	rtc_sync(s, rtc_now(s));
	rtc_rearm(s);
}

/* ---- register access ---------------------------------------------------------------------- */

static bool rtc_uip(const struct rtc *s, int64_t now)
{
	if (!rtc_updating(s) || now < s->origin_ns)
		return false;
	return (uint64_t)(now - s->origin_ns) % NS_PER_SEC >= NS_PER_SEC - RTC_UIP_NS;
}

static bool rtc_is_time_reg(unsigned idx)
{
	return idx <= RTC_YEAR || idx == CMOS_CENTURY;
}

static uint8_t rtc_read_data(struct rtc *s)
{
	int64_t now = rtc_now(s);
	unsigned idx = s->index;
	uint8_t v;

	switch (idx) {
	case RTC_REG_A:
		return (s->cmos[RTC_REG_A] & ~RTC_A_UIP) | (rtc_uip(s, now) ? RTC_A_UIP : 0);
	case RTC_REG_C:
		rtc_sync(s, now);
		v = s->cmos[RTC_REG_C];
		s->cmos[RTC_REG_C] = 0;
		irq_set(&s->irq, false);
		rtc_rearm(s);
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		break;
	}
	if (rtc_is_time_reg(idx) && idx != RTC_SECONDS_ALARM && idx != RTC_MINUTES_ALARM &&
	    idx != RTC_HOURS_ALARM && !(s->cmos[RTC_REG_B] & RTC_B_SET))
		rtc_copy_time(s, now);
	return s->cmos[idx];
}

static void rtc_write_a(struct rtc *s, int64_t now, uint8_t val)
{
	bool was = rtc_divider_running(s);

	if (was)
		s->base_secs = rtc_guest_secs(s, now);
	if (was)
		s->origin_ns = now - (int64_t)((uint64_t)(now - s->origin_ns) % NS_PER_SEC);
	s->cmos[RTC_REG_A] = val & ~RTC_A_UIP;
	if (!was && rtc_divider_running(s))
		s->origin_ns = now - (int64_t)RTC_RESET_FIRST_UPDATE_NS;
	s->checked_ns = now;
}

static void rtc_write_b(struct rtc *s, int64_t now, uint8_t val)
{
	uint8_t old = s->cmos[RTC_REG_B];

	if (val & RTC_B_SET) {
		val &= ~RTC_B_UIE;
		if (!(old & RTC_B_SET))
			rtc_copy_time(s, now);
	}
	s->cmos[RTC_REG_B] = val;
	if ((old & RTC_B_SET) && !(val & RTC_B_SET))
		rtc_take_time(s, now);
	rtc_update_irq(s);
}

static void rtc_write_data(struct rtc *s, uint8_t val)
{
	int64_t now = rtc_now(s);
	unsigned idx = s->index;

	rtc_sync(s, now);
	switch (idx) {
	case RTC_REG_A:
		rtc_write_a(s, now, val);
		break;
	case RTC_REG_B:
		rtc_write_b(s, now, val);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	case RTC_SECONDS_ALARM:
	case RTC_MINUTES_ALARM:
	case RTC_HOURS_ALARM:
		s->cmos[idx] = val;
		break;
	default:
		if (rtc_is_time_reg(idx) && !(s->cmos[RTC_REG_B] & RTC_B_SET)) {
			/* Clock running: the write takes effect at once. */
			rtc_copy_time(s, now);
			s->cmos[idx] = val;
			rtc_take_time(s, now);
		} else {
			s->cmos[idx] = val;
		}
		break;
	}
	rtc_rearm(s);
}

static uint64_t rtc_io_read(void *opaque, uint64_t off, unsigned size)
{
	(void)size;
	/* The index register is write-only; QEMU and Xen read 0xFF there. */
	return off == 0 ? 0xff : rtc_read_data(opaque);
}

static void rtc_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct rtc *s = opaque;

	(void)size;
	if (off == 0) {
		s->index = val & 0x7f;
		s->nmi_masked = val & 0x80;
	} else {
		rtc_write_data(s, (uint8_t)val);
	}
}

static const struct io_ops rtc_io_ops = {
	.read = rtc_io_read,
	.write = rtc_io_write,
	.min_size = 1,
	.max_size = 1,
};

/* ---- CMOS contents for the firmware ------------------------------------------------------- */

static int rtc_boot_code(char c)
{
	switch (c) {
	case 'a':
		return 1; /* floppy */
	case 'c':
		return 2; /* hard disk */
	case 'd':
		return 3; /* CD-ROM */
	case 'n':
		return 4; /* network */
	default:
		return -1;
	}
}

static void rtc_set_boot_order(struct rtc *s, const char *boot)
{
	int code[3] = { 0, 0, 0 };
	unsigned i, n = 0;

	for (i = 0; boot[i] && n < 3; i++) {
		int c = rtc_boot_code(boot[i]);

		if (c < 0) {
			dm_warn(MOD, "-boot: ignoring unknown device '%c' (use a, c, d, n)",
				boot[i]);
			continue;
		}
		code[n++] = c;
	}
	s->cmos[CMOS_BOOT_FLAGS2] = (uint8_t)(code[0] | code[1] << 4);
	s->cmos[CMOS_BOOT_FLAGS1] = (uint8_t)(code[2] << 4); /* bit 0 clear: check floppy */
}

/*
 * CMOS drive type of a -fda/-fdb spec ("file=PATH,..." or a bare path), from
 * the image size as QEMU guesses it: 360K 1, 1.2M 2, 720K 3, 2.88M 5, else
 * 1.44M (4).
 */
static uint8_t rtc_floppy_type(const char *spec)
{
	static const struct {
		off_t size;
		uint8_t type;
	} sizes[] = { { 368640, 1 }, { 1228800, 2 }, { 737280, 3 }, { 2949120, 5 } };
	char path[1024];
	const char *p = spec, *end;
	struct stat st;
	unsigned i;

	if (!strncmp(p, "file=", 5))
		p += 5;
	end = strchr(p, ',');
	snprintf(path, sizeof(path), "%.*s", (int)(end ? end - p : (ptrdiff_t)strlen(p)), p);
	if (stat(path, &st))
		return 4;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (st.st_size == sizes[i].size)
			return sizes[i].type;
	return 4;
}

static void rtc_set_u16(struct rtc *s, unsigned reg, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	s->cmos[reg] = (uint8_t)v;
	s->cmos[reg + 1] = (uint8_t)(v >> 8);
}

static void rtc_fill_nvram(struct rtc *s, uint8_t floppy)
{
	uint64_t below, above, kb, sum = 0;
	unsigned i, drives = !!(floppy & 0xf0) + !!(floppy & 0x0f);

	pc_ram_layout(s->dm, &below, &above);
	s->cmos[CMOS_FLOPPY_TYPES] = floppy;
	/* Equipment byte: FPU, PS/2 mouse, EGA/VGA display (bits 5:4 = 0), floppies. */
	s->cmos[CMOS_EQUIPMENT] = 0x06 | (drives ? 0x01 | (uint8_t)((drives - 1) << 6) : 0);
	rtc_set_u16(s, CMOS_BASE_MEM_LO, 640);
	kb = below > 0x100000 ? (below - 0x100000) / 1024 : 0;
	rtc_set_u16(s, CMOS_EXT_MEM_LO, kb);
	rtc_set_u16(s, CMOS_EXT_MEM2_LO, kb);
	rtc_set_u16(s, CMOS_MEM_ABOVE_16M_LO, below > 0x1000000 ? (below - 0x1000000) >> 16 : 0);
	s->cmos[CMOS_MEM_ABOVE_4G] = (uint8_t)(above >> 16);
	s->cmos[CMOS_MEM_ABOVE_4G + 1] = (uint8_t)(above >> 24);
	s->cmos[CMOS_MEM_ABOVE_4G + 2] = (uint8_t)(above >> 32);
	s->cmos[CMOS_NB_CPUS] = (uint8_t)(pc_nr_vcpus(s->dm) - 1);
	rtc_set_boot_order(s, s->dm->cfg.boot ? s->dm->cfg.boot : "cad");
	s->cmos[CMOS_PS2_CENTURY] = s->cmos[CMOS_CENTURY];
	for (i = CMOS_FLOPPY_TYPES; i < CMOS_CHECKSUM_HI; i++)
		sum += s->cmos[i];
	s->cmos[CMOS_CHECKSUM_HI] = (uint8_t)(sum >> 8);
	s->cmos[CMOS_CHECKSUM_LO] = (uint8_t)sum;
}

/* Host time in seconds (UTC or local), the base of the guest's clock. */
static int rtc_host_time(struct rtc *s, const struct opts *o, int64_t *out)
{
	uint64_t base;
	time_t now;
	struct tm tm;
	int err;

	if (opts_get(o, "base")) {
		/* Fixed base for tests and the harness: seconds since the epoch. */
		err = opts_get_u64(o, "base", 0, &base);
		if (err)
			return err;
		*out = (int64_t)base;
		return 0;
	}
	now = time(NULL);
	*out = now;
	if (s->dm->cfg.localtime && localtime_r(&now, &tm))
		*out += tm.tm_gmtoff;
	return 0;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void rtc_reset(struct dev *d, enum dev_reset kind)
{
	struct rtc *s = d->state;
	int64_t now = rtc_now(s);

	rtc_sync(s, now);
	if (kind == DEV_RESET_COLD) {
		/* Power-on values QEMU shows: 32.768 kHz, 1024 Hz rate, 24-hour BCD. */
		rtc_write_a(s, now, 0x26);
		s->cmos[RTC_REG_B] = RTC_B_24H;
	}
	/* RESET pin: clears PIE, AIE, UIE, SQWE and the flags (datasheet, "RESET"). */
	s->cmos[RTC_REG_B] &= ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
	s->cmos[RTC_REG_C] = 0;
	s->cmos[RTC_REG_D] = RTC_D_VRT;
	s->index = 0;
	s->nmi_masked = false;
	rtc_update_irq(s);
	rtc_rearm(s);
}

static int rtc_create(struct dev *d, const struct opts *o)
{
	struct rtc *s = d->state;
	uint64_t floppy;
	int64_t now;
	int err;

	s->dm = d->dm;
	floppy = (s->dm->cfg.floppy[0] ? rtc_floppy_type(s->dm->cfg.floppy[0]) << 4 : 0) |
		 (s->dm->cfg.floppy[1] ? rtc_floppy_type(s->dm->cfg.floppy[1]) : 0);
	err = opts_get_u64(o, "floppy", floppy, &floppy);
	if (err || floppy > 0xff) {
		dm_err(MOD, "floppy=: CMOS drive type byte expected (0x40 = one 1.44M drive)");
		return -EINVAL;
	}
	err = rtc_host_time(s, o, &s->host_base);
	if (err)
		return err;
	now = rtc_now(s);
	s->host_ns = now;
	s->base_secs = s->host_base + s->dm->cfg.rtc_offset;
	s->origin_ns = now;
	s->checked_ns = now;
	s->cmos[RTC_REG_A] = 0x26;
	irq_line_init(&s->irq, s->dm, RTC_IRQ);
	timer_init(&s->timer, s->dm->clock, rtc_timer_cb, s);
	s->timer_inited = true;
	rtc_copy_time(s, now);
	rtc_fill_nvram(s, (uint8_t)floppy);
	io_region_init(&s->io, &rtc_io_ops, s, "rtc", 2);
	err = io_region_map(s->dm, &s->io, IO_PIO, RTC_IO_BASE);
	if (err)
		return err;
	rtc_reset(d, DEV_RESET_COLD);
	return 0;
}

static void rtc_destroy(struct dev *d)
{
	struct rtc *s = d->state;

	if (s->timer_inited)
		timer_del(&s->timer);
	io_region_unmap(&s->io);
	if (s->irq.dm)
		irq_set(&s->irq, false);
}

static const struct dev_type rtc_type = {
	.name = "rtc",
	.state_size = sizeof(struct rtc),
	.create = rtc_create,
	.reset = rtc_reset,
	.destroy = rtc_destroy,
};
DM_DEVICE(rtc_type);
