// SPDX-License-Identifier: MIT
/*
 * test_cfg.c - hvmctl's configuration parser (tools/cfg.c): xl.cfg and xm
 * Python-style syntax, command-line overrides, defaults, every key's
 * checks and the exact error and warning messages.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "tap.h"

static char err[512], warn[4096];

/* Parse + interpret; returns 0 or -EINVAL with err filled. */
static int load(const char *text, struct domcfg *d)
{
	struct cfg c = { 0 };
	int r;

	err[0] = warn[0] = '\0';
	memset(d, 0, sizeof(*d));
	r = cfg_parse(&c, text, "guest.cfg", err, sizeof(err));
	if (!r)
		r = cfg_interpret(&c, d, err, sizeof(err), warn, sizeof(warn));
	cfg_free(&c);
	return r;
}

static void expect_error(const char *text, const char *msg)
{
	struct domcfg d;
	int r = load(text, &d);

	CHECK(r == -EINVAL);
	CHECK(!strcmp(err, msg));
	if (strcmp(err, msg))
		fprintf(stderr, "  text: %s\n  got:  %s\n  want: %s\n", text, err, msg);
	domcfg_free(&d);
}

static void test_xl_syntax(void)
{
	static const char xl[] = "# an xl.cfg\n"
				 "type = \"hvm\"\n"
				 "name = \"debian\"   # trailing comment\n"
				 "memory = 512\n"
				 "maxmem = 0x200\n"
				 "vcpus = 2\n"
				 "uuid = \"01234567-89ab-cdef-0123-456789ABCDEF\"\n"
				 "serial = [ 'pty', \"file:/tmp/s1\", ]\n"
				 "disk = [ '/img/d.qcow2,qcow2,hda,rw',\n"
				 "         # a comment inside a list\n"
				 "         '/img/cd.iso,,hdc,cdrom' ]\n"
				 "vif = [ 'mac=00:16:3e:00:00:01,bridge=br0,model=e1000' ]\n"
				 "boot = \"dc\"; acpi = 0; localtime = 1\n"
				 "rtc_timeoffset = -3600\n"
				 "on_poweroff = \"destroy\"\n"
				 "on_reboot = 'restart'\n"
				 "on_crash = \"preserve\"\n"
				 "accel = \"emu\"\n"
				 "firmware = \"/usr/share/seabios/bios.bin\"\n"
				 "device_model_version = \"qemu-xen-traditional\"\n"
				 "device_model_override = \"/opt/hvmdm\"\n"
				 "vnc = 1\nvnclisten = \"0.0.0.0\"\nvncdisplay = 3\nvncunused = 0\n"
				 "vncpasswd = ''\nkeymap = 'de'\nstdvga = 1\nvideoram = 16\n"
				 "usb = 1\nusbdevice = 'tablet'\nsoundhw = 'sb16'\nsdl = 0\n";
	struct domcfg d;

	CHECK_EQ(load(xl, &d), 0);
	if (err[0])
		fprintf(stderr, "%s\n", err);
	CHECK(d.name && !strcmp(d.name, "debian"));
	CHECK_EQ(d.memory, 512);
	CHECK_EQ(d.maxmem, 512);
	CHECK_EQ(d.vcpus, 2);
	CHECK(d.uuid && !strcmp(d.uuid, "01234567-89ab-cdef-0123-456789ABCDEF"));
	CHECK_EQ(d.nr_serial, 2);
	CHECK(d.nr_serial == 2 && !strcmp(d.serial[0], "pty") &&
	      !strcmp(d.serial[1], "file:/tmp/s1"));
	CHECK_EQ(d.nr_disk, 2);
	CHECK(d.nr_disk == 2 && !strcmp(d.disk[1], "/img/cd.iso,,hdc,cdrom"));
	CHECK_EQ(d.nr_vif, 1);
	CHECK(!strcmp(d.boot, "dc"));
	CHECK(!d.acpi && d.localtime && d.apic && d.pae);
	CHECK_EQ(d.rtc_timeoffset, (uint64_t)-3600);
	CHECK_EQ(d.on_poweroff, ACT_DESTROY);
	CHECK_EQ(d.on_reboot, ACT_RESTART);
	CHECK_EQ(d.on_crash, ACT_PRESERVE);
	CHECK(!strcmp(d.accel, "emu"));
	CHECK(!strcmp(d.firmware, "/usr/share/seabios/bios.bin"));
	CHECK(!strcmp(d.device_model, "/opt/hvmdm"));
	CHECK(d.vnc && !d.vncunused && d.vncdisplay == 3 && !strcmp(d.vnclisten, "0.0.0.0"));
	CHECK(d.vncpasswd && !d.vncpasswd[0]);
	CHECK(!strcmp(d.keymap, "de") && d.stdvga && d.videoram == 16 && d.usb);
	CHECK(d.nr_usbdevice == 1 && !strcmp(d.usbdevice[0], "tablet"));
	CHECK(!strcmp(d.soundhw, "sb16") && !d.sdl);
	/* Every key above is known; those without a device in hvmdm say so (USB has one). */
	CHECK(!strcmp(warn, "guest.cfg:12: warning: hvmdm emulates no network card yet; the "
			    "guest runs without 'vif'\n"
			    "guest.cfg:32: warning: hvmdm emulates no sound card yet; the guest "
			    "runs "
			    "without 'soundhw'\n"));
	if (strstr(warn, "unknown"))
		fprintf(stderr, "%s", warn);
	domcfg_free(&d);
}

