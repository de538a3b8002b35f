// SPDX-License-Identifier: MIT
/*
 * gmem.c - checked guest-physical memory accessors (see gmem.h).
 */
#include "gmem.h"

#include <errno.h>
#include <string.h>

#include "dm.h"

int gmem_add(struct gmem *m, uint64_t gpa, uint64_t len, void *host, uint64_t fd_offset)
{
	if (m->nr == GMEM_MAX_REGIONS || !len || gpa + len < gpa)
		return -EINVAL;
	m->r[m->nr++] = (struct gmem_region){
		.gpa = gpa, .len = len, .host = host, .fd_offset = fd_offset
	};
	return 0;
}

static const struct gmem_region *gmem_find(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	unsigned i;

	for (i = 0; i < m->nr; i++) {
		const struct gmem_region *r = &m->r[i];

		/* gpa - r->gpa cannot wrap once gpa >= r->gpa; len checked against the rest. */
		if (gpa >= r->gpa && gpa - r->gpa < r->len && len <= r->len - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

void *gmem_map(struct dm *dm, uint64_t gpa, size_t len)
{
	const struct gmem_region *r = gmem_find(&dm->mem, gpa, len ? len : 1);

	return r ? r->host + (gpa - r->gpa) : NULL;
}

/* Set the written bits of [gpa, gpa + len), then tell the hv (setup.h). */
static void mark_region(struct dm *dm, const struct gmem_region *r, uint64_t gpa, uint64_t len)
{
	struct gmem *m = &dm->mem;
	uint64_t first, last, p;

	if (!m->written || r->fd_offset == GMEM_NO_TRACK || !len)
		return;
	first = (r->fd_offset + (gpa - r->gpa)) >> 12;
	last = (r->fd_offset + (gpa - r->gpa) + len - 1) >> 12;
	for (p = first; p <= last && p < m->written_pages; p++)
		__atomic_fetch_or(&m->written[p / 32], 1u << (p % 32), __ATOMIC_RELEASE);
	if (dm->irq_page)
		__atomic_fetch_add(&dm->irq_page->written_seq, 1, __ATOMIC_RELEASE);
}

void gmem_mark_written(struct dm *dm, uint64_t gpa, uint64_t len)
{
	const struct gmem_region *r = gmem_find(&dm->mem, gpa, len ? len : 1);

	if (r)
		mark_region(dm, r, gpa, len);
}

int gmem_read(struct dm *dm, uint64_t gpa, void *buf, size_t len)
{
	const struct gmem_region *r = gmem_find(&dm->mem, gpa, len);

	if (!r)
		return -EFAULT;
	memcpy(buf, r->host + (gpa - r->gpa), len);
	return 0;
}

int gmem_write(struct dm *dm, uint64_t gpa, const void *buf, size_t len)
{
	const struct gmem_region *r = gmem_find(&dm->mem, gpa, len);

	if (!r)
		return -EFAULT;
	memcpy(r->host + (gpa - r->gpa), buf, len);
	mark_region(dm, r, gpa, len);
	return 0;
}

#define GMEM_READ_FN(name, type)                             \
	int name(struct dm *dm, uint64_t gpa, type *v)       \
	{                                                    \
		int err = gmem_read(dm, gpa, v, sizeof(*v)); \
                                                             \
		if (err)                                     \
			*v = (type) ~(type)0;                \
		return err;                                  \
	}

GMEM_READ_FN(gmem_read_u8, uint8_t)
GMEM_READ_FN(gmem_read_u16, uint16_t)
GMEM_READ_FN(gmem_read_u32, uint32_t)
GMEM_READ_FN(gmem_read_u64, uint64_t)

int gmem_write_u32(struct dm *dm, uint64_t gpa, uint32_t v)
{
	return gmem_write(dm, gpa, &v, sizeof(v));
}
