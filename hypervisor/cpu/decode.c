/* SPDX-License-Identifier: MIT */
/*
 * decode.c - instruction fetch, prefix and ModRM/SIB decoding, and the
 * one-byte opcode map (SDM vol. 2 appendix A).  Two-byte (0F) opcodes are in
 * decode0f.c.  Instructions are decoded and executed in one pass; anything
 * not implemented raises #UD.
 */
#include "cpu.h"

/*
 * A fetch past the bytes x86_step() checked: the instruction crosses a page
 * or the CS limit, or runs from MMIO.  Every byte is checked on its own and
 * the instruction is not cached.
 */
uint8_t x86_fetch8_slow(struct x86cpu *cpu)
{
	uint32_t eip = cpu->eip;
	uint32_t la = cpu->seg[S_CS].base + eip;
	uint64_t gpa;
	uint8_t *h, v;

	cpu->iavail = 0;
	cpu->ilen = DC_POISON;
	if (unlikely(eip > cpu->seg[S_CS].limit))
		raise_gp0(cpu);
	h = x86_fetch_page(cpu, la, &gpa);
	if (h)
		v = h[la & 0xfff];
	else
		v = (uint8_t)x86_lin_read_slow(cpu, la, 1, cpu->user, true);
	cpu->eip = eip + 1;
	return v;
}

static uint32_t fetch_imm(struct x86cpu *cpu, unsigned size)
{
	if (size == 1)
		return fetch8(cpu);
	return size == 2 ? fetch16(cpu) : fetch32(cpu);
}

/* Near jump target, truncated to the operand size and checked against CS.limit. */
void x86_jump(struct x86cpu *cpu, uint32_t eip)
{
	if (cpu->in.opsz == 2)
		eip &= 0xffff;
	if (unlikely(eip > cpu->seg[S_CS].limit))
		raise_gp0(cpu);
	cpu->eip = eip;
}

static const uint8_t ea16_base[8] = { R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX };
static const uint8_t ea16_index[8] = { R_ESI,	 R_EDI,	   R_ESI,    R_EDI,
				       DC_NOREG, DC_NOREG, DC_NOREG, DC_NOREG };

static void parse_ea16(struct x86cpu *cpu, struct ea_recipe *r, unsigned mod, unsigned rm)
{
	if (mod == 0 && rm == 6) {
		r->disp = fetch16(cpu);
		return;
	}
	r->base = ea16_base[rm];
	r->index = ea16_index[rm];
	if (rm == 2 || rm == 3 || rm == 6)
		r->ea_seg = S_SS;
	if (mod == 1)
		r->disp = (uint32_t)(int8_t)fetch8(cpu);
	else if (mod == 2)
		r->disp = fetch16(cpu);
}

static void parse_ea32(struct x86cpu *cpu, struct ea_recipe *r, unsigned mod, unsigned rm)
{
	unsigned base = rm;

	if (rm == 4) {
		uint8_t sib = fetch8(cpu);
		unsigned idx = (sib >> 3) & 7;
		base = sib & 7;
		if (idx != R_ESP) {
			r->index = idx;
			r->scale = sib >> 6;
		}
	}
	if (base == R_EBP && mod == 0) {
		/* no base: disp32 (ModRM 05, or SIB base 5) */
		r->disp = fetch32(cpu);
		return;
	}
	r->base = base;
	if (base == R_ESP || base == R_EBP)
		r->ea_seg = S_SS;
	if (mod == 1)
		r->disp = (uint32_t)(int8_t)fetch8(cpu);
	else if (mod == 2)
		r->disp = fetch32(cpu);
}

/* Parse ModRM, SIB and displacement into base + (index << scale) + disp. */
static void parse_ea(struct x86cpu *cpu, struct ea_recipe *r)
{
	const struct insn *in = &cpu->in;
	uint8_t m = fetch8(cpu);

	r->modrm = m;
	r->base = r->index = DC_NOREG;
	r->scale = 0;
	r->disp = 0;
	r->adsz = in->adsz;
	r->ea_seg = S_DS;
	if (m >> 6 != 3) {
		if (in->adsz == 2)
			parse_ea16(cpu, r, m >> 6, m & 7);
		else
			parse_ea32(cpu, r, m >> 6, m & 7);
	}
	if (in->seg >= 0)
		r->ea_seg = (uint8_t)in->seg;
}

static inline void apply_ea(struct x86cpu *cpu, const struct ea_recipe *r)
{
	struct insn *in = &cpu->in;
	uint8_t m = r->modrm;

	in->mod = m >> 6;
	in->reg = (m >> 3) & 7;
	in->rm = m & 7;
	/* adsz 2 keeps the low 16 bits of the sum */
	in->ea = (cpu->gpr[r->base] + (cpu->gpr[r->index] << r->scale) + r->disp) &
		 (0xffffffffu >> ((4 - r->adsz) * 8));
	in->ea_seg = r->ea_seg;
}

