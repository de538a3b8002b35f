/* SPDX-License-Identifier: MIT */
/*
 * tap.h - a tiny test framework: CHECK() records a failure with file:line and
 * the expression but keeps going; tap_done() prints a summary and returns the
 * exit status (non-zero if any check failed or none ran).
 */
#ifndef TAP_H
#define TAP_H

#include <stdint.h>

void tap_check(int ok, const char *expr, const char *file, int line);
void tap_check_eq(uint64_t got, uint64_t want, const char *expr, const char *file, int line);
int tap_done(void);

#define CHECK(e) tap_check(!!(e), #e, __FILE__, __LINE__)
#define CHECK_EQ(got, want) \
	tap_check_eq((uint64_t)(got), (uint64_t)(want), #got, __FILE__, __LINE__)

#endif /* TAP_H */
