// SPDX-License-Identifier: MIT
/*
 * test_vga_mirror.c - the window's MMIO mirror (HVM_MSG_SET_MMIO_MIRROR)
 * against the real VGA models: random register writes (ports and their BAR
 * aliases, VBE, resets), window writes and reads, and framebuffer writes
 * through std VGA and the Cirrus, with hvmhv's own half of the protocol
 * (hypervisor/mmio_mirror.c) doing what hvmhv does: apply every window
 * write to the image before the dm sees it, drop the image before a mode
 * port write, answer reads from the image while it is valid.  Whenever the
 * image is valid it must equal a fresh read of every live address through
 * the device, and every read the hv answers must be what the device would
 * have answered.
 *
 * Mapped image: the same random run on two devices at once, a reference
 * that traps every window access and one whose validated image this test
 * maps as the hv would (guest accesses inside the mapped range go to the
 * image as memory).  Every read must agree, and VRAM must be the same
 * whenever the image is not mapped (so the fold at unmap lost nothing) and
 * after vga_mirror_sync() while it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "dm.h"
#include "pci/pci.h"
#include "tap.h"
#include "vga/vga.h"
#include "../../hypervisor/ioreq.h"

#define WIN 0xa0000u
#define WIN_LEN 0x20000u
#define BAR0 0xe0000000u
#define BAR_MMIO 0xe2000000u
#define STEPS 10000

static struct dm *dm;

/* Both devices start with the VGA core, then their PCI function. */
struct vga_pci_view {
	struct vga vga;
	struct pci_func pci;
};
static struct vga *vga;
static struct ioreq_prod hv;
static unsigned long long rnd_state = 88172645463325252ull;
static unsigned validations, hv_answers, checks;
static bool is_cirrus;

/* The differential run: the reference side, and what the fake hv mapped. */
static bool on_ref;
static struct dm *dm_ref, *dm_dir;
static struct vga *vga_ref, *vga_dir;
static uint64_t ref_read;
static uint64_t map_gpa, map_len;
static unsigned maps, mapped_accesses, vram_checks;

static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state % n);
}

/* A guest port write as hvmhv sends it: mode ports drop the image first. */
static void out(uint16_t port, unsigned size, uint64_t v)
{
	if (!on_ref)
		ioreq_mmio_mirror_port_write(&hv, port, size);
	io_dispatch(dm, IO_PIO, port, size, true, &v);
}

/* Whether guest byte a is memory now (the image, mapped by the fake hv). */
static bool mapped(uint64_t a)
{
	return !on_ref && map_len && a - map_gpa < map_len;
}

/*
 * A guest MMIO write: the hv applies it to the image, then the dm to VRAM.
 * Bytes in the mapped range go to the image as memory instead.
 */
static void mmio_write(uint64_t a, unsigned size, uint64_t v)
{
	if (size > 1 && (mapped(a) || mapped(a + size - 1))) {
		for (unsigned i = 0; i < size; i++)
			mmio_write(a + i, 1, (v >> (8 * i)) & 0xff);
		return;
	}
	if (mapped(a)) {
		vga->mirror.image[a - WIN] = (uint8_t)v;
		mapped_accesses++;
		return;
	}
	if (!on_ref)
		ioreq_mmio_mirror_write(&hv, a, size, v, true);
	io_dispatch(dm, IO_MMIO, a, size, true, &v);
}

/* A device read of the window without going through the mirror. */
static uint64_t device_read(uint64_t a, unsigned size)
{
	uint64_t v = 0;

	io_dispatch(dm, IO_MMIO, a, size, false, &v);
	return v;
}

/*
 * A guest MMIO read: the hv answers from the image or asks the dm, which
 * may then validate (as vga_mirror_window_read() does with the guest
 * stopped; here every synchronous read is such a moment).
 */
/* In the differential run, a read must return what the reference read. */
static void want_ref(uint64_t a, uint64_t v)
{
	if (!dm_ref || v == ref_read)
		return;
	printf("# read at %#llx: %#llx, the reference read %#llx%s\n", (unsigned long long)a,
	       (unsigned long long)v, (unsigned long long)ref_read, map_len ? " (mapped)" : "");
	CHECK_EQ(v, ref_read);
	exit(tap_done());
}

