// SPDX-License-Identifier: MIT
/*
 * test_kvm_smoke.c - run hvmhv (-accel kvm) on the tiny real-mode guest of
 * guest_smoke.h and check every access it makes arrives over the ioreq
 * rings.
 *
 *   test_kvm_smoke fake   this program is the device model: it answers the
 *                         requests itself and checks each one (slot fields,
 *                         string I/O through the bounce page, the buffered
 *                         VGA write, SHUTDOWN on the port 0xE4 write).
 *   test_kvm_smoke hvmdm  the full path: hvmhv -> rings -> hvmdm with
 *                         `-device hvm-testdev`, checked through hvmdm's log.
 *
 * A second argument picks the accelerator (kvm, the default, or emu).
 * With kvm and no /dev/kvm: "SKIPPED" and exit 77.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest_smoke.h"
#include "hvtest.h"
#include "tap.h"

#define DOMID 7

struct transcript {
	char text[4096];
	size_t len;
	unsigned ptr_requests; /* string requests with count > 1 */
	char last_kind[16];    /* merge consecutive string items of one kind */
};

static void add(struct transcript *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct transcript *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (t->len < sizeof(t->text))
		t->len += (size_t)vsnprintf(t->text + t->len, sizeof(t->text) - t->len, fmt, ap);
	va_end(ap);
	t->last_kind[0] = 0;
}

static void on_buffered(void *opaque, const struct buf_ioreq *b, uint64_t data)
{
	add(opaque, "buf %x size%u %llx;", BUF_IOREQ_ADDR(b->word0),
	    1u << BUF_IOREQ_SIZE_CODE(b->word0), (unsigned long long)data);
}

/* Bytes to or from port 0xE6/0xE7, in one transcript entry per run. */
static void stream(struct transcript *t, bool rd, uint64_t port, uint8_t *buf, uint32_t count,
		   uint8_t *next_in)
{
	char kind[16];

	snprintf(kind, sizeof(kind), "%s %llx", rd ? "ins" : "outs", (unsigned long long)port);
	if (strcmp(kind, t->last_kind)) {
		add(t, "%s ", kind);
		strcpy(t->last_kind, kind);
	} else {
		t->len--; /* drop the ';' and continue the same entry */
	}
	for (uint32_t i = 0; i < count; i++) {
		if (rd)
			buf[i] = (*next_in)++;
		if (t->len + 4 < sizeof(t->text))
			t->len += (size_t)snprintf(t->text + t->len, 4, "%02x", buf[i]);
	}
	t->text[t->len++] = ';';
	t->text[t->len] = 0;
}

/*
 * String I/O: the items are in the bounce page.  KVM batches `rep ins` but
 * hands `rep outs` over one item per exit, so single writes to the line port
 * join the same stream.
 */
static void string_io(struct fake_dm *d, struct transcript *t, const struct ioreq *r,
		      uint8_t *next_in)
{
	uint8_t *buf = fake_dm_gpa(d, r->data, (uint64_t)r->count * r->size);

	CHECK(buf != NULL);
	CHECK_EQ(r->size, 1);
	CHECK_EQ(r->flags & IOREQ_F_DF, 0);
	CHECK(r->count > 1);
	if (!buf || r->size != 1)
		return;
	t->ptr_requests++;
	stream(t, r->flags & IOREQ_F_DIR_READ, r->addr, buf, r->count, next_in);
}

