/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the device model's virtual clock and its timers.
 *
 * Devices read time only through clock_ns() and schedule work only with
 * dm_timer; nothing in hw/ calls clock_gettime().  Two modes:
 *   - real: virtual time follows CLOCK_MONOTONIC and stops while the domain
 *     is paused;
 *   - stepped: time moves only when clock_set() is called (by the test
 *     harness through HVM_MSG_CLOCK_SET); clock_set() fires every timer due
 *     up to the new time, in deadline order, with clock_ns() equal to each
 *     timer's deadline while its callback runs.
 * Loop thread only.
 */
#ifndef DM_CLOCK_H
#define DM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define NS_PER_SEC 1000000000ull
#define NS_PER_MS 1000000ull
#define NS_PER_US 1000ull
#define CLOCK_NEVER UINT64_MAX

struct dm_clock;
struct dm_loop;

struct dm_timer {
	void (*cb)(void *opaque);
	void *opaque;
	uint64_t deadline;     /* CLOCK_NEVER when not armed */
	struct dm_timer *next; /* private to clock.c */
	struct dm_clock *clock;
};

/* loop may be NULL (unit tests drive a stepped clock by hand). */
int clock_create(struct dm_loop *loop, bool stepped, struct dm_clock **out);
void clock_destroy(struct dm_clock *c);

uint64_t clock_ns(const struct dm_clock *c);
bool clock_is_stepped(const struct dm_clock *c);
/* Stepped mode: advance to ns (never backwards) firing due timers.  Returns the new time. */
uint64_t clock_set(struct dm_clock *c, uint64_t ns);
/* Deadline of the earliest armed timer, or CLOCK_NEVER. */
uint64_t clock_next_deadline(const struct dm_clock *c);
/* Real mode: stop/restart the flow of time (domain paused). */
void clock_pause(struct dm_clock *c, bool paused);
/* Real mode: fire timers that are due now (called by the loop's timerfd). */
void clock_run_due(struct dm_clock *c);

void timer_init(struct dm_timer *t, struct dm_clock *c, void (*cb)(void *opaque), void *opaque);
/* Arm (or re-arm) for absolute virtual time `deadline`. */
void timer_mod(struct dm_timer *t, uint64_t deadline);
void timer_del(struct dm_timer *t);
bool timer_pending(const struct dm_timer *t);

#endif /* DM_CLOCK_H */
