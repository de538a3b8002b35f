// SPDX-License-Identifier: MIT
/*
 * test_loop_clock.c - the event loop (fd events, deferred delete, posts from
 * another thread, quit) and the virtual clock (stepped timers in deadline
 * order, re-arming, deletion, real-mode timerfd, pause).
 */
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "loop.h"
#include "tap.h"

struct ctx {
	struct dm_loop *loop;
	struct loop_ev *other;
	int hits;
	int order[8];
	int norder;
	struct dm_clock *clock;
	uint64_t seen_ns[8];
};

static void fd_cb(int fd, unsigned events, void *arg)
{
	struct ctx *c = arg;
	uint64_t v;

	CHECK(events & LOOP_IN);
	CHECK_EQ(read(fd, &v, sizeof(v)), sizeof(v));
	c->hits++;
	/* Deleting another event from a callback must be safe in the same batch. */
	if (c->other) {
		loop_del(c->other);
		c->other = NULL;
	}
}

static void post_cb(void *arg)
{
	struct ctx *c = arg;

	c->hits += 100;
	loop_quit(c->loop);
}

static void *poster(void *arg)
{
	struct ctx *c = arg;

	usleep(1000);
	loop_post(c->loop, post_cb, c);
	return NULL;
}

static void test_loop(void)
{
	struct ctx c = { 0 };
	int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK);
	uint64_t one = 1;
	pthread_t th;

	CHECK_EQ(loop_create(&c.loop), 0);
	CHECK(loop_add_fd(c.loop, a, LOOP_IN, fd_cb, &c) != NULL);
	c.other = loop_add_fd(c.loop, b, LOOP_IN, fd_cb, &c);
	CHECK(c.other != NULL);
	CHECK_EQ(write(a, &one, 8), 8);
	CHECK_EQ(write(b, &one, 8), 8);
	CHECK_EQ(loop_run_once(c.loop, 1000), 1); /* one ran, the other was deleted */
	CHECK_EQ(c.hits, 1);
	CHECK_EQ(loop_run_once(c.loop, 0), 0);
	pthread_create(&th, NULL, poster, &c);
	CHECK_EQ(loop_run(c.loop), 0);
	pthread_join(th, NULL);
	CHECK_EQ(c.hits, 101);
	CHECK(loop_quitting(c.loop));
	loop_destroy(c.loop);
	close(a);
	close(b);
}

struct tctx {
	struct ctx *c;
	int id;
	struct dm_timer t;
	uint64_t period;
	int remaining;
};

static void timer_cb(void *opaque)
{
	struct tctx *t = opaque;
	struct ctx *c = t->c;

	if (c->norder < 8) {
		c->seen_ns[c->norder] = clock_ns(c->clock);
		c->order[c->norder++] = t->id;
	}
	if (t->period && --t->remaining > 0)
		timer_mod(&t->t, t->t.deadline == CLOCK_NEVER ? clock_ns(c->clock) + t->period : 0);
}

static void test_stepped(void)
{
	struct ctx c = { 0 };
	struct tctx t1 = { .c = &c, .id = 1 }, t2 = { .c = &c, .id = 2 }, t3 = { .c = &c, .id = 3 };

	CHECK_EQ(clock_create(NULL, true, &c.clock), 0);
	CHECK_EQ(clock_ns(c.clock), 0);
	timer_init(&t1.t, c.clock, timer_cb, &t1);
	timer_init(&t2.t, c.clock, timer_cb, &t2);
	timer_init(&t3.t, c.clock, timer_cb, &t3);
	timer_mod(&t1.t, 300);
	timer_mod(&t2.t, 100);
	timer_mod(&t3.t, 200);
	CHECK_EQ(clock_next_deadline(c.clock), 100);
	timer_del(&t3.t);
	CHECK(!timer_pending(&t3.t));
	CHECK_EQ(clock_set(c.clock, 250), 250);
	CHECK_EQ(c.norder, 1);
	CHECK_EQ(c.order[0], 2);
	CHECK_EQ(c.seen_ns[0], 100);		/* callbacks see their own deadline */
	CHECK_EQ(clock_set(c.clock, 100), 250); /* never backwards */
	/* A periodic timer fires at each period inside one big step. */
	t3.period = 1000;
	t3.remaining = 3;
	timer_mod(&t3.t, 1000);
	clock_set(c.clock, 10000);
	CHECK_EQ(c.norder, 5);
	CHECK_EQ(c.order[1], 1);
	CHECK_EQ(c.seen_ns[1], 300);
	CHECK_EQ(c.seen_ns[2], 1000);
	CHECK_EQ(c.seen_ns[3], 2000);
	CHECK_EQ(c.seen_ns[4], 3000);
	CHECK_EQ(clock_next_deadline(c.clock), CLOCK_NEVER);
	clock_destroy(c.clock);
}

static void real_cb(void *opaque)
{
	struct ctx *c = opaque;

	c->hits++;
	loop_quit(c->loop);
}

static void test_real(void)
{
	struct ctx c = { 0 };
	struct dm_timer t;
	uint64_t t0, t1;

	CHECK_EQ(loop_create(&c.loop), 0);
	CHECK_EQ(clock_create(c.loop, false, &c.clock), 0);
	CHECK(!clock_is_stepped(c.clock));
	timer_init(&t, c.clock, real_cb, &c);
	t0 = clock_ns(c.clock);
	timer_mod(&t, t0 + 2 * NS_PER_MS);
	CHECK_EQ(loop_run(c.loop), 0);
	CHECK_EQ(c.hits, 1);
	t1 = clock_ns(c.clock);
	CHECK(t1 >= t0 + 2 * NS_PER_MS);
	/* Paused: virtual time stands still. */
	clock_pause(c.clock, true);
	t0 = clock_ns(c.clock);
	usleep(3000);
	CHECK_EQ(clock_ns(c.clock), t0);
	clock_pause(c.clock, false);
	usleep(1000);
	CHECK(clock_ns(c.clock) > t0);
	clock_destroy(c.clock);
	loop_destroy(c.loop);
}

int main(void)
{
	test_loop();
	test_stepped();
	test_real();
	return tap_done();
}
