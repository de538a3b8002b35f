// SPDX-License-Identifier: MIT
/*
 * iospace.c - address-space dispatch (see iospace.h for the size rules).
 *
 * Each space keeps its mapped regions in an array sorted by base, searched
 * by bisection, with a one-entry cache for the last hit.
 *
 * The port space also keeps what the hypervisor was told about it: the
 * posted-write set (SET_BUFFERED_PIO), the urgent-write set
 * (SET_URGENT_PIO) and the mirrored registers (SET_PIO_MIRROR) with the
 * page where their values are published.
 */
#define _GNU_SOURCE
#include "iospace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dm.h"
#include "hvlink.h"
#include "log.h"

struct io_map {
	struct io_region **r;
	unsigned n, cap;
	struct io_region *last;
	/* Port space: the posted-write set last told to the hypervisor. */
	struct hvm_range posted[HVM_BUFFERED_PIO_MAX_RANGES];
	unsigned nr_posted;
	bool posted_unsupported; /* the hypervisor predates SET_BUFFERED_PIO */
	struct hvm_range urgent[HVM_BUFFERED_PIO_MAX_RANGES];
	unsigned nr_urgent;
	bool urgent_unsupported; /* predates SET_URGENT_PIO (or HVM_URGENT_PIO=0) */
	bool urgent_stale;	 /* the last SET_URGENT_PIO failed: post no urgent port */
	/* The mirror page (NULL until first needed) and its words in use. */
	struct hvm_pio_mirror_page *mirror;
	int mirror_fd;
	unsigned nr_mirror;
	bool mirror_unsupported;  /* predates SET_PIO_MIRROR (or HVM_PIO_MIRROR=0) */
	bool mirror_accepted;	  /* the hypervisor mapped our page */
	bool effects_unsupported; /* predates SET_PIO_EFFECTS (or HVM_PIO_EFFECTS=0) */
	/* The busy set last told to the hypervisor (SET_PIO_BUSY). */
	struct hvm_pio_busy busy[HVM_PIO_BUSY_MAX];
	unsigned nr_busy;
	bool busy_unsupported; /* predates SET_PIO_BUSY (or HVM_PIO_BUSY=0) */
};

static const char *const space_names[] = { "pio", "mmio" };

static struct io_map *io_map_of(struct dm *dm, enum io_space space)
{
	if (!dm->space[space]) {
		dm->space[space] = calloc(1, sizeof(struct io_map));
		if (dm->space[space])
			dm->space[space]->mirror_fd = -1;
	}
	return dm->space[space];
}

static uint64_t space_limit(enum io_space space)
{
	return space == IO_PIO ? 0x10000 : UINT64_MAX;
}

void io_region_init(struct io_region *r, const struct io_ops *ops, void *opaque, const char *name,
		    uint64_t len)
{
	memset(r, 0, sizeof(*r));
	r->ops = ops;
	r->opaque = opaque;
	r->name = name;
	r->len = len;
}

