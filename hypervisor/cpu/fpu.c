/* SPDX-License-Identifier: MIT */
/*
 * fpu.c - x87 FPU (SDM vol. 1 chapter 8) on the host's 80-bit long double:
 * loads/stores of all memory formats (including packed BCD), arithmetic,
 * compares (FCOM/FUCOM/FCOMI/FUCOMI), transcendental functions, FCMOVcc,
 * environment and state save/restore (FNSTENV/FLDENV, FNSAVE/FRSTOR,
 * FXSAVE/FXRSTOR), #NM from CR0.EM/TS and #MF with CR0.NE.  Simplified:
 * precision control is ignored, only invalid-operation (including stack
 * faults) and divide-by-zero exceptions are detected, FERR#/IRQ13 without
 * CR0.NE is not signalled, FPU pointers use the protected-mode layout in
 * all modes.
 */
#include <math.h>

#include "cpu.h"

#define SW_IE 0x1u
#define SW_ZE 0x4u
#define SW_SF 0x40u
#define SW_ES 0x80u
#define SW_C0 0x100u
#define SW_C1 0x200u
#define SW_C2 0x400u
#define SW_C3 0x4000u
#define SW_B 0x8000u
#define TAG_EMPTY 3u

static unsigned top(const struct fpu *f)
{
	return (f->sw >> 11) & 7;
}

static void set_top(struct fpu *f, unsigned t)
{
	f->sw = (uint16_t)((f->sw & ~0x3800u) | ((t & 7) << 11));
}

static unsigned phys(const struct fpu *f, unsigned i)
{
	return (top(f) + i) & 7;
}

static bool empty(const struct fpu *f, unsigned i)
{
	return ((f->tw >> (phys(f, i) * 2)) & 3) == TAG_EMPTY;
}

static void set_tag(struct fpu *f, unsigned p, unsigned tag)
{
	f->tw = (uint16_t)((f->tw & ~(3u << (p * 2))) | (tag << (p * 2)));
}

static unsigned tag_of(long double v)
{
	if (v == 0)
		return 1;
	if (isnan(v) || isinf(v) || !isnormal(v))
		return 2;
	return 0;
}

/* Raise exception flags; unmasked ones set ES/B for a later #MF. */
static void fpu_exc(struct fpu *f, uint16_t bits)
{
	f->sw |= bits;
	if (f->sw & ~f->cw & 0x3f)
		f->sw |= SW_ES | SW_B;
}

static long double st_get(struct x86cpu *cpu, unsigned i)
{
	struct fpu *f = &cpu->fpu;

	if (empty(f, i)) {
		fpu_exc(f, SW_IE | SW_SF);
		f->sw &= ~SW_C1;
		return NAN;
	}
	return f->st[phys(f, i)];
}

static void st_set(struct x86cpu *cpu, unsigned i, long double v)
{
	struct fpu *f = &cpu->fpu;
	unsigned p = phys(f, i);

	f->st[p] = v;
	set_tag(f, p, tag_of(v));
}

static void fpu_push(struct x86cpu *cpu, long double v)
{
	struct fpu *f = &cpu->fpu;
	unsigned t = (top(f) - 1) & 7;

	if (((f->tw >> (t * 2)) & 3) != TAG_EMPTY) {
		fpu_exc(f, SW_IE | SW_SF | SW_C1);
		v = NAN;
	}
	set_top(f, t);
	f->st[t] = v;
	set_tag(f, t, tag_of(v));
}

static void fpu_pop(struct x86cpu *cpu)
{
	struct fpu *f = &cpu->fpu;

	set_tag(f, top(f), TAG_EMPTY);
	set_top(f, top(f) + 1);
}

void x86_fpu_reset(struct x86cpu *cpu)
{
	struct fpu *f = &cpu->fpu;

	memset(f, 0, sizeof(*f));
	f->cw = 0x37f;
	f->tw = 0xffff;
}

/* #MF for pending unmasked exceptions when CR0.NE is set (SDM vol. 1 8.7). */
static void check_mf(struct x86cpu *cpu)
{
	if ((cpu->fpu.sw & SW_ES) && (cpu->cr0 & CR0_NE))
		x86_raise(cpu, EXC_MF, 0, false);
}