static int run_fake(const char *dir, const char *sock, const char *accel)
{
	char log[256], out[256], bios[256];
	char *argv[] = { HVMHV_PATH, "-d",     "7",	      "-setup", (char *)sock, "-m",
			 "16",	     "-accel", (char *)accel, "-bios",	bios,	      "-log",
			 log,	     "-name",  "smoke",	      NULL };
	struct transcript t = { .len = 0 };
	struct fake_dm d;
	uint32_t mmio_mem = 0;
	uint8_t next_in = 'a';
	bool done = false;
	struct ioreq r;
	pid_t pid;
	int st;

	snprintf(log, sizeof(log), "%s/hv.log", dir);
	snprintf(out, sizeof(out), "%s/hv.out", dir);
	snprintf(bios, sizeof(bios), "%s/bios.bin", dir);
	CHECK_EQ(hvt_write_bios(bios, guest_smoke, sizeof(guest_smoke)), 0);
	pid = hvt_spawn(argv, out);
	CHECK_EQ(fake_dm_attach(&d, sock, DOMID), 0);
	CHECK_EQ(d.info.nr_vcpus, 1);
	CHECK_EQ(d.info.ram_below_4g, 16 << 20);
	/* KVM irqfds resample; our own controllers read levels from the irq page. */
	if (!strcmp(accel, "kvm"))
		CHECK_EQ(d.info.flags & (HVM_SETUP_F_IRQ_RESAMPLE | HVM_SETUP_F_ACCEL_EMU),
			 HVM_SETUP_F_IRQ_RESAMPLE);
	else
		CHECK_EQ(d.info.flags & (HVM_SETUP_F_IRQ_RESAMPLE | HVM_SETUP_F_ACCEL_EMU),
			 HVM_SETUP_F_ACCEL_EMU);
	/* The F-segment copy of the firmware is in RAM below 1 MiB. */
	CHECK(d.ram && !memcmp(d.ram + 0xf0000, guest_smoke, sizeof(guest_smoke)));
	CHECK_EQ(fake_dm_call(&d, HVM_MSG_READY, NULL, 0), 0);

	for (int n = 0; n < 200 && !done; n++) {
		int v = fake_dm_next(&d, &r, 20000, on_buffered, &t);
		bool rd = r.flags & IOREQ_F_DIR_READ;
		uint64_t answer = 0;

		if (v < 0) {
			CHECK(!"guest request timed out");
			break;
		}
		CHECK_EQ(r.vp_eport, (unsigned)v);
		if (r.flags & IOREQ_F_DATA_IS_PTR) {
			string_io(&d, &t, &r, &next_in);
		} else if (r.type == IOREQ_TYPE_PIO && rd) {
			answer = r.addr == 0xe7 ? 0x5a : 0xff;
			add(&t, "in %llx size%u;", (unsigned long long)r.addr, r.size);
		} else if (r.type == IOREQ_TYPE_PIO && r.addr == 0xe6 && r.size == 1) {
			uint8_t byte = (uint8_t)r.data;

			stream(&t, false, r.addr, &byte, 1, &next_in);
		} else if (r.type == IOREQ_TYPE_PIO) {
			add(&t, "out %llx size%u %llx;", (unsigned long long)r.addr, r.size,
			    (unsigned long long)r.data);
			if (r.addr == 0xe4) {
				struct hvm_shutdown sd = { .reason = HVM_SHUTDOWN_POWEROFF };

				CHECK_EQ(fake_dm_call(&d, HVM_MSG_SHUTDOWN, &sd, sizeof(sd)), 0);
				done = true;
			}
		} else if (r.type == IOREQ_TYPE_COPY && rd) {
			answer = mmio_mem;
			add(&t, "mmior %llx size%u;", (unsigned long long)r.addr, r.size);
		} else {
			mmio_mem = (uint32_t)r.data;
			add(&t, "mmiow %llx size%u %llx;", (unsigned long long)r.addr, r.size,
			    (unsigned long long)r.data);
		}
		fake_dm_respond(&d, (unsigned)v, answer);
	}
	st = hvt_wait(pid, 30);
	CHECK_EQ(st, HVM_EXIT_POWEROFF);
	printf("transcript: %s\n", t.text);
	CHECK(!strcmp(t.text, "out e0 size1 41;in e7 size1;outs e6 5a;"
			      "ins e7 61626364;outs e6 6162636468690a;"
			      "mmiow fed00000 size4 a214b4f;mmior fed00000 size4;"
			      "outs e6 4f4b210a;"
			      "buf a0000 size4 11223344;out e4 size1 0;"));
	/* rep insb must arrive as one string request (bounce page under kvm, RAM under emu). */
	CHECK(t.ptr_requests >= 1);
	CHECK(hvt_file_contains(out, "hvmhv: domain 7 (smoke): shutdown reason=poweroff"));
	CHECK(hvt_file_contains(log, "shutdown reason=poweroff"));
	fake_dm_detach(&d);
	return 0;
}