static void guest_read(uint64_t a, unsigned size)
{
	uint64_t v = 0, want;

	if (on_ref) {
		ref_read = device_read(a, size);
		return;
	}
	if (mapped(a) || mapped(a + size - 1)) {
		for (unsigned i = 0; i < size; i++)
			v |= (mapped(a + i) ? vga->mirror.image[a + i - WIN]
					    : device_read(a + i, 1))
			     << (8 * i);
		mapped_accesses++;
		want_ref(a, v);
		return;
	}
	if (ioreq_mmio_mirror_read(&hv, a, size, &v)) {
		hv_answers++;
		want = device_read(a, size);
		if (v != want) {
			CHECK_EQ(v, want);
			exit(tap_done());
		}
		want_ref(a, v);
		return;
	}
	want_ref(a, device_read(a, size));
	if (rnd(4) == 0 && vga_mirror_try_validate(vga))
		validations++;
}

/* Whenever the image is valid it is what the window reads, byte by byte. */
static void check_image(void)
{
	const struct hvm_mmio_mirror_hdr *h = vga->mirror.hdr;
	const uint8_t *img = vga_mirror_image(vga);

	if (!vga_mirror_valid(vga))
		return;
	checks++;
	for (uint64_t a = h->live_off; a < h->live_off + h->live_len; a++) {
		uint8_t want = (uint8_t)vga->mem.ops->read(vga->mem.opaque, a, 1);

		if (img[a] != want) {
			printf("# image byte %#llx is %#x, the window reads %#x\n",
			       (unsigned long long)(WIN + a), img[a], want);
			CHECK(img[a] == want);
			exit(tap_done());
		}
	}
}

/* BAR0 (framebuffer) and the register BAR where the tests expect them. */
static void map_bars(void)
{
	struct pci_bus *bus = pci_bus_of(dm);

	pci_bus_config_write(bus, 0, PCI_DEVFN(2, 0), 0x10, BAR0, 4);
	pci_bus_config_write(bus, 0, PCI_DEVFN(2, 0), is_cirrus ? 0x14 : 0x18, BAR_MMIO, 4);
	pci_bus_config_write(bus, 0, PCI_DEVFN(2, 0), PCI_COMMAND, 0x3, 2);
}

/*
 * A framebuffer write (trapped: no hypervisor mapping here) in the first
 * 128 KiB of VRAM, which every window maps.
 */
static void lfb_write(void)
{
	mmio_write(BAR0 + rnd(0x20000), 1, rnd(256));
}

/* Text mode: odd/even at B8000 on planes plane and plane + 1 (0 or 2). */
static void text_mode(uint8_t plane)
{
	out(0x3c4, 1, 2), out(0x3c5, 1, 0x03u << plane);
	out(0x3c4, 1, 4), out(0x3c5, 1, 0x02);
	out(0x3ce, 1, 4), out(0x3cf, 1, plane);
	out(0x3ce, 1, 5), out(0x3cf, 1, 0x10);
	out(0x3ce, 1, 6), out(0x3cf, 1, 0x0e);
}

