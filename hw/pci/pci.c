// SPDX-License-Identifier: MIT
/*
 * pci.c - PCI bus 0: configuration mechanism #1, configuration space with
 * write masks, BAR and expansion-ROM decoding, INTx and bus-master DMA.
 *
 * Emulated (PCI Local Bus Specification 3.0):
 *   - CONFIG_ADDRESS at 0xCF8 (dword accesses only; bit 31 enables, bits
 *     23:16 bus, 15:11 device, 10:8 function, 7:2 register; reserved bits
 *     30:24 and 1:0 read as zero) and CONFIG_DATA at 0xCFC-0xCFF for byte,
 *     word and dword cycles (section 3.2.2.3.2).  Byte accesses to 0xCF9 go
 *     to the ISA bridge's reset control register (PIIX3 datasheet, RC);
 *     other non-dword accesses to 0xCF8-0xCFB hit nothing, as on real
 *     chipsets, and read all-ones.
 *   - IOREQ_TYPE_PCI_CONFIG requests through dm->pci_ops.
 *   - Type 0 headers: read-only IDs and class, COMMAND bits I/O, memory,
 *     bus master, SERR and INTx Disable, write-1-to-clear STATUS error bits
 *     (section 6.2.3), the interrupt status bit, capability lists, BARs sized
 *     by writing all-ones (section 6.2.5.1), the expansion ROM BAR (6.2.5.2).
 *     Device-specific space 0x40-0xFF is writable unless the device masks it,
 *     as in QEMU, so guests see the same registers on both.
 * Not emulated: buses other than 0 (no PCI-PCI bridges), extended (PCIe)
 * configuration space, MSI delivery, parity and error signalling.
 *
 * BAR mapping: a BAR decodes when its COMMAND enable bit is set and its
 * address is neither 0 nor a range that wraps (32-bit memory BARs must end
 * below 4 GiB, I/O BARs below 64 KiB), the rules QEMU applies.  A BAR that
 * would overlap another region stays unmapped (logged once per address) and
 * is retried whenever any mapping on the bus changes.
 */
#define _GNU_SOURCE
#include "pci/pci.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm.h"
#include "irq.h"
#include "log.h"

#define MOD "pci"

#define PCI_CONFIG_ADDRESS_PORT 0xcf8
#define PCI_CONFIG_DATA_PORT 0xcfc
#define PCI_CONFIG_ENABLE 0x80000000u
/* Bits that CONFIG_ADDRESS keeps: enable, bus, device, function, register. */
#define PCI_CONFIG_ADDRESS_MASK 0x80fffffcu

#define PCI_ROM_MIN_SIZE 4096ull
#define PCI_ROM_MAX_SIZE (16ull << 20)
#define PCI_MEM64_LIMIT (1ull << 52) /* above any guest-physical address */

struct pci_bus {
	struct dm *dm;
	struct pci_func *func[256];
	uint32_t config_address;
	struct io_region addr_region; /* 0xCF8-0xCFB */
	struct io_region data_region; /* 0xCFC-0xCFF */
	const struct pci_intx_router *router;
	void *router_opaque;
	const struct pci_cf9_ops *cf9;
	void *cf9_opaque;
	uint16_t level_refs[DM_MAX_GSIS];
};

static const struct pci_cfg_ops pci_bus_cfg_ops;

