/* SPDX-License-Identifier: MIT */
/*
 * cfg.c - xl.cfg / xm domain configuration parser and checker.
 *
 * Syntax accepted (xl.cfg(5) "Syntax", xm's Python subset): settings
 * `KEY = VALUE` separated by newlines or `;`; VALUE is a string in single
 * or double quotes (backslash escapes \\ \' \" \n \t), an integer (decimal,
 * 0x hex, optional minus), True/False, or a list `[ v, v, ]` that may span
 * lines and hold comments.  `#` starts a comment outside strings.  Key
 * meanings and defaults follow xl.cfg(5) and libxl_create.c (ecosystem
 * notes, section 1).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

#define CFG_MAX_FILE (1 << 20)

struct lexer {
	const char *p;
	const char *fname;
	int line;
	char *err;
	size_t errlen;
	const char *key; /* the setting whose value is being read, for errors */
};

static int lex_error(struct lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int lex_error(struct lexer *lx, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lx->key)
		snprintf(lx->err, lx->errlen, "%s:%d: %s: %s", lx->fname, lx->line, lx->key, msg);
	else
		snprintf(lx->err, lx->errlen, "%s:%d: %s", lx->fname, lx->line, msg);
	return -EINVAL;
}

/* Skip blanks; with `newlines`, also newlines and comments. */
static void skip_space(struct lexer *lx, bool newlines)
{
	for (;;) {
		if (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r') {
			lx->p++;
		} else if (*lx->p == '#') {
			while (*lx->p && *lx->p != '\n')
				lx->p++;
		} else if (newlines && *lx->p == '\n') {
			lx->p++;
			lx->line++;
		} else if (*lx->p == '\\' && lx->p[1] == '\n') {
			lx->p += 2; /* Python line continuation */
			lx->line++;
		} else {
			return;
		}
	}
}

