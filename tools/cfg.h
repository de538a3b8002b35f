/* SPDX-License-Identifier: MIT */
/*
 * cfg.h - domain configuration files for hvmctl: xl.cfg(5) and the older
 * xm Python-style files (`key = value` lines, strings in either quote
 * style, decimal/hex integers, multi-line lists, `#` comments), plus
 * KEY=VALUE overrides from the command line.
 *
 * Two stages: cfg_parse() turns text into raw entries (syntax errors only),
 * cfg_interpret() checks every key's value and fills struct domcfg.
 * Messages have the form "FILE:LINE: KEY = VALUE: what is allowed".
 */
#ifndef TOOLS_CFG_H
#define TOOLS_CFG_H

#include <stdbool.h>
#include <stddef.h>

#include "disk.h"

enum cfg_type {
	CFG_STR,
	CFG_INT,
	CFG_LIST,
};

struct cfg_val {
	enum cfg_type type;
	char *s;      /* CFG_STR; also the source text of CFG_INT */
	long long i;  /* CFG_INT */
	char **items; /* CFG_LIST: every item as a string */
	size_t n;     /* CFG_LIST length */
};

struct cfg_entry {
	char *key;
	struct cfg_val val;
	char *file; /* where it came from ("command line" for overrides) */
	int line;
};

struct cfg {
	struct cfg_entry *e;
	size_t n, cap;
};

/* What the domain ends with, for on_poweroff / on_reboot / on_crash. */
enum cfg_action {
	ACT_DESTROY,
	ACT_RESTART,
	ACT_PRESERVE,
	ACT_RENAME_RESTART,
	ACT_COREDUMP_DESTROY,
	ACT_COREDUMP_RESTART,
};

#define CFG_MAX_SERIAL 4
#define CFG_MAX_LIST 16

struct domcfg {
	char *name;
	char *uuid;
	long long memory, maxmem; /* MiB */
	long long vcpus;
	char *boot;
	bool acpi, apic, pae, localtime;
	long long rtc_timeoffset;
	char *serial[CFG_MAX_SERIAL];
	unsigned nr_serial;
	char *kernel, *ramdisk, *extra;
	char *firmware; /* a path, or NULL for the default (SeaBIOS) */
	enum cfg_action on_poweroff, on_reboot, on_crash;
	char *device_model; /* device_model_override */
	char *device_model_version;
	char *accel; /* auto, kvm, emu */
	/* Display and devices (passed through to hvmdm as qemu-dm options). */
	bool vnc, vncunused, sdl, full_screen, nographic, stdvga, usb;
	char *vga; /* "std", "cirrus" or "none"; NULL: the dm's default (cirrus) */
	char *vnclisten, *vncpasswd, *keymap, *soundhw, *fda, *fdb;
	long long vncdisplay; /* -1: unset */
	long long videoram;   /* 0: unset */
	char *usbdevice[CFG_MAX_LIST];
	unsigned nr_usbdevice;
	char *disk[CFG_MAX_LIST];
	unsigned nr_disk;
	struct disk disks[4]; /* disk[] parsed; one per IDE slot at most */
	char *vif[CFG_MAX_LIST];
	unsigned nr_vif;
};

/*
 * Parse text (NUL-terminated) into c, appending.  On a syntax error writes a
 * one-line message to err (without the "hvmctl: " prefix) and returns -EINVAL.
 */
int cfg_parse(struct cfg *c, const char *text, const char *fname, char *err, size_t errlen);
/* Read and parse a file. */
int cfg_parse_file(struct cfg *c, const char *path, char *err, size_t errlen);
/* Add a KEY=VALUE override; VALUE uses the file syntax or is taken as a bare string. */
int cfg_override(struct cfg *c, const char *kv, char *err, size_t errlen);
/* The last entry for key, or NULL. */
const struct cfg_entry *cfg_find(const struct cfg *c, const char *key);
void cfg_free(struct cfg *c);

/*
 * Check every key and fill d (defaults as xl).  Warnings (unknown keys, with
 * the nearest known key when one is close; accepted-but-ignored ones) are
 * appended to warn, one per line, when warn is not NULL.  Returns 0 or
 * -EINVAL with the first error in err; a value of the wrong type names the
 * kind of value the key takes and a valid example line.
 */
int cfg_interpret(const struct cfg *c, struct domcfg *d, char *err, size_t errlen, char *warn,
		  size_t warnlen);
/*
 * Check that the files d names (kernel, ramdisk, firmware, fda, fdb,
 * device_model_override, disk images) exist and can be opened the way the
 * domain will use them; on failure, err names the key, the file and the fix.
 */
int cfg_check_files(const struct cfg *c, const struct domcfg *d, char *err, size_t errlen);
/* A warning in warn (else "") when memory exceeds host_mib, the host's RAM (<= 0: unknown). */
void cfg_check_memory(const struct cfg *c, const struct domcfg *d, long long host_mib, char *warn,
		      size_t warnlen);
void domcfg_free(struct domcfg *d);

const char *cfg_action_name(enum cfg_action a);

/* One key of the table that cfg_interpret() works from. */
struct cfg_keyinfo {
	const char *name;
	const char *type;    /* the kind of value: "a number", "a quoted string", ... */
	const char *example; /* a valid line, as type errors show it */
	bool ignored;	     /* known to xl/xm, accepted with a warning, no effect */
};

/* The i-th known key (for tests and help texts); -ENOENT past the last. */
int cfg_key_info(size_t i, struct cfg_keyinfo *out);

#endif /* TOOLS_CFG_H */