static inline uint32_t size_mask(unsigned size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* ---- BAR decoding and mapping -------------------------------------------------------------- */

static uint32_t bar_reg(unsigned i)
{
	return PCI_BASE_ADDRESS_0 + 4 * i;
}

/* Address a memory BAR (or the ROM) decodes at, given its raw address bits. */
static uint64_t mem_bar_check(uint64_t addr, uint64_t size, bool is64)
{
	uint64_t last;

	addr &= ~(size - 1);
	last = addr + size - 1;
	if (addr == 0 || last < addr)
		return PCI_BAR_UNMAPPED;
	if (!is64 && last >= 0xffffffffull)
		return PCI_BAR_UNMAPPED;
	if (is64 && last >= PCI_MEM64_LIMIT)
		return PCI_BAR_UNMAPPED;
	return addr;
}

static uint64_t bar_wanted(const struct pci_func *f, unsigned i)
{
	const struct pci_bar *b = &f->bar[i];
	uint16_t cmd = pci_get_word(f, PCI_COMMAND);
	uint64_t addr;

	if (!b->region)
		return PCI_BAR_UNMAPPED;
	if (b->type & PCI_BAR_IO) {
		if (!(cmd & PCI_COMMAND_IO))
			return PCI_BAR_UNMAPPED;
		addr = pci_get_long(f, bar_reg(i)) & ~3u & ~(b->size - 1);
		/* PC I/O space is 64 KiB; the sizing pattern lands above it. */
		if (addr == 0 || addr + b->size > 0x10000)
			return PCI_BAR_UNMAPPED;
		return addr;
	}
	if (!(cmd & PCI_COMMAND_MEMORY))
		return PCI_BAR_UNMAPPED;
	addr = pci_get_long(f, bar_reg(i)) & ~0xfu;
	if (b->type & PCI_BAR_MEM64)
		addr |= (uint64_t)pci_get_long(f, bar_reg(i + 1)) << 32;
	return mem_bar_check(addr, b->size, b->type & PCI_BAR_MEM64);
}

static uint64_t rom_wanted(const struct pci_func *f)
{
	uint32_t v = pci_get_long(f, PCI_ROM_ADDRESS);

	if (!f->rom.bar.region || !(v & PCI_ROM_ENABLE))
		return PCI_BAR_UNMAPPED;
	if (!(pci_get_word(f, PCI_COMMAND) & PCI_COMMAND_MEMORY))
		return PCI_BAR_UNMAPPED;
	return mem_bar_check(v & ~0x7ffu, f->rom.bar.size, false);
}

static unsigned bar_index(const struct pci_func *f, const struct pci_bar *b)
{
	return b == &f->rom.bar ? PCI_NUM_BARS : (unsigned)(b - f->bar);
}

static void bar_notify(struct pci_func *f, struct pci_bar *b)
{
	if (f->ops && f->ops->bar_update)
		f->ops->bar_update(f, bar_index(f, b), b->mapped_at);
}

static void bar_hv_unmap(struct pci_func *f, struct pci_bar *b)
{
	if (!b->hv_mapped)
		return;
	dm_unmap(f->bus->dm, b->mapped_at, b->memfd_len);
	b->hv_mapped = false;
}

/* Attached dms let the hypervisor serve the memfd part of the BAR. */
static void bar_hv_map(struct pci_func *f, struct pci_bar *b)
{
	int ret;

	if (b->memfd < 0 || b->memfd_off)
		return;
	ret = dm_map_memfd(f->bus->dm, b->mapped_at, b->memfd_len, b->memfd, b->memfd_offset,
			   b->memfd_flags);
	b->hv_mapped = ret == 0;
	if (ret < 0 && ret != -ENOTCONN)
		dm_warn(MOD, "%s: mapping BAR %u memory at 0x%llx failed (%d)", f->name,
			bar_index(f, b), (unsigned long long)b->mapped_at, ret);
}

static void bar_unmap(struct pci_func *f, struct pci_bar *b)
{
	bool was = b->mapped_at != PCI_BAR_UNMAPPED;

	bar_hv_unmap(f, b);
	io_region_unmap(b->region);
	b->mapped_at = PCI_BAR_UNMAPPED;
	if (was)
		bar_notify(f, b);
}

static void bar_map(struct pci_func *f, struct pci_bar *b, uint64_t want)
{
	enum io_space space = (b->type & PCI_BAR_IO) ? IO_PIO : IO_MMIO;
	struct dm *dm = f->bus->dm;
	int ret;

	ret = io_region_move(dm, b->region, space, want);
	if (ret < 0) {
		io_region_unmap(b->region);
		if (b->refused_at != want)
			dm_log_ratelimited(LOG_WARN, MOD,
					   "%02x.%u %s: BAR at %s 0x%llx refused (%d), left "
					   "unmapped",
					   PCI_SLOT(f->devfn), PCI_FUNC(f->devfn), f->name,
					   space == IO_PIO ? "port" : "address",
					   (unsigned long long)want, ret);
		b->refused_at = want;
		return;
	}
	b->mapped_at = want;
	b->refused_at = PCI_BAR_UNMAPPED;
	bar_hv_map(f, b);
	bar_notify(f, b);
}

/* Every BAR of f with the address it should decode now. */
static unsigned func_bars(struct pci_func *f, struct pci_bar **bars, uint64_t *want)
{
	unsigned i, n = 0;

	for (i = 0; i < PCI_NUM_BARS; i++) {
		if (!f->bar[i].region)
			continue;
		bars[n] = &f->bar[i];
		want[n++] = bar_wanted(f, i);
	}
	if (f->rom.bar.region) {
		bars[n] = &f->rom.bar;
		want[n++] = rom_wanted(f);
	}
	return n;
}

/*
 * Bring every BAR on the bus in line with its registers: first release
 * what moved or was disabled, then map what is pending, so that swapping
 * two BARs' addresses or moving one onto space just freed both work.
 */
static void bus_sync_bars(struct pci_bus *bus)
{
	struct pci_bar *bars[PCI_NUM_BARS + 1];
	uint64_t want[PCI_NUM_BARS + 1];
	unsigned pass, d, i, n;

	for (pass = 0; pass < 2; pass++) {
		for (d = 0; d < 256; d++) {
			struct pci_func *f = bus->func[d];

			if (!f)
				continue;
			n = func_bars(f, bars, want);
			for (i = 0; i < n; i++) {
				struct pci_bar *b = bars[i];

				if (pass == 0 && b->mapped_at != want[i]) {
					if (b->mapped_at != PCI_BAR_UNMAPPED)
						bar_unmap(f, b);
					if (want[i] == PCI_BAR_UNMAPPED)
						b->refused_at = PCI_BAR_UNMAPPED;
				}
				if (pass == 1 && want[i] != PCI_BAR_UNMAPPED &&
				    b->mapped_at == PCI_BAR_UNMAPPED)
					bar_map(f, b, want[i]);
			}
		}
	}
}

/* ---- INTx ---------------------------------------------------------------------------------- */

static void func_update_intx(struct pci_func *f)
{
	struct pci_bus *bus = f->bus;
	uint8_t pin = pci_get_byte(f, PCI_INTERRUPT_PIN);
	uint16_t status = pci_get_word(f, PCI_STATUS);
	bool active;

	/* Interrupt Status reflects the device whatever INTx Disable says (6.2.3). */
	if (f->irq_level)
		status |= PCI_STATUS_INTERRUPT;
	else
		status &= ~PCI_STATUS_INTERRUPT;
	pci_set_word(f, PCI_STATUS, status);

	active = f->irq_level && pin >= 1 && pin <= 4 &&
		 !(pci_get_word(f, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
	if (active == f->intx_active)
		return;
	/* The pin is read-only, so a deassert reaches the link the assert went to. */
	f->intx_active = active;
	if (bus->router)
		bus->router->set_intx(bus->router_opaque, f->devfn, pin, active);
}

void pci_set_irq(struct pci_func *f, bool level)
{
	if (!f->registered)
		return;
	f->irq_level = level;
	func_update_intx(f);
}

void pci_bus_set_intx_router(struct pci_bus *bus, const struct pci_intx_router *r, void *opaque)
{
	unsigned d;

	bus->router = r;
	bus->router_opaque = opaque;
	if (!r)
		return;
	/* Lines asserted before the router existed. */
	for (d = 0; d < 256; d++) {
		struct pci_func *f = bus->func[d];

		if (f && f->intx_active)
			r->set_intx(opaque, f->devfn, pci_get_byte(f, PCI_INTERRUPT_PIN), true);
	}
}

void pci_bus_level_irq_get(struct pci_bus *bus, uint32_t irq)
{
	if (irq >= DM_MAX_GSIS)
		return;
	if (bus->level_refs[irq]++ == 0)
		dm_irq_set_trigger(bus->dm, irq, true);
}

void pci_bus_level_irq_put(struct pci_bus *bus, uint32_t irq)
{
	if (irq >= DM_MAX_GSIS || bus->level_refs[irq] == 0)
		return;
	if (--bus->level_refs[irq] == 0)
		dm_irq_set_trigger(bus->dm, irq, false);
}

/* ---- configuration space ------------------------------------------------------------------- */

static bool ranges_overlap(uint32_t a, unsigned alen, uint32_t b, unsigned blen)
{
	return a < b + blen && b < a + alen;
}

static uint32_t func_config_read(struct pci_func *f, uint32_t reg, unsigned size)
{
	uint32_t v = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		v |= (uint32_t)f->cfg[reg + i] << (8 * i);
	if (f->ops && f->ops->config_read)
		v = f->ops->config_read(f, reg, size, v) & size_mask(size);
	return v;
}

static void func_config_write(struct pci_func *f, uint32_t reg, uint32_t val, unsigned size)
{
	unsigned i;

	for (i = 0; i < size; i++) {
		uint32_t a = reg + i;
		uint8_t b = (uint8_t)(val >> (8 * i));

		f->cfg[a] = (f->cfg[a] & ~f->wmask[a]) | (b & f->wmask[a]);
		f->cfg[a] &= ~(b & f->w1cmask[a]);
	}
	if (ranges_overlap(reg, size, PCI_COMMAND, 2))
		func_update_intx(f);
	if (ranges_overlap(reg, size, PCI_COMMAND, 2) ||
	    ranges_overlap(reg, size, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS) ||
	    ranges_overlap(reg, size, PCI_ROM_ADDRESS, 4))
		bus_sync_bars(f->bus);
	if (f->ops && f->ops->config_write)
		f->ops->config_write(f, reg, val, size);
}

static struct pci_func *bus_lookup(struct pci_bus *bus, uint8_t busnr, uint8_t devfn)
{
	if (!bus || busnr != 0)
		return NULL;
	return bus->func[devfn];
}

static bool access_ok(uint32_t reg, unsigned size)
{
	if (size != 1 && size != 2 && size != 4)
		return false;
	return (uint64_t)reg + size <= 256 && (reg & (size - 1)) == 0;
}

uint32_t pci_bus_config_read(struct pci_bus *bus, uint8_t busnr, uint8_t devfn, uint32_t reg,
			     unsigned size)
{
	struct pci_func *f = bus_lookup(bus, busnr, devfn);
	uint32_t v = 0;
	unsigned i;

	if (size != 1 && size != 2 && size != 4)
		return 0xffffffffu;
	if (!f)
		return size_mask(size);
	if (access_ok(reg, size))
		return func_config_read(f, reg, size);
	/* Misaligned or past the end: bytes, all-ones outside the 256-byte space. */
	for (i = 0; i < size; i++) {
		uint64_t a = (uint64_t)reg + i;
		uint32_t b = a < 256 ? func_config_read(f, (uint32_t)a, 1) : 0xff;

		v |= b << (8 * i);
	}
	return v;
}

void pci_bus_config_write(struct pci_bus *bus, uint8_t busnr, uint8_t devfn, uint32_t reg,
			  uint32_t val, unsigned size)
{
	struct pci_func *f = bus_lookup(bus, busnr, devfn);
	unsigned i;

	if (!f || (size != 1 && size != 2 && size != 4))
		return;
	if (access_ok(reg, size)) {
		func_config_write(f, reg, val & size_mask(size), size);
		return;
	}
	for (i = 0; i < size; i++) {
		uint64_t a = (uint64_t)reg + i;

		if (a < 256)
			func_config_write(f, (uint32_t)a, (val >> (8 * i)) & 0xff, 1);
	}
}

/* dm->pci_ops: sbdf = segment << 16 | bus << 8 | devfn (Xen's encoding). */
static uint32_t pci_ops_read(void *opaque, uint32_t sbdf, uint32_t reg, unsigned size)
{
	if (sbdf >> 16)
		return size_mask(size);
	return pci_bus_config_read(opaque, (uint8_t)(sbdf >> 8), (uint8_t)sbdf, reg, size);
}

static void pci_ops_write(void *opaque, uint32_t sbdf, uint32_t reg, uint32_t val, unsigned size)
{
	if (sbdf >> 16)
		return;
	pci_bus_config_write(opaque, (uint8_t)(sbdf >> 8), (uint8_t)sbdf, reg, val, size);
}

static const struct pci_cfg_ops pci_bus_cfg_ops = {
	.read = pci_ops_read,
	.write = pci_ops_write,
};

/* ---- ports 0xCF8-0xCFF --------------------------------------------------------------------- */

static uint64_t cf8_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *bus = opaque;

	if (off == 0 && size == 4)
		return bus->config_address;
	if (off == 1 && size == 1 && bus->cf9)
		return bus->cf9->read(bus->cf9_opaque);
	return size_mask(size);
}

static void cf8_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_bus *bus = opaque;

	if (off == 0 && size == 4)
		bus->config_address = (uint32_t)val & PCI_CONFIG_ADDRESS_MASK;
	else if (off == 1 && size == 1 && bus->cf9)
		bus->cf9->write(bus->cf9_opaque, (uint8_t)val);
	else
		dm_guest_err(MOD, "%u-byte write to port 0x%llx ignored", size,
			     (unsigned long long)(PCI_CONFIG_ADDRESS_PORT + off));
}

static const struct io_ops cf8_ops = {
	.read = cf8_read,
	.write = cf8_write,
	.min_size = 1,
	.max_size = 4,
};

static uint64_t cfc_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *bus = opaque;
	uint32_t ca = bus->config_address;

	if (!(ca & PCI_CONFIG_ENABLE) || off + size > 4)
		return size_mask(size);
	return pci_bus_config_read(bus, (uint8_t)(ca >> 16), (uint8_t)(ca >> 8),
				   (ca & 0xfc) + (uint32_t)off, size);
}

