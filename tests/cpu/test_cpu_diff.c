/* SPDX-License-Identifier: MIT */
/*
 * test_cpu_diff.c - differential test of the software x86 CPU against
 * Unicorn (QEMU's TCG as a library).  Random instruction streams drawn from
 * a template table of the P6 integer set are run one instruction at a time
 * on both engines, in 16-bit real mode and 32-bit flat protected mode, from
 * random register and memory states; after each instruction all GPRs, EIP,
 * the defined flags and the 12 KiB of mapped memory must match.
 *
 * Usage: test_cpu_diff [instructions] [seed] [jit]   (default 300000, seed 1)
 * The environment variable CPU_DIFF_COUNT overrides the count.
 *
 * With "jit" the block translator (hypervisor/cpu/jit.c) is checked against
 * the interpreter instead: the same random streams run for up to 64
 * instructions on a CPU with blocks (three passes, so that blocks are made
 * from the decode cache and then re-entered and chained) and on one
 * without (HVM_EMU_JIT=0); registers, exits, exceptions and memory must
 * match.  The interpreter itself is what the Unicorn runs check.
 *
 * Both engines see the same memory: pages 0-1 (data and stack) and page 2
 * (code).  Anything touching other addresses is skipped (Unicorn reports it
 * unmapped; our bus sees MMIO).  Known Unicorn/TCG differences are excluded
 * narrowly, see the QUIRK comments.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicorn/unicorn.h>

#include "x86cpu.h"

#define MEM_SIZE 0x3000u
#define CODE_BASE 0x2000u
#define FL_ALL 0x8d5u /* OF SF ZF AF PF CF */
#define F_CF 0x1u
#define F_PF 0x4u
#define F_AF 0x10u
#define F_ZF 0x40u
#define F_SF 0x80u
#define F_OF 0x800u

enum {
	IMM_NONE,
	IMM_B,
	IMM_W,
	IMM_Z,
	IMM_ENTER,
	IMM_MOFFS
};
enum {
	MR_NONE,
	MR_ANY,
	MR_REG,
	MR_MEM
};

/* template flags */
#define T_REP 0x1 /* string op: may get REP, ECX kept small */
#define T_ONLY16 0x2
#define T_ONLY32 0x4
#define T_OS32 0x8 /* operand size must be 32 */
#define T_NO66 0x10
#define T_JUMP 0x20  /* control transfer: EIP compared, not sequential */
#define T_SHIFT 0x40 /* count from imm8/CL: OF defined only for count 1 */
#define T_DIVLIKE 0x80

struct tmpl {
	uint8_t op[2];
	uint8_t n;
	uint8_t modrm;
	int8_t reg; /* fixed ModRM.reg, or -1 */
	uint8_t imm;
	uint32_t undef; /* flags the SDM leaves undefined */
	uint16_t fl;
};

static struct tmpl tmpls[1024];
static unsigned ntmpl;

static void add(uint8_t op0, int op1, uint8_t modrm, int reg, uint8_t imm, uint32_t undef,
		uint16_t fl)
{
	struct tmpl *t = &tmpls[ntmpl++];
	t->op[0] = op0;
	t->n = 1;
	if (op1 >= 0) {
		t->op[1] = (uint8_t)op1;
		t->n = 2;
	}
	t->modrm = modrm;
	t->reg = (int8_t)reg;
	t->imm = imm;
	t->undef = undef;
	t->fl = fl;
}

