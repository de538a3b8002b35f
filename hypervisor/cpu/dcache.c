/* SPDX-License-Identifier: MIT */
/*
 * dcache.c - specialised handlers for the decode cache (see struct dc_ent in
 * cpu.h) and the inner run loop that dispatches to them.  The instructions
 * compiled 32-bit code runs most (MOV, the ALU group, shifts, INC/DEC, LEA,
 * PUSH/POP, Jcc, CALL/RET/JMP incl. indirect, MOVZX/MOVSX, IMUL, CMOVcc,
 * SETcc, TEST/NOT/NEG, LEAVE, byte moves and 16-bit MOV; and for Linux's
 * atomics, bit operations and 64-bit arithmetic CMPXCHG, XADD, BT/BTS/BTR/BTC
 * with an immediate or a register, SHLD/SHRD, IMUL by an immediate, MUL,
 * IMUL, DIV and IDIV of EDX:EAX, BSF/BSR, CMPXCHG8B, PUSHF, CLI, CLD and STD)
 * get a handler that
 * works from the entry's decoded fields alone, without the generic prefix,
 * opcode and ModRM decoding.  Only plain forms are specialised: 32-bit
 * address size, no REP prefix (LOCK is allowed: vCPUs run one at a time);
 * everything else replays through the
 * generic decoder.  Semantics (flags, faults, order of accesses) are those of
 * the generic paths in decode.c and alu.c; the common 32-bit flag
 * computations are repeated here inline, the rest call into alu.c.
 */
#include "cpu.h"
#include "dcache.h"

/* Handlers are expanded into the dispatch switch of the run loop. */
#define DC_INLINE static inline __attribute__((always_inline))
#define DC_FN DC_INLINE void

#define D_REG(d) (((d)->modrm >> 3) & 7)
#define D_RM(d) ((d)->modrm & 7)
#define D_SEG(d) (((d)->sseg >> 2) & 7)
#define D_EA_AT(d) ((d)->ea_pos & 15)
#define D_IMM_AT(d) (((d)->ea_pos & 15) + ((d)->ea_pos >> 4)) /* after the ModRM operand */

/* The memory operand's offset (32-bit address size only reaches here). */
DC_INLINE uint32_t d_ea(const struct x86cpu *cpu, const struct dc_ent *d)
{
	return cpu->gpr[d->regs & 15] + (cpu->gpr[d->regs >> 4] << (d->sseg & 3)) + d->disp;
}

/* Immediate bytes after the ModRM operand, or after the opcode byte(s). */
static inline const uint8_t *d_imm(const struct dc_ent *d, unsigned at)
{
	return d->bytes.b + at;
}

/* Near jump with a 32-bit operand size: checked against CS.limit only. */
static inline void d_jump(struct x86cpu *cpu, uint32_t eip)
{
	if (unlikely(eip > cpu->seg[S_CS].limit))
		raise_gp0(cpu);
	cpu->eip = eip;
	/* the target's entry, if in this page: its line is likely cold */
	__builtin_prefetch(dc_fetch_slot(cpu, (cpu->seg[S_CS].base + eip) & 0xfff));
}

/* SF/ZF/PF of a 32-bit result. */
DC_INLINE uint32_t szp32(uint32_t r)
{
	return x86_parity[r & 0xff] | (r ? 0 : F_ZF) | ((r >> 24) & F_SF);
}

/* INC and DEC leave CF alone; OF only at the signed wrap (SDM vol. 2 INC, DEC). */
DC_INLINE uint32_t inc32(struct x86cpu *cpu, uint32_t a)
{
	uint32_t r = a + 1;

	set_flags(cpu, szp32(r) | ((a ^ r) & F_AF) | (r == 0x80000000u ? F_OF : 0),
		  FL_ARITH & ~F_CF);
	return r;
}

DC_INLINE uint32_t dec32(struct x86cpu *cpu, uint32_t a)
{
	uint32_t r = a - 1;

	set_flags(cpu, szp32(r) | ((a ^ r) & F_AF) | (a == 0x80000000u ? F_OF : 0),
		  FL_ARITH & ~F_CF);
	return r;
}

/*
 * SHL/SHR/SAR of 32 bits with the flags of alu_shift(); rotates go there.
 * A zero count (after masking) changes nothing.
 */
DC_INLINE uint32_t shift32(struct x86cpu *cpu, unsigned op, uint32_t a, unsigned count)
{
	uint32_t t, r, f;

	count &= 31;
	if (!count)
		return a;
	if (op == 4 || op == 6) {
		t = a << (count - 1);
		r = t << 1;
		f = t >> 31;
	} else if (op == 5) {
		t = a >> (count - 1);
		r = t >> 1;
		f = t & 1;
	} else if (op == 7) {
		t = (uint32_t)((int32_t)a >> (count - 1));
		r = (uint32_t)((int32_t)t >> 1);
		f = t & 1;
	} else {
		return alu_shift(cpu, op, a, count, 4);
	}
	f |= szp32(r) | (((t ^ r) >> 31) ? F_OF : 0);
	set_flags(cpu, f, FL_ARITH);
	return r;
}

/* Condition codes (SDM vol. 1 table B-1) without a branch per code. */
DC_INLINE bool cc_true(const struct x86cpu *cpu, unsigned cc)
{
	uint32_t f = cpu->eflags;
	uint32_t of = (f >> 11) & 1, cf = f & 1, zf = (f >> 6) & 1, sf = (f >> 7) & 1;
	uint32_t pf = (f >> 2) & 1, lt = sf ^ of;
	uint32_t v = of | cf << 1 | zf << 2 | (cf | zf) << 3 | sf << 4 | pf << 5 | lt << 6 |
		     (zf | lt) << 7;

	return ((v >> (cc >> 1)) ^ cc) & 1;
}

/* PUSH and POP of 32 bits, as x86_push()/x86_pop() do them. */
DC_INLINE void push32(struct x86cpu *cpu, uint32_t v)
{
	uint32_t sp = sp_get(cpu) - 4;

	if (!cpu->stack32)
		sp &= 0xffff;
	seg_write(cpu, S_SS, sp, v, 4);
	sp_set(cpu, sp);
}

DC_INLINE uint32_t pop32(struct x86cpu *cpu)
{
	uint32_t sp = sp_get(cpu);
	uint32_t v = seg_read(cpu, S_SS, sp, 4);

	sp_set(cpu, sp + 4);
	return v;
}

/*
 * 32-bit ADD/OR/AND/SUB/XOR/CMP with their flags computed here, inline: the
 * same results as alu_arith() (SDM vol. 1 3.4.3.1), which keeps ADC and SBB.
 */