/* Index of the first region whose end is above addr. */
static unsigned io_bisect(const struct io_map *m, uint64_t addr)
{
	unsigned lo = 0, hi = m->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct io_region *r = m->r[mid];

		if (r->base + (r->len - 1) < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint64_t posted_mask(const struct io_map *m, const struct io_region *r)
{
	bool urgent = !m->urgent_unsupported && !m->urgent_stale;

	return r->ops->posted_writes | (urgent ? r->ops->urgent_writes : 0);
}

static uint64_t urgent_mask(const struct io_map *m, const struct io_region *r)
{
	(void)m;
	return r->ops->urgent_writes;
}

/* The ports of the mapped port regions whose offsets are in mask(), merged. */
static unsigned pio_ranges(struct dm *dm,
			   uint64_t (*mask_of)(const struct io_map *, const struct io_region *),
			   struct hvm_range *out, unsigned max)
{
	struct io_map *m = dm->space[IO_PIO];
	unsigned n = 0;

	for (unsigned i = 0; m && i < m->n; i++) {
		const struct io_region *r = m->r[i];
		uint64_t mask = mask_of(m, r);

		for (uint64_t o = 0; mask && o < r->len && o < 64; o++) {
			uint64_t port = r->base + o;

			if (!(mask >> o & 1))
				continue;
			if (n && out[n - 1].start + out[n - 1].len == port)
				out[n - 1].len++;
			else if (n < max)
				out[n++] = (struct hvm_range){ .start = port, .len = 1 };
			else
				return n;
		}
	}
	return n;
}

unsigned io_posted_pio_ranges(struct dm *dm, struct hvm_range *out, unsigned max)
{
	return pio_ranges(dm, posted_mask, out, max);
}

unsigned io_urgent_pio_ranges(struct dm *dm, struct hvm_range *out, unsigned max)
{
	return pio_ranges(dm, urgent_mask, out, max);
}

/* HVM_<name>=0 in the environment turns a feature off (comparisons, benchmarks). */
static bool env_off(const char *name)
{
	const char *v = getenv(name);

	return v && !strcmp(v, "0");
}

static bool hv_gone(int err)
{
	return err == -EPIPE || err == -ECONNRESET || err == -ENOTCONN;
}

/*
 * Send one port-range set (SET_BUFFERED_PIO or SET_URGENT_PIO) if it
 * differs from the last one sent.  Returns 0 (also when the hypervisor is
 * gone), -ENOSYS when it does not know the message, or another -errno
 * (logged; the hypervisor keeps its previous set).
 */
static int send_pio_set(struct dm *dm, uint32_t type, const char *what, struct hvm_range *want,
			unsigned n, struct hvm_range *sent, unsigned *nr_sent)
{
	int err;

	if (n == *nr_sent && !memcmp(want, sent, n * sizeof(want[0])))
		return 0;
	err = hvlink_call(dm, type, want, n * sizeof(want[0]), NULL, 0, NULL, 0, NULL);
	if (err == -ENOSYS)
		return err;
	if (hv_gone(err))
		return 0; /* the hypervisor is gone (devices unmap while the dm exits) */
	if (err) {
		dm_warn("iospace", "%s: %s", what, strerror(-err));
		return err;
	}
	memcpy(sent, want, n * sizeof(want[0]));
	*nr_sent = n;
	return 0;
}

/*
 * Tell the hypervisor the urgent-write and posted-write port sets after a
 * port region with such writes moved.  Synchronous on the setup socket, so
 * a write to a port that just stopped being latch-only is never posted
 * after the guest access that moved it has completed.  The urgent set goes
 * first, so a port is never posted without its immediate signal (a port
 * that leaves both sets may be posted lazily for that moment, which delays
 * but never reorders it).
 */
static void io_posted_sync(struct dm *dm, const struct io_region *r)
{
	struct io_map *m = dm->space[IO_PIO];
	struct hvm_range want[HVM_BUFFERED_PIO_MAX_RANGES];
	unsigned n;

	if (r->space != IO_PIO || !(r->ops->posted_writes | r->ops->urgent_writes) || !m ||
	    m->posted_unsupported || dm->setup_sock < 0)
		return;
	/* HVM_POSTED_PIO=0: keep every port write synchronous (comparisons). */
	if (env_off("HVM_POSTED_PIO"))
		return;
	if (!m->urgent_unsupported && env_off("HVM_URGENT_PIO"))
		m->urgent_unsupported = true;
	if (!m->urgent_unsupported) {
		int err;

		n = io_urgent_pio_ranges(dm, want, HVM_BUFFERED_PIO_MAX_RANGES);
		err = send_pio_set(dm, HVM_MSG_SET_URGENT_PIO, "SET_URGENT_PIO", want, n, m->urgent,
				   &m->nr_urgent);
		if (err == -ENOSYS) {
			dm_info("iospace", "the hypervisor cannot signal posted writes at once: "
					   "command writes stay synchronous");
			m->urgent_unsupported = true;
		}
		/* Unknown urgent set: a lazily signalled command could wait. */
		m->urgent_stale = err && err != -ENOSYS;
	}
	n = io_posted_pio_ranges(dm, want, HVM_BUFFERED_PIO_MAX_RANGES);
	if (send_pio_set(dm, HVM_MSG_SET_BUFFERED_PIO, "SET_BUFFERED_PIO", want, n, m->posted,
			 &m->nr_posted) == -ENOSYS) {
		dm_info("iospace", "the hypervisor cannot post port writes: all stay synchronous");
		m->posted_unsupported = true;
	}
}

/* ---- PIO mirror ------------------------------------------------------ */

/*
 * The page the hypervisor maps read-only.  Sealed against shrinking (and
 * growing, and further sealing) so its mapping can never fault in a vCPU
 * thread; we keep writing it through our own mapping.
 */
static int mirror_page_create(struct io_map *m)
{
	void *p;
	int fd = memfd_create("hvm-pio-mirror", MFD_CLOEXEC | MFD_ALLOW_SEALING), err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, sizeof(*m->mirror)) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	p = mmap(NULL, sizeof(*m->mirror), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	m->mirror = p;
	m->mirror_fd = fd;
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

/*
 * Release store: the hypervisor's acquire load of the word sees the device
 * state that led to it; called after the state changed and before the
 * interrupt or the response that reveals the change.
 */
static void mirror_publish(struct io_map *m, const struct io_region *r, unsigned j)
{
	uint64_t w = 0;
	unsigned word = r->mirror_word[j];

	if (!m->mirror || !word || word > HVM_PIO_MIRROR_MAX_PORTS)
		return;
	if (r->mirror_valid & (1u << j))
		w = HVM_PIO_MIRROR_WORD(r->base + r->ops->mirrored[j].off, r->ops->mirrored[j].size,
					r->mirror_val[j]);
	__atomic_store_n(&m->mirror->word[word - 1], w, __ATOMIC_RELEASE);
}

void io_mirror_set(struct io_region *r, unsigned off, uint32_t val)
{
	const struct io_ops *o = r ? r->ops : NULL;

	for (unsigned j = 0; o && j < o->nr_mirrored && j < IO_MIRROR_REGS; j++) {
		if (o->mirrored[j].off != off)
			continue;
		r->mirror_val[j] = val;
		r->mirror_valid |= (uint8_t)(1u << j);
		if (r->mapped && r->space == IO_PIO && r->dm->space[IO_PIO])
			mirror_publish(r->dm->space[IO_PIO], r, j);
		return;
	}
}

void io_mirror_clear(struct io_region *r, unsigned off)
{
	const struct io_ops *o = r ? r->ops : NULL;

	for (unsigned j = 0; o && j < o->nr_mirrored && j < IO_MIRROR_REGS; j++) {
		if (o->mirrored[j].off != off)
			continue;
		r->mirror_valid &= (uint8_t) ~(1u << j);
		if (r->mapped && r->space == IO_PIO && r->dm->space[IO_PIO])
			mirror_publish(r->dm->space[IO_PIO], r, j);
		return;
	}
}

bool io_mirror_peek(struct dm *dm, uint16_t port, unsigned size, uint64_t *val)
{
	struct io_region *r = io_lookup(dm, IO_PIO, port);
	uint64_t off;

	if (!r || (size != 1 && size != 2 && size != 4))
		return false;
	off = port - r->base;
	for (unsigned j = 0; j < r->ops->nr_mirrored && j < IO_MIRROR_REGS; j++) {
		const struct io_mirror_reg *g = &r->ops->mirrored[j];

		if (off < g->off || off + size > (uint64_t)g->off + g->size)
			continue;
		if (!(r->mirror_valid & (1u << j)))
			return false;
		*val = (r->mirror_val[j] >> ((off - g->off) * 8)) &
		       (0xffffffffull >> (32 - 8 * size));
		return true;
	}
	return false;
}

/* Give every mirrored register of the mapped port regions a page word. */
static unsigned mirror_assign(struct io_map *m, struct hvm_range *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->n; i++) {
		struct io_region *r = m->r[i];

		for (unsigned j = 0; j < r->ops->nr_mirrored && j < IO_MIRROR_REGS; j++) {
			const struct io_mirror_reg *g = &r->ops->mirrored[j];

			r->mirror_word[j] = 0;
			if (n == HVM_PIO_MIRROR_MAX_PORTS || g->off + g->size > r->len)
				continue; /* stays synchronous */
			out[n] = (struct hvm_range){ .start = r->base + g->off, .len = g->size };
			r->mirror_word[j] = (uint8_t)++n;
		}
	}
	return n;
}

/* The mapped regions' post_effects in mirror words; entries that fit. */
static unsigned effects_collect(const struct io_map *m, struct hvm_pio_effect *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->n; i++) {
		const struct io_region *r = m->r[i];

		for (unsigned k = 0; k < r->ops->nr_post_effects; k++) {
			const struct io_post_effect *e = &r->ops->post_effects[k];
			uint64_t words = 0;

			if (n == HVM_PIO_EFFECTS_MAX || !e->len || e->off + e->len > r->len ||
			    (e->quiet_mask && e->len != 1))
				continue; /* left out: such writes may change anything */
			for (unsigned j = 0; j < r->ops->nr_mirrored && j < IO_MIRROR_REGS; j++)
				if ((e->mirrored >> j & 1) && r->mirror_word[j])
					words |= 1ull << (r->mirror_word[j] - 1);
			out[n++] = (struct hvm_pio_effect){ .start = (uint32_t)(r->base + e->off),
							    .len = e->len,
							    .words = e->any ? HVM_PIO_EFFECT_ANY
									    : words,
							    .quiet_mask = e->quiet_mask };
		}
	}
	return n;
}

/*
 * After every mirror set (the hypervisor forgets the effects with it, as
 * word numbers change): what each posted write may change.
 */
static void io_effects_sync(struct dm *dm, struct io_map *m)
{
	struct hvm_pio_effect want[HVM_PIO_EFFECTS_MAX];
	unsigned n;
	int err;

	if (m->effects_unsupported)
		return;
	if (env_off("HVM_PIO_EFFECTS")) {
		m->effects_unsupported = true;
		return;
	}
	n = effects_collect(m, want);
	err = hvlink_call(dm, HVM_MSG_SET_PIO_EFFECTS, want, n * sizeof(want[0]), NULL, 0, NULL, 0,
			  NULL);
	if (err == -ENOSYS) {
		dm_info("iospace", "the hypervisor has no SET_PIO_EFFECTS: every posted port "
				   "write holds back mirrored reads");
		m->effects_unsupported = true;
	} else if (err && !hv_gone(err)) {
		dm_warn("iospace", "SET_PIO_EFFECTS: %s", strerror(-err));
	}
}

/*
 * After a port region with mirrored registers was mapped, moved or
 * unmapped: rewrite every word for the new layout (words are
 * self-describing, so one the hypervisor still finds through its old table
 * cannot answer for another register), clear the ones no longer used, then
 * send the new set.  All before the guest access that moved the region
 * completes.
 */
static void io_mirror_sync(struct dm *dm, const struct io_region *r)
{
	struct io_map *m = dm->space[IO_PIO];
	struct hvm_range want[HVM_PIO_MIRROR_MAX_PORTS];
	unsigned n, old;
	int err;

	/* A region with effects but no mirror still changes the effects table. */
	if (r->space != IO_PIO || !(r->ops->nr_mirrored | r->ops->nr_post_effects) || !m ||
	    m->mirror_unsupported || dm->setup_sock < 0)
		return;
	if (env_off("HVM_PIO_MIRROR")) {
		m->mirror_unsupported = true;
		return;
	}
	if (!m->mirror) {
		err = mirror_page_create(m);
		if (err) {
			dm_warn("iospace", "PIO mirror page: %s; reads stay synchronous",
				strerror(-err));
			m->mirror_unsupported = true;
			return;
		}
	}
	n = mirror_assign(m, want);
	for (unsigned i = 0; i < m->n; i++)
		for (unsigned j = 0; j < m->r[i]->ops->nr_mirrored && j < IO_MIRROR_REGS; j++)
			mirror_publish(m, m->r[i], j);
	old = m->nr_mirror;
	for (unsigned w = n; w < old; w++)
		__atomic_store_n(&m->mirror->word[w], 0, __ATOMIC_RELEASE);
	m->nr_mirror = n;
	err = hvlink_call(dm, HVM_MSG_SET_PIO_MIRROR, want, n * sizeof(want[0]),
			  m->mirror_accepted ? NULL : &m->mirror_fd, m->mirror_accepted ? 0 : 1,
			  NULL, 0, NULL);
	if (err == -ENOSYS) {
		dm_info("iospace", "the hypervisor has no PIO mirror: all port reads synchronous");
		m->mirror_unsupported = true;
	} else if (!err) {
		m->mirror_accepted = true;
		io_effects_sync(dm, m);
	} else if (!hv_gone(err)) {
		dm_warn("iospace", "SET_PIO_MIRROR: %s", strerror(-err));
	}
}

/* A one-byte mirrored register of a mapped port region: add its port. */
static void busy_add_read(struct hvm_pio_busy *b, const struct io_region *r, unsigned j)
{
	const struct io_mirror_reg *g = &r->ops->mirrored[j];

	if (r->mapped && r->space == IO_PIO && j < r->ops->nr_mirrored && g->size == 1 &&
	    g->off < r->len && b->nr_reads < HVM_PIO_BUSY_READS)
		b->reads[b->nr_reads++] = (uint16_t)(r->base + g->off);
}

/* The mapped regions' busy effects as SET_PIO_BUSY entries. */
static unsigned busy_collect(const struct io_map *m, struct hvm_pio_busy *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->n; i++) {
		const struct io_region *r = m->r[i];

		for (unsigned k = 0; k < r->ops->nr_post_effects && n < HVM_PIO_BUSY_MAX; k++) {
			const struct io_post_effect *e = &r->ops->post_effects[k];
			struct hvm_pio_busy *b = &out[n];

			if (!e->busy || e->len != 1 || e->off >= r->len)
				continue;
			*b = (struct hvm_pio_busy){ .port = (uint16_t)(r->base + e->off),
						    .value = e->busy };
			for (unsigned j = 0; j < IO_MIRROR_REGS; j++)
				if (e->busy_mirrored >> j & 1)
					busy_add_read(b, r, j);
			if (e->busy_linked && r->linked)
				busy_add_read(b, r->linked, 0);
			n += b->nr_reads > 0;
		}
	}
	return n;
}

