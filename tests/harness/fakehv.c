// SPDX-License-Identifier: MIT
/*
 * fakehv.c - the hypervisor side of the qtest harness (see fakehv.h).
 *
 * Plays hvmhv without KVM around a real hvmdm process: guest RAM and the
 * shared pages are memfds created here and handed over in the HELLO reply in
 * HVM_FD_* order (include/hvm/setup.h); ioreqs follow the state machine and
 * barrier rules of include/hvm/ioreq.h (and Xen's, research/xen-ioreq.md
 * section 2): fields are written with the state at NONE, a release store
 * publishes READY, the request eventfd is signalled, and the response is
 * read only after an acquire load sees IORESP_READY.  A response never takes
 * longer than the configured timeout, so a dead or wedged dm shows up as an
 * error, not a hang.
 *
 * Not emulated: vCPUs, interrupt controllers (GSI levels are only observed
 * through the hvm_irq_page), more than one vCPU, resample eventfds (the
 * harness never sets HVM_SETUP_F_IRQ_RESAMPLE).
 */
#define _GNU_SOURCE
#include "fakehv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvm_msg.h"

#define PAGE_SIZE 4096ull
#define VGA_HOLE_START 0xa0000ull
#define VGA_HOLE_END 0xc0000ull
#define GIB4 (1ull << 32)
#define LOWMEM_MAX 0xc0000000ull /* RAM above this goes to 4 GiB (PCI hole below 4 GiB) */
#define STARTUP_TIMEOUT_MS 15000
#define MAX_DM_ARGS 128
#define RETIRE_GRACE_MS 5000 /* wait for the answer to a timed-out request */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void fhv_log(struct fhv *hv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("hvmdm-qtest: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (hv->log) {
		va_start(ap, fmt);
		vfprintf(hv->log, fmt, ap);
		fputc('\n', hv->log);
		fflush(hv->log);
		va_end(ap);
	}
}

const char *fhv_shutdown_name(int reason)
{
	switch (reason) {
	case HVM_SHUTDOWN_POWEROFF:
		return "poweroff";
	case HVM_SHUTDOWN_REBOOT:
		return "reboot";
	case HVM_SHUTDOWN_SUSPEND:
		return "suspend";
	case HVM_SHUTDOWN_CRASH:
		return "crash";
	case -1:
		return "none";
	default:
		return "unknown";
	}
}

int fhv_irq_fd(const struct fhv *hv, unsigned gsi)
{
	return hv->fds[hvm_fd_irq(&hv->info, gsi)];
}

static void *map_memfd(int fd, size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int new_memfd(const char *name, uint64_t size, void **map)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	*map = map_memfd(fd, size, PROT_READ | PROT_WRITE);
	if (!*map) {
		close(fd);
		return -ENOMEM;
	}
	return fd;
}

static int create_shared(struct fhv *hv, uint64_t ram_mb)
{
	static const char *const names[] = {
		"qtest-ram", "qtest-ioreq",  "qtest-bufioreq", "qtest-bounce", "qtest-irq", "",
		"",	     "qtest-written"
	};
	uint64_t sizes[HVM_FD_FIXED_COUNT];
	void *maps[HVM_FD_FIXED_COUNT] = { 0 };
	unsigned i;

	hv->ram_size = ram_mb << 20;
	hv->info.version = HVM_SETUP_VERSION;
	hv->info.flags = HVM_SETUP_F_CLOCK_STEPPED;
	hv->info.nr_vcpus = 1;
	hv->info.nr_gsis = HVM_NR_GSIS;
	hv->info.ram_below_4g = hv->ram_size < LOWMEM_MAX ? hv->ram_size : LOWMEM_MAX;
	hv->info.ram_above_4g = hv->ram_size - hv->info.ram_below_4g;
	hv->info.bounce_gpa = HVM_BOUNCE_GPA;
	hv->written_size = (hv->ram_size / PAGE_SIZE + 7) / 8;
	hv->written_size = (hv->written_size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);

	sizes[HVM_FD_RAM] = hv->ram_size;
	sizes[HVM_FD_IOREQ_PAGE] = PAGE_SIZE;
	sizes[HVM_FD_BUFIOREQ_PAGE] = PAGE_SIZE;
	sizes[HVM_FD_BOUNCE] = PAGE_SIZE * hv->info.nr_vcpus;
	sizes[HVM_FD_IRQ_PAGE] = PAGE_SIZE;
	sizes[HVM_FD_WRITTEN] = hv->written_size;
	for (i = 0; i < HVM_FD_FIXED_COUNT; i++) {
		int fd;

		if (i == HVM_FD_REQ_EVENT || i == HVM_FD_BUF_EVENT)
			fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		else
			fd = new_memfd(names[i], sizes[i], &maps[i]);
		if (fd < 0)
			return fd == -1 ? -errno : fd;
		hv->fds[hv->nfds++] = fd;
	}
	hv->ram = maps[HVM_FD_RAM];
	hv->iopage = maps[HVM_FD_IOREQ_PAGE];
	hv->bufpage = maps[HVM_FD_BUFIOREQ_PAGE];
	hv->bounce = maps[HVM_FD_BOUNCE];
	hv->irqpage = maps[HVM_FD_IRQ_PAGE];
	hv->written = maps[HVM_FD_WRITTEN];
	/* Response eventfds, GSI eventfds, resample eventfds. */
	while (hv->nfds < hvm_fd_total(&hv->info)) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0)
			return -errno;
		hv->fds[hv->nfds++] = fd;
	}
	return 0;
}

