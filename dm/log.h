/* SPDX-License-Identifier: MIT */
/*
 * log.h - levelled, per-module logging for hvmdm.
 *
 * Messages go to the per-domain log file (or stderr before it is open).
 * Each module is a short string ("uart", "ioreq"); `-debug MOD[,MOD]` or
 * `-debug all` enables LOG_DEBUG for those modules.  Guest-triggerable
 * messages use dm_log_ratelimited() so a guest cannot flood the log.
 * Callable from any thread.
 */
#ifndef DM_LOG_H
#define DM_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_ERR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/* Open (append) the log file; NULL keeps stderr.  Returns 0 or -errno. */
int dm_log_open(const char *path);
/* Enable debug output for a comma-separated module list or "all". */
void dm_log_set_debug(const char *modules);
/* Set the level for modules not named in dm_log_set_debug (default LOG_INFO). */
void dm_log_set_level(enum log_level lvl);
bool dm_log_enabled(enum log_level lvl, const char *mod);

void dm_log(enum log_level lvl, const char *mod, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* At most a burst of messages per module and second; the rest are counted. */
void dm_log_ratelimited(enum log_level lvl, const char *mod, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define dm_err(mod, ...) dm_log(LOG_ERR, mod, __VA_ARGS__)
#define dm_warn(mod, ...) dm_log(LOG_WARN, mod, __VA_ARGS__)
#define dm_info(mod, ...) dm_log(LOG_INFO, mod, __VA_ARGS__)
#define dm_dbg(mod, ...)                                     \
	do {                                                 \
		if (dm_log_enabled(LOG_DEBUG, mod))          \
			dm_log(LOG_DEBUG, mod, __VA_ARGS__); \
	} while (0)
/* Guest errors: debug-level and rate limited (QEMU's -d guest_errors). */
#define dm_guest_err(mod, ...) dm_log_ratelimited(LOG_DEBUG, mod, __VA_ARGS__)

#endif /* DM_LOG_H */
