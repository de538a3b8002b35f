/* SPDX-License-Identifier: MIT */
/*
 * seg.c - segmentation (SDM vol. 3 chapter 5 and vol. 2): segment register
 * loads with their privilege and type checks, far JMP/CALL/RET including
 * call gates with stack switches and task gates, descriptor-table
 * instructions (LGDT..STR, LAR/LSL/VERR/VERW, ARPL) and MOV to/from control
 * and debug registers.  16-bit call gates work; call-gate parameter copying
 * is implemented; LDT-based TSS selectors are rejected as the SDM requires.
 */
#include "cpu.h"

static uint32_t desc_base(uint64_t d)
{
	return (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000u));
}

static uint32_t desc_limit(uint64_t d)
{
	uint32_t l = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	return (d & (1ull << 55)) ? (l << 12) | 0xfff : l;
}

static uint16_t desc_attr(uint64_t d)
{
	return (uint16_t)(((d >> 40) & 0xff) | (((d >> 52) & 0xf) << 8));
}

void x86_set_seg_desc(struct x86_seg *sg, uint16_t sel, uint64_t d)
{
	sg->sel = sel;
	sg->base = desc_base(d);
	sg->limit = desc_limit(d);
	sg->attr = desc_attr(d);
}

/* Fetch the 8-byte descriptor of sel; false if outside the GDT/LDT limit. */
bool x86_read_desc(struct x86cpu *cpu, uint16_t sel, uint64_t *d)
{
	uint32_t base, limit, off = sel & ~7u;

	if (sel & 4) {
		if (!(cpu->ldtr.attr & SA_P) || (cpu->ldtr.sel & ~3u) == 0)
			return false;
		base = cpu->ldtr.base;
		limit = cpu->ldtr.limit;
	} else {
		base = cpu->gdt_base;
		limit = cpu->gdt_limit;
	}
	if ((uint64_t)off + 7 > limit)
		return false;
	*d = sys_read(cpu, base + off, 4) | ((uint64_t)sys_read(cpu, base + off + 4, 4) << 32);
	return true;
}

static uint32_t desc_addr(struct x86cpu *cpu, uint16_t sel)
{
	return ((sel & 4) ? cpu->ldtr.base : cpu->gdt_base) + (sel & ~7u);
}

void x86_write_desc_hi(struct x86cpu *cpu, uint16_t sel, uint32_t hi)
{
	sys_write(cpu, desc_addr(cpu, sel) + 4, hi, 4);
}

static void set_accessed(struct x86cpu *cpu, uint16_t sel, uint64_t *d)
{
	if (!(*d & (1ull << 40))) {
		*d |= 1ull << 40;
		x86_write_desc_hi(cpu, sel, (uint32_t)(*d >> 32));
	}
}

void x86_load_seg_real(struct x86cpu *cpu, int s, uint16_t sel)
{
	struct x86_seg *sg = &cpu->seg[s];

	sg->sel = sel;
	sg->base = (uint32_t)sel << 4;
	if (cpu->v86) {
		sg->limit = 0xffff;
		sg->attr = s == S_CS ? 0xfb : 0xf3;
	}
	if (s == S_CS || s == S_SS)
		x86_mode_changed(cpu);
	else
		x86_update_seg_ok(cpu, s);
}

