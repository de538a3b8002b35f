// SPDX-License-Identifier: MIT
/*
 * setup.c - the setup-protocol server (include/hvm/setup.h): one device
 * model session (HELLO, then MAP/UNMAP/DIRTY_LOG/SET_BUFFERED(_PIO)/
 * SET_URGENT_PIO/SET_PIO_MIRROR/SET_PIO_EFFECTS/SET_PIO_BUSY/SET_MMIO_MIRROR/
 * SHUTDOWN/READY/PAUSE/UNPAUSE/QUERY) and any number of short toolstack sessions
 * (PAUSE/UNPAUSE/QUERY/DESTROY).  Every request gets one reply with the same
 * type and seq.  The device model's connection closing crashes the domain.
 */
#define _GNU_SOURCE
#include "setup.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "hv.h"
#include "hvlog.h"
#include "hvm_msg.h"

#define REQ_MAX_FDS 4

struct req {
	struct hvm_msg hdr;
	uint8_t payload[HVM_MSG_MAX_PAYLOAD];
	int fds[REQ_MAX_FDS];
	unsigned nfds;
};

/*
 * The socket appears under its final name only once it listens: peers that
 * wait for the path to exist (toolstack, tests) never see ECONNREFUSED from
 * the window between bind() and listen().
 */
int setup_server_open(struct setup_server *s, struct hv *hv, int signal_fd)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int err;

	memset(s, 0, sizeof(*s));
	s->signal_fd = signal_fd;
	for (unsigned i = 0; i < SETUP_MAX_CONNS; i++)
		s->conn[i].fd = -1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", hv->cfg.setup_path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	s->listen_fd = hvm_msg_listen(tmp);
	if (s->listen_fd < 0)
		return s->listen_fd;
	if (rename(tmp, hv->cfg.setup_path) < 0) {
		err = -errno;
		close(s->listen_fd);
		s->listen_fd = -1;
		unlink(tmp);
		return err;
	}
	return 0;
}

static void drop_conn(struct setup_server *s, struct hv *hv, struct setup_conn *c)
{
	close(c->fd);
	c->fd = -1;
	if (!c->is_dm)
		return;
	c->is_dm = false;
	hv_log("device model disconnected");
	ioreq_set_dm_state(&hv->io, IOREQ_DM_GONE);
	hv_domain_end(hv, HVM_EXIT_CRASH, "device model disconnected");
}

void setup_server_close(struct setup_server *s, struct hv *hv)
{
	/* The domain has ended: closing the dm session is no longer a crash. */
	for (unsigned i = 0; i < SETUP_MAX_CONNS; i++) {
		if (s->conn[i].fd >= 0)
			close(s->conn[i].fd);
		s->conn[i].fd = -1;
	}
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(hv->cfg.setup_path);
	}
	s->listen_fd = -1;
}

static int reply(struct setup_conn *c, const struct req *r, int status, const void *payload,
		 size_t len, const int *fds, unsigned nfds)
{
	return hvm_msg_send(c->fd, r->hdr.type, r->hdr.seq, status, payload, len, fds, nfds);
}