DC_INLINE uint32_t arith32(struct x86cpu *cpu, unsigned op, uint32_t a, uint32_t b)
{
	uint32_t r, f;

	switch (op) {
	case 0:
		r = a + b;
		f = (r < a ? F_CF : 0) | (((a ^ r) & (b ^ r)) >> 31 ? F_OF : 0);
		break;
	case 5:
	case 7:
		r = a - b;
		f = (a < b ? F_CF : 0) | (((a ^ b) & (a ^ r)) >> 31 ? F_OF : 0);
		break;
	case 1:
		r = a | b;
		f = 0;
		break;
	case 4:
		r = a & b;
		f = 0;
		break;
	case 6:
		r = a ^ b;
		f = 0;
		break;
	default:
		return alu_arith(cpu, op, a, b, 4);
	}
	f |= szp32(r);
	if (op == 0 || op == 5 || op == 7)
		f |= (a ^ b ^ r) & F_AF;
	set_flags(cpu, f, FL_ARITH);
	return r;
}

DC_FN f_mov_store_r(struct x86cpu *cpu, const struct dc_ent *d)
{
	cpu->gpr[D_RM(d)] = cpu->gpr[D_REG(d)];
}

DC_FN f_mov_store_m(struct x86cpu *cpu, const struct dc_ent *d)
{
	seg_write(cpu, D_SEG(d), d_ea(cpu, d), cpu->gpr[D_REG(d)], 4);
}

DC_FN f_mov_load_r(struct x86cpu *cpu, const struct dc_ent *d)
{
	cpu->gpr[D_REG(d)] = cpu->gpr[D_RM(d)];
}

DC_FN f_mov_load_m(struct x86cpu *cpu, const struct dc_ent *d)
{
	cpu->gpr[D_REG(d)] = seg_read(cpu, D_SEG(d), d_ea(cpu, d), 4);
}

/* C7 /0: MOV r/m32, imm32 */
DC_FN f_mov_imm_m(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t v = ld(d_imm(d, D_IMM_AT(d)), 4);

	seg_write(cpu, D_SEG(d), d_ea(cpu, d), v, 4);
}

DC_FN f_mov_imm_r(struct x86cpu *cpu, const struct dc_ent *d)
{
	cpu->gpr[d->op & 7] = ld(d_imm(d, d->op_at + 1), 4);
}

/* 32-bit ALU op `aop` (ADD..CMP) on register dst with b; CMP only sets flags. */
DC_FN alu_reg(struct x86cpu *cpu, unsigned aop, unsigned dst, uint32_t b)
{
	uint32_t r = arith32(cpu, aop, cpu->gpr[dst], b);

	if (aop != 7)
		cpu->gpr[dst] = r;
}

/* The same on the dword at ea: CMP only reads it, the others read-modify-write. */
DC_FN alu_mem(struct x86cpu *cpu, const struct dc_ent *d, unsigned aop, uint32_t ea, uint32_t b)
{
	if (aop == 7) {
		arith32(cpu, aop, seg_read(cpu, D_SEG(d), ea, 4), b);
		return;
	}
	seg_write(cpu, D_SEG(d), ea, arith32(cpu, aop, seg_read_rmw(cpu, D_SEG(d), ea, 4), b), 4);
}

/* 01 09 11 19 21 29 31 39 with a register r/m: op r/m32, r32 */
DC_FN f_alu_rm_r_r(struct x86cpu *cpu, const struct dc_ent *d)
{
	alu_reg(cpu, d->op >> 3, D_RM(d), cpu->gpr[D_REG(d)]);
}

DC_FN f_alu_rm_r_m(struct x86cpu *cpu, const struct dc_ent *d)
{
	alu_mem(cpu, d, d->op >> 3, d_ea(cpu, d), cpu->gpr[D_REG(d)]);
}

/* 03 0B 13 1B 23 2B 33 3B: op r32, r/m32 */
DC_FN f_alu_r_rm_r(struct x86cpu *cpu, const struct dc_ent *d)
{
	alu_reg(cpu, d->op >> 3, D_REG(d), cpu->gpr[D_RM(d)]);
}

DC_FN f_alu_r_rm_m(struct x86cpu *cpu, const struct dc_ent *d)
{
	alu_reg(cpu, d->op >> 3, D_REG(d), seg_read(cpu, D_SEG(d), d_ea(cpu, d), 4));
}

/* 85: TEST r/m32, r32 */
DC_FN f_test_r(struct x86cpu *cpu, const struct dc_ent *d)
{
	arith32(cpu, 4, cpu->gpr[D_RM(d)], cpu->gpr[D_REG(d)]);
}

DC_FN f_test_m(struct x86cpu *cpu, const struct dc_ent *d)
{
	arith32(cpu, 4, seg_read(cpu, D_SEG(d), d_ea(cpu, d), 4), cpu->gpr[D_REG(d)]);
}

/* 83: op r/m32, imm8 (sign-extended) */
DC_FN f_grp1_imm8_r(struct x86cpu *cpu, const struct dc_ent *d)
{
	alu_reg(cpu, D_REG(d), D_RM(d), (uint32_t)(int8_t)*d_imm(d, D_IMM_AT(d)));
}

DC_FN f_grp1_imm8_m(struct x86cpu *cpu, const struct dc_ent *d)
{
	alu_mem(cpu, d, D_REG(d), d_ea(cpu, d), (uint32_t)(int8_t)*d_imm(d, D_IMM_AT(d)));
}

DC_FN f_lea(struct x86cpu *cpu, const struct dc_ent *d)
{
	cpu->gpr[D_REG(d)] = d_ea(cpu, d);
}

DC_FN f_inc(struct x86cpu *cpu, const struct dc_ent *d)
{
	cpu->gpr[d->op & 7] = inc32(cpu, cpu->gpr[d->op & 7]);
}

DC_FN f_dec(struct x86cpu *cpu, const struct dc_ent *d)
{
	cpu->gpr[d->op & 7] = dec32(cpu, cpu->gpr[d->op & 7]);
}

DC_FN f_push(struct x86cpu *cpu, const struct dc_ent *d)
{
	push32(cpu, cpu->gpr[d->op & 7]);
}

DC_FN f_pop(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t v = pop32(cpu);

	cpu->gpr[d->op & 7] = v;
}

DC_FN f_jcc8(struct x86cpu *cpu, const struct dc_ent *d)
{
	if (cc_true(cpu, d->op & 15))
		d_jump(cpu, cpu->eip + (uint32_t)(int8_t)*d_imm(d, d->op_at + 1));
}