static void dump(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "re");

	printf("--- %s\n", path);
	while (f && fgets(line, sizeof(line), f))
		fputs(line, stdout);
	if (f)
		fclose(f);
}

static int run_hvmdm(const char *dir, const char *sock, const char *accel)
{
	char hvlog[256], dmlog[256], out[256], dmout[256], bios[256];
	char *hv_argv[] = { HVMHV_PATH, "-d",	  "7",		 "-setup", (char *)sock, "-m",
			    "16",	"-accel", (char *)accel, "-bios",  bios,	 "-log",
			    hvlog,	"-name",  "smoke",	 NULL };
	char *dm_argv[] = {
		HVMDM_PATH, "-d",   "7",       "-setup",      (char *)sock, "-m",  "16",
		"-M",	    "none", "-device", "hvm-testdev", "-log",	    dmlog, NULL
	};
	pid_t hv, dm;
	int st;

	if (access(HVMDM_PATH, X_OK)) {
		printf("SKIPPED: %s not built\n", HVMDM_PATH);
		return HVT_SKIP;
	}
	snprintf(hvlog, sizeof(hvlog), "%s/hv.log", dir);
	snprintf(dmlog, sizeof(dmlog), "%s/dm.log", dir);
	snprintf(out, sizeof(out), "%s/hv.out", dir);
	snprintf(dmout, sizeof(dmout), "%s/dm.out", dir);
	snprintf(bios, sizeof(bios), "%s/bios.bin", dir);
	CHECK_EQ(hvt_write_bios(bios, guest_smoke, sizeof(guest_smoke)), 0);
	hv = hvt_spawn(hv_argv, out);
	for (int i = 0; i < 1000 && access(sock, F_OK); i++)
		usleep(10000);
	dm = hvt_spawn(dm_argv, dmout);
	st = hvt_wait(hv, 60);
	CHECK_EQ(st, HVM_EXIT_POWEROFF);
	st = hvt_wait(dm, 20);
	CHECK(st >= 0);
	CHECK(hvt_file_contains(out, "hvmhv: domain 7 (smoke): shutdown reason=poweroff"));
	CHECK(hvt_file_contains(dmlog, "out 0xe0 size 1 val 0x41"));
	CHECK(hvt_file_contains(dmlog, "in 0xe7 size 1 -> 0x5a"));
	CHECK(hvt_file_contains(dmlog, "line \"ZZZZZhi\""));
	CHECK(hvt_file_contains(dmlog, "mmio write 0xfed00000 size 4 val 0xa214b4f"));
	CHECK(hvt_file_contains(dmlog, "mmio read 0xfed00000 size 4 -> 0xa214b4f"));
	CHECK(hvt_file_contains(dmlog, "line \"OK!\""));
	CHECK(hvt_file_contains(dmlog, "out 0xe4 size 1 val 0x0"));
	dump(out);
	dump(hvlog);
	dump(dmout);
	dump(dmlog);
	return 0;
}

int main(int argc, char **argv)
{
	char dir[64], sock[128];
	int r;

	const char *accel = argc == 3 ? argv[2] : "kvm";

	if (argc < 2 || argc > 3 || (strcmp(argv[1], "fake") && strcmp(argv[1], "hvmdm")) ||
	    (strcmp(accel, "kvm") && strcmp(accel, "emu"))) {
		fprintf(stderr, "usage: %s fake|hvmdm [kvm|emu]\n", argv[0]);
		return 2;
	}
	if (!strcmp(accel, "kvm") && !hvt_have_kvm())
		return HVT_SKIP;
	if (hvt_tmpdir(dir, sizeof(dir)))
		return 1;
	snprintf(sock, sizeof(sock), "%s/setup.sock", dir);
	r = !strcmp(argv[1], "fake") ? run_fake(dir, sock, accel) : run_hvmdm(dir, sock, accel);
	if (r == HVT_SKIP) {
		hvt_rmdir(dir);
		return r;
	}
	r = tap_done();
	if (!r)
		hvt_rmdir(dir);
	else
		fprintf(stderr, "files kept in %s\n", dir);
	return r;
}