static void test_xm_syntax(void)
{
	/* tools/examples/xmexample.hvm style, Python syntax. */
	static const char xm[] = "import os, re\n"
				 "kernel = \"/usr/lib/xen/boot/hvmloader\"\n"
				 "builder='hvm'\n"
				 "memory = 128\n"
				 "name = \"ExampleHVMDomain\"\n"
				 "vif = [ 'type=ioemu, bridge=xenbr0' ]\n"
				 "disk = [ 'file:/var/images/min-el3-i386.img,hda,w', "
				 "',hdc:cdrom,r' ]\n"
				 "device_model = 'qemu-dm'\n"
				 "boot=\"cda\"\n"
				 "sdl=0\nopengl=1\nvnc=1\nvnclisten=\"127.0.0.1\"\nvncdisplay="
				 "1\nvncunused=1\n"
				 "vncpasswd=''\nnographic=0\nstdvga=0\nserial='pty'\nmonitor=1\n"
				 "soundhw='sb16'\nlocaltime=1\nrtc_timeoffset=3600\n"
				 "usb=1\nusbdevice='tablet'\nkeymap='ja'\nxen_platform_pci=1\n"
				 "acpi = True\napic = False\n"
				 "on_crash = 'restart'\n";
	struct domcfg d;
	int r;

	/* Python statements other than assignments are a syntax error. */
	r = load(xm, &d);
	CHECK_EQ(r, (uint64_t)-EINVAL);
	CHECK(!strcmp(err, "guest.cfg:1: 'import ...' is a Python statement; only KEY = VALUE "
			   "settings are read (delete the line, or write out its result)"));
	domcfg_free(&d);

	r = load(xm + strlen("import os, re\n"), &d);
	CHECK_EQ(r, 0);
	if (r)
		fprintf(stderr, "%s\n", err);
	CHECK(!strcmp(d.name, "ExampleHVMDomain"));
	CHECK(d.kernel == NULL); /* hvmloader is dropped with a warning */
	CHECK(d.device_model == NULL);
	CHECK(d.nr_serial == 1 && !strcmp(d.serial[0], "pty"));
	CHECK(d.nr_disk == 2 && !strcmp(d.disk[1], ",hdc:cdrom,r"));
	CHECK(d.acpi && !d.apic);
	CHECK_EQ(d.on_crash, ACT_RESTART);
	CHECK_EQ(d.rtc_timeoffset, 3600);
	CHECK(strstr(warn, "guest.cfg:1: warning: kernel = \"/usr/lib/xen/boot/hvmloader\"") !=
	      NULL);
	CHECK(strstr(warn, "guest.cfg:10: warning: 'opengl' is accepted but has no effect") !=
	      NULL);
	CHECK(strstr(warn, "'monitor' is accepted but has no effect") != NULL);
	domcfg_free(&d);
}

static void test_defaults_and_overrides(void)
{
	struct cfg c = { 0 };
	struct domcfg d;

	CHECK_EQ(load("name='a'", &d), 0);
	CHECK_EQ(d.memory, 128);
	CHECK_EQ(d.vcpus, 1);
	CHECK(!strcmp(d.boot, "cda"));
	CHECK(d.acpi && d.vnc && d.vncunused && d.vncdisplay == -1);
	CHECK_EQ(d.on_poweroff, ACT_DESTROY);
	CHECK_EQ(d.on_reboot, ACT_RESTART);
	CHECK_EQ(d.on_crash, ACT_DESTROY);
	CHECK_EQ(d.nr_serial, 0);
	domcfg_free(&d);

	CHECK_EQ(cfg_parse(&c, "name = 'x'\nmemory = 64\n", "f.cfg", err, sizeof(err)), 0);
	CHECK_EQ(cfg_override(&c, "memory=256", err, sizeof(err)), 0);
	CHECK_EQ(cfg_override(&c, "name=\"y\"", err, sizeof(err)), 0);
	CHECK_EQ(cfg_override(&c, "serial=['pty','null']", err, sizeof(err)), 0);
	CHECK_EQ(cfg_override(&c, "boot=d", err, sizeof(err)), 0); /* bare string */
	CHECK_EQ(cfg_override(&c, "extra=console=ttyS0 quiet", err, sizeof(err)), 0);
	CHECK_EQ(cfg_override(&c, "kernel=/boot/vmlinuz", err, sizeof(err)), 0);
	CHECK_EQ(cfg_override(&c, "noequals", err, sizeof(err)), (uint64_t)-EINVAL);
	CHECK(!strcmp(err, "command line: 'noequals': expected KEY=VALUE"));
	CHECK_EQ(cfg_override(&c, "bad key=1", err, sizeof(err)), (uint64_t)-EINVAL);
	CHECK_EQ(cfg_interpret(&c, &d, err, sizeof(err), warn, sizeof(warn)), 0);
	CHECK_EQ(d.memory, 256);
	CHECK(!strcmp(d.name, "y"));
	CHECK(d.nr_serial == 2 && !strcmp(d.serial[1], "null"));
	CHECK(!strcmp(d.boot, "d"));
	CHECK(!strcmp(d.extra, "console=ttyS0 quiet"));
	domcfg_free(&d);
	/* Errors in overrides name the command line. */
	CHECK_EQ(cfg_override(&c, "memory=lots", err, sizeof(err)), 0);
	CHECK_EQ(cfg_interpret(&c, &d, err, sizeof(err), NULL, 0), (uint64_t)-EINVAL);
	CHECK(!strcmp(err, "command line: memory = \"lots\": expected an integer number of MiB "
			   "(a number), not a string; for example: memory = 512"));
	domcfg_free(&d);
	cfg_free(&c);
}

static void test_syntax_errors(void)
{
	expect_error("name = 'a\n", "guest.cfg:1: name: unterminated string (end it with ' on the "
				    "same line)");
	expect_error("name = \"a'\n", "guest.cfg:1: name: unterminated string (end it with \" on "
				      "the same line)");
	expect_error("extra = 'a\\\n", "guest.cfg:1: extra: unterminated string (end it with ' on "
				       "the same line)");
	expect_error("\n\nname = a\n", "guest.cfg:3: name: expected a quoted string, a number or a "
				       "[list]");
	expect_error("memory 12\n", "guest.cfg:1: expected '=' after 'memory' (settings are KEY = "
				    "VALUE)");
	expect_error("name='a'\nif arch == 'x86_64':\n", "guest.cfg:2: 'if ...' is a Python "
							 "statement; only KEY = VALUE settings are "
							 "read (delete the line, or write out its "
							 "result)");
	expect_error("= 5\n", "guest.cfg:1: expected a setting name");
	expect_error("memory = 12 13\n", "guest.cfg:1: memory: unexpected text '13' after the "
					 "value "
					 "(quote a value that has spaces; a comment starts with "
					 "'#')");
	expect_error("name='a'\nmemory = 256 MB  # RAM\n", "guest.cfg:2: memory: unexpected text "
							   "'MB' after the value (quote a value "
							   "that has spaces; a comment starts with "
							   "'#')");
	expect_error("memory = 12abc\n", "guest.cfg:1: memory: malformed number '12abc' "
					 "(if it is a string, quote it: \"12abc\")");
	expect_error("memory = 0x\n", "guest.cfg:1: memory: malformed number '0x' "
				      "(if it is a string, quote it: \"0x\")");
	expect_error("memory = 012\n", "guest.cfg:1: memory: malformed number (leading zero)");
	expect_error("memory = 99999999999999999999\n", "guest.cfg:1: memory: number out of range");
	expect_error("disk = [ 'a'\n", "guest.cfg:2: disk: list not closed with ']'");
	expect_error("disk = [ 'a' 'b' ]\n", "guest.cfg:1: disk: expected ',' or ']' in list");
	expect_error("disk = [ [ 'a' ] ]\n", "guest.cfg:1: disk: expected a quoted string, a "
					     "number or a "
					     "[list]");
	expect_error("disk = [ ,]\n", "guest.cfg:1: disk: expected a quoted string, a number or a "
				      "[list]");
	expect_error("memory = 1.5\n", "guest.cfg:1: memory: malformed number '1.5' "
				       "(if it is a string, quote it: \"1.5\")");
	/* an unquoted address names the fix */
	expect_error("vnclisten = 127.0.0.1 # loopback\n", "guest.cfg:1: vnclisten: malformed "
							   "number '127.0.0.1' "
							   "(if it is a string, quote it: "
							   "\"127.0.0.1\")");
}

