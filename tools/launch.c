/* SPDX-License-Identifier: MIT */
/*
 * launch.c - start a domain's two processes (hvmhv, then hvmdm once the
 * setup socket listens) and supervise them: hvmhv's exit status
 * (HVM_EXIT_*, include/hvm/setup.h) selects on_poweroff / on_reboot /
 * on_crash as xl does (restart = same domid, both processes again;
 * destroy = remove the record; preserve = keep it with state "shutdown").
 * If either process dies on its own, the other is killed and the domain is
 * destroyed.  The hvmdm command line follows qemu-dm's (research notes
 * xen-ioreq.md section 7 and ecosystem.md section 1.4).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvm/setup.h"
#include "hvmctl.h"

#define ARGV_MAX 192
#define START_TIMEOUT_MS 30000 /* libxl waits 60 s for the DM; our start is local */
#define KILL_GRACE_MS 5000
#define FAST_RESTART_SECS 10 /* a run shorter than this counts as a fast restart */
#define MAX_FAST_RESTARTS 10
#define DM_EXIT_GRACE_MS 3000 /* hvmhv's own exit after a clean dm exit */

struct argv {
	char *v[ARGV_MAX + 1];
	int n;
};

static volatile sig_atomic_t got_signal;

static void argv_add(struct argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void argv_add(struct argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->n >= ARGV_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s)
		a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void argv_free(struct argv *a)
{
	int i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

static void build_hv_argv(struct launch *l, struct argv *a)
{
	const struct domcfg *d = l->d;
	char p[PATH_MAX];

	argv_add(a, "%s", l->hv_bin);
	argv_add(a, "-d");
	argv_add(a, "%u", l->domid);
	domdir_path(l->rundir, l->domid, "setup.sock", p, sizeof(p));
	argv_add(a, "-setup");
	argv_add(a, "%s", p);
	argv_add(a, "-m");
	argv_add(a, "%lld", d->memory);
	argv_add(a, "-vcpus");
	argv_add(a, "%lld", d->vcpus);
	argv_add(a, "-accel");
	argv_add(a, "%s", d->accel ? d->accel : "auto");
	if (d->firmware) {
		argv_add(a, "-bios");
		argv_add(a, "%s", d->firmware);
	}
	log_path(l->rundir, "hvmhv", d->name, p, sizeof(p));
	argv_add(a, "-log");
	argv_add(a, "%s", p);
	argv_add(a, "-name");
	argv_add(a, "%s", d->name);
}

/* libxl: "127.0.0.1:<display>", or the listen address if it already has a display. */
static void add_vnc(const struct launch *l, struct argv *a)
{
	const struct domcfg *d = l->d;
	const char *listen = d->vnclisten ? d->vnclisten : "127.0.0.1";
	/* xm/xend: the display defaults to the domain id (vncunused may move it). */
	long long disp = d->vncdisplay >= 0 ? d->vncdisplay : l->domid;

	argv_add(a, "-vnc");
	if (strchr(listen, ':'))
		argv_add(a, "%s%s", listen, d->vncpasswd && d->vncpasswd[0] ? ",password" : "");
	else
		argv_add(a, "%s:%lld%s", listen, disp,
			 d->vncpasswd && d->vncpasswd[0] ? ",password" : "");
	if (d->vncunused)
		argv_add(a, "-vncunused");
	if (d->vncpasswd && d->vncpasswd[0]) {
		char p[PATH_MAX];

		domdir_path(l->rundir, l->domid, "vncpasswd", p, sizeof(p));
		argv_add(a, "-vnc-password-file");
		argv_add(a, "%s", p);
	}
}

/* xl vif spec -> qemu-dm's -net nic / -net tap pair (ecosystem.md 1.2). */
static void add_vif(const struct launch *l, struct argv *a, unsigned idx, const char *spec)
{
	char model[128] = "rtl8139", mac[128] = "", bridge[128] = "xenbr0";
	const char *p = spec;

	while (*p) {
		size_t n = strcspn(p, ",");
		char item[128];

		snprintf(item, sizeof(item), "%.*s", (int)(n < 127 ? n : 127), p);
		p += n;
		if (*p == ',')
			p++;
		while (item[0] == ' ')
			memmove(item, item + 1, strlen(item));
		if (!strncmp(item, "model=", 6))
			snprintf(model, sizeof(model), "%s", item + 6);
		else if (!strncmp(item, "mac=", 4))
			snprintf(mac, sizeof(mac), "%s", item + 4);
		else if (!strncmp(item, "bridge=", 7))
			snprintf(bridge, sizeof(bridge), "%s", item + 7);
	}
	if (!mac[0]) /* Xen's OUI 00:16:3e, then domid and index for stability */
		snprintf(mac, sizeof(mac), "00:16:3e:%02x:%02x:%02x", (l->domid >> 8) & 0x7f,
			 l->domid & 0xff, idx & 0xff);
	argv_add(a, "-net");
	argv_add(a, "nic,vlan=%u,macaddr=%s,model=%s", idx, mac, model);
	argv_add(a, "-net");
	argv_add(a, "tap,vlan=%u,ifname=vif%u.%u-emu,bridge=%s,script=no,downscript=no", idx,
		 l->domid, idx, bridge);
}

static void build_dm_argv(struct launch *l, struct argv *a)
{
	const struct domcfg *d = l->d;
	char p[PATH_MAX];
	unsigned i;

	argv_add(a, "%s", l->dm_bin);
	argv_add(a, "-d");
	argv_add(a, "%u", l->domid);
	argv_add(a, "-domain-name");
	argv_add(a, "%s", d->name);
	argv_add(a, "-m");
	argv_add(a, "%lld", d->memory);
	argv_add(a, "-vcpus");
	argv_add(a, "%lld", d->vcpus);
	domdir_path(l->rundir, l->domid, "setup.sock", p, sizeof(p));
	argv_add(a, "-setup");
	argv_add(a, "%s", p);
	log_path(l->rundir, "qemu-dm", d->name, p, sizeof(p));
	argv_add(a, "-log");
	argv_add(a, "%s", p);
	domdir_path(l->rundir, l->domid, "qmp.sock", p, sizeof(p));
	argv_add(a, "-qmp");
	argv_add(a, "%s", p);
	domdir_path(l->rundir, l->domid, "hvmdm.pid", p, sizeof(p));
	argv_add(a, "-pidfile");
	argv_add(a, "%s", p);
	argv_add(a, "-M");
	argv_add(a, "pc");
	if (d->vnc && !d->nographic)
		add_vnc(l, a);
	if (d->nographic || (!d->vnc && !d->sdl))
		argv_add(a, "-nographic");
	if (d->sdl && !d->nographic)
		argv_add(a, "-sdl");
	if (d->sdl && d->full_screen)
		argv_add(a, "-full-screen");
	if (d->keymap) {
		argv_add(a, "-k");
		argv_add(a, "%s", d->keymap);
	}
	for (i = 0; i < d->nr_serial; i++) {
		argv_add(a, "-serial");
		argv_add(a, "%s", d->serial[i]);
	}
	if (d->videoram) {
		argv_add(a, "-videoram");
		argv_add(a, "%lld", d->videoram);
	}
	if (d->vga)
		argv_add(a, "-vga");
	if (d->vga)
		argv_add(a, "%s", !strcmp(d->vga, "stdvga") ? "std" : d->vga);
	else if (d->stdvga)
		argv_add(a, "-std-vga");
	for (i = 0; i < d->nr_disk; i++) {
		char drive[PATH_MAX + 128];

		disk_drive_arg(&d->disks[i], drive, sizeof(drive));
		argv_add(a, "-drive");
		argv_add(a, "%s", drive);
	}
	if (d->fda && d->fda[0]) {
		argv_add(a, "-fda");
		argv_add(a, "%s", d->fda);
	}
	if (d->fdb && d->fdb[0]) {
		argv_add(a, "-fdb");
		argv_add(a, "%s", d->fdb);
	}
	argv_add(a, "-boot");
	argv_add(a, "%s", d->boot);
	if (d->usb || d->nr_usbdevice)
		argv_add(a, "-usb");
	for (i = 0; i < d->nr_usbdevice; i++) {
		argv_add(a, "-usbdevice");
		argv_add(a, "%s", d->usbdevice[i]);
	}
	if (d->acpi)
		argv_add(a, "-acpi");
	if (d->localtime)
		argv_add(a, "-localtime");
	if (d->rtc_timeoffset) {
		argv_add(a, "-rtc-offset");
		argv_add(a, "%lld", d->rtc_timeoffset);
	}
	if (d->uuid) {
		argv_add(a, "-uuid");
		argv_add(a, "%s", d->uuid);
	}
	if (d->kernel) {
		argv_add(a, "-kernel");
		argv_add(a, "%s", d->kernel);
		if (d->ramdisk) {
			argv_add(a, "-initrd");
			argv_add(a, "%s", d->ramdisk);
		}
		if (d->extra) {
			argv_add(a, "-append");
			argv_add(a, "%s", d->extra);
		}
	}
	for (i = 0; i < d->nr_vif; i++)
		add_vif(l, a, i, d->vif[i]);
}

static void print_argv(FILE *f, const struct argv *a)
{
	int i;

	for (i = 0; i < a->n; i++) {
		const char *s = a->v[i];

		if (i)
			fputc(' ', f);
		if (s[0] && !s[strcspn(s, " \t\n'\"\\$`*?[]{}()<>|&;#~")]) {
			fputs(s, f);
			continue;
		}
		fputc('\'', f);
		for (; *s; s++) {
			if (*s == '\'')
				fputs("'\\''", f);
			else
				fputc(*s, f);
		}
		fputc('\'', f);
	}
	fputc('\n', f);
}

void launch_print(struct launch *l)
{
	struct argv a = { 0 };

	build_hv_argv(l, &a);
	print_argv(stdout, &a);
	argv_free(&a);
	build_dm_argv(l, &a);
	print_argv(stdout, &a);
	argv_free(&a);
}

static int name_in_use(const char *rundir, const char *name)
{
	static unsigned ids[HVM_MAX_DOMID];
	struct domstate st;
	int n, i;

	n = domain_list(rundir, ids, HVM_MAX_DOMID);
	for (i = 0; i < n; i++)
		if (!state_read(rundir, ids[i], &st) && !strcmp(st.name, name))
			return (int)ids[i];
	return 0;
}

int launch_reserve(struct launch *l, char *err, size_t errlen)
{
	char p[PATH_MAX];
	unsigned id;
	int lock, r, other;

	r = rundir_prepare(l->rundir);
	if (r) {
		snprintf(err, errlen, "cannot create %s: %s", l->rundir, strerror(-r));
		return r;
	}
	domdir_path(l->rundir, HVM_MAX_DOMID, "qmp.sock", p, sizeof(p));
	if (strlen(p) >= 108) {
		snprintf(err, errlen, "runtime directory %s is too long for unix sockets",
			 l->rundir);
		return -ENAMETOOLONG;
	}
	lock = rundir_lock(l->rundir);
	if (lock < 0) {
		snprintf(err, errlen, "cannot lock %s: %s", l->rundir, strerror(-lock));
		return lock;
	}
	other = name_in_use(l->rundir, l->d->name);
	if (other) {
		snprintf(err, errlen, "domain '%s' already exists with id %d", l->d->name, other);
		r = -EEXIST;
		goto out;
	}
	r = -ENOSPC;
	for (id = 1; id <= HVM_MAX_DOMID; id++) {
		domdir_path(l->rundir, id, NULL, p, sizeof(p));
		if (!mkdir(p, 0700)) {
			r = 0;
			break;
		}
		if (errno != EEXIST) {
			r = -errno;
			break;
		}
	}
	if (r) {
		snprintf(err, errlen, "cannot allocate a domain id in %s: %s", l->rundir,
			 strerror(-r));
		goto out;
	}
	l->domid = id;
	memset(&l->st, 0, sizeof(l->st));
	l->st.domid = id;
	snprintf(l->st.name, sizeof(l->st.name), "%s", l->d->name);
	snprintf(l->st.state, sizeof(l->st.state), "starting");
	l->st.memory = l->d->memory;
	l->st.vcpus = l->d->vcpus;
	l->st.created = (long long)time(NULL);
	if (l->cfg_path && !realpath(l->cfg_path, l->st.cfg))
		snprintf(l->st.cfg, sizeof(l->st.cfg), "%s", l->cfg_path);
	r = state_write(l->rundir, &l->st);
	if (r) {
		snprintf(err, errlen, "cannot write the domain record: %s", strerror(-r));
		domain_remove(l->rundir, id);
	}
out:
	close(lock);
	return r;
}

/* ---- processes ---- */

static void msleep(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* fork+exec with stdout/stderr appended to logfile; -errno if exec fails. */
static pid_t spawn(const struct argv *a, const char *logfile)
{
	int pfd[2], err = 0, fd;
	pid_t pid;
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(a->v[0], a->v);
		err = errno;
		if (write(pfd[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	do {
		n = read(pfd[0], &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == sizeof(err)) {
		waitpid(pid, NULL, 0);
		return -err;
	}
	return pid;
}

static bool is_socket(const char *path)
{
	struct stat sb;

	return !stat(path, &sb) && S_ISSOCK(sb.st_mode);
}

/* Reap pid if it exited; true while it runs.  *status gets the wait status. */
static bool still_running(pid_t pid, int *status)
{
	pid_t r = waitpid(pid, status, WNOHANG);

	return r == 0;
}

static int wait_socket(const char *path, pid_t pid, int *status)
{
	unsigned waited;

	for (waited = 0; waited < START_TIMEOUT_MS; waited += 20) {
		if (is_socket(path))
			return 0;
		if (!still_running(pid, status))
			return -ECHILD;
		msleep(20);
	}
	return -ETIMEDOUT;
}

/* SIGTERM, then SIGKILL after the grace time; always reaps. */
static int stop_process(pid_t pid)
{
	unsigned waited;
	int status = 0;

	if (pid <= 0)
		return 0;
	if (!still_running(pid, &status))
		return status;
	kill(pid, SIGTERM);
	for (waited = 0; waited < KILL_GRACE_MS; waited += 20) {
		if (!still_running(pid, &status))
			return status;
		msleep(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return status;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit code %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "status 0x%x", status);
}

/* What a process did while we waited for its socket: "ended (exit code 1)" or "timed out". */
static void startup_failure(int r, int status, char *buf, size_t len)
{
	char st[48]; /* the reason fits in the caller's 64 bytes with "ended ()" */

	if (r != -ECHILD) {
		snprintf(buf, len, "timed out");
		return;
	}
	describe_status(status, st, sizeof(st));
	snprintf(buf, len, "ended (%s)", st);
}

static void say(struct launch *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct launch *l, const char *fmt, ...)
{
	char ts[32];
	time_t now = time(NULL);
	va_list ap;

	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime(&now));
	fprintf(stderr, "hvmctl: %s: domain %u (%s): ", ts, l->domid, l->d->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void report(struct launch *l, const char *msg)
{
	if (l->status_fd >= 0) {
		if (write(l->status_fd, msg, strlen(msg)) < 0)
			say(l, "cannot report to the parent: %s", strerror(errno));
		close(l->status_fd);
		l->status_fd = -1;
	}
}

/* The VNC password goes to hvmdm in a 0600 file, never on its command line. */
static int write_secret(struct launch *l)
{
	char p[PATH_MAX];
	int fd, r = 0;
	size_t n = strlen(l->d->vncpasswd);

	domdir_path(l->rundir, l->domid, "vncpasswd", p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, l->d->vncpasswd, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
		r = -EIO;
	close(fd);
	return r;
}

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : sb.st_size;
}

/* The reason in one log line, if it gives one: "TIME error MOD: why" or "hvmhv: cannot ...". */
static const char *line_reason(const char *line)
{
	const char *p = strstr(line, " error ");

	if (p)
		return p + 7;
	if (line[0] == '[' && (p = strstr(line, "] ")))
		line = p + 2;
	if (!strncmp(line, "hvmhv: ", 7) &&
	    (strstr(line, "cannot") || strstr(line, "failed") || strstr(line, "error")))
		return line;
	return NULL;
}

/*
 * The first error a process logged after offset `from` (where its log ended
 * when it was started), so that a start-up failure says why without sending
 * the user to the log.  buf is "" when there is none.
 */
static void first_logged_error(const char *path, off_t from, char *buf, size_t len)
{
	char line[512];
	const char *why;
	FILE *f = fopen(path, "r");
	unsigned n;

	buf[0] = '\0';
	if (!f)
		return;
	if (fseeko(f, from, SEEK_SET) == 0) {
		for (n = 0; n < 10000 && fgets(line, sizeof(line), f); n++) {
			line[strcspn(line, "\n")] = '\0';
			why = line_reason(line);
			if (why) {
				snprintf(buf, len, ": %.180s", why);
				break;
			}
		}
	}
	fclose(f);
}

/* Start hvmhv, wait for its setup socket, start hvmdm, wait for QMP. */
static int start_once(struct launch *l, char *err, size_t errlen)
{
	char setup[PATH_MAX], qmp[PATH_MAX], hvlog[PATH_MAX], dmlog[PATH_MAX], why[64];
	char logged[200];
	struct argv a = { 0 };
	off_t hv_from, dm_from;
	int status = 0, r;

	domdir_path(l->rundir, l->domid, "setup.sock", setup, sizeof(setup));
	domdir_path(l->rundir, l->domid, "qmp.sock", qmp, sizeof(qmp));
	unlink(setup);
	unlink(qmp);
	log_path(l->rundir, "hvmhv", l->d->name, hvlog, sizeof(hvlog));
	log_path(l->rundir, "qemu-dm", l->d->name, dmlog, sizeof(dmlog));

	if (l->d->vncpasswd && l->d->vncpasswd[0]) {
		r = write_secret(l);
		if (r) {
			snprintf(err, errlen, "cannot write the VNC password file: %s",
				 strerror(-r));
			return r;
		}
	}
	build_hv_argv(l, &a);
	hv_from = file_size(hvlog);
	l->st.hv_pid = spawn(&a, hvlog);
	argv_free(&a);
	if (l->st.hv_pid < 0) {
		snprintf(err, errlen, "cannot run %s: %s", l->hv_bin, strerror(-l->st.hv_pid));
		l->st.hv_pid = 0;
		return -ENOEXEC;
	}
	l->st.hv_start = proc_starttime(l->st.hv_pid);
	state_write(l->rundir, &l->st); /* `hvmctl destroy` can find it from now on */
	r = wait_socket(setup, l->st.hv_pid, &status);
	if (r) {
		startup_failure(r, status, why, sizeof(why));
		first_logged_error(hvlog, hv_from, logged, sizeof(logged));
		snprintf(err, errlen, "hvmhv %s before its setup socket appeared%s (see %.160s)",
			 why, logged, hvlog);
		goto fail;
	}
	build_dm_argv(l, &a);
	dm_from = file_size(dmlog);
	l->st.dm_pid = spawn(&a, dmlog);
	argv_free(&a);
	if (l->st.dm_pid < 0) {
		snprintf(err, errlen, "cannot run %s: %s", l->dm_bin, strerror(-l->st.dm_pid));
		l->st.dm_pid = 0;
		r = -ENOEXEC;
		goto fail;
	}
	l->st.dm_start = proc_starttime(l->st.dm_pid);
	state_write(l->rundir, &l->st);
	r = wait_socket(qmp, l->st.dm_pid, &status);
	if (r) {
		if (r == -ECHILD)
			l->st.dm_pid = 0; /* already reaped */
		startup_failure(r, status, why, sizeof(why));
		first_logged_error(dmlog, dm_from, logged, sizeof(logged));
		snprintf(err, errlen,
			 "the device model %s before its QMP socket appeared%s (see %.160s)", why,
			 logged, dmlog);
		goto fail;
	}
	l->st.started = (long long)time(NULL);
	snprintf(l->st.state, sizeof(l->st.state), "running");
	state_write(l->rundir, &l->st);
	return 0;
fail:
	stop_process(l->st.dm_pid);
	stop_process(l->st.hv_pid);
	l->st.dm_pid = l->st.hv_pid = 0;
	return r;
}

static void on_signal(int sig)
{
	got_signal = sig;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: waitpid() must return so the signal is acted on. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* Ask hvmhv to stop the domain; kill it if it does not answer. */
static void destroy_now(struct launch *l)
{
	if (hv_request(l->rundir, l->domid, HVM_MSG_DESTROY, NULL, 0))
		kill(l->st.hv_pid, SIGKILL);
}

static const char *exit_reason(int status)
{
	if (!WIFEXITED(status))
		return "died";
	switch (WEXITSTATUS(status)) {
	case HVM_EXIT_POWEROFF:
		return "poweroff";
	case HVM_EXIT_REBOOT:
		return "reboot";
	case HVM_EXIT_CRASH:
		return "crash";
	case HVM_EXIT_DESTROYED:
		return "destroyed";
	default:
		return "error";
	}
}

enum outcome {
	OUT_DESTROY,
	OUT_RESTART,
	OUT_PRESERVE
};

static enum outcome action_outcome(struct launch *l, enum cfg_action a)
{
	switch (a) {
	case ACT_RESTART:
		return OUT_RESTART;
	case ACT_RENAME_RESTART:
		say(l, "rename-restart: the old instance is not kept; restarting");
		return OUT_RESTART;
	case ACT_COREDUMP_RESTART:
		say(l, "no core dumps are taken; restarting");
		return OUT_RESTART;
	case ACT_COREDUMP_DESTROY:
		say(l, "no core dumps are taken; destroying");
		return OUT_DESTROY;
	case ACT_PRESERVE:
		return OUT_PRESERVE;
	default:
		return OUT_DESTROY;
	}
}

/* What hvmhv's wait status means for the domain. */
static enum outcome hv_outcome(struct launch *l, int status, bool destroying, const char **reason)
{
	char why[64];

	describe_status(status, why, sizeof(why));
	*reason = exit_reason(status);
	say(l, "hvmhv ended with %s: %s", why, *reason);
	if (destroying || !WIFEXITED(status))
		return OUT_DESTROY;
	switch (WEXITSTATUS(status)) {
	case HVM_EXIT_POWEROFF:
		return action_outcome(l, l->d->on_poweroff);
	case HVM_EXIT_REBOOT:
		return action_outcome(l, l->d->on_reboot);
	case HVM_EXIT_CRASH:
		return action_outcome(l, l->d->on_crash);
	default:
		return OUT_DESTROY;
	}
}

/* Wait up to ms for pid to exit; true (and *status) if it did. */
static bool wait_exit(pid_t pid, unsigned ms, int *status)
{
	unsigned waited;

	for (waited = 0; waited <= ms; waited += 20) {
		if (!still_running(pid, status))
			return true;
		msleep(20);
	}
	return false;
}

/*
 * Wait for the first of the two processes to end and decide what
 * happens next.  *reason names how the domain ended.
 */
static enum outcome wait_domain(struct launch *l, const char **reason)
{
	bool destroying = false;
	int status, hv_status;
	char why[64];
	pid_t pid;

	for (;;) {
		if (got_signal && !destroying) {
			say(l, "signal %d: destroying the domain", (int)got_signal);
			destroying = true;
			destroy_now(l);
		}
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			say(l, "waitpid: %s", strerror(errno));
			*reason = "error";
			stop_process(l->st.dm_pid);
			stop_process(l->st.hv_pid);
			return OUT_DESTROY;
		}
		if (pid == l->st.hv_pid) {
			l->st.hv_pid = 0;
			stop_process(l->st.dm_pid);
			l->st.dm_pid = 0;
			return hv_outcome(l, status, destroying, reason);
		}
		if (pid != l->st.dm_pid)
			continue;
		l->st.dm_pid = 0;
		/*
		 * hvmdm exits 0 when hvmhv closed the setup socket: the domain
		 * ended and hvmhv's status (usually reaped second) decides.
		 */
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		    wait_exit(l->st.hv_pid, DM_EXIT_GRACE_MS, &hv_status)) {
			l->st.hv_pid = 0;
			return hv_outcome(l, hv_status, destroying, reason);
		}
		describe_status(status, why, sizeof(why));
		if (!destroying)
			say(l, "the device model ended unexpectedly (%s); destroying", why);
		*reason = destroying ? "destroyed" : "died";
		stop_process(l->st.hv_pid);
		l->st.hv_pid = 0;
		return OUT_DESTROY;
	}
}

int launch_run(struct launch *l)
{
	char err[512];
	const char *reason = "error";
	unsigned fast = 0;
	enum outcome o;
	int r;

	install_signals();
	l->st.sup_pid = getpid();
	l->st.sup_start = proc_starttime(l->st.sup_pid);
	r = start_once(l, err, sizeof(err));
	if (r) {
		fprintf(stderr, "hvmctl: domain %s: %s\n", l->d->name, err);
		domain_remove(l->rundir, l->domid); /* before the parent hears of it */
		report(l, err);
		return 1;
	}
	report(l, "ok");
	say(l, "started (hvmhv pid %d, hvmdm pid %d)", (int)l->st.hv_pid, (int)l->st.dm_pid);
	for (;;) {
		o = wait_domain(l, &reason);
		snprintf(l->st.reason, sizeof(l->st.reason), "%s", reason);
		if (o == OUT_RESTART && got_signal)
			o = OUT_DESTROY;
		if (o == OUT_RESTART) {
			if (time(NULL) - l->st.started < FAST_RESTART_SECS)
				fast++;
			else
				fast = 0;
			if (fast > MAX_FAST_RESTARTS) {
				say(l, "restarting too fast (%u runs under %d s); destroying", fast,
				    FAST_RESTART_SECS);
				o = OUT_DESTROY;
			}
		}
		if (o == OUT_DESTROY) {
			say(l, "destroyed (%s)", reason);
			domain_remove(l->rundir, l->domid);
			return !strcmp(reason, "poweroff") ? 0 : 1;
		}
		if (o == OUT_PRESERVE) {
			say(l, "preserved after %s", reason);
			snprintf(l->st.state, sizeof(l->st.state), "shutdown");
			l->st.sup_pid = 0;
			l->st.sup_start = 0;
			state_write(l->rundir, &l->st);
			return !strcmp(reason, "poweroff") ? 0 : 1;
		}
		l->st.restarts++;
		snprintf(l->st.state, sizeof(l->st.state), "starting");
		state_write(l->rundir, &l->st);
		say(l, "restarting after %s (restart %u)", reason, l->st.restarts);
		r = start_once(l, err, sizeof(err));
		if (!r)
			say(l, "restarted (hvmhv pid %d, hvmdm pid %d)", (int)l->st.hv_pid,
			    (int)l->st.dm_pid);
		if (r) {
			say(l, "restart failed: %s", err);
			domain_remove(l->rundir, l->domid);
			return 1;
		}
	}
}
