// SPDX-License-Identifier: MIT
/* qtest_util.c - qtest transcript replay for the differential unit tests; see qtest_util.h. */
#include "qtest_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "iospace.h"
#include "tap.h"

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

/* Execute one request; the reply goes to out.  Returns 0 or -1 (unsupported). */
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
	if (!strcmp(word, "clock_step") && n == 2) {
		uint64_t now = clock_set(dm->clock, clock_ns(dm->clock) + addr);

		snprintf(out, cap, "OK %" PRIu64, now);
		return 0;
	}
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

void qtest_replay(const char *name, struct dm *(*make)(const void *arg), const void *arg)
{
	char path[4096], line[512], reply[64] = "", req[512] = "";
	unsigned lineno = 0, requests = 0;
	bool pending = false;
	struct dm *dm;
	FILE *f;

	CHECK_EQ(script_path(path, sizeof(path), name), 0);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return;
	}
	dm = make(arg);
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
