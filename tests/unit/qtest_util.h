/* SPDX-License-Identifier: MIT */
/*
 * qtest_util.h - replay a QEMU qtest transcript (tests/harness/scripts/,
 * "> request" lines and the "< reply" QEMU gave) in-process on a
 * standalone dm and check that every reply matches.  Requests: inb, inw,
 * inl, outb, outw, outl and clock_step.
 */
#ifndef QTEST_UTIL_H
#define QTEST_UTIL_H

#include "dm.h"

/*
 * Replay tests/harness/scripts/<name> on the dm make(arg) returns (it
 * creates the devices the script talks to); the dm is destroyed after.
 */
void qtest_replay(const char *name, struct dm *(*make)(const void *arg), const void *arg);

#endif /* QTEST_UTIL_H */
