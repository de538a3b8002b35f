// SPDX-License-Identifier: MIT
/*
 * test_acpi.c - the ACPI tables of the "pc" machine, checked without iasl:
 *   - the table-loader script is executed the way SeaBIOS does it (allocate,
 *     add pointers, fix checksums) at made-up load addresses, then every
 *     table is found by following RSDP -> RSDT/XSDT -> FADT -> FACS/DSDT and
 *     each one's signature, length and checksum are verified;
 *   - FADT and MADT fields are decoded and compared with the machine;
 *   - the DSDT's AML is parsed back by an independent little AML reader
 *     (ACPI 6.4 chapter 20 grammar for the opcodes a DSDT of this kind
 *     uses): every PkgLength must nest exactly, and the namespace it
 *     declares (devices, _HID values, _PRT entries, \_S5) is compared with
 *     what the machine has;
 *   - when ACPICA's iasl is installed, the DSDT is also disassembled and
 *     compiled back with it (no errors, no warnings).
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc/acpi_tables.h"
#include "tap.h"

#define BASE_TABLES 0x07fe0000u
#define BASE_RSDP 0x000f5a00u

struct image {
	uint8_t *tables, *rsdp;
	uint32_t tables_len, rsdp_len;
};

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint8_t *file_of(struct image *im, const char *name, uint32_t *len, uint32_t *base)
{
	if (!strncmp(name, ACPI_FILE_TABLES, 56)) {
		*len = im->tables_len;
		*base = BASE_TABLES;
		return im->tables;
	}
	if (!strncmp(name, ACPI_FILE_RSDP, 56)) {
		*len = im->rsdp_len;
		*base = BASE_RSDP;
		return im->rsdp;
	}
	return NULL;
}

/* Run the loader script like SeaBIOS's romfile_loader_execute(). */
static void run_loader(const struct acpi_tables *t, struct image *im)
{
	uint32_t i, n = t->loader_len / ACPI_LOADER_ENTRY_SIZE, allocs = 0;

	CHECK_EQ(t->loader_len % ACPI_LOADER_ENTRY_SIZE, 0);
	for (i = 0; i < n; i++) {
		const uint8_t *e = t->loader + i * ACPI_LOADER_ENTRY_SIZE;
		uint32_t cmd = le32(e), dlen, dbase, slen, sbase, off;
		uint8_t *dst, *src;

		switch (cmd) {
		case ACPI_LOADER_ALLOCATE:
			CHECK(file_of(im, (const char *)e + 4, &dlen, &dbase) != NULL);
			CHECK(e[64] == ACPI_LOADER_ZONE_HIGH || e[64] == ACPI_LOADER_ZONE_FSEG);
			CHECK(le32(e + 60) && !(le32(e + 60) & (le32(e + 60) - 1)));
			allocs++;
			break;
		case ACPI_LOADER_ADD_POINTER: {
			uint64_t v = 0;
			unsigned sz = e[120], k;

			dst = file_of(im, (const char *)e + 4, &dlen, &dbase);
			src = file_of(im, (const char *)e + 60, &slen, &sbase);
			off = le32(e + 116);
			CHECK(dst && src && (sz == 4 || sz == 8) && off + sz <= dlen);
			if (!dst || !src || off + sz > dlen || (sz != 4 && sz != 8))
				break;
			for (k = 0; k < sz; k++)
				v |= (uint64_t)dst[off + k] << (8 * k);
			CHECK(v < slen); /* points inside the source file */
			v += sbase;
			for (k = 0; k < sz; k++)
				dst[off + k] = (uint8_t)(v >> (8 * k));
			break;
		}
		case ACPI_LOADER_ADD_CHECKSUM: {
			uint32_t start = le32(e + 64), length = le32(e + 68);

			dst = file_of(im, (const char *)e + 4, &dlen, &dbase);
			off = le32(e + 60);
			CHECK(dst && off < dlen && start <= dlen && length <= dlen - start);
			if (!dst || off >= dlen || start > dlen || length > dlen - start)
				break;
			dst[off] = (uint8_t)(dst[off] - sum8(dst + start, length));
			break;
		}
		default:
			CHECK(!"unknown loader command");
		}
	}
	CHECK_EQ(allocs, 2);
}

