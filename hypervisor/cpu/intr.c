/* SPDX-License-Identifier: MIT */
/*
 * intr.c - exceptions, interrupts and tasks (SDM vol. 3 chapters 6 and 7):
 * delivery through the real-mode IVT and the protected-mode IDT (interrupt,
 * trap and task gates, privilege change with the TSS stack, frames from V86
 * mode), double and triple faults, IRET in all modes, and hardware task
 * switches through JMP/CALL/INT/IRET with 32-bit TSSes.  16-bit TSSes are
 * switched with their smaller layout.  Not emulated: VME, debug-register
 * breakpoints, #MC.
 */
#include "cpu.h"

void x86_raise(struct x86cpu *cpu, int vec, uint32_t err, bool has_err)
{
	cpu->exc_vec = vec;
	cpu->exc_err = err;
	cpu->exc_has_err = has_err;
	longjmp(cpu->jb, 1);
}

static bool contributory(int v)
{
	return v == EXC_DE || (v >= EXC_TS && v <= EXC_GP);
}

/* Unwind to the faulting instruction and deliver (SDM vol. 3 table 6-5). */
void x86_handle_exception(struct x86cpu *cpu)
{
	int vec = cpu->exc_vec, prev = cpu->delivering;
	uint32_t err = cpu->exc_err;
	bool has_err = cpu->exc_has_err;

	cpu->eip = cpu->insn_eip;
	cpu->gpr[R_ESP] = cpu->insn_esp;
	if (prev >= 0) {
		if (prev == EXC_DF) {
			cpu->shutdown = true;
			cpu->delivering = -1;
			return;
		}
		if ((contributory(prev) && contributory(vec)) ||
		    (prev == EXC_PF && (contributory(vec) || vec == EXC_PF))) {
			vec = EXC_DF;
			err = 0;
			has_err = true;
		}
	}
	if (cpu->in_ext && has_err && vec != EXC_PF && vec != EXC_DF)
		err |= 1; /* EXT: raised while delivering an external event */
	cpu->delivering = vec;
	x86_deliver(cpu, vec, false, has_err, err, cpu->eip);
	cpu->delivering = -1;
	cpu->in_ext = false;
	cpu->halted = false;
}

static void deliver_real(struct x86cpu *cpu, int vec, uint32_t next_eip)
{
	uint32_t ip, cs;

	if ((uint32_t)vec * 4 + 3 > cpu->idt_limit)
		raise_gp(cpu, (uint32_t)vec * 8 + 2);
	ip = sys_read(cpu, cpu->idt_base + vec * 4, 2);
	cs = sys_read(cpu, cpu->idt_base + vec * 4 + 2, 2);
	cpu->in.opsz = 2;
	x86_push(cpu, cpu->eflags, 2);
	x86_push(cpu, cpu->seg[S_CS].sel, 2);
	x86_push(cpu, next_eip, 2);
	cpu->eflags &= ~(F_IF | F_TF | F_AC | F_RF);
	x86_load_seg_real(cpu, S_CS, (uint16_t)cs);
	cpu->eip = ip;
}

static void null_seg(struct x86cpu *cpu, int s)
{
	cpu->seg[s] = (struct x86_seg){ .sel = 0 };
}

