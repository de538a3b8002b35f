// SPDX-License-Identifier: MIT
/*
 * i440fx.c - Intel 82441FX PCI and memory controller (PMC), the host bridge
 * at 00:00.0 of the "pc" machine.
 *
 * Emulated: the identification registers (8086:1237 revision 2, class
 * 06:00:00; subsystem 1af4:1100, which SeaBIOS requires before it uses
 * fw_cfg), the Programmable Attribute Map registers PAM0-PAM6 (0x59-0x5F,
 * 82441FX datasheet, PAM registers) and SMRAM (0x72, SMRAM register), stored
 * and readable, and the byte QEMU keeps at 0x57 with RAM size / 8 MiB for
 * coreboot.  Creating the device creates the PCI bus and claims the
 * configuration ports 0xCF8-0xCFF (pci.c).
 * Not emulated: PAM and SMRAM have no effect on memory: 0xC0000-0xFFFFF is
 * always RAM owned by the hypervisor, and there is no SMM.  Changes are
 * logged (rate limited).  DRAM timing and row-boundary registers are plain
 * storage, as every byte from 0x40 up is.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "device.h"
#include "dm.h"
#include "log.h"
#include "pci/pci.h"

#define MOD "i440fx"

#define I440FX_VENDOR 0x8086
#define I440FX_DEVICE 0x1237
#define I440FX_REVISION 0x02
#define I440FX_CLASS 0x060000 /* bridge, host */

#define I440FX_RAM_SIZE_8M 0x57 /* QEMU: RAM size in 8 MiB units for coreboot */
#define I440FX_PAM0 0x59
#define I440FX_PAM_COUNT 7
#define I440FX_SMRAM 0x72
#define I440FX_SMRAM_DEFAULT 0x02 /* C_BASE_SEG = 010: SMRAM at 0xA0000 */

struct i440fx {
	struct pci_bus *bus;
	struct pci_func func;
	uint8_t pam[I440FX_PAM_COUNT]; /* last values logged */
	uint8_t smram;
};

static uint64_t ram_bytes(const struct dm *dm)
{
	uint64_t total = 0;
	unsigned i;

	if (dm->cfg.ram_mb)
		return dm->cfg.ram_mb << 20;
	for (i = 0; i < dm->mem.nr && i < GMEM_MAX_REGIONS; i++)
		if (dm->mem.r[i].gpa < HVM_BOUNCE_GPA)
			total += dm->mem.r[i].len;
	return total;
}

/* Log PAM and SMRAM changes: they would remap memory on real hardware, not here. */
static void i440fx_config_write(struct pci_func *f, uint32_t reg, uint32_t val, unsigned size)
{
	struct i440fx *s = f->opaque;
	uint8_t pam[I440FX_PAM_COUNT], smram;
	unsigned i;

	for (i = 0; i < I440FX_PAM_COUNT; i++)
		pam[i] = pci_get_byte(f, I440FX_PAM0 + i);
	if (memcmp(pam, s->pam, sizeof(pam))) {
		memcpy(s->pam, pam, sizeof(pam));
		dm_log_ratelimited(LOG_INFO, MOD,
				   "PAM0-6 = %02x %02x %02x %02x %02x %02x %02x "
				   "(0xC0000-0xFFFFF stays RAM)",
				   pam[0], pam[1], pam[2], pam[3], pam[4], pam[5], pam[6]);
	}
	smram = pci_get_byte(f, I440FX_SMRAM);
	if (smram != s->smram) {
		s->smram = smram;
		dm_log_ratelimited(LOG_INFO, MOD, "SMRAM = 0x%02x (no SMM: memory unchanged)",
				   smram);
	}
}

static const struct pci_func_ops i440fx_pci_ops = {
	.config_write = i440fx_config_write,
};

static void i440fx_reset(struct dev *d, enum dev_reset kind)
{
	struct i440fx *s = d->state;

	pci_func_reset(&s->func);
	memcpy(s->pam, s->func.cfg + I440FX_PAM0, sizeof(s->pam));
	s->smram = pci_get_byte(&s->func, I440FX_SMRAM);
}

static int i440fx_create(struct dev *d, const struct opts *o)
{
	struct i440fx *s = d->state;
	uint64_t units;
	int ret;

	ret = pci_bus_create(d->dm, &s->bus);
	if (ret < 0) {
		dm_err(MOD, "cannot create the PCI bus: %d", ret);
		return ret;
	}
	ret = pci_func_init(&s->func, s->bus, PCI_DEVFN(0, 0), "i440fx", &i440fx_pci_ops, s);
	if (ret < 0)
		return ret;
	pci_set_ids(&s->func, I440FX_VENDOR, I440FX_DEVICE, I440FX_REVISION, I440FX_CLASS);
	units = ram_bytes(d->dm) >> 23;
	pci_set_byte(&s->func, I440FX_RAM_SIZE_8M, units > 255 ? 255 : (uint8_t)units);
	pci_set_byte(&s->func, I440FX_SMRAM, I440FX_SMRAM_DEFAULT);
	pci_func_ready(&s->func);
	i440fx_reset(d, DEV_RESET_COLD);
	return 0;
}

static void i440fx_destroy(struct dev *d)
{
	struct i440fx *s = d->state;

	if (!s->bus)
		return;
	pci_func_exit(&s->func);
	pci_bus_destroy(s->bus);
	s->bus = NULL;
}

static const struct dev_type i440fx_type = {
	.name = "i440fx",
	.state_size = sizeof(struct i440fx),
	.create = i440fx_create,
	.reset = i440fx_reset,
	.destroy = i440fx_destroy,
};
DM_DEVICE(i440fx_type);
