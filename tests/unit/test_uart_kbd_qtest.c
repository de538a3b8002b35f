// SPDX-License-Identifier: MIT
/*
 * test_uart_kbd_qtest.c - differential check of the 16550A and the i8042
 * against QEMU: replays tests/harness/scripts/uart_*.qtest and kbd_*.qtest
 * (recorded from qemu-system-x86_64 -machine pc by uart-record.py and
 * kbd-record.py) in-process on a standalone dm and compares every reply.
 * Only port I/O requests occur in those scripts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "dm.h"
#include "iospace.h"
#include "tap.h"

static const struct {
	const char *script;
	const char *device;
	const char *opts;
} plans[] = {
	{ "uart_regs.qtest", "uart16550", "index=0" },
	{ "uart_loopback.qtest", "uart16550", "index=0" },
	{ "uart_fifo.qtest", "uart16550", "index=0" },
	{ "kbd_controller.qtest", "i8042", NULL },
	{ "kbd_keyboard.qtest", "i8042", NULL },
	{ "kbd_mouse.qtest", "i8042", NULL },
};

/* tests/unit/THIS.c -> tests/harness/scripts/NAME */
static int script_path(char *buf, size_t cap, const char *name)
{
	const char *me = __FILE__;
	const char *cut = strstr(me, "tests/unit/");
	int n;

	if (!cut)
		return -1;
	n = snprintf(buf, cap, "%.*stests/harness/scripts/%s", (int)(cut - me), me, name);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Execute one port I/O request; the reply goes to out.  0 or -1 (unsupported). */
static int run_request(struct dm *dm, const char *req, char *out, size_t cap)
{
	static const struct {
		const char *name;
		unsigned size;
		bool is_write;
	} cmds[] = {
		{ "inb", 1, false }, { "inw", 2, false }, { "inl", 4, false },
		{ "outb", 1, true }, { "outw", 2, true }, { "outl", 4, true },
	};
	char word[16];
	unsigned long long addr, val = 0;
	uint64_t v;
	unsigned i;
	int n;

	n = sscanf(req, "%15s %lli %lli", word, &addr, &val);
	if (n < 2)
		return -1;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(word, cmds[i].name))
			continue;
		if (cmds[i].is_write != (n == 3) || addr > 0xffff)
			return -1;
		v = cmds[i].is_write ? val : 0;
		if (io_dispatch(dm, IO_PIO, addr, cmds[i].size, cmds[i].is_write, &v))
			return -1;
		if (cmds[i].is_write)
			snprintf(out, cap, "OK");
		else
			snprintf(out, cap, "OK 0x%04" PRIx64, v);
		return 0;
	}
	return -1;
}

static void replay(const char *name, const char *device, const char *opts)
{
	char path[4096], line[512], reply[64] = "", req[512] = "";
	unsigned lineno = 0, requests = 0;
	bool pending = false;
	struct dm *dm = NULL;
	FILE *f;

	CHECK_EQ(script_path(path, sizeof(path), name), 0);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return;
	}
	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, device, opts, NULL), 0);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "> ", 2)) {
			CHECK(!pending);
			snprintf(req, sizeof(req), "%s", line + 2);
			if (run_request(dm, req, reply, sizeof(reply))) {
				fprintf(stderr, "%s:%u: unsupported request '%s'\n", name, lineno,
					req);
				CHECK(0);
				break;
			}
			pending = true;
			requests++;
		} else if (!strncmp(line, "< ", 2)) {
			CHECK(pending);
			if (strcmp(reply, line + 2)) {
				fprintf(stderr, "%s:%u: '%s' -> '%s', QEMU said '%s'\n", name,
					lineno, req, reply, line + 2);
				CHECK(0);
			}
			pending = false;
		}
	}
	CHECK(!pending);
	CHECK(requests > 10);
	fclose(f);
	dm_destroy(dm);
}

int main(void)
{
	unsigned i;

	for (i = 0; i < sizeof(plans) / sizeof(plans[0]); i++)
		replay(plans[i].script, plans[i].device, plans[i].opts);
	return tap_done();
}
