// SPDX-License-Identifier: MIT
/*
 * ioreq.c - the ioreq consumer (see ioreq.h and include/hvm/ioreq.h).
 */
#include "ioreq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "dm.h"
#include "hvm_poll.h"
#include "iospace.h"
#include "gmem.h"
#include "log.h"
#include "loop.h"

#define IOREQ_MAX_BYTES 4096 /* count * size: a producer clips to one page, as Xen does */

struct dm_ioreq {
	struct shared_iopage *page;
	struct buffered_iopage *buf;
	unsigned nr_vcpus;
	int req_fd, buf_fd;
	int resp_fd[HVM_MAX_VCPUS];
	struct loop_ev *req_ev, *buf_ev;
	/* Drain timer (ioreq.h, IOREQ_DRAIN_*). */
	int tick_fd;
	struct loop_ev *tick_ev;
	bool tick_armed;
	unsigned idle_ticks; /* periods in a row without a buffered write */
	uint64_t tick_seen;  /* stats.buffered at the last period */
	struct ioreq_stats stats;
	struct hvm_irq_page *hints; /* polling hints shared with the hv */
	struct hvm_poll poll;	    /* adaptive window for the next request */
	uint64_t idle_since;	    /* when we last ran out of work */
	bool no_spin;		    /* HVM_IOREQ_SPIN=0: never spin */
	bool in_slot;		    /* handling a synchronous request (its vCPU waits) */
	/*
	 * After loop work raised an interrupt: how long to watch the slots
	 * for the guest's handler (adaptive, up to IOREQ_IRQ_SPIN_MAX_NS),
	 * dm->irq_rises when last looked at, and when that rise was seen
	 * (0: no wait to learn from).
	 */
	struct hvm_poll irq_poll;
	uint32_t irq_rises;
	uint64_t irq_rise_at;
};

/* Most requests handled in one go before the loop gets its turn again. */
#define IOREQ_SPIN_BATCH 256
#define IOREQ_SPIN_MAX_NS 1000000u
/*
 * Longest watch after an interrupt: Linux's IDE handler makes its first
 * request (the bus-master stop, then the status read) 20-80 us after the
 * dm raised the line, on this emulator.
 */
#define IOREQ_IRQ_SPIN_MAX_NS 128000u

static uint64_t item_addr(uint64_t base, uint32_t i, uint32_t size, bool df)
{
	uint64_t delta = (uint64_t)i * size;

	/* Unsigned arithmetic: wrapping is well defined and matches the CPU's. */
	return df ? base - delta : base + delta;
}

static uint64_t size_mask(uint32_t size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}

static bool ioreq_valid(const struct ioreq *r)
{
	if (r->size != 1 && r->size != 2 && r->size != 4 && r->size != 8)
		return false;
	if (r->count == 0 || (uint64_t)r->count * r->size > IOREQ_MAX_BYTES)
		return false;
	if (r->type == IOREQ_TYPE_PIO && (r->addr >= 0x10000 || r->size > 4))
		return false;
	if (r->type == IOREQ_TYPE_PCI_CONFIG && (r->count != 1 || r->size > 4))
		return false;
	return true;
}

/* One device access in space at addr; reads return the value. */
static uint64_t dev_access(struct dm *dm, enum io_space sp, uint64_t addr, uint32_t size,
			   bool is_write, uint64_t val)
{
	io_dispatch(dm, sp, addr, size, is_write, &val);
	return val;
}

/*
 * PIO or MMIO with count items.  Without data_is_ptr the device address
 * steps (MMIO) or stays (PIO) and `data` is the value; with it, `data` is
 * the guest-physical buffer.
 */