/* 0F 80-8F: Jcc rel32 */
DC_FN f_jcc32(struct x86cpu *cpu, const struct dc_ent *d)
{
	if (cc_true(cpu, d->bytes.b[d->op_at + 1] & 15))
		d_jump(cpu, cpu->eip + ld(d_imm(d, d->op_at + 2), 4));
}

DC_FN f_jmp8(struct x86cpu *cpu, const struct dc_ent *d)
{
	d_jump(cpu, cpu->eip + (uint32_t)(int8_t)*d_imm(d, d->op_at + 1));
}

DC_FN f_jmp32(struct x86cpu *cpu, const struct dc_ent *d)
{
	d_jump(cpu, cpu->eip + ld(d_imm(d, d->op_at + 1), 4));
}

DC_FN f_call32(struct x86cpu *cpu, const struct dc_ent *d)
{
	push32(cpu, cpu->eip);
	d_jump(cpu, cpu->eip + ld(d_imm(d, d->op_at + 1), 4));
}

DC_FN f_ret(struct x86cpu *cpu, const struct dc_ent *d)
{
	(void)d;
	d_jump(cpu, pop32(cpu));
}

/* Read or write the r/m operand of an entry, register or memory. */
DC_INLINE uint32_t d_rm_read(struct x86cpu *cpu, const struct dc_ent *d, unsigned size)
{
	if ((d->modrm >> 6) == 3)
		return reg_read(cpu, D_RM(d), size);
	return seg_read(cpu, D_SEG(d), d_ea(cpu, d), size);
}

/* 0F B6/B7/BE/BF: MOVZX/MOVSX r32, r/m8 or r/m16 */
DC_FN f_movx(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint8_t op2 = d->bytes.b[d->op_at + 1];
	uint32_t v;

	if (op2 & 1) {
		v = d_rm_read(cpu, d, 2);
		if (op2 & 8)
			v = (uint32_t)(int16_t)v;
	} else {
		v = d_rm_read(cpu, d, 1);
		if (op2 & 8)
			v = (uint32_t)(int8_t)v;
	}
	cpu->gpr[D_REG(d)] = v;
}

/* 0F AF: IMUL r32, r/m32 */
DC_FN f_imul(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t v = d_rm_read(cpu, d, 4);

	cpu->gpr[D_REG(d)] = alu_imul2(cpu, cpu->gpr[D_REG(d)], v, 4);
}

/* 69, 6B: IMUL r32, r/m32, imm32 or imm8 */
DC_FN f_imul3(struct x86cpu *cpu, const struct dc_ent *d)
{
	const uint8_t *imm = d_imm(d, D_IMM_AT(d));
	uint32_t a = d_rm_read(cpu, d, 4);
	uint32_t b = d->op == 0x6b ? (uint32_t)(int8_t)*imm : ld(imm, 4);

	cpu->gpr[D_REG(d)] = alu_imul2(cpu, a, b, 4);
}

/*
 * The r/m32 operand of a read-modify-write: its value, with *ea set for a
 * memory operand (read for writing, so the write back cannot fault).
 */
DC_INLINE uint32_t d_rmw_read(struct x86cpu *cpu, const struct dc_ent *d, uint32_t *ea)
{
	if ((d->modrm >> 6) == 3)
		return cpu->gpr[D_RM(d)];
	*ea = d_ea(cpu, d);
	return seg_read_rmw(cpu, D_SEG(d), *ea, 4);
}

DC_FN d_rmw_write(struct x86cpu *cpu, const struct dc_ent *d, uint32_t ea, uint32_t v)
{
	if ((d->modrm >> 6) == 3)
		cpu->gpr[D_RM(d)] = v;
	else
		seg_write(cpu, D_SEG(d), ea, v, 4);
}

/*
 * 0F B1: CMPXCHG r/m32, r32.  A memory destination is written back even
 * when unequal (SDM vol. 2), before EAX takes its value.
 */
DC_FN f_cmpxchg(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t ea = 0, v = d_rmw_read(cpu, d, &ea);

	arith32(cpu, 7, cpu->gpr[R_EAX], v);
	if (cpu->eflags & F_ZF) {
		d_rmw_write(cpu, d, ea, cpu->gpr[D_REG(d)]);
		return;
	}
	if ((d->modrm >> 6) != 3)
		seg_write(cpu, D_SEG(d), ea, v, 4);
	cpu->gpr[R_EAX] = v;
}

/* 0F C1: XADD r/m32, r32 (the register takes the old value first) */
DC_FN f_xadd(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t ea = 0, v = d_rmw_read(cpu, d, &ea);
	uint32_t r = arith32(cpu, 0, v, cpu->gpr[D_REG(d)]);

	cpu->gpr[D_REG(d)] = v;
	d_rmw_write(cpu, d, ea, r);
}

/* BTS, BTR, BTC (op 1, 2, 3): v with the bit set, cleared or flipped. */
DC_INLINE uint32_t bit_apply(unsigned op, uint32_t v, unsigned bit)
{
	if (op == 1)
		return v | 1u << bit;
	if (op == 2)
		return v & ~(1u << bit);
	return v ^ 1u << bit;
}

/* 0F BA /4-/7: BT, BTS, BTR, BTC r/m32, imm8 (CF only; an immediate stays in the dword) */
DC_FN f_bt_imm(struct x86cpu *cpu, const struct dc_ent *d)
{
	unsigned op = D_REG(d) - 4, bit = *d_imm(d, D_IMM_AT(d)) & 31;
	uint32_t ea = 0, v;

	if (!op) {
		v = d_rm_read(cpu, d, 4);
		set_flags(cpu, (v >> bit) & 1, F_CF);
		return;
	}
	v = d_rmw_read(cpu, d, &ea);
	set_flags(cpu, (v >> bit) & 1, F_CF);
	d_rmw_write(cpu, d, ea, bit_apply(op, v, bit));
}

/* 0F A4, AC: SHLD, SHRD r/m32, r32, imm8; 0F A5, AD: the same by CL */
DC_FN f_shxd(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint8_t op2 = d->bytes.b[d->op_at + 1];
	unsigned count = op2 & 1 ? cpu->gpr[R_ECX] & 0xff : *d_imm(d, D_IMM_AT(d));
	uint32_t ea = 0, a = d_rmw_read(cpu, d, &ea), b = cpu->gpr[D_REG(d)];

	if (op2 < 0xa8)
		a = alu_shld(cpu, a, b, count, 4);
	else
		a = alu_shrd(cpu, a, b, count, 4);
	d_rmw_write(cpu, d, ea, a);
}