static void pack_ea(struct dc_ent *d, const struct ea_recipe *r, uint32_t at, uint32_t len)
{
	d->disp = r->disp;
	d->modrm = r->modrm;
	d->regs = (uint8_t)(r->base | r->index << 4);
	d->sseg = (uint8_t)(r->scale | r->ea_seg << 2 | (r->adsz == 4) << 5);
	d->ea_pos = (uint8_t)(at | len << 4);
}

static void unpack_ea(const struct dc_ent *d, struct ea_recipe *r)
{
	r->disp = d->disp;
	r->modrm = d->modrm;
	r->base = d->regs & 15;
	r->index = d->regs >> 4;
	r->scale = d->sseg & 3;
	r->ea_seg = (d->sseg >> 2) & 7;
	r->adsz = (d->sseg & 0x20) ? 4 : 2;
}

/*
 * ModRM operand: from the cache entry's recipe when replaying, else parsed
 * (and recorded when building an entry).
 */
static void decode_ea(struct x86cpu *cpu)
{
	struct dc_ent *d = cpu->dcur;
	uint32_t at = cpu->eip - cpu->insn_eip;
	struct ea_recipe r;

	if (likely(cpu->dmode == DC_REPLAY && (d->ea_pos & 15) == at)) {
		cpu->eip += d->ea_pos >> 4;
		unpack_ea(d, &r);
		apply_ea(cpu, &r);
		return;
	}
	parse_ea(cpu, &r);
	apply_ea(cpu, &r);
	if (cpu->dmode != DC_BUILD)
		return;
	if (d->ea_pos)
		cpu->dmode = DC_OFF; /* a second ModRM has no place in the entry */
	else
		pack_ea(d, &r, at, cpu->eip - cpu->insn_eip - at);
}

/* Public wrapper for the other files (group decoders). */
void x86_decode_ea(struct x86cpu *cpu)
{
	decode_ea(cpu);
}

uint32_t rm_read(struct x86cpu *cpu, unsigned size)
{
	if (cpu->in.mod == 3)
		return reg_read(cpu, cpu->in.rm, size);
	return seg_read(cpu, cpu->in.ea_seg, cpu->in.ea, size);
}

uint32_t rm_read_rmw(struct x86cpu *cpu, unsigned size)
{
	if (cpu->in.mod == 3)
		return reg_read(cpu, cpu->in.rm, size);
	return seg_read_rmw(cpu, cpu->in.ea_seg, cpu->in.ea, size);
}

void rm_write(struct x86cpu *cpu, unsigned size, uint32_t v)
{
	if (cpu->in.mod == 3)
		reg_write(cpu, cpu->in.rm, size, v);
	else
		seg_write(cpu, cpu->in.ea_seg, cpu->in.ea, v, size);
}

static uint32_t ea_mask(const struct insn *in, uint32_t v)
{
	return in->adsz == 2 ? v & 0xffff : v;
}

/* 00-3F: ADD OR ADC SBB AND SUB XOR CMP in their six forms. */
static void op_alu(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned aop = op >> 3, size = (op & 1) ? in->opsz : 1;
	uint32_t a, b, r;

	switch (op & 7) {
	case 0:
	case 1:
		decode_ea(cpu);
		b = reg_read(cpu, in->reg, size);
		a = aop == 7 ? rm_read(cpu, size) : rm_read_rmw(cpu, size);
		r = alu_arith(cpu, aop, a, b, size);
		if (aop != 7)
			rm_write(cpu, size, r);
		return;
	case 2:
	case 3:
		decode_ea(cpu);
		a = reg_read(cpu, in->reg, size);
		b = rm_read(cpu, size);
		r = alu_arith(cpu, aop, a, b, size);
		if (aop != 7)
			reg_write(cpu, in->reg, size, r);
		return;
	default:
		size = (op & 1) ? in->opsz : 1;
		b = fetch_imm(cpu, size);
		r = alu_arith(cpu, aop, reg_read(cpu, R_EAX, size), b, size);
		if (aop != 7)
			reg_write(cpu, R_EAX, size, r);
		return;
	}
}

static void op_group1(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned size = (op & 1) ? in->opsz : 1;
	uint32_t a, b, r;

	decode_ea(cpu);
	if (op == 0x83)
		b = (uint32_t)(int8_t)fetch8(cpu) & szmask(size);
	else
		b = fetch_imm(cpu, size);
	a = in->reg == 7 ? rm_read(cpu, size) : rm_read_rmw(cpu, size);
	r = alu_arith(cpu, in->reg, a, b, size);
	if (in->reg != 7)
		rm_write(cpu, size, r);
}