/* After any port region moved: the busy set, sent when it changed. */
static void io_busy_sync(struct dm *dm)
{
	struct io_map *m = dm->space[IO_PIO];
	struct hvm_pio_busy want[HVM_PIO_BUSY_MAX];
	unsigned n;
	int err;

	if (!m || m->busy_unsupported || dm->setup_sock < 0)
		return;
	if (env_off("HVM_PIO_BUSY")) {
		m->busy_unsupported = true;
		return;
	}
	n = busy_collect(m, want);
	if (n == m->nr_busy && !memcmp(want, m->busy, n * sizeof(want[0])))
		return;
	err = hvlink_call(dm, HVM_MSG_SET_PIO_BUSY, want, n * sizeof(want[0]), NULL, 0, NULL, 0,
			  NULL);
	if (!err) {
		memcpy(m->busy, want, n * sizeof(want[0]));
		m->nr_busy = n;
	} else if (err == -ENOSYS) {
		dm_info("iospace", "the hypervisor has no SET_PIO_BUSY: reads after a command "
				   "wait for the dm");
		m->busy_unsupported = true;
	} else if (!hv_gone(err)) {
		dm_warn("iospace", "SET_PIO_BUSY: %s", strerror(-err));
	}
}

/* The sets that depend on where port regions are. */
static void io_pio_sync(struct dm *dm, const struct io_region *r)
{
	io_posted_sync(dm, r);
	io_mirror_sync(dm, r);
	if (r->space == IO_PIO)
		io_busy_sync(dm);
}

