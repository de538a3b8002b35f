// SPDX-License-Identifier: MIT
/*
 * qtest.c - hvmdm-qtest: QEMU's qtest text protocol served in front of a real
 * hvmdm, with fakehv.c playing the hypervisor (DESIGN.md section 5, layer 2).
 *
 * Grammar and reply formats follow QEMU's qtest server as documented in
 * research/reliability.md section 6: one request per line, words separated by
 * exactly one space, numbers in base 0 (0x.., 0.., decimal), extra words
 * ignored; `OK 0x%04x` for in*, `OK 0x%016x` for read*, `IRQ raise|lower N`
 * lines before the reply they precede.  Where QEMU aborts on malformed input
 * (missing or unparsable arguments, port > 0xffff, zero-length read) this
 * server answers `FAIL <why>` and goes on.
 *
 * Extensions (not in QEMU):
 *   pci_cfg_read SBDF REG SIZE          -> OK 0x%08x  (IOREQ_TYPE_PCI_CONFIG)
 *   pci_cfg_write SBDF REG SIZE VAL     -> OK
 *        SBDF: a number (seg<<16 | bus<<8 | dev<<3 | fn) or [SEG:]BUS:DEV.FN in hex
 *   rep_insb|w|l PORT ADDR COUNT [DF]   -> OK  (PIO, data_is_ptr, RAM at ADDR)
 *   rep_outsb|w|l PORT ADDR COUNT [DF]  -> OK
 *   mmio_rep_read SIZE MMIO ADDR COUNT [DF]  -> OK  (COPY, data_is_ptr: MMIO -> RAM)
 *   mmio_rep_write SIZE MMIO ADDR COUNT [DF] -> OK  (COPY, data_is_ptr: RAM -> MMIO)
 *   mmio_rep_stos SIZE MMIO VAL COUNT [DF]   -> OK  (COPY, count > 1, same value)
 *   buffered_write ADDR SIZE VAL        -> OK  (through the buffered ring)
 *   buffered_pio                        -> OK N START+LEN...  (the ports the dm
 *        declared latch-only with SET_BUFFERED_PIO; out* to them are posted
 *        through the buffered ring without an event, as hvmhv may post them)
 *   ioreq TYPE ADDR SIZE COUNT FLAGS DATA -> OK 0x%016x  (raw request; FLAGS:
 *        bit 4 data_is_ptr, bit 5 read, bit 6 df as in ioreq.h)
 *   irq_level GSI                       -> OK 0|1
 *   shutdown_reason                     -> OK none|poweroff|reboot|suspend|crash
 *   dm_status                           -> OK running | OK exited N | OK killed N
 *   dm_signal STOP|CONT|KILL            -> OK  (wedge, resume or kill the dm)
 *   clock_step / clock_set act on the dm's stepped virtual clock (QEMU needs
 *   -accel qtest for them).
 *
 * Usage: hvmdm-qtest [--dm PATH] [-m MB] [--qtest stdio|unix:PATH[,server]]
 *                    [--timeout MS] [--log FILE] [--lenient-teardown]
 *                    [-- DM-ARGS...]
 * Exit status: 0; 3 if the dm died from a signal or exited non-zero during
 * the session, or crashed while exiting after the harness closed the setup
 * connection (only a warning with --lenient-teardown); 1 for setup errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fakehv.h"

#define QT_MAX_LINE (1u << 20)	/* longer lines are refused */
#define QT_MAX_WORDS 16		/* words beyond these are ignored, as QEMU ignores them */
#define QT_MAX_XFER (16u << 20) /* read/write/memset length limit */
#define QT_MAX_PULSES 64	/* raise+lower pairs reported per GSI and scan */
#define QT_DEFAULT_TIMEOUT_MS 5000u

struct qt {
	struct fhv hv;
	int in_fd, out_fd;
	char *line;
	size_t len;
	bool overlong;
	bool eof;
	bool intercept;
	uint32_t last_level[8];
	uint32_t last_edges[HVM_NR_GSIS];
};

struct cmd {
	const char *name;
	unsigned nargs; /* required words after the command */
	void (*fn)(struct qt *q, char **w, unsigned n);
};

/* --- output ---------------------------------------------------------- */

static void out_raw(struct qt *q, const char *s, size_t n)
{
	while (n) {
		ssize_t k = send(q->out_fd, s, n, MSG_NOSIGNAL);

		if (k < 0 && errno == ENOTSOCK)
			k = write(q->out_fd, s, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			q->eof = true; /* the client went away */
			return;
		}
		s += k;
		n -= (size_t)k;
	}
}