static int do_hello(struct setup_server *s, struct hv *hv, struct setup_conn *c,
		    const struct req *r)
{
	int fds[HVM_MSG_MAX_FDS];
	struct hvm_setup_info info = {
		.version = HVM_SETUP_VERSION,
		.flags = hv->be_ops->setup_flags,
		.nr_vcpus = hv->cfg.nr_vcpus,
		.nr_gsis = hv->irq.nr_gsis,
		.ram_below_4g = hv->mem.below_4g,
		.ram_above_4g = hv->mem.above_4g,
		.bounce_gpa = HVM_BOUNCE_GPA,
	};
	struct hvm_hello hello;
	int err;

	if (r->hdr.len != sizeof(hello))
		return reply(c, r, -EINVAL, NULL, 0, NULL, 0);
	memcpy(&hello, r->payload, sizeof(hello));
	if (hello.version != HVM_SETUP_VERSION)
		return reply(c, r, -EPROTONOSUPPORT, NULL, 0, NULL, 0);
	if (hello.domid != hv->cfg.domid)
		return reply(c, r, -ESRCH, NULL, 0, NULL, 0);
	/* One device model per domain lifetime: a second one would share the rings. */
	if (s->dm_seen || hv_stopping(hv))
		return reply(c, r, -EBUSY, NULL, 0, NULL, 0);
	fds[HVM_FD_RAM] = hv->mem.ram_fd;
	fds[HVM_FD_IOREQ_PAGE] = hv->ioreq_page_fd;
	fds[HVM_FD_BUFIOREQ_PAGE] = hv->bufioreq_page_fd;
	fds[HVM_FD_BOUNCE] = hv->mem.bounce_fd;
	fds[HVM_FD_IRQ_PAGE] = hv->irq.page_fd;
	fds[HVM_FD_REQ_EVENT] = hv->io.req_fd;
	fds[HVM_FD_BUF_EVENT] = hv->io.buf_fd;
	fds[HVM_FD_WRITTEN] = hv->mem.written_fd;
	for (unsigned v = 0; v < info.nr_vcpus; v++)
		fds[hvm_fd_resp(v)] = hv->io.resp_fd[v];
	for (unsigned g = 0; g < info.nr_gsis; g++) {
		fds[hvm_fd_irq(&info, g)] = hv->irq.irq_fd[g];
		fds[hvm_fd_resample(&info, g)] = hv->irq.resample_fd[g];
	}
	err = reply(c, r, 0, &info, sizeof(info), fds, hvm_fd_total(&info));
	if (err)
		return err;
	c->is_dm = true;
	s->dm_seen = true;
	ioreq_set_dm_state(&hv->io, IOREQ_DM_ATTACHED);
	hv_log("device model attached (domain %u, %u vcpus, %s)", hv->cfg.domid, info.nr_vcpus,
	       hv->be_ops->name);
	return 0;
}

static int do_map(struct hv *hv, struct setup_conn *c, struct req *r)
{
	struct hvm_map m;
	int idx, err;

	if (r->hdr.len != sizeof(m) || r->nfds != 1)
		return reply(c, r, -EINVAL, NULL, 0, NULL, 0);
	memcpy(&m, r->payload, sizeof(m));
	idx = mem_map_add(&hv->mem, m.gpa, m.size, m.offset, m.flags, r->fds[0]);
	if (idx < 0)
		return reply(c, r, idx, NULL, 0, NULL, 0);
	r->nfds = 0; /* the table owns the fd now */
	err = hv->be_ops->map(hv, &hv->mem.maps[idx]);
	if (err)
		mem_map_remove(&hv->mem, idx);
	else /* rate-limited: the dm maps the VGA window at each text-mode validation */
		hv_log_ratelimited("map %#llx+%#llx flags %#x", (unsigned long long)m.gpa,
				   (unsigned long long)m.size, m.flags);
	return reply(c, r, err, NULL, 0, NULL, 0);
}

static int do_unmap(struct hv *hv, struct setup_conn *c, const struct req *r)
{
	struct hvm_map m;
	int idx;

	if (r->hdr.len != sizeof(m))
		return reply(c, r, -EINVAL, NULL, 0, NULL, 0);
	memcpy(&m, r->payload, sizeof(m));
	idx = mem_map_find(&hv->mem, m.gpa, m.size);
	if (idx < 0)
		return reply(c, r, idx, NULL, 0, NULL, 0);
	hv->be_ops->unmap(hv, &hv->mem.maps[idx]);
	mem_map_remove(&hv->mem, idx);
	return reply(c, r, 0, NULL, 0, NULL, 0);
}

static int do_dirty_log(struct hv *hv, struct setup_conn *c, const struct req *r)
{
	static uint8_t bitmap[HVM_MSG_MAX_PAYLOAD];
	struct hvm_map m;
	uint64_t bytes;
	int idx, err;

	if (r->hdr.len != sizeof(m))
		return reply(c, r, -EINVAL, NULL, 0, NULL, 0);
	memcpy(&m, r->payload, sizeof(m));
	idx = mem_map_find(&hv->mem, m.gpa, 0);
	if (idx < 0)
		return reply(c, r, idx, NULL, 0, NULL, 0);
	bytes = (hv->mem.maps[idx].size / HV_PAGE_SIZE + 7) / 8;
	if (bytes > sizeof(bitmap))
		return reply(c, r, -E2BIG, NULL, 0, NULL, 0);
	memset(bitmap, 0, bytes);
	err = hv->be_ops->dirty_log(hv, &hv->mem.maps[idx], bitmap, bytes);
	return reply(c, r, err, bitmap, err ? 0 : bytes, NULL, 0);
}

