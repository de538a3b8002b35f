/* SPDX-License-Identifier: MIT */
/*
 * jit_x64.h - the x86-64 instruction encodings the block translator emits
 * (Intel SDM vol. 2, chapter 2: REX, ModRM, SIB).  Operands are host
 * registers by number (0 rax .. 15 r15) or [base + disp] memory.  Writes
 * past the end of the buffer are counted but not stored, so the caller
 * checks once at the end.
 */
#ifndef X86CPU_JIT_X64_H
#define X86CPU_JIT_X64_H

#include <stdbool.h>
#include <stdint.h>

enum {
	H_RAX,
	H_RCX,
	H_RDX,
	H_RBX,
	H_RSP,
	H_RBP,
	H_RSI,
	H_RDI,
	H_R8,
	H_R9,
	H_R10,
	H_R11,
	H_R12,
	H_R13,
	H_R14,
	H_R15
};

struct emit {
	uint8_t *p, *end;
	bool flags_dead; /* the entry's flags are overwritten before anyone reads them */
	/* guest registers held in host registers (jit.c, regs_pick()) */
	uint8_t cached, dirty; /* bit r: guest register r is held / was written */
	uint8_t host[8];       /* the host register holding guest register r */
	/* EFLAGS (its DF and TF) held in r14, loaded after the checks */
	bool fl_held;
	/*
	 * fuse: the next entry is a conditional jump that tests the host's
	 * flags as this entry's ALU op left them; flags_out() then only notes
	 * them (pend, keep, clear) and the jump settles them on each path.
	 */
	bool fuse, pend;
	uint32_t keep, clear;
	uint8_t *stale; /* the block's return to the run loop (jit.c, ret_count()) */
	/* TLB probes leave host - page in rsi, the access at [rsi + rax] (jit.c, probe()) */
	bool addend;
};

static inline void e8(struct emit *e, uint8_t b)
{
	if (e->p < e->end)
		*e->p = b;
	e->p++;
}

static inline void e32(struct emit *e, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		e8(e, (uint8_t)(v >> (8 * i)));
}

static inline void e64(struct emit *e, uint64_t v)
{
	e32(e, (uint32_t)v);
	e32(e, (uint32_t)(v >> 32));
}

/* REX prefix when needed: W, and the high bits of reg, index and base. */
static inline void rex(struct emit *e, bool w, unsigned reg, unsigned index, unsigned base)
{
	uint8_t r = 0x40 | (w ? 8 : 0) | ((reg >> 3) & 1) << 2 | ((index >> 3) & 1) << 1 |
		    ((base >> 3) & 1);

	if (r != 0x40)
		e8(e, r);
}

/* Does v survive as a sign-extended byte (the disp8 and imm8 forms)? */
static inline bool fits8(uint32_t v)
{
	return (int32_t)v == (int8_t)v;
}

/* The displacement after a ModRM whose mod is 1 (disp8) or 2 (disp32). */
static inline void x_disp(struct emit *e, uint32_t d)
{
	if (fits8(d))
		e8(e, (uint8_t)d);
	else
		e32(e, d);
}

/* ModRM mod for a displacement: 1 (disp8) or 2 (disp32), shifted in place. */
static inline uint8_t mod_for(uint32_t d)
{
	return fits8(d) ? 0x40 : 0x80;
}

/*
 * op reg, [base + disp] (or the reverse direction, by opcode), with the
 * shortest displacement: blocks run once per fork or exec are bound by the
 * host's instruction fetch, so every byte counts.
 */
static inline void x_mem(struct emit *e, bool w, uint8_t op, unsigned reg, unsigned base,
			 uint32_t d)
{
	rex(e, w, reg, 0, base);
	e8(e, op);
	e8(e, mod_for(d) | (reg & 7) << 3 | (base & 7));
	if ((base & 7) == H_RSP)
		e8(e, 0x24); /* SIB: no index */
	x_disp(e, d);
}

/* movups xmm, [base + disp] (load) or movups [base + disp], xmm: 16 bytes, any alignment */
static inline void x_movups(struct emit *e, bool load, unsigned xmm, unsigned base, uint32_t d)
{
	rex(e, false, xmm, 0, base);
	e8(e, 0x0f);
	e8(e, load ? 0x10 : 0x11);
	e8(e, mod_for(d) | (xmm & 7) << 3 | (base & 7));
	if ((base & 7) == H_RSP)
		e8(e, 0x24); /* SIB: no index */
	x_disp(e, d);
}

/* op reg, [base + index + disp] */
static inline void x_mem_idx(struct emit *e, bool w, uint8_t op, unsigned reg, unsigned base,
			     unsigned index, uint32_t d)
{
	rex(e, w, reg, index, base);
	e8(e, op);
	e8(e, mod_for(d) | 0x04 | (reg & 7) << 3);
	e8(e, (index & 7) << 3 | (base & 7));
	x_disp(e, d);
}