static void test_value_errors(void)
{
	expect_error("name='a'\nmemory = \"lots\"\n", "guest.cfg:2: memory = \"lots\": expected an "
						      "integer number of MiB"
						      " (a number), not a string; for example: "
						      "memory = 512");
	expect_error("name='a'\nmemory = 0\n", "guest.cfg:2: memory = 0: expected an integer "
					       "number of MiB (1..1048576)");
	expect_error("name='a'\nmemory = [1]\n", "guest.cfg:2: memory = [\"1\"]: expected an "
						 "integer number of MiB"
						 " (a number), not a list; for example: memory = "
						 "512");
	expect_error("name='a'\nmaxmem = 'x'\n", "guest.cfg:2: maxmem = \"x\": expected an integer "
						 "number of MiB"
						 " (a number), not a string; for example: maxmem = "
						 "1024");
	expect_error("name='a'\nmemory=256\nmaxmem = 128\n", "guest.cfg:3: maxmem = 128: must not "
							     "be below memory (256 MiB)");
	expect_error("name='a'\nvcpus = 65\n", "guest.cfg:2: vcpus = 65: expected a number of "
					       "vCPUs (1..64)");
	expect_error("name='a'\nvcpus = 'two'\n", "guest.cfg:2: vcpus = \"two\": expected a number "
						  "of vCPUs"
						  " (a number), not a string; for example: vcpus = "
						  "2");
	expect_error("type = 'pv'\n", "guest.cfg:1: type = \"pv\": expected \"hvm\" (only HVM "
				      "guests are supported)");
	expect_error("builder = 'linux'\n", "guest.cfg:1: builder = \"linux\": expected \"hvm\" "
					    "(only HVM guests are supported)");
	expect_error("name = '9lives'\n", "guest.cfg:1: name = \"9lives\": expected a name of 1-64 "
					  "letters, digits, '-', "
					  "'_', '.' or '+', not starting with a digit or '-'");
	expect_error("name = 'a b'\n", "guest.cfg:1: name = \"a b\": expected a name of 1-64 "
				       "letters, digits, '-', "
				       "'_', '.' or '+', not starting with a digit or '-'");
	expect_error("name = 5\n", "guest.cfg:1: name = 5: expected a name of 1-64 letters, "
				   "digits, '-', '_', '.' or '+', not starting with a digit or "
				   "'-'"
				   " (a quoted string), not a number; for example: name = "
				   "\"debian\"");
	expect_error("memory = 64\n", "the configuration has no 'name' (it is required)");
	expect_error("name='a'\nuuid = 'xyz'\n", "guest.cfg:2: uuid = \"xyz\": expected a UUID "
						 "like "
						 "01234567-89ab-cdef-0123-456789abcdef");
	expect_error("name='a'\nboot = 'cx'\n", "guest.cfg:2: boot = \"cx\": expected up to 4 of a "
						"(floppy), c (disk), d "
						"(CD-ROM), n (network)");
	expect_error("name='a'\nboot = ''\n", "guest.cfg:2: boot = \"\": expected up to 4 of a "
					      "(floppy), c (disk), d "
					      "(CD-ROM), n (network)");
	expect_error("name='a'\nacpi = 2\n", "guest.cfg:2: acpi = 2: expected 0 or 1");
	expect_error("name='a'\napic = 'maybe'\n", "guest.cfg:2: apic = \"maybe\": expected 0 or "
						   "1"
						   " (a boolean), not a string; for example: apic "
						   "= 1");
	expect_error("name='a'\npae = [0]\n", "guest.cfg:2: pae = [\"0\"]: expected 0 or 1"
					      " (a boolean), not a list; for example: pae = 1");
	expect_error("name='a'\nlocaltime = -1\n", "guest.cfg:2: localtime = -1: expected 0 or 1");
	expect_error("name='a'\nrtc_timeoffset = 'soon'\n", "guest.cfg:2: rtc_timeoffset = "
							    "\"soon\": expected an offset in "
							    "seconds"
							    " (a number), not a string; for "
							    "example: rtc_timeoffset = 3600");
	expect_error("name='a'\nserial = 1\n", "guest.cfg:2: serial = 1: expected a serial device "
					       "like 'pty' (a string or a list of strings)"
					       ", not a number; for example: serial = \"pty\"");
	expect_error("name='a'\nserial = ['pty','pty','pty','pty','pty']\n", "guest.cfg:2: serial "
									     "= [\"pty\", \"pty\", "
									     "\"pty\", \"pty\", "
									     "\"pty\"]: at most 4 "
									     "entries are "
									     "supported");
	expect_error("name='a'\nkernel = ''\n", "guest.cfg:2: kernel = \"\": expected a kernel "
						"image path");
	expect_error("name='a'\nramdisk = 5\n", "guest.cfg:2: ramdisk = 5: expected an initrd "
						"path"
						" (a quoted string), not a number; for example: "
						"ramdisk = \"/boot/initrd.img\"");
	expect_error("name='a'\nramdisk = '/i'\n", "guest.cfg:2: ramdisk = \"/i\": needs kernel = "
						   "\"...\" as well");
	/* cmdline is extra's xm name; the message quotes the line that set it. */
	expect_error("cmdline = 'quiet'\nname='a'\n", "guest.cfg:1: cmdline = \"quiet\": needs "
						      "kernel = \"...\" as well");
	expect_error("name='a'\nextra = 5\n", "guest.cfg:2: extra = 5: expected a kernel command "
					      "line"
					      " (a quoted string), not a number; for example: "
					      "extra = \"console=ttyS0\"");
	expect_error("name='a'\nfirmware = 'ovmf'\n", "guest.cfg:2: firmware = \"ovmf\": expected "
						      "'bios', 'seabios' or a firmware "
						      "file path");
	expect_error("name='a'\non_poweroff = 'explode'\n", "guest.cfg:2: on_poweroff = "
							    "\"explode\": expected destroy, "
							    "restart, preserve, "
							    "rename-restart, coredump-destroy or "
							    "coredump-restart");
	expect_error("name='a'\non_reboot = 1\n", "guest.cfg:2: on_reboot = 1: expected destroy, "
						  "restart, preserve, "
						  "rename-restart, coredump-destroy or "
						  "coredump-restart"
						  " (a quoted string), not a number; for example: "
						  "on_reboot = \"restart\"");
	expect_error("name='a'\non_crash = ''\n", "guest.cfg:2: on_crash = \"\": expected destroy, "
						  "restart, preserve, "
						  "rename-restart, coredump-destroy or "
						  "coredump-restart");
	expect_error("name='a'\ndevice_model_override = 3\n", "guest.cfg:2: device_model_override "
							      "= 3: expected a device model path"
							      " (a quoted string), not a number; "
							      "for example: device_model_override "
							      "= \"/usr/local/bin/hvmdm\"");
	expect_error("name='a'\ndevice_model_version = 'qemu-upstream'\n", "guest.cfg:2: "
									   "device_model_version = "
									   "\"qemu-upstream\": "
									   "expected "
									   "qemu-xen-traditional, "
									   "qemu-xen or hvmdm");
	expect_error("name='a'\naccel = 'tcg'\n", "guest.cfg:2: accel = \"tcg\": expected auto, "
						  "kvm or emu");
	expect_error("name='a'\nvnc = 'x'\n", "guest.cfg:2: vnc = \"x\": expected 0 or 1"
					      " (a boolean), not a string; for example: vnc = 1");
	expect_error("name='a'\nvncdisplay = 100\n", "guest.cfg:2: vncdisplay = 100: expected a "
						     "display number (0..99)");
	expect_error("name='a'\nvideoram = 0\n", "guest.cfg:2: videoram = 0: expected a VRAM size "
						 "in MiB (1..256)");
	expect_error("name='a'\nvnclisten = ''\n", "guest.cfg:2: vnclisten = \"\": expected an "
						   "IPv4 address like \"127.0.0.1\" or \"0.0.0.0\" "
						   "(optionally \":DISPLAY\")");
	expect_error("name='a'\nkeymap = 1\n", "guest.cfg:2: keymap = 1: expected a keymap name "
					       "like 'en-us'"
					       " (a quoted string), not a number; for example: "
					       "keymap = \"en-us\"");
	expect_error("name='a'\ndisk = '/a.img,,hda'\n", "guest.cfg:2: disk = \"/a.img,,hda\": "
							 "expected a list of disk specs"
							 " (a list of strings), not a string; for "
							 "example: disk = [ "
							 "\"/srv/guest.qcow2,qcow2,hda,rw\" ]");
	expect_error("name='a'\nvif = 'bridge=br0'\n", "guest.cfg:2: vif = \"bridge=br0\": "
						       "expected a list of vif specs"
						       " (a list of strings), not a string; for "
						       "example: vif = [ \"bridge=br0\" ]");
	expect_error("name='a'\nusbdevice = 1\n", "guest.cfg:2: usbdevice = 1: expected a USB "
						  "device like 'tablet' (a string or a list of "
						  "strings)"
						  ", not a number; for example: usbdevice = "
						  "\"tablet\"");
}

