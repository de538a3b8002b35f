/* SPDX-License-Identifier: MIT */
/*
 * jit_plan.c - the native form of each decode-cache entry a block holds
 * (plan_of()): the block translator (jit.c) emits these inline and calls
 * the handler for everything else.
 */
#include "jit_plan.h"

/*
 * Segments native forms address: ES, SS and DS when flat (base 0, 4 GiB
 * limit), FS and GS with any base and a 4 GiB limit (Linux's per-CPU data
 * and stack canary): their base is added at run time (seg_base()).
 */
static bool flat_seg(const struct x86cpu *cpu, unsigned s)
{
	const struct x86_seg *sg = &cpu->seg[s];

	if (cpu->segok[s] != 3 || sg->limit != 0xffffffffu)
		return false;
	return s == S_FS || s == S_GS || ((s == S_ES || s == S_SS || s == S_DS) && sg->base == 0);
}

static uint32_t imm_at(const struct dc_ent *d, unsigned at, unsigned size)
{
	if (size == 1)
		return (uint32_t)(int8_t)d->bytes.b[at];
	return ld(d->bytes.b + at, 4);
}

#define P_REG(d) (((d)->modrm >> 3) & 7)
#define P_RM(d) ((d)->modrm & 7)
#define P_IMM_AT(d) (((d)->ea_pos & 15) + ((d)->ea_pos >> 4))
/* the condition code in the second opcode byte (0F 4x, 0F 8x, 0F 9x) */
#define P_CC2(d) ((d)->bytes.b[(d)->op_at + 1] & 15)

static const struct plan call_plan = { .kind = K_CALL };

/* MOVZX/MOVSX (0F B6 B7 BE BF): width and extension from the second opcode byte. */
static struct plan movx_plan(const struct dc_ent *d, uint8_t kind)
{
	uint8_t op2 = d->bytes.b[d->op_at + 1];

	return (struct plan){ .kind = kind,
			      .dst = P_REG(d),
			      .src = P_RM(d),
			      .w = (op2 & 1) ? 2 : 1,
			      .ext = (op2 & 8) ? EXT_SIGN : EXT_ZERO };
}

/* Entries whose r/m operand is a register. */
static struct plan plan_reg_rm(const struct dc_ent *d)
{
	switch (d->fn) {
	case DF_MOVX:
		return movx_plan(d, K_MOVN);
	case DF_MOV_LOAD8:
		return (struct plan){ .kind = K_MOVN, .dst = P_REG(d), .src = P_RM(d), .w = 1 };
	case DF_MOV_STORE8:
		return (struct plan){ .kind = K_MOVN, .dst = P_RM(d), .src = P_REG(d), .w = 1 };
	case DF_MOV16_LOAD:
		return (struct plan){ .kind = K_MOVN, .dst = P_REG(d), .src = P_RM(d), .w = 2 };
	case DF_MOV16_STORE:
		return (struct plan){ .kind = K_MOVN, .dst = P_RM(d), .src = P_REG(d), .w = 2 };
	case DF_IMUL:
		return (struct plan){ .kind = K_IMUL, .dst = P_REG(d), .src = P_RM(d) };
	case DF_SETCC:
		return (struct plan){ .kind = K_SETCC, .aop = P_CC2(d), .dst = P_RM(d) };
	case DF_CMOV:
		return (struct plan){
			.kind = K_CMOV, .aop = P_CC2(d), .dst = P_REG(d), .src = P_RM(d)
		};
	case DF_GRP1_8:
		return (struct plan){ .kind = K_ALU_RI,
				      .aop = P_REG(d),
				      .dst = P_RM(d),
				      .imm = imm_at(d, P_IMM_AT(d), 1),
				      .w = 1 };
	case DF_ALU8: /* bit 1 of the opcode: the ModRM reg is the destination */
		return (struct plan){ .kind = K_ALU_RR,
				      .aop = d->op >> 3,
				      .dst = (d->op & 2) ? P_REG(d) : P_RM(d),
				      .src = (d->op & 2) ? P_RM(d) : P_REG(d),
				      .w = 1 };
	case DF_TEST8:
		return (struct plan){
			.kind = K_ALU_RR, .aop = AOP_TEST, .dst = P_RM(d), .src = P_REG(d), .w = 1
		};
	case DF_MOV_IMM8_RM:
		return (struct plan){
			.kind = K_MOV_RI, .dst = P_RM(d), .imm = d->bytes.b[P_IMM_AT(d)], .w = 1
		};
	case DF_GRP3: /* F7 /0 /1 TEST r32, imm32; /2 NOT; /3 NEG */
		if (P_REG(d) < 2)
			return (struct plan){ .kind = K_ALU_RI,
					      .aop = AOP_TEST,
					      .dst = P_RM(d),
					      .imm = imm_at(d, P_IMM_AT(d), 4) };
		return (struct plan){ .kind = K_UNARY, .aop = P_REG(d), .dst = P_RM(d) };
	default:
		return call_plan;
	}
}

