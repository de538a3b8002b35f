/* SPDX-License-Identifier: MIT */
/*
 * cpu.h - internal state and helpers of the software x86 CPU (x86cpu.h is
 * the public API).  The CPU is an interpreter: each instruction is decoded
 * from guest memory through a software TLB and executed at once.  Faults
 * unwind the instruction with longjmp() back to the run loop, which delivers
 * the exception (Intel SDM vol. 3, chapter 6).
 */
#ifndef X86CPU_INTERNAL_H
#define X86CPU_INTERNAL_H

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "x86cpu.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

enum {
	R_EAX,
	R_ECX,
	R_EDX,
	R_EBX,
	R_ESP,
	R_EBP,
	R_ESI,
	R_EDI
};
enum {
	S_ES,
	S_CS,
	S_SS,
	S_DS,
	S_FS,
	S_GS
};

#define F_CF 0x1u
#define F_PF 0x4u
#define F_AF 0x10u
#define F_ZF 0x40u
#define F_SF 0x80u
#define F_TF 0x100u
#define F_IF 0x200u
#define F_DF 0x400u
#define F_OF 0x800u
#define F_IOPL 0x3000u
#define F_NT 0x4000u
#define F_RF 0x10000u
#define F_VM 0x20000u
#define F_AC 0x40000u
#define F_VIF 0x80000u
#define F_VIP 0x100000u
#define F_ID 0x200000u
#define FL_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

#define CR0_PE 0x1u
#define CR0_MP 0x2u
#define CR0_EM 0x4u
#define CR0_TS 0x8u
#define CR0_ET 0x10u
#define CR0_NE 0x20u
#define CR0_WP 0x10000u
#define CR0_AM 0x40000u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR0_PG 0x80000000u

#define CR4_VME 0x1u
#define CR4_PVI 0x2u
#define CR4_TSD 0x4u
#define CR4_DE 0x8u
#define CR4_PSE 0x10u
#define CR4_PAE 0x20u
#define CR4_MCE 0x40u
#define CR4_PGE 0x80u
#define CR4_PCE 0x100u
#define CR4_OSFXSR 0x200u
#define CR4_OSXMMEXCPT 0x400u

/* Segment attribute bits (descriptor bits 40-47, 52-55 as in x86cpu.h). */
#define SA_A 0x1u
#define SA_RW 0x2u /* readable code / writable data */
#define SA_EC 0x4u /* expand-down data / conforming code */
#define SA_CODE 0x8u
#define SA_S 0x10u
#define SA_P 0x80u
#define SA_DB 0x400u
#define SA_G 0x800u
#define SA_DPL(a) (((a) >> 5) & 3)

/* Exception vectors (SDM vol. 3, table 6-1). */
enum {
	EXC_DE = 0,
	EXC_DB = 1,
	EXC_NMI = 2,
	EXC_BP = 3,
	EXC_OF = 4,
	EXC_BR = 5,
	EXC_UD = 6,
	EXC_NM = 7,
	EXC_DF = 8,
	EXC_TS = 10,
	EXC_NP = 11,
	EXC_SS = 12,
	EXC_GP = 13,
	EXC_PF = 14,
	EXC_MF = 16,
	EXC_AC = 17,
	EXC_MC = 18,
};

#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)

/*
 * One software TLB entry: linear page -> host pointer.  vpn_r/vpn_w are the
 * linear page numbers valid for reads and writes (~0 when not valid); host is
 * NULL for MMIO, which always takes the slow path.  The guest-physical page
 * lives beside the TLB (tlb_gpa()), keeping an entry at 32 bytes.
 */
struct tlb_ent {
	uint32_t vpn_r, vpn_w;
	uint8_t *host;
	/* host - the linear page (wrapping): the JIT's probe adds the address to it */
	uintptr_t add;
	uint32_t vpn_rh; /* vpn_r when host is set (RAM), else ~0u: native reads probe it */
	bool global;
	bool listed; /* in x86cpu.tlb_used */
	/* with vpn_r: an MMIO page this translation may write (no walk again) */
	bool mmio_w;
};

