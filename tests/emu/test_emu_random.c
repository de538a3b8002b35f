// SPDX-License-Identifier: MIT
/*
 * test_emu_random.c - hostile guest: replays pseudo-random inputs through the
 * fuzz decoder (fuzz_irqchip.c) in every build, so the fuzz target's
 * invariants are checked by CTest even without libFuzzer: vectors -1..255,
 * run_timers() deadlines strictly after `now`, and no crash (run under
 * ASan/UBSan with HVM_SANITIZE=ON).
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_irqchip.h"
#include "tap.h"

#define INPUTS 200
#define INPUT_BYTES 80000 /* 10000 operations each */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(void)
{
	static uint8_t buf[INPUT_BYTES];
	struct fuzz_stats st = { 0 };

	for (unsigned n = 0; n < INPUTS; n++) {
		for (size_t i = 0; i < sizeof(buf); i += 8) {
			uint64_t r = rnd();

			for (unsigned b = 0; b < 8; b++)
				buf[i + b] = r >> (8 * b);
		}
		emu_fuzz_one(buf, sizeof(buf), &st);
	}
	CHECK_EQ(st.violations, 0);
	CHECK_EQ(st.ops, INPUTS * (INPUT_BYTES / 8));
	CHECK(st.taken > 0);
	printf("%u ops, %u interrupts taken\n", st.ops, st.taken);
	return tap_done();
}