static uint32_t imm16_at(const struct dc_ent *d, unsigned at)
{
	return (uint32_t)d->bytes.b[at] | (uint32_t)d->bytes.b[at + 1] << 8;
}

/*
 * 66-prefixed DF_PLAIN entries a block runs natively (the console's
 * 16-bit character cells): op AX, imm16 (05 .. 3D, A9), op r/m16, imm
 * (81, 83), MOV r/m16, imm16 (C7 /0), and SHL, SHR and SAR of a register
 * by 1..15 (C1 /4 /5 /7, the decompressor's range coder).
 */
static struct plan plan_plain16(const struct dc_ent *d, bool mem)
{
	uint8_t op = d->op;
	unsigned n;

	if (!d->ea_pos) {
		if (mem || (op != 0xa9 && (op >= 0x40 || (op & 7) != 5)))
			return call_plan;
		return (struct plan){ .kind = K_ALU_RI,
				      .aop = op == 0xa9 ? AOP_TEST : op >> 3,
				      .dst = R_EAX,
				      .imm = imm16_at(d, d->op_at + 1u),
				      .w = 2 };
	}
	if (op == 0x81 || op == 0x83)
		return (struct plan){ .kind = mem ? K_ALU_MI : K_ALU_RI,
				      .aop = P_REG(d),
				      .dst = mem ? 0 : P_RM(d),
				      .imm = op == 0x81 ? imm16_at(d, P_IMM_AT(d))
							: imm_at(d, P_IMM_AT(d), 1) & 0xffff,
				      .w = 2 };
	if (op == 0xc7 && P_REG(d) == 0)
		return (struct plan){ .kind = mem ? K_STORE_I : K_MOV_RI,
				      .dst = mem ? 0 : P_RM(d),
				      .imm = imm16_at(d, P_IMM_AT(d)),
				      .w = 2 };
	if (mem || op != 0xc1)
		return call_plan;
	n = d->bytes.b[P_IMM_AT(d)] & 31u;
	if ((P_REG(d) != 4 && P_REG(d) != 5 && P_REG(d) != 7) || !n || n > 15)
		return call_plan;
	return (struct plan){ .kind = K_SHIFT, .aop = P_REG(d), .dst = P_RM(d), .imm = n, .w = 2 };
}

/*
 * DF_PLAIN entries a block runs natively, the commonest in a Linux boot:
 * TEST r/m8, imm8 (F6 /0, the kernel's flag tests), MOV r32, imm32 in its
 * C7 /0 form, and the 16-bit forms of plan_plain16().  Only 32-bit code
 * with no prefix or 66 alone qualifies: no segment override, LOCK or
 * address-size prefix.
 */
static struct plan plan_plain(const struct dc_ent *d, bool mem)
{
	unsigned at = d->op_at;

	/* 32-bit code: no prefix is 32-bit operand and address size, 66 is 16-bit */
	if (!(d->key & 2) || at > 1 || (at == 1 && d->bytes.b[0] != 0x66))
		return call_plan;
	if (d->ea_pos && (d->ea_pos & 15) != at + 1)
		return call_plan;
	if (at == 1)
		return plan_plain16(d, mem);
	if (!d->ea_pos || P_REG(d) != 0)
		return call_plan;
	if (d->op == 0xf6)
		return (struct plan){ .kind = mem ? K_ALU_MI : K_ALU_RI,
				      .aop = AOP_TEST,
				      .dst = mem ? 0 : P_RM(d),
				      .imm = imm_at(d, P_IMM_AT(d), 1),
				      .w = 1 };
	if (d->op == 0xc7 && !mem)
		return (struct plan){ .kind = K_MOV_RI,
				      .dst = P_RM(d),
				      .imm = imm_at(d, P_IMM_AT(d), 4) };
	return call_plan;
}

