/* SPDX-License-Identifier: MIT */
/*
 * jit_plan.h - what the block translator (jit.c) makes of each decode-cache
 * entry: a native form (struct plan) or a call to its handler, and the
 * properties of those forms that the translator's passes need.
 */
#ifndef HVM_CPU_JIT_PLAN_H
#define HVM_CPU_JIT_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "dcache.h"

/*
 * What a block's host code does with each entry: run it natively, or call
 * its handler.  Native memory forms need a flat segment (base 0, 4 GiB
 * limit, readable and writable), which the block's prologue re-checks.
 */
enum {
	K_CALL,
	K_NOP,	    /* nothing (NOP, PAUSE, hint NOPs) */
	K_MOV_RR,   /* gpr[dst] = gpr[src] */
	K_MOV_RI,   /* gpr[dst] = imm */
	K_ALU_RR,   /* gpr[dst] op= gpr[src] */
	K_ALU_RI,   /* gpr[dst] op= imm */
	K_INCDEC,   /* gpr[dst] +/-= 1 */
	K_UNARY,    /* gpr[dst] = ~gpr[dst] (aop 2, NOT) or -gpr[dst] (aop 3, NEG) */
	K_LEA,	    /* gpr[dst] = ea */
	K_LOAD,	    /* gpr[dst] = [ea] */
	K_STORE,    /* [ea] = gpr[src] */
	K_STORE_I,  /* [ea] = imm */
	K_ALU_RM,   /* gpr[dst] op= [ea] */
	K_ALU_MR,   /* [ea] op= gpr[src] */
	K_ALU_MI,   /* [ea] op= imm */
	K_INCDEC_M, /* [ea] +/-= 1 (aop 1: DEC) */
	K_PUSH_M,   /* push [ea] (also a stack form) */
	K_STRING,   /* MOVS, STOS, LODS, SCAS without REP (aop: the opcode) */
	K_MOVN,	    /* narrow register move, or MOVZX/MOVSX between registers */
	K_LOADN,    /* narrow load, or MOVZX/MOVSX from memory */
	K_STOREN,   /* narrow store */
	K_SHIFT,    /* SHL/SHR/SAR/ROL/ROR gpr[dst] by a constant */
	K_SHIFT_CL, /* SHL/SHR/SAR gpr[dst] by CL */
	K_IMUL,	    /* gpr[dst] *= gpr[src] (signed, low half) */
	K_IMUL_M,   /* gpr[dst] *= [ea] */
	K_SETCC,    /* byte register = condition */
	K_CMOV,	    /* gpr[dst] = gpr[src] if condition */
	K_CMOV_M,   /* gpr[dst] = [ea] if condition (read either way) */
	K_PUSH,	    /* push gpr[src] */
	K_POP,	    /* pop gpr[dst] */
	K_LEAVE,    /* mov esp, ebp; pop ebp */
	K_CALLN,    /* direct near call (last) */
	K_RET,	    /* near return (last) */
	K_JCC,	    /* conditional jump (last) */
	K_JMP,	    /* direct jump (last) */
};

/* How a narrow value reaches its register: only its own bytes, or extended. */
enum {
	EXT_NONE,
	EXT_ZERO,
	EXT_SIGN
};

/* AOP_TEST: AND without the write-back (TEST). */
#define AOP_TEST 8

struct plan {
	uint8_t kind, aop, dst, src;
	uint32_t imm;
	uint8_t w, ext; /* narrow forms: operand bytes, extension */
};

/* Needs beyond the flat segments (bits S_ES..S_GS) that a block checks on entry. */
#define NEED_STACK32 0x80u
#define NEED_CS_4G (1u << S_CS)

struct plan plan_of(const struct x86cpu *cpu, const struct dc_ent *d);
bool plan_stack_kind(unsigned kind);
uint8_t plan_unflat(const struct x86cpu *cpu);
bool plan_mem_kind(unsigned kind);
uint32_t plan_flags_written(const struct plan *p);
bool plan_flags_needed(const struct plan *p);
bool plan_fusable(const struct plan *p);
unsigned plan_narrow_regs(const struct plan *p);
bool plan_has_src(unsigned kind);
bool plan_has_dst(unsigned kind);
unsigned plan_dst_width(const struct plan *p);

#endif
