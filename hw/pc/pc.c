// SPDX-License-Identifier: MIT
/*
 * pc.c - the machine builder: turns the command line (struct dm_config)
 * into devices.
 *
 *   -M none        only the -device extras;
 *   -M pc / xenfv  i440FX host bridge, PIIX3, PIIX4 PM, RTC/CMOS, fw_cfg,
 *                  a 16550 per -serial, the i8042, IDE, ISA DMA and floppy,
 *                  the UHCI controller and its tablet with -usb/-usbdevice,
 *                  debug console, port 0x92, the 0xCF9 reset register when no
 *                  PIIX3 provides it, then the extras, in that order (the
 *                  order of QEMU's pc_init1).
 * Device types owned by other parts of the tree that are not built in are
 * skipped with a warning; the platform devices of hw/pc must exist.
 */
#include "pc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "dm.h"
#include "log.h"

#define MOD "pc"

void pc_ram_layout(const struct dm *dm, uint64_t *below_4g, uint64_t *above_4g)
{
	uint64_t ram;

	if (dm->info.ram_below_4g || dm->info.ram_above_4g) {
		*below_4g = dm->info.ram_below_4g;
		*above_4g = dm->info.ram_above_4g;
		return;
	}
	ram = dm->cfg.ram_mb << 20;
	if (ram >= 0xe0000000ull) {
		*below_4g = PC_LOW_RAM_MAX;
		*above_4g = ram - PC_LOW_RAM_MAX;
	} else {
		*below_4g = ram;
		*above_4g = 0;
	}
}

unsigned pc_nr_vcpus(const struct dm *dm)
{
	unsigned n = dm->info.nr_vcpus ? dm->info.nr_vcpus : dm->cfg.vcpus;

	return n ? n : 1;
}

/* Create "TYPE[,opts]" from a -device argument. */
static int pc_create_extra(struct dm *dm, const char *spec)
{
	const char *comma = strchr(spec, ',');
	char *type = comma ? strndup(spec, (size_t)(comma - spec)) : strdup(spec);
	int err;

	if (!type)
		return -ENOMEM;
	err = dev_create(dm, type, comma ? comma + 1 : NULL, NULL);
	free(type);
	return err;
}

/* A device of another part of the tree: absent types are skipped with a warning. */
static int pc_create_optional(struct dm *dm, const char *type, const char *opts)
{
	if (!dev_type_find(type)) {
		dm_warn(MOD, "device type '%s' is not built in: machine has no %s", type, type);
		return 0;
	}
	return dev_create(dm, type, opts, NULL);
}

static int pc_create_serial(struct dm *dm)
{
	char opts[600];
	unsigned i;
	int err, n;

	for (i = 0; i < dm->cfg.nr_serial && i < 4; i++) {
		const char *spec = dm->cfg.serial[i];

		if (!spec || !strcmp(spec, "none"))
			continue;
		n = snprintf(opts, sizeof(opts), "index=%u,chardev=%s", i, spec);
		if (n < 0 || (size_t)n >= sizeof(opts)) {
			dm_err(MOD, "-serial %s: spec too long", spec);
			return -EINVAL;
		}
		err = pc_create_optional(dm, "uart16550", opts);
		if (err)
			return err;
	}
	return 0;
}

/* Ports 0x402/0xE9; -debugcon SPEC sends 0xE9 output to a character backend. */
static int pc_create_debugcon(struct dm *dm)
{
	char opts[300];

	if (!dm->cfg.debugcon)
		return dev_create(dm, "debugcon", NULL, NULL);
	if ((size_t)snprintf(opts, sizeof(opts), "chardev=%s", dm->cfg.debugcon) >= sizeof(opts)) {
		dm_err(MOD, "-debugcon %s: spec too long", dm->cfg.debugcon);
		return -EINVAL;
	}
	return dev_create(dm, "debugcon", opts, NULL);
}

/*
 * -usb: the PIIX3's UHCI function (hw/usb), then each -usbdevice on it.
 * Only the tablet exists; other names are reported and left out.
 */
static int pc_create_usb(struct dm *dm)
{
	unsigned i;
	int err;

	if (!dm->cfg.usb)
		return 0;
	err = pc_create_optional(dm, "piix3-usb-uhci", NULL);
	for (i = 0; !err && i < dm->cfg.nr_usbdevice; i++) {
		if (strcmp(dm->cfg.usbdevice[i], "tablet")) {
			dm_warn(MOD, "-usbdevice %s: only 'tablet' is emulated; left out",
				dm->cfg.usbdevice[i]);
			continue;
		}
		err = pc_create_optional(dm, "usb-tablet", NULL);
	}
	return err;
}

static int pc_build_platform(struct dm *dm)
{
	static const char *const chipset[] = { "i440fx", "piix3", "piix4-pm" };
	unsigned i;
	int err;

	/*
	 * The ACPI PM function exists only with -acpi, as in QEMU and qemu-dm:
	 * SeaBIOS builds ACPI tables of its own whenever it finds one, so
	 * acpi=0 would otherwise still show the guest ACPI.
	 */
	for (i = 0; i < sizeof(chipset) / sizeof(chipset[0]); i++) {
		if (!strcmp(chipset[i], "piix4-pm") && !dm->cfg.acpi)
			continue;
		err = pc_create_optional(dm, chipset[i], NULL);
		if (err)
			return err;
	}
	err = dev_create(dm, "rtc", NULL, NULL);
	if (!err)
		err = dev_create(dm, "fw_cfg", NULL, NULL);
	if (!err)
		err = pc_create_serial(dm);
	if (!err)
		err = pc_create_optional(dm, "i8042", NULL);
	/*
	 * Storage: the IDE function at 00:01.1 as the PIIX4 has it (UDMA/33,
	 * which Linux's ata_piix uses only there; hw/ide/ide_piix.c), hda-hdd
	 * from -drive, ISA DMA and the floppy controller.
	 */
	if (!err)
		err = pc_create_optional(dm, "piix4-ide", NULL);
	if (!err)
		err = pc_create_optional(dm, "i8257", NULL);
	if (!err)
		err = pc_create_optional(dm, "fdc", NULL);
	if (!err)
		err = pc_create_usb(dm);
	if (!err)
		err = pc_create_debugcon(dm);
	if (!err)
		err = dev_create(dm, "port92", NULL, NULL);
	if (!err)
		err = dev_create(dm, "post-port", NULL, NULL);
	/* PIIX3 decodes 0xCF9 itself (its reset control register). */
	if (!err && !dev_find(dm, "piix3"))
		err = dev_create(dm, "reset-cf9", NULL, NULL);
	return err;
}

int pc_machine_build(struct dm *dm)
{
	const char *machine = dm->cfg.machine ? dm->cfg.machine : "pc";
	unsigned i;
	int err;

	if (!strcmp(machine, "pc") || !strcmp(machine, "xenfv")) {
		err = pc_build_platform(dm);
		if (err)
			return err;
	} else if (strcmp(machine, "none")) {
		dm_err(MOD, "unknown machine '%s' (use pc, xenfv or none)", machine);
		return -EINVAL;
	}
	for (i = 0; i < dm->cfg.nr_extra_devices; i++) {
		err = pc_create_extra(dm, dm->cfg.extra_devices[i]);
		if (err)
			return err;
	}
	return 0;
}