/* Register forms: how to run d natively (K_CALL: through its handler). */
static struct plan plan_reg(const struct dc_ent *d)
{
	uint8_t op = d->op, fn = d->fn;

	switch (fn) {
	case DF_NOP:
		return (struct plan){ .kind = K_NOP, .dst = DC_NOREG, .src = DC_NOREG };
	case DF_PLAIN: /* register forms, or none (66 05 iw) */
		return !d->ea_pos || (d->modrm >> 6) == 3 ? plan_plain(d, false) : call_plan;
	case DF_MOV_LOAD_R:
		return (struct plan){ .kind = K_MOV_RR, .dst = P_REG(d), .src = P_RM(d) };
	case DF_MOV_STORE_R:
		return (struct plan){ .kind = K_MOV_RR, .dst = P_RM(d), .src = P_REG(d) };
	case DF_MOV_IMM_R:
		return (struct plan){ .kind = K_MOV_RI,
				      .dst = op & 7,
				      .imm = imm_at(d, d->op_at + 1u, 4) };
	case DF_ALU_RM_R_R:
		return (struct plan){
			.kind = K_ALU_RR, .aop = op >> 3, .dst = P_RM(d), .src = P_REG(d)
		};
	case DF_ALU_R_RM_R:
		return (struct plan){
			.kind = K_ALU_RR, .aop = op >> 3, .dst = P_REG(d), .src = P_RM(d)
		};
	case DF_TEST_R:
		return (struct plan){
			.kind = K_ALU_RR, .aop = AOP_TEST, .dst = P_RM(d), .src = P_REG(d)
		};
	case DF_GRP1_IMM8_R:
		return (struct plan){ .kind = K_ALU_RI,
				      .aop = P_REG(d),
				      .dst = P_RM(d),
				      .imm = imm_at(d, P_IMM_AT(d), 1) };
	case DF_GRP1_IMM32_R:
		return (struct plan){ .kind = K_ALU_RI,
				      .aop = P_REG(d),
				      .dst = P_RM(d),
				      .imm = imm_at(d, P_IMM_AT(d), 4) };
	case DF_ALU_EAX_IMM:
		return (struct plan){ .kind = K_ALU_RI,
				      .aop = op >> 3,
				      .dst = R_EAX,
				      .imm = imm_at(d, d->op_at + 1u, 4) };
	case DF_ALU_AL_IMM:
		return (struct plan){ .kind = K_ALU_RI,
				      .aop = op >> 3,
				      .dst = R_EAX,
				      .imm = d->bytes.b[d->op_at + 1u],
				      .w = 1 };
	case DF_TEST_IMM: /* A8 ib: TEST AL; A9 id: TEST EAX */
		return (struct plan){ .kind = K_ALU_RI,
				      .aop = AOP_TEST,
				      .dst = R_EAX,
				      .imm = imm_at(d, d->op_at + 1u, op == 0xa8 ? 1 : 4),
				      .w = op == 0xa8 };
	case DF_MOV_IMM8_R:
		return (struct plan){
			.kind = K_MOV_RI, .dst = op & 7, .imm = d->bytes.b[d->op_at + 1u], .w = 1
		};
	case DF_INC:
	case DF_DEC:
		return (struct plan){ .kind = K_INCDEC, .aop = fn == DF_DEC, .dst = op & 7 };
	case DF_LEA:
		/* lea r, [r + 0]: a multi-byte NOP compilers pad loops with */
		if ((d->regs & 15) == P_REG(d) && d->regs >> 4 == DC_NOREG && !d->disp)
			return (struct plan){ .kind = K_NOP };
		return (struct plan){ .kind = K_LEA, .dst = P_REG(d) };
	case DF_SHIFT_R:
		/* RCL and RCR, and rotates by CL, stay in the handler */
		if (P_REG(d) == 2 || P_REG(d) == 3 || (op == 0xd3 && P_REG(d) < 2))
			return call_plan;
		if (op == 0xd3)
			return (struct plan){ .kind = K_SHIFT_CL,
					      .aop = P_REG(d) == 6 ? 4 : P_REG(d),
					      .dst = P_RM(d),
					      .src = R_ECX };
		return (struct plan){ .kind = K_SHIFT,
				      .aop = P_REG(d) == 6 ? 4 : P_REG(d),
				      .dst = P_RM(d),
				      .imm = op == 0xc1 ? d->bytes.b[P_IMM_AT(d)] & 31u : 1u };
	case DF_JCC8:
		return (struct plan){ .kind = K_JCC,
				      .aop = op & 15,
				      .imm = imm_at(d, d->op_at + 1u, 1) };
	case DF_JCC32:
		return (struct plan){ .kind = K_JCC,
				      .aop = P_CC2(d),
				      .imm = imm_at(d, d->op_at + 2u, 4) };
	case DF_JMP8:
		return (struct plan){ .kind = K_JMP, .imm = imm_at(d, d->op_at + 1u, 1) };
	case DF_JMP32:
		return (struct plan){ .kind = K_JMP, .imm = imm_at(d, d->op_at + 1u, 4) };
	default:
		return (d->modrm >> 6) == 3 ? plan_reg_rm(d) : call_plan;
	}
}

