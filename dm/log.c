// SPDX-License-Identifier: MIT
/*
 * log.c - levelled per-module logging to the domain's log file.
 *
 * The logging state is process-wide (one dm per process); it lives here in
 * dm/, never in hw/.  A mutex keeps lines from different threads whole.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_MAX_DEBUG_MODS 32
#define LOG_BURST 20 /* rate-limited messages per module per second */
#define LOG_RL_SLOTS 64

struct log_rl {
	const char *mod;
	time_t sec;
	unsigned count;
	unsigned suppressed;
};

static struct {
	pthread_mutex_t lock;
	FILE *out; /* NULL: stderr */
	enum log_level level;
	bool debug_all;
	char debug_mods[LOG_MAX_DEBUG_MODS][24];
	unsigned nr_debug;
	struct log_rl rl[LOG_RL_SLOTS];
} logst = { .lock = PTHREAD_MUTEX_INITIALIZER, .level = LOG_INFO };

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int dm_log_open(const char *path)
{
	FILE *f;
	int fd;

	if (!path)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "a");
	if (!f) {
		close(fd);
		return -errno;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	pthread_mutex_lock(&logst.lock);
	if (logst.out)
		fclose(logst.out);
	logst.out = f;
	pthread_mutex_unlock(&logst.lock);
	return 0;
}

void dm_log_set_debug(const char *modules)
{
	const char *p = modules;

	pthread_mutex_lock(&logst.lock);
	while (p && *p && logst.nr_debug < LOG_MAX_DEBUG_MODS) {
		size_t n = strcspn(p, ",");

		if (n == 3 && !strncmp(p, "all", 3))
			logst.debug_all = true;
		else if (n && n < sizeof(logst.debug_mods[0]))
			snprintf(logst.debug_mods[logst.nr_debug++], sizeof(logst.debug_mods[0]),
				 "%.*s", (int)n, p);
		p += n;
		if (*p == ',')
			p++;
	}
	pthread_mutex_unlock(&logst.lock);
}

void dm_log_set_level(enum log_level lvl)
{
	logst.level = lvl;
}

bool dm_log_enabled(enum log_level lvl, const char *mod)
{
	unsigned i;

	if (lvl <= logst.level || logst.debug_all)
		return true;
	for (i = 0; i < logst.nr_debug; i++)
		if (!strcmp(logst.debug_mods[i], mod))
			return true;
	return false;
}

static void log_emit(enum log_level lvl, const char *mod, const char *fmt, va_list ap)
{
	size_t len = fmt ? strlen(fmt) : 0;
	struct timespec ts;
	FILE *out;

	if (!fmt)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&logst.lock);
	out = logst.out ? logst.out : stderr;
	fprintf(out, "%lld.%03ld %s %s: ", (long long)ts.tv_sec, ts.tv_nsec / 1000000,
		level_names[lvl], mod);
	vfprintf(out, fmt, ap);
	if (!len || fmt[len - 1] != '\n')
		fputc('\n', out);
	pthread_mutex_unlock(&logst.lock);
}

void dm_log(enum log_level lvl, const char *mod, const char *fmt, ...)
{
	va_list ap;

	if (!dm_log_enabled(lvl, mod))
		return;
	va_start(ap, fmt);
	log_emit(lvl, mod, fmt, ap);
	va_end(ap);
}

/* Returns true if the message may be printed; counts suppressed ones. */
static bool log_rl_allow(const char *mod, unsigned *suppressed)
{
	time_t now = time(NULL);
	struct log_rl *slot = NULL;
	unsigned i;
	bool ok;

	pthread_mutex_lock(&logst.lock);
	for (i = 0; i < LOG_RL_SLOTS; i++) {
		if (logst.rl[i].mod == mod || !logst.rl[i].mod) {
			slot = &logst.rl[i];
			break;
		}
	}
	if (!slot)
		slot = &logst.rl[0];
	if (slot->mod != mod || slot->sec != now) {
		*suppressed = slot->mod == mod ? slot->suppressed : 0;
		slot->mod = mod;
		slot->sec = now;
		slot->count = 0;
		slot->suppressed = 0;
	} else {
		*suppressed = 0;
	}
	ok = slot->count++ < LOG_BURST;
	if (!ok)
		slot->suppressed++;
	pthread_mutex_unlock(&logst.lock);
	return ok;
}

void dm_log_ratelimited(enum log_level lvl, const char *mod, const char *fmt, ...)
{
	unsigned suppressed;
	va_list ap;

	if (!dm_log_enabled(lvl, mod) || !log_rl_allow(mod, &suppressed))
		return;
	if (suppressed)
		dm_log(lvl, mod, "%u messages suppressed", suppressed);
	va_start(ap, fmt);
	log_emit(lvl, mod, fmt, ap);
	va_end(ap);
}
