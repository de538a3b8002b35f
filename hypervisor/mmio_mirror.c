// SPDX-License-Identifier: MIT
/*
 * mmio_mirror.c - MMIO reads answered from an image of the range that the
 * hv keeps current itself (HVM_MSG_SET_MMIO_MIRROR; the protocol is in
 * include/hvm/setup.h).
 *
 * Why the hv writes the image and not the dm: the dm applies posted window
 * writes up to ~10 ms late, and a text console's scroll reads bytes it has
 * just written.  Applying each write to the image as it is sent keeps the
 * image equal to "VRAM after every write sent so far", which is what a read
 * must see; the dm only decides when that equality holds (VALID) and
 * restores it by rebuilding the image from VRAM.
 *
 * Only single-vCPU domains take the mirror (the message is refused
 * otherwise), so the image and the state are only ever changed by this
 * vCPU's thread, or by the dm while that thread is blocked in a request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "ioreq.h"

struct ioreq_mmio_mirror {
	struct hvm_mmio_mirror_hdr *hdr; /* shared with the dm */
	uint8_t *image;			 /* len bytes, shared with the dm */
	size_t map_len;
	uint64_t gpa, len; /* validated copy of the message's range */
	uint32_t mode_pio[65536 / 32];
};

static uint32_t load_state(const struct ioreq_mmio_mirror *m)
{
	/* Acquire: pairs with the dm's release after it rebuilt the image. */
	return __atomic_load_n(&m->hdr->state, __ATOMIC_ACQUIRE);
}

static void invalidate(struct ioreq_prod *p, struct ioreq_mmio_mirror *m)
{
	if (load_state(m) == HVM_MMIO_MIRROR_INVALID)
		return;
	__atomic_store_n(&m->hdr->state, HVM_MMIO_MIRROR_INVALID, __ATOMIC_RELEASE);
	__atomic_fetch_add(&p->mmio_mirror_invalidations, 1, __ATOMIC_RELAXED);
}

/*
 * The live part as offsets into the image, clamped into the range the
 * message gave us (the dm may scribble on the header at any time).
 */
static void live_range(const struct ioreq_mmio_mirror *m, uint64_t *lo, uint64_t *hi)
{
	uint64_t off = __atomic_load_n(&m->hdr->live_off, __ATOMIC_RELAXED);
	uint64_t len = __atomic_load_n(&m->hdr->live_len, __ATOMIC_RELAXED);

	if (off > m->len)
		off = m->len;
	if (len > m->len - off)
		len = m->len - off;
	*lo = off;
	*hi = off + len;
}

/*
 * Where an access of size bytes at gpa falls: 1 wholly inside the live
 * range (*off its image offset), 0 outside it, -1 partly inside.
 */
static int locate(const struct ioreq_mmio_mirror *m, uint64_t gpa, uint64_t size, uint64_t *off)
{
	uint64_t lo, hi, a, end;

	if (gpa >= m->gpa + m->len || gpa + size <= m->gpa || gpa + size < gpa)
		return 0;
	live_range(m, &lo, &hi);
	a = gpa - m->gpa; /* may wrap for gpa < m->gpa: caught below */
	end = gpa + size - m->gpa;
	if (gpa >= m->gpa && a >= lo && end <= hi) {
		*off = a;
		return 1;
	}
	if (gpa + size <= m->gpa + lo || gpa >= m->gpa + hi)
		return 0;
	return -1;
}

static struct ioreq_mmio_mirror *mirror_of(struct ioreq_prod *p)
{
	/* Acquire: pairs with the release that published a fully built mirror. */
	return __atomic_load_n(&p->mmio_mirror, __ATOMIC_ACQUIRE);
}

static int check_set(const struct hvm_mmio_mirror_set *s)
{
	if (!s->len || s->len > HVM_MMIO_MIRROR_MAX_LEN || s->gpa + s->len < s->gpa ||
	    s->nr_ports > HVM_MMIO_MIRROR_MAX_PORTS)
		return -EINVAL;
	for (unsigned i = 0; i < s->nr_ports; i++)
		if (!s->ports[i].len || s->ports[i].len > 0x10000 ||
		    s->ports[i].start > 0x10000 - s->ports[i].len)
			return -EINVAL;
	return 0;
}

