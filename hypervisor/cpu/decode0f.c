/* SPDX-License-Identifier: MIT */
/*
 * decode0f.c - the two-byte (0F xx) opcode map of a P6-class CPU (SDM vol. 2
 * table A-3): system instructions, Jcc/SETcc/CMOVcc, bit tests, SHLD/SHRD,
 * MOVZX/MOVSX, BSF/BSR, BSWAP, XADD, CMPXCHG, CMPXCHG8B, CPUID, RDTSC,
 * MSRs, SYSENTER/SYSEXIT, FXSAVE/FXRSTOR.  MMX and SSE are not implemented
 * (not advertised in CPUID) and raise #UD.
 */
#include "cpu.h"

static uint32_t fetch_imm(struct x86cpu *cpu, unsigned size)
{
	return size == 2 ? fetch16(cpu) : fetch32(cpu);
}

/* BT/BTS/BTR/BTC: op 0 BT 1 BTS 2 BTR 3 BTC. */
static void bit_op(struct x86cpu *cpu, unsigned op, int64_t bitoff, bool imm)
{
	struct insn *in = &cpu->in;
	unsigned size = in->opsz, bits = size * 8;
	uint32_t v, bit, ea = in->ea;

	if (in->mod == 3 || imm) {
		bit = (uint32_t)bitoff & (bits - 1);
	} else {
		/* register bit offsets reach outside the operand (SDM vol. 2 BT) */
		int64_t word = bitoff >= 0 ? bitoff / bits : -((-bitoff + bits - 1) / bits);
		ea += (uint32_t)(word * (int64_t)size);
		if (in->adsz == 2)
			ea &= 0xffff;
		bit = (uint32_t)(bitoff - word * bits);
	}
	if (in->mod == 3) {
		v = reg_read(cpu, in->rm, size);
	} else if (op == 0) {
		v = seg_read(cpu, in->ea_seg, ea, size);
	} else {
		v = seg_read_rmw(cpu, in->ea_seg, ea, size);
	}
	set_flags(cpu, (v >> bit) & 1, F_CF);
	switch (op) {
	case 0:
		return;
	case 1:
		v |= 1u << bit;
		break;
	case 2:
		v &= ~(1u << bit);
		break;
	default:
		v ^= 1u << bit;
		break;
	}
	if (in->mod == 3)
		reg_write(cpu, in->rm, size, v);
	else
		seg_write(cpu, in->ea_seg, ea, v, size);
}

static void op_bt_reg(struct x86cpu *cpu, unsigned op)
{
	struct insn *in = &cpu->in;
	int64_t off;

	x86_decode_ea(cpu);
	off = in->opsz == 2 ? (int16_t)reg_read(cpu, in->reg, 2) : (int32_t)cpu->gpr[in->reg];
	bit_op(cpu, op, off, false);
}

static void op_group8(struct x86cpu *cpu)
{
	struct insn *in = &cpu->in;

	x86_decode_ea(cpu);
	if (in->reg < 4)
		raise_ud(cpu);
	bit_op(cpu, in->reg - 4, fetch8(cpu), true);
}

static void op_shxd(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned size = in->opsz, count;
	uint32_t a, b;

	x86_decode_ea(cpu);
	count = (op & 1) ? cpu->gpr[R_ECX] & 0xff : fetch8(cpu);
	a = rm_read_rmw(cpu, size);
	b = reg_read(cpu, in->reg, size);
	if (op < 0xa8)
		a = alu_shld(cpu, a, b, count, size);
	else
		a = alu_shrd(cpu, a, b, count, size);
	rm_write(cpu, size, a);
}

static void op_bsf_bsr(struct x86cpu *cpu, bool rev)
{
	struct insn *in = &cpu->in;
	unsigned size = in->opsz;
	uint32_t v;

	x86_decode_ea(cpu);
	v = rm_read(cpu, size);
	if (!v) {
		set_flags(cpu, F_ZF, F_ZF);
		return;
	}
	set_flags(cpu, 0, F_ZF);
	reg_write(cpu, in->reg, size,
		  rev ? 31 - (unsigned)__builtin_clz(v) : (unsigned)__builtin_ctz(v));
}

