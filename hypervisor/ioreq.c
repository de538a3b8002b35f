// SPDX-License-Identifier: MIT
/*
 * ioreq.c - ioreq producer: Xen's synchronous state machine and buffered ring
 * (research/xen-ioreq.md sections 1.4, 2.1 and 2.2), with eventfds in place
 * of event channels.
 */
#define _GNU_SOURCE
#include "ioreq.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvlog.h"

/* x86 is TSO: ordering between plain stores/loads only needs the compiler. */
#define barrier() __asm__ __volatile__("" ::: "memory")

static int page_memfd(const char *name, void **out)
{
	int fd = memfd_create(name, MFD_CLOEXEC), err;
	void *p;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, IOREQ_PAGE_SIZE) < 0)
		goto fail;
	p = mmap(NULL, IOREQ_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	*out = p;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

int ioreq_prod_create(struct ioreq_prod *p, unsigned nr_vcpus, int *ioreq_page_fd,
		      int *bufioreq_page_fd)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->req_fd = p->buf_fd = p->abort_fd = -1;
	*ioreq_page_fd = *bufioreq_page_fd = -1;
	if (nr_vcpus == 0 || nr_vcpus > IOREQ_MAX_VCPUS)
		return -EINVAL;
	p->nr_vcpus = nr_vcpus;
	p->now = hvm_poll_now;
	pthread_mutex_init(&p->buf_lock, NULL);
	p->resp_fd = malloc(nr_vcpus * sizeof(int));
	p->poll = calloc(nr_vcpus, sizeof(*p->poll));
	p->mirror_slot = calloc(65536, 1);
	p->effect_slot = calloc(65536, 1);
	if (!p->resp_fd || !p->poll || !p->mirror_slot || !p->effect_slot) {
		free(p->resp_fd);
		free(p->poll);
		free(p->mirror_slot);
		free(p->effect_slot);
		p->resp_fd = NULL;
		p->poll = NULL;
		p->mirror_slot = NULL;
		p->effect_slot = NULL;
		return -ENOMEM;
	}
	for (unsigned i = 0; i < nr_vcpus; i++)
		p->resp_fd[i] = -1;
	err = *ioreq_page_fd = page_memfd("hvm-ioreq", (void **)&p->page);
	if (err < 0)
		goto fail;
	err = *bufioreq_page_fd = page_memfd("hvm-bufioreq", (void **)&p->bufpage);
	if (err < 0)
		goto fail;
	/* Xen's vp_eport: the dm learns which response event belongs to a slot. */
	for (unsigned i = 0; i < nr_vcpus; i++)
		p->page->vcpu_ioreq[i].vp_eport = i;
	err = p->req_fd = new_eventfd();
	if (err < 0)
		goto fail;
	err = p->buf_fd = new_eventfd();
	if (err < 0)
		goto fail;
	err = p->abort_fd = new_eventfd();
	if (err < 0)
		goto fail;
	for (unsigned i = 0; i < nr_vcpus; i++) {
		err = p->resp_fd[i] = new_eventfd();
		if (err < 0)
			goto fail;
	}
	return 0;
fail:
	ioreq_prod_destroy(p, *ioreq_page_fd, *bufioreq_page_fd);
	*ioreq_page_fd = *bufioreq_page_fd = -1;
	return err;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void ioreq_prod_destroy(struct ioreq_prod *p, int ioreq_page_fd, int bufioreq_page_fd)
{
	if (p->round_trips)
		hv_log("ioreq: %llu round trips to the dm, %.1f us each on average",
		       (unsigned long long)p->round_trips,
		       (double)p->round_trip_ns / 1000.0 / (double)p->round_trips);
	if (p->spins)
		hv_log("ioreq: spun for %llu responses, %llu of them in vain",
		       (unsigned long long)p->spins, (unsigned long long)p->spin_misses);
	if (p->kicks_full || p->kicks_idle || p->kicks_flush || p->buf_full)
		hv_log("ioreq: buffered ring signalled %llu times filling, %llu after idle, "
		       "%llu before a sleep; found full %llu times",
		       (unsigned long long)p->kicks_full, (unsigned long long)p->kicks_idle,
		       (unsigned long long)p->kicks_flush, (unsigned long long)p->buf_full);
	if (p->kicks_urgent || p->mirror_hits || p->busy_hits)
		hv_log("ioreq: %llu urgent port writes signalled at once, %llu port reads "
		       "answered from the mirror (%llu of them past writes in the ring), %llu "
		       "answered busy",
		       (unsigned long long)p->kicks_urgent, (unsigned long long)p->mirror_hits,
		       (unsigned long long)p->mirror_early, (unsigned long long)p->busy_hits);
	if (p->mmio_mirror_hits || p->mmio_mirror_invalidations)
		hv_log("ioreq: %llu MMIO reads answered from the mirror, which we invalidated "
		       "%llu times",
		       (unsigned long long)p->mmio_mirror_hits,
		       (unsigned long long)p->mmio_mirror_invalidations);
	ioreq_mmio_mirror_free(p);
	if (p->resp_fd) {
		for (unsigned i = 0; i < p->nr_vcpus; i++)
			close_fd(&p->resp_fd[i]);
		free(p->resp_fd);
		p->resp_fd = NULL;
	}
	free(p->poll);
	p->poll = NULL;
	free(p->mirror_slot);
	p->mirror_slot = NULL;
	free(p->effect_slot);
	p->effect_slot = NULL;
	if (p->mirror)
		munmap((void *)p->mirror, sizeof(*p->mirror));
	p->mirror = NULL;
	close_fd(&p->req_fd);
	close_fd(&p->buf_fd);
	close_fd(&p->abort_fd);
	if (p->page)
		munmap(p->page, IOREQ_PAGE_SIZE);
	if (p->bufpage)
		munmap(p->bufpage, IOREQ_PAGE_SIZE);
	p->page = NULL;
	p->bufpage = NULL;
	close_fd(&ioreq_page_fd);
	close_fd(&bufioreq_page_fd);
}

static void kick_fd(int fd)
{
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	/* EAGAIN: the counter is saturated, so the reader wakes anyway. */
}

static void drain_fd(int fd)
{
	uint64_t v;
	ssize_t n;

	do {
		n = read(fd, &v, sizeof(v));
	} while (n < 0 && errno == EINTR);
}

void ioreq_set_dm_state(struct ioreq_prod *p, enum ioreq_dm_state st)
{
	__atomic_store_n(&p->dm_state, (int)st, __ATOMIC_SEQ_CST);
	if (st == IOREQ_DM_GONE)
		ioreq_abort(p);
}

void ioreq_abort(struct ioreq_prod *p)
{
	__atomic_store_n(&p->aborted, 1, __ATOMIC_SEQ_CST);
	/* Never read: the fd stays readable, so every later wait returns too. */
	kick_fd(p->abort_fd);
}

static bool aborted(struct ioreq_prod *p)
{
	return __atomic_load_n(&p->aborted, __ATOMIC_SEQ_CST);
}

/*
 * Signal fd unless the polling hint *flag says the other side is watching.
 * Returns true when it wrote the eventfd.
 */
static bool notify(int fd, const uint32_t *flag)
{
	/* Dekker: our slot/ring store above is ordered before the flag load. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (flag && __atomic_load_n(flag, __ATOMIC_RELAXED))
		return false;
	kick_fd(fd);
	return true;
}

static void set_vcpu_polling(struct ioreq_prod *p, unsigned vcpu, uint32_t on)
{
	if (p->hints)
		__atomic_store_n(&p->hints->vcpu_polling[vcpu], on, __ATOMIC_SEQ_CST);
}

static bool answered(struct ioreq *slot)
{
	unsigned st = ioreq_state(ioreq_load_flags(slot));

	return st != STATE_IOREQ_READY && st != STATE_IOREQ_INPROCESS;
}

/*
 * Spin up to the vCPU's window for the dm's answer, with vcpu_polling set so
 * the dm can skip our eventfd.  Afterwards the flag is clear and the fence
 * orders that before wait_response's next look at the slot.
 */
struct spin_ctx {
	struct ioreq_prod *p;
	struct ioreq *slot;
};

static bool spin_done(void *arg)
{
	const struct spin_ctx *c = arg;

	return answered(c->slot) || aborted(c->p);
}

static void spin_response(struct ioreq_prod *p, unsigned vcpu, struct ioreq *slot, uint64_t start)
{
	struct spin_ctx c = { p, slot };

	if (!hvm_poll_spin(start, p->poll[vcpu].window_ns, spin_done, &c))
		__atomic_fetch_add(&p->spin_misses, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&p->spins, 1, __ATOMIC_RELAXED);
	set_vcpu_polling(p, vcpu, 0);
}

static const char *dir_str(const struct ioreq_req *r)
{
	return r->is_read ? "read" : "write";
}

static void fail_domain(struct ioreq_prod *p, unsigned vcpu, const char *why, unsigned state)
{
	hv_log("ioreq: vcpu%u: device model %s (state %u); crashing the domain", vcpu, why, state);
	if (p->fail)
		p->fail(p->opaque, why);
}

static void fill_slot(struct ioreq *slot, unsigned vcpu, const struct ioreq_req *r)
{
	uint8_t flags = STATE_IOREQ_NONE;

	if (r->data_is_ptr)
		flags |= IOREQ_F_DATA_IS_PTR;
	if (r->is_read)
		flags |= IOREQ_F_DIR_READ;
	if (r->df)
		flags |= IOREQ_F_DF;
	slot->addr = r->addr;
	slot->data = r->is_read && !r->data_is_ptr ? 0 : r->data;
	slot->count = r->count;
	slot->size = r->size;
	slot->vp_eport = vcpu;
	slot->pad0 = 0;
	slot->type = r->type;
	/* Everything above is visible before the state says READY. */
	barrier();
	ioreq_store_flags(slot, flags);
	barrier();
	ioreq_store_flags(slot, ioreq_flags_with_state(flags, STATE_IOREQ_READY));
}

/*
 * Sleep until the response eventfd or the abort fd fires.  Returns false
 * when aborted.
 */
static bool wait_event(struct ioreq_prod *p, unsigned vcpu)
{
	struct pollfd pfd[2] = {
		{ .fd = p->resp_fd[vcpu], .events = POLLIN },
		{ .fd = p->abort_fd, .events = POLLIN },
	};
	int n;

	for (;;) {
		n = poll(pfd, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pfd[1].revents)
			return false;
		if (pfd[0].revents) {
			drain_fd(p->resp_fd[vcpu]);
			return true;
		}
	}
}

static enum ioreq_result complete_locally(struct ioreq_req *r, enum ioreq_result res)
{
	if (r->is_read && !r->data_is_ptr)
		r->data = ioreq_ones(r->size);
	return res;
}

/* Wait for IORESP_READY, following Xen's allowed transitions only. */
static enum ioreq_result wait_response(struct ioreq_prod *p, unsigned vcpu, struct ioreq *slot,
				       struct ioreq_req *r)
{
	unsigned prev = STATE_IOREQ_READY, st;

	for (;;) {
		st = ioreq_state(ioreq_load_flags(slot));
		switch (st) {
		case STATE_IORESP_READY:
			barrier();
			if (r->is_read && !r->data_is_ptr)
				r->data = slot->data & ioreq_ones(r->size);
			ioreq_store_flags(slot,
					  ioreq_flags_with_state(slot->flags, STATE_IOREQ_NONE));
			return IOREQ_DONE;
		case STATE_IOREQ_NONE:
			/* Xen: the emulator reset the slot (it is dying); all-ones. */
			hv_log_ratelimited("ioreq: vcpu%u: slot reset to NONE by the device model",
					   vcpu);
			return complete_locally(r, IOREQ_NO_DM);
		case STATE_IOREQ_READY:
		case STATE_IOREQ_INPROCESS:
			if (st < prev) {
				fail_domain(p, vcpu, "moved the ioreq state backwards", st);
				return complete_locally(r, IOREQ_BAD_STATE);
			}
			prev = st;
			break;
		default:
			fail_domain(p, vcpu, "set an invalid ioreq state", st);
			return complete_locally(r, IOREQ_BAD_STATE);
		}
		if (!wait_event(p, vcpu)) {
			hv_log_ratelimited("ioreq: vcpu%u: %s of %#llx size %u aborted (%s)", vcpu,
					   dir_str(r), (unsigned long long)r->addr, r->size,
					   __atomic_load_n(&p->dm_state, __ATOMIC_SEQ_CST) ==
							   IOREQ_DM_GONE
						   ? "device model gone"
						   : "domain ending");
			return complete_locally(r, IOREQ_ABORTED);
		}
	}
}

/*
 * Keep the MMIO mirror's image in step with a synchronous write (the dm
 * applies it before it answers, and the image must already hold it for
 * the reads that follow), or drop the image.
 */
static void mirror_before_write(struct ioreq_prod *p, const struct ioreq_req *r)
{
	uint64_t span, lo;

	if (!__atomic_load_n(&p->mmio_mirror, __ATOMIC_RELAXED))
		return;
	if (r->type == IOREQ_TYPE_PIO) {
		if (r->addr <= 0xffff)
			ioreq_mmio_mirror_port_write(p, (uint16_t)r->addr, r->size);
		return;
	}
	if (r->type != IOREQ_TYPE_COPY)
		return;
	if (!r->data_is_ptr && r->count == 1) {
		ioreq_mmio_mirror_write(p, r->addr, r->size, r->data, true);
		return;
	}
	/* String write: the items span count * size bytes, downwards with df. */
	span = (uint64_t)r->count * r->size;
	lo = r->df ? r->addr - (span - r->size) : r->addr;
	ioreq_mmio_mirror_write(p, lo, span, 0, false);
}

/*
 * A synchronous write may change what quiet entries watch: forget it.
 * Under buf_lock, so a write posted before this is in the ring before our
 * request (the dm applies it first) and one posted after sees nothing known.
 */
static void forget_quiet(struct ioreq_prod *p)
{
	pthread_mutex_lock(&p->buf_lock);
	p->effect_known = 0;
	pthread_mutex_unlock(&p->buf_lock);
}

enum ioreq_result ioreq_send(struct ioreq_prod *p, unsigned vcpu, struct ioreq_req *r)
{
	enum ioreq_result res;
	struct ioreq *slot;
	uint64_t start, waited;
	bool spinning;
	unsigned st;

	if (vcpu >= p->nr_vcpus)
		return complete_locally(r, IOREQ_NO_DM);
	if (__atomic_load_n(&p->dm_state, __ATOMIC_SEQ_CST) != IOREQ_DM_ATTACHED || aborted(p))
		return complete_locally(r, IOREQ_NO_DM);
	slot = &p->page->vcpu_ioreq[vcpu];
	st = ioreq_state(ioreq_load_flags(slot));
	if (st != STATE_IOREQ_NONE) {
		fail_domain(p, vcpu, "left a slot busy", st);
		return complete_locally(r, IOREQ_BAD_STATE);
	}
	if (r->type == IOREQ_TYPE_PIO && r->is_read && !r->data_is_ptr && r->count == 1 &&
	    r->addr <= 0xffff &&
	    (ioreq_mirror_read(p, (uint16_t)r->addr, r->size, &r->data) ||
	     ioreq_busy_read(p, (uint16_t)r->addr, r->size, &r->data)))
		return IOREQ_DONE;
	if (r->is_read || !r->data_is_ptr)
		r->data &= r->data_is_ptr ? ~0ull : ioreq_ones(r->size);
	if (!r->is_read) {
		mirror_before_write(p, r);
		forget_quiet(p);
	}
	spinning = p->hints && p->poll[vcpu].window_ns;
	if (spinning)
		set_vcpu_polling(p, vcpu, 1);
	fill_slot(slot, vcpu, r);
	start = hvm_poll_now();
	notify(p->req_fd, p->hints ? &p->hints->dm_polling : NULL);
	if (spinning)
		spin_response(p, vcpu, slot, start);
	res = wait_response(p, vcpu, slot, r);
	waited = hvm_poll_now() - start;
	if (p->hints)
		hvm_poll_update(&p->poll[vcpu], waited);
	__atomic_fetch_add(&p->round_trips, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&p->round_trip_ns, waited, __ATOMIC_RELAXED);
	return res;
}

static uint32_t size_code(uint32_t size)
{
	switch (size) {
	case 1:
		return 0;
	case 2:
		return 1;
	case 4:
		return 2;
	default:
		return 3;
	}
}

/*
 * Xen's canonicalisation: keep both free-running pointers small so that
 * "pointer % 511" stays continuous (2^32 is not a multiple of 511).  One
 * 64-bit compare-and-swap on the pair; the dm advances read_pointer with an
 * atomic add, so a concurrent advance makes the swap fail and we retry next
 * time.  Consumers re-read read_pointer after write_pointer (xen-ioreq.md 2.2).
 */
static void canonicalise(struct ioreq_prod *p)
{
	uint64_t *pair = (uint64_t *)&p->bufpage->read_pointer;
	uint64_t old = __atomic_load_n(pair, __ATOMIC_SEQ_CST), want;
	uint32_t rp = (uint32_t)old, wp = (uint32_t)(old >> 32), n;

	if (rp < IOREQ_BUFFER_SLOT_NUM || wp != p->buf_wp || rp > wp)
		return;
	n = rp / IOREQ_BUFFER_SLOT_NUM * IOREQ_BUFFER_SLOT_NUM;
	want = (uint64_t)(rp - n) | (uint64_t)(wp - n) << 32;
	if (__atomic_compare_exchange_n(pair, &old, want, false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST))
		p->buf_wp = wp - n;
}

/*
 * Whether a write that left `used` slots in the ring (counted after it was
 * published; `slots` of them its own) signals the dm, and under which
 * statistic.  Under buf_lock.  A hostile read_pointer makes `used` look
 * huge, which only stops its own signals.
 */
static uint64_t *buf_kick_reason(struct ioreq_prod *p, uint32_t used, uint32_t slots)
{
	uint64_t now;
	bool idle;

	/* Crossing the mark, once per fill: the dm must start draining now. */
	if (used >= IOREQ_BUF_KICK_SLOTS && used - slots < IOREQ_BUF_KICK_SLOTS)
		return &p->kicks_full;
	if (used > slots)
		return NULL; /* earlier writes pending: whatever drains them drains ours */
	/*
	 * The dm had drained everything before this write.  If it did so
	 * recently, its drain timer still runs and picks this write up; after
	 * a quiet spell the timer may have stopped, so wake the dm.
	 */
	now = p->now();
	idle = now - p->buf_stamp >= IOREQ_BUF_IDLE_NS;
	p->buf_stamp = now;
	return idle ? &p->kicks_idle : NULL;
}

/*
 * Under buf_lock: a write of size bytes of data to quiet entry i.  True
 * when it is one byte that leaves the bits the entry watches as the last
 * write left them; the hv remembers it either way (SET_PIO_EFFECTS).
 */
static bool quiet_write(struct ioreq_prod *p, unsigned i, uint32_t size, uint64_t data)
{
	uint64_t bit = 1ull << i;
	bool same;

	if (size != 1) {
		p->effect_known &= ~bit;
		return false;
	}
	same = (p->effect_known & bit) &&
	       !(((uint32_t)data ^ p->effect_last[i]) & p->effect_quiet[i]);
	p->effect_last[i] = (uint32_t)data;
	p->effect_known |= bit;
	return same;
}

/*
 * Under buf_lock, for a write just put in the ring (buf_seq counts it):
 * the mirror words it may change wait for it (SET_PIO_EFFECTS).
 */
static void note_effects(struct ioreq_prod *p, uint8_t type, uint64_t addr, uint32_t size,
			 uint64_t data)
{
	uint64_t words = 0;
	bool uncovered = false;

	for (uint32_t i = 0; i < size && words != HVM_PIO_EFFECT_ANY; i++) {
		uint64_t port = addr + i;
		unsigned e = port <= 0xffff && type == IOREQ_TYPE_PIO && p->effect_slot
				     ? p->effect_slot[port]
				     : 0;

		if (!e || e > HVM_PIO_EFFECTS_MAX) {
			words = HVM_PIO_EFFECT_ANY;
			uncovered = true;
			break;
		}
		if (p->effect_quiet[e - 1] && quiet_write(p, e - 1, size, data))
			continue;
		words |= p->effect_words[e - 1];
	}
	if (uncovered)
		p->effect_known = 0; /* it may have changed what quiet entries watch */
	if (words == HVM_PIO_EFFECT_ANY) {
		p->all_seq = p->buf_seq;
		return;
	}
	for (unsigned w = 0; words && w < HVM_PIO_MIRROR_MAX_PORTS; w++, words >>= 1)
		if (words & 1)
			p->word_seq[w] = p->buf_seq;
}

/* Under buf_lock, for a write just put in the ring: busy entries it starts. */
static void note_busy(struct ioreq_prod *p, uint8_t type, uint64_t addr, uint32_t size)
{
	if (type != IOREQ_TYPE_PIO)
		return;
	for (unsigned i = 0; i < p->nr_busy; i++)
		if (p->busy[i].port >= addr && p->busy[i].port < addr + size)
			p->busy_seq[i] = p->buf_seq;
}

static bool send_buffered(struct ioreq_prod *p, uint8_t type, uint64_t addr, uint32_t size,
			  uint64_t data, bool urgent)
{
	struct buffered_iopage *bp = p->bufpage;
	uint32_t qw = size == 8, rp, wp, w0;
	uint64_t *kick;

	if (addr > BUF_IOREQ_ADDR_MAX || (size != 1 && size != 2 && size != 4 && size != 8))
		return false;
	if (__atomic_load_n(&p->dm_state, __ATOMIC_SEQ_CST) != IOREQ_DM_ATTACHED)
		return false;
	w0 = BUF_IOREQ_WORD0(type, IOREQ_WRITE, size_code(size), addr);
	data &= ioreq_ones(size);
	pthread_mutex_lock(&p->buf_lock);
	rp = __atomic_load_n(&bp->read_pointer, __ATOMIC_ACQUIRE);
	wp = p->buf_wp;
	/* A read_pointer past ours (hostile dm) also looks full: go synchronous. */
	if (wp - rp >= IOREQ_BUFFER_SLOT_NUM - qw) {
		p->buf_full++;
		pthread_mutex_unlock(&p->buf_lock);
		return false;
	}
	/* In ring order, before the dm can see the write (mmio_mirror.c). */
	if (__atomic_load_n(&p->mmio_mirror, __ATOMIC_RELAXED)) {
		if (type == IOREQ_TYPE_PIO)
			ioreq_mmio_mirror_port_write(p, (uint16_t)addr, size);
		else
			ioreq_mmio_mirror_write(p, addr, size, data, true);
	}
	bp->buf_ioreq[wp % IOREQ_BUFFER_SLOT_NUM] = (struct buf_ioreq){ w0, (uint32_t)data };
	if (qw)
		bp->buf_ioreq[(wp + 1) % IOREQ_BUFFER_SLOT_NUM] =
			(struct buf_ioreq){ w0, (uint32_t)(data >> 32) };
	/* Slots are visible before the pointer that publishes them. */
	barrier();
	p->buf_wp = wp + 1 + qw;
	p->buf_seq += 1 + qw;
	note_effects(p, type, addr, size, data);
	note_busy(p, type, addr, size);
	__atomic_store_n(&bp->write_pointer, p->buf_wp, __ATOMIC_RELEASE);
	canonicalise(p);
	/*
	 * Dekker with the dm's drain, which advances read_pointer, fences and
	 * looks at write_pointer once more before it stops: either it sees
	 * this write, or we see every read_pointer advance it made, so a
	 * ring we find empty but for this write really was drained.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	rp = __atomic_load_n(&bp->read_pointer, __ATOMIC_RELAXED);
	kick = buf_kick_reason(p, p->buf_wp - rp, 1 + qw);
	/* A command or DMA start: the dm must see it now, not at its next tick. */
	if (urgent && !kick)
		kick = &p->kicks_urgent;
	pthread_mutex_unlock(&p->buf_lock);
	if (kick && notify(p->buf_fd, p->hints ? &p->hints->dm_polling : NULL))
		__atomic_fetch_add(kick, 1, __ATOMIC_RELAXED);
	return true;
}

bool ioreq_send_buffered(struct ioreq_prod *p, uint64_t addr, uint32_t size, uint64_t data)
{
	return send_buffered(p, IOREQ_TYPE_COPY, addr, size, data, false);
}

bool ioreq_send_buffered_pio(struct ioreq_prod *p, uint16_t port, uint32_t size, uint64_t data)
{
	/* Port I/O is at most 4 bytes wide (the dm refuses wider PIO ioreqs). */
	if (size > 4)
		return false;
	return send_buffered(p, IOREQ_TYPE_PIO, port, size, data, ioreq_pio_urgent(p, port, size));
}

bool ioreq_flush_buffered(struct ioreq_prod *p)
{
	const uint64_t *pair = (const uint64_t *)&p->bufpage->read_pointer;
	uint64_t ptrs;

	if (__atomic_load_n(&p->dm_state, __ATOMIC_SEQ_CST) != IOREQ_DM_ATTACHED || aborted(p))
		return false;
	/* Both pointers in one load: canonicalise() moves them together. */
	ptrs = __atomic_load_n(pair, __ATOMIC_ACQUIRE);
	if ((uint32_t)ptrs == (uint32_t)(ptrs >> 32))
		return false;
	if (!notify(p->buf_fd, p->hints ? &p->hints->dm_polling : NULL))
		return false;
	__atomic_fetch_add(&p->kicks_flush, 1, __ATOMIC_RELAXED);
	return true;
}

/* Check n port ranges and turn them into a bitmap; -EINVAL if bad. */
static int pio_bitmap(const struct hvm_range *r, unsigned n, uint32_t *want)
{
	if (n > HVM_BUFFERED_PIO_MAX_RANGES)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (r[i].len > 0x10000 || r[i].start > 0x10000 - r[i].len)
			return -EINVAL;
	memset(want, 0, 65536 / 8);
	for (unsigned i = 0; i < n; i++)
		for (uint64_t port = r[i].start; port < r[i].start + r[i].len; port++)
			want[port / 32] |= 1u << (port % 32);
	return 0;
}

/*
 * Word by word: a vCPU may see a mix of the old and the new set for a
 * moment, which only decides buffered or synchronous (or how a posted write
 * is signalled); the dm applies every kind in the order they were issued.
 */
static void pio_bitmap_store(uint32_t *dst, const uint32_t *want)
{
	for (unsigned w = 0; w < 65536 / 32; w++)
		__atomic_store_n(&dst[w], want[w], __ATOMIC_RELEASE);
}

static bool pio_bitmap_any(const uint32_t *set, uint16_t port, uint32_t size, bool all)
{
	for (uint32_t i = 0; i < size; i++) {
		uint32_t b = (uint32_t)port + i;
		bool in = b <= 0xffff &&
			  (__atomic_load_n(&set[b / 32], __ATOMIC_ACQUIRE) & (1u << (b % 32)));

		if (all && !in)
			return false;
		if (!all && in)
			return true;
	}
	return all && size != 0;
}

/* Replace the port set in bitmap to with the ranges r (nothing on -EINVAL). */
static int pio_set_ranges(uint32_t *to, const struct hvm_range *r, unsigned n)
{
	uint32_t want[65536 / 32];
	int err = pio_bitmap(r, n, want);

	if (!err)
		pio_bitmap_store(to, want);
	return err;
}

int ioreq_set_buffered_pio(struct ioreq_prod *p, const struct hvm_range *r, unsigned n)
{
	return pio_set_ranges(p->buf_pio, r, n);
}

bool ioreq_pio_bufferable(const struct ioreq_prod *p, uint16_t port, uint32_t size)
{
	return pio_bitmap_any(p->buf_pio, port, size, true);
}

int ioreq_set_urgent_pio(struct ioreq_prod *p, const struct hvm_range *r, unsigned n)
{
	return pio_set_ranges(p->urgent_pio, r, n);
}

bool ioreq_pio_urgent(const struct ioreq_prod *p, uint16_t port, uint32_t size)
{
	return pio_bitmap_any(p->urgent_pio, port, size, false);
}

/* ---- PIO mirror ------------------------------------------------------ */

/*
 * Map the dm's mirror page read-only.  The seal makes the mapping safe
 * against a dm that would otherwise shrink the memfd under us (a SIGBUS in
 * a vCPU thread).
 */
static int map_mirror(int fd, const struct hvm_pio_mirror_page **out)
{
	struct stat st;
	void *m;
	int seals;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(**out))
		return -EINVAL;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return -EINVAL;
	m = mmap(NULL, sizeof(**out), PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	*out = m;
	return 0;
}

/*
 * The effects table becomes e[0..n) with per-port entry numbers slots
 * (NULL: no entries).  Writes already in the ring may change any word, and
 * no quiet entry's last byte is known.
 */
static void effects_install(struct ioreq_prod *p, const uint8_t *slots,
			    const struct hvm_pio_effect *e, unsigned n)
{
	pthread_mutex_lock(&p->buf_lock);
	if (slots)
		memcpy(p->effect_slot, slots, 65536);
	else
		memset(p->effect_slot, 0, 65536);
	for (unsigned i = 0; i < n; i++) {
		p->effect_words[i] = e[i].words;
		p->effect_quiet[i] = e[i].quiet_mask;
	}
	p->all_seq = p->buf_seq;
	p->effect_known = 0;
	pthread_mutex_unlock(&p->buf_lock);
}

int ioreq_set_pio_mirror(struct ioreq_prod *p, const struct hvm_range *r, unsigned n, int fd)
{
	const struct hvm_pio_mirror_page *page = NULL;
	uint8_t *want;
	int err;

	if (n > HVM_PIO_MIRROR_MAX_PORTS || !p->mirror_slot)
		return -EINVAL;
	want = calloc(65536, 1);
	if (!want)
		return -ENOMEM;
	err = -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if ((r[i].len != 1 && r[i].len != 2 && r[i].len != 4) ||
		    r[i].start > 0x10000 - r[i].len)
			goto out;
		for (uint64_t port = r[i].start; port < r[i].start + r[i].len; port++) {
			if (want[port])
				goto out; /* overlap */
			want[port] = (uint8_t)(i + 1);
		}
	}
	if (!__atomic_load_n(&p->mirror, __ATOMIC_ACQUIRE)) {
		err = map_mirror(fd, &page);
		if (err)
			goto out;
		/* The page is mapped before any vCPU can find its pointer. */
		__atomic_store_n(&p->mirror, page, __ATOMIC_RELEASE);
	}
	/*
	 * Byte by byte, relaxed: a vCPU that sees a mix of the old and the
	 * new table still checks the word it lands on (port and width), so a
	 * stale index never returns another register's value.
	 */
	for (unsigned port = 0; port < 65536; port++)
		if (__atomic_load_n(&p->mirror_slot[port], __ATOMIC_RELAXED) != want[port])
			__atomic_store_n(&p->mirror_slot[port], want[port], __ATOMIC_RELAXED);
	/* Word numbers changed: the effects no longer apply (SET_PIO_EFFECTS). */
	effects_install(p, NULL, NULL, 0);
	err = 0;
out:
	free(want);
	return err;
}

/*
 * Under buf_lock: how many of the ring slots ever posted (buf_seq) the dm
 * has consumed, in *done.  The acquire load of read_pointer pairs with the
 * dm's release store after it applied them.  False when read_pointer
 * claims more than was ever posted (a hostile dm): that proves nothing.
 */
static bool ring_consumed(struct ioreq_prod *p, uint64_t *done)
{
	uint32_t used = p->buf_wp - __atomic_load_n(&p->bufpage->read_pointer, __ATOMIC_ACQUIRE);

	if (used >= IOREQ_BUFFER_SLOT_NUM || used > p->buf_seq)
		return false;
	*done = p->buf_seq - used;
	return true;
}

/*
 * With writes in the ring: whether the dm has applied every one that may
 * change word w (SET_PIO_EFFECTS), as for an empty ring.
 */
static bool word_settled(struct ioreq_prod *p, unsigned w)
{
	uint64_t need, done;
	bool ok;

	pthread_mutex_lock(&p->buf_lock);
	need = p->word_seq[w] > p->all_seq ? p->word_seq[w] : p->all_seq;
	ok = ring_consumed(p, &done) && done >= need;
	pthread_mutex_unlock(&p->buf_lock);
	return ok;
}

bool ioreq_mirror_read(struct ioreq_prod *p, uint16_t port, uint32_t size, uint64_t *val)
{
	const uint64_t *pair = (const uint64_t *)&p->bufpage->read_pointer;
	const struct hvm_pio_mirror_page *pg;
	uint32_t idx, base, width;
	uint64_t ptrs, w;
	bool early;

	if (size != 1 && size != 2 && size != 4)
		return false;
	/* Acquire: pairs with the release that published the mapping. */
	pg = __atomic_load_n(&p->mirror, __ATOMIC_ACQUIRE);
	if (!pg || !p->mirror_slot)
		return false;
	idx = __atomic_load_n(&p->mirror_slot[port], __ATOMIC_RELAXED);
	if (!idx || idx > HVM_PIO_MIRROR_MAX_PORTS)
		return false;
	/*
	 * Posted writes first.  This vCPU's own posted writes are in
	 * write_pointer (program order); the dm advances read_pointer with a
	 * release store only after it applied a write and published what the
	 * write changed.  Both pointers in one acquire load (canonicalise()
	 * moves them together): equal means every write posted before this
	 * read has been applied, and the acquire makes the dm's mirror stores
	 * made before that advance visible to the word load below.  Not equal:
	 * the read goes to the dm, which drains the ring before answering,
	 * unless the writes still queued cannot change this word
	 * (word_settled(), SET_PIO_EFFECTS).
	 */
	ptrs = __atomic_load_n(pair, __ATOMIC_ACQUIRE);
	early = (uint32_t)ptrs != (uint32_t)(ptrs >> 32);
	if (early && !word_settled(p, idx - 1))
		return false;
	/*
	 * Acquire: pairs with the dm's release store of the word, made after
	 * the device state changed and before any interrupt or response that
	 * reveals the change, so a vCPU that saw such an interrupt or response
	 * (themselves ordered by the eventfd or the slot's release/acquire)
	 * reads a word at least that new.  One 64-bit load: value, port,
	 * width and the valid bit are from the same store.
	 */
	w = __atomic_load_n(&pg->word[idx - 1], __ATOMIC_ACQUIRE);
	if (!(w & HVM_PIO_MIRROR_VALID))
		return false;
	base = HVM_PIO_MIRROR_PORT(w);
	width = HVM_PIO_MIRROR_WIDTH(w);
	if ((width != 1 && width != 2 && width != 4) || port < base ||
	    (uint32_t)port + size > base + width)
		return false;
	*val = (HVM_PIO_MIRROR_VALUE(w) >> ((port - base) * 8)) & ioreq_ones(size);
	__atomic_fetch_add(&p->mirror_hits, 1, __ATOMIC_RELAXED);
	if (early)
		__atomic_fetch_add(&p->mirror_early, 1, __ATOMIC_RELAXED);
	return true;
}

bool ioreq_busy_read(struct ioreq_prod *p, uint16_t port, uint32_t size, uint64_t *val)
{
	const uint64_t *pair = (const uint64_t *)&p->bufpage->read_pointer;
	uint64_t ptrs, done;
	bool hit = false;

	if (size != 1 || !__atomic_load_n(&p->nr_busy, __ATOMIC_RELAXED))
		return false;
	ptrs = __atomic_load_n(pair, __ATOMIC_ACQUIRE);
	if ((uint32_t)ptrs == (uint32_t)(ptrs >> 32))
		return false; /* nothing pending */
	pthread_mutex_lock(&p->buf_lock);
	if (ring_consumed(p, &done)) {
		for (unsigned i = 0; i < p->nr_busy && !hit; i++) {
			if (p->busy_seq[i] <= done)
				continue;
			for (unsigned k = 0; k < p->busy[i].nr_reads && !hit; k++)
				if (p->busy[i].reads[k] == port) {
					*val = p->busy[i].value;
					hit = true;
				}
		}
	}
	pthread_mutex_unlock(&p->buf_lock);
	if (hit)
		__atomic_fetch_add(&p->busy_hits, 1, __ATOMIC_RELAXED);
	return hit;
}

int ioreq_set_pio_busy(struct ioreq_prod *p, const struct hvm_pio_busy *b, unsigned n)
{
	if (n > HVM_PIO_BUSY_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (!b[i].nr_reads || b[i].nr_reads > HVM_PIO_BUSY_READS || b[i].reserved)
			return -EINVAL;
		for (unsigned k = 0; k < i; k++)
			if (b[k].port == b[i].port)
				return -EINVAL;
	}
	pthread_mutex_lock(&p->buf_lock);
	memcpy(p->busy, b, n * sizeof(b[0]));
	memset(p->busy_seq, 0, sizeof(p->busy_seq));
	__atomic_store_n(&p->nr_busy, n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&p->buf_lock);
	return 0;
}

int ioreq_set_pio_effects(struct ioreq_prod *p, const struct hvm_pio_effect *e, unsigned n)
{
	uint8_t *want;
	int err = -EINVAL;

	if (n > HVM_PIO_EFFECTS_MAX || !p->effect_slot)
		return -EINVAL;
	want = calloc(65536, 1);
	if (!want)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		if (!e[i].len || e[i].start >= 0x10000 || e[i].len > 0x10000 - e[i].start ||
		    e[i].reserved || (e[i].quiet_mask && e[i].len != 1))
			goto out;
		for (uint32_t port = e[i].start; port < e[i].start + e[i].len; port++) {
			if (want[port])
				goto out; /* overlap */
			want[port] = (uint8_t)(i + 1);
		}
	}
	effects_install(p, want, e, n);
	err = 0;
out:
	free(want);
	return err;
}
