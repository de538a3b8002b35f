/* SPDX-License-Identifier: MIT */
/*
 * hvlog.h - hvmhv's log: one line per message, to the -log file when one is
 * open and to stderr otherwise.  hv_log_console() writes to both (domain
 * lifecycle lines the toolstack and the user must see).  Callable from any
 * thread; guest-triggerable messages go through hv_log_ratelimited().
 */
#ifndef HV_LOG_H
#define HV_LOG_H

/* Open (append) the log file.  Returns 0 or -errno. */
int hv_log_open(const char *path);
void hv_log_close(void);

void hv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hv_log_console(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* At most a burst of messages per second; the rest are counted and summarised. */
void hv_log_ratelimited(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* HV_LOG_H */