/* Protected-mode MOV/POP/LxS to a segment register (SDM vol. 2 MOV, table 3-1). */
void x86_load_seg(struct x86cpu *cpu, int s, uint16_t sel)
{
	uint64_t d;
	uint16_t a;
	unsigned rpl = sel & 3, dpl;

	if (!cpu->pmode || cpu->v86) {
		x86_load_seg_real(cpu, s, sel);
		return;
	}
	if ((sel & ~3u) == 0) {
		if (s == S_SS)
			raise_gp0(cpu);
		/* null selector: loads fine, faults on use */
		cpu->seg[s] = (struct x86_seg){ .sel = sel };
		x86_update_seg_ok(cpu, s);
		return;
	}
	if (!x86_read_desc(cpu, sel, &d))
		raise_gp(cpu, sel & ~3u);
	a = desc_attr(d);
	dpl = SA_DPL(a);
	if (s == S_SS) {
		if (rpl != cpu->cpl || dpl != cpu->cpl || !(a & SA_S) || (a & SA_CODE) ||
		    !(a & SA_RW))
			raise_gp(cpu, sel & ~3u);
		if (!(a & SA_P))
			x86_raise(cpu, EXC_SS, sel & ~3u, true);
	} else {
		if (!(a & SA_S) || ((a & SA_CODE) && !(a & SA_RW)))
			raise_gp(cpu, sel & ~3u);
		if ((!(a & SA_CODE) || !(a & SA_EC)) && (rpl > dpl || cpu->cpl > dpl))
			raise_gp(cpu, sel & ~3u);
		if (!(a & SA_P))
			x86_raise(cpu, EXC_NP, sel & ~3u, true);
	}
	set_accessed(cpu, sel, &d);
	x86_set_seg_desc(&cpu->seg[s], sel, d);
	if (s == S_SS)
		x86_mode_changed(cpu);
	else
		x86_update_seg_ok(cpu, s);
}

/* Commit a new CS (already checked) with the given CPL. */
void x86_load_cs_checked(struct x86cpu *cpu, uint16_t sel, uint64_t d, unsigned cpl)
{
	set_accessed(cpu, sel, &d);
	x86_set_seg_desc(&cpu->seg[S_CS], (uint16_t)((sel & ~3u) | cpl), d);
	cpu->cpl = cpl;
	x86_mode_changed(cpu);
}

/* Checks for a code segment reached directly by JMP/CALL (SDM vol. 3 5.8.1). */
static void check_code_direct(struct x86cpu *cpu, uint16_t sel, uint64_t d)
{
	uint16_t a = desc_attr(d);
	unsigned dpl = SA_DPL(a);

	if (a & SA_EC) {
		if (dpl > cpu->cpl)
			raise_gp(cpu, sel & ~3u);
	} else if ((sel & 3) > cpu->cpl || dpl != cpu->cpl) {
		raise_gp(cpu, sel & ~3u);
	}
	if (!(a & SA_P))
		x86_raise(cpu, EXC_NP, sel & ~3u, true);
}

static uint32_t check_eip(struct x86cpu *cpu, uint64_t d, uint32_t eip)
{
	if (eip > desc_limit(d))
		raise_gp0(cpu);
	return eip;
}

static void real_far_jmp(struct x86cpu *cpu, uint16_t sel, uint32_t off)
{
	if (cpu->in.opsz == 2)
		off &= 0xffff;
	if (off > cpu->seg[S_CS].limit)
		raise_gp0(cpu);
	x86_load_seg_real(cpu, S_CS, sel);
	cpu->eip = off;
}

/* Read a gate and check it is usable from CPL/RPL; returns the gate type. */
static unsigned read_gate(struct x86cpu *cpu, uint16_t sel, uint64_t d)
{
	uint16_t a = desc_attr(d);
	unsigned type = a & 0x1f;

	if (SA_DPL(a) < cpu->cpl || SA_DPL(a) < (sel & 3u))
		raise_gp(cpu, sel & ~3u);
	if (!(a & SA_P))
		x86_raise(cpu, EXC_NP, sel & ~3u, true);
	return type;
}

/* Target code descriptor of a call gate. */
static uint64_t gate_target(struct x86cpu *cpu, uint64_t gate, uint16_t *tsel)
{
	uint64_t d;
	uint16_t a;

	*tsel = (uint16_t)(gate >> 16);
	if ((*tsel & ~3u) == 0 || !x86_read_desc(cpu, *tsel, &d))
		raise_gp(cpu, *tsel & ~3u);
	a = desc_attr(d);
	if (!(a & SA_S) || !(a & SA_CODE) || SA_DPL(a) > cpu->cpl)
		raise_gp(cpu, *tsel & ~3u);
	if (!(a & SA_P))
		x86_raise(cpu, EXC_NP, *tsel & ~3u, true);
	return d;
}

