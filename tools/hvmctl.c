/* SPDX-License-Identifier: MIT */
/*
 * hvmctl.c - the toolstack's command line, in the style of xl(1): create,
 * list, destroy, shutdown, reboot, pause, unpause, console, domid,
 * domname, uptime, sendkey and a raw qmp passthrough.
 *
 * Lifecycle requests go to hvmhv over its setup socket (PAUSE, UNPAUSE,
 * QUERY, DESTROY; include/hvm/setup.h); guest-visible ones (ACPI power
 * button, reset, keys) go to hvmdm over QMP.  `create` forks a supervisor
 * (launch.c) unless -F keeps it in the foreground.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hvm/setup.h"
#include "hvmctl.h"
#include "json.h"

static const char *rundir;

static void usage(FILE *f)
{
	fputs("usage: hvmctl [--rundir DIR] COMMAND [ARGS]\n"
	      "  create [-F] [-c] [-n] CFG [KEY=VALUE...]  start a domain (-F: stay in the\n"
	      "                       foreground; -c: attach the console; -n: dry run)\n"
	      "  list                 list domains\n"
	      "  destroy DOMAIN       stop a domain at once\n"
	      "  shutdown [-w] [-t SECS] DOMAIN   press the ACPI power button (-w: wait)\n"
	      "  reboot DOMAIN        reset the domain (on_reboot applies)\n"
	      "  pause DOMAIN / unpause DOMAIN\n"
	      "  console DOMAIN       attach to the first serial port (Ctrl-] detaches)\n"
	      "  domid NAME / domname ID / uptime [DOMAIN]\n"
	      "  sendkey DOMAIN KEYS [HOLD_MS]   e.g. ctrl-alt-delete\n"
	      "  cd-insert DOMAIN VDEV IMAGE / cd-eject DOMAIN VDEV   change CD media (hdc)\n"
	      "  block-list DOMAIN    list the IDE drives\n"
	      "  vncport DOMAIN       print the VNC server's address:port\n"
	      "  screendump DOMAIN FILE   save the screen (.png or .ppm)\n"
	      "  qmp DOMAIN JSON      send one QMP command, print the reply\n"
	      "Environment: HVM_RUNDIR (runtime directory), HVMCTL_HVMHV and HVMCTL_HVMDM\n"
	      "(binaries; default: next to hvmctl, device_model_override wins).\n",
	      f);
}

static int lookup(const char *what, struct domstate *st)
{
	if (domain_find(rundir, what, st)) {
		fprintf(stderr, "hvmctl: domain '%s' does not exist\n", what);
		return -ENOENT;
	}
	return 0;
}

static bool domain_live(const struct domstate *st)
{
	return proc_is(st->sup_pid, st->sup_start) || proc_is(st->hv_pid, st->hv_start);
}

/* The binary next to ours, unless the environment names one. */
static char *find_binary(const char *env, const char *name)
{
	char self[PATH_MAX], *p;
	const char *e = getenv(env);
	ssize_t n;

	if (e && e[0])
		return strdup(e);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		p = dirname(self);
		if (asprintf(&p, "%s/%s", p, name) >= 0)
			return p;
	}
	return strdup(name);
}

static int load_config(const char *path, char **kv, int nkv, struct cfg *c, struct domcfg *d)
{
	char err[512], warn[4096] = "";
	int i, r;

	r = cfg_parse_file(c, path, err, sizeof(err));
	for (i = 0; !r && i < nkv; i++)
		r = cfg_override(c, kv[i], err, sizeof(err));
	if (!r)
		r = cfg_interpret(c, d, err, sizeof(err), warn, sizeof(warn));
	/* before any error: a misspelt key is often what the error is about */
	fputs(warn, stderr);
	if (r) {
		fprintf(stderr, "hvmctl: %s\n", err);
		return r;
	}
	return 0;
}