static void test_accepted_values(void)
{
	static const char *const actions[] = { "destroy",	   "restart",
					       "preserve",	   "rename-restart",
					       "coredump-destroy", "coredump-restart" };
	char text[128];
	struct domcfg d;
	unsigned i;

	for (i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "name='a'\non_crash='%s'\n", actions[i]);
		CHECK_EQ(load(text, &d), 0);
		CHECK_EQ(d.on_crash, i);
		CHECK(!strcmp(cfg_action_name(d.on_crash), actions[i]));
		domcfg_free(&d);
	}
	CHECK_EQ(load("name='a'\nfirmware='seabios'\nbios='bios'\n", &d), 0);
	CHECK(d.firmware == NULL);
	domcfg_free(&d);
	CHECK_EQ(load("name='a'\nmemory='256'\nacpi='yes'\nvcpus=\"0x4\"\n", &d), 0);
	CHECK_EQ(d.memory, 256);
	CHECK_EQ(d.vcpus, 4);
	CHECK(d.acpi);
	domcfg_free(&d);
	CHECK_EQ(load("name='a'\nserial=''\n", &d), 0);
	CHECK_EQ(d.nr_serial, 0);
	domcfg_free(&d);
	/* Later settings win; continuation lines and ';' separators. */
	CHECK_EQ(load("name='a'; memory=1\\\n  ; memory = 2\nname='b'\n", &d), 0);
	CHECK_EQ(d.memory, 2);
	CHECK(!strcmp(d.name, "b"));
	domcfg_free(&d);
	/* Unknown keys warn with their name and line and are otherwise ignored. */
	CHECK_EQ(load("name='a'\n\nfrobnicate = 1\n", &d), 0);
	CHECK(!strcmp(warn, "guest.cfg:3: warning: unknown key 'frobnicate' ignored\n"));
	domcfg_free(&d);
	CHECK_EQ(load("name='a'\nmemory=256\nmaxmem=1024\n", &d), 0);
	CHECK(strstr(warn, "guest.cfg:3: warning: memory ballooning is not supported") != NULL);
	domcfg_free(&d);
}

