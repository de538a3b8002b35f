// SPDX-License-Identifier: MIT
/*
 * vga_mirror.c - the dm's half of the MMIO mirror of the legacy window
 * (HVM_MSG_SET_MMIO_MIRROR, include/hvm/setup.h; the hv's half is
 * hypervisor/mmio_mirror.c).
 *
 * A text console reads the window to scroll (vgacon copies the screen back
 * to the start of the window with rep movs every screenful or so); each
 * read used to be a round trip to us.  The hv now answers them from an
 * image of the window while the image is VALID.  We decide when that may
 * be: the window decodes "simply" (vga_window_simple(): a write of b at a
 * makes later reads of a return b, touches nothing else, and reads have no
 * side effects) and the guest is stopped in a synchronous request of ours
 * (ioreq_guest_stopped()), so VRAM is current.  Then we copy the live part
 * of the window into the image and store VALID.  From then on the hv keeps
 * the image in step with the writes it sends and drops it (INVALID) before
 * sending a write to a mode port; we drop it whenever the window changes
 * any other way (vga_mirror_invalidate(): register aliases in BARs, VBE,
 * blits, the linear framebuffer, reset).
 *
 * The linear framebuffer is VRAM mapped straight into the guest, so its
 * writes would change the window behind the image's back: while we
 * validate, the device withdraws that mapping (vga_ext_ops.mirror_trap),
 * and the first framebuffer access that then reaches us drops the image
 * and restores the mapping.
 *
 * We never read anything the hv writes into the image or the header but
 * the state word (and only to skip work): the image is rebuilt from VRAM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vga.h"
#include "dm.h"
#include "hvlink.h"
#include "ioreq.h"
#include "log.h"

#define VGA_WINDOW_GPA 0xa0000u
#define VGA_WINDOW_LEN 0x20000u
#define MIRROR_MAP_LEN (HVM_MMIO_MIRROR_IMAGE_OFFSET + VGA_WINDOW_LEN)

/*
 * Synchronous window reads that find the image invalid before we rebuild
 * it: a rebuild copies up to 128 KiB, so a guest that keeps flipping the
 * mode between reads must not pay one per read.
 */
#define VGA_MIRROR_MISSES 16

bool vga_window_simple(const struct vga *v, uint32_t *live_off, uint32_t *live_len)
{
	static const uint32_t off[4] = { 0, 0, 0x10000, 0x18000 };
	static const uint32_t len[4] = { 0x20000, 0x10000, 0x8000, 0x8000 };
	unsigned map = (v->gr[6] >> 2) & 3, plane;

	*live_off = off[map];
	*live_len = len[map];
	if (v->ext && v->ext->window_plain && !v->ext->window_plain(v->ext_opaque))
		return false; /* an extension (VBE bank, Cirrus) decodes the window */
	if (v->sr[4] & 0x08)  /* chain 4: byte a is VRAM byte a, write if its plane is on */
		return (v->sr[2] & 0x0f) == 0x0f && *live_len <= v->vram_size;
	if (!(v->gr[5] & 0x10))
		return false; /* planar: reads load the latches, writes mix them */
	/* Odd/even: a lands in plane (GR4 bit 1) | (a & 1) at VRAM (a & ~1) * 4. */
	plane = v->gr[4] & 2;
	return (v->sr[2] & (3u << plane)) == (3u << plane) && *live_len * 4 <= v->vram_size;
}

/* Where the mirror's memory is (NULL: no mirror). */
static struct hvm_mmio_mirror_hdr *hdr_of(const struct vga *v)
{
	return v->mirror.hdr;
}

bool vga_mirror_valid(const struct vga *v)
{
	const struct hvm_mmio_mirror_hdr *h = hdr_of(v);

	return h && __atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == HVM_MMIO_MIRROR_VALID;
}

const uint8_t *vga_mirror_image(const struct vga *v)
{
	return v->mirror.image;
}

void vga_mirror_invalidate(struct vga *v)
{
	struct hvm_mmio_mirror_hdr *h = hdr_of(v);

	if (!h)
		return;
	/* Release: the change that made the image stale is ordered before. */
	__atomic_store_n(&h->state, HVM_MMIO_MIRROR_INVALID, __ATOMIC_RELEASE);
	v->mirror.misses = 0;
}

