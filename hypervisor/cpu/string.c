/* SPDX-License-Identifier: MIT */
/*
 * string.c - string instructions (MOVS CMPS STOS LODS SCAS INS OUTS) with
 * REP/REPE/REPNE, segment overrides and 16/32-bit address size, and the I/O
 * permission check (SDM vol. 1 18.3: IOPL, then the TSS I/O bitmap).  A REP
 * instruction runs a bounded number of iterations and then restarts itself,
 * so interrupts are taken between iterations as on hardware.  REP INS/OUTS
 * to RAM go through bus->pio_string, clipped to one page (as Xen does).
 */
#include "cpu.h"

#define REP_CHUNK 4096

void x86_io_check(struct x86cpu *cpu, uint16_t port, unsigned size)
{
	uint32_t tb = cpu->tr.base, tl = cpu->tr.limit, off, bits;
	unsigned type = cpu->tr.attr & 0x1f;

	if (!cpu->pmode || (!cpu->v86 && cpu->cpl <= iopl(cpu)))
		return;
	if ((type != 9 && type != 11) || tl < 0x67)
		raise_gp0(cpu);
	off = sys_read(cpu, tb + 0x66, 2) + port / 8u;
	if ((uint64_t)off + 1 > tl)
		raise_gp0(cpu);
	bits = sys_read(cpu, tb + off, 2) >> (port & 7);
	if (bits & ((1u << size) - 1))
		raise_gp0(cpu);
}

static uint32_t areg(const struct x86cpu *cpu, unsigned r)
{
	return cpu->in.adsz == 4 ? cpu->gpr[r] : cpu->gpr[r] & 0xffff;
}

static void areg_add(struct x86cpu *cpu, unsigned r, int32_t d)
{
	reg_write(cpu, r, cpu->in.adsz, cpu->gpr[r] + (uint32_t)d);
}

/* REP INS/OUTS in one bus call when the buffer is RAM; returns items done. */
static uint32_t pio_fast(struct x86cpu *cpu, bool in, uint16_t port, unsigned size, uint32_t count,
			 int s, unsigned idx)
{
	bool df = cpu->eflags & F_DF;
	uint32_t off = areg(cpu, idx);
	uint32_t la = seg_addr(cpu, s, off, size, in);
	uint64_t gpa;
	uint32_t n, pg = la & 0xfff;

	if (!cpu->bus.pio_string || pg + size > 4096)
		return 0;
	gpa = x86_translate(cpu, la, in, cpu->user, false);
	if (!cpu->bus.map_page(cpu->bus.opaque, gpa & ~0xfffull, in))
		return 0;
	n = df ? pg / size + 1 : (4096 - pg) / size;
	if (n > count)
		n = count;
	/* the whole run must stay inside the segment, without address wrap */
	uint32_t lo = df ? off - (n - 1) * size : off;
	uint64_t amax = cpu->in.adsz == 4 ? 0xffffffffull : 0xffff;
	if ((df && lo > off) || (uint64_t)lo + (uint64_t)n * size - 1 > amax)
		return 0;
	seg_addr(cpu, s, lo, n * size, in);
	cpu->bus.pio_string(cpu->bus.opaque, port, size, in, gpa, n, df);
	areg_add(cpu, idx, (df ? -1 : 1) * (int32_t)(n * size));
	return n;
}

/*
 * n items of size bytes, each v, at d: REP STOS's bulk.  Constant-size
 * stores, so the compiler makes a loop of moves, not a memcpy call per item.
 */
