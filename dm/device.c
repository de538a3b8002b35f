// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
/*
 * device.c - device type registry (linker section "dm_devtypes") and
 * instance lifecycle.
 */
#include "device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "log.h"

/* Provided by the linker for the section; weak so a dm without devices links. */
extern const struct dev_type *const __start_dm_devtypes[] __attribute__((weak));
extern const struct dev_type *const __stop_dm_devtypes[] __attribute__((weak));

const struct dev_type *dev_type_at(size_t i)
{
	if (!__start_dm_devtypes || __start_dm_devtypes + i >= __stop_dm_devtypes)
		return NULL;
	return __start_dm_devtypes[i];
}

const struct dev_type *dev_type_find(const char *name)
{
	const struct dev_type *t;
	size_t i;

	for (i = 0; (t = dev_type_at(i)); i++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

static char *dev_make_id(struct dm *dm, const char *type)
{
	unsigned n = 0;
	struct dev *d;
	char *id;

	for (d = dm->devices; d; d = d->next)
		n += !strcmp(d->type->name, type);
	if (!n)
		return strdup(type);
	if (asprintf(&id, "%s.%u", type, n) < 0)
		return NULL;
	return id;
}

static void dev_free(struct dev *d)
{
	free(d->state);
	free(d->id);
	free(d);
}

int dev_create(struct dm *dm, const char *type, const char *opts_str, struct dev **out)
{
	const struct dev_type *t = dev_type_find(type);
	struct opts o;
	struct dev *d;
	int err;

	if (!t) {
		dm_err("device", "unknown device type '%s'", type);
		return -ENOENT;
	}
	err = opts_parse(&o, opts_str);
	if (err) {
		dm_err("device", "%s: bad options '%s'", type, opts_str);
		return err;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		goto err_opts;
	d->type = t;
	d->dm = dm;
	d->state = calloc(1, t->state_size ? t->state_size : 1);
	d->id = dev_make_id(dm, type);
	if (!d->state || !d->id)
		goto err_dev;
	err = t->create(d, &o);
	if (err) {
		dm_err("device", "%s: create failed: %s", d->id, strerror(-err));
		if (t->destroy)
			t->destroy(d);
		dev_free(d);
		opts_free(&o);
		return err;
	}
	opts_free(&o);
	*dm->devices_tail = d;
	dm->devices_tail = &d->next;
	if (out)
		*out = d;
	dm_dbg("device", "created %s", d->id);
	return 0;
err_dev:
	dev_free(d);
err_opts:
	opts_free(&o);
	return -ENOMEM;
}

struct dev *dev_find(struct dm *dm, const char *name)
{
	struct dev *d;

	for (d = dm->devices; d; d = d->next)
		if (!strcmp(d->id, name) || !strcmp(d->type->name, name))
			return d;
	return NULL;
}

void dev_reset_all(struct dm *dm, enum dev_reset kind)
{
	struct dev *d;

	for (d = dm->devices; d; d = d->next)
		if (d->type->reset)
			d->type->reset(d, kind);
}

/* Destroy in reverse creation order: later devices may depend on earlier ones. */
static void dev_destroy_rev(struct dev *d)
{
	if (!d)
		return;
	dev_destroy_rev(d->next);
	if (d->type->destroy)
		d->type->destroy(d);
	dev_free(d);
}

void dev_destroy_all(struct dm *dm)
{
	dev_destroy_rev(dm->devices);
	dm->devices = NULL;
	dm->devices_tail = &dm->devices;
}
