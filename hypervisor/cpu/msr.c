/* SPDX-License-Identifier: MIT */
/*
 * msr.c - CPUID, RDTSC, RDMSR/WRMSR and SYSENTER/SYSEXIT of the software CPU.
 * CPUID describes a family 6 GenuineIntel part whose leaf-1 feature bits are
 * configurable (x86cpu_set_cpuid_features), plus an invariant TSC (leaf
 * 0x80000007) with IA32_TSC_ADJUST (leaf 7) and its rate (leaf 0x15): the
 * TSC is the host's clock at 1 GHz, the same on every vCPU and never
 * stopping, which lets Linux trust it without calibrating it or watching it.  MSRs cover the TSC, SYSENTER
 * triple, PAT, MTRRs (storage only: memory types are not emulated),
 * MISC_ENABLE and a few read-as-zero P6 registers.  IA32_APIC_BASE and
 * unknown MSRs go to the bus's rdmsr/wrmsr hooks when present.
 */
#include "cpu.h"

#define MSR_TSC 0x10
#define MSR_TSC_ADJUST 0x3b
#define MSR_APIC_BASE 0x1b
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MISC_ENABLE 0x1a0
#define MSR_PAT 0x277
#define MSR_MTRRCAP 0xfe
#define MSR_MTRR_DEF 0x2ff

/* Without a time source, instructions done (also inside a block: jit_done). */
uint64_t x86_rdtsc(struct x86cpu *cpu)
{
	uint64_t t = cpu->bus.tsc ? cpu->bus.tsc(cpu->bus.opaque) : cpu->icount + cpu->jit_done;
	return t + cpu->tsc_offset;
}

static void set_edx_eax(struct x86cpu *cpu, uint64_t v)
{
	cpu->gpr[R_EAX] = (uint32_t)v;
	cpu->gpr[R_EDX] = (uint32_t)(v >> 32);
}

static void put4(struct x86cpu *cpu, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	cpu->gpr[R_EAX] = a;
	cpu->gpr[R_EBX] = b;
	cpu->gpr[R_ECX] = c;
	cpu->gpr[R_EDX] = d;
}

static uint32_t str4(const char *s)
{
	uint32_t v;
	memcpy(&v, s, 4);
	return v;
}

void x86_cpuid(struct x86cpu *cpu)
{
	static const char brand[49] = "hvmhv software x86 CPU (P6 class)               ";
	uint32_t leaf = cpu->gpr[R_EAX];

	if (leaf >= 0x80000000u && leaf <= 0x80000007u) {
		if (leaf == 0x80000000u) {
			put4(cpu, 0x80000007u, 0, 0, 0);
		} else if (leaf >= 0x80000002u && leaf <= 0x80000004u) {
			const char *p = brand + (leaf - 0x80000002u) * 16;
			put4(cpu, str4(p), str4(p + 4), str4(p + 8), str4(p + 12));
		} else {
			/* 0x80000007 EDX bit 8: invariant TSC; the rest reserved */
			put4(cpu, 0, 0, 0, leaf == 0x80000007u ? 1u << 8 : 0);
		}
		return;
	}
	if (leaf > 0x15)
		leaf = 0x15; /* above the maximum: the highest basic leaf (SDM vol. 2 CPUID) */
	switch (leaf) {
	case 0:
		put4(cpu, 0x15, str4("Genu"), str4("ntel"), str4("ineI"));
		return;
	case 1:
		put4(cpu, 0x633, cpu->index << 24, cpu->cpuid_ecx, cpu->cpuid_edx);
		return;
	case 2:
		/* one descriptor round: 32 KiB L1s, 512 KiB L2, TLBs (SDM table 3-12) */
		put4(cpu, 0x03020101u, 0, 0, 0x0c040843u);
		return;
	case 7:
		/* subleaf 0: EBX bit 1 IA32_TSC_ADJUST; no other structured features */
		put4(cpu, 0, cpu->gpr[R_ECX] == 0 ? 1u << 1 : 0, 0, 0);
		return;
	case 0x15:
		/*
		 * TSC/crystal ratio 1/1 on a 1 GHz crystal: the TSC rate is known,
		 * not measured against the PIT (which fails when the vCPU waits
		 * for a host CPU mid-way), and the same crystal feeds the LAPIC
		 * timer, as it does here.
		 */
		put4(cpu, 1, 1, 1000000000u, 0);
		return;
	default:
		/*
		 * 3-6 and 8-0x14: no serial number, no leaf-4 caches (leaf 2 has
		 * them), no MONITOR, power management, topology or PMU leaves.
		 */
		put4(cpu, 0, 0, 0, 0);
		return;
	}
}

static bool mtrr_slot(uint32_t msr, uint64_t **slot, struct x86cpu *cpu)
{
	static const uint32_t fixed[11] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a,
					    0x26b, 0x26c, 0x26d, 0x26e, 0x26f };
	if (msr >= 0x200 && msr < 0x210) {
		*slot = &cpu->mtrr_var[msr - 0x200];
		return true;
	}
	for (int i = 0; i < 11; i++) {
		if (fixed[i] == msr) {
			*slot = &cpu->mtrr_fixed[i];
			return true;
		}
	}
	return false;
}

static uint64_t *msr_store(struct x86cpu *cpu, uint32_t msr)
{
	uint64_t *slot;

	switch (msr) {
	case MSR_MISC_ENABLE:
		return &cpu->misc_enable;
	case MSR_PAT:
		return &cpu->pat;
	case MSR_MTRR_DEF:
		return &cpu->mtrr_def;
	default:
		return mtrr_slot(msr, &slot, cpu) ? slot : NULL;
	}
}

