/* SPDX-License-Identifier: MIT */
/*
 * mem.h - guest memory of one domain, independent of the vCPU backend.
 *
 * Guest RAM is one memfd laid out like a PC: memfd bytes [0, below_4g) at
 * guest-physical 0 (below_4g <= 0xE0000000, leaving the hole above for PCI
 * BARs, the IOAPIC/LAPIC/HPET and the firmware), the rest at 4 GiB.  The
 * legacy VGA window 0xA0000-0xBFFFF is never RAM to the guest: accesses there
 * trap and reach the device model.  The firmware image lives in its own
 * memfd, mapped read-only just below 4 GiB, and its last 128 KiB are copied
 * into RAM below 1 MiB where the reset code of a PC BIOS expects its shadow.
 *
 * Also here: the per-vCPU bounce pages (string I/O from the KVM backend), the
 * written-page bitmap the device model sets, and the table of memfd ranges
 * the device model asked to map (VRAM, option ROMs).
 */
#ifndef HV_MEM_H
#define HV_MEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_PAGE_SIZE 4096ull
#define HV_BELOW_4G_MAX 0xE0000000ull
#define HV_4G 0x100000000ull
#define HV_VGA_START 0xA0000ull
#define HV_VGA_END 0xC0000ull
#define HV_BIOS_SHADOW_MAX (128 * 1024ull)
#define HV_BIOS_MAX (16 * 1024 * 1024ull)
#define HV_MAX_MAPS 32

/* One range of a device-model memfd mapped into the guest (HVM_MSG_MAP). */
struct hv_map {
	bool used;
	uint64_t gpa, size, offset;
	uint32_t flags; /* HVM_MAP_F_* */
	int fd;
	uint8_t *host;
	int slot; /* backend's handle (KVM memslot) */
};

struct hv_mem {
	int ram_fd;
	uint8_t *ram;
	uint64_t ram_size, below_4g, above_4g;

	int bios_fd; /* -1 without firmware */
	uint8_t *bios;
	uint64_t bios_size, bios_gpa;

	int bounce_fd;
	uint8_t *bounce;
	unsigned nr_bounce;

	int written_fd;
	uint32_t *written;
	uint64_t written_size;

	/* maps[] changes on the main thread; the emu backend's vCPUs read it. */
	pthread_rwlock_t maps_lock;
	struct hv_map maps[HV_MAX_MAPS];
};

/* Create RAM (ram_size bytes), bounce pages and the written bitmap. */
int mem_create(struct hv_mem *m, uint64_t ram_size, unsigned nr_vcpus);
/* Load the firmware file; NULL path: no firmware.  Returns 0 or -errno. */
int mem_load_bios(struct hv_mem *m, const char *path);
void mem_destroy(struct hv_mem *m);

/* Host pointer for guest-physical [gpa, gpa+len) inside RAM, else NULL. */
uint8_t *mem_ram_ptr(struct hv_mem *m, uint64_t gpa, uint64_t len);
/* RAM memfd offset of gpa, or UINT64_MAX when gpa is not RAM. */
uint64_t mem_ram_offset(const struct hv_mem *m, uint64_t gpa);

/*
 * Validate and record a device-model mapping; takes ownership of fd on
 * success.  Returns the table index or -errno (-EINVAL malformed, -EEXIST
 * overlapping RAM, firmware or another mapping, -ENOSPC table full).
 */
int mem_map_add(struct hv_mem *m, uint64_t gpa, uint64_t size, uint64_t offset, uint32_t flags,
		int fd);
/* Index of the mapping that starts at gpa (and has `size` unless size is 0), or -ENOENT. */
int mem_map_find(const struct hv_mem *m, uint64_t gpa, uint64_t size);
/* Unmaps the host view unless a backend already retired it (host == NULL). */
void mem_map_remove(struct hv_mem *m, int idx);
/* The mapping containing gpa, or NULL.  Caller holds maps_lock (read). */
struct hv_map *mem_map_lookup(struct hv_mem *m, uint64_t gpa);

#endif /* HV_MEM_H */
