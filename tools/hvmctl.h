/* SPDX-License-Identifier: MIT */
/*
 * hvmctl.h - shared declarations of the hvmctl toolstack: runtime
 * directory and per-domain records (rundir.c), process launch and
 * supervision (launch.c), the QMP client (qmpc.c) and the serial console
 * (console.c).
 *
 * Runtime layout (RUNDIR is /run/hvm for root, $XDG_RUNTIME_DIR/hvm
 * otherwise, or --rundir / $HVM_RUNDIR):
 *   RUNDIR/lock                 flock()ed while allocating ids and names
 *   RUNDIR/ID/                  one per domain; created with mkdir() so
 *                               ids are unique per host
 *   RUNDIR/ID/state             key=value record (struct domstate)
 *   RUNDIR/ID/setup.sock        hvmhv's setup socket
 *   RUNDIR/ID/qmp.sock          hvmdm's QMP socket
 *   RUNDIR/ID/hvmdm.pid         hvmdm's -pidfile
 *   RUNDIR/log/qemu-dm-NAME.log, hvmhv-NAME.log, hvmctl-NAME.log
 *                               (kept after the domain is gone)
 */
#ifndef TOOLS_HVMCTL_H
#define TOOLS_HVMCTL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cfg.h"

#define HVM_MAX_DOMID 32000
#define HVMCTL_NAME_MAX 64

struct domstate {
	unsigned domid;
	char name[HVMCTL_NAME_MAX + 1];
	char state[16];	 /* starting, running, shutdown */
	char reason[16]; /* last end: poweroff, reboot, crash, destroyed, error, died */
	pid_t sup_pid, hv_pid, dm_pid;
	unsigned long long sup_start, hv_start, dm_start; /* /proc starttime: pid reuse guard */
	long long memory, vcpus;
	long long created, started; /* epoch seconds */
	unsigned restarts;
	char cfg[PATH_MAX];
};

/* rundir.c */
const char *rundir_default(void);
int rundir_prepare(const char *rundir);
void domdir_path(const char *rundir, unsigned domid, const char *file, char *buf, size_t len);
void log_path(const char *rundir, const char *prefix, const char *name, char *buf, size_t len);
int rundir_lock(const char *rundir);
int state_write(const char *rundir, const struct domstate *st);
int state_read(const char *rundir, unsigned domid, struct domstate *st);
/* Domain ids with a record, ascending; returns the count (at most max). */
int domain_list(const char *rundir, unsigned *ids, int max);
/* A domain by name or numeric id; 0 or -ENOENT. */
int domain_find(const char *rundir, const char *what, struct domstate *st);
int domain_remove(const char *rundir, unsigned domid);
unsigned long long proc_starttime(pid_t pid);
/* Live and still the process recorded (pid not reused). */
bool proc_is(pid_t pid, unsigned long long start);
/* utime+stime of pid in seconds, or -1. */
double proc_cpu_seconds(pid_t pid);

/* launch.c */
struct launch {
	const char *rundir;
	unsigned domid;
	struct domcfg *d;
	const char *cfg_path;
	const char *hv_bin, *dm_bin;
	bool foreground;
	int status_fd; /* daemon: report start result to the parent; -1 otherwise */
	struct domstate st;
};

/* Print the two command lines (dry run). */
void launch_print(struct launch *l);
/* Reserve a domain id and record; 0 or -errno with err filled. */
int launch_reserve(struct launch *l, char *err, size_t errlen);
/*
 * Start both processes and supervise them until the domain is finally
 * gone.  Returns the exit status for `create -F`: 0 after a poweroff.
 */
int launch_run(struct launch *l);

/* qmpc.c: one command over QMP; *reply gets the reply line (malloc'd). */
int qmp_call(const char *sock, const char *json_cmd, char **reply, char *err, size_t errlen);

/* console.c: relay stdin/stdout to the pty until Ctrl-] or hang-up. */
int console_attach(const char *rundir, const struct domstate *st);
/* The serial0 pty of a domain (QMP query-chardev, else the dm log). */
int console_pty(const char *rundir, const struct domstate *st, char *buf, size_t len);

/* hvmhv toolstack messages (include/hvm/setup.h). */
int hv_request(const char *rundir, unsigned domid, uint32_t type, void *reply, size_t cap);

#endif /* TOOLS_HVMCTL_H */
