/* SPDX-License-Identifier: MIT */
/*
 * hvm_msg.h - send and receive setup-protocol packets (include/hvm/setup.h)
 * with file descriptors.  Used by hvmhv, hvmdm, hvmctl and the test harness.
 */
#ifndef HVM_MSG_H
#define HVM_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "hvm/setup.h"

/*
 * Send one packet: header {type, len, seq, status} + payload + fds.
 * Returns 0 or -errno.
 */
int hvm_msg_send(int sock, uint32_t type, uint32_t seq, int32_t status, const void *payload,
		 size_t len, const int *fds, unsigned nfds);

/*
 * Receive one packet into *hdr and payload (at most cap bytes) and up to
 * max_fds descriptors (the count lands in *nfds; extra ones are closed).
 * Returns 0, -ECONNRESET when the peer closed, -EPROTO for a malformed packet
 * (short header, len not matching the bytes received or above cap), or -errno.
 * On -EPROTO any received descriptors are closed.
 */
int hvm_msg_recv(int sock, struct hvm_msg *hdr, void *payload, size_t cap, int *fds,
		 unsigned max_fds, unsigned *nfds);

/* Connect a SOCK_SEQPACKET client to PATH.  Returns an fd or -errno. */
int hvm_msg_connect(const char *path);

/* Bind and listen on PATH (unlinking a stale socket).  Returns an fd or -errno. */
int hvm_msg_listen(const char *path);

/*
 * Request/reply helper for clients: send, then wait for the reply with the
 * same seq (other packets are an error).  Returns the reply status (0 or
 * -errno from the peer) or a transport -errno.
 */
int hvm_msg_call(int sock, uint32_t type, const void *req, size_t req_len, const int *fds,
		 unsigned nfds, void *reply, size_t reply_cap, size_t *reply_len);

#endif /* HVM_MSG_H */