static int do_set_buffered(struct hv *hv, struct setup_conn *c, const struct req *r)
{
	struct hvm_range rg;

	if (r->hdr.len != sizeof(rg))
		return reply(c, r, -EINVAL, NULL, 0, NULL, 0);
	memcpy(&rg, r->payload, sizeof(rg));
	/* Buffered slots carry 20 address bits (Xen's buf_ioreq). */
	if (rg.len > BUF_IOREQ_ADDR_MAX + 1 || rg.start > BUF_IOREQ_ADDR_MAX + 1 - rg.len)
		return reply(c, r, -ERANGE, NULL, 0, NULL, 0);
	__atomic_store_n(&hv->buf_start, rg.start, __ATOMIC_RELEASE);
	__atomic_store_n(&hv->buf_end, rg.start + rg.len, __ATOMIC_RELEASE);
	hv_log("buffered MMIO writes: %#llx-%#llx", (unsigned long long)rg.start,
	       (unsigned long long)(rg.start + rg.len));
	return reply(c, r, 0, NULL, 0, NULL, 0);
}

/* Ranges as " 0x1f7-0x1f7 ..." for the log (ends fit in 4 hex digits once checked). */
static void ranges_text(const struct hvm_range *rg, unsigned n, char *text, size_t cap)
{
	size_t at = 0;

	text[0] = 0;
	for (unsigned i = 0; i < n && at < cap; i++)
		at += snprintf(text + at, cap - at, " %#llx-%#llx", (unsigned long long)rg[i].start,
			       (unsigned long long)(rg[i].start + rg[i].len - 1));
}

/* SET_BUFFERED_PIO and SET_URGENT_PIO: a set of port ranges for set(), logged as what. */
static int set_pio_ranges(struct hv *hv, struct setup_conn *c, const struct req *r,
			  int (*set)(struct ioreq_prod *, const struct hvm_range *, unsigned),
			  const char *what)
{
	struct hvm_range rg[HVM_BUFFERED_PIO_MAX_RANGES];
	unsigned n = r->hdr.len / sizeof(rg[0]);
	char text[HVM_BUFFERED_PIO_MAX_RANGES * 16 + 8];
	int err;

	if (r->hdr.len % sizeof(rg[0]) || n > HVM_BUFFERED_PIO_MAX_RANGES)
		return reply(c, r, -EINVAL, NULL, 0, NULL, 0);
	memcpy(rg, r->payload, r->hdr.len);
	err = set(&hv->io, rg, n);
	if (err)
		return reply(c, r, err, NULL, 0, NULL, 0);
	ranges_text(rg, n, text, sizeof(text));
	/* Rate-limited here and below: the guest moves port regions (PCI BARs) at will. */
	hv_log_ratelimited("%s port writes:%s", what, n ? text : " none");
	return reply(c, r, 0, NULL, 0, NULL, 0);
}

static int do_set_pio_mirror(struct hv *hv, struct setup_conn *c, const struct req *r)
{
	struct hvm_range rg[HVM_PIO_MIRROR_MAX_PORTS];
	unsigned n = r->hdr.len / sizeof(rg[0]);
	char text[HVM_PIO_MIRROR_MAX_PORTS * 16 + 8];
	int err;

	if (r->hdr.len % sizeof(rg[0]) || n > HVM_PIO_MIRROR_MAX_PORTS || r->nfds > 1)
		return reply(c, r, -EINVAL, NULL, 0, NULL, 0);
	memcpy(rg, r->payload, r->hdr.len);
	/* serve_conn() closes the fd afterwards; the mapping outlives it. */
	err = ioreq_set_pio_mirror(&hv->io, rg, n, r->nfds ? r->fds[0] : -1);
	if (err)
		return reply(c, r, err, NULL, 0, NULL, 0);
	ranges_text(rg, n, text, sizeof(text));
	hv_log_ratelimited("port reads answered from the dm's mirror:%s", n ? text : " none");
	return reply(c, r, 0, NULL, 0, NULL, 0);
}