static void build_templates(void)
{
	static const uint8_t immfor[6] = { IMM_NONE, IMM_NONE, IMM_NONE, IMM_NONE, IMM_B, IMM_Z };

	for (unsigned op = 0; op < 8; op++) {
		uint32_t undef = (op == 1 || op == 4 || op == 6) ? F_AF : 0;
		for (unsigned f = 0; f < 6; f++)
			add((uint8_t)(op * 8 + f), -1, f < 4 ? MR_ANY : MR_NONE, -1, immfor[f],
			    undef, 0);
		add(0x80, -1, MR_ANY, (int)op, IMM_B, undef, 0);
		add(0x81, -1, MR_ANY, (int)op, IMM_Z, undef, 0);
		add(0x83, -1, MR_ANY, (int)op, IMM_B, undef, 0);
		/* group 2 */
		add(0xc0, -1, MR_ANY, (int)op, IMM_B, F_AF | F_OF, T_SHIFT);
		add(0xc1, -1, MR_ANY, (int)op, IMM_B, F_AF | F_OF, T_SHIFT);
		add(0xd0, -1, MR_ANY, (int)op, IMM_NONE, F_AF, 0);
		add(0xd1, -1, MR_ANY, (int)op, IMM_NONE, F_AF, 0);
		add(0xd2, -1, MR_ANY, (int)op, IMM_NONE, F_AF | F_OF, T_SHIFT);
		add(0xd3, -1, MR_ANY, (int)op, IMM_NONE, F_AF | F_OF, T_SHIFT);
	}
	for (unsigned op = 0x27; op <= 0x3f; op += 8)
		add((uint8_t)op, -1, MR_NONE, -1, IMM_NONE,
		    (op == 0x27 || op == 0x2f) ? F_OF : F_OF | F_SF | F_ZF | F_PF, 0);
	for (unsigned op = 0x40; op < 0x60; op++)
		add((uint8_t)op, -1, MR_NONE, -1, IMM_NONE, 0, 0);
	add(0x60, -1, MR_NONE, -1, IMM_NONE, 0, 0);
	add(0x61, -1, MR_NONE, -1, IMM_NONE, 0, 0);
	add(0x68, -1, MR_NONE, -1, IMM_Z, 0, 0);
	add(0x6a, -1, MR_NONE, -1, IMM_B, 0, 0);
	add(0x69, -1, MR_ANY, -1, IMM_Z, F_SF | F_ZF | F_AF | F_PF, 0);
	add(0x6b, -1, MR_ANY, -1, IMM_B, F_SF | F_ZF | F_AF | F_PF, 0);
	for (unsigned op = 0x70; op < 0x80; op++)
		add((uint8_t)op, -1, MR_NONE, -1, IMM_B, 0, T_JUMP);
	for (unsigned op = 0x84; op <= 0x8b; op++)
		add((uint8_t)op, -1, MR_ANY, -1, IMM_NONE, (op < 0x86) ? F_AF : 0, 0);
	add(0x8d, -1, MR_MEM, -1, IMM_NONE, 0, 0);
	add(0x8f, -1, MR_ANY, 0, IMM_NONE, 0, 0);
	for (unsigned op = 0x90; op <= 0x99; op++)
		add((uint8_t)op, -1, MR_NONE, -1, IMM_NONE, 0, 0);
	add(0x9c, -1, MR_NONE, -1, IMM_NONE, 0, 0);
	add(0x9e, -1, MR_NONE, -1, IMM_NONE, 0, 0);
	add(0x9f, -1, MR_NONE, -1, IMM_NONE, 0, 0);
	for (unsigned op = 0xa0; op <= 0xa3; op++)
		add((uint8_t)op, -1, MR_NONE, -1, IMM_MOFFS, 0, 0);
	for (unsigned op = 0xa4; op <= 0xaf; op++)
		if (op != 0xa8 && op != 0xa9)
			add((uint8_t)op, -1, MR_NONE, -1, IMM_NONE, 0, T_REP);
	add(0xa8, -1, MR_NONE, -1, IMM_B, F_AF, 0);
	add(0xa9, -1, MR_NONE, -1, IMM_Z, F_AF, 0);
	for (unsigned op = 0xb0; op < 0xb8; op++)
		add((uint8_t)op, -1, MR_NONE, -1, IMM_B, 0, 0);
	for (unsigned op = 0xb8; op < 0xc0; op++)
		add((uint8_t)op, -1, MR_NONE, -1, IMM_Z, 0, 0);
	add(0xc4, -1, MR_MEM, -1, IMM_NONE, 0, T_ONLY16);
	add(0xc5, -1, MR_MEM, -1, IMM_NONE, 0, T_ONLY16);
	add(0xc6, -1, MR_ANY, 0, IMM_B, 0, 0);
	add(0xc7, -1, MR_ANY, 0, IMM_Z, 0, 0);
	add(0xc8, -1, MR_NONE, -1, IMM_ENTER, 0, 0);
	add(0xc9, -1, MR_NONE, -1, IMM_NONE, 0, 0);
	add(0xd4, -1, MR_NONE, -1, IMM_B, F_OF | F_AF | F_CF, 0);
	add(0xd5, -1, MR_NONE, -1, IMM_B, F_OF | F_AF | F_CF, 0);
	add(0xd6, -1, MR_NONE, -1, IMM_NONE, 0, 0);
	add(0xd7, -1, MR_NONE, -1, IMM_NONE, 0, 0);
	for (unsigned op = 0xe0; op <= 0xe3; op++)
		add((uint8_t)op, -1, MR_NONE, -1, IMM_B, 0, T_JUMP);
	add(0xe8, -1, MR_NONE, -1, IMM_Z, 0, T_JUMP);
	add(0xe9, -1, MR_NONE, -1, IMM_Z, 0, T_JUMP);
	add(0xeb, -1, MR_NONE, -1, IMM_B, 0, T_JUMP);
	add(0xf5, -1, MR_NONE, -1, IMM_NONE, 0, 0);
	for (int r = 0; r < 8; r++) {
		/* QUIRK: TCG treats the F6/F7 /1 alias of TEST as invalid */
		if (r == 1)
			continue;
		uint32_t u = r < 2 ? F_AF : r < 4 ? 0 : r < 6 ? F_SF | F_ZF | F_AF | F_PF : FL_ALL;
		add(0xf6, -1, MR_ANY, r, r < 2 ? IMM_B : IMM_NONE, u, r >= 6 ? T_DIVLIKE : 0);
		add(0xf7, -1, MR_ANY, r, r < 2 ? IMM_Z : IMM_NONE, u, r >= 6 ? T_DIVLIKE : 0);
	}
	for (unsigned op = 0xf8; op <= 0xfd; op++)
		add((uint8_t)op, -1, MR_NONE, -1, IMM_NONE, 0, 0);
	add(0xfe, -1, MR_ANY, 0, IMM_NONE, 0, 0);
	add(0xfe, -1, MR_ANY, 1, IMM_NONE, 0, 0);
	add(0xff, -1, MR_ANY, 0, IMM_NONE, 0, 0);
	add(0xff, -1, MR_ANY, 1, IMM_NONE, 0, 0);
	add(0xff, -1, MR_ANY, 6, IMM_NONE, 0, 0);
	/* two-byte opcodes */
	for (unsigned op = 0x40; op < 0x50; op++)
		add(0x0f, (int)op, MR_ANY, -1, IMM_NONE, 0, 0);
	for (unsigned op = 0x80; op < 0x90; op++)
		add(0x0f, (int)op, MR_NONE, -1, IMM_Z, 0, T_JUMP);
	for (unsigned op = 0x90; op < 0xa0; op++)
		add(0x0f, (int)op, MR_ANY, -1, IMM_NONE, 0, 0);
	uint32_t bt_undef = F_OF | F_SF | F_AF | F_PF;
	add(0x0f, 0xa3, MR_ANY, -1, IMM_NONE, bt_undef, 0);
	add(0x0f, 0xab, MR_ANY, -1, IMM_NONE, bt_undef, 0);
	add(0x0f, 0xb3, MR_ANY, -1, IMM_NONE, bt_undef, 0);
	add(0x0f, 0xbb, MR_ANY, -1, IMM_NONE, bt_undef, 0);
	for (int r = 4; r < 8; r++)
		add(0x0f, 0xba, MR_ANY, r, IMM_B, bt_undef, 0);
	add(0x0f, 0xa4, MR_ANY, -1, IMM_B, F_OF | F_AF, T_SHIFT);
	add(0x0f, 0xa5, MR_ANY, -1, IMM_NONE, F_OF | F_AF, T_SHIFT);
	add(0x0f, 0xac, MR_ANY, -1, IMM_B, F_OF | F_AF, T_SHIFT);
	add(0x0f, 0xad, MR_ANY, -1, IMM_NONE, F_OF | F_AF, T_SHIFT);
	add(0x0f, 0xaf, MR_ANY, -1, IMM_NONE, F_SF | F_ZF | F_AF | F_PF, 0);
	add(0x0f, 0xb0, MR_ANY, -1, IMM_NONE, 0, 0);
	add(0x0f, 0xb1, MR_ANY, -1, IMM_NONE, 0, 0);
	add(0x0f, 0xb6, MR_ANY, -1, IMM_NONE, 0, 0);
	add(0x0f, 0xb7, MR_ANY, -1, IMM_NONE, 0, 0);
	add(0x0f, 0xbe, MR_ANY, -1, IMM_NONE, 0, 0);
	add(0x0f, 0xbf, MR_ANY, -1, IMM_NONE, 0, 0);
	add(0x0f, 0xbc, MR_ANY, -1, IMM_NONE, FL_ALL & ~F_ZF, 0);
	add(0x0f, 0xbd, MR_ANY, -1, IMM_NONE, FL_ALL & ~F_ZF, 0);
	add(0x0f, 0xc0, MR_ANY, -1, IMM_NONE, 0, 0);
	add(0x0f, 0xc1, MR_ANY, -1, IMM_NONE, 0, 0);
	add(0x0f, 0xc7, MR_MEM, 1, IMM_NONE, 0, T_NO66);
	for (unsigned op = 0xc8; op < 0xd0; op++)
		add(0x0f, (int)op, MR_NONE, -1, IMM_NONE, 0, T_OS32);
}

