/* SPDX-License-Identifier: MIT */
/*
 * alu.c - integer arithmetic with exact EFLAGS (SDM vol. 1 appendix A and the
 * per-instruction pages of vol. 2): ADD..CMP, INC/DEC, shifts and rotates,
 * SHLD/SHRD, MUL/IMUL/DIV/IDIV (#DE), and the BCD adjusts.  Flags the SDM
 * calls undefined are computed the way P6 parts are commonly observed to
 * (AF cleared by logic ops and shifts); tests mask them.
 */
#include "cpu.h"

const uint8_t x86_parity[256] = {
#define P2(n) n, n ^ 4, n ^ 4, n
#define P4(n) P2(n), P2(n ^ 4), P2(n ^ 4), P2(n)
#define P6(n) P4(n), P4(n ^ 4), P4(n ^ 4), P4(n)
	P6(4),
	P6(0),
	P6(0),
	P6(4),
};

static uint32_t do_add(struct x86cpu *cpu, uint32_t a, uint32_t b, uint32_t c, unsigned size)
{
	uint64_t r64 = (uint64_t)a + b + c;
	uint32_t r = (uint32_t)r64 & szmask(size);
	uint32_t f = alu_szp(r, size) | ((a ^ b ^ r) & F_AF);
	if (r64 >> (size * 8))
		f |= F_CF;
	if ((a ^ r) & (b ^ r) & szmsb(size))
		f |= F_OF;
	set_flags(cpu, f, FL_ARITH);
	return r;
}

static uint32_t do_sub(struct x86cpu *cpu, uint32_t a, uint32_t b, uint32_t c, unsigned size)
{
	uint32_t r = (a - b - c) & szmask(size);
	uint32_t f = alu_szp(r, size) | ((a ^ b ^ r) & F_AF);
	if ((uint64_t)a < (uint64_t)b + c)
		f |= F_CF;
	if ((a ^ b) & (a ^ r) & szmsb(size))
		f |= F_OF;
	set_flags(cpu, f, FL_ARITH);
	return r;
}

/* op: 0 ADD 1 OR 2 ADC 3 SBB 4 AND 5 SUB 6 XOR 7 CMP.  a and b are masked. */
uint32_t alu_arith(struct x86cpu *cpu, unsigned op, uint32_t a, uint32_t b, unsigned size)
{
	uint32_t r;

	switch (op) {
	case 0:
		return do_add(cpu, a, b, 0, size);
	case 2:
		return do_add(cpu, a, b, cpu->eflags & F_CF, size);
	case 3:
		return do_sub(cpu, a, b, cpu->eflags & F_CF, size);
	case 5:
	case 7:
		return do_sub(cpu, a, b, 0, size);
	case 1:
		r = a | b;
		break;
	case 4:
		r = a & b;
		break;
	default:
		r = a ^ b;
		break;
	}
	set_flags(cpu, alu_szp(r, size), FL_ARITH);
	return r;
}

uint32_t alu_inc(struct x86cpu *cpu, uint32_t a, unsigned size)
{
	uint32_t cf = cpu->eflags & F_CF;
	uint32_t r = do_add(cpu, a, 1, 0, size);
	set_flags(cpu, cf, F_CF);
	return r;
}

uint32_t alu_dec(struct x86cpu *cpu, uint32_t a, unsigned size)
{
	uint32_t cf = cpu->eflags & F_CF;
	uint32_t r = do_sub(cpu, a, 1, 0, size);
	set_flags(cpu, cf, F_CF);
	return r;
}