/*
 * Decode cache (decode.c): one entry per instruction start, direct-mapped by
 * guest-physical address.  An entry keeps the instruction's bytes, its
 * prefixes and its ModRM/SIB address recipe, so that a hit skips the prefix
 * loop, the per-byte fetch checks and the ModRM parse.  Entries are checked
 * against the bytes now in memory on every use: stores by this CPU, by other
 * vCPUs, REP MOVS and device DMA all make a changed instruction miss, with
 * no store-path hook to forget.  Instructions crossing a page or the CS
 * limit, and code in MMIO, are never cached.
 */
#define DC_BITS 18
#define DC_SIZE (1u << DC_BITS)
#define DC_NOREG 8     /* gpr[8] is always 0: the missing base or index */
#define JIT_RS_SIZE 16 /* return sites remembered (jit.c) */

/*
 * 32 bytes, two per cache line: the table is walked once per instruction and
 * its footprint, not the arithmetic, is what costs on large code.
 */
struct dc_ent {
	union {
		uint8_t b[16];
		uint64_t q[2];
	} bytes;
	uint32_t key; /* gpa >> 12 << 2 | code32 << 1 | 1; 0 = empty */
	uint32_t disp;
	uint8_t fn;    /* handler index (dcache.c), 0: the generic decoder */
	uint8_t len;   /* bytes */
	uint8_t op_at; /* offset of the opcode byte (after prefixes) */
	uint8_t op;
	uint8_t modrm;
	uint8_t regs;	/* address base | index << 4 (DC_NOREG: none) */
	uint8_t sseg;	/* scale | ea_seg << 2 | (adsz == 4) << 5 */
	uint8_t ea_pos; /* offset of ModRM (0: none decoded) | its length << 4 */
};

/* A ModRM memory operand: base + (index << scale) + disp, truncated to adsz. */
struct ea_recipe {
	uint32_t disp;
	uint8_t modrm, base, index, scale, ea_seg, adsz;
};

enum {
	DC_OFF,	   /* no entry: decode from memory */
	DC_REPLAY, /* executing from entry dcur */
	DC_BUILD,  /* decoding into entry dcur */
};

/* The instruction being executed. */
struct insn {
	uint8_t opsz, adsz; /* 2 or 4 */
	int8_t seg;	    /* override, or -1 */
	uint8_t rep;	    /* 0, 0xf2 or 0xf3 */
	bool lock;
	uint8_t mod, reg, rm;
	uint8_t ea_seg;
	uint32_t ea;
};

/* x87 state (SDM vol. 1, chapter 8). */
struct fpu {
	long double st[8];   /* physical registers R0-R7 */
	uint16_t cw, sw, tw; /* tw: full 2-bit tag word */
	uint16_t fop;
	uint32_t fip, fdp;
	uint16_t fcs, fds;
};

/* A set of 4 KiB pages of the linear address space, cleared in time to its size. */
struct vpn_set {
	uint64_t any[1u << 8];	 /* bit w: page[w] is not 0 */
	uint64_t page[1u << 14]; /* bit vpn */
};

struct x86cpu {
	/*
	 * First the fields translated code uses (jit.c): all within 256 bytes
	 * of the start, so that its [rbx + disp8] reaches them (rbx points
	 * CPU_BIAS bytes in).  jit.c asserts where the last one ends.
	 */
	uint32_t gpr[9]; /* gpr[DC_NOREG] stays 0 */
	uint32_t eip, eflags;
	struct x86_seg seg[6];
	uint32_t insn_eip, insn_esp;
	uint32_t jit_done; /* instructions a running block has finished */
	uint32_t jit_limit; /* a chained block starts only with instructions done <= this (0: poll) */
	uint32_t jit_rsp;   /* the newest jit_rs entry, in bytes */
	/* the fetch page: a jump between blocks copies these 28 bytes in one go (jit.c) */
	uint8_t *fetch_host;
	uint64_t fetch_gpa;
	uint32_t fetch_vpn;
	/* the fetch page's decode-cache key and slot base (dc_key, dc_slot) */
	uint32_t fetch_key, fetch_slot;
	struct jit_link *jit_exit; /* the exit the last block left through */
	uint8_t jit_unflat;	   /* segments not flat now, for blocks (see jit.c) */
	bool smc;		   /* a store hit the fetch page: ends the running block */
	bool poll;		   /* re-check interrupts before the next instruction */
	bool user;		   /* CPL 3: the TLB in use (derived, see below) */