static void val_free(struct cfg_val *v)
{
	size_t i;

	free(v->s);
	for (i = 0; i < v->n; i++)
		free(v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

static int lex_string(struct lexer *lx, char **out)
{
	char q = *lx->p++;
	size_t cap = 64, n = 0;
	char *s = malloc(cap), *ns;
	char c;

	if (!s)
		return -ENOMEM;
	for (;;) {
		c = *lx->p;
		if (c == '\0' || c == '\n') {
			free(s);
			return lex_error(lx, "unterminated string");
		}
		lx->p++;
		if (c == q)
			break;
		if (c == '\\') {
			c = *lx->p;
			if (c == '\0' || c == '\n') {
				free(s);
				return lex_error(lx, "unterminated string");
			}
			lx->p++;
			c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
		}
		if (n + 2 > cap) {
			cap *= 2;
			ns = realloc(s, cap);
			if (!ns) {
				free(s);
				return -ENOMEM;
			}
			s = ns;
		}
		s[n++] = c;
	}
	s[n] = '\0';
	*out = s;
	return 0;
}

static int lex_int(struct lexer *lx, struct cfg_val *v)
{
	const char *start = lx->p;
	char *end;

	errno = 0;
	v->i = strtoll(start, &end, 0);
	if (end == start || isalnum((unsigned char)*end) || *end == '_' || *end == '.') {
		/* Most often an unquoted string, e.g. an address: say how to write it. */
		int len = (int)strcspn(start, " \t\r\n,]#;");

		return lex_error(lx,
				 "malformed number '%.*s' (if it is a string, quote it: \"%.*s\")",
				 len > 60 ? 60 : len, start, len > 60 ? 60 : len, start);
	}
	if (errno == ERANGE)
		return lex_error(lx, "number out of range");
	/* strtoll base 0 reads "010" as octal; xl and Python 3 do not. */
	if ((start[0] == '0' || (start[0] == '-' && start[1] == '0')) &&
	    isdigit((unsigned char)start[start[0] == '-' ? 2 : 1])) {
		return lex_error(lx, "malformed number (leading zero)");
	}
	v->type = CFG_INT;
	v->s = strndup(start, (size_t)(end - start));
	lx->p = end;
	return v->s ? 0 : -ENOMEM;
}

static bool word_is(const char *p, const char *w)
{
	size_t n = strlen(w);

	return !strncmp(p, w, n) && !isalnum((unsigned char)p[n]) && p[n] != '_';
}

/* A scalar: string, integer or True/False. */
static int lex_scalar(struct lexer *lx, struct cfg_val *v)
{
	if (*lx->p == '"' || *lx->p == '\'') {
		v->type = CFG_STR;
		return lex_string(lx, &v->s);
	}
	if (*lx->p == '-' || isdigit((unsigned char)*lx->p))
		return lex_int(lx, v);
	if (word_is(lx->p, "True") || word_is(lx->p, "False")) {
		bool t = *lx->p == 'T';

		v->type = CFG_INT;
		v->i = t;
		v->s = strdup(t ? "1" : "0");
		lx->p += t ? 4 : 5;
		return v->s ? 0 : -ENOMEM;
	}
	return lex_error(lx, "expected a quoted string, a number or a [list]");
}

static int list_add(struct cfg_val *v, char *item)
{
	char **ni;

	if (v->n >= 1024) {
		free(item);
		return -E2BIG;
	}
	ni = realloc(v->items, (v->n + 1) * sizeof(*ni));
	if (!ni) {
		free(item);
		return -ENOMEM;
	}
	v->items = ni;
	v->items[v->n++] = item;
	return 0;
}

static int lex_list(struct lexer *lx, struct cfg_val *v)
{
	struct cfg_val item;
	int r;

	lx->p++; /* '[' */
	v->type = CFG_LIST;
	for (;;) {
		skip_space(lx, true);
		if (*lx->p == ']') {
			lx->p++;
			return 0;
		}
		if (*lx->p == '\0')
			return lex_error(lx, "list not closed with ']'");
		memset(&item, 0, sizeof(item));
		r = lex_scalar(lx, &item);
		if (r)
			return r;
		r = list_add(v, item.s);
		if (r == -E2BIG)
			return lex_error(lx, "list too long");
		if (r)
			return r;
		skip_space(lx, true);
		if (*lx->p == '\0')
			return lex_error(lx, "list not closed with ']'");
		if (*lx->p == ',')
			lx->p++;
		else if (*lx->p != ']')
			return lex_error(lx, "expected ',' or ']' in list");
	}
}

static int lex_value(struct lexer *lx, struct cfg_val *v)
{
	memset(v, 0, sizeof(*v));
	if (*lx->p == '[')
		return lex_list(lx, v);
	return lex_scalar(lx, v);
}

static int cfg_add(struct cfg *c, char *key, struct cfg_val *v, const char *file, int line)
{
	struct cfg_entry *ne;

	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 32;

		ne = realloc(c->e, ncap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		c->e = ne;
		c->cap = ncap;
	}
	ne = &c->e[c->n];
	ne->key = key;
	ne->val = *v;
	ne->file = strdup(file);
	ne->line = line;
	if (!ne->file)
		return -ENOMEM;
	c->n++;
	return 0;
}

static bool key_char(char ch, bool first)
{
	return isalpha((unsigned char)ch) || ch == '_' ||
	       (!first && (isdigit((unsigned char)ch) || ch == '-'));
}

static int parse_setting(struct cfg *c, struct lexer *lx)
{
	const char *ks = lx->p;
	struct cfg_val v;
	char *key;
	int line = lx->line, r;

	if (!key_char(*lx->p, true))
		return lex_error(lx, "expected a setting name");
	while (key_char(*lx->p, false))
		lx->p++;
	key = strndup(ks, (size_t)(lx->p - ks));
	if (!key)
		return -ENOMEM;
	skip_space(lx, false);
	if (*lx->p != '=') {
		r = lex_error(lx, "expected '=' after '%s'", key);
		free(key);
		return r;
	}
	lx->p++;
	skip_space(lx, false);
	lx->key = key;
	r = lex_value(lx, &v);
	lx->key = NULL;
	if (!r)
		r = cfg_add(c, key, &v, lx->fname, line);
	if (r) {
		val_free(&v);
		free(key);
	}
	return r;
}

int cfg_parse(struct cfg *c, const char *text, const char *fname, char *err, size_t errlen)
{
	struct lexer lx = { .p = text, .fname = fname, .line = 1, .err = err, .errlen = errlen };
	int r;

	for (;;) {
		skip_space(&lx, true);
		while (*lx.p == ';') {
			lx.p++;
			skip_space(&lx, true);
		}
		if (*lx.p == '\0')
			return 0;
		r = parse_setting(c, &lx);
		if (r)
			return r;
		skip_space(&lx, false);
		if (*lx.p == ';')
			continue; /* another setting may follow on this line */
		if (*lx.p != '\n' && *lx.p != '\0')
			return lex_error(&lx, "unexpected text after the value");
	}
}

int cfg_parse_file(struct cfg *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;
	int r;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	buf = malloc(CFG_MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, CFG_MAX_FILE + 1, f);
	fclose(f);
	if (n > CFG_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, CFG_MAX_FILE);
		free(buf);
		return -EFBIG;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n)) {
		snprintf(err, errlen, "%s: not a text file (contains NUL bytes)", path);
		free(buf);
		return -EINVAL;
	}
	r = cfg_parse(c, buf, path, err, errlen);
	free(buf);
	return r;
}

