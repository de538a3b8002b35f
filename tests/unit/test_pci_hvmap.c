// SPDX-License-Identifier: MIT
/*
 * test_pci_hvmap.c - memfd-backed BARs and the expansion ROM with an attached
 * dm: a fake hypervisor on the setup socket records the MAP/UNMAP requests
 * the bus sends as the guest moves, enables and disables BARs, checks the
 * memfd contents it receives, and refuses one address to show that a
 * refused mapping is never unmapped.  Also checks the bar_update hook.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device.h"
#include "dm.h"
#include "hvm_msg.h"
#include "iospace.h"
#include "pci/pci.h"
#include "tap.h"

#define REFUSED_GPA 0xe0040000ull
#define MAX_EVENTS 64

struct hv_event {
	uint32_t type;
	struct hvm_map m;
	uint8_t head[2]; /* first bytes of the memfd at m.offset (MAP) */
};

struct fake_hv {
	int sock;
	pthread_mutex_t lock;
	struct hv_event ev[MAX_EVENTS];
	unsigned n;
};

static void *fake_hv_main(void *arg)
{
	struct fake_hv *hv = arg;
	struct hvm_msg hdr;
	struct hvm_map m;
	unsigned nfds;
	int fd = -1;

	for (;;) {
		struct hv_event e = { 0 };
		int32_t status = 0;

		if (hvm_msg_recv(hv->sock, &hdr, &m, sizeof(m), &fd, 1, &nfds))
			break;
		e.type = hdr.type;
		if (hdr.len == sizeof(m))
			e.m = m;
		if (hdr.type == HVM_MSG_MAP && nfds == 1) {
			if (pread(fd, e.head, sizeof(e.head), (off_t)m.offset) != sizeof(e.head))
				status = -EIO;
			if (m.gpa == REFUSED_GPA)
				status = -EINVAL;
		}
		if (nfds == 1)
			close(fd);
		pthread_mutex_lock(&hv->lock);
		if (hv->n < MAX_EVENTS)
			hv->ev[hv->n++] = e;
		pthread_mutex_unlock(&hv->lock);
		if (hvm_msg_send(hv->sock, hdr.type, hdr.seq, status, NULL, 0, NULL, 0))
			break;
	}
	return NULL;
}

/* Take the events recorded so far. */
static unsigned take(struct fake_hv *hv, struct hv_event *out)
{
	unsigned n;

	pthread_mutex_lock(&hv->lock);
	n = hv->n;
	memcpy(out, hv->ev, n * sizeof(*out));
	hv->n = 0;
	pthread_mutex_unlock(&hv->lock);
	return n;
}

struct vdev {
	struct pci_func f;
	struct io_region vram;
	unsigned updates;
	unsigned last_bar;
	uint64_t last_addr;
};

static uint64_t v_read(void *opaque, uint64_t off, unsigned size)
{
	return 0x77;
}

static void v_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
}

static const struct io_ops v_ops = { .read = v_read, .write = v_write };

static void v_bar_update(struct pci_func *f, unsigned bar, uint64_t addr)
{
	struct vdev *v = f->opaque;

	v->updates++;
	v->last_bar = bar;
	v->last_addr = addr;
}

static const struct pci_func_ops v_pci_ops = { .bar_update = v_bar_update };

static void cfg_wr(struct dm *dm, uint8_t devfn, uint32_t reg, uint32_t v)
{
	uint64_t a = 0x80000000u | (uint32_t)devfn << 8 | reg, val = v;

	CHECK_EQ(io_dispatch(dm, IO_PIO, 0xcf8, 4, true, &a), 0);
	CHECK_EQ(io_dispatch(dm, IO_PIO, 0xcfc, 4, true, &val), 0);
}

static void check_event(const struct hv_event *e, uint32_t type, uint64_t gpa, uint64_t size)
{
	CHECK_EQ(e->type, type);
	CHECK_EQ(e->m.gpa, gpa);
	CHECK_EQ(e->m.size, size);
}

