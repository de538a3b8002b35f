/* SPDX-License-Identifier: MIT */
/*
 * pci.h - the PCI bus (bus 0 only) shared by every PCI device model.
 *
 * A bus owns up to 256 functions (devfn = device << 3 | function).  Each
 * function has a 256-byte configuration space with per-byte write masks and
 * write-1-to-clear masks (PCI Local Bus Specification 3.0, chapter 6), up to
 * six BARs plus an expansion ROM BAR that the bus maps into the dm's address
 * spaces whenever the guest programs them and enables decoding in COMMAND.
 *
 * Lifecycle of a function (inside a device's create()):
 *   pci_func_init()          claim the devfn, zeroed config, default masks
 *   pci_set_*(), pci_bar_init(), pci_rom_init(), pci_add_capability()
 *   pci_func_ready()         record the power-on configuration for reset
 * and in reset(): pci_func_reset(); in destroy(): pci_func_exit().
 *
 * Configuration cycles reach the bus through ports 0xCF8-0xCFF
 * (configuration mechanism #1, PCI 3.0 section 3.2.2.3.2) and through
 * IOREQ_TYPE_PCI_CONFIG requests (dm->pci_ops).  Loop thread only.
 */
#ifndef HW_PCI_PCI_H
#define HW_PCI_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iospace.h"

struct dm;
struct pci_bus;
struct pci_func;

/* Standard header registers (type 0), PCI 3.0 section 6.1. */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a /* sub-class (low byte) and base class (high byte) */
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_CONFIG_HEADER_END 0x40

#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_SERR 0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_STATUS_FAST_BACK 0x0080
#define PCI_STATUS_DEVSEL_MEDIUM 0x0200
/* Error bits, write-1-to-clear (PCI 3.0 section 6.2.3). */
#define PCI_STATUS_W1C_MASK 0xf900

#define PCI_HEADER_TYPE_MULTI_FUNCTION 0x80

/* BAR low bits (PCI 3.0 section 6.2.5.1); pci_bar_init() types use them. */
#define PCI_BAR_MEM32 0x0
#define PCI_BAR_IO 0x1
#define PCI_BAR_MEM64 0x4
#define PCI_BAR_PREFETCH 0x8
#define PCI_ROM_ENABLE 0x1

#define PCI_NUM_BARS 6
#define PCI_DEVFN(dev, fn) ((((dev)&0x1f) << 3) | ((fn)&0x7))
#define PCI_SLOT(devfn) (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn) ((devfn)&0x7)
#define PCI_DEVFN_AUTO (-1) /* pci_func_init(): first free device, function 0 */

/* QEMU's subsystem IDs; pci_func_init() sets them (drivers match on them). */
#define PCI_SUBVENDOR_QEMU 0x1af4
#define PCI_SUBDEVICE_QEMU 0x1100

/*
 * Device hooks, both optional.  config_read receives the value the generic
 * code produced and returns what the guest sees (registers whose value is
 * computed on the fly).  config_write runs after the generic code stored the
 * bytes allowed by the write masks and updated BAR mappings; `val` is the
 * value the guest wrote (`size` bytes at `reg`).  Accesses never cross the
 * 256-byte space.
 */
struct pci_func_ops {
	uint32_t (*config_read)(struct pci_func *f, uint32_t reg, unsigned size, uint32_t val);
	void (*config_write)(struct pci_func *f, uint32_t reg, uint32_t val, unsigned size);
	/*
	 * BAR `bar` (PCI_NUM_BARS: the ROM) now decodes at addr, or stopped
	 * decoding (PCI_BAR_UNMAPPED).  Called after the region moved, in
	 * the middle of the bus's remapping: it must not write config space.
	 */
	void (*bar_update)(struct pci_func *f, unsigned bar, uint64_t addr);
};

struct pci_bar {
	struct io_region *region; /* NULL: BAR not implemented */
	uint64_t size;		  /* power of two */
	uint8_t type;		  /* PCI_BAR_* bits */
	uint64_t mapped_at;	  /* address currently mapped, or PCI_BAR_UNMAPPED */
	uint64_t refused_at;	  /* last address refused for overlap (logged once) */
	/* Optional memfd the hypervisor maps at the BAR (pci_bar_set_memfd). */
	int memfd; /* -1: none */
	uint64_t memfd_offset, memfd_len;
	uint32_t memfd_flags; /* HVM_MAP_F_* */
	bool hv_mapped;	      /* dm_map_memfd() succeeded at mapped_at */
	bool memfd_off;	      /* pci_bar_memfd_enable(false): trap instead */
};

#define PCI_BAR_UNMAPPED UINT64_MAX