/* Parent side of a daemonized create: wait for the supervisor's verdict. */
static int wait_child_report(int fd, const char *name)
{
	char buf[600];
	ssize_t n, got = 0;

	while (got < (ssize_t)sizeof(buf) - 1) {
		n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	if (strcmp(buf, "ok")) {
		fprintf(stderr, "hvmctl: cannot start domain %s: %s\n", name,
			got ? buf : "the supervisor died");
		return 1;
	}
	return 0;
}

static void daemon_stdio(const char *name)
{
	char p[PATH_MAX];
	int fd;

	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		close(fd);
	}
	log_path(rundir, "hvmctl", name, p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd >= 0) {
		dup2(fd, 2);
		close(fd);
	}
}

/* MemTotal from /proc/meminfo in MiB, or 0 if it cannot be read. */
static long long host_ram_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	long long kib = 0;
	char line[128];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %lld kB", &kib) == 1)
			break;
	fclose(f);
	return kib / 1024;
}

static int cmd_create(int argc, char **argv)
{
	bool foreground = false, console = false, dry = false;
	struct launch l = { .rundir = rundir, .status_fd = -1 };
	struct cfg c = { 0 };
	struct domcfg d = { 0 };
	char err[512];
	int opt, r, pfd[2];
	pid_t pid;

	optind = 1;
	while ((opt = getopt(argc, argv, "+Fcnh")) != -1) {
		switch (opt) {
		case 'F':
			foreground = true;
			break;
		case 'c':
			console = true;
			break;
		case 'n':
			dry = true;
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "hvmctl: create needs a configuration file\n");
		return 1;
	}
	fprintf(stderr, "Parsing config from %s\n", argv[optind]);
	if (load_config(argv[optind], argv + optind + 1, argc - optind - 1, &c, &d)) {
		cfg_free(&c);
		return 1;
	}
	l.d = &d;
	l.cfg_path = argv[optind];
	l.hv_bin = find_binary("HVMCTL_HVMHV", "hvmhv");
	l.dm_bin = d.device_model ? strdup(d.device_model) : find_binary("HVMCTL_HVMDM", "hvmdm");
	if (dry) {
		char p[PATH_MAX];

		/* Show the id a real create would take now; nothing is reserved. */
		for (l.domid = 1; l.domid < HVM_MAX_DOMID; l.domid++) {
			domdir_path(rundir, l.domid, NULL, p, sizeof(p));
			if (access(p, F_OK))
				break;
		}
		launch_print(&l);
		r = 0;
		goto out;
	}
	cfg_check_memory(&c, &d, host_ram_mib(), err, sizeof(err));
	fputs(err, stderr);
	if (cfg_check_files(&c, &d, err, sizeof(err))) {
		fprintf(stderr, "hvmctl: %s\n", err);
		r = 1;
		goto out;
	}
	r = launch_reserve(&l, err, sizeof(err));
	if (r) {
		fprintf(stderr, "hvmctl: %s\n", err);
		r = 1;
		goto out;
	}
	if (foreground) {
		if (console)
			fprintf(stderr, "hvmctl: -c is ignored with -F\n");
		r = launch_run(&l);
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		perror("hvmctl: pipe");
		domain_remove(rundir, l.domid);
		r = 1;
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("hvmctl: fork");
		domain_remove(rundir, l.domid);
		r = 1;
		goto out;
	}
	if (pid == 0) {
		close(pfd[0]);
		setsid();
		l.status_fd = pfd[1];
		daemon_stdio(d.name);
		_exit(launch_run(&l));
	}
	close(pfd[1]);
	r = wait_child_report(pfd[0], d.name);
	if (!r && console) {
		struct domstate st;

		if (!state_read(rundir, l.domid, &st))
			r = console_attach(rundir, &st) ? 1 : 0;
	}
out:
	free((char *)l.hv_bin);
	free((char *)l.dm_bin);
	domcfg_free(&d);
	cfg_free(&c);
	return r;
}

static const char *state_flags(const struct domstate *st)
{
	struct hvm_status hs;

	if (!strcmp(st->state, "shutdown"))
		return !strcmp(st->reason, "crash") ? "----c-" : "---s--";
	if (!domain_live(st))
		return "-----d"; /* record of a supervisor that vanished */
	if (hv_request(rundir, st->domid, HVM_MSG_QUERY, &hs, sizeof(hs)))
		return "------";
	switch (hs.state) {
	case HVM_STATE_RUNNING:
		return "r-----";
	case HVM_STATE_PAUSED:
		return "--p---";
	case HVM_STATE_SHUTDOWN:
		return "---s--";
	default:
		return "------";
	}
}