/* ------------------------------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static uint32_t rnd_n(uint32_t n)
{
	return rnd() % n;
}

struct env {
	uc_engine *uc;
	struct x86cpu *cpu;
	uint8_t mem[MEM_SIZE];
	uint8_t code[0x1000];
	/* the current epoch's instruction stream in the code page */
	unsigned nins, epoch_cases;
	bool epoch_valid;
	uint16_t off[0x1000];
	const struct tmpl *ts[0x1000];
	bool reps[0x1000];
	uint8_t umem[MEM_SIZE];
	/*
	 * jit mode: mem as the CPU left it, and the written-page bitmap and
	 * count the harness sets for what it changed since, as hvmdm's DMA
	 * does (the CPU watches its code pages, codewatch.c)
	 */
	uint8_t shadow[MEM_SIZE];
	uint32_t written, written_seq;
	bool oob;
	int uc_intr;
	bool mode32;
	/* jit mode, 32-bit: FS and GS bases (the JIT adds them at run time) */
	uint32_t fs_base, gs_base;
};

static uint8_t *bus_map(void *opaque, uint64_t gpa, bool write)
{
	struct env *e = opaque;
	(void)write;
	if (gpa + 4096 <= MEM_SIZE)
		return e->mem + gpa;
	return NULL;
}

static uint64_t bus_mmio_read(void *opaque, uint64_t gpa, unsigned size)
{
	struct env *e = opaque;
	(void)gpa;
	(void)size;
	e->oob = true;
	return 0;
}

static void bus_mmio_write(void *opaque, uint64_t gpa, uint64_t val, unsigned size)
{
	struct env *e = opaque;
	(void)gpa;
	(void)val;
	(void)size;
	e->oob = true;
}

static uint32_t bus_pio_in(void *opaque, uint16_t port, unsigned size)
{
	(void)opaque;
	(void)port;
	(void)size;
	return 0;
}

static void bus_pio_out(void *opaque, uint16_t port, uint32_t val, unsigned size)
{
	(void)opaque;
	(void)port;
	(void)val;
	(void)size;
}

static void uc_intr_hook(uc_engine *uc, uint32_t intno, void *user)
{
	struct env *e = user;
	if (e->uc_intr < 0)
		e->uc_intr = (int)intno;
	uc_emu_stop(uc);
}

static const int uc_gpr[8] = { UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
			       UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI };

struct state {
	uint32_t gpr[8], eip, eflags;
	uint32_t es, ds;
};

static void uc_get(struct env *e, struct state *s)
{
	for (int i = 0; i < 8; i++)
		uc_reg_read(e->uc, uc_gpr[i], &s->gpr[i]);
	uc_reg_read(e->uc, UC_X86_REG_EIP, &s->eip);
	uc_reg_read(e->uc, UC_X86_REG_EFLAGS, &s->eflags);
	s->es = s->ds = 0;
	uc_reg_read(e->uc, UC_X86_REG_ES, &s->es);
	uc_reg_read(e->uc, UC_X86_REG_DS, &s->ds);
}

static void uc_set(struct env *e, const struct state *s)
{
	for (int i = 0; i < 8; i++)
		uc_reg_write(e->uc, uc_gpr[i], &s->gpr[i]);
	uc_reg_write(e->uc, UC_X86_REG_EIP, &s->eip);
	uc_reg_write(e->uc, UC_X86_REG_EFLAGS, &s->eflags);
	if (!e->mode32) {
		/* LES/LDS of an earlier case may have changed them */
		static const int segs[5] = { UC_X86_REG_ES, UC_X86_REG_SS, UC_X86_REG_DS,
					     UC_X86_REG_FS, UC_X86_REG_GS };
		uint32_t zero = 0;
		for (int i = 0; i < 5; i++)
			uc_reg_write(e->uc, segs[i], &zero);
	}
}