/* Read-as-zero, write-ignored P6 MSRs that firmware and Linux probe. */
static bool msr_raz(uint32_t msr)
{
	switch (msr) {
	case 0x17: /* PLATFORM_ID */
	case 0x2a: /* EBL_CR_POWERON */
	case 0x79: /* BIOS_UPDT_TRIG */
	case 0x8b: /* BIOS_SIGN_ID */
	case 0xc1: /* PERFCTR0 */
	case 0xc2:
	case 0x186: /* EVNTSEL0 */
	case 0x187:
	case 0x179: /* MCG_CAP */
	case 0x17a: /* MCG_STATUS */
		return true;
	default:
		return false;
	}
}

void x86_rdmsr(struct x86cpu *cpu)
{
	uint32_t msr = cpu->gpr[R_ECX];
	uint64_t *p, v = 0;

	if (cpu->cpl || cpu->v86)
		raise_gp0(cpu);
	switch (msr) {
	case MSR_TSC:
		set_edx_eax(cpu, x86_rdtsc(cpu));
		return;
	case MSR_TSC_ADJUST:
		set_edx_eax(cpu, cpu->tsc_adjust);
		return;
	case MSR_SYSENTER_CS:
		set_edx_eax(cpu, cpu->sysenter_cs);
		return;
	case MSR_SYSENTER_ESP:
		set_edx_eax(cpu, cpu->sysenter_esp);
		return;
	case MSR_SYSENTER_EIP:
		set_edx_eax(cpu, cpu->sysenter_eip);
		return;
	case MSR_MTRRCAP:
		set_edx_eax(cpu, 0x508); /* WC, fixed ranges, 8 variable */
		return;
	default:
		break;
	}
	p = msr_store(cpu, msr);
	if (p) {
		set_edx_eax(cpu, *p);
		return;
	}
	if (msr_raz(msr)) {
		set_edx_eax(cpu, 0);
		return;
	}
	if (cpu->bus.rdmsr) {
		if (cpu->bus.rdmsr(cpu->bus.opaque, msr, &v))
			raise_gp0(cpu);
		set_edx_eax(cpu, v);
		return;
	}
	if (msr == MSR_APIC_BASE) {
		set_edx_eax(cpu, cpu->apic_base);
		return;
	}
	raise_gp0(cpu);
}

void x86_wrmsr(struct x86cpu *cpu)
{
	uint32_t msr = cpu->gpr[R_ECX];
	uint64_t v = ((uint64_t)cpu->gpr[R_EDX] << 32) | cpu->gpr[R_EAX], *p;

	if (cpu->cpl || cpu->v86)
		raise_gp0(cpu);
	switch (msr) {
	case MSR_TSC:
		/* SDM 17.17.3: a TSC write moves TSC_ADJUST by the same amount. */
		cpu->tsc_adjust += v - x86_rdtsc(cpu);
		cpu->tsc_offset = v - (cpu->bus.tsc ? cpu->bus.tsc(cpu->bus.opaque) : cpu->icount);
		return;
	case MSR_TSC_ADJUST:
		cpu->tsc_offset += v - cpu->tsc_adjust;
		cpu->tsc_adjust = v;
		return;
	case MSR_SYSENTER_CS:
		cpu->sysenter_cs = (uint32_t)v & 0xffff;
		return;
	case MSR_SYSENTER_ESP:
		cpu->sysenter_esp = (uint32_t)v;
		return;
	case MSR_SYSENTER_EIP:
		cpu->sysenter_eip = (uint32_t)v;
		return;
	default:
		break;
	}
	p = msr_store(cpu, msr);
	if (p) {
		*p = v;
		return;
	}
	if (msr_raz(msr))
		return;
	if (cpu->bus.wrmsr) {
		if (cpu->bus.wrmsr(cpu->bus.opaque, msr, v))
			raise_gp0(cpu);
		return;
	}
	if (msr == MSR_APIC_BASE) {
		cpu->apic_base = v;
		return;
	}
	raise_gp0(cpu);
}

static void flat_seg(struct x86_seg *s, uint16_t sel, uint16_t attr)
{
	s->sel = sel;
	s->base = 0;
	s->limit = 0xffffffffu;
	s->attr = attr;
}

/* SYSENTER/SYSEXIT load fixed flat segments (SDM vol. 2 SYSENTER). */
void x86_sysenter(struct x86cpu *cpu)
{
	uint16_t cs = (uint16_t)cpu->sysenter_cs & 0xfffc;

	if (!cpu->pmode || !cs)
		raise_gp0(cpu);
	cpu->eflags &= ~(F_VM | F_IF | F_RF);
	flat_seg(&cpu->seg[S_CS], cs, 0xc9b);
	flat_seg(&cpu->seg[S_SS], cs + 8, 0xc93);
	cpu->cpl = 0;
	x86_mode_changed(cpu);
	cpu->gpr[R_ESP] = cpu->sysenter_esp;
	cpu->eip = cpu->sysenter_eip;
}

void x86_sysexit(struct x86cpu *cpu)
{
	uint16_t cs = (uint16_t)cpu->sysenter_cs & 0xfffc;

	if (!cpu->pmode || cpu->v86 || cpu->cpl || !cs)
		raise_gp0(cpu);
	flat_seg(&cpu->seg[S_CS], (cs + 16) | 3, 0xcfb);
	flat_seg(&cpu->seg[S_SS], (cs + 24) | 3, 0xcf3);
	cpu->cpl = 3;
	x86_mode_changed(cpu);
	cpu->gpr[R_ESP] = cpu->gpr[R_ECX];
	cpu->eip = cpu->gpr[R_EDX];
}
