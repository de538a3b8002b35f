// SPDX-License-Identifier: MIT
/*
 * mem.c - guest RAM, firmware, bounce pages and device-model mappings (see
 * mem.h for the layout).
 */
#define _GNU_SOURCE
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvm/setup.h"

static int memfd_sized(const char *name, uint64_t size, int *fd_out, uint8_t **map_out)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	void *p;
	int err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail_errno;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail_errno;
	*fd_out = fd;
	*map_out = p;
	return 0;
fail_errno:
	err = -errno;
	close(fd);
	return err;
}

int mem_create(struct hv_mem *m, uint64_t ram_size, unsigned nr_vcpus)
{
	uint64_t pages;
	int err;

	memset(m, 0, sizeof(*m));
	m->ram_fd = m->bios_fd = m->bounce_fd = m->written_fd = -1;
	pthread_rwlock_init(&m->maps_lock, NULL);
	for (unsigned i = 0; i < HV_MAX_MAPS; i++)
		m->maps[i].fd = -1;
	/* Below 1 MiB the BIOS shadow and the VGA hole need real RAM around them. */
	if (ram_size < (2ull << 20) || ram_size % HV_PAGE_SIZE || nr_vcpus == 0)
		return -EINVAL;
	m->ram_size = ram_size;
	m->below_4g = ram_size < HV_BELOW_4G_MAX ? ram_size : HV_BELOW_4G_MAX;
	m->above_4g = ram_size - m->below_4g;
	err = memfd_sized("hvm-ram", ram_size, &m->ram_fd, &m->ram);
	if (err)
		goto fail;
	m->nr_bounce = nr_vcpus;
	err = memfd_sized("hvm-bounce", (uint64_t)nr_vcpus * HV_PAGE_SIZE, &m->bounce_fd,
			  &m->bounce);
	if (err)
		goto fail;
	/* One bit per RAM page, rounded up to whole pages of 32-bit words. */
	pages = ram_size / HV_PAGE_SIZE;
	m->written_size = ((pages + 7) / 8 + HV_PAGE_SIZE - 1) & ~(HV_PAGE_SIZE - 1);
	err = memfd_sized("hvm-written", m->written_size, &m->written_fd, (uint8_t **)&m->written);
	if (err)
		goto fail;
	return 0;
fail:
	mem_destroy(m);
	return err;
}

static int read_all(int fd, uint8_t *buf, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (uint64_t)n;
	}
	return 0;
}

int mem_load_bios(struct hv_mem *m, const char *path)
{
	uint64_t shadow;
	struct stat st;
	int fd, err;

	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	/* The image sits flush against 4 GiB, so it must be whole pages. */
	err = -EINVAL;
	if (st.st_size <= 0 || (uint64_t)st.st_size > HV_BIOS_MAX ||
	    (uint64_t)st.st_size % HV_PAGE_SIZE)
		goto out;
	m->bios_size = (uint64_t)st.st_size;
	m->bios_gpa = HV_4G - m->bios_size;
	err = memfd_sized("hvm-bios", m->bios_size, &m->bios_fd, &m->bios);
	if (err)
		goto out;
	err = read_all(fd, m->bios, m->bios_size);
	if (err)
		goto out;
	/*
	 * The reset vector runs from the top-of-4G alias; the BIOS then jumps
	 * into its F-segment copy below 1 MiB.  Firmware that checks the
	 * i440FX PAM registers (SeaBIOS) finds that copy already in place.
	 */
	shadow = m->bios_size < HV_BIOS_SHADOW_MAX ? m->bios_size : HV_BIOS_SHADOW_MAX;
	memcpy(m->ram + (1ull << 20) - shadow, m->bios + m->bios_size - shadow, shadow);
out:
	close(fd);
	return err;
}

