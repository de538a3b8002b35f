// SPDX-License-Identifier: MIT
/*
 * backend_kvm.c - vCPUs on Linux KVM (Documentation/virt/kvm/api.rst).
 *
 * KVM emulates the CPU and, in the kernel, the PIC pair, IOAPIC, LAPICs
 * (KVM_CREATE_IRQCHIP) and the PIT (KVM_CREATE_PIT2).  Port I/O and MMIO
 * exits that reach user space become ioreqs; string I/O arrives packed in the
 * vCPU's run page and travels through that vCPU's bounce page.  The dm's GSI
 * eventfds are irqfds with resample fds, so line changes never pass through
 * this process.  Not done here: KVM clock/paravirt CPUID leaves, MSR
 * filtering, SMM, nested virtualisation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "hv.h"
#include "hvlog.h"

#define KICK_SIGNAL SIGUSR1

/* Fixed memslots; device-model mappings use SLOT_MAPS + table index. */
enum {
	SLOT_LOW = 0,  /* [0, 0xA0000) */
	SLOT_MID = 1,  /* [0xC0000, below_4g) */
	SLOT_HIGH = 2, /* [4 GiB, 4 GiB + above_4g) */
	SLOT_BIOS = 3, /* firmware below 4 GiB, read-only */
	SLOT_MAPS = 8,
};

/*
 * Real-mode support pages of VMX (identity page table + TSS, 4 pages).
 * SeaBIOS reserves 0xFFFBC000-0xFFFBFFFF for them when it runs on KVM.
 */
#define KVM_IDENTITY_ADDR 0xFFFBC000ull
#define KVM_ALT_IDENTITY_ADDR 0xFEFFC000ull

struct kvm_be {
	int kvm_fd, vm_fd;
	int run_size;
};

struct kvm_vcpu_be {
	int fd;
	struct kvm_run *run;
	pthread_t tid;
	bool tid_valid;
};

static int kvm_ioctl_err(int fd, unsigned long req, void *arg, const char *what)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = -errno;
		hv_log("kvm: %s: %s", what, strerror(errno));
	}
	return r;
}

static int set_slot(struct kvm_be *k, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		    void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	return kvm_ioctl_err(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r, "set memory region");
}

static int setup_memory(struct hv *hv, struct kvm_be *k)
{
	struct hv_mem *m = &hv->mem;
	int err;

	/* The VGA window stays out of every slot so guest accesses exit as MMIO. */
	err = set_slot(k, SLOT_LOW, 0, 0, HV_VGA_START, m->ram);
	if (!err && m->below_4g > HV_VGA_END)
		err = set_slot(k, SLOT_MID, 0, HV_VGA_END, m->below_4g - HV_VGA_END,
			       m->ram + HV_VGA_END);
	if (!err && m->above_4g)
		err = set_slot(k, SLOT_HIGH, 0, HV_4G, m->above_4g, m->ram + m->below_4g);
	/* Writes to the firmware alias exit as MMIO and reach the dm (dropped there). */
	if (!err && m->bios_size)
		err = set_slot(k, SLOT_BIOS, KVM_MEM_READONLY, m->bios_gpa, m->bios_size, m->bios);
	return err;
}

/*
 * GSI routing as on a PC (and as QEMU sets it up): GSI 0-15 reach both the
 * master/slave 8259 pins and the IOAPIC; the PIT's IRQ0 enters the IOAPIC at
 * pin 2 (the MADT interrupt source override), and IOAPIC pin 2 has no other
 * source.  GSI 16-23 are IOAPIC-only (PCI INTx after PIRQ routing, APIC mode).
 */