struct pci_rom {
	int fd;			 /* memfd, -1 when the function has no ROM */
	uint8_t *data;		 /* shared mapping of the memfd */
	uint64_t size;		 /* power of two, >= 4 KiB */
	struct io_region region; /* served from `data` when the dm is standalone */
	struct pci_bar bar;
};

struct pci_func {
	struct pci_bus *bus;
	uint8_t devfn;
	bool registered;
	bool ready; /* reset_cfg holds the power-on configuration */
	const char *name;
	const struct pci_func_ops *ops;
	void *opaque;

	uint8_t cfg[256];
	uint8_t wmask[256];   /* bit set: the guest may change it */
	uint8_t w1cmask[256]; /* bit set: writing 1 clears it */
	uint8_t reset_cfg[256];

	struct pci_bar bar[PCI_NUM_BARS];
	struct pci_rom rom;
	uint8_t cap_used[32]; /* bit per config byte owned by a capability */

	bool irq_level;	  /* the device's INTx output before INTx Disable */
	bool intx_active; /* what the router was last told */
};

/*
 * INTx routing (the ISA bridge installs it): called on every change of a
 * function's effective INTx level.  pin is 1..4 (INTA#..INTD#).
 */
struct pci_intx_router {
	void (*set_intx)(void *opaque, uint8_t devfn, uint8_t pin, bool level);
};

/* Byte handler for port 0xCF9, which shares the dword at 0xCF8 (PIIX3 RCR). */
struct pci_cf9_ops {
	uint8_t (*read)(void *opaque);
	void (*write)(void *opaque, uint8_t val);
};

/*
 * Create the bus, claim ports 0xCF8-0xCFF and install it as dm->pci_ops.
 * -EEXIST when the dm already has a bus or the ports are taken.
 */
int pci_bus_create(struct dm *dm, struct pci_bus **out);
/* Unmaps the ports and uninstalls dm->pci_ops; every function must be gone. */
void pci_bus_destroy(struct pci_bus *bus);
/* The dm's PCI bus (NULL before the host bridge was created). */
struct pci_bus *pci_bus_of(struct dm *dm);
struct dm *pci_bus_dm(const struct pci_bus *bus);
/* Function at devfn, or NULL. */
struct pci_func *pci_bus_func(struct pci_bus *bus, uint8_t devfn);

void pci_bus_set_intx_router(struct pci_bus *bus, const struct pci_intx_router *r, void *opaque);
void pci_bus_set_cf9(struct pci_bus *bus, const struct pci_cf9_ops *ops, void *opaque);

/*
 * Level-triggered ISA IRQs are counted per user (PIRQ links, the ACPI SCI):
 * the first reference marks the GSI level-triggered (dm_irq_set_trigger),
 * dropping the last one marks it edge-triggered again.
 */
void pci_bus_level_irq_get(struct pci_bus *bus, uint32_t irq);
void pci_bus_level_irq_put(struct pci_bus *bus, uint32_t irq);

/* Raw configuration cycle (tests, the harness): all-ones where nothing answers. */
uint32_t pci_bus_config_read(struct pci_bus *bus, uint8_t busnr, uint8_t devfn, uint32_t reg,
			     unsigned size);
void pci_bus_config_write(struct pci_bus *bus, uint8_t busnr, uint8_t devfn, uint32_t reg,
			  uint32_t val, unsigned size);

/*
 * Claim devfn (or the first free device with PCI_DEVFN_AUTO) on bus.
 * Config space starts zeroed with the standard masks and QEMU's subsystem
 * IDs.  0, -EEXIST (devfn taken), -ENOSPC or -EINVAL.
 */
int pci_func_init(struct pci_func *f, struct pci_bus *bus, int devfn, const char *name,
		  const struct pci_func_ops *ops, void *opaque);
/* Record the current configuration as the power-on state that reset restores. */
void pci_func_ready(struct pci_func *f);
/* Restore the power-on configuration, unmap BARs, deassert INTx. */
void pci_func_reset(struct pci_func *f);
/* Unmap everything, deassert INTx, release the devfn and the ROM. */
void pci_func_exit(struct pci_func *f);

/* Identification in one call: IDs, revision, class (base<<16|sub<<8|prog-if). */
void pci_set_ids(struct pci_func *f, uint16_t vendor, uint16_t device, uint8_t rev,
		 uint32_t class_code);

/* Little-endian accessors of the config image (device side, no masks). */
static inline uint8_t pci_get_byte(const struct pci_func *f, uint32_t reg)
{
	return f->cfg[reg & 0xff];
}

static inline uint16_t pci_get_word(const struct pci_func *f, uint32_t reg)
{
	return (uint16_t)(pci_get_byte(f, reg) | pci_get_byte(f, reg + 1) << 8);
}