int main(void)
{
	struct fake_hv hv = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct hv_event ev[MAX_EVENTS];
	struct dm *dm = NULL;
	struct vdev v = { 0 };
	uint8_t rom[5000] = { 0x55, 0xaa };
	pthread_t th;
	int sv[2], vram_fd;
	uint8_t *p;
	unsigned n;

	CHECK_EQ(dm_create_standalone(16 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	hv.sock = sv[1];
	CHECK_EQ(pthread_create(&th, NULL, fake_hv_main, &hv), 0);

	vram_fd = memfd_create("vram", MFD_CLOEXEC);
	CHECK(vram_fd >= 0);
	CHECK_EQ(ftruncate(vram_fd, 0x20000), 0);
	p = mmap(NULL, 0x20000, PROT_READ | PROT_WRITE, MAP_SHARED, vram_fd, 0);
	CHECK(p != MAP_FAILED);
	p[0x10000] = 0xab;
	p[0x10001] = 0xcd;

	CHECK_EQ(pci_func_init(&v.f, pci_bus_of(dm), PCI_DEVFN(2, 0), "vdev", &v_pci_ops, &v), 0);
	io_region_init(&v.vram, &v_ops, &v, "vdev-vram", 0x40000);
	CHECK_EQ(pci_bar_init(&v.f, 0, PCI_BAR_MEM32 | PCI_BAR_PREFETCH, 0x40000, &v.vram), 0);
	/* Bad parameters. */
	CHECK_EQ(pci_bar_set_memfd(&v.f, 1, vram_fd, 0, 0x1000, 0), -EINVAL);  /* no BAR 1 */
	CHECK_EQ(pci_bar_set_memfd(&v.f, 0, vram_fd, 0, 0x80000, 0), -EINVAL); /* > BAR */
	CHECK_EQ(pci_bar_set_memfd(&v.f, 0, vram_fd, 0x800, 0x1000, 0), -EINVAL);
	CHECK_EQ(pci_bar_set_memfd(&v.f, 0, vram_fd, 0x10000, 0x10000, HVM_MAP_F_DIRTY_LOG), 0);
	CHECK_EQ(pci_rom_init(&v.f, rom, sizeof(rom)), 0);
	pci_func_ready(&v.f);
	pci_func_reset(&v.f);

	/* Attach the dm to the fake hypervisor. */
	dm->setup_sock = sv[0];

	cfg_wr(dm, v.f.devfn, 0x10, 0xe0000000);
	cfg_wr(dm, v.f.devfn, PCI_COMMAND, PCI_COMMAND_MEMORY);
	CHECK_EQ(v.updates, 1);
	CHECK_EQ(v.last_bar, 0);
	CHECK_EQ(v.last_addr, 0xe0000000);
	n = take(&hv, ev);
	CHECK_EQ(n, 1);
	if (n == 1) {
		check_event(&ev[0], HVM_MSG_MAP, 0xe0000000, 0x10000);
		CHECK_EQ(ev[0].m.offset, 0x10000);
		CHECK_EQ(ev[0].m.flags, HVM_MAP_F_DIRTY_LOG);
		CHECK_EQ(ev[0].head[0], 0xab);
		CHECK_EQ(ev[0].head[1], 0xcd);
	}
	/* The part of the BAR beyond the memfd still reaches the region. */
	{
		uint64_t val = 0;

		CHECK_EQ(io_dispatch(dm, IO_MMIO, 0xe0020000, 1, false, &val), 0);
		CHECK_EQ(val, 0x77);
	}

	/* Moving: unmap the old place, map the new one. */
	cfg_wr(dm, v.f.devfn, 0x10, 0xe0080000);
	n = take(&hv, ev);
	CHECK_EQ(n, 2);
	if (n == 2) {
		check_event(&ev[0], HVM_MSG_UNMAP, 0xe0000000, 0x10000);
		check_event(&ev[1], HVM_MSG_MAP, 0xe0080000, 0x10000);
	}
	CHECK_EQ(v.last_addr, 0xe0080000);

	/* The ROM: read-only, whole 8 KiB memfd. */
	cfg_wr(dm, v.f.devfn, PCI_ROM_ADDRESS, 0xfeb00001);
	n = take(&hv, ev);
	CHECK_EQ(n, 1);
	if (n == 1) {
		check_event(&ev[0], HVM_MSG_MAP, 0xfeb00000, 0x2000);
		CHECK_EQ(ev[0].m.flags, HVM_MAP_F_READONLY);
		CHECK_EQ(ev[0].head[0], 0x55);
		CHECK_EQ(ev[0].head[1], 0xaa);
	}
	CHECK_EQ(v.last_bar, PCI_NUM_BARS);

	/* A mapping the hypervisor refuses is not unmapped later. */
	cfg_wr(dm, v.f.devfn, 0x10, (uint32_t)REFUSED_GPA);
	n = take(&hv, ev);
	CHECK_EQ(n, 2);
	if (n == 2)
		check_event(&ev[1], HVM_MSG_MAP, REFUSED_GPA, 0x10000);
	CHECK_EQ(v.last_addr, REFUSED_GPA); /* still decodes through the dm */
	cfg_wr(dm, v.f.devfn, 0x10, 0xe0000000);
	n = take(&hv, ev);
	CHECK_EQ(n, 1);
	if (n == 1)
		check_event(&ev[0], HVM_MSG_MAP, 0xe0000000, 0x10000);

	/* COMMAND off: both go away. */
	cfg_wr(dm, v.f.devfn, PCI_COMMAND, 0);
	n = take(&hv, ev);
	CHECK_EQ(n, 2);
	if (n == 2) {
		check_event(&ev[0], HVM_MSG_UNMAP, 0xe0000000, 0x10000);
		check_event(&ev[1], HVM_MSG_UNMAP, 0xfeb00000, 0x2000);
	}
	CHECK_EQ(v.last_addr, PCI_BAR_UNMAPPED);
	CHECK_EQ(pci_bar_set_memfd(&v.f, 0, vram_fd, 0, 0x1000, 0), 0); /* unmapped: allowed */

	/* Teardown while mapped unmaps too. */
	cfg_wr(dm, v.f.devfn, PCI_COMMAND, PCI_COMMAND_MEMORY);
	(void)take(&hv, ev);
	pci_func_exit(&v.f);
	n = take(&hv, ev);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK_EQ(ev[0].type, HVM_MSG_UNMAP);
		CHECK_EQ(ev[1].type, HVM_MSG_UNMAP);
	}

	dm->setup_sock = -1;
	close(sv[0]);
	pthread_join(th, NULL);
	close(sv[1]);
	munmap(p, 0x20000);
	close(vram_fd);
	dm_destroy(dm);
	return tap_done();
}