/* Protected-mode delivery through an interrupt or trap gate. */
static void deliver_gate(struct x86cpu *cpu, uint64_t gate, uint32_t ext, bool has_err,
			 uint32_t err, uint32_t next_eip)
{
	uint16_t sel = (uint16_t)(gate >> 16);
	unsigned type = (gate >> 40) & 0x1f, size = (type & 8) ? 4 : 2;
	uint32_t off = (uint32_t)(gate & 0xffff);
	uint64_t d;
	uint16_t a;
	uint32_t v[10];
	unsigned n = 0, dpl;

	if (size == 4)
		off |= (uint32_t)(gate >> 32) & 0xffff0000u;
	if ((sel & ~3u) == 0)
		raise_gp(cpu, ext);
	if (!x86_read_desc(cpu, sel, &d))
		raise_gp(cpu, (sel & ~3u) | ext);
	a = (uint16_t)(((d >> 40) & 0xff) | (((d >> 52) & 0xf) << 8));
	dpl = SA_DPL(a);
	if (!(a & SA_S) || !(a & SA_CODE) || dpl > cpu->cpl)
		raise_gp(cpu, (sel & ~3u) | ext);
	if (!(a & SA_P))
		x86_raise(cpu, EXC_NP, (sel & ~3u) | ext, true);
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	if (d & (1ull << 55))
		limit = (limit << 12) | 0xfff;
	if (off > limit)
		raise_gp(cpu, ext);
	uint32_t flags = cpu->eflags;
	bool from_v86 = cpu->v86;
	if (!(a & SA_EC) && dpl < cpu->cpl) {
		uint16_t nss;
		uint32_t nesp;
		struct x86_seg ss;
		x86_tss_stack(cpu, dpl, &nss, &nesp);
		uint64_t sd = x86_check_new_ss(cpu, nss, dpl, ext);
		x86_set_seg_desc(&ss, nss, sd);
		if (from_v86) {
			v[n++] = cpu->seg[S_GS].sel;
			v[n++] = cpu->seg[S_FS].sel;
			v[n++] = cpu->seg[S_DS].sel;
			v[n++] = cpu->seg[S_ES].sel;
		}
		v[n++] = cpu->seg[S_SS].sel;
		v[n++] = cpu->gpr[R_ESP];
		v[n++] = flags;
		v[n++] = cpu->seg[S_CS].sel;
		v[n++] = next_eip;
		if (has_err)
			v[n++] = err;
		nesp = x86_push_frame(cpu, &ss, nesp, v, n, size, dpl == 3, (nss & ~3u) | ext);
		cpu->seg[S_SS] = ss;
		cpu->gpr[R_ESP] = nesp;
		if (from_v86) {
			null_seg(cpu, S_GS);
			null_seg(cpu, S_FS);
			null_seg(cpu, S_DS);
			null_seg(cpu, S_ES);
		}
	} else {
		if (from_v86 || (!(a & SA_EC) && dpl != cpu->cpl))
			raise_gp(cpu, (sel & ~3u) | ext);
		v[n++] = flags;
		v[n++] = cpu->seg[S_CS].sel;
		v[n++] = next_eip;
		if (has_err)
			v[n++] = err;
		cpu->gpr[R_ESP] = x86_push_frame(cpu, &cpu->seg[S_SS], cpu->gpr[R_ESP], v, n, size,
						 cpu->user, ext);
		dpl = cpu->cpl;
	}
	cpu->eflags &= ~(F_TF | F_NT | F_VM | F_RF);
	if (!(type & 1))
		cpu->eflags &= ~F_IF;
	x86_load_cs_checked(cpu, sel, d, dpl);
	cpu->eip = off;
}

void x86_deliver(struct x86cpu *cpu, int vec, bool soft, bool has_err, uint32_t err,
		 uint32_t next_eip)
{
	uint32_t ext = (soft || !cpu->in_ext) ? 0 : 1;
	uint64_t gate;
	unsigned type;

	if (cpu->last_exc < 0)
		cpu->last_exc = vec;
	if (vec == EXC_DB)
		cpu->eflags &= ~F_RF;
	if (!cpu->pmode) {
		deliver_real(cpu, vec, next_eip);
		return;
	}
	if ((uint32_t)vec * 8 + 7 > cpu->idt_limit)
		raise_gp(cpu, (uint32_t)vec * 8 + 2 + ext);
	gate = sys_read(cpu, cpu->idt_base + vec * 8, 4) |
	       ((uint64_t)sys_read(cpu, cpu->idt_base + vec * 8 + 4, 4) << 32);
	type = (gate >> 40) & 0x1f;
	if (type != 5 && type != 6 && type != 7 && type != 14 && type != 15)
		raise_gp(cpu, (uint32_t)vec * 8 + 2 + ext);
	if (soft && ((gate >> 45) & 3) < cpu->cpl)
		raise_gp(cpu, (uint32_t)vec * 8 + 2);
	if (!(gate & (1ull << 47)))
		x86_raise(cpu, EXC_NP, (uint32_t)vec * 8 + 2 + ext, true);
	if (type == 5) {
		cpu->eip = next_eip;
		x86_task_switch(cpu, (uint16_t)(gate >> 16), TS_INT, has_err, err);
		return;
	}
	deliver_gate(cpu, gate, ext, has_err, err, next_eip);
}

