// SPDX-License-Identifier: MIT
/* ioreq_fix.c - producer and consumer in one process for the mirror tests; see ioreq_fix.h. */
#define _GNU_SOURCE
#include "ioreq_fix.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../dm/ioreq.h"
#include "../../dm/loop.h"
#include "tap.h"

static void *serve(void *arg)
{
	struct ioreq_fix *f = arg;
	uint8_t buf[HVM_MSG_MAX_PAYLOAD];
	struct hvm_msg hdr;
	unsigned nfds;
	int fds[4], status;

	for (;;) {
		if (hvm_msg_recv(f->hv_sock, &hdr, buf, sizeof(buf), fds, 4, &nfds))
			return NULL;
		status = f->handle(f, &hdr, buf, nfds ? fds[0] : -1);
		while (nfds)
			close(fds[--nfds]);
		hvm_msg_send(f->hv_sock, hdr.type, hdr.seq, status, NULL, 0, NULL, 0);
	}
}

void ioreq_fix_create(struct ioreq_fix *f, uint32_t ram, ioreq_fix_handler handle)
{
	memset(f, 0, sizeof(*f));
	f->handle = handle;
	CHECK_EQ(ioreq_prod_create(&f->p, 1, &f->page_fd, &f->bufpage_fd), 0);
	ioreq_set_dm_state(&f->p, IOREQ_DM_ATTACHED);
	CHECK_EQ(dm_create_standalone(ram, &f->dm), 0);
}

void ioreq_fix_attach(struct ioreq_fix *f)
{
	int sv[2];

	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	f->dm->setup_sock = sv[0];
	f->hv_sock = sv[1];
	pthread_create(&f->hv_thread, NULL, serve, f);
	/* Event fds attached: the loop drains when signalled and answers slots. */
	CHECK_EQ(ioreq_attach(f->dm, f->p.page, f->p.bufpage, 1, f->p.req_fd, f->p.buf_fd,
			      f->p.resp_fd),
		 0);
}

void ioreq_fix_destroy(struct ioreq_fix *f)
{
	close(f->dm->setup_sock);
	f->dm->setup_sock = -1; /* dm_destroy's unmaps tell nobody */
	pthread_join(f->hv_thread, NULL);
	close(f->hv_sock);
	dm_destroy(f->dm);
	ioreq_prod_destroy(&f->p, f->page_fd, f->bufpage_fd);
}

bool ioreq_fix_ring_empty(const struct ioreq_fix *f)
{
	return __atomic_load_n(&f->p.bufpage->read_pointer, __ATOMIC_ACQUIRE) ==
	       __atomic_load_n(&f->p.bufpage->write_pointer, __ATOMIC_ACQUIRE);
}

struct vcpu_op {
	struct ioreq_prod *p;
	struct ioreq_req r;
	enum ioreq_result res;
	int done;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_op *op = arg;

	op->res = ioreq_send(op->p, 0, &op->r);
	__atomic_store_n(&op->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

uint64_t ioreq_fix_sync(struct ioreq_fix *f, struct ioreq_req r)
{
	struct vcpu_op op = { .p = &f->p, .r = r };
	pthread_t t;

	pthread_create(&t, NULL, vcpu_thread, &op);
	for (int i = 0; i < 500 && !__atomic_load_n(&op.done, __ATOMIC_ACQUIRE); i++)
		loop_run_once(f->dm->loop, 10);
	pthread_join(t, NULL);
	CHECK_EQ(op.res, IOREQ_DONE);
	return op.r.data;
}
