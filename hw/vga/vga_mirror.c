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
 *
 * Mapped image.  A text console also writes the window a few hundred
 * times per line, and each write cost the vCPU an exit and a slot in the
 * buffered ring.  So when we validate, we also map the live range of the
 * image into the guest as ordinary memory (HVM_MSG_MAP of the image's
 * memfd): window reads and writes there then never leave the guest.  While
 * it is mapped the image, not VRAM, holds the window's bytes; VRAM catches
 * up by folding (fold(): every image byte that differs is written to the
 * VRAM byte that window offset decodes to, with the decoding saved when we
 * mapped, since simple decoding has no other effect).  We fold before we
 * draw (vga_mirror_sync()) and when we unmap.  We unmap in
 * vga_mirror_invalidate(), which runs before the decoding or VRAM changes
 * by any path.  Those are synchronous requests (sequencer, graphics
 * controller, the Cirrus and VBE extension registers and their BAR
 * aliases, framebuffer accesses), so the guest is stopped while we unmap
 * and fold, and the hv applies the unmap before its next instruction.  The
 * misc output register, the one posted mode port, does not take part in
 * the window's decoding here, so its writes leave the mapping alone.
 * HVM_VGA_MAP_WINDOW=0 keeps every window access trapping.
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

/*
 * Window writes that find the image invalid before we validate at the
 * guest's next synchronous request to any device (dm_add_stopped_hook()): a
 * console that only writes gives us no window reads to count.
 */
#define VGA_MIRROR_WRITE_MISSES 256

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

/* VRAM byte of window offset o (from the live range's start) while mapped. */
static uint32_t mapped_vram_offset(const struct vga *v, uint32_t o)
{
	if (v->mirror.chain4)
		return o & v->vram_mask;
	return (((o & ~1u) * 4) | v->mirror.plane_hi | (o & 1)) & v->vram_mask;
}

/*
 * Copy what the guest changed in the mapped image into VRAM.  The guest may
 * be writing meanwhile: each byte is read once, and a byte written after we
 * passed it is caught by the next fold.
 */
static void fold(struct vga *v)
{
	const volatile uint8_t *img = v->mirror.image + v->mirror.map_off;

	for (uint32_t o = 0; o < v->mirror.map_len; o++) {
		uint8_t b = img[o];
		uint32_t at = mapped_vram_offset(v, o);

		if (v->vram[at] != b) {
			v->vram[at] = b;
			vga_mark_dirty(v, at, 1);
			v->mirror.folded++;
		}
	}
}

void vga_mirror_sync(struct vga *v)
{
	if (v->mirror.mapped)
		fold(v);
}

/* Map the live range of the image (validated just now, guest stopped). */
static void map_image(struct vga *v, uint32_t off, uint32_t len)
{
	const struct vga_mirror_map_ops *ops = v->mirror.map_ops;

	if (!ops || v->mirror.mapped)
		return;
	if (ops->map(v->dm, VGA_WINDOW_GPA + off, len, v->mirror.fd,
		     HVM_MMIO_MIRROR_IMAGE_OFFSET + off)) {
		v->mirror.map_ops = NULL; /* refused once: keep trapping */
		dm_info("vga", "the window image cannot be mapped into the guest; "
			       "window writes stay trapped");
		return;
	}
	v->mirror.mapped = true;
	v->mirror.chain4 = (v->sr[4] & 0x08) != 0;
	v->mirror.plane_hi = v->gr[4] & 2;
	v->mirror.map_off = off;
	v->mirror.map_len = len;
	v->mirror.maps++;
}

/* Take the image out of the guest, then bring VRAM up to date with it. */
static void unmap_image(struct vga *v)
{
	int err;

	if (!v->mirror.mapped)
		return;
	if (v->dm->ioreq && !ioreq_guest_stopped(v->dm))
		dm_warn("vga", "window image unmapped while the guest runs");
	err = v->mirror.map_ops->unmap(v->dm, VGA_WINDOW_GPA + v->mirror.map_off,
				       v->mirror.map_len);
	if (err)
		dm_warn("vga", "unmapping the window image: %s", strerror(-err));
	fold(v);
	v->mirror.mapped = false;
}