static void ioreq_do_rw(struct dm *dm, struct ioreq *r, enum io_space sp)
{
	bool is_read = r->flags & IOREQ_F_DIR_READ, ptr = r->flags & IOREQ_F_DATA_IS_PTR;
	bool df = r->flags & IOREQ_F_DF;
	uint32_t i;

	for (i = 0; i < r->count; i++) {
		uint64_t dev = sp == IO_PIO ? r->addr : item_addr(r->addr, i, r->size, df);
		uint64_t v = 0;

		if (!ptr) {
			if (is_read)
				r->data = dev_access(dm, sp, dev, r->size, false, 0);
			else
				dev_access(dm, sp, dev, r->size, true,
					   r->data & size_mask(r->size));
			continue;
		}
		if (is_read) {
			v = dev_access(dm, sp, dev, r->size, false, 0);
			if (gmem_write(dm, item_addr(r->data, i, r->size, df), &v, r->size))
				goto bad_buffer;
		} else {
			if (gmem_read(dm, item_addr(r->data, i, r->size, df), &v, r->size))
				goto bad_buffer;
			dev_access(dm, sp, dev, r->size, true, v);
		}
	}
	return;
bad_buffer:
	dm_guest_err("ioreq", "data_is_ptr buffer 0x%llx item %u outside guest memory",
		     (unsigned long long)r->data, i);
}

static void ioreq_do_pci(struct dm *dm, struct ioreq *r)
{
	uint32_t sbdf = (uint32_t)(r->addr >> 32), reg = (uint32_t)r->addr;
	bool is_read = r->flags & IOREQ_F_DIR_READ;

	if (!dm->pci_ops) {
		if (is_read)
			r->data = size_mask(r->size);
		return;
	}
	if (is_read)
		r->data = dm->pci_ops->read(dm->pci_opaque, sbdf, reg, r->size) &
			  size_mask(r->size);
	else
		dm->pci_ops->write(dm->pci_opaque, sbdf, reg, (uint32_t)r->data, r->size);
}

int ioreq_execute(struct dm *dm, struct ioreq *r)
{
	bool is_read = r->flags & IOREQ_F_DIR_READ;

	if (!ioreq_valid(r)) {
		dm_guest_err("ioreq", "invalid request type %u addr 0x%llx size %u count %u",
			     r->type, (unsigned long long)r->addr, r->size, r->count);
		if (is_read && !(r->flags & IOREQ_F_DATA_IS_PTR))
			r->data = UINT64_MAX;
		return -EINVAL;
	}
	if (!is_read && !(r->flags & IOREQ_F_DATA_IS_PTR))
		r->data &= size_mask(r->size);
	switch (r->type) {
	case IOREQ_TYPE_PIO:
		ioreq_do_rw(dm, r, IO_PIO);
		break;
	case IOREQ_TYPE_COPY:
		ioreq_do_rw(dm, r, IO_MMIO);
		break;
	case IOREQ_TYPE_PCI_CONFIG:
		ioreq_do_pci(dm, r);
		break;
	case IOREQ_TYPE_TIMEOFFSET:
		dm_info("ioreq", "guest RTC offset update: %lld s", (long long)r->data);
		break;
	case IOREQ_TYPE_INVALIDATE:
		/* No map cache: guest RAM is mapped once, whole. */
		break;
	default:
		dm_guest_err("ioreq", "unknown request type %u", r->type);
		if (is_read)
			r->data = UINT64_MAX;
		return -EINVAL;
	}
	return 0;
}

static void ioreq_notify(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		dm_warn("ioreq", "response eventfd write: %s", strerror(errno));
}

