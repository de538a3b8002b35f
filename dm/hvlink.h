/* SPDX-License-Identifier: MIT */
/*
 * hvlink.h - the device model's side of the setup protocol
 * (include/hvm/setup.h): connect, HELLO, map the shared pages, wire the ioreq
 * consumer and the interrupt eventfds, then serve the hypervisor's requests
 * (CLOCK_SET) and send ours (MAP, SHUTDOWN, ...).  Loop thread only.
 */
#ifndef DM_HVLINK_H
#define DM_HVLINK_H

#include <stddef.h>
#include <stdint.h>

struct dm;

/*
 * Connect to hvmhv at path and set up memory, clock, ioreq consumer and irq
 * lines.  Must run before devices are created.  0 or -errno (logged).
 */
int hvlink_connect(struct dm *dm, const char *path);
/* Tell the hypervisor that devices exist: it starts the vCPUs. */
int hvlink_ready(struct dm *dm);
/* Request/reply on the setup socket; answers hv requests arriving meanwhile later. */
int hvlink_call(struct dm *dm, uint32_t type, const void *req, size_t len, const int *fds,
		unsigned nfds, void *reply, size_t cap, size_t *reply_len);
void hvlink_close(struct dm *dm);

#endif /* DM_HVLINK_H */
