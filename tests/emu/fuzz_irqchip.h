/* SPDX-License-Identifier: MIT */
/*
 * fuzz_irqchip.h - one fuzz input = a sequence of guest and device-model
 * operations on a fresh 4-vCPU irqchip.  Shared by the libFuzzer target
 * (HVM_FUZZ=ON with clang) and test_emu_random, which replays pseudo-random
 * inputs in every build.
 */
#ifndef FUZZ_IRQCHIP_H
#define FUZZ_IRQCHIP_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_stats {
	unsigned ops;
	unsigned taken;	     /* interrupts acknowledged */
	unsigned violations; /* broken invariants (bad vector, deadline <= now) */
};

void emu_fuzz_one(const uint8_t *data, size_t size, struct fuzz_stats *st);

#endif /* FUZZ_IRQCHIP_H */