int cfg_override(struct cfg *c, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	struct cfg tmp = { 0 };
	struct cfg_val v = { .type = CFG_STR };
	char *key;
	int r;

	if (!eq || eq == kv) {
		snprintf(err, errlen, "command line: '%s': expected KEY=VALUE", kv);
		return -EINVAL;
	}
	/* Try the file syntax first ("memory=512", "name='x'", "disk=['a']"). */
	if (!cfg_parse(&tmp, kv, "command line", err, errlen) && tmp.n == 1) {
		r = cfg_add(c, tmp.e[0].key, &tmp.e[0].val, "command line", 0);
		if (!r) {
			free(tmp.e[0].file);
			free(tmp.e);
			return 0;
		}
	}
	cfg_free(&tmp);
	key = strndup(kv, (size_t)(eq - kv));
	v.s = strdup(eq + 1);
	if (!key || !v.s) {
		free(key);
		free(v.s);
		return -ENOMEM;
	}
	for (r = 0; key[r]; r++) {
		if (!key_char(key[r], r == 0)) {
			snprintf(err, errlen, "command line: '%s': bad setting name", kv);
			free(key);
			free(v.s);
			return -EINVAL;
		}
	}
	r = cfg_add(c, key, &v, "command line", 0);
	if (r) {
		free(key);
		free(v.s);
	}
	return r;
}

const struct cfg_entry *cfg_find(const struct cfg *c, const char *key)
{
	size_t i;

	for (i = c->n; i-- > 0;)
		if (!strcmp(c->e[i].key, key))
			return &c->e[i];
	return NULL;
}

void cfg_free(struct cfg *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->e[i].key);
		free(c->e[i].file);
		val_free(&c->e[i].val);
	}
	free(c->e);
	memset(c, 0, sizeof(*c));
}

/* ---- interpretation ---- */

struct ictx {
	const struct cfg_entry *e;
	char *err;
	size_t errlen;
	char *warn;
	size_t warnlen;
};

static void where(const struct cfg_entry *e, char *buf, size_t len)
{
	if (e->line)
		snprintf(buf, len, "%s:%d", e->file, e->line);
	else
		snprintf(buf, len, "%s", e->file);
}

/* The value as the user wrote it, for messages. */
static void show_value(const struct cfg_val *v, char *buf, size_t len)
{
	size_t i, o = 0;

	if (v->type == CFG_INT) {
		snprintf(buf, len, "%s", v->s);
		return;
	}
	if (v->type == CFG_STR) {
		snprintf(buf, len, "\"%.80s\"", v->s);
		return;
	}
	o += (size_t)snprintf(buf, len, "[");
	for (i = 0; i < v->n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s\"%.40s\"", i ? ", " : "", v->items[i]);
	if (o < len)
		snprintf(buf + o, len - o, "]");
}

static int bad(struct ictx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct ictx *x, const char *fmt, ...)
{
	char w[300], val[200], msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	where(x->e, w, sizeof(w));
	show_value(&x->e->val, val, sizeof(val));
	snprintf(x->err, x->errlen, "%s: %s = %s: %s", w, x->e->key, val, msg);
	return -EINVAL;
}