static void cfc_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_bus *bus = opaque;
	uint32_t ca = bus->config_address;

	if (!(ca & PCI_CONFIG_ENABLE) || off + size > 4)
		return;
	pci_bus_config_write(bus, (uint8_t)(ca >> 16), (uint8_t)(ca >> 8),
			     (ca & 0xfc) + (uint32_t)off, (uint32_t)val, size);
}

static const struct io_ops cfc_ops = {
	.read = cfc_read,
	.write = cfc_write,
	.min_size = 1,
	.max_size = 4,
};

void pci_bus_set_cf9(struct pci_bus *bus, const struct pci_cf9_ops *ops, void *opaque)
{
	bus->cf9 = ops;
	bus->cf9_opaque = opaque;
}

/* ---- bus ----------------------------------------------------------------------------------- */

int pci_bus_create(struct dm *dm, struct pci_bus **out)
{
	struct pci_bus *bus;
	int ret;

	if (dm->pci_ops)
		return -EEXIST;
	bus = calloc(1, sizeof(*bus));
	if (!bus)
		return -ENOMEM;
	bus->dm = dm;
	io_region_init(&bus->addr_region, &cf8_ops, bus, "pci-config-address", 4);
	io_region_init(&bus->data_region, &cfc_ops, bus, "pci-config-data", 4);
	ret = io_region_map(dm, &bus->addr_region, IO_PIO, PCI_CONFIG_ADDRESS_PORT);
	if (ret < 0)
		goto err_free;
	ret = io_region_map(dm, &bus->data_region, IO_PIO, PCI_CONFIG_DATA_PORT);
	if (ret < 0)
		goto err_unmap_addr;
	dm->pci_ops = &pci_bus_cfg_ops;
	dm->pci_opaque = bus;
	*out = bus;
	return 0;

err_unmap_addr:
	io_region_unmap(&bus->addr_region);
err_free:
	free(bus);
	return ret;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	unsigned i;

	if (!bus)
		return;
	for (i = 0; i < 256; i++)
		if (bus->func[i])
			dm_err(MOD, "bus destroyed with %s still at devfn 0x%02x",
			       bus->func[i]->name, i);
	io_region_unmap(&bus->data_region);
	io_region_unmap(&bus->addr_region);
	if (bus->dm->pci_opaque == bus) {
		bus->dm->pci_ops = NULL;
		bus->dm->pci_opaque = NULL;
	}
	free(bus);
}

