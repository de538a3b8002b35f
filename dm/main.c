// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
/*
 * main.c - hvmdm: command line in qemu-dm's style, attach to hvmhv, build
 * the machine, run the event loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm.h"
#include "device.h"
#include "hvlink.h"
#include "log.h"
#include "loop.h"
#include "console.h"
#include "qmp.h"
#include "sdl.h"
#include "vnc.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: hvmdm -d DOMID -setup PATH [options]\n"
		   "  -d DOMID            domain id (alias -domid)\n"
		   "  -domain-name NAME   domain name\n"
		   "  -m MB               guest memory in MiB\n"
		   "  -vcpus N            number of vCPUs\n"
		   "  -setup PATH         hvmhv's setup socket\n"
		   "  -M pc|xenfv|none    machine (default pc)\n"
		   "  -log FILE           domain log file (default stderr)\n"
		   "  -debug MODS         debug output for modules (comma list or 'all')\n"
		   "  -qmp PATH           QMP monitor socket\n"
		   "  -serial SPEC        pty, stdio, file:PATH, unix:PATH[,server],\n"
		   "                      tcp:HOST:PORT[,server], null, none (repeatable)\n"
		   "  -boot ORDER         boot order letters a, c, d, n (e.g. cda)\n"
		   "  -acpi               ACPI tables and power management\n"
		   "  -localtime          RTC in local time\n"
		   "  -rtc-offset SECS    RTC offset in seconds\n"
		   "  -uuid UUID          domain UUID\n"
		   "  -bios FILE          firmware (hvmhv loads it; recorded for fw_cfg)\n"
		   "  -kernel F -initrd F -append S   direct Linux boot\n"
		   "  -usb                USB UHCI controller (PIIX3 function 00:01.2)\n"
		   "  -usbdevice tablet   a USB tablet on it (absolute pointer; implies -usb)\n"
		   "  -device TYPE[,OPTS] extra device (e.g. hvm-testdev)\n"
		   "  -sdl                SDL2 window (Ctrl-Alt grabs, Ctrl-Alt-F full screen)\n"
		   "  -full-screen        start the SDL window in full screen\n"
		   "  -nographic          no display\n"
		   "  -pidfile FILE       write the process id\n");
}

/* Options a qemu-dm accepts that later device issues implement; warn for now. */
static const char *const unsupported_with_arg[] = { "-vnc", "-k",	   "-videoram",
						    "-net", "-vcpu_avail", "-soundhw",
						    "-vga", "-monitor",	   "-parallel",
						    "-fda", "-fdb" };
static const char *const unsupported_flag[] = { "-vncunused", "-std-vga", "-disable-opengl" };

/* Front-end choices that live only in main (not part of the machine config). */
struct main_opts {
	bool sdl;	  /* -sdl */
	bool full_screen; /* -full-screen */
};

static bool in_list(const char *a, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(a, list[i]))
			return true;
	return false;
}

static int parse_u64(const char *opt, const char *v, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(v, &end, 0);
	if (errno || !*v || *end || *v == '-') {
		fprintf(stderr, "hvmdm: %s %s: expected a non-negative integer\n", opt, v);
		return -EINVAL;
	}
	return 0;
}

#define NEED_ARG()                                                                  \
	do {                                                                        \
		if (i + 1 >= argc) {                                                \
			fprintf(stderr, "hvmdm: option %s needs an argument\n", a); \
			return -EINVAL;                                             \
		}                                                                   \
		v = argv[++i];                                                      \
	} while (0)

/* -drive: the index= option picks the slot; the rest is kept for the IDE model. */
static int parse_drive(struct dm_config *c, const char *v)
{
	struct opts o;
	uint64_t idx = UINT64_MAX;
	unsigned i;
	int err = opts_parse(&o, v);

	if (!err)
		err = opts_get_u64(&o, "index", UINT64_MAX, &idx);
	if (!err && idx == UINT64_MAX) {
		const char *media = opts_get(&o, "media");

		for (i = media && !strcmp(media, "cdrom") ? 2 : 0; i < 4 && c->drive[i]; i++)
			;
		idx = i;
	}
	opts_free(&o);
	if (err || idx > 3 || c->drive[idx]) {
		fprintf(stderr, "hvmdm: -drive %s: %s\n", v,
			err ? "malformed options" : "index must be a free slot 0-3 (hda-hdd)");
		return -EINVAL;
	}
	c->drive[idx] = (char *)v;
	return 0;
}

