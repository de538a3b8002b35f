// SPDX-License-Identifier: MIT
/*
 * hvlog.c - hvmhv's log output (see hvlog.h).  The log file is process-wide
 * state set once at start-up, before any vCPU thread exists.
 */
#include "hvlog.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define RATE_BURST 20

static FILE *log_file;
static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t rate_second;
static unsigned rate_count, rate_dropped;

int hv_log_open(const char *path)
{
	FILE *f = fopen(path, "ae");

	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	log_file = f;
	return 0;
}

void hv_log_close(void)
{
	if (log_file)
		fclose(log_file);
	log_file = NULL;
}

static void emit(FILE *f, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(f, "[%lld.%03ld] hvmhv: %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000, line);
}

void hv_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(log_file ? log_file : stderr, fmt, ap);
	va_end(ap);
}

void hv_log_console(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "hvmhv: %s\n", line);
	if (log_file)
		hv_log("%s", line);
}

void hv_log_ratelimited(const char *fmt, ...)
{
	time_t now = time(NULL);
	unsigned dropped = 0;
	va_list ap;
	int show;

	pthread_mutex_lock(&rate_lock);
	if (now != rate_second) {
		dropped = rate_dropped;
		rate_second = now;
		rate_count = 0;
		rate_dropped = 0;
	}
	show = rate_count < RATE_BURST;
	if (show)
		rate_count++;
	else
		rate_dropped++;
	pthread_mutex_unlock(&rate_lock);
	if (dropped)
		hv_log("(%u rate-limited messages dropped)", dropped);
	if (!show)
		return;
	va_start(ap, fmt);
	emit(log_file ? log_file : stderr, fmt, ap);
	va_end(ap);
}