struct pci_bus *pci_bus_of(struct dm *dm)
{
	if (!dm || dm->pci_ops != &pci_bus_cfg_ops)
		return NULL;
	return dm->pci_opaque;
}

struct dm *pci_bus_dm(const struct pci_bus *bus)
{
	return bus->dm;
}

struct pci_func *pci_bus_func(struct pci_bus *bus, uint8_t devfn)
{
	return bus ? bus->func[devfn] : NULL;
}

/* ---- functions ----------------------------------------------------------------------------- */

static int pick_devfn(struct pci_bus *bus)
{
	unsigned d, fn;

	for (d = 0; d < 32; d++) {
		for (fn = 0; fn < 8; fn++)
			if (bus->func[PCI_DEVFN(d, fn)])
				break;
		if (fn == 8)
			return PCI_DEVFN(d, 0);
	}
	return -ENOSPC;
}

static void bar_reset_state(struct pci_bar *b)
{
	b->mapped_at = PCI_BAR_UNMAPPED;
	b->refused_at = PCI_BAR_UNMAPPED;
	b->hv_mapped = false;
}

int pci_func_init(struct pci_func *f, struct pci_bus *bus, int devfn, const char *name,
		  const struct pci_func_ops *ops, void *opaque)
{
	unsigned i;

	memset(f, 0, sizeof(*f));
	f->rom.fd = -1;
	for (i = 0; i < PCI_NUM_BARS; i++) {
		bar_reset_state(&f->bar[i]);
		f->bar[i].memfd = -1;
	}
	bar_reset_state(&f->rom.bar);
	f->rom.bar.memfd = -1;
	if (!bus || devfn > 255 || devfn < PCI_DEVFN_AUTO)
		return -EINVAL;
	if (devfn == PCI_DEVFN_AUTO)
		devfn = pick_devfn(bus);
	if (devfn < 0)
		return devfn;
	if (bus->func[devfn])
		return -EEXIST;
	f->bus = bus;
	f->devfn = (uint8_t)devfn;
	f->name = name;
	f->ops = ops;
	f->opaque = opaque;

	/* Writable header fields (PCI 3.0 section 6.2), as QEMU exposes them. */
	pci_set_wmask(f, PCI_COMMAND, 2,
		      PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_SERR |
			      PCI_COMMAND_INTX_DISABLE);
	pci_set_w1cmask(f, PCI_STATUS, 2, PCI_STATUS_W1C_MASK);
	pci_set_wmask(f, PCI_CACHE_LINE_SIZE, 1, 0xff);
	pci_set_wmask(f, PCI_INTERRUPT_LINE, 1, 0xff);
	memset(f->wmask + PCI_CONFIG_HEADER_END, 0xff, 256 - PCI_CONFIG_HEADER_END);
	pci_set_word(f, PCI_SUBSYSTEM_VENDOR_ID, PCI_SUBVENDOR_QEMU);
	pci_set_word(f, PCI_SUBSYSTEM_ID, PCI_SUBDEVICE_QEMU);

	bus->func[devfn] = f;
	f->registered = true;
	return 0;
}