/*
 * 0F A3, AB, B3, BB: BT, BTS, BTR, BTC r/m32, r32.  A memory operand's bit
 * offset is signed and reaches past the dword (SDM vol. 2 BT): the dword
 * at ea + 4 * (offset >> 5), arithmetic shift.
 */
DC_FN f_bt_r(struct x86cpu *cpu, const struct dc_ent *d)
{
	unsigned op = (d->bytes.b[d->op_at + 1] >> 3) & 3;
	int32_t off = (int32_t)cpu->gpr[D_REG(d)];
	uint32_t bit = (uint32_t)off & 31, ea = 0, v;
	bool mem = (d->modrm >> 6) != 3;

	if (!mem) {
		v = cpu->gpr[D_RM(d)];
	} else {
		ea = d_ea(cpu, d) + (uint32_t)(off >> 5) * 4;
		v = op ? seg_read_rmw(cpu, D_SEG(d), ea, 4) : seg_read(cpu, D_SEG(d), ea, 4);
	}
	set_flags(cpu, (v >> bit) & 1, F_CF);
	if (!op)
		return;
	v = bit_apply(op, v, bit);
	if (mem)
		seg_write(cpu, D_SEG(d), ea, v, 4);
	else
		cpu->gpr[D_RM(d)] = v;
}

/* 0F BC, BD: BSF, BSR r32, r/m32 (a zero source sets ZF, leaves the register) */
DC_FN f_bsf(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t v = d_rm_read(cpu, d, 4);

	if (!v) {
		set_flags(cpu, F_ZF, F_ZF);
		return;
	}
	set_flags(cpu, 0, F_ZF);
	cpu->gpr[D_REG(d)] = d->bytes.b[d->op_at + 1] == 0xbd ? 31 - (unsigned)__builtin_clz(v)
							      : (unsigned)__builtin_ctz(v);
}

/* F7 /4../7: MUL, IMUL, DIV, IDIV r/m32 (a divide error unwinds as any fault) */
DC_FN f_muldiv(struct x86cpu *cpu, const struct dc_ent *d)
{
	alu_muldiv(cpu, D_REG(d), d_rm_read(cpu, d, 4), 4);
}

/* 0F C7 /1: CMPXCHG8B m64 (32-bit addresses here) */
DC_FN f_cmpxchg8b(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t ea = d_ea(cpu, d);

	x86_cmpxchg8b(cpu, D_SEG(d), ea, ea + 4);
}

/* 9C: PUSHF (Linux's local_irq_save(); VM and RF are never pushed) */
DC_FN f_pushf(struct x86cpu *cpu, const struct dc_ent *d)
{
	(void)d;
	if (cpu->v86 && iopl(cpu) < 3)
		raise_gp0(cpu);
	push32(cpu, cpu->eflags & ~(F_VM | F_RF));
}

/* FA: CLI; FC, FD: CLD, STD.  STI stays generic: it ends a block (its shadow). */
DC_FN f_flag_op(struct x86cpu *cpu, const struct dc_ent *d)
{
	if (d->op != 0xfa) {
		set_flags(cpu, (d->op & 1) ? F_DF : 0, F_DF);
		return;
	}
	if (cpu->pmode && cpu->cpl > iopl(cpu))
		raise_gp0(cpu);
	cpu->eflags &= ~F_IF;
}

/* 0F 40-4F: CMOVcc r32, r/m32 (the source is read either way) */
DC_FN f_cmov(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t v = d_rm_read(cpu, d, 4);

	if (cc_true(cpu, d->bytes.b[d->op_at + 1] & 15))
		cpu->gpr[D_REG(d)] = v;
}

/* 0F 90-9F: SETcc r/m8 */
DC_FN f_setcc(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t v = cc_true(cpu, d->bytes.b[d->op_at + 1] & 15);

	if ((d->modrm >> 6) == 3)
		reg_write(cpu, D_RM(d), 1, v);
	else
		seg_write(cpu, D_SEG(d), d_ea(cpu, d), v, 1);
}

/* C1: imm8, D1: 1, D3: CL (masked by the shift itself) */
DC_INLINE unsigned d_shift_count(const struct x86cpu *cpu, const struct dc_ent *d)
{
	if (d->op == 0xc1)
		return *d_imm(d, D_IMM_AT(d));
	return d->op == 0xd3 ? cpu->gpr[R_ECX] & 0xff : 1;
}

/* C1, D1 and D3: shift or rotate r/m32 by imm8, 1 or CL */
DC_FN f_shift_r(struct x86cpu *cpu, const struct dc_ent *d)
{
	unsigned count = d_shift_count(cpu, d);

	cpu->gpr[D_RM(d)] = shift32(cpu, D_REG(d), cpu->gpr[D_RM(d)], count);
}

DC_FN f_shift_m(struct x86cpu *cpu, const struct dc_ent *d)
{
	unsigned count = d_shift_count(cpu, d);
	uint32_t ea = d_ea(cpu, d);
	uint32_t v = seg_read_rmw(cpu, D_SEG(d), ea, 4);

	seg_write(cpu, D_SEG(d), ea, shift32(cpu, D_REG(d), v, count), 4);
}

/* 81: op r/m32, imm32 */
DC_FN f_grp1_imm32_r(struct x86cpu *cpu, const struct dc_ent *d)
{
	alu_reg(cpu, D_REG(d), D_RM(d), ld(d_imm(d, D_IMM_AT(d)), 4));
}

DC_FN f_grp1_imm32_m(struct x86cpu *cpu, const struct dc_ent *d)
{
	alu_mem(cpu, d, D_REG(d), d_ea(cpu, d), ld(d_imm(d, D_IMM_AT(d)), 4));
}

/* 05 0D 15 1D 25 2D 35 3D: op EAX, imm32 */
DC_FN f_alu_eax_imm(struct x86cpu *cpu, const struct dc_ent *d)
{
	alu_reg(cpu, d->op >> 3, R_EAX, ld(d_imm(d, d->op_at + 1), 4));
}

/* MOV r/m, reg of `size` bytes (88, 66 89) */
DC_FN mov_store(struct x86cpu *cpu, const struct dc_ent *d, unsigned size)
{
	uint32_t v = reg_read(cpu, D_REG(d), size);

	if ((d->modrm >> 6) == 3)
		reg_write(cpu, D_RM(d), size, v);
	else
		seg_write(cpu, D_SEG(d), d_ea(cpu, d), v, size);
}

/* 88 and 8A: byte moves */
DC_FN f_mov_store8(struct x86cpu *cpu, const struct dc_ent *d)
{
	mov_store(cpu, d, 1);
}