/* A misspelt key names the known key it is nearest to; a far one names none. */
static void test_key_hints(void)
{
	static const struct {
		const char *key, *hint; /* hint NULL: nothing is close */
	} cases[] = {
		{ "kernal", "kernel" },		 /* substitution */
		{ "memroy", "memory" },		 /* two neighbours swapped */
		{ "Memory", "memory" },		 /* case only */
		{ "VCPUS", "vcpus" },		 /* case only */
		{ "on-crash", "on_crash" },	 /* '-' for '_' */
		{ "ramdsk", "ramdisk" },	 /* deletion */
		{ "vncdisplayy", "vncdisplay" }, /* insertion */
		{ "viridain", "viridian" },	 /* an accepted-but-ignored key */
		{ "frobnicate", NULL },
		{ "foo", NULL }, /* 2 edits from 'fda', but that is most of the name */
		{ "kerneel_image", NULL },
		{ "device_model_override_and_more_text", NULL }, /* longer than any key */
	};
	char text[128], want[256];
	struct domcfg d;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "name='a'\n\n%s = \"/boot/vmlinuz\"\n", cases[i].key);
		if (cases[i].hint)
			snprintf(want, sizeof(want),
				 "guest.cfg:3: warning: unknown key '%s' ignored; did you mean "
				 "'%s'?\n",
				 cases[i].key, cases[i].hint);
		else
			snprintf(want, sizeof(want),
				 "guest.cfg:3: warning: unknown key '%s' ignored\n", cases[i].key);
		CHECK_EQ(load(text, &d), 0);
		CHECK(!strcmp(warn, want));
		if (strcmp(warn, want))
			fprintf(stderr, "  got:  %s  want: %s", warn, want);
		CHECK(d.kernel == NULL && d.ramdisk == NULL); /* the value went nowhere */
		domcfg_free(&d);
	}
}