static void io_region_unlink(struct io_region *r)
{
	struct io_map *m;
	unsigned i;

	if (!r->mapped)
		return;
	m = r->dm->space[r->space];
	i = io_bisect(m, r->base);
	if (i < m->n && m->r[i] == r) {
		memmove(&m->r[i], &m->r[i + 1], (m->n - i - 1) * sizeof(*m->r));
		m->n--;
	}
	if (m->last == r)
		m->last = NULL;
	r->mapped = false;
	/* Its words are cleared or reused by the io_mirror_sync() that follows. */
	memset(r->mirror_word, 0, sizeof(r->mirror_word));
}

static int io_region_link(struct dm *dm, struct io_region *r, enum io_space space, uint64_t base)
{
	struct io_map *m;
	uint64_t last;
	unsigned i;

	if (space >= IO_NR_SPACES || !r->len || r->mapped)
		return -EINVAL;
	last = base + (r->len - 1);
	if (last < base || (space == IO_PIO && last >= space_limit(space)))
		return -EINVAL;
	m = io_map_of(dm, space);
	if (!m)
		return -ENOMEM;
	i = io_bisect(m, base);
	if (i < m->n && m->r[i]->base <= last)
		return -EEXIST;
	if (m->n == m->cap) {
		unsigned cap = m->cap ? m->cap * 2 : 32;
		struct io_region **nr = realloc(m->r, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		m->r = nr;
		m->cap = cap;
	}
	memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof(*m->r));
	m->r[i] = r;
	m->n++;
	r->base = base;
	r->space = space;
	r->mapped = true;
	r->dm = dm;
	return 0;
}

