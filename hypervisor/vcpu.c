// SPDX-License-Identifier: MIT
/*
 * vcpu.c - one thread per vCPU running the backend's vcpu_run() in a loop,
 * and the pause/stop handshake: a paused vCPU parks at its next exit; a
 * kicked vCPU leaves guest mode promptly (signal + immediate exit under KVM,
 * x86cpu_kick() under emu).  A vCPU waiting for an ioreq response finishes
 * that request first (or is aborted when the domain ends).
 */
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "hv.h"
#include "hvlog.h"

void hv_kick_all(struct hv *hv)
{
	if (!hv->vcpus)
		return;
	for (unsigned i = 0; i < hv->cfg.nr_vcpus; i++)
		if (hv->vcpus[i].be)
			hv->be_ops->vcpu_kick(&hv->vcpus[i]);
}

bool hv_vcpu_may_run(struct hv_vcpu *v)
{
	struct hv *hv = v->hv;
	bool run;

	if (hv_stopping(hv))
		return false;
	/* Fast path on every exit: no lock unless a pause is pending. */
	if (!__atomic_load_n(&hv->paused, __ATOMIC_ACQUIRE))
		return true;
	pthread_mutex_lock(&hv->lock);
	if (hv->paused && hv->end_reason < 0) {
		hv->parked++;
		pthread_cond_broadcast(&hv->cond);
		while (hv->paused && hv->end_reason < 0)
			pthread_cond_wait(&hv->cond, &hv->lock);
		hv->parked--;
	}
	run = hv->end_reason < 0;
	pthread_mutex_unlock(&hv->lock);
	return run;
}

static void log_regs(struct hv_vcpu *v, const char *what)
{
	struct hv_regs r;

	if (!v->hv->be_ops->get_regs || v->hv->be_ops->get_regs(v, &r))
		return;
	hv_log("vcpu%u: %s at cs=%04x(base %#llx) rip=%#llx rflags=%#llx cr0=%#llx", v->index, what,
	       r.cs, (unsigned long long)r.cs_base, (unsigned long long)r.rip,
	       (unsigned long long)r.rflags, (unsigned long long)r.cr0);
}

static void *vcpu_thread(void *arg)
{
	struct hv_vcpu *v = arg;
	struct hv *hv = v->hv;
	int err = hv->be_ops->vcpu_thread_init(v);

	if (err) {
		hv_log("vcpu%u: thread set-up failed: %s", v->index, strerror(-err));
		hv_domain_end(hv, HVM_EXIT_ERROR, "vcpu thread set-up failed");
		return NULL;
	}
	while (hv_vcpu_may_run(v)) {
		switch (hv->be_ops->vcpu_run(v)) {
		case HV_RUN_CONTINUE:
		case HV_RUN_KICKED:
			break;
		case HV_RUN_TRIPLE_FAULT:
			log_regs(v, "triple fault");
			hv_domain_end(hv, HVM_EXIT_CRASH, "triple fault");
			break;
		case HV_RUN_ERROR:
			log_regs(v, "backend error");
			hv_domain_end(hv, HVM_EXIT_CRASH, "vcpu backend error");
			break;
		}
	}
	return NULL;
}

int hv_vcpus_start(struct hv *hv)
{
	int err;

	pthread_mutex_lock(&hv->lock);
	if (hv->started) {
		pthread_mutex_unlock(&hv->lock);
		return -EALREADY;
	}
	hv->started = true;
	pthread_mutex_unlock(&hv->lock);
	for (unsigned i = 0; i < hv->cfg.nr_vcpus; i++) {
		struct hv_vcpu *v = &hv->vcpus[i];

		err = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (err) {
			hv_domain_end(hv, HVM_EXIT_ERROR, "cannot create vcpu thread");
			return -err;
		}
		v->thread_started = true;
	}
	return 0;
}

void hv_vcpus_stop(struct hv *hv)
{
	if (!hv->vcpus)
		return;
	hv_kick_all(hv);
	for (unsigned i = 0; i < hv->cfg.nr_vcpus; i++) {
		struct hv_vcpu *v = &hv->vcpus[i];

		if (!v->thread_started)
			continue;
		pthread_join(v->thread, NULL);
		v->thread_started = false;
	}
}

void hv_pause(struct hv *hv, bool pause)
{
	pthread_mutex_lock(&hv->lock);
	__atomic_store_n(&hv->paused, pause, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&hv->cond);
	pthread_mutex_unlock(&hv->lock);
	if (pause)
		hv_kick_all(hv);
}