static void op_shift(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned size = (op & 1) ? in->opsz : 1, count;
	uint32_t v;

	decode_ea(cpu);
	if (op <= 0xc1)
		count = fetch8(cpu);
	else if (op <= 0xd1)
		count = 1;
	else
		count = cpu->gpr[R_ECX] & 0xff;
	v = rm_read_rmw(cpu, size);
	v = alu_shift(cpu, in->reg, v, count, size);
	rm_write(cpu, size, v);
}

static void op_group3(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned size = (op & 1) ? in->opsz : 1;

	decode_ea(cpu);
	if (in->reg < 2) {
		uint32_t v = rm_read(cpu, size);
		alu_arith(cpu, 4, v, fetch_imm(cpu, size), size);
		return;
	}
	alu_group3(cpu, in->reg, size);
}

static void op_group5(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned size = op == 0xfe ? 1 : in->opsz;
	uint32_t v;

	decode_ea(cpu);
	if (op == 0xfe && in->reg > 1)
		raise_ud(cpu);
	switch (in->reg) {
	case 0:
	case 1:
		v = rm_read_rmw(cpu, size);
		v = in->reg ? alu_dec(cpu, v, size) : alu_inc(cpu, v, size);
		rm_write(cpu, size, v);
		return;
	case 2:
		v = rm_read(cpu, size);
		x86_push(cpu, cpu->eip, size);
		x86_jump(cpu, v);
		return;
	case 4:
		x86_jump(cpu, rm_read(cpu, size));
		return;
	case 3:
	case 5: {
		if (in->mod == 3)
			raise_ud(cpu);
		uint32_t off = seg_read(cpu, in->ea_seg, in->ea, size);
		uint16_t sel = (uint16_t)seg_read(cpu, in->ea_seg, ea_mask(in, in->ea + size), 2);
		if (in->reg == 3)
			x86_far_call(cpu, sel, off);
		else
			x86_far_jmp(cpu, sel, off);
		return;
	}
	case 6:
		v = rm_read(cpu, size);
		x86_push(cpu, v, size);
		return;
	default:
		raise_ud(cpu);
	}
}

static void op_pusha(struct x86cpu *cpu)
{
	unsigned size = cpu->in.opsz;
	uint32_t sp = cpu->gpr[R_ESP];

	for (int r = 0; r < 8; r++)
		x86_push(cpu, r == R_ESP ? sp : cpu->gpr[r], size);
}

static void op_popa(struct x86cpu *cpu)
{
	unsigned size = cpu->in.opsz;
	uint32_t v[8];

	for (int r = 7; r >= 0; r--)
		v[r] = x86_pop(cpu, size);
	for (int r = 0; r < 8; r++)
		if (r != R_ESP)
			reg_write(cpu, r, size, v[r]);
}

static void op_bound(struct x86cpu *cpu)
{
	struct insn *in = &cpu->in;
	unsigned size = in->opsz;
	int32_t lo, hi, idx;

	decode_ea(cpu);
	if (in->mod == 3)
		raise_ud(cpu);
	lo = (int32_t)seg_read(cpu, in->ea_seg, in->ea, size);
	hi = (int32_t)seg_read(cpu, in->ea_seg, ea_mask(in, in->ea + size), size);
	idx = (int32_t)reg_read(cpu, in->reg, size);
	if (size == 2) {
		lo = (int16_t)lo;
		hi = (int16_t)hi;
		idx = (int16_t)idx;
	}
	if (idx < lo || idx > hi)
		x86_raise(cpu, EXC_BR, 0, false);
}

static void op_imul3(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned size = in->opsz;
	uint32_t a, b;

	decode_ea(cpu);
	a = rm_read(cpu, size);
	b = op == 0x6b ? (uint32_t)(int8_t)fetch8(cpu) : fetch_imm(cpu, size);
	reg_write(cpu, in->reg, size, alu_imul2(cpu, a, b, size));
}

static void op_xchg(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned size = (op & 1) ? in->opsz : 1;
	uint32_t a, b;

	decode_ea(cpu);
	a = rm_read_rmw(cpu, size);
	b = reg_read(cpu, in->reg, size);
	rm_write(cpu, size, b);
	reg_write(cpu, in->reg, size, a);
}

static void op_mov(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned size = (op & 1) ? in->opsz : 1;

	decode_ea(cpu);
	if (op < 0x8a)
		rm_write(cpu, size, reg_read(cpu, in->reg, size));
	else
		reg_write(cpu, in->reg, size, rm_read(cpu, size));
}