/* Register values that make simple modes likely, with random ones mixed in. */
static void random_register(void)
{
	static const uint8_t sr_idx[] = { 2, 4, 2, 4, 7, 0x17 };
	static const uint8_t gr_idx[] = { 4, 5, 6, 0, 1, 3, 8, 9, 0x0b };
	static const uint8_t sr_vals[] = { 0x03, 0x0f, 0x02, 0x0e, 0x06, 0x0c, 0x01 };
	static const uint8_t gr_vals[] = { 0x10, 0x0e, 0x05, 0x40, 0x00,
					   0x02, 0x0c, 0x04, 0xff, 0x12 };
	uint8_t i, val;

	switch (rnd(11)) {
	case 0: /* text mode; now and then on planes 2 and 3 */
		text_mode(rnd(4) ? 0 : 2);
		break;
	case 1: /* mode 13h: chain 4 at A0000 */
		out(0x3c4, 1, 2), out(0x3c5, 1, 0x0f);
		out(0x3c4, 1, 4), out(0x3c5, 1, 0x0e);
		out(0x3ce, 1, 5), out(0x3cf, 1, 0x40);
		out(0x3ce, 1, 6), out(0x3cf, 1, 0x05 | (rnd(4) << 2));
		break;
	case 2:
	case 3:
		i = sr_idx[rnd(sizeof(sr_idx))];
		val = rnd(3) ? sr_vals[rnd(sizeof(sr_vals))] : (uint8_t)rnd(256);
		if (i == 7 && !is_cirrus)
			break;
		if (i == 7 || i == 0x17)
			val &= rnd(4) ? 0x00 : 0xff; /* Cirrus extensions now and then */
		out(0x3c4, 1, i), out(0x3c5, 1, val);
		break;
	case 4:
	case 5:
		i = gr_idx[rnd(sizeof(gr_idx))];
		val = rnd(3) ? gr_vals[rnd(sizeof(gr_vals))] : (uint8_t)rnd(256);
		if (i == 6 && rnd(2))
			val = (uint8_t)(rnd(4) << 2 | rnd(2)); /* another memory map */
		out(0x3ce, 1, i), out(0x3cf, 1, val);
		break;
	case 6: /* the same registers through the BAR alias, which the hv does not see */
		i = rnd(2) ? 2 : 4;
		val = sr_vals[rnd(sizeof(sr_vals))];
		if (is_cirrus) {
			uint64_t x = i;

			io_dispatch(dm, IO_MMIO, BAR_MMIO + 4, 1, true, &x);
			x = val;
			io_dispatch(dm, IO_MMIO, BAR_MMIO + 5, 1, true, &x);
		} else {
			uint64_t x = i;

			io_dispatch(dm, IO_MMIO, BAR_MMIO + 0x404, 1, true, &x);
			x = val;
			io_dispatch(dm, IO_MMIO, BAR_MMIO + 0x405, 1, true, &x);
		}
		break;
	case 7:
	case 8:
		lfb_write();
		break;
	case 9:
		if (!is_cirrus) { /* VBE: banked window, or enabled with the LFB */
			uint64_t x = rnd(2) ? 0 : (rnd(2) ? 0x81 : 0xc1);

			/* Through BAR2 (0x500 + 2 * index), which the hv does not see. */
			if (rnd(2)) {
				io_dispatch(dm, IO_MMIO, BAR_MMIO + 0x500 + 2 * 4, 2, true, &x);
				x = rnd(4);
				io_dispatch(dm, IO_MMIO, BAR_MMIO + 0x500 + 2 * 5, 2, true, &x);
				break;
			}
			out(0x1ce, 2, 4);
			out(0x1cf, 2, x);
			out(0x1ce, 2, 5);
			out(0x1cf, 2, rnd(4));
		} else { /* a reset-like BitBLT register poke via BAR1 */
			uint64_t x = rnd(256);

			io_dispatch(dm, IO_MMIO, BAR_MMIO + 0x100 + rnd(0x20), 1, true, &x);
		}
		break;
	default:
		if (rnd(8) == 0) {
			dev_reset_all(dm, DEV_RESET_WARM);
			map_bars();
		}
		break;
	}
}

/* One random guest access or register change. */
static void random_step(void)
{
	unsigned size = 1u << rnd(3);
	/* Half of the accesses in the text window, where a console works. */
	uint64_t a = rnd(2) ? WIN + rnd(WIN_LEN - size + 1) : 0xb8000 + rnd(0x8000);

	switch (rnd(32)) {
	case 0:
		random_register();
		break;
	case 1:
		lfb_write();
		break;
	case 2 ... 12:
		mmio_write(a, size, rnd(0x10000) * 0x10001ull);
		break;
	default:
		guest_read(a, size);
		break;
	}
}

/* The window and the mode ports of both cards, as the devices offer them. */
static const struct hvm_mmio_mirror_set mirror_set = {
	.gpa = WIN,
	.len = WIN_LEN,
	.nr_ports = 4,
	.ports = { { 0x3c2, 1 }, { 0x3c4, 2 }, { 0x3ce, 2 }, { 0x1ce, 3 } },
};

/* A standalone dm with the chipset and the card; returns the card's VGA core. */
static struct vga *make_side(const char *type, struct dm **out_dm)
{
	struct dev *d;

	CHECK_EQ(dm_create_standalone(16 << 20, out_dm), 0);
	CHECK_EQ(dev_create(*out_dm, "i440fx", NULL, NULL), 0);
	CHECK_EQ(dev_create(*out_dm, type, NULL, &d), 0);
	return d->state; /* struct vga is the first member of both devices */
}