static uint32_t gate_offset(uint64_t gate)
{
	uint32_t off = (uint32_t)(gate & 0xffff);
	if ((gate >> 43) & 1) /* 386 gate */
		off |= (uint32_t)(gate >> 32) & 0xffff0000u;
	return off;
}

void x86_far_jmp(struct x86cpu *cpu, uint16_t sel, uint32_t off)
{
	uint64_t d;
	uint16_t a, tsel;

	if (!cpu->pmode || cpu->v86) {
		real_far_jmp(cpu, sel, off);
		return;
	}
	if ((sel & ~3u) == 0)
		raise_gp0(cpu);
	if (!x86_read_desc(cpu, sel, &d))
		raise_gp(cpu, sel & ~3u);
	a = desc_attr(d);
	if (a & SA_S) {
		if (!(a & SA_CODE))
			raise_gp(cpu, sel & ~3u);
		check_code_direct(cpu, sel, d);
		if (cpu->in.opsz == 2)
			off &= 0xffff;
		check_eip(cpu, d, off);
		x86_load_cs_checked(cpu, sel, d, cpu->cpl);
		cpu->eip = off;
		return;
	}
	switch (read_gate(cpu, sel, d)) {
	case 1:
	case 9:
		x86_task_switch(cpu, sel, TS_JMP, false, 0);
		return;
	case 5:
		x86_task_switch(cpu, (uint16_t)(d >> 16), TS_JMP, false, 0);
		return;
	case 4:
	case 12: {
		uint64_t td = gate_target(cpu, d, &tsel);
		if (!(desc_attr(td) & SA_EC) && SA_DPL(desc_attr(td)) != cpu->cpl)
			raise_gp(cpu, tsel & ~3u);
		off = gate_offset(d);
		check_eip(cpu, td, off);
		x86_load_cs_checked(cpu, tsel, td, cpu->cpl);
		cpu->eip = off;
		return;
	}
	default:
		raise_gp(cpu, sel & ~3u);
	}
}

/* Inner stack from the TSS for privilege level `pl` (SDM vol. 3 7.2.1). */
void x86_tss_stack(struct x86cpu *cpu, unsigned pl, uint16_t *ss, uint32_t *esp)
{
	if ((cpu->tr.attr & 0xf) == 9 || (cpu->tr.attr & 0xf) == 11) {
		uint32_t o = 4 + pl * 8;
		if (o + 5 > cpu->tr.limit)
			x86_raise(cpu, EXC_TS, cpu->tr.sel & ~3u, true);
		*esp = sys_read(cpu, cpu->tr.base + o, 4);
		*ss = (uint16_t)sys_read(cpu, cpu->tr.base + o + 4, 2);
	} else {
		uint32_t o = 2 + pl * 4;
		if (o + 3 > cpu->tr.limit)
			x86_raise(cpu, EXC_TS, cpu->tr.sel & ~3u, true);
		*esp = sys_read(cpu, cpu->tr.base + o, 2);
		*ss = (uint16_t)sys_read(cpu, cpu->tr.base + o + 2, 2);
	}
}

/* Check a new inner stack segment (for gates); faults are #TS. */
uint64_t x86_check_new_ss(struct x86cpu *cpu, uint16_t ss, unsigned pl, uint32_t ext)
{
	uint64_t d;
	uint16_t a;

	if ((ss & ~3u) == 0)
		x86_raise(cpu, EXC_TS, ext, true);
	if (!x86_read_desc(cpu, ss, &d))
		x86_raise(cpu, EXC_TS, (ss & ~3u) | ext, true);
	a = desc_attr(d);
	if ((ss & 3) != pl || SA_DPL(a) != pl || !(a & SA_S) || (a & SA_CODE) || !(a & SA_RW))
		x86_raise(cpu, EXC_TS, (ss & ~3u) | ext, true);
	if (!(a & SA_P))
		x86_raise(cpu, EXC_SS, (ss & ~3u) | ext, true);
	return d;
}