/* -hda FILE style shortcuts become drive specs. */
static int legacy_drive(struct dm_config *c, const char *opt, const char *file)
{
	char *spec;
	int idx = !strcmp(opt, "-cdrom") ? 2 : opt[3] - 'a';

	if (idx < 0 || idx > 3 || c->drive[idx]) {
		fprintf(stderr, "hvmdm: %s: that IDE slot is already in use\n", opt);
		return -EINVAL;
	}
	if (asprintf(&spec, "file=%s,format=raw%s", file,
		     !strcmp(opt, "-cdrom") ? ",media=cdrom" : "") < 0)
		return -ENOMEM;
	c->drive[idx] = spec;
	return 0;
}

static int parse_args(struct dm_config *c, struct main_opts *m, int argc, char **argv)
{
	uint64_t n;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "-d") || !strcmp(a, "-domid")) {
			NEED_ARG();
			if (parse_u64(a, v, &n) || n > 0x7fff)
				return -EINVAL;
			c->domid = (uint32_t)n;
		} else if (!strcmp(a, "-domain-name") || !strcmp(a, "-name")) {
			NEED_ARG();
			c->name = (char *)v;
		} else if (!strcmp(a, "-m")) {
			NEED_ARG();
			if (parse_u64(a, v, &c->ram_mb))
				return -EINVAL;
		} else if (!strcmp(a, "-vcpus")) {
			NEED_ARG();
			if (parse_u64(a, v, &n) || !n || n > HVM_MAX_VCPUS) {
				fprintf(stderr, "hvmdm: -vcpus must be 1-%d\n", HVM_MAX_VCPUS);
				return -EINVAL;
			}
			c->vcpus = (uint32_t)n;
		} else if (!strcmp(a, "-setup")) {
			NEED_ARG();
			c->setup_path = (char *)v;
		} else if (!strcmp(a, "-M")) {
			NEED_ARG();
			c->machine = (char *)v;
		} else if (!strcmp(a, "-log")) {
			NEED_ARG();
			c->log_path = (char *)v;
		} else if (!strcmp(a, "-debug")) {
			NEED_ARG();
			c->debug = (char *)v;
		} else if (!strcmp(a, "-qmp")) {
			NEED_ARG();
			c->qmp_path = (char *)v;
		} else if (!strcmp(a, "-serial")) {
			NEED_ARG();
			if (c->nr_serial == 4) {
				fprintf(stderr, "hvmdm: at most 4 -serial ports (COM1-COM4)\n");
				return -EINVAL;
			}
			c->serial[c->nr_serial++] = (char *)v;
		} else if (!strcmp(a, "-boot")) {
			NEED_ARG();
			c->boot = (char *)v;
		} else if (!strcmp(a, "-acpi")) {
			c->acpi = true;
		} else if (!strcmp(a, "-localtime")) {
			c->localtime = true;
		} else if (!strcmp(a, "-rtc-offset")) {
			NEED_ARG();
			c->rtc_offset = strtoll(v, NULL, 0);
		} else if (!strcmp(a, "-uuid")) {
			NEED_ARG();
			c->uuid = (char *)v;
		} else if (!strcmp(a, "-bios")) {
			NEED_ARG();
			c->bios = (char *)v;
		} else if (!strcmp(a, "-kernel")) {
			NEED_ARG();
			c->kernel = (char *)v;
		} else if (!strcmp(a, "-initrd")) {
			NEED_ARG();
			c->initrd = (char *)v;
		} else if (!strcmp(a, "-append")) {
			NEED_ARG();
			c->append = (char *)v;
		} else if (!strcmp(a, "-drive")) {
			NEED_ARG();
			if (parse_drive(c, v))
				return -EINVAL;
		} else if (!strcmp(a, "-hda") || !strcmp(a, "-hdb") || !strcmp(a, "-hdc") ||
			   !strcmp(a, "-hdd") || !strcmp(a, "-cdrom")) {
			NEED_ARG();
			if (legacy_drive(c, a, v))
				return -EINVAL;
		} else if (!strcmp(a, "-usb")) {
			c->usb = true;
		} else if (!strcmp(a, "-usbdevice")) {
			NEED_ARG();
			if (c->nr_usbdevice == 4) {
				fprintf(stderr, "hvmdm: at most 4 -usbdevice options\n");
				return -EINVAL;
			}
			c->usbdevice[c->nr_usbdevice++] = (char *)v;
			c->usb = true;
		} else if (!strcmp(a, "-fda") || !strcmp(a, "-fdb")) {
			NEED_ARG();
			c->floppy[a[3] - 'a'] = (char *)v;
		} else if (!strcmp(a, "-device")) {
			NEED_ARG();
			if (c->nr_extra_devices == 32) {
				fprintf(stderr, "hvmdm: too many -device options\n");
				return -EINVAL;
			}
			c->extra_devices[c->nr_extra_devices++] = (char *)v;
		} else if (!strcmp(a, "-vga")) {
			NEED_ARG();
			if (strcmp(v, "cirrus") && strcmp(v, "std") && strcmp(v, "none")) {
				fprintf(stderr, "hvmdm: -vga %s: use cirrus, std or none\n", v);
				return -EINVAL;
			}
			c->vga = (char *)v;
		} else if (!strcmp(a, "-std-vga")) {
			c->vga = "std";
		} else if (!strcmp(a, "-videoram")) {
			NEED_ARG();
			if (parse_u64(a, v, &c->videoram_mb))
				return -EINVAL;
		} else if (!strcmp(a, "-vnc")) {
			NEED_ARG();
			c->vnc = (char *)v;
		} else if (!strcmp(a, "-vncunused")) {
			c->vncunused = true;
		} else if (!strcmp(a, "-vnc-password-file")) {
			NEED_ARG();
			c->vnc_password_file = (char *)v;
		} else if (!strcmp(a, "-debugcon")) {
			NEED_ARG();
			c->debugcon = (char *)v;
		} else if (!strcmp(a, "-k")) {
			NEED_ARG();
			c->keymap = (char *)v;
		} else if (!strcmp(a, "-sdl")) {
			m->sdl = true;
		} else if (!strcmp(a, "-full-screen")) {
			m->full_screen = true;
		} else if (!strcmp(a, "-nographic")) {
			c->nographic = true;
		} else if (!strcmp(a, "-pidfile")) {
			NEED_ARG();
			c->pidfile = (char *)v;
		} else if (in_list(a, unsupported_with_arg,
				   sizeof(unsupported_with_arg) / sizeof(*unsupported_with_arg))) {
			NEED_ARG();
			fprintf(stderr, "hvmdm: warning: %s %s not supported yet, ignored\n", a, v);
		} else if (in_list(a, unsupported_flag,
				   sizeof(unsupported_flag) / sizeof(*unsupported_flag))) {
			fprintf(stderr, "hvmdm: warning: %s not supported yet, ignored\n", a);
		} else {
			fprintf(stderr, "hvmdm: unknown option '%s' (see hvmdm --help)\n", a);
			return -EINVAL;
		}
	}
	if (!c->setup_path) {
		fprintf(stderr, "hvmdm: -setup PATH is required (the hypervisor's setup socket)\n");
		return -EINVAL;
	}
	if (!c->vcpus)
		c->vcpus = 1;
	if (!c->machine)
		c->machine = "pc";
	if (!c->name)
		c->name = "";
	if (m->sdl && c->nographic) {
		fprintf(stderr, "hvmdm: warning: -nographic wins over -sdl\n");
		m->sdl = false;
	}
	if (m->sdl && !sdl_available()) {
		fprintf(stderr, "hvmdm: -sdl: this hvmdm was built without SDL2 (install "
				"libsdl2-dev and rebuild); use -vnc instead\n");
		return -ENOTSUP;
	}
	return 0;
}