DC_FN f_mov_load8(struct x86cpu *cpu, const struct dc_ent *d)
{
	reg_write(cpu, D_REG(d), 1, d_rm_read(cpu, d, 1));
}

/* 00 08 ... 38 and 02 0A ... 3A: byte ALU ops between r/m8 and r8 */
DC_FN f_alu8(struct x86cpu *cpu, const struct dc_ent *d)
{
	unsigned aop = d->op >> 3;
	bool to_reg = d->op & 2;
	bool mem = (d->modrm >> 6) != 3;
	uint32_t ea = mem ? d_ea(cpu, d) : 0, rv = reg_read(cpu, D_REG(d), 1), mv, r;

	if (!mem)
		mv = reg_read(cpu, D_RM(d), 1);
	else if (aop == 7 || to_reg)
		mv = seg_read(cpu, D_SEG(d), ea, 1);
	else
		mv = seg_read_rmw(cpu, D_SEG(d), ea, 1);
	r = to_reg ? alu_arith(cpu, aop, rv, mv, 1) : alu_arith(cpu, aop, mv, rv, 1);
	if (aop == 7)
		return;
	if (to_reg)
		reg_write(cpu, D_REG(d), 1, r);
	else if (mem)
		seg_write(cpu, D_SEG(d), ea, r, 1);
	else
		reg_write(cpu, D_RM(d), 1, r);
}

/* 04 0C ... 3C: op AL, imm8 */
DC_FN f_alu_al_imm(struct x86cpu *cpu, const struct dc_ent *d)
{
	unsigned aop = d->op >> 3;
	uint32_t r = alu_arith(cpu, aop, cpu->gpr[R_EAX] & 0xff, *d_imm(d, d->op_at + 1), 1);

	if (aop != 7)
		reg_write(cpu, R_EAX, 1, r);
}

/* A8 and A9: TEST AL, imm8 / EAX, imm32 */
DC_FN f_test_imm(struct x86cpu *cpu, const struct dc_ent *d)
{
	const uint8_t *p = d_imm(d, d->op_at + 1);

	if (d->op == 0xa8)
		alu_arith(cpu, 4, cpu->gpr[R_EAX] & 0xff, *p, 1);
	else
		arith32(cpu, 4, cpu->gpr[R_EAX], ld(p, 4));
}

/* 84: TEST r/m8, r8 */
DC_FN f_test8(struct x86cpu *cpu, const struct dc_ent *d)
{
	alu_arith(cpu, 4, d_rm_read(cpu, d, 1), reg_read(cpu, D_REG(d), 1), 1);
}

DC_FN f_nop(struct x86cpu *cpu, const struct dc_ent *d)
{
	(void)cpu;
	(void)d;
}

/* 68 and 6A: PUSH imm32 / imm8 */
DC_FN f_push_imm(struct x86cpu *cpu, const struct dc_ent *d)
{
	const uint8_t *p = d_imm(d, d->op_at + 1);

	push32(cpu, d->op == 0x68 ? ld(p, 4) : (uint32_t)(int8_t)*p);
}

/* C9: LEAVE */
DC_FN f_leave(struct x86cpu *cpu, const struct dc_ent *d)
{
	(void)d;
	sp_set(cpu, cpu->gpr[R_EBP]);
	cpu->gpr[R_EBP] = pop32(cpu);
}

/* FF /0 /1 /2 /4 /6: INC, DEC, CALL, JMP, PUSH r/m32 (others stay generic) */
DC_FN f_grp5(struct x86cpu *cpu, const struct dc_ent *d)
{
	bool mem = (d->modrm >> 6) != 3;
	uint32_t ea = mem ? d_ea(cpu, d) : 0, v;

	switch (D_REG(d)) {
	case 0:
	case 1:
		v = mem ? seg_read_rmw(cpu, D_SEG(d), ea, 4) : cpu->gpr[D_RM(d)];
		v = D_REG(d) ? dec32(cpu, v) : inc32(cpu, v);
		if (mem)
			seg_write(cpu, D_SEG(d), ea, v, 4);
		else
			cpu->gpr[D_RM(d)] = v;
		return;
	case 2:
		v = mem ? seg_read(cpu, D_SEG(d), ea, 4) : cpu->gpr[D_RM(d)];
		push32(cpu, cpu->eip);
		d_jump(cpu, v);
		return;
	case 4:
		d_jump(cpu, mem ? seg_read(cpu, D_SEG(d), ea, 4) : cpu->gpr[D_RM(d)]);
		return;
	default:
		push32(cpu, mem ? seg_read(cpu, D_SEG(d), ea, 4) : cpu->gpr[D_RM(d)]);
		return;
	}
}

/* F7 /0 /1 /2 /3: TEST r/m32, imm32; NOT; NEG (MUL and DIV stay generic) */
DC_FN f_grp3(struct x86cpu *cpu, const struct dc_ent *d)
{
	bool mem = (d->modrm >> 6) != 3;
	uint32_t ea = mem ? d_ea(cpu, d) : 0, v;

	if (D_REG(d) < 2) {
		v = mem ? seg_read(cpu, D_SEG(d), ea, 4) : cpu->gpr[D_RM(d)];
		arith32(cpu, 4, v, ld(d_imm(d, D_IMM_AT(d)), 4));
		return;
	}
	v = mem ? seg_read_rmw(cpu, D_SEG(d), ea, 4) : cpu->gpr[D_RM(d)];
	/* NEG sets the flags of 0 - v (SDM vol. 2 NEG); NOT sets none */
	v = D_REG(d) == 2 ? ~v : arith32(cpu, 5, 0, v);
	if (mem)
		seg_write(cpu, D_SEG(d), ea, v, 4);
	else
		cpu->gpr[D_RM(d)] = v;
}

/* 80: op r/m8, imm8 */
DC_FN f_grp1_8(struct x86cpu *cpu, const struct dc_ent *d)
{
	bool mem = (d->modrm >> 6) != 3;
	uint32_t b = *d_imm(d, D_IMM_AT(d)), ea = mem ? d_ea(cpu, d) : 0, a, r;

	if (!mem)
		a = reg_read(cpu, D_RM(d), 1);
	else if (D_REG(d) == 7)
		a = seg_read(cpu, D_SEG(d), ea, 1);
	else
		a = seg_read_rmw(cpu, D_SEG(d), ea, 1);
	r = alu_arith(cpu, D_REG(d), a, b, 1);
	if (D_REG(d) == 7)
		return;
	if (mem)
		seg_write(cpu, D_SEG(d), ea, r, 1);
	else
		reg_write(cpu, D_RM(d), 1, r);
}