static void cpu_set(struct env *e, const struct state *s)
{
	struct x86_regs r;

	x86cpu_get_regs(e->cpu, &r);
	memcpy(r.gpr, s->gpr, sizeof(r.gpr));
	r.eip = s->eip;
	r.eflags = s->eflags;
	x86cpu_set_regs(e->cpu, &r);
}

static void cpu_get(struct env *e, struct state *s)
{
	struct x86_regs r;

	x86cpu_get_regs(e->cpu, &r);
	memcpy(s->gpr, r.gpr, sizeof(r.gpr));
	s->eip = r.eip;
	s->eflags = r.eflags;
	s->es = r.seg[0].sel;
	s->ds = r.seg[3].sel;
}

static void setup_mode(struct env *e)
{
	struct x86_regs r;

	x86cpu_reset(e->cpu);
	x86cpu_get_regs(e->cpu, &r);
	for (int s = 0; s < 6; s++) {
		r.seg[s].sel = 0;
		r.seg[s].base = 0;
		r.seg[s].limit = e->mode32 ? 0xffffffffu : 0xffff;
		r.seg[s].attr = e->mode32 ? 0xc93 : 0x93;
	}
	r.seg[1].attr = e->mode32 ? 0xc9b : 0x9b;
	r.seg[4].base = e->mode32 ? e->fs_base : 0;
	r.seg[5].base = e->mode32 ? e->gs_base : 0;
	r.cr0 = e->mode32 ? 0x60000011u : 0x60000010u;
	/* no IDT in 32-bit mode: exceptions end in shutdown, which is fine */
	r.idt_limit = e->mode32 ? 0 : 0x3ff;
	x86cpu_set_regs(e->cpu, &r);
}

/* ------------------------------------------------------------------ */

static uint32_t small_addr(void)
{
	return 0x100 + rnd_n(0x1c00);
}

static void random_state(struct env *e, struct state *s, bool rep)
{
	for (int i = 0; i < 8; i++) {
		uint32_t r = rnd_n(10);
		s->gpr[i] = r < 6   ? small_addr()
			    : r < 8 ? rnd()
				    : (rnd() & 0xffff0000u) | small_addr();
	}
	s->gpr[4] = 0x800 + rnd_n(0xf00);
	if (!e->mode32)
		s->gpr[4] |= rnd() & 0xffff0000u;
	if (rep)
		s->gpr[1] = (e->mode32 ? 0 : s->gpr[1] & 0xffff0000u) | rnd_n(40);
	s->eip = CODE_BASE;
	s->eflags = 2 | (rnd() & (FL_ALL | 0x400));
	/* four random bytes per draw: filling 8 KiB dominated the run time */
	for (unsigned i = 0; i < 0x2000; i += 4) {
		uint32_t v = rnd();
		memcpy(e->mem + i, &v, 4);
	}
}

/* Emit ModRM (+SIB, displacement) for the given address size. */
static unsigned emit_modrm(uint8_t *p, const struct tmpl *t, bool a32)
{
	unsigned n = 0;
	uint8_t mod = (uint8_t)rnd_n(4), reg = (uint8_t)rnd_n(8), rm = (uint8_t)rnd_n(8);

	if (t->modrm == MR_REG)
		mod = 3;
	else if (t->modrm == MR_MEM && mod == 3)
		mod = (uint8_t)rnd_n(3);
	if (t->reg >= 0)
		reg = (uint8_t)t->reg;
	p[n++] = (uint8_t)((mod << 6) | (reg << 3) | rm);
	if (mod == 3)
		return n;
	if (a32) {
		if (rm == 4) {
			p[n++] = (uint8_t)rnd();
			if ((p[n - 1] & 7) == 5 && mod == 0) {
				uint32_t d = small_addr();
				memcpy(p + n, &d, 4);
				n += 4;
			}
		}
		if (mod == 0 && rm == 5) {
			uint32_t d = small_addr();
			memcpy(p + n, &d, 4);
			n += 4;
		} else if (mod == 1) {
			p[n++] = (uint8_t)rnd();
		} else if (mod == 2) {
			uint32_t d = rnd_n(4) ? small_addr() : rnd();
			memcpy(p + n, &d, 4);
			n += 4;
		}
	} else {
		if ((mod == 0 && rm == 6) || mod == 2) {
			uint16_t d = (uint16_t)(rnd_n(4) ? small_addr() : rnd());
			memcpy(p + n, &d, 2);
			n += 2;
		} else if (mod == 1) {
			p[n++] = (uint8_t)rnd();
		}
	}
	return n;
}

