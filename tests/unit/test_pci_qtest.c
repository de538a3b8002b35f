// SPDX-License-Identifier: MIT
/*
 * test_pci_qtest.c - differential check of the PCI chipset against QEMU:
 * replays the transcripts in tests/harness/scripts/pci_*.qtest (recorded
 * from qemu-system-x86_64 -machine pc by pci-record.py) in-process on a
 * standalone dm with i440fx, piix3 and piix4-pm, and compares every reply.
 * Only port I/O requests and clock_step occur in those scripts.
 */
#include <stdio.h>

#include "device.h"
#include "dm.h"
#include "qtest_util.h"
#include "tap.h"

static const char *const scripts[] = {
	"pci_config_ids.qtest", "pci_config_writes.qtest", "pci_pm.qtest",
	"pci_pm_timer.qtest", /* hvmdm only: stepped clock */
};

/* The chipset the scripts were recorded on. */
static struct dm *chipset(const void *arg)
{
	struct dm *dm = NULL;

	(void)arg;
	CHECK_EQ(dm_create_standalone(64 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "i440fx", NULL, NULL), 0);
	CHECK_EQ(dev_create(dm, "piix3", NULL, NULL), 0);
	CHECK_EQ(dev_create(dm, "piix4-pm", NULL, NULL), 0);
	return dm;
}

int main(void)
{
	unsigned i;

	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++)
		qtest_replay(scripts[i], chipset, NULL);
	return tap_done();
}
