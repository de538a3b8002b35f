/* SPDX-License-Identifier: MIT */
/*
 * disk.c - xl disk specifications (xen docs/man/xl-disk-configuration.5):
 *   [key=value|flag,]* [target,[format,[vdev,[access]]]] [,key=value|flag]* [,target=...]
 * positional parameters in the order target, format, vdev, access; keys
 * format=, vdev=, access=, devtype=cdrom, backendtype=, script=, and
 * hvmdm's own l2-cache-size= (qcow2 L2 cache, as QEMU's -drive); the flag
 * cdrom; target= must come last and swallows commas.  The xm-era forms
 * "file:/img,hda,w" and ",hdc:cdrom,r" (target, vdev, access) and the
 * prefixes tap:aio:, tap2:, aio:, ioemu:, file:, phy: (dropped) and raw:,
 * qcow2: (format) are understood too.  Only emulated IDE slots exist in
 * hvmdm: vdev hda-hdd or xvda-xvdd (which libxl also emulates as IDE
 * index 0-3); formats raw and qcow2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"
#include "opts.h"

#define DISK_MAX_ITEMS 16

/* hda-hdd, xvda-xvdd -> 0-3; -1 otherwise. */
static int vdev_index(const char *v)
{
	if (!strncmp(v, "xvd", 3))
		v += 3;
	else if (!strncmp(v, "hd", 2))
		v += 2;
	else
		return -1;
	if (v[0] >= 'a' && v[0] <= 'd' && !v[1])
		return v[0] - 'a';
	return -1;
}

static bool looks_like_vdev(const char *v)
{
	return !strncmp(v, "hd", 2) || !strncmp(v, "xvd", 3) || !strncmp(v, "sd", 2);
}

static int set_format(struct disk *d, const char *f, char *err, size_t errlen)
{
	if (!f[0])
		return 0;
	if (strcmp(f, "raw") && strcmp(f, "qcow2")) {
		snprintf(err, errlen, "format '%s' is not supported (raw or qcow2)", f);
		return -EINVAL;
	}
	snprintf(d->format, sizeof(d->format), "%s", f);
	return 0;
}

/* Largest L2 cache hvmdm takes (block.h's BLK_L2_CACHE_MAX). */
#define DISK_L2_CACHE_MAX (32ull << 20)

static int set_l2_cache(struct disk *d, const char *v, char *err, size_t errlen)
{
	uint64_t n;

	if (opts_parse_size(v, &n) || !n || n > DISK_L2_CACHE_MAX) {
		snprintf(err, errlen,
			 "l2-cache-size '%s': give a size up to 32M, in bytes or with a K or M "
			 "suffix (such as 4M)",
			 v);
		return -EINVAL;
	}
	d->l2_cache_size = n;
	return 0;
}

static int set_vdev(struct disk *d, const char *v, char *err, size_t errlen)
{
	char name[16];
	const char *colon = strchr(v, ':');

	snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - v) : 15, v);
	if (colon) {
		if (strcmp(colon + 1, "cdrom") && strcmp(colon + 1, "disk")) {
			snprintf(err, errlen, "vdev '%s': the suffix must be :cdrom or :disk", v);
			return -EINVAL;
		}
		d->cdrom = !strcmp(colon + 1, "cdrom");
	}
	d->index = vdev_index(name);
	if (d->index < 0) {
		snprintf(err, errlen,
			 "vdev '%s': only the emulated IDE slots hda-hdd (or xvda-xvdd) exist",
			 name);
		return -EINVAL;
	}
	return 0;
}

static int set_access(struct disk *d, const char *a, bool *given, char *err, size_t errlen)
{
	if (!strcmp(a, "r") || !strcmp(a, "ro")) {
		d->readonly = true;
	} else if (!strcmp(a, "w") || !strcmp(a, "rw")) {
		d->readonly = false;
	} else {
		snprintf(err, errlen, "access '%s': use r, ro, w or rw", a);
		return -EINVAL;
	}
	*given = true;
	return 0;
}

/* Strip the deprecated prefixes of a target. */
static const char *strip_prefixes(const char *t, struct disk *d)
{
	static const char *const drop[] = { "tap:aio:", "tap2:aio:", "tap2:", "tap:",
					    "aio:",	"ioemu:",    "file:", "phy:" };
	size_t i;
	bool again = true;

	while (again) {
		again = false;
		for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
			if (!strncmp(t, drop[i], strlen(drop[i]))) {
				t += strlen(drop[i]);
				again = true;
			}
		}
		if (!strncmp(t, "raw:", 4) || !strncmp(t, "qcow2:", 6)) {
			snprintf(d->format, sizeof(d->format), "%.*s", t[0] == 'r' ? 3 : 5, t);
			t = strchr(t, ':') + 1;
			again = true;
		}
	}
	return t;
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	n = strspn(s, " \t");
	memmove(s, s + n, strlen(s + n) + 1);
}

/* Cut "PATH,vdev=...,..." after PATH when a known key follows; returns the rest. */
static char *split_known_keys(char *target)
{
	static const char *const keys[] = { ",format=",	      ",vdev=",	       ",access=",
					    ",devtype=",      ",backendtype=", ",script=",
					    ",l2-cache-size=" };
	char *first = NULL, *q;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		q = strstr(target, keys[i]);
		if (q && (!first || q < first))
			first = q;
	}
	if (!first)
		return NULL;
	*first = '\0';
	return first + 1;
}