	struct x86_bus bus;
	unsigned index;

	struct x86_seg ldtr, tr;
	uint32_t gdt_base, gdt_limit, idt_base, idt_limit;
	uint32_t cr0, cr2, cr3, cr4;
	uint32_t dr[8];
	uint64_t efer;

	/* Derived mode state, refreshed by x86_mode_changed(). */
	unsigned cpl;
	bool pmode, v86, code32, stack32; /* and user, above */
	uint8_t segok[6];		  /* bit0 readable, bit1 writable without slow checks */
	uint32_t seg_gen; /* goes up with every segment load (x86_update_seg_ok()) */

	struct insn in;
	/* bytes of the current instruction: ibuf[0, iavail) is at insn_eip */
	const uint8_t *ibuf;
	uint32_t iavail;
	uint32_t ilen; /* bytes fetched so far; DC_POISON after a slow fetch */
	int dmode;
	struct dc_ent *dcur;

	struct tlb_ent tlb[2][TLB_SIZE]; /* [user] */
	uint64_t tlb_gpa[2 * TLB_SIZE];	 /* each entry's guest-physical page */
	/* entries filled since the last flush, so a flush touches only those */
	uint16_t tlb_used[2 * TLB_SIZE];
	unsigned tlb_nused;
	/*
	 * Goes up by 2 whenever a translation of any code page may have
	 * changed (x86_fetch_forget()); bit 0 is user.  Jumps between blocks
	 * in different pages (jit.c) keep the value they were linked under.
	 */
	uint64_t fetch_tag;
	/*
	 * The same for translations of global pages (the kernel's, with
	 * CR4.PGE): a CR3 reload keeps those, so links to a page whose
	 * translation is global compare this one and survive process switches.
	 */
	uint64_t fetch_gtag;
	/*
	 * Pages with a link under fetch_gtag, or under fetch_tag, since that
	 * tag last went up: an INVLPG of a page no link leads to (a COW fault's
	 * data page) leaves the links alone.  A bit per page: with one per VPN
	 * mod 4096, most user-page INVLPGs hit a bit of the kernel's code and
	 * broke every kernel link (3.6K relinks per process spawn).
	 */
	struct vpn_set glinked, linked;

	jmp_buf jb;
	int exc_vec;
	uint32_t exc_err;
	bool exc_has_err;
	int delivering; /* vector being delivered, or -1 */
	bool in_ext;	/* delivering an external event (EXT bit in error codes) */
	int last_exc;	/* last exception delivered (for tests), -1 none */

	uint64_t icount;
	uint64_t budget_end;
	atomic_int kick;
	atomic_int nmi_pending;
	bool nmi_blocked;
	bool shadow, shadow_next;
	bool halted;
	bool shutdown;

	uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t pat, misc_enable, mtrr_def, mtrr_cap, tsc_offset, apic_base;
	uint64_t tsc_adjust; /* IA32_TSC_ADJUST: what WRMSRs added to the TSC */
	uint64_t mtrr_fixed[11], mtrr_var[16];
	uint32_t cpuid_edx, cpuid_ecx;

	struct fpu fpu;
	uint32_t mxcsr;

	struct dc_ent dc[DC_SIZE];
	struct dc_ent dc_scratch; /* decodes that do not evict a resident entry */
	unsigned dc_conflicts;

	struct jit *jit; /* block translator (jit.c), NULL when off */
	/*
	 * Per page of bus.ram (codewatch.c), NULL when not watched: bit 0 set
	 * while blocks are made from the page, the rest counts its changes;
	 * and how often CPU stores ended the watch.  Allocated by jit.c next
	 * to its code, which reads code_gen RIP-relative.
	 */
	uint32_t *code_gen;
	uint8_t *code_wr;
	uint32_t written_seen; /* *bus.written_seq when written_bitmap was last read */
	/* links to the return sites of the last calls blocks made (jit.c), a ring */
	struct jit_link *jit_rs[JIT_RS_SIZE];
};