/* C6 /0: MOV r/m8, imm8 */
DC_FN f_mov_imm8_rm(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t v = *d_imm(d, D_IMM_AT(d));

	if ((d->modrm >> 6) == 3)
		reg_write(cpu, D_RM(d), 1, v);
	else
		seg_write(cpu, D_SEG(d), d_ea(cpu, d), v, 1);
}

/* B0-B7: MOV r8, imm8 */
DC_FN f_mov_imm8_r(struct x86cpu *cpu, const struct dc_ent *d)
{
	reg_write(cpu, d->op & 7, 1, *d_imm(d, d->op_at + 1));
}

/* 66 89 and 66 8B: 16-bit moves */
DC_FN f_mov16_store(struct x86cpu *cpu, const struct dc_ent *d)
{
	mov_store(cpu, d, 2);
}

DC_FN f_mov16_load(struct x86cpu *cpu, const struct dc_ent *d)
{
	reg_write(cpu, D_REG(d), 2, d_rm_read(cpu, d, 2));
}

/*
 * An instruction the generic decoder runs that a block may hold (see
 * plain_op()): replayed from its entry like a generic one, but with a
 * handler, so a translated block can call it instead of ending before it.
 * Handlers run with EIP at the next instruction; the generic decoder
 * fetches from the start.
 */
DC_FN f_plain(struct x86cpu *cpu, const struct dc_ent *d)
{
	cpu->eip = cpu->insn_eip;
	x86_dc_replay_generic(cpu, (struct dc_ent *)d);
}

/*
 * The same for one that ends its block (see plain_last()).  A segment load
 * among them updates what blocks test on entry, since its block may go on
 * by a link (jit.c, last_exit()).
 */
DC_FN f_plain_last(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t gen = cpu->seg_gen;

	f_plain(cpu, d);
	if (cpu->seg_gen != gen)
		cpu->jit_unflat = x86_jit_unflat(cpu);
}

/*
 * An instruction that crosses into the next page, which the decode cache
 * never holds: the last entry of a translated block that reached it (jit.c,
 * gather()), which runs it through the generic decoder as x86_dc_run()
 * would and then goes on by a link to the block at the new EIP.  A
 * segment load or a change of privilege level ends the chain there (the
 * next block's entry sees the limit at 0), so the run loop can update what
 * blocks rely on.
 */
DC_FN f_cross(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t gen = cpu->seg_gen;
	bool user = cpu->user;

	(void)d;
	cpu->eip = cpu->insn_eip;
	x86_step(cpu);
	if (cpu->seg_gen != gen || cpu->user != user)
		cpu->jit_limit = 0;
}

/*
 * A1 and A3: MOV EAX, moffs32 and back, any segment (dc_build() keeps it
 * in sseg): Linux reads and writes its per-CPU variables this way, FS-relative.
 */
DC_FN f_mov_moffs(struct x86cpu *cpu, const struct dc_ent *d)
{
	uint32_t off = ld(d->bytes.b + d->op_at + 1, 4);

	if (d->op == 0xa1)
		cpu->gpr[R_EAX] = seg_read(cpu, D_SEG(d), off, 4);
	else
		seg_write(cpu, D_SEG(d), off, cpu->gpr[R_EAX], 4);
}

/* Handlers for entries with a ModRM operand right after a one-byte opcode. */
static uint8_t pick_modrm(const struct dc_ent *d)
{
	bool reg = (d->modrm >> 6) == 3;

	switch (d->op) {
	case 0x00:
	case 0x02:
	case 0x08:
	case 0x0a:
	case 0x10:
	case 0x12:
	case 0x18:
	case 0x1a:
	case 0x20:
	case 0x22:
	case 0x28:
	case 0x2a:
	case 0x30:
	case 0x32:
	case 0x38:
	case 0x3a:
		return DF_ALU8;
	case 0x84:
		return DF_TEST8;
	case 0x01:
	case 0x09:
	case 0x11:
	case 0x19:
	case 0x21:
	case 0x29:
	case 0x31:
	case 0x39:
		return reg ? DF_ALU_RM_R_R : DF_ALU_RM_R_M;
	case 0x03:
	case 0x0b:
	case 0x13:
	case 0x1b:
	case 0x23:
	case 0x2b:
	case 0x33:
	case 0x3b:
		return reg ? DF_ALU_R_RM_R : DF_ALU_R_RM_M;
	case 0x83:
		return reg ? DF_GRP1_IMM8_R : DF_GRP1_IMM8_M;
	case 0x85:
		return reg ? DF_TEST_R : DF_TEST_M;
	case 0x81:
		return reg ? DF_GRP1_IMM32_R : DF_GRP1_IMM32_M;
	case 0xc1:
	case 0xd1:
	case 0xd3:
		return reg ? DF_SHIFT_R : DF_SHIFT_M;
	case 0xff:
		return D_REG(d) == 3 || D_REG(d) == 5 || D_REG(d) == 7 ? DF_GENERIC : DF_GRP5;
	case 0xf7:
		return D_REG(d) < 4 ? DF_GRP3 : DF_MULDIV;
	case 0x80:
		return DF_GRP1_8;
	case 0xc6:
		return D_REG(d) ? DF_GENERIC : DF_MOV_IMM8_RM;
	case 0x88:
		return DF_MOV_STORE8;
	case 0x8a:
		return DF_MOV_LOAD8;
	case 0x89:
		return reg ? DF_MOV_STORE_R : DF_MOV_STORE_M;
	case 0x8b:
		return reg ? DF_MOV_LOAD_R : DF_MOV_LOAD_M;
	case 0x8d:
		return reg ? DF_GENERIC : DF_LEA;
	case 0xc7:
		return reg || D_REG(d) ? DF_GENERIC : DF_MOV_IMM_M;
	case 0x69:
	case 0x6b:
		return DF_IMUL3;
	default:
		return DF_GENERIC;
	}
}

static uint8_t pick_0f(const struct dc_ent *d)
{
	uint8_t op2 = d->bytes.b[d->op_at + 1];

	if (op2 >= 0x80 && op2 <= 0x8f)
		return d->ea_pos ? DF_GENERIC : DF_JCC32;
	if (D_EA_AT(d) != d->op_at + 2)
		return DF_GENERIC;
	switch (op2) {
	case 0x40 ... 0x4f:
		return DF_CMOV;
	case 0x90 ... 0x9f:
		return DF_SETCC;
	case 0xaf:
		return DF_IMUL;
	case 0xb1:
		return DF_CMPXCHG;
	case 0xc1:
		return DF_XADD;
	case 0xba:
		return D_REG(d) >= 4 ? DF_BT_IMM : DF_GENERIC;
	case 0xa4:
	case 0xa5:
	case 0xac:
	case 0xad:
		return DF_SHXD;
	case 0xa3:
	case 0xab:
	case 0xb3:
	case 0xbb:
		return DF_BT_R;
	case 0xbc:
	case 0xbd:
		return DF_BSF;
	case 0xc7:
		return (d->modrm >> 6) != 3 && D_REG(d) == 1 ? DF_CMPXCHG8B : DF_GENERIC;
	case 0xb6:
	case 0xb7:
	case 0xbe:
	case 0xbf:
		return DF_MOVX;
	default:
		return DF_GENERIC;
	}
}