static void op_mov_sreg(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;

	decode_ea(cpu);
	if (in->reg > 5)
		raise_ud(cpu);
	if (op == 0x8c) {
		rm_write(cpu, in->mod == 3 ? in->opsz : 2, cpu->seg[in->reg].sel);
		return;
	}
	if (in->reg == S_CS)
		raise_ud(cpu);
	x86_load_seg(cpu, in->reg, (uint16_t)rm_read(cpu, 2));
	if (in->reg == S_SS) {
		/* MOV SS blocks interrupts for one instruction (SDM vol. 3 6.8.3) */
		cpu->shadow = true;
		x86_set_poll(cpu);
	}
}

static void op_pop_ev(struct x86cpu *cpu)
{
	struct insn *in = &cpu->in;
	uint32_t v = x86_pop(cpu, in->opsz);

	/* the address is computed with the incremented ESP (SDM vol. 2 POP) */
	decode_ea(cpu);
	if (in->reg != 0)
		raise_ud(cpu);
	rm_write(cpu, in->opsz, v);
}

static void op_pushf(struct x86cpu *cpu)
{
	if (cpu->v86 && iopl(cpu) < 3)
		raise_gp0(cpu);
	x86_push(cpu, cpu->eflags & ~(F_VM | F_RF), cpu->in.opsz);
}

void x86_write_eflags(struct x86cpu *cpu, uint32_t v, uint32_t mask)
{
	uint32_t old = cpu->eflags, rise;

	cpu->eflags = ((old & ~mask) | (v & mask) | 2) & ~0x8028u;
	rise = cpu->eflags & ~old;
	if ((cpu->eflags ^ old) & F_VM)
		x86_mode_changed(cpu);
	if ((rise & F_TF) || ((rise & F_IF) && x86_event_waiting(cpu)))
		x86_set_poll(cpu);
}

/* POPF rules: IOPL only at CPL 0, IF only at CPL <= IOPL, VM/VIF/VIP never. */
static void op_popf(struct x86cpu *cpu)
{
	uint32_t mask = F_CF | F_PF | F_AF | F_ZF | F_SF | F_TF | F_DF | F_OF | F_NT | F_AC | F_ID;
	uint32_t v;

	if (cpu->v86 && iopl(cpu) < 3)
		raise_gp0(cpu);
	v = x86_pop(cpu, cpu->in.opsz);
	if (cpu->cpl == 0)
		mask |= F_IOPL;
	if (cpu->cpl <= iopl(cpu))
		mask |= F_IF;
	if (cpu->in.opsz == 2)
		mask &= 0xffff;
	x86_write_eflags(cpu, v, mask | F_RF);
	cpu->eflags &= ~F_RF;
}

static void op_moffs(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned size = (op & 1) ? in->opsz : 1;
	uint32_t off = in->adsz == 4 ? fetch32(cpu) : fetch16(cpu);
	int s = in->seg >= 0 ? in->seg : S_DS;

	if (op < 0xa2)
		reg_write(cpu, R_EAX, size, seg_read(cpu, s, off, size));
	else
		seg_write(cpu, s, off, reg_read(cpu, R_EAX, size), size);
}

static void op_enter(struct x86cpu *cpu)
{
	unsigned size = cpu->in.opsz;
	uint32_t alloc = fetch16(cpu), level = fetch8(cpu) & 31;
	uint32_t bp = cpu->stack32 ? cpu->gpr[R_EBP] : cpu->gpr[R_EBP] & 0xffff;
	uint32_t frame;

	x86_push(cpu, cpu->gpr[R_EBP], size);
	frame = sp_get(cpu);
	for (uint32_t i = 1; i < level; i++) {
		bp -= size;
		if (!cpu->stack32)
			bp &= 0xffff;
		x86_push(cpu, seg_read(cpu, S_SS, bp, size), size);
	}
	if (level)
		x86_push(cpu, frame, size);
	/* touch the lowest byte of the new frame so a bad size faults here */
	uint32_t nsp = sp_get(cpu) - alloc;
	if (!cpu->stack32)
		nsp &= 0xffff;
	if (alloc)
		seg_addr(cpu, S_SS, nsp, 1, true);
	/* BP or EBP follows the stack size, not the operand size (SDM vol. 2 ENTER) */
	reg_write(cpu, R_EBP, cpu->stack32 ? 4 : 2, frame);
	sp_set(cpu, nsp);
}

static void op_leave(struct x86cpu *cpu)
{
	sp_set(cpu, cpu->gpr[R_EBP]);
	reg_write(cpu, R_EBP, cpu->in.opsz, x86_pop(cpu, cpu->in.opsz));
}

