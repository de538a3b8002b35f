// SPDX-License-Identifier: MIT
/*
 * irq.c - device interrupt lines to hypervisor GSIs (see irq.h and the
 * interrupt section of include/hvm/setup.h).
 */
#include "irq.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "dm.h"
#include "log.h"
#include "loop.h"

static void gsi_signal(struct dm *dm, uint32_t gsi)
{
	uint64_t one = 1;

	if (dm->irq_fd[gsi] < 0)
		return;
	if (write(dm->irq_fd[gsi], &one, sizeof(one)) < 0 && errno != EAGAIN)
		dm_warn("irq", "gsi %u eventfd write: %s", gsi, strerror(errno));
}

/*
 * Whether the hv takes this line change from the page without its eventfd:
 * the vCPU whose synchronous request we are answering looks after the
 * response (hv_takes_lines), and a vCPU running guest code looks every few
 * microseconds (vcpu_watching; see include/hvm/setup.h for the protocol:
 * bump quiet_lines, full fence, then read the flags).
 */
static bool taken_quietly(struct dm *dm)
{
	struct hvm_irq_page *pg = dm->irq_page;
	unsigned n = dm->info.nr_vcpus < HVM_MAX_VCPUS ? dm->info.nr_vcpus : HVM_MAX_VCPUS;

	if (!__atomic_load_n(&pg->hv_takes_lines, __ATOMIC_RELAXED))
		return false; /* an hv that does not look (KVM's irqfds) */
	__atomic_fetch_add(&pg->quiet_lines, 1, __ATOMIC_SEQ_CST);
	if (dm->irq_in_request)
		return true;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < n; i++)
		if (__atomic_load_n(&pg->vcpu_watching[i], __ATOMIC_SEQ_CST))
			return true;
	return false;
}

/* A source on gsi went up (+1) or down (-1). */
static void gsi_update(struct dm *dm, uint32_t gsi, int delta)
{
	struct hvm_irq_page *pg = dm->irq_page;
	bool was, now;

	if (gsi >= DM_MAX_GSIS)
		return;
	was = dm->irq_sources[gsi] > 0;
	if (delta < 0 && dm->irq_sources[gsi] == 0)
		return; /* host invariant broken; never underflow */
	dm->irq_sources[gsi] += delta;
	now = dm->irq_sources[gsi] > 0;
	if (was == now)
		return;
	if (now) {
		dm->irq_rises++;
		__atomic_fetch_or(&pg->level[gsi / 32], 1u << (gsi % 32), __ATOMIC_RELEASE);
		__atomic_fetch_add(&pg->edges[gsi], 1, __ATOMIC_RELEASE);
	} else {
		__atomic_fetch_and(&pg->level[gsi / 32], ~(1u << (gsi % 32)), __ATOMIC_RELEASE);
	}
	/* With KVM resample irqfds only a rising edge may be signalled. */
	if (!now && dm->irq_resample_mode)
		return;
	if (!taken_quietly(dm))
		gsi_signal(dm, gsi);
}

void irq_line_init(struct irq_line *l, struct dm *dm, uint32_t gsi)
{
	l->dm = dm;
	l->gsi = gsi;
	l->level = false;
}

void irq_set(struct irq_line *l, bool level)
{
	if (l->level == level)
		return;
	l->level = level;
	if (l->gsi != IRQ_NONE)
		gsi_update(l->dm, l->gsi, level ? 1 : -1);
}

void irq_pulse(struct irq_line *l)
{
	if (l->level)
		irq_set(l, false);
	irq_set(l, true);
	irq_set(l, false);
}

void irq_line_route(struct irq_line *l, uint32_t gsi)
{
	if (gsi == l->gsi)
		return;
	if (l->level && l->gsi != IRQ_NONE)
		gsi_update(l->dm, l->gsi, -1);
	l->gsi = gsi;
	if (l->level && gsi != IRQ_NONE)
		gsi_update(l->dm, gsi, 1);
}

void dm_irq_set_trigger(struct dm *dm, uint32_t gsi, bool level_triggered)
{
	if (gsi >= DM_MAX_GSIS)
		return;
	if (level_triggered)
		dm->irq_level_triggered |= 1u << gsi;
	else
		dm->irq_level_triggered &= ~(1u << gsi);
}

bool dm_irq_level(const struct dm *dm, uint32_t gsi)
{
	return gsi < DM_MAX_GSIS && dm->irq_sources[gsi] > 0;
}

uint32_t dm_irq_edges(const struct dm *dm, uint32_t gsi)
{
	return gsi < DM_MAX_GSIS ? __atomic_load_n(&dm->irq_page->edges[gsi], __ATOMIC_ACQUIRE) : 0;
}

/* The guest EOI'd a GSI: re-assert a level-triggered line that is still high. */
void dm_irq_resample(struct dm *dm, uint32_t gsi)
{
	if (gsi >= DM_MAX_GSIS)
		return;
	if ((dm->irq_level_triggered & (1u << gsi)) && dm->irq_sources[gsi] > 0)
		gsi_signal(dm, gsi);
}
