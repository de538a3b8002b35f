/* SPDX-License-Identifier: MIT */
/*
 * exec.c - the run loop and the public API of the software CPU: reset/INIT
 * and SIPI state (SDM vol. 3 9.1.1), register access, interrupt and NMI
 * polling with the STI/MOV SS shadow, HLT, kicks and the instruction budget.
 * Interrupts are polled every few instructions and at once after anything
 * that can unmask them, which keeps the hot loop short.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "cpu.h"

/*
 * Instructions between two looks at kicks and the interrupt lines (HLT,
 * STI, faults and other events set poll and are seen at once).  Under the
 * JIT a chain of blocks goes on to JIT_CHAIN_MAX (4096) instructions
 * before the run loop looks: some 5 to 10 us of guest time, well under a
 * timer tick, where 512 had cost a return to the run loop per 512.
 */
#define POLL_INTERVAL 512

void x86_update_seg_ok(struct x86cpu *cpu, int s)
{
	uint16_t a = cpu->seg[s].attr;

	cpu->seg_gen++; /* for the JIT's view of the segments (jit.c) */
	if (!cpu->pmode || cpu->v86)
		cpu->segok[s] = 3;
	else if (!(a & SA_P))
		cpu->segok[s] = 0;
	else if (a & SA_CODE)
		cpu->segok[s] = (a & SA_RW) ? 1 : 0;
	else if (a & SA_EC)
		cpu->segok[s] = 0;
	else
		cpu->segok[s] = 1 | ((a & SA_RW) ? 2 : 0);
}

/* Recompute everything derived from CR0, EFLAGS.VM and the CS/SS caches. */
void x86_mode_changed(struct x86cpu *cpu)
{
	bool was_user = cpu->user, was_code32 = cpu->code32;

	cpu->pmode = cpu->cr0 & CR0_PE;
	cpu->v86 = cpu->pmode && (cpu->eflags & F_VM);
	if (!cpu->pmode)
		cpu->cpl = 0;
	else if (cpu->v86)
		cpu->cpl = 3;
	cpu->code32 = cpu->pmode && !cpu->v86 && (cpu->seg[S_CS].attr & SA_DB);
	cpu->stack32 = cpu->pmode && !cpu->v86 && (cpu->seg[S_SS].attr & SA_DB);
	cpu->user = cpu->cpl == 3;
	for (int s = 0; s < 6; s++)
		x86_update_seg_ok(cpu, s);
	/* each privilege level has its TLB; the fetch page's key holds code32 */
	if (was_user != cpu->user)
		cpu->fetch_vpn = ~0u;
	if (was_code32 != cpu->code32)
		x86_fetch_forget(cpu);
	cpu->fetch_tag = (cpu->fetch_tag & ~1ull) | cpu->user;
	cpu->fetch_gtag = (cpu->fetch_gtag & ~1ull) | cpu->user;
}

void x86_push(struct x86cpu *cpu, uint32_t v, unsigned size)
{
	uint32_t sp = sp_get(cpu) - size;

	if (!cpu->stack32)
		sp &= 0xffff;
	seg_write(cpu, S_SS, sp, v, size);
	sp_set(cpu, sp);
}

uint32_t x86_pop(struct x86cpu *cpu, unsigned size)
{
	uint32_t sp = sp_get(cpu);
	uint32_t v = seg_read(cpu, S_SS, sp, size);

	sp_set(cpu, sp + size);
	return v;
}

static void seg_real(struct x86_seg *s, uint16_t sel, uint16_t attr)
{
	s->sel = sel;
	s->base = (uint32_t)sel << 4;
	s->limit = 0xffff;
	s->attr = attr;
}