/* Write n values below esp in segment sg; checks the limit first (#SS(err)). */
uint32_t x86_push_frame(struct x86cpu *cpu, const struct x86_seg *sg, uint32_t esp,
			const uint32_t *v, unsigned n, unsigned size, bool user, uint32_t err)
{
	bool big = sg->attr & SA_DB;
	bool down = !(sg->attr & SA_CODE) && (sg->attr & SA_EC) && cpu->pmode;
	uint32_t m = big ? 0xffffffffu : 0xffff;
	uint32_t sp = esp;

	for (unsigned i = 0; i < n; i++) {
		sp = (sp - size) & m;
		uint64_t last = (uint64_t)sp + size - 1;
		bool bad = down ? (sp <= sg->limit || last > m) : last > sg->limit;
		if (bad)
			x86_raise(cpu, EXC_SS, err, true);
	}
	sp = esp;
	for (unsigned i = 0; i < n; i++) {
		sp = (sp - size) & m;
		lin_write(cpu, sg->base + sp, v[i], size, user);
	}
	return big ? sp : (esp & ~0xffffu) | sp;
}

static void call_gate(struct x86cpu *cpu, uint16_t sel, uint64_t gate)
{
	uint16_t tsel, nss;
	uint64_t td = gate_target(cpu, gate, &tsel), sd;
	uint16_t ta = desc_attr(td);
	unsigned dpl = SA_DPL(ta), size = ((gate >> 43) & 1) ? 4 : 2;
	uint32_t off = gate_offset(gate), nesp, params = (uint32_t)(gate >> 32) & 0x1f;
	uint32_t v[40];
	struct x86_seg ss;

	check_eip(cpu, td, off);
	if ((ta & SA_EC) || dpl == cpu->cpl) {
		uint32_t fr[2] = { cpu->seg[S_CS].sel, cpu->eip };
		uint32_t nsp = x86_push_frame(cpu, &cpu->seg[S_SS], cpu->gpr[R_ESP], fr, 2, size,
					      cpu->user, 0);
		x86_load_cs_checked(cpu, tsel, td, cpu->cpl);
		cpu->gpr[R_ESP] = nsp;
		cpu->eip = off;
		return;
	}
	/* more privileged: switch to the inner stack and copy parameters */
	x86_tss_stack(cpu, dpl, &nss, &nesp);
	sd = x86_check_new_ss(cpu, nss, dpl, 0);
	x86_set_seg_desc(&ss, nss, sd);
	unsigned n = 0;
	v[n++] = cpu->seg[S_SS].sel;
	v[n++] = cpu->gpr[R_ESP];
	for (uint32_t i = 0; i < params; i++) {
		uint32_t o = sp_get(cpu) + (params - 1 - i) * size;
		v[n++] = seg_read(cpu, S_SS, cpu->stack32 ? o : o & 0xffff, size);
	}
	v[n++] = cpu->seg[S_CS].sel;
	v[n++] = cpu->eip;
	nesp = x86_push_frame(cpu, &ss, nesp, v, n, size, dpl == 3, nss & ~3u);
	cpu->seg[S_SS] = ss;
	cpu->cpl = dpl;
	x86_load_cs_checked(cpu, tsel, td, dpl);
	cpu->gpr[R_ESP] = nesp;
	cpu->eip = off;
}

static void real_far_call(struct x86cpu *cpu, uint16_t sel, uint32_t off)
{
	unsigned size = cpu->in.opsz;

	x86_push(cpu, cpu->seg[S_CS].sel, size);
	x86_push(cpu, cpu->eip, size);
	real_far_jmp(cpu, sel, off);
}