/* Memory forms, when the operand's segment is flat now. */
static struct plan plan_mem(const struct x86cpu *cpu, const struct dc_ent *d)
{
	uint8_t op = d->op;

	if (!flat_seg(cpu, (d->sseg >> 2) & 7) || (d->fn == DF_PLAIN && !d->ea_pos))
		return call_plan;
	if (d->fn == DF_MOV_MOFFS) /* A1: MOV EAX, [moffs32]; A3: the store */
		return op == 0xa1 ? (struct plan){ .kind = K_LOAD, .dst = R_EAX }
				  : (struct plan){ .kind = K_STORE, .src = R_EAX };
	if ((d->modrm >> 6) == 3)
		return call_plan;
	switch (d->fn) {
	case DF_PLAIN:
		return plan_plain(d, true);
	case DF_MOV_LOAD_M:
		return (struct plan){ .kind = K_LOAD, .dst = P_REG(d) };
	case DF_MOV_STORE_M:
		return (struct plan){ .kind = K_STORE, .src = P_REG(d) };
	case DF_MOV_IMM_M:
		return (struct plan){ .kind = K_STORE_I, .imm = imm_at(d, P_IMM_AT(d), 4) };
	case DF_ALU_R_RM_M:
		return (struct plan){ .kind = K_ALU_RM, .aop = op >> 3, .dst = P_REG(d) };
	case DF_TEST_M:
		return (struct plan){ .kind = K_ALU_MR, .aop = AOP_TEST, .src = P_REG(d) };
	case DF_ALU_RM_R_M:
		return (struct plan){ .kind = K_ALU_MR, .aop = op >> 3, .src = P_REG(d) };
	case DF_GRP1_IMM8_M:
		return (struct plan){ .kind = K_ALU_MI,
				      .aop = P_REG(d),
				      .imm = imm_at(d, P_IMM_AT(d), 1) };
	case DF_GRP1_IMM32_M:
		return (struct plan){ .kind = K_ALU_MI,
				      .aop = P_REG(d),
				      .imm = imm_at(d, P_IMM_AT(d), 4) };
	case DF_GRP1_8:
		return (struct plan){
			.kind = K_ALU_MI, .aop = P_REG(d), .imm = imm_at(d, P_IMM_AT(d), 1), .w = 1
		};
	case DF_MOVX:
		return movx_plan(d, K_LOADN);
	case DF_MOV_LOAD8:
		return (struct plan){ .kind = K_LOADN, .dst = P_REG(d), .w = 1 };
	case DF_MOV16_LOAD:
		return (struct plan){ .kind = K_LOADN, .dst = P_REG(d), .w = 2 };
	case DF_MOV_STORE8:
		return (struct plan){ .kind = K_STOREN, .src = P_REG(d), .w = 1 };
	case DF_MOV16_STORE:
		return (struct plan){ .kind = K_STOREN, .src = P_REG(d), .w = 2 };
	case DF_IMUL:
		return (struct plan){ .kind = K_IMUL_M, .dst = P_REG(d) };
	case DF_CMOV:
		return (struct plan){ .kind = K_CMOV_M, .aop = P_CC2(d), .dst = P_REG(d) };
	case DF_ALU8:
		if (op & 2)
			return (struct plan){
				.kind = K_ALU_RM, .aop = op >> 3, .dst = P_REG(d), .w = 1
			};
		return (struct plan){ .kind = K_ALU_MR, .aop = op >> 3, .src = P_REG(d), .w = 1 };
	case DF_TEST8:
		return (struct plan){ .kind = K_ALU_MR, .aop = AOP_TEST, .src = P_REG(d), .w = 1 };
	case DF_MOV_IMM8_RM:
		return (struct plan){ .kind = K_STORE_I, .imm = d->bytes.b[P_IMM_AT(d)], .w = 1 };
	case DF_GRP5: /* FF /0 INC, /1 DEC, /6 PUSH; CALL and JMP stay in the handler */
		if (P_REG(d) == 6 && flat_seg(cpu, S_SS) && cpu->stack32)
			return (struct plan){ .kind = K_PUSH_M };
		if (P_REG(d) > 1)
			return call_plan;
		return (struct plan){ .kind = K_INCDEC_M, .aop = P_REG(d) };
	default:
		return call_plan;
	}
}