int disk_parse(const char *spec, struct disk *d, char *err, size_t errlen)
{
	char *copy = strdup(spec), *items[DISK_MAX_ITEMS], *p, *target = NULL, *tail = NULL;
	bool access_given = false, has_target = false;
	unsigned n = 0, pos = 0, i;
	int r = 0;

	memset(d, 0, sizeof(*d));
	snprintf(d->format, sizeof(d->format), "raw");
	d->index = -1;
	if (!copy)
		return -ENOMEM;
	/* target= swallows the rest, commas included. */
	p = strstr(copy, "target=");
	if (p && (p == copy || p[-1] == ',' || p[-1] == ' ')) {
		target = p + 7;
		has_target = true;
		*p = '\0';
		/*
		 * xl wants target= last; tolerate known keys after it (a path
		 * containing ",vdev=" and the like cannot be written then).
		 */
		tail = split_known_keys(target);
	}
	for (p = copy; n < DISK_MAX_ITEMS;) {
		items[n++] = p;
		p = strchr(p, ',');
		if (!p)
			break;
		*p++ = '\0';
	}
	for (p = p ? p : tail; p && n < DISK_MAX_ITEMS;) {
		items[n++] = p;
		p = strchr(p, ',');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (p) {
		snprintf(err, errlen, "too many comma-separated parts");
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < n && !r; i++) {
		char *it = items[i], *eq;

		trim(it);
		eq = strchr(it, '=');
		if (eq) {
			*eq++ = '\0';
			if (!strcmp(it, "format"))
				r = set_format(d, eq, err, errlen);
			else if (!strcmp(it, "vdev"))
				r = set_vdev(d, eq, err, errlen);
			else if (!strcmp(it, "access"))
				r = set_access(d, eq, &access_given, err, errlen);
			else if (!strcmp(it, "devtype"))
				d->cdrom = !strcmp(eq, "cdrom");
			else if (!strcmp(it, "l2-cache-size"))
				r = set_l2_cache(d, eq, err, errlen);
			else if (strcmp(it, "backendtype") && strcmp(it, "script") &&
				 strcmp(it, "backend") && strcmp(it, "specification")) {
				snprintf(err, errlen, "unknown key '%s'", it);
				r = -EINVAL;
			}
			continue;
		}
		if (!strcmp(it, "cdrom")) {
			d->cdrom = true;
			continue;
		}
		/* xl-disk-configuration(5): direct-io-safe lets the backend use
		 * O_DIRECT, which is what cache=none means to the device model. */
		if (!strcmp(it, "direct-io-safe")) {
			d->direct = true;
			continue;
		}
		if (!strcmp(it, "discard") || !strcmp(it, "no-discard") || !strcmp(it, "trusted") ||
		    !strcmp(it, "untrusted"))
			continue;
		/* Positional: target, format, vdev, access; xm form target, vdev, access. */
		if (pos == 1 && looks_like_vdev(it))
			pos = 2;
		switch (pos++) {
		case 0:
			if (!has_target) {
				target = it;
				has_target = true;
			}
			break;
		case 1:
			r = set_format(d, it, err, errlen);
			break;
		case 2:
			r = set_vdev(d, it, err, errlen);
			break;
		case 3:
			r = set_access(d, it, &access_given, err, errlen);
			break;
		default:
			snprintf(err, errlen, "unexpected '%s' after the access mode", it);
			r = -EINVAL;
		}
	}
	if (r)
		goto out;
	if (d->index < 0) {
		snprintf(err, errlen, "no vdev (hda-hdd)");
		r = -EINVAL;
		goto out;
	}
	if (target) {
		trim(target);
		target = (char *)strip_prefixes(target, d);
		snprintf(d->target, sizeof(d->target), "%s", target);
	}
	if (!d->target[0] && !d->cdrom) {
		snprintf(err, errlen, "a disk needs a target (image path)");
		r = -EINVAL;
		goto out;
	}
	if (d->l2_cache_size && strcmp(d->format, "qcow2")) {
		snprintf(err, errlen, "l2-cache-size is for qcow2 images only (this one is %s)",
			 d->format);
		r = -EINVAL;
		goto out;
	}
	if (d->cdrom && !access_given)
		d->readonly = true;
	if (d->cdrom && !d->readonly) {
		snprintf(err, errlen, "a CD-ROM is read-only (access r)");
		r = -EINVAL;
	}
out:
	free(copy);
	return r;
}

/* opts.h values: a literal comma is written ",,". */
static size_t put_escaped(char *buf, size_t len, size_t o, const char *s)
{
	for (; *s && o + 2 < len; s++) {
		buf[o++] = *s;
		if (*s == ',')
			buf[o++] = ',';
	}
	buf[o < len ? o : len - 1] = '\0';
	return o;
}

void disk_drive_arg(const struct disk *d, char *buf, size_t len)
{
	size_t o;

	o = (size_t)snprintf(buf, len, "file=");
	if (o >= len)
		return;
	o = put_escaped(buf, len, o, d->target);
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o,
				      ",format=%s,index=%d,media=%s,readonly=%s%s", d->format,
				      d->index, d->cdrom ? "cdrom" : "disk",
				      d->readonly ? "on" : "off", d->direct ? ",cache=none" : "");
	if (o < len && d->l2_cache_size)
		snprintf(buf + o, len - o, ",l2-cache-size=%llu", d->l2_cache_size);
}
