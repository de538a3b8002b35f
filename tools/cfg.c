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
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "keymap.h"

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
			return lex_error(
				lx, "unterminated string (end it with %c on the same line)", q);
		}
		lx->p++;
		if (c == q)
			break;
		if (c == '\\') {
			c = *lx->p;
			if (c == '\0' || c == '\n') {
				free(s);
				return lex_error(lx,
						 "unterminated string (end it with %c on the same "
						 "line)",
						 q);
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

/* The index of s in the array words, or -1. */
static int word_in(const char *s, const char *const *words, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(s, words[i]))
			return (int)i;
	return -1;
}

#define WORD_IN(s, words) word_in(s, words, sizeof(words) / sizeof(words[0]))

/* xm files were Python: name the statements it allowed besides assignments. */
static bool python_statement(const char *word)
{
	static const char *const words[] = { "import", "from", "if",  "elif",  "else",
					     "for",    "def",  "del", "print", "while" };

	return WORD_IN(word, words) >= 0;
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
		r = python_statement(key)
			    ? lex_error(lx,
					"'%s ...' is a Python statement; only KEY = VALUE settings "
					"are read (delete the line, or write out its result)",
					key)
			    : lex_error(lx, "expected '=' after '%s' (settings are KEY = VALUE)",
					key);
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

/* Text after a complete value, e.g. `memory = 256 MB`: name the key and the text. */
static int trailing_text(struct lexer *lx, const char *key)
{
	size_t n = strcspn(lx->p, "\n#;");

	while (n && (lx->p[n - 1] == ' ' || lx->p[n - 1] == '\t' || lx->p[n - 1] == '\r'))
		n--;
	lx->key = key;
	return lex_error(lx,
			 "unexpected text '%.*s' after the value (quote a value that has spaces; "
			 "a comment starts with '#')",
			 (int)(n < 40 ? n : 40), lx->p);
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
			return trailing_text(&lx, c->e[c->n - 1].key);
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
	char w[300], val[200], msg[400];
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

/*
 * ---- the table of known keys ----
 *
 * Every key hvmctl knows is one entry of keys[] below: its name, the kind of
 * value it takes (checked first, so that a wrong type gets one message with a
 * valid example), the parser that checks the value and fills struct domcfg,
 * and the words for messages.  Keys that xl or xm know and hvmctl accepts
 * without effect are entries too, so that their names are not "unknown" and
 * take part in "did you mean" hints.
 */

/* The kind of value a key takes. */
enum key_kind {
	K_INT,	   /* a number, or a string holding one (xm files often quote numbers) */
	K_BOOL,	   /* 0/1, True/False, or "yes"/"no", "true"/"false", "on"/"off" */
	K_STR,	   /* a quoted string */
	K_LIST,	   /* a [list] of strings */
	K_STRLIST, /* a string or a [list] of strings */
	K_IGNORED, /* anything: known to xl/xm, no effect here */
};

static const char *const kind_names[] = {
	[K_INT] = "a number",
	[K_BOOL] = "a boolean",
	[K_STR] = "a quoted string",
	[K_LIST] = "a list of strings",
	[K_STRLIST] = "a string or a list of strings",
	[K_IGNORED] = "any value",
};

struct key_def;
typedef int key_parse_fn(struct ictx *x, const struct key_def *k, struct domcfg *d);

/* A key's field offset when the value is only checked, not stored. */
#define NO_FIELD SIZE_MAX

struct key_def {
	const char *name;
	enum key_kind kind;
	key_parse_fn *parse;	      /* NULL for K_IGNORED */
	size_t off;		      /* the struct domcfg field it fills, or NO_FIELD */
	size_t n_off;		      /* list keys: the field that counts the entries */
	long long min, max;	      /* K_INT: the range; list keys: max entries */
	const char *const *allowed;   /* parse_enum: the accepted strings */
	bool (*valid)(const char *s); /* parse_str: what else the text must satisfy */
	bool empty_ok;		      /* parse_str: "" is allowed */
	const char *what;	      /* messages say "expected WHAT" */
	const char *example;	      /* a valid line, shown with type errors */
};

static void *field(struct domcfg *d, size_t off)
{
	return (char *)d + off;
}

/* The number an integer or a string holding one stands for. */
static bool val_number(const struct cfg_val *v, long long *out)
{
	char *end;

	if (v->type == CFG_INT) {
		*out = v->i;
		return true;
	}
	if (v->type != CFG_STR || !v->s[0])
		return false;
	errno = 0;
	*out = strtoll(v->s, &end, 0);
	return !*end && !errno;
}

static bool bool_word(const char *s, bool *out)
{
	static const char *const words[] = { "no", "yes", "false", "true", "off", "on" };
	int i = WORD_IN(s, words);

	if (i < 0)
		return false;
	*out = i & 1;
	return true;
}

/* Whether the value has the kind of type the key takes (its range is the parser's job). */
static bool type_ok(const struct key_def *k, const struct cfg_val *v)
{
	long long i;
	bool b;

	switch (k->kind) {
	case K_INT:
		return val_number(v, &i);
	case K_BOOL:
		return val_number(v, &i) || (v->type == CFG_STR && bool_word(v->s, &b));
	case K_STR:
		return v->type == CFG_STR;
	case K_LIST:
		return v->type == CFG_LIST;
	case K_STRLIST:
		return v->type != CFG_INT;
	default:
		return true;
	}
}

static int bad_type(struct ictx *x, const struct key_def *k)
{
	static const char *const got[] = {
		[CFG_STR] = "a string",
		[CFG_INT] = "a number",
		[CFG_LIST] = "a list",
	};

	return bad(x, "expected %s (%s), not %s; for example: %s", k->what, kind_names[k->kind],
		   got[x->e->val.type], k->example);
}

static int parse_int(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	long long i;

	if (!val_number(&x->e->val, &i) || i < k->min || i > k->max)
		return bad(x, "expected %s (%lld..%lld)", k->what, k->min, k->max);
	if (k->off != NO_FIELD)
		*(long long *)field(d, k->off) = i;
	return 0;
}

static int parse_bool(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	const struct cfg_val *v = &x->e->val;
	bool *out = field(d, k->off);
	long long i;

	if (v->type == CFG_STR && bool_word(v->s, out))
		return 0;
	if (!val_number(v, &i) || (i != 0 && i != 1))
		return bad(x, "expected %s", k->what);
	*out = i;
	return 0;
}

static int parse_str(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	const char *s = x->e->val.s;
	char **out = field(d, k->off);

	if ((!k->empty_ok && !s[0]) || (k->valid && !k->valid(s)))
		return bad(x, "expected %s", k->what);
	free(*out);
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

/* One of k->allowed; builder/type are only checked. */
static int parse_enum(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	unsigned i;

	for (i = 0; k->allowed[i]; i++) {
		if (strcmp(x->e->val.s, k->allowed[i]))
			continue;
		return k->off == NO_FIELD ? 0 : parse_str(x, k, d);
	}
	return bad(x, "expected %s", k->what);
}

/* A string or a list of strings into a char *[] and its count (serial, usbdevice, disk, vif). */
static int parse_list(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	const struct cfg_val *v = &x->e->val;
	char *const *items = v->type == CFG_LIST ? v->items : &v->s;
	size_t cnt = v->type == CFG_LIST ? v->n : 1, i;
	char **arr = field(d, k->off);
	unsigned *n = field(d, k->n_off);

	if (cnt > (size_t)k->max)
		return bad(x, "at most %lld entries are supported", k->max);
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

static int parse_action(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	enum cfg_action *out = field(d, k->off);
	unsigned i;

	for (i = 0; i <= ACT_COREDUMP_RESTART; i++) {
		if (!strcmp(x->e->val.s, action_names[i])) {
			*out = i;
			return 0;
		}
	}
	return bad(x, "expected %s", k->what);
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

static bool valid_boot(const char *s)
{
	return s[0] && strlen(s) <= 4 && strspn(s, "acdn") == strlen(s);
}

/* A keymap hvmdm has a table for (ui/keymap.c); the message lists them. */
static int parse_keymap(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	const char *s = x->e->val.s;

	if (!s[0] || !keymap_find(s))
		return bad(x, "expected one of %s", keymap_names());
	return parse_str(x, k, d);
}

/* What hvmdm's VNC server can bind: an IPv4 address or localhost, maybe ":DISPLAY". */
static bool valid_vnclisten(const char *s)
{
	char host[64];
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	struct in_addr a;
	char *end;
	long disp;

	if (!n || n >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	if (strcmp(host, "localhost") && inet_pton(AF_INET, host, &a) != 1)
		return false;
	if (!colon)
		return true;
	errno = 0;
	disp = strtol(colon + 1, &end, 10);
	return colon[1] && !*end && !errno && disp >= 0 && disp <= 99;
}

#define SERIAL_KINDS                                                                     \
	"pty, stdio, null, none, file:PATH, unix:PATH[,server], tcp:HOST:PORT[,server] " \
	"or /dev/TTY"

/* The serial back ends hvmdm's chardev opens (flags after ',' are its business). */
static bool valid_serial(const char *s)
{
	static const char *const whole[] = { "pty", "stdio", "null", "none", "vc" };
	static const char *const with_arg[] = { "file:", "unix:", "tcp:", "vc:", "/dev/" };
	size_t i, n;

	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		n = strlen(whole[i]);
		if (!strncmp(s, whole[i], n) && (!s[n] || s[n] == ','))
			return true;
	}
	for (i = 0; i < sizeof(with_arg) / sizeof(with_arg[0]); i++) {
		n = strlen(with_arg[i]);
		if (!strncmp(s, with_arg[i], n) && s[n] && s[n] != ',')
			return true;
	}
	return false;
}

/* A MAC address: six pairs of hex digits separated by ':'. */
static bool valid_mac(const char *s)
{
	size_t i;

	if (strlen(s) != 17)
		return false;
	for (i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int vif_bad(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int vif_bad(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Whether key is one of the vif keys of xl-network-configuration(5) that xl and xm files use. */
static bool vif_key_known(const char *key)
{
	static const char *const known[] = { "mac",  "bridge",	  "model",   "type",
					     "ip",   "script",	  "vifname", "backend",
					     "rate", "gatewayip", "devid",   "mtu" };

	return WORD_IN(key, known) >= 0;
}

/*
 * One vif spec: KEY=VALUE items separated by ','.  hvmdm emulates no
 * network card yet, but a mistyped spec is still refused with its reason.
 */
static int vif_check(const char *spec, char *why, size_t len)
{
	const char *p = spec;
	unsigned guard;

	for (guard = 0; *p && guard < 64; guard++) {
		size_t n = strcspn(p, ",");
		char item[128], *eq, *key;

		if (n >= sizeof(item))
			return vif_bad(why, len, "item '%.40s...' is too long", p);
		memcpy(item, p, n);
		item[n] = '\0';
		p += n + (p[n] == ',');
		key = item + strspn(item, " \t");
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq)
			return vif_bad(why, len, "'%.60s': expected KEY=VALUE, e.g. bridge=br0",
				       key);
		*eq = '\0';
		if (!vif_key_known(key))
			return vif_bad(why, len,
				       "unknown key '%.40s' (use mac, bridge, model, type, ip, "
				       "script, vifname, ...)",
				       key);
		if (!strcmp(key, "mac") && !valid_mac(eq + 1))
			return vif_bad(why, len,
				       "mac '%.40s': expected six hex pairs like 00:16:3e:12:34:56",
				       eq + 1);
	}
	return *p ? vif_bad(why, len, "too many items") : 0;
}

static int parse_vif(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	int r = parse_list(x, k, d);
	char why[160];
	unsigned i;

	for (i = 0; !r && i < d->nr_vif; i++)
		if (vif_check(d->vif[i], why, sizeof(why)))
			return bad(x, "'%.100s': %s", d->vif[i], why);
	return r;
}

static int parse_serial(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	int r = parse_list(x, k, d);
	unsigned i;

	for (i = 0; !r && i < d->nr_serial; i++)
		if (!valid_serial(d->serial[i]))
			return bad(x, "'%.100s' is not a serial device: use %s", d->serial[i],
				   SERIAL_KINDS);
	return r;
}

static int parse_kernel(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	const char *s = x->e->val.s;

	if (strstr(s, "hvmloader")) {
		warn(x,
		     "kernel = \"%s\": the xm-era HVM loader is not used; booting the default "
		     "firmware",
		     s);
		return 0;
	}
	return parse_str(x, k, d);
}

static int parse_firmware(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	const char *s = x->e->val.s;

	if (!strcmp(s, "bios") || !strcmp(s, "seabios")) {
		free(d->firmware);
		d->firmware = NULL;
		return 0;
	}
	if (!strchr(s, '/'))
		return bad(x, "expected %s", k->what);
	return parse_str(x, k, d);
}

static int parse_device_model(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	int r = parse_str(x, k, d);
	const char *base;

	if (r)
		return r;
	/* xm's device_model='qemu-dm' names the classic binary: use ours. */
	base = strrchr(d->device_model, '/');
	if (!base) {
		free(d->device_model);
		d->device_model = NULL;
	} else if (!strcmp(base, "/qemu-dm") && !strcmp(k->name, "device_model")) {
		/* xm files name Xen's own, e.g. /usr/lib/xen/bin/qemu-dm */
		warn(x,
		     "device_model = \"%.100s\": Xen's qemu-dm is not used; hvmdm takes its place",
		     d->device_model);
		free(d->device_model);
		d->device_model = NULL;
	}
	return 0;
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

static int parse_disk(struct ictx *x, const struct key_def *k, struct domcfg *d)
{
	int r = parse_list(x, k, d);

	return r ? r : check_disks(x, d);
}

static const char *const only_hvm[] = { "hvm", NULL };
static const char *const accels[] = { "auto", "kvm", "emu", NULL };
static const char *const dm_versions[] = { "qemu-xen-traditional", "qemu-xen", "hvmdm", NULL };
static const char *const vgas[] = { "stdvga", "cirrus", "none", NULL };

#define FIELD(f) offsetof(struct domcfg, f)
#define KEY(n, k, fn, f, w, ex, ...)                                                               \
	{                                                                                          \
		.name = n, .kind = k, .parse = fn, .off = f, .what = w, .example = ex, __VA_ARGS__ \
	}
#define KEY_INT(n, f, lo, hi, w, ex) KEY(n, K_INT, parse_int, f, w, ex, .min = lo, .max = hi)
#define KEY_BOOL(n, f, ex) KEY(n, K_BOOL, parse_bool, FIELD(f), "0 or 1", ex)
#define KEY_STR(n, f, w, ex) KEY(n, K_STR, parse_str, FIELD(f), w, ex)
#define KEY_STR0(n, f, w, ex) KEY(n, K_STR, parse_str, FIELD(f), w, ex, .empty_ok = true)
#define KEY_CHECKED(n, f, fn, w, ex) KEY(n, K_STR, parse_str, FIELD(f), w, ex, .valid = fn)
#define KEY_ENUM(n, f, set, w, ex) KEY(n, K_STR, parse_enum, f, w, ex, .allowed = set)
#define KEY_ACTION(n, f, ex)                                                                    \
	KEY(n, K_STR, parse_action, FIELD(f),                                                   \
	    "destroy, restart, preserve, rename-restart, coredump-destroy or coredump-restart", \
	    ex)
#define KEY_LIST(n, k, fn, f, most, w, ex) \
	KEY(n, k, fn, FIELD(f), w, ex, .n_off = FIELD(nr_##f), .max = most)
#define KEY_IGNORED(n, ex) KEY(n, K_IGNORED, NULL, NO_FIELD, "anything", ex)

#define NAME_RULE \
	"a name of 1-64 letters, digits, '-', '_', '.' or '+', not starting with a digit or '-'"
#define HVM_ONLY "\"hvm\" (only HVM guests are supported)"
#define UUID_RULE "a UUID like 01234567-89ab-cdef-0123-456789abcdef"
#define BOOT_RULE "up to 4 of a (floppy), c (disk), d (CD-ROM), n (network)"
#define MIB "an integer number of MiB"

/* xl.cfg(5) and xm names; where two names mean one thing, both are entries. */
static const struct key_def keys[] = {
	KEY_ENUM("type", NO_FIELD, only_hvm, HVM_ONLY, "type = \"hvm\""),
	KEY_ENUM("builder", NO_FIELD, only_hvm, HVM_ONLY, "builder = \"hvm\""),
	KEY_CHECKED("name", name, valid_name, NAME_RULE, "name = \"debian\""),
	KEY_CHECKED("uuid", uuid, valid_uuid, UUID_RULE,
		    "uuid = \"01234567-89ab-cdef-0123-456789abcdef\""),
	KEY_INT("memory", FIELD(memory), 1, 1 << 20, MIB, "memory = 512"),
	KEY_INT("maxmem", FIELD(maxmem), 1, 1 << 20, MIB, "maxmem = 1024"),
	KEY_INT("vcpus", FIELD(vcpus), 1, 64, "a number of vCPUs", "vcpus = 2"),
	KEY_INT("maxvcpus", NO_FIELD, 1, 64, "a number of vCPUs", "maxvcpus = 2"),
	KEY_CHECKED("boot", boot, valid_boot, BOOT_RULE, "boot = \"dc\""),
	KEY_BOOL("acpi", acpi, "acpi = 1"),
	KEY_BOOL("apic", apic, "apic = 1"),
	KEY_BOOL("pae", pae, "pae = 1"),
	KEY_BOOL("localtime", localtime, "localtime = 1"),
	KEY_INT("rtc_timeoffset", FIELD(rtc_timeoffset), -(1ll << 40), 1ll << 40,
		"an offset in seconds", "rtc_timeoffset = 3600"),
	KEY_LIST("serial", K_STRLIST, parse_serial, serial, CFG_MAX_SERIAL,
		 "a serial device like 'pty'", "serial = \"pty\""),
	KEY("kernel", K_STR, parse_kernel, FIELD(kernel), "a kernel image path",
	    "kernel = \"/boot/vmlinuz\""),
	KEY_STR("ramdisk", ramdisk, "an initrd path", "ramdisk = \"/boot/initrd.img\""),
	KEY_STR0("extra", extra, "a kernel command line", "extra = \"console=ttyS0\""),
	KEY_STR0("cmdline", extra, "a kernel command line", "cmdline = \"console=ttyS0\""),
	KEY("firmware", K_STR, parse_firmware, FIELD(firmware),
	    "'bios', 'seabios' or a firmware file path", "firmware = \"seabios\""),
	KEY("bios", K_STR, parse_firmware, FIELD(firmware),
	    "'bios', 'seabios' or a firmware file path", "bios = \"seabios\""),
	KEY_ACTION("on_poweroff", on_poweroff, "on_poweroff = \"destroy\""),
	KEY_ACTION("on_reboot", on_reboot, "on_reboot = \"restart\""),
	KEY_ACTION("on_crash", on_crash, "on_crash = \"destroy\""),
	KEY("device_model_override", K_STR, parse_device_model, FIELD(device_model),
	    "a device model path", "device_model_override = \"/usr/local/bin/hvmdm\""),
	KEY("device_model", K_STR, parse_device_model, FIELD(device_model), "a device model path",
	    "device_model = \"qemu-dm\""),
	KEY_ENUM("device_model_version", FIELD(device_model_version), dm_versions,
		 "qemu-xen-traditional, qemu-xen or hvmdm",
		 "device_model_version = \"qemu-xen-traditional\""),
	KEY_ENUM("accel", FIELD(accel), accels, "auto, kvm or emu", "accel = \"auto\""),
	KEY_BOOL("vnc", vnc, "vnc = 1"),
	KEY_BOOL("vncunused", vncunused, "vncunused = 1"),
	KEY_BOOL("sdl", sdl, "sdl = 0"),
	KEY_BOOL("full-screen", full_screen, "full-screen = 1"),
	KEY_BOOL("full_screen", full_screen, "full_screen = 1"),
	KEY_BOOL("nographic", nographic, "nographic = 0"),
	KEY_BOOL("stdvga", stdvga, "stdvga = 0"),
	KEY_BOOL("usb", usb, "usb = 1"),
	KEY_CHECKED("vnclisten", vnclisten, valid_vnclisten,
		    "an IPv4 address like \"127.0.0.1\" or \"0.0.0.0\" (optionally \":DISPLAY\")",
		    "vnclisten = \"127.0.0.1\""),
	KEY_STR0("vncpasswd", vncpasswd, "a password string", "vncpasswd = \"secret\""),
	KEY_INT("vncdisplay", FIELD(vncdisplay), 0, 99, "a display number", "vncdisplay = 1"),
	KEY_INT("videoram", FIELD(videoram), 1, 256, "a VRAM size in MiB", "videoram = 16"),
	KEY("keymap", K_STR, parse_keymap, FIELD(keymap), "a keymap name like 'en-us'",
	    "keymap = \"en-us\""),
	KEY_STR("soundhw", soundhw, "a sound card name", "soundhw = \"sb16\""),
	KEY_STR0("fda", fda, "a floppy image path", "fda = \"/srv/floppy.img\""),
	KEY_STR0("fdb", fdb, "a floppy image path", "fdb = \"/srv/floppy.img\""),
	KEY_LIST("usbdevice", K_STRLIST, parse_list, usbdevice, CFG_MAX_LIST,
		 "a USB device like 'tablet'", "usbdevice = \"tablet\""),
	KEY_LIST("disk", K_LIST, parse_disk, disk, CFG_MAX_LIST, "a list of disk specs",
		 "disk = [ \"/srv/guest.qcow2,qcow2,hda,rw\" ]"),
	KEY_ENUM("vga", FIELD(vga), vgas, "stdvga, cirrus or none", "vga = \"stdvga\""),
	KEY_LIST("vif", K_LIST, parse_vif, vif, CFG_MAX_LIST, "a list of vif specs",
		 "vif = [ \"bridge=br0\" ]"),
	/* Accepted from xl/xm files; hvmdm has no use for them (ecosystem notes, section 1). */
	KEY_IGNORED("on_watchdog", "on_watchdog = \"destroy\""),
	KEY_IGNORED("on_soft_reset", "on_soft_reset = \"soft-reset\""),
	KEY_IGNORED("hap", "hap = 1"),
	KEY_IGNORED("nx", "nx = 1"),
	KEY_IGNORED("hpet", "hpet = 1"),
	KEY_IGNORED("viridian", "viridian = 1"),
	KEY_IGNORED("xen_platform_pci", "xen_platform_pci = 1"),
	KEY_IGNORED("monitor", "monitor = 1"),
	KEY_IGNORED("opengl", "opengl = 1"),
	KEY_IGNORED("vncconsole", "vncconsole = 1"),
	KEY_IGNORED("hdtype", "hdtype = \"ide\""),
	KEY_IGNORED("display", "display = \":0\""),
	KEY_IGNORED("xauthority", "xauthority = \"/root/.Xauthority\""),
	KEY_IGNORED("acpi_s3", "acpi_s3 = 1"),
	KEY_IGNORED("acpi_s4", "acpi_s4 = 1"),
	KEY_IGNORED("shadow_memory", "shadow_memory = 8"),
	KEY_IGNORED("cpus", "cpus = \"0-3\""),
	KEY_IGNORED("cpu_weight", "cpu_weight = 256"),
	KEY_IGNORED("cpu_cap", "cpu_cap = 100"),
};

#define NR_KEYS (sizeof(keys) / sizeof(keys[0]))

int cfg_key_info(size_t i, struct cfg_keyinfo *out)
{
	if (i >= NR_KEYS)
		return -ENOENT;
	out->name = keys[i].name;
	out->type = kind_names[keys[i].kind];
	out->example = keys[i].example;
	out->ignored = keys[i].kind == K_IGNORED;
	return 0;
}

static const struct key_def *find_key(const char *name)
{
	size_t i;

	for (i = 0; i < NR_KEYS; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

/* Longer than every known key; a longer unknown key is too far from all of them. */
#define KEY_NAME_MAX 32

static unsigned min_u(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

static bool same_ci(char a, char b)
{
	return tolower((unsigned char)a) == tolower((unsigned char)b);
}

/* One cell of the optimal-string-alignment table: d[i][j] from its neighbours. */
static unsigned osa_cell(unsigned (*d)[KEY_NAME_MAX + 1], const char *a, const char *b, size_t i,
			 size_t j)
{
	unsigned v = min_u(d[i - 1][j] + 1, d[i][j - 1] + 1);

	v = min_u(v, d[i - 1][j - 1] + !same_ci(a[i - 1], b[j - 1]));
	if (i > 1 && j > 1 && same_ci(a[i - 1], b[j - 2]) && same_ci(a[i - 2], b[j - 1]))
		v = min_u(v, d[i - 2][j - 2] + 1); /* two neighbours swapped */
	return v;
}

/*
 * Damerau-Levenshtein distance in its optimal-string-alignment form (insert,
 * delete, substitute, swap two neighbours; no substring edited twice),
 * ignoring case, so a case-only difference is 0.
 */
static unsigned key_distance(const char *a, const char *b)
{
	unsigned d[KEY_NAME_MAX + 1][KEY_NAME_MAX + 1];
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la > KEY_NAME_MAX || lb > KEY_NAME_MAX)
		return KEY_NAME_MAX + 1;
	for (i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++)
			d[i][j] = osa_cell(d, a, b, i, j);
	return d[la][lb];
}

/*
 * The known key to suggest for an unknown one: the nearest (the first in the
 * table on a tie) if it differs only in case or by at most 2 edits, and the
 * edits change less than half the name, so that 'foo' is not taken for 'fda'.
 */
static const struct key_def *nearest_key(const char *name)
{
	const struct key_def *best = NULL;
	unsigned best_d = 3, dist;
	size_t i;

	for (i = 0; i < NR_KEYS; i++) {
		dist = key_distance(name, keys[i].name);
		if (dist < best_d) {
			best_d = dist;
			best = &keys[i];
		}
	}
	if (best && 2 * best_d >= strlen(name))
		return NULL;
	return best;
}

static void warn_unknown(struct ictx *x)
{
	const struct key_def *near = nearest_key(x->e->key);

	if (near)
		warn(x, "unknown key '%s' ignored; did you mean '%s'?", x->e->key, near->name);
	else
		warn(x, "unknown key '%s' ignored", x->e->key);
}

static int set_key(struct ictx *x, struct domcfg *d)
{
	const struct key_def *k = find_key(x->e->key);

	if (!k) {
		warn_unknown(x);
		return 0;
	}
	if (k->kind == K_IGNORED) {
		warn(x, "'%s' is accepted but has no effect", k->name);
		return 0;
	}
	if (!type_ok(k, &x->e->val))
		return bad_type(x, k);
	return k->parse(x, k, d);
}

/* The last entry that set the domcfg field at off, under any of its names (extra, cmdline). */
static const struct cfg_entry *field_setter(const struct cfg *c, size_t off)
{
	const struct key_def *k;
	size_t i;

	for (i = c->n; i-- > 0;) {
		k = find_key(c->e[i].key);
		if (k && k->kind != K_IGNORED && k->off == off)
			return &c->e[i];
	}
	return NULL;
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

/* Keys hvmdm takes but has no device for yet: say so where the user looks. */
static void warn_missing_devices(const struct cfg *c, const struct domcfg *d, struct ictx *x)
{
	const struct {
		const char *key, *device;
		bool set;
	} none[] = {
		{ "vif", "network card", d->nr_vif > 0 },
		{ "soundhw", "sound card", d->soundhw != NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		x->e = cfg_find(c, none[i].key);
		if (x->e && none[i].set)
			warn(x, "hvmdm emulates no %s yet; the guest runs without '%s'",
			     none[i].device, none[i].key);
	}
	/* USB: the UHCI controller and its tablet (hw/usb); other devices are not there */
	x->e = cfg_find(c, "usbdevice");
	for (i = 0; x->e && i < d->nr_usbdevice; i++)
		if (strcmp(d->usbdevice[i], "tablet"))
			warn(x,
			     "usbdevice '%s': hvmdm emulates only the USB tablet "
			     "(usbdevice = \"tablet\"); the guest runs without it",
			     d->usbdevice[i]);
	x->e = cfg_find(c, "vncpasswd");
	if (x->e && d->vncpasswd && strlen(d->vncpasswd) > 8)
		warn(x, "VNC authentication uses only the first 8 characters of vncpasswd");
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
		x.e = field_setter(c, d->ramdisk ? FIELD(ramdisk) : FIELD(extra));
		return bad(&x, "needs kernel = \"...\" as well");
	}
	mem = cfg_find(c, "maxmem");
	if (mem && d->maxmem > d->memory) {
		x.e = mem;
		warn(&x, "memory ballooning is not supported; the guest gets memory = %lld MiB",
		     d->memory);
	}
	warn_missing_devices(c, d, &x);
	if (!d->boot) {
		d->boot = strdup("cda"); /* libxl_create.c default */
		if (!d->boot)
			return -ENOMEM;
	}
	return 0;
}

/* One file the configuration names: present, not a directory, and usable as mode asks. */
static int check_path(struct ictx *x, const char *spec, const char *path, int mode)
{
	const char *fix = "";
	struct stat sb;
	int e;

	if (stat(path, &sb) || access(path, mode)) {
		e = errno;
		if (e == EACCES && (mode & W_OK))
			fix = " (the disk is opened read-write: fix the permissions or use access "
			      "'r')";
		else if (e == ENOENT)
			fix = " (check the path)";
		return bad(x, "%s%s%s%s", spec, spec[0] ? ": " : "", strerror(e), fix);
	}
	if (S_ISDIR(sb.st_mode))
		return bad(x, "%s%s%s is a directory, not a file", spec, spec[0] ? ": " : "", path);
	return 0;
}

int cfg_check_files(const struct cfg *c, const struct domcfg *d, char *err, size_t errlen)
{
	static const struct {
		size_t off;
		int mode;
	} files[] = {
		{ FIELD(kernel), R_OK }, { FIELD(ramdisk), R_OK }, { FIELD(firmware), R_OK },
		{ FIELD(fda), R_OK },	 { FIELD(fdb), R_OK },	   { FIELD(device_model), X_OK },
	};
	struct ictx x = { .err = err, .errlen = errlen };
	char spec[128];
	size_t i;
	int r;

	x.e = field_setter(c, FIELD(disk));
	for (i = 0; x.e && i < d->nr_disk; i++) {
		const struct disk *dk = &d->disks[i];

		if (!dk->target[0])
			continue; /* an empty CD-ROM drive */
		snprintf(spec, sizeof(spec), "'%.100s'", d->disk[i]);
		r = check_path(&x, spec, dk->target, dk->readonly ? R_OK : R_OK | W_OK);
		if (r)
			return r;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *path = *(char *const *)((const char *)d + files[i].off);

		if (!path || !path[0])
			continue;
		x.e = field_setter(c, files[i].off);
		r = x.e ? check_path(&x, "", path, files[i].mode) : 0;
		if (r)
			return r;
	}
	return 0;
}

void cfg_check_memory(const struct cfg *c, const struct domcfg *d, long long host_mib,
		      char *warnbuf, size_t warnlen)
{
	struct ictx x = { .warn = warnbuf, .warnlen = warnlen };

	if (warnlen)
		warnbuf[0] = '\0';
	x.e = cfg_find(c, "memory");
	if (host_mib > 0 && x.e && d->memory > host_mib)
		warn(&x,
		     "memory = %lld MiB is more than this host's RAM (%lld MiB); the guest's "
		     "RAM is mapped as it is used, and using it all would exhaust the host",
		     d->memory, host_mib);
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
