// SPDX-License-Identifier: MIT
/*
 * opts.c - "key=value,key=value" lists (",," is a literal comma in a value).
 */
#include "opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Copy one item from *p up to an unescaped ',' into a new string. */
static char *opts_take(const char **p)
{
	const char *s = *p;
	size_t len = strlen(s);
	char *out = malloc(len + 1), *d = out;

	if (!out)
		return NULL;
	while (*s) {
		if (*s == ',') {
			if (s[1] != ',')
				break;
			s++;
		}
		*d++ = *s++;
	}
	*d = 0;
	*p = *s == ',' ? s + 1 : s;
	return out;
}

int opts_parse(struct opts *o, const char *s)
{
	memset(o, 0, sizeof(*o));
	while (s && *s) {
		char *item = opts_take(&s), *eq;

		if (!item)
			goto err_nomem;
		if (o->n == OPTS_MAX || item[0] == '=' || !item[0]) {
			free(item);
			opts_free(o);
			return -EINVAL;
		}
		eq = strchr(item, '=');
		o->key[o->n] = item;
		o->val[o->n] = eq ? eq + 1 : item + strlen(item);
		if (eq)
			*eq = 0;
		o->n++;
	}
	return 0;
err_nomem:
	opts_free(o);
	return -ENOMEM;
}

void opts_free(struct opts *o)
{
	unsigned i;

	for (i = 0; i < o->n; i++)
		free(o->key[i]);
	o->n = 0;
}

const char *opts_get(const struct opts *o, const char *key)
{
	unsigned i;

	if (!o)
		return NULL;
	for (i = 0; i < o->n; i++)
		if (!strcmp(o->key[i], key))
			return o->val[i];
	return NULL;
}

int opts_get_u64(const struct opts *o, const char *key, uint64_t def, uint64_t *out)
{
	const char *v = opts_get(o, key);
	char *end;

	*out = def;
	if (!v)
		return 0;
	if (!*v || *v == '-')
		return -EINVAL;
	errno = 0;
	*out = strtoull(v, &end, 0);
	if (errno || *end) {
		*out = def;
		return -EINVAL;
	}
	return 0;
}

int opts_parse_size(const char *s, uint64_t *out)
{
	static const char suffix[] = "kmgt";
	const char *at;
	uint64_t v;
	char *end;
	unsigned shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		at = end[1] ? NULL : strchr(suffix, end[0] | 0x20);
		if (!at || !*at)
			return -EINVAL;
		shift = 10 * (unsigned)(at - suffix + 1);
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

int opts_get_bool(const struct opts *o, const char *key, bool def, bool *out)
{
	static const char *const yes[] = { "", "on", "yes", "1", "true" };
	static const char *const no[] = { "off", "no", "0", "false" };
	const char *v = opts_get(o, key);
	unsigned i;

	*out = def;
	if (!v)
		return 0;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcmp(v, yes[i]))
			return *out = true, 0;
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (!strcmp(v, no[i]))
			return *out = false, 0;
	return -EINVAL;
}