static int cmd_list(int argc, char **argv)
{
	static unsigned ids[HVM_MAX_DOMID];
	struct domstate st;
	int n, i;

	n = domain_list(rundir, ids, HVM_MAX_DOMID);
	printf("%-40s %5s %5s %5s %8s %9s\n", "Name", "ID", "Mem", "VCPUs", "State", "Time(s)");
	for (i = 0; i < n; i++) {
		double cpu;

		if (state_read(rundir, ids[i], &st))
			continue;
		if (argc > 1 && strcmp(argv[1], st.name) && strtoul(argv[1], NULL, 10) != st.domid)
			continue;
		cpu = proc_is(st.hv_pid, st.hv_start) ? proc_cpu_seconds(st.hv_pid) : 0;
		printf("%-40s %5u %5lld %5lld %8s %9.1f\n", st.name, st.domid, st.memory, st.vcpus,
		       state_flags(&st), cpu < 0 ? 0 : cpu);
	}
	return 0;
}

/* Wait until the domain record is gone, its generation changes, or it is preserved. */
static int wait_end(const struct domstate *st0, int timeout_s)
{
	long long deadline = (long long)time(NULL) + timeout_s;
	struct domstate st;
	struct timespec ts = { .tv_nsec = 50 * 1000000 };

	for (;;) {
		if (state_read(rundir, st0->domid, &st) || strcmp(st.name, st0->name))
			return 0;
		if (!strcmp(st.state, "shutdown"))
			return 0;
		/* Restarted: done once the new instance is up (its QMP socket exists). */
		if (st.restarts != st0->restarts && !strcmp(st.state, "running"))
			return 0;
		if (timeout_s > 0 && (long long)time(NULL) >= deadline)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
}

static int kill_recorded(const struct domstate *st)
{
	if (proc_is(st->sup_pid, st->sup_start))
		kill(st->sup_pid, SIGKILL);
	if (proc_is(st->dm_pid, st->dm_start))
		kill(st->dm_pid, SIGKILL);
	if (proc_is(st->hv_pid, st->hv_start))
		kill(st->hv_pid, SIGKILL);
	return domain_remove(rundir, st->domid);
}

static bool record_gone(unsigned domid)
{
	struct domstate now;

	return state_read(rundir, domid, &now) != 0;
}

static int cmd_destroy(int argc, char **argv)
{
	struct timespec ts = { .tv_nsec = 50 * 1000000 };
	bool sup = false;
	struct domstate st;
	int i;

	if (argc < 2) {
		fprintf(stderr, "hvmctl: destroy needs a domain\n");
		return 1;
	}
	if (lookup(argv[1], &st))
		return 1;
	if (proc_is(st.hv_pid, st.hv_start) &&
	    hv_request(rundir, st.domid, HVM_MSG_DESTROY, NULL, 0))
		kill(st.hv_pid, SIGKILL);
	/* A live supervisor removes the record once hvmhv has exited. */
	for (i = 0; i < 200; i++) {
		sup = proc_is(st.sup_pid, st.sup_start);
		if (!sup || record_gone(st.domid))
			break;
		nanosleep(&ts, NULL);
	}
	if (record_gone(st.domid))
		return 0;
	if (sup)
		fprintf(stderr, "hvmctl: domain %s did not stop in 10 s; killing it\n", st.name);
	if (kill_recorded(&st)) {
		fprintf(stderr, "hvmctl: cannot remove the record of %s: %s\n", st.name,
			strerror(errno));
		return 1;
	}
	return 0;
}

static int qmp_simple(const struct domstate *st, const char *cmd, char **reply)
{
	char sock[PATH_MAX], err[512];
	char *rep = NULL;
	int r;

	domdir_path(rundir, st->domid, "qmp.sock", sock, sizeof(sock));
	r = qmp_call(sock, cmd, &rep, err, sizeof(err));
	if (r)
		fprintf(stderr, "hvmctl: domain %s: %s\n", st->name, err);
	if (reply)
		*reply = rep;
	else
		free(rep);
	return r;
}

static int qmp_call_quiet(const struct domstate *st, const char *cmd)
{
	char sock[PATH_MAX], err[512];
	char *rep = NULL;
	int r;

	domdir_path(rundir, st->domid, "qmp.sock", sock, sizeof(sock));
	r = qmp_call(sock, cmd, &rep, err, sizeof(err));
	free(rep);
	if (r && r != -ECONNRESET && r != -EPIPE)
		fprintf(stderr, "hvmctl: domain %s: %s\n", st->name, err);
	return r;
}

static int cmd_shutdown(int argc, char **argv, bool reboot)
{
	struct domstate st;
	bool wait = false;
	int timeout = 0, opt, r;

	optind = 1;
	while ((opt = getopt(argc, argv, "+wt:")) != -1) {
		if (opt == 'w') {
			wait = true;
		} else if (opt == 't') {
			timeout = atoi(optarg);
			wait = true;
		} else {
			usage(stderr);
			return 1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "hvmctl: %s needs a domain\n", argv[0]);
		return 1;
	}
	if (lookup(argv[optind], &st))
		return 1;
	if (!domain_live(&st)) {
		fprintf(stderr, "hvmctl: domain %s is not running\n", st.name);
		return 1;
	}
	r = qmp_call_quiet(&st, reboot ? "{\"execute\": \"system_reset\"}"
				       : "{\"execute\": \"system_powerdown\"}");
	/* A reset may end the dm before its reply arrives: that is success too. */
	if (r && r != -ECONNRESET && r != -EPIPE)
		return 1;
	if (!wait)
		return 0;
	r = wait_end(&st, timeout);
	if (r) {
		fprintf(stderr, "hvmctl: domain %s did not %s within %d s\n", st.name,
			reboot ? "reboot" : "shut down", timeout);
		return 1;
	}
	return 0;
}

static int cmd_pause(int argc, char **argv, bool pause)
{
	struct domstate st;
	int r;

	if (argc < 2) {
		fprintf(stderr, "hvmctl: %s needs a domain\n", argv[0]);
		return 1;
	}
	if (lookup(argv[1], &st))
		return 1;
	r = hv_request(rundir, st.domid, pause ? HVM_MSG_PAUSE : HVM_MSG_UNPAUSE, NULL, 0);
	if (r) {
		fprintf(stderr, "hvmctl: cannot %s domain %s: %s\n", argv[0], st.name,
			strerror(-r));
		return 1;
	}
	return 0;
}

static int cmd_console(int argc, char **argv)
{
	struct domstate st;

	if (argc < 2) {
		fprintf(stderr, "hvmctl: console needs a domain\n");
		return 1;
	}
	if (lookup(argv[argc - 1], &st))
		return 1;
	return console_attach(rundir, &st) ? 1 : 0;
}

static int cmd_domid(int argc, char **argv)
{
	struct domstate st;

	if (argc < 2 || lookup(argv[1], &st))
		return 1;
	printf("%u\n", st.domid);
	return 0;
}

static int cmd_domname(int argc, char **argv)
{
	struct domstate st;
	char *end;
	unsigned long id;

	if (argc < 2)
		return 1;
	id = strtoul(argv[1], &end, 10);
	if (*end || !argv[1][0] || id == 0 || id > HVM_MAX_DOMID ||
	    state_read(rundir, (unsigned)id, &st)) {
		fprintf(stderr, "hvmctl: no domain with id '%s'\n", argv[1]);
		return 1;
	}
	printf("%s\n", st.name);
	return 0;
}

static void print_uptime(const struct domstate *st)
{
	struct hvm_status hs;
	long long s;

	if (domain_live(st) && !hv_request(rundir, st->domid, HVM_MSG_QUERY, &hs, sizeof(hs)))
		s = (long long)(hs.uptime_ns / 1000000000ull);
	else if (!strcmp(st->state, "running"))
		s = (long long)time(NULL) - st->started;
	else
		s = 0;
	if (s < 0)
		s = 0;
	printf("%-40s %5u ", st->name, st->domid);
	if (s >= 86400)
		printf("%lld day%s, ", s / 86400, s >= 2 * 86400 ? "s" : "");
	printf("%lld:%02lld:%02lld\n", s / 3600 % 24, s / 60 % 60, s % 60);
}

static int cmd_uptime(int argc, char **argv)
{
	static unsigned ids[HVM_MAX_DOMID];
	struct domstate st;
	int n, i;

	printf("%-40s %5s %s\n", "Name", "ID", "Uptime");
	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			if (lookup(argv[i], &st))
				return 1;
			print_uptime(&st);
		}
		return 0;
	}
	n = domain_list(rundir, ids, HVM_MAX_DOMID);
	for (i = 0; i < n; i++)
		if (!state_read(rundir, ids[i], &st))
			print_uptime(&st);
	return 0;
}

