/* SPDX-License-Identifier: MIT */
/*
 * dcache.h - the decode cache's specialised handlers by index, shared by the
 * interpreter's run loop (dcache.c) and the block translator (jit.c).
 */
#ifndef X86CPU_DCACHE_H
#define X86CPU_DCACHE_H

#include "cpu.h"

/*
 * Every specialised handler: its index name and function.  The index is
 * what an entry stores (one byte); the list also makes the run loop's
 * dispatch switch and the table of out-of-line handlers the JIT calls.
 */
#define DC_HANDLERS(X)                  \
	X(ALU8, f_alu8)                 \
	X(ALU_AL_IMM, f_alu_al_imm)     \
	X(ALU_EAX_IMM, f_alu_eax_imm)   \
	X(ALU_R_RM_M, f_alu_r_rm_m)     \
	X(ALU_R_RM_R, f_alu_r_rm_r)     \
	X(ALU_RM_R_M, f_alu_rm_r_m)     \
	X(ALU_RM_R_R, f_alu_rm_r_r)     \
	X(CALL32, f_call32)             \
	X(CMOV, f_cmov)                 \
	X(DEC, f_dec)                   \
	X(GRP1_IMM32_M, f_grp1_imm32_m) \
	X(GRP1_IMM32_R, f_grp1_imm32_r) \
	X(GRP1_IMM8_M, f_grp1_imm8_m)   \
	X(GRP1_IMM8_R, f_grp1_imm8_r)   \
	X(IMUL, f_imul)                 \
	X(INC, f_inc)                   \
	X(JCC32, f_jcc32)               \
	X(JCC8, f_jcc8)                 \
	X(JMP32, f_jmp32)               \
	X(JMP8, f_jmp8)                 \
	X(LEA, f_lea)                   \
	X(LEAVE, f_leave)               \
	X(MOV_IMM_M, f_mov_imm_m)       \
	X(MOV_IMM_R, f_mov_imm_r)       \
	X(MOV_LOAD8, f_mov_load8)       \
	X(MOV_LOAD_M, f_mov_load_m)     \
	X(MOV_LOAD_R, f_mov_load_r)     \
	X(MOV_STORE8, f_mov_store8)     \
	X(MOV_STORE_M, f_mov_store_m)   \
	X(MOV_STORE_R, f_mov_store_r)   \
	X(MOVX, f_movx)                 \
	X(NOP, f_nop)                   \
	X(POP, f_pop)                   \
	X(PUSH, f_push)                 \
	X(PUSH_IMM, f_push_imm)         \
	X(RET, f_ret)                   \
	X(SETCC, f_setcc)               \
	X(SHIFT_M, f_shift_m)           \
	X(SHIFT_R, f_shift_r)           \
	X(TEST8, f_test8)               \
	X(TEST_IMM, f_test_imm)         \
	X(TEST_M, f_test_m)             \
	X(TEST_R, f_test_r)             \
	X(GRP5, f_grp5)                 \
	X(GRP3, f_grp3)                 \
	X(GRP1_8, f_grp1_8)             \
	X(MOV_IMM8_RM, f_mov_imm8_rm)   \
	X(MOV_IMM8_R, f_mov_imm8_r)     \
	X(MOV16_STORE, f_mov16_store)   \
	X(MOV16_LOAD, f_mov16_load)     \
	X(PLAIN, f_plain)               \
	X(PLAIN_LAST, f_plain_last)     \
	X(MOV_MOFFS, f_mov_moffs)       \
	X(CROSS, f_cross)               \
	X(IMUL3, f_imul3)               \
	X(CMPXCHG, f_cmpxchg)           \
	X(XADD, f_xadd)                 \
	X(BT_IMM, f_bt_imm)             \
	X(SHXD, f_shxd)                 \
	X(CMPXCHG8B, f_cmpxchg8b)       \
	X(PUSHF, f_pushf)               \
	X(FLAG_OP, f_flag_op)           \
	X(BT_R, f_bt_r)                 \
	X(BSF, f_bsf)                   \
	X(MULDIV, f_muldiv)

/* Handler indices: entries name their handler in one byte. */
enum {
	DF_GENERIC,
#define DF_ENUM(name, fn) DF_##name,
	DC_HANDLERS(DF_ENUM)
#undef DF_ENUM
	DF_COUNT
};

typedef void (*x86_dc_handler)(struct x86cpu *cpu, const struct dc_ent *d);

/* The handlers out of line, by index (DF_GENERIC has none). */
extern const x86_dc_handler x86_dc_handlers[DF_COUNT];

#endif /* X86CPU_DCACHE_H */