static void run(const char *type)
{
	unsigned step;

	is_cirrus = !strcmp(type, "cirrus");
	validations = hv_answers = checks = 0;
	vga = make_side(type, &dm);
	map_bars();
	CHECK_EQ(pci_bar_addr(&((struct vga_pci_view *)vga)->pci, 0), BAR0);
	CHECK_EQ(vga_mirror_create(vga), 0);
	memset(&hv, 0, sizeof(hv));
	hv.nr_vcpus = 1;
	CHECK_EQ(ioreq_set_mmio_mirror(&hv, &mirror_set, vga->mirror.fd), 0);
	out(0x3c2, 1, 0x67);
	for (step = 0; step < STEPS; step++) {
		random_step();
		check_image();
	}
	printf("# %s: %u validations, %u reads answered from the image, %u checks\n", type,
	       validations, hv_answers, checks);
	CHECK(validations > 20);
	CHECK(hv_answers > 200);
	ioreq_mmio_mirror_free(&hv);
	dm_destroy(dm);
}

/* The hv's side of mapping the image, as the emulator backend does it. */
static int fake_map(struct dm *d, uint64_t gpa, uint64_t size, int fd, uint64_t offset)
{
	CHECK(d == dm_dir && !map_len);
	CHECK(gpa >= WIN && gpa + size <= WIN + WIN_LEN && size && !((gpa | size) & 4095));
	CHECK_EQ(offset, HVM_MMIO_MIRROR_IMAGE_OFFSET + (gpa - WIN));
	CHECK_EQ(fd, vga_dir->mirror.fd);
	map_gpa = gpa;
	map_len = size;
	maps++;
	return 0;
}

static int fake_unmap(struct dm *d, uint64_t gpa, uint64_t size)
{
	CHECK(d == dm_dir && map_len);
	CHECK_EQ(gpa, map_gpa);
	CHECK_EQ(size, map_len);
	map_len = 0;
	return 0;
}

static const struct vga_mirror_map_ops fake_map_ops = {
	.map = fake_map,
	.unmap = fake_unmap,
};

#define VRAM_CMP (512u << 10) /* as far as the window reaches without banks */

/* VRAM of both sides, the same whenever the image is not mapped. */
static void check_vram(unsigned step, uint32_t len)
{
	if (map_len) {
		if (step % 8)
			return;
		vga_mirror_sync(vga_dir); /* as before a scan-out */
	}
	vram_checks++;
	for (uint32_t o = 0; o < len; o++) {
		if (vga_ref->vram[o] == vga_dir->vram[o])
			continue;
		printf("# step %u: VRAM byte %#x is %#x, the reference has %#x%s\n", step, o,
		       vga_dir->vram[o], vga_ref->vram[o], map_len ? " (mapped)" : "");
		CHECK(vga_ref->vram[o] == vga_dir->vram[o]);
		exit(tap_done());
	}
}

static void side(bool ref)
{
	on_ref = ref;
	dm = ref ? dm_ref : dm_dir;
	vga = ref ? vga_ref : vga_dir;
}

/* The same steps on a trapping reference and a side whose image gets mapped. */
static void run_mapped(const char *type)
{
	unsigned step;

	is_cirrus = !strcmp(type, "cirrus");
	validations = hv_answers = checks = maps = mapped_accesses = vram_checks = 0;
	map_len = 0;
	vga_ref = make_side(type, &dm_ref);
	vga_dir = make_side(type, &dm_dir);
	CHECK_EQ(vga_mirror_create(vga_dir), 0);
	vga_dir->mirror.map_ops = &fake_map_ops;
	memset(&hv, 0, sizeof(hv));
	hv.nr_vcpus = 1;
	CHECK_EQ(ioreq_set_mmio_mirror(&hv, &mirror_set, vga_dir->mirror.fd), 0);
	for (int r = 1; r >= 0; r--) {
		side(r);
		map_bars();
		out(0x3c2, 1, 0x67);
	}
	for (step = 0; step < STEPS; step++) {
		unsigned long long at = rnd_state;

		side(true);
		random_step();
		rnd_state = at;
		side(false);
		random_step();
		check_vram(step, VRAM_CMP);
		if (!map_len || step % 8 == 0)
			check_image();
	}
	if (map_len)
		vga_mirror_invalidate(vga_dir); /* unmap and fold, as before a mode change */
	CHECK(!map_len);
	check_vram(step, vga_ref->vram_size < vga_dir->vram_size ? vga_ref->vram_size
								 : vga_dir->vram_size);
	printf("# %s mapped: %u validations, %u maps, %u accesses to the mapped image, %u VRAM "
	       "comparisons, %llu bytes folded\n",
	       type, validations, maps, mapped_accesses, vram_checks,
	       (unsigned long long)vga_dir->mirror.folded);
	CHECK(maps > 20);
	CHECK(mapped_accesses > 1000);
	CHECK(vga_dir->mirror.folded > 100);
	ioreq_mmio_mirror_free(&hv);
	dm_destroy(dm_ref);
	dm_destroy(dm_dir);
	dm_ref = dm_dir = NULL;
	side(false);
}