void pci_func_ready(struct pci_func *f)
{
	memcpy(f->reset_cfg, f->cfg, sizeof(f->cfg));
	f->ready = true;
}

void pci_func_reset(struct pci_func *f)
{
	unsigned i;

	if (!f->registered)
		return;
	if (!f->ready)
		pci_func_ready(f);
	memcpy(f->cfg, f->reset_cfg, sizeof(f->cfg));
	f->irq_level = false;
	func_update_intx(f);
	bus_sync_bars(f->bus);
	for (i = 0; i < PCI_NUM_BARS; i++)
		if (f->bar[i].memfd >= 0)
			pci_bar_memfd_enable(f, i, true);
}

void pci_func_exit(struct pci_func *f)
{
	struct pci_bus *bus = f->bus;
	unsigned i;

	if (f->registered) {
		f->irq_level = false;
		func_update_intx(f);
		for (i = 0; i < PCI_NUM_BARS; i++)
			if (f->bar[i].region)
				bar_unmap(f, &f->bar[i]);
		if (f->rom.bar.region)
			bar_unmap(f, &f->rom.bar);
		bus->func[f->devfn] = NULL;
		f->registered = false;
		/* BARs that collided with this function's may map now. */
		bus_sync_bars(bus);
	}
	if (f->rom.data)
		munmap(f->rom.data, f->rom.size);
	f->rom.data = NULL;
	if (f->rom.fd >= 0)
		close(f->rom.fd);
	f->rom.fd = -1;
}