/*
 * lea r32, [base + index * (1 << scale) + disp]; base H_NONE for none
 * (index must not be rsp).  The 64-bit sum is cut to 32 bits, which is the
 * guest's 32-bit address arithmetic when base and index hold 32-bit values.
 */
#define H_NONE 16
static inline void x_lea(struct emit *e, unsigned reg, unsigned base, unsigned index,
			 unsigned scale, uint32_t d)
{
	rex(e, false, reg, index, base == H_NONE ? 0 : base);
	e8(e, 0x8d);
	/* no base: mod 0 with SIB base 5, which always takes a disp32 */
	e8(e, (base == H_NONE ? 0 : mod_for(d)) | 0x04 | (reg & 7) << 3);
	e8(e, (uint8_t)(scale << 6 | (index & 7) << 3 | (base == H_NONE ? 5 : base & 7)));
	if (base == H_NONE)
		e32(e, d);
	else
		x_disp(e, d);
}

/* op rm, reg between registers (ModRM mod 3). */
static inline void x_rr(struct emit *e, bool w, uint8_t op, unsigned reg, unsigned rm)
{
	rex(e, w, reg, 0, rm);
	e8(e, op);
	e8(e, 0xc0 | (reg & 7) << 3 | (rm & 7));
}

/* Group-1 ALU op (0 ADD .. 7 CMP) on a 32-bit register with an immediate. */
static inline void x_alu_ri(struct emit *e, unsigned aop, unsigned rm, uint32_t imm)
{
	rex(e, false, 0, 0, rm);
	e8(e, fits8(imm) ? 0x83 : 0x81); /* 83: the same op, imm8 sign-extended */
	e8(e, 0xc0 | aop << 3 | (rm & 7));
	if (fits8(imm))
		e8(e, (uint8_t)imm);
	else
		e32(e, imm);
}

/* Shift group (4 SHL, 5 SHR) on a 32-bit register by an immediate. */
static inline void x_shift_ri(struct emit *e, unsigned op, unsigned rm, uint8_t count)
{
	rex(e, false, 0, 0, rm);
	e8(e, 0xc1);
	e8(e, 0xc0 | op << 3 | (rm & 7));
	e8(e, count);
}

/* bt r32, bit: the host's CF = that bit of rm. */
static inline void x_bt_ri(struct emit *e, unsigned rm, uint8_t bit)
{
	rex(e, false, 0, 0, rm);
	e8(e, 0x0f);
	e8(e, 0xba);
	e8(e, 0xe0 | (rm & 7));
	e8(e, bit);
}

/* mov r32, imm32 */
static inline void x_mov_ri(struct emit *e, unsigned r, uint32_t imm)
{
	rex(e, false, 0, 0, r);
	e8(e, 0xb8 + (r & 7));
	e32(e, imm);
}

/* mov r64, imm64 */
static inline void x_mov_ri64(struct emit *e, unsigned r, uint64_t imm)
{
	rex(e, true, 0, 0, r);
	e8(e, 0xb8 + (r & 7));
	e64(e, imm);
}

/* Jcc rel32 to a spot patched later; returns the spot. */
static inline uint8_t *x_jcc_fwd(struct emit *e, uint8_t cc)
{
	e8(e, 0x0f);
	e8(e, 0x80 | cc);
	e32(e, 0);
	return e->p;
}

/*
 * Jcc (cc: the low nibble, or 16 for JMP) to code already emitted (in this
 * block, or its hot part from its rare paths), short when it can.
 */
static inline void x_jump_back(struct emit *e, unsigned cc, const uint8_t *to)
{
	int64_t rel = to - (e->p + 2);

	if (rel >= -128 && rel <= 127) {
		e8(e, cc == 16 ? 0xeb : (uint8_t)(0x70 | cc));
		e8(e, (uint8_t)rel);
		return;
	}
	if (cc == 16) {
		e8(e, 0xe9);
	} else {
		e8(e, 0x0f);
		e8(e, (uint8_t)(0x80 | cc));
	}
	e32(e, (uint32_t)(int32_t)(to - (e->p + 4)));
}

static inline uint8_t *x_jmp_fwd(struct emit *e)
{
	e8(e, 0xe9);
	e32(e, 0);
	return e->p;
}

/* Point a forward jump (its end returned by x_jcc_fwd/x_jmp_fwd) here. */
static inline void x_patch(struct emit *e, uint8_t *after)
{
	int32_t rel = (int32_t)(e->p - after);

	if (after <= e->end)
		for (unsigned i = 0; i < 4; i++)
			*(after - 4 + i) = (uint8_t)((uint32_t)rel >> (8 * i));
}

/* Host condition codes (the low nibble of Jcc). */
enum {
	CC_B = 2,
	CC_AE = 3,
	CC_E = 4,
	CC_NE = 5,
	CC_BE = 6,
	CC_A = 7
};

#endif /* X86CPU_JIT_X64_H */
