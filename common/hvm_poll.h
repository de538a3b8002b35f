/* SPDX-License-Identifier: MIT */
/*
 * hvm_poll.h - adaptive spin-before-sleep for the ioreq handshake, used by
 * both ends (hvmhv's vCPUs waiting for a response, hvmdm waiting for the
 * next request).
 *
 * A cross-process eventfd wake-up costs several microseconds on a busy or
 * nested host, as much as the KVM exit it serves.  When the other side
 * answers quickly, spinning on the shared page for a few microseconds
 * avoids both the sleep and the other side's eventfd write (see the
 * polling hints in struct hvm_irq_page).  When it does not, spinning only
 * burns a core that the other side may need, so the window adapts the way
 * KVM's halt polling does: a wait that was a little longer than the window
 * doubles it, a wait far longer than any window halves it, and below a
 * floor spinning stops until short waits come back.
 */
#ifndef HVM_POLL_H
#define HVM_POLL_H

#include <stdbool.h>
#include <stdint.h>
#include <sched.h>
#include <time.h>

#define HVM_POLL_START_NS 4000u /* first window after short waits reappear */
#define HVM_POLL_MAX_NS 64000u	/* longest spin, and "short wait" limit */
#define HVM_POLL_CHECK_EVERY 4u /* spin iterations between clock reads */

struct hvm_poll {
	uint32_t window_ns; /* 0: sleep at once */
};

static inline uint64_t hvm_poll_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * One spin step.  A yield, not a pause: the scheduler tends to wake the
 * other side on the waker's core, where a pause loop would keep it from
 * running until the window ran out (measured: 6x slower round trips).
 */
static inline void hvm_poll_relax(void)
{
	sched_yield();
}

/*
 * Spin until done(arg) or window_ns have passed since start; true when done.
 * Static inline with a static callback: the compiler folds the call.
 */
static inline bool hvm_poll_spin(uint64_t start, uint32_t window_ns, bool (*done)(void *),
				 void *arg)
{
	unsigned i = 0;

	while (!done(arg)) {
		hvm_poll_relax();
		if (++i % HVM_POLL_CHECK_EVERY == 0 && hvm_poll_now() - start > window_ns)
			return false;
	}
	return true;
}

/*
 * Learn from one wait of waited_ns (from the moment spinning could start),
 * with windows of at most max_ns.
 */
static inline void hvm_poll_learn(struct hvm_poll *p, uint64_t waited_ns, uint32_t max_ns)
{
	uint32_t w = p->window_ns;

	if (waited_ns <= w)
		return; /* caught while spinning: the window is right */
	if (waited_ns <= max_ns) {
		w = w < HVM_POLL_START_NS ? HVM_POLL_START_NS : w * 2;
		p->window_ns = w > max_ns ? max_ns : w;
		return;
	}
	w /= 2;
	p->window_ns = w < HVM_POLL_START_NS / 2 ? 0 : w;
}

/* The same for the ioreq handshake's windows (HVM_POLL_MAX_NS). */
static inline void hvm_poll_update(struct hvm_poll *p, uint64_t waited_ns)
{
	hvm_poll_learn(p, waited_ns, HVM_POLL_MAX_NS);
}

#endif
