// SPDX-License-Identifier: MIT
/*
 * iospace.c - address-space dispatch (see iospace.h for the size rules).
 *
 * Each space keeps its mapped regions in an array sorted by base, searched
 * by bisection, with a one-entry cache for the last hit.
 */
#include "iospace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
};

static const char *const space_names[] = { "pio", "mmio" };

static struct io_map *io_map_of(struct dm *dm, enum io_space space)
{
	if (!dm->space[space])
		dm->space[space] = calloc(1, sizeof(struct io_map));
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

unsigned io_posted_pio_ranges(struct dm *dm, struct hvm_range *out, unsigned max)
{
	struct io_map *m = dm->space[IO_PIO];
	unsigned n = 0;

	for (unsigned i = 0; m && i < m->n; i++) {
		const struct io_region *r = m->r[i];
		uint64_t mask = r->ops->posted_writes;

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

/*
 * Tell the hypervisor the posted-write port set after a port region with
 * posted writes moved.  Synchronous on the setup socket, so a write to a
 * port that just stopped being latch-only is never posted after the guest
 * access that moved it has completed.
 */
static void io_posted_sync(struct dm *dm, const struct io_region *r)
{
	struct io_map *m = dm->space[IO_PIO];
	struct hvm_range want[HVM_BUFFERED_PIO_MAX_RANGES];
	unsigned n;
	int err;

	if (r->space != IO_PIO || !r->ops->posted_writes || !m || m->posted_unsupported ||
	    dm->setup_sock < 0)
		return;
	/* HVM_POSTED_PIO=0: keep every port write synchronous (comparisons). */
	if (getenv("HVM_POSTED_PIO") && !strcmp(getenv("HVM_POSTED_PIO"), "0"))
		return;
	n = io_posted_pio_ranges(dm, want, HVM_BUFFERED_PIO_MAX_RANGES);
	if (n == m->nr_posted && !memcmp(want, m->posted, n * sizeof(want[0])))
		return;
	err = hvlink_call(dm, HVM_MSG_SET_BUFFERED_PIO, want, n * sizeof(want[0]), NULL, 0, NULL, 0,
			  NULL);
	if (err == -ENOSYS) {
		dm_info("iospace", "the hypervisor cannot post port writes: all stay synchronous");
		m->posted_unsupported = true;
		return;
	}
	if (err == -EPIPE || err == -ECONNRESET || err == -ENOTCONN)
		return; /* the hypervisor is gone (devices unmap while the dm exits) */
	if (err) {
		dm_warn("iospace", "SET_BUFFERED_PIO: %s", strerror(-err));
		return;
	}
	memcpy(m->posted, want, n * sizeof(want[0]));
	m->nr_posted = n;
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
		io_posted_sync(dm, r);
	return err;
}

void io_region_unmap(struct io_region *r)
{
	if (!r->mapped)
		return;
	io_region_unlink(r);
	io_posted_sync(r->dm, r);
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
		io_posted_sync(dm, r);
	else if (was_mapped)
		io_posted_sync(old_dm, r);
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
		free(dm->space[i]);
		dm->space[i] = NULL;
	}
}