static void iret_real(struct x86cpu *cpu, unsigned size)
{
	uint32_t sp = sp_get(cpu), m = cpu->stack32 ? 0xffffffffu : 0xffff;
	uint32_t eip = seg_read(cpu, S_SS, sp, size);
	uint16_t cs = (uint16_t)seg_read(cpu, S_SS, (sp + size) & m, 2);
	uint32_t fl = seg_read(cpu, S_SS, (sp + 2 * size) & m, size);
	uint32_t mask = 0x257fd5u & ~F_VM & ~(F_VIF | F_VIP);

	if (cpu->v86) {
		if (iopl(cpu) < 3)
			raise_gp0(cpu);
		mask &= ~F_IOPL;
	}
	if (size == 2)
		mask &= 0xffff;
	if (eip > cpu->seg[S_CS].limit)
		raise_gp0(cpu);
	x86_load_seg_real(cpu, S_CS, cs);
	cpu->eip = eip;
	sp_set(cpu, sp + 3 * size);
	x86_write_eflags(cpu, fl, mask);
}

static void iret_to_v86(struct x86cpu *cpu, uint32_t sp, uint32_t eip, uint16_t cs, uint32_t fl)
{
	uint32_t v[6];

	for (int i = 0; i < 6; i++)
		v[i] = seg_read(cpu, S_SS, sp + 12 + 4 * i, 4);
	cpu->eflags = (fl & 0x3f7fd5u) | 2;
	cpu->cpl = 3;
	x86_mode_changed(cpu);
	x86_load_seg_real(cpu, S_CS, cs);
	cpu->eip = eip & 0xffff;
	x86_load_seg_real(cpu, S_SS, (uint16_t)v[1]);
	x86_load_seg_real(cpu, S_ES, (uint16_t)v[2]);
	x86_load_seg_real(cpu, S_DS, (uint16_t)v[3]);
	x86_load_seg_real(cpu, S_FS, (uint16_t)v[4]);
	x86_load_seg_real(cpu, S_GS, (uint16_t)v[5]);
	cpu->gpr[R_ESP] = v[0];
	x86_set_poll(cpu);
}

void x86_iret(struct x86cpu *cpu)
{
	unsigned size = cpu->in.opsz;

	cpu->nmi_blocked = false;
	if (!cpu->pmode || cpu->v86) {
		iret_real(cpu, size);
		return;
	}
	if (cpu->eflags & F_NT) {
		uint16_t back = (uint16_t)sys_read(cpu, cpu->tr.base, 2);
		x86_task_switch(cpu, back, TS_IRET, false, 0);
		return;
	}
	uint32_t sp = sp_get(cpu), m = cpu->stack32 ? 0xffffffffu : 0xffff;
	uint32_t eip = seg_read(cpu, S_SS, sp, size);
	uint16_t cs = (uint16_t)seg_read(cpu, S_SS, (sp + size) & m, 2);
	uint32_t fl = seg_read(cpu, S_SS, (sp + 2 * size) & m, size);
	if (size == 4 && (fl & F_VM) && cpu->cpl == 0) {
		iret_to_v86(cpu, sp, eip, cs, fl);
		return;
	}
	uint64_t d = x86_check_ret_cs(cpu, cs);
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	if (d & (1ull << 55))
		limit = (limit << 12) | 0xfff;
	if (size == 2)
		eip &= 0xffff;
	if (eip > limit)
		raise_gp0(cpu);
	uint32_t mask = F_CF | F_PF | F_AF | F_ZF | F_SF | F_TF | F_DF | F_OF | F_NT | F_RF | F_AC |
			F_ID;
	unsigned old_cpl = cpu->cpl, pl = cs & 3;
	if (old_cpl == 0)
		mask |= F_IOPL | F_VIF | F_VIP;
	if (old_cpl <= iopl(cpu))
		mask |= F_IF;
	if (size == 2)
		mask &= 0xffff;
	if (pl == old_cpl) {
		x86_load_cs_checked(cpu, cs, d, pl);
		sp_set(cpu, sp + 3 * size);
	} else {
		uint32_t nesp = seg_read(cpu, S_SS, (sp + 3 * size) & m, size);
		uint16_t nss = (uint16_t)seg_read(cpu, S_SS, (sp + 4 * size) & m, 2);
		x86_load_outer_ss(cpu, nss, pl);
		x86_load_cs_checked(cpu, cs, d, pl);
		if (size == 2)
			sp_set(cpu, nesp);
		else
			cpu->gpr[R_ESP] = nesp;
	}
	cpu->eip = eip;
	x86_write_eflags(cpu, fl, mask);
	if (pl != old_cpl)
		x86_null_outer_segs(cpu);
}