static int setup_routing(struct kvm_be *k)
{
	struct kvm_irq_routing *rt;
	unsigned n = 0;
	int err;

	rt = calloc(1, sizeof(*rt) + 48 * sizeof(struct kvm_irq_routing_entry));
	if (!rt)
		return -ENOMEM;
	for (unsigned gsi = 0; gsi < HVM_NR_GSIS; gsi++) {
		if (gsi < 16) {
			rt->entries[n].gsi = gsi;
			rt->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			rt->entries[n].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
								   : KVM_IRQCHIP_PIC_SLAVE;
			rt->entries[n].u.irqchip.pin = gsi % 8;
			n++;
		}
		if (gsi == 2)
			continue;
		rt->entries[n].gsi = gsi;
		rt->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		rt->entries[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		rt->entries[n].u.irqchip.pin = gsi == 0 ? 2 : gsi;
		n++;
	}
	rt->nr = n;
	err = kvm_ioctl_err(k->vm_fd, KVM_SET_GSI_ROUTING, rt, "set GSI routing");
	free(rt);
	return err;
}

static void kick_handler(int sig)
{
	(void)sig;
}

static int check_caps(struct kvm_be *k)
{
	static const struct {
		int cap;
		const char *name;
	} need[] = {
		{ KVM_CAP_IRQCHIP, "IRQCHIP" },
		{ KVM_CAP_PIT2, "PIT2" },
		{ KVM_CAP_READONLY_MEM, "READONLY_MEM" },
		{ KVM_CAP_IRQFD_RESAMPLE, "IRQFD_RESAMPLE" },
		{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
		{ KVM_CAP_IRQ_ROUTING, "IRQ_ROUTING" },
		{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "SET_IDENTITY_MAP_ADDR" },
	};

	if (ioctl(k->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		hv_log("kvm: unsupported API version");
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			hv_log("kvm: missing capability KVM_CAP_%s", need[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

static int kvm_create(struct hv *hv)
{
	struct kvm_pit_config pit = { .flags = 0 };
	struct sigaction sa = { .sa_handler = kick_handler };
	uint64_t ident = KVM_IDENTITY_ADDR;
	struct kvm_be *k;
	int err;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->kvm_fd = k->vm_fd = -1;
	hv->be = k;
	k->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->kvm_fd < 0) {
		err = -errno;
		hv_log("kvm: /dev/kvm: %s", strerror(errno));
		return err;
	}
	err = check_caps(k);
	if (err)
		return err;
	k->run_size = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->run_size < (int)sizeof(struct kvm_run))
		return -ENOTSUP;
	err = k->vm_fd = kvm_ioctl_err(k->kvm_fd, KVM_CREATE_VM, 0, "create VM");
	if (err < 0)
		return err;
	if (hv->mem.bios_size && hv->mem.bios_gpa < ident + 4 * HV_PAGE_SIZE)
		ident = KVM_ALT_IDENTITY_ADDR;
	err = kvm_ioctl_err(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident, "identity map");
	if (!err)
		err = kvm_ioctl_err(k->vm_fd, KVM_SET_TSS_ADDR,
				    (void *)(uintptr_t)(ident + HV_PAGE_SIZE), "TSS address");
	if (!err)
		err = kvm_ioctl_err(k->vm_fd, KVM_CREATE_IRQCHIP, 0, "create irqchip");
	if (!err)
		err = kvm_ioctl_err(k->vm_fd, KVM_CREATE_PIT2, &pit, "create PIT");
	if (!err)
		err = setup_routing(k);
	if (!err)
		err = setup_memory(hv, k);
	if (!err && sigaction(KICK_SIGNAL, &sa, NULL) < 0)
		err = -errno;
	return err;
}

static void kvm_destroy(struct hv *hv)
{
	struct kvm_be *k = hv->be;

	if (!k)
		return;
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->kvm_fd >= 0)
		close(k->kvm_fd);
	free(k);
	hv->be = NULL;
}

static int kvm_irq_attach(struct hv *hv)
{
	struct kvm_be *k = hv->be;
	int err;

	/* GSI 0 belongs to the in-kernel PIT and 2 is the cascade: not the dm's. */
	for (unsigned gsi = 0; gsi < hv->irq.nr_gsis; gsi++) {
		struct kvm_irqfd fd = {
			.fd = (uint32_t)hv->irq.irq_fd[gsi],
			.gsi = gsi,
			.flags = KVM_IRQFD_FLAG_RESAMPLE,
			.resamplefd = (uint32_t)hv->irq.resample_fd[gsi],
		};

		if (gsi == 0 || gsi == 2)
			continue;
		err = kvm_ioctl_err(k->vm_fd, KVM_IRQFD, &fd, "irqfd");
		if (err)
			return err;
	}
	return 0;
}

static int kvm_set_gsi(struct hv *hv, unsigned gsi, bool level)
{
	struct kvm_be *k = hv->be;
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	return kvm_ioctl_err(k->vm_fd, KVM_IRQ_LINE, &l, "irq line");
}

/* Host CPUID as KVM supports it, with this vCPU's initial APIC ID. */
static int setup_cpuid(struct kvm_be *k, struct hv_vcpu *v)
{
	struct kvm_cpuid2 *c = NULL;
	unsigned nent = 64;
	int err = -E2BIG;

	for (int tries = 0; tries < 6 && err == -E2BIG; tries++, nent *= 2) {
		free(c);
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		err = ioctl(k->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0 ? -errno : 0;
	}
	if (err)
		goto out;
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		/* SDM vol. 2A CPUID: leaf 1 EBX[31:24], leaves 0Bh/1Fh EDX. */
		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (v->index << 24);
		if (e->function == 0xb || e->function == 0x1f)
			e->edx = v->index;
	}
	err = kvm_ioctl_err(((struct kvm_vcpu_be *)v->be)->fd, KVM_SET_CPUID2, c, "set CPUID");
out:
	free(c);
	return err;
}

static int kvm_vcpu_create(struct hv_vcpu *v)
{
	struct kvm_be *k = v->hv->be;
	struct kvm_vcpu_be *kv;
	void *run;
	int err;

	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	kv->fd = kvm_ioctl_err(k->vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)v->index,
			       "create vcpu");
	if (kv->fd < 0) {
		err = kv->fd;
		free(kv);
		return err;
	}
	run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
	if (run == MAP_FAILED) {
		err = -errno;
		close(kv->fd);
		free(kv);
		return err;
	}
	kv->run = run;
	v->be = kv;
	return setup_cpuid(k, v);
}

static void kvm_vcpu_destroy(struct hv_vcpu *v)
{
	struct kvm_vcpu_be *kv = v->be;
	struct kvm_be *k = v->hv->be;

	if (!kv)
		return;
	munmap(kv->run, (size_t)k->run_size);
	close(kv->fd);
	free(kv);
	v->be = NULL;
}

static int kvm_vcpu_thread_init(struct hv_vcpu *v)
{
	struct kvm_vcpu_be *kv = v->be;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	kv->tid = pthread_self();
	__atomic_store_n(&kv->tid_valid, true, __ATOMIC_RELEASE);
	return 0;
}

static void kvm_vcpu_kick(struct hv_vcpu *v)
{
	struct kvm_vcpu_be *kv = v->be;

	/* Covers the window before KVM_RUN; the signal covers guest mode. */
	__atomic_store_n(&kv->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&kv->tid_valid, __ATOMIC_ACQUIRE))
		pthread_kill(kv->tid, KICK_SIGNAL);
}

static enum hv_run_exit handle_io(struct hv_vcpu *v, struct kvm_run *run, int run_size)
{
	uint32_t size = run->io.size, count = run->io.count;
	uint64_t bytes = (uint64_t)size * count, val = 0;
	bool in = run->io.direction == KVM_EXIT_IO_IN;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint64_t gpa = HVM_BOUNCE_GPA + (uint64_t)v->index * HV_PAGE_SIZE;
	uint8_t *bounce = v->hv->mem.bounce + (uint64_t)v->index * HV_PAGE_SIZE;

	if ((size != 1 && size != 2 && size != 4) || count == 0 || bytes > HV_PAGE_SIZE ||
	    run->io.data_offset + bytes > (uint64_t)run_size) {
		hv_log("vcpu%u: malformed KVM_EXIT_IO (size %u count %u)", v->index, size, count);
		return HV_RUN_ERROR;
	}
	if (count == 1) {
		if (in) {
			val = hv_io_pio(v, run->io.port, size, true, 0);
			memcpy(data, &val, size);
		} else {
			memcpy(&val, data, size);
			hv_io_pio(v, run->io.port, size, false, val);
		}
		return HV_RUN_CONTINUE;
	}
	/* KVM packs the items in execution order, so the buffer always ascends. */
	if (!in)
		memcpy(bounce, data, bytes);
	hv_io_pio_string(v, run->io.port, size, in, gpa, count, false, bounce);
	if (in)
		memcpy(data, bounce, bytes);
	return HV_RUN_CONTINUE;
}

/*
 * KVM hands over at most 8 bytes; an access split at a page boundary can
 * leave an odd length, which ioreqs cannot express: send it as 4/2/1-byte
 * pieces in address order.
 */
static enum hv_run_exit handle_mmio(struct hv_vcpu *v, struct kvm_run *run)
{
	uint32_t len = run->mmio.len, done = 0;
	uint64_t gpa = run->mmio.phys_addr;

	if (len == 0 || len > 8)
		return HV_RUN_ERROR;
	while (done < len) {
		uint32_t left = len - done;
		uint32_t piece = left >= 8 && done == 0 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
		uint64_t val = 0;

		if (run->mmio.is_write) {
			memcpy(&val, run->mmio.data + done, piece);
			hv_io_mmio(v, gpa + done, piece, false, val);
		} else {
			val = hv_io_mmio(v, gpa + done, piece, true, 0);
			memcpy(run->mmio.data + done, &val, piece);
		}
		done += piece;
	}
	return HV_RUN_CONTINUE;
}

static enum hv_run_exit handle_system_event(struct hv_vcpu *v, struct kvm_run *run)
{
	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		hv_domain_end(v->hv, HVM_EXIT_POWEROFF, "KVM system event: shutdown");
		return HV_RUN_CONTINUE;
	case KVM_SYSTEM_EVENT_RESET:
		hv_domain_end(v->hv, HVM_EXIT_REBOOT, "KVM system event: reset");
		return HV_RUN_CONTINUE;
	default:
		hv_log("vcpu%u: KVM system event %u", v->index, run->system_event.type);
		return HV_RUN_ERROR;
	}
}

static enum hv_run_exit kvm_vcpu_run(struct hv_vcpu *v)
{
	struct kvm_vcpu_be *kv = v->be;
	struct kvm_be *k = v->hv->be;
	struct kvm_run *run = kv->run;
	int r = ioctl(kv->fd, KVM_RUN, 0), err = errno;

	/* Clear before the caller re-checks pause/stop (full barrier): no kick is lost. */
	__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	if (r < 0) {
		if (err == EINTR || err == EAGAIN)
			return HV_RUN_KICKED;
		hv_log("vcpu%u: KVM_RUN: %s", v->index, strerror(err));
		return HV_RUN_ERROR;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(v, run, k->run_size);
	case KVM_EXIT_MMIO:
		return handle_mmio(v, run);
	case KVM_EXIT_SHUTDOWN:
		return HV_RUN_TRIPLE_FAULT;
	case KVM_EXIT_INTR:
		return HV_RUN_KICKED;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; ours has one, so just re-enter. */
		return HV_RUN_CONTINUE;
	case KVM_EXIT_SYSTEM_EVENT:
		return handle_system_event(v, run);
	case KVM_EXIT_FAIL_ENTRY:
		hv_log("vcpu%u: VM entry failed, reason %#llx", v->index,
		       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return HV_RUN_ERROR;
	case KVM_EXIT_INTERNAL_ERROR:
		hv_log("vcpu%u: KVM internal error, suberror %u", v->index, run->internal.suberror);
		return HV_RUN_ERROR;
	default:
		hv_log("vcpu%u: unhandled KVM exit %u", v->index, run->exit_reason);
		return HV_RUN_ERROR;
	}
}

static int kvm_get_regs(struct hv_vcpu *v, struct hv_regs *r)
{
	struct kvm_vcpu_be *kv = v->be;
	struct kvm_regs g;
	struct kvm_sregs s;

	if (ioctl(kv->fd, KVM_GET_REGS, &g) < 0 || ioctl(kv->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	*r = (struct hv_regs){
		.rax = g.rax,
		.rbx = g.rbx,
		.rcx = g.rcx,
		.rdx = g.rdx,
		.rsi = g.rsi,
		.rdi = g.rdi,
		.rsp = g.rsp,
		.rbp = g.rbp,
		.rip = g.rip,
		.rflags = g.rflags,
		.cr0 = s.cr0,
		.cr3 = s.cr3,
		.cr4 = s.cr4,
		.cs = s.cs.selector,
		.ds = s.ds.selector,
		.es = s.es.selector,
		.ss = s.ss.selector,
		.cs_base = s.cs.base,
	};
	return 0;
}

static int kvm_set_regs(struct hv_vcpu *v, const struct hv_regs *r)
{
	struct kvm_vcpu_be *kv = v->be;
	struct kvm_regs g = {
		.rax = r->rax,
		.rbx = r->rbx,
		.rcx = r->rcx,
		.rdx = r->rdx,
		.rsi = r->rsi,
		.rdi = r->rdi,
		.rsp = r->rsp,
		.rbp = r->rbp,
		.rip = r->rip,
		.rflags = r->rflags,
	};

	return ioctl(kv->fd, KVM_SET_REGS, &g) < 0 ? -errno : 0;
}

static int kvm_map(struct hv *hv, struct hv_map *m)
{
	uint32_t flags = 0;
	int idx = (int)(m - hv->mem.maps), err;

	if (m->flags & HVM_MAP_F_READONLY)
		flags |= KVM_MEM_READONLY;
	if (m->flags & HVM_MAP_F_DIRTY_LOG)
		flags |= KVM_MEM_LOG_DIRTY_PAGES;
	err = set_slot(hv->be, SLOT_MAPS + idx, flags, m->gpa, m->size, m->host);
	if (!err)
		m->slot = SLOT_MAPS + idx;
	return err;
}

static void kvm_unmap(struct hv *hv, struct hv_map *m)
{
	if (m->slot >= 0)
		set_slot(hv->be, (uint32_t)m->slot, 0, m->gpa, 0, NULL);
	m->slot = -1;
}

static int kvm_dirty_log(struct hv *hv, struct hv_map *m, uint8_t *bitmap, uint64_t bytes)
{
	struct kvm_be *k = hv->be;
	uint64_t pages = m->size / HV_PAGE_SIZE, words = (pages + 63) / 64;
	struct kvm_dirty_log log = { .slot = (uint32_t)m->slot };
	uint64_t *buf;
	int err;

	if (!(m->flags & HVM_MAP_F_DIRTY_LOG) || m->slot < 0)
		return -EINVAL;
	buf = calloc(words, sizeof(uint64_t));
	if (!buf)
		return -ENOMEM;
	log.dirty_bitmap = buf;
	err = kvm_ioctl_err(k->vm_fd, KVM_GET_DIRTY_LOG, &log, "dirty log");
	if (!err)
		memcpy(bitmap, buf, bytes < words * 8 ? bytes : words * 8);
	free(buf);
	return err;
}

const struct hv_backend_ops hv_backend_kvm = {
	.name = "kvm",
	.setup_flags = HVM_SETUP_F_IRQ_RESAMPLE,
	.create = kvm_create,
	.destroy = kvm_destroy,
	.irq_attach = kvm_irq_attach,
	.set_gsi = kvm_set_gsi,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_thread_init = kvm_vcpu_thread_init,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.get_regs = kvm_get_regs,
	.set_regs = kvm_set_regs,
	.map = kvm_map,
	.unmap = kvm_unmap,
	.dirty_log = kvm_dirty_log,
};