void pci_set_ids(struct pci_func *f, uint16_t vendor, uint16_t device, uint8_t rev,
		 uint32_t class_code)
{
	pci_set_word(f, PCI_VENDOR_ID, vendor);
	pci_set_word(f, PCI_DEVICE_ID, device);
	pci_set_byte(f, PCI_REVISION_ID, rev);
	pci_set_byte(f, PCI_CLASS_PROG, (uint8_t)class_code);
	pci_set_word(f, PCI_CLASS_DEVICE, (uint16_t)(class_code >> 8));
}

void pci_set_wmask(struct pci_func *f, uint32_t reg, unsigned len, uint32_t mask)
{
	unsigned i;

	for (i = 0; i < len && i < 4 && reg + i < 256; i++)
		f->wmask[reg + i] = (uint8_t)(mask >> (8 * i));
}

void pci_set_w1cmask(struct pci_func *f, uint32_t reg, unsigned len, uint32_t mask)
{
	unsigned i;

	for (i = 0; i < len && i < 4 && reg + i < 256; i++)
		f->w1cmask[reg + i] = (uint8_t)(mask >> (8 * i));
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int pci_bar_init(struct pci_func *f, unsigned bar, unsigned type, uint64_t size,
		 struct io_region *r)
{
	bool is64 = !(type & PCI_BAR_IO) && (type & PCI_BAR_MEM64);
	uint64_t mask = ~(size - 1);
	struct pci_bar *b;

	if (bar >= PCI_NUM_BARS || (is64 && bar + 1 >= PCI_NUM_BARS) || !r || !is_pow2(size))
		return -EINVAL;
	if ((type & PCI_BAR_IO) ? (type != PCI_BAR_IO || size < 4 || size > 0x10000)
				: (size < 16 || (!is64 && size > (1ull << 31))))
		return -EINVAL;
	b = &f->bar[bar];
	if (b->region || (is64 && f->bar[bar + 1].region))
		return -EEXIST;
	b->region = r;
	b->size = size;
	b->type = (uint8_t)type;
	bar_reset_state(b);
	pci_set_long(f, bar_reg(bar), type);
	pci_set_wmask(f, bar_reg(bar), 4, (uint32_t)mask & ((type & PCI_BAR_IO) ? ~3u : ~0xfu));
	if (is64) {
		pci_set_long(f, bar_reg(bar + 1), 0);
		pci_set_wmask(f, bar_reg(bar + 1), 4, (uint32_t)(mask >> 32));
	}
	return 0;
}

int pci_bar_set_memfd(struct pci_func *f, unsigned bar, int fd, uint64_t offset, uint64_t len,
		      uint32_t flags)
{
	struct pci_bar *b;

	if (bar >= PCI_NUM_BARS || fd < 0)
		return -EINVAL;
	b = &f->bar[bar];
	if (!b->region || (b->type & PCI_BAR_IO) || b->mapped_at != PCI_BAR_UNMAPPED)
		return -EINVAL;
	if (!len || len > b->size || ((offset | len | b->size) & 4095))
		return -EINVAL;
	b->memfd = fd;
	b->memfd_offset = offset;
	b->memfd_len = len;
	b->memfd_flags = flags;
	return 0;
}

int pci_bar_memfd_enable(struct pci_func *f, unsigned bar, bool on)
{
	struct pci_bar *b;

	if (bar >= PCI_NUM_BARS || f->bar[bar].memfd < 0)
		return -EINVAL;
	b = &f->bar[bar];
	if (b->memfd_off == !on)
		return 0;
	b->memfd_off = !on;
	if (!on)
		bar_hv_unmap(f, b);
	else if (b->mapped_at != PCI_BAR_UNMAPPED && f->registered)
		bar_hv_map(f, b);
	return 0;
}

uint64_t pci_bar_memfd_addr(const struct pci_func *f, unsigned bar)
{
	if (bar >= PCI_NUM_BARS || !f->bar[bar].hv_mapped)
		return PCI_BAR_UNMAPPED;
	return f->bar[bar].mapped_at;
}

uint64_t pci_bar_addr(const struct pci_func *f, unsigned bar)
{
	if (bar == PCI_NUM_BARS)
		return f->rom.bar.mapped_at;
	if (bar > PCI_NUM_BARS)
		return PCI_BAR_UNMAPPED;
	return f->bar[bar].mapped_at;
}

/* ---- expansion ROM ------------------------------------------------------------------------- */

static uint64_t rom_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_func *f = opaque;
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < size; i++) {
		uint64_t a = off + i;
		uint8_t b = a < f->rom.size ? f->rom.data[a] : 0xff;

		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

static void rom_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_func *f = opaque;

	dm_guest_err(MOD, "%s: write to expansion ROM offset 0x%llx dropped", f->name,
		     (unsigned long long)off);
}