/*
 * Hardware task switch (SDM vol. 3 7.3).  32-bit TSS layout: link 0, ESP0-SS2
 * 4-24, CR3 28, EIP 32, EFLAGS 36, EAX..EDI 40-68, ES..GS 72-92, LDT 96.
 * 16-bit: link 0, IP 14, FLAGS 16, AX..DI 18-32, ES CS SS DS 34-40, LDT 42.
 */
static void save_tss(struct x86cpu *cpu, bool big, uint32_t fl)
{
	uint32_t b = cpu->tr.base;

	if (big) {
		sys_write(cpu, b + 32, cpu->eip, 4);
		sys_write(cpu, b + 36, fl, 4);
		for (int r = 0; r < 8; r++)
			sys_write(cpu, b + 40 + r * 4, cpu->gpr[r], 4);
		for (int s = 0; s < 6; s++)
			sys_write(cpu, b + 72 + s * 4, cpu->seg[s].sel, 2);
	} else {
		sys_write(cpu, b + 14, cpu->eip, 2);
		sys_write(cpu, b + 16, fl, 2);
		for (int r = 0; r < 8; r++)
			sys_write(cpu, b + 18 + r * 2, cpu->gpr[r], 2);
		for (int s = 0; s < 4; s++)
			sys_write(cpu, b + 34 + s * 2, cpu->seg[s].sel, 2);
	}
}

static void ts_load_seg(struct x86cpu *cpu, int s, uint16_t sel)
{
	uint64_t d;
	uint16_t a;

	if (cpu->v86) {
		x86_load_seg_real(cpu, s, sel);
		return;
	}
	if ((sel & ~3u) == 0) {
		if (s == S_SS || s == S_CS)
			x86_raise(cpu, EXC_TS, sel & ~3u, true);
		cpu->seg[s] = (struct x86_seg){ .sel = sel };
		x86_update_seg_ok(cpu, s);
		return;
	}
	if (!x86_read_desc(cpu, sel, &d))
		x86_raise(cpu, EXC_TS, sel & ~3u, true);
	a = (uint16_t)(((d >> 40) & 0xff) | (((d >> 52) & 0xf) << 8));
	if (!(a & SA_S))
		x86_raise(cpu, EXC_TS, sel & ~3u, true);
	if (s == S_CS) {
		if (!(a & SA_CODE))
			x86_raise(cpu, EXC_TS, sel & ~3u, true);
		if (!(a & SA_P))
			x86_raise(cpu, EXC_NP, sel & ~3u, true);
		x86_load_cs_checked(cpu, sel, d, sel & 3);
		return;
	}
	if (!(a & SA_P))
		x86_raise(cpu, s == S_SS ? EXC_SS : EXC_NP, sel & ~3u, true);
	x86_load_seg(cpu, s, sel);
}

static uint64_t check_new_tss(struct x86cpu *cpu, uint16_t sel, int reason)
{
	uint64_t d;
	unsigned type;

	if ((sel & 4) || (sel & ~3u) == 0 || !x86_read_desc(cpu, sel, &d))
		x86_raise(cpu, reason == TS_IRET ? EXC_TS : EXC_GP, sel & ~3u, true);
	type = (d >> 40) & 0x1f;
	if (reason == TS_IRET ? (type != 3 && type != 11) : (type != 1 && type != 9))
		x86_raise(cpu, reason == TS_IRET ? EXC_TS : EXC_GP, sel & ~3u, true);
	if (!(d & (1ull << 47)))
		x86_raise(cpu, EXC_NP, sel & ~3u, true);
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	if (limit < ((type & 8) ? 0x67u : 0x2bu))
		x86_raise(cpu, EXC_TS, sel & ~3u, true);
	return d;
}