void x86_far_call(struct x86cpu *cpu, uint16_t sel, uint32_t off)
{
	uint64_t d;
	uint16_t a;
	unsigned size = cpu->in.opsz;

	if (!cpu->pmode || cpu->v86) {
		real_far_call(cpu, sel, off);
		return;
	}
	if ((sel & ~3u) == 0)
		raise_gp0(cpu);
	if (!x86_read_desc(cpu, sel, &d))
		raise_gp(cpu, sel & ~3u);
	a = desc_attr(d);
	if (a & SA_S) {
		if (!(a & SA_CODE))
			raise_gp(cpu, sel & ~3u);
		check_code_direct(cpu, sel, d);
		if (size == 2)
			off &= 0xffff;
		check_eip(cpu, d, off);
		uint32_t fr[2] = { cpu->seg[S_CS].sel, cpu->eip };
		uint32_t nsp = x86_push_frame(cpu, &cpu->seg[S_SS], cpu->gpr[R_ESP], fr, 2, size,
					      cpu->user, 0);
		x86_load_cs_checked(cpu, sel, d, cpu->cpl);
		cpu->gpr[R_ESP] = nsp;
		cpu->eip = off;
		return;
	}
	switch (read_gate(cpu, sel, d)) {
	case 1:
	case 9:
		x86_task_switch(cpu, sel, TS_CALL, false, 0);
		return;
	case 5:
		x86_task_switch(cpu, (uint16_t)(d >> 16), TS_CALL, false, 0);
		return;
	case 4:
	case 12:
		call_gate(cpu, sel, d);
		return;
	default:
		raise_gp(cpu, sel & ~3u);
	}
}

/* After returning to an outer level, data segments it may not use become null. */
void x86_null_outer_segs(struct x86cpu *cpu)
{
	static const int segs[4] = { S_ES, S_DS, S_FS, S_GS };

	for (int i = 0; i < 4; i++) {
		struct x86_seg *sg = &cpu->seg[segs[i]];
		bool conf_code = (sg->attr & SA_CODE) && (sg->attr & SA_EC);
		if ((sg->attr & SA_P) && !conf_code && SA_DPL(sg->attr) < cpu->cpl) {
			sg->sel = 0;
			sg->attr = 0;
			x86_update_seg_ok(cpu, segs[i]);
		}
	}
}

/* Checks on a CS popped by RETF/IRET; returns its descriptor. */
uint64_t x86_check_ret_cs(struct x86cpu *cpu, uint16_t sel)
{
	uint64_t d;
	uint16_t a;

	if ((sel & ~3u) == 0)
		raise_gp0(cpu);
	if (!x86_read_desc(cpu, sel, &d))
		raise_gp(cpu, sel & ~3u);
	a = desc_attr(d);
	if (!(a & SA_S) || !(a & SA_CODE) || (sel & 3) < cpu->cpl)
		raise_gp(cpu, sel & ~3u);
	if ((a & SA_EC) ? SA_DPL(a) > (sel & 3u) : SA_DPL(a) != (sel & 3u))
		raise_gp(cpu, sel & ~3u);
	if (!(a & SA_P))
		x86_raise(cpu, EXC_NP, sel & ~3u, true);
	return d;
}

/* Load an outer SS popped by RETF/IRET (checks as for MOV SS at the new CPL). */
void x86_load_outer_ss(struct x86cpu *cpu, uint16_t sel, unsigned pl)
{
	uint64_t d;
	uint16_t a;

	if ((sel & ~3u) == 0 || !x86_read_desc(cpu, sel, &d))
		raise_gp(cpu, sel & ~3u);
	a = desc_attr(d);
	if ((sel & 3) != pl || SA_DPL(a) != pl || !(a & SA_S) || (a & SA_CODE) || !(a & SA_RW))
		raise_gp(cpu, sel & ~3u);
	if (!(a & SA_P))
		x86_raise(cpu, EXC_SS, sel & ~3u, true);
	set_accessed(cpu, sel, &d);
	x86_set_seg_desc(&cpu->seg[S_SS], sel, d);
}