/* Map the dm's memfd; the seal keeps a shrinking dm from SIGBUSing a vCPU. */
static int map_image(struct ioreq_mmio_mirror *m, int fd)
{
	struct stat st;
	int seals;
	void *at;

	m->map_len = HVM_MMIO_MIRROR_IMAGE_OFFSET + m->len;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < (off_t)m->map_len)
		return -EINVAL;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return -EINVAL;
	at = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (at == MAP_FAILED)
		return -errno;
	m->hdr = at;
	m->image = (uint8_t *)at + HVM_MMIO_MIRROR_IMAGE_OFFSET;
	return 0;
}

int ioreq_set_mmio_mirror(struct ioreq_prod *p, const struct hvm_mmio_mirror_set *s, int fd)
{
	struct ioreq_mmio_mirror *m;
	int err;

	if (mirror_of(p))
		return -EEXIST;
	if (p->nr_vcpus != 1)
		return -EOPNOTSUPP;
	err = check_set(s);
	if (err)
		return err;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->gpa = s->gpa;
	m->len = s->len;
	for (unsigned i = 0; i < s->nr_ports; i++)
		for (uint64_t port = s->ports[i].start; port < s->ports[i].start + s->ports[i].len;
		     port++)
			m->mode_pio[port / 32] |= 1u << (port % 32);
	err = map_image(m, fd);
	if (err) {
		free(m);
		return err;
	}
	/* Whatever the dm left there, we start from "ask the dm". */
	__atomic_store_n(&m->hdr->state, HVM_MMIO_MIRROR_INVALID, __ATOMIC_RELEASE);
	__atomic_store_n(&p->mmio_mirror, m, __ATOMIC_RELEASE);
	return 0;
}

void ioreq_mmio_mirror_free(struct ioreq_prod *p)
{
	struct ioreq_mmio_mirror *m = p->mmio_mirror;

	if (!m)
		return;
	munmap(m->hdr, m->map_len);
	free(m);
	p->mmio_mirror = NULL;
}

bool ioreq_mmio_mirror_read(struct ioreq_prod *p, uint64_t gpa, uint32_t size, uint64_t *val)
{
	struct ioreq_mmio_mirror *m = mirror_of(p);
	uint64_t off, v = 0;

	if (!m || (size != 1 && size != 2 && size != 4 && size != 8))
		return false;
	if (load_state(m) != HVM_MMIO_MIRROR_VALID || locate(m, gpa, size, &off) != 1)
		return false;
	/* Plain bytes: a torn read of a racing (hostile) dm store is only wrong data. */
	memcpy(&v, m->image + off, size);
	*val = v;
	__atomic_fetch_add(&p->mmio_mirror_hits, 1, __ATOMIC_RELAXED);
	return true;
}

void ioreq_mmio_mirror_write(struct ioreq_prod *p, uint64_t gpa, uint64_t size, uint64_t val,
			     bool single)
{
	struct ioreq_mmio_mirror *m = mirror_of(p);
	uint64_t off;
	int where;

	if (!m || load_state(m) != HVM_MMIO_MIRROR_VALID)
		return;
	if (!size)
		return;
	where = locate(m, gpa, size, &off);
	if (where == 0)
		return;
	if (where < 0 || !single || size > 8) {
		invalidate(p, m);
		return;
	}
	memcpy(m->image + off, &val, size); /* little-endian, as the guest wrote it */
}

void ioreq_mmio_mirror_port_write(struct ioreq_prod *p, uint16_t port, uint32_t size)
{
	struct ioreq_mmio_mirror *m = mirror_of(p);

	if (!m)
		return;
	for (uint32_t i = 0; i < size && i < 8; i++) {
		uint32_t b = (uint32_t)port + i;

		if (b <= 0xffff && (m->mode_pio[b / 32] & (1u << (b % 32)))) {
			invalidate(p, m);
			return;
		}
	}
}