/* A value of the wrong kind names the key, the kind it takes and a valid line. */
static void test_type_errors(void)
{
	expect_error("name='a'\nkernel = [ '/boot/vmlinuz' ]\n", "guest.cfg:2: kernel = "
								 "[\"/boot/vmlinuz\"]: expected a "
								 "kernel image path (a "
								 "quoted string), not a list; for "
								 "example: kernel = "
								 "\"/boot/vmlinuz\"");
	expect_error("name='a'\nvcpus = '2 cpus'\n", "guest.cfg:2: vcpus = \"2 cpus\": expected a "
						     "number of vCPUs (a number), not "
						     "a string; for example: vcpus = 2");
	expect_error("name='a'\nvga = 1\n", "guest.cfg:2: vga = 1: expected stdvga, cirrus or none "
					    "(a quoted string), not a number; for example: vga = "
					    "\"stdvga\"");
	/* Right kind, wrong value: the message stays without an example. */
	expect_error("name='a'\nvcpus = 0\n", "guest.cfg:2: vcpus = 0: expected a number of vCPUs "
					      "(1..64)");
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* One table key: its example line parses, a value of the wrong kind is refused. */
static void check_table_key(const struct cfg_keyinfo *k)
{
	char text[256], want[256];
	struct domcfg d;
	bool list = strstr(k->type, "list") != NULL;

	snprintf(want, sizeof(want), "%s = ", k->name);
	CHECK(starts_with(k->example, want));
	/* kernel first: ramdisk and extra need it. */
	snprintf(text, sizeof(text), "name='a'\nkernel='/boot/vmlinuz'\n%s\n", k->example);
	CHECK_EQ(load(text, &d), 0);
	snprintf(want, sizeof(want), "guest.cfg:3: warning: '%s' is accepted but has no effect\n",
		 k->name);
	if (k->ignored)
		CHECK(!strcmp(warn, want));
	else
		CHECK(!strstr(warn, "unknown key") && !strstr(warn, "no effect"));
	if (err[0] || (k->ignored && strcmp(warn, want)))
		fprintf(stderr, "  %s: %s%s\n", k->example, err, warn);
	domcfg_free(&d);
	if (k->ignored)
		return;
	snprintf(text, sizeof(text), "name='a'\nkernel='/boot/vmlinuz'\n%s = %s\n", k->name,
		 list ? "7" : "[ 'x' ]");
	CHECK_EQ(load(text, &d), (uint64_t)-EINVAL);
	snprintf(want, sizeof(want), "guest.cfg:3: %s = %s: expected ", k->name,
		 list ? "7" : "[\"x\"]");
	CHECK(starts_with(err, want));
	snprintf(want, sizeof(want), " (%s), not %s; for example: %s", k->type,
		 list ? "a number" : "a list", k->example);
	CHECK(ends_with(err, want));
	if (!ends_with(err, want))
		fprintf(stderr, "  got:  %s\n  want: ...%s\n", err, want);
	domcfg_free(&d);
}

/* Every key of the table, so that a key added later is covered too. */
static void test_every_key(void)
{
	struct cfg_keyinfo k, other;
	size_t i, j, n = 0;

	for (i = 0; cfg_key_info(i, &k) == 0; i++) {
		for (j = 0; j < i; j++) {
			CHECK_EQ(cfg_key_info(j, &other), 0);
			CHECK(strcmp(k.name, other.name) != 0); /* no key twice */
		}
		check_table_key(&k);
		n++;
	}
	CHECK_EQ(cfg_key_info(i, &k), (uint64_t)-ENOENT);
	/* The keys of the xl and xm examples above are among them, at the least. */
	CHECK(n >= 40);
}

static void test_disks(void)
{
	/* Equivalent forms from xl-disk-configuration(5), plus the xm ones. */
	static const struct {
		const char *spec, *drive;
	} ok[] = {
		{ "/dev/vg/guest-volume,,hda", "file=/dev/vg/"
					       "guest-volume,format=raw,index=0,media=disk,"
					       "readonly=off" },
		{ "/dev/vg/guest-volume,raw,hda,rw", "file=/dev/vg/"
						     "guest-volume,format=raw,index=0,media=disk,"
						     "readonly=off" },
		{ "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume", "file=/dev/vg/"
										  "guest-volume,"
										  "format=raw,"
										  "index=0,media="
										  "disk,readonly="
										  "off" },
		{ "raw:/dev/vg/guest-volume,hda,w", "file=/dev/vg/"
						    "guest-volume,format=raw,index=0,media=disk,"
						    "readonly=off" },
		{ "/root/image.iso,,hdc,cdrom", "file=/root/"
						"image.iso,format=raw,index=2,media=cdrom,readonly="
						"on" },
		{ "/root/image.iso,,hdc,devtype=cdrom", "file=/root/"
							"image.iso,format=raw,index=2,media=cdrom,"
							"readonly=on" },
		{ ",,hdc,cdrom", "file=,format=raw,index=2,media=cdrom,readonly=on" },
		{ ",hdc:cdrom,r", "file=,format=raw,index=2,media=cdrom,readonly=on" },
		{ "file:/var/images/min-el3-i386.img,hda,w", "file=/var/images/"
							     "min-el3-i386.img,format=raw,index=0,"
							     "media=disk,readonly=off" },
		{ "tap:aio:/img/a.img,hdb,r", "file=/img/"
					      "a.img,format=raw,index=1,media=disk,readonly=on" },
		{ "/img/q.qcow2,qcow2,xvdd,w", "file=/img/"
					       "q.qcow2,format=qcow2,index=3,media=disk,readonly="
					       "off" },
		{ "qcow2:/img/q.qcow2,hdd,w", "file=/img/"
					      "q.qcow2,format=qcow2,index=3,media=disk,readonly="
					      "off" },
		{ "vdev=hdb, target=/img/with,comma.img", "file=/img/"
							  "with,,comma.img,format=raw,index=1,"
							  "media=disk,readonly=off" },
		{ "target=/x.iso,devtype=cdrom,vdev=hdc,access=ro", "file=/"
								    "x.iso,format=raw,index=2,"
								    "media=cdrom,readonly=on" },
		{ "/srv/win.iso,raw,hdc,cdrom,r", "file=/srv/"
						  "win.iso,format=raw,index=2,media=cdrom,readonly="
						  "on" },
		{ "phy:/dev/vg/lv,hdb,w", "file=/dev/vg/"
					  "lv,format=raw,index=1,media=disk,readonly=off" },
		{ "/img/d.img,raw,hda,rw,direct-io-safe", "file=/img/"
							  "d.img,format=raw,index=0,media=disk,"
							  "readonly=off,cache=none" },
	};
	static const struct {
		const char *spec, *why;
	} bad[] = {
		{ "/img/a.img,vhd,hda", "format 'vhd' is not supported (raw or qcow2)" },
		{ "/img/a.img,,sda", "vdev 'sda': only the emulated IDE slots hda-hdd (or "
				     "xvda-xvdd) exist" },
		{ "/img/a.img,,hde", "vdev 'hde': only the emulated IDE slots hda-hdd (or "
				     "xvda-xvdd) exist" },
		{ "/img/a.img,,hda:floppy", "vdev 'hda:floppy': the suffix must be :cdrom or "
					    ":disk" },
		{ "/img/a.img,,hda,x", "access 'x': use r, ro, w or rw" },
		{ "/img/a.img,raw", "no vdev (hda-hdd)" },
		{ ",,hda", "a disk needs a target (image path)" },
		{ "/a.iso,,hdc,cdrom,w", "a CD-ROM is read-only (access r)" },
		{ "/a.img,,hda,w,extra", "unexpected 'extra' after the access mode" },
		{ "colour=red,/a.img,,hda", "unknown key 'colour'" },
	};
	struct disk d;
	char drive[512], why[256], text[512];
	struct domcfg dc;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK_EQ(disk_parse(ok[i].spec, &d, why, sizeof(why)), 0);
		disk_drive_arg(&d, drive, sizeof(drive));
		CHECK(!strcmp(drive, ok[i].drive));
		if (strcmp(drive, ok[i].drive))
			fprintf(stderr, "  %s\n  got  %s\n  want %s\n", ok[i].spec, drive,
				ok[i].drive);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		CHECK_EQ(disk_parse(bad[i].spec, &d, why, sizeof(why)), (uint64_t)-EINVAL);
		CHECK(!strcmp(why, bad[i].why));
		if (strcmp(why, bad[i].why))
			fprintf(stderr, "  %s\n  got  %s\n  want %s\n", bad[i].spec, why,
				bad[i].why);
	}
	/* In a configuration: the entry is named; slots are unique. */
	expect_error("name='a'\ndisk = [ '/a.img,,hda', '/b.img,vhd,hdb' ]\n",
		     "guest.cfg:2: disk = [\"/a.img,,hda\", \"/b.img,vhd,hdb\"]: '/b.img,vhd,hdb': "
		     "format 'vhd' is not supported (raw or qcow2)");
	expect_error("name='a'\ndisk = [ '/a.img,,hda', '/b.img,,xvda' ]\n", "guest.cfg:2: disk = "
									     "[\"/a.img,,hda\", "
									     "\"/b.img,,xvda\"]: "
									     "'/a.img,,hda' and "
									     "'/b.img,,xvda' use "
									     "the same IDE slot");
	snprintf(text, sizeof(text),
		 "name='a'\ndisk=['/a,,hda','/b,,hdb','/c,,hdc','/d,,hdd','/e,,hda']\n");
	CHECK_EQ(load(text, &dc), (uint64_t)-EINVAL);
	CHECK(strstr(err, "at most 4 disks") != NULL);
	domcfg_free(&dc);
	CHECK_EQ(load("name='a'\ndisk=['/a.qcow2,qcow2,hdb,r']\nvga='stdvga'\n", &dc), 0);
	CHECK(dc.nr_disk == 1 && dc.disks[0].index == 1 && dc.disks[0].readonly);
	CHECK(dc.vga && !strcmp(dc.vga, "stdvga"));
	domcfg_free(&dc);
	expect_error("name='a'\nvga='qxl'\n", "guest.cfg:2: vga = \"qxl\": expected stdvga, cirrus "
					      "or none");
}