/* The guest's next synchronous request to any device, as dm/ioreq.c runs it. */
static void guest_stopped_hooks(struct dm *d)
{
	for (unsigned i = 0; i < d->nr_stopped_hooks; i++)
		d->stopped_hooks[i].fn(d->stopped_hooks[i].opaque);
}

/*
 * A console that only writes the window (no reads to count) gets it
 * validated and mapped at the next synchronous request after enough writes.
 */
static void test_write_only_console(void)
{
	unsigned i;

	map_len = 0;
	vga_dir = make_side("stdvga", &dm_dir);
	side(false);
	CHECK_EQ(vga_mirror_create(vga), 0);
	vga->mirror.map_ops = &fake_map_ops;
	memset(&hv, 0, sizeof(hv));
	hv.nr_vcpus = 1;
	{
		struct hvm_mmio_mirror_set set = { .gpa = WIN, .len = WIN_LEN };

		CHECK_EQ(ioreq_set_mmio_mirror(&hv, &set, vga->mirror.fd), 0);
	}
	text_mode(0);
	for (i = 0; i < 255; i++) /* bytes: a 16-bit write counts twice */
		mmio_write(0xb8000 + i, 1, i & 1 ? 0x07 : 'A');
	guest_stopped_hooks(dm);
	CHECK(!vga_mirror_valid(vga)); /* too few writes yet */
	mmio_write(0xb8000 + i, 1, 0x07);
	guest_stopped_hooks(dm);
	CHECK(vga_mirror_valid(vga));
	CHECK_EQ(map_gpa, 0xb8000);
	CHECK_EQ(map_len, 0x8000);
	mmio_write(0xb8000, 1, 'Z'); /* into the mapped image */
	CHECK_EQ(vga->mirror.image[0x18000], 'Z');
	vga_mirror_sync(vga);
	CHECK_EQ(device_read(0xb8000, 1), 'Z');
	CHECK_EQ(device_read(0xb8001, 1), 0x07);
	out(0x3ce, 1, 6), out(0x3cf, 1, 0x0e); /* a mode port write: unmapped */
	CHECK_EQ(map_len, 0);
	ioreq_mmio_mirror_free(&hv);
	dm_destroy(dm_dir);
	dm_dir = NULL;
}

/* hvmhv refuses what it cannot honour. */
static void test_refusals(void)
{
	struct hvm_mmio_mirror_set set = { .gpa = WIN, .len = WIN_LEN };
	struct ioreq_prod p = { .nr_vcpus = 2 };

	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	{
		struct dev *d;

		CHECK_EQ(dev_create(dm, "stdvga", NULL, &d), 0);
		vga = d->state;
	}
	CHECK_EQ(vga_mirror_create(vga), 0);
	CHECK_EQ(ioreq_set_mmio_mirror(&p, &set, vga->mirror.fd), -EOPNOTSUPP);
	p.nr_vcpus = 1;
	set.len = WIN_LEN * 2; /* bigger than an image may be */
	CHECK_EQ(ioreq_set_mmio_mirror(&p, &set, vga->mirror.fd), -EINVAL);
	set.len = WIN_LEN;
	set.gpa = UINT64_MAX - 10; /* wraps */
	CHECK_EQ(ioreq_set_mmio_mirror(&p, &set, vga->mirror.fd), -EINVAL);
	set.gpa = WIN;
	set.nr_ports = 1;
	set.ports[0] = (struct hvm_range){ 0xffff, 2 };
	CHECK_EQ(ioreq_set_mmio_mirror(&p, &set, vga->mirror.fd), -EINVAL);
	set.nr_ports = 0;
	CHECK_EQ(ioreq_set_mmio_mirror(&p, &set, -1), -EINVAL);
	CHECK_EQ(ioreq_set_mmio_mirror(&p, &set, vga->mirror.fd), 0);
	CHECK_EQ(ioreq_set_mmio_mirror(&p, &set, vga->mirror.fd), -EEXIST);
	ioreq_mmio_mirror_free(&p);
	dm_destroy(dm);
}

int main(void)
{
	test_refusals();
	run("stdvga");
	run("cirrus");
	run_mapped("stdvga");
	run_mapped("cirrus");
	test_write_only_console();
	return tap_done();
}
