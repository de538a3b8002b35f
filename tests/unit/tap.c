// SPDX-License-Identifier: MIT
#include "tap.h"

#include <inttypes.h>
#include <stdio.h>

static unsigned tap_run, tap_failed;

void tap_check(int ok, const char *expr, const char *file, int line)
{
	tap_run++;
	if (!ok) {
		tap_failed++;
		fprintf(stderr, "FAIL %s:%d: %s\n", file, line, expr);
	}
}

void tap_check_eq(uint64_t got, uint64_t want, const char *expr, const char *file, int line)
{
	tap_run++;
	if (got != want) {
		tap_failed++;
		fprintf(stderr, "FAIL %s:%d: %s == 0x%" PRIx64 ", want 0x%" PRIx64 "\n", file, line,
			expr, got, want);
	}
}

int tap_done(void)
{
	printf("%u checks, %u failed\n", tap_run, tap_failed);
	return tap_failed || !tap_run ? 1 : 0;
}
