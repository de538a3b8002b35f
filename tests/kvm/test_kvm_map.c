// SPDX-License-Identifier: MIT
/*
 * test_kvm_map.c - device-model memory mappings (HVM_MSG_MAP / UNMAP /
 * DIRTY_LOG) as a VGA or option-ROM model uses them: a dirty-logged memfd
 * the guest writes without exits, a read-only memfd whose writes are not
 * stored, and an unmap while the guest waits on a request, after which the
 * range is MMIO again.
 *
 * Guest (unreal mode, flat ES; machine code below):
 *   write 0x11111111 at 0xE0001000 and 0x33333333 at 0xE0003008  (dirty map),
 *   read 0xE0005000 (a read must not count as dirty)
 *   out 0xE1 <- 1        dm: checks memory and the dirty log
 *   out 0xE2 <- dword [0xE0100000]; dword [0xE0100000] = 0x12345678 (read-only map)
 *   out 0xE1 <- 2        dm: unmaps the dirty map
 *   out 0xE2 <- dword [0xE0001000]   (now an MMIO read answered by the dm)
 *   out 0xE4 <- 0        dm: poweroff
 *
 *   test_kvm_map [kvm|emu]      (kvm without /dev/kvm: SKIPPED, exit 77)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvm_msg.h"
#include "hvtest.h"
#include "tap.h"

#define DIRTY_GPA 0xe0000000ull
#define DIRTY_SIZE 0x10000ull
#define RO_GPA 0xe0100000ull
#define RO_MAGIC 0xcafef00du
#define MMIO_MAGIC 0x5a5a5a5au

static const uint8_t guest_map[] = {
	/* 00 */ 0xfa, /* cli */
	/* 01 */ 0x2e,
	0x0f,
	0x01,
	0x16,
	0xb0,
	0x00, /* lgdt cs:[0xb0] */
	/* 07 */ 0x0f,
	0x20,
	0xc0, /* mov eax, cr0 */
	/* 0a */ 0x0c,
	0x01, /* or al, 1 */
	/* 0c */ 0x0f,
	0x22,
	0xc0, /* mov cr0, eax */
	/* 0f */ 0xbb,
	0x08,
	0x00, /* mov bx, 8 */
	/* 12 */ 0x8e,
	0xc3, /* mov es, bx */
	/* 14 */ 0x24,
	0xfe, /* and al, 0xfe */
	/* 16 */ 0x0f,
	0x22,
	0xc0, /* mov cr0, eax (unreal mode) */
	/* 19 */ 0x66,
	0xbf,
	0x00,
	0x10,
	0x00,
	0xe0, /* mov edi, 0xe0001000 */
	/* 1f */ 0x66,
	0xb8,
	0x11,
	0x11,
	0x11,
	0x11, /* mov eax, 0x11111111 */
	/* 25 */ 0x26,
	0x67,
	0x66,
	0x89,
	0x07, /* mov es:[edi], eax */
	/* 2a */ 0x66,
	0xbf,
	0x08,
	0x30,
	0x00,
	0xe0, /* mov edi, 0xe0003008 */
	/* 30 */ 0x66,
	0xb8,
	0x33,
	0x33,
	0x33,
	0x33, /* mov eax, 0x33333333 */
	/* 36 */ 0x26,
	0x67,
	0x66,
	0x89,
	0x07, /* mov es:[edi], eax */
	/* 3b */ 0x66,
	0xbf,
	0x00,
	0x50,
	0x00,
	0xe0, /* mov edi, 0xe0005000 */
	/* 41 */ 0x26,
	0x67,
	0x66,
	0x8b,
	0x07, /* mov eax, es:[edi] (a read: page 5 stays clean) */
	/* 46 */ 0xb0,
	0x01,
	0xe6,
	0xe1, /* out 0xe1, 1 */
	/* 3f */ 0x66,
	0xbf,
	0x00,
	0x00,
	0x10,
	0xe0, /* mov edi, 0xe0100000 */
	/* 45 */ 0x26,
	0x67,
	0x66,
	0x8b,
	0x07, /* mov eax, es:[edi] */
	/* 4a */ 0x66,
	0xe7,
	0xe2, /* out 0xe2, eax */
	/* 4d */ 0x26,
	0x67,
	0x66,
	0xc7,
	0x07, /* mov dword es:[edi], ... */
	/* 52 */ 0x78,
	0x56,
	0x34,
	0x12, /* ... 0x12345678 */
	/* 56 */ 0xb0,
	0x02,
	0xe6,
	0xe1, /* out 0xe1, 2 */
	/* 5a */ 0x66,
	0xbf,
	0x00,
	0x10,
	0x00,
	0xe0, /* mov edi, 0xe0001000 */
	/* 60 */ 0x26,
	0x67,
	0x66,
	0x8b,
	0x07, /* mov eax, es:[edi] */
	/* 65 */ 0x66,
	0xe7,
	0xe2, /* out 0xe2, eax */
	/* 68 */ 0xb0,
	0x00,
	0xe6,
	0xe4, /* out 0xe4, 0 */
	/* 6c */ 0xf4,
	0xeb,
	0xfd, /* 1: hlt; jmp 1b */
	/* 7a */ 0,
	0,
	0,
	0,
	/* 7e */ 0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	/* 86 */ 0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	/* 8e */ 0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	/* 96 */ 0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	/* 9e */ 0,
	0,
	/* a0 gdt: null, flat data (base 0, limit 4 GiB) */
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0xff,
	0xff,
	0x00,
	0x00,
	0x00,
	0x92,
	0xcf,
	0x00,
	/* b0 gdtr: limit 15, base 0xf00a0 */
	0x0f,
	0x00,
	0xa0,
	0x00,
	0x0f,
	0x00,
};