bool vga_mirror_try_validate(struct vga *v)
{
	struct hvm_mmio_mirror_hdr *h = hdr_of(v);
	uint32_t off, len;

	if (!h || !vga_window_simple(v, &off, &len))
		return false;
	if (v->ext && v->ext->mirror_trap)
		v->ext->mirror_trap(v->ext_opaque, true);
	memset(v->mirror.image, 0xff, VGA_WINDOW_LEN); /* not decoded: reads all-ones */
	/* Side-effect free in every simple mode (no latches). */
	for (uint32_t a = off; a < off + len; a++)
		v->mirror.image[a] = vga_mem_readb(v, a);
	h->live_off = off;
	h->live_len = len;
	h->validations = ++v->mirror.rebuilds;
	/* Release: the image and the live range are visible before VALID. */
	__atomic_store_n(&h->state, HVM_MMIO_MIRROR_VALID, __ATOMIC_RELEASE);
	return true;
}

void vga_mirror_window_read(struct vga *v)
{
	const struct hvm_mmio_mirror_hdr *h = hdr_of(v);

	if (!h || __atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != HVM_MMIO_MIRROR_INVALID)
		return;
	if (++v->mirror.misses < VGA_MIRROR_MISSES || !ioreq_guest_stopped(v->dm))
		return;
	v->mirror.misses = 0;
	vga_mirror_try_validate(v);
}

int vga_mirror_create(struct vga *v)
{
	int fd = memfd_create("hvm-vga-mirror", MFD_CLOEXEC | MFD_ALLOW_SEALING), err;
	void *at;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, MIRROR_MAP_LEN) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	at = mmap(NULL, MIRROR_MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (at == MAP_FAILED)
		goto fail;
	v->mirror.hdr = at;
	v->mirror.image = (uint8_t *)at + HVM_MMIO_MIRROR_IMAGE_OFFSET;
	v->mirror.fd = fd;
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

void vga_mirror_destroy(struct vga *v)
{
	if (v->mirror.rebuilds)
		dm_info("vga", "window image for the hypervisor rebuilt %llu times",
			(unsigned long long)v->mirror.rebuilds);
	if (v->mirror.hdr)
		munmap(v->mirror.hdr, MIRROR_MAP_LEN);
	if (v->mirror.fd >= 0)
		close(v->mirror.fd);
	v->mirror.hdr = NULL;
	v->mirror.image = NULL;
	v->mirror.fd = -1;
}

int vga_mirror_start(struct vga *v, const struct hvm_range *ports, unsigned n)
{
	struct hvm_mmio_mirror_set set = { .gpa = VGA_WINDOW_GPA, .len = VGA_WINDOW_LEN };
	const char *env = getenv("HVM_MMIO_MIRROR");
	int err;

	if (v->dm->setup_sock < 0 || (env && !strcmp(env, "0")))
		return 0;
	if (v->dm->info.nr_vcpus != 1) {
		dm_info("vga", "%u vCPUs: window reads stay synchronous (no MMIO mirror)",
			v->dm->info.nr_vcpus);
		return 0;
	}
	if (n > HVM_MMIO_MIRROR_MAX_PORTS)
		return -EINVAL; /* a device bug, not a host problem */
	set.nr_ports = n;
	memcpy(set.ports, ports, n * sizeof(*ports));
	err = vga_mirror_create(v);
	if (err) {
		dm_warn("vga", "MMIO mirror image: %s; window reads stay synchronous",
			strerror(-err));
		return 0;
	}
	err = hvlink_call(v->dm, HVM_MSG_SET_MMIO_MIRROR, &set, sizeof(set), &v->mirror.fd, 1, NULL,
			  0, NULL);
	if (!err)
		return 0;
	if (err == -ENOSYS)
		dm_info("vga", "the hypervisor has no MMIO mirror: window reads stay synchronous");
	else
		dm_warn("vga", "SET_MMIO_MIRROR: %s; window reads stay synchronous",
			strerror(-err));
	vga_mirror_destroy(v);
	return 0;
}