static void reap(struct fhv *hv, bool block)
{
	int st;

	if (hv->pid <= 0 || hv->exit_status != -1)
		return;
	if (waitpid(hv->pid, &st, block ? 0 : WNOHANG) == hv->pid) {
		hv->exit_status = st;
		if (WIFSIGNALED(st))
			fhv_log(hv, "dm killed by signal %d", WTERMSIG(st));
		else
			fhv_log(hv, "dm exited with status %d", WEXITSTATUS(st));
	}
}

static void connection_lost(struct fhv *hv, int err)
{
	if (hv->sock >= 0) {
		fhv_log(hv, "dm setup connection lost (%s)", strerror(-err));
		close(hv->sock);
		hv->sock = -1;
	}
	hv->dm_dead = true;
	reap(hv, false);
}

static int spawn_dm(struct fhv *hv, const struct fhv_config *cfg)
{
	char mb[32];
	char *argv[MAX_DM_ARGS];
	unsigned n = 0, i;

	snprintf(mb, sizeof(mb), "%llu", (unsigned long long)cfg->ram_mb);
	argv[n++] = (char *)cfg->dm_path;
	argv[n++] = "-d";
	argv[n++] = "0";
	argv[n++] = "-domain-name";
	argv[n++] = "qtest";
	argv[n++] = "-m";
	argv[n++] = mb;
	argv[n++] = "-vcpus";
	argv[n++] = "1";
	argv[n++] = "-setup";
	argv[n++] = hv->sock_path;
	for (i = 0; cfg->extra_args && cfg->extra_args[i]; i++) {
		if (n >= MAX_DM_ARGS - 1)
			return -E2BIG;
		argv[n++] = cfg->extra_args[i];
	}
	argv[n] = NULL;

	hv->pid = fork();
	if (hv->pid < 0)
		return -errno;
	if (hv->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		/* stdout belongs to the qtest stream: the dm's output goes to stderr. */
		if (null >= 0)
			dup2(null, 0);
		dup2(2, 1);
		execv(cfg->dm_path, argv);
		fprintf(stderr, "hvmdm-qtest: cannot run %s: %s\n", cfg->dm_path, strerror(errno));
		_exit(127);
	}
	return 0;
}

static int send_reply(struct fhv *hv, const struct hvm_msg *req, int status, const void *payload,
		      size_t len, const int *fds, unsigned nfds)
{
	int err = hvm_msg_send(hv->sock, req->type, req->seq, status, payload, len, fds, nfds);

	if (err)
		connection_lost(hv, err);
	return err;
}

