/* SPDX-License-Identifier: MIT */
/*
 * json.c - strict JSON (RFC 8259) parser and compact writer.
 *
 * Recursive descent bounded by JSON_MAX_DEPTH; every value counts towards
 * JSON_MAX_VALUES.  Strings are validated as UTF-8 (RFC 3629 section 4: no
 * overlong forms, no surrogates, nothing above U+10FFFF); \u escapes must
 * pair surrogates (RFC 8259 section 7).  Not supported on purpose: comments,
 * trailing commas, NaN/Infinity, single quotes.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct parser {
	const char *p, *end;
	unsigned depth;
	unsigned values;
};

static int parse_value(struct parser *ps, struct json **out);

static struct json *json_alloc(enum json_type t)
{
	struct json *j = calloc(1, sizeof(*j));

	if (j)
		j->type = t;
	return j;
}

void json_free(struct json *j)
{
	size_t i;

	if (!j)
		return;
	for (i = 0; i < j->len && j->v; i++) {
		json_free(j->v[i]);
		if (j->k)
			free(j->k[i]);
	}
	free(j->v);
	free(j->k);
	free(j->s);
	free(j);
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

/* -EAGAIN at the end of input, -EINVAL when the bytes differ. */
static int expect_word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);
	size_t have = (size_t)(ps->end - ps->p);

	if (have < n) {
		if (memcmp(ps->p, w, have))
			return -EINVAL;
		return -EAGAIN;
	}
	if (memcmp(ps->p, w, n))
		return -EINVAL;
	ps->p += n;
	return 0;
}