static uint32_t rotate(struct x86cpu *cpu, unsigned op, uint32_t a, unsigned count, unsigned size)
{
	unsigned bits = size * 8;
	uint32_t m = szmask(size), msb = szmsb(size), r = a, cf;
	unsigned n;

	switch (op) {
	case 0: /* ROL */
		n = count % bits;
		r = n ? ((a << n) | (a >> (bits - n))) & m : a;
		cf = r & 1;
		set_flags(cpu, cf | (((r & msb) ? 1 : 0) ^ cf ? F_OF : 0), F_CF | F_OF);
		return r;
	case 1: /* ROR */
		n = count % bits;
		r = n ? ((a >> n) | (a << (bits - n))) & m : a;
		cf = (r & msb) ? 1 : 0;
		set_flags(cpu, cf | ((((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1) ? F_OF : 0),
			  F_CF | F_OF);
		return r;
	case 2: /* RCL */
		n = count % (bits + 1);
		cf = cpu->eflags & F_CF;
		for (unsigned i = 0; i < n; i++) {
			uint32_t out = (r & msb) ? 1 : 0;
			r = ((r << 1) | cf) & m;
			cf = out;
		}
		if (n)
			set_flags(cpu, cf | ((((r & msb) ? 1 : 0) ^ cf) ? F_OF : 0), F_CF | F_OF);
		return r;
	default: /* RCR */
		n = count % (bits + 1);
		cf = cpu->eflags & F_CF;
		if (n)
			set_flags(cpu, ((((a & msb) ? 1 : 0) ^ cf) ? F_OF : 0), F_OF);
		for (unsigned i = 0; i < n; i++) {
			uint32_t out = r & 1;
			r = (r >> 1) | (cf ? msb : 0);
			cf = out;
		}
		if (n)
			set_flags(cpu, cf, F_CF);
		return r;
	}
}

/*
 * Group 2: op 0 ROL 1 ROR 2 RCL 3 RCR 4 SHL 5 SHR 6 SAL 7 SAR.  The count is
 * masked to 5 bits first; a zero count changes nothing (SDM vol. 2 SAL/SAR).
 */
uint32_t alu_shift(struct x86cpu *cpu, unsigned op, uint32_t a, unsigned count, unsigned size)
{
	unsigned bits = size * 8;
	uint32_t m = szmask(size), t, r, f;

	count &= 31;
	if (!count)
		return a;
	if (op < 4)
		return rotate(cpu, op, a, count, size);
	if (op == 4 || op == 6) {
		t = count > 1 ? a << (count - 1) : a;
		if (count - 1 >= 32)
			t = 0;
		r = (t << 1) & m;
		f = (t >> (bits - 1)) & 1;
	} else if (op == 5) {
		t = a >> (count - 1);
		r = t >> 1;
		f = t & 1;
	} else {
		int32_t s = size == 1 ? (int8_t)a : size == 2 ? (int16_t)a : (int32_t)a;
		t = (uint32_t)(s >> (count - 1));
		r = (uint32_t)((int32_t)t >> 1) & m;
		f = t & 1;
	}
	f |= alu_szp(r, size);
	if ((t ^ r) & szmsb(size))
		f |= F_OF;
	set_flags(cpu, f, FL_ARITH);
	return r;
}

/* SHLD: a is the destination, b supplies the bits shifted in. */
uint32_t alu_shld(struct x86cpu *cpu, uint32_t a, uint32_t b, unsigned count, unsigned size)
{
	uint64_t x, r;
	uint32_t f;

	count &= 31;
	if (!count)
		return a;
	if (size == 2) {
		/* A:B:A, as P6 does for counts above 16 */
		x = ((uint64_t)a << 32) | ((uint64_t)b << 16) | a;
		r = x << count;
		f = (r >> 48) & 1;
		r = (r >> 32) & 0xffff;
	} else {
		x = ((uint64_t)a << 32) | b;
		r = x << count;
		f = (x >> (64 - count)) & 1;
		r = (r >> 32) & 0xffffffffu;
	}
	f |= alu_szp((uint32_t)r, size);
	if (((uint32_t)r ^ a) & szmsb(size))
		f |= F_OF;
	set_flags(cpu, f, FL_ARITH);
	return (uint32_t)r;
}

uint32_t alu_shrd(struct x86cpu *cpu, uint32_t a, uint32_t b, unsigned count, unsigned size)
{
	uint64_t x, r;
	uint32_t f;

	count &= 31;
	if (!count)
		return a;
	if (size == 2) {
		/* A:B:A >> count: B:A, then A again for counts above 16 */
		x = ((uint64_t)a << 32) | ((uint64_t)b << 16) | a;
		r = x >> (count - 1);
		f = r & 1;
		r = (r >> 1) & 0xffff;
	} else {
		x = ((uint64_t)b << 32) | a;
		r = x >> (count - 1);
		f = r & 1;
		r = (r >> 1) & 0xffffffffu;
	}
	f |= alu_szp((uint32_t)r, size);
	if (((uint32_t)r ^ a) & szmsb(size))
		f |= F_OF;
	set_flags(cpu, f, FL_ARITH);
	return (uint32_t)r;
}

static int64_t sext(uint32_t v, unsigned size)
{
	return size == 1 ? (int8_t)v : size == 2 ? (int16_t)v : (int32_t)v;
}

static void mul_flags(struct x86cpu *cpu, bool overflow, uint32_t lo, unsigned size)
{
	uint32_t f = alu_szp(lo, size);
	if (overflow)
		f |= F_CF | F_OF;
	set_flags(cpu, f, FL_ARITH);
}

static void put_wide(struct x86cpu *cpu, uint64_t v, unsigned size)
{
	if (size == 1) {
		reg_write(cpu, R_EAX, 2, (uint32_t)v & 0xffff);
	} else {
		reg_write(cpu, R_EAX, size, (uint32_t)v);
		reg_write(cpu, R_EDX, size, (uint32_t)(v >> (size * 8)));
	}
}

static uint64_t get_wide(struct x86cpu *cpu, unsigned size)
{
	if (size == 1)
		return cpu->gpr[R_EAX] & 0xffff;
	return ((uint64_t)reg_read(cpu, R_EDX, size) << (size * 8)) | reg_read(cpu, R_EAX, size);
}

static void do_div(struct x86cpu *cpu, uint32_t d, unsigned size, bool sign)
{
	uint64_t n = get_wide(cpu, size);
	unsigned bits = size * 8;

	if (!d)
		x86_raise(cpu, EXC_DE, 0, false);
	if (!sign) {
		uint64_t q = n / d, r = n % d;
		if (q >> bits)
			x86_raise(cpu, EXC_DE, 0, false);
		if (size == 1)
			reg_write(cpu, R_EAX, 2, (uint32_t)((r << 8) | q));
		else
			put_wide(cpu, (r << bits) | q, size);
		return;
	}
	int64_t sn = size == 4 ? (int64_t)n : sext((uint32_t)n, size * 2);
	int64_t sd = sext(d, size);
	if (sn == INT64_MIN && sd == -1)
		x86_raise(cpu, EXC_DE, 0, false);
	int64_t q = sn / sd, r = sn % sd;
	if (q != sext((uint32_t)q, size) || (size == 4 && (q > INT32_MAX || q < INT32_MIN)))
		x86_raise(cpu, EXC_DE, 0, false);
	uint64_t m = szmask(size);
	if (size == 1)
		reg_write(cpu, R_EAX, 2, (uint32_t)((((uint64_t)r & m) << 8) | ((uint64_t)q & m)));
	else
		put_wide(cpu, (((uint64_t)r & m) << bits) | ((uint64_t)q & m), size);
}

/* F6/F7 group 3 for reg 2..7 (NOT NEG MUL IMUL DIV IDIV); TEST is decoded elsewhere. */
void alu_group3(struct x86cpu *cpu, unsigned op, unsigned size)
{
	uint32_t v, m = szmask(size);

	switch (op) {
	case 2:
		v = rm_read_rmw(cpu, size);
		rm_write(cpu, size, ~v & m);
		return;
	case 3:
		v = rm_read_rmw(cpu, size);
		v = do_sub(cpu, 0, v, 0, size);
		rm_write(cpu, size, v);
		return;
	default:
		alu_muldiv(cpu, op, rm_read(cpu, size), size);
		return;
	}
}

/* Group 3 /4../7 (MUL IMUL DIV IDIV) with the r/m operand's value v. */
void alu_muldiv(struct x86cpu *cpu, unsigned op, uint32_t v, unsigned size)
{
	switch (op) {
	case 4: {
		uint64_t p = (uint64_t)v * reg_read(cpu, R_EAX, size);
		put_wide(cpu, p, size);
		mul_flags(cpu, (p >> (size * 8)) != 0, (uint32_t)p, size);
		return;
	}
	case 5: {
		int64_t p = sext(v, size) * sext(reg_read(cpu, R_EAX, size), size);
		put_wide(cpu, (uint64_t)p, size);
		mul_flags(cpu, p != sext((uint32_t)p, size), (uint32_t)p, size);
		return;
	}
	case 6:
		do_div(cpu, v, size, false);
		return;
	default:
		do_div(cpu, v, size, true);
		return;
	}
}

/* Two- and three-operand IMUL: truncated product, CF=OF on signed overflow. */
uint32_t alu_imul2(struct x86cpu *cpu, uint32_t a, uint32_t b, unsigned size)
{
	int64_t p = sext(a, size) * sext(b, size);
	mul_flags(cpu, p != sext((uint32_t)p, size), (uint32_t)p, size);
	return (uint32_t)p & szmask(size);
}

static void daa_das(struct x86cpu *cpu, bool sub)
{
	uint32_t al = cpu->gpr[R_EAX] & 0xff, old = al, f = 0;
	bool cf = cpu->eflags & F_CF;

	if ((al & 0xf) > 9 || (cpu->eflags & F_AF)) {
		if (sub && (al < 6 || cf))
			f |= F_CF;
		al = sub ? al - 6 : al + 6;
		f |= F_AF;
	}
	if (old > 0x99 || cf) {
		al = sub ? al - 0x60 : al + 0x60;
		f |= F_CF;
	}
	al &= 0xff;
	reg_write(cpu, R_EAX, 1, al);
	set_flags(cpu, f | alu_szp(al, 1), FL_ARITH);
}

static void aaa_aas(struct x86cpu *cpu, bool sub)
{
	uint32_t ax = cpu->gpr[R_EAX] & 0xffff, f = 0;

	/* AX +/- 0x106 as P6 and later do (SDM vol. 2 AAA/AAS) */
	if ((ax & 0xf) > 9 || (cpu->eflags & F_AF)) {
		ax = sub ? ax - 0x106 : ax + 0x106;
		f = F_AF | F_CF;
	}
	ax &= 0xff0f;
	reg_write(cpu, R_EAX, 2, ax);
	set_flags(cpu, f | alu_szp(ax & 0xff, 1), FL_ARITH);
}

void alu_bcd(struct x86cpu *cpu, uint8_t op)
{
	uint32_t al = cpu->gpr[R_EAX] & 0xff, ah = (cpu->gpr[R_EAX] >> 8) & 0xff, imm;

	switch (op) {
	case 0x27:
		daa_das(cpu, false);
		return;
	case 0x2f:
		daa_das(cpu, true);
		return;
	case 0x37:
		aaa_aas(cpu, false);
		return;
	case 0x3f:
		aaa_aas(cpu, true);
		return;
	case 0xd4:
		imm = fetch8(cpu);
		if (!imm)
			x86_raise(cpu, EXC_DE, 0, false);
		ah = al / imm;
		al = al % imm;
		break;
	default: /* 0xd5 */
		imm = fetch8(cpu);
		al = (al + ah * imm) & 0xff;
		ah = 0;
		break;
	}
	reg_write(cpu, R_EAX, 2, (ah << 8) | al);
	set_flags(cpu, alu_szp(al, 1), FL_ARITH);
}

/* Condition codes 0..15 (SDM vol. 1 table B-1). */
bool cond_true(const struct x86cpu *cpu, unsigned cc)
{
	uint32_t f = cpu->eflags;
	bool r;

	switch (cc >> 1) {
	case 0:
		r = f & F_OF;
		break;
	case 1:
		r = f & F_CF;
		break;
	case 2:
		r = f & F_ZF;
		break;
	case 3:
		r = f & (F_CF | F_ZF);
		break;
	case 4:
		r = f & F_SF;
		break;
	case 5:
		r = f & F_PF;
		break;
	case 6:
		r = !(f & F_SF) != !(f & F_OF);
		break;
	default:
		r = (f & F_ZF) || (!(f & F_SF) != !(f & F_OF));
		break;
	}
	return r ^ (cc & 1);
}
