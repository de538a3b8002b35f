/* SPDX-License-Identifier: MIT */
/*
 * hv.h - one hvmhv domain: configuration, memory, ioreq producer, interrupt
 * lines, vCPUs and lifecycle.  There is one struct hv per process; every
 * part reaches it through the pointer it was given.
 *
 * Threads: the main thread runs the setup socket (setup.c) and the domain
 * lifecycle; each vCPU has its own thread (vcpu.c) that runs guest code in
 * the backend and performs its own ioreqs.
 */
#ifndef HV_HV_H
#define HV_HV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hvm/setup.h"
#include "ioreq.h"
#include "mem.h"

struct hv_backend_ops;

struct hv_config {
	uint32_t domid;
	const char *setup_path;
	uint64_t ram_mb;
	unsigned nr_vcpus;
	const char *accel; /* "kvm", "emu" or "auto" */
	const char *bios;  /* NULL: no firmware (tests load their own code) */
	const char *log_path;
	const char *name;
	uint64_t bufio_start, bufio_end; /* buffered MMIO writes, [start, end) */
};

/* GSI eventfds and the level page shared with the device model. */
struct hv_irq {
	unsigned nr_gsis;
	int irq_fd[HVM_NR_GSIS];      /* dm -> hv: line changed / rising edge */
	int resample_fd[HVM_NR_GSIS]; /* hv -> dm: guest EOI'd the line */
	int page_fd;
	struct hvm_irq_page *page;
};

struct hv_vcpu {
	struct hv *hv;
	unsigned index;
	pthread_t thread;
	bool thread_started;
	void *be; /* backend state */
	uint64_t nr_ioreqs, nr_buffered;
};

struct hv {
	struct hv_config cfg;
	const struct hv_backend_ops *be_ops;
	void *be;
	struct hv_mem mem;
	struct ioreq_prod io;
	int ioreq_page_fd, bufioreq_page_fd;
	struct hv_irq irq;
	struct hv_vcpu *vcpus;
	uint64_t start_ns;

	/* Buffered MMIO range, [start, end); changed by SET_BUFFERED. */
	uint64_t buf_start, buf_end;

	/* Lifecycle (domain.c), under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int end_reason;	 /* -1 while running, else HVM_EXIT_* */
	int stop_fd;	 /* eventfd readable once the domain must end */
	bool stopping;	 /* atomic mirror of end_reason >= 0 for vCPU loops */
	bool paused;	 /* vCPUs park at their next exit */
	bool started;	 /* vCPU threads exist (after READY) */
	unsigned parked; /* vCPUs currently parked */
};

static inline bool hv_stopping(struct hv *hv)
{
	return __atomic_load_n(&hv->stopping, __ATOMIC_ACQUIRE);
}

uint64_t hv_now_ns(void);

/* domain.c: lifecycle. */
int hv_domain_init(struct hv *hv);
/* End the domain (first caller wins); `exit_code` is HVM_EXIT_*.  Any thread. */
void hv_domain_end(struct hv *hv, int exit_code, const char *why);
const char *hv_exit_reason_name(int exit_code);
enum hvm_run_state hv_run_state(struct hv *hv);

/* vcpu.c: threads, pause, kick. */
int hv_vcpus_start(struct hv *hv);
void hv_vcpus_stop(struct hv *hv);
void hv_pause(struct hv *hv, bool pause);
void hv_kick_all(struct hv *hv);
/* Called by a vCPU thread at every exit: parks while paused; false when stopping. */
bool hv_vcpu_may_run(struct hv_vcpu *v);

/* irq.c: GSI eventfds and level page. */
int hv_irq_create(struct hv_irq *irq);
void hv_irq_destroy(struct hv_irq *irq);

/* io.c: accesses the backend does not handle become ioreqs. */
uint64_t hv_io_pio(struct hv_vcpu *v, uint16_t port, uint32_t size, bool is_read, uint64_t val);
/*
 * String port I/O: `count` items of `size` bytes between the port and the
 * guest-physical buffer at gpa (bounce page or RAM), descending when df.
 * `host` is the host view of the count * size bytes the items occupy (its
 * lowest address), filled with all-ones for reads the device model could not
 * answer.
 */
void hv_io_pio_string(struct hv_vcpu *v, uint16_t port, uint32_t size, bool is_read, uint64_t gpa,
		      uint32_t count, bool df, uint8_t *host);
uint64_t hv_io_mmio(struct hv_vcpu *v, uint64_t gpa, uint32_t size, bool is_read, uint64_t val);

#endif /* HV_HV_H */