/* Generate one instruction at p; returns its length. */
static unsigned gen_insn(uint8_t *p, const struct tmpl *t, bool mode32, bool *rep_out)
{
	unsigned n = 0;
	bool os32 = mode32, as32 = mode32;
	static const uint8_t segp[6] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };

	/* QUIRK: TCG has aborted ("tcg fatal error") on prefixed Jcc: none on jumps */
	if (!(t->fl & (T_NO66 | T_JUMP)) && (rnd_n(4) == 0 || ((t->fl & T_OS32) && !mode32))) {
		p[n++] = 0x66;
		os32 = !os32;
	}
	if ((t->fl & T_OS32) && !os32) {
		/* undo: BSWAP with a 16-bit operand is undefined */
		n = 0;
		os32 = mode32;
		if (!mode32) {
			p[n++] = 0x66;
			os32 = true;
		}
	}
	if ((t->modrm == MR_ANY || t->modrm == MR_MEM || (t->fl & T_REP) || t->imm == IMM_MOFFS) &&
	    rnd_n(6) == 0) {
		p[n++] = 0x67;
		as32 = !as32;
	}
	/*
	 * QUIRK: TCG does not check segment types, so a CS override on a write
	 * in protected mode does not #GP there: no CS overrides in 32-bit mode.
	 */
	if (rnd_n(8) == 0 && !(t->fl & T_JUMP)) {
		uint8_t sp = segp[rnd_n(6)];
		if (!(mode32 && sp == 0x2e))
			p[n++] = sp;
	}
	*rep_out = false;
	if ((t->fl & T_REP) && rnd_n(2)) {
		p[n++] = rnd_n(2) ? 0xf3 : 0xf2;
		*rep_out = true;
	}
	for (unsigned i = 0; i < t->n; i++)
		p[n++] = t->op[i];
	if (t->modrm != MR_NONE)
		n += emit_modrm(p + n, t, as32);
	switch (t->imm) {
	case IMM_B:
		/* QUIRK: TCG aborts on a jump back into the jump itself: forward only */
		p[n++] = (uint8_t)((t->fl & T_JUMP) ? rnd_n(0x80) : rnd());
		if (t->op[0] == 0xd4 && !p[n - 1] && rnd_n(8))
			p[n - 1] = 10;
		break;
	case IMM_W:
		p[n++] = (uint8_t)rnd();
		p[n++] = (uint8_t)rnd();
		break;
	case IMM_Z: {
		uint32_t v = rnd();
		if (t->fl & T_JUMP)
			v = rnd_n(0x100);
		memcpy(p + n, &v, os32 ? 4 : 2);
		n += os32 ? 4 : 2;
		break;
	}
	case IMM_ENTER:
		p[n++] = (uint8_t)rnd_n(64);
		p[n++] = 0;
		/*
		 * QUIRK: with a 32-bit operand on a 16-bit stack, TCG pushes the
		 * frame pointer with ESP's upper bits; the SDM says SP.  Level 0 only.
		 */
		p[n++] = (uint8_t)(os32 != mode32 ? 0 : rnd_n(4));
		break;
	case IMM_MOFFS: {
		uint32_t v = small_addr();
		memcpy(p + n, &v, as32 ? 4 : 2);
		n += as32 ? 4 : 2;
		break;
	}
	default:
		break;
	}
	return n;
}

/* ------------------------------------------------------------------ */

#define CHECK_EXC_EVERY 8

/*
 * QUIRK: Unicorn 2.0.1 sometimes aborts inside TCG's code generator on
 * random code.  The abort is caught, the case is dropped (and counted) and
 * a fresh engine is used; the leaked old engine is the price.
 */
static sigjmp_buf abort_jb;
static volatile sig_atomic_t abort_armed;

static void on_abort(int sig)
{
	(void)sig;
	if (abort_armed)
		siglongjmp(abort_jb, 1);
}

struct stats {
	uint64_t run, skipped, exc, exc_unchecked, mismatches, uc_aborts;
};

static void dump(const char *what, const struct state *a, const struct state *b,
		 const uint8_t *code, unsigned len, bool mode32)
{
	static const char *names[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };

	printf("# MISMATCH (%s) mode%d insn:", what, mode32 ? 32 : 16);
	for (unsigned i = 0; i < len; i++)
		printf(" %02x", code[i]);
	printf("\n");
	for (int i = 0; i < 8; i++)
		if (a->gpr[i] != b->gpr[i])
			printf("#   %s ours %08x unicorn %08x\n", names[i], a->gpr[i], b->gpr[i]);
	if (a->eip != b->eip)
		printf("#   eip ours %08x unicorn %08x\n", a->eip, b->eip);
	printf("#   eflags ours %08x unicorn %08x\n", a->eflags, b->eflags);
	if (a->es != b->es || a->ds != b->ds)
		printf("#   es/ds ours %04x/%04x unicorn %04x/%04x\n", a->es, a->ds, b->es, b->ds);
}

/* Run one generated instruction on both engines; false on a mismatch. */
static bool step(struct env *e, const struct tmpl *t, const uint8_t *code, unsigned len, bool rep,
		 struct stats *st, bool *stop_case)
{
	struct state before, ours, theirs;
	uc_err err;