/*
 * Two-byte opcodes (0F xx) that touch nothing but registers, flags and
 * memory: CMOVcc, SETcc, CPUID, the BT group, SHLD/SHRD, IMUL, CMPXCHG
 * (8B), MOVZX/MOVSX, BSF/BSR, XADD, BSWAP and the hint NOPs.
 */
static bool plain_0f(uint8_t op2)
{
	switch (op2) {
	case 0x0d:
	case 0x18 ... 0x1f:
	case 0x31:	    /* RDTSC: Linux's clock reads it thousands of times a second */
	case 0x34 ... 0x35: /* SYSENTER, SYSEXIT (plain_last()) */
	case 0xa0 ... 0xa1: /* PUSH FS, POP FS: Linux's system call entry and exit */
	case 0xa8 ... 0xa9: /* PUSH GS, POP GS */
	case 0x40 ... 0x4f:
	case 0x90 ... 0x9f:
	case 0xa2 ... 0xa5:
	case 0xab ... 0xad:
	case 0xaf ... 0xb1:
	case 0xb3:
	case 0xb6 ... 0xb7:
	case 0xba ... 0xbf:
	case 0xc0 ... 0xc1:
	case 0xc7 ... 0xcf:
		return true;
	default:
		return false;
	}
}

/*
 * Opcodes the generic decoder runs that a translated block may call it for:
 * those that only compute on registers, flags and memory (their 16-bit and
 * LOCK forms, byte and rotate forms, MUL/DIV, string moves, PAUSE, RDTSC:
 * x86_rdtsc() counts the block's instructions done before it, CLI, PUSH of
 * any segment register, POPCNT/TZCNT/LZCNT, SLDT, STR, VERR and VERW),
 * IN and OUT (Linux's vgacon moves its cursor with four OUTs
 * under a spinlock; a device model that remaps memory while answering only
 * drops TLB entries, as for an MMIO access in a block), and those after
 * which the block must end (plain_last()).  A fault in one unwinds as for
 * any handler.  Everything else (far and indirect transfers but IRET, loads
 * of CS and SS, MOV to a control register, INS/OUTS, HLT, INT, x87) ends a
 * translated block before it.
 */
static bool plain_op(const struct dc_ent *d, const struct insn *in)
{
	uint8_t op = d->op;

	uint8_t op2 = d->bytes.b[d->op_at + 1];

	/* PAUSE; REP MOVS, CMPS, STOS, LODS and SCAS (plain_last()) */
	if (in->rep && op != 0x0f)
		return op == 0x90 || (op >= 0xa4 && op <= 0xaf && op != 0xa8 && op != 0xa9);
	/* F3 0F B8, BC, BD: POPCNT, TZCNT, LZCNT (Linux's bit searches: TZCNT) */
	if (in->rep)
		return op2 == 0xb8 || op2 == 0xbc || op2 == 0xbd;
	/* 0F 00 /0, /1, /4, /5: SLDT, STR, VERR, VERW (VERW on every return to user) */
	if (op == 0x0f && op2 == 0x00) {
		unsigned reg = (d->bytes.b[d->op_at + 2] >> 3) & 7;

		return reg < 2 || reg == 4 || reg == 5;
	}
	if (op == 0x0f)
		return plain_0f(op2);
	/* PUSH ES, CS, SS, DS: Linux's interrupt entry saves ES and DS */
	if (op < 0x40)
		return (op & 7) < 6 || op == 0x27 || op == 0x2f || op == 0x37 || op == 0x3f ||
		       op == 0x07 || op == 0x1f || (op & 0xe7) == 0x06; /* POP ES, POP DS */
	switch (op) {
	case 0x40 ... 0x62:
	case 0x68 ... 0x6b:
	case 0x80 ... 0x8d:
	case 0x8f ... 0x99:
	case 0x9c:
	case 0x9e ... 0xbf:
	case 0xc0 ... 0xc1:
	case 0xc6 ... 0xc8:
	case 0xd0 ... 0xd5:
	case 0xd7:
	case 0xe4 ... 0xe7: /* IN, OUT with an immediate port */
	case 0xec ... 0xef: /* IN, OUT through DX */
	case 0xf5 ... 0xf7:
	case 0xf8 ... 0xfb: /* CLC, STC, CLI, STI (plain_last()) */
	case 0xfc ... 0xfe:
	case 0x9d: /* POPF (plain_last()) */
	case 0xcf: /* IRET (plain_last()) */
		return true;
	case 0x8e:
		return D_REG(d) != 1 && D_REG(d) != 2; /* MOV to ES, DS, FS, GS */
	case 0xff:
		return D_REG(d) < 2 || D_REG(d) == 6; /* INC, DEC, PUSH */
	default:
		return false;
	}
}

/*
 * A specialised handler for an entry, or DF_GENERIC.  LOCK changes nothing
 * here: vCPUs run one at a time (exec_lock in backend_emu.c), so a locked
 * read-modify-write (Linux's atomic_inc, atomic_sub, set_bit through OR)
 * is the plain one, as the generic decoder also runs it.
 */
