// SPDX-License-Identifier: MIT
/*
 * backend_emu.c - vCPUs on hvmhv's own software x86 CPU (hypervisor/cpu/,
 * x86cpu.h) with our own 8259/IOAPIC/LAPIC/8254 (hypervisor/emu/,
 * irqchip.h), for hosts where KVM is missing or too slow.
 *
 * Each vCPU thread runs x86cpu_run() against a bus whose port I/O and MMIO
 * go first to the interrupt controllers and then become ioreqs through the
 * same producer as under KVM.  String port I/O travels as one ioreq whose
 * data pointer is the guest RAM buffer itself (the CPU clips it to a page).
 * One extra thread ("irq thread") reads the dm's GSI eventfds, taking levels
 * and rising-edge counts from the hvm_irq_page, and fires the timers on a
 * timerfd armed at the chip's next deadline.  A halted vCPU first watches
 * that page itself for an adaptive while (halt_poll()), then sleeps until
 * an interrupt, a kick, or a timer.  Not done: dirty logging at finer than
 * "written since the last-but-one harvest" granularity, SMM, MTRR effects.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "hv.h"
#include "hvlog.h"
#include "hvm_poll.h"
#include "irqchip.h"
#include "x86cpu.h"

#define EMU_BUDGET 200000	 /* instructions per x86cpu_run(): bounds kick latency */
#define EMU_HANDOFF_SPINS 100000 /* bound on yielding to a waiting vCPU */
#define EMU_MAX_RETIRED 256
#define EMU_HLT_MAX_NS 50000000ull  /* re-check at least every 50 ms while halted */
#define EMU_EXEC_WAIT_NS 3000000ull /* longest wait for exec_lock before kicking its holder */
#define EMU_EXEC_POLL_NS 250000ull  /* a waiter re-checks for interrupts this often */
#define EMU_MIN_SLICE_NS 250000ull  /* an interrupt elsewhere cuts a slice no shorter */
#define EMU_KICK_RETRIES 4 /* kicks that only meant "interrupt pending", see emu_run_slice */
#define EMU_HALT_POLL_MAX_NS 200000u /* longest halt polling (KVM's default halt_poll_ns) */

struct emu_vcpu {
	unsigned slice_seed; /* slice-length jitter (emu_run_slice) */
	struct hv_vcpu *v;
	struct emu_be *e;
	struct x86cpu *cpu;
	struct x86_bus bus;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool wake;		      /* kick since the vCPU last slept; under lock */
	bool wait_sipi;		      /* AP before its start-up IPI (vCPU thread only) */
	struct hvm_poll halt_poll;    /* adaptive halt polling window (vCPU thread only) */
	uint64_t halts, halts_polled; /* statistics: sleeps, and those polling ended */
	uint64_t lines_polled;	      /* statistics: line changes bus_poll() took */
	uint32_t quiet_seen;	      /* hvm_irq_page.quiet_lines at this vCPU's last look */
	/* Requests from other threads, handled on the vCPU thread (atomics). */
	int init_req;
	int sipi_req; /* vector + 1, 0 = none */
	int nmi_req;
	int flush_req;		     /* flush_lo/hi hold a range to invalidate */
	uint64_t flush_lo, flush_hi; /* pending invalidate range, under lock */
};

struct emu_be {
	struct hv *hv;
	struct irqchip *chip;
	struct emu_vcpu **vcpu;
	pthread_t irq_thread;
	bool irq_thread_started;
	int wake_fd;  /* irq thread: stop */
	int timer_fd; /* CLOCK_MONOTONIC, the chip's next deadline (under timer_lock) */
	pthread_mutex_t timer_lock;
	bool stop;
	bool no_halt_poll; /* HVM_HALT_POLL=0 in the environment (comparisons) */
	/*
	 * The dm's lines as gsi_changed() last took them, under gsi_lock
	 * (written there; read without it by halt polling, atomically).
	 */
	pthread_mutex_t gsi_lock;
	uint32_t last_edges[HVM_NR_GSIS];
	bool last_level[HVM_NR_GSIS];
	/* Dirty logging of dm mappings: pages mapped writable this round and last round. */
	uint8_t *dirty_cur[HV_MAX_MAPS], *dirty_prev[HV_MAX_MAPS];
	/* Host ranges of unmapped dm mappings, kept reserved until destroy (see emu_unmap). */
	struct {
		void *p;
		uint64_t len;
	} retired[EMU_MAX_RETIRED];
	unsigned nr_retired;
	pthread_mutex_t lock;
	/*
	 * With several vCPUs, one runs guest code at a time (round robin per
	 * slice), as QEMU's single-threaded TCG did: the CPU does not make
	 * LOCKed read-modify-writes atomic across host threads, so two vCPUs
	 * running at once could lose a spinlock update.  Held only inside
	 * x86cpu_run(); halted vCPUs sleep without it.
	 */
	pthread_mutex_t exec_lock;
	unsigned exec_waiting;	     /* vCPUs blocked on exec_lock */
	unsigned exec_gen;	     /* bumped by every acquisition */
	struct emu_vcpu *exec_owner; /* holder of exec_lock, NULL when free (atomic) */
	uint64_t exec_since;	     /* when the holder took it (atomic) */
};

static uint64_t emu_now(void *opaque)
{
	(void)opaque;
	return hv_now_ns();
}

/* CLOCK_MONOTONIC nanoseconds as a timespec (condvar, mutex and timerfd deadlines). */
static struct timespec ns_to_timespec(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ull),
				  .tv_nsec = (long)(ns % 1000000000ull) };
}

static void poke(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		hv_log("emu: eventfd write: %s", strerror(errno));
}