static int do_set_pio_effects(struct hv *hv, struct setup_conn *c, const struct req *r)
{
	struct hvm_pio_effect e[HVM_PIO_EFFECTS_MAX];
	unsigned n = r->hdr.len / sizeof(e[0]);
	int err;

	if (r->hdr.len % sizeof(e[0]) || n > HVM_PIO_EFFECTS_MAX)
		return reply(c, r, -EINVAL, NULL, 0, NULL, 0);
	memcpy(e, r->payload, r->hdr.len);
	err = ioreq_set_pio_effects(&hv->io, e, n);
	if (!err)
		hv_log_ratelimited("port writes with known effects on the mirror: %u ranges", n);
	return reply(c, r, err, NULL, 0, NULL, 0);
}

static int do_set_pio_busy(struct hv *hv, struct setup_conn *c, const struct req *r)
{
	struct hvm_pio_busy b[HVM_PIO_BUSY_MAX];
	unsigned n = r->hdr.len / sizeof(b[0]);
	int err;

	if (r->hdr.len % sizeof(b[0]) || n > HVM_PIO_BUSY_MAX)
		return reply(c, r, -EINVAL, NULL, 0, NULL, 0);
	memcpy(b, r->payload, r->hdr.len);
	err = ioreq_set_pio_busy(&hv->io, b, n);
	if (!err)
		hv_log_ratelimited("port writes that make reads busy: %u", n);
	return reply(c, r, err, NULL, 0, NULL, 0);
}

static int do_set_mmio_mirror(struct hv *hv, struct setup_conn *c, const struct req *r)
{
	struct hvm_mmio_mirror_set s;
	int err;

	if (r->hdr.len != sizeof(s) || r->nfds != 1)
		return reply(c, r, -EINVAL, NULL, 0, NULL, 0);
	memcpy(&s, r->payload, sizeof(s));
	/* serve_conn() closes the fd afterwards; the mapping outlives it. */
	err = ioreq_set_mmio_mirror(&hv->io, &s, r->fds[0]);
	if (err)
		return reply(c, r, err, NULL, 0, NULL, 0);
	hv_log("MMIO reads of %#llx-%#llx answered from the dm's image while it is valid",
	       (unsigned long long)s.gpa, (unsigned long long)(s.gpa + s.len - 1));
	return reply(c, r, 0, NULL, 0, NULL, 0);
}

static int do_shutdown(struct hv *hv, struct setup_conn *c, const struct req *r)
{
	static const int code[] = {
		[HVM_SHUTDOWN_POWEROFF] = HVM_EXIT_POWEROFF,
		[HVM_SHUTDOWN_REBOOT] = HVM_EXIT_REBOOT,
		[HVM_SHUTDOWN_SUSPEND] = -1,
		[HVM_SHUTDOWN_CRASH] = HVM_EXIT_CRASH,
	};
	struct hvm_shutdown sd;
	int err;

	if (r->hdr.len != sizeof(sd))
		return reply(c, r, -EINVAL, NULL, 0, NULL, 0);
	memcpy(&sd, r->payload, sizeof(sd));
	if (sd.reason >= sizeof(code) / sizeof(code[0]))
		return reply(c, r, -EINVAL, NULL, 0, NULL, 0);
	if (code[sd.reason] < 0)
		return reply(c, r, -EOPNOTSUPP, NULL, 0, NULL, 0);
	err = reply(c, r, 0, NULL, 0, NULL, 0);
	hv_domain_end(hv, code[sd.reason], "device model requested it");
	return err;
}

static int do_query(struct hv *hv, struct setup_conn *c, const struct req *r)
{
	struct hvm_status st = {
		.state = hv_run_state(hv),
		.nr_vcpus = hv->cfg.nr_vcpus,
		.uptime_ns = hv_now_ns() - hv->start_ns,
	};

	return reply(c, r, 0, &st, sizeof(st), NULL, 0);
}

static int do_ready(struct hv *hv, struct setup_conn *c, const struct req *r)
{
	int err = hv_vcpus_start(hv);

	if (!err)
		hv_log("device model ready: %u vcpu(s) started", hv->cfg.nr_vcpus);
	return reply(c, r, err, NULL, 0, NULL, 0);
}