int io_region_map(struct dm *dm, struct io_region *r, enum io_space space, uint64_t base)
{
	int err = io_region_link(dm, r, space, base);

	if (!err)
		io_pio_sync(dm, r);
	return err;
}

void io_region_unmap(struct io_region *r)
{
	if (!r->mapped)
		return;
	io_region_unlink(r);
	io_pio_sync(r->dm, r);
}

int io_region_move(struct dm *dm, struct io_region *r, enum io_space space, uint64_t base)
{
	bool was_mapped = r->mapped;
	struct dm *old_dm = r->dm;
	int err;

	if (r->mapped && r->space == space && r->base == base)
		return 0;
	/* One update of the posted set for the whole move, not two. */
	io_region_unlink(r);
	err = io_region_link(dm, r, space, base);
	if (!err)
		io_pio_sync(dm, r);
	else if (was_mapped)
		io_pio_sync(old_dm, r);
	return err;
}

struct io_region *io_lookup(struct dm *dm, enum io_space space, uint64_t addr)
{
	struct io_map *m = space < IO_NR_SPACES ? dm->space[space] : NULL;
	struct io_region *r;
	unsigned i;

	if (!m)
		return NULL;
	r = m->last;
	if (r && addr >= r->base && addr - r->base < r->len)
		return r;
	i = io_bisect(m, addr);
	if (i == m->n || m->r[i]->base > addr)
		return NULL;
	m->last = m->r[i];
	return m->r[i];
}