void x86_far_ret(struct x86cpu *cpu, uint32_t imm)
{
	unsigned size = cpu->in.opsz;
	uint32_t sp = sp_get(cpu), m = cpu->stack32 ? 0xffffffffu : 0xffff;
	uint32_t eip = seg_read(cpu, S_SS, sp, size);
	uint16_t cs = (uint16_t)seg_read(cpu, S_SS, (sp + size) & m, 2);
	uint64_t d;

	if (!cpu->pmode || cpu->v86) {
		if (size == 2)
			eip &= 0xffff;
		if (eip > cpu->seg[S_CS].limit)
			raise_gp0(cpu);
		x86_load_seg_real(cpu, S_CS, cs);
		cpu->eip = eip;
		sp_set(cpu, sp + 2 * size + imm);
		return;
	}
	d = x86_check_ret_cs(cpu, cs);
	if (size == 2)
		eip &= 0xffff;
	check_eip(cpu, d, eip);
	if ((cs & 3) == cpu->cpl) {
		x86_load_cs_checked(cpu, cs, d, cpu->cpl);
		cpu->eip = eip;
		sp_set(cpu, sp + 2 * size + imm);
		return;
	}
	/* return to an outer level: pop SS:ESP too */
	uint32_t o = (sp + 2 * size + imm) & m;
	uint32_t nesp = seg_read(cpu, S_SS, o, size);
	uint16_t nss = (uint16_t)seg_read(cpu, S_SS, (o + size) & m, 2);
	unsigned pl = cs & 3;
	x86_load_outer_ss(cpu, nss, pl);
	x86_load_cs_checked(cpu, cs, d, pl);
	cpu->eip = eip;
	if (size == 2)
		nesp &= 0xffff;
	sp_set(cpu, nesp + imm);
	x86_null_outer_segs(cpu);
}

static void load_ldt(struct x86cpu *cpu, uint16_t sel)
{
	uint64_t d;

	if ((sel & ~3u) == 0) {
		cpu->ldtr = (struct x86_seg){ .sel = sel };
		return;
	}
	if ((sel & 4) || !x86_read_desc(cpu, sel, &d))
		raise_gp(cpu, sel & ~3u);
	if ((desc_attr(d) & 0x1f) != 2)
		raise_gp(cpu, sel & ~3u);
	if (!(desc_attr(d) & SA_P))
		x86_raise(cpu, EXC_NP, sel & ~3u, true);
	x86_set_seg_desc(&cpu->ldtr, sel, d);
}

void x86_load_ldt(struct x86cpu *cpu, uint16_t sel)
{
	load_ldt(cpu, sel);
}

static void load_tr(struct x86cpu *cpu, uint16_t sel)
{
	uint64_t d;
	unsigned type;

	if ((sel & ~3u) == 0)
		raise_gp0(cpu);
	if ((sel & 4) || !x86_read_desc(cpu, sel, &d))
		raise_gp(cpu, sel & ~3u);
	type = desc_attr(d) & 0x1f;
	if (type != 1 && type != 9)
		raise_gp(cpu, sel & ~3u);
	if (!(desc_attr(d) & SA_P))
		x86_raise(cpu, EXC_NP, sel & ~3u, true);
	d |= 2ull << 40; /* busy */
	x86_write_desc_hi(cpu, sel, (uint32_t)(d >> 32));
	x86_set_seg_desc(&cpu->tr, sel, d);
}

/* VERR/VERW: ZF=1 if the segment is readable/writable from CPL and RPL. */
static void verify(struct x86cpu *cpu, uint16_t sel, bool write)
{
	uint64_t d;
	uint16_t a;
	bool ok = false;

	if ((sel & ~3u) && x86_read_desc(cpu, sel, &d)) {
		a = desc_attr(d);
		bool conf = (a & SA_CODE) && (a & SA_EC);
		bool priv = conf || (SA_DPL(a) >= cpu->cpl && SA_DPL(a) >= (sel & 3u));
		if ((a & SA_S) && priv) {
			if (write)
				ok = !(a & SA_CODE) && (a & SA_RW);
			else
				ok = !(a & SA_CODE) || (a & SA_RW);
		}
	}
	set_flags(cpu, ok ? F_ZF : 0, F_ZF);
}