/* Values hvmdm would refuse at start-up are refused here, naming the key and the fix. */
static void test_device_values(void)
{
	struct domcfg d;

	expect_error("name='a'\nkeymap = 'us'\n", "guest.cfg:2: keymap = \"us\": expected one of "
						  "en-us, en-gb, de, de-ch, fr, fr-be, it, es, ja");
	expect_error("name='a'\nkeymap = ''\n", "guest.cfg:2: keymap = \"\": expected one of "
						"en-us, en-gb, de, de-ch, fr, fr-be, it, es, ja");
	expect_error("name='a'\nvnclisten = 'my host'\n", "guest.cfg:2: vnclisten = \"my host\": "
							  "expected an IPv4 address like "
							  "\"127.0.0.1\" or \"0.0.0.0\" "
							  "(optionally \":DISPLAY\")");
	expect_error("name='a'\nvnclisten = '::1'\n", "guest.cfg:2: vnclisten = \"::1\": expected "
						      "an IPv4 address like "
						      "\"127.0.0.1\" or \"0.0.0.0\" (optionally "
						      "\":DISPLAY\")");
	expect_error("name='a'\nvnclisten = '127.0.0.1:100'\n", "guest.cfg:2: vnclisten = "
								"\"127.0.0.1:100\": expected an "
								"IPv4 address like "
								"\"127.0.0.1\" or \"0.0.0.0\" "
								"(optionally \":DISPLAY\")");
	expect_error("name='a'\nvncdisplay = -1\n", "guest.cfg:2: vncdisplay = -1: expected a "
						    "display number (0..99)");
	expect_error("name='a'\nvncdisplay = 'one'\n", "guest.cfg:2: vncdisplay = \"one\": "
						       "expected a display number (a number), not "
						       "a string; for example: vncdisplay = 1");
	expect_error("name='a'\nserial = 'ttyS0'\n", "guest.cfg:2: serial = \"ttyS0\": 'ttyS0' is "
						     "not a serial device: use pty, "
						     "stdio, null, none, file:PATH, "
						     "unix:PATH[,server], tcp:HOST:PORT[,server] "
						     "or "
						     "/dev/TTY");
	expect_error("name='a'\nserial = [ 'pty', 'file:' ]\n", "guest.cfg:2: serial = [\"pty\", "
								"\"file:\"]: 'file:' is not a "
								"serial device: "
								"use pty, stdio, null, none, "
								"file:PATH, unix:PATH[,server], "
								"tcp:HOST:PORT[,server] or "
								"/dev/TTY");
	expect_error("name='a'\nvif = [ 'bridge' ]\n", "guest.cfg:2: vif = [\"bridge\"]: 'bridge': "
						       "'bridge': expected KEY=VALUE, e.g. "
						       "bridge=br0");
	expect_error("name='a'\nvif = [ 'bridge=br0, colour=red' ]\n",
		     "guest.cfg:2: vif = [\"bridge=br0, colour=red\"]: 'bridge=br0, colour=red': "
		     "unknown key 'colour' (use mac, bridge, model, type, ip, script, vifname, "
		     "...)");
	expect_error("name='a'\nvif = [ 'mac=00:16:3e:zz:00:01' ]\n",
		     "guest.cfg:2: vif = [\"mac=00:16:3e:zz:00:01\"]: 'mac=00:16:3e:zz:00:01': mac "
		     "'00:16:3e:zz:00:01': expected six hex pairs like 00:16:3e:12:34:56");
	/* What hvmdm does take. */
	CHECK_EQ(load("name='a'\nkeymap='fr-be'\nvnclisten='localhost:3'\n"
		      "serial=['unix:/tmp/s,server','tcp:127.0.0.1:4555,server,nowait','/dev/"
		      "ttyS1',"
		      "'null']\nvif=['', 'type=ioemu, bridge=xenbr0, mac=00:16:3E:00:00:0a']\n",
		      &d),
		 0);
	if (err[0])
		fprintf(stderr, "  %s\n", err);
	CHECK(!strcmp(d.keymap, "fr-be") && !strcmp(d.vnclisten, "localhost:3"));
	CHECK(d.nr_serial == 4 && d.nr_vif == 2);
	domcfg_free(&d);
	/* xm's path to Xen's qemu-dm means "the device model": hvmdm, with a warning. */
	CHECK_EQ(load("name='a'\ndevice_model = '/usr/lib/xen/bin/qemu-dm'\n", &d), 0);
	CHECK(d.device_model == NULL);
	CHECK(!strcmp(warn, "guest.cfg:2: warning: device_model = \"/usr/lib/xen/bin/qemu-dm\": "
			    "Xen's qemu-dm is not used; hvmdm takes its place\n"));
	domcfg_free(&d);
	CHECK_EQ(load("name='a'\ndevice_model_override = '/opt/bin/qemu-dm'\n", &d), 0);
	CHECK(d.device_model && !strcmp(d.device_model, "/opt/bin/qemu-dm"));
	domcfg_free(&d);
	/* A VNC password longer than VNC authentication reads is a warning. */
	CHECK_EQ(load("name='a'\nvncpasswd='123456789'\n", &d), 0);
	CHECK(!strcmp(warn, "guest.cfg:2: warning: VNC authentication uses only the first 8 "
			    "characters of vncpasswd\n"));
	domcfg_free(&d);
	CHECK_EQ(load("name='a'\nvncpasswd='12345678'\nusb=0\nvif=[]\n", &d), 0);
	CHECK(!strcmp(warn, ""));
	domcfg_free(&d);
	/* the tablet is emulated; another USB device is named in a warning */
	CHECK_EQ(load("name='a'\nusb=1\nusbdevice=['tablet', 'mouse']\n", &d), 0);
	CHECK(d.usb && d.nr_usbdevice == 2);
	CHECK(!strcmp(warn, "guest.cfg:3: warning: usbdevice 'mouse': hvmdm emulates only the "
			    "USB tablet (usbdevice = \"tablet\"); the guest runs without it\n"));
	domcfg_free(&d);
}

/* cfg_check_files on text: 0, or -EINVAL with the message in err. */
static int check_files(const char *text)
{
	struct cfg c = { 0 };
	struct domcfg d;
	int r;

	err[0] = '\0';
	memset(&d, 0, sizeof(d));
	r = cfg_parse(&c, text, "guest.cfg", err, sizeof(err));
	if (!r)
		r = cfg_interpret(&c, &d, err, sizeof(err), warn, sizeof(warn));
	if (!r)
		r = cfg_check_files(&c, &d, err, sizeof(err));
	domcfg_free(&d);
	cfg_free(&c);
	return r;
}

static void expect_file_error(const char *text, const char *msg)
{
	CHECK_EQ(check_files(text), (uint64_t)-EINVAL);
	CHECK(!strcmp(err, msg));
	if (strcmp(err, msg))
		fprintf(stderr, "  text: %s\n  got:  %s\n  want: %s\n", text, err, msg);
}