static void warn(struct ictx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct ictx *x, const char *fmt, ...)
{
	char w[300], msg[200];
	size_t o;
	va_list ap;

	if (!x->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	where(x->e, w, sizeof(w));
	o = strlen(x->warn);
	if (o < x->warnlen)
		snprintf(x->warn + o, x->warnlen - o, "%s: warning: %s\n", w, msg);
}

/* An integer, or a string holding one (xm files often quote numbers). */
static int get_int(struct ictx *x, long long min, long long max, const char *what, long long *out)
{
	const struct cfg_val *v = &x->e->val;
	long long i;
	char *end;

	if (v->type == CFG_INT) {
		i = v->i;
	} else if (v->type == CFG_STR && v->s[0]) {
		errno = 0;
		i = strtoll(v->s, &end, 0);
		if (*end || errno)
			return bad(x, "expected %s", what);
	} else {
		return bad(x, "expected %s", what);
	}
	if (i < min || i > max)
		return bad(x, "expected %s (%lld..%lld)", what, min, max);
	*out = i;
	return 0;
}

static int get_bool(struct ictx *x, bool *out)
{
	const struct cfg_val *v = &x->e->val;
	long long i = 0;

	if (v->type == CFG_STR) {
		if (!strcmp(v->s, "yes") || !strcmp(v->s, "true") || !strcmp(v->s, "on")) {
			*out = true;
			return 0;
		}
		if (!strcmp(v->s, "no") || !strcmp(v->s, "false") || !strcmp(v->s, "off")) {
			*out = false;
			return 0;
		}
	}
	if (v->type == CFG_LIST || get_int(x, 0, 1, "0 or 1", &i))
		return bad(x, "expected 0 or 1");
	*out = i;
	return 0;
}

static int get_str(struct ictx *x, bool allow_empty, const char *what, char **out)
{
	const struct cfg_val *v = &x->e->val;

	if (v->type != CFG_STR || (!allow_empty && !v->s[0]))
		return bad(x, "expected %s", what);
	free(*out);
	*out = strdup(v->s);
	return *out ? 0 : -ENOMEM;
}

/* A string or a list of strings (serial, usbdevice, disk, vif). */
static int get_list(struct ictx *x, char **arr, unsigned max, unsigned *n, const char *what)
{
	const struct cfg_val *v = &x->e->val;
	char *const *items = v->type == CFG_LIST ? v->items : &v->s;
	size_t cnt = v->type == CFG_LIST ? v->n : 1;
	size_t i;

	if (v->type == CFG_INT)
		return bad(x, "expected %s (a string or a list of strings)", what);
	if (cnt > max)
		return bad(x, "at most %u entries are supported", max);
	for (i = 0; i < *n; i++)
		free(arr[i]);
	*n = 0;
	for (i = 0; i < cnt; i++) {
		if (!items[i][0] && v->type == CFG_STR)
			break; /* serial = '' means none */
		arr[i] = strdup(items[i]);
		if (!arr[i])
			return -ENOMEM;
		*n = (unsigned)i + 1;
	}
	return 0;
}

static const char *const action_names[] = {
	[ACT_DESTROY] = "destroy",
	[ACT_RESTART] = "restart",
	[ACT_PRESERVE] = "preserve",
	[ACT_RENAME_RESTART] = "rename-restart",
	[ACT_COREDUMP_DESTROY] = "coredump-destroy",
	[ACT_COREDUMP_RESTART] = "coredump-restart",
};

const char *cfg_action_name(enum cfg_action a)
{
	return a <= ACT_COREDUMP_RESTART ? action_names[a] : "?";
}

static int get_action(struct ictx *x, enum cfg_action *out)
{
	const struct cfg_val *v = &x->e->val;
	unsigned i;

	for (i = 0; v->type == CFG_STR && i <= ACT_COREDUMP_RESTART; i++) {
		if (!strcmp(v->s, action_names[i])) {
			*out = i;
			return 0;
		}
	}
	return bad(x, "expected destroy, restart, preserve, rename-restart, coredump-destroy "
		      "or coredump-restart");
}

static bool valid_name(const char *s)
{
	size_t i;

	if (!s[0] || strlen(s) > 64 || s[0] == '-' || isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.+", s[i]))
			return false;
	return true;
}

static bool valid_uuid(const char *s)
{
	static const char pat[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	if (strlen(s) != sizeof(pat) - 1)
		return false;
	for (i = 0; pat[i]; i++)
		if (pat[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int want_str_in(struct ictx *x, const char *const *allowed, const char *msg, char **out)
{
	const struct cfg_val *v = &x->e->val;
	unsigned i;

	for (i = 0; v->type == CFG_STR && allowed[i]; i++)
		if (!strcmp(v->s, allowed[i]))
			return get_str(x, false, msg, out);
	return bad(x, "expected %s", msg);
}

/* Every disk spec must parse, and each IDE slot holds one drive. */
static int check_disks(struct ictx *x, struct domcfg *d)
{
	char why[256];
	unsigned i, j;

	if (d->nr_disk > 4)
		return bad(x, "at most 4 disks (the emulated IDE slots hda-hdd)");
	for (i = 0; i < d->nr_disk; i++) {
		if (disk_parse(d->disk[i], &d->disks[i], why, sizeof(why)))
			return bad(x, "'%.100s': %s", d->disk[i], why);
		for (j = 0; j < i; j++)
			if (d->disks[j].index == d->disks[i].index)
				return bad(x, "'%.100s' and '%.100s' use the same IDE slot",
					   d->disk[j], d->disk[i]);
	}
	return 0;
}

static int set_key(struct ictx *x, struct domcfg *d)
{
	static const char *const hvm[] = { "hvm", NULL };
	static const char *const accels[] = { "auto", "kvm", "emu", NULL };
	static const char *const dmv[] = { "qemu-xen-traditional", "qemu-xen", "hvmdm", NULL };
	const char *k = x->e->key;
	const struct cfg_val *v = &x->e->val;
	char *tmp = NULL;
	int r = 0;
	size_t i;

	if (!strcmp(k, "builder") || !strcmp(k, "type")) {
		r = want_str_in(x, hvm, "\"hvm\" (only HVM guests are supported)", &tmp);
	} else if (!strcmp(k, "name")) {
		if (v->type != CFG_STR || !valid_name(v->s))
			return bad(x, "expected a name of 1-64 letters, digits, '-', '_', '.' or "
				      "'+', not starting with a digit or '-'");
		r = get_str(x, false, "a name", &d->name);
	} else if (!strcmp(k, "uuid")) {
		if (v->type != CFG_STR || !valid_uuid(v->s))
			return bad(x, "expected a UUID like 01234567-89ab-cdef-0123-456789abcdef");
		r = get_str(x, false, "a UUID", &d->uuid);
	} else if (!strcmp(k, "memory")) {
		r = get_int(x, 1, 1 << 20, "an integer number of MiB", &d->memory);
	} else if (!strcmp(k, "maxmem")) {
		r = get_int(x, 1, 1 << 20, "an integer number of MiB", &d->maxmem);
	} else if (!strcmp(k, "vcpus") || !strcmp(k, "maxvcpus")) {
		long long n;

		r = get_int(x, 1, 64, "a number of vCPUs", &n);
		if (!r && !strcmp(k, "vcpus"))
			d->vcpus = n;
	} else if (!strcmp(k, "boot")) {
		if (v->type != CFG_STR || !v->s[0] || strlen(v->s) > 4 ||
		    strspn(v->s, "acdn") != strlen(v->s))
			return bad(x, "expected up to 4 of a (floppy), c (disk), d (CD-ROM), n "
				      "(network)");
		r = get_str(x, false, "a boot order", &d->boot);
	} else if (!strcmp(k, "acpi")) {
		r = get_bool(x, &d->acpi);
	} else if (!strcmp(k, "apic")) {
		r = get_bool(x, &d->apic);
	} else if (!strcmp(k, "pae")) {
		r = get_bool(x, &d->pae);
	} else if (!strcmp(k, "localtime")) {
		r = get_bool(x, &d->localtime);
	} else if (!strcmp(k, "rtc_timeoffset")) {
		r = get_int(x, -(1ll << 40), 1ll << 40, "an offset in seconds", &d->rtc_timeoffset);
	} else if (!strcmp(k, "serial")) {
		r = get_list(x, d->serial, CFG_MAX_SERIAL, &d->nr_serial,
			     "a serial device like 'pty'");
	} else if (!strcmp(k, "kernel")) {
		if (v->type == CFG_STR && strstr(v->s, "hvmloader")) {
			warn(x,
			     "kernel = \"%s\": the xm-era HVM loader is not used; booting "
			     "the default firmware",
			     v->s);
			return 0;
		}
		r = get_str(x, false, "a kernel image path", &d->kernel);
	} else if (!strcmp(k, "ramdisk")) {
		r = get_str(x, false, "an initrd path", &d->ramdisk);
	} else if (!strcmp(k, "extra") || !strcmp(k, "cmdline")) {
		r = get_str(x, true, "a kernel command line", &d->extra);
	} else if (!strcmp(k, "firmware") || !strcmp(k, "bios")) {
		if (v->type == CFG_STR && (!strcmp(v->s, "bios") || !strcmp(v->s, "seabios"))) {
			free(d->firmware);
			d->firmware = NULL;
			return 0;
		}
		if (v->type != CFG_STR || !strchr(v->s, '/'))
			return bad(x, "expected 'bios', 'seabios' or a firmware file path");
		r = get_str(x, false, "a firmware path", &d->firmware);
	} else if (!strcmp(k, "on_poweroff")) {
		r = get_action(x, &d->on_poweroff);
	} else if (!strcmp(k, "on_reboot")) {
		r = get_action(x, &d->on_reboot);
	} else if (!strcmp(k, "on_crash")) {
		r = get_action(x, &d->on_crash);
	} else if (!strcmp(k, "device_model_override") || !strcmp(k, "device_model")) {
		r = get_str(x, false, "a device model path", &d->device_model);
		/* xm's device_model='qemu-dm' names the classic binary: use ours. */
		if (!r && !strchr(d->device_model, '/')) {
			free(d->device_model);
			d->device_model = NULL;
		}
	} else if (!strcmp(k, "device_model_version")) {
		r = want_str_in(x, dmv, "qemu-xen-traditional, qemu-xen or hvmdm",
				&d->device_model_version);
	} else if (!strcmp(k, "accel")) {
		r = want_str_in(x, accels, "auto, kvm or emu", &d->accel);
	} else if (!strcmp(k, "vnc")) {
		r = get_bool(x, &d->vnc);
	} else if (!strcmp(k, "vncunused")) {
		r = get_bool(x, &d->vncunused);
	} else if (!strcmp(k, "sdl")) {
		r = get_bool(x, &d->sdl);
	} else if (!strcmp(k, "full-screen") || !strcmp(k, "full_screen")) {
		r = get_bool(x, &d->full_screen);
	} else if (!strcmp(k, "nographic")) {
		r = get_bool(x, &d->nographic);
	} else if (!strcmp(k, "stdvga")) {
		r = get_bool(x, &d->stdvga);
	} else if (!strcmp(k, "usb")) {
		r = get_bool(x, &d->usb);
	} else if (!strcmp(k, "vnclisten")) {
		r = get_str(x, false, "an address", &d->vnclisten);
	} else if (!strcmp(k, "vncpasswd")) {
		r = get_str(x, true, "a password string", &d->vncpasswd);
	} else if (!strcmp(k, "vncdisplay")) {
		r = get_int(x, 0, 99, "a display number", &d->vncdisplay);
	} else if (!strcmp(k, "videoram")) {
		r = get_int(x, 1, 256, "a VRAM size in MiB", &d->videoram);
	} else if (!strcmp(k, "keymap")) {
		r = get_str(x, false, "a keymap name like 'en-us'", &d->keymap);
	} else if (!strcmp(k, "soundhw")) {
		r = get_str(x, false, "a sound card name", &d->soundhw);
	} else if (!strcmp(k, "fda")) {
		r = get_str(x, true, "a floppy image path", &d->fda);
	} else if (!strcmp(k, "fdb")) {
		r = get_str(x, true, "a floppy image path", &d->fdb);
	} else if (!strcmp(k, "usbdevice")) {
		r = get_list(x, d->usbdevice, CFG_MAX_LIST, &d->nr_usbdevice,
			     "a USB device like 'tablet'");
	} else if (!strcmp(k, "disk")) {
		if (v->type != CFG_LIST)
			return bad(x, "expected a list of disk specs");
		r = get_list(x, d->disk, CFG_MAX_LIST, &d->nr_disk, "disk specs");
		if (!r)
			r = check_disks(x, d);
	} else if (!strcmp(k, "vga")) {
		static const char *const vgas[] = { "stdvga", "cirrus", "none", NULL };

		r = want_str_in(x, vgas, "stdvga, cirrus or none", &d->vga);
	} else if (!strcmp(k, "vif")) {
		if (v->type != CFG_LIST)
			return bad(x, "expected a list of vif specs");
		r = get_list(x, d->vif, CFG_MAX_LIST, &d->nr_vif, "vif specs");
	} else {
		static const char *const ignored[] = {
			"on_watchdog",
			"on_soft_reset",
			"hap",
			"nx",
			"hpet",
			"viridian",
			"xen_platform_pci",
			"monitor",
			"opengl",
			"vncconsole",
			"hdtype",
			"full-screen",
			"vga",
			"display",
			"xauthority",
			"acpi_s3",
			"acpi_s4",
			"shadow_memory",
			"cpus",
			"cpu_weight",
			"cpu_cap",
			NULL,
		};

		for (i = 0; ignored[i]; i++) {
			if (!strcmp(k, ignored[i])) {
				warn(x, "'%s' is accepted but has no effect", k);
				return 0;
			}
		}
		warn(x, "unknown key '%s' ignored", k);
		return 0;
	}
	free(tmp);
	return r;
}

static void domcfg_defaults(struct domcfg *d)
{
	memset(d, 0, sizeof(*d));
	d->memory = 128;
	d->vcpus = 1;
	d->acpi = d->apic = d->pae = true;
	d->on_poweroff = ACT_DESTROY;
	d->on_reboot = ACT_RESTART;
	d->on_crash = ACT_DESTROY;
	d->vnc = true; /* xl.cfg(5): vnc defaults to 1 for HVM */
	d->vncunused = true;
	d->vncdisplay = -1;
}

int cfg_interpret(const struct cfg *c, struct domcfg *d, char *err, size_t errlen, char *warnbuf,
		  size_t warnlen)
{
	struct ictx x = { .err = err, .errlen = errlen, .warn = warnbuf, .warnlen = warnlen };
	const struct cfg_entry *mem;
	size_t i;
	int r;

	domcfg_defaults(d);
	if (warnbuf && warnlen)
		warnbuf[0] = '\0';
	for (i = 0; i < c->n; i++) {
		x.e = &c->e[i];
		r = set_key(&x, d);
		if (r)
			return r;
	}
	if (!d->name) {
		snprintf(err, errlen, "the configuration has no 'name' (it is required)");
		return -EINVAL;
	}
	if (d->maxmem && d->maxmem < d->memory) {
		x.e = cfg_find(c, "maxmem");
		return bad(&x, "must not be below memory (%lld MiB)", d->memory);
	}
	if ((d->ramdisk || d->extra) && !d->kernel) {
		x.e = cfg_find(c, d->ramdisk ? "ramdisk" : "extra");
		return bad(&x, "needs kernel = \"...\" as well");
	}
	mem = cfg_find(c, "maxmem");
	if (mem && d->maxmem > d->memory) {
		x.e = mem;
		warn(&x, "memory ballooning is not supported; the guest gets memory = %lld MiB",
		     d->memory);
	}
	if (!d->boot) {
		d->boot = strdup("cda"); /* libxl_create.c default */
		if (!d->boot)
			return -ENOMEM;
	}
	return 0;
}

void domcfg_free(struct domcfg *d)
{
	unsigned i;

	free(d->name);
	free(d->uuid);
	free(d->boot);
	for (i = 0; i < d->nr_serial; i++)
		free(d->serial[i]);
	free(d->kernel);
	free(d->ramdisk);
	free(d->extra);
	free(d->firmware);
	free(d->device_model);
	free(d->device_model_version);
	free(d->accel);
	free(d->vga);
	free(d->vnclisten);
	free(d->vncpasswd);
	free(d->keymap);
	free(d->soundhw);
	free(d->fda);
	free(d->fdb);
	for (i = 0; i < d->nr_usbdevice; i++)
		free(d->usbdevice[i]);
	for (i = 0; i < d->nr_disk; i++)
		free(d->disk[i]);
	for (i = 0; i < d->nr_vif; i++)
		free(d->vif[i]);
	memset(d, 0, sizeof(*d));
}