void x86cpu_reset(struct x86cpu *cpu)
{
	memset(cpu->gpr, 0, sizeof(cpu->gpr));
	cpu->gpr[R_EDX] = 0x600 | 0x30 | 0x3; /* family 6 model 3 stepping 3 */
	cpu->eip = 0xfff0;
	cpu->eflags = 0x2;
	for (int s = 0; s < 6; s++)
		seg_real(&cpu->seg[s], 0, 0x93);
	seg_real(&cpu->seg[S_CS], 0xf000, 0x9b);
	cpu->seg[S_CS].base = 0xffff0000u;
	cpu->ldtr = (struct x86_seg){ .limit = 0xffff, .attr = 0x82 };
	cpu->tr = (struct x86_seg){ .limit = 0xffff, .attr = 0x8b };
	cpu->gdt_base = cpu->idt_base = 0;
	cpu->gdt_limit = cpu->idt_limit = 0xffff;
	cpu->cr0 = 0x60000010u;
	cpu->cr2 = cpu->cr3 = cpu->cr4 = 0;
	memset(cpu->dr, 0, sizeof(cpu->dr));
	cpu->dr[6] = 0xffff0ff0u;
	cpu->dr[7] = 0x400;
	cpu->efer = 0;
	cpu->cpl = 0;
	cpu->halted = false;
	cpu->shutdown = false;
	cpu->nmi_blocked = false;
	cpu->delivering = -1;
	cpu->last_exc = -1;
	cpu->sysenter_cs = cpu->sysenter_esp = cpu->sysenter_eip = 0;
	cpu->pat = 0x0007040600070406ull;
	cpu->misc_enable = 1; /* fast strings */
	cpu->mtrr_def = 0;
	memset(cpu->mtrr_fixed, 0, sizeof(cpu->mtrr_fixed));
	memset(cpu->mtrr_var, 0, sizeof(cpu->mtrr_var));
	cpu->tsc_adjust = 0;
	cpu->apic_base = 0xfee00000u | 0x800 | (cpu->index == 0 ? 0x100 : 0);
	cpu->mxcsr = 0x1f80;
	x86_fpu_reset(cpu);
	x86_tlb_flush(cpu, true);
	x86_mode_changed(cpu);
	x86_set_poll(cpu);
}

void x86cpu_init_signal(struct x86cpu *cpu)
{
	uint64_t def = cpu->mtrr_def, adjust = cpu->tsc_adjust, fixed[11], var[16];

	memcpy(fixed, cpu->mtrr_fixed, sizeof(fixed));
	memcpy(var, cpu->mtrr_var, sizeof(var));
	x86cpu_reset(cpu);
	cpu->mtrr_def = def;
	cpu->tsc_adjust = adjust;
	memcpy(cpu->mtrr_fixed, fixed, sizeof(fixed));
	memcpy(cpu->mtrr_var, var, sizeof(var));
}

void x86cpu_sipi(struct x86cpu *cpu, uint8_t vector)
{
	x86cpu_init_signal(cpu);
	cpu->seg[S_CS].sel = (uint16_t)vector << 8;
	cpu->seg[S_CS].base = (uint32_t)vector << 12;
	cpu->eip = 0;
}

/* Block translation is on unless HVM_EMU_JIT=0 (the interpreter alone, for comparison). */
static bool jit_wanted(void)
{
	const char *v = getenv("HVM_EMU_JIT");

	return !v || strcmp(v, "0") != 0;
}

#define HUGE_PAGE (2u << 20)

/*
 * Zeroed memory for a vCPU's big tables (the decode cache, the JIT's block
 * map and hot table), 2 MiB aligned and in transparent huge pages where
 * the host allows them: lookups land all over megabytes, and on 4 KiB pages
 * most of them also miss the host TLB (a nested page walk here).
 */