/* The table at guest address a, after checking header, length and checksum. */
static const uint8_t *table_at(struct image *im, uint64_t a, const char *sig)
{
	const uint8_t *p;
	uint32_t len;

	CHECK(a >= BASE_TABLES && a < BASE_TABLES + im->tables_len);
	if (a < BASE_TABLES || a + 36 > BASE_TABLES + (uint64_t)im->tables_len)
		return NULL;
	p = im->tables + (a - BASE_TABLES);
	len = le32(p + 4);
	CHECK(!memcmp(p, sig, 4));
	if (!strcmp(sig, "FACS")) {
		CHECK_EQ(len, 64);
		CHECK_EQ((a & 63), 0);
		return p;
	}
	CHECK(len >= 36 && a + len <= BASE_TABLES + (uint64_t)im->tables_len);
	if (len < 36 || a + len > BASE_TABLES + (uint64_t)im->tables_len)
		return NULL;
	CHECK_EQ(sum8(p, len), 0);
	return p;
}

/* ---- an independent AML reader -------------------------------------------------------------- */

struct dev_rec {
	char path[64];
	char hid[8];
	unsigned methods;
};

struct amlp {
	const uint8_t *b;
	size_t end;
	int err;
	struct dev_rec devs[32];
	unsigned ndev;
	unsigned prt_entries, prt_bad;
	int have_s5;
	unsigned names, methods;
	char region[64];
};

static void fail(struct amlp *p, const char *why, size_t at)
{
	if (!p->err)
		fprintf(stderr, "AML parse error at 0x%zx: %s\n", at, why);
	p->err = 1;
}

/* PkgLength (20.2.4): returns the end offset of the package that starts at *pos. */
static size_t pkglen(struct amlp *p, size_t *pos, size_t limit)
{
	size_t start = *pos, len;
	unsigned n, i;
	uint8_t lead;

	if (*pos >= limit) {
		fail(p, "pkglen past end", *pos);
		return limit;
	}
	lead = p->b[(*pos)++];
	n = lead >> 6;
	if (!n) {
		len = lead & 0x3f;
	} else {
		if (lead & 0x30)
			fail(p, "pkglen reserved bits", start);
		len = lead & 0x0f;
		for (i = 0; i < n; i++) {
			if (*pos >= limit)
				return limit;
			len |= (size_t)p->b[(*pos)++] << (4 + 8 * i);
		}
	}
	if (start + len > limit || len < n + 1u) {
		fail(p, "package overruns its parent", start);
		return limit;
	}
	return start + len;
}

static int lead_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static int name_char(uint8_t c)
{
	return lead_char(c) || (c >= '0' && c <= '9');
}

/* NameString (20.2.2) into out as "\\A.B.C" text. */
static void namestring(struct amlp *p, size_t *pos, size_t limit, char *out, size_t cap)
{
	size_t o = 0, segs = 1, i, k;

	out[0] = 0;
	while (*pos < limit && (p->b[*pos] == '\\' || p->b[*pos] == '^')) {
		if (o + 1 < cap)
			out[o++] = (char)p->b[*pos];
		(*pos)++;
	}
	if (*pos >= limit) {
		fail(p, "name past end", *pos);
		return;
	}
	if (p->b[*pos] == 0x00) {
		(*pos)++;
		segs = 0;
	} else if (p->b[*pos] == 0x2e) {
		(*pos)++;
		segs = 2;
	} else if (p->b[*pos] == 0x2f) {
		(*pos)++;
		segs = *pos < limit ? p->b[(*pos)++] : 0;
	}
	for (i = 0; i < segs; i++) {
		if (*pos + 4 > limit || !lead_char(p->b[*pos])) {
			fail(p, "bad name segment", *pos);
			return;
		}
		for (k = 0; k < 4; k++) {
			if (!name_char(p->b[*pos + k]))
				fail(p, "bad name character", *pos + k);
			if (o + 2 < cap)
				out[o++] = (char)p->b[*pos + k];
		}
		*pos += 4;
		if (i + 1 < segs && o + 1 < cap)
			out[o++] = '.';
	}
	out[o < cap ? o : cap - 1] = 0;
}

