// SPDX-License-Identifier: MIT
/*
 * main.c - hvmhv, the bundled hypervisor: one process per domain.
 *
 *   hvmhv -d DOMID -setup SOCKPATH -m MB [-vcpus N] [-accel kvm|emu|auto]
 *         [-bios FILE] [-log FILE] [-name NAME] [-bufio START-END]
 *
 * Creates guest RAM, firmware, ioreq pages and interrupt lines, waits for
 * the device model on SOCKPATH, starts the vCPUs on its READY, and exits
 * with an HVM_EXIT_* status when the domain ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "backend.h"
#include "hv.h"
#include "hvlog.h"
#include "setup.h"

#define DEFAULT_BIOS "/usr/share/seabios/bios.bin"
/* accel=auto: KVM must run the calibration loop faster than this per iteration. */
#define KVM_SLOW_NS 500

static void usage(FILE *f)
{
	fprintf(f, "usage: hvmhv -d DOMID -setup SOCKPATH -m MB [-vcpus N] [-accel kvm|emu|auto]\n"
		   "             [-bios FILE|none] [-log FILE] [-name NAME] [-bufio START-END]\n"
		   "  -bufio      MMIO range whose writes are buffered (default 0xA0000-0xBFFFF)\n"
		   "  exit status 0 poweroff, 1 error, 2 reboot, 3 crash, 4 destroyed\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end ? -EINVAL : 0;
}

static int parse_range(const char *s, uint64_t *start, uint64_t *end)
{
	char buf[64], *dash;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (!dash)
		return -EINVAL;
	*dash = 0;
	if (parse_u64(buf, start) || parse_u64(dash + 1, end) || *end < *start)
		return -EINVAL;
	*end += 1; /* inclusive on the command line */
	return 0;
}

static int parse_args(int argc, char **argv, struct hv_config *c)
{
	uint64_t v;

	*c = (struct hv_config){
		.nr_vcpus = 1,
		.accel = "auto",
		.bios = DEFAULT_BIOS,
		.bufio_start = HV_VGA_START,
		.bufio_end = HV_VGA_END,
		.domid = UINT32_MAX,
	};
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!a) {
			fprintf(stderr, "hvmhv: option %s needs a value\n", o);
			return -EINVAL;
		}
		i++;
		if (!strcmp(o, "-d") && !parse_u64(a, &v) && v < UINT32_MAX)
			c->domid = (uint32_t)v;
		else if (!strcmp(o, "-setup"))
			c->setup_path = a;
		else if (!strcmp(o, "-m") && !parse_u64(a, &v) && v >= 2 && v <= (1u << 20))
			c->ram_mb = v;
		else if (!strcmp(o, "-vcpus") && !parse_u64(a, &v) && v >= 1 && v <= HVM_MAX_VCPUS)
			c->nr_vcpus = (unsigned)v;
		else if (!strcmp(o, "-accel") &&
			 (!strcmp(a, "kvm") || !strcmp(a, "emu") || !strcmp(a, "auto")))
			c->accel = a;
		else if (!strcmp(o, "-bios"))
			c->bios = strcmp(a, "none") ? a : NULL;
		else if (!strcmp(o, "-log"))
			c->log_path = a;
		else if (!strcmp(o, "-name"))
			c->name = a;
		else if (!strcmp(o, "-bufio")) {
			/* Buffered slots carry 20 address bits (ioreq.h). */
			if (parse_range(a, &c->bufio_start, &c->bufio_end) ||
			    c->bufio_end > BUF_IOREQ_ADDR_MAX + 1) {
				fprintf(stderr, "hvmhv: -bufio %s: want START-END below 1 MiB\n",
					a);
				return -EINVAL;
			}
		} else {
			fprintf(stderr, "hvmhv: bad option %s %s\n", o, a);
			return -EINVAL;
		}
	}
	if (c->domid == UINT32_MAX || !c->setup_path || !c->ram_mb) {
		fprintf(stderr, "hvmhv: -d, -setup and -m are required\n");
		return -EINVAL;
	}
	return 0;
}

