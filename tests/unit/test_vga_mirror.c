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
	ioreq_mmio_mirror_port_write(&hv, port, size);
	io_dispatch(dm, IO_PIO, port, size, true, &v);
}

/* A guest MMIO write: the hv applies it to the image, then the dm to VRAM. */
static void mmio_write(uint64_t a, unsigned size, uint64_t v)
{
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
static void guest_read(uint64_t a, unsigned size)
{
	uint64_t v, want;

	if (ioreq_mmio_mirror_read(&hv, a, size, &v)) {
		hv_answers++;
		want = device_read(a, size);
		if (v != want) {
			CHECK_EQ(v, want);
			exit(tap_done());
		}
		return;
	}
	device_read(a, size);
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
	case 0: /* text mode, odd/even at B8000 */
		out(0x3c4, 1, 2), out(0x3c5, 1, 0x03);
		out(0x3c4, 1, 4), out(0x3c5, 1, 0x02);
		out(0x3ce, 1, 4), out(0x3cf, 1, 0x00);
		out(0x3ce, 1, 5), out(0x3cf, 1, 0x10);
		out(0x3ce, 1, 6), out(0x3cf, 1, 0x0e);
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

static void run(const char *type)
{
	struct dev *d;
	struct hvm_mmio_mirror_set set = {
		.gpa = WIN,
		.len = WIN_LEN,
		.nr_ports = 4,
		.ports = { { 0x3c2, 1 }, { 0x3c4, 2 }, { 0x3ce, 2 }, { 0x1ce, 3 } },
	};
	unsigned step;

	is_cirrus = !strcmp(type, "cirrus");
	validations = hv_answers = checks = 0;
	CHECK_EQ(dm_create_standalone(16 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	CHECK_EQ(dev_create(dm, type, NULL, &d), 0);
	vga = d->state; /* struct vga is the first member of both devices */
	map_bars();
	CHECK_EQ(pci_bar_addr(&((struct vga_pci_view *)d->state)->pci, 0), BAR0);
	CHECK_EQ(vga_mirror_create(vga), 0);
	memset(&hv, 0, sizeof(hv));
	hv.nr_vcpus = 1;
	CHECK_EQ(ioreq_set_mmio_mirror(&hv, &set, vga->mirror.fd), 0);
	out(0x3c2, 1, 0x67);
	for (step = 0; step < STEPS; step++) {
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
		check_image();
	}
	printf("# %s: %u validations, %u reads answered from the image, %u checks\n", type,
	       validations, hv_answers, checks);
	CHECK(validations > 20);
	CHECK(hv_answers > 200);
	ioreq_mmio_mirror_free(&hv);
	dm_destroy(dm);
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
	return tap_done();
}
