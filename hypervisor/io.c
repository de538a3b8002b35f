// SPDX-License-Identifier: MIT
/*
 * io.c - turn the port-I/O and MMIO accesses a backend does not handle into
 * ioreqs: MMIO writes in the buffered range and single port writes to the
 * bufferable ports go through the buffered ring, everything else is a
 * synchronous request on the vCPU's slot.  A request
 * the device model cannot answer (it is gone, or it broke the protocol) is
 * completed here with all-ones and ends the domain as crashed.
 */
#include <string.h>

#include "hv.h"
#include "hvlog.h"

static void request_failed(struct hv_vcpu *v, const struct ioreq_req *r, enum ioreq_result res)
{
	const char *kind = r->type == IOREQ_TYPE_PIO ? "pio" : "mmio";

	/* Aborted because the domain ends for another reason: nothing to report. */
	if (res == IOREQ_ABORTED &&
	    __atomic_load_n(&v->hv->io.dm_state, __ATOMIC_SEQ_CST) != IOREQ_DM_GONE)
		return;
	hv_log_ratelimited("vcpu%u: %s %s %#llx size %u count %u completed %s: no device model",
			   v->index, kind, r->is_read ? "read" : "write",
			   (unsigned long long)r->addr, r->size, r->count,
			   r->is_read ? "with all-ones" : "by dropping it");
	hv_domain_end(v->hv, HVM_EXIT_CRASH, "device model gone");
}

static uint64_t send_sync(struct hv_vcpu *v, struct ioreq_req *r)
{
	enum ioreq_result res = ioreq_send(&v->hv->io, v->index, r);

	v->nr_ioreqs++;
	if (res != IOREQ_DONE && res != IOREQ_BAD_STATE)
		request_failed(v, r, res);
	return r->data;
}

uint64_t hv_io_pio(struct hv_vcpu *v, uint16_t port, uint32_t size, bool is_read, uint64_t val)
{
	struct ioreq_prod *io = &v->hv->io;
	struct ioreq_req r = {
		.type = IOREQ_TYPE_PIO,
		.is_read = is_read,
		.size = size,
		.count = 1,
		.addr = port,
		.data = is_read ? 0 : val,
	};

	/*
	 * Writes the dm declared latch-only (SET_BUFFERED_PIO: IDE taskfile,
	 * PRD address) need no answer; the dm applies the ring before it
	 * handles any synchronous request, so the guest sees them in order.
	 */
	if (!is_read && ioreq_pio_bufferable(io, port, size) &&
	    ioreq_send_buffered_pio(io, port, size, val)) {
		v->nr_buffered++;
		return 0;
	}
	return send_sync(v, &r);
}

void hv_io_pio_string(struct hv_vcpu *v, uint16_t port, uint32_t size, bool is_read, uint64_t gpa,
		      uint32_t count, bool df, uint8_t *host)
{
	struct ioreq_req r = {
		.type = IOREQ_TYPE_PIO,
		.is_read = is_read,
		.data_is_ptr = true,
		.df = df,
		.size = size,
		.count = count,
		.addr = port,
		.data = gpa,
	};
	enum ioreq_result res = ioreq_send(&v->hv->io, v->index, &r);

	v->nr_ioreqs++;
	if (res == IOREQ_DONE)
		return;
	if (is_read)
		memset(host, 0xff, (size_t)count * size);
	if (res != IOREQ_BAD_STATE)
		request_failed(v, &r, res);
}

uint64_t hv_io_mmio(struct hv_vcpu *v, uint64_t gpa, uint32_t size, bool is_read, uint64_t val)
{
	struct hv *hv = v->hv;
	struct ioreq_req r = {
		.type = IOREQ_TYPE_COPY,
		.is_read = is_read,
		.size = size,
		.count = 1,
		.addr = gpa,
		.data = is_read ? 0 : val,
	};
	uint64_t start = __atomic_load_n(&hv->buf_start, __ATOMIC_ACQUIRE);
	uint64_t end = __atomic_load_n(&hv->buf_end, __ATOMIC_ACQUIRE);

	/* Reads of the window the dm lets us mirror (mmio_mirror.c): no round trip. */
	if (is_read && __atomic_load_n(&hv->io.mmio_mirror, __ATOMIC_RELAXED) &&
	    ioreq_mmio_mirror_read(&hv->io, gpa, size, &r.data))
		return r.data;
	/* Only single writes wholly inside the range skip the round trip (Xen's stdvga). */
	if (!is_read && gpa >= start && gpa < end && size <= end - gpa &&
	    ioreq_send_buffered(&hv->io, gpa, size, val)) {
		v->nr_buffered++;
		return 0;
	}
	return send_sync(v, &r);
}