void x86_group6(struct x86cpu *cpu)
{
	struct insn *in = &cpu->in;

	x86_decode_ea(cpu);
	if (!cpu->pmode || cpu->v86)
		raise_ud(cpu);
	switch (in->reg) {
	case 0:
		rm_write(cpu, in->mod == 3 ? in->opsz : 2, cpu->ldtr.sel);
		return;
	case 1:
		rm_write(cpu, in->mod == 3 ? in->opsz : 2, cpu->tr.sel);
		return;
	case 2:
	case 3: {
		if (cpu->cpl)
			raise_gp0(cpu);
		uint16_t sel = (uint16_t)rm_read(cpu, 2);
		if (in->reg == 2)
			load_ldt(cpu, sel);
		else
			load_tr(cpu, sel);
		return;
	}
	case 4:
	case 5:
		verify(cpu, (uint16_t)rm_read(cpu, 2), in->reg == 5);
		return;
	default:
		raise_ud(cpu);
	}
}

static void op_dt(struct x86cpu *cpu, bool store, bool idt)
{
	struct insn *in = &cpu->in;
	uint32_t *base = idt ? &cpu->idt_base : &cpu->gdt_base;
	uint32_t *limit = idt ? &cpu->idt_limit : &cpu->gdt_limit;
	uint32_t a2 = in->adsz == 2 ? (in->ea + 2) & 0xffff : in->ea + 2;

	if (in->mod == 3)
		raise_ud(cpu);
	if (store) {
		seg_write(cpu, in->ea_seg, in->ea, *limit, 2);
		/* 16-bit operand size stores the top base byte too on P6 */
		seg_write(cpu, in->ea_seg, a2, *base, 4);
		return;
	}
	if (cpu->cpl)
		raise_gp0(cpu);
	uint32_t l = seg_read(cpu, in->ea_seg, in->ea, 2);
	uint32_t b = seg_read(cpu, in->ea_seg, a2, 4);
	*limit = l;
	*base = in->opsz == 2 ? b & 0xffffff : b;
}

void x86_group7(struct x86cpu *cpu)
{
	struct insn *in = &cpu->in;

	x86_decode_ea(cpu);
	switch (in->reg) {
	case 0:
	case 1:
	case 2:
	case 3:
		op_dt(cpu, in->reg < 2, in->reg & 1);
		return;
	case 4:
		rm_write(cpu, in->mod == 3 ? in->opsz : 2, cpu->cr0);
		return;
	case 6: {
		if (cpu->cpl)
			raise_gp0(cpu);
		/* LMSW: PE can be set but not cleared; MP EM TS load */
		uint32_t v = rm_read(cpu, 2) & 0xf;
		x86_write_cr0(cpu, (cpu->cr0 & ~0xeu) | v | (cpu->cr0 & CR0_PE));
		return;
	}
	case 7:
		if (in->mod == 3)
			raise_ud(cpu);
		if (cpu->cpl)
			raise_gp0(cpu);
		x86_tlb_flush_page(cpu, cpu->seg[in->ea_seg].base + in->ea);
		return;
	default:
		raise_ud(cpu);
	}
}