static void op_cmpxchg(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned size = (op & 1) ? in->opsz : 1;
	uint32_t d, acc;

	x86_decode_ea(cpu);
	d = rm_read_rmw(cpu, size);
	acc = reg_read(cpu, R_EAX, size);
	alu_arith(cpu, 7, acc, d, size);
	if (cpu->eflags & F_ZF) {
		rm_write(cpu, size, reg_read(cpu, in->reg, size));
	} else {
		/* the destination is written back even when unequal (SDM vol. 2) */
		if (in->mod != 3)
			rm_write(cpu, size, d);
		reg_write(cpu, R_EAX, size, d);
	}
}

static void op_xadd(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned size = (op & 1) ? in->opsz : 1;
	uint32_t d, s, r;

	x86_decode_ea(cpu);
	d = rm_read_rmw(cpu, size);
	s = reg_read(cpu, in->reg, size);
	r = alu_arith(cpu, 0, d, s, size);
	reg_write(cpu, in->reg, size, d);
	rm_write(cpu, size, r);
}

void x86_cmpxchg8b(struct x86cpu *cpu, int seg, uint32_t ea, uint32_t ea_hi)
{
	uint32_t lo = seg_read_rmw(cpu, seg, ea, 4), hi = seg_read_rmw(cpu, seg, ea_hi, 4);

	if (lo == cpu->gpr[R_EAX] && hi == cpu->gpr[R_EDX]) {
		seg_write(cpu, seg, ea, cpu->gpr[R_EBX], 4);
		seg_write(cpu, seg, ea_hi, cpu->gpr[R_ECX], 4);
		cpu->eflags |= F_ZF;
	} else {
		/* written back even when unequal (SDM vol. 2) */
		seg_write(cpu, seg, ea, lo, 4);
		seg_write(cpu, seg, ea_hi, hi, 4);
		cpu->gpr[R_EAX] = lo;
		cpu->gpr[R_EDX] = hi;
		cpu->eflags &= ~F_ZF;
	}
}

static void op_cmpxchg8b(struct x86cpu *cpu)
{
	struct insn *in = &cpu->in;

	x86_decode_ea(cpu);
	if (in->mod == 3 || in->reg != 1)
		raise_ud(cpu);
	x86_cmpxchg8b(cpu, in->ea_seg, in->ea, in->adsz == 2 ? (in->ea + 4) & 0xffff : in->ea + 4);
}

static void op_movx(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	uint32_t v;

	x86_decode_ea(cpu);
	if (op & 1) {
		v = rm_read(cpu, 2);
		if (op & 8)
			v = (uint32_t)(int16_t)v;
	} else {
		v = rm_read(cpu, 1);
		if (op & 8)
			v = (uint32_t)(int8_t)v;
	}
	reg_write(cpu, in->reg, in->opsz, v);
}

static void op_group15(struct x86cpu *cpu)
{
	struct insn *in = &cpu->in;

	x86_decode_ea(cpu);
	if (in->mod == 3 || in->reg > 1 || !(cpu->cpuid_edx & (1u << 24)))
		raise_ud(cpu);
	x86_fxsave(cpu, in->reg == 1);
}

static void require_cpl0(struct x86cpu *cpu)
{
	if (cpu->cpl)
		raise_gp0(cpu);
}

