/* SPDX-License-Identifier: MIT */
/*
 * device.h - the device type registry and instance lifecycle.
 *
 * Types are declared with DM_DEVICE(type) in their own file; the macro puts a
 * pointer in the "dm_devtypes" linker section (hw/ is linked as an OBJECT
 * library so no entry is dropped).  Instances are created explicitly by the
 * machine builder from options ("iobase=0x3f8,irq=4"), reset together and
 * destroyed in reverse creation order.  Loop thread only.
 */
#ifndef DM_DEVICE_H
#define DM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opts.h"

struct dm;
struct dev;
struct ss_desc;

enum dev_reset {
	DEV_RESET_COLD = 0, /* power-on */
	DEV_RESET_WARM = 1, /* system reset: keep what survives a reset button */
};

struct dev_type {
	const char *name;  /* "uart16550", "rtc", ... */
	size_t state_size; /* zeroed allocation handed to create() as dev->state */
	/* Set up state, map regions, connect IRQs; 0 or -errno.  Must reset. */
	int (*create)(struct dev *d, const struct opts *o);
	void (*reset)(struct dev *d, enum dev_reset kind);
	/* Undo create(); called even when create() failed halfway. */
	void (*destroy)(struct dev *d);
	const struct ss_desc *savestate; /* may be NULL until save/restore lands */
};

struct dev {
	const struct dev_type *type;
	struct dm *dm;
	void *state;
	char *id; /* instance name: type name or "uart16550.1" */
	struct dev *next;
};

#define DM_DEVICE(t)                                           \
	static const struct dev_type *const dm_devtype_ptr_##t \
		__attribute__((section("dm_devtypes"), used, aligned(sizeof(void *)))) = &(t)

/* Look up a registered type by name, or NULL. */
const struct dev_type *dev_type_find(const char *name);
/* Iterate registered types: returns the i-th or NULL past the end. */
const struct dev_type *dev_type_at(size_t i);

/* Create an instance; opts_str may be NULL.  0 or -errno (logged). */
int dev_create(struct dm *dm, const char *type, const char *opts_str, struct dev **out);
/* Find the first instance of a type name or id. */
struct dev *dev_find(struct dm *dm, const char *name);
void dev_reset_all(struct dm *dm, enum dev_reset kind);
void dev_destroy_all(struct dm *dm);

#endif /* DM_DEVICE_H */