static void unmap_close(int *fd, void *p, uint64_t size)
{
	if (p)
		munmap(p, size);
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void mem_destroy(struct hv_mem *m)
{
	for (int i = 0; i < HV_MAX_MAPS; i++)
		if (m->maps[i].used)
			mem_map_remove(m, i);
	unmap_close(&m->ram_fd, m->ram, m->ram_size);
	unmap_close(&m->bios_fd, m->bios, m->bios_size);
	unmap_close(&m->bounce_fd, m->bounce, (uint64_t)m->nr_bounce * HV_PAGE_SIZE);
	unmap_close(&m->written_fd, m->written, m->written_size);
	m->ram = m->bios = m->bounce = NULL;
	m->written = NULL;
}

uint64_t mem_ram_offset(const struct hv_mem *m, uint64_t gpa)
{
	if (gpa < m->below_4g)
		return gpa >= HV_VGA_START && gpa < HV_VGA_END ? UINT64_MAX : gpa;
	if (gpa >= HV_4G && gpa - HV_4G < m->above_4g)
		return m->below_4g + (gpa - HV_4G);
	return UINT64_MAX;
}

uint8_t *mem_ram_ptr(struct hv_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t off = mem_ram_offset(m, gpa), last;

	if (off == UINT64_MAX || len == 0 || gpa + (len - 1) < gpa)
		return NULL;
	/* The whole range must be RAM and contiguous in the memfd. */
	last = mem_ram_offset(m, gpa + len - 1);
	if (last == UINT64_MAX || last - off != len - 1)
		return NULL;
	return m->ram + off;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool range_taken(const struct hv_mem *m, uint64_t gpa, uint64_t size)
{
	if (overlaps(gpa, size, 0, HV_VGA_START) ||
	    (m->below_4g > HV_VGA_END && overlaps(gpa, size, HV_VGA_END, m->below_4g - HV_VGA_END)))
		return true;
	if (m->above_4g && overlaps(gpa, size, HV_4G, m->above_4g))
		return true;
	if (m->bios_size && overlaps(gpa, size, m->bios_gpa, m->bios_size))
		return true;
	if (overlaps(gpa, size, HVM_BOUNCE_GPA, (uint64_t)m->nr_bounce * HV_PAGE_SIZE))
		return true;
	for (unsigned i = 0; i < HV_MAX_MAPS; i++)
		if (m->maps[i].used && overlaps(gpa, size, m->maps[i].gpa, m->maps[i].size))
			return true;
	return false;
}

int mem_map_add(struct hv_mem *m, uint64_t gpa, uint64_t size, uint64_t offset, uint32_t flags,
		int fd)
{
	const uint64_t mask = HV_PAGE_SIZE - 1;
	int prot = PROT_READ;
	struct hv_map *mp;
	void *p;

	if (!size || (gpa | size | offset) & mask || gpa + size < gpa || offset + size < offset ||
	    gpa + size > HVM_BOUNCE_GPA || flags & ~(HVM_MAP_F_READONLY | HVM_MAP_F_DIRTY_LOG))
		return -EINVAL;
	if (range_taken(m, gpa, size))
		return -EEXIST;
	for (int i = 0; i < HV_MAX_MAPS; i++) {
		mp = &m->maps[i];
		if (mp->used)
			continue;
		if (!(flags & HVM_MAP_F_READONLY))
			prot |= PROT_WRITE;
		p = mmap(NULL, size, prot, MAP_SHARED, fd, (off_t)offset);
		if (p == MAP_FAILED)
			return -errno;
		/* vCPU threads look entries up under the read lock (a whole entry or none) */
		pthread_rwlock_wrlock(&m->maps_lock);
		*mp = (struct hv_map){ .used = true,
				       .gpa = gpa,
				       .size = size,
				       .offset = offset,
				       .flags = flags,
				       .fd = fd,
				       .host = p,
				       .slot = -1 };
		pthread_rwlock_unlock(&m->maps_lock);
		return i;
	}
	return -ENOSPC;
}

int mem_map_find(const struct hv_mem *m, uint64_t gpa, uint64_t size)
{
	for (int i = 0; i < HV_MAX_MAPS; i++)
		if (m->maps[i].used && m->maps[i].gpa == gpa && (!size || m->maps[i].size == size))
			return i;
	return -ENOENT;
}

void mem_map_remove(struct hv_mem *m, int idx)
{
	struct hv_map *mp = &m->maps[idx];

	pthread_rwlock_wrlock(&m->maps_lock);
	if (mp->host)
		munmap(mp->host, mp->size);
	close(mp->fd);
	*mp = (struct hv_map){ .fd = -1, .slot = -1 };
	pthread_rwlock_unlock(&m->maps_lock);
}

struct hv_map *mem_map_lookup(struct hv_mem *m, uint64_t gpa)
{
	for (unsigned i = 0; i < HV_MAX_MAPS; i++)
		if (m->maps[i].used && gpa - m->maps[i].gpa < m->maps[i].size)
			return &m->maps[i];
	return NULL;
}