/* codewatch.c */
long x86_code_page(const struct x86cpu *cpu, const uint8_t *host);
uint32_t x86_code_watch(struct x86cpu *cpu, uint64_t gpa, const uint8_t *host);
bool x86_code_watched(const struct x86cpu *cpu, const uint8_t *host);
void x86_code_written(struct x86cpu *cpu, const uint8_t *host, size_t len);
void x86_code_sync(struct x86cpu *cpu);
void x86_code_forget_writes(struct x86cpu *cpu);

/* exec.c */
void x86_mode_changed(struct x86cpu *cpu);
void x86_update_seg_ok(struct x86cpu *cpu, int s);

/* intr.c */
__attribute__((noreturn)) void x86_raise(struct x86cpu *cpu, int vec, uint32_t err, bool has_err);
#define raise_ud(cpu) x86_raise(cpu, EXC_UD, 0, false)
#define raise_gp(cpu, e) x86_raise(cpu, EXC_GP, (e), true)
#define raise_gp0(cpu) x86_raise(cpu, EXC_GP, 0, true)
void x86_deliver(struct x86cpu *cpu, int vec, bool soft, bool has_err, uint32_t err,
		 uint32_t next_eip);
void x86_handle_exception(struct x86cpu *cpu);
void x86_iret(struct x86cpu *cpu);
void x86_task_switch(struct x86cpu *cpu, uint16_t sel, int reason, bool has_err, uint32_t err);
enum {
	TS_JMP,
	TS_CALL,
	TS_IRET,
	TS_INT
};

/*
 * Look at interrupts and other events before the next instruction.  The
 * zero chain limit also ends a run of chained blocks (jit.c) at the next
 * block's entry, whose limit check covers both.
 */
static inline void x86_set_poll(struct x86cpu *cpu)
{
	cpu->poll = true;
	cpu->jit_limit = 0;
}

/*
 * Could an event be taken now that IF is set: a kick, an NMI, or an
 * interrupt the chips hold for this vCPU (a cheap look, see
 * irqchip_pending())?  When none is, setting IF needs no poll: an interrupt
 * that comes later kicks the vCPU, as one does while IF is already set.
 */
static inline bool x86_event_waiting(struct x86cpu *cpu)
{
	return atomic_load_explicit(&cpu->kick, memory_order_relaxed) ||
	       atomic_load_explicit(&cpu->nmi_pending, memory_order_relaxed) ||
	       (cpu->bus.intr_pending && cpu->bus.intr_pending(cpu->bus.opaque) >= 0);
}

static inline void vpn_set_add(struct vpn_set *s, uint32_t vpn)
{
	vpn &= (1u << 20) - 1;
	s->page[vpn >> 6] |= 1ull << (vpn & 63);
	s->any[vpn >> 12] |= 1ull << ((vpn >> 6) & 63);
}

static inline bool vpn_set_has(const struct vpn_set *s, uint32_t vpn)
{
	vpn &= (1u << 20) - 1;
	return s->page[vpn >> 6] >> (vpn & 63) & 1;
}

static inline void vpn_set_clear(struct vpn_set *s)
{
	for (unsigned i = 0; i < (1u << 8); i++) {
		for (uint64_t m = s->any[i]; m; m &= m - 1)
			s->page[i << 6 | (unsigned)__builtin_ctzll(m)] = 0;
		s->any[i] = 0;
	}
}

/* The fetch page must be looked up again, and every link between pages made so far. */
static inline void x86_fetch_forget(struct x86cpu *cpu)
{
	cpu->fetch_vpn = ~0u;
	cpu->fetch_tag += 2;
	cpu->fetch_gtag += 2;
	vpn_set_clear(&cpu->glinked);
	vpn_set_clear(&cpu->linked);
}

/* As x86_fetch_forget() when only non-global translations went (a CR3 reload). */
static inline void x86_fetch_forget_local(struct x86cpu *cpu)
{
	cpu->fetch_vpn = ~0u;
	cpu->fetch_tag += 2;
	vpn_set_clear(&cpu->linked);
}