static void write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		dm_warn("dm", "cannot write pidfile %s", path);
		return;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

/* The display adapter the configuration asks for (before the front ends). */
static int dm_build_display(struct dm *dm)
{
	const char *vga = dm->cfg.vga ? dm->cfg.vga : "cirrus";
	const char *type = !strcmp(vga, "std") ? "stdvga" : "cirrus";
	char opts[32] = "";
	int err;

	if (!strcmp(dm->cfg.machine, "none") || !strcmp(vga, "none"))
		return 0;
	if (!dev_type_find(type)) {
		dm_warn("dm", "display '%s' not available in this build; using std VGA", type);
		type = "stdvga";
	}
	if (dm->cfg.videoram_mb)
		snprintf(opts, sizeof(opts), "vram=%llu", (unsigned long long)dm->cfg.videoram_mb);
	err = dev_create(dm, type, opts[0] ? opts : NULL, NULL);
	if (err == -ENODEV) {
		dm_warn("dm", "machine has no PCI bus: no display adapter");
		return 0;
	}
	return err;
}

/* Read the first line of the VNC password file (never pass passwords on argv). */
static int read_password(const char *path, char *pw, size_t cap)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(pw, (int)cap, f))
		pw[0] = 0;
	fclose(f);
	pw[strcspn(pw, "\r\n")] = 0;
	return 0;
}