static const struct io_ops rom_ops = {
	.read = rom_read,
	.write = rom_write,
	.min_size = 1,
	.max_size = 8,
};

int pci_rom_init(struct pci_func *f, const void *data, size_t len)
{
	uint64_t size = PCI_ROM_MIN_SIZE;
	int fd, ret;
	void *p;

	if (f->rom.bar.region)
		return -EEXIST;
	if (len > PCI_ROM_MAX_SIZE)
		return -EFBIG;
	while (size < len)
		size <<= 1;
	fd = memfd_create("pci-rom", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = -errno;
		goto err_close;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}
	memcpy(p, data, len);
	f->rom.fd = fd;
	f->rom.data = p;
	f->rom.size = size;
	io_region_init(&f->rom.region, &rom_ops, f, "pci-rom", size);
	f->rom.bar.region = &f->rom.region;
	f->rom.bar.size = size;
	f->rom.bar.type = PCI_BAR_MEM32;
	bar_reset_state(&f->rom.bar);
	f->rom.bar.memfd = fd;
	f->rom.bar.memfd_offset = 0;
	f->rom.bar.memfd_len = size;
	f->rom.bar.memfd_flags = HVM_MAP_F_READONLY;
	pci_set_long(f, PCI_ROM_ADDRESS, 0);
	pci_set_wmask(f, PCI_ROM_ADDRESS, 4, (uint32_t) ~(size - 1) | PCI_ROM_ENABLE);
	return 0;

err_close:
	close(fd);
	return ret;
}

