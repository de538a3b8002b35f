// SPDX-License-Identifier: MIT
/*
 * pc.c - machine builder (placeholder until the PC platform lands): creates
 * the -device extras only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "dm.h"
#include "log.h"

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

int pc_machine_build(struct dm *dm)
{
	unsigned i;
	int err;

	if (strcmp(dm->cfg.machine, "none") && strcmp(dm->cfg.machine, "pc") &&
	    strcmp(dm->cfg.machine, "xenfv")) {
		dm_err("pc", "unknown machine '%s' (use pc, xenfv or none)", dm->cfg.machine);
		return -EINVAL;
	}
	for (i = 0; i < dm->cfg.nr_extra_devices; i++) {
		err = pc_create_extra(dm, dm->cfg.extra_devices[i]);
		if (err)
			return err;
	}
	return 0;
}