/* "ctrl-alt-delete" -> send-key with qcodes; HMP names map to qcodes. */
static int cmd_sendkey(int argc, char **argv)
{
	static const char *const alias[][2] = {
		{ "del", "delete" },   { "backspace", "backspace" }, { "enter", "ret" },
		{ "return", "ret" },   { "space", "spc" },	     { "escape", "esc" },
		{ "control", "ctrl" }, { "pageup", "pgup" },	     { "pagedown", "pgdn" },
		{ "print", "sysrq" },
	};
	struct json *cmd, *args, *keys;
	struct domstate st;
	char *dup, *tok, *save, *s;
	size_t i;
	int r;

	if (argc < 3) {
		fprintf(stderr, "hvmctl: sendkey needs a domain and keys like ctrl-alt-delete\n");
		return 1;
	}
	if (lookup(argv[1], &st))
		return 1;
	cmd = json_new_object();
	args = json_new_object();
	keys = json_new_array();
	dup = strdup(argv[2]);
	for (tok = strtok_r(dup, "-", &save); tok; tok = strtok_r(NULL, "-", &save)) {
		const char *name = tok;
		struct json *k = json_new_object();

		for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
			if (!strcmp(tok, alias[i][0]))
				name = alias[i][1];
		if (!strncmp(name, "0x", 2)) {
			json_object_set(k, "type", json_new_str("number"));
			json_object_set(k, "data", json_new_int(strtol(name, NULL, 16)));
		} else {
			json_object_set(k, "type", json_new_str("qcode"));
			json_object_set(k, "data", json_new_str(name));
		}
		json_array_add(keys, k);
	}
	free(dup);
	json_object_set(args, "keys", keys);
	if (argc > 3)
		json_object_set(args, "hold-time", json_new_int(atoi(argv[3])));
	json_object_set(cmd, "execute", json_new_str("send-key"));
	json_object_set(cmd, "arguments", args);
	s = json_to_string(cmd);
	json_free(cmd);
	if (!s)
		return 1;
	r = qmp_simple(&st, s, NULL);
	free(s);
	return r ? 1 : 0;
}