static void op_int(struct x86cpu *cpu, int vec)
{
	if (cpu->v86 && iopl(cpu) < 3 && vec >= 0)
		raise_gp0(cpu);
	x86_deliver(cpu, vec < 0 ? -vec : vec, true, false, 0, cpu->eip);
}

static void op_loop(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	int8_t d = (int8_t)fetch8(cpu);
	uint32_t c = in->adsz == 4 ? cpu->gpr[R_ECX] : cpu->gpr[R_ECX] & 0xffff;
	bool take;

	if (op == 0xe3) {
		take = c == 0;
	} else {
		c = (c - 1) & (in->adsz == 4 ? 0xffffffffu : 0xffff);
		take = c != 0;
		if (op == 0xe0)
			take = take && !(cpu->eflags & F_ZF);
		else if (op == 0xe1)
			take = take && (cpu->eflags & F_ZF);
	}
	if (take)
		x86_jump(cpu, cpu->eip + (uint32_t)d);
	if (op != 0xe3)
		reg_write(cpu, R_ECX, in->adsz, c);
}

static void op_inout(struct x86cpu *cpu, uint8_t op)
{
	unsigned size = (op & 1) ? cpu->in.opsz : 1;
	uint16_t port = op < 0xe8 ? fetch8(cpu) : (uint16_t)cpu->gpr[R_EDX];

	x86_io_check(cpu, port, size);
	if (op & 2)
		cpu->bus.pio_out(cpu->bus.opaque, port, reg_read(cpu, R_EAX, size), size);
	else
		reg_write(cpu, R_EAX, size, cpu->bus.pio_in(cpu->bus.opaque, port, size));
}

static void op_cli_sti(struct x86cpu *cpu, bool sti)
{
	if (cpu->pmode && cpu->cpl > iopl(cpu))
		raise_gp0(cpu);
	if (!sti) {
		cpu->eflags &= ~F_IF;
		return;
	}
	if (!(cpu->eflags & F_IF)) {
		cpu->eflags |= F_IF;
		/* the next look at events lets one more instruction run first */
		cpu->shadow = true;
		if (x86_event_waiting(cpu))
			x86_set_poll(cpu);
	}
}

static void op_les(struct x86cpu *cpu, int s)
{
	struct insn *in = &cpu->in;
	uint32_t off;
	uint16_t sel;

	decode_ea(cpu);
	if (in->mod == 3)
		raise_ud(cpu);
	off = seg_read(cpu, in->ea_seg, in->ea, in->opsz);
	sel = (uint16_t)seg_read(cpu, in->ea_seg, ea_mask(in, in->ea + in->opsz), 2);
	x86_load_seg(cpu, s, sel);
	reg_write(cpu, in->reg, in->opsz, off);
	if (s == S_SS) {
		cpu->shadow = true;
		x86_set_poll(cpu);
	}
}

void x86_load_far_ptr(struct x86cpu *cpu, int s)
{
	op_les(cpu, s);
}

static void op_xlat(struct x86cpu *cpu)
{
	struct insn *in = &cpu->in;
	int s = in->seg >= 0 ? in->seg : S_DS;
	uint32_t a = ea_mask(in, cpu->gpr[R_EBX] + (cpu->gpr[R_EAX] & 0xff));

	reg_write(cpu, R_EAX, 1, seg_read(cpu, s, a, 1));
}

static void op_push_sreg(struct x86cpu *cpu, int s)
{
	x86_push(cpu, cpu->seg[s].sel, cpu->in.opsz);
}

void x86_pop_sreg(struct x86cpu *cpu, int s)
{
	uint32_t sp = sp_get(cpu);
	uint16_t sel = (uint16_t)seg_read(cpu, S_SS, sp, 2);

	x86_load_seg(cpu, s, sel);
	sp_set(cpu, sp + cpu->in.opsz);
	if (s == S_SS) {
		cpu->shadow = true;
		x86_set_poll(cpu);
	}
}

static void op_far_imm(struct x86cpu *cpu, bool call)
{
	uint32_t off = fetch_imm(cpu, cpu->in.opsz);
	uint16_t sel = fetch16(cpu);

	if (call)
		x86_far_call(cpu, sel, off);
	else
		x86_far_jmp(cpu, sel, off);
}

static void exec_misc(struct x86cpu *cpu, uint8_t op);