	*stop_case = false;
	cpu_get(e, &before);
	if (getenv("CPU_DIFF_VERBOSE")) {
		printf("# insn");
		for (unsigned i = 0; i < len; i++)
			printf(" %02x", code[i]);
		printf("\n");
		fflush(stdout);
	}
	e->oob = false;
	e->uc_intr = -1;
	x86cpu_clear_last_exception(e->cpu);
	enum x86_exit ex = x86cpu_run(e->cpu, 1);
	/* a long REP yields (to let interrupts in) and resumes: run it to the end */
	for (unsigned i = 0; rep && ex == X86_EXIT_BUDGET && i < 64; i++) {
		struct state now;
		cpu_get(e, &now);
		if (now.eip != before.eip || x86cpu_last_exception(e->cpu) >= 0)
			break;
		ex = x86cpu_run(e->cpu, 1);
	}
	/*
	 * QUIRK: once Unicorn's hook has taken an exception, the engine turns
	 * the next contributory one into #DF (its exception history is never
	 * cleared), so every checked exception costs a fresh engine and a cold
	 * translation cache.  Only one in CHECK_EXC_EVERY of our exceptions is
	 * cross-checked; the others end the case unchecked.
	 */
	if (x86cpu_last_exception(e->cpu) >= 0 && rnd_n(CHECK_EXC_EVERY)) {
		st->exc_unchecked++;
		*stop_case = true;
		return true;
	}
	/*
	 * QUIRK: TCG runs one REP iteration per counted instruction, so REP
	 * string ops are stepped until EIP leaves them.  (Running to an "until"
	 * address instead makes Unicorn flush its translation cache every call.)
	 */
	err = uc_emu_start(e->uc, before.eip, 0xffffffffu, 0, 1);
	for (unsigned i = 0; rep && err == UC_ERR_OK && e->uc_intr < 0 && i < 70000; i++) {
		uint32_t eip;
		uc_reg_read(e->uc, UC_X86_REG_EIP, &eip);
		if (eip != before.eip)
			break;
		err = uc_emu_start(e->uc, eip, 0xffffffffu, 0, 1);
	}
	cpu_get(e, &ours);
	uc_get(e, &theirs);
	if (getenv("CPU_DIFF_VERBOSE"))
		printf("# step at %x len %u: ours %x unicorn %x err %d\n", before.eip, len,
		       ours.eip, theirs.eip, err);
	int our_exc = x86cpu_last_exception(e->cpu);
	bool uc_fault = err == UC_ERR_READ_UNMAPPED || err == UC_ERR_WRITE_UNMAPPED ||
			err == UC_ERR_FETCH_UNMAPPED || err == UC_ERR_WRITE_PROT;
	/* our handler may run off into unmapped memory after the exception */
	if (!uc_fault && e->uc_intr >= 0 && e->uc_intr == our_exc) {
		*stop_case = true;
		st->exc++;
		return true;
	}
	if (memcmp(e->mem + CODE_BASE, e->code, sizeof(e->code)))
		e->oob = true;
	if (uc_fault || e->oob) {
		st->skipped++;
		*stop_case = true;
		return true;
	}
	if (e->uc_intr >= 0 || err != UC_ERR_OK || our_exc >= 0) {
		*stop_case = true;
		if (err == UC_ERR_INSN_INVALID && our_exc == 6)
			return st->exc++, true;
		printf("# exception mismatch: ours %d (exit %d) unicorn intr %d err %d\n", our_exc,
		       ex, e->uc_intr, err);
		dump("exception", &ours, &theirs, code, len, e->mode32);
		return false;
	}
	st->run++;
	uint32_t undef = t->undef;
	uint32_t mask = (FL_ALL | 0x400 | 0x200) & ~undef;
	bool ok = !memcmp(ours.gpr, theirs.gpr, sizeof(ours.gpr)) && ours.eip == theirs.eip &&
		  ours.es == theirs.es && ours.ds == theirs.ds &&
		  (ours.eflags & mask) == (theirs.eflags & mask);
	if (!ok) {
		dump("registers", &ours, &theirs, code, len, e->mode32);
		return false;
	}
	uint8_t *um = e->umem;
	uc_mem_read(e->uc, 0, um, MEM_SIZE);
	if (memcmp(um, e->mem, MEM_SIZE)) {
		for (unsigned i = 0; i < MEM_SIZE; i++) {
			if (um[i] != e->mem[i]) {
				printf("# memory differs at %04x: ours %02x unicorn %02x\n", i,
				       e->mem[i], um[i]);
				break;
			}
		}
		dump("memory", &ours, &theirs, code, len, e->mode32);
		return false;
	}
	/* undefined flags may differ: continue from Unicorn's values */
	if (ours.eflags != theirs.eflags)
		cpu_set(e, &theirs);
	return true;
}

static int open_uc(struct env *e);

static void reopen_uc(struct env *e)
{
	uc_close(e->uc);
	if (open_uc(e))
		abort();
	e->epoch_valid = false;
}

/*
 * Fill the code page with a fresh random instruction stream.  Cases start at
 * random instruction boundaries in it, so Unicorn's translations are reused
 * across many cases (translation dominates the cost of a step).
 */
static void new_epoch(struct env *e)
{
	unsigned pos = 0, n = 0;

	while (pos < 0xff0 && n < 0x1000) {
		const struct tmpl *t;
		uint8_t buf[32];
		do {
			t = &tmpls[rnd_n(ntmpl)];
		} while ((t->fl & T_ONLY16 && e->mode32) || (t->fl & T_ONLY32 && !e->mode32));
		unsigned len = gen_insn(buf, t, e->mode32, &e->reps[n]);
		if (pos + len > 0xff0)
			break;
		memcpy(e->code + pos, buf, len);
		e->ts[n] = t;
		e->off[n++] = (uint16_t)pos;
		pos += len;
	}
	memset(e->code + pos, 0x90, sizeof(e->code) - pos);
	e->off[n] = (uint16_t)pos;
	e->nins = n;
	memcpy(e->mem + CODE_BASE, e->code, sizeof(e->code));
	uc_mem_protect(e->uc, CODE_BASE, 0x1000, UC_PROT_ALL);
	if (uc_mem_write(e->uc, CODE_BASE, e->code, sizeof(e->code)) != UC_ERR_OK)
		abort();
	uc_mem_protect(e->uc, CODE_BASE, 0x1000, UC_PROT_READ | UC_PROT_EXEC);
	/* QUIRK: uc_mem_write does not drop translations of the old code */
	uc_ctl_remove_cache(e->uc, CODE_BASE, CODE_BASE + 0x1000);
	e->epoch_cases = 0;
	e->epoch_valid = true;
}

static bool run_case(struct env *e, struct stats *st, unsigned ninsn)
{
	bool any_rep = false;
	struct state s;
	unsigned i0;

	if (!e->epoch_valid || ++e->epoch_cases > 5000)
		new_epoch(e);
	i0 = rnd_n(e->nins - 8);
	for (unsigned i = 0; i < ninsn; i++)
		any_rep |= (e->ts[i0 + i]->fl & T_REP) != 0;
	random_state(e, &s, any_rep);
	memcpy(e->mem + CODE_BASE, e->code, sizeof(e->code));
	if (uc_mem_write(e->uc, 0, e->mem, CODE_BASE) != UC_ERR_OK)
		abort();
	e->uc_intr = -1;
	setup_mode(e);
	s.eip = CODE_BASE + e->off[i0];
	cpu_set(e, &s);
	uc_set(e, &s);
	for (unsigned i = i0; i < i0 + ninsn; i++) {
		bool stop;
		uint32_t eip;
		uc_reg_read(e->uc, UC_X86_REG_EIP, &eip);
		/* only straight-line positions are known to hold the templates */
		if (eip != CODE_BASE + e->off[i])
			break;
		const uint8_t *code = e->code + e->off[i];
		unsigned len = e->off[i + 1] - e->off[i];
		if (!step(e, e->ts[i], code, len, e->reps[i], st, &stop)) {
			if (e->uc_intr >= 0)
				reopen_uc(e);
			return false;
		}
		if (stop)
			break;
	}
	if (e->uc_intr >= 0)
		reopen_uc(e);
	return true;
}

