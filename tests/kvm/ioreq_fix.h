/* SPDX-License-Identifier: MIT */
/*
 * ioreq_fix.h - hvmhv's ioreq producer and hvmdm's consumer in one
 * process, for the mirror tests (test_pio_mirror.c, test_mmio_mirror.c):
 * a standalone dm attached to the producer's pages, and a thread standing
 * in for hypervisor/setup.c on the dm's setup socket that answers each
 * message with what the test's handler returns.
 */
#ifndef IOREQ_FIX_H
#define IOREQ_FIX_H

#include <pthread.h>
#include <stdbool.h>

#include "../../common/hvm_msg.h"
#include "../../dm/dm.h"
#include "../../hypervisor/ioreq.h"

struct ioreq_fix;

/*
 * The hv's status for one setup message (on the server thread); fd is the
 * first descriptor it carried or -1.  The server closes the descriptors.
 */
typedef int (*ioreq_fix_handler)(struct ioreq_fix *f, const struct hvm_msg *hdr,
				 const void *payload, int fd);

struct ioreq_fix {
	struct ioreq_prod p; /* the hv's side */
	int page_fd, bufpage_fd;
	struct dm *dm; /* the dm's side */
	ioreq_fix_handler handle;
	int hv_sock; /* the hv's end of the setup socket */
	pthread_t hv_thread;
};

/* The producer (its dm attached) and a standalone dm of ram bytes, not yet connected. */
void ioreq_fix_create(struct ioreq_fix *f, uint32_t ram, ioreq_fix_handler handle);
/* Start the setup-socket server and attach the dm to the producer's pages. */
void ioreq_fix_attach(struct ioreq_fix *f);
void ioreq_fix_destroy(struct ioreq_fix *f);

/* Nothing posted is waiting in the buffered ring. */
bool ioreq_fix_ring_empty(const struct ioreq_fix *f);
/*
 * ioreq_send() of r from a vCPU thread while this thread runs the dm's loop
 * (bounded at ~5 s); checks that it was done and returns its data.
 */
uint64_t ioreq_fix_sync(struct ioreq_fix *f, struct ioreq_req r);

#endif /* IOREQ_FIX_H */