static int is_name_start(uint8_t c)
{
	return lead_char(c) || c == '\\' || c == '^' || c == 0x2e || c == 0x2f;
}

static void termarg(struct amlp *p, size_t *pos, size_t limit, uint64_t *val);

/* Package/Buffer contents are parsed by their callers; this skips data objects. */
static void package(struct amlp *p, size_t *pos, size_t limit, unsigned *nelems, char elem[][64],
		    uint64_t *ivals)
{
	size_t end = pkglen(p, pos, limit);
	unsigned n, i = 0;

	if (*pos >= end) {
		fail(p, "package without count", *pos);
		return;
	}
	n = p->b[(*pos)++];
	while (*pos < end && !p->err) {
		if (is_name_start(p->b[*pos])) {
			char tmp[64];

			namestring(p, pos, end, tmp, sizeof(tmp));
			if (elem && i < 4)
				snprintf(elem[i], 64, "%s", tmp);
		} else {
			uint64_t v = 0;

			termarg(p, pos, end, &v);
			if (ivals && i < 4)
				ivals[i] = v;
		}
		i++;
	}
	if (i != n)
		fail(p, "package element count", *pos);
	*pos = end;
	if (nelems)
		*nelems = n;
}

/* TermArg: constants, names, args/locals and the expression opcodes we accept. */
static void termarg(struct amlp *p, size_t *pos, size_t limit, uint64_t *val)
{
	uint8_t op;
	char name[64];
	uint64_t a, b;
	unsigned k;
	size_t end;

	if (*pos >= limit) {
		fail(p, "term past end", *pos);
		return;
	}
	op = p->b[*pos];
	if (is_name_start(op)) {
		namestring(p, pos, limit, name, sizeof(name));
		return;
	}
	(*pos)++;
	*val = 0;
	switch (op) {
	case 0x00:
	case 0x01:
		*val = op;
		return;
	case 0xff:
		*val = ~0ull;
		return;
	case 0x0a:
	case 0x0b:
	case 0x0c:
	case 0x0e: {
		unsigned n = op == 0x0a ? 1 : op == 0x0b ? 2 : op == 0x0c ? 4 : 8;

		if (*pos + n > limit) {
			fail(p, "integer past end", *pos);
			return;
		}
		for (k = 0; k < n; k++)
			*val |= (uint64_t)p->b[*pos + k] << (8 * k);
		*pos += n;
		return;
	}
	case 0x0d:
		while (*pos < limit && p->b[*pos])
			(*pos)++;
		(*pos)++;
		return;
	case 0x60 ... 0x67:
	case 0x68 ... 0x6e:
		return;
	case 0x11: /* Buffer */
		end = pkglen(p, pos, limit);
		termarg(p, pos, end, &a);
		if (a != end - *pos)
			fail(p, "buffer size mismatch", *pos);
		*pos = end;
		return;
	case 0x12: /* Package */
		package(p, pos, limit, NULL, NULL, NULL);
		return;
	case 0x7b: /* And */
	case 0x7d: /* Or */
		termarg(p, pos, limit, &a);
		termarg(p, pos, limit, &b);
		termarg(p, pos, limit, &b); /* target (a name or NullName) */
		return;
	case 0x90: /* LAnd */
	case 0x93: /* LEqual */
	case 0x95: /* LLess */
		termarg(p, pos, limit, &a);
		termarg(p, pos, limit, &b);
		return;
	default:
		fail(p, "unknown expression opcode", *pos - 1);
	}
}

static void termlist(struct amlp *p, size_t pos, size_t end, const char *scope, int in_method,
		     struct dev_rec *dev);

static void join(char *out, size_t cap, const char *scope, const char *name)
{
	int n;

	if (name[0] == '\\')
		n = snprintf(out, cap, "%s", name);
	else
		n = snprintf(out, cap, "%s%s%s", scope, strcmp(scope, "\\") ? "." : "", name);
	/* a cut path cannot match any expected name: say why it failed */
	if (n < 0 || (size_t)n >= cap)
		fprintf(stderr, "# AML path cut to %zu bytes: %s\n", cap - 1, out);
}