void x86_lar_lsl(struct x86cpu *cpu, bool lsl)
{
	struct insn *in = &cpu->in;
	uint64_t d;
	uint16_t sel, a;
	bool ok = false;

	x86_decode_ea(cpu);
	if (!cpu->pmode || cpu->v86)
		raise_ud(cpu);
	sel = (uint16_t)rm_read(cpu, 2);
	if ((sel & ~3u) && x86_read_desc(cpu, sel, &d)) {
		a = desc_attr(d);
		unsigned type = a & 0x1f;
		bool conf = (a & SA_CODE) && (a & SA_EC) && (a & SA_S);
		bool priv = conf || (SA_DPL(a) >= cpu->cpl && SA_DPL(a) >= (sel & 3u));
		if (a & SA_S)
			ok = priv;
		else if (lsl)
			ok = priv &&
			     (type == 1 || type == 2 || type == 3 || type == 9 || type == 11);
		else
			ok = priv && type != 0 && type != 8 && type != 10 && type != 13 &&
			     type != 14 && type != 15 && type != 6 && type != 7;
		if (!lsl && !(a & SA_S))
			ok = ok || (priv && (type == 4 || type == 5 || type == 12));
	}
	set_flags(cpu, ok ? F_ZF : 0, F_ZF);
	if (!ok)
		return;
	if (lsl)
		reg_write(cpu, in->reg, in->opsz, desc_limit(d));
	else
		reg_write(cpu, in->reg, in->opsz, (uint32_t)(d >> 32) & 0x00f0ff00u);
}

void x86_arpl(struct x86cpu *cpu)
{
	struct insn *in = &cpu->in;
	uint32_t dst, src;

	if (!cpu->pmode || cpu->v86)
		raise_ud(cpu);
	x86_decode_ea(cpu);
	dst = rm_read_rmw(cpu, 2);
	src = reg_read(cpu, in->reg, 2);
	if ((dst & 3) < (src & 3)) {
		rm_write(cpu, 2, (dst & ~3u) | (src & 3));
		cpu->eflags |= F_ZF;
	} else {
		cpu->eflags &= ~F_ZF;
	}
}

void x86_write_cr0(struct x86cpu *cpu, uint32_t v)
{
	uint32_t old = cpu->cr0;

	v |= CR0_ET;
	if (((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD)))
		raise_gp0(cpu);
	cpu->cr0 = v & 0xe005003fu;
	if ((old ^ cpu->cr0) & (CR0_PG | CR0_WP | CR0_PE))
		x86_tlb_flush(cpu, true);
	if ((old ^ cpu->cr0) & CR0_PE)
		x86_mode_changed(cpu);
}

void x86_mov_cr(struct x86cpu *cpu, bool to_cr)
{
	struct insn *in = &cpu->in;
	uint8_t m = fetch8(cpu);
	unsigned cr = (m >> 3) & 7, r = m & 7;

	if (cpu->cpl || cpu->v86)
		raise_gp0(cpu);
	if (cr == 1 || cr > 4)
		raise_ud(cpu);
	(void)in;
	if (!to_cr) {
		uint32_t v = cr == 0   ? cpu->cr0
			     : cr == 2 ? cpu->cr2
			     : cr == 3 ? cpu->cr3
				       : cpu->cr4;
		cpu->gpr[r] = v;
		return;
	}
	uint32_t v = cpu->gpr[r];
	switch (cr) {
	case 0:
		x86_write_cr0(cpu, v);
		return;
	case 2:
		cpu->cr2 = v;
		return;
	case 3:
		cpu->cr3 = v;
		x86_tlb_flush(cpu, false);
		return;
	default:
		if (v & ~0x7ffu & ~0u)
			raise_gp0(cpu);
		if (v & (CR4_VME | CR4_PVI))
			raise_gp0(cpu); /* VME not implemented nor advertised */
		cpu->cr4 = v;
		x86_tlb_flush(cpu, true);
		return;
	}
}

void x86_mov_dr(struct x86cpu *cpu, bool to_dr)
{
	uint8_t m = fetch8(cpu);
	unsigned dr = (m >> 3) & 7, r = m & 7;

	if (cpu->cpl || cpu->v86)
		raise_gp0(cpu);
	if ((dr == 4 || dr == 5) && (cpu->cr4 & CR4_DE))
		raise_ud(cpu);
	if (dr == 4)
		dr = 6;
	else if (dr == 5)
		dr = 7;
	if (to_dr)
		cpu->dr[dr] = dr == 6	? (cpu->gpr[r] | 0xffff0ff0u)
			      : dr == 7 ? (cpu->gpr[r] | 0x400)
					: cpu->gpr[r];
	else
		cpu->gpr[r] = cpu->dr[dr];
}