/* Stack forms, when SS is flat and 32-bit now. */
static struct plan plan_stack(const struct x86cpu *cpu, const struct dc_ent *d)
{
	if (!flat_seg(cpu, S_SS) || !cpu->stack32)
		return call_plan;
	switch (d->fn) {
	case DF_PUSH:
		return (struct plan){ .kind = K_PUSH, .src = d->op & 7 };
	case DF_PUSH_IMM: /* 6A ib (sign-extended), 68 id */
		return (struct plan){ .kind = K_PUSH,
				      .src = DC_NOREG,
				      .imm = imm_at(d, d->op_at + 1u, d->op == 0x6a ? 1 : 4) };
	case DF_POP:
		return (struct plan){ .kind = K_POP, .dst = d->op & 7 };
	case DF_CALL32:
		return (struct plan){ .kind = K_CALLN, .imm = imm_at(d, d->op_at + 1u, 4) };
	case DF_RET:
		return (struct plan){ .kind = K_RET };
	case DF_LEAVE:
		return (struct plan){ .kind = K_LEAVE, .dst = R_EBP };
	default:
		return call_plan;
	}
}

/*
 * MOVS, STOS, LODS and SCAS without prefixes (no REP: those are not plain)
 * in 32-bit code, with DS and ES flat: strlen- and memcpy-style loops.
 */
static struct plan plan_string(const struct x86cpu *cpu, const struct dc_ent *d)
{
	uint8_t op = d->op, pair = op & 0xfe;

	/* A4/A5 MOVS, AA/AB STOS, AC/AD LODS, AE/AF SCAS; not A6/A7 CMPS */
	if (d->fn != DF_PLAIN || d->ea_pos || d->op_at || !(d->key & 2) ||
	    (pair != 0xa4 && pair != 0xaa && pair != 0xac && pair != 0xae) ||
	    !flat_seg(cpu, S_DS) || !flat_seg(cpu, S_ES))
		return call_plan;
	return (struct plan){ .kind = K_STRING, .aop = op, .dst = R_EAX, .w = (op & 1) ? 4 : 1 };
}

struct plan plan_of(const struct x86cpu *cpu, const struct dc_ent *d)
{
	struct plan p = plan_string(cpu, d);

	if (p.kind == K_CALL)
		p = plan_reg(d);

	if (p.kind == K_CALL)
		p = plan_mem(cpu, d);
	return p.kind == K_CALL ? plan_stack(cpu, d) : p;
}

bool plan_stack_kind(unsigned kind)
{
	return kind == K_PUSH || kind == K_POP || kind == K_CALLN || kind == K_RET ||
	       kind == K_PUSH_M || kind == K_LEAVE;
}

/*
 * In a block's segment mask, next to the bits of the segments that must be
 * flat: the stack must also be 32-bit; CS's limit (bit S_CS) must be 4 GiB.
 */

/*
 * Which of ES, SS, DS, FS and GS are not flat now, whether the stack is
 * not 32-bit, and whether CS's limit is below 4 GiB: a block's check tests
 * its mask against these bits in one instruction.
 */
uint8_t plan_unflat(const struct x86cpu *cpu)
{
	uint8_t m = cpu->stack32 ? 0 : NEED_STACK32;

	for (unsigned s = S_ES; s <= S_GS; s++)
		if (s != S_CS && !flat_seg(cpu, s))
			m |= (uint8_t)(1u << s);
	if (cpu->seg[S_CS].limit != 0xffffffffu)
		m |= NEED_CS_4G;
	return m;
}

uint8_t x86_jit_unflat(const struct x86cpu *cpu)
{
	return plan_unflat(cpu);
}

bool plan_mem_kind(unsigned kind)
{
	return (kind >= K_LOAD && kind <= K_STRING) || kind == K_LOADN || kind == K_STOREN ||
	       kind == K_IMUL_M || kind == K_CMOV_M;
}

