// SPDX-License-Identifier: MIT
/*
 * aml.c - ACPI Machine Language emitter (ACPI 6.4 chapter 20): byte buffer,
 * name strings, integers, and PkgLength-delimited objects whose length is
 * inserted when they are closed.
 */
#include "aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->p);
	memset(a, 0, sizeof(*a));
}

int aml_finish(struct aml *a, uint8_t **out, size_t *len)
{
	int err = a->err ? a->err : (a->depth ? -EINVAL : 0);

	if (err) {
		aml_free(a);
		return err;
	}
	*out = a->p;
	*len = a->len;
	a->p = NULL;
	aml_free(a);
	return 0;
}

static int aml_reserve(struct aml *a, size_t n)
{
	uint8_t *np;
	size_t cap;

	if (a->err)
		return a->err;
	if (a->len + n <= a->cap)
		return 0;
	cap = (a->cap ? a->cap * 2 : 4096) + n;
	np = realloc(a->p, cap);
	if (!np) {
		a->err = -ENOMEM;
		return a->err;
	}
	a->p = np;
	a->cap = cap;
	return 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (aml_reserve(a, n))
		return;
	memcpy(a->p + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_nameseg(struct aml *a, const char *seg, size_t n)
{
	char s[4] = { '_', '_', '_', '_' };

	if (n > 4 || n == 0) {
		a->err = -EINVAL;
		return;
	}
	memcpy(s, seg, n);
	aml_bytes(a, s, 4);
}

void aml_name(struct aml *a, const char *path)
{
	const char *p = path, *dot;
	unsigned segs = 0;

	while (*p == '\\' || *p == '^')
		aml_byte(a, (uint8_t)(*p++ == '\\' ? AML_ROOT_CHAR : AML_PARENT_CHAR));
	if (!*p) {
		aml_byte(a, AML_ZERO); /* NullName */
		return;
	}
	for (dot = p, segs = 1; (dot = strchr(dot, '.')); dot++)
		segs++;
	if (segs == 2) {
		aml_byte(a, AML_DUAL_NAME);
	} else if (segs > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)segs);
	}
	while (*p) {
		dot = strchr(p, '.');
		aml_nameseg(a, p, dot ? (size_t)(dot - p) : strlen(p));
		p = dot ? dot + 1 : p + strlen(p);
	}
}

void aml_int(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	unsigned n, i;

	if (v == 0 || v == 1) {
		aml_byte(a, (uint8_t)v);
		return;
	}
	if (v <= 0xff) {
		b[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xffff) {
		b[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xffffffffull) {
		b[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		b[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n + 1);
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;
	unsigned i;
	int h[4];

	if (strlen(id) != 7) {
		a->err = -EINVAL;
		return;
	}
	for (i = 0; i < 4; i++) {
		char c = id[3 + i];

		h[i] = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (h[i] < 0)
			a->err = -EINVAL;
	}
	/* Three 5-bit letters then four hex digits, stored big-endian (section 19.6.35). */
	v = (uint32_t)((id[0] - 0x40) & 0x1f) << 26 | (uint32_t)((id[1] - 0x40) & 0x1f) << 21 |
	    (uint32_t)((id[2] - 0x40) & 0x1f) << 16 | (uint32_t)h[0] << 12 | (uint32_t)h[1] << 8 |
	    (uint32_t)h[2] << 4 | (uint32_t)h[3];
	aml_byte(a, AML_DWORD_PREFIX);
	aml_byte(a, (uint8_t)(v >> 24));
	aml_byte(a, (uint8_t)(v >> 16));
	aml_byte(a, (uint8_t)(v >> 8));
	aml_byte(a, (uint8_t)v);
}

void aml_pkg_open(struct aml *a)
{
	if (a->depth >= AML_MAX_DEPTH) {
		a->err = -EINVAL;
		return;
	}
	a->open[a->depth++] = a->len;
}

/* PkgLength counts its own bytes (section 20.2.4): 1 byte up to 63, else 2-4. */
void aml_close(struct aml *a)
{
	size_t start, content, total;
	unsigned n, i;
	uint8_t enc[4];

	if (!a->depth) {
		a->err = -EINVAL;
		return;
	}
	start = a->open[--a->depth];
	content = a->len - start;
	if (content + 1 <= 0x3f)
		n = 1;
	else if (content + 2 <= 0xfff)
		n = 2;
	else if (content + 3 <= 0xfffff)
		n = 3;
	else
		n = 4;
	total = content + n;
	if (total > 0xfffffff) {
		a->err = -E2BIG;
		return;
	}
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (aml_reserve(a, n))
		return;
	memmove(a->p + start + n, a->p + start, content);
	memcpy(a->p + start, enc, n);
	a->len += n;
}

void aml_scope(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE);
	aml_pkg_open(a);
	aml_name(a, path);
}

void aml_device(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_EXT_DEVICE);
	aml_pkg_open(a);
	aml_name(a, name);
}

void aml_method(struct aml *a, const char *name, unsigned nargs, int serialized)
{
	aml_byte(a, AML_METHOD);
	aml_pkg_open(a);
	aml_name(a, name);
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
}

void aml_if(struct aml *a)
{
	aml_byte(a, AML_IF);
	aml_pkg_open(a);
}

void aml_else(struct aml *a)
{
	aml_byte(a, AML_ELSE);
	aml_pkg_open(a);
}

void aml_package(struct aml *a, unsigned nelems)
{
	aml_byte(a, AML_PACKAGE);
	aml_pkg_open(a);
	aml_byte(a, (uint8_t)nelems);
}

void aml_name_buffer(struct aml *a, const char *name, const uint8_t *data, size_t n)
{
	aml_byte(a, AML_NAME);
	aml_name(a, name);
	aml_byte(a, AML_BUFFER);
	aml_pkg_open(a);
	aml_int(a, n);
	aml_bytes(a, data, n);
	aml_close(a);
}

void aml_name_int(struct aml *a, const char *name, uint64_t v)
{
	aml_byte(a, AML_NAME);
	aml_name(a, name);
	aml_int(a, v);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_byte(a, AML_NAME);
	aml_name(a, name);
	aml_eisaid(a, id);
}