/* Run a QMP command built from a json object; prints errors; *ret gets the parsed reply. */
static int qmp_json(const struct domstate *st, struct json *cmd, struct json **ret)
{
	char *s = json_to_string(cmd), *reply = NULL;
	int r;

	json_free(cmd);
	if (!s)
		return -ENOMEM;
	r = qmp_simple(st, s, &reply);
	free(s);
	if (!r && ret && (!reply || json_parse_all(reply, strlen(reply), ret)))
		r = -EPROTO;
	free(reply);
	return r;
}

static struct json *qmp_cmd(const char *name, struct json *args)
{
	struct json *c = json_new_object();

	json_object_set(c, "execute", json_new_str(name));
	if (args)
		json_object_set(c, "arguments", args);
	return c;
}

/* xl cd-insert DOMAIN VDEV TARGET: TARGET may carry a raw: or qcow2: prefix. */
static int cmd_cd_insert(int argc, char **argv)
{
	const char *fmt = "raw", *path;
	char abs[PATH_MAX];
	struct domstate st;
	struct json *args;
	size_t n;

	if (argc < 4) {
		fprintf(stderr, "hvmctl: cd-insert needs a domain, a drive (hdc) and an image\n");
		return 1;
	}
	if (lookup(argv[1], &st))
		return 1;
	path = argv[3];
	if (!strncmp(path, "raw:", 4) || !strncmp(path, "qcow2:", 6)) {
		fmt = path[0] == 'r' ? "raw" : "qcow2";
		path = strchr(path, ':') + 1;
	} else if ((n = strlen(path)) > 6 && !strcmp(path + n - 6, ".qcow2")) {
		fmt = "qcow2";
	}
	/* The dm resolves paths from its own working directory: pass an absolute one. */
	if (!realpath(path, abs)) {
		fprintf(stderr, "hvmctl: cd-insert: %s: %s\n", path, strerror(errno));
		return 1;
	}
	args = json_new_object();
	json_object_set(args, "device", json_new_str(argv[2]));
	json_object_set(args, "filename", json_new_str(abs));
	json_object_set(args, "format", json_new_str(fmt));
	return qmp_json(&st, qmp_cmd("blockdev-change-medium", args), NULL) ? 1 : 0;
}

