/* SPDX-License-Identifier: MIT */
/*
 * blk_test.h - what the block-layer tests (blk_aio.c, qcow2_alloc.c,
 * qcow2_cache.c, qcow2_sg.c) share: CHECK() that counts failures and keeps
 * going, a seeded xorshift generator, fresh qcow2 images, and requests
 * submitted to a dm loop and waited for.
 */
#ifndef BLK_TEST_H
#define BLK_TEST_H

#include <stdint.h>
#include <stdio.h>

#include "block.h"
#include "loop.h"

extern int fails; /* CHECK()s that failed */

#define CHECK(cond, ...)                                            \
	do {                                                        \
		if (!(cond)) {                                      \
			fails++;                                    \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                        \
			printf("\n");                               \
		}                                                   \
	} while (0)

extern uint64_t rng_state; /* rnd()'s state: set it to seed a run */

/* Pseudo-random in [0, n) (0 for n == 0). */
uint64_t rnd(uint64_t n);

/* A request that records its completion. */
struct test_req {
	struct blk_req req;
	int done; /* completions seen (1 for a request that completed once) */
	int err;
};

/* r reset to an op at off with no buffers yet; completing counts in r->done. */
void test_req_init(struct test_req *r, enum blk_op op, uint64_t off);

/* A fresh qcow2 image at dir/name (2^cluster_bits-byte clusters); its path in path. */
int make_qcow2(const char *dir, const char *name, uint64_t size, unsigned cluster_bits, char *path,
	       size_t cap);

/* Run the loop until *count reaches n (bounded: 100000 turns of up to 10 ms). */
void run_until(struct dm_loop *l, const int *count, int n);

#endif /* BLK_TEST_H */