static void vcpu_wake(struct emu_vcpu *ev)
{
	pthread_mutex_lock(&ev->lock);
	__atomic_store_n(&ev->wake, true, __ATOMIC_RELEASE); /* halt polling reads it unlocked */
	pthread_cond_signal(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
	if (ev->cpu)
		x86cpu_kick(ev->cpu);
}

/* ---- irqchip hooks (any thread, never under the chip lock) ---- */

static void hook_kick(void *opaque, unsigned cpu)
{
	struct emu_be *e = opaque;

	if (cpu < e->hv->cfg.nr_vcpus && e->vcpu[cpu])
		vcpu_wake(e->vcpu[cpu]);
}

static void rearm_timer(struct emu_be *e);

/* The chip's next deadline moved earlier: re-arm from this thread. */
static void hook_timer(void *opaque)
{
	rearm_timer(opaque);
}

static void hook_eoi_gsi(void *opaque, unsigned gsi)
{
	struct emu_be *e = opaque;

	/* Resample: the dm re-signals the line if its source is still high. */
	if (gsi < e->hv->irq.nr_gsis)
		poke(e->hv->irq.resample_fd[gsi]);
}

static void set_req(struct emu_be *e, unsigned cpu, int *(*field)(struct emu_vcpu *), int val)
{
	if (cpu >= e->hv->cfg.nr_vcpus || !e->vcpu[cpu])
		return;
	__atomic_store_n(field(e->vcpu[cpu]), val, __ATOMIC_RELEASE);
	vcpu_wake(e->vcpu[cpu]);
}

static int *f_init(struct emu_vcpu *ev)
{
	return &ev->init_req;
}

static int *f_sipi(struct emu_vcpu *ev)
{
	return &ev->sipi_req;
}

static int *f_nmi(struct emu_vcpu *ev)
{
	return &ev->nmi_req;
}

static void hook_init(void *opaque, unsigned cpu)
{
	set_req(opaque, cpu, f_init, 1);
}

static void hook_sipi(void *opaque, unsigned cpu, uint8_t vector)
{
	set_req(opaque, cpu, f_sipi, vector + 1);
}

static void hook_nmi(void *opaque, unsigned cpu)
{
	set_req(opaque, cpu, f_nmi, 1);
}

/* ---- the bus seen by one vCPU ---- */

/*
 * Drop translations of ranges the dm (un)mapped.  Also called right after
 * every synchronous ioreq: a dm that unmaps while answering a request must
 * see the next guest instruction use the new layout (the CPU would otherwise
 * notice a kick only every few instructions).  Only TLB entries are dropped,
 * so this is safe inside an instruction's bus callback.
 */
static void take_flush(struct emu_vcpu *ev)
{
	uint64_t lo, hi;

	if (!__atomic_exchange_n(&ev->flush_req, 0, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&ev->lock);
	lo = ev->flush_lo;
	hi = ev->flush_hi;
	ev->flush_lo = UINT64_MAX;
	ev->flush_hi = 0;
	pthread_mutex_unlock(&ev->lock);
	if (lo < hi)
		x86cpu_invalidate_phys(ev->cpu, lo, hi - lo);
}

static bool take_quiet_lines(struct emu_vcpu *ev);

/*
 * After a request the device model answered: take the lines it moved
 * without signalling (hvm_irq_page.hv_takes_lines), apply its TLB flushes, and end
 * the slice early when another vCPU waits for exec_lock.  A guest spinning
 * on a port for another vCPU (a BSP polling for its AP) makes slow progress
 * in instructions, so a slice of EMU_BUDGET instructions could outlast the
 * whole wait in wall time and the other vCPU would never run.
 */
static void after_dm_io(struct emu_vcpu *ev)
{
	take_quiet_lines(ev);
	take_flush(ev);
	x86cpu_code_sync(ev->cpu); /* what the dm wrote before it answered */
	if (__atomic_load_n(&ev->e->exec_waiting, __ATOMIC_RELAXED))
		x86cpu_kick(ev->cpu);
}

static uint8_t *dm_map_page(struct emu_vcpu *ev, uint64_t page, bool write)
{
	struct hv_mem *m = &ev->v->hv->mem;
	struct hv_map *mp;
	uint8_t *p = NULL;

	pthread_rwlock_rdlock(&m->maps_lock);
	mp = mem_map_lookup(m, page);
	if (mp && mp->host && !(write && (mp->flags & HVM_MAP_F_READONLY))) {
		uint64_t pg = (page - mp->gpa) / HV_PAGE_SIZE;
		int idx = (int)(mp - m->maps);

		p = mp->host + (page - mp->gpa);
		/* Pages handed out writable count as dirty (see emu_dirty_log). */
		if (write && ev->e->dirty_cur[idx])
			__atomic_fetch_or(&ev->e->dirty_cur[idx][pg / 8], (uint8_t)(1u << (pg % 8)),
					  __ATOMIC_RELAXED);
	}
	pthread_rwlock_unlock(&m->maps_lock);
	return p;
}

/* A dm-mapped page may be pre-enabled for writes only when no dirty log runs. */
static uint8_t *bus_probe_writable(void *opaque, uint64_t gpa)
{
	struct emu_vcpu *ev = opaque;
	struct hv_mem *m = &ev->v->hv->mem;
	uint64_t page = gpa & ~(HV_PAGE_SIZE - 1), off = mem_ram_offset(m, page);
	struct hv_map *mp;
	uint8_t *p = NULL;

	if (off != UINT64_MAX)
		return m->ram + off;
	pthread_rwlock_rdlock(&m->maps_lock);
	mp = mem_map_lookup(m, page);
	if (mp && mp->host && !(mp->flags & HVM_MAP_F_READONLY) && !ev->e->dirty_cur[mp - m->maps])
		p = mp->host + (page - mp->gpa);
	pthread_rwlock_unlock(&m->maps_lock);
	return p;
}

static uint8_t *bus_map_page(void *opaque, uint64_t gpa, bool write)
{
	struct emu_vcpu *ev = opaque;
	struct hv_mem *m = &ev->v->hv->mem;
	uint64_t page = gpa & ~(HV_PAGE_SIZE - 1), off = mem_ram_offset(m, page);

	if (off != UINT64_MAX)
		return m->ram + off;
	if (m->bios_size && page >= m->bios_gpa && page - m->bios_gpa < m->bios_size)
		return write ? NULL : m->bios + (page - m->bios_gpa);
	return dm_map_page(ev, page, write);
}

static uint64_t bus_mmio_read(void *opaque, uint64_t gpa, unsigned size)
{
	struct emu_vcpu *ev = opaque;
	uint64_t val = 0;

	if (irqchip_mmio(ev->e->chip, ev->v->index, gpa, size, false, &val))
		return val;
	val = hv_io_mmio(ev->v, gpa, size, true, 0);
	after_dm_io(ev);
	return val;
}

static void bus_mmio_write(void *opaque, uint64_t gpa, uint64_t val, unsigned size)
{
	struct emu_vcpu *ev = opaque;

	if (irqchip_mmio(ev->e->chip, ev->v->index, gpa, size, true, &val))
		return;
	hv_io_mmio(ev->v, gpa, size, false, val);
	after_dm_io(ev);
}

static uint32_t bus_pio_in(void *opaque, uint16_t port, unsigned size)
{
	struct emu_vcpu *ev = opaque;
	uint32_t val = 0;

	if (irqchip_pio(ev->e->chip, port, size, false, &val))
		return val;
	val = (uint32_t)hv_io_pio(ev->v, port, size, true, 0);
	after_dm_io(ev);
	return val;
}

static void bus_pio_out(void *opaque, uint16_t port, uint32_t val, unsigned size)
{
	struct emu_vcpu *ev = opaque;

	if (irqchip_pio(ev->e->chip, port, size, true, &val))
		return;
	hv_io_pio(ev->v, port, size, false, val);
	after_dm_io(ev);
}

/* One item at a time, for buffers that are not plain RAM or ports the chip owns. */
static void pio_string_slow(struct emu_vcpu *ev, uint16_t port, unsigned size, bool is_in,
			    uint64_t gpa, uint32_t count, bool df)
{
	for (uint32_t i = 0; i < count; i++) {
		uint64_t a = df ? gpa - (uint64_t)i * size : gpa + (uint64_t)i * size;
		uint8_t *p = bus_map_page(ev, a, is_in);
		bool in_page = (a & (HV_PAGE_SIZE - 1)) + size <= HV_PAGE_SIZE;
		uint32_t v = 0;

		if (is_in) {
			v = bus_pio_in(ev, port, size);
			if (p && in_page)
				memcpy(p + (a & (HV_PAGE_SIZE - 1)), &v, size);
			else
				bus_mmio_write(ev, a, v, size);
		} else {
			if (p && in_page)
				memcpy(&v, p + (a & (HV_PAGE_SIZE - 1)), size);
			else
				v = (uint32_t)bus_mmio_read(ev, a, size);
			bus_pio_out(ev, port, v, size);
		}
	}
}

/* Ports irqchip_pio() owns (irqchip.h); probing by access would have side effects. */
static bool chip_port(uint16_t port)
{
	return port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1 ||
	       (port >= 0x40 && port <= 0x43) || port == 0x61 || port == 0x4d0 || port == 0x4d1;
}

static void bus_pio_string(void *opaque, uint16_t port, unsigned size, bool is_in, uint64_t gpa,
			   uint32_t count, bool df)
{
	struct emu_vcpu *ev = opaque;
	uint64_t bytes = (uint64_t)count * size;
	uint64_t low = df ? gpa - (bytes - size) : gpa;
	uint8_t *host;

	if (!count)
		return;
	host = bytes <= HV_PAGE_SIZE ? mem_ram_ptr(&ev->v->hv->mem, low, bytes) : NULL;
	/* Ports of our own chips never reach the dm. */
	if (!host || chip_port(port)) {
		pio_string_slow(ev, port, size, is_in, gpa, count, df);
		return;
	}
	hv_io_pio_string(ev->v, port, size, is_in, gpa, count, df, host);
	after_dm_io(ev);
}

static int bus_intr_pending(void *opaque)
{
	struct emu_vcpu *ev = opaque;

	return irqchip_pending(ev->e->chip, ev->v->index);
}

/* The CPU's event poll: lines the dm moved while we watch (run_watching()). */
static void bus_poll(void *opaque)
{
	struct emu_vcpu *ev = opaque;

	if (take_quiet_lines(ev))
		ev->lines_polled++;
}

static int bus_intr_ack(void *opaque)
{
	struct emu_vcpu *ev = opaque;

	return irqchip_ack(ev->e->chip, ev->v->index);
}

static uint64_t bus_page_index(void *opaque, uint64_t gpa)
{
	struct emu_vcpu *ev = opaque;
	uint64_t off = mem_ram_offset(&ev->v->hv->mem, gpa);

	return off == UINT64_MAX ? ~0ull : off / HV_PAGE_SIZE;
}

static uint64_t bus_tsc(void *opaque)
{
	struct emu_vcpu *ev = opaque;

	/* A 1 GHz TSC counting from domain creation. */
	return hv_now_ns() - ev->v->hv->start_ns;
}

static int bus_rdmsr(void *opaque, uint32_t msr, uint64_t *val)
{
	struct emu_vcpu *ev = opaque;

	return irqchip_rdmsr(ev->e->chip, ev->v->index, msr, val) ? 0 : -1;
}

static int bus_wrmsr(void *opaque, uint32_t msr, uint64_t val)
{
	struct emu_vcpu *ev = opaque;

	return irqchip_wrmsr(ev->e->chip, ev->v->index, msr, val) ? 0 : -1;
}

/* ---- the irq thread: GSI eventfds and timers ---- */

/*
 * Take gsi's line from the hvm_irq_page into the chip.  Called by the irq
 * thread when the dm signals the line's eventfd, and by a halted vCPU that
 * polls the page (halt_poll()).
 */
static void gsi_changed(struct emu_be *e, unsigned gsi)
{
	struct hvm_irq_page *pg = e->hv->irq.page;
	uint32_t edges;
	bool level;
	uint64_t cnt;

	pthread_mutex_lock(&e->gsi_lock);
	edges = __atomic_load_n(&pg->edges[gsi], __ATOMIC_ACQUIRE);
	level = __atomic_load_n(&pg->level[gsi / 32], __ATOMIC_ACQUIRE) >> (gsi % 32) & 1;
	if (read(e->hv->irq.irq_fd[gsi], &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		goto out;
	__atomic_store_n(&e->last_level[gsi], level, __ATOMIC_RELAXED);
	if (edges != e->last_edges[gsi]) {
		/* A rising edge happened even if the line is low again by now. */
		__atomic_store_n(&e->last_edges[gsi], edges, __ATOMIC_RELAXED);
		if (!level) {
			irqchip_pulse_gsi(e->chip, gsi);
			goto out;
		}
		irqchip_set_gsi(e->chip, gsi, false);
	}
	irqchip_set_gsi(e->chip, gsi, level);
out:
	pthread_mutex_unlock(&e->gsi_lock);
}

/* Whether the dm moved gsi's line since gsi_changed() last took it. */
static bool gsi_moved(struct emu_be *e, unsigned gsi)
{
	const struct hvm_irq_page *pg = e->hv->irq.page;
	bool level = __atomic_load_n(&pg->level[gsi / 32], __ATOMIC_ACQUIRE) >> (gsi % 32) & 1;

	return __atomic_load_n(&pg->edges[gsi], __ATOMIC_ACQUIRE) !=
		       __atomic_load_n(&e->last_edges[gsi], __ATOMIC_RELAXED) ||
	       level != __atomic_load_n(&e->last_level[gsi], __ATOMIC_RELAXED);
}

/* Take every line the dm moved into the chip, from the page itself. */
static void take_moved_lines(struct emu_be *e)
{
	for (unsigned g = 0; g < e->hv->irq.nr_gsis; g++)
		if (gsi_moved(e, g))
			gsi_changed(e, g);
}

/*
 * Lines the dm moved without signalling because we said we would look: while
 * answering our synchronous request (hv_takes_lines, emu_irq_attach()), or
 * while we ran guest code (vcpu_watching, run_watching()).  Per vCPU: each
 * scans when the count moved past what it saw, even when another vCPU is
 * scanning for the same change (taking a line twice is harmless).  True
 * when the count had moved.
 */
static bool take_quiet_lines(struct emu_vcpu *ev)
{
	struct emu_be *e = ev->e;
	const struct hvm_irq_page *pg = e->hv->irq.page;
	uint32_t seq;

	if (!pg)
		return false;
	seq = __atomic_load_n(&pg->quiet_lines, __ATOMIC_ACQUIRE);
	if (seq == ev->quiet_seen)
		return false;
	ev->quiet_seen = seq;
	take_moved_lines(e);
	return true;
}

/*
 * Arm timer_fd for the chip's next deadline.  Any thread: the irq thread
 * after firing timers, a vCPU whose register write moved the deadline
 * earlier (hook_timer(), a system call instead of waking the irq thread).
 * The deadline is read under timer_lock, so the last one to arm saw the
 * chip's latest state.
 */
static void rearm_timer(struct emu_be *e)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	uint64_t deadline;

	pthread_mutex_lock(&e->timer_lock);
	deadline = irqchip_next_deadline(e->chip);
	if (deadline != UINT64_MAX) {
		/* it_value 0 would disarm: a due deadline fires after 1 ns. */
		if (deadline == 0)
			deadline = 1;
		its.it_value = ns_to_timespec(deadline);
	}
	timerfd_settime(e->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
	pthread_mutex_unlock(&e->timer_lock);
}

static void *irq_thread(void *arg)
{
	struct emu_be *e = arg;
	unsigned n = e->hv->irq.nr_gsis;
	struct pollfd pfd[HVM_NR_GSIS + 2];
	uint64_t cnt;

	pfd[0] = (struct pollfd){ .fd = e->wake_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = e->timer_fd, .events = POLLIN };
	for (unsigned g = 0; g < n; g++)
		pfd[2 + g] = (struct pollfd){ .fd = e->hv->irq.irq_fd[g], .events = POLLIN };
	while (!__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
		irqchip_run_timers(e->chip, hv_now_ns());
		rearm_timer(e);
		if (poll(pfd, n + 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents && read(e->wake_fd, &cnt, sizeof(cnt)) < 0)
			cnt = 0;
		if (pfd[1].revents && read(e->timer_fd, &cnt, sizeof(cnt)) < 0)
			cnt = 0;
		for (unsigned g = 0; g < n; g++)
			if (pfd[2 + g].revents)
				gsi_changed(e, g);
	}
	return NULL;
}

/* ---- backend ops ---- */

static int emu_create(struct hv *hv)
{
	struct irqchip_hooks hooks = {
		.kick = hook_kick,
		.eoi_gsi = hook_eoi_gsi,
		.init = hook_init,
		.sipi = hook_sipi,
		.nmi = hook_nmi,
		.now = emu_now,
		.timer = hook_timer,
	};
	struct emu_be *e = calloc(1, sizeof(*e));
	int err;

	if (!e)
		return -ENOMEM;
	hv->be = e;
	e->hv = hv;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->gsi_lock, NULL);
	pthread_mutex_init(&e->timer_lock, NULL);
	e->no_halt_poll = getenv("HVM_HALT_POLL") && !strcmp(getenv("HVM_HALT_POLL"), "0");
	pthread_mutex_init(&e->exec_lock, NULL);
	e->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	e->vcpu = calloc(hv->cfg.nr_vcpus, sizeof(*e->vcpu));
	if (e->wake_fd < 0 || e->timer_fd < 0 || !e->vcpu)
		return -ENOMEM;
	hooks.opaque = e;
	err = irqchip_create(hv->cfg.nr_vcpus, &hooks, &e->chip);
	if (err)
		hv_log("emu: cannot create the interrupt controllers: %s", strerror(-err));
	return err;
}

/*
 * Stop the irq thread (once).  Before any vCPU goes: a timer it fires
 * kicks a vCPU through hook_kick(), which must not find one being freed.
 */
static void stop_irq_thread(struct emu_be *e)
{
	if (!e->irq_thread_started)
		return;
	__atomic_store_n(&e->stop, true, __ATOMIC_RELEASE);
	poke(e->wake_fd);
	pthread_join(e->irq_thread, NULL);
	e->irq_thread_started = false;
}

static void emu_destroy(struct hv *hv)
{
	struct emu_be *e = hv->be;

	if (!e)
		return;
	stop_irq_thread(e);
	if (e->chip)
		irqchip_destroy(e->chip);
	for (unsigned i = 0; i < e->nr_retired; i++)
		munmap(e->retired[i].p, e->retired[i].len);
	for (unsigned i = 0; i < HV_MAX_MAPS; i++) {
		free(e->dirty_cur[i]);
		free(e->dirty_prev[i]);
	}
	if (e->wake_fd >= 0)
		close(e->wake_fd);
	if (e->timer_fd >= 0)
		close(e->timer_fd);
	free(e->vcpu);
	free(e);
	hv->be = NULL;
}

static int emu_irq_attach(struct hv *hv)
{
	struct emu_be *e = hv->be;
	int err = pthread_create(&e->irq_thread, NULL, irq_thread, e);

	if (err)
		return -err;
	e->irq_thread_started = true;
	/* every vCPU takes the lines after each answer: after_dm_io() */
	if (hv->irq.page)
		__atomic_store_n(&hv->irq.page->hv_takes_lines, 1, __ATOMIC_RELEASE);
	return 0;
}

static int emu_set_gsi(struct hv *hv, unsigned gsi, bool level)
{
	struct emu_be *e = hv->be;

	if (gsi >= HVM_NR_GSIS)
		return -EINVAL;
	irqchip_set_gsi(e->chip, gsi, level);
	return 0;
}

static int emu_vcpu_create(struct hv_vcpu *v)
{
	struct emu_be *e = v->hv->be;
	struct emu_vcpu *ev = calloc(1, sizeof(*ev));
	pthread_condattr_t ca;
	int err;

	if (!ev)
		return -ENOMEM;
	ev->v = v;
	ev->e = e;
	pthread_mutex_init(&ev->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ev->cond, &ca);
	pthread_condattr_destroy(&ca);
	ev->bus = (struct x86_bus){
		.opaque = ev,
		.map_page = bus_map_page,
		.probe_writable = bus_probe_writable,
		.mmio_read = bus_mmio_read,
		.mmio_write = bus_mmio_write,
		.pio_in = bus_pio_in,
		.pio_out = bus_pio_out,
		.pio_string = bus_pio_string,
		.intr_pending = bus_intr_pending,
		.intr_ack = bus_intr_ack,
		.poll = bus_poll,
		.written_bitmap = v->hv->mem.written,
		.page_index = bus_page_index,
		/* code write tracking: another vCPU's TLB would write code unseen */
		.ram = v->hv->cfg.nr_vcpus == 1 ? v->hv->mem.ram : NULL,
		.ram_size = v->hv->cfg.nr_vcpus == 1 ? v->hv->mem.ram_size : 0,
		.written_seq = &v->hv->irq.page->written_seq,
		.tsc = bus_tsc,
		.rdmsr = bus_rdmsr,
		.wrmsr = bus_wrmsr,
	};
	/* APs wait for INIT-SIPI-SIPI from the BSP (MP spec B.4). */
	ev->wait_sipi = v->index != 0;
	ev->flush_lo = UINT64_MAX;
	v->be = ev;
	err = x86cpu_create(&ev->bus, v->index, &ev->cpu);
	if (err)
		return err;
	x86cpu_reset(ev->cpu);
	e->vcpu[v->index] = ev;
	return 0;
}

static void emu_vcpu_destroy(struct hv_vcpu *v)
{
	struct emu_vcpu *ev = v->be;

	if (!ev)
		return;
	stop_irq_thread(ev->e);
	if (ev->halts || ev->lines_polled)
		hv_log("emu: vcpu%u: %llu halts, %llu ended by halt polling, %llu line changes "
		       "taken while running",
		       v->index, (unsigned long long)ev->halts,
		       (unsigned long long)ev->halts_polled, (unsigned long long)ev->lines_polled);
	ev->e->vcpu[v->index] = NULL;
	if (ev->cpu)
		x86cpu_destroy(ev->cpu);
	free(ev);
	v->be = NULL;
}

static int emu_vcpu_thread_init(struct hv_vcpu *v)
{
	(void)v;
	return 0;
}

/* INIT/SIPI/NMI and invalidations asked for by other threads. */
static void take_requests(struct emu_vcpu *ev)
{
	int sipi;

	if (__atomic_exchange_n(&ev->init_req, 0, __ATOMIC_ACQ_REL)) {
		x86cpu_init_signal(ev->cpu);
		ev->wait_sipi = ev->v->index != 0;
	}
	sipi = __atomic_exchange_n(&ev->sipi_req, 0, __ATOMIC_ACQ_REL);
	if (sipi && ev->wait_sipi) {
		x86cpu_sipi(ev->cpu, (uint8_t)(sipi - 1));
		ev->wait_sipi = false;
	}
	if (__atomic_exchange_n(&ev->nmi_req, 0, __ATOMIC_ACQ_REL))
		x86cpu_nmi(ev->cpu);
	take_flush(ev);
}

/* Halt polling's test: take the lines the dm moved; is there work now? */
static bool halt_poll_done(void *arg)
{
	struct emu_vcpu *ev = arg;
	struct emu_be *e = ev->e;

	take_moved_lines(e);
	return irqchip_pending(e->chip, ev->v->index) >= 0 ||
	       __atomic_load_n(&ev->wake, __ATOMIC_ACQUIRE) || hv_stopping(ev->v->hv);
}

/*
 * Halt polling, as KVM's halt_poll_ns: for up to the vCPU's window, watch
 * the dm's interrupt lines on the hvm_irq_page ourselves.  An interrupt
 * that comes in time (a disk command completing) then reaches the guest
 * without two scheduler wake-ups, the irq thread's and then ours (tens of
 * microseconds each on a nested host).  The window adapts (hvm_poll.h):
 * an idle guest's long halts close it, short ones reopen it.  True when
 * there is something to run for.
 */
static bool halt_poll(struct emu_vcpu *ev, uint64_t start)
{
	if (!ev->halt_poll.window_ns || !ev->e->hv->irq.page || ev->e->no_halt_poll)
		return false;
	return hvm_poll_spin(start, ev->halt_poll.window_ns, halt_poll_done, ev);
}

/*
 * Sleep until kicked, an interrupt is deliverable, or `max_ns` passed.  The
 * chip is asked before taking ev->lock (its hooks take that lock); an
 * interrupt that arrives after the check kicks us, which sets `wake` under
 * the lock, so it cannot be missed.  Halt polling (halt_poll()) comes first.
 */
static void sleep_vcpu(struct emu_vcpu *ev, bool need_intr, uint64_t max_ns)
{
	uint64_t start = hv_now_ns(); /* CLOCK_MONOTONIC, as hvm_poll_now() */
	struct timespec ts = ns_to_timespec(start + max_ns);

	if (need_intr && irqchip_pending(ev->e->chip, ev->v->index) >= 0)
		return;
	/* Buffered writes signal the dm lazily: hand them over before we idle. */
	ioreq_flush_buffered(&ev->v->hv->io);
	ev->halts += need_intr;
	if (need_intr && halt_poll(ev, start)) {
		ev->halts_polled++;
		return;
	}
	pthread_mutex_lock(&ev->lock);
	while (!__atomic_load_n(&ev->wake, __ATOMIC_RELAXED) && !hv_stopping(ev->v->hv)) {
		if (pthread_cond_timedwait(&ev->cond, &ev->lock, &ts) == ETIMEDOUT)
			break;
	}
	__atomic_store_n(&ev->wake, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ev->lock);
	if (need_intr)
		hvm_poll_learn(&ev->halt_poll, hv_now_ns() - start, EMU_HALT_POLL_MAX_NS);
}

/* Anything a kick asks the vCPU thread to handle outside guest code. */
static bool wants_exit(struct emu_vcpu *ev)
{
	struct hv *hv = ev->v->hv;

	return hv_stopping(hv) || __atomic_load_n(&hv->paused, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&ev->init_req, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&ev->sipi_req, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&ev->nmi_req, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&ev->flush_req, __ATOMIC_SEQ_CST);
}

/*
 * Take exec_lock.  A slice can last milliseconds, longer than a guest's
 * timer tick, and ticks that pile up behind it are lost (Linux then finds
 * its TSC "unstable" against jiffies, and a 6.1 kernel can hang bringing up
 * an AP when that happens mid-way).  So a waiter with an interrupt to take
 * ends the holder's slice once that has run EMU_MIN_SLICE_NS, and any
 * waiter does after EMU_EXEC_WAIT_NS.
 */
static void exec_lock(struct emu_vcpu *ev)
{
	struct emu_be *e = ev->e;
	uint64_t start = hv_now_ns(), now = start;

	__atomic_fetch_add(&e->exec_waiting, 1, __ATOMIC_SEQ_CST);
	while (pthread_mutex_trylock(&e->exec_lock)) {
		uint64_t since = __atomic_load_n(&e->exec_since, __ATOMIC_ACQUIRE);
		uint64_t held = now > since ? now - since : 0; /* a newer holder: just started */
		uint64_t until = now + EMU_EXEC_POLL_NS;
		struct timespec ts = ns_to_timespec(until);

		if (now - start >= EMU_EXEC_WAIT_NS ||
		    (held >= EMU_MIN_SLICE_NS && irqchip_pending(e->chip, ev->v->index) >= 0)) {
			struct emu_vcpu *owner = __atomic_load_n(&e->exec_owner, __ATOMIC_ACQUIRE);

			if (owner)
				x86cpu_kick(owner->cpu);
			pthread_mutex_lock(&e->exec_lock);
			break;
		}
		if (!pthread_mutex_clocklock(&e->exec_lock, CLOCK_MONOTONIC, &ts))
			break;
		now = hv_now_ns();
	}
	__atomic_fetch_sub(&e->exec_waiting, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&e->exec_owner, ev, __ATOMIC_RELEASE);
	__atomic_store_n(&e->exec_since, hv_now_ns(), __ATOMIC_RELEASE);
}

/*
 * Run guest code while watching the dm's lines: with our flag in
 * hvm_irq_page.vcpu_watching set, the dm bumps quiet_lines instead of
 * writing a GSI's eventfd, and the CPU's event polls (bus_poll(), every
 * 512 instructions or so) take the change, so a disk interrupt reaches a
 * busy vCPU without waking the irq thread (a context switch on a shared
 * core).  Afterwards the flag is cleared and, past a full fence, the page
 * looked at once more: a change the dm made while it still saw the flag
 * is taken here, before the vCPU can sleep.
 */
static enum x86_exit run_watching(struct emu_vcpu *ev, uint64_t budget)
{
	struct hvm_irq_page *pg = ev->e->hv->irq.page;
	uint32_t *flag = pg && ev->v->index < HVM_MAX_VCPUS ? &pg->vcpu_watching[ev->v->index]
							    : NULL;
	enum x86_exit r;

	if (flag)
		__atomic_store_n(flag, 1, __ATOMIC_SEQ_CST);
	r = x86cpu_run(ev->cpu, budget);
	if (flag) {
		__atomic_store_n(flag, 0, __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		take_quiet_lines(ev);
	}
	return r;
}

/*
 * One slice of guest code; serialized against the other vCPUs (see
 * exec_lock).  Mutexes are not fair, so a vCPU that releases the lock while
 * another waits does not run again until that one has had its turn: a BSP
 * spinning for an AP would otherwise starve it.
 *
 * A vCPU kicked while it waited (an interrupt for it arrived) would find
 * the kick at its first instruction boundary and give its turn away without
 * running; such a kick has done its job once the lock is ours, so the slice
 * runs unless something else (pause, INIT, a flush) wants the thread.
 */
static enum x86_exit emu_run_slice(struct emu_vcpu *ev)
{
	struct emu_be *e = ev->e;
	enum x86_exit r;
	unsigned gen, spins, budget;

	if (e->hv->cfg.nr_vcpus == 1)
		return run_watching(ev, EMU_BUDGET);
	exec_lock(ev);
	gen = __atomic_add_fetch(&e->exec_gen, 1, __ATOMIC_SEQ_CST);
	/*
	 * Jitter the slice length: with a fixed budget a guest spin loop whose
	 * length divides it would always be cut at the same instruction, e.g.
	 * SeaBIOS's BSP always holding its SMP lock when the AP gets to run.
	 */
	ev->slice_seed = ev->slice_seed * 1103515245u + 12345u;
	budget = EMU_BUDGET - ((ev->slice_seed >> 16) % 4099);
	for (unsigned tries = 0; tries < EMU_KICK_RETRIES; tries++) {
		uint64_t before = x86cpu_icount(ev->cpu);

		r = run_watching(ev, budget);
		if (r != X86_EXIT_KICK || x86cpu_icount(ev->cpu) != before || wants_exit(ev))
			break;
	}
	__atomic_store_n(&e->exec_owner, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&e->exec_lock);
	for (spins = 0;
	     spins < EMU_HANDOFF_SPINS && __atomic_load_n(&e->exec_waiting, __ATOMIC_SEQ_CST) &&
	     __atomic_load_n(&e->exec_gen, __ATOMIC_SEQ_CST) == gen && !hv_stopping(ev->v->hv);
	     spins++)
		sched_yield();
	return r;
}

static enum hv_run_exit emu_vcpu_run(struct hv_vcpu *v)
{
	struct emu_vcpu *ev = v->be;

	pthread_mutex_lock(&ev->lock);
	__atomic_store_n(&ev->wake, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ev->lock);
	take_requests(ev);
	if (ev->wait_sipi) {
		sleep_vcpu(ev, false, EMU_HLT_MAX_NS);
		return HV_RUN_KICKED;
	}
	switch (emu_run_slice(ev)) {
	case X86_EXIT_BUDGET:
		return HV_RUN_CONTINUE;
	case X86_EXIT_HLT:
		sleep_vcpu(ev, true, EMU_HLT_MAX_NS);
		return HV_RUN_CONTINUE;
	case X86_EXIT_KICK:
		return HV_RUN_KICKED;
	case X86_EXIT_SHUTDOWN:
		return HV_RUN_TRIPLE_FAULT;
	case X86_EXIT_ERROR:
	default:
		return HV_RUN_ERROR;
	}
}

static void emu_vcpu_kick(struct hv_vcpu *v)
{
	vcpu_wake(v->be);
}

static int emu_get_regs(struct hv_vcpu *v, struct hv_regs *r)
{
	struct emu_vcpu *ev = v->be;
	struct x86_regs x;

	x86cpu_get_regs(ev->cpu, &x);
	*r = (struct hv_regs){
		.rax = x.gpr[0],
		.rcx = x.gpr[1],
		.rdx = x.gpr[2],
		.rbx = x.gpr[3],
		.rsp = x.gpr[4],
		.rbp = x.gpr[5],
		.rsi = x.gpr[6],
		.rdi = x.gpr[7],
		.rip = x.eip,
		.rflags = x.eflags,
		.cr0 = x.cr0,
		.cr3 = x.cr3,
		.cr4 = x.cr4,
		.es = x.seg[0].sel,
		.cs = x.seg[1].sel,
		.ss = x.seg[2].sel,
		.ds = x.seg[3].sel,
		.cs_base = x.seg[1].base,
	};
	return 0;
}

static int emu_set_regs(struct hv_vcpu *v, const struct hv_regs *r)
{
	struct emu_vcpu *ev = v->be;
	struct x86_regs x;

	x86cpu_get_regs(ev->cpu, &x);
	x.gpr[0] = (uint32_t)r->rax;
	x.gpr[1] = (uint32_t)r->rcx;
	x.gpr[2] = (uint32_t)r->rdx;
	x.gpr[3] = (uint32_t)r->rbx;
	x.gpr[4] = (uint32_t)r->rsp;
	x.gpr[5] = (uint32_t)r->rbp;
	x.gpr[6] = (uint32_t)r->rsi;
	x.gpr[7] = (uint32_t)r->rdi;
	x.eip = (uint32_t)r->rip;
	x.eflags = (uint32_t)r->rflags;
	x86cpu_set_regs(ev->cpu, &x);
	return 0;
}

/* Every vCPU drops cached translations of [gpa, gpa+len) before it runs again. */
static void flush_all(struct emu_be *e, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < e->hv->cfg.nr_vcpus; i++) {
		struct emu_vcpu *ev = e->vcpu[i];

		if (!ev)
			continue;
		pthread_mutex_lock(&ev->lock);
		if (gpa < ev->flush_lo)
			ev->flush_lo = gpa;
		if (gpa + len > ev->flush_hi)
			ev->flush_hi = gpa + len;
		pthread_mutex_unlock(&ev->lock);
		__atomic_store_n(&ev->flush_req, 1, __ATOMIC_RELEASE);
		vcpu_wake(ev);
	}
}

static int emu_map(struct hv *hv, struct hv_map *m)
{
	struct emu_be *e = hv->be;
	int idx = (int)(m - hv->mem.maps);
	uint64_t bytes = (m->size / HV_PAGE_SIZE + 7) / 8;

	if (m->flags & HVM_MAP_F_DIRTY_LOG) {
		e->dirty_cur[idx] = calloc(1, bytes);
		e->dirty_prev[idx] = calloc(1, bytes);
		if (!e->dirty_cur[idx] || !e->dirty_prev[idx])
			return -ENOMEM;
	}
	m->slot = idx;
	/* The range was MMIO until now. */
	flush_all(e, m->gpa, m->size);
	return 0;
}

/*
 * vCPUs may still hold host pointers into the mapping until they flush, so
 * the host range is replaced by anonymous memory (stale accesses land there
 * harmlessly) and only released when the domain ends.
 */
static void emu_unmap(struct hv *hv, struct hv_map *m)
{
	struct emu_be *e = hv->be;
	int idx = (int)(m - hv->mem.maps);
	void *p;

	pthread_rwlock_wrlock(&hv->mem.maps_lock);
	p = m->host;
	if (p && e->nr_retired < EMU_MAX_RETIRED &&
	    mmap(p, m->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		 0) != MAP_FAILED) {
		e->retired[e->nr_retired].p = p;
		e->retired[e->nr_retired++].len = m->size;
		m->host = NULL;
	}
	pthread_rwlock_unlock(&hv->mem.maps_lock);
	flush_all(e, m->gpa, m->size);
	free(e->dirty_cur[idx]);
	free(e->dirty_prev[idx]);
	e->dirty_cur[idx] = e->dirty_prev[idx] = NULL;
	m->slot = -1;
}

/*
 * A page counts as dirty when a vCPU got a writable pointer to it this round
 * or the last: vCPUs keep writing through cached pointers until they process
 * the flush requested here, which happens before their next guest
 * instruction batch.
 */
static int emu_dirty_log(struct hv *hv, struct hv_map *m, uint8_t *bitmap, uint64_t bytes)
{
	struct emu_be *e = hv->be;
	int idx = (int)(m - hv->mem.maps);
	uint64_t have = (m->size / HV_PAGE_SIZE + 7) / 8;

	if (!e->dirty_cur[idx])
		return -EINVAL;
	for (uint64_t i = 0; i < have && i < bytes; i++) {
		uint8_t cur = __atomic_exchange_n(&e->dirty_cur[idx][i], 0, __ATOMIC_ACQ_REL);

		bitmap[i] = cur | e->dirty_prev[idx][i];
		e->dirty_prev[idx][i] = cur;
	}
	flush_all(e, m->gpa, m->size);
	return 0;
}

const struct hv_backend_ops hv_backend_emu = {
	.name = "emu",
	.setup_flags = HVM_SETUP_F_ACCEL_EMU,
	.create = emu_create,
	.destroy = emu_destroy,
	.irq_attach = emu_irq_attach,
	.set_gsi = emu_set_gsi,
	.vcpu_create = emu_vcpu_create,
	.vcpu_destroy = emu_vcpu_destroy,
	.vcpu_thread_init = emu_vcpu_thread_init,
	.vcpu_run = emu_vcpu_run,
	.vcpu_kick = emu_vcpu_kick,
	.get_regs = emu_get_regs,
	.set_regs = emu_set_regs,
	.map = emu_map,
	.unmap = emu_unmap,
	.dirty_log = emu_dirty_log,
};