static int grow(struct json *j)
{
	size_t ncap;
	struct json **nv;

	if (j->len < j->cap)
		return 0;
	ncap = j->cap ? j->cap * 2 : 4;
	nv = realloc(j->v, ncap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	j->v = nv;
	if (j->type == JSON_OBJECT) {
		char **nk = realloc(j->k, ncap * sizeof(*nk));

		if (!nk)
			return -ENOMEM;
		j->k = nk;
	}
	j->cap = ncap;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at ps->p. */
static int read_hex4(struct parser *ps, unsigned *out)
{
	unsigned v = 0;
	int i, h;

	for (i = 0; i < 4; i++) {
		if (ps->p >= ps->end)
			return -EAGAIN;
		h = hexval(*ps->p++);
		if (h < 0)
			return -EINVAL;
		v = v << 4 | (unsigned)h;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *dst, unsigned cp)
{
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xc0 | cp >> 6);
		dst[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xe0 | cp >> 12);
		dst[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		dst[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | cp >> 18);
	dst[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	dst[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	dst[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Length of the UTF-8 sequence at s (at most avail bytes), 0 if invalid,
 * or -1 when it is a valid prefix cut by the end of the input.
 * Table 3-7 of the Unicode standard (well-formed byte sequences).
 */
static int utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	int n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f; /* no UTF-16 surrogates */
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f; /* nothing above U+10FFFF */
	for (i = 1; i < n; i++) {
		if ((size_t)i >= avail)
			return -1;
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

static int parse_escape(struct parser *ps, char *dst, size_t *dn)
{
	unsigned cp, lo;
	int r;
	char c;

	if (ps->p >= ps->end)
		return -EAGAIN;
	c = *ps->p++;
	switch (c) {
	case '"':
	case '\\':
	case '/':
		*dn = 1;
		dst[0] = c;
		return 0;
	case 'b':
		dst[0] = '\b';
		break;
	case 'f':
		dst[0] = '\f';
		break;
	case 'n':
		dst[0] = '\n';
		break;
	case 'r':
		dst[0] = '\r';
		break;
	case 't':
		dst[0] = '\t';
		break;
	case 'u':
		r = read_hex4(ps, &cp);
		if (r)
			return r;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return -EINVAL; /* lone low surrogate */
		if (cp >= 0xd800 && cp <= 0xdbff) {
			r = expect_word(ps, "\\u");
			if (r)
				return r;
			r = read_hex4(ps, &lo);
			if (r)
				return r;
			if (lo < 0xdc00 || lo > 0xdfff)
				return -EINVAL;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		*dn = put_utf8(dst, cp);
		return 0;
	default:
		return -EINVAL;
	}
	*dn = 1;
	return 0;
}

/* ps->p is just past the opening quote.  Output never exceeds the input length. */
static int parse_string_raw(struct parser *ps, char **out, size_t *outlen)
{
	const char *start = ps->p;
	char *buf, *d;
	size_t dn;
	int r, n;

	/* Find the closing quote first so the buffer can be sized once. */
	while (start < ps->end && *start != '"') {
		if (*start == '\\' && ps->end - start < 2)
			return -EAGAIN;
		start += *start == '\\' ? 2 : 1;
	}
	if (start >= ps->end)
		return -EAGAIN;
	buf = malloc((size_t)(start - ps->p) + 1);
	if (!buf)
		return -ENOMEM;
	d = buf;
	for (;;) {
		unsigned char c;

		if (ps->p >= ps->end) {
			r = -EAGAIN;
			goto fail;
		}
		c = (unsigned char)*ps->p;
		if (c == '"') {
			ps->p++;
			break;
		}
		if (c < 0x20) {
			r = -EINVAL;
			goto fail;
		}
		if (c == '\\') {
			ps->p++;
			r = parse_escape(ps, d, &dn);
			if (r)
				goto fail;
			d += dn;
			continue;
		}
		n = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
		if (n <= 0) {
			r = n < 0 ? -EAGAIN : -EINVAL;
			goto fail;
		}
		memcpy(d, ps->p, (size_t)n);
		d += n;
		ps->p += n;
	}
	*d = '\0';
	*outlen = (size_t)(d - buf);
	*out = buf;
	return 0;
fail:
	free(buf);
	return r;
}

static int parse_number(struct parser *ps, struct json **out)
{
	const char *s = ps->p;
	char tmp[JSON_MAX_NUMBER_LEN + 1];
	bool integral = true;
	struct json *j;
	size_t n;
	char *endp;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end)
		return -EAGAIN;
	if (*ps->p == '0') {
		ps->p++;
	} else if (*ps->p >= '1' && *ps->p <= '9') {
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	} else {
		return -EINVAL;
	}
	if (ps->p < ps->end && *ps->p == '.') {
		integral = false;
		ps->p++;
		if (ps->p >= ps->end)
			return -EAGAIN;
		if (*ps->p < '0' || *ps->p > '9')
			return -EINVAL;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		integral = false;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end)
			return -EAGAIN;
		if (*ps->p < '0' || *ps->p > '9')
			return -EINVAL;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	n = (size_t)(ps->p - s);
	if (n > JSON_MAX_NUMBER_LEN)
		return -E2BIG;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	j = json_alloc(JSON_NUMBER);
	if (!j)
		return -ENOMEM;
	errno = 0;
	j->d = strtod(tmp, &endp);
	if (isinf(j->d) || isnan(j->d)) {
		json_free(j);
		return -ERANGE;
	}
	if (integral) {
		long long v;

		errno = 0;
		v = strtoll(tmp, &endp, 10);
		if (errno == 0 && *endp == '\0') {
			j->is_int = true;
			j->i = v;
		}
	}
	*out = j;
	return 0;
}

static int parse_array(struct parser *ps, struct json *arr)
{
	struct json *v;
	int r;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return -EAGAIN;
	if (*ps->p == ']') {
		ps->p++;
		return 0;
	}
	for (;;) {
		r = parse_value(ps, &v);
		if (r)
			return r;
		r = grow(arr);
		if (r) {
			json_free(v);
			return r;
		}
		arr->v[arr->len++] = v;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return -EAGAIN;
		if (*ps->p == ']') {
			ps->p++;
			return 0;
		}
		if (*ps->p != ',')
			return -EINVAL;
		ps->p++;
	}
}

static bool has_key(const struct json *obj, const char *key)
{
	size_t i;

	for (i = 0; i < obj->len; i++)
		if (!strcmp(obj->k[i], key))
			return true;
	return false;
}

static int parse_object(struct parser *ps, struct json *obj)
{
	struct json *v;
	size_t klen;
	char *key;
	int r;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return -EAGAIN;
	if (*ps->p == '}') {
		ps->p++;
		return 0;
	}
	for (;;) {
		skip_ws(ps);
		if (ps->p >= ps->end)
			return -EAGAIN;
		if (*ps->p != '"')
			return -EINVAL;
		ps->p++;
		r = parse_string_raw(ps, &key, &klen);
		if (r)
			return r;
		/* Keys with embedded NULs could alias others: refuse them. */
		if (strlen(key) != klen || has_key(obj, key)) {
			free(key);
			return -EINVAL;
		}
		skip_ws(ps);
		r = ps->p >= ps->end ? -EAGAIN : *ps->p != ':' ? -EINVAL : 0;
		if (!r) {
			ps->p++;
			r = parse_value(ps, &v);
		}
		if (!r) {
			r = grow(obj);
			if (r)
				json_free(v);
		}
		if (r) {
			free(key);
			return r;
		}
		obj->k[obj->len] = key;
		obj->v[obj->len++] = v;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return -EAGAIN;
		if (*ps->p == '}') {
			ps->p++;
			return 0;
		}
		if (*ps->p != ',')
			return -EINVAL;
		ps->p++;
	}
}

static int parse_container(struct parser *ps, enum json_type t, struct json **out)
{
	struct json *j;
	int r;

	if (ps->depth >= JSON_MAX_DEPTH)
		return -E2BIG;
	j = json_alloc(t);
	if (!j)
		return -ENOMEM;
	ps->depth++;
	r = t == JSON_ARRAY ? parse_array(ps, j) : parse_object(ps, j);
	ps->depth--;
	if (r) {
		json_free(j);
		return r;
	}
	*out = j;
	return 0;
}

static int parse_value(struct parser *ps, struct json **out)
{
	struct json *j;
	int r;

	if (++ps->values > JSON_MAX_VALUES)
		return -E2BIG;
	skip_ws(ps);
	if (ps->p >= ps->end)
		return -EAGAIN;
	switch (*ps->p) {
	case '{':
		ps->p++;
		return parse_container(ps, JSON_OBJECT, out);
	case '[':
		ps->p++;
		return parse_container(ps, JSON_ARRAY, out);
	case '"':
		ps->p++;
		j = json_alloc(JSON_STRING);
		if (!j)
			return -ENOMEM;
		r = parse_string_raw(ps, &j->s, &j->len);
		break;
	case 't':
		j = json_alloc(JSON_BOOL);
		if (!j)
			return -ENOMEM;
		j->b = true;
		r = expect_word(ps, "true");
		break;
	case 'f':
		j = json_alloc(JSON_BOOL);
		if (!j)
			return -ENOMEM;
		r = expect_word(ps, "false");
		break;
	case 'n':
		j = json_alloc(JSON_NULL);
		if (!j)
			return -ENOMEM;
		r = expect_word(ps, "null");
		break;
	default:
		return parse_number(ps, out);
	}
	if (r) {
		json_free(j);
		return r;
	}
	*out = j;
	return 0;
}

int json_parse(const char *buf, size_t len, struct json **out, size_t *used)
{
	struct parser ps = { .p = buf, .end = buf + len };
	int r;

	*out = NULL;
	r = parse_value(&ps, out);
	if (r) {
		*out = NULL;
		return r;
	}
	if (used)
		*used = (size_t)(ps.p - buf);
	return 0;
}

int json_parse_all(const char *buf, size_t len, struct json **out)
{
	size_t used, i;
	int r;

	r = json_parse(buf, len, out, &used);
	if (r)
		return r == -EAGAIN ? -EINVAL : r;
	for (i = used; i < len; i++) {
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r') {
			json_free(*out);
			*out = NULL;
			return -EINVAL;
		}
	}
	return 0;
}

struct json *json_new_null(void)
{
	return json_alloc(JSON_NULL);
}

struct json *json_new_bool(bool b)
{
	struct json *j = json_alloc(JSON_BOOL);

	if (j)
		j->b = b;
	return j;
}

struct json *json_new_int(int64_t i)
{
	struct json *j = json_alloc(JSON_NUMBER);

	if (j) {
		j->is_int = true;
		j->i = i;
		j->d = (double)i;
	}
	return j;
}

struct json *json_new_double(double d)
{
	struct json *j = json_alloc(JSON_NUMBER);

	if (j)
		j->d = d;
	return j;
}

struct json *json_new_strn(const char *s, size_t len)
{
	struct json *j = json_alloc(JSON_STRING);

	if (!j)
		return NULL;
	j->s = malloc(len + 1);
	if (!j->s) {
		free(j);
		return NULL;
	}
	memcpy(j->s, s, len);
	j->s[len] = '\0';
	j->len = len;
	return j;
}

struct json *json_new_str(const char *s)
{
	return json_new_strn(s, strlen(s));
}

struct json *json_new_array(void)
{
	return json_alloc(JSON_ARRAY);
}

struct json *json_new_object(void)
{
	return json_alloc(JSON_OBJECT);
}

int json_array_add(struct json *arr, struct json *val)
{
	if (!val)
		return -ENOMEM;
	if (!arr || arr->type != JSON_ARRAY || grow(arr)) {
		json_free(val);
		return arr && arr->type == JSON_ARRAY ? -ENOMEM : -EINVAL;
	}
	arr->v[arr->len++] = val;
	return 0;
}

int json_object_set(struct json *obj, const char *key, struct json *val)
{
	char *k;
	size_t i;

	if (!val)
		return -ENOMEM;
	if (!obj || obj->type != JSON_OBJECT) {
		json_free(val);
		return -EINVAL;
	}
	for (i = 0; i < obj->len; i++) {
		if (!strcmp(obj->k[i], key)) {
			json_free(obj->v[i]);
			obj->v[i] = val;
			return 0;
		}
	}
	k = strdup(key);
	if (!k || grow(obj)) {
		free(k);
		json_free(val);
		return -ENOMEM;
	}
	obj->k[obj->len] = k;
	obj->v[obj->len++] = val;
	return 0;
}

const struct json *json_get(const struct json *obj, const char *key)
{
	size_t i;

	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (i = 0; i < obj->len; i++)
		if (!strcmp(obj->k[i], key))
			return obj->v[i];
	return NULL;
}

const char *json_get_str(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);

	return v && v->type == JSON_STRING ? v->s : NULL;
}

int json_get_int(const struct json *obj, const char *key, int64_t *out)
{
	const struct json *v = json_get(obj, key);

	if (!v)
		return -ENOENT;
	if (v->type != JSON_NUMBER || !v->is_int)
		return -EINVAL;
	*out = v->i;
	return 0;
}

int json_get_bool(const struct json *obj, const char *key, bool *out)
{
	const struct json *v = json_get(obj, key);

	if (!v)
		return -ENOENT;
	if (v->type != JSON_BOOL)
		return -EINVAL;
	*out = v->b;
	return 0;
}

void json_buf_free(struct json_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void json_buf_put(struct json_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		char *np;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void json_buf_puts(struct json_buf *b, const char *s)
{
	json_buf_put(b, s, strlen(s));
}

void json_buf_str(struct json_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[8];
	size_t i = 0;
	int l;

	json_buf_put(b, "\"", 1);
	while (i < n) {
		unsigned char c = u[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			json_buf_put(b, esc, 2);
		} else if (c == '\n') {
			json_buf_put(b, "\\n", 2);
		} else if (c == '\r') {
			json_buf_put(b, "\\r", 2);
		} else if (c == '\t') {
			json_buf_put(b, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			json_buf_put(b, esc, 6);
		} else if (c < 0x80) {
			json_buf_put(b, (const char *)&u[i], 1);
		} else {
			l = utf8_len(&u[i], n - i);
			if (l <= 0) {
				json_buf_put(b, "\\ufffd", 6);
				i++;
				continue;
			}
			json_buf_put(b, (const char *)&u[i], (size_t)l);
			i += (size_t)l;
			continue;
		}
		i++;
	}
	json_buf_put(b, "\"", 1);
}

void json_write(struct json_buf *b, const struct json *j)
{
	char num[40];
	size_t i;

	if (!j) {
		json_buf_puts(b, "null");
		return;
	}
	switch (j->type) {
	case JSON_NULL:
		json_buf_puts(b, "null");
		break;
	case JSON_BOOL:
		json_buf_puts(b, j->b ? "true" : "false");
		break;
	case JSON_NUMBER:
		if (j->is_int)
			snprintf(num, sizeof(num), "%lld", (long long)j->i);
		else if (isfinite(j->d))
			snprintf(num, sizeof(num), "%.17g", j->d);
		else
			snprintf(num, sizeof(num), "null");
		json_buf_puts(b, num);
		break;
	case JSON_STRING:
		json_buf_str(b, j->s, j->len);
		break;
	case JSON_ARRAY:
		json_buf_put(b, "[", 1);
		for (i = 0; i < j->len; i++) {
			if (i)
				json_buf_put(b, ", ", 2);
			json_write(b, j->v[i]);
		}
		json_buf_put(b, "]", 1);
		break;
	case JSON_OBJECT:
		json_buf_put(b, "{", 1);
		for (i = 0; i < j->len; i++) {
			if (i)
				json_buf_put(b, ", ", 2);
			json_buf_str(b, j->k[i], strlen(j->k[i]));
			json_buf_put(b, ": ", 2);
			json_write(b, j->v[i]);
		}
		json_buf_put(b, "}", 1);
		break;
	}
}

char *json_to_string(const struct json *j)
{
	struct json_buf b = { 0 };

	json_write(&b, j);
	if (b.oom || !b.p) {
		json_buf_free(&b);
		return NULL;
	}
	return b.p;
}
