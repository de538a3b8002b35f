/* SPDX-License-Identifier: MIT */
/*
 * opts.h - "key=value,key=value" option lists for device creation and
 * command-line parsing.  A value may contain ",," for a literal comma.
 */
#ifndef DM_OPTS_H
#define DM_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#define OPTS_MAX 32

struct opts {
	unsigned n;
	char *key[OPTS_MAX];
	char *val[OPTS_MAX]; /* "" for a bare key */
};

/* Parse; -EINVAL on more than OPTS_MAX entries or an empty key. */
int opts_parse(struct opts *o, const char *s);
void opts_free(struct opts *o);
/* Value of key, or NULL when absent. */
const char *opts_get(const struct opts *o, const char *key);
/* Integer in base 0; *out = def when absent; -EINVAL when malformed. */
int opts_get_u64(const struct opts *o, const char *key, uint64_t def, uint64_t *out);
/*
 * A size as QEMU spells one on -drive: bytes, or a number with a K, M, G or
 * T suffix (powers of 1024; lower case too).  -EINVAL when empty, negative,
 * followed by anything else, or past 64 bits.
 */
int opts_parse_size(const char *s, uint64_t *out);
/* on/off/yes/no/1/0/true/false or a bare key; -EINVAL otherwise. */
int opts_get_bool(const struct opts *o, const char *key, bool def, bool *out);

#endif /* DM_OPTS_H */