static void exec_0f_sys(struct x86cpu *cpu, uint8_t op)
{
	switch (op) {
	case 0x00:
		x86_group6(cpu);
		return;
	case 0x01:
		x86_group7(cpu);
		return;
	case 0x02:
	case 0x03:
		x86_lar_lsl(cpu, op == 0x03);
		return;
	case 0x06:
		require_cpl0(cpu);
		cpu->cr0 &= ~CR0_TS;
		return;
	case 0x08:
	case 0x09:
		require_cpl0(cpu);
		return;
	case 0x20:
	case 0x22:
		x86_mov_cr(cpu, op == 0x22);
		return;
	case 0x21:
	case 0x23:
		x86_mov_dr(cpu, op == 0x23);
		return;
	case 0x30:
		x86_wrmsr(cpu);
		return;
	case 0x31:
		if ((cpu->cr4 & CR4_TSD) && cpu->cpl)
			raise_gp0(cpu);
		{
			uint64_t t = x86_rdtsc(cpu);
			cpu->gpr[R_EAX] = (uint32_t)t;
			cpu->gpr[R_EDX] = (uint32_t)(t >> 32);
		}
		return;
	case 0x32:
		x86_rdmsr(cpu);
		return;
	case 0x34:
		x86_sysenter(cpu);
		return;
	case 0x35:
		x86_sysexit(cpu);
		return;
	case 0xa2:
		x86_cpuid(cpu);
		return;
	default:
		raise_ud(cpu);
	}
}

void x86_exec_0f(struct x86cpu *cpu)
{
	struct insn *in = &cpu->in;
	unsigned os = in->opsz;
	uint8_t op = fetch8(cpu);
	uint32_t v;

	switch (op) {
	case 0x0b:
		raise_ud(cpu);
	case 0x18 ... 0x1f:
		/* hint NOPs (0F 1F is the P6 multi-byte NOP) */
		x86_decode_ea(cpu);
		return;
	case 0x40 ... 0x4f:
		x86_decode_ea(cpu);
		v = rm_read(cpu, os);
		if (cond_true(cpu, op & 15))
			reg_write(cpu, in->reg, os, v);
		return;
	case 0x80 ... 0x8f:
		v = fetch_imm(cpu, os);
		if (cond_true(cpu, op & 15))
			x86_jump(cpu, cpu->eip + v);
		return;
	case 0x90 ... 0x9f:
		x86_decode_ea(cpu);
		rm_write(cpu, 1, cond_true(cpu, op & 15));
		return;
	case 0xa0:
		x86_push(cpu, cpu->seg[S_FS].sel, os);
		return;
	case 0xa1:
		x86_pop_sreg(cpu, S_FS);
		return;
	case 0xa8:
		x86_push(cpu, cpu->seg[S_GS].sel, os);
		return;
	case 0xa9:
		x86_pop_sreg(cpu, S_GS);
		return;
	case 0xa3:
		op_bt_reg(cpu, 0);
		return;
	case 0xab:
		op_bt_reg(cpu, 1);
		return;
	case 0xb3:
		op_bt_reg(cpu, 2);
		return;
	case 0xbb:
		op_bt_reg(cpu, 3);
		return;
	case 0xba:
		op_group8(cpu);
		return;
	case 0xa4:
	case 0xa5:
	case 0xac:
	case 0xad:
		op_shxd(cpu, op);
		return;
	case 0xae:
		op_group15(cpu);
		return;
	case 0xaf:
		x86_decode_ea(cpu);
		v = rm_read(cpu, os);
		reg_write(cpu, in->reg, os, alu_imul2(cpu, reg_read(cpu, in->reg, os), v, os));
		return;
	case 0xb0:
	case 0xb1:
		op_cmpxchg(cpu, op);
		return;
	case 0xb2:
		x86_load_far_ptr(cpu, S_SS);
		return;
	case 0xb4:
		x86_load_far_ptr(cpu, S_FS);
		return;
	case 0xb5:
		x86_load_far_ptr(cpu, S_GS);
		return;
	case 0xb6:
	case 0xb7:
	case 0xbe:
	case 0xbf:
		op_movx(cpu, op);
		return;
	case 0xbc:
	case 0xbd:
		op_bsf_bsr(cpu, op == 0xbd);
		return;
	case 0xc0:
	case 0xc1:
		op_xadd(cpu, op);
		return;
	case 0xc7:
		op_cmpxchg8b(cpu);
		return;
	case 0xc8 ... 0xcf:
		v = cpu->gpr[op & 7];
		if (os == 4)
			cpu->gpr[op & 7] = __builtin_bswap32(v);
		else
			reg_write(cpu, op & 7, 2, 0); /* undefined; P6 clears */
		return;
	default:
		exec_0f_sys(cpu, op);
		return;
	}
}