static void decode_eisaid(uint32_t be, char out[8])
{
	static const char hex[] = "0123456789ABCDEF";
	uint32_t v = __builtin_bswap32(be);

	out[0] = (char)('@' + ((v >> 26) & 0x1f));
	out[1] = (char)('@' + ((v >> 21) & 0x1f));
	out[2] = (char)('@' + ((v >> 16) & 0x1f));
	out[3] = hex[(v >> 12) & 0xf];
	out[4] = hex[(v >> 8) & 0xf];
	out[5] = hex[(v >> 4) & 0xf];
	out[6] = hex[v & 0xf];
	out[7] = 0;
}

/* One term object (20.2.5). */
static void term(struct amlp *p, size_t *pos, size_t end, const char *scope, int in_method,
		 struct dev_rec *dev)
{
	uint8_t op = p->b[*pos];
	char name[64], path[64];
	size_t body;
	uint64_t v = 0;

	(*pos)++;
	switch (op) {
	case 0x10: /* Scope */
		body = pkglen(p, pos, end);
		namestring(p, pos, body, name, sizeof(name));
		join(path, sizeof(path), scope, name);
		termlist(p, *pos, body, path, in_method, NULL);
		*pos = body;
		return;
	case 0x08: /* Name */
		namestring(p, pos, end, name, sizeof(name));
		join(path, sizeof(path), scope, name);
		p->names++;
		if (!strcmp(path, "\\_S5_")) {
			unsigned n = 0;
			uint64_t iv[4] = { 9, 9, 9, 9 };

			CHECK_EQ(p->b[*pos], 0x12);
			(*pos)++;
			package(p, pos, end, &n, NULL, iv);
			p->have_s5 = n == 4 && iv[0] == 0 && iv[1] == 0;
			return;
		}
		if (!strcmp(name, "_HID") && dev && p->b[*pos] == 0x0c && *pos + 5 <= end) {
			decode_eisaid(le32(p->b + *pos + 1), dev->hid);
			*pos += 5;
			return;
		}
		if (!strcmp(name, "_PRT") && p->b[*pos] == 0x12) {
			size_t e;
			unsigned n, i;

			(*pos)++;
			e = pkglen(p, pos, end);
			n = p->b[(*pos)++];
			for (i = 0; i < n && *pos < e && !p->err; i++) {
				char elem[4][64] = { "", "", "", "" };
				uint64_t iv[4] = { 0, 0, 0, 0 };
				unsigned k = 0;
				char want[5] = "LNKA";

				CHECK_EQ(p->b[*pos], 0x12);
				(*pos)++;
				package(p, pos, e, &k, elem, iv);
				want[3] = (char)('A' + (((iv[0] >> 16) + iv[1]) & 3));
				if (k != 4 || (iv[0] & 0xffff) != 0xffff || iv[1] > 3 ||
				    strcmp(elem[2], want))
					p->prt_bad++;
				p->prt_entries++;
			}
			if (i != n || *pos != e)
				fail(p, "_PRT size", *pos);
			*pos = e;
			return;
		}
		termarg(p, pos, end, &v);
		return;
	case 0x14: /* Method */
		body = pkglen(p, pos, end);
		namestring(p, pos, body, name, sizeof(name));
		(*pos)++; /* flags */
		join(path, sizeof(path), scope, name);
		p->methods++;
		if (dev)
			dev->methods++;
		termlist(p, *pos, body, path, 1, NULL);
		*pos = body;
		return;
	case 0x5b:
		op = p->b[(*pos)++];
		if (op == 0x82) { /* Device */
			struct dev_rec *d = p->ndev < 32 ? &p->devs[p->ndev++] : NULL;

			body = pkglen(p, pos, end);
			namestring(p, pos, body, name, sizeof(name));
			join(path, sizeof(path), scope, name);
			if (d)
				snprintf(d->path, sizeof(d->path), "%s", path);
			termlist(p, *pos, body, path, 0, d);
			*pos = body;
		} else if (op == 0x80) { /* OperationRegion */
			uint8_t space;

			namestring(p, pos, end, name, sizeof(name));
			snprintf(p->region, sizeof(p->region), "%s", name);
			space = p->b[(*pos)++];
			CHECK_EQ(space, 2); /* PCI_Config */
			termarg(p, pos, end, &v);
			CHECK_EQ(v, 0x60);
			termarg(p, pos, end, &v);
			CHECK_EQ(v, 4);
		} else if (op == 0x81) { /* Field */
			unsigned bits = 0;

			body = pkglen(p, pos, end);
			namestring(p, pos, body, name, sizeof(name));
			CHECK(!strcmp(name, p->region));
			(*pos)++; /* flags */
			while (*pos < body && !p->err) {
				size_t e2;

				*pos += 4; /* NameSeg */
				e2 = *pos;
				bits += p->b[e2] & 0x3f; /* one-byte PkgLength: bit count */
				(*pos)++;
			}
			CHECK_EQ(bits, 32);
			*pos = body;
		} else {
			fail(p, "unknown extended opcode", *pos - 1);
		}
		return;
	default:
		break;
	}
	if (!in_method) {
		fail(p, "statement outside a method", *pos - 1);
		return;
	}
	switch (op) {
	case 0xa0: /* If */
	case 0xa1: /* Else */
		body = pkglen(p, pos, end);
		if (op == 0xa0)
			termarg(p, pos, body, &v);
		termlist(p, *pos, body, scope, 1, NULL);
		*pos = body;
		return;
	case 0xa4: /* Return */
		termarg(p, pos, end, &v);
		return;
	case 0x70: /* Store */
		termarg(p, pos, end, &v);
		termarg(p, pos, end, &v);
		return;
	case 0x8a: /* CreateDWordField */
		termarg(p, pos, end, &v);
		termarg(p, pos, end, &v);
		CHECK_EQ(v, 5);
		namestring(p, pos, end, name, sizeof(name));
		return;
	default:
		(*pos)--;
		termarg(p, pos, end, &v);
	}
}