/* Every file the configuration names is checked before anything starts. */
static void test_missing_files(void)
{
	char dir[] = "/tmp/test_cfg_files.XXXXXX", img[64], ro[64], text[512], want[256];
	FILE *f;

	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	snprintf(img, sizeof(img), "%s/d.img", dir);
	snprintf(ro, sizeof(ro), "%s/ro.img", dir);
	f = fopen(img, "w");
	if (f)
		fclose(f);
	f = fopen(ro, "w");
	if (f)
		fclose(f);
	chmod(ro, 0444);

	snprintf(text, sizeof(text),
		 "name='a'\nkernel='%s'\nramdisk='%s'\nfda='%s'\nfirmware='%s'\n"
		 "disk=['%s,raw,hda,w','%s,raw,hdb,r',',hdc:cdrom,r']\n",
		 img, img, img, img, img, ro);
	CHECK_EQ(check_files(text), 0);
	if (err[0])
		fprintf(stderr, "  %s\n", err);
	expect_file_error("name='a'\nkernel='/nonexistent/vmlinuz'\n", "guest.cfg:2: kernel = "
								       "\"/nonexistent/vmlinuz\": "
								       "No such file or "
								       "directory (check the "
								       "path)");
	snprintf(text, sizeof(text), "name='a'\nkernel='%s'\nramdisk='/nonexistent/initrd'\n", img);
	expect_file_error(text, "guest.cfg:3: ramdisk = \"/nonexistent/initrd\": No such file or "
				"directory (check the path)");
	expect_file_error("name='a'\nfdb='/nonexistent/f.img'\n", "guest.cfg:2: fdb = "
								  "\"/nonexistent/f.img\": No such "
								  "file or directory "
								  "(check the path)");
	expect_file_error("name='a'\nbios='/nonexistent/bios.bin'\n", "guest.cfg:2: bios = "
								      "\"/nonexistent/bios.bin\": "
								      "No such file or "
								      "directory (check the path)");
	chmod(img, 0644);
	snprintf(text, sizeof(text), "name='a'\ndevice_model_override='%s'\n", img);
	snprintf(want, sizeof(want),
		 "guest.cfg:2: device_model_override = \"%s\": Permission denied", img);
	expect_file_error(text, want);
	expect_file_error("name='a'\nkernel='/tmp'\n", "guest.cfg:2: kernel = \"/tmp\": /tmp is a "
						       "directory, not a file");
	expect_file_error("name='a'\ndisk=[ ',hdc:cdrom,r', '/nonexistent/d.img,,hda' ]\n",
			  "guest.cfg:2: disk = [\",hdc:cdrom,r\", \"/nonexistent/d.img,,hda\"]: "
			  "'/nonexistent/d.img,,hda': No such file or directory (check the path)");
	/* Root opens anything: the read-write check only means something for others. */
	if (geteuid() != 0) {
		snprintf(text, sizeof(text), "name='a'\ndisk=['%s,raw,hda,w']\n", ro);
		CHECK_EQ(check_files(text), (uint64_t)-EINVAL);
		CHECK(strstr(err, "Permission denied (the disk is opened read-write: fix the "
				  "permissions or use access 'r')") != NULL);
	}
	unlink(img);
	unlink(ro);
	rmdir(dir);
}

/* memory above the host's RAM is a warning (guest RAM is mapped lazily; boot/pae uses 5 GiB). */
static void test_host_memory(void)
{
	struct cfg c = { 0 };
	struct domcfg d;

	memset(&d, 0, sizeof(d));
	CHECK_EQ(cfg_parse(&c, "name='a'\n\nmemory = 4096\n", "guest.cfg", warn, sizeof(warn)), 0);
	CHECK_EQ(cfg_interpret(&c, &d, err, sizeof(err), NULL, 0), 0);
	cfg_check_memory(&c, &d, 4096, warn, sizeof(warn));
	CHECK(!strcmp(warn, ""));
	cfg_check_memory(&c, &d, 0, warn, sizeof(warn)); /* unknown: no check */
	CHECK(!strcmp(warn, ""));
	cfg_check_memory(&c, &d, 2000, warn, sizeof(warn));
	CHECK(!strcmp(warn, "guest.cfg:3: warning: memory = 4096 MiB is more than this host's RAM "
			    "(2000 MiB); the guest's RAM is mapped as it is used, and using it all "
			    "would exhaust the host\n"));
	domcfg_free(&d);
	cfg_free(&c);
}

/* Random byte mutations of a valid file: every outcome is a clean 0 or -EINVAL. */
static void test_mutations(void)
{
	static const char base[] = "name = 'm'\nmemory = 0x40\nserial = [ 'pty', \"null\", ]\n"
				   "disk = [ 'file:/a.img,hda,w', ',hdc:cdrom,r' ]\n"
				   "vif = [ 'bridge=br0' ] # c\non_crash = 'preserve'; boot='dc'\n";
	char buf[sizeof(base)];
	uint32_t seed = 99;
	unsigned i, k, accepted = 0;
	struct domcfg d;

	for (i = 0; i < 20000; i++) {
		int r;

		memcpy(buf, base, sizeof(base));
		for (k = 0; k < 2; k++) {
			seed = seed * 1103515245 + 12345;
			buf[(seed >> 8) % (sizeof(base) - 1)] =
				"'\"[],=#;\\\n x0-a"[(seed >> 20) % 15];
		}
		r = load(buf, &d);
		CHECK(r == 0 || r == -EINVAL);
		if (r == -EINVAL)
			CHECK(err[0] != '\0');
		accepted += r == 0;
		domcfg_free(&d);
	}
	CHECK(accepted > 0);
}

static void test_file(void)
{
	char path[] = "/tmp/test_cfg.XXXXXX";
	struct cfg c = { 0 };
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs("name = 'filetest'\nmemory = 32\n", f);
	fclose(f);
	CHECK_EQ(cfg_parse_file(&c, path, err, sizeof(err)), 0);
	CHECK(cfg_find(&c, "memory") && cfg_find(&c, "memory")->val.i == 32);
	CHECK(cfg_find(&c, "memory") && cfg_find(&c, "memory")->line == 2);
	CHECK(cfg_find(&c, "nothing") == NULL);
	cfg_free(&c);
	unlink(path);
	CHECK(cfg_parse_file(&c, "/nonexistent/x.cfg", err, sizeof(err)) == -ENOENT);
	CHECK(!strcmp(err, "/nonexistent/x.cfg: No such file or directory"));
	cfg_free(&c);
}

int main(void)
{
	test_xl_syntax();
	test_xm_syntax();
	test_defaults_and_overrides();
	test_syntax_errors();
	test_value_errors();
	test_accepted_values();
	test_key_hints();
	test_type_errors();
	test_every_key();
	test_disks();
	test_device_values();
	test_missing_files();
	test_host_memory();
	test_mutations();
	test_file();
	return tap_done();
}