static int do_map(struct fhv *hv, const void *payload, size_t len, const int *fds, unsigned nfds)
{
	struct hvm_map m;
	struct fhv_map *slot = NULL;
	unsigned i;
	int prot;

	if (len != sizeof(m) || nfds != 1)
		return -EINVAL;
	memcpy(&m, payload, sizeof(m));
	if (!m.size || (m.gpa | m.size | m.offset) & (PAGE_SIZE - 1) || m.gpa + m.size < m.gpa ||
	    m.flags & ~(uint32_t)(HVM_MAP_F_READONLY | HVM_MAP_F_DIRTY_LOG))
		return -EINVAL;
	for (i = 0; i < FHV_MAX_MAPS; i++) {
		struct fhv_map *o = &hv->maps[i];

		if (!o->used) {
			slot = slot ? slot : o;
			continue;
		}
		if (m.gpa < o->gpa + o->size && o->gpa < m.gpa + m.size)
			return -EEXIST;
	}
	if (!slot)
		return -ENOSPC;
	prot = PROT_READ | (m.flags & HVM_MAP_F_READONLY ? 0 : PROT_WRITE);
	slot->host = mmap(NULL, m.size, prot, MAP_SHARED, fds[0], (off_t)m.offset);
	if (slot->host == MAP_FAILED) {
		slot->host = NULL;
		return -errno;
	}
	slot->dirty = NULL;
	if (m.flags & HVM_MAP_F_DIRTY_LOG) {
		slot->dirty = calloc(1, (m.size / PAGE_SIZE + 7) / 8);
		if (!slot->dirty) {
			munmap(slot->host, m.size);
			return -ENOMEM;
		}
	}
	slot->gpa = m.gpa;
	slot->size = m.size;
	slot->offset = m.offset;
	slot->flags = m.flags;
	slot->used = true;
	fhv_log(hv, "MAP gpa 0x%llx size 0x%llx flags 0x%x", (unsigned long long)m.gpa,
		(unsigned long long)m.size, m.flags);
	return 0;
}

static void free_map(struct fhv_map *m)
{
	if (m->host)
		munmap(m->host, m->size);
	free(m->dirty);
	memset(m, 0, sizeof(*m));
}

static struct fhv_map *find_map(struct fhv *hv, uint64_t gpa)
{
	for (unsigned i = 0; i < FHV_MAX_MAPS; i++)
		if (hv->maps[i].used && hv->maps[i].gpa == gpa)
			return &hv->maps[i];
	return NULL;
}

static int do_unmap(struct fhv *hv, const void *payload, size_t len)
{
	struct hvm_map m;
	struct fhv_map *o;

	if (len != sizeof(m))
		return -EINVAL;
	memcpy(&m, payload, sizeof(m));
	o = find_map(hv, m.gpa);
	if (!o || (m.size && m.size != o->size))
		return -ENOENT;
	fhv_log(hv, "UNMAP gpa 0x%llx", (unsigned long long)m.gpa);
	free_map(o);
	return 0;
}

static void do_dirty_log(struct fhv *hv, const struct hvm_msg *hdr, const void *payload, size_t len)
{
	struct hvm_map m;
	struct fhv_map *o;
	size_t bytes;

	if (len != sizeof(m)) {
		send_reply(hv, hdr, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&m, payload, sizeof(m));
	o = find_map(hv, m.gpa);
	if (!o || !o->dirty) {
		send_reply(hv, hdr, -ENOENT, NULL, 0, NULL, 0);
		return;
	}
	bytes = (o->size / PAGE_SIZE + 7) / 8;
	if (bytes > HVM_MSG_MAX_PAYLOAD) {
		send_reply(hv, hdr, -E2BIG, NULL, 0, NULL, 0);
		return;
	}
	if (send_reply(hv, hdr, 0, o->dirty, bytes, NULL, 0) == 0)
		memset(o->dirty, 0, bytes);
}

static int do_set_buffered(struct fhv *hv, const void *payload, size_t len)
{
	struct hvm_range r;

	if (len != sizeof(r))
		return -EINVAL;
	memcpy(&r, payload, sizeof(r));
	if (!r.len || r.start + r.len < r.start)
		return -EINVAL;
	if (hv->nr_bufranges >= FHV_MAX_BUFRANGES)
		return -ENOSPC;
	hv->bufranges[hv->nr_bufranges++] = r;
	fhv_log(hv, "SET_BUFFERED 0x%llx+0x%llx", (unsigned long long)r.start,
		(unsigned long long)r.len);
	return 0;
}

/* SET_BUFFERED_PIO: the whole set is replaced, as hvmhv does. */
static int do_set_buffered_pio(struct fhv *hv, const void *payload, size_t len)
{
	struct hvm_range r[HVM_BUFFERED_PIO_MAX_RANGES];
	unsigned n = (unsigned)(len / sizeof(r[0]));

	if (len % sizeof(r[0]) || n > HVM_BUFFERED_PIO_MAX_RANGES)
		return -EINVAL;
	memcpy(r, payload, len);
	for (unsigned i = 0; i < n; i++)
		if (r[i].len > 0x10000 || r[i].start > 0x10000 - r[i].len)
			return -EINVAL;
	memcpy(hv->bufpio, r, len);
	hv->nr_bufpio = n;
	for (unsigned i = 0; i < n; i++)
		fhv_log(hv, "SET_BUFFERED_PIO %u/%u 0x%llx+0x%llx", i + 1, n,
			(unsigned long long)r[i].start, (unsigned long long)r[i].len);
	if (!n)
		fhv_log(hv, "SET_BUFFERED_PIO none");
	return 0;
}

static int do_shutdown(struct fhv *hv, const void *payload, size_t len)
{
	struct hvm_shutdown s;

	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, payload, sizeof(s));
	if (s.reason > HVM_SHUTDOWN_CRASH)
		return -EINVAL;
	hv->shutdown_reason = (int)s.reason;
	fhv_log(hv, "SHUTDOWN %s", fhv_shutdown_name(hv->shutdown_reason));
	return 0;
}