static int memfd_of(const char *name, size_t size, uint8_t **map)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return -1;
	*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return *map == MAP_FAILED ? -1 : fd;
}

static int map(struct fake_dm *d, uint64_t gpa, uint64_t size, uint32_t flags, int fd)
{
	struct hvm_map m = { .gpa = gpa, .size = size, .flags = flags };

	return hvm_msg_call(d->sock, HVM_MSG_MAP, &m, sizeof(m), &fd, 1, NULL, 0, NULL);
}

static int dirty_log(struct fake_dm *d, uint8_t *bm, size_t cap, size_t *len)
{
	struct hvm_map m = { .gpa = DIRTY_GPA };

	return hvm_msg_call(d->sock, HVM_MSG_DIRTY_LOG, &m, sizeof(m), NULL, 0, bm, cap, len);
}

static void check_dirty(struct fake_dm *d, bool exact_clear)
{
	uint8_t bm[8] = { 0 }, bm2[8] = { 0 };
	size_t len = 0, len2 = 0;

	CHECK_EQ(dirty_log(d, bm, sizeof(bm), &len), 0);
	CHECK_EQ(len, DIRTY_SIZE / 4096 / 8);
	/* Exactly pages 1 and 3 were written. */
	CHECK_EQ(bm[0], 0x0a);
	CHECK_EQ(bm[1], 0x00);
	/* Fetching clears: nothing new was written since (emu may repeat, never add). */
	CHECK_EQ(dirty_log(d, bm2, sizeof(bm2), &len2), 0);
	if (exact_clear)
		CHECK_EQ(bm2[0], 0);
	CHECK_EQ(bm2[0] & ~bm[0], 0);
	CHECK_EQ(bm2[1], 0);
}