static void termlist(struct amlp *p, size_t pos, size_t end, const char *scope, int in_method,
		     struct dev_rec *dev)
{
	unsigned guard = 0;

	while (pos < end && !p->err && guard++ < 100000)
		term(p, &pos, end, scope, in_method, dev);
	if (pos != end)
		fail(p, "term list does not end at its package end", pos);
}

static const struct dev_rec *find_dev(const struct amlp *p, const char *path)
{
	unsigned i;

	for (i = 0; i < p->ndev; i++)
		if (!strcmp(p->devs[i].path, path))
			return &p->devs[i];
	return NULL;
}

static void check_dsdt(const uint8_t *dsdt)
{
	static const struct {
		const char *path, *hid;
	} want[] = {
		{ "\\_SB_.PCI0", "PNP0A03" },		{ "\\_SB_.PCI0.ISA_.RTC_", "PNP0B00" },
		{ "\\_SB_.PCI0.ISA_.KBD_", "PNP0303" }, { "\\_SB_.PCI0.ISA_.MOU_", "PNP0F13" },
		{ "\\_SB_.PCI0.ISA_.FDC0", "PNP0700" }, { "\\_SB_.PCI0.ISA_.COM1", "PNP0501" },
		{ "\\_SB_.PCI0.ISA_.COM2", "PNP0501" }, { "\\_SB_.LNKA", "PNP0C0F" },
		{ "\\_SB_.LNKB", "PNP0C0F" },		{ "\\_SB_.LNKC", "PNP0C0F" },
		{ "\\_SB_.LNKD", "PNP0C0F" },
	};
	struct amlp *p = calloc(1, sizeof(*p));
	unsigned i;

	if (!p)
		return;
	p->b = dsdt;
	p->end = le32(dsdt + 4);
	termlist(p, 36, p->end, "\\", 0, NULL);
	CHECK(!p->err);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct dev_rec *d = find_dev(p, want[i].path);

		CHECK(d != NULL);
		if (d && strcmp(d->hid, want[i].hid)) {
			fprintf(stderr, "%s: _HID %s, want %s\n", d->path, d->hid, want[i].hid);
			CHECK(!"wrong _HID");
		}
		/* Every link has _STA, _DIS, _CRS, _SRS. */
		if (d && !strncmp(want[i].path, "\\_SB_.LNK", 9))
			CHECK_EQ(d->methods, 4);
	}
	CHECK(find_dev(p, "\\_SB_.PCI0.ISA_") != NULL);
	CHECK_EQ(p->ndev, 12);
	CHECK_EQ(p->prt_entries, 128);
	CHECK_EQ(p->prt_bad, 0);
	CHECK(p->have_s5);
	CHECK_EQ(p->methods, 16);
	free(p);
}