static void ioreq_handle_slot(struct dm *dm, struct dm_ioreq *q, unsigned vcpu)
{
	struct ioreq *slot = &q->page->vcpu_ioreq[vcpu];
	uint8_t flags = ioreq_load_flags(slot);
	struct ioreq req;

	if (ioreq_state(flags) != STATE_IOREQ_READY)
		return;
	ioreq_store_flags(slot, ioreq_flags_with_state(flags, STATE_IOREQ_INPROCESS));
	/* Read the slot exactly once; the producer may not touch it now, but a
	 * hostile one could, and we never look at it again. */
	memcpy(&req, slot, sizeof(req));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	/*
	 * Buffered writes the vCPU issued before this request were published
	 * before READY, so after seeing READY we see them too: apply them
	 * first (Xen's order).  A drain before looking at the slot is not
	 * enough: the vCPU may post a write and fill its slot in between.
	 */
	ioreq_drain_buffered(dm);
	q->in_slot = true;
	dm->irq_in_request = true;
	if (ioreq_execute(dm, &req))
		q->stats.invalid++;
	if (dm->nr_stopped_hooks && ioreq_guest_stopped(dm))
		for (unsigned i = 0; i < dm->nr_stopped_hooks; i++)
			dm->stopped_hooks[i].fn(dm->stopped_hooks[i].opaque);
	dm->irq_in_request = false;
	q->in_slot = false;
	q->stats.handled++;
	flags = ioreq_load_flags(slot);
	if (ioreq_state(flags) != STATE_IOREQ_INPROCESS) {
		q->stats.bad_state++;
		dm_warn("ioreq", "vcpu %u slot changed state to %u while in process", vcpu,
			ioreq_state(flags));
		return;
	}
	slot->data = req.data;
	ioreq_store_flags(slot, ioreq_flags_with_state(flags, STATE_IORESP_READY));
	/* Dekker with the vCPU's polling hint (struct hvm_irq_page). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&q->hints->vcpu_polling[vcpu], __ATOMIC_RELAXED))
		ioreq_notify(q->resp_fd[vcpu]);
}

/* Apply one buffered write; returns slots consumed (0 if incomplete). */
static unsigned buf_apply(struct dm *dm, struct dm_ioreq *q, uint32_t rp, uint32_t wp)
{
	const struct buf_ioreq *s = &q->buf->buf_ioreq[rp % IOREQ_BUFFER_SLOT_NUM];
	uint32_t w0 = s->word0, code = BUF_IOREQ_SIZE_CODE(w0);
	struct ioreq req = {
		.addr = BUF_IOREQ_ADDR(w0),
		.data = s->data,
		.count = 1,
		.size = 1u << code,
		.type = (uint8_t)BUF_IOREQ_TYPE(w0),
		.flags = STATE_IOREQ_READY, /* always a write */
	};

	if (code == 3) {
		if (wp - rp < 2)
			return 0; /* high half not published yet */
		req.data |= (uint64_t)q->buf->buf_ioreq[(rp + 1) % IOREQ_BUFFER_SLOT_NUM].data
			    << 32;
	}
	if (req.type == IOREQ_TYPE_PIO || req.type == IOREQ_TYPE_COPY ||
	    req.type == IOREQ_TYPE_TIMEOFFSET) {
		if (ioreq_execute(dm, &req))
			q->stats.invalid++;
	} else {
		q->stats.invalid++;
		dm_guest_err("ioreq", "buffered request of type %u ignored", req.type);
	}
	q->stats.buffered++;
	return code == 3 ? 2 : 1;
}

static void drain_timer_set(struct dm_ioreq *q, bool on)
{
	struct itimerspec its = { 0 };

	if (q->tick_fd < 0 || q->tick_armed == on)
		return;
	if (on) {
		its.it_value.tv_nsec = IOREQ_DRAIN_PERIOD_NS;
		its.it_interval.tv_nsec = IOREQ_DRAIN_PERIOD_NS;
	}
	if (timerfd_settime(q->tick_fd, 0, &its, NULL) < 0) {
		dm_warn("ioreq", "drain timer: %s", strerror(errno));
		return;
	}
	q->tick_armed = on;
	q->idle_ticks = 0;
	q->tick_seen = q->stats.buffered;
}

/* Ask the loop to call us again (more buffered writes than one drain takes). */
static void drain_again(struct dm_ioreq *q)
{
	if (q->buf_fd >= 0 && q->buf_ev)
		ioreq_notify(q->buf_fd);
}

bool ioreq_guest_stopped(const struct dm *dm)
{
	const struct dm_ioreq *q = dm->ioreq;

	/* The drain before the request is bounded: make sure it emptied the ring. */
	return q && q->nr_vcpus == 1 && q->in_slot && q->buf &&
	       __atomic_load_n(&q->buf->read_pointer, __ATOMIC_ACQUIRE) ==
		       __atomic_load_n(&q->buf->write_pointer, __ATOMIC_ACQUIRE);
}

unsigned ioreq_drain_buffered(struct dm *dm)
{
	struct dm_ioreq *q = dm->ioreq;
	unsigned applied = 0, tries, n;
	bool more = false;

	if (!q || !q->buf)
		return 0;
	/* Bounded: at most one ring's worth per call; drain_again() for more. */
	for (tries = 0; tries < 2 * IOREQ_BUFFER_SLOT_NUM; tries++) {
		uint32_t rp = __atomic_load_n(&q->buf->read_pointer, __ATOMIC_ACQUIRE);
		uint32_t wp = __atomic_load_n(&q->buf->write_pointer, __ATOMIC_ACQUIRE);

		if (rp != __atomic_load_n(&q->buf->read_pointer, __ATOMIC_ACQUIRE))
			continue; /* canonicalised under us: retry */
		if (rp == wp) {
			/*
			 * Dekker with the producer (hypervisor/ioreq.c
			 * send_buffered()): our read_pointer advances are
			 * ordered before this second look, so a write we miss
			 * here finds the ring drained and the producer
			 * decides, knowing that, whether to signal us.
			 */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (__atomic_load_n(&q->buf->write_pointer, __ATOMIC_ACQUIRE) == wp)
				break;
			continue;
		}
		if (wp - rp > IOREQ_BUFFER_SLOT_NUM) {
			dm_warn("ioreq",
				"buffered ring pointers corrupt (read %u write %u); skipping", rp,
				wp);
			__atomic_store_n(&q->buf->read_pointer, wp, __ATOMIC_RELEASE);
			q->stats.invalid++;
			break;
		}
		if (applied == IOREQ_BUFFER_SLOT_NUM) {
			more = true;
			break;
		}
		n = buf_apply(dm, q, rp, wp);
		if (!n)
			break;
		__atomic_fetch_add(&q->buf->read_pointer, n, __ATOMIC_RELEASE);
		applied++;
	}
	if (applied)
		drain_timer_set(q, true);
	if (more)
		drain_again(q);
	return applied;
}

static void drain_timer_cb(int fd, unsigned events, void *arg)
{
	struct dm *dm = arg;
	struct dm_ioreq *q = dm->ioreq;
	uint64_t periods = 0;

	(void)events;
	if (read(fd, &periods, sizeof(periods)) < 0 && errno != EAGAIN)
		dm_warn("ioreq", "drain timer read: %s", strerror(errno));
	ioreq_drain_buffered(dm);
	if (q->stats.buffered != q->tick_seen) {
		q->tick_seen = q->stats.buffered;
		q->idle_ticks = 0;
		return;
	}
	/* Periods missed while the loop was busy count as quiet ones too. */
	if (periods > IOREQ_DRAIN_IDLE_PERIODS)
		periods = IOREQ_DRAIN_IDLE_PERIODS;
	q->idle_ticks += (unsigned)periods;
	if (q->idle_ticks >= IOREQ_DRAIN_IDLE_PERIODS)
		drain_timer_set(q, false);
}

bool ioreq_drain_timer_armed(const struct dm *dm)
{
	return dm->ioreq && dm->ioreq->tick_armed;
}

void ioreq_poll(struct dm *dm)
{
	struct dm_ioreq *q = dm->ioreq;
	unsigned v;

	if (!q)
		return;
	ioreq_drain_buffered(dm);
	for (v = 0; v < q->nr_vcpus; v++)
		ioreq_handle_slot(dm, q, v);
}

/* Anything for us: a READY slot or an unread buffered write. */
static bool ioreq_pending(const struct dm_ioreq *q)
{
	if (q->buf && __atomic_load_n(&q->buf->read_pointer, __ATOMIC_ACQUIRE) !=
			      __atomic_load_n(&q->buf->write_pointer, __ATOMIC_ACQUIRE))
		return true;
	for (unsigned v = 0; v < q->nr_vcpus; v++)
		if (ioreq_state(ioreq_load_flags(&q->page->vcpu_ioreq[v])) == STATE_IOREQ_READY)
			return true;
	return false;
}

struct spin_ctx {
	struct dm_ioreq *q;
	struct dm_loop *loop;
	bool loop_work; /* the loop has a posted call to run: stop spinning */
};

/*
 * A request, or a call posted to the loop.  A disk completion that raises
 * the interrupt the vCPU waits for (a read the page cache served inside
 * blk_submit(), a worker's) must not wait for the spin window to run out.
 */
static bool ioreq_spin_done(void *arg)
{
	struct spin_ctx *c = arg;

	if (ioreq_pending(c->q))
		return true;
	c->loop_work = c->loop && loop_has_posts(c->loop);
	return c->loop_work;
}

/* Spin up to the window for the next request; true when one came. */
static bool ioreq_spin_once(struct dm_ioreq *q, struct spin_ctx *c)
{
	return hvm_poll_spin(hvm_poll_now(), q->poll.window_ns, ioreq_spin_done, c) &&
	       !c->loop_work;
}

/*
 * After a request, keep watching the slots for a while with dm_polling set,
 * so a vCPU in a burst of port I/O neither sleeps nor signals us.  Bounded
 * by IOREQ_SPIN_BATCH so timers and other fds still get their turn.  Before
 * going back to epoll the hint is cleared and the slots looked at once more
 * (Dekker with the producer's fence).
 */
static void ioreq_spin(struct dm *dm, struct dm_ioreq *q)
{
	struct spin_ctx c = { .q = q, .loop = dm->loop };
	uint64_t begin = hvm_poll_now();
	unsigned n;

	if (!q->poll.window_ns || q->no_spin)
		return;
	__atomic_store_n(&q->hints->dm_polling, 1, __ATOMIC_SEQ_CST);
	for (n = 0; n < IOREQ_SPIN_BATCH && ioreq_spin_once(q, &c); n++) {
		ioreq_poll(dm);
		if (hvm_poll_now() - begin > IOREQ_SPIN_MAX_NS)
			break;
	}
	__atomic_store_n(&q->hints->dm_polling, 0, __ATOMIC_SEQ_CST);
	ioreq_poll(dm);
}

/* The first request after an interrupt came: learn how long it took. */
static void irq_wait_learn(struct dm_ioreq *q)
{
	if (!q->irq_rise_at)
		return;
	hvm_poll_learn(&q->irq_poll, hvm_poll_now() - q->irq_rise_at, IOREQ_IRQ_SPIN_MAX_NS);
	q->irq_rise_at = 0;
}

/*
 * After loop work that raised an interrupt (a disk completion, a timer):
 * the guest's handler usually comes to the device soon, with an urgent
 * write and a status read.  Watching the slots with dm_polling set spares
 * the vCPU both the eventfd write that would wake us (5-10 us on a nested
 * host) and our wake-up.  Adaptive like the request spin, from the time
 * between the rise and the next request.
 */
static void ioreq_after_batch(void *arg)
{
	struct dm *dm = arg;
	struct dm_ioreq *q = dm->ioreq;
	struct spin_ctx c = { .q = q, .loop = dm->loop };
	bool came;

	if (!q || q->irq_rises == dm->irq_rises)
		return;
	q->irq_rises = dm->irq_rises;
	if (!q->hints || q->no_spin)
		return;
	if (!q->irq_rise_at)
		q->irq_rise_at = hvm_poll_now();
	if (!q->irq_poll.window_ns)
		return; /* learnt at the next request (ioreq_event_cb()) */
	__atomic_store_n(&q->hints->dm_polling, 1, __ATOMIC_SEQ_CST);
	came = hvm_poll_spin(q->irq_rise_at, q->irq_poll.window_ns, ioreq_spin_done, &c) &&
	       !c.loop_work;
	if (came) {
		irq_wait_learn(q);
		ioreq_poll(dm);
		ioreq_spin(dm, q);
	}
	__atomic_store_n(&q->hints->dm_polling, 0, __ATOMIC_SEQ_CST);
	ioreq_poll(dm);
	q->idle_since = hvm_poll_now();
}

static void ioreq_event_cb(int fd, unsigned events, void *arg)
{
	struct dm *dm = arg;
	struct dm_ioreq *q = dm->ioreq;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		dm_warn("ioreq", "event read: %s", strerror(errno));
	/*
	 * Woken by a request: learn how long we slept since the last work.
	 * Not from the buffered eventfd: the hypervisor signals that one only
	 * once half the ring is full, so a long sleep before it says
	 * nothing about how soon the next request comes.
	 */
	if (fd != q->buf_fd)
		hvm_poll_update(&q->poll, hvm_poll_now() - q->idle_since);
	irq_wait_learn(q);
	ioreq_poll(dm);
	ioreq_spin(dm, q);
	q->idle_since = hvm_poll_now();
	q->no_spin = getenv("HVM_IOREQ_SPIN") && !strcmp(getenv("HVM_IOREQ_SPIN"), "0");
}

int ioreq_attach(struct dm *dm, struct shared_iopage *page, struct buffered_iopage *buf,
		 unsigned nr_vcpus, int req_fd, int buf_fd, const int *resp_fds)
{
	struct dm_ioreq *q;
	unsigned i;

	if (nr_vcpus == 0 || nr_vcpus > HVM_MAX_VCPUS)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->page = page;
	q->buf = buf;
	q->hints = dm->irq_page;
	q->idle_since = hvm_poll_now();
	q->no_spin = getenv("HVM_IOREQ_SPIN") && !strcmp(getenv("HVM_IOREQ_SPIN"), "0");
	q->nr_vcpus = nr_vcpus;
	q->req_fd = req_fd;
	q->buf_fd = buf_fd;
	q->tick_fd = -1;
	for (i = 0; i < nr_vcpus; i++)
		q->resp_fd[i] = resp_fds[i];
	if (dm->loop && req_fd >= 0) {
		q->req_ev = loop_add_fd(dm->loop, req_fd, LOOP_IN, ioreq_event_cb, dm);
		if (!q->req_ev)
			goto err;
	}
	if (dm->loop && buf_fd >= 0) {
		q->buf_ev = loop_add_fd(dm->loop, buf_fd, LOOP_IN, ioreq_event_cb, dm);
		if (!q->buf_ev)
			goto err;
	}
	if (dm->loop && buf) {
		q->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (q->tick_fd < 0)
			goto err;
		q->tick_ev = loop_add_fd(dm->loop, q->tick_fd, LOOP_IN, drain_timer_cb, dm);
		if (!q->tick_ev)
			goto err;
	}
	dm->ioreq = q;
	if (dm->loop)
		loop_set_after(dm->loop, ioreq_after_batch, dm);
	return 0;
err:
	loop_del(q->req_ev);
	loop_del(q->buf_ev);
	if (q->tick_fd >= 0)
		close(q->tick_fd);
	free(q);
	return -ENOMEM;
}

void ioreq_detach(struct dm *dm)
{
	struct dm_ioreq *q = dm->ioreq;

	if (!q)
		return;
	if (dm->loop)
		loop_set_after(dm->loop, NULL, NULL);
	loop_del(q->req_ev);
	loop_del(q->buf_ev);
	loop_del(q->tick_ev);
	if (q->tick_fd >= 0)
		close(q->tick_fd);
	free(q);
	dm->ioreq = NULL;
}

void ioreq_log_stats(const struct dm *dm)
{
	const struct dm_ioreq *q = dm->ioreq;

	if (q)
		dm_info("ioreq", "%llu requests, %llu buffered writes, %llu invalid",
			(unsigned long long)q->stats.handled, (unsigned long long)q->stats.buffered,
			(unsigned long long)q->stats.invalid);
}

const struct ioreq_stats *ioreq_get_stats(const struct dm *dm)
{
	return dm->ioreq ? &dm->ioreq->stats : NULL;
}
