/* SPDX-License-Identifier: MIT */
/*
 * disk.h - xl disk specifications (xl-disk-configuration(5)) turned into
 * hvmdm -drive options for the emulated IDE slots hda-hdd.
 */
#ifndef TOOLS_DISK_H
#define TOOLS_DISK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct disk {
	char target[PATH_MAX]; /* "" for an empty CD-ROM drive */
	char format[8];	       /* raw or qcow2 */
	int index;	       /* IDE slot 0-3 (hda-hdd, xvda-xvdd) */
	bool cdrom;
	bool readonly;
	bool direct; /* direct-io-safe: the backend may bypass the page cache */
	unsigned long long l2_cache_size; /* qcow2 l2-cache-size= in bytes; 0: hvmdm's default */
};

/* Parse one spec; -EINVAL with a reason in err (without the key or value). */
int disk_parse(const char *spec, struct disk *d, char *err, size_t errlen);
/* The hvmdm -drive argument: file=...,format=...,index=N,media=...,readonly=on|off
 * (and ,cache=none for direct-io-safe, ,l2-cache-size=BYTES when given). */
void disk_drive_arg(const struct disk *d, char *buf, size_t len);

#endif /* TOOLS_DISK_H */