void *x86_huge_alloc(size_t size)
{
	size_t len = (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	uint8_t *raw = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *p;

	if (raw == MAP_FAILED)
		return NULL;
	p = (uint8_t *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (p + len < raw + len + HUGE_PAGE)
		munmap(p + len, (size_t)(raw + len + HUGE_PAGE - (p + len)));
	madvise(p, len, MADV_HUGEPAGE);
	return p;
}

void x86_huge_free(void *p, size_t size)
{
	if (p)
		munmap(p, (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1));
}

int x86cpu_create(const struct x86_bus *bus, unsigned cpu_index, struct x86cpu **out)
{
	struct x86cpu *cpu = x86_huge_alloc(sizeof(*cpu));

	if (!cpu)
		return -12; /* -ENOMEM */
	cpu->bus = *bus;
	cpu->index = cpu_index;
	cpu->cpuid_edx = X86CPU_DEFAULT_FEATURES;
	cpu->cpuid_ecx = 0;
	atomic_init(&cpu->kick, 0);
	atomic_init(&cpu->nmi_pending, 0);
	x86_tlb_init(cpu);
	x86cpu_reset(cpu);
	if (jit_wanted()) {
		int err = x86_jit_create(cpu);
		if (err) {
			x86_huge_free(cpu, sizeof(*cpu));
			return err;
		}
	}
	*out = cpu;
	return 0;
}

void x86cpu_destroy(struct x86cpu *cpu)
{
	x86_jit_destroy(cpu);
	x86_huge_free(cpu, sizeof(*cpu));
}

void x86cpu_kick(struct x86cpu *cpu)
{
	atomic_store(&cpu->kick, 1);
}

void x86cpu_nmi(struct x86cpu *cpu)
{
	atomic_store(&cpu->nmi_pending, 1);
	atomic_store(&cpu->kick, 1);
}

uint64_t x86cpu_icount(const struct x86cpu *cpu)
{
	return cpu->icount;
}

int x86cpu_last_exception(const struct x86cpu *cpu)
{
	return cpu->last_exc;
}

void x86cpu_clear_last_exception(struct x86cpu *cpu)
{
	cpu->last_exc = -1;
}

void x86cpu_set_cpuid_features(struct x86cpu *cpu, uint32_t edx, uint32_t ecx)
{
	cpu->cpuid_edx = edx;
	cpu->cpuid_ecx = ecx;
}

void x86cpu_get_regs(const struct x86cpu *cpu, struct x86_regs *r)
{
	memcpy(r->gpr, cpu->gpr, sizeof(r->gpr));
	r->eip = cpu->eip;
	r->eflags = cpu->eflags;
	memcpy(r->seg, cpu->seg, sizeof(r->seg));
	r->ldtr = cpu->ldtr;
	r->tr = cpu->tr;
	r->gdt_base = cpu->gdt_base;
	r->gdt_limit = cpu->gdt_limit;
	r->idt_base = cpu->idt_base;
	r->idt_limit = cpu->idt_limit;
	r->cr0 = cpu->cr0;
	r->cr2 = cpu->cr2;
	r->cr3 = cpu->cr3;
	r->cr4 = cpu->cr4;
	memcpy(r->dr, cpu->dr, sizeof(r->dr));
	r->efer = cpu->efer;
}

void x86cpu_set_regs(struct x86cpu *cpu, const struct x86_regs *r)
{
	memcpy(cpu->gpr, r->gpr, sizeof(r->gpr));
	cpu->eip = r->eip;
	cpu->eflags = (r->eflags & 0x3f7fd5u) | 2;
	memcpy(cpu->seg, r->seg, sizeof(r->seg));
	cpu->ldtr = r->ldtr;
	cpu->tr = r->tr;
	cpu->gdt_base = r->gdt_base;
	cpu->gdt_limit = r->gdt_limit;
	cpu->idt_base = r->idt_base;
	cpu->idt_limit = r->idt_limit;
	cpu->cr0 = r->cr0;
	cpu->cr2 = r->cr2;
	cpu->cr3 = r->cr3;
	cpu->cr4 = r->cr4;
	memcpy(cpu->dr, r->dr, sizeof(r->dr));
	cpu->efer = r->efer;
	/* CPL is SS.DPL in protected mode, as KVM reports it */
	cpu->cpl = SA_DPL(cpu->seg[S_SS].attr);
	cpu->halted = false;
	x86_tlb_flush(cpu, true);
	x86_mode_changed(cpu);
	x86_set_poll(cpu);
}

void x86cpu_invalidate_phys(struct x86cpu *cpu, uint64_t gpa, uint64_t len)
{
	(void)gpa;
	(void)len;
	/*
	 * Cached decodes are checked against memory on use and need nothing;
	 * host pointers in the TLB can go stale.
	 */
	x86_tlb_flush(cpu, true);
}

/* Deliver an external event outside any instruction; faults unwind to the run loop. */
static void deliver_event(struct x86cpu *cpu, int vec)
{
	cpu->insn_eip = cpu->eip;
	cpu->insn_esp = cpu->gpr[R_ESP];
	cpu->in_ext = true;
	cpu->delivering = vec;
	x86_deliver(cpu, vec, false, false, 0, cpu->eip);
	cpu->delivering = -1;
	cpu->in_ext = false;
	cpu->halted = false;
}

/* Returns an exit reason, or -1 to keep running. */
static int check_events(struct x86cpu *cpu)
{
	cpu->poll = false;
	if (cpu->bus.poll)
		cpu->bus.poll(cpu->bus.opaque);
	if (atomic_load_explicit(&cpu->kick, memory_order_relaxed) &&
	    atomic_exchange(&cpu->kick, 0) && !atomic_load(&cpu->nmi_pending))
		return X86_EXIT_KICK;
	if (cpu->shadow) {
		/*
		 * The instruction after STI / MOV SS runs before any interrupt.
		 * An STI with no event waiting sets no poll, so that instruction
		 * may have run already: an STI; HLT halts here.
		 */
		cpu->shadow = false;
		x86_set_poll(cpu);
		return cpu->halted ? X86_EXIT_HLT : -1;
	}
	if (atomic_load(&cpu->nmi_pending) && !cpu->nmi_blocked) {
		atomic_store(&cpu->nmi_pending, 0);
		cpu->nmi_blocked = true;
		deliver_event(cpu, EXC_NMI);
	} else if ((cpu->eflags & F_IF) && cpu->bus.intr_pending &&
		   cpu->bus.intr_pending(cpu->bus.opaque) >= 0) {
		int vec = cpu->bus.intr_ack(cpu->bus.opaque);
		if (vec >= 0)
			deliver_event(cpu, vec & 0xff);
	}
	if (cpu->halted)
		return X86_EXIT_HLT;
	return -1;
}

/* Single-step trap after the instruction (SDM vol. 3 17.3.1.4). */
static void step_traced(struct x86cpu *cpu)
{
	x86_step(cpu);
	cpu->icount++;
	cpu->dr[6] |= 0x4000;
	cpu->insn_eip = cpu->eip;
	cpu->insn_esp = cpu->gpr[R_ESP];
	cpu->delivering = EXC_DB;
	x86_deliver(cpu, EXC_DB, false, false, 0, cpu->eip);
	cpu->delivering = -1;
}

static enum x86_exit run_loop(struct x86cpu *cpu)
{
	unsigned countdown = 0;

	while (cpu->icount < cpu->budget_end) {
		/*
		 * HLT sets poll, so halted needs no test of its own here; setting
		 * TF sets poll too, and poll stays set while TF is on.
		 */
		if (unlikely(cpu->poll || countdown == 0)) {
			int r = check_events(cpu);
			if (r >= 0)
				return (enum x86_exit)r;
			countdown = POLL_INTERVAL;
			if (unlikely(cpu->eflags & F_TF)) {
				step_traced(cpu);
				x86_set_poll(cpu);
				continue;
			}
		}
		uint64_t left = cpu->budget_end - cpu->icount;
		unsigned n = left < countdown ? (unsigned)left : countdown, k;
		/* a block runs to its end: k can pass n by a block's length */
		k = cpu->jit ? x86_jit_run(cpu, n) : x86_dc_run(cpu, n);
		countdown = k < countdown ? countdown - k : 0;
	}
	return X86_EXIT_BUDGET;
}

enum x86_exit x86cpu_run(struct x86cpu *cpu, uint64_t budget)
{
	if (cpu->shutdown)
		return X86_EXIT_SHUTDOWN;
	cpu->budget_end = cpu->icount + budget;
	x86_set_poll(cpu);
	if (setjmp(cpu->jb)) {
		/*
		 * A fault unwound an instruction or an event delivery.  It counts
		 * against the budget so that a guest faulting forever still
		 * returns to the caller.
		 */
		x86_handle_exception(cpu);
		/* and what a block had finished before the fault (jit.c) */
		cpu->icount += 1 + cpu->jit_done;
		cpu->jit_done = 0;
		if (cpu->shutdown)
			return X86_EXIT_SHUTDOWN;
		x86_set_poll(cpu);
	}
	return run_loop(cpu);
}
