/* SPDX-License-Identifier: MIT */
/*
 * backend.h - what a vCPU backend provides to hvmhv.  The device-model side
 * (ioreq pages, eventfds, irq lines, mappings, written-page bitmap) lives in
 * struct hv and does not depend on the backend; a backend turns guest
 * accesses it does not handle itself into hv_io_*() calls from the vCPU's
 * own thread.
 *
 * Two backends: `kvm` (backend_kvm.c: /dev/kvm with the in-kernel irqchip
 * and PIT) and `emu` (backend_emu.c: the software CPU of hypervisor/cpu/
 * with the controllers and timers of hypervisor/emu/).
 */
#ifndef HV_BACKEND_H
#define HV_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

struct hv;
struct hv_vcpu;
struct hv_map;

/* Why vcpu_run() returned. */
enum hv_run_exit {
	HV_RUN_CONTINUE = 0, /* an exit was handled; call again */
	HV_RUN_KICKED = 1,   /* interrupted by vcpu_kick(): check pause/stop */
	HV_RUN_TRIPLE_FAULT = 2,
	HV_RUN_ERROR = 3, /* the backend cannot continue (logged) */
};

/* A small architectural snapshot for logs and tests. */
struct hv_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t rip, rflags;
	uint64_t cr0, cr3, cr4;
	uint16_t cs, ds, es, ss;
	uint64_t cs_base;
};

struct hv_backend_ops {
	const char *name;
	uint32_t setup_flags; /* HVM_SETUP_F_* announced to the dm */

	/* VM, guest memory (hv->mem is ready), interrupt controllers, timers. */
	int (*create)(struct hv *hv);
	void (*destroy)(struct hv *hv);
	/* Connect hv->irq's GSI eventfds to the interrupt controllers. */
	int (*irq_attach)(struct hv *hv);
	/* Drive a GSI directly (tests, toolstack-injected NMIs aside). */
	int (*set_gsi)(struct hv *hv, unsigned gsi, bool level);

	int (*vcpu_create)(struct hv_vcpu *v);
	void (*vcpu_destroy)(struct hv_vcpu *v);
	/* Called once on the vCPU's own thread before the first vcpu_run(). */
	int (*vcpu_thread_init)(struct hv_vcpu *v);
	enum hv_run_exit (*vcpu_run)(struct hv_vcpu *v);
	/* Any thread: make vcpu_run() return HV_RUN_KICKED soon. */
	void (*vcpu_kick)(struct hv_vcpu *v);
	int (*get_regs)(struct hv_vcpu *v, struct hv_regs *r);
	int (*set_regs)(struct hv_vcpu *v, const struct hv_regs *r);

	/* Device-model memfd ranges (hv->mem.maps[]), main thread only. */
	int (*map)(struct hv *hv, struct hv_map *m);
	void (*unmap)(struct hv *hv, struct hv_map *m);
	/* Fetch and clear the dirty bitmap of a dirty-logged mapping. */
	int (*dirty_log)(struct hv *hv, struct hv_map *m, uint8_t *bitmap, uint64_t bytes);
};

extern const struct hv_backend_ops hv_backend_kvm;
extern const struct hv_backend_ops hv_backend_emu; /* only when its libraries exist */

/*
 * accel=auto: time a short loop of privileged instructions in a throw-away
 * KVM guest.  Returns nanoseconds per loop iteration, or -errno when KVM is
 * unusable; *why gets a reason for the log.
 */
long kvm_calibrate(const char **why);

#endif /* HV_BACKEND_H */