static int init_env(struct env *e, bool mode32, uint64_t (*tsc)(void *opaque), bool watch);

/* ---- jit mode: blocks against the interpreter ---- */

/*
 * One time stamp for both CPUs: a RDTSC reached by a jump into the random
 * bytes would otherwise read each CPU's own instruction count.
 */
static uint64_t fixed_tsc(void *opaque)
{
	(void)opaque;
	return 0x123456789abcull;
}

/* The reference CPU's own copy of memory. */
struct refmem {
	uint8_t mem[MEM_SIZE];
	bool oob;
};

static uint8_t *ref_map(void *opaque, uint64_t gpa, bool write)
{
	struct refmem *r = opaque;
	(void)write;
	return gpa + 4096 <= MEM_SIZE ? r->mem + gpa : NULL;
}

static uint64_t ref_mmio_read(void *opaque, uint64_t gpa, unsigned size)
{
	(void)gpa;
	(void)size;
	((struct refmem *)opaque)->oob = true;
	return 0;
}

static void ref_mmio_write(void *opaque, uint64_t gpa, uint64_t val, unsigned size)
{
	(void)gpa;
	(void)val;
	(void)size;
	((struct refmem *)opaque)->oob = true;
}

/* Mode (as setup_mode) and registers (as cpu_set) on any CPU. */
static void load_cpu(struct env *e, struct x86cpu *c, const struct state *s)
{
	struct x86cpu *keep = e->cpu;

	e->cpu = c;
	setup_mode(e);
	cpu_set(e, s);
	e->cpu = keep;
}

static bool regs_equal(const struct x86_regs *a, const struct x86_regs *b)
{
	for (int i = 0; i < 6; i++)
		if (a->seg[i].sel != b->seg[i].sel || a->seg[i].base != b->seg[i].base)
			return false;
	return !memcmp(a->gpr, b->gpr, sizeof(a->gpr)) && a->eip == b->eip &&
	       a->eflags == b->eflags;
}

/*
 * A base for FS or GS in jit mode: none, small, one that wraps the linear
 * address past 4 GiB back into memory, or anywhere.
 */
static uint32_t random_base(void)
{
	switch (rnd_n(4)) {
	case 0:
		return 0;
	case 1:
		return rnd_n(0x800);
	case 2:
		return 0u - rnd_n(0x800);
	default:
		return rnd();
	}
}

/* Mark the pages the harness changed since the CPU last ran, as the dm would. */
static void harness_wrote(struct env *e)
{
	for (unsigned p = 0; p < MEM_SIZE / 4096; p++)
		if (memcmp(e->mem + p * 4096, e->shadow + p * 4096, 4096))
			e->written |= 1u << p;
	e->written_seq++;
}

static bool run_case_jit(struct env *e, struct x86cpu *ref, struct refmem *rm, struct stats *st)
{
	static uint8_t snap[MEM_SIZE];
	unsigned budget = 1 + rnd_n(64), i0;
	enum x86_exit ours = X86_EXIT_BUDGET, theirs;
	struct x86_regs a, b;
	struct state s;

	if (!e->epoch_valid || ++e->epoch_cases > 5000)
		new_epoch(e);
	i0 = rnd_n(e->nins - 8);
	random_state(e, &s, rnd_n(2));
	e->fs_base = random_base();
	e->gs_base = random_base();
	memcpy(e->mem + CODE_BASE, e->code, sizeof(e->code));
	s.eip = CODE_BASE + e->off[i0];
	memcpy(snap, e->mem, MEM_SIZE);
	for (int pass = 0; pass < 3; pass++) {
		memcpy(e->mem, snap, MEM_SIZE);
		e->oob = false;
		load_cpu(e, e->cpu, &s);
		x86cpu_clear_last_exception(e->cpu);
		harness_wrote(e);
		ours = x86cpu_run(e->cpu, budget);
		memcpy(e->shadow, e->mem, MEM_SIZE);
	}
	memcpy(rm->mem, snap, MEM_SIZE);
	rm->oob = false;
	load_cpu(e, ref, &s);
	x86cpu_clear_last_exception(ref);
	theirs = x86cpu_run(ref, budget);
	x86cpu_get_regs(e->cpu, &a);
	x86cpu_get_regs(ref, &b);
	st->run += budget;
	if (ours == theirs && regs_equal(&a, &b) && e->oob == rm->oob &&
	    x86cpu_last_exception(e->cpu) == x86cpu_last_exception(ref) &&
	    !memcmp(e->mem, rm->mem, MEM_SIZE))
		return true;
	printf("# jit mismatch: %u-bit, start %x, budget %u: exit %d/%d, exception %d/%d, "
	       "oob %d/%d\n",
	       e->mode32 ? 32 : 16, s.eip, budget, ours, theirs, x86cpu_last_exception(e->cpu),
	       x86cpu_last_exception(ref), e->oob, rm->oob);
	printf("#   eip %08x/%08x eflags %08x/%08x\n", a.eip, b.eip, a.eflags, b.eflags);
	for (int i = 0; i < 8; i++)
		if (a.gpr[i] != b.gpr[i])
			printf("#   gpr%d %08x/%08x\n", i, a.gpr[i], b.gpr[i]);
	for (unsigned i = 0; i < MEM_SIZE; i++) {
		if (e->mem[i] != rm->mem[i]) {
			printf("#   memory at %04x: %02x/%02x\n", i, e->mem[i], rm->mem[i]);
			break;
		}
	}
	printf("#   code:");
	for (unsigned i = 0; i < 32; i++)
		printf(" %02x", e->mem[s.eip + i]);
	printf("\n");
	return false;
}