static int dispatch(struct setup_server *s, struct hv *hv, struct setup_conn *c, struct req *r)
{
	int err;

	switch (r->hdr.type) {
	case HVM_MSG_PAUSE:
	case HVM_MSG_UNPAUSE:
		hv_pause(hv, r->hdr.type == HVM_MSG_PAUSE);
		return reply(c, r, 0, NULL, 0, NULL, 0);
	case HVM_MSG_QUERY:
		return do_query(hv, c, r);
	case HVM_MSG_DESTROY:
		err = reply(c, r, 0, NULL, 0, NULL, 0);
		hv_domain_end(hv, HVM_EXIT_DESTROYED, "destroy requested");
		return err;
	case HVM_MSG_HELLO:
		return do_hello(s, hv, c, r);
	default:
		break;
	}
	if (!c->is_dm)
		return reply(c, r, -EPERM, NULL, 0, NULL, 0);
	switch (r->hdr.type) {
	case HVM_MSG_READY:
		return do_ready(hv, c, r);
	case HVM_MSG_MAP:
		return do_map(hv, c, r);
	case HVM_MSG_UNMAP:
		return do_unmap(hv, c, r);
	case HVM_MSG_DIRTY_LOG:
		return do_dirty_log(hv, c, r);
	case HVM_MSG_SET_BUFFERED:
		return do_set_buffered(hv, c, r);
	case HVM_MSG_SET_BUFFERED_PIO:
		return set_pio_ranges(hv, c, r, ioreq_set_buffered_pio, "buffered");
	case HVM_MSG_SET_URGENT_PIO:
		return set_pio_ranges(hv, c, r, ioreq_set_urgent_pio, "urgent");
	case HVM_MSG_SET_PIO_MIRROR:
		return do_set_pio_mirror(hv, c, r);
	case HVM_MSG_SET_MMIO_MIRROR:
		return do_set_mmio_mirror(hv, c, r);
	case HVM_MSG_SET_PIO_EFFECTS:
		return do_set_pio_effects(hv, c, r);
	case HVM_MSG_SET_PIO_BUSY:
		return do_set_pio_busy(hv, c, r);
	case HVM_MSG_SHUTDOWN:
		return do_shutdown(hv, c, r);
	default:
		return reply(c, r, -ENOSYS, NULL, 0, NULL, 0);
	}
}

static void serve_conn(struct setup_server *s, struct hv *hv, struct setup_conn *c)
{
	static struct req r;
	int err;

	err = hvm_msg_recv(c->fd, &r.hdr, r.payload, sizeof(r.payload), r.fds, REQ_MAX_FDS,
			   &r.nfds);
	if (err == -EPROTO) {
		hv_log_ratelimited("setup: malformed packet ignored");
		return;
	}
	if (err) {
		drop_conn(s, hv, c);
		return;
	}
	err = dispatch(s, hv, c, &r);
	while (r.nfds)
		close(r.fds[--r.nfds]);
	if (err && err != -EPIPE)
		hv_log("setup: reply to message %u failed: %s", r.hdr.type, strerror(-err));
	if (err)
		drop_conn(s, hv, c);
}

static void accept_conn(struct setup_server *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (unsigned i = 0; i < SETUP_MAX_CONNS; i++) {
		if (s->conn[i].fd < 0) {
			s->conn[i] = (struct setup_conn){ .fd = fd };
			return;
		}
	}
	hv_log_ratelimited("setup: too many connections");
	close(fd);
}

static void handle_signal(struct setup_server *s, struct hv *hv)
{
	struct signalfd_siginfo si;

	if (read(s->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		hv_domain_end(hv, HVM_EXIT_DESTROYED, strsignal((int)si.ssi_signo));
}

void setup_server_run(struct setup_server *s, struct hv *hv)
{
	struct pollfd pfd[SETUP_MAX_CONNS + 3];
	unsigned map[SETUP_MAX_CONNS];

	while (!hv_stopping(hv)) {
		unsigned n = 0, nc = 0;

		pfd[n++] = (struct pollfd){ .fd = hv->stop_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = s->signal_fd, .events = POLLIN };
		for (unsigned i = 0; i < SETUP_MAX_CONNS; i++) {
			if (s->conn[i].fd < 0)
				continue;
			map[nc++] = i;
			pfd[n++] = (struct pollfd){ .fd = s->conn[i].fd, .events = POLLIN };
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			hv_domain_end(hv, HVM_EXIT_ERROR, "poll failed");
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[2].revents)
			handle_signal(s, hv);
		for (unsigned i = 0; i < nc; i++)
			if (pfd[3 + i].revents && s->conn[map[i]].fd >= 0)
				serve_conn(s, hv, &s->conn[map[i]]);
		if (pfd[1].revents)
			accept_conn(s);
	}
}
