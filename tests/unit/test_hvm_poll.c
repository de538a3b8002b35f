// SPDX-License-Identifier: MIT
/*
 * test_hvm_poll.c - the adaptive spin window of common/hvm_poll.h, as the
 * ioreq handshake (64 us cap) and the software CPU's halt polling (its own
 * cap) use it: short waits open and double it up to the cap, a wait caught
 * inside it leaves it alone, long waits halve it and finally close it, and
 * hvm_poll_spin() stops at done() or at the window's end.
 */
#include <stdbool.h>
#include <stdint.h>

#include "hvm_poll.h"
#include "tap.h"

#define CAP 200000u

static void test_grows_to_cap(void)
{
	struct hvm_poll p = { 0 };
	uint32_t prev = 0;

	hvm_poll_learn(&p, 50000, CAP);
	CHECK_EQ(p.window_ns, HVM_POLL_START_NS);
	for (int i = 0; i < 20 && p.window_ns < CAP; i++) {
		prev = p.window_ns;
		hvm_poll_learn(&p, p.window_ns + 1, CAP);
		CHECK(p.window_ns == CAP || p.window_ns == prev * 2);
	}
	CHECK_EQ(p.window_ns, CAP);
	/* A wait just past the cap is long: it halves the window. */
	hvm_poll_learn(&p, CAP + 1, CAP);
	CHECK_EQ(p.window_ns, CAP / 2);
	p.window_ns = CAP;
	/* The ioreq cap is lower: the same short wait stops at 64 us there. */
	for (int i = 0; i < 20; i++)
		hvm_poll_update(&p, 60000);
	CHECK_EQ(p.window_ns, CAP); /* caught inside the window: unchanged */
	p.window_ns = 40000;
	hvm_poll_update(&p, 50000);
	CHECK_EQ(p.window_ns, HVM_POLL_MAX_NS);
}

static void test_caught_keeps(void)
{
	struct hvm_poll p = { .window_ns = 32000 };

	hvm_poll_learn(&p, 1000, CAP);
	hvm_poll_learn(&p, 32000, CAP);
	CHECK_EQ(p.window_ns, 32000);
}

static void test_long_waits_close(void)
{
	struct hvm_poll p = { .window_ns = CAP };
	int n = 0;

	while (p.window_ns && n < 64) {
		uint32_t before = p.window_ns;

		hvm_poll_learn(&p, 4000000, CAP); /* an idle guest's timer tick */
		CHECK(p.window_ns == 0 || p.window_ns == before / 2);
		n++;
	}
	CHECK_EQ(p.window_ns, 0);
	CHECK(n >= 6 && n <= 8);
	/* Closed, a short wait reopens it at the start window. */
	hvm_poll_learn(&p, 100000, CAP);
	CHECK_EQ(p.window_ns, HVM_POLL_START_NS);
}

struct countdown {
	int left;
	int calls;
};

static bool count_done(void *arg)
{
	struct countdown *c = arg;

	c->calls++;
	return --c->left <= 0;
}

static void test_spin(void)
{
	struct countdown c = { .left = 3 };

	CHECK(hvm_poll_spin(hvm_poll_now(), 1000000000u, count_done, &c));
	CHECK_EQ(c.calls, 3);
	/* Never done: gives up once the window has passed. */
	c = (struct countdown){ .left = 1 << 30 };
	CHECK(!hvm_poll_spin(hvm_poll_now(), 20000, count_done, &c));
	CHECK(c.calls >= 1);
	CHECK(c.left > 0);
}

int main(void)
{
	test_grows_to_cap();
	test_caught_keeps();
	test_long_waits_close();
	test_spin();
	return tap_done();
}