static unsigned ops_min(const struct io_ops *o)
{
	return o->min_size ? o->min_size : 1;
}

static unsigned ops_max(const struct io_ops *o)
{
	return o->max_size ? o->max_size : 4;
}

/* Largest power of two <= len that the region accepts at off. */
static unsigned piece_size(const struct io_ops *o, uint64_t off, unsigned len)
{
	unsigned s = 8;

	while (s > len || s > ops_max(o) || (!o->allow_unaligned && (off & (s - 1))))
		s >>= 1;
	return s;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}

/*
 * Access len (1..8) bytes at off inside r.  *val holds the bytes of this
 * piece in its low bits (little-endian order).
 */
static void region_access(struct io_region *r, uint64_t off, unsigned len, bool is_write,
			  uint64_t *val)
{
	const struct io_ops *o = r->ops;
	uint64_t result = 0;
	unsigned done = 0;

	while (done < len) {
		uint64_t at = off + done, v;
		unsigned s = piece_size(o, at, len - done), min = ops_min(o);

		if (s >= min) {
			if (is_write)
				o->write(r->opaque, at, (*val >> (done * 8)) & size_mask(s), s);
			else
				result |= (o->read(r->opaque, at, s) & size_mask(s)) << (done * 8);
			done += s;
			continue;
		}
		/* Narrower than the region handles: one min-sized access at the aligned offset. */
		{
			uint64_t base = at & ~(uint64_t)(min - 1);
			unsigned shift = (unsigned)(at - base), n = min - shift;

			if (n > len - done)
				n = len - done;
			if (base + min > r->len) {
				/* Would run past the region: treat as unclaimed. */
				if (!is_write)
					result |= size_mask(n) << (done * 8);
			} else if (is_write) {
				v = ((*val >> (done * 8)) & size_mask(n)) << (shift * 8);
				o->write(r->opaque, base, v, min);
			} else {
				v = o->read(r->opaque, base, min) >> (shift * 8);
				result |= (v & size_mask(n)) << (done * 8);
			}
			done += n;
		}
	}
	if (!is_write)
		*val = result;
}