static uint8_t pick_special(const struct dc_ent *d, const struct insn *in)
{
	uint8_t op = d->op;

	if (in->adsz != 4 || in->rep)
		return DF_GENERIC;
	if (in->opsz != 4) {
		/* 16-bit moves only, with the ModRM right after the opcode */
		if (!d->ea_pos || D_EA_AT(d) != d->op_at + 1)
			return DF_GENERIC;
		return op == 0x89 ? DF_MOV16_STORE : op == 0x8b ? DF_MOV16_LOAD : DF_GENERIC;
	}
	if (op == 0x0f)
		return pick_0f(d);
	if (d->ea_pos)
		return D_EA_AT(d) == d->op_at + 1 ? pick_modrm(d) : DF_GENERIC;
	switch (op) {
	case 0x40 ... 0x47:
		return DF_INC;
	case 0x48 ... 0x4f:
		return DF_DEC;
	case 0x50 ... 0x57:
		return DF_PUSH;
	case 0x58 ... 0x5f:
		return DF_POP;
	case 0x70 ... 0x7f:
		return DF_JCC8;
	case 0xb8 ... 0xbf:
		return DF_MOV_IMM_R;
	case 0xb0 ... 0xb7:
		return DF_MOV_IMM8_R;
	case 0x05:
	case 0x0d:
	case 0x15:
	case 0x1d:
	case 0x25:
	case 0x2d:
	case 0x35:
	case 0x3d:
		return DF_ALU_EAX_IMM;
	case 0x04:
	case 0x0c:
	case 0x14:
	case 0x1c:
	case 0x24:
	case 0x2c:
	case 0x34:
	case 0x3c:
		return DF_ALU_AL_IMM;
	case 0xa8:
	case 0xa9:
		return DF_TEST_IMM;
	case 0x90:
		return DF_NOP;
	case 0x68:
	case 0x6a:
		return DF_PUSH_IMM;
	case 0xa1:
	case 0xa3:
		return DF_MOV_MOFFS;
	case 0xc9:
		return DF_LEAVE;
	case 0x9c:
		return DF_PUSHF;
	case 0xfa:
	case 0xfc:
	case 0xfd:
		return DF_FLAG_OP;
	case 0xc3:
		return DF_RET;
	case 0xe8:
		return DF_CALL32;
	case 0xe9:
		return DF_JMP32;
	case 0xeb:
		return DF_JMP8;
	default:
		return DF_GENERIC;
	}
}

/*
 * Instructions that do nothing whatever their prefixes: XCHG AX,AX (66 90),
 * PAUSE (F3 90) and the hint NOP 0F 1F /0 that kernels pad code with.
 */
static bool nop_op(const struct dc_ent *d, const struct insn *in)
{
	if (in->lock)
		return false;
	if (d->op == 0x90)
		return true;
	return d->op == 0x0f && d->bytes.b[d->op_at + 1] == 0x1f && d->ea_pos &&
	       !((d->modrm >> 3) & 7);
}

/*
 * Plain opcodes after which a translated block must end, because the run
 * loop has something to do first:
 * - STI: the instruction in its shadow runs alone, then an interrupt;
 * - REP MOVS/STOS: a chunk at a time, EIP staying on it until ECX is 0
 *   (Linux's clear_page and copy_page);
 * - MOV or POP to ES, DS, FS, GS: the segments blocks address natively are
 *   looked at again;
 * - POPF, IRET, SYSENTER, SYSEXIT: EFLAGS, the privilege level (the TLB a
 *   chain uses) and CS may change.
 */
static bool plain_last(const struct dc_ent *d, const struct insn *in)
{
	uint8_t op2 = d->bytes.b[d->op_at + 1];

	if (in->rep)
		return d->op != 0x90; /* PAUSE goes on */
	switch (d->op) {
	case 0x07: /* POP ES */
	case 0x1f: /* POP DS */
	case 0x8e: /* MOV Sreg */
	case 0x9d: /* POPF */
	case 0xcf: /* IRET */
	case 0xfb: /* STI */
		return true;
	case 0x0f:
		return op2 == 0xa1 || op2 == 0xa9 || op2 == 0x34 || op2 == 0x35;
	default:
		return false;
	}
}

/* A specialised handler for an entry, else DF_NOP, DF_PLAIN(_LAST) or DF_GENERIC. */
static uint8_t pick(const struct dc_ent *d, const struct insn *in)
{
	uint8_t fn = pick_special(d, in);

	if (fn == DF_GENERIC && nop_op(d, in))
		return DF_NOP;
	if (fn == DF_GENERIC && plain_op(d, in))
		return plain_last(d, in) ? DF_PLAIN_LAST : DF_PLAIN;
	return fn;
}

/* Handler index for a freshly built entry; DF_GENERIC keeps the generic decoder. */
uint8_t x86_dc_pick(const struct dc_ent *d, const struct insn *in)
{
	return pick(d, in);
}

/* One cached instruction with a specialised handler, dispatched in place. */
DC_INLINE void dc_exec(struct x86cpu *cpu, const struct dc_ent *d)
{
	switch (d->fn) {
#define DF_CASE(name, fn)   \
	case DF_##name:     \
		fn(cpu, d); \
		break;
		DC_HANDLERS(DF_CASE)
#undef DF_CASE
	default:
		__builtin_unreachable();
	}
}

void x86_dc_exec(struct x86cpu *cpu, const struct dc_ent *d)
{
	dc_exec(cpu, d);
}

/* Each handler as a function of its own, for code that calls them one by one. */
#define DF_OUTLINE(name, fn)                                             \
	static void out_##fn(struct x86cpu *cpu, const struct dc_ent *d) \
	{                                                                \
		fn(cpu, d);                                              \
	}
DC_HANDLERS(DF_OUTLINE)
#undef DF_OUTLINE

const x86_dc_handler x86_dc_handlers[DF_COUNT] = {
#define DF_TABLE(name, fn) [DF_##name] = out_##fn,
	DC_HANDLERS(DF_TABLE)
#undef DF_TABLE
};

/*
 * The run loop's inner part: up to n instructions (n >= 1), stopping early
 * when an instruction asks for an interrupt poll.  A decode-cache hit with
 * a specialised handler runs here without a call; a miss goes through
 * x86_step().  Returns the number executed; icount is kept exact
 * per instruction because a fault unwinds out of this loop.
 */
unsigned x86_dc_run(struct x86cpu *cpu, unsigned n)
{
	unsigned done = 0;

	do {
		const struct x86_seg *cs = &cpu->seg[S_CS];
		uint32_t eip = cpu->eip, la = cs->base + eip, off = la & 0xfff;
		struct dc_ent *d = dc_fetch_slot(cpu, off);

		if (likely((la >> 12) == cpu->fetch_vpn && d->key == cpu->fetch_key &&
			   (uint64_t)eip + d->len - 1 <= cs->limit &&
			   dc_match(d, cpu->fetch_host + off, off))) {
			cpu->insn_eip = eip;
			cpu->insn_esp = cpu->gpr[R_ESP];
			/*
			 * The table is larger than the host's L2 and the next
			 * instruction's entry is a few lines on: fetch it while
			 * this one executes.
			 */
			__builtin_prefetch(dc_fetch_slot(cpu, (off + d->len) & 0xfff));
			if (likely(d->fn)) {
				cpu->eip = eip + d->len;
				dc_exec(cpu, d);
			} else {
				x86_dc_replay_generic(cpu, d);
			}
		} else {
			x86_step(cpu);
		}
		cpu->icount++;
	} while (++done < n && !cpu->poll);
	return done;
}