/* The arithmetic flags p sets natively (0: none, or it runs a handler). */
uint32_t plan_flags_written(const struct plan *p)
{
	switch (p->kind) {
	case K_ALU_RR:
	case K_ALU_RI:
	case K_ALU_RM:
	case K_ALU_MR:
	case K_ALU_MI:
	case K_IMUL:
	case K_IMUL_M:
		return FL_ARITH;
	case K_INCDEC:
	case K_INCDEC_M:
		return FL_ARITH & ~F_CF;
	case K_UNARY:
		return p->aop == 3 ? FL_ARITH : 0; /* NEG; NOT sets none */
	case K_STRING:
		return (p->aop & 0xfe) == 0xae ? FL_ARITH : 0; /* SCAS: those of CMP */
	case K_SHIFT:
		if (!p->imm)
			return 0;
		return p->aop < 2 ? F_CF | F_OF : FL_ARITH; /* ROL, ROR: only CF and OF */
	default:
		return 0;
	}
}

/* Does p look at EFLAGS, or may it leave the block with them as they are? */
bool plan_flags_needed(const struct plan *p)
{
	switch (p->kind) {
	case K_CALL: /* handlers read and write anything */
	case K_JCC:
	case K_JMP:
	case K_SETCC:
	case K_CMOV:
	case K_CMOV_M:
	case K_CALLN:
	case K_RET:
		return true;
	case K_ALU_RR:
	case K_ALU_RI:
		return p->aop == 2 || p->aop == 3; /* ADC, SBB */
	default:
		/* a fault must see the flags of every instruction before it */
		return plan_mem_kind(p->kind) || plan_stack_kind(p->kind);
	}
}

/*
 * May p's flags stay in the host's for a conditional jump right after it
 * (struct emit)?  Only ALU ops, whose host flags are the guest's (AF aside,
 * which no condition reads), that store nothing: a store's SMC check would
 * clobber them.
 */
bool plan_fusable(const struct plan *p)
{
	switch (p->kind) {
	case K_ALU_RR:
	case K_ALU_RI:
	case K_ALU_RM:
		return true;
	case K_ALU_MR:
	case K_ALU_MI:
		return p->aop == 7 || p->aop == AOP_TEST;
	default:
		return false;
	}
}

/*
 * Guest registers whose byte 1 (AH..BH) a narrow form writes: left in
 * struct x86cpu, since x86-64 cannot name byte 1 of r8-r11.
 */
unsigned plan_narrow_regs(const struct plan *p)
{
	bool ah = p->w == 1 && p->dst >= 4 && p->dst < 8;

	switch (p->kind) {
	case K_SETCC:
		return p->dst >= 4 ? 1u << (p->dst & 3) : 0;
	case K_ALU_RI:
	case K_ALU_RR:
	case K_ALU_RM:
	case K_MOV_RI:
		return ah ? 1u << (p->dst & 3) : 0;
	case K_MOVN:
	case K_LOADN:
		return p->ext == EXT_NONE && ah ? 1u << (p->dst & 3) : 0;
	default:
		return 0;
	}
}

/* Does a plan of this kind read register src / name a register in dst? */
bool plan_has_src(unsigned kind)
{
	switch (kind) {
	case K_MOV_RR:
	case K_ALU_RR:
	case K_MOVN:
	case K_STORE:
	case K_STOREN:
	case K_ALU_MR:
	case K_IMUL:
	case K_CMOV:
	case K_PUSH:
	case K_SHIFT_CL:
		return true;
	default:
		return false;
	}
}

bool plan_has_dst(unsigned kind)
{
	switch (kind) {
	case K_CALL:
	case K_NOP:
	case K_STORE:
	case K_STORE_I:
	case K_ALU_MR:
	case K_ALU_MI:
	case K_INCDEC_M:
	case K_STOREN:
	case K_PUSH:
	case K_PUSH_M:
	case K_CALLN:
	case K_RET:
	case K_JCC:
	case K_JMP:
		return false;
	default:
		return true;
	}
}

/* The width of p's destination register operand (byte forms name AL..BH). */
unsigned plan_dst_width(const struct plan *p)
{
	if (p->kind == K_SETCC)
		return 1;
	if ((p->kind == K_MOVN || p->kind == K_LOADN) && p->ext != EXT_NONE)
		return 4;
	return p->w ? p->w : 4;
}