static void exec_one(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned os = in->opsz;
	uint32_t v;

	if (op < 0x40 && (op & 7) < 6) {
		op_alu(cpu, op);
		return;
	}
	switch (op) {
	case 0x0f:
		x86_exec_0f(cpu);
		return;
	case 0x40 ... 0x47:
		reg_write(cpu, op & 7, os, alu_inc(cpu, reg_read(cpu, op & 7, os), os));
		return;
	case 0x48 ... 0x4f:
		reg_write(cpu, op & 7, os, alu_dec(cpu, reg_read(cpu, op & 7, os), os));
		return;
	case 0x50 ... 0x57:
		x86_push(cpu, cpu->gpr[op & 7], os);
		return;
	case 0x58 ... 0x5f:
		v = x86_pop(cpu, os);
		reg_write(cpu, op & 7, os, v);
		return;
	case 0x68:
		x86_push(cpu, fetch_imm(cpu, os), os);
		return;
	case 0x6a:
		x86_push(cpu, (uint32_t)(int8_t)fetch8(cpu), os);
		return;
	case 0x70 ... 0x7f: {
		int8_t d = (int8_t)fetch8(cpu);
		if (cond_true(cpu, op & 15))
			x86_jump(cpu, cpu->eip + (uint32_t)d);
		return;
	}
	case 0x80 ... 0x83:
		op_group1(cpu, op);
		return;
	case 0x84:
	case 0x85: {
		unsigned size = (op & 1) ? os : 1;
		decode_ea(cpu);
		alu_arith(cpu, 4, rm_read(cpu, size), reg_read(cpu, in->reg, size), size);
		return;
	}
	case 0x86:
	case 0x87:
		op_xchg(cpu, op);
		return;
	case 0x88 ... 0x8b:
		op_mov(cpu, op);
		return;
	case 0x8c:
	case 0x8e:
		op_mov_sreg(cpu, op);
		return;
	case 0x8d:
		decode_ea(cpu);
		if (in->mod == 3)
			raise_ud(cpu);
		reg_write(cpu, in->reg, os, in->ea);
		return;
	case 0x90:
		return;
	case 0x91 ... 0x97:
		v = reg_read(cpu, op & 7, os);
		reg_write(cpu, op & 7, os, reg_read(cpu, R_EAX, os));
		reg_write(cpu, R_EAX, os, v);
		return;
	case 0xa8:
	case 0xa9: {
		unsigned size = (op & 1) ? os : 1;
		alu_arith(cpu, 4, reg_read(cpu, R_EAX, size), fetch_imm(cpu, size), size);
		return;
	}
	case 0xb0 ... 0xb7:
		reg_write(cpu, op & 7, 1, fetch8(cpu));
		return;
	case 0xb8 ... 0xbf:
		reg_write(cpu, op & 7, os, fetch_imm(cpu, os));
		return;
	case 0xc0:
	case 0xc1:
	case 0xd0 ... 0xd3:
		op_shift(cpu, op);
		return;
	case 0xc2:
	case 0xc3: {
		uint32_t imm = op == 0xc2 ? fetch16(cpu) : 0;
		v = x86_pop(cpu, os);
		x86_jump(cpu, v);
		sp_set(cpu, sp_get(cpu) + imm);
		return;
	}
	case 0xe8: {
		uint32_t d = fetch_imm(cpu, os);
		x86_push(cpu, cpu->eip, os);
		x86_jump(cpu, cpu->eip + d);
		return;
	}
	case 0xe9:
		v = fetch_imm(cpu, os);
		x86_jump(cpu, cpu->eip + v);
		return;
	case 0xeb:
		v = (uint32_t)(int8_t)fetch8(cpu);
		x86_jump(cpu, cpu->eip + v);
		return;
	case 0xf6:
	case 0xf7:
		op_group3(cpu, op);
		return;
	case 0xfe:
	case 0xff:
		op_group5(cpu, op);
		return;
	default:
		exec_misc(cpu, op);
		return;
	}
}