static const struct hv_backend_ops *emu_backend(void)
{
#ifdef HV_HAVE_EMU
	return &hv_backend_emu;
#else
	return NULL;
#endif
}

static const struct hv_backend_ops *pick_backend(const char *accel)
{
	const char *why = "";
	long ns;

	if (!strcmp(accel, "kvm"))
		return &hv_backend_kvm;
	if (!strcmp(accel, "emu")) {
		if (!emu_backend())
			hv_log_console("-accel emu: this hvmhv was built without the software CPU "
				       "(hypervisor/cpu and hypervisor/emu); use -accel kvm");
		return emu_backend();
	}
	ns = kvm_calibrate(&why);
	if (ns >= 0 && ns < KVM_SLOW_NS) {
		hv_log("accel auto: kvm (%ld ns per calibration iteration, limit %d)", ns,
		       KVM_SLOW_NS);
		return &hv_backend_kvm;
	}
	if (ns >= 0)
		hv_log("accel auto: kvm is slow here (%ld ns per calibration iteration, limit %d)",
		       ns, KVM_SLOW_NS);
	else
		hv_log("accel auto: kvm unusable: %s", why);
	if (emu_backend()) {
		hv_log("accel auto: using emu");
		return emu_backend();
	}
	if (ns >= 0) {
		hv_log("accel auto: emu is not built in; using the slow kvm");
		return &hv_backend_kvm;
	}
	hv_log_console("no usable accelerator: %s, and emu is not built in", why);
	return NULL;
}

/*
 * hvmhv -check-accel kvm|emu: can this hvmhv run guests with that
 * accelerator here?  Exit 0 if so; otherwise print why and exit 1.
 * (Tests use it to say SKIPPED instead of failing.)
 */
static int check_accel(const char *accel)
{
	const char *why = "";
	long ns;

	if (!strcmp(accel, "emu")) {
		if (emu_backend())
			return 0;
		printf("this hvmhv was built without the software CPU\n");
		return 1;
	}
	if (!strcmp(accel, "kvm")) {
		ns = kvm_calibrate(&why);
		if (ns >= 0) {
			printf("kvm: %ld ns per calibration iteration\n", ns);
			return 0;
		}
		printf("kvm unusable: %s\n", why);
		return 1;
	}
	printf("unknown accelerator '%s' (kvm or emu)\n", accel);
	return 1;
}

static void ioreq_fail(void *opaque, const char *why)
{
	hv_domain_end(opaque, HVM_EXIT_CRASH, why);
}

static int create_vcpus(struct hv *hv)
{
	hv->vcpus = calloc(hv->cfg.nr_vcpus, sizeof(*hv->vcpus));
	if (!hv->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < hv->cfg.nr_vcpus; i++) {
		int err;

		hv->vcpus[i].hv = hv;
		hv->vcpus[i].index = i;
		err = hv->be_ops->vcpu_create(&hv->vcpus[i]);
		if (err)
			return err;
	}
	return 0;
}

static int create_domain(struct hv *hv)
{
	int err;

	err = hv_domain_init(hv);
	if (err)
		return err;
	hv->buf_start = hv->cfg.bufio_start;
	hv->buf_end = hv->cfg.bufio_end;
	err = mem_create(&hv->mem, hv->cfg.ram_mb << 20, hv->cfg.nr_vcpus);
	if (err) {
		hv_log_console("cannot create %" PRIu64 " MiB of guest RAM: %s", hv->cfg.ram_mb,
			       strerror(-err));
		return err;
	}
	err = mem_load_bios(&hv->mem, hv->cfg.bios);
	if (err) {
		hv_log_console("cannot load firmware %s: %s (need whole 4 KiB pages, at most "
			       "16 MiB)",
			       hv->cfg.bios, strerror(-err));
		return err;
	}
	err = ioreq_prod_create(&hv->io, hv->cfg.nr_vcpus, &hv->ioreq_page_fd,
				&hv->bufioreq_page_fd);
	if (err)
		return err;
	hv->io.fail = ioreq_fail;
	hv->io.opaque = hv;
	err = hv_irq_create(&hv->irq);
	if (err)
		return err;
	/* HVM_IOREQ_SPIN=0: always sleep on the eventfds (comparisons, busy hosts). */
	if (!getenv("HVM_IOREQ_SPIN") || strcmp(getenv("HVM_IOREQ_SPIN"), "0"))
		hv->io.hints = hv->irq.page;
	err = hv->be_ops->create(hv);
	if (err) {
		hv_log_console("cannot create the %s virtual machine: %s", hv->be_ops->name,
			       strerror(-err));
		return err;
	}
	err = create_vcpus(hv);
	if (!err)
		err = hv->be_ops->irq_attach(hv);
	return err;
}