void vga_mirror_window_write(struct vga *v, uint64_t off)
{
	const struct hvm_mmio_mirror_hdr *h = hdr_of(v);

	/*
	 * While mapped the guest writes the image, not us; should a write still
	 * reach us there, VRAM is brought up to date before it lands.
	 */
	if (v->mirror.mapped && off - v->mirror.map_off < v->mirror.map_len)
		vga_mirror_invalidate(v);
	else if (h && __atomic_load_n(&h->state, __ATOMIC_RELAXED) == HVM_MMIO_MIRROR_INVALID &&
		 ++v->mirror.write_misses >= VGA_MIRROR_WRITE_MISSES)
		v->mirror.want_validate = true;
}

/* The guest is stopped in a synchronous request: validate if writes asked for it. */
static void guest_stopped(void *opaque)
{
	struct vga *v = opaque;

	if (!v->mirror.want_validate)
		return;
	v->mirror.want_validate = false;
	v->mirror.write_misses = 0;
	if (!vga_mirror_valid(v))
		vga_mirror_try_validate(v);
}

void vga_mirror_invalidate(struct vga *v)
{
	struct hvm_mmio_mirror_hdr *h = hdr_of(v);

	if (!h)
		return;
	unmap_image(v);
	/* Release: the change that made the image stale is ordered before. */
	__atomic_store_n(&h->state, HVM_MMIO_MIRROR_INVALID, __ATOMIC_RELEASE);
	v->mirror.misses = 0;
}

bool vga_mirror_try_validate(struct vga *v)
{
	struct hvm_mmio_mirror_hdr *h = hdr_of(v);
	uint32_t off, len;

	if (!h)
		return false;
	vga_mirror_sync(v); /* the rebuild below reads VRAM */
	if (!vga_window_simple(v, &off, &len)) {
		unmap_image(v);
		return false;
	}
	if (v->mirror.mapped && (off != v->mirror.map_off || len != v->mirror.map_len))
		unmap_image(v);
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
	map_image(v, off, len);
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
	/* Harmless after a destroy: no writes are counted without the image. */
	if (dm_add_stopped_hook(v->dm, guest_stopped, v))
		dm_warn("vga", "no stopped hook left: only window reads validate");
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

void vga_mirror_destroy(struct vga *v)
{
	if (v->mirror.rebuilds)
		dm_info("vga",
			"window image for the hypervisor rebuilt %llu times, mapped into the "
			"guest %llu times, %llu bytes folded into VRAM",
			(unsigned long long)v->mirror.rebuilds, (unsigned long long)v->mirror.maps,
			(unsigned long long)v->mirror.folded);
	if (v->mirror.hdr)
		munmap(v->mirror.hdr, MIRROR_MAP_LEN);
	if (v->mirror.fd >= 0)
		close(v->mirror.fd);
	v->mirror.hdr = NULL;
	v->mirror.image = NULL;
	v->mirror.fd = -1;
}

static int hv_map(struct dm *dm, uint64_t gpa, uint64_t size, int fd, uint64_t offset)
{
	return dm_map_memfd(dm, gpa, size, fd, offset, 0);
}

static const struct vga_mirror_map_ops hv_map_ops = {
	.map = hv_map,
	.unmap = dm_unmap,
};

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
	if (!err) {
		env = getenv("HVM_VGA_MAP_WINDOW");
		if (!env || strcmp(env, "0"))
			v->mirror.map_ops = &hv_map_ops;
		return 0;
	}
	if (err == -ENOSYS)
		dm_info("vga", "the hypervisor has no MMIO mirror: window reads stay synchronous");
	else
		dm_warn("vga", "SET_MMIO_MIRROR: %s; window reads stay synchronous",
			strerror(-err));
	vga_mirror_destroy(v);
	return 0;
}
