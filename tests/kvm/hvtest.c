// SPDX-License-Identifier: MIT
/*
 * hvtest.c - see hvtest.h.
 */
#define _GNU_SOURCE
#include "hvtest.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvm_msg.h"

#define BIOS_SIZE 0x10000

bool hvt_have_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("SKIPPED: /dev/kvm not usable (%s)\n", strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

int hvt_tmpdir(char *dir, size_t cap)
{
	if (cap < 32)
		return -EINVAL;
	strcpy(dir, "/tmp/hvtest-XXXXXX");
	return mkdtemp(dir) ? 0 : -errno;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void hvt_rmdir(const char *dir)
{
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int hvt_write_bios(const char *path, const uint8_t *code, size_t len)
{
	static uint8_t img[BIOS_SIZE];
	/* At FFFF:FFF0 (reset vector, SDM vol. 3A 9.1.4): jmp far F000:0000. */
	static const uint8_t reset[] = { 0xea, 0x00, 0x00, 0x00, 0xf0 };
	FILE *f;
	size_t n;

	if (len > BIOS_SIZE - 16)
		return -EINVAL;
	memset(img, 0xf4, sizeof(img)); /* hlt everywhere else */
	memcpy(img, code, len);
	memcpy(img + BIOS_SIZE - 16, reset, sizeof(reset));
	f = fopen(path, "we");
	if (!f)
		return -errno;
	n = fwrite(img, 1, sizeof(img), f);
	if (fclose(f) || n != sizeof(img))
		return -EIO;
	return 0;
}

pid_t hvt_spawn(char *const argv[], const char *out_path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int hvt_wait(pid_t pid, int timeout_s)
{
	int status;

	for (int i = 0; i < timeout_s * 100; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(10000);
	}
	fprintf(stderr, "pid %d did not exit within %d s: killing it\n", (int)pid, timeout_s);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

bool hvt_file_contains(const char *path, const char *needle)
{
	char *buf;
	size_t n;
	bool found;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	buf = calloc(1, 1 << 20);
	n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (!buf)
		return false;
	buf[n] = 0;
	found = strstr(buf, needle) != NULL;
	free(buf);
	return found;
}

static void *map_fd(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

int fake_dm_attach(struct fake_dm *d, const char *path, uint32_t domid)
{
	struct hvm_hello hello = { .version = HVM_SETUP_VERSION, .domid = domid };
	struct hvm_msg hdr;
	int err = -ENOENT;

	memset(d, 0, sizeof(*d));
	d->sock = -1;
	for (int i = 0; i < 1000 && d->sock < 0; i++) {
		d->sock = hvm_msg_connect(path);
		if (d->sock < 0)
			usleep(10000);
	}
	if (d->sock < 0)
		return d->sock;
	err = hvm_msg_send(d->sock, HVM_MSG_HELLO, 1, 0, &hello, sizeof(hello), NULL, 0);
	if (!err)
		err = hvm_msg_recv(d->sock, &hdr, &d->info, sizeof(d->info), d->fds,
				   HVM_MSG_MAX_FDS, &d->nfds);
	if (err)
		return err;
	if (hdr.status)
		return hdr.status;
	if (hdr.len != sizeof(d->info) || d->nfds != hvm_fd_total(&d->info))
		return -EPROTO;
	d->page = map_fd(d->fds[HVM_FD_IOREQ_PAGE], IOREQ_PAGE_SIZE);
	d->buf = map_fd(d->fds[HVM_FD_BUFIOREQ_PAGE], IOREQ_PAGE_SIZE);
	d->ram = map_fd(d->fds[HVM_FD_RAM], d->info.ram_below_4g + d->info.ram_above_4g);
	d->bounce = map_fd(d->fds[HVM_FD_BOUNCE], (size_t)d->info.nr_vcpus * 4096);
	return d->page && d->buf && d->ram && d->bounce ? 0 : -ENOMEM;
}

void fake_dm_detach(struct fake_dm *d)
{
	for (unsigned i = 0; i < d->nfds; i++)
		close(d->fds[i]);
	d->nfds = 0;
	if (d->sock >= 0)
		close(d->sock);
	d->sock = -1;
}

int fake_dm_call(struct fake_dm *d, uint32_t type, const void *req, size_t len)
{
	return hvm_msg_call(d->sock, type, req, len, NULL, 0, NULL, 0, NULL);
}

static void drain_buffered(struct fake_dm *d,
			   void (*cb)(void *opaque, const struct buf_ioreq *b, uint64_t data),
			   void *opaque)
{
	struct buffered_iopage *bp = d->buf;

	for (int guard = 0; guard < 4 * IOREQ_BUFFER_SLOT_NUM; guard++) {
		uint32_t rp = __atomic_load_n(&bp->read_pointer, __ATOMIC_ACQUIRE);
		uint32_t wp = __atomic_load_n(&bp->write_pointer, __ATOMIC_ACQUIRE);
		struct buf_ioreq b;
		uint64_t data;
		uint32_t n = 1;

		if (rp != __atomic_load_n(&bp->read_pointer, __ATOMIC_ACQUIRE))
			continue;
		if (rp == wp)
			return;
		b = bp->buf_ioreq[rp % IOREQ_BUFFER_SLOT_NUM];
		data = b.data;
		if (BUF_IOREQ_SIZE_CODE(b.word0) == 3) {
			data |= (uint64_t)bp->buf_ioreq[(rp + 1) % IOREQ_BUFFER_SLOT_NUM].data
				<< 32;
			n = 2;
		}
		if (cb)
			cb(opaque, &b, data);
		__atomic_fetch_add(&bp->read_pointer, n, __ATOMIC_RELEASE);
	}
}

int fake_dm_next(struct fake_dm *d, struct ioreq *r, int timeout_ms,
		 void (*buf_cb)(void *opaque, const struct buf_ioreq *b, uint64_t data),
		 void *opaque)
{
	struct pollfd pfd[2] = {
		{ .fd = d->fds[HVM_FD_REQ_EVENT], .events = POLLIN },
		{ .fd = d->fds[HVM_FD_BUF_EVENT], .events = POLLIN },
	};
	uint64_t v;

	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		drain_buffered(d, buf_cb, opaque);
		for (unsigned i = 0; i < d->info.nr_vcpus; i++) {
			struct ioreq *s = &d->page->vcpu_ioreq[i];
			uint8_t f = ioreq_load_flags(s);

			if (ioreq_state(f) != STATE_IOREQ_READY)
				continue;
			*r = *s;
			ioreq_store_flags(s, ioreq_flags_with_state(f, STATE_IOREQ_INPROCESS));
			return (int)i;
		}
		if (poll(pfd, 2, 10) > 0) {
			if (pfd[0].revents && read(pfd[0].fd, &v, sizeof(v)) < 0)
				v = 0;
			if (pfd[1].revents && read(pfd[1].fd, &v, sizeof(v)) < 0)
				v = 0;
		}
	}
	return -1;
}

void fake_dm_respond(struct fake_dm *d, unsigned vcpu, uint64_t data)
{
	struct ioreq *s = &d->page->vcpu_ioreq[vcpu];
	uint64_t one = 1;

	s->data = data;
	ioreq_store_flags(s, ioreq_flags_with_state(ioreq_load_flags(s), STATE_IORESP_READY));
	if (write(d->fds[hvm_fd_resp(vcpu)], &one, sizeof(one)) < 0)
		perror("response eventfd");
}

uint8_t *fake_dm_gpa(struct fake_dm *d, uint64_t gpa, uint64_t len)
{
	uint64_t below = d->info.ram_below_4g, above = d->info.ram_above_4g;
	uint64_t bounce_len = (uint64_t)d->info.nr_vcpus * 4096;

	if (gpa >= d->info.bounce_gpa && gpa - d->info.bounce_gpa <= bounce_len &&
	    len <= bounce_len - (gpa - d->info.bounce_gpa))
		return d->bounce + (gpa - d->info.bounce_gpa);
	if (gpa < below && len <= below - gpa)
		return d->ram + gpa;
	if (gpa >= (1ull << 32) && gpa - (1ull << 32) < above &&
	    len <= above - (gpa - (1ull << 32)))
		return d->ram + below + (gpa - (1ull << 32));
	return NULL;
}