static void destroy_domain(struct hv *hv)
{
	if (hv->vcpus) {
		for (unsigned i = 0; i < hv->cfg.nr_vcpus; i++) {
			struct hv_vcpu *v = &hv->vcpus[i];

			/* Round trips vs posted writes: what bench/disk compares. */
			if (v->nr_ioreqs || v->nr_buffered)
				hv_log("vcpu%u: %llu synchronous ioreqs, %llu buffered writes", i,
				       (unsigned long long)v->nr_ioreqs,
				       (unsigned long long)v->nr_buffered);
			if (v->be)
				hv->be_ops->vcpu_destroy(v);
		}
		free(hv->vcpus);
		hv->vcpus = NULL;
	}
	if (hv->be_ops)
		hv->be_ops->destroy(hv);
	for (int i = 0; i < HV_MAX_MAPS; i++)
		if (hv->mem.maps[i].used)
			mem_map_remove(&hv->mem, i);
	hv_irq_destroy(&hv->irq);
	ioreq_prod_destroy(&hv->io, hv->ioreq_page_fd, hv->bufioreq_page_fd);
	mem_destroy(&hv->mem);
}

static int block_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	/* vCPU threads inherit this mask and unblock only their kick signal. */
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return fd < 0 ? -errno : fd;
}

int main(int argc, char **argv)
{
	static struct hv hv;
	struct setup_server srv = { .listen_fd = -1 };
	char name[32];
	int sigfd, err, code;

	if (argc == 3 && !strcmp(argv[1], "-check-accel"))
		return check_accel(argv[2]);
	if (parse_args(argc, argv, &hv.cfg)) {
		usage(stderr);
		return HVM_EXIT_ERROR;
	}
	if (!hv.cfg.name) {
		snprintf(name, sizeof(name), "dom%u", hv.cfg.domid);
		hv.cfg.name = name;
	}
	if (hv.cfg.log_path && hv_log_open(hv.cfg.log_path) < 0) {
		fprintf(stderr, "hvmhv: cannot open log %s: %s\n", hv.cfg.log_path,
			strerror(errno));
		return HVM_EXIT_ERROR;
	}
	sigfd = block_signals();
	hv.be_ops = pick_backend(hv.cfg.accel);
	if (!hv.be_ops || sigfd < 0)
		return HVM_EXIT_ERROR;
	err = create_domain(&hv);
	if (!err)
		err = setup_server_open(&srv, &hv, sigfd);
	if (err) {
		hv_log_console("domain %u (%s): set-up failed: %s", hv.cfg.domid, hv.cfg.name,
			       strerror(-err));
		destroy_domain(&hv);
		return HVM_EXIT_ERROR;
	}
	hv_log("domain %u (%s): %" PRIu64 " MiB, %u vcpu(s), accel %s, waiting on %s", hv.cfg.domid,
	       hv.cfg.name, hv.cfg.ram_mb, hv.cfg.nr_vcpus, hv.be_ops->name, hv.cfg.setup_path);
	setup_server_run(&srv, &hv);
	hv_vcpus_stop(&hv);
	code = hv.end_reason;
	hv_log_console("domain %u (%s): shutdown reason=%s", hv.cfg.domid, hv.cfg.name,
		       hv_exit_reason_name(code));
	setup_server_close(&srv, &hv);
	destroy_domain(&hv);
	close(sigfd);
	hv_log_close();
	return code;
}
