// SPDX-License-Identifier: MIT
/* blk_test.c - helpers the block-layer tests share; see blk_test.h. */
#include "blk_test.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "qcow2.h"

int fails;
uint64_t rng_state = 88172645463325252ull;

uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? rng_state % n : 0;
}

static void test_req_done(struct blk_req *req, int err)
{
	struct test_req *r = (struct test_req *)req;

	r->done++;
	r->err = err;
}

void test_req_init(struct test_req *r, enum blk_op op, uint64_t off)
{
	memset(r, 0, sizeof(*r));
	r->req.op = op;
	r->req.offset = off;
	r->req.done = test_req_done;
}

void run_until(struct dm_loop *l, const int *count, int n)
{
	int turns;

	for (turns = 0; *count < n && turns < 100000; turns++)
		loop_run_once(l, 10);
}

int make_qcow2(const char *dir, const char *name, uint64_t size, unsigned cluster_bits, char *path,
	       size_t cap)
{
	int fd, err;

	snprintf(path, cap, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	err = qcow2_create_fd(fd, size, cluster_bits, NULL, NULL);
	close(fd);
	return err;
}