/* After an INVLPG of page vpn: only links that may lead there go. */
static inline void x86_fetch_forget_page(struct x86cpu *cpu, uint32_t vpn)
{
	if (vpn_set_has(&cpu->glinked, vpn))
		x86_fetch_forget(cpu);
	else if (vpn_set_has(&cpu->linked, vpn))
		x86_fetch_forget_local(cpu);
	else
		cpu->fetch_vpn = ~0u;
}

/* exec.c */
void *x86_huge_alloc(size_t size);
void x86_huge_free(void *p, size_t size);

/* mmu.c */
void x86_tlb_init(struct x86cpu *cpu);
void x86_tlb_flush(struct x86cpu *cpu, bool global);
void x86_tlb_flush_page(struct x86cpu *cpu, uint32_t la);
uint32_t x86_lin_read_slow(struct x86cpu *cpu, uint32_t la, unsigned size, bool user, bool exec);
void x86_lin_write_slow(struct x86cpu *cpu, uint32_t la, uint32_t val, unsigned size, bool user);
void x86_lin_touch_write(struct x86cpu *cpu, uint32_t la, unsigned size, bool user);
uint64_t x86_translate(struct x86cpu *cpu, uint32_t la, bool write, bool user, bool exec);
uint8_t *x86_fetch_page(struct x86cpu *cpu, uint32_t la, uint64_t *gpa);
uint8_t *x86_host_ptr(struct x86cpu *cpu, uint32_t la, bool write);
uint32_t x86_seg_check(struct x86cpu *cpu, int s, uint32_t off, unsigned size, bool write);
uint64_t x86_phys_read(struct x86cpu *cpu, uint64_t gpa, unsigned size);
void x86_phys_write(struct x86cpu *cpu, uint64_t gpa, uint64_t val, unsigned size);

static inline uint32_t ld(const uint8_t *p, unsigned size)
{
	uint32_t v = 0;
	memcpy(&v, p, size);
	return v;
}

static inline void st(uint8_t *p, uint32_t v, unsigned size)
{
	memcpy(p, &v, size);
}

/* The guest-physical page of TLB entry e. */
static inline uint64_t *tlb_gpa(struct x86cpu *cpu, const struct tlb_ent *e)
{
	return &cpu->tlb_gpa[e - &cpu->tlb[0][0]];
}

static inline uint32_t lin_read(struct x86cpu *cpu, uint32_t la, unsigned size, bool user)
{
	struct tlb_ent *e = &cpu->tlb[user][(la >> 12) & (TLB_SIZE - 1)];
	if (likely(e->vpn_r == (la >> 12) && e->host && (la & 0xfff) + size <= 4096))
		return ld(e->host + (la & 0xfff), size);
	return x86_lin_read_slow(cpu, la, size, user, false);
}

static inline void lin_write(struct x86cpu *cpu, uint32_t la, uint32_t v, unsigned size, bool user)
{
	struct tlb_ent *e = &cpu->tlb[user][(la >> 12) & (TLB_SIZE - 1)];
	if (likely(e->vpn_w == (la >> 12) && (la & 0xfff) + size <= 4096)) {
		st(e->host + (la & 0xfff), v, size);
		if (unlikely(e->host == cpu->fetch_host))
			cpu->smc = true;
		return;
	}
	x86_lin_write_slow(cpu, la, v, size, user);
}

/* System-structure accesses (GDT, IDT, TSS) are made with supervisor rights. */
static inline uint32_t sys_read(struct x86cpu *cpu, uint32_t la, unsigned size)
{
	return lin_read(cpu, la, size, false);
}

static inline void sys_write(struct x86cpu *cpu, uint32_t la, uint32_t v, unsigned size)
{
	lin_write(cpu, la, v, size, false);
}

static inline uint32_t seg_addr(struct x86cpu *cpu, int s, uint32_t off, unsigned size, bool write)
{
	const struct x86_seg *sg = &cpu->seg[s];
	if (likely((cpu->segok[s] & (1u << write)) && (uint64_t)off + size - 1 <= sg->limit))
		return sg->base + off;
	return x86_seg_check(cpu, s, off, size, write);
}