static int main_jit(uint64_t total)
{
	static const struct x86_bus ref_bus = {
		.map_page = ref_map,
		.mmio_read = ref_mmio_read,
		.mmio_write = ref_mmio_write,
		.pio_in = bus_pio_in,
		.pio_out = bus_pio_out,
		.tsc = fixed_tsc,
	};
	uint64_t failures = 0;

	printf("1..2\n");
	for (int m = 0; m < 2; m++) {
		struct env *e = malloc(sizeof(*e));
		struct refmem *rm = malloc(sizeof(*rm));
		struct x86_bus bus = ref_bus;
		struct x86cpu *ref = NULL;
		struct stats st = { 0 };
		uint64_t mfail = 0;

		bus.opaque = rm;
		setenv("HVM_EMU_JIT", "0", 1);
		int err = rm ? x86cpu_create(&bus, 0, &ref) : -1;
		unsetenv("HVM_EMU_JIT");
		if (!e || err || init_env(e, m == 1, fixed_tsc, true)) {
			printf("not ok %d - setup failed\n", m + 1);
			return 1;
		}
		while (st.run < total / 2 && mfail < 20)
			mfail += !run_case_jit(e, ref, rm, &st);
		failures += mfail;
		printf("%s %d - %d-bit: %" PRIu64 " instruction budget run with blocks and "
		       "without, %" PRIu64 " mismatching cases\n",
		       mfail ? "not ok" : "ok", m + 1, m ? 32 : 16, st.run, mfail);
		uc_close(e->uc);
		x86cpu_destroy(e->cpu);
		x86cpu_destroy(ref);
		free(e);
		free(rm);
	}
	return failures ? 1 : 0;
}

static int open_uc(struct env *e)
{
	uc_hook hh;

	if (uc_open(UC_ARCH_X86, e->mode32 ? UC_MODE_32 : UC_MODE_16, &e->uc) != UC_ERR_OK)
		return -1;
	if (uc_mem_map(e->uc, 0, MEM_SIZE, UC_PROT_ALL) != UC_ERR_OK)
		return -1;
	uc_hook_add(e->uc, &hh, UC_HOOK_INTR, (void *)uc_intr_hook, e, 1, 0);
	/*
	 * QUIRK: a write into the page being executed makes TCG retranslate and
	 * its instruction count then stops before the instruction; a memory
	 * hook would catch such writes but breaks TCG's lazy flags.  The code
	 * page is read-only instead, and such cases are skipped.
	 */
	uc_mem_protect(e->uc, CODE_BASE, 0x1000, UC_PROT_READ | UC_PROT_EXEC);
	return 0;
}

static int init_env(struct env *e, bool mode32, uint64_t (*tsc)(void *opaque), bool watch)
{
	static const struct x86_bus bus_tmpl = {
		.map_page = bus_map,
		.mmio_read = bus_mmio_read,
		.mmio_write = bus_mmio_write,
		.pio_in = bus_pio_in,
		.pio_out = bus_pio_out,
	};
	struct x86_bus bus = bus_tmpl;

	memset(e, 0, sizeof(*e));
	e->mode32 = mode32;
	bus.opaque = e;
	bus.tsc = tsc;
	if (watch) {
		bus.ram = e->mem;
		bus.ram_size = MEM_SIZE;
		bus.written_bitmap = &e->written;
		bus.written_seq = &e->written_seq;
	}
	if (x86cpu_create(&bus, 0, &e->cpu))
		return -1;
	return open_uc(e);
}

int main(int argc, char **argv)
{
	static uint64_t total = 300000, failures;
	static struct stats st[2];
	uint64_t seed = 1;
	const char *envc = getenv("CPU_DIFF_COUNT");

	if (argc > 1)
		total = strtoull(argv[1], NULL, 0);
	else if (envc)
		total = strtoull(envc, NULL, 0);
	if (argc > 2)
		seed = strtoull(argv[2], NULL, 0);
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	signal(SIGABRT, on_abort);
	build_templates();
	if (argc > 3 && !strcmp(argv[3], "jit"))
		return main_jit(total);
	printf("1..2\n");
	for (int m = 0; m < 2; m++) {
		static struct env *e;
		e = malloc(sizeof(*e));
		if (!e || init_env(e, m == 1, NULL, false)) {
			printf("not ok %d - setup failed\n", m + 1);
			return 1;
		}
		static volatile uint64_t mfail;
		mfail = 0;
		while (st[m].run + st[m].exc < total / 2 && mfail < 20) {
			if (sigsetjmp(abort_jb, 1)) {
				abort_armed = 0;
				st[m].uc_aborts++;
				e->uc = NULL;
				if (open_uc(e))
					return 1;
				e->epoch_valid = false;
				continue;
			}
			abort_armed = 1;
			if (!run_case(e, &st[m], 1 + rnd_n(8)))
				mfail++;
			abort_armed = 0;
		}
		failures += mfail;
		printf("%s %d - %d-bit: %" PRIu64 " instructions compared, %" PRIu64 " exceptions "
		       "matched "
		       "(%" PRIu64 " not cross-checked), %" PRIu64 " skipped, %" PRIu64 " mismatchi"
		       "ng "
		       "cases\n",
		       mfail ? "not ok" : "ok", m + 1, m ? 32 : 16, st[m].run, st[m].exc,
		       st[m].exc_unchecked, st[m].skipped, mfail);
		if (st[m].uc_aborts)
			printf("# Unicorn aborted %" PRIu64 " times (cases dropped)\n",
			       st[m].uc_aborts);
		uc_close(e->uc);
		x86cpu_destroy(e->cpu);
		free(e);
	}
	return failures ? 1 : 0;
}
