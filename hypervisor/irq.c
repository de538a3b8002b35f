// SPDX-License-Identifier: MIT
/*
 * irq.c - the interrupt lines the device model drives: one eventfd per GSI,
 * one resample eventfd per GSI (guest EOI back to the dm), and the shared
 * page where the dm publishes line levels (struct hvm_irq_page).  Which
 * backend consumes them (KVM irqfds or our own controllers) is not known here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv.h"

int hv_irq_create(struct hv_irq *irq)
{
	void *p;
	int err;

	memset(irq, 0, sizeof(*irq));
	irq->nr_gsis = HVM_NR_GSIS;
	irq->page_fd = -1;
	for (unsigned g = 0; g < HVM_NR_GSIS; g++)
		irq->irq_fd[g] = irq->resample_fd[g] = -1;
	for (unsigned g = 0; g < HVM_NR_GSIS; g++) {
		irq->irq_fd[g] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		irq->resample_fd[g] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (irq->irq_fd[g] < 0 || irq->resample_fd[g] < 0)
			goto fail_errno;
	}
	irq->page_fd = memfd_create("hvm-irq", MFD_CLOEXEC);
	if (irq->page_fd < 0 || ftruncate(irq->page_fd, 4096) < 0)
		goto fail_errno;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, irq->page_fd, 0);
	if (p == MAP_FAILED)
		goto fail_errno;
	irq->page = p;
	return 0;
fail_errno:
	err = -errno;
	hv_irq_destroy(irq);
	return err;
}

void hv_irq_destroy(struct hv_irq *irq)
{
	for (unsigned g = 0; g < HVM_NR_GSIS; g++) {
		if (irq->irq_fd[g] >= 0)
			close(irq->irq_fd[g]);
		if (irq->resample_fd[g] >= 0)
			close(irq->resample_fd[g]);
		irq->irq_fd[g] = irq->resample_fd[g] = -1;
	}
	if (irq->page)
		munmap(irq->page, 4096);
	irq->page = NULL;
	if (irq->page_fd >= 0)
		close(irq->page_fd);
	irq->page_fd = -1;
}