static void exec_misc(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned os = in->opsz;
	uint32_t v;

	switch (op) {
	case 0x06:
	case 0x0e:
	case 0x16:
	case 0x1e:
		op_push_sreg(cpu, op >> 3);
		return;
	case 0x07:
	case 0x17:
	case 0x1f:
		x86_pop_sreg(cpu, op >> 3);
		return;
	case 0x27:
	case 0x2f:
	case 0x37:
	case 0x3f:
	case 0xd4:
	case 0xd5:
		alu_bcd(cpu, op);
		return;
	case 0x60:
		op_pusha(cpu);
		return;
	case 0x61:
		op_popa(cpu);
		return;
	case 0x62:
		op_bound(cpu);
		return;
	case 0x63:
		x86_arpl(cpu);
		return;
	case 0x69:
	case 0x6b:
		op_imul3(cpu, op);
		return;
	case 0x6c ... 0x6f:
	case 0xa4 ... 0xa7:
	case 0xaa ... 0xaf:
		x86_string(cpu, op);
		return;
	case 0x8f:
		op_pop_ev(cpu);
		return;
	case 0x98:
		if (os == 4)
			cpu->gpr[R_EAX] = (uint32_t)(int16_t)cpu->gpr[R_EAX];
		else
			reg_write(cpu, R_EAX, 2, (uint32_t)(int8_t)cpu->gpr[R_EAX]);
		return;
	case 0x99:
		v = (reg_read(cpu, R_EAX, os) & szmsb(os)) ? 0xffffffffu : 0;
		reg_write(cpu, R_EDX, os, v);
		return;
	case 0x9a:
		op_far_imm(cpu, true);
		return;
	case 0x9b:
		x86_fwait(cpu);
		return;
	case 0x9c:
		op_pushf(cpu);
		return;
	case 0x9d:
		op_popf(cpu);
		return;
	case 0x9e:
		set_flags(cpu, (cpu->gpr[R_EAX] >> 8) & 0xd5, 0xd5);
		return;
	case 0x9f:
		reg_write(cpu, R_ESP, 1, (cpu->eflags & 0xd5) | 2);
		return;
	case 0xa0 ... 0xa3:
		op_moffs(cpu, op);
		return;
	case 0xc4:
		op_les(cpu, S_ES);
		return;
	case 0xc5:
		op_les(cpu, S_DS);
		return;
	case 0xc6:
	case 0xc7: {
		unsigned size = (op & 1) ? os : 1;
		decode_ea(cpu);
		if (in->reg)
			raise_ud(cpu);
		rm_write(cpu, size, fetch_imm(cpu, size));
		return;
	}
	case 0xc8:
		op_enter(cpu);
		return;
	case 0xc9:
		op_leave(cpu);
		return;
	case 0xca:
		x86_far_ret(cpu, fetch16(cpu));
		return;
	case 0xcb:
		x86_far_ret(cpu, 0);
		return;
	case 0xcc:
		op_int(cpu, -EXC_BP);
		return;
	case 0xcd:
		op_int(cpu, fetch8(cpu));
		return;
	case 0xce:
		if (cpu->eflags & F_OF)
			op_int(cpu, -EXC_OF);
		return;
	case 0xcf:
		x86_iret(cpu);
		return;
	case 0xd6:
		reg_write(cpu, R_EAX, 1, (cpu->eflags & F_CF) ? 0xff : 0);
		return;
	case 0xd7:
		op_xlat(cpu);
		return;
	case 0xd8 ... 0xdf:
		x86_fpu_op(cpu, op);
		return;
	case 0xe0 ... 0xe3:
		op_loop(cpu, op);
		return;
	case 0xe4 ... 0xe7:
	case 0xec ... 0xef:
		op_inout(cpu, op);
		return;
	case 0xea:
		op_far_imm(cpu, false);
		return;
	case 0xf1:
		x86_deliver(cpu, EXC_DB, false, false, 0, cpu->eip);
		return;
	case 0xf4:
		if (cpu->cpl)
			raise_gp0(cpu);
		cpu->halted = true;
		x86_set_poll(cpu);
		return;
	case 0xf5:
		cpu->eflags ^= F_CF;
		return;
	case 0xf8:
	case 0xf9:
		set_flags(cpu, op & 1, F_CF);
		return;
	case 0xfa:
	case 0xfb:
		op_cli_sti(cpu, op & 1);
		return;
	case 0xfc:
	case 0xfd:
		set_flags(cpu, (op & 1) ? F_DF : 0, F_DF);
		return;
	default:
		raise_ud(cpu);
	}
}

static uint8_t fetch_prefixes(struct x86cpu *cpu)
{
	struct insn *in = &cpu->in;
	uint8_t op;

	in->opsz = in->adsz = cpu->code32 ? 4 : 2;
	in->seg = -1;
	in->rep = 0;
	in->lock = false;
	for (unsigned n = 0;; n++) {
		if (n >= 14)
			raise_gp0(cpu); /* longer than 15 bytes */
		op = fetch8(cpu);
		switch (op) {
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
			in->seg = (op >> 3) & 3;
			continue;
		case 0x64:
		case 0x65:
			in->seg = op - 0x60;
			continue;
		case 0x66:
			in->opsz = cpu->code32 ? 2 : 4;
			continue;
		case 0x67:
			in->adsz = cpu->code32 ? 2 : 4;
			continue;
		case 0xf0:
			in->lock = true;
			continue;
		case 0xf2:
		case 0xf3:
			in->rep = op;
			continue;
		default:
			return op;
		}
	}
}