static void fill(uint8_t *d, uint32_t v, unsigned size, uint32_t n)
{
	uint32_t byte = v & 0xff;

	if (size == 1 || v == byte * (size == 2 ? 0x0101u : 0x01010101u)) {
		memset(d, (int)byte, (size_t)n * size); /* clear_page, clear_user: v = 0 */
		return;
	}
	if (size == 2) {
		uint16_t h = (uint16_t)v;

		for (uint32_t i = 0; i < n; i++)
			memcpy(d + 2 * i, &h, 2);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		memcpy(d + 4 * i, &v, 4);
}

/*
 * REP MOVS/STOS going up through RAM: whole runs inside one source and one
 * destination page at a time.  Returns items done (0: take the slow path).
 */
static uint32_t bulk_fwd(struct x86cpu *cpu, uint8_t op, unsigned size, int s, uint32_t count)
{
	bool movs = op <= 0xa5;
	uint32_t di = areg(cpu, R_EDI), si = areg(cpu, R_ESI), n = count;
	uint32_t amax = cpu->in.adsz == 4 ? 0xffffffffu : 0xffff;
	uint8_t *d, *src = NULL;

	if (cpu->eflags & F_DF)
		return 0;
	uint32_t dla = seg_addr(cpu, S_ES, di, size, true);
	if (n > (4096 - (dla & 0xfff)) / size)
		n = (4096 - (dla & 0xfff)) / size;
	if (movs) {
		uint32_t sla = seg_addr(cpu, s, si, size, false);
		if (n > (4096 - (sla & 0xfff)) / size)
			n = (4096 - (sla & 0xfff)) / size;
		if (n < 2 || (uint64_t)si + n * size - 1 > amax)
			return 0;
		seg_addr(cpu, s, si, n * size, false);
		src = x86_host_ptr(cpu, sla, false);
		if (!src)
			return 0;
	}
	if (n < 2 || (uint64_t)di + n * size - 1 > amax)
		return 0;
	seg_addr(cpu, S_ES, di, n * size, true);
	d = x86_host_ptr(cpu, dla, true);
	if (!d)
		return 0;
	if (movs) {
		/* forward copy semantics: an overlapping destination just ahead replicates */
		if (d > src && d < src + n * size)
			return 0;
		memmove(d, src, n * size);
		reg_write(cpu, R_ESI, cpu->in.adsz, si + n * size);
	} else {
		fill(d, reg_read(cpu, R_EAX, size), size, n);
	}
	reg_write(cpu, R_EDI, cpu->in.adsz, di + n * size);
	return n;
}

static bool string_once(struct x86cpu *cpu, uint8_t op, unsigned size, int s, int32_t delta)
{
	uint32_t a, b;
	uint16_t port = (uint16_t)cpu->gpr[R_EDX];

	switch (op) {
	case 0x6c:
	case 0x6d: {
		uint32_t la = seg_addr(cpu, S_ES, areg(cpu, R_EDI), size, true);
		x86_lin_touch_write(cpu, la, size, cpu->user);
		a = cpu->bus.pio_in(cpu->bus.opaque, port, size);
		lin_write(cpu, la, a, size, cpu->user);
		areg_add(cpu, R_EDI, delta);
		return false;
	}
	case 0x6e:
	case 0x6f:
		a = seg_read(cpu, s, areg(cpu, R_ESI), size);
		cpu->bus.pio_out(cpu->bus.opaque, port, a, size);
		areg_add(cpu, R_ESI, delta);
		return false;
	case 0xa4:
	case 0xa5:
		a = seg_read(cpu, s, areg(cpu, R_ESI), size);
		seg_write(cpu, S_ES, areg(cpu, R_EDI), a, size);
		areg_add(cpu, R_ESI, delta);
		areg_add(cpu, R_EDI, delta);
		return false;
	case 0xa6:
	case 0xa7:
		a = seg_read(cpu, s, areg(cpu, R_ESI), size);
		b = seg_read(cpu, S_ES, areg(cpu, R_EDI), size);
		alu_arith(cpu, 7, a, b, size);
		areg_add(cpu, R_ESI, delta);
		areg_add(cpu, R_EDI, delta);
		return true;
	case 0xaa:
	case 0xab:
		seg_write(cpu, S_ES, areg(cpu, R_EDI), reg_read(cpu, R_EAX, size), size);
		areg_add(cpu, R_EDI, delta);
		return false;
	case 0xac:
	case 0xad:
		reg_write(cpu, R_EAX, size, seg_read(cpu, s, areg(cpu, R_ESI), size));
		areg_add(cpu, R_ESI, delta);
		return false;
	default: /* SCAS */
		b = seg_read(cpu, S_ES, areg(cpu, R_EDI), size);
		alu_arith(cpu, 7, reg_read(cpu, R_EAX, size), b, size);
		areg_add(cpu, R_EDI, delta);
		return true;
	}
}

void x86_string(struct x86cpu *cpu, uint8_t op)
{
	struct insn *in = &cpu->in;
	unsigned size = (op & 1) ? in->opsz : 1;
	int s = in->seg >= 0 ? in->seg : S_DS;
	int32_t delta = (cpu->eflags & F_DF) ? -(int32_t)size : (int32_t)size;
	bool is_io = op >= 0x6c && op <= 0x6f;
	uint32_t count;

	if (is_io)
		x86_io_check(cpu, (uint16_t)cpu->gpr[R_EDX], size);
	if (!in->rep) {
		string_once(cpu, op, size, s, delta);
		return;
	}
	count = areg(cpu, R_ECX);
	for (unsigned i = 0; i < REP_CHUNK && count; i++) {
		if ((op <= 0xa5 && op >= 0xa4) || op == 0xaa || op == 0xab) {
			uint32_t n = count > 1 ? bulk_fwd(cpu, op, size, s, count) : 0;
			if (n) {
				count -= n;
				reg_write(cpu, R_ECX, in->adsz, count);
				continue;
			}
		}
		if (is_io && count > 1) {
			bool in_dir = op < 0x6e;
			uint32_t n = pio_fast(cpu, in_dir, (uint16_t)cpu->gpr[R_EDX], size, count,
					      in_dir ? S_ES : s, in_dir ? R_EDI : R_ESI);
			if (n) {
				count -= n;
				reg_write(cpu, R_ECX, in->adsz, count);
				continue;
			}
		}
		bool cmp = string_once(cpu, op, size, s, delta);
		count--;
		reg_write(cpu, R_ECX, in->adsz, count);
		if (cmp) {
			bool zf = cpu->eflags & F_ZF;
			if ((in->rep == 0xf3 && !zf) || (in->rep == 0xf2 && zf))
				return;
		}
	}
	if (count)
		cpu->eip = cpu->insn_eip; /* resume later; lets interrupts in */
}