static int cmd_cd_eject(int argc, char **argv)
{
	struct domstate st;
	struct json *args;

	if (argc < 3) {
		fprintf(stderr, "hvmctl: cd-eject needs a domain and a drive (hdc)\n");
		return 1;
	}
	if (lookup(argv[1], &st))
		return 1;
	args = json_new_object();
	json_object_set(args, "device", json_new_str(argv[2]));
	return qmp_json(&st, qmp_cmd("eject", args), NULL) ? 1 : 0;
}

static int cmd_block_list(int argc, char **argv)
{
	const struct json *ret;
	struct json *rep = NULL;
	struct domstate st;
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "hvmctl: block-list needs a domain\n");
		return 1;
	}
	if (lookup(argv[1], &st) || qmp_json(&st, qmp_cmd("query-block", NULL), &rep))
		return 1;
	ret = json_get(rep, "return");
	printf("%-6s %-6s %-3s %-6s %s\n", "Vdev", "Type", "RO", "Format", "Image");
	for (i = 0; ret && ret->type == JSON_ARRAY && i < ret->len; i++) {
		const struct json *b = ret->v[i], *ins = json_get(b, "inserted");
		const char *dev = json_get_str(b, "device");
		bool removable = false, ro = false;

		json_get_bool(b, "removable", &removable);
		json_get_bool(ins, "ro", &ro);
		printf("%-6s %-6s %-3s %-6s %s\n", dev ? dev : "?", removable ? "cdrom" : "disk",
		       ins ? (ro ? "yes" : "no") : "-",
		       ins && json_get_str(ins, "drv") ? json_get_str(ins, "drv") : "-",
		       ins && json_get_str(ins, "file") ? json_get_str(ins, "file") : "(empty)");
	}
	json_free(rep);
	return 0;
}

static int cmd_vncport(int argc, char **argv)
{
	struct json *rep = NULL;
	const struct json *ret;
	struct domstate st;
	bool on = false;
	int r = 1;

	if (argc < 2) {
		fprintf(stderr, "hvmctl: vncport needs a domain\n");
		return 1;
	}
	if (lookup(argv[1], &st) || qmp_json(&st, qmp_cmd("query-vnc", NULL), &rep))
		return 1;
	ret = json_get(rep, "return");
	json_get_bool(ret, "enabled", &on);
	if (on && json_get_str(ret, "service")) {
		printf("%s:%s\n",
		       json_get_str(ret, "host") ? json_get_str(ret, "host") : "127.0.0.1",
		       json_get_str(ret, "service"));
		r = 0;
	} else {
		fprintf(stderr, "hvmctl: domain %s has no VNC server\n", st.name);
	}
	json_free(rep);
	return r;
}