static inline uint32_t pci_get_long(const struct pci_func *f, uint32_t reg)
{
	return (uint32_t)pci_get_word(f, reg) | (uint32_t)pci_get_word(f, reg + 2) << 16;
}

static inline void pci_set_byte(struct pci_func *f, uint32_t reg, uint8_t v)
{
	f->cfg[reg & 0xff] = v;
}

static inline void pci_set_word(struct pci_func *f, uint32_t reg, uint16_t v)
{
	pci_set_byte(f, reg, (uint8_t)v);
	pci_set_byte(f, reg + 1, (uint8_t)(v >> 8));
}

static inline void pci_set_long(struct pci_func *f, uint32_t reg, uint32_t v)
{
	pci_set_word(f, reg, (uint16_t)v);
	pci_set_word(f, reg + 2, (uint16_t)(v >> 16));
}

/* Write mask of `len` bytes at reg from the little-endian value mask. */
void pci_set_wmask(struct pci_func *f, uint32_t reg, unsigned len, uint32_t mask);
void pci_set_w1cmask(struct pci_func *f, uint32_t reg, unsigned len, uint32_t mask);

/*
 * Declare BAR `bar` (0-5; a PCI_BAR_MEM64 BAR also takes bar+1) of `size`
 * bytes (a power of two, >= 4 for I/O, >= 16 for memory).  The device has
 * initialised `r` with io_region_init(); its len may be smaller than size.
 * The bus maps it wherever the guest puts the BAR.  0 or -EINVAL.
 */
int pci_bar_init(struct pci_func *f, unsigned bar, unsigned type, uint64_t size,
		 struct io_region *r);
/*
 * Let the hypervisor serve the first len bytes of memory BAR `bar` from
 * memfd fd (at offset, HVM_MAP_F_* flags: VRAM, ROMs): wherever the BAR
 * decodes, the bus calls dm_map_memfd() there and dm_unmap() when it moves
 * or stops.  The BAR's io_region still gets whatever reaches the dm (the
 * rest of the BAR, standalone dms, the test harness).  size of the BAR, len
 * and offset must be page multiples.  The fd stays the caller's.  0 or
 * -EINVAL.
 */
int pci_bar_set_memfd(struct pci_func *f, unsigned bar, int fd, uint64_t offset, uint64_t len,
		      uint32_t flags);
/*
 * Switch the hypervisor mapping of BAR `bar`'s memfd off or back on without
 * forgetting it: off unmaps it at once (accesses then reach the BAR's
 * io_region wherever it decodes), on maps it again at the BAR's current
 * address and keeps following BAR moves.  For devices whose memory must
 * trap for a while (Cirrus blits from the host, its x8/x16 addressing).
 * pci_func_reset() turns it back on.  0, or -EINVAL without a memfd.
 */
int pci_bar_memfd_enable(struct pci_func *f, unsigned bar, bool on);
/*
 * Guest-physical address where the hypervisor serves BAR `bar`'s memfd now
 * (for dm_dirty_log()), or PCI_BAR_UNMAPPED when it does not.
 */
uint64_t pci_bar_memfd_addr(const struct pci_func *f, unsigned bar);
/* Address BAR `bar` is mapped at now (PCI_NUM_BARS: the ROM), or PCI_BAR_UNMAPPED. */
uint64_t pci_bar_addr(const struct pci_func *f, unsigned bar);

/*
 * Expansion ROM: copies len bytes into a memfd of the next power of two
 * (>= 4 KiB).  Attached dms map it read-only into the guest with
 * dm_map_memfd(); it is also served through MMIO reads.  0 or -errno.
 */
int pci_rom_init(struct pci_func *f, const void *data, size_t len);
/* Same, from a file (option ROM images, at most 16 MiB). */
int pci_rom_load(struct pci_func *f, const char *path);

/*
 * Add a capability of len bytes with the given ID at offset (dword aligned,
 * >= 0x40), linked at the head of the list at 0x34; its ID and next bytes
 * become read-only.  Returns offset, -EINVAL or -EEXIST (overlap).
 */
int pci_add_capability(struct pci_func *f, uint8_t id, uint8_t offset, uint8_t len);

/* Device's INTx output level (the pin in config 0x3D; no-op when 0). */
void pci_set_irq(struct pci_func *f, bool level);

/* Bus-master DMA: -EPERM without COMMAND bit 2, -EFAULT outside RAM. */
int pci_dma_read(struct pci_func *f, uint64_t gpa, void *buf, size_t len);
int pci_dma_write(struct pci_func *f, uint64_t gpa, const void *buf, size_t len);

#endif /* HW_PCI_PCI_H */