int pci_rom_load(struct pci_func *f, const char *path)
{
	struct stat st;
	ssize_t got;
	void *buf;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	if (st.st_size <= 0 || (uint64_t)st.st_size > PCI_ROM_MAX_SIZE) {
		ret = -EFBIG;
		goto out_close;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	got = pread(fd, buf, (size_t)st.st_size, 0);
	if (got != st.st_size)
		ret = got < 0 ? -errno : -EIO;
	else
		ret = pci_rom_init(f, buf, (size_t)got);
	free(buf);
out_close:
	close(fd);
	return ret;
}

/* ---- capabilities -------------------------------------------------------------------------- */

int pci_add_capability(struct pci_func *f, uint8_t id, uint8_t offset, uint8_t len)
{
	unsigned i;

	if (offset < PCI_CONFIG_HEADER_END || (offset & 3) || len < 2 ||
	    (unsigned)offset + len > 256)
		return -EINVAL;
	for (i = offset; i < (unsigned)offset + len; i++)
		if (f->cap_used[i / 8] & (1u << (i % 8)))
			return -EEXIST;
	for (i = offset; i < (unsigned)offset + len; i++)
		f->cap_used[i / 8] |= (uint8_t)(1u << (i % 8));
	pci_set_byte(f, offset, id);
	pci_set_byte(f, offset + 1, pci_get_byte(f, PCI_CAPABILITY_LIST));
	pci_set_wmask(f, offset, 2, 0);
	pci_set_byte(f, PCI_CAPABILITY_LIST, offset);
	pci_set_word(f, PCI_STATUS, pci_get_word(f, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	return offset;
}

/* ---- DMA ----------------------------------------------------------------------------------- */

static int dma_allowed(struct pci_func *f, uint64_t gpa, size_t len)
{
	if (pci_get_word(f, PCI_COMMAND) & PCI_COMMAND_MASTER)
		return 0;
	dm_guest_err(MOD, "%s: DMA of %zu bytes at 0x%llx without bus mastering", f->name, len,
		     (unsigned long long)gpa);
	return -EPERM;
}

int pci_dma_read(struct pci_func *f, uint64_t gpa, void *buf, size_t len)
{
	int ret = dma_allowed(f, gpa, len);

	if (ret < 0)
		return ret;
	return gmem_read(f->bus->dm, gpa, buf, len);
}

int pci_dma_write(struct pci_func *f, uint64_t gpa, const void *buf, size_t len)
{
	int ret = dma_allowed(f, gpa, len);

	if (ret < 0)
		return ret;
	return gmem_write(f->bus->dm, gpa, buf, len);
}