static inline uint32_t seg_read(struct x86cpu *cpu, int s, uint32_t off, unsigned size)
{
	return lin_read(cpu, seg_addr(cpu, s, off, size, false), size, cpu->user);
}

static inline void seg_write(struct x86cpu *cpu, int s, uint32_t off, uint32_t v, unsigned size)
{
	lin_write(cpu, seg_addr(cpu, s, off, size, true), v, size, cpu->user);
}

/* Read for a read-modify-write: fault as a write before anything changes. */
static inline uint32_t seg_read_rmw(struct x86cpu *cpu, int s, uint32_t off, unsigned size)
{
	uint32_t la = seg_addr(cpu, s, off, size, true);
	struct tlb_ent *e = &cpu->tlb[cpu->user][(la >> 12) & (TLB_SIZE - 1)];
	if (likely(e->vpn_w == (la >> 12) && (la & 0xfff) + size <= 4096))
		return ld(e->host + (la & 0xfff), size);
	x86_lin_touch_write(cpu, la, size, cpu->user);
	return lin_read(cpu, la, size, cpu->user);
}

static inline uint32_t szmask(unsigned size)
{
	return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

static inline uint32_t szmsb(unsigned size)
{
	return 1u << (size * 8 - 1);
}

static inline uint32_t reg_read(const struct x86cpu *cpu, unsigned r, unsigned size)
{
	if (size == 1)
		return r < 4 ? cpu->gpr[r] & 0xff : (cpu->gpr[r - 4] >> 8) & 0xff;
	return size == 2 ? cpu->gpr[r] & 0xffff : cpu->gpr[r];
}

static inline void reg_write(struct x86cpu *cpu, unsigned r, unsigned size, uint32_t v)
{
	if (size == 4)
		cpu->gpr[r] = v;
	else if (size == 2)
		cpu->gpr[r] = (cpu->gpr[r] & 0xffff0000u) | (v & 0xffff);
	else if (r < 4)
		cpu->gpr[r] = (cpu->gpr[r] & 0xffffff00u) | (v & 0xff);
	else
		cpu->gpr[r - 4] = (cpu->gpr[r - 4] & 0xffff00ffu) | ((v & 0xff) << 8);
}

static inline void set_flags(struct x86cpu *cpu, uint32_t f, uint32_t mask)
{
	cpu->eflags = (cpu->eflags & ~mask) | (f & mask);
}

static inline uint32_t iopl(const struct x86cpu *cpu)
{
	return (cpu->eflags >> 12) & 3;
}

/* Stack pointer as the current stack size sees it. */
static inline uint32_t sp_get(const struct x86cpu *cpu)
{
	return cpu->stack32 ? cpu->gpr[R_ESP] : cpu->gpr[R_ESP] & 0xffff;
}

static inline void sp_set(struct x86cpu *cpu, uint32_t v)
{
	if (cpu->stack32)
		cpu->gpr[R_ESP] = v;
	else
		cpu->gpr[R_ESP] = (cpu->gpr[R_ESP] & 0xffff0000u) | (v & 0xffff);
}

void x86_push(struct x86cpu *cpu, uint32_t v, unsigned size);
uint32_t x86_pop(struct x86cpu *cpu, unsigned size);

/* alu.c */
extern const uint8_t x86_parity[256];

/* SF/ZF/PF of a result; inline because almost every ALU instruction needs it. */
static inline uint32_t alu_szp(uint32_t r, unsigned size)
{
	uint32_t f = x86_parity[r & 0xff];

	r &= szmask(size);
	if (!r)
		f |= F_ZF;
	if (r & szmsb(size))
		f |= F_SF;
	return f;
}

uint32_t alu_arith(struct x86cpu *cpu, unsigned op, uint32_t a, uint32_t b, unsigned size);
uint32_t alu_inc(struct x86cpu *cpu, uint32_t a, unsigned size);
uint32_t alu_dec(struct x86cpu *cpu, uint32_t a, unsigned size);
uint32_t alu_shift(struct x86cpu *cpu, unsigned op, uint32_t a, unsigned count, unsigned size);
/* CMPXCHG8B on the dwords at ea and ea_hi of segment seg (decode0f.c). */
void x86_cmpxchg8b(struct x86cpu *cpu, int seg, uint32_t ea, uint32_t ea_hi);
uint32_t alu_shld(struct x86cpu *cpu, uint32_t a, uint32_t b, unsigned count, unsigned size);
uint32_t alu_shrd(struct x86cpu *cpu, uint32_t a, uint32_t b, unsigned count, unsigned size);
void alu_group3(struct x86cpu *cpu, unsigned op, unsigned size);
void alu_muldiv(struct x86cpu *cpu, unsigned op, uint32_t v, unsigned size);
uint32_t alu_imul2(struct x86cpu *cpu, uint32_t a, uint32_t b, unsigned size);
void alu_bcd(struct x86cpu *cpu, uint8_t op);
bool cond_true(const struct x86cpu *cpu, unsigned cc);

/* decode.c */
void x86_step(struct x86cpu *cpu);
bool x86_fetch_set(struct x86cpu *cpu, uint32_t la);
uint32_t rm_read(struct x86cpu *cpu, unsigned size);
uint32_t rm_read_rmw(struct x86cpu *cpu, unsigned size);
void rm_write(struct x86cpu *cpu, unsigned size, uint32_t v);
uint8_t x86_fetch8_slow(struct x86cpu *cpu);

#define DC_POISON 0x100u

/*
 * Instruction fetch.  x86_step() points ibuf at the instruction's bytes,
 * already checked against the CS limit and the page end, so a fetch is an
 * index test; anything past iavail takes the slow path with full checks.
 */
static inline uint8_t fetch8(struct x86cpu *cpu)
{
	uint32_t n = cpu->eip - cpu->insn_eip;

	if (likely(n < cpu->iavail)) {
		cpu->eip++;
		cpu->ilen = n + 1;
		return cpu->ibuf[n];
	}
	return x86_fetch8_slow(cpu);
}

static inline uint16_t fetch16(struct x86cpu *cpu)
{
	uint32_t n = cpu->eip - cpu->insn_eip;

	if (likely(n + 2 <= cpu->iavail)) {
		cpu->eip += 2;
		cpu->ilen = n + 2;
		return (uint16_t)ld(cpu->ibuf + n, 2);
	}
	uint16_t lo = fetch8(cpu);
	return lo | (uint16_t)(fetch8(cpu) << 8);
}

static inline uint32_t fetch32(struct x86cpu *cpu)
{
	uint32_t n = cpu->eip - cpu->insn_eip;

	if (likely(n + 4 <= cpu->iavail)) {
		cpu->eip += 4;
		cpu->ilen = n + 4;
		return ld(cpu->ibuf + n, 4);
	}
	uint32_t lo = fetch16(cpu);
	return lo | ((uint32_t)fetch16(cpu) << 16);
}

uint8_t x86_dc_pick(const struct dc_ent *d, const struct insn *in);
void x86_dc_exec(struct x86cpu *cpu, const struct dc_ent *d);
void x86_dc_replay_generic(struct x86cpu *cpu, struct dc_ent *d);
unsigned x86_dc_run(struct x86cpu *cpu, unsigned n);

/*
 * Direct-mapped: the page offset xor a function of the page number, so the
 * slot and the page number (the key) together name one address.
 */
static inline struct dc_ent *dc_slot(struct x86cpu *cpu, uint64_t gpa)
{
	return &cpu->dc[(gpa ^ (gpa >> 12 << 5)) & (DC_SIZE - 1)];
}

static inline uint32_t dc_key(const struct x86cpu *cpu, uint64_t gpa)
{
	return (uint32_t)(gpa >> 12) << 2 | (uint32_t)cpu->code32 << 1 | 1;
}

/*
 * Do the cached bytes still match memory?  An entry holds the 16 bytes that
 * were at its address when it was built (fewer only at the page end), so
 * all 16 are compared without a length mask: a store just past a short
 * instruction costs a rebuild, never a stale hit.
 */
static inline bool dc_match(const struct dc_ent *d, const uint8_t *p, uint32_t off)
{
	uint64_t q[2];

	if (unlikely(off > 4096 - 16))
		return !memcmp(p, d->bytes.b, d->len);
	memcpy(q, p, 16);
	return !((q[0] ^ d->bytes.q[0]) | (q[1] ^ d->bytes.q[1]));
}

/* The slot of offset off in the current fetch page (see dc_slot()). */
static inline struct dc_ent *dc_fetch_slot(struct x86cpu *cpu, uint32_t off)
{
	return &cpu->dc[off ^ cpu->fetch_slot];
}
void x86_jump(struct x86cpu *cpu, uint32_t eip);

/* jit.c */
int x86_jit_create(struct x86cpu *cpu);
void x86_jit_destroy(struct x86cpu *cpu);
unsigned x86_jit_run(struct x86cpu *cpu, unsigned n);
/* The segment state blocks test on entry (cpu->jit_unflat), computed now. */
uint8_t x86_jit_unflat(const struct x86cpu *cpu);

/* string.c */
void x86_string(struct x86cpu *cpu, uint8_t op);
void x86_io_check(struct x86cpu *cpu, uint16_t port, unsigned size);

/* seg.c */
void x86_load_seg(struct x86cpu *cpu, int s, uint16_t sel);
void x86_load_seg_real(struct x86cpu *cpu, int s, uint16_t sel);
void x86_set_seg_desc(struct x86_seg *sg, uint16_t sel, uint64_t d);
bool x86_read_desc(struct x86cpu *cpu, uint16_t sel, uint64_t *d);
void x86_write_desc_hi(struct x86cpu *cpu, uint16_t sel, uint32_t hi);
void x86_far_jmp(struct x86cpu *cpu, uint16_t sel, uint32_t off);
void x86_far_call(struct x86cpu *cpu, uint16_t sel, uint32_t off);
void x86_far_ret(struct x86cpu *cpu, uint32_t imm);
void x86_load_cs_checked(struct x86cpu *cpu, uint16_t sel, uint64_t d, unsigned cpl);
void x86_group6(struct x86cpu *cpu);
void x86_group7(struct x86cpu *cpu);
void x86_lar_lsl(struct x86cpu *cpu, bool lsl);
void x86_arpl(struct x86cpu *cpu);
void x86_mov_cr(struct x86cpu *cpu, bool to_cr);
void x86_mov_dr(struct x86cpu *cpu, bool to_dr);
void x86_write_cr0(struct x86cpu *cpu, uint32_t v);
void x86_load_far_ptr(struct x86cpu *cpu, int s);

/* msr.c */
void x86_cpuid(struct x86cpu *cpu);
void x86_rdmsr(struct x86cpu *cpu);
void x86_wrmsr(struct x86cpu *cpu);
void x86_sysenter(struct x86cpu *cpu);
void x86_sysexit(struct x86cpu *cpu);
uint64_t x86_rdtsc(struct x86cpu *cpu);

/* fpu.c */
void x86_fpu_reset(struct x86cpu *cpu);
void x86_fpu_op(struct x86cpu *cpu, uint8_t op);
void x86_fwait(struct x86cpu *cpu);
void x86_fxsave(struct x86cpu *cpu, bool restore);

/* cross-file helpers */
void x86_decode_ea(struct x86cpu *cpu);
void x86_pop_sreg(struct x86cpu *cpu, int s);
void x86_exec_0f(struct x86cpu *cpu);
void x86_write_eflags(struct x86cpu *cpu, uint32_t v, uint32_t mask);
void x86_tss_stack(struct x86cpu *cpu, unsigned pl, uint16_t *ss, uint32_t *esp);
uint64_t x86_check_new_ss(struct x86cpu *cpu, uint16_t ss, unsigned pl, uint32_t ext);
uint32_t x86_push_frame(struct x86cpu *cpu, const struct x86_seg *sg, uint32_t esp,
			const uint32_t *v, unsigned n, unsigned size, bool user, uint32_t err);
uint64_t x86_check_ret_cs(struct x86cpu *cpu, uint16_t sel);
void x86_load_outer_ss(struct x86cpu *cpu, uint16_t sel, unsigned pl);
void x86_null_outer_segs(struct x86cpu *cpu);
void x86_load_ldt(struct x86cpu *cpu, uint16_t sel);

#endif /* X86CPU_INTERNAL_H */