int main(int argc, char **argv)
{
	const char *accel = argc > 1 ? argv[1] : "kvm";
	char dir[64], sock[128], log[192], out[192], bios[192];
	char *hv_argv[] = { HVMHV_PATH,	   "-d",    "6",  "-setup", sock, "-m",	   "8",	  "-accel",
			    (char *)accel, "-bios", bios, "-log",   log,  "-name", "map", NULL };
	struct hvm_map un = { .gpa = DIRTY_GPA, .size = DIRTY_SIZE };
	uint8_t *dirty, *ro;
	unsigned e2 = 0, step = 0;
	int dfd, rfd, st;
	struct fake_dm d;
	struct ioreq r;
	pid_t pid;

	if (strcmp(accel, "kvm") && strcmp(accel, "emu"))
		return 2;
	if (!strcmp(accel, "kvm") && !hvt_have_kvm())
		return HVT_SKIP;
	if (hvt_tmpdir(dir, sizeof(dir)))
		return 1;
	snprintf(sock, sizeof(sock), "%s/setup.sock", dir);
	snprintf(log, sizeof(log), "%s/hv.log", dir);
	snprintf(out, sizeof(out), "%s/hv.out", dir);
	snprintf(bios, sizeof(bios), "%s/bios.bin", dir);
	CHECK_EQ(hvt_write_bios(bios, guest_map, sizeof(guest_map)), 0);
	dfd = memfd_of("dirty", DIRTY_SIZE, &dirty);
	rfd = memfd_of("ro", 4096, &ro);
	if (dfd < 0 || rfd < 0)
		return 1;
	*(uint32_t *)ro = RO_MAGIC;
	pid = hvt_spawn(hv_argv, out);
	CHECK_EQ(fake_dm_attach(&d, sock, 6), 0);
	/* Refused: overlapping RAM, unaligned, unknown flag. */
	CHECK_EQ(map(&d, 0x100000, 4096, 0, dfd), -EEXIST);
	CHECK_EQ(map(&d, DIRTY_GPA + 1, 4096, 0, dfd), -EINVAL);
	CHECK_EQ(map(&d, DIRTY_GPA, 4096, 0x80, dfd), -EINVAL);
	CHECK_EQ(map(&d, DIRTY_GPA, DIRTY_SIZE, HVM_MAP_F_DIRTY_LOG, dfd), 0);
	CHECK_EQ(map(&d, DIRTY_GPA + 4096, 4096, 0, rfd), -EEXIST);
	CHECK_EQ(map(&d, RO_GPA, 4096, HVM_MAP_F_READONLY, rfd), 0);
	CHECK_EQ(fake_dm_call(&d, HVM_MSG_READY, NULL, 0), 0);

	while (step < 3) {
		int v = fake_dm_next(&d, &r, 20000, NULL, NULL);
		bool rd = r.flags & IOREQ_F_DIR_READ;
		uint64_t answer = 0;

		if (v < 0) {
			CHECK(!"guest request timed out");
			break;
		}
		if (r.type == IOREQ_TYPE_PIO && !rd && r.addr == 0xe1 && r.data == 1) {
			/* Dirty-logged RAM: written without a single exit. */
			CHECK_EQ(*(uint32_t *)(dirty + 0x1000), 0x11111111);
			CHECK_EQ(*(uint32_t *)(dirty + 0x3008), 0x33333333);
			check_dirty(&d, !strcmp(accel, "kvm"));
			step = 1;
		} else if (r.type == IOREQ_TYPE_PIO && !rd && r.addr == 0xe2) {
			CHECK_EQ(r.size, 4);
			CHECK_EQ(r.data, e2++ == 0 ? RO_MAGIC : MMIO_MAGIC);
		} else if (r.type == IOREQ_TYPE_COPY && !rd && r.addr == RO_GPA) {
			/* A write to the read-only map may surface as MMIO; it is not stored. */
			CHECK_EQ(r.data, 0x12345678);
		} else if (r.type == IOREQ_TYPE_PIO && !rd && r.addr == 0xe1 && r.data == 2) {
			CHECK_EQ(fake_dm_call(&d, HVM_MSG_UNMAP, &un, sizeof(un)), 0);
			CHECK_EQ(fake_dm_call(&d, HVM_MSG_UNMAP, &un, sizeof(un)), -ENOENT);
			step = 2;
		} else if (r.type == IOREQ_TYPE_COPY && rd && r.addr == DIRTY_GPA + 0x1000) {
			CHECK_EQ(step, 2);
			answer = MMIO_MAGIC;
		} else if (r.type == IOREQ_TYPE_PIO && !rd && r.addr == 0xe4) {
			struct hvm_shutdown sd = { .reason = HVM_SHUTDOWN_POWEROFF };

			CHECK_EQ(fake_dm_call(&d, HVM_MSG_SHUTDOWN, &sd, sizeof(sd)), 0);
			step = 3;
		} else {
			fprintf(stderr, "unexpected request type %u addr %#llx\n", r.type,
				(unsigned long long)r.addr);
			CHECK(0);
		}
		fake_dm_respond(&d, (unsigned)v, answer);
	}
	st = hvt_wait(pid, 30);
	CHECK_EQ(st, HVM_EXIT_POWEROFF);
	CHECK_EQ(step, 3);
	CHECK_EQ(e2, 2);
	CHECK_EQ(*(uint32_t *)ro, RO_MAGIC);
	fake_dm_detach(&d);
	st = tap_done();
	if (!st)
		hvt_rmdir(dir);
	else
		fprintf(stderr, "files kept in %s\n", dir);
	return st;
}
