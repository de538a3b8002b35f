/* SPDX-License-Identifier: MIT */
/*
 * setup.h - hvmhv's side of the setup socket (include/hvm/setup.h): accepts
 * the device model (HELLO first) and toolstack connections (no HELLO), and
 * runs the main thread's event loop until the domain ends.
 */
#ifndef HV_SETUP_H
#define HV_SETUP_H

#include <stdbool.h>

struct hv;

#define SETUP_MAX_CONNS 16

struct setup_conn {
	int fd; /* -1: free */
	bool is_dm;
};

struct setup_server {
	int listen_fd;
	int signal_fd; /* SIGTERM/SIGINT/SIGHUP: destroy the domain */
	struct setup_conn conn[SETUP_MAX_CONNS];
	bool dm_seen; /* a dm said HELLO once; later HELLOs are refused */
};

/* Listen on hv->cfg.setup_path.  Returns 0 or -errno. */
int setup_server_open(struct setup_server *s, struct hv *hv, int signal_fd);
/* Serve connections until the domain ends. */
void setup_server_run(struct setup_server *s, struct hv *hv);
void setup_server_close(struct setup_server *s, struct hv *hv);

#endif /* HV_SETUP_H */