int io_dispatch(struct dm *dm, enum io_space space, uint64_t addr, unsigned size, bool is_write,
		uint64_t *val)
{
	uint64_t result = 0;
	unsigned i = 0;

	if (space >= IO_NR_SPACES || (size != 1 && size != 2 && size != 4 && size != 8))
		return -EINVAL;
	while (i < size) {
		uint64_t a = addr + i, part, off;
		struct io_region *r = io_lookup(dm, space, a);
		unsigned n;

		if (!r || (space == IO_PIO && a >= 0x10000)) {
			dm_guest_err("iospace", "unclaimed %s %s 0x%llx", space_names[space],
				     is_write ? "write" : "read", (unsigned long long)a);
			result |= 0xffull << (i * 8);
			i++;
			continue;
		}
		off = a - r->base;
		n = size - i;
		if ((uint64_t)n > r->len - off)
			n = (unsigned)(r->len - off);
		part = is_write ? (*val >> (i * 8)) & size_mask(n) : 0;
		region_access(r, off, n, is_write, &part);
		if (!is_write)
			result |= (part & size_mask(n)) << (i * 8);
		i += n;
	}
	if (!is_write)
		*val = result;
	return 0;
}

void io_space_free(struct dm *dm)
{
	unsigned i;

	for (i = 0; i < IO_NR_SPACES; i++) {
		if (!dm->space[i])
			continue;
		free(dm->space[i]->r);
		if (dm->space[i]->mirror)
			munmap(dm->space[i]->mirror, sizeof(*dm->space[i]->mirror));
		if (dm->space[i]->mirror_fd >= 0)
			close(dm->space[i]->mirror_fd);
		free(dm->space[i]);
		dm->space[i] = NULL;
	}
}