/*
 * A specialised handler runs from the entry alone; the generic decoder
 * decodes the cached bytes again, taking the ModRM operand from the entry.
 */
static void dc_replay(struct x86cpu *cpu, struct dc_ent *d)
{
	if (likely(d->fn)) {
		cpu->eip = cpu->insn_eip + d->len;
		x86_dc_exec(cpu, d);
		return;
	}
	x86_dc_replay_generic(cpu, d);
}

void x86_dc_replay_generic(struct x86cpu *cpu, struct dc_ent *d)
{
	cpu->ibuf = d->bytes.b;
	cpu->iavail = d->len;
	cpu->dcur = d;
	cpu->dmode = DC_REPLAY;
	exec_one(cpu, fetch_prefixes(cpu));
}

/*
 * Decode and execute from a snapshot of the bytes, recording the entry as
 * decoding goes; it becomes valid only if the instruction completed without
 * a fault and without a fetch past the snapshot.
 */
static void dc_build(struct x86cpu *cpu, struct dc_ent *d, const uint8_t *p, uint32_t off,
		     uint32_t key)
{
	struct insn *in = &cpu->in, pfx;
	uint64_t avail = 4096 - off, lim = (uint64_t)cpu->seg[S_CS].limit - cpu->insn_eip + 1;
	uint8_t op;

	if (avail > 16)
		avail = 16;
	d->key = 0;
	memcpy(d->bytes.b, p, avail);
	if (avail > lim)
		avail = lim;
	cpu->ibuf = d->bytes.b;
	cpu->iavail = avail > 15 ? 15 : (uint32_t)avail;
	cpu->dcur = d;
	cpu->dmode = DC_BUILD;
	d->ea_pos = 0;
	op = fetch_prefixes(cpu);
	d->op_at = (uint8_t)(cpu->eip - cpu->insn_eip - 1);
	d->op = op;
	pfx = *in; /* delivering an INT rewrites in->opsz */
	exec_one(cpu, op);
	if (cpu->dmode != DC_BUILD || cpu->ilen > 15)
		return;
	d->len = (uint8_t)cpu->ilen;
	d->fn = x86_dc_pick(d, &pfx);
	/* no ModRM operand: sseg keeps the segment (MOV EAX, moffs uses it) */
	if (!d->ea_pos)
		d->sseg = (uint8_t)((pfx.seg < 0 ? S_DS : pfx.seg) << 2);
	d->key = key;
}

/*
 * Make la's page the fetch page (may fault as an instruction fetch would);
 * false when the code is in MMIO, which is never cached.
 */
bool x86_fetch_set(struct x86cpu *cpu, uint32_t la)
{
	uint64_t gpa;
	uint8_t *h = x86_fetch_page(cpu, la, &gpa);

	if (!h)
		return false;
	cpu->fetch_vpn = la >> 12;
	cpu->fetch_host = h;
	cpu->fetch_gpa = gpa;
	cpu->fetch_key = dc_key(cpu, gpa);
	cpu->fetch_slot = (uint32_t)(dc_slot(cpu, gpa) - cpu->dc);
	return true;
}

void x86_step(struct x86cpu *cpu)
{
	const struct x86_seg *cs = &cpu->seg[S_CS];
	uint32_t eip = cpu->eip, la = cs->base + eip, off = la & 0xfff, key;
	struct dc_ent *d;
	uint64_t gpa;

	cpu->insn_eip = eip;
	cpu->insn_esp = cpu->gpr[R_ESP];
	if (unlikely(eip > cs->limit))
		goto uncached; /* the first fetch raises #GP */
	if (unlikely((la >> 12) != cpu->fetch_vpn) && !x86_fetch_set(cpu, la))
		goto uncached; /* code in MMIO */
	gpa = cpu->fetch_gpa | off;
	key = dc_key(cpu, gpa);
	d = dc_slot(cpu, gpa);
	if (likely(d->key == key && (uint64_t)eip + d->len - 1 <= cs->limit &&
		   dc_match(d, cpu->fetch_host + off, off))) {
		dc_replay(cpu, d);
		return;
	}
	/*
	 * A slot held by another instruction is taken over on one conflict in
	 * eight only: two hot instructions sharing a slot then mostly run with
	 * one of them resident instead of rebuilding each other on every pass.
	 */
	if (d->key && d->key != key && (++cpu->dc_conflicts & 7))
		d = &cpu->dc_scratch;
	cpu->ilen = 0;
	dc_build(cpu, d, cpu->fetch_host + off, off, key);
	return;
uncached:
	cpu->iavail = 0;
	cpu->dmode = DC_OFF;
	exec_one(cpu, fetch_prefixes(cpu));
}