void x86_fwait(struct x86cpu *cpu)
{
	if ((cpu->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
		x86_raise(cpu, EXC_NM, 0, false);
	check_mf(cpu);
}

static long double round_rc(const struct fpu *f, long double v)
{
	switch ((f->cw >> 10) & 3) {
	case 0:
		return nearbyintl(v);
	case 1:
		return floorl(v);
	case 2:
		return ceill(v);
	default:
		return truncl(v);
	}
}

static long double ld80(const uint8_t *b)
{
	long double v = 0;
	memcpy(&v, b, 10);
	return v;
}

static void st80(uint8_t *b, long double v)
{
	uint8_t t[16] = { 0 };
	memcpy(t, &v, 10);
	memcpy(b, t, 10);
}

static void mem_read(struct x86cpu *cpu, uint32_t off, uint8_t *b, unsigned n)
{
	struct insn *in = &cpu->in;
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)seg_read(cpu, in->ea_seg, off + i, 1);
}

static void mem_write(struct x86cpu *cpu, uint32_t off, const uint8_t *b, unsigned n)
{
	struct insn *in = &cpu->in;
	uint32_t la = seg_addr(cpu, in->ea_seg, off, n, true);
	x86_lin_touch_write(cpu, la, n, cpu->user);
	for (unsigned i = 0; i < n; i++)
		seg_write(cpu, in->ea_seg, off + i, b[i], 1);
}

/* Load a memory operand: fmt 0 m32fp 1 m32int 2 m64fp 3 m16int. */
static long double load_mem(struct x86cpu *cpu, unsigned fmt)
{
	struct insn *in = &cpu->in;
	uint8_t b[8];

	switch (fmt) {
	case 0: {
		uint32_t v = seg_read(cpu, in->ea_seg, in->ea, 4);
		float fv;
		memcpy(&fv, &v, 4);
		return fv;
	}
	case 1:
		return (int32_t)seg_read(cpu, in->ea_seg, in->ea, 4);
	case 2: {
		double d;
		mem_read(cpu, in->ea, b, 8);
		memcpy(&d, b, 8);
		return d;
	}
	default:
		return (int16_t)seg_read(cpu, in->ea_seg, in->ea, 2);
	}
}

static long double arith(struct x86cpu *cpu, unsigned op, long double a, long double b)
{
	/* op: 0 add 1 mul 4 a-b 5 b-a 6 a/b 7 b/a (a = ST0) */
	long double n, d;

	switch (op) {
	case 0:
		return a + b;
	case 1:
		return a * b;
	case 4:
		return a - b;
	case 5:
		return b - a;
	default:
		n = op == 6 ? a : b;
		d = op == 6 ? b : a;
		if (d == 0 && !isnan(n)) {
			fpu_exc(&cpu->fpu, n == 0 ? SW_IE : SW_ZE);
			if (n == 0)
				return NAN;
		}
		return n / d;
	}
}

static void compare(struct x86cpu *cpu, long double a, long double b, bool eflags)
{
	struct fpu *f = &cpu->fpu;
	uint32_t c;

	if (isnan(a) || isnan(b)) {
		if (!eflags)
			fpu_exc(f, SW_IE);
		c = SW_C3 | SW_C2 | SW_C0;
	} else if (a > b) {
		c = 0;
	} else if (a < b) {
		c = SW_C0;
	} else {
		c = SW_C3;
	}
	if (eflags) {
		uint32_t fl = ((c & SW_C3) ? F_ZF : 0) | ((c & SW_C2) ? F_PF : 0) |
			      ((c & SW_C0) ? F_CF : 0);
		set_flags(cpu, fl, F_ZF | F_PF | F_CF | F_OF | F_SF | F_AF);
	} else {
		f->sw = (uint16_t)((f->sw & ~(SW_C0 | SW_C1 | SW_C2 | SW_C3)) | c);
	}
}

static void group_arith(struct x86cpu *cpu, unsigned op, long double src)
{
	long double a = st_get(cpu, 0);

	if (op == 2 || op == 3) {
		compare(cpu, a, src, false);
		if (op == 3)
			fpu_pop(cpu);
		return;
	}
	st_set(cpu, 0, arith(cpu, op, a, src));
}

static void reg_arith(struct x86cpu *cpu, unsigned op, unsigned i, bool pop)
{
	long double a = st_get(cpu, 0), b = st_get(cpu, i);

	st_set(cpu, i, arith(cpu, op, a, b));
	if (pop)
		fpu_pop(cpu);
}

static void fxam(struct x86cpu *cpu)
{
	struct fpu *f = &cpu->fpu;
	long double v = f->st[phys(f, 0)];
	uint32_t c;

	if (empty(f, 0))
		c = SW_C3 | SW_C0;
	else if (isnan(v))
		c = SW_C0;
	else if (isinf(v))
		c = SW_C2 | SW_C0;
	else if (v == 0)
		c = SW_C3;
	else if (!isnormal(v))
		c = SW_C3 | SW_C2;
	else
		c = SW_C2;
	if (signbit(v))
		c |= SW_C1;
	f->sw = (uint16_t)((f->sw & ~(SW_C0 | SW_C1 | SW_C2 | SW_C3)) | c);
}

static void fprem(struct x86cpu *cpu, bool ieee)
{
	struct fpu *f = &cpu->fpu;
	long double a = st_get(cpu, 0), b = st_get(cpu, 1);
	long double q = ieee ? nearbyintl(a / b) : truncl(a / b);
	long double r = ieee ? remainderl(a, b) : fmodl(a, b);
	uint64_t qi = (uint64_t)fabsl(fmodl(q, 8.0L));
	uint32_t c = ((qi & 1) ? SW_C1 : 0) | ((qi & 2) ? SW_C3 : 0) | ((qi & 4) ? SW_C0 : 0);

	if (b == 0 || isinf(a))
		fpu_exc(f, SW_IE);
	f->sw = (uint16_t)((f->sw & ~(SW_C0 | SW_C1 | SW_C2 | SW_C3)) | c);
	st_set(cpu, 0, r);
}

static void d9_reg(struct x86cpu *cpu, uint8_t m)
{
	struct fpu *f = &cpu->fpu;
	unsigned i = m & 7;
	long double a, b;

	switch (m) {
	case 0xc0 ... 0xc7:
		fpu_push(cpu, st_get(cpu, i));
		return;
	case 0xc8 ... 0xcf:
		a = st_get(cpu, 0);
		b = st_get(cpu, i);
		st_set(cpu, 0, b);
		st_set(cpu, i, a);
		return;
	case 0xd0:
		return;
	case 0xe0:
		st_set(cpu, 0, -st_get(cpu, 0));
		return;
	case 0xe1:
		st_set(cpu, 0, fabsl(st_get(cpu, 0)));
		return;
	case 0xe4:
		compare(cpu, st_get(cpu, 0), 0.0L, false);
		return;
	case 0xe5:
		fxam(cpu);
		return;
	case 0xe8:
		fpu_push(cpu, 1.0L);
		return;
	case 0xe9:
		fpu_push(cpu, log2l(10.0L));
		return;
	case 0xea:
		fpu_push(cpu, 1.0L / logl(2.0L));
		return;
	case 0xeb:
		fpu_push(cpu, 3.14159265358979323846264338327950288L);
		return;
	case 0xec:
		fpu_push(cpu, log10l(2.0L));
		return;
	case 0xed:
		fpu_push(cpu, logl(2.0L));
		return;
	case 0xee:
		fpu_push(cpu, 0.0L);
		return;
	case 0xf0:
		st_set(cpu, 0, exp2l(st_get(cpu, 0)) - 1.0L);
		return;
	case 0xf1:
		a = st_get(cpu, 0);
		b = st_get(cpu, 1);
		st_set(cpu, 1, b * log2l(a));
		fpu_pop(cpu);
		return;
	case 0xf2:
		st_set(cpu, 0, tanl(st_get(cpu, 0)));
		f->sw &= ~SW_C2;
		fpu_push(cpu, 1.0L);
		return;
	case 0xf3:
		a = st_get(cpu, 0);
		b = st_get(cpu, 1);
		st_set(cpu, 1, atan2l(b, a));
		fpu_pop(cpu);
		return;
	case 0xf4: {
		int e;
		a = st_get(cpu, 0);
		long double mant = frexpl(a, &e);
		st_set(cpu, 0, (long double)(e - 1));
		fpu_push(cpu, mant * 2);
		return;
	}
	case 0xf5:
		fprem(cpu, true);
		return;
	case 0xf6:
		set_top(f, top(f) - 1);
		return;
	case 0xf7:
		set_top(f, top(f) + 1);
		return;
	case 0xf8:
		fprem(cpu, false);
		return;
	case 0xf9:
		a = st_get(cpu, 0);
		b = st_get(cpu, 1);
		st_set(cpu, 1, b * log2l(a + 1.0L));
		fpu_pop(cpu);
		return;
	case 0xfa:
		a = st_get(cpu, 0);
		if (a < 0)
			fpu_exc(f, SW_IE);
		st_set(cpu, 0, sqrtl(a));
		return;
	case 0xfb:
		a = st_get(cpu, 0);
		st_set(cpu, 0, sinl(a));
		f->sw &= ~SW_C2;
		fpu_push(cpu, cosl(a));
		return;
	case 0xfc:
		st_set(cpu, 0, round_rc(f, st_get(cpu, 0)));
		return;
	case 0xfd:
		a = st_get(cpu, 0);
		st_set(cpu, 0, ldexpl(a, (int)truncl(st_get(cpu, 1))));
		return;
	case 0xfe:
		st_set(cpu, 0, sinl(st_get(cpu, 0)));
		f->sw &= ~SW_C2;
		return;
	case 0xff:
		st_set(cpu, 0, cosl(st_get(cpu, 0)));
		f->sw &= ~SW_C2;
		return;
	default:
		raise_ud(cpu);
	}
}

static uint16_t full_tag(const struct fpu *f)
{
	uint16_t tw = 0;

	for (unsigned p = 0; p < 8; p++) {
		unsigned t = (f->tw >> (p * 2)) & 3;
		if (t != TAG_EMPTY)
			t = tag_of(f->st[p]);
		tw |= (uint16_t)(t << (p * 2));
	}
	return tw;
}

/* FNSTENV/FLDENV image, protected-mode layout (SDM vol. 1 figures 8-9, 8-10). */
static unsigned env_size(const struct x86cpu *cpu)
{
	return cpu->in.opsz == 4 ? 28 : 14;
}

static void store_env(struct x86cpu *cpu, uint32_t off)
{
	struct fpu *f = &cpu->fpu;
	uint8_t b[28] = { 0 };
	uint16_t tw = full_tag(f);

	if (cpu->in.opsz == 4) {
		uint32_t w[7] = { 0xffff0000u | f->cw,
				  0xffff0000u | f->sw,
				  0xffff0000u | tw,
				  f->fip,
				  f->fcs | ((uint32_t)(f->fop & 0x7ff) << 16),
				  f->fdp,
				  0xffff0000u | f->fds };
		memcpy(b, w, 28);
	} else {
		uint16_t w[7] = { f->cw, f->sw, tw, (uint16_t)f->fip, f->fcs, (uint16_t)f->fdp,
				  f->fds };
		memcpy(b, w, 14);
	}
	mem_write(cpu, off, b, env_size(cpu));
}

static void load_env(struct x86cpu *cpu, uint32_t off)
{
	struct fpu *f = &cpu->fpu;
	uint8_t b[28];
	uint16_t tw;

	mem_read(cpu, off, b, env_size(cpu));
	if (cpu->in.opsz == 4) {
		uint32_t w[7];
		memcpy(w, b, 28);
		f->cw = (uint16_t)w[0];
		f->sw = (uint16_t)w[1];
		tw = (uint16_t)w[2];
		f->fip = w[3];
		f->fcs = (uint16_t)w[4];
		f->fop = (uint16_t)((w[4] >> 16) & 0x7ff);
		f->fdp = w[5];
		f->fds = (uint16_t)w[6];
	} else {
		uint16_t w[7];
		memcpy(w, b, 14);
		f->cw = w[0];
		f->sw = w[1];
		tw = w[2];
		f->fip = w[3];
		f->fcs = w[4];
		f->fdp = w[5];
		f->fds = w[6];
	}
	/* only "empty" matters: other tags are recomputed from the values */
	f->tw = tw;
	fpu_exc(f, 0);
	if (!(f->sw & ~f->cw & 0x3f))
		f->sw &= ~(SW_ES | SW_B);
}

static void fsave(struct x86cpu *cpu, bool restore)
{
	struct insn *in = &cpu->in;
	struct fpu *f = &cpu->fpu;
	uint32_t off = in->ea, es = env_size(cpu);
	uint8_t b[80];

	if (restore) {
		load_env(cpu, off);
		mem_read(cpu, off + es, b, 80);
		for (unsigned i = 0; i < 8; i++)
			f->st[phys(f, i)] = ld80(b + i * 10);
		return;
	}
	for (unsigned i = 0; i < 8; i++)
		st80(b + i * 10, f->st[phys(f, i)]);
	store_env(cpu, off);
	mem_write(cpu, off + es, b, 80);
	x86_fpu_reset(cpu);
}

/* FXSAVE/FXRSTOR 512-byte image (SDM vol. 2 FXSAVE, table 3-53). */
void x86_fxsave(struct x86cpu *cpu, bool restore)
{
	struct insn *in = &cpu->in;
	struct fpu *f = &cpu->fpu;
	uint8_t b[512];
	uint32_t off = in->ea;

	if (cpu->cr0 & (CR0_EM | CR0_TS))
		x86_raise(cpu, (cpu->cr0 & CR0_EM) ? EXC_UD : EXC_NM, 0, false);
	if ((cpu->seg[in->ea_seg].base + off) & 15)
		raise_gp0(cpu);
	if (restore) {
		mem_read(cpu, off, b, 512);
		memcpy(&f->cw, b, 2);
		memcpy(&f->sw, b + 2, 2);
		f->tw = 0;
		for (unsigned p = 0; p < 8; p++)
			if (!(b[4] & (1u << p)))
				f->tw |= (uint16_t)(TAG_EMPTY << (p * 2));
		memcpy(&f->fop, b + 6, 2);
		memcpy(&f->fip, b + 8, 4);
		memcpy(&f->fcs, b + 12, 2);
		memcpy(&f->fdp, b + 16, 4);
		memcpy(&f->fds, b + 20, 2);
		uint32_t mx;
		memcpy(&mx, b + 24, 4);
		if (mx & 0xffff0000u)
			raise_gp0(cpu);
		cpu->mxcsr = mx;
		for (unsigned i = 0; i < 8; i++)
			f->st[phys(f, i)] = ld80(b + 32 + i * 16);
		return;
	}
	memset(b, 0, sizeof(b));
	memcpy(b, &f->cw, 2);
	memcpy(b + 2, &f->sw, 2);
	for (unsigned p = 0; p < 8; p++)
		if (((f->tw >> (p * 2)) & 3) != TAG_EMPTY)
			b[4] |= (uint8_t)(1u << p);
	memcpy(b + 6, &f->fop, 2);
	memcpy(b + 8, &f->fip, 4);
	memcpy(b + 12, &f->fcs, 2);
	memcpy(b + 16, &f->fdp, 4);
	memcpy(b + 20, &f->fds, 2);
	memcpy(b + 24, &cpu->mxcsr, 4);
	uint32_t mask = 0xffbf;
	memcpy(b + 28, &mask, 4);
	for (unsigned i = 0; i < 8; i++)
		st80(b + 32 + i * 16, f->st[phys(f, i)]);
	mem_write(cpu, off, b, 512);
}

static void store_int(struct x86cpu *cpu, long double v, unsigned size)
{
	struct insn *in = &cpu->in;
	long double r = round_rc(&cpu->fpu, v);
	long double lim = size == 2 ? 32768.0L : size == 4 ? 2147483648.0L : 9223372036854775808.0L;
	int64_t iv;

	if (isnan(r) || r >= lim || r < -lim) {
		fpu_exc(&cpu->fpu, SW_IE);
		iv = size == 8 ? INT64_MIN : size == 4 ? INT32_MIN : INT16_MIN;
	} else {
		iv = (int64_t)r;
	}
	if (size == 8) {
		uint8_t b[8];
		memcpy(b, &iv, 8);
		mem_write(cpu, in->ea, b, 8);
	} else {
		seg_write(cpu, in->ea_seg, in->ea, (uint32_t)iv, size);
	}
}

static void bcd_load(struct x86cpu *cpu)
{
	uint8_t b[10];
	long double v = 0;

	mem_read(cpu, cpu->in.ea, b, 10);
	for (int i = 8; i >= 0; i--)
		v = v * 100 + (b[i] >> 4) * 10 + (b[i] & 0xf);
	fpu_push(cpu, (b[9] & 0x80) ? -v : v);
}

static void bcd_store(struct x86cpu *cpu)
{
	uint8_t b[10] = { 0 };
	long double v = round_rc(&cpu->fpu, st_get(cpu, 0));
	uint64_t u = (uint64_t)fabsl(v);

	if (signbit(v))
		b[9] = 0x80;
	for (int i = 0; i < 9; i++) {
		b[i] = (uint8_t)((u % 10) | ((u / 10 % 10) << 4));
		u /= 100;
	}
	mem_write(cpu, cpu->in.ea, b, 10);
	fpu_pop(cpu);
}

static void store_fp(struct x86cpu *cpu, long double v, unsigned size)
{
	struct insn *in = &cpu->in;

	if (size == 4) {
		float fv = (float)v;
		uint32_t u;
		memcpy(&u, &fv, 4);
		seg_write(cpu, in->ea_seg, in->ea, u, 4);
	} else if (size == 8) {
		double d = (double)v;
		uint8_t b[8];
		memcpy(b, &d, 8);
		mem_write(cpu, in->ea, b, 8);
	} else {
		uint8_t b[10];
		st80(b, v);
		mem_write(cpu, in->ea, b, 10);
	}
}

static void fpu_mem(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	struct fpu *f = &cpu->fpu;
	unsigned r = in->reg;
	static const uint8_t arith_fmt[4] = { 0, 1, 2, 3 }; /* D8 DA DC DE */

	if (!(op & 1)) {
		group_arith(cpu, r, load_mem(cpu, arith_fmt[(op - 0xd8) >> 1]));
		return;
	}
	switch ((op << 3) | r) {
	case (0xd9 << 3) | 0:
		fpu_push(cpu, load_mem(cpu, 0));
		return;
	case (0xd9 << 3) | 2:
	case (0xd9 << 3) | 3:
		store_fp(cpu, st_get(cpu, 0), 4);
		break;
	case (0xd9 << 3) | 4:
		load_env(cpu, in->ea);
		return;
	case (0xd9 << 3) | 5:
		f->cw = (uint16_t)(seg_read(cpu, in->ea_seg, in->ea, 2) | 0x40);
		fpu_exc(f, 0);
		if (!(f->sw & ~f->cw & 0x3f))
			f->sw &= ~(SW_ES | SW_B);
		return;
	case (0xd9 << 3) | 6:
		store_env(cpu, in->ea);
		f->cw |= 0x3f;
		return;
	case (0xd9 << 3) | 7:
		seg_write(cpu, in->ea_seg, in->ea, f->cw, 2);
		return;
	case (0xdb << 3) | 0:
		fpu_push(cpu, load_mem(cpu, 1));
		return;
	case (0xdb << 3) | 2:
	case (0xdb << 3) | 3:
		store_int(cpu, st_get(cpu, 0), 4);
		break;
	case (0xdb << 3) | 5: {
		uint8_t b[10];
		mem_read(cpu, in->ea, b, 10);
		fpu_push(cpu, ld80(b));
		return;
	}
	case (0xdb << 3) | 7:
		store_fp(cpu, st_get(cpu, 0), 10);
		fpu_pop(cpu);
		return;
	case (0xdd << 3) | 0:
		fpu_push(cpu, load_mem(cpu, 2));
		return;
	case (0xdd << 3) | 2:
	case (0xdd << 3) | 3:
		store_fp(cpu, st_get(cpu, 0), 8);
		break;
	case (0xdd << 3) | 4:
		fsave(cpu, true);
		return;
	case (0xdd << 3) | 6:
		fsave(cpu, false);
		return;
	case (0xdd << 3) | 7:
		seg_write(cpu, in->ea_seg, in->ea, f->sw, 2);
		return;
	case (0xdf << 3) | 0:
		fpu_push(cpu, load_mem(cpu, 3));
		return;
	case (0xdf << 3) | 2:
	case (0xdf << 3) | 3:
		store_int(cpu, st_get(cpu, 0), 2);
		break;
	case (0xdf << 3) | 4:
		bcd_load(cpu);
		return;
	case (0xdf << 3) | 5: {
		uint8_t b[8];
		int64_t v;
		mem_read(cpu, in->ea, b, 8);
		memcpy(&v, b, 8);
		fpu_push(cpu, (long double)v);
		return;
	}
	case (0xdf << 3) | 6:
		bcd_store(cpu);
		return;
	case (0xdf << 3) | 7:
		store_int(cpu, st_get(cpu, 0), 8);
		fpu_pop(cpu);
		return;
	default:
		raise_ud(cpu);
	}
	if (r == 3)
		fpu_pop(cpu);
}

static void fcmov(struct x86cpu *cpu, uint8_t op, uint8_t m)
{
	static const uint32_t fl[4] = { F_CF, F_ZF, F_CF | F_ZF, F_PF };
	bool c = cpu->eflags & fl[(m >> 3) & 3];

	if (op == 0xdb)
		c = !c;
	if (c)
		st_set(cpu, 0, st_get(cpu, m & 7));
}

static void fpu_reg(struct x86cpu *cpu, uint8_t op, uint8_t m)
{
	struct fpu *f = &cpu->fpu;
	unsigned i = m & 7, r = (m >> 3) & 7;

	switch (op) {
	case 0xd8:
		group_arith(cpu, r, st_get(cpu, i));
		return;
	case 0xd9:
		d9_reg(cpu, m);
		return;
	case 0xda:
		if (m == 0xe9) {
			compare(cpu, st_get(cpu, 0), st_get(cpu, 1), false);
			fpu_pop(cpu);
			fpu_pop(cpu);
		} else if (m < 0xe0) {
			fcmov(cpu, op, m);
		} else {
			raise_ud(cpu);
		}
		return;
	case 0xdb:
		if (m < 0xe0) {
			fcmov(cpu, op, m);
		} else if (m >= 0xe8 && m < 0xf8) {
			compare(cpu, st_get(cpu, 0), st_get(cpu, i), true);
		} else if (m > 0xe4) {
			raise_ud(cpu);
		}
		return;
	case 0xdc:
		if (r == 2 || r == 3)
			group_arith(cpu, r, st_get(cpu, i));
		else
			reg_arith(cpu, r, i, false);
		return;
	case 0xdd:
		switch (r) {
		case 0:
			set_tag(f, phys(f, i), TAG_EMPTY);
			return;
		case 2:
		case 3:
			st_set(cpu, i, st_get(cpu, 0));
			if (r == 3)
				fpu_pop(cpu);
			return;
		case 4:
		case 5:
			compare(cpu, st_get(cpu, 0), st_get(cpu, i), false);
			if (r == 5)
				fpu_pop(cpu);
			return;
		default:
			raise_ud(cpu);
		}
	case 0xde:
		if (m == 0xd9) {
			compare(cpu, st_get(cpu, 0), st_get(cpu, 1), false);
			fpu_pop(cpu);
			fpu_pop(cpu);
		} else if (r != 2 && r != 3) {
			reg_arith(cpu, r, i, true);
		} else {
			raise_ud(cpu);
		}
		return;
	default:
		if (r == 5 || r == 6) {
			compare(cpu, st_get(cpu, 0), st_get(cpu, i), true);
			fpu_pop(cpu);
		} else if (r == 0) {
			set_tag(f, phys(f, i), TAG_EMPTY);
			fpu_pop(cpu);
		} else {
			raise_ud(cpu);
		}
		return;
	}
}

/* Control instructions that do not wait for pending exceptions (FN*). */
static bool no_wait(struct x86cpu *cpu, uint8_t op, uint8_t m)
{
	struct fpu *f = &cpu->fpu;
	unsigned r = (m >> 3) & 7;

	if (op == 0xdb && m == 0xe2) {
		f->sw &= 0x7f00;
		return true;
	}
	if (op == 0xdb && m == 0xe3) {
		x86_fpu_reset(cpu);
		return true;
	}
	if (op == 0xdf && m == 0xe0) {
		reg_write(cpu, R_EAX, 2, f->sw);
		return true;
	}
	if ((m >> 6) == 3)
		return false;
	return (op == 0xd9 && (r == 6 || r == 7)) || (op == 0xdd && (r == 6 || r == 7));
}

void x86_fpu_op(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	struct fpu *f = &cpu->fpu;
	uint32_t ip = cpu->insn_eip;
	uint8_t m;

	if (cpu->cr0 & (CR0_EM | CR0_TS))
		x86_raise(cpu, EXC_NM, 0, false);
	x86_decode_ea(cpu);
	m = (uint8_t)((in->mod << 6) | (in->reg << 3) | in->rm);
	if (in->mod != 3) {
		/* memory forms of the no-wait group still decode their operand */
		if (no_wait(cpu, op, m)) {
			fpu_mem(cpu, op);
			return;
		}
	} else if (no_wait(cpu, op, m)) {
		return;
	}
	check_mf(cpu);
	f->fop = (uint16_t)(((op & 7) << 8) | m);
	f->fip = ip;
	f->fcs = cpu->seg[S_CS].sel;
	if (in->mod != 3) {
		f->fdp = in->ea;
		f->fds = cpu->seg[in->ea_seg].sel;
		fpu_mem(cpu, op);
	} else {
		fpu_reg(cpu, op, m);
	}
}
