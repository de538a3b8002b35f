// SPDX-License-Identifier: MIT
/*
 * hvlink.c - dm side of the setup protocol (see hvlink.h, hvm/setup.h).
 */
#include "hvlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvm/ioreq.h"
#include "hvm_msg.h"
#include "dm.h"
#include "ioreq.h"
#include "irq.h"
#include "log.h"
#include "loop.h"

#define HVLINK_MAX_DEFERRED 8
#define VGA_HOLE_START 0xa0000ull
#define VGA_HOLE_END 0xc0000ull
#define GIB4 0x100000000ull

/* Hypervisor requests that arrived while we waited for a reply. */
struct hvlink_deferred {
	struct hvm_msg hdr;
	uint8_t payload[64];
};

struct hvlink {
	int fds[HVM_MSG_MAX_FDS];
	unsigned nfds;
	void *ram;
	uint64_t ram_len;
	struct loop_ev *sock_ev;
	struct loop_ev *resample_ev[DM_MAX_GSIS];
	struct hvlink_deferred deferred[HVLINK_MAX_DEFERRED];
	unsigned nr_deferred;
};

static struct hvlink *link_of(struct dm *dm)
{
	return dm->hvlink;
}

static void *map_fd(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void hv_handle_request(struct dm *dm, const struct hvm_msg *hdr, const void *payload)
{
	struct hvm_clock clk = { 0 };
	int32_t status = 0;

	switch (hdr->type) {
	case HVM_MSG_CLOCK_SET:
		if (hdr->len != sizeof(clk)) {
			status = -EINVAL;
			break;
		}
		memcpy(&clk, payload, sizeof(clk));
		if (clk.ns == HVM_CLOCK_NEXT_DEADLINE) {
			clk.ns = clock_next_deadline(dm->clock);
			if (clk.ns == CLOCK_NEVER) {
				status = -ENOENT;
				clk.ns = clock_ns(dm->clock);
				break;
			}
		}
		clk.ns = clock_set(dm->clock, clk.ns);
		break;
	default:
		dm_warn("hvlink", "unexpected message type %u from the hypervisor", hdr->type);
		status = -ENOSYS;
	}
	hvm_msg_send(dm->setup_sock, hdr->type, hdr->seq, status, &clk,
		     hdr->type == HVM_MSG_CLOCK_SET ? sizeof(clk) : 0, NULL, 0);
}

static void hv_lost(struct dm *dm, int err)
{
	dm_info("hvlink", "hypervisor connection closed (%s); exiting",
		err ? strerror(-err) : "eof");
	ioreq_log_stats(dm);
	if (link_of(dm)->sock_ev) {
		loop_del(link_of(dm)->sock_ev);
		link_of(dm)->sock_ev = NULL;
	}
	loop_quit(dm->loop);
}

static void hv_sock_cb(int fd, unsigned events, void *arg)
{
	struct dm *dm = arg;
	uint8_t payload[256];
	struct hvm_msg hdr;
	unsigned nfds;
	int fds[4], err;

	err = hvm_msg_recv(fd, &hdr, payload, sizeof(payload), fds, 4, &nfds);
	while (nfds)
		close(fds[--nfds]);
	if (err == -EAGAIN)
		return;
	if (err == -EPROTO) {
		dm_warn("hvlink", "malformed packet from the hypervisor ignored");
		return;
	}
	if (err) {
		hv_lost(dm, err == -ECONNRESET ? 0 : err);
		return;
	}
	hv_handle_request(dm, &hdr, payload);
}

static void hv_run_deferred(void *arg)
{
	struct dm *dm = arg;
	struct hvlink *hl = link_of(dm);
	unsigned i;

	for (i = 0; i < hl->nr_deferred; i++)
		hv_handle_request(dm, &hl->deferred[i].hdr, hl->deferred[i].payload);
	hl->nr_deferred = 0;
}

int hvlink_call(struct dm *dm, uint32_t type, const void *req, size_t len, const int *fds,
		unsigned nfds, void *reply, size_t cap, size_t *reply_len)
{
	struct hvlink *hl = link_of(dm);
	uint32_t seq = ++dm->next_seq;
	uint8_t buf[HVM_MSG_MAX_PAYLOAD];
	struct hvm_msg hdr;
	unsigned got, tries;
	int junk[4], err;

	if (dm->setup_sock < 0)
		return -ENOTCONN;
	err = hvm_msg_send(dm->setup_sock, type, seq, 0, req, len, fds, nfds);
	if (err)
		return err;
	for (tries = 0; tries < 64; tries++) {
		err = hvm_msg_recv(dm->setup_sock, &hdr, buf, sizeof(buf), junk, 4, &got);
		while (got)
			close(junk[--got]);
		if (err)
			return err;
		if (hdr.seq == seq && hdr.type == type) {
			if (hdr.len > cap)
				return -EMSGSIZE;
			if (reply)
				memcpy(reply, buf, hdr.len);
			if (reply_len)
				*reply_len = hdr.len;
			return hdr.status;
		}
		if (hl->nr_deferred < HVLINK_MAX_DEFERRED &&
		    hdr.len <= sizeof(hl->deferred[0].payload)) {
			struct hvlink_deferred *d = &hl->deferred[hl->nr_deferred++];

			d->hdr = hdr;
			memcpy(d->payload, buf, hdr.len);
			if (hl->nr_deferred == 1)
				loop_post(dm->loop, hv_run_deferred, dm);
		} else {
			dm_warn("hvlink", "dropping hypervisor message type %u", hdr.type);
		}
	}
	return -EPROTO;
}

static void resample_cb(int fd, unsigned events, void *arg)
{
	struct dm *dm = arg;
	uint64_t v;
	uint32_t gsi;

	if (read(fd, &v, sizeof(v)) < 0)
		return;
	for (gsi = 0; gsi < DM_MAX_GSIS; gsi++)
		if (dm->resample_fd[gsi] == fd)
			dm_irq_resample(dm, gsi);
}

static int hvlink_map_memory(struct dm *dm, struct hvlink *hl)
{
	const struct hvm_setup_info *si = &dm->info;
	uint64_t low = si->ram_below_4g, high = si->ram_above_4g, pages;
	uint8_t *ram, *bounce;
	int err;

	hl->ram_len = low + high;
	ram = map_fd(hl->fds[HVM_FD_RAM], hl->ram_len);
	bounce = map_fd(hl->fds[HVM_FD_BOUNCE], (size_t)si->nr_vcpus * 4096);
	if (!ram || !bounce)
		return -errno;
	hl->ram = ram;
	/* The legacy VGA window is MMIO, never RAM, even though the memfd has bytes there. */
	err = gmem_add(&dm->mem, 0, low < VGA_HOLE_START ? low : VGA_HOLE_START, ram, 0);
	if (!err && low > VGA_HOLE_END)
		err = gmem_add(&dm->mem, VGA_HOLE_END, low - VGA_HOLE_END, ram + VGA_HOLE_END,
			       VGA_HOLE_END);
	if (!err && high)
		err = gmem_add(&dm->mem, GIB4, high, ram + low, low);
	if (!err)
		err = gmem_add(&dm->mem, si->bounce_gpa, (uint64_t)si->nr_vcpus * 4096, bounce,
			       GMEM_NO_TRACK);
	if (err)
		return err;
	pages = (hl->ram_len + 4095) / 4096;
	dm->mem.written = map_fd(hl->fds[HVM_FD_WRITTEN], ((pages + 31) / 32) * 4);
	dm->mem.written_pages = dm->mem.written ? pages : 0;
	return 0;
}

static int hvlink_wire(struct dm *dm, struct hvlink *hl)
{
	const struct hvm_setup_info *si = &dm->info;
	struct shared_iopage *page = map_fd(hl->fds[HVM_FD_IOREQ_PAGE], IOREQ_PAGE_SIZE);
	struct buffered_iopage *buf = map_fd(hl->fds[HVM_FD_BUFIOREQ_PAGE], IOREQ_PAGE_SIZE);
	struct hvm_irq_page *irqp = map_fd(hl->fds[HVM_FD_IRQ_PAGE], 4096);
	int resp[HVM_MAX_VCPUS];
	unsigned i, gsis = si->nr_gsis < DM_MAX_GSIS ? si->nr_gsis : DM_MAX_GSIS;

	if (!page || !buf || !irqp)
		return -errno;
	dm->irq_page = irqp;
	dm->irq_resample_mode = si->flags & HVM_SETUP_F_IRQ_RESAMPLE;
	for (i = 0; i < gsis; i++) {
		dm->irq_fd[i] = hl->fds[hvm_fd_irq(si, i)];
		dm->resample_fd[i] = hl->fds[hvm_fd_resample(si, i)];
		hl->resample_ev[i] =
			loop_add_fd(dm->loop, dm->resample_fd[i], LOOP_IN, resample_cb, dm);
		if (!hl->resample_ev[i])
			return -ENOMEM;
	}
	for (i = 0; i < si->nr_vcpus; i++)
		resp[i] = hl->fds[hvm_fd_resp(i)];
	return ioreq_attach(dm, page, buf, si->nr_vcpus, hl->fds[HVM_FD_REQ_EVENT],
			    hl->fds[HVM_FD_BUF_EVENT], resp);
}

static int hvlink_hello(struct dm *dm, struct hvlink *hl)
{
	struct hvm_hello hello = { .version = HVM_SETUP_VERSION, .domid = dm->cfg.domid };
	struct hvm_setup_info *si = &dm->info;
	struct hvm_msg hdr;
	int err;

	err = hvm_msg_send(dm->setup_sock, HVM_MSG_HELLO, ++dm->next_seq, 0, &hello, sizeof(hello),
			   NULL, 0);
	if (err)
		return err;
	err = hvm_msg_recv(dm->setup_sock, &hdr, si, sizeof(*si), hl->fds, HVM_MSG_MAX_FDS,
			   &hl->nfds);
	if (err)
		return err;
	if (hdr.type != HVM_MSG_HELLO || hdr.status)
		return hdr.status ? hdr.status : -EPROTO;
	if (hdr.len != sizeof(*si) || si->version != HVM_SETUP_VERSION || !si->nr_vcpus ||
	    si->nr_vcpus > HVM_MAX_VCPUS || si->nr_gsis > 256 || hl->nfds != hvm_fd_total(si)) {
		dm_err("hvlink",
		       "hypervisor sent a setup reply this dm cannot use "
		       "(version %u, %u vcpus, %u fds)",
		       si->version, si->nr_vcpus, hl->nfds);
		return -EPROTO;
	}
	return 0;
}

int hvlink_connect(struct dm *dm, const char *path)
{
	struct hvlink *hl = calloc(1, sizeof(*hl));
	int err;

	if (!hl)
		return -ENOMEM;
	dm->hvlink = hl;
	dm->setup_sock = hvm_msg_connect(path);
	if (dm->setup_sock < 0) {
		err = dm->setup_sock;
		dm_err("hvlink", "cannot connect to the hypervisor at %s: %s", path,
		       strerror(-err));
		return err;
	}
	err = hvlink_hello(dm, hl);
	if (!err)
		err = hvlink_map_memory(dm, hl);
	if (!err)
		err = clock_create(dm->loop, dm->info.flags & HVM_SETUP_F_CLOCK_STEPPED,
				   &dm->clock);
	if (!err)
		err = hvlink_wire(dm, hl);
	if (err) {
		dm_err("hvlink", "setup with the hypervisor failed: %s", strerror(-err));
		return err;
	}
	hl->sock_ev = loop_add_fd(dm->loop, dm->setup_sock, LOOP_IN, hv_sock_cb, dm);
	if (!hl->sock_ev)
		return -ENOMEM;
	dm_info("hvlink", "attached: %u vcpus, %llu MiB below 4G, %llu MiB above%s%s",
		dm->info.nr_vcpus, (unsigned long long)(dm->info.ram_below_4g >> 20),
		(unsigned long long)(dm->info.ram_above_4g >> 20),
		dm->irq_resample_mode ? ", irqfd resample" : "",
		clock_is_stepped(dm->clock) ? ", stepped clock" : "");
	return 0;
}

int hvlink_ready(struct dm *dm)
{
	return hvlink_call(dm, HVM_MSG_READY, NULL, 0, NULL, 0, NULL, 0, NULL);
}

void hvlink_close(struct dm *dm)
{
	struct hvlink *hl = link_of(dm);
	unsigned i;

	if (!hl)
		return;
	ioreq_detach(dm);
	for (i = 0; i < DM_MAX_GSIS; i++)
		loop_del(hl->resample_ev[i]);
	loop_del(hl->sock_ev);
	for (i = 0; i < hl->nfds; i++)
		close(hl->fds[i]);
	if (dm->setup_sock >= 0)
		close(dm->setup_sock);
	dm->setup_sock = -1;
	free(hl);
	dm->hvlink = NULL;
}