/* -vnc ADDR:DISPLAY[,password] (libxl's form) or a bare display number. */
static int dm_start_vnc(struct dm *dm)
{
	struct vnc_opts o = { .find_unused = dm->cfg.vncunused, .keymap = dm->cfg.keymap };
	char addr[128] = "127.0.0.1", pw[128] = "", *colon, *spec;
	int err;

	if (!dm->cfg.vnc || !strcmp(dm->cfg.vnc, "none"))
		return 0;
	spec = strdup(dm->cfg.vnc);
	if (!spec)
		return -ENOMEM;
	spec[strcspn(spec, ",")] = 0;
	colon = strrchr(spec, ':');
	if (colon) {
		*colon = 0;
		if (*spec)
			snprintf(addr, sizeof(addr), "%s", spec);
		o.display = atoi(colon + 1);
	} else {
		o.display = atoi(spec);
	}
	free(spec);
	if (o.display < 0 || o.display > 59635) {
		dm_err("dm", "-vnc %s: display must be 0-59635", dm->cfg.vnc);
		return -EINVAL;
	}
	if (dm->cfg.vnc_password_file) {
		err = read_password(dm->cfg.vnc_password_file, pw, sizeof(pw));
		if (err) {
			dm_err("dm", "-vnc-password-file %s: %s", dm->cfg.vnc_password_file,
			       strerror(-err));
			return err;
		}
	}
	o.listen = addr;
	o.password = pw;
	err = vnc_start(dm, &o);
	memset(pw, 0, sizeof(pw));
	return err;
}

static int dm_start_sdl(struct dm *dm, const struct main_opts *m)
{
	struct sdl_opts o = { .full_screen = m->full_screen };

	if (!m->sdl)
		return 0;
	return sdl_start(dm, &o);
}

static int dm_run(struct dm *dm, const struct main_opts *m)
{
	int err;

	err = loop_create(&dm->loop);
	if (err)
		return err;
	err = hvlink_connect(dm, dm->cfg.setup_path);
	if (err)
		return err;
	if (dm->cfg.ram_mb &&
	    dm->cfg.ram_mb != (dm->info.ram_below_4g + dm->info.ram_above_4g) >> 20)
		dm_warn("dm", "-m %llu differs from the hypervisor's RAM; using the hypervisor's",
			(unsigned long long)dm->cfg.ram_mb);
	dm->cfg.ram_mb = (dm->info.ram_below_4g + dm->info.ram_above_4g) >> 20;
	err = pc_machine_build(dm);
	if (err) {
		dm_err("dm", "building machine '%s' failed: %s", dm->cfg.machine, strerror(-err));
		return err;
	}
	err = dm_build_display(dm);
	if (!err)
		err = dm_start_vnc(dm);
	if (!err)
		err = dm_start_sdl(dm, m);
	if (err) {
		dm_err("dm", "display setup failed: %s", strerror(-err));
		return err;
	}
	if (dm->cfg.qmp_path) {
		err = qmp_start(dm, dm->cfg.qmp_path);
		if (!err && dm->console)
			err = console_qmp_register(dm);
		if (err)
			return err;
	}
	err = hvlink_ready(dm);
	if (err) {
		dm_err("dm", "hypervisor refused READY: %s", strerror(-err));
		return err;
	}
	dm_info("dm", "domain %u (%s) running", dm->cfg.domid, dm->cfg.name);
	return loop_run(dm->loop);
}

int main(int argc, char **argv)
{
	struct dm *dm = calloc(1, sizeof(*dm));
	struct main_opts m = { 0 };
	int err;

	if (!dm)
		return 1;
	dm_init_common(dm);
	if (parse_args(&dm->cfg, &m, argc, argv))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	err = dm_log_open(dm->cfg.log_path);
	if (err) {
		fprintf(stderr, "hvmdm: cannot open log %s: %s\n", dm->cfg.log_path,
			strerror(-err));
		return 1;
	}
	if (dm->cfg.debug)
		dm_log_set_debug(dm->cfg.debug);
	if (dm->cfg.pidfile)
		write_pidfile(dm->cfg.pidfile);
	dm_info("dm", "hvmdm starting for domain %u (%s)", dm->cfg.domid, dm->cfg.name);
	err = dm_run(dm, &m);
	sdl_stop(dm);
	dm_destroy(dm);
	return err ? 1 : 0;
}