static int cmd_screendump(int argc, char **argv)
{
	char abs[PATH_MAX], dir[PATH_MAX], *slash;
	struct domstate st;
	struct json *args;
	size_t n;

	if (argc < 3) {
		fprintf(stderr, "hvmctl: screendump needs a domain and a file (.png or .ppm)\n");
		return 1;
	}
	if (lookup(argv[1], &st))
		return 1;
	/* Absolute path: the dm's working directory is not ours. */
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (!realpath(slash ? (dir[0] ? dir : "/") : ".", abs) ||
	    strlen(abs) + strlen(argv[2]) + 2 > sizeof(abs)) {
		fprintf(stderr, "hvmctl: screendump: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	strcat(abs, "/");
	strcat(abs, slash ? slash + 1 : argv[2]);
	n = strlen(abs);
	args = json_new_object();
	json_object_set(args, "filename", json_new_str(abs));
	json_object_set(args, "format",
			json_new_str(n > 4 && !strcmp(abs + n - 4, ".ppm") ? "ppm" : "png"));
	return qmp_json(&st, qmp_cmd("screendump", args), NULL) ? 1 : 0;
}

static int cmd_qmp(int argc, char **argv)
{
	struct json *j = NULL;
	struct domstate st;
	char *reply = NULL;
	int r;

	if (argc < 3) {
		fprintf(stderr, "hvmctl: qmp needs a domain and a JSON command\n");
		return 1;
	}
	if (lookup(argv[1], &st))
		return 1;
	/* An incomplete document would leave the monitor waiting for the rest. */
	r = json_parse_all(argv[2], strlen(argv[2]), &j);
	json_free(j);
	if (r) {
		fprintf(stderr, "hvmctl: qmp: the command is not valid JSON\n");
		return 1;
	}
	r = qmp_simple(&st, argv[2], &reply);
	if (reply)
		printf("%s\n", reply);
	free(reply);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "rundir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd;
	int opt;

	rundir = rundir_default();
	while ((opt = getopt_long(argc, argv, "+h", lopts, NULL)) != -1) {
		if (opt == 'r') {
			rundir = optarg;
		} else if (opt == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	argc -= optind;
	argv += optind;
	cmd = argv[0];
	if (!strcmp(cmd, "create"))
		return cmd_create(argc, argv);
	if (!strcmp(cmd, "list"))
		return cmd_list(argc, argv);
	if (!strcmp(cmd, "destroy"))
		return cmd_destroy(argc, argv);
	if (!strcmp(cmd, "shutdown"))
		return cmd_shutdown(argc, argv, false);
	if (!strcmp(cmd, "reboot"))
		return cmd_shutdown(argc, argv, true);
	if (!strcmp(cmd, "pause"))
		return cmd_pause(argc, argv, true);
	if (!strcmp(cmd, "unpause"))
		return cmd_pause(argc, argv, false);
	if (!strcmp(cmd, "console"))
		return cmd_console(argc, argv);
	if (!strcmp(cmd, "domid"))
		return cmd_domid(argc, argv);
	if (!strcmp(cmd, "domname"))
		return cmd_domname(argc, argv);
	if (!strcmp(cmd, "uptime"))
		return cmd_uptime(argc, argv);
	if (!strcmp(cmd, "sendkey"))
		return cmd_sendkey(argc, argv);
	if (!strcmp(cmd, "qmp"))
		return cmd_qmp(argc, argv);
	if (!strcmp(cmd, "cd-insert"))
		return cmd_cd_insert(argc, argv);
	if (!strcmp(cmd, "cd-eject"))
		return cmd_cd_eject(argc, argv);
	if (!strcmp(cmd, "block-list"))
		return cmd_block_list(argc, argv);
	if (!strcmp(cmd, "vncport"))
		return cmd_vncport(argc, argv);
	if (!strcmp(cmd, "screendump"))
		return cmd_screendump(argc, argv);
	if (!strcmp(cmd, "help"))
		return usage(stdout), 0;
	fprintf(stderr, "hvmctl: unknown command '%s'\n", cmd);
	usage(stderr);
	return 1;
}