/*
 * Cross-check with ACPICA's iasl when it is installed (Debian acpica-tools):
 * the DSDT must disassemble and compile back with no errors or warnings.
 */
static void check_with_iasl(const uint8_t *dsdt)
{
	char dir[] = "/tmp/hvmdm-acpi-XXXXXX", cmd[512], line[256];
	bool clean = false;
	FILE *f, *out;

	if (system("command -v iasl >/dev/null 2>&1")) {
		printf("# iasl not installed: DSDT checked by the built-in AML reader only\n");
		return;
	}
	if (!mkdtemp(dir))
		return;
	snprintf(cmd, sizeof(cmd), "%s/dsdt.dat", dir);
	f = fopen(cmd, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	fwrite(dsdt, 1, le32(dsdt + 4), f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && iasl -d dsdt.dat >/dev/null 2>&1 && iasl -p re dsdt.dsl 2>&1; rm -rf %s",
		 dir, dir);
	out = popen(cmd, "r");
	CHECK(out != NULL);
	if (!out)
		return;
	while (fgets(line, sizeof(line), out))
		if (strstr(line, "Compilation successful. 0 Errors, 0 Warnings"))
			clean = true;
	pclose(out);
	CHECK(clean);
}

static void check_machine(unsigned cpus, uint64_t below_4g)
{
	struct acpi_tables t;
	struct image im;
	const uint8_t *rsdt, *xsdt, *fadt = NULL, *madt = NULL, *facs, *dsdt, *e;
	unsigned i, lapics = 0, ioapics = 0, isos = 0, nmis = 0, level = 0;

	CHECK_EQ(acpi_build(cpus, below_4g, &t), 0);
	/* Before loading, every table's checksum already holds (load at 0). */
	CHECK_EQ(sum8(t.rsdp, 20), 0);
	CHECK_EQ(sum8(t.rsdp, 36), 0);
	im.tables = malloc(t.tables_len);
	im.rsdp = malloc(t.rsdp_len);
	memcpy(im.tables, t.tables, t.tables_len);
	memcpy(im.rsdp, t.rsdp, t.rsdp_len);
	im.tables_len = t.tables_len;
	im.rsdp_len = t.rsdp_len;
	run_loader(&t, &im);

	CHECK(!memcmp(im.rsdp, "RSD PTR ", 8));
	CHECK_EQ(im.rsdp[15], 2);
	CHECK_EQ(sum8(im.rsdp, 20), 0);
	CHECK_EQ(sum8(im.rsdp, 36), 0);
	rsdt = table_at(&im, le32(im.rsdp + 16), "RSDT");
	xsdt = table_at(&im, le64(im.rsdp + 24), "XSDT");
	CHECK(rsdt && xsdt);
	if (!rsdt || !xsdt)
		goto out;
	CHECK_EQ(le32(rsdt + 4), 36 + 2 * 4);
	CHECK_EQ(le32(xsdt + 4), 36 + 2 * 8);
	for (i = 0; i < 2; i++) {
		uint32_t a = le32(rsdt + 36 + 4 * i);

		CHECK_EQ(a, le64(xsdt + 36 + 8 * i));
		if (a >= BASE_TABLES && a - BASE_TABLES + 4 <= t.tables_len) {
			if (!memcmp(im.tables + (a - BASE_TABLES), "FACP", 4))
				fadt = table_at(&im, a, "FACP");
			else
				madt = table_at(&im, a, "APIC");
		}
	}
	CHECK(fadt && madt);
	if (!fadt || !madt)
		goto out;
	/* FADT (ACPI 6.4 table 5.9). */
	CHECK_EQ(le32(fadt + 4), 244);
	CHECK_EQ(fadt[8], 3);
	facs = table_at(&im, le32(fadt + 36), "FACS");
	dsdt = table_at(&im, le32(fadt + 40), "DSDT");
	CHECK_EQ(le64(fadt + 140), le32(fadt + 40));
	CHECK_EQ(fadt[46] | fadt[47] << 8, 9);
	CHECK_EQ(le32(fadt + 48), 0xb2);
	CHECK_EQ(fadt[52], 0xf1);
	CHECK_EQ(fadt[53], 0xf0);
	CHECK_EQ(le32(fadt + 56), 0x600);
	CHECK_EQ(le32(fadt + 64), 0x604);
	CHECK_EQ(le32(fadt + 76), 0x608);
	CHECK_EQ(le32(fadt + 80), 0xafe0);
	CHECK_EQ(fadt[88], 4);
	CHECK_EQ(fadt[89], 2);
	CHECK_EQ(fadt[91], 4);
	CHECK_EQ(fadt[92], 4);
	CHECK_EQ(fadt[108], 0x32);
	CHECK_EQ(le32(fadt + 112) & (1u << 4), 0);	   /* power button: fixed feature */
	CHECK_EQ(le32(fadt + 112) & (1u << 10), 1u << 10); /* reset register supported */
	CHECK_EQ(fadt[116], 1);				   /* reset register: system I/O */
	CHECK_EQ(le64(fadt + 120), 0xcf9);
	CHECK_EQ(fadt[128], 6);
	CHECK_EQ(le64(fadt + 148 + 4), 0x600); /* X_PM1a_EVT_BLK agrees */
	CHECK_EQ(fadt[148 + 1], 32);
	CHECK_EQ(le64(fadt + 172 + 4), 0x604);
	CHECK_EQ(le64(fadt + 208 + 4), 0x608);
	CHECK_EQ(le64(fadt + 220 + 4), 0xafe0);
	CHECK(facs != NULL);
	/* MADT (5.2.12). */
	CHECK_EQ(le32(madt + 36), 0xfee00000u);
	CHECK_EQ(le32(madt + 40), 1);
	for (e = madt + 44; e < madt + le32(madt + 4);) {
		CHECK(e[1] >= 2);
		if (e[1] < 2)
			break;
		switch (e[0]) {
		case 0:
			CHECK_EQ(e[1], 8);
			CHECK_EQ(e[2], lapics);
			CHECK_EQ(e[3], lapics);
			CHECK_EQ(le32(e + 4), 1);
			lapics++;
			break;
		case 1:
			CHECK_EQ(e[1], 12);
			CHECK_EQ(e[2], 0);
			CHECK_EQ(le32(e + 4), 0xfec00000u);
			CHECK_EQ(le32(e + 8), 0);
			ioapics++;
			break;
		case 2:
			CHECK_EQ(e[1], 10);
			if (e[3] == 0) {
				CHECK_EQ(le32(e + 4), 2);
				CHECK_EQ(e[8] | e[9] << 8, 0);
			} else {
				CHECK(e[3] == 5 || e[3] == 9 || e[3] == 10 || e[3] == 11);
				CHECK_EQ(le32(e + 4), e[3]);
				CHECK_EQ(e[8] | e[9] << 8, 0x0d);
				level++;
			}
			isos++;
			break;
		case 4:
			CHECK_EQ(e[1], 6);
			CHECK_EQ(e[5], 1);
			nmis++;
			break;
		default:
			CHECK(!"unexpected MADT entry");
		}
		e += e[1];
	}
	CHECK(e == madt + le32(madt + 4));
	CHECK_EQ(lapics, cpus);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(isos, 5);
	CHECK_EQ(level, 4);
	CHECK_EQ(nmis, 1);
	if (dsdt) {
		check_dsdt(dsdt);
		if (cpus == 1)
			check_with_iasl(dsdt);
	}
out:
	free(im.tables);
	free(im.rsdp);
	acpi_tables_free(&t);
}

int main(void)
{
	check_machine(1, 128ull << 20);
	check_machine(4, 3ull << 30);
	check_machine(64, 0xe0000000ull);
	return tap_done();
}