static void do_hello(struct fhv *hv, const struct hvm_msg *hdr, const void *payload, size_t len)
{
	struct hvm_hello h;

	if (len != sizeof(h)) {
		send_reply(hv, hdr, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&h, payload, sizeof(h));
	if (h.version != HVM_SETUP_VERSION) {
		fhv_log(hv, "dm speaks setup version %u, want %u", h.version, HVM_SETUP_VERSION);
		send_reply(hv, hdr, -EPROTO, NULL, 0, NULL, 0);
		return;
	}
	send_reply(hv, hdr, 0, &hv->info, sizeof(hv->info), hv->fds, hv->nfds);
}

/* Handle one request from the dm. */
static void handle_request(struct fhv *hv, const struct hvm_msg *hdr, const void *payload, int *fds,
			   unsigned nfds)
{
	struct hvm_status st;
	int status = 0;

	switch (hdr->type) {
	case HVM_MSG_HELLO:
		do_hello(hv, hdr, payload, hdr->len);
		goto close_fds;
	case HVM_MSG_READY:
		hv->ready = true;
		break;
	case HVM_MSG_MAP:
		status = do_map(hv, payload, hdr->len, fds, nfds);
		break;
	case HVM_MSG_UNMAP:
		status = do_unmap(hv, payload, hdr->len);
		break;
	case HVM_MSG_DIRTY_LOG:
		do_dirty_log(hv, hdr, payload, hdr->len);
		goto close_fds;
	case HVM_MSG_SET_BUFFERED:
		status = do_set_buffered(hv, payload, hdr->len);
		break;
	case HVM_MSG_SET_BUFFERED_PIO:
		status = do_set_buffered_pio(hv, payload, hdr->len);
		break;
	case HVM_MSG_SHUTDOWN:
		status = do_shutdown(hv, payload, hdr->len);
		break;
	case HVM_MSG_PAUSE:
	case HVM_MSG_UNPAUSE:
		hv->paused = hdr->type == HVM_MSG_PAUSE;
		fhv_log(hv, "%s", hv->paused ? "PAUSE" : "UNPAUSE");
		break;
	case HVM_MSG_QUERY:
		st.state = hv->shutdown_reason >= 0 ? HVM_STATE_SHUTDOWN
			   : hv->paused		    ? HVM_STATE_PAUSED
						    : HVM_STATE_RUNNING;
		st.nr_vcpus = hv->info.nr_vcpus;
		st.uptime_ns = hv->clock_ns;
		send_reply(hv, hdr, 0, &st, sizeof(st), NULL, 0);
		goto close_fds;
	case HVM_MSG_DESTROY:
		status = -EPERM;
		break;
	default:
		fhv_log(hv, "unexpected message type %u from the dm", hdr->type);
		status = -ENOSYS;
		break;
	}
	send_reply(hv, hdr, status, NULL, 0, NULL, 0);
close_fds:
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
}

struct clock_wait {
	uint32_t seq;
	bool done;
	int status;
	uint64_t ns;
};

/* Receive and handle one packet; it may be the reply a clock_wait expects. */
static void recv_one(struct fhv *hv, void *buf, struct clock_wait *cw)
{
	struct hvm_msg hdr;
	int fds[HVM_MSG_MAX_FDS];
	unsigned nfds;
	int err =
		hvm_msg_recv(hv->sock, &hdr, buf, HVM_MSG_MAX_PAYLOAD, fds, HVM_MSG_MAX_FDS, &nfds);

	if (err == -EAGAIN)
		return;
	if (err) {
		connection_lost(hv, err);
		return;
	}
	if (hdr.type == HVM_MSG_CLOCK_SET && cw && hdr.seq == cw->seq) {
		struct hvm_clock c = { 0 };

		if (hdr.len == sizeof(c))
			memcpy(&c, buf, sizeof(c));
		cw->done = true;
		cw->status = hdr.status;
		cw->ns = c.ns;
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return;
	}
	handle_request(hv, &hdr, buf, fds, nfds);
}

/*
 * Wait until fd is readable, servicing the setup socket meanwhile.  Returns
 * 1 when fd is readable, 0 on timeout, -EPIPE when the dm is gone, 2 when cw
 * completed, or (fd < 0 and no cw) 3 after servicing one packet.
 */
static int wait_fd(struct fhv *hv, int fd, uint64_t deadline, struct clock_wait *cw)
{
	static _Alignas(8) uint8_t buf[HVM_MSG_MAX_PAYLOAD];

	for (;;) {
		struct pollfd p[2] = { { .fd = hv->sock, .events = POLLIN },
				       { .fd = fd, .events = POLLIN } };
		uint64_t now = now_ms();
		int n;

		if (cw && cw->done)
			return 2;
		if (hv->sock < 0)
			return -EPIPE;
		if (now >= deadline)
			return 0;
		n = poll(p, 2, (int)(deadline - now < 1000 ? deadline - now : 1000));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0) {
			reap(hv, false);
			continue;
		}
		if (p[1].revents)
			return 1;
		if (p[0].revents & POLLIN)
			recv_one(hv, buf, cw);
		else if (p[0].revents)
			connection_lost(hv, -ECONNRESET);
		if (fd < 0 && !cw)
			return 3; /* one packet serviced */
	}
}

