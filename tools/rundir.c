/* SPDX-License-Identifier: MIT */
/*
 * rundir.c - hvmctl's runtime directory: per-domain records (a key=value
 * state file written atomically with rename()), domain lookup by name or
 * id, and helpers that tell whether a recorded pid is still the process we
 * started (start time from /proc/PID/stat, proc(5) field 22).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "hvm_msg.h"
#include "hvmctl.h"

const char *rundir_default(void)
{
	static char buf[PATH_MAX];
	const char *env = getenv("HVM_RUNDIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (env && env[0])
		return env;
	if (geteuid() == 0)
		return "/run/hvm";
	if (xdg && xdg[0])
		snprintf(buf, sizeof(buf), "%s/hvm", xdg);
	else
		snprintf(buf, sizeof(buf), "/tmp/hvm-%u", (unsigned)geteuid());
	return buf;
}

int rundir_prepare(const char *rundir)
{
	char p[PATH_MAX];

	if (mkdir(rundir, 0700) && errno != EEXIST)
		return -errno;
	snprintf(p, sizeof(p), "%s/log", rundir);
	if (mkdir(p, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

void domdir_path(const char *rundir, unsigned domid, const char *file, char *buf, size_t len)
{
	if (file)
		snprintf(buf, len, "%s/%u/%s", rundir, domid, file);
	else
		snprintf(buf, len, "%s/%u", rundir, domid);
}

void log_path(const char *rundir, const char *prefix, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/log/%s-%s.log", rundir, prefix, name);
}

int rundir_lock(const char *rundir)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/lock", rundir);
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		close(fd);
		return -errno;
	}
	return fd;
}

int state_write(const char *rundir, const struct domstate *st)
{
	char p[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int r = 0;

	domdir_path(rundir, st->domid, "state", p, sizeof(p));
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "domid=%u\nname=%s\nstate=%s\nreason=%s\n", st->domid, st->name, st->state,
		st->reason);
	fprintf(f, "sup_pid=%d\nsup_start=%llu\nhv_pid=%d\nhv_start=%llu\n", (int)st->sup_pid,
		st->sup_start, (int)st->hv_pid, st->hv_start);
	fprintf(f, "dm_pid=%d\ndm_start=%llu\nmemory=%lld\nvcpus=%lld\n", (int)st->dm_pid,
		st->dm_start, st->memory, st->vcpus);
	fprintf(f, "created=%lld\nstarted=%lld\nrestarts=%u\ncfg=%s\n", st->created, st->started,
		st->restarts, st->cfg);
	if (fflush(f) || ferror(f))
		r = -EIO;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, p))
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

static void copy_field(char *dst, size_t cap, const char *v)
{
	snprintf(dst, cap, "%s", v);
}

int state_read(const char *rundir, unsigned domid, struct domstate *st)
{
	char p[PATH_MAX], line[PATH_MAX + 32];
	unsigned lines = 0;
	FILE *f;

	domdir_path(rundir, domid, "state", p, sizeof(p));
	f = fopen(p, "r");
	if (!f)
		return -errno;
	memset(st, 0, sizeof(*st));
	st->domid = domid;
	while (fgets(line, sizeof(line), f) && lines++ < 64) {
		char *eq = strchr(line, '='), *v;

		if (!eq)
			continue;
		*eq = '\0';
		v = eq + 1;
		v[strcspn(v, "\n")] = '\0';
		if (!strcmp(line, "name"))
			copy_field(st->name, sizeof(st->name), v);
		else if (!strcmp(line, "state"))
			copy_field(st->state, sizeof(st->state), v);
		else if (!strcmp(line, "reason"))
			copy_field(st->reason, sizeof(st->reason), v);
		else if (!strcmp(line, "cfg"))
			copy_field(st->cfg, sizeof(st->cfg), v);
		else if (!strcmp(line, "sup_pid"))
			st->sup_pid = atoi(v);
		else if (!strcmp(line, "hv_pid"))
			st->hv_pid = atoi(v);
		else if (!strcmp(line, "dm_pid"))
			st->dm_pid = atoi(v);
		else if (!strcmp(line, "sup_start"))
			st->sup_start = strtoull(v, NULL, 10);
		else if (!strcmp(line, "hv_start"))
			st->hv_start = strtoull(v, NULL, 10);
		else if (!strcmp(line, "dm_start"))
			st->dm_start = strtoull(v, NULL, 10);
		else if (!strcmp(line, "memory"))
			st->memory = atoll(v);
		else if (!strcmp(line, "vcpus"))
			st->vcpus = atoll(v);
		else if (!strcmp(line, "created"))
			st->created = atoll(v);
		else if (!strcmp(line, "started"))
			st->started = atoll(v);
		else if (!strcmp(line, "restarts"))
			st->restarts = (unsigned)atoi(v);
	}
	fclose(f);
	return st->name[0] ? 0 : -ENOENT;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

int domain_list(const char *rundir, unsigned *ids, int max)
{
	DIR *d = opendir(rundir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		char *end;
		unsigned long id;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		id = strtoul(de->d_name, &end, 10);
		if (*end || id == 0 || id > HVM_MAX_DOMID)
			continue;
		ids[n++] = (unsigned)id;
	}
	closedir(d);
	qsort(ids, (size_t)n, sizeof(*ids), cmp_uint);
	return n;
}

int domain_find(const char *rundir, const char *what, struct domstate *st)
{
	static unsigned ids[HVM_MAX_DOMID];
	char *end;
	unsigned long id;
	int n, i;

	id = strtoul(what, &end, 10);
	if (what[0] && !*end && id > 0 && id <= HVM_MAX_DOMID)
		return state_read(rundir, (unsigned)id, st) ? -ENOENT : 0;
	n = domain_list(rundir, ids, HVM_MAX_DOMID);
	for (i = 0; i < n; i++)
		if (!state_read(rundir, ids[i], st) && !strcmp(st->name, what))
			return 0;
	return -ENOENT;
}

int domain_remove(const char *rundir, unsigned domid)
{
	/* The state file goes last: while it exists the domain is listed. */
	static const char *const files[] = { "setup.sock", "qmp.sock",	"hvmdm.pid",
					     "vncpasswd",  "state.tmp", "state" };
	char p[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		domdir_path(rundir, domid, files[i], p, sizeof(p));
		unlink(p);
	}
	domdir_path(rundir, domid, NULL, p, sizeof(p));
	if (rmdir(p) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Fields of /proc/PID/stat after the parenthesised comm (which may hold spaces). */
static int proc_stat_fields(pid_t pid, unsigned long long *f, int nf)
{
	char p[64], buf[1024], *s;
	int fd, i;
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	s = strrchr(buf, ')');
	if (!s)
		return -EIO;
	s += 2; /* field 3, the state letter */
	if (*s == 'Z' || *s == 'X')
		return -ESRCH;
	s += 2;
	/* Fields 4.. as numbers; f[0] is field 4. */
	for (i = 0; i < nf; i++) {
		char *end;

		f[i] = strtoull(s, &end, 10);
		if (end == s)
			return -EIO;
		s = end;
	}
	return 0;
}

unsigned long long proc_starttime(pid_t pid)
{
	unsigned long long f[19];

	if (pid <= 0 || proc_stat_fields(pid, f, 19))
		return 0;
	return f[18]; /* field 22 */
}

bool proc_is(pid_t pid, unsigned long long start)
{
	return pid > 0 && start && proc_starttime(pid) == start;
}

double proc_cpu_seconds(pid_t pid)
{
	unsigned long long f[19];
	long tck = sysconf(_SC_CLK_TCK);

	if (pid <= 0 || proc_stat_fields(pid, f, 19) || tck <= 0)
		return -1;
	return (double)(f[10] + f[11]) / (double)tck; /* fields 14, 15 */
}

int hv_request(const char *rundir, unsigned domid, uint32_t type, void *reply, size_t cap)
{
	struct timeval tv = { .tv_sec = 5 };
	char p[PATH_MAX];
	size_t rlen;
	int fd, r;

	domdir_path(rundir, domid, "setup.sock", p, sizeof(p));
	fd = hvm_msg_connect(p);
	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	r = hvm_msg_call(fd, type, NULL, 0, NULL, 0, reply, cap, &rlen);
	close(fd);
	return r;
}