static void out_fmt(struct qt *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_fmt(struct qt *q, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_raw(q, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static bool gsi_level(const struct qt *q, unsigned g)
{
	return (__atomic_load_n(&q->hv.irqpage->level[g / 32], __ATOMIC_ACQUIRE) >> (g % 32)) & 1;
}

/*
 * Compare the hvm_irq_page with what was last seen and report the changes.
 * A pulse that came and went between two looks shows only in the edge
 * counter; each missed rising edge is reported as raise + lower.
 */
static void irq_scan(struct qt *q)
{
	for (unsigned g = 0; g < q->hv.info.nr_gsis; g++) {
		bool now = gsi_level(q, g);
		bool was = (q->last_level[g / 32] >> (g % 32)) & 1;
		uint32_t edges = __atomic_load_n(&q->hv.irqpage->edges[g], __ATOMIC_ACQUIRE);
		uint32_t d = edges - q->last_edges[g];

		q->last_edges[g] = edges;
		q->last_level[g / 32] = (q->last_level[g / 32] & ~(1u << (g % 32))) |
					((uint32_t)now << (g % 32));
		if (!q->intercept)
			continue;
		if (!d) {
			if (now != was)
				out_fmt(q, "IRQ %s %u\n", now ? "raise" : "lower", g);
			continue;
		}
		if (was)
			out_fmt(q, "IRQ lower %u\n", g);
		if (d > QT_MAX_PULSES) {
			fhv_log(&q->hv, "GSI %u: %u rising edges, reporting %u", g, d,
				QT_MAX_PULSES);
			d = QT_MAX_PULSES;
		}
		for (uint32_t i = 0; i < d; i++) {
			out_fmt(q, "IRQ raise %u\n", g);
			if (i + 1 < d || !now)
				out_fmt(q, "IRQ lower %u\n", g);
		}
	}
}

/* Every reply goes through here: pending IRQ lines first, as QEMU orders them. */
static void reply(struct qt *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct qt *q, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	fhv_service(&q->hv);
	irq_scan(q);
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_raw(q, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void reply_err(struct qt *q, int err)
{
	switch (err) {
	case -ETIMEDOUT:
	case -EPIPE:
	case -EBUSY:
		reply(q, "FAIL dm not responding\n");
		break;
	case -EPROTO:
		reply(q, "FAIL dm protocol violation\n");
		break;
	default:
		reply(q, "FAIL %s\n", strerror(-err));
		break;
	}
}

/* --- argument parsing ------------------------------------------------ */

/* Base-0 unsigned number covering the whole word, as qemu_strtou64 parses it. */
static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' ||
	    *s == '\f')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno == 0 && *end == 0;
}

static bool parse_i64(const char *s, int64_t *v)
{
	char *end;

	if (!s || !*s || *s == ' ' || *s == '\t')
		return false;
	errno = 0;
	*v = strtoll(s, &end, 0);
	return errno == 0 && *end == 0;
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

static bool parse_hex_field(const char *s, const char *end, uint64_t *v)
{
	if (s == end || end - s > 8)
		return false;
	*v = 0;
	for (; s < end; s++) {
		int h = hexval(*s);

		if (h < 0)
			return false;
		*v = *v << 4 | (uint64_t)h;
	}
	return true;
}

/* SBDF as a number, or [SEG:]BUS:DEV.FN in hex (lspci style). */
static bool parse_sbdf(const char *s, uint32_t *sbdf)
{
	const char *c1 = strchr(s, ':'), *c2, *dot;
	uint64_t seg = 0, bus, dev, fn, v;

	if (!c1) {
		if (!parse_u64(s, &v) || v > 0xffffffffull)
			return false;
		*sbdf = (uint32_t)v;
		return true;
	}
	c2 = strchr(c1 + 1, ':');
	if (c2) {
		if (!parse_hex_field(s, c1, &seg) || seg > 0xffff)
			return false;
		s = c1 + 1;
		c1 = c2;
	}
	dot = strchr(c1 + 1, '.');
	if (!dot || !parse_hex_field(s, c1, &bus) || !parse_hex_field(c1 + 1, dot, &dev) ||
	    !parse_hex_field(dot + 1, dot + 1 + strlen(dot + 1), &fn) || bus > 0xff || dev > 31 ||
	    fn > 7)
		return false;
	*sbdf = (uint32_t)(seg << 16 | bus << 8 | dev << 3 | fn);
	return true;
}

#define NEED_U64(q, word, var, what)                                    \
	do {                                                            \
		if (!parse_u64(word, &(var))) {                         \
			reply(q, "FAIL invalid number for %s\n", what); \
			return;                                         \
		}                                                       \
	} while (0)

static unsigned width_of(char c)
{
	switch (c) {
	case 'b':
		return 1;
	case 'w':
		return 2;
	case 'l':
		return 4;
	case 'q':
		return 8;
	default:
		return 0;
	}
}

static uint64_t mask_of(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static uint64_t le_load(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void le_store(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* --- guest memory: RAM directly, everything else as COPY ioreqs ------- */

static unsigned piece_size(uint64_t addr, uint64_t left)
{
	unsigned s = 8;

	while (s > 1 && ((addr & (s - 1)) || s > left))
		s >>= 1;
	return s;
}

static int mmio_piece(struct qt *q, uint64_t addr, uint8_t *buf, unsigned size, bool write)
{
	uint64_t v = write ? le_load(buf, size) : 0;
	int err;

	if (write && fhv_is_buffered(&q->hv, addr, size))
		return fhv_buffered_write(&q->hv, IOREQ_TYPE_COPY, addr, size, v);
	err = fhv_ioreq(&q->hv, IOREQ_TYPE_COPY, addr, size, 1, !write, false, false, &v);
	if (!err && !write)
		le_store(buf, v, size);
	return err;
}

/*
 * Access [addr, addr+len).  A typed access (readl, writew...) that falls
 * wholly on MMIO is one ioreq of its size, as a single guest instruction
 * would be; longer transfers use naturally aligned pieces of up to 8 bytes.
 */
static int mem_access(struct qt *q, uint64_t addr, uint8_t *buf, uint64_t len, bool write,
		      bool typed)
{
	while (len) {
		uint64_t ok, room = ~0ull - addr;
		uint8_t *host;
		int err;

		if (room < len - 1)
			len = room + 1; /* the top of the address space: stop there */
		host = fhv_lookup(&q->hv, addr, len, write, &ok);
		if (host) {
			if (write)
				memcpy(host, buf, ok);
			else
				memcpy(buf, host, ok);
		} else if (typed && ok == len && (addr & 0xfff) + len <= 0x1000) {
			err = mmio_piece(q, addr, buf, (unsigned)len, write);
			if (err)
				return err;
		} else {
			for (uint64_t done = 0; done < ok;) {
				unsigned s = piece_size(addr + done, ok - done);

				err = mmio_piece(q, addr + done, buf + done, s, write);
				if (err)
					return err;
				done += s;
			}
		}
		if (ok == len)
			break;
		addr += ok;
		buf += ok;
		len -= ok;
	}
	return 0;
}

/* --- QEMU commands --------------------------------------------------- */

static void cmd_out(struct qt *q, char **w, unsigned n)
{
	unsigned size = width_of(w[0][3]);
	uint64_t port, val;
	int err;

	NEED_U64(q, w[1], port, "address");
	NEED_U64(q, w[2], val, "value");
	if (port > 0xffff) {
		reply(q, "FAIL port 0x%" PRIx64 " above 0xffff\n", port);
		return;
	}
	val &= mask_of(size);
	/* Ports the dm declared latch-only are posted, as hvmhv posts them. */
	if (fhv_is_buffered_pio(&q->hv, port, size))
		err = fhv_posted_pio_write(&q->hv, (uint16_t)port, size, val);
	else
		err = fhv_ioreq(&q->hv, IOREQ_TYPE_PIO, port, size, 1, false, false, false, &val);
	if (err)
		reply_err(q, err);
	else
		reply(q, "OK\n");
}

static void cmd_in(struct qt *q, char **w, unsigned n)
{
	unsigned size = width_of(w[0][2]);
	uint64_t port, val = 0;
	int err;

	NEED_U64(q, w[1], port, "address");
	if (port > 0xffff) {
		reply(q, "FAIL port 0x%" PRIx64 " above 0xffff\n", port);
		return;
	}
	err = fhv_ioreq(&q->hv, IOREQ_TYPE_PIO, port, size, 1, true, false, false, &val);
	if (err)
		reply_err(q, err);
	else
		reply(q, "OK 0x%04" PRIx64 "\n", val & mask_of(size));
}

static void cmd_write_typed(struct qt *q, char **w, unsigned n)
{
	unsigned size = width_of(w[0][5]);
	uint64_t addr, val;
	uint8_t buf[8];
	int err;

	NEED_U64(q, w[1], addr, "address");
	NEED_U64(q, w[2], val, "value");
	le_store(buf, val, size);
	err = mem_access(q, addr, buf, size, true, true);
	if (err)
		reply_err(q, err);
	else
		reply(q, "OK\n");
}

static void cmd_read_typed(struct qt *q, char **w, unsigned n)
{
	unsigned size = width_of(w[0][4]);
	uint64_t addr;
	uint8_t buf[8];
	int err;

	NEED_U64(q, w[1], addr, "address");
	err = mem_access(q, addr, buf, size, false, true);
	if (err)
		reply_err(q, err);
	else
		reply(q, "OK 0x%016" PRIx64 "\n", le_load(buf, size));
}

static bool get_len(struct qt *q, const char *word, uint64_t *len, bool allow_zero)
{
	if (!parse_u64(word, len)) {
		reply(q, "FAIL invalid number for size\n");
		return false;
	}
	if (!*len && !allow_zero) {
		reply(q, "FAIL size must not be zero\n");
		return false;
	}
	if (*len > QT_MAX_XFER) {
		reply(q, "FAIL size above %u\n", QT_MAX_XFER);
		return false;
	}
	return true;
}

static void cmd_read(struct qt *q, char **w, unsigned n)
{
	uint64_t addr, len;
	uint8_t *buf;
	char *hex;
	int err;

	NEED_U64(q, w[1], addr, "address");
	if (!get_len(q, w[2], &len, false))
		return;
	buf = malloc(len);
	hex = malloc(2 * len + 8);
	if (!buf || !hex) {
		reply(q, "FAIL out of memory\n");
		goto free_bufs;
	}
	err = mem_access(q, addr, buf, len, false, false);
	if (err) {
		reply_err(q, err);
		goto free_bufs;
	}
	memcpy(hex, "OK 0x", 5);
	for (uint64_t i = 0; i < len; i++) {
		hex[5 + 2 * i] = "0123456789abcdef"[buf[i] >> 4];
		hex[6 + 2 * i] = "0123456789abcdef"[buf[i] & 15];
	}
	hex[5 + 2 * len] = '\n';
	reply(q, "%s", "");
	out_raw(q, hex, 6 + 2 * len);
free_bufs:
	free(buf);
	free(hex);
}

static void cmd_write(struct qt *q, char **w, unsigned n)
{
	uint64_t addr, len;
	size_t dlen = strlen(w[3]);
	uint8_t *buf;
	int err;

	NEED_U64(q, w[1], addr, "address");
	if (!get_len(q, w[2], &len, true))
		return;
	if (dlen < 3) {
		/* QEMU's exact answer, with no OK/FAIL. */
		reply(q, "ERR invalid argument size\n");
		return;
	}
	if (w[3][0] != '0' || (w[3][1] != 'x' && w[3][1] != 'X')) {
		reply(q, "FAIL data must start with 0x\n");
		return;
	}
	buf = calloc(1, len ? len : 1);
	if (!buf) {
		reply(q, "FAIL out of memory\n");
		return;
	}
	/* Pairs of hex digits after "0x"; bytes without data are written as 0. */
	for (uint64_t i = 0; i < len && i * 2 + 4 <= dlen; i++) {
		int hi = hexval(w[3][i * 2 + 2]), lo = hexval(w[3][i * 2 + 3]);

		if (hi < 0 || lo < 0) {
			reply(q, "FAIL invalid hex data\n");
			free(buf);
			return;
		}
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	err = len ? mem_access(q, addr, buf, len, true, false) : 0;
	free(buf);
	if (err)
		reply_err(q, err);
	else
		reply(q, "OK\n");
}

static void cmd_memset(struct qt *q, char **w, unsigned n)
{
	uint64_t addr, len, pat;
	uint8_t *buf;
	int err;

	NEED_U64(q, w[1], addr, "address");
	if (!get_len(q, w[2], &len, true))
		return;
	NEED_U64(q, w[3], pat, "pattern");
	if (!len) {
		reply(q, "OK\n");
		return;
	}
	buf = malloc(len);
	if (!buf) {
		reply(q, "FAIL out of memory\n");
		return;
	}
	memset(buf, (int)(pat & 0xff), len);
	err = mem_access(q, addr, buf, len, true, false);
	free(buf);
	if (err)
		reply_err(q, err);
	else
		reply(q, "OK\n");
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void cmd_b64read(struct qt *q, char **w, unsigned n)
{
	uint64_t addr, len;
	uint8_t *buf;
	char *enc;
	size_t o = 3;
	int err;

	NEED_U64(q, w[1], addr, "address");
	if (!get_len(q, w[2], &len, true))
		return;
	buf = malloc(len + 3);
	enc = malloc(len / 3 * 4 + 16);
	if (!buf || !enc) {
		reply(q, "FAIL out of memory\n");
		goto free_bufs;
	}
	err = len ? mem_access(q, addr, buf, len, false, false) : 0;
	if (err) {
		reply_err(q, err);
		goto free_bufs;
	}
	memcpy(enc, "OK ", 3);
	for (uint64_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)buf[i] << 16;
		uint64_t k = len - i;

		if (k > 1)
			v |= (uint32_t)buf[i + 1] << 8;
		if (k > 2)
			v |= buf[i + 2];
		enc[o++] = b64chars[v >> 18 & 63];
		enc[o++] = b64chars[v >> 12 & 63];
		enc[o++] = k > 1 ? b64chars[v >> 6 & 63] : '=';
		enc[o++] = k > 2 ? b64chars[v & 63] : '=';
	}
	enc[o++] = '\n';
	reply(q, "%s", "");
	out_raw(q, enc, o);
free_bufs:
	free(buf);
	free(enc);
}

/* Decode base64 leniently, as glib does: characters outside the alphabet are skipped. */
static size_t b64_decode(const char *s, uint8_t *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (; *s && *s != '='; s++) {
		const char *p = strchr(b64chars, *s);

		if (!p)
			continue;
		acc = acc << 6 | (uint32_t)(p - b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o;
}

static void cmd_b64write(struct qt *q, char **w, unsigned n)
{
	uint64_t addr, len;
	size_t got;
	uint8_t *buf;
	int err = 0;

	NEED_U64(q, w[1], addr, "address");
	if (!get_len(q, w[2], &len, true))
		return;
	buf = malloc(strlen(w[3]) / 4 * 3 + 4);
	if (!buf) {
		reply(q, "FAIL out of memory\n");
		return;
	}
	got = b64_decode(w[3], buf);
	if (got != len) {
		fhv_log(&q->hv, "b64write: data length mismatch (told %" PRIu64 ", got %zu)", len,
			got);
		if (got > len)
			got = len;
	}
	if (got)
		err = mem_access(q, addr, buf, got, true, false);
	free(buf);
	if (err)
		reply_err(q, err);
	else
		reply(q, "OK\n");
}

static void cmd_endianness(struct qt *q, char **w, unsigned n)
{
	reply(q, "OK little\n");
}

static void clock_to(struct qt *q, uint64_t target)
{
	uint64_t now = 0;
	int err = fhv_clock_set(&q->hv, target, &now);

	if (err == -ENOENT)
		reply(q, "FAIL cannot advance clock to the next deadline because there is no "
			 "pending deadline\n");
	else if (err == -ENOTSUP)
		reply(q, "FAIL could not advance time\n");
	else if (err)
		reply_err(q, err);
	else
		reply(q, "OK %" PRIu64 "\n", now);
}

static void cmd_clock_step(struct qt *q, char **w, unsigned n)
{
	int64_t ns;

	if (n < 2) {
		clock_to(q, HVM_CLOCK_NEXT_DEADLINE);
		return;
	}
	if (!parse_i64(w[1], &ns) || ns < 0) {
		reply(q, "FAIL invalid number for step\n");
		return;
	}
	if ((uint64_t)ns > (uint64_t)INT64_MAX - q->hv.clock_ns) {
		reply(q, "FAIL could not advance time\n");
		return;
	}
	clock_to(q, q->hv.clock_ns + (uint64_t)ns);
}

static void cmd_clock_set(struct qt *q, char **w, unsigned n)
{
	int64_t ns;

	if (!parse_i64(w[1], &ns) || ns < 0) {
		reply(q, "FAIL invalid number for time\n");
		return;
	}
	clock_to(q, (uint64_t)ns);
}

static bool is_ioapic_path(const char *p)
{
	const char *last = strrchr(p, '/');

	return strcmp(last ? last + 1 : p, "ioapic") == 0;
}

static void cmd_irq_intercept(struct qt *q, char **w, unsigned n)
{
	if (!is_ioapic_path(w[1])) {
		reply(q, "FAIL Unknown device\n");
		return;
	}
	if (!q->intercept) {
		/* Report changes from now on, not the state before. */
		fhv_service(&q->hv);
		irq_scan(q);
		q->intercept = true;
	}
	reply(q, "OK\n");
}

static void cmd_unsupported(struct qt *q, char **w, unsigned n)
{
	reply(q, "FAIL unsupported\n");
}

/* --- extensions ------------------------------------------------------ */

static int ioreq_err_or_ok(struct qt *q, int err)
{
	if (err)
		reply_err(q, err);
	else
		reply(q, "OK\n");
	return err;
}

static void cmd_pci_cfg(struct qt *q, char **w, unsigned n)
{
	bool write = w[0][8] == 'w';
	uint32_t sbdf;
	uint64_t reg, size, val = 0;
	int err;

	if (!parse_sbdf(w[1], &sbdf)) {
		reply(q, "FAIL invalid SBDF\n");
		return;
	}
	NEED_U64(q, w[2], reg, "register");
	NEED_U64(q, w[3], size, "size");
	if (size != 1 && size != 2 && size != 4) {
		reply(q, "FAIL size must be 1, 2 or 4\n");
		return;
	}
	if (reg > 0xfff) {
		reply(q, "FAIL register above 0xfff\n");
		return;
	}
	if (write) {
		if (n < 5) {
			reply(q, "FAIL missing arguments\n");
			return;
		}
		NEED_U64(q, w[4], val, "value");
		val &= mask_of((unsigned)size);
	}
	err = fhv_ioreq(&q->hv, IOREQ_TYPE_PCI_CONFIG, (uint64_t)sbdf << 32 | reg, (uint32_t)size,
			1, !write, false, false, &val);
	if (err)
		reply_err(q, err);
	else if (write)
		reply(q, "OK\n");
	else
		reply(q, "OK 0x%08" PRIx64 "\n", val & mask_of((unsigned)size));
}

static bool get_df(struct qt *q, char **w, unsigned n, unsigned idx, bool *df)
{
	uint64_t v = 0;

	if (n > idx && (!parse_u64(w[idx], &v) || v > 1)) {
		reply(q, "FAIL DF must be 0 or 1\n");
		return false;
	}
	*df = v;
	return true;
}

static bool get_count(struct qt *q, const char *word, uint32_t *count)
{
	uint64_t v;

	if (!parse_u64(word, &v) || v > UINT32_MAX) {
		reply(q, "FAIL invalid count\n");
		return false;
	}
	*count = (uint32_t)v;
	return true;
}

/* rep_ins[bwl] / rep_outs[bwl] PORT ADDR COUNT [DF] */
static void cmd_rep_pio(struct qt *q, char **w, unsigned n)
{
	bool in = w[0][4] == 'i';
	unsigned size = width_of(w[0][in ? 7 : 8]);
	uint64_t port, addr;
	uint32_t count;
	bool df;

	if (!size || size > 4) {
		reply(q, "FAIL Unknown command '%s'\n", w[0]);
		return;
	}
	NEED_U64(q, w[1], port, "port");
	NEED_U64(q, w[2], addr, "address");
	if (!get_count(q, w[3], &count) || !get_df(q, w, n, 4, &df))
		return;
	if (port > 0xffff) {
		reply(q, "FAIL port 0x%" PRIx64 " above 0xffff\n", port);
		return;
	}
	ioreq_err_or_ok(q,
			fhv_ioreq(&q->hv, IOREQ_TYPE_PIO, port, size, count, in, true, df, &addr));
}

static bool get_item_size(struct qt *q, const char *word, unsigned *size)
{
	uint64_t v;

	if (!parse_u64(word, &v) || (v != 1 && v != 2 && v != 4 && v != 8)) {
		reply(q, "FAIL size must be 1, 2, 4 or 8\n");
		return false;
	}
	*size = (unsigned)v;
	return true;
}

/* mmio_rep_read / mmio_rep_write SIZE MMIO ADDR COUNT [DF]; mmio_rep_stos SIZE MMIO VAL COUNT [DF] */
static void cmd_mmio_rep(struct qt *q, char **w, unsigned n)
{
	bool stos = !strcmp(w[0], "mmio_rep_stos");
	bool read = !strcmp(w[0], "mmio_rep_read");
	uint64_t mmio, data;
	uint32_t count;
	unsigned size;
	bool df;

	if (!get_item_size(q, w[1], &size))
		return;
	NEED_U64(q, w[2], mmio, "address");
	NEED_U64(q, w[3], data, stos ? "value" : "address");
	if (!get_count(q, w[4], &count) || !get_df(q, w, n, 5, &df))
		return;
	if (stos)
		data &= mask_of(size);
	ioreq_err_or_ok(q, fhv_ioreq(&q->hv, IOREQ_TYPE_COPY, mmio, size, count, read, !stos, df,
				     &data));
}

static void cmd_buffered_write(struct qt *q, char **w, unsigned n)
{
	uint64_t addr, size, val;

	NEED_U64(q, w[1], addr, "address");
	NEED_U64(q, w[2], size, "size");
	NEED_U64(q, w[3], val, "value");
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		reply(q, "FAIL size must be 1, 2, 4 or 8\n");
		return;
	}
	if (addr > BUF_IOREQ_ADDR_MAX) {
		reply(q, "FAIL address above 0x%x\n", BUF_IOREQ_ADDR_MAX);
		return;
	}
	ioreq_err_or_ok(q, fhv_buffered_write(&q->hv, IOREQ_TYPE_COPY, addr, (unsigned)size,
					      val & mask_of((unsigned)size)));
}

/* buffered_pio: the dm's SET_BUFFERED_PIO set, "OK N START+LEN..." in port order. */
static void cmd_buffered_pio(struct qt *q, char **w, unsigned n)
{
	char text[HVM_BUFFERED_PIO_MAX_RANGES * 20 + 16];
	size_t at;

	fhv_service(&q->hv);
	at = (size_t)snprintf(text, sizeof(text), "OK %u", q->hv.nr_bufpio);
	for (unsigned i = 0; i < q->hv.nr_bufpio && at < sizeof(text); i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at, " 0x%llx+%llu",
				       (unsigned long long)q->hv.bufpio[i].start,
				       (unsigned long long)q->hv.bufpio[i].len);
	reply(q, "%s\n", text);
}

/* ioreq TYPE ADDR SIZE COUNT FLAGS DATA: anything a hypervisor could send. */
static void cmd_ioreq(struct qt *q, char **w, unsigned n)
{
	uint64_t type, addr, size, count, flags, data;
	int err;

	NEED_U64(q, w[1], type, "type");
	NEED_U64(q, w[2], addr, "address");
	NEED_U64(q, w[3], size, "size");
	NEED_U64(q, w[4], count, "count");
	NEED_U64(q, w[5], flags, "flags");
	NEED_U64(q, w[6], data, "data");
	if (type > 0xff || size > UINT32_MAX || count > UINT32_MAX ||
	    (flags & ~(uint64_t)(IOREQ_F_DATA_IS_PTR | IOREQ_F_DIR_READ | IOREQ_F_DF))) {
		reply(q, "FAIL field out of range\n");
		return;
	}
	err = fhv_ioreq(&q->hv, (uint8_t)type, addr, (uint32_t)size, (uint32_t)count,
			flags & IOREQ_F_DIR_READ, flags & IOREQ_F_DATA_IS_PTR, flags & IOREQ_F_DF,
			&data);
	if (err)
		reply_err(q, err);
	else
		reply(q, "OK 0x%016" PRIx64 "\n", data);
}

static void cmd_irq_level(struct qt *q, char **w, unsigned n)
{
	uint64_t g;

	NEED_U64(q, w[1], g, "GSI");
	if (g >= q->hv.info.nr_gsis) {
		reply(q, "FAIL GSI out of range\n");
		return;
	}
	fhv_service(&q->hv);
	reply(q, "OK %d\n", gsi_level(q, (unsigned)g));
}

static void cmd_shutdown_reason(struct qt *q, char **w, unsigned n)
{
	fhv_service(&q->hv);
	reply(q, "OK %s\n", fhv_shutdown_name(q->hv.shutdown_reason));
}

static void cmd_dm_status(struct qt *q, char **w, unsigned n)
{
	int st;

	fhv_service(&q->hv);
	/* A dm that dropped the connection is normally gone a moment later. */
	for (unsigned i = 0; i < 100 && q->hv.dm_dead && q->hv.exit_status == -1; i++) {
		usleep(10000);
		fhv_service(&q->hv);
	}
	st = q->hv.exit_status;
	if (st == -1)
		reply(q, "OK %s\n", q->hv.dm_dead ? "disconnected" : "running");
	else if (WIFSIGNALED(st))
		reply(q, "OK killed %d\n", WTERMSIG(st));
	else
		reply(q, "OK exited %d\n", WEXITSTATUS(st));
}

/* dm_signal STOP|CONT|KILL: test the harness's own dead/wedged-dm paths. */
static void cmd_dm_signal(struct qt *q, char **w, unsigned n)
{
	int sig;

	if (!strcmp(w[1], "STOP"))
		sig = SIGSTOP;
	else if (!strcmp(w[1], "CONT"))
		sig = SIGCONT;
	else if (!strcmp(w[1], "KILL"))
		sig = SIGKILL;
	else {
		reply(q, "FAIL signal must be STOP, CONT or KILL\n");
		return;
	}
	if (q->hv.pid <= 0 || q->hv.exit_status != -1 || kill(q->hv.pid, sig) < 0) {
		reply(q, "FAIL dm not running\n");
		return;
	}
	if (sig == SIGKILL) {
		/* Wait until the connection drops so the next request sees it. */
		for (unsigned i = 0; i < 200 && q->hv.sock >= 0; i++) {
			usleep(10000);
			fhv_service(&q->hv);
		}
	}
	reply(q, "OK\n");
}

static const struct cmd cmds[] = {
	{ "outb", 2, cmd_out },
	{ "outw", 2, cmd_out },
	{ "outl", 2, cmd_out },
	{ "inb", 1, cmd_in },
	{ "inw", 1, cmd_in },
	{ "inl", 1, cmd_in },
	{ "writeb", 2, cmd_write_typed },
	{ "writew", 2, cmd_write_typed },
	{ "writel", 2, cmd_write_typed },
	{ "writeq", 2, cmd_write_typed },
	{ "readb", 1, cmd_read_typed },
	{ "readw", 1, cmd_read_typed },
	{ "readl", 1, cmd_read_typed },
	{ "readq", 1, cmd_read_typed },
	{ "read", 2, cmd_read },
	{ "write", 3, cmd_write },
	{ "memset", 3, cmd_memset },
	{ "b64read", 2, cmd_b64read },
	{ "b64write", 3, cmd_b64write },
	{ "endianness", 0, cmd_endianness },
	{ "clock_step", 0, cmd_clock_step },
	{ "clock_set", 1, cmd_clock_set },
	{ "irq_intercept_in", 1, cmd_irq_intercept },
	{ "irq_intercept_out", 1, cmd_irq_intercept },
	{ "set_irq_in", 4, cmd_unsupported },
	{ "module_load", 2, cmd_unsupported },
	{ "pci_cfg_read", 3, cmd_pci_cfg },
	{ "pci_cfg_write", 4, cmd_pci_cfg },
	{ "rep_insb", 3, cmd_rep_pio },
	{ "rep_insw", 3, cmd_rep_pio },
	{ "rep_insl", 3, cmd_rep_pio },
	{ "rep_outsb", 3, cmd_rep_pio },
	{ "rep_outsw", 3, cmd_rep_pio },
	{ "rep_outsl", 3, cmd_rep_pio },
	{ "mmio_rep_read", 4, cmd_mmio_rep },
	{ "mmio_rep_write", 4, cmd_mmio_rep },
	{ "mmio_rep_stos", 4, cmd_mmio_rep },
	{ "buffered_write", 3, cmd_buffered_write },
	{ "buffered_pio", 0, cmd_buffered_pio },
	{ "ioreq", 6, cmd_ioreq },
	{ "irq_level", 1, cmd_irq_level },
	{ "shutdown_reason", 0, cmd_shutdown_reason },
	{ "dm_status", 0, cmd_dm_status },
	{ "dm_signal", 1, cmd_dm_signal },
};

/* --- line handling --------------------------------------------------- */

static void process_line(struct qt *q, char *line, size_t len)
{
	char *w[QT_MAX_WORDS + 1];
	unsigned n = 0;
	char *p = line;

	if (memchr(line, 0, len)) {
		reply(q, "FAIL malformed line (NUL byte)\n");
		return;
	}
	if (!len) {
		reply(q, "FAIL empty line\n");
		return;
	}
	/* g_strsplit(line, " ", 0): every single space separates, empty words included. */
	for (;;) {
		char *sp = strchr(p, ' ');

		if (n < QT_MAX_WORDS)
			w[n++] = p;
		if (!sp)
			break;
		*sp = 0;
		p = sp + 1;
	}
	w[n] = NULL;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(w[0], cmds[i].name))
			continue;
		if (n - 1 < cmds[i].nargs) {
			reply(q, "FAIL missing arguments for %s\n", w[0]);
			return;
		}
		cmds[i].fn(q, w, n);
		return;
	}
	/* Keep the reply one line even for junk command words. */
	for (p = w[0]; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	reply(q, "FAIL Unknown command '%.200s'\n", w[0]);
}

/* Take bytes from the client; run every complete line. */
static int feed(struct qt *q)
{
	char buf[65536];
	ssize_t k = read(q->in_fd, buf, sizeof(buf));

	if (k < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (k <= 0)
		return -1;
	for (ssize_t i = 0; i < k; i++) {
		if (buf[i] != '\n') {
			if (q->len < QT_MAX_LINE)
				q->line[q->len++] = buf[i];
			else
				q->overlong = true;
			continue;
		}
		q->line[q->len] = 0;
		if (q->overlong)
			reply(q, "FAIL line longer than %u bytes\n", QT_MAX_LINE);
		else
			process_line(q, q->line, q->len);
		q->len = 0;
		q->overlong = false;
		if (q->eof)
			return -1;
	}
	return 0;
}

static int serve(struct qt *q)
{
	struct pollfd p[1 + HVM_NR_GSIS + 1];
	unsigned ng = q->hv.info.nr_gsis;

	while (!q->eof) {
		int n;

		p[0] = (struct pollfd){ .fd = q->in_fd, .events = POLLIN };
		for (unsigned g = 0; g < ng; g++)
			p[1 + g] = (struct pollfd){ .fd = fhv_irq_fd(&q->hv, g), .events = POLLIN };
		p[1 + ng] = (struct pollfd){ .fd = q->hv.sock, .events = POLLIN };
		n = poll(p, 2 + ng, 1000);
		if (n < 0 && errno != EINTR)
			return -errno;
		fhv_drain_irq_events(&q->hv);
		fhv_service(&q->hv);
		/* Unprompted interrupts (timers fired by clock_step come with replies). */
		irq_scan(q);
		if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) && feed(q) < 0)
			break;
	}
	return 0;
}

/* --- transport and main ---------------------------------------------- */

static int open_transport(struct qt *q, const char *spec)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path;
	char *copy, *comma;
	bool server = false;
	int fd, cfd;

	if (!strcmp(spec, "stdio")) {
		q->in_fd = 0;
		q->out_fd = 1;
		return 0;
	}
	if (strncmp(spec, "unix:", 5)) {
		fprintf(stderr, "hvmdm-qtest: --qtest wants stdio or unix:PATH[,server]\n");
		return -EINVAL;
	}
	copy = strdup(spec + 5);
	if (!copy)
		return -ENOMEM;
	comma = strchr(copy, ',');
	if (comma) {
		*comma = 0;
		server = !strcmp(comma + 1, "server") || !strcmp(comma + 1, "server=on");
	}
	path = copy;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		free(copy);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err;
	if (server) {
		unlink(path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
			goto err;
		cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		close(fd);
		unlink(path);
		fd = cfd;
		if (fd < 0)
			goto err;
	} else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		goto err;
	}
	free(copy);
	q->in_fd = q->out_fd = fd;
	return 0;
err:
	fprintf(stderr, "hvmdm-qtest: %s: %s\n", spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(copy);
	return -errno;
}

static char *default_dm_path(void)
{
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
	char *slash;

	if (k <= 0)
		return strdup("hvmdm");
	exe[k] = 0;
	slash = strrchr(exe, '/');
	strcpy(slash ? slash + 1 : exe, "hvmdm");
	return strdup(exe);
}

static void usage(void)
{
	fprintf(stderr, "usage: hvmdm-qtest [--dm PATH] [-m MB] [--qtest "
			"stdio|unix:PATH[,server]]\n"
			"                   [--timeout MS] [--log FILE] [--lenient-teardown]\n"
			"                   [-- DM-ARGS...]\n"
			"Runs hvmdm as a hypervisor would (no KVM) and serves QEMU's qtest "
			"protocol.\n");
}

int main(int argc, char **argv)
{
	struct fhv_config cfg = { .ram_mb = 128, .timeout_ms = QT_DEFAULT_TIMEOUT_MS };
	const char *transport = "stdio", *logpath = NULL;
	char *dm_path = NULL;
	static struct qt q;
	bool strict_teardown = true;
	int i, err, st, rc = 0;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		uint64_t v;

		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "--lenient-teardown")) {
			strict_teardown = false;
			continue;
		}
		if (i + 1 >= argc) {
			usage();
			return 1;
		}
		if (!strcmp(argv[i], "--dm")) {
			dm_path = strdup(argv[++i]);
		} else if (!strcmp(argv[i], "-m")) {
			if (!parse_u64(argv[++i], &v) || !v || v > 65536) {
				usage();
				return 1;
			}
			cfg.ram_mb = v;
		} else if (!strcmp(argv[i], "--qtest")) {
			transport = argv[++i];
		} else if (!strcmp(argv[i], "--timeout")) {
			if (!parse_u64(argv[++i], &v) || !v || v > 3600000) {
				usage();
				return 1;
			}
			cfg.timeout_ms = (unsigned)v;
		} else if (!strcmp(argv[i], "--log")) {
			logpath = argv[++i];
		} else {
			usage();
			return 1;
		}
	}
	cfg.extra_args = argv + i;
	if (!dm_path && getenv("HVMDM"))
		dm_path = strdup(getenv("HVMDM"));
	cfg.dm_path = dm_path ? dm_path : default_dm_path();
	if (logpath) {
		cfg.log = fopen(logpath, "a");
		if (!cfg.log) {
			fprintf(stderr, "hvmdm-qtest: %s: %s\n", logpath, strerror(errno));
			return 1;
		}
	}
	q.line = malloc(QT_MAX_LINE + 1);
	if (!q.line)
		return 1;
	err = fhv_start(&q.hv, &cfg);
	if (err == -ECHILD) {
		/* its own messages (a missing disk image, a bad option) came first */
		fprintf(stderr, "hvmdm-qtest: %s exited during setup; its messages above say why\n",
			cfg.dm_path);
		fhv_stop(&q.hv);
		return 1;
	}
	if (err) {
		fprintf(stderr, "hvmdm-qtest: cannot start %s: %s\n", cfg.dm_path, strerror(-err));
		fhv_stop(&q.hv);
		return 1;
	}
	err = open_transport(&q, transport);
	if (!err)
		serve(&q);
	else
		rc = 1;
	fhv_service(&q.hv);
	if (q.hv.shutdown_reason >= 0)
		fhv_log(&q.hv, "domain ended: %s", fhv_shutdown_name(q.hv.shutdown_reason));
	/* A dm that died on its own (crash, sanitizer report) fails the run. */
	st = q.hv.exit_status;
	if (st != -1 && (WIFSIGNALED(st) || WEXITSTATUS(st) != 0))
		rc = 3;
	st = fhv_stop(&q.hv);
	/* After the hypervisor side closed, only a crash counts against the dm. */
	if (rc == 0 && st != -1 && WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM &&
	    WTERMSIG(st) != SIGKILL) {
		fhv_log(&q.hv, "%s: the dm crashed while exiting after the session",
			strict_teardown ? "FAILED" : "WARNING");
		if (strict_teardown)
			rc = 3;
	}
	if (rc == 3)
		fprintf(stderr, "hvmdm-qtest: FAILED: the dm did not end cleanly\n");
	free(q.line);
	free((char *)cfg.dm_path);
	if (cfg.log)
		fclose(cfg.log);
	return rc;
}
