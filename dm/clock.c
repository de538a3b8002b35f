// SPDX-License-Identifier: MIT
/*
 * clock.c - the dm's virtual clock and timers (see clock.h).
 *
 * Timers sit in a list sorted by deadline; device counts are small (tens), so
 * insertion is linear.  In real mode one timerfd, armed for the earliest
 * deadline in host CLOCK_MONOTONIC terms, wakes the loop.
 */
#include "clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define CLOCK_MAX_FIRE_PER_RUN 100000 /* bound on callbacks per clock_set/run_due */

struct dm_clock {
	bool stepped;
	uint64_t virt_ns;     /* stepped: current time */
	uint64_t host_origin; /* real: host ns that maps to virtual 0 (moves while paused) */
	uint64_t paused_at;   /* real: host ns when paused, 0 when running */
	uint64_t firing_at;   /* deadline of the running callback, or 0 */
	struct dm_timer *head;
	struct dm_loop *loop;
	struct loop_ev *tfd_ev;
	int tfd;
};

static uint64_t host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t clock_ns(const struct dm_clock *c)
{
	if (c->stepped)
		return c->virt_ns;
	if (c->firing_at)
		return c->firing_at;
	return (c->paused_at ? c->paused_at : host_ns()) - c->host_origin;
}

bool clock_is_stepped(const struct dm_clock *c)
{
	return c->stepped;
}

uint64_t clock_next_deadline(const struct dm_clock *c)
{
	return c->head ? c->head->deadline : CLOCK_NEVER;
}

static void clock_rearm(struct dm_clock *c)
{
	struct itimerspec its;
	uint64_t host;

	if (c->stepped || c->tfd < 0)
		return;
	memset(&its, 0, sizeof(its));
	if (c->head && !c->paused_at) {
		host = c->head->deadline + c->host_origin;
		if (host == 0)
			host = 1; /* 0 would disarm */
		its.it_value.tv_sec = host / NS_PER_SEC;
		its.it_value.tv_nsec = host % NS_PER_SEC;
	}
	timerfd_settime(c->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Fire every timer with deadline <= now; bounded so a timer re-arming at its
 * own deadline cannot spin forever. */
static void clock_fire_until(struct dm_clock *c, uint64_t now)
{
	unsigned n = 0;

	while (c->head && c->head->deadline <= now && n++ < CLOCK_MAX_FIRE_PER_RUN) {
		struct dm_timer *t = c->head;

		c->head = t->next;
		t->next = NULL;
		c->firing_at = t->deadline;
		if (c->stepped)
			c->virt_ns = t->deadline > c->virt_ns ? t->deadline : c->virt_ns;
		t->deadline = CLOCK_NEVER;
		t->cb(t->opaque);
	}
	c->firing_at = 0;
	if (n > CLOCK_MAX_FIRE_PER_RUN)
		dm_warn("clock", "timer storm: more than %u expiries at once",
			CLOCK_MAX_FIRE_PER_RUN);
}

uint64_t clock_set(struct dm_clock *c, uint64_t ns)
{
	if (!c->stepped)
		return clock_ns(c);
	if (ns > c->virt_ns) {
		clock_fire_until(c, ns);
		c->virt_ns = ns;
	}
	return c->virt_ns;
}

void clock_run_due(struct dm_clock *c)
{
	clock_fire_until(c, clock_ns(c));
	clock_rearm(c);
}

void clock_pause(struct dm_clock *c, bool paused)
{
	uint64_t now = host_ns();

	if (c->stepped || paused == !!c->paused_at)
		return;
	if (paused) {
		c->paused_at = now;
	} else {
		c->host_origin += now - c->paused_at;
		c->paused_at = 0;
	}
	clock_rearm(c);
}

static void clock_tfd_cb(int fd, unsigned events, void *arg)
{
	uint64_t ticks;

	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		dm_warn("clock", "timerfd read: %s", strerror(errno));
	clock_run_due(arg);
}

int clock_create(struct dm_loop *loop, bool stepped, struct dm_clock **out)
{
	struct dm_clock *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->stepped = stepped;
	c->loop = loop;
	c->tfd = -1;
	c->host_origin = host_ns();
	if (!stepped && loop) {
		c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (c->tfd < 0)
			goto err;
		c->tfd_ev = loop_add_fd(loop, c->tfd, LOOP_IN, clock_tfd_cb, c);
		if (!c->tfd_ev)
			goto err;
	}
	*out = c;
	return 0;
err:
	if (c->tfd >= 0)
		close(c->tfd);
	free(c);
	return -ENOMEM;
}

void clock_destroy(struct dm_clock *c)
{
	if (!c)
		return;
	if (c->tfd_ev)
		loop_del(c->tfd_ev);
	if (c->tfd >= 0)
		close(c->tfd);
	free(c);
}

void timer_init(struct dm_timer *t, struct dm_clock *c, void (*cb)(void *opaque), void *opaque)
{
	t->cb = cb;
	t->opaque = opaque;
	t->deadline = CLOCK_NEVER;
	t->next = NULL;
	t->clock = c;
}

static void timer_unlink(struct dm_timer *t)
{
	struct dm_timer **pp;

	for (pp = &t->clock->head; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->next = NULL;
	t->deadline = CLOCK_NEVER;
}

void timer_mod(struct dm_timer *t, uint64_t deadline)
{
	struct dm_clock *c = t->clock;
	struct dm_timer **pp;
	bool was_head = c->head == t;

	if (t->deadline != CLOCK_NEVER)
		timer_unlink(t);
	if (deadline == CLOCK_NEVER)
		goto out;
	t->deadline = deadline;
	for (pp = &c->head; *pp && (*pp)->deadline <= deadline; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
out:
	if (was_head || c->head == t)
		clock_rearm(c);
}

void timer_del(struct dm_timer *t)
{
	bool was_head;

	if (!t->clock || t->deadline == CLOCK_NEVER)
		return;
	was_head = t->clock->head == t;
	timer_unlink(t);
	if (was_head)
		clock_rearm(t->clock);
}

bool timer_pending(const struct dm_timer *t)
{
	return t->deadline != CLOCK_NEVER;
}