void fhv_service(struct fhv *hv)
{
	while (hv->sock >= 0) {
		struct pollfd p = { .fd = hv->sock, .events = POLLIN };

		if (poll(&p, 1, 0) <= 0)
			break;
		wait_fd(hv, -1, now_ms() + 1, NULL);
	}
	reap(hv, false);
}

static int setup_session(struct fhv *hv)
{
	uint64_t deadline = now_ms() + STARTUP_TIMEOUT_MS;

	for (;;) {
		struct pollfd p = { .fd = hv->listen_fd, .events = POLLIN };
		int n = poll(&p, 1, 100);

		if (n > 0)
			break;
		reap(hv, false);
		if (hv->exit_status != -1)
			return -ECHILD;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
	}
	hv->sock = accept4(hv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (hv->sock < 0)
		return -errno;
	while (!hv->ready) {
		int r = wait_fd(hv, -1, deadline, NULL);

		if (r == -EPIPE)
			return -ECHILD;
		if (r == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

int fhv_start(struct fhv *hv, const struct fhv_config *cfg)
{
	int err;

	memset(hv, 0, sizeof(*hv));
	hv->listen_fd = -1;
	hv->sock = -1;
	hv->pid = -1;
	hv->exit_status = -1;
	hv->shutdown_reason = -1;
	hv->timeout_ms = cfg->timeout_ms;
	hv->log = cfg->log;
	for (unsigned i = 0; i < sizeof(hv->fds) / sizeof(hv->fds[0]); i++)
		hv->fds[i] = -1;

	err = create_shared(hv, cfg->ram_mb);
	if (err)
		return err;
	strcpy(hv->dir, "/tmp/hvmdm-qtest.XXXXXX");
	if (!mkdtemp(hv->dir)) {
		hv->dir[0] = 0;
		return -errno;
	}
	snprintf(hv->sock_path, sizeof(hv->sock_path), "%s/setup.sock", hv->dir);
	hv->listen_fd = hvm_msg_listen(hv->sock_path);
	if (hv->listen_fd < 0)
		return hv->listen_fd;
	err = spawn_dm(hv, cfg);
	if (err)
		return err;
	err = setup_session(hv);
	if (err == -ECHILD)
		fhv_log(hv, "dm exited before READY");
	else if (err == -ETIMEDOUT)
		fhv_log(hv, "dm did not reach READY within %u ms", STARTUP_TIMEOUT_MS);
	return err;
}

int fhv_stop(struct fhv *hv)
{
	unsigned i;

	if (hv->sock >= 0) {
		close(hv->sock);
		hv->sock = -1;
	}
	/* Closing the setup connection tells the dm the domain is gone. */
	for (i = 0; i < 40 && hv->pid > 0 && hv->exit_status == -1; i++) {
		usleep(50000);
		reap(hv, false);
	}
	if (hv->pid > 0 && hv->exit_status == -1) {
		kill(hv->pid, SIGTERM);
		for (i = 0; i < 40 && hv->exit_status == -1; i++) {
			usleep(50000);
			reap(hv, false);
		}
	}
	if (hv->pid > 0 && hv->exit_status == -1) {
		fhv_log(hv, "dm ignored SIGTERM, killing it");
		kill(hv->pid, SIGKILL);
		reap(hv, true);
	}
	for (i = 0; i < FHV_MAX_MAPS; i++)
		if (hv->maps[i].used)
			free_map(&hv->maps[i]);
	for (i = 0; i < hv->nfds; i++)
		close(hv->fds[i]);
	if (hv->ram)
		munmap(hv->ram, hv->ram_size);
	if (hv->iopage)
		munmap(hv->iopage, PAGE_SIZE);
	if (hv->bufpage)
		munmap(hv->bufpage, PAGE_SIZE);
	if (hv->bounce)
		munmap(hv->bounce, PAGE_SIZE * hv->info.nr_vcpus);
	if (hv->irqpage)
		munmap(hv->irqpage, PAGE_SIZE);
	if (hv->written)
		munmap(hv->written, hv->written_size);
	if (hv->listen_fd >= 0)
		close(hv->listen_fd);
	if (hv->dir[0]) {
		unlink(hv->sock_path);
		rmdir(hv->dir);
	}
	return hv->exit_status;
}

/* Xen's rule: nothing but `data` may change while the dm owns the slot. */
static bool slot_intact(const struct ioreq *r, const struct ioreq *sent)
{
	return r->addr == sent->addr && r->count == sent->count && r->size == sent->size &&
	       r->type == sent->type && r->vp_eport == sent->vp_eport &&
	       ((r->flags ^ sent->flags) & ~IOREQ_F_STATE_MASK) == 0 &&
	       (!(sent->flags & IOREQ_F_DATA_IS_PTR) || r->data == sent->data);
}

int fhv_ioreq(struct fhv *hv, uint8_t type, uint64_t addr, uint32_t size, uint32_t count, bool read,
	      bool data_is_ptr, bool df, uint64_t *data)
{
	struct ioreq *r = &hv->iopage->vcpu_ioreq[0];
	struct ioreq sent;
	uint8_t flags = ioreq_load_flags(r);
	uint64_t deadline;
	int evfd = hv->fds[hvm_fd_resp(0)];

	if (hv->dm_dead)
		return -EPIPE;
	if (ioreq_state(flags) != STATE_IOREQ_NONE && ioreq_state(flags) != STATE_IORESP_READY) {
		/*
		 * An earlier request timed out: the vCPU would still be blocked on
		 * it.  Give a resumed dm at least RETIRE_GRACE_MS to answer it.
		 */
		deadline = now_ms() +
			   (hv->timeout_ms > RETIRE_GRACE_MS ? hv->timeout_ms : RETIRE_GRACE_MS);
		while (ioreq_state(flags) != STATE_IORESP_READY) {
			int w = wait_fd(hv, evfd, deadline, NULL);

			if (w == 1) {
				eventfd_t v;

				eventfd_read(evfd, &v);
			}
			flags = ioreq_load_flags(r);
			if (w != 1 && ioreq_state(flags) != STATE_IORESP_READY)
				return w < 0 ? w : -EBUSY;
		}
	}
	if (ioreq_state(flags) == STATE_IORESP_READY) {
		/* Late answer to a request that timed out: retire it. */
		ioreq_store_flags(r, ioreq_flags_with_state(flags, STATE_IOREQ_NONE));
	} else if (ioreq_state(flags) != STATE_IOREQ_NONE) {
		return -EBUSY;
	}

	memset(&sent, 0, sizeof(sent));
	sent.addr = addr;
	sent.data = (read && !data_is_ptr) ? 0 : *data;
	sent.count = count;
	sent.size = size;
	sent.vp_eport = 0;
	sent.type = type;
	sent.flags =
		(uint8_t)((read ? IOREQ_F_DIR_READ : 0) | (data_is_ptr ? IOREQ_F_DATA_IS_PTR : 0) |
			  (df ? IOREQ_F_DF : 0) | STATE_IOREQ_NONE);
	/* Fill every field with the state still NONE ... */
	ioreq_store_flags(r, sent.flags);
	r->addr = sent.addr;
	r->data = sent.data;
	r->count = sent.count;
	r->size = sent.size;
	r->vp_eport = sent.vp_eport;
	r->pad0 = 0;
	r->type = sent.type;
	/* ... then publish it: the release store orders the fields before READY. */
	ioreq_store_flags(r, ioreq_flags_with_state(sent.flags, STATE_IOREQ_READY));
	if (eventfd_write(hv->fds[HVM_FD_REQ_EVENT], 1) < 0)
		return -errno;

	deadline = now_ms() + hv->timeout_ms;
	for (;;) {
		int w;

		flags = ioreq_load_flags(r); /* acquire: pairs with the dm's release */
		if (ioreq_state(flags) == STATE_IORESP_READY)
			break;
		w = wait_fd(hv, evfd, deadline, NULL);
		if (w == 1) {
			eventfd_t v;

			eventfd_read(evfd, &v);
			continue;
		}
		flags = ioreq_load_flags(r);
		if (ioreq_state(flags) == STATE_IORESP_READY)
			break;
		if (w == 0)
			return -ETIMEDOUT;
		return w < 0 ? w : -EIO;
	}
	if (!slot_intact(r, &sent)) {
		fhv_log(hv, "dm changed ioreq fields other than data (addr 0x%llx type %u)",
			(unsigned long long)addr, type);
		ioreq_store_flags(r, ioreq_flags_with_state(flags, STATE_IOREQ_NONE));
		return -EPROTO;
	}
	if (read && !data_is_ptr)
		*data = r->data;
	ioreq_store_flags(r, ioreq_flags_with_state(flags, STATE_IOREQ_NONE));
	{
		uint32_t rp = __atomic_load_n(&hv->bufpage->read_pointer, __ATOMIC_ACQUIRE);

		if (rp != hv->bufpage->write_pointer) {
			fhv_log(hv, "dm answered a synchronous ioreq before draining the buffered "
				    "ring");
			return -EPROTO;
		}
	}
	return 0;
}

bool fhv_is_buffered(const struct fhv *hv, uint64_t addr, unsigned size)
{
	for (unsigned i = 0; i < hv->nr_bufranges; i++) {
		const struct hvm_range *r = &hv->bufranges[i];

		if (addr >= r->start && addr - r->start < r->len &&
		    size <= r->len - (addr - r->start))
			return addr + size - 1 <= BUF_IOREQ_ADDR_MAX;
	}
	return false;
}

bool fhv_is_buffered_pio(const struct fhv *hv, uint64_t port, unsigned size)
{
	for (uint64_t p = port; p < port + size; p++) {
		bool in = false;

		for (unsigned i = 0; i < hv->nr_bufpio && !in; i++)
			in = p >= hv->bufpio[i].start &&
			     p - hv->bufpio[i].start < hv->bufpio[i].len;
		if (!in)
			return false;
	}
	return size > 0;
}

static int buffered_write(struct fhv *hv, uint8_t type, uint64_t addr, unsigned size, uint64_t val,
			  bool kick);

int fhv_posted_pio_write(struct fhv *hv, uint16_t port, unsigned size, uint64_t val)
{
	return buffered_write(hv, IOREQ_TYPE_PIO, port, size, val, false);
}

int fhv_buffered_write(struct fhv *hv, uint8_t type, uint64_t addr, unsigned size, uint64_t val)
{
	return buffered_write(hv, type, addr, size, val, true);
}

static int buffered_write(struct fhv *hv, uint8_t type, uint64_t addr, unsigned size, uint64_t val,
			  bool kick)
{
	struct buffered_iopage *bp = hv->bufpage;
	unsigned code, n = size == 8 ? 2 : 1;
	uint32_t rp, wp, w0;

	switch (size) {
	case 1:
		code = 0;
		break;
	case 2:
		code = 1;
		break;
	case 4:
		code = 2;
		break;
	case 8:
		code = 3;
		break;
	default:
		return -EINVAL;
	}
	if (addr > BUF_IOREQ_ADDR_MAX)
		return -EINVAL;
	if (hv->dm_dead)
		return -EPIPE;
	rp = __atomic_load_n(&bp->read_pointer, __ATOMIC_ACQUIRE);
	wp = bp->write_pointer;
	if (wp - rp > IOREQ_BUFFER_SLOT_NUM - n) {
		/* Ring full: Xen falls back to a synchronous request. */
		return fhv_ioreq(hv, type, addr, size, 1, false, false, false, &val);
	}
	w0 = BUF_IOREQ_WORD0(type, IOREQ_WRITE, code, addr);
	bp->buf_ioreq[wp % IOREQ_BUFFER_SLOT_NUM].word0 = w0;
	bp->buf_ioreq[wp % IOREQ_BUFFER_SLOT_NUM].data = (uint32_t)val;
	if (n == 2) {
		bp->buf_ioreq[(wp + 1) % IOREQ_BUFFER_SLOT_NUM].word0 = w0;
		bp->buf_ioreq[(wp + 1) % IOREQ_BUFFER_SLOT_NUM].data = (uint32_t)(val >> 32);
	}
	/* Slots before the pointer that publishes them. */
	__atomic_store_n(&bp->write_pointer, wp + n, __ATOMIC_RELEASE);
	if (kick && eventfd_write(hv->fds[HVM_FD_BUF_EVENT], 1) < 0)
		return -errno;
	return 0;
}

struct backing {
	uint64_t start, end; /* [start, end) */
	uint8_t *host;
	struct fhv_map *map;
};

/* The backings in lookup priority order: dm mappings override RAM. */
static unsigned backings(struct fhv *hv, struct backing *b, unsigned cap)
{
	uint64_t below = hv->info.ram_below_4g;
	unsigned n = 0;

	for (unsigned i = 0; i < FHV_MAX_MAPS && n < cap; i++) {
		struct fhv_map *m = &hv->maps[i];

		if (m->used)
			b[n++] = (struct backing){ m->gpa, m->gpa + m->size, m->host, m };
	}
	if (n + 4 > cap)
		return n;
	b[n++] = (struct backing){ 0, below < VGA_HOLE_START ? below : VGA_HOLE_START, hv->ram,
				   NULL };
	if (below > VGA_HOLE_END)
		b[n++] = (struct backing){ VGA_HOLE_END, below, hv->ram + VGA_HOLE_END, NULL };
	if (hv->info.ram_above_4g)
		b[n++] = (struct backing){ GIB4, GIB4 + hv->info.ram_above_4g, hv->ram + below,
					   NULL };
	b[n++] = (struct backing){ hv->info.bounce_gpa,
				   hv->info.bounce_gpa + PAGE_SIZE * hv->info.nr_vcpus, hv->bounce,
				   NULL };
	return n;
}

uint8_t *fhv_lookup(struct fhv *hv, uint64_t gpa, uint64_t len, bool write, uint64_t *len_ok)
{
	struct backing b[FHV_MAX_MAPS + 4];
	unsigned n = backings(hv, b, FHV_MAX_MAPS + 4), i;
	uint64_t limit = len;

	for (i = 0; i < n; i++) {
		uint64_t avail;

		if (gpa < b[i].start || gpa >= b[i].end) {
			/* A higher-priority backing may start inside the range. */
			if (b[i].start > gpa && b[i].start - gpa < limit)
				limit = b[i].start - gpa;
			continue;
		}
		avail = b[i].end - gpa;
		if (avail < limit)
			limit = avail;
		*len_ok = limit;
		if (b[i].map && write && (b[i].map->flags & HVM_MAP_F_READONLY))
			return NULL; /* a write to ROM exits to the dm, as under KVM */
		if (b[i].map && write && b[i].map->dirty) {
			uint64_t first = (gpa - b[i].start) / PAGE_SIZE;
			uint64_t last = (gpa - b[i].start + limit - 1) / PAGE_SIZE;

			for (uint64_t p = first; p <= last; p++)
				b[i].map->dirty[p / 8] |= (uint8_t)(1u << (p % 8));
		}
		return b[i].host + (gpa - b[i].start);
	}
	*len_ok = limit;
	return NULL;
}

int fhv_clock_set(struct fhv *hv, uint64_t ns, uint64_t *now)
{
	struct hvm_clock c = { .ns = ns };
	struct clock_wait cw = { .seq = ++hv->seq };
	int err, w;

	if (hv->dm_dead || hv->sock < 0)
		return -EPIPE;
	err = hvm_msg_send(hv->sock, HVM_MSG_CLOCK_SET, cw.seq, 0, &c, sizeof(c), NULL, 0);
	if (err) {
		connection_lost(hv, err);
		return -EPIPE;
	}
	w = wait_fd(hv, -1, now_ms() + hv->timeout_ms, &cw);
	if (w != 2)
		return w == 0 ? -ETIMEDOUT : -EPIPE;
	*now = cw.ns;
	if (cw.status == 0 && cw.ns < HVM_CLOCK_NEXT_DEADLINE)
		hv->clock_ns = cw.ns;
	if (cw.status)
		return cw.status;
	if (ns == HVM_CLOCK_NEXT_DEADLINE && cw.ns >= HVM_CLOCK_NEXT_DEADLINE)
		return -ENOTSUP;
	return 0;
}

void fhv_drain_irq_events(struct fhv *hv)
{
	for (unsigned g = 0; g < hv->info.nr_gsis; g++) {
		eventfd_t v;

		eventfd_read(fhv_irq_fd(hv, g), &v);
	}
}
