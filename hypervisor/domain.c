// SPDX-License-Identifier: MIT
/*
 * domain.c - how a domain ends: the first of poweroff/reboot/crash requests
 * (from the dm's SHUTDOWN, a triple fault, the dm disappearing) or a
 * toolstack DESTROY wins; vCPUs are kicked out of guest mode and ioreq
 * waits are aborted; the main thread then joins them and exits with the
 * matching HVM_EXIT_* status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "hv.h"
#include "hvlog.h"

uint64_t hv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int hv_domain_init(struct hv *hv)
{
	pthread_mutex_init(&hv->lock, NULL);
	pthread_cond_init(&hv->cond, NULL);
	hv->end_reason = -1;
	hv->start_ns = hv_now_ns();
	hv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return hv->stop_fd < 0 ? -errno : 0;
}

const char *hv_exit_reason_name(int exit_code)
{
	switch (exit_code) {
	case HVM_EXIT_POWEROFF:
		return "poweroff";
	case HVM_EXIT_REBOOT:
		return "reboot";
	case HVM_EXIT_CRASH:
		return "crash";
	case HVM_EXIT_DESTROYED:
		return "destroyed";
	default:
		return "error";
	}
}

void hv_domain_end(struct hv *hv, int exit_code, const char *why)
{
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&hv->lock);
	first = hv->end_reason < 0;
	if (first) {
		hv->end_reason = exit_code;
		__atomic_store_n(&hv->stopping, true, __ATOMIC_RELEASE);
	}
	pthread_cond_broadcast(&hv->cond);
	pthread_mutex_unlock(&hv->lock);
	if (!first)
		return;
	hv_log("domain %u ending (%s): %s", hv->cfg.domid, hv_exit_reason_name(exit_code), why);
	ioreq_abort(&hv->io);
	hv_kick_all(hv);
	if (write(hv->stop_fd, &one, sizeof(one)) < 0)
		hv_log("stop eventfd: %m");
}

enum hvm_run_state hv_run_state(struct hv *hv)
{
	enum hvm_run_state st;

	pthread_mutex_lock(&hv->lock);
	if (hv->end_reason >= 0)
		st = HVM_STATE_SHUTDOWN;
	else if (!hv->started)
		st = HVM_STATE_STARTING;
	else if (hv->paused)
		st = HVM_STATE_PAUSED;
	else
		st = HVM_STATE_RUNNING;
	pthread_mutex_unlock(&hv->lock);
	return st;
}