void x86_task_switch(struct x86cpu *cpu, uint16_t sel, int reason, bool has_err, uint32_t err)
{
	uint64_t nd = check_new_tss(cpu, sel, reason);
	bool old_big = (cpu->tr.attr & 8) != 0, new_big = ((nd >> 43) & 1) != 0;
	uint32_t fl = cpu->eflags;
	uint16_t old_sel = cpu->tr.sel;
	uint32_t nb = (uint32_t)(((nd >> 16) & 0xffffff) | ((nd >> 32) & 0xff000000u));
	uint32_t v[8], neip, nfl, ncr3 = 0;
	uint16_t segs[6] = { 0 }, ldt;

	/* read the new state first so a bad TSS faults before anything changes */
	if (new_big) {
		ncr3 = sys_read(cpu, nb + 28, 4);
		neip = sys_read(cpu, nb + 32, 4);
		nfl = sys_read(cpu, nb + 36, 4);
		for (int r = 0; r < 8; r++)
			v[r] = sys_read(cpu, nb + 40 + r * 4, 4);
		for (int s = 0; s < 6; s++)
			segs[s] = (uint16_t)sys_read(cpu, nb + 72 + s * 4, 2);
		ldt = (uint16_t)sys_read(cpu, nb + 96, 2);
	} else {
		neip = sys_read(cpu, nb + 14, 2);
		nfl = sys_read(cpu, nb + 16, 2);
		for (int r = 0; r < 8; r++)
			v[r] = 0xffff0000u | sys_read(cpu, nb + 18 + r * 2, 2);
		for (int s = 0; s < 4; s++)
			segs[s] = (uint16_t)sys_read(cpu, nb + 34 + s * 2, 2);
		ldt = (uint16_t)sys_read(cpu, nb + 42, 2);
	}
	if (reason == TS_JMP || reason == TS_IRET) {
		uint64_t od;
		if (x86_read_desc(cpu, old_sel, &od))
			x86_write_desc_hi(cpu, old_sel, (uint32_t)(od >> 32) & ~0x200u);
	}
	if (reason == TS_IRET)
		fl &= ~F_NT;
	save_tss(cpu, old_big, fl);
	if (reason == TS_CALL || reason == TS_INT) {
		sys_write(cpu, nb, old_sel, 2);
		nfl |= F_NT;
	}
	if (reason != TS_IRET)
		nd |= 2ull << 40;
	x86_write_desc_hi(cpu, sel, (uint32_t)(nd >> 32));
	x86_set_seg_desc(&cpu->tr, sel, nd);
	cpu->cr0 |= CR0_TS;

	/* from here on, faults happen in the context of the new task */
	if (new_big && (cpu->cr0 & CR0_PG)) {
		cpu->cr3 = ncr3;
		x86_tlb_flush(cpu, false);
	}
	cpu->eip = neip;
	for (int r = 0; r < 8; r++)
		cpu->gpr[r] = new_big ? v[r] : (cpu->gpr[r] & 0xffff0000u) | (v[r] & 0xffff);
	cpu->eflags = (nfl & 0x3f7fd5u) | 2;
	cpu->cpl = (nfl & F_VM) ? 3 : segs[S_CS] & 3;
	x86_mode_changed(cpu);
	cpu->insn_eip = cpu->eip;
	cpu->insn_esp = cpu->gpr[R_ESP];
	x86_load_ldt(cpu, ldt);
	ts_load_seg(cpu, S_CS, segs[S_CS]);
	ts_load_seg(cpu, S_SS, segs[S_SS]);
	for (int s = 0; s < 6; s++)
		if (s != S_CS && s != S_SS)
			ts_load_seg(cpu, s, segs[s]);
	if (has_err) {
		cpu->in.opsz = new_big ? 4 : 2;
		x86_push(cpu, err, new_big ? 4 : 2);
	}
	x86_set_poll(cpu);
}
