/* SPDX-License-Identifier: MIT */
/*
 * jit.c - block translation for the software CPU.  A run of decode-cache
 * entries with specialised handlers (straight-line code up to a branch, an
 * instruction that needs the generic decoder, an uncached instruction or
 * the page end) that has run JIT_HOT times becomes one piece of x86-64 host
 * code: common forms run natively (plan_of(), jit_plan.c), the others call their
 * handler.  The run loop then finds, checks and enters a block once instead
 * of doing the lookup, the byte check and a dispatch for every instruction;
 * direct jumps within a page chain blocks without the run loop.
 *
 * Blocks are named by linear EIP, the guest-physical page and the code
 * size; a block runs only if the guest bytes it was made from are still in
 * memory.  Where codewatch.c watches the page for writes (RAM, one vCPU),
 * its prologue compares the page's generation with the one it was made
 * under; elsewhere it compares the bytes themselves with immediates, so
 * that stores by any CPU and DMA need no invalidation hook.  A store by
 * the block itself to its own code page ends it after that instruction
 * (cpu->smc).  Guest state lives in struct x86cpu, except that a few
 * registers the block uses often are held in r8-r11 between handler calls
 * (regs_pick()), written back before every call and exit, and that the
 * arithmetic flags stay in ebp along a whole chain of blocks, put back into
 * EFLAGS before every call and every return to the run loop (flags_home()).
 * So a fault inside a block unwinds exactly as in the interpreter: every
 * path that can fault first records what x86_raise() rolls back to.
 *
 * When the code buffer fills, every block is dropped at once.
 */
#include <cpuid.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu.h"
#include "dcache.h"
#include "jit_x64.h"

#define JIT_CODE_SIZE (128u << 20) /* touched lazily; a Linux boot fills it about once */
/*
 * Blocks' rare paths (TLB misses, unlinked exits, stores to their own
 * page) go to the top part of the buffer, away from the code that runs:
 * a scrolling text console runs through some 3000 distinct blocks, whose
 * code together outgrew the host's L2 cache with the rare paths in between.
 */
#define JIT_COLD_START (80u << 20)
#define JIT_META_SIZE (128u << 20)
#define JIT_HASH_BITS 18
#define JIT_RECENT_BITS 16
#define JIT_MAX_INSNS 48
/* conditional jumps a block may go on past (side exits, see side_exit()) */
#define JIT_MAX_SIDE 8
#define STACK_GROUP_MAX 8  /* PUSHes or POPs one probe covers (emit_stack_group()) */
#define JIT_CHAIN_MAX 4096 /* instructions run through chained blocks before the run loop polls */
#define JIT_MAX_CODE 24576 /* host bytes one block may take (48 entries at worst ~330 each) */
/* a block cut short by an uncached entry is remade after 8, then 16 runs */
#define JIT_REFORM_HITS 8
#define JIT_REFORM_TRIES 2
/* runs through a block's instructions before they are translated */
#define JIT_HOT 8

/*
 * A block's entry from the run loop, through the stub at the start of the
 * code buffer (emit_enter()): runs the block at code, with guest its bytes
 * in host memory; returns instructions done, 0 when the block no longer
 * applies.
 */
typedef const uint8_t *jit_code;
typedef unsigned (*jit_enter)(struct x86cpu *cpu, jit_code code);

/*
 * Where one of a block's exits goes: the run loop fills it in with the
 * block it found next (link_set()).  An exit to the same page is a direct
 * jump (jmp, patched) with rsi from the current fetch page; a block remade
 * in place of a stale one takes over its old entry (redirect()).  An exit to another
 * page, a return and an indirect jump first check that no code-page
 * translation changed since (fetch_tag) and, unless the target is fixed,
 * that EIP is the one linked; they then make the target's page the fetch
 * page from the fields below (far_exit()).
 */
struct jit_link {
	uint8_t *chain; /* first: exits jump through [link] */
	/* an exit to the same page: the end of its jmp rel32, patched to the target */
	uint8_t *jmp;
	/* *tagp when linked (never matches before): cpu->fetch_gtag for a global page */
	uint64_t tag;
	const uint64_t *tagp;
	/* host, gpa, vpn, key, slot: the target's fetch state, copied as one (far_jump()) */
	uint8_t *host;
	uint64_t gpa;
	uint32_t vpn, key, slot;
	uint32_t eip;
};

struct jit_block {
	uint32_t eip;
	uint32_t key; /* the page's decode-cache key (gpa page, code32) */
	uint16_t off; /* page offset of the first byte */
	uint16_t nbytes;
	uint16_t ninsn;
	bool incomplete; /* ended at an uncached instruction: may grow later */
	bool cold;	 /* not translated yet: ninsn are interpreted, runs counted */
	uint8_t tries;
	uint16_t hits;
	jit_code code;	/* NULL: the first instruction needs the generic decoder */
	uint8_t *chain; /* entry for a jump from another block (see prologue()) */
	/* the chained entry of the translated block this one replaces (redirect()) */
	uint8_t *replaces;
	/*
	 * [0] the target, [1] the next instruction (JCC) or return site
	 * (calls) of the last entry; [2 + k] the target of the k-th
	 * conditional jump before it (side_exit()).  After ent[], in
	 * translated blocks only.
	 */
	struct jit_link *exit;
	uint8_t nexits;
	uint8_t *bytes; /* the guest bytes the block was made from */
	/* its page's word in cpu->code_gen and the value to find there, or NULL: compare bytes */
	const uint32_t *gen_at;
	uint32_t gen;
	struct dc_ent ent[];
};

/*
 * What the run loop needs to enter a translated block, with the tag that
 * identifies it, in one 32-byte entry: a hit touches no block metadata,
 * which lies scattered over JIT_META_SIZE and missed the cache on most
 * dispatches (half of the run loop's time in the display benchmark).
 */
enum {
	HOT_EMPTY,
	HOT_CODE,
	HOT_STEP,
	HOT_COLD
};

struct jit_hot {
	uint32_t eip;
	uint32_t key;
	uint16_t off;
	uint16_t ninsn;
	uint16_t nbytes;
	/* HOT_STEP: an instruction only the interpreter runs; HOT_COLD: a block being counted */
	uint8_t kind;
	uint8_t hits; /* HOT_COLD: runs counted here since the entry was made */
	union {
		struct {
			jit_code code;
			uint8_t *chain;
		};
		uint8_t bytes[16];	 /* HOT_STEP: the instruction, to notice a change */
		struct jit_block *block; /* HOT_COLD */
	};
};

struct jit {
	uint8_t *code;
	size_t code_used; /* the hot part: [0, JIT_COLD_START) */
	size_t cold_used; /* the rare paths: [JIT_COLD_START, JIT_CODE_SIZE) */
	uint8_t *meta;
	size_t meta_used;
	jit_enter enter; /* the stub at code[0, enter_size) */
	size_t enter_size;
	size_t watch_size; /* after the code: cpu->code_gen, code_wr (watch_size()) */
	FILE *perfmap;	   /* HVM_EMU_JIT=perfmap: /tmp/perf-PID.map for perf report */
	/* counters for HVM_EMU_JIT=stats (printed when the CPU goes away) */
	uint64_t runs, forms, stale, reforms, evicted, flushes, dispatches, hot_hits, watched;
	/* two ways per set, the one used last first */
	struct jit_block *map[1u << JIT_HASH_BITS][2];
	/* the last block seen at each EIP hash: small enough to stay in cache */
	struct jit_block *recent[1u << JIT_RECENT_BITS];
	/* the same slots for translated, complete blocks, entered from here */
	struct jit_hot hot[1u << JIT_RECENT_BITS];
};

/*
 * rbx points CPU_BIAS bytes into struct x86cpu, so that the fields at its
 * start (the registers, the fetch page, the chain state) are within a
 * signed byte of it: [rbx + disp8] is 3 bytes shorter than disp32.
 */
#define CPU_BIAS 0x80u
#define CPU_OFF(field) ((uint32_t)offsetof(struct x86cpu, field) - CPU_BIAS)
_Static_assert(offsetof(struct x86cpu, user) < 2 * CPU_BIAS, "the hot fields fit in disp8");
#define GPR(r) (CPU_OFF(gpr) + 4u * (r))

/* probe() scales the TLB index by shifts */
_Static_assert(sizeof(struct tlb_ent) == 32, "tlb_ent is 32 bytes");
_Static_assert(TLB_SIZE * sizeof(struct tlb_ent) == 1u << 15, "a TLB is 32 KiB");

/* ---- which handlers end a block, which may store ---- */

/*
 * Entries that may branch; FF /0, /1 and /6 (INC, DEC, PUSH) only compute.
 * And the plain instructions after which the run loop has work to do
 * (dcache.c, plain_last()).
 */
static bool ends_block(const struct dc_ent *d)
{
	switch (d->fn) {
	case DF_PLAIN_LAST:
	case DF_JCC8:
	case DF_JCC32:
	case DF_JMP8:
	case DF_JMP32:
	case DF_CALL32:
	case DF_RET:
	case DF_CROSS:
		return true;
	case DF_GRP5:
		return ((d->modrm >> 3) & 7) == 2 || ((d->modrm >> 3) & 7) == 4;
	default:
		return false;
	}
}

/*
 * A DF_PLAIN_LAST entry that keeps CS and the privilege level: everything
 * plain_last() ends a block with but IRET, SYSENTER and SYSEXIT.  Its block
 * leaves by a link when EIP is at the next instruction (last_exit()).
 */
static bool last_keeps_cs(const struct dc_ent *d)
{
	uint8_t op2 = d->bytes.b[d->op_at + 1];

	return d->fn == DF_PLAIN_LAST && d->op != 0xcf &&
	       !(d->op == 0x0f && (op2 == 0x34 || op2 == 0x35));
}

/* Handlers that never write guest memory (register forms, loads). */
static bool never_stores(const struct dc_ent *d)
{
	bool reg = (d->modrm >> 6) == 3;

	switch (d->fn) {
	case DF_ALU_R_RM_M:
	case DF_ALU_R_RM_R:
	case DF_ALU_RM_R_R:
	case DF_ALU_EAX_IMM:
	case DF_ALU_AL_IMM:
	case DF_GRP1_IMM32_R:
	case DF_GRP1_IMM8_R:
	case DF_MOV_LOAD_M:
	case DF_MOV_LOAD_R:
	case DF_MOV_LOAD8:
	case DF_MOV_STORE_R:
	case DF_MOV_IMM_R:
	case DF_MOV_IMM8_R:
	case DF_MOV16_LOAD:
	case DF_MOVX:
	case DF_IMUL:
	case DF_IMUL3:
	case DF_CMOV:
	case DF_LEA:
	case DF_INC:
	case DF_DEC:
	case DF_POP:
	case DF_LEAVE:
	case DF_NOP:
	case DF_SHIFT_R:
	case DF_TEST_R:
	case DF_TEST_M:
	case DF_TEST8:
	case DF_TEST_IMM:
	case DF_BSF:
	case DF_MULDIV:
		return true;
	case DF_SETCC:
	case DF_GRP3:
	case DF_GRP1_8:
	case DF_MOV_IMM8_RM:
	case DF_CMPXCHG:
	case DF_XADD:
	case DF_SHXD:
		return reg;
	case DF_BT_IMM:
		return reg || ((d->modrm >> 3) & 7) == 4; /* BT only reads */
	case DF_BT_R:
		return reg || d->bytes.b[d->op_at + 1] == 0xa3; /* BT only reads */
	case DF_MOV_MOFFS:
		return d->op == 0xa1;
	default:
		return false;
	}
}

/* ---- the block cache ---- */

static unsigned slot_of(uint32_t eip, uint32_t key)
{
	return ((eip ^ key * 0x9e3779b1u) * 0x85ebca6bu) >> (32 - JIT_HASH_BITS);
}

static unsigned recent_slot(uint32_t eip)
{
	return (eip ^ eip >> 12) & ((1u << JIT_RECENT_BITS) - 1);
}

/* The hot entry for b's EIP slot: b when it can be entered or is counted, else empty. */
static void hot_set(struct jit *j, struct jit_block *b)
{
	struct jit_hot *h = &j->hot[recent_slot(b->eip)];
	/* a generic instruction first: no code, nothing to count (see form()) */
	bool step = !b->ninsn && !b->cold;

	if (b->cold) {
		/* counted here until it is hot (see pick()) */
		*h = (struct jit_hot){ .eip = b->eip,
				       .key = b->key,
				       .off = b->off,
				       .ninsn = b->ninsn,
				       .nbytes = b->nbytes,
				       .kind = HOT_COLD,
				       .hits = (uint8_t)b->hits };
		h->block = b;
		return;
	}
	if (!step && (!b->code || b->incomplete)) {
		/* incomplete blocks count their runs in lookup() */
		if (h->eip == b->eip)
			h->kind = HOT_EMPTY;
		return;
	}
	if (step && b->nbytes > sizeof(h->bytes))
		return;
	*h = (struct jit_hot){ .eip = b->eip,
			       .key = b->key,
			       .off = b->off,
			       .ninsn = b->ninsn,
			       .nbytes = b->nbytes,
			       .kind = step ? HOT_STEP : HOT_CODE };
	if (step) {
		memcpy(h->bytes, b->bytes, b->nbytes);
	} else {
		h->code = b->code;
		h->chain = b->chain;
	}
}

/* A new block replaces whatever was found for its EIP before. */
static void remember(struct jit *j, struct jit_block *b)
{
	struct jit_block **set = j->map[slot_of(b->eip, b->key)];

	/* the block it replaces (same EIP and page), else the older way, goes */
	if (!(set[0] && set[0]->eip == b->eip && set[0]->key == b->key))
		set[1] = set[0];
	set[0] = b;
	j->recent[recent_slot(b->eip)] = b;
	hot_set(j, b);
}

static void flush_all(struct x86cpu *cpu, struct jit *j)
{
	/* the links they name go with the blocks */
	memset(cpu->jit_rs, 0, sizeof(cpu->jit_rs));
	memset(j->map, 0, sizeof(j->map));
	memset(j->recent, 0, sizeof(j->recent));
	memset(j->hot, 0, sizeof(j->hot));
	j->code_used = j->enter_size; /* the stub stays */
	j->cold_used = JIT_COLD_START;
	j->meta_used = 0;
	j->flushes++;
	x86_code_forget_writes(cpu);
}

static void *meta_alloc(struct jit *j, size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (j->meta_used + n > JIT_META_SIZE)
		return NULL;
	p = j->meta + j->meta_used;
	j->meta_used += n;
	return p;
}

/*
 * The cached entries from eip on in the current fetch page, as far as they
 * go (at most JIT_MAX_INSNS).  Returns how many; *incomplete says the run
 * stopped at an instruction not (yet) in the decode cache.
 */
static unsigned gather(struct x86cpu *cpu, uint32_t eip, uint32_t off, const struct dc_ent **out,
		       bool *incomplete)
{
	static const struct dc_ent cross = { .fn = DF_CROSS };
	uint32_t limit = cpu->seg[S_CS].limit;
	unsigned n = 0, side = 0;

	*incomplete = false;
	while (n < JIT_MAX_INSNS && off < 4096) {
		const struct dc_ent *d = dc_fetch_slot(cpu, off);
		if (d->key != cpu->fetch_key || off + d->len > 4096 ||
		    !dc_match(d, cpu->fetch_host + off, off)) {
			*incomplete = true;
			/* one that may cross into the next page never gets an entry */
			if (off > 4096 - 15 && eip <= limit)
				out[n++] = &cross;
			break;
		}
		if ((uint64_t)eip + d->len - 1 > limit)
			break;
		out[n++] = d;
		/* on past a conditional jump, whose taken path is a side exit */
		if ((d->fn == DF_JCC8 || d->fn == DF_JCC32) && side < JIT_MAX_SIDE)
			side++;
		else if (!d->fn || ends_block(d))
			break;
		off += d->len;
		eip += d->len;
	}
	return n;
}

/* ---- host code for a block ---- */

#include "jit_plan.h"

/* Forward jumps to one label, patched together. */
struct fwd {
	uint8_t *at[4];
	unsigned n;
};

/*
 * A path the block rarely takes (a TLB miss's handler call, the exit after
 * a store to the fetch page), emitted after the block's last exit so that
 * the code a block runs every time stays dense: with the slow paths inline
 * a block took some 190 host bytes per guest instruction, and kernel paths
 * that run once per fork or exec missed the host's caches on most of them.
 */
struct rare {
	struct fwd from;	/* the jumps from the fast path */
	uint8_t *back;		/* where the fast path goes on (NULL: none) */
	const struct dc_ent *d; /* NULL: an SMC exit, or ret_miss */
	/* a RET the ring did not predict (ret_exit()): its block's exit 0 */
	struct jit_link *ret_miss;
	unsigned n; /* handlers to run: d and the n - 1 entries after it */
	uint32_t next;
	unsigned idx;
	bool esp_dirty;
	struct emit e; /* the held registers and flags then (p and end unused) */
};

/* A side exit's stub, emitted after the block's body (emit_sides()). */
struct side {
	struct fwd from; /* the conditional jump to it */
	struct emit e;	 /* the held registers and flags there */
	const struct dc_ent *d;
	uint32_t target, next;
	unsigned idx, k;
	bool esp_dirty;
	uint32_t eip_stored;
};

/* Translation state: the emitter (with the block's return, e.stale), the EIP stored. */
struct tx {
	struct emit e;
	uint32_t eip_stored;
	struct jit_block *b;
	bool esp_dirty; /* insn_esp may differ from ESP */
	unsigned idx;	/* the entry being translated */
	uint32_t next;	/* the EIP after it */
	bool in_slow;	/* emitting a path the block takes only on a TLB miss */
	uint8_t *body;	/* past the prologue's checks (see self_loop()) */
	bool cs_4g;	/* CS's limit is 4 GiB (checked on entry): jumps skip theirs */
	unsigned nrare;
	struct rare rare[2 * JIT_MAX_INSNS];
	unsigned nside; /* side exits so far (exit[2 + k]) */
	struct side side[JIT_MAX_SIDE];
};

/*
 * Guest registers a block uses often live in r8-r11 for its duration (see
 * regs_pick()): loaded after the prologue, written back before every exit
 * and every handler call, reloaded after a call.  Handlers, faults and the
 * run loop therefore always see struct x86cpu up to date; only native code
 * between two calls works on the copies.
 */
static bool held(const struct emit *e, unsigned r)
{
	return r < 8 && (e->cached >> r & 1);
}

static void ld_gpr(struct emit *e, unsigned h, unsigned r)
{
	if (held(e, r))
		x_rr(e, false, 0x89, e->host[r], h);
	else
		x_mem(e, false, 0x8b, h, H_RBX, GPR(r));
}

static void st_gpr(struct emit *e, unsigned r, unsigned h)
{
	if (held(e, r)) {
		x_rr(e, false, 0x89, h, e->host[r]);
		e->dirty |= (uint8_t)(1u << r);
	} else {
		x_mem(e, false, 0x89, h, H_RBX, GPR(r));
	}
}

/* The held registers written so far back into struct x86cpu. */
static void regs_out(struct emit *e)
{
	for (unsigned r = 0; r < 8; r++)
		if (held(e, r) && (e->dirty >> r & 1))
			x_mem(e, false, 0x89, e->host[r], H_RBX, GPR(r));
}

/*
 * Every held register from struct x86cpu (after a handler may have changed
 * it), and EFLAGS into r14 (its DF and TF; the arithmetic flags are ebp's).
 */
static void regs_in(struct emit *e)
{
	for (unsigned r = 0; r < 8; r++)
		if (held(e, r))
			x_mem(e, false, 0x8b, e->host[r], H_RBX, GPR(r));
	if (e->fl_held)
		x_mem(e, false, 0x8b, H_R14, H_RBX, CPU_OFF(eflags));
}

/*
 * The arithmetic flags live in ebp while translated code runs, as LAHF and
 * SETO leave them in ax: bits 8-15 are EFLAGS bits 0-7 (CF, PF, AF, ZF,
 * SF), bit 0 is OF, the rest 0.  A chain of blocks passes them on in ebp;
 * EFLAGS in struct x86cpu gets them back (flags_home()) before every
 * handler call and every return to the run loop, and they are taken from
 * there (flags_from_home()) on entry and after a call.  Computing a block's
 * flags thus costs LAHF, SETO and a move, however many blocks follow
 * before anything reads them.
 */
static uint32_t raw_mask(uint32_t eflags_mask)
{
	return (eflags_mask & 0xffu) << 8 | (eflags_mask >> 11 & 1u);
}

/* ebp's flags into EFLAGS in struct x86cpu; eax and edx are lost. */
static void flags_home(struct emit *e)
{
	x_rr(e, false, 0x89, H_RBP, H_RAX); /* mov eax, ebp */
	x_rr(e, false, 0x89, H_RBP, H_RDX); /* mov edx, ebp */
	x_shift_ri(e, 5, H_RAX, 8);	    /* the flags byte */
	x_shift_ri(e, 4, H_RDX, 11);	    /* OF */
	x_rr(e, false, 0x09, H_RDX, H_RAX);
	x_alu_ri(e, 4, H_RAX, FL_ARITH);
	x_mem(e, false, 0x8b, H_RDX, H_RBX, CPU_OFF(eflags));
	x_alu_ri(e, 4, H_RDX, ~FL_ARITH);
	x_rr(e, false, 0x09, H_RAX, H_RDX);
	x_mem(e, false, 0x89, H_RDX, H_RBX, CPU_OFF(eflags));
}

/* ebp = the arithmetic flags of EFLAGS in eax (see flags_home()). */
static void flags_from(struct emit *e)
{
	e8(e, 0x0f); /* movzx ebp, al */
	e8(e, 0xb6);
	e8(e, 0xe8);
	x_shift_ri(e, 4, H_RBP, 8);
	x_bt_ri(e, H_RAX, 11);	  /* CF = OF */
	x_alu_ri(e, 2, H_RBP, 0); /* adc ebp, 0 */
}

/* ebp from EFLAGS in struct x86cpu; eax is lost. */
static void flags_from_home(struct emit *e)
{
	x_mem(e, false, 0x8b, H_RAX, H_RBX, CPU_OFF(eflags));
	flags_from(e);
}

/* mov dword [rbx + disp], imm32 */
static void st_imm32(struct emit *e, uint32_t disp, uint32_t imm)
{
	x_mem(e, false, 0xc7, 0, H_RBX, disp);
	e32(e, imm);
}

/* Jcc to the early exit (emitted before the entry point) */
static void j_stale(struct tx *t, uint8_t cc)
{
	x_jump_back(&t->e, cc, t->e.stale);
}

static void jne_stale(struct tx *t)
{
	j_stale(t, CC_NE);
}

/*
 * Return r13 + n: the instructions run by this call, chained blocks
 * included.  Once the block's own return (e->stale) is there, by a jump to
 * it.
 */
static void ret_count(struct emit *e, unsigned n)
{
	regs_out(e);
	if (e->stale) {
		if (n)
			x_alu_ri(e, 0, H_R13, n);
		x_jump_back(e, 16, e->stale);
		return;
	}
	flags_home(e);
	x_mem(e, false, 0x8d, H_RAX, H_R13, n); /* lea eax, [r13 + n] */
	e8(e, 0x48);				/* add rsp, 8 */
	e8(e, 0x83);
	e8(e, 0xc4);
	e8(e, 0x08);
	e8(e, 0x41); /* pop r15 */
	e8(e, 0x5f);
	e8(e, 0x41); /* pop r14 */
	e8(e, 0x5e);
	e8(e, 0x41); /* pop r13 */
	e8(e, 0x5d);
	e8(e, 0x41); /* pop r12 */
	e8(e, 0x5c);
	e8(e, 0x5d); /* pop rbp */
	e8(e, 0x5b); /* pop rbx */
	e8(e, 0xc3);
}

/*
 * Back to the run loop with jit_exit = rax, the link it fills in with the
 * block it finds next.  Only a return stores jit_exit (run_block() clears
 * it), so a link taken to a block that then leaves some other way is
 * never filled in with the wrong place.
 */
static void relink(struct emit *e)
{
	x_mem(e, true, 0x89, H_RAX, H_RBX, CPU_OFF(jit_exit));
	x_jump_back(e, 16, e->stale);
}

/* The guest bytes at rsi must equal those the block was made from. */
static void check_bytes(struct tx *t, const uint8_t *g, unsigned n)
{
	struct emit *e = &t->e;

	if (n >= 8) {
		for (unsigned o = 0;; o += 8) {
			if (o + 8 > n)
				o = n - 8;
			x_mov_ri64(e, H_RAX, ld(g + o, 4) | (uint64_t)ld(g + o + 4, 4) << 32);
			x_mem(e, true, 0x39, H_RAX, H_RSI, o);
			jne_stale(t);
			if (o + 8 >= n)
				break;
		}
		return;
	}
	for (unsigned o = 0; o < n; o += 2) {
		/* overlapping halves of at most 4 bytes, then a byte: n < 8 */
		unsigned sz = n >= 4 ? 4 : n >= 2 ? 2 : 1;
		unsigned at = o ? n - sz : 0;
		if (sz == 2)
			e8(e, 0x66);
		x_mem(e, false, sz == 1 ? 0x80 : 0x81, 7, H_RSI, at);
		if (sz == 1)
			e8(e, g[at]);
		else if (sz == 2)
			e8(e, g[at]), e8(e, g[at + 1]);
		else
			e32(e, ld(g + at, 4));
		jne_stale(t);
		if (sz == 1 || o || at + sz == n)
			break;
	}
}

/*
 * The block's page has not changed since it was made: its word in
 * cpu->code_gen (codewatch.c), which jit.c allocates within reach of a
 * RIP-relative address, still holds gen.
 */
static void check_gen(struct tx *t, const uint32_t *at, uint32_t gen)
{
	struct emit *e = &t->e;

	e8(e, 0x81); /* cmp dword [rip + disp32], imm32 */
	e8(e, 0x3d);
	e32(e, (uint32_t)(int32_t)((const uint8_t *)at - (e->p + 8)));
	e32(e, gen);
	jne_stale(t);
}

/*
 * The segments native memory and stack forms rely on are still flat (and
 * the stack 32-bit, and CS's limit 4 GiB when the block's jumps skip their
 * limit checks): x86_jit_run() keeps cpu->jit_unflat current, and a
 * segment load is the last instruction of its block (ends_block()).
 */
static void check_flat(struct tx *t, unsigned mask)
{
	if (!mask)
		return;
	x_mem(&t->e, false, 0xf6, 0, H_RBX, CPU_OFF(jit_unflat)); /* test byte [], mask */
	e8(&t->e, (uint8_t)mask);
	jne_stale(t);
}

/*
 * Before one more block of a chain (at most JIT_MAX_INSNS instructions):
 * the budget, the chain length and a pending poll (x86_set_poll() zeroes
 * the limit) in one compare of the instructions done so far (see
 * run_block()); above (JA) means leave.
 */
static void cmp_limit(struct emit *e)
{
	x_mem(e, false, 0x3b, H_R13, H_RBX, CPU_OFF(jit_limit)); /* cmp r13d, [limit] */
}

/*
 * The run loop enters every block through this stub (a jit_enter): it
 * saves rbx, rbp and r12-r15 (and 8 bytes more, which keeps the stack
 * 16-byte aligned for calls), sets rbx = cpu + CPU_BIAS, r13 = 0
 * (instructions run so far), r12 = this privilege level's TLB, for every
 * block along a chain (CPL only changes outside blocks), and ebp = the
 * arithmetic flags (flags_home()), then jumps to the block (rsi).  A block
 * returns through its own copy of the epilogue (ret_count()).
 */
static size_t emit_enter(uint8_t *code, uint8_t *end)
{
	struct emit e = { .p = code, .end = end };

	/* push rbx, rbp, r12, r13, r14, r15; sub rsp, 8 */
	e8(&e, 0x53);
	e8(&e, 0x55);
	for (unsigned r = H_R12; r <= H_R15; r++) {
		e8(&e, 0x41);
		e8(&e, (uint8_t)(0x50 | (r & 7)));
	}
	e8(&e, 0x48);
	e8(&e, 0x83);
	e8(&e, 0xec);
	e8(&e, 0x08);
	x_mem(&e, true, 0x8d, H_RBX, H_RDI, CPU_BIAS); /* lea rbx, [rdi + CPU_BIAS] */
	flags_from_home(&e);
	x_rr(&e, false, 0x31, H_R13, H_R13);
	e8(&e, 0x0f); /* movzx eax, byte [rbx + user] */
	x_mem(&e, false, 0xb6, H_RAX, H_RBX, CPU_OFF(user));
	x_shift_ri(&e, 4, H_RAX, 15);				      /* * sizeof(tlb[0]) */
	x_mem_idx(&e, true, 0x8d, H_R12, H_RBX, H_RAX, CPU_OFF(tlb)); /* lea */
	e8(&e, 0xff);						      /* jmp rsi */
	e8(&e, 0xe6);
	return (size_t)(e.p - code + 15) & ~(size_t)15;
}

/*
 * A chained jump from another block enters at b->chain and first checks
 * what the run loop would: the chain length, a pending poll and the
 * budget.  The run loop enters past that (the returned entry).  Both then
 * check the page's generation (or the guest bytes, found through the fetch
 * page) and the segments.
 */
static uint8_t *prologue(struct tx *t, struct jit_block *b, unsigned flat_mask)
{
	struct emit *e = &t->e;
	uint8_t *entry;

	b->chain = e->p;
	cmp_limit(e);
	j_stale(t, CC_A);
	entry = e->p;
	if (b->gen_at) {
		check_gen(t, b->gen_at, b->gen);
	} else {
		/* rsi = where the bytes are now: the fetch page is this block's */
		x_mem(e, true, 0x8b, H_RSI, H_RBX, CPU_OFF(fetch_host));
		x_mem(e, true, 0x8d, H_RSI, H_RSI, b->off); /* lea rsi, [rsi + off] */
		check_bytes(t, b->bytes, b->nbytes);
	}
	check_flat(t, flat_mask);
	return entry;
}

/*
 * Before an entry that can fault: the EIP and (when it may have moved) ESP
 * a fault rolls back to, and the instructions done so far; EIP at the next
 * instruction too when a handler runs.
 */
static void header(struct tx *t, uint32_t eip, uint32_t next, bool handler)
{
	st_imm32(&t->e, CPU_OFF(insn_eip), eip);
	/* instructions done before this one, which a fault adds to icount */
	x_mem(&t->e, false, 0x8d, H_RAX, H_R13, t->idx); /* lea eax, [r13 + idx] */
	x_mem(&t->e, false, 0x89, H_RAX, H_RBX, CPU_OFF(jit_done));
	if (t->esp_dirty) {
		ld_gpr(&t->e, H_RAX, R_ESP);
		x_mem(&t->e, false, 0x89, H_RAX, H_RBX, CPU_OFF(insn_esp));
		/* a header on a slow path leaves the fast path's ESP unrecorded */
		t->esp_dirty = t->in_slow;
	}
	/* handlers see EIP at the next instruction, as in the interpreter */
	if (handler) {
		st_imm32(&t->e, CPU_OFF(eip), next);
		t->eip_stored = next;
	}
}

/* May p change ESP (so that the ESP a later fault rolls back to moves)? */
static bool writes_esp(const struct plan *p)
{
	switch (p->kind) {
	case K_STORE:
	case K_STORE_I:
	case K_ALU_MR:
	case K_ALU_MI:
	case K_INCDEC_M:
	case K_STOREN:
	case K_JCC:
	case K_JMP:
		return false;
	case K_CALL:
	case K_PUSH:
	case K_PUSH_M:
	case K_POP:
	case K_LEAVE:
	case K_CALLN:
	case K_RET:
		return true;
	default:
		return p->dst == R_ESP; /* also AH for byte forms: harmless */
	}
}

static void call_handler(struct emit *e, const struct dc_ent *d)
{
	regs_out(e);
	flags_home(e);
	x_mem(e, true, 0x8d, H_RDI, H_RBX, -CPU_BIAS); /* lea rdi, [rbx - CPU_BIAS] */
	x_mov_ri64(e, H_RSI, (uint64_t)(uintptr_t)d);
	x_mov_ri64(e, H_RAX, (uint64_t)(uintptr_t)x86_dc_handlers[d->fn]);
	e8(e, 0xff); /* call rax */
	e8(e, 0xd0);
	regs_in(e);
	flags_from_home(e);
}

/* The guest's arithmetic flags in clear become eax's, in ebp's form (none else set). */
static void raw_merge(struct emit *e, uint32_t clear)
{
	x_alu_ri(e, 4, H_RBP, ~raw_mask(clear));
	x_rr(e, false, 0x09, H_RAX, H_RBP);
}

/* ax = the host's arithmetic flags as ebp holds them (flags_home()). */
static void host_raw(struct emit *e)
{
	e8(e, 0x9f); /* lahf: ah = SF ZF - AF - PF - CF */
	e8(e, 0x0f); /* seto al */
	e8(e, 0x90);
	e8(e, 0xc0);
}

/*
 * The host's arithmetic flags into the guest's: the bits in keep come from
 * the host, the rest of those named in clear become 0.  eax is lost.
 */
static void flags_out(struct emit *e, uint32_t keep, uint32_t clear)
{
	uint32_t gone = clear & ~keep;

	if (e->flags_dead)
		return;
	if (e->fuse) {
		e->pend = true;
		e->keep = keep;
		e->clear = clear;
		return;
	}
	host_raw(e);
	if (clear == FL_ARITH && !(gone & ~0xffu)) {
		if (gone) {
			e8(e, 0x80); /* and ah, ~gone */
			e8(e, 0xe4);
			e8(e, (uint8_t)~gone);
		}
		e8(e, 0x0f); /* movzx ebp, ax */
		e8(e, 0xb7);
		e8(e, 0xe8);
		return;
	}
	x_alu_ri(e, 4, H_RAX, raw_mask(keep));
	raw_merge(e, clear);
}

/* Flags an ALU op defines: logic ops clear OF/CF and (as alu.c does) AF. */
static void alu_flags(struct emit *e, unsigned aop)
{
	bool logic = aop == 1 || aop == 4 || aop == 6 || aop == AOP_TEST;

	flags_out(e, logic ? FL_ARITH & ~F_AF : FL_ARITH, FL_ARITH);
}

/*
 * After a fused conditional jump (see struct emit), on one of its paths:
 * the ALU op's flags, still in the host's, into the guest's EFLAGS unless
 * dead there.
 */
static void flags_settle(struct emit *e, bool dead)
{
	if (!e->pend)
		return;
	e->pend = false;
	e->fuse = false;
	e->flags_dead = dead;
	flags_out(e, e->keep, e->clear);
}

/*
 * The host's arithmetic flags = the guest's (ebp), for a host Jcc, SETcc
 * or CMOVcc with the guest's condition code: OF from adding 0x7f to al
 * (0 or 1), the others from ah.  eax is lost.
 */
static void flags_to_host(struct emit *e)
{
	x_rr(e, false, 0x89, H_RBP, H_RAX);
	e8(e, 0x04); /* add al, 0x7f */
	e8(e, 0x7f);
	e8(e, 0x9e); /* sahf */
}

/* ADC/SBB: the guest's CF (ebp bit 8) into the host's. */
static void carry_in(struct emit *e, unsigned aop)
{
	if (aop == 2 || aop == 3)
		x_bt_ri(e, H_RBP, 8);
}

/*
 * The host opcode of an ALU op of w bytes, r/m <- reg direction (01 09 ..
 * 39, 85; for bytes 00 08 .. 38, 84).
 */
static uint8_t alu_op_mr(unsigned aop, unsigned w)
{
	return (uint8_t)((aop == AOP_TEST ? 0x85 : aop << 3 | 1) - (w == 1));
}

/*
 * The host opcode of an ALU op on r/m with an immediate of w bytes, and the
 * ModRM reg field that goes with it: 80/81 /n, or F6 /0 for TEST r/m8.
 */
static uint8_t alu_op_mi(unsigned aop, unsigned w)
{
	return aop == AOP_TEST ? 0xf6 : w == 1 ? 0x80 : 0x81;
}

static unsigned alu_ext_mi(unsigned aop)
{
	return aop == AOP_TEST ? 0 : aop;
}

/* Does the ALU op write its destination (not CMP, not TEST)? */
static bool alu_writes(unsigned aop)
{
	return aop != 7 && aop != AOP_TEST;
}

/* An immediate of w bytes (1, 2 or 4). */
static void imm_w(struct emit *e, uint32_t imm, unsigned w)
{
	for (unsigned i = 0; i < w; i++)
		e8(e, (uint8_t)(imm >> 8 * i));
}

/* op eax/ax, imm32/imm16 (w 4 or 2): 81 /n, or A9 for TEST; 66 makes it 16-bit */
static void alu_eax_imm(struct emit *e, unsigned aop, unsigned w, uint32_t imm)
{
	if (w == 2)
		e8(e, 0x66);
	if (aop == AOP_TEST) {
		e8(e, 0xa9);
	} else {
		e8(e, 0x81);
		e8(e, (uint8_t)(0xc0 | aop << 3));
	}
	imm_w(e, imm, w);
}

/* eax = the entry's effective address (32-bit address size). */
/* The host register with guest register r: its held copy, else scratch loaded. */
static unsigned gpr_in(struct emit *e, unsigned r, unsigned scratch)
{
	if (held(e, r))
		return e->host[r];
	x_mem(e, false, 0x8b, scratch, H_RBX, GPR(r));
	return scratch;
}

/* Is d's offset a constant (moffs, or a disp32 alone)?  Then *ea is it. */
static bool ea_const(const struct dc_ent *d, uint32_t *ea)
{
	if (d->fn == DF_MOV_MOFFS) {
		*ea = ld(d->bytes.b + d->op_at + 1, 4);
		return true;
	}
	*ea = d->disp;
	return (d->regs & 15) == DC_NOREG && d->regs >> 4 == DC_NOREG;
}

/* eax = the offset of d's memory operand */
static void emit_ea(struct emit *e, const struct dc_ent *d)
{
	unsigned base = d->regs & 15, index = d->regs >> 4, scale = d->sseg & 3, hb;
	uint32_t ea;

	if (ea_const(d, &ea)) {
		x_mov_ri(e, H_RAX, ea);
		return;
	}
	hb = base == DC_NOREG ? H_NONE : gpr_in(e, base, H_RAX);
	if (index == DC_NOREG) {
		x_mem(e, false, 0x8d, H_RAX, hb, d->disp); /* lea eax, [hb + disp] */
		return;
	}
	x_lea(e, H_RAX, hb, gpr_in(e, index, H_RCX), scale, d->disp);
}

static void fwd_add(struct fwd *f, uint8_t *spot)
{
	if (f->n < 4)
		f->at[f->n++] = spot;
}

static void fwd_here(struct emit *e, struct fwd *f)
{
	for (unsigned i = 0; i < f->n; i++)
		x_patch(e, f->at[i]);
	f->n = 0;
}

/*
 * TLB probe for a size-byte access at linear address eax (flat: the offset),
 * as lin_read()/lin_write() do it.  On a hit the access goes to [rsi +
 * acc_idx()]: in a watched block rsi = the entry's host - page, added to
 * eax itself; elsewhere rsi = the host page (smc_check() compares it with
 * the fetch page) and rcx = the page offset.  A page-crossing access, a TLB
 * miss or MMIO jumps to miss.
 */
static void probe(struct emit *e, bool write, unsigned size, struct fwd *miss)
{
	/*
	 * edx = the page of the access's last byte: it matches the tag of the
	 * first byte's slot only when both are in that page, so one compare
	 * also sends page-crossing accesses to the slow path.
	 */
	x_mem(e, false, 0x8d, H_RDX, H_RAX, size - 1); /* lea edx, [rax + size - 1] */
	x_shift_ri(e, 5, H_RDX, 12);
	x_rr(e, false, 0x89, H_RAX, H_RDI);
	x_shift_ri(e, 5, H_RDI, 12 - 5);
	x_alu_ri(e, 4, H_RDI, (TLB_SIZE - 1) << 5); /* slot * sizeof(struct tlb_ent) */
	/* reads probe vpn_rh: device pages (no host page) never match */
	x_mem_idx(e, false, 0x39, H_RDX, H_R12, H_RDI,
		  write ? offsetof(struct tlb_ent, vpn_w) : offsetof(struct tlb_ent, vpn_rh));
	fwd_add(miss, x_jcc_fwd(e, CC_NE));
	if (e->addend) {
		x_mem_idx(e, true, 0x8b, H_RSI, H_R12, H_RDI, offsetof(struct tlb_ent, add));
		return;
	}
	x_mem_idx(e, true, 0x8b, H_RSI, H_R12, H_RDI, offsetof(struct tlb_ent, host));
	x_rr(e, false, 0x89, H_RAX, H_RCX);
	x_alu_ri(e, 4, H_RCX, 0xfff);
}

/* The index register of the access after probe(): eax must still hold the address. */
static unsigned acc_idx(const struct emit *e)
{
	return e->addend ? H_RAX : H_RCX;
}

/* The same for an access after eax was reused: the address moves to ecx first. */
static unsigned acc_after_rax(struct emit *e)
{
	if (e->addend)
		x_rr(e, false, 0x89, H_RAX, H_RCX);
	return H_RCX;
}

/* Where a register operand of w bytes lives in struct x86cpu (AH..BH: byte 1). */
static uint32_t reg_off(unsigned r, unsigned w)
{
	return w == 1 ? GPR(r & 3) + (r >> 2) : GPR(r);
}

/* to (no REX: eax..edi) = a narrow value at [base + index + disp], zero- or sign-extended. */
static void load_narrow(struct emit *e, unsigned to, unsigned w, unsigned ext, unsigned base,
			int index, uint32_t disp)
{
	uint8_t op = (uint8_t)((ext == EXT_SIGN ? 0xbe : 0xb6) | (w == 2));

	e8(e, 0x0f);
	if (index < 0)
		x_mem(e, false, op, to, base, disp);
	else
		x_mem_idx(e, false, op, to, base, (unsigned)index, disp);
}

/* The guest register whose bytes a w-byte operand r names (AL..BH: EAX..EBX). */
static unsigned full_reg(unsigned r, unsigned w)
{
	return w == 1 ? r & 3 : r;
}

/* Is the w-byte register operand r in a held register, reachable there? */
static bool held_narrow(const struct emit *e, unsigned r, unsigned w)
{
	return held(e, full_reg(r, w));
}

/* to (edx or ecx) = the w-byte register operand r from its held register, extended. */
static void narrow_from_held(struct emit *e, unsigned to, unsigned r, unsigned w, unsigned ext)
{
	unsigned h = e->host[full_reg(r, w)];

	if (w == 1 && r >= 4) { /* AH..BH: byte 1 */
		x_rr(e, false, 0x89, h, to);
		x_shift_ri(e, 5, to, 8);
		h = to;
	}
	rex(e, false, to, 0, h);
	e8(e, 0x0f); /* movzx/movsx edx, r8b..r11b / r8w..r11w / dl */
	e8(e, (uint8_t)((ext == EXT_SIGN ? 0xbe : 0xb6) | (w == 2)));
	e8(e, (uint8_t)(0xc0 | (to & 7) << 3 | (h & 7)));
}

/* The low w bytes of held register r (not AH..BH) = those of host register src. */
static void narrow_to_held(struct emit *e, unsigned r, unsigned w, unsigned src)
{
	unsigned g = full_reg(r, w), h = e->host[g];

	if (w == 2)
		e8(e, 0x66);
	rex(e, false, src, 0, h);
	e8(e, w == 1 ? 0x88 : 0x89);
	e8(e, (uint8_t)(0xc0 | (src & 7) << 3 | (h & 7)));
	e->dirty |= (uint8_t)(1u << g);
}

/* The narrow value in edx into register dst: its own bytes, or all 32 bits. */
static void store_reg_narrow(struct emit *e, const struct plan *p)
{
	if (p->ext != EXT_NONE) {
		st_gpr(e, p->dst, H_RDX);
		return;
	}
	if (held_narrow(e, p->dst, p->w)) {
		narrow_to_held(e, p->dst, p->w, H_RDX);
		return;
	}
	if (p->w == 2)
		e8(e, 0x66);
	x_mem(e, false, p->w == 1 ? 0x88 : 0x89, H_RDX, H_RBX, reg_off(p->dst, p->w));
}

/* to (edx or ecx) = the narrow register operand src, extended as ext says. */
static void load_reg_narrow(struct emit *e, unsigned to, unsigned src, unsigned w, unsigned ext)
{
	if (held_narrow(e, src, w))
		narrow_from_held(e, to, src, w, ext);
	else
		load_narrow(e, to, w, ext, H_RBX, -1, reg_off(src, w));
}

/*
 * IMUL's flags as alu_imul2() sets them, into ebp: CF = OF = the product did
 * not fit (from the host), SF/ZF/PF of the result in eax, AF clear.  eax and
 * edx are lost.
 */
static void imul_flags(struct emit *e)
{
	if (e->flags_dead)
		return;
	e8(e, 0x0f); /* seto dl ; movzx edx, dl */
	e8(e, 0x90);
	e8(e, 0xc2);
	e8(e, 0x0f);
	e8(e, 0xb6);
	e8(e, 0xd2);
	x_rr(e, false, 0x85, H_RAX, H_RAX);
	e8(e, 0x9f); /* lahf */
	x_alu_ri(e, 4, H_RAX, raw_mask(F_SF | F_ZF | F_PF));
	e8(e, 0x69); /* imul edx, edx, 0x101: the overflow to CF and OF */
	e8(e, 0xd2);
	e32(e, 0x101);
	x_rr(e, false, 0x09, H_RDX, H_RAX);
	x_rr(e, false, 0x89, H_RAX, H_RBP);
}

/*
 * The handler for a native form's TLB miss, with EIP at the next
 * instruction as every handler sees it (the fast path leaves EIP alone).
 * Only this path can fault, so the header (what a fault rolls back to) is
 * written here, not on the fast path.
 */
static void slow_handler(struct tx *t, const struct dc_ent *d)
{
	t->in_slow = true;
	header(t, t->next - d->len, t->next, false);
	t->in_slow = false;
	st_imm32(&t->e, CPU_OFF(eip), t->next);
	call_handler(&t->e, d);
}

/* A rare path for later (emit_rare()), entered by the jumps in from. */
static struct rare *defer(struct tx *t, const struct fwd *from, const struct dc_ent *d)
{
	struct rare *c = &t->rare[t->nrare++];

	*c = (struct rare){ .from = *from,
			    .d = d,
			    .n = 1,
			    .next = t->next,
			    .idx = t->idx,
			    .esp_dirty = t->esp_dirty,
			    .e = t->e };
	return c;
}

/* The slow handler of the current entry, out of line; the fast path goes on here. */
static void defer_slow(struct tx *t, const struct dc_ent *d, const struct fwd *miss)
{
	defer(t, miss, d)->back = t->e.p;
}

/*
 * Before a handler that may store, where smc is tested after it (the
 * handler's stores set it, mmu.c): only those tests read it.
 */
static void smc_clear(struct emit *e)
{
	x_mem(e, false, 0xc6, 0, H_RBX, CPU_OFF(smc));
	e8(e, 0);
}

static void ret_miss(struct emit *e, struct jit_link *l);

/*
 * Entry d's handler on a rare path (t->idx and t->next are d's), leaving
 * the block after it when it stored into this block's code.
 */
static void rare_handler(struct tx *t, const struct dc_ent *d)
{
	struct emit *e = &t->e;
	bool may_smc = !never_stores(d) && t->idx + 1 < t->b->ninsn;

	if (may_smc)
		smc_clear(e);
	slow_handler(t, d);
	if (may_smc) {
		/* the handler's stores set smc (mmu.c); the fast path checks rsi */
		x_mem(e, false, 0x80, 7, H_RBX, CPU_OFF(smc));
		e8(e, 0);
		uint8_t *stay = x_jcc_fwd(e, CC_E);
		st_imm32(e, CPU_OFF(eip), t->next);
		ret_count(e, t->idx + 1);
		x_patch(e, stay);
	}
}

/* Every deferred path, with the translation state it was deferred in. */
static void emit_rare(struct tx *t)
{
	struct emit *e = &t->e;

	/* an unlinked exit to this page: back to the run loop, which links it */
	for (unsigned k = 0; k < t->b->nexits; k++) {
		struct jit_link *l = &t->b->exit[k];

		if (!l->jmp)
			continue;
		x_patch(e, l->jmp);
		x_mov_ri64(e, H_RAX, (uint64_t)(uintptr_t)l);
		relink(e);
	}

	for (unsigned i = 0; i < t->nrare; i++) {
		struct rare *c = &t->rare[i];

		fwd_here(e, &c->from);
		t->idx = c->idx;
		t->next = c->next;
		t->esp_dirty = c->esp_dirty;
		c->e.p = e->p;
		c->e.end = e->end;
		*e = c->e;
		if (c->ret_miss) {
			ret_miss(e, c->ret_miss);
			continue;
		}
		if (!c->d) {
			st_imm32(e, CPU_OFF(eip), c->next);
			ret_count(e, c->idx + 1);
			continue;
		}
		for (unsigned k = 0; k < c->n; k++) {
			if (k) {
				t->idx++;
				t->next += c->d[k].len;
			}
			rare_handler(t, &c->d[k]);
		}
		if (e->pend)
			flags_to_host(e); /* for the fused jump the fast path goes on to */
		e8(e, 0xe9);		  /* jmp back */
		e32(e, (uint32_t)(int32_t)(c->back - (e->p + 4)));
	}
}

/*
 * After a native store through rsi and the entry's register updates: a
 * store to the fetch page leaves the block after this entry (the bytes of
 * the ones after it may have changed).  The last entry leaves anyway.
 */
static void smc_check(struct tx *t)
{
	struct fwd out = { 0 };

	/* in a watched page, a store there misses the TLB and sets smc */
	if (t->idx + 1 == t->b->ninsn || t->b->gen_at)
		return;
	x_mem(&t->e, true, 0x3b, H_RSI, H_RBX, CPU_OFF(fetch_host));
	fwd_add(&out, x_jcc_fwd(&t->e, CC_E));
	defer(t, &out, NULL);
}

/*
 * eax = the linear address of an FS or GS operand of size bytes at offset
 * eax: the base added at run time, after the limit check that the 4 GiB
 * limit still makes (the last byte past 4 GiB: #GP, in the handler).
 */
static void seg_base(struct emit *e, const struct dc_ent *d, unsigned size, struct fwd *miss)
{
	unsigned s = (d->sseg >> 2) & 7;
	uint32_t ea;

	if (s != S_FS && s != S_GS)
		return;
	/* a constant offset (Linux's per-CPU variables) is checked here, once */
	if (ea_const(d, &ea) && ea <= 0xffffffffu - (size - 1))
		size = 1;
	if (size > 1) {
		x_alu_ri(e, 7, H_RAX, 0xffffffffu - (size - 1));
		fwd_add(miss, x_jcc_fwd(e, CC_A));
	}
	x_mem(e, false, 0x03, H_RAX, H_RBX, CPU_OFF(seg[s].base)); /* add eax, [base] */
}

/* eax = ESP after a push (write) or ESP (read); then the TLB probe. */
static void stack_probe(struct emit *e, bool push, struct fwd *miss)
{
	ld_gpr(e, H_RAX, R_ESP);
	if (push)
		x_alu_ri(e, 5, H_RAX, 4);
	probe(e, push, 4, miss);
}

/*
 * PUSH r/m32 from memory: the load, then the push (r15 keeps the value
 * over the second probe).  A miss on either runs the whole instruction in
 * the handler: nothing is stored before both probes hit.
 */
static void emit_push_m(struct tx *t, const struct dc_ent *d)
{
	struct emit *e = &t->e;
	struct fwd miss = { 0 };

	emit_ea(e, d);
	seg_base(e, d, 4, &miss);
	probe(e, false, 4, &miss);
	x_mem_idx(e, false, 0x8b, H_R15, H_RSI, acc_idx(e), 0); /* mov r15d, [rsi + idx] */
	stack_probe(e, true, &miss);
	x_mem_idx(e, false, 0x89, H_R15, H_RSI, acc_idx(e), 0);
	st_gpr(e, R_ESP, H_RAX);
	smc_check(t);
	defer_slow(t, d, &miss);
}

/* r15d = +size, or -size when EFLAGS.DF is set (in r14). */
static void string_step(struct emit *e, unsigned size)
{
	x_bt_ri(e, H_R14, 10);					 /* DF, in r14 (regs_in()) */
	x_rr(e, false, 0x19, H_R15, H_R15);			 /* sbb r15d, r15d */
	x_lea(e, H_R15, H_NONE, H_R15, size == 4 ? 3 : 1, size); /* 2 * size * r15 + size */
}

/* gpr[r] += r15d */
static void string_advance(struct emit *e, unsigned r)
{
	ld_gpr(e, H_RAX, r);
	x_rr(e, false, 0x01, H_R15, H_RAX);
	st_gpr(e, r, H_RAX);
}

/*
 * MOVS, STOS, LODS and SCAS (plan_string()): the accesses, then ESI/EDI.
 * A miss on any probe runs the whole instruction in the handler; nothing
 * is written before the last probe hits.
 */
static void emit_string(struct tx *t, const struct dc_ent *d, const struct plan *p)
{
	struct emit *e = &t->e;
	struct fwd miss = { 0 };
	struct plan al = { .dst = R_EAX, .w = 1 };
	unsigned w = p->w, op = p->aop & 0xfe;
	uint8_t mov_st = w == 1 ? 0x88 : 0x89;

	if (op == 0xa4) { /* MOVS: [EDI] = [ESI], the value in r15 */
		ld_gpr(e, H_RAX, R_ESI);
		probe(e, false, w, &miss);
		if (w == 1) {
			load_narrow(e, H_RDX, 1, EXT_ZERO, H_RSI, acc_idx(e), 0);
			x_rr(e, false, 0x89, H_RDX, H_R15);
		} else {
			x_mem_idx(e, false, 0x8b, H_R15, H_RSI, acc_idx(e), 0);
		}
		ld_gpr(e, H_RAX, R_EDI);
		probe(e, true, w, &miss);
		x_mem_idx(e, false, mov_st, H_R15, H_RSI, acc_idx(e), 0);
	} else if (op == 0xac) { /* LODS: AL/EAX = [ESI] */
		ld_gpr(e, H_RAX, R_ESI);
		probe(e, false, w, &miss);
		if (w == 1) {
			load_narrow(e, H_RDX, 1, EXT_ZERO, H_RSI, acc_idx(e), 0);
			store_reg_narrow(e, &al);
		} else {
			x_mem_idx(e, false, 0x8b, H_RDX, H_RSI, acc_idx(e), 0);
			st_gpr(e, R_EAX, H_RDX);
		}
	} else { /* STOS: [EDI] = AL/EAX; SCAS: CMP AL/EAX, [EDI] */
		ld_gpr(e, H_RAX, R_EDI);
		probe(e, op == 0xaa, w, &miss);
		if (w == 1)
			load_reg_narrow(e, H_RDX, R_EAX, 1, EXT_ZERO);
		else
			ld_gpr(e, H_RDX, R_EAX);
		x_mem_idx(e, false, op == 0xaa ? mov_st : (uint8_t)(w == 1 ? 0x3a : 0x3b), H_RDX,
			  H_RSI, acc_idx(e), 0);
		if (op == 0xae)
			alu_flags(e, 7);
	}
	string_step(e, w);
	if (op == 0xa4 || op == 0xac)
		string_advance(e, R_ESI);
	if (op != 0xac)
		string_advance(e, R_EDI);
	if (op == 0xa4 || op == 0xaa)
		smc_check(t);
	defer_slow(t, d, &miss);
}

/* A native memory form: probe, the access through rsi, else the handler. */
static void emit_mem(struct tx *t, const struct dc_ent *d, const struct plan *p)
{
	struct emit *e = &t->e;
	bool reads_only = p->kind == K_LOAD || p->kind == K_ALU_RM || p->kind == K_LOADN ||
			  p->kind == K_IMUL_M || p->kind == K_CMOV_M ||
			  (p->kind == K_ALU_MR && (p->aop == 7 || p->aop == AOP_TEST)) ||
			  (p->kind == K_ALU_MI && (p->aop == 7 || p->aop == AOP_TEST));
	struct fwd miss = { 0 };

	if (p->kind == K_PUSH_M) {
		emit_push_m(t, d);
		return;
	}
	if (p->kind == K_STRING) {
		emit_string(t, d, p);
		return;
	}
	emit_ea(e, d);
	seg_base(e, d, p->w ? p->w : 4, &miss);
	probe(e, !reads_only, p->w ? p->w : 4, &miss);
	switch (p->kind) {
	case K_LOADN:
		load_narrow(e, H_RDX, p->w, p->ext, H_RSI, acc_idx(e), 0);
		store_reg_narrow(e, p);
		break;
	case K_STOREN:
		load_reg_narrow(e, H_RDX, p->src, p->w, EXT_ZERO);
		if (p->w == 2)
			e8(e, 0x66);
		x_mem_idx(e, false, p->w == 1 ? 0x88 : 0x89, H_RDX, H_RSI, acc_idx(e), 0);
		break;
	case K_CMOV_M: {
		x_mem_idx(e, false, 0x8b, H_RDX, H_RSI, acc_idx(e), 0);
		flags_to_host(e);
		uint8_t *skip = x_jcc_fwd(e, (uint8_t)(p->aop ^ 1));
		st_gpr(e, p->dst, H_RDX);
		x_patch(e, skip);
		break;
	}
	case K_IMUL_M: {
		unsigned idx = acc_after_rax(e);

		ld_gpr(e, H_RAX, p->dst);
		e8(e, 0x0f);
		x_mem_idx(e, false, 0xaf, H_RAX, H_RSI, idx, 0);
		st_gpr(e, p->dst, H_RAX);
		imul_flags(e);
		break;
	}
	case K_LOAD:
		if (held(e, p->dst)) {
			/* straight into the held copy */
			x_mem_idx(e, false, 0x8b, e->host[p->dst], H_RSI, acc_idx(e), 0);
			e->dirty |= (uint8_t)(1u << p->dst);
			break;
		}
		x_mem_idx(e, false, 0x8b, H_RDX, H_RSI, acc_idx(e), 0);
		st_gpr(e, p->dst, H_RDX);
		break;
	case K_STORE:
		ld_gpr(e, H_RDX, p->src);
		x_mem_idx(e, false, 0x89, H_RDX, H_RSI, acc_idx(e), 0);
		break;
	case K_STORE_I:
		if (p->w == 2)
			e8(e, 0x66);
		x_mem_idx(e, false, p->w == 1 ? 0xc6 : 0xc7, 0, H_RSI, acc_idx(e), 0);
		imm_w(e, p->imm, p->w ? p->w : 4);
		break;
	case K_INCDEC_M:
		/* inc/dec dword [rsi + idx] */
		x_mem_idx(e, false, 0xff, p->aop, H_RSI, acc_idx(e), 0);
		flags_out(e, FL_ARITH & ~F_CF, FL_ARITH & ~F_CF);
		break;
	case K_ALU_RM:
		if (p->w == 1) {
			/* op dl, byte [rsi + idx] */
			load_reg_narrow(e, H_RDX, p->dst, 1, EXT_ZERO);
			carry_in(e, p->aop);
			x_mem_idx(e, false, (uint8_t)(p->aop << 3 | 2), H_RDX, H_RSI, acc_idx(e),
				  0);
			if (alu_writes(p->aop))
				store_reg_narrow(e, p);
			alu_flags(e, p->aop);
			break;
		}
		ld_gpr(e, H_RDX, p->dst);
		carry_in(e, p->aop);
		x_mem_idx(e, false, (uint8_t)(p->aop << 3 | 3), H_RDX, H_RSI, acc_idx(e), 0);
		if (p->aop != 7)
			st_gpr(e, p->dst, H_RDX);
		alu_flags(e, p->aop);
		break;
	case K_ALU_MR:
		if (p->w == 1)
			load_reg_narrow(e, H_RDX, p->src, 1, EXT_ZERO);
		else
			ld_gpr(e, H_RDX, p->src);
		carry_in(e, p->aop);
		x_mem_idx(e, false, alu_op_mr(p->aop, p->w), H_RDX, H_RSI, acc_idx(e), 0);
		alu_flags(e, p->aop);
		break;
	default: /* K_ALU_MI: 81 /n id (66: iw), or 80 /n ib (F6 /0 ib: TEST) for bytes */
		carry_in(e, p->aop);
		if (p->w == 2)
			e8(e, 0x66);
		x_mem_idx(e, false, alu_op_mi(p->aop, p->w), alu_ext_mi(p->aop), H_RSI, acc_idx(e),
			  0);
		imm_w(e, p->imm, p->w ? p->w : 4);
		alu_flags(e, p->aop);
		break;
	}
	if (!reads_only)
		smc_check(t);
	defer_slow(t, d, &miss);
}

/* When SHR's OF is the operand's MSB: a count of 1 (constant, or ECX at run time). */
enum {
	SHR_NO_OF,
	SHR_OF,
	SHR_OF_IF_CL1
};

/*
 * ebp's flags after SHL/SHR/SAR (eax the result, edi the operand, ecx the
 * count for SHR_OF_IF_CL1) with shift32()'s rules: CF, PF, ZF and SF from
 * the host; OF = CF ^ MSB(result) for SHL, the operand's MSB for SHR by 1
 * (0 for more), 0 for SAR; AF clear.  eax and edi are lost.
 */
static void shift_flags(struct emit *e, unsigned aop, uint8_t msb, unsigned shr)
{
	uint8_t *no_of = NULL;

	if (aop == 4)
		x_rr(e, false, 0x89, H_RAX, H_RDI); /* the result: lahf loses ah */
	e8(e, 0x9f);				    /* lahf */
	x_alu_ri(e, 4, H_RAX, raw_mask(F_CF | F_PF | F_ZF | F_SF));
	if (aop == 5 && shr == SHR_OF_IF_CL1) {
		x_alu_ri(e, 7, H_RCX, 1);
		no_of = x_jcc_fwd(e, CC_NE);
	}
	if (aop == 4 || (aop == 5 && shr != SHR_NO_OF)) {
		x_shift_ri(e, 5, H_RDI, msb); /* the MSB */
		if (aop == 4) {
			x_bt_ri(e, H_RAX, 8);	  /* CF */
			x_alu_ri(e, 2, H_RDI, 0); /* adc edi, 0: bit 0 = MSB ^ CF */
		}
		if (aop == 4 || msb != 31)
			x_alu_ri(e, 4, H_RDI, 1);
		x_rr(e, false, 0x09, H_RDI, H_RAX); /* OF into bit 0 */
	}
	if (no_of)
		x_patch(e, no_of);
	x_rr(e, false, 0x89, H_RAX, H_RBP);
}

/*
 * ROL/ROR of 32 bits by a constant, with rotate()'s flags: CF is the bit
 * that came round (bit 0 after ROL, bit 31 after ROR), OF = bit 31 ^ CF
 * (ROL) or bit 31 ^ bit 30 (ROR) of the result; the others stay.
 */
static void emit_rotate(struct emit *e, const struct plan *p)
{
	ld_gpr(e, H_RAX, p->dst);
	x_shift_ri(e, p->aop, H_RAX, (uint8_t)p->imm);
	st_gpr(e, p->dst, H_RAX);
	if (e->flags_dead)
		return;
	x_rr(e, false, 0x89, H_RAX, H_RDX);
	x_shift_ri(e, 5, H_RDX, 31); /* edx = bit 31 */
	x_rr(e, false, 0x89, H_RAX, H_RCX);
	if (p->aop == 0) {
		x_alu_ri(e, 4, H_RCX, 1);	    /* ecx = CF = bit 0 */
		x_rr(e, false, 0x31, H_RCX, H_RDX); /* edx = OF */
		x_shift_ri(e, 4, H_RCX, 8);
	} else {
		x_shift_ri(e, 5, H_RCX, 30);
		x_alu_ri(e, 4, H_RCX, 1);	    /* ecx = bit 30 */
		x_rr(e, false, 0x31, H_RDX, H_RCX); /* ecx = OF; CF = bit 31 in edx */
		x_shift_ri(e, 4, H_RDX, 8);
	}
	x_rr(e, false, 0x09, H_RCX, H_RDX); /* CF in bit 8, OF in bit 0 */
	x_rr(e, false, 0x89, H_RDX, H_RAX);
	raw_merge(e, F_CF | F_OF);
}

/* SHL/SHR/SAR, ROL/ROR by a constant; a count of 0 changes nothing. */
static void emit_shift(struct emit *e, const struct plan *p)
{
	if (!p->imm)
		return;
	if (p->aop < 2) {
		emit_rotate(e, p);
		return;
	}
	if (e->flags_dead && p->w != 2 && held(e, p->dst)) {
		x_shift_ri(e, p->aop, e->host[p->dst], (uint8_t)p->imm);
		e->dirty |= (uint8_t)(1u << p->dst);
		return;
	}
	ld_gpr(e, H_RAX, p->dst);
	x_rr(e, false, 0x89, H_RAX, H_RDI); /* the operand, for SHR's OF */
	if (p->w == 2)
		e8(e, 0x66); /* on AX: the upper half stays as loaded */
	x_shift_ri(e, p->aop, H_RAX, (uint8_t)p->imm);
	st_gpr(e, p->dst, H_RAX);
	if (!e->flags_dead)
		shift_flags(e, p->aop, p->w == 2 ? 15 : 31, p->imm == 1 ? SHR_OF : SHR_NO_OF);
}

/*
 * SHL/SHR/SAR of 32 bits by CL with shift32()'s flags (shift_flags()),
 * which a count of 0 (after masking) leaves alone with the register:
 * plan_flags_written() says none, so the flags before stay live.
 */
static void emit_shift_cl(struct emit *e, const struct plan *p)
{
	uint8_t *skip;

	ld_gpr(e, H_RCX, R_ECX);
	x_alu_ri(e, 4, H_RCX, 31);
	skip = x_jcc_fwd(e, CC_E);
	ld_gpr(e, H_RAX, p->dst);
	x_rr(e, false, 0x89, H_RAX, H_RDI); /* the operand, for SHR's OF */
	e8(e, 0xd3);			    /* shl/shr/sar eax, cl */
	e8(e, (uint8_t)(0xc0 | p->aop << 3));
	st_gpr(e, p->dst, H_RAX);
	shift_flags(e, p->aop, 31, SHR_OF_IF_CL1);
	x_patch(e, skip);
}

/* Register forms. */
/*
 * A 32-bit ALU op on a held destination, in place: with the source
 * register (held, else from struct x86cpu) or the immediate.
 */
static void alu_held(struct emit *e, const struct plan *p, bool reg)
{
	unsigned h = e->host[p->dst];

	carry_in(e, p->aop);
	if (!reg) {
		if (p->aop == AOP_TEST) {
			rex(e, false, 0, 0, h); /* test r32, imm32 (F7 /0) */
			e8(e, 0xf7);
			e8(e, (uint8_t)(0xc0 | (h & 7)));
			e32(e, p->imm);
		} else {
			x_alu_ri(e, p->aop, h, p->imm);
		}
	} else if (held(e, p->src)) {
		x_rr(e, false, alu_op_mr(p->aop, 4), e->host[p->src], h);
	} else {
		/* op r32, [rbx + src]: 03, 0B, ... 3B (TEST: 85 either way) */
		uint8_t op = p->aop == AOP_TEST ? 0x85 : (uint8_t)(p->aop << 3 | 3);

		x_mem(e, false, op, h, H_RBX, GPR(p->src));
	}
	if (alu_writes(p->aop))
		e->dirty |= (uint8_t)(1u << p->dst);
	alu_flags(e, p->aop);
}

static void emit_reg(struct emit *e, const struct dc_ent *d, const struct plan *p)
{
	switch (p->kind) {
	case K_NOP:
		break;
	case K_MOV_RR:
		if (held(e, p->dst)) {
			ld_gpr(e, e->host[p->dst], p->src);
			e->dirty |= (uint8_t)(1u << p->dst);
		} else if (held(e, p->src)) {
			st_gpr(e, p->dst, e->host[p->src]);
		} else {
			ld_gpr(e, H_RAX, p->src);
			st_gpr(e, p->dst, H_RAX);
		}
		break;
	case K_MOV_RI:
		if (p->w == 2) {
			/* mov r16, imm16 (C7 /0): the upper half stays */
			e8(e, 0x66);
			if (held(e, p->dst)) {
				rex(e, false, 0, 0, e->host[p->dst]);
				e8(e, 0xc7);
				e8(e, (uint8_t)(0xc0 | (e->host[p->dst] & 7)));
				e->dirty |= (uint8_t)(1u << p->dst);
			} else {
				x_mem(e, false, 0xc7, 0, H_RBX, GPR(p->dst));
			}
			imm_w(e, p->imm, 2);
			break;
		}
		if (p->w == 1) {
			/* mov byte reg, imm8 (AH..BH are never held, see plan_narrow_regs()) */
			if (held_narrow(e, p->dst, 1)) {
				unsigned h = e->host[p->dst];

				rex(e, false, 0, 0, h);
				e8(e, 0xc6);
				e8(e, (uint8_t)(0xc0 | (h & 7)));
				e->dirty |= (uint8_t)(1u << p->dst);
			} else {
				x_mem(e, false, 0xc6, 0, H_RBX, reg_off(p->dst, 1));
			}
			e8(e, (uint8_t)p->imm);
			break;
		}
		if (held(e, p->dst)) {
			x_mov_ri(e, e->host[p->dst], p->imm);
			e->dirty |= (uint8_t)(1u << p->dst);
		} else {
			st_imm32(e, GPR(p->dst), p->imm);
		}
		break;
	case K_ALU_RR:
		if (p->w == 1) {
			/* op dl, cl on the byte registers (AH..BH: byte 1, see plan_narrow_regs()) */
			load_reg_narrow(e, H_RDX, p->dst, 1, EXT_ZERO);
			load_reg_narrow(e, H_RCX, p->src, 1, EXT_ZERO);
			carry_in(e, p->aop);
			x_rr(e, false, alu_op_mr(p->aop, 1), H_RCX, H_RDX);
			if (alu_writes(p->aop))
				store_reg_narrow(e, p);
			alu_flags(e, p->aop);
			break;
		}
		if (held(e, p->dst)) {
			alu_held(e, p, true);
			break;
		}
		ld_gpr(e, H_RAX, p->dst);
		ld_gpr(e, H_RCX, p->src);
		carry_in(e, p->aop);
		x_rr(e, false, alu_op_mr(p->aop, 4), H_RCX, H_RAX);
		if (alu_writes(p->aop))
			st_gpr(e, p->dst, H_RAX);
		alu_flags(e, p->aop);
		break;
	case K_ALU_RI:
		if (p->w == 1) {
			/* 80 /n ib (F6 /0 ib) on the byte register in place (AH..BH: byte 1) */
			carry_in(e, p->aop);
			if (held_narrow(e, p->dst, 1)) { /* AL..BL only (regs_pick()) */
				unsigned h = e->host[p->dst];

				rex(e, false, 0, 0, h);
				e8(e, alu_op_mi(p->aop, 1));
				e8(e, (uint8_t)(0xc0 | alu_ext_mi(p->aop) << 3 | (h & 7)));
				if (alu_writes(p->aop))
					e->dirty |= (uint8_t)(1u << p->dst);
			} else {
				x_mem(e, false, alu_op_mi(p->aop, 1), alu_ext_mi(p->aop), H_RBX,
				      reg_off(p->dst, 1));
			}
			e8(e, (uint8_t)p->imm);
			alu_flags(e, p->aop);
			break;
		}
		if (p->w != 2 && held(e, p->dst)) {
			alu_held(e, p, false);
			break;
		}
		/* on eax (ax for 16-bit: the upper half stays as loaded) */
		ld_gpr(e, H_RAX, p->dst);
		carry_in(e, p->aop);
		alu_eax_imm(e, p->aop, p->w ? p->w : 4, p->imm);
		if (alu_writes(p->aop))
			st_gpr(e, p->dst, H_RAX);
		alu_flags(e, p->aop);
		break;
	case K_UNARY:
		ld_gpr(e, H_RAX, p->dst);
		e8(e, 0xf7); /* not/neg eax */
		e8(e, (uint8_t)(0xc0 | p->aop << 3));
		st_gpr(e, p->dst, H_RAX);
		if (p->aop == 3)
			flags_out(e, FL_ARITH, FL_ARITH); /* NEG: those of 0 - x */
		break;
	case K_INCDEC:
		ld_gpr(e, H_RAX, p->dst);
		e8(e, 0xff); /* inc/dec eax */
		e8(e, p->aop ? 0xc8 : 0xc0);
		st_gpr(e, p->dst, H_RAX);
		flags_out(e, FL_ARITH & ~F_CF, FL_ARITH & ~F_CF);
		break;
	case K_MOVN:
		load_reg_narrow(e, H_RDX, p->src, p->w, p->ext);
		store_reg_narrow(e, p);
		break;
	case K_SHIFT:
		emit_shift(e, p);
		break;
	case K_SHIFT_CL:
		emit_shift_cl(e, p);
		break;
	case K_IMUL:
		ld_gpr(e, H_RAX, p->dst);
		ld_gpr(e, H_RCX, p->src);
		e8(e, 0x0f);
		x_rr(e, false, 0xaf, H_RAX, H_RCX); /* imul eax, ecx */
		st_gpr(e, p->dst, H_RAX);
		imul_flags(e);
		break;
	case K_SETCC:
		flags_to_host(e);
		e8(e, 0x0f); /* setcc cl */
		e8(e, (uint8_t)(0x90 | p->aop));
		e8(e, 0xc1);
		if (held_narrow(e, p->dst, 1))
			narrow_to_held(e, p->dst, 1, H_RCX);
		else
			x_mem(e, false, 0x88, H_RCX, H_RBX, reg_off(p->dst, 1));
		break;
	case K_CMOV: {
		flags_to_host(e);
		uint8_t *skip = x_jcc_fwd(e, (uint8_t)(p->aop ^ 1));
		ld_gpr(e, H_RDX, p->src);
		st_gpr(e, p->dst, H_RDX);
		x_patch(e, skip);
		break;
	}
	default: /* K_LEA */
		emit_ea(e, d);
		st_gpr(e, p->dst, H_RAX);
		break;
	}
}

#define LINK_OFF(field) ((uint32_t)offsetof(struct jit_link, field))

/* The fetch page's fields, in the same order in struct jit_link and struct x86cpu. */
#define FETCH_STATE 28u
#define SAME_FETCH_OFF(f, l)                                                 \
	(offsetof(struct x86cpu, f) - offsetof(struct x86cpu, fetch_host) == \
	 offsetof(struct jit_link, l) - offsetof(struct jit_link, host))
_Static_assert(SAME_FETCH_OFF(fetch_gpa, gpa) && SAME_FETCH_OFF(fetch_vpn, vpn) &&
		       SAME_FETCH_OFF(fetch_key, key) && SAME_FETCH_OFF(fetch_slot, slot) &&
		       offsetof(struct x86cpu, fetch_slot) + 4 ==
			       offsetof(struct x86cpu, fetch_host) + FETCH_STATE,
	       "the fetch state is copied as one block");

/*
 * Leave through the link in rax (EIP stored, r13 counting this block): to
 * the block it names when no code-page translation changed since it was
 * linked, with the fetch page switched to the target's; else by miss,
 * which the caller places (relink()).  A dynamic target is compared with
 * EIP first; a different one leaves by miss too.
 */
static void far_jump(struct emit *e, bool dynamic, struct fwd *miss)
{
	if (dynamic) {
		x_mem(e, false, 0x8b, H_RDX, H_RBX, CPU_OFF(eip));
		x_mem(e, false, 0x3b, H_RDX, H_RAX, LINK_OFF(eip));
		fwd_add(miss, x_jcc_fwd(e, CC_NE));
	}
	x_mem(e, true, 0x8b, H_RDX, H_RAX, LINK_OFF(tagp)); /* rdx = *tagp */
	x_mem(e, true, 0x8b, H_RDX, H_RDX, 0);
	x_mem(e, true, 0x3b, H_RDX, H_RAX, LINK_OFF(tag));
	fwd_add(miss, x_jcc_fwd(e, CC_NE));
	/* the fetch state, 28 bytes, as two overlapping 16-byte copies */
	x_movups(e, true, 0, H_RAX, LINK_OFF(host));
	x_movups(e, true, 1, H_RAX, LINK_OFF(host) + FETCH_STATE - 16);
	x_movups(e, false, 0, H_RBX, CPU_OFF(fetch_host));
	x_movups(e, false, 1, H_RBX, CPU_OFF(fetch_host) + FETCH_STATE - 16);
	e8(e, 0xff); /* jmp [rax] */
	e8(e, 0x20);
}

/* Through link l (see far_jump()), else back to the run loop to fill it in. */
static void link_jump(struct emit *e, struct jit_link *l, bool dynamic)
{
	struct fwd miss = { 0 };

	x_mov_ri64(e, H_RAX, (uint64_t)(uintptr_t)l);
	far_jump(e, dynamic, &miss);
	fwd_here(e, &miss);
	relink(e);
}

/* Leave through link l (see far_jump()); EIP stored. */
static void far_exit(struct tx *t, struct jit_link *l, bool dynamic, unsigned n)
{
	regs_out(&t->e);
	x_alu_ri(&t->e, 0, H_R13, n);
	link_jump(&t->e, l, dynamic);
}

/*
 * A jump back to the block's own start (a loop): its bytes and segments
 * were checked when it was entered, and a store by the block to its own
 * page has ended it already (smc_exit()), so it goes straight back to the
 * body after the checks of the budget, the chain length and a poll.  The
 * held registers are written back (an exit early in the next pass writes
 * only what that pass changed) and stay loaded.
 */
static void self_loop(struct tx *t, unsigned n)
{
	struct emit *e = &t->e;
	struct fwd leave = { 0 };

	regs_out(e);
	x_alu_ri(e, 0, H_R13, n);
	cmp_limit(e); /* the next pass */
	fwd_add(&leave, x_jcc_fwd(e, CC_A));
	e8(e, 0xe9); /* jmp body */
	e32(e, (uint32_t)(int32_t)(t->body - (e->p + 4)));
	fwd_here(e, &leave);
	ret_count(e, 0);
}

/*
 * Leave the block for target (EIP already stored) through exit k, which
 * the run loop points at the target's block once it has found it.
 */
static void exit_to(struct tx *t, uint32_t target, unsigned k, unsigned n)
{
	struct emit *e = &t->e;
	int64_t off = (int64_t)t->b->off + (int32_t)(target - t->b->eip);

	t->b->exit[k].eip = target;
	if (target == t->b->eip) {
		self_loop(t, n);
		return;
	}
	if (off < 0 || off >= 4096) {
		far_exit(t, &t->b->exit[k], false, n);
		return;
	}
	regs_out(e);
	x_alu_ri(e, 0, H_R13, n);
	/* to the target once linked; until then to the tail that asks for it (emit_rare()) */
	t->b->exit[k].jmp = x_jmp_fwd(e);
}

/*
 * A call's return site (exit 1, the next instruction) goes on the ring of
 * return sites, for the RET that comes back to it (ret_exit()).
 */
static void push_return(struct tx *t, uint32_t next)
{
	struct emit *e = &t->e;

	t->b->exit[1].eip = next;
	x_mem(e, false, 0x8b, H_RAX, H_RBX, CPU_OFF(jit_rsp));
	x_alu_ri(e, 0, H_RAX, 8);
	x_alu_ri(e, 4, H_RAX, (JIT_RS_SIZE - 1) * 8);
	x_mem(e, false, 0x89, H_RAX, H_RBX, CPU_OFF(jit_rsp));
	x_mov_ri64(e, H_RCX, (uint64_t)(uintptr_t)&t->b->exit[1]);
	x_mem_idx(e, true, 0x89, H_RCX, H_RBX, H_RAX, CPU_OFF(jit_rs));
}

/* jit_rsp = ecx + delta, within the ring (delta: 8 or -8). */
static void ring_move(struct emit *e, int delta)
{
	x_alu_ri(e, delta > 0 ? 0 : 5, H_RCX, 8);
	x_alu_ri(e, 4, H_RCX, (JIT_RS_SIZE - 1) * 8);
	x_mem(e, false, 0x89, H_RCX, H_RBX, CPU_OFF(jit_rsp));
}

/*
 * After a RET (EIP stored): take the newest return site off the ring and
 * leave through it when it is where the RET went.  Else the ring is out of
 * step with the guest's stack: when the site below is where the RET went,
 * the newest was left by a call that never returned (a stack switch), so
 * both go and the RET leaves through that one; otherwise the CALL of this
 * RET pushed nothing (it ran in the interpreter: a cold block, an
 * instruction crossing a page), so the newest stays for the RET it belongs
 * to and this one goes to the run loop.  Popping it anyway had every RET
 * above miss as well.
 */
static void ret_exit(struct tx *t, unsigned n)
{
	struct emit *e = &t->e;
	struct fwd miss = { 0 }, stale = { 0 };

	regs_out(e);
	x_alu_ri(e, 0, H_R13, n);
	x_mem(e, false, 0x8b, H_RCX, H_RBX, CPU_OFF(jit_rsp));
	x_mem_idx(e, true, 0x8b, H_RAX, H_RBX, H_RCX, CPU_OFF(jit_rs));
	ring_move(e, -8);
	x_rr(e, true, 0x85, H_RAX, H_RAX); /* test rax, rax */
	fwd_add(&miss, x_jcc_fwd(e, CC_E));
	x_mem(e, false, 0x8b, H_RDX, H_RBX, CPU_OFF(eip));
	x_mem(e, false, 0x3b, H_RDX, H_RAX, LINK_OFF(eip));
	fwd_add(&miss, x_jcc_fwd(e, CC_NE));
	/* the site is linked when taken from here: it is where EIP is */
	far_jump(e, false, &stale);
	fwd_here(e, &stale);
	relink(e);
	defer(t, &miss, NULL)->ret_miss = &t->b->exit[0];
}

/*
 * ret_exit()'s miss, out of line (rare): ecx is the ring index after the
 * pop; the site below it.  A RET that matches neither goes on through l
 * (the block's exit 0), linked to where it went last: a retpoline's RET
 * (Linux's indirect calls: CALL to a thunk, which replaces the return
 * address with the target) goes to the same function most of the time.
 */
static void ret_miss(struct emit *e, struct jit_link *l)
{
	struct fwd stale = { 0 }, keep = { 0 };

	x_mem_idx(e, true, 0x8b, H_RAX, H_RBX, H_RCX, CPU_OFF(jit_rs));
	x_rr(e, true, 0x85, H_RAX, H_RAX);
	fwd_add(&keep, x_jcc_fwd(e, CC_E));
	x_mem(e, false, 0x8b, H_RDX, H_RBX, CPU_OFF(eip));
	x_mem(e, false, 0x3b, H_RDX, H_RAX, LINK_OFF(eip));
	fwd_add(&keep, x_jcc_fwd(e, CC_NE));
	ring_move(e, -8);
	far_jump(e, false, &stale);
	fwd_here(e, &stale);
	relink(e);
	fwd_here(e, &keep);
	ring_move(e, 8);
	link_jump(e, l, true);
}

/* PUSH/POP of a register and LEAVE through the flat 32-bit stack, else the handler. */
static void emit_push_pop(struct tx *t, const struct dc_ent *d, const struct plan *p)
{
	struct emit *e = &t->e;
	struct fwd miss = { 0 };
	bool push = p->kind == K_PUSH;

	if (p->kind == K_LEAVE) {
		/* the pop from EBP: ESP = EBP + 4, EBP = [EBP] */
		ld_gpr(e, H_RAX, R_EBP);
		probe(e, false, 4, &miss);
		x_mem_idx(e, false, 0x8b, H_RDX, H_RSI, acc_idx(e), 0);
		x_alu_ri(e, 0, H_RAX, 4);
		st_gpr(e, R_ESP, H_RAX);
		st_gpr(e, R_EBP, H_RDX);
		defer_slow(t, d, &miss);
		return;
	}
	stack_probe(e, push, &miss);
	if (push && p->src == DC_NOREG) {
		x_mem_idx(e, false, 0xc7, 0, H_RSI, acc_idx(e), 0); /* PUSH imm */
		e32(e, p->imm);
		st_gpr(e, R_ESP, H_RAX);
		smc_check(t);
	} else if (push) {
		ld_gpr(e, H_RDX, p->src); /* PUSH ESP pushes the old value */
		x_mem_idx(e, false, 0x89, H_RDX, H_RSI, acc_idx(e), 0);
		st_gpr(e, R_ESP, H_RAX);
		smc_check(t);
	} else {
		x_mem_idx(e, false, 0x8b, H_RDX, H_RSI, acc_idx(e), 0);
		x_alu_ri(e, 0, H_RAX, 4);
		st_gpr(e, R_ESP, H_RAX);
		st_gpr(e, p->dst, H_RDX); /* POP ESP keeps the popped value */
	}
	defer_slow(t, d, &miss);
}

/* Can entry p go into a run of PUSHes (push) or POPs with one probe? */
static bool stack_groupable(const struct plan *p, bool push)
{
	if (push)
		return p->kind == K_PUSH && p->src != R_ESP;
	return p->kind == K_POP && p->dst != R_ESP;
}

/*
 * How many entries from i on form a run of PUSHes or of POPs for
 * emit_stack_group(): 0 when fewer than two.  The block's last entry stays
 * out (it ends the block its own way).
 */
static unsigned stack_group_len(const struct plan *plan, unsigned i, unsigned n)
{
	bool push = plan[i].kind == K_PUSH;
	unsigned k = 0;

	while (i + k + 1 < n && k < STACK_GROUP_MAX && stack_groupable(&plan[i + k], push))
		k++;
	return k >= 2 ? k : 0;
}

/*
 * k PUSHes (or POPs) from entry t->idx on, as one access of 4k bytes: one
 * TLB probe, the stores or loads, one ESP update.  A miss runs their
 * handlers one by one (struct rare's n); nothing is stored before the
 * probe hits.  t->idx and t->next end at the run's last entry.
 */
static void emit_stack_group(struct tx *t, const struct dc_ent *d, const struct plan *p, unsigned k)
{
	struct emit *e = &t->e;
	struct fwd miss = { 0 };
	bool push = p->kind == K_PUSH;
	uint32_t last_next = t->next;
	struct rare *c;

	for (unsigned j = 1; j < k; j++)
		last_next += d[j].len;
	ld_gpr(e, H_RAX, R_ESP);
	if (push)
		x_alu_ri(e, 5, H_RAX, 4 * k);
	probe(e, push, 4 * k, &miss);
	for (unsigned j = 0; j < k; j++) {
		/* PUSH j goes 4 (j + 1) below the old ESP; POP j reads 4 j above it */
		int32_t disp = (int32_t)(push ? 4 * (k - 1 - j) : 4 * j);
		const struct plan *q = &p[j];

		if (push && q->src == DC_NOREG) {
			x_mem_idx(e, false, 0xc7, 0, H_RSI, acc_idx(e), (uint32_t)disp);
			e32(e, q->imm);
		} else if (push) {
			ld_gpr(e, H_RDX, q->src);
			x_mem_idx(e, false, 0x89, H_RDX, H_RSI, acc_idx(e), (uint32_t)disp);
		} else if (held(e, q->dst)) {
			x_mem_idx(e, false, 0x8b, e->host[q->dst], H_RSI, acc_idx(e),
				  (uint32_t)disp);
			e->dirty |= (uint8_t)(1u << q->dst);
		} else {
			x_mem_idx(e, false, 0x8b, H_RDX, H_RSI, acc_idx(e), (uint32_t)disp);
			st_gpr(e, q->dst, H_RDX);
		}
	}
	if (!push)
		x_alu_ri(e, 0, H_RAX, 4 * k);
	st_gpr(e, R_ESP, H_RAX);
	/* the miss path starts from the run's first entry; the fast path goes on after the last */
	c = defer(t, &miss, d);
	c->n = k;
	t->idx += k - 1;
	t->next = last_next;
	if (push)
		smc_check(t);
	c->back = e->p;
}

/* A target past CS.limit goes to slow, unless the block checked for 4 GiB on entry. */
static void cs_limit_imm(struct tx *t, uint32_t target, struct fwd *slow)
{
	if (t->cs_4g)
		return;
	x_mem(&t->e, false, 0x81, 7, H_RBX, CPU_OFF(seg[S_CS].limit));
	e32(&t->e, target);
	fwd_add(slow, x_jcc_fwd(&t->e, CC_B));
}

/*
 * The block's last entry when it is CALL rel32 or RET: push the return
 * address and go to the target (chained when in this page), or pop EIP and
 * go back to the run loop.  A TLB miss or a target past CS.limit goes
 * through the handler, which faults as the interpreter does.
 */
static void emit_call_ret(struct tx *t, const struct dc_ent *d, const struct plan *p, uint32_t next,
			  unsigned n)
{
	struct emit *e = &t->e;
	struct fwd slow = { 0 };
	uint32_t target = next + p->imm;

	stack_probe(e, p->kind == K_CALLN, &slow);
	if (p->kind == K_CALLN) {
		/* the last entry: a store to this page needs no exit of its own */
		x_mem_idx(e, false, 0xc7, 0, H_RSI, acc_idx(e), 0);
		e32(e, next);
		cs_limit_imm(t, target, &slow);
		st_gpr(e, R_ESP, H_RAX);
		st_imm32(e, CPU_OFF(eip), target);
		push_return(t, next);
		exit_to(t, target, 0, n);
	} else {
		x_mem_idx(e, false, 0x8b, H_RDX, H_RSI, acc_idx(e), 0);
		if (!t->cs_4g) {
			x_mem(e, false, 0x39, H_RDX, H_RBX, CPU_OFF(seg[S_CS].limit));
			fwd_add(&slow, x_jcc_fwd(e, CC_B));
		}
		x_alu_ri(e, 0, H_RAX, 4);
		st_gpr(e, R_ESP, H_RAX);
		x_mem(e, false, 0x89, H_RDX, H_RBX, CPU_OFF(eip));
		ret_exit(t, n);
	}
	fwd_here(e, &slow);
	t->in_slow = true;
	header(t, next - d->len, next, true);
	t->in_slow = false;
	call_handler(e, d);
	ret_count(e, n);
}

/*
 * The block's last entry when it is a direct jump: EIP becomes the target
 * (taken) or stays the next instruction.  A target past CS.limit goes
 * through the handler, which raises #GP as d_jump() does.
 */
static void emit_jump(struct tx *t, const struct dc_ent *d, const struct plan *p, uint32_t eip,
		      uint32_t next, unsigned n)
{
	struct emit *e = &t->e;
	uint32_t target = next + p->imm;
	struct fwd skip = { 0 }, slow = { 0 };
	bool fused = e->pend; /* settled on each path: armed again for the second */

	if (fused) {
		fwd_add(&skip, x_jcc_fwd(e, (uint8_t)(p->aop ^ 1)));
		flags_settle(e, false);
	} else if (p->kind == K_JCC) {
		flags_to_host(e);
		fwd_add(&skip, x_jcc_fwd(e, (uint8_t)(p->aop ^ 1)));
	}
	cs_limit_imm(t, target, &slow);
	st_imm32(e, CPU_OFF(eip), target);
	exit_to(t, target, 0, n);
	if (p->kind == K_JCC) {
		fwd_here(e, &skip);
		e->pend = fused;
		flags_settle(e, false);
		if (t->eip_stored != next)
			st_imm32(e, CPU_OFF(eip), next);
		exit_to(t, next, 1, n);
	}
	fwd_here(e, &slow);
	header(t, eip, next, true);
	call_handler(e, d);
	ret_count(e, n);
}

/*
 * A conditional jump before the block's last entry: not taken, the block
 * goes on with the next instruction, the held registers as they were;
 * taken, it jumps to a stub after the block's body (emit_sides()) that
 * leaves through exit 2 + k, counting this one as done.  Fall-through
 * paths thus run straight on, without a block boundary (the registers'
 * write-back and reload, the next block's checks on entry).
 */
static void side_exit(struct tx *t, const struct dc_ent *d, const struct plan *p, uint32_t next,
		      bool fall_dead)
{
	struct side *sd = &t->side[t->nside];
	bool fused = t->e.pend;

	if (!fused)
		flags_to_host(&t->e);
	*sd = (struct side){ .e = t->e,
			     .d = d,
			     .target = next + p->imm,
			     .next = next,
			     .idx = t->idx,
			     .k = 2 + t->nside,
			     .esp_dirty = t->esp_dirty,
			     .eip_stored = t->eip_stored };
	fwd_add(&sd->from, x_jcc_fwd(&t->e, (uint8_t)p->aop));
	t->nside++;
	flags_settle(&t->e, fall_dead);
}

/* The side exits' stubs, each with the translation state of its jump. */
static void emit_sides(struct tx *t)
{
	for (unsigned i = 0; i < t->nside; i++) {
		struct side *sd = &t->side[i];
		struct emit *e = &t->e;
		struct fwd slow = { 0 };

		fwd_here(e, &sd->from);
		sd->e.p = e->p;
		sd->e.end = e->end;
		*e = sd->e;
		t->idx = sd->idx;
		t->esp_dirty = sd->esp_dirty;
		t->eip_stored = sd->eip_stored;
		flags_settle(e, false);
		cs_limit_imm(t, sd->target, &slow);
		st_imm32(e, CPU_OFF(eip), sd->target);
		exit_to(t, sd->target, sd->k, sd->idx + 1);
		if (slow.n) {
			/* past CS.limit: the handler raises #GP as the interpreter does */
			fwd_here(e, &slow);
			header(t, sd->next - sd->d->len, sd->next, true);
			call_handler(e, sd->d);
			ret_count(e, sd->idx + 1);
		}
	}
}

/*
 * After a branch its handler ran: an indirect CALL or JMP (FF /2, /4), or
 * an instruction that crossed a page (f_cross()), leaves through exit 0
 * when it went where it went last time (a call also pushes its return
 * site); anything else returns to the run loop.
 */
static void indirect_exit(struct tx *t, const struct dc_ent *d, uint32_t next, unsigned n)
{
	unsigned reg = (d->modrm >> 3) & 7;

	if (d->fn == DF_CROSS) {
		far_exit(t, &t->b->exit[0], true, n);
		return;
	}
	if (d->fn != DF_GRP5 || (reg != 2 && reg != 4)) {
		ret_count(&t->e, n);
		return;
	}
	if (reg == 2)
		push_return(t, next);
	far_exit(t, &t->b->exit[0], true, n);
}

/*
 * After a last entry that keeps CS (last_keeps_cs()): on by a link when EIP
 * is at the next instruction, as it always is after a POPF, STI or segment
 * load (a poll zeroed the chain limit, which the next block's chained entry
 * checks; a segment load updated cpu->jit_unflat in f_plain_last()), and
 * after a REP once its count ran out; else back to the run loop, which runs
 * the REP again.
 */
static void last_exit(struct tx *t, uint32_t next, unsigned n)
{
	struct emit *e = &t->e;
	uint8_t *done;

	x_mem(e, false, 0x81, 7, H_RBX, CPU_OFF(eip)); /* cmp dword [eip], next */
	e32(e, next);
	done = x_jcc_fwd(e, CC_E);
	ret_count(e, n);
	x_patch(e, done);
	exit_to(t, next, 0, n);
}

/* After an entry that may have stored to the fetch page: leave if it did. */
static void smc_exit(struct tx *t)
{
	struct fwd out = { 0 };

	x_mem(&t->e, false, 0x80, 7, H_RBX, CPU_OFF(smc));
	e8(&t->e, 0);
	fwd_add(&out, x_jcc_fwd(&t->e, CC_NE));
	defer(t, &out, NULL);
}

/*
 * Which entries' flags nobody sees: walking back from the block's end (all
 * flags live there), an entry's flags are dead when a later entry sets
 * them all before any instruction reads EFLAGS, may fault, or may leave
 * the block (the exit after a store that could hit the block's own code).
 * Skipping them saves a PUSHF and a read-modify-write of eflags each.
 */
static void flags_liveness(const struct jit_block *b, const struct plan *plan, bool *dead)
{
	uint32_t live = FL_ARITH;

	for (unsigned i = b->ninsn; i-- > 0;) {
		uint32_t w = plan_flags_written(&plan[i]);

		/* a conditional jump's own: dead on its fall-through path */
		if (plan[i].kind == K_JCC) {
			dead[i] = !live;
			live = FL_ARITH;
			continue;
		}

		if (i + 1 < b->ninsn && !never_stores(&b->ent[i]))
			live = FL_ARITH;
		dead[i] = w && !(w & live);
		live &= ~w;
		if (plan_flags_needed(&plan[i]))
			live = FL_ARITH;
	}
}

/*
 * Which guest registers block b keeps in r8-r11: up to four that its
 * native code uses (as registers, address bases and indexes, ESP for the
 * stack forms) more often than holding them costs: a load at the start, a
 * store at the exit, and a store and a load around every handler call.
 * Registers whose byte 1 a narrow form writes stay in struct x86cpu.
 */
static void regs_pick(const struct jit_block *b, const struct plan *plan, struct emit *e)
{
	static const uint8_t hosts[4] = { H_R8, H_R9, H_R10, H_R11 };
	unsigned uses[8] = { 0 }, narrow = 0, k = 0, calls = 0;

	for (unsigned i = 0; i < b->ninsn; i++) {
		const struct plan *p = &plan[i];
		const struct dc_ent *d = &b->ent[i];

		if (p->kind == K_CALL) {
			calls++;
			continue;
		}
		narrow |= plan_narrow_regs(p);
		if (plan_has_dst(p->kind) && p->dst < 8)
			uses[full_reg(p->dst, plan_dst_width(p))]++;
		if (plan_has_src(p->kind) && p->src < 8)
			uses[full_reg(p->src, p->w ? p->w : 4)]++;
		if ((plan_mem_kind(p->kind) && d->fn != DF_MOV_MOFFS) || p->kind == K_LEA) {
			if ((d->regs & 15) < 8)
				uses[d->regs & 15]++;
			if ((d->regs >> 4) < 8)
				uses[d->regs >> 4]++;
		}
		if (plan_stack_kind(p->kind) || p->kind == K_CALLN || p->kind == K_RET)
			uses[R_ESP] += 2;
	}
	e->cached = e->dirty = 0;
	while (k < 4) {
		unsigned best = 8;

		for (unsigned r = 0; r < 8; r++)
			if (!(narrow >> r & 1) && !held(e, r) && uses[r] > 2 + 2 * calls &&
			    (best == 8 || uses[r] > uses[best]))
				best = r;
		if (best == 8)
			break;
		e->host[best] = hosts[k++];
		e->cached |= (uint8_t)(1u << best);
	}
}

/*
 * Host code for block b (made from guest bytes at guest) into [code, end):
 * returns the entry point, or NULL when it does not fit.  *endp is set to
 * the first unused byte.
 */
static jit_code translate(const struct x86cpu *cpu, struct jit_block *b, uint8_t *code,
			  uint8_t *end, uint8_t **endp, struct emit *rare)
{
	struct plan plan[JIT_MAX_INSNS];
	bool dead[JIT_MAX_INSNS];
	struct tx t = { .e = { .p = code, .end = end, .addend = b->gen_at != NULL },
			.eip_stored = b->eip,
			.b = b,
			.esp_dirty = true };
	unsigned flat = 0, n = b->ninsn;
	uint32_t eip = b->eip;
	uint8_t *entry;

	for (unsigned i = 0; i < n; i++) {
		plan[i] = plan_of(cpu, &b->ent[i]);
		if (plan_mem_kind(plan[i].kind))
			flat |= 1u << ((b->ent[i].sseg >> 2) & 7);
		if (plan[i].kind == K_STRING)
			flat |= 1u << S_DS | 1u << S_ES;
		if (plan_stack_kind(plan[i].kind))
			flat |= 1u << S_SS | NEED_STACK32;
	}
	/* a block that jumps, calls or returns: one check on entry instead of their own */
	for (unsigned i = 0; i < n; i++) {
		unsigned k = plan[i].kind;

		if (k == K_JCC || k == K_JMP || k == K_CALLN || k == K_RET)
			t.cs_4g = cpu->seg[S_CS].limit == 0xffffffffu;
	}
	if (t.cs_4g)
		flat |= NEED_CS_4G;
	flags_liveness(b, plan, dead);
	for (unsigned k = 0; k < b->nexits; k++)
		b->exit[k] =
			(struct jit_link){ .chain = t.e.p, .tag = ~0ull, .tagp = &cpu->fetch_tag };
	ret_count(&t.e, 0); /* the stale exit, jumped to from the checks */
	t.e.stale = code;
	entry = prologue(&t, b, flat);
	/* the checks above leave by the stale exit: no register held yet */
	regs_pick(b, plan, &t.e);
	t.e.fl_held = true;
	regs_in(&t.e);
	t.body = t.e.p;
	for (unsigned i = 0; i < n; i++) {
		const struct dc_ent *d = &b->ent[i];
		const struct plan *p = &plan[i];
		uint32_t next = eip + d->len;
		unsigned group;

		t.idx = i;
		t.next = next;
		t.e.flags_dead = dead[i];
		t.e.fuse = i + 1 < n && plan[i + 1].kind == K_JCC && plan_fusable(p);
		if (p->kind == K_JCC && i + 1 < n) {
			side_exit(&t, d, p, next, dead[i]);
			eip = next;
			continue;
		}
		if (p->kind == K_JCC || p->kind == K_JMP) {
			emit_jump(&t, d, p, eip, next, n);
			break;
		}
		/* native memory, stack, call and return forms write theirs on the slow path */
		if (p->kind == K_CALL)
			header(&t, eip, next, true);
		if (p->kind == K_CALLN || p->kind == K_RET) {
			emit_call_ret(&t, d, p, next, n);
			break;
		}
		if (p->kind == K_CALL) {
			if (!never_stores(d) && i + 1 < n)
				smc_clear(&t.e); /* for smc_exit() below */
			call_handler(&t.e, d);
		} else if (plan_mem_kind(p->kind))
			emit_mem(&t, d, p);
		else if ((p->kind == K_PUSH || p->kind == K_POP) &&
			 (group = stack_group_len(plan, i, n))) {
			emit_stack_group(&t, d, p, group);
			i = t.idx;
			next = t.next;
		} else if (plan_stack_kind(p->kind))
			emit_push_pop(&t, d, p);
		else
			emit_reg(&t.e, d, p);
		t.esp_dirty |= writes_esp(p);
		eip = next;
		if (i + 1 == n) {
			/* branch handlers set EIP themselves */
			if (last_keeps_cs(d)) {
				last_exit(&t, next, n);
				break;
			}
			if (ends_block(d)) {
				indirect_exit(&t, d, next, n);
				break;
			}
			if (t.eip_stored != eip)
				st_imm32(&t.e, CPU_OFF(eip), eip);
			exit_to(&t, eip, 0, n);
		} else if (p->kind == K_CALL && !never_stores(d)) {
			smc_exit(&t); /* native stores check for themselves (smc_check()) */
		}
	}
	emit_sides(&t);
	*endp = t.e.p;
	if (t.e.p > end)
		return NULL;
	t.e.p = rare->p;
	t.e.end = rare->end;
	emit_rare(&t);
	rare->p = t.e.p;
	return t.e.p <= rare->end ? entry : NULL;
}

/*
 * The set's block for (eip, key, off), moved to the front; else its front
 * block (the caller sees the mismatch).  Two ways: a pair of hot blocks
 * that hash alike no longer evict each other before either gets hot.
 */
static struct jit_block *map_find(struct jit *j, uint32_t eip, uint32_t key, uint16_t off)
{
	struct jit_block **set = j->map[slot_of(eip, key)], *b = set[1];

	if (b && b->eip == eip && b->key == key && b->off == off) {
		set[1] = set[0];
		set[0] = b;
	}
	return set[0];
}

/* Point the jmp rel32 that ends at "after" at to. */
static void jmp_patch(uint8_t *after, const uint8_t *to)
{
	uint32_t rel = (uint32_t)(int32_t)(to - after);

	memcpy(after - 4, &rel, 4);
}

/*
 * Exits linked to a block that went stale, or was remade longer, still
 * jump to its chained entry: b, made in its place, writes a jump to its own
 * there, so those exits need not be found.  A cold block passes the old
 * entry on to the translation that replaces it.
 */
static void redirect(struct jit *j, struct jit_block *b)
{
	struct jit_block *old = map_find(j, b->eip, b->key, b->off);

	if (old && old != b && old->eip == b->eip && old->key == b->key && old->off == b->off)
		b->replaces = old->code ? old->chain : old->replaces;
	if (!b->code || !b->replaces || b->replaces == b->chain)
		return;
	b->replaces[0] = 0xe9; /* jmp rel32; the entry's checks are longer than that */
	jmp_patch(b->replaces + 5, b->chain);
	b->replaces = NULL;
}

/* Make the block that starts at eip (offset off in the fetch page), or NULL. */
static struct jit_block *form(struct x86cpu *cpu, struct jit *j, uint32_t eip, uint32_t off,
			      unsigned tries, bool hot)
{
	const struct dc_ent *src[JIT_MAX_INSNS];
	bool incomplete;
	unsigned n = gather(cpu, eip, off, src, &incomplete), nbytes = 0, ninsn, nexits = 0;
	struct jit_block *b;
	uint8_t *end;

	if (!n)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		nbytes += src[i]->len;
	/* a generic instruction at the start makes a block that says so */
	ninsn = src[n - 1]->fn ? n : n - 1;
	if (!src[0]->fn)
		ninsn = 0;
	if (ninsn && !src[n - 1]->fn)
		nbytes -= src[n - 1]->len;
	if (ninsn && !hot)
		nbytes = 0; /* a cold block keeps only its length */
	/* a translation needs code space: flush before the metadata goes in */
	if (hot && ninsn &&
	    (j->code_used + JIT_MAX_CODE > JIT_COLD_START ||
	     j->cold_used + JIT_MAX_CODE > JIT_CODE_SIZE))
		flush_all(cpu, j);
	/* exits: the last entry's two and one for each conditional jump before it */
	for (unsigned i = 0; hot && ninsn && i < ninsn; i++)
		nexits += i + 1 == ninsn ? 2 : src[i]->fn == DF_JCC8 || src[i]->fn == DF_JCC32;
	size_t size = sizeof(*b) + (hot ? ninsn * sizeof(b->ent[0]) : 0) +
		      nexits * sizeof(struct jit_link) + nbytes;
	b = meta_alloc(j, size);
	if (!b) {
		flush_all(cpu, j);
		b = meta_alloc(j, size);
	}
	b->eip = eip;
	b->key = cpu->fetch_key;
	b->off = (uint16_t)off;
	b->nbytes = (uint16_t)nbytes;
	b->ninsn = (uint16_t)ninsn;
	b->incomplete = incomplete && ninsn == n && tries < JIT_REFORM_TRIES;
	b->tries = (uint8_t)tries;
	b->hits = 0;
	b->cold = ninsn && !hot;
	b->exit = (struct jit_link *)&b->ent[b->cold ? 0 : ninsn];
	b->nexits = (uint8_t)nexits;
	b->bytes = (uint8_t *)&b->exit[nexits];
	b->code = NULL;
	b->chain = NULL;
	b->replaces = NULL;
	b->gen_at = NULL;
	if (b->cold) {
		redirect(j, b);
		remember(j, b);
		return b;
	}
	j->forms++;
	for (unsigned i = 0; i < ninsn; i++)
		b->ent[i] = *src[i];
	memcpy(b->bytes, cpu->fetch_host + off, nbytes);
	b->gen = ninsn ? x86_code_watch(cpu, cpu->fetch_gpa, cpu->fetch_host) : 0;
	if (b->gen) {
		b->gen_at = &cpu->code_gen[x86_code_page(cpu, cpu->fetch_host)];
		j->watched++;
	}
	if (ninsn) {
		uint8_t *start = j->code + j->code_used, *cold = j->code + j->cold_used;
		struct emit rare = { .p = cold, .end = cold + JIT_MAX_CODE };

		b->code = translate(cpu, b, start, start + JIT_MAX_CODE, &end, &rare);
		if (b->code && j->perfmap) {
			fprintf(j->perfmap, "%lx %lx guest_%08x_%u\n", (unsigned long)start,
				(unsigned long)(end - start), eip, ninsn);
			fprintf(j->perfmap, "%lx %lx rare_%08x_%u\n", (unsigned long)cold,
				(unsigned long)(rare.p - cold), eip, ninsn);
		}
		if (b->code) {
			j->code_used = (size_t)(end - j->code + 15) & ~(size_t)15;
			j->cold_used = (size_t)(rare.p - j->code + 15) & ~(size_t)15;
		} else
			b->ninsn = 0; /* cannot happen within JIT_MAX_CODE; stay interpreted */
	}
	redirect(j, b);
	remember(j, b);
	return b;
}

/*
 * The block for the current EIP, checked against memory, or NULL when the
 * next instruction has to go through the interpreter.
 */
static struct jit_block *lookup(struct x86cpu *cpu, struct jit *j)
{
	const struct x86_seg *cs = &cpu->seg[S_CS];
	uint32_t eip = cpu->eip, la = cs->base + eip, off = la & 0xfff;
	struct jit_block *b;
	bool match;

	/* switch_page() could not fetch from EIP's page: the interpreter's turn */
	if (unlikely((la >> 12) != cpu->fetch_vpn))
		return NULL;
	b = j->recent[recent_slot(eip)];
	match = b && b->eip == eip && b->key == cpu->fetch_key && b->off == off;
	if (!match) {
		b = map_find(j, eip, cpu->fetch_key, off);
		match = b && b->eip == eip && b->key == cpu->fetch_key && b->off == off;
	}
	if (likely(match && b->code)) {
		if (unlikely(b->incomplete && ++b->hits >= JIT_REFORM_HITS << b->tries)) {
			j->reforms++;
			b = form(cpu, j, eip, off, b->tries + 1u, true);
		}
	} else if (match && b->cold) {
		if (++b->hits >= JIT_HOT)
			b = form(cpu, j, eip, off, 0, true);
	} else if (!match || memcmp(cpu->fetch_host + off, b->bytes, b->nbytes)) {
		j->evicted += b && !match;
		b = form(cpu, j, eip, off, 0, false);
	}
	if (unlikely(!b || (!b->code && !b->cold) || (uint64_t)eip + b->nbytes - 1 > cs->limit))
		return NULL;
	j->recent[recent_slot(eip)] = b;
	hot_set(j, b);
	return b;
}

/*
 * After a jump to another page, fetch from there (as x86_step() would) so
 * that the hot table can match: true when the fetch page changed.  A
 * failure (#GP past the limit, #PF, code in MMIO) is left to lookup() and
 * the interpreter.
 */
static bool switch_page(struct x86cpu *cpu)
{
	const struct x86_seg *cs = &cpu->seg[S_CS];
	uint32_t eip = cpu->eip, la = cs->base + eip;

	if ((la >> 12) == cpu->fetch_vpn || eip > cs->limit)
		return false;
	cpu->insn_eip = eip;
	cpu->insn_esp = cpu->gpr[R_ESP];
	return x86_fetch_set(cpu, la);
}

/* The hot entry for the current EIP when it matches, else NULL (see lookup()). */
static struct jit_hot *hot_find(const struct x86cpu *cpu, struct jit *j)
{
	const struct x86_seg *cs = &cpu->seg[S_CS];
	uint32_t eip = cpu->eip, la = cs->base + eip;
	struct jit_hot *h = &j->hot[recent_slot(eip)];

	/* another page first: the table (2 MiB) is not touched, it misses the cache */
	if ((la >> 12) != cpu->fetch_vpn)
		return NULL;
	if (likely(h->kind != HOT_EMPTY && h->eip == eip && h->key == cpu->fetch_key &&
		   h->off == (la & 0xfff) && (uint64_t)eip + h->nbytes - 1 <= cs->limit))
		return h;
	return NULL;
}

/*
 * What to run at the current EIP: a translated block (its hot entry, or
 * *tmp filled from the block map), or NULL for the interpreter, with
 * *cold set to the instructions of a block still being counted.  A flush
 * on the way makes *link, the exit slot to patch, stale.
 */
static const struct jit_hot *pick(struct x86cpu *cpu, struct jit *j, struct jit_hot *tmp,
				  unsigned *cold, struct jit_link **link)
{
	struct jit_hot *h = hot_find(cpu, j);
	uint64_t flushes = j->flushes;
	struct jit_block *b;

	if (!h && switch_page(cpu))
		h = hot_find(cpu, j);
	j->dispatches++;
	/* a step entry whose bytes changed goes through lookup(), which remakes it */
	if (h && h->kind == HOT_STEP && memcmp(cpu->fetch_host + h->off, h->bytes, h->nbytes))
		h = NULL;
	if (h && h->kind == HOT_COLD) {
		if (++h->hits < JIT_HOT) {
			j->hot_hits++;
			*cold = h->ninsn;
			return NULL;
		}
		/* hot now: lookup() counts the last run and translates it */
		h->block->hits = JIT_HOT - 1;
		h = NULL;
	}
	if (h) {
		j->hot_hits++;
		return h->kind == HOT_STEP ? NULL : h;
	}
	b = lookup(cpu, j);
	if (flushes != j->flushes)
		*link = NULL;
	if (b && b->cold) {
		*cold = b->ninsn;
		return NULL;
	}
	if (!b || !b->code)
		return NULL;
	*tmp = (struct jit_hot){
		.off = b->off, .ninsn = b->ninsn, .code = b->code, .chain = b->chain
	};
	return tmp;
}

/* Point l at h, the block at EIP in the fetch page (see struct jit_link). */
static void link_set(struct jit_link *l, struct x86cpu *cpu, const struct jit_hot *h)
{
	const struct tlb_ent *te = &cpu->tlb[cpu->user][cpu->fetch_vpn & (TLB_SIZE - 1)];

	l->chain = h->chain;
	if (l->jmp) {
		/* an exit to the same page: nothing else to compare, a direct jump */
		jmp_patch(l->jmp, h->chain);
		return;
	}
	/* global: still the page the fetch state names, so a CR3 reload keeps it */
	l->tagp = te->global && te->vpn_r == cpu->fetch_vpn && te->host == cpu->fetch_host
			  ? &cpu->fetch_gtag
			  : &cpu->fetch_tag;
	l->tag = *l->tagp;
	if (l->tagp == &cpu->fetch_gtag)
		vpn_set_add(&cpu->glinked, cpu->fetch_vpn);
	else
		vpn_set_add(&cpu->linked, cpu->fetch_vpn);
	l->host = cpu->fetch_host;
	l->gpa = cpu->fetch_gpa;
	l->vpn = cpu->fetch_vpn;
	l->key = cpu->fetch_key;
	l->slot = cpu->fetch_slot;
	l->eip = cpu->eip;
}

/* Run h's code once; returns instructions done.  *link: the exit it left by. */
static unsigned run_block(struct x86cpu *cpu, struct jit *j, const struct jit_hot *h,
			  struct jit_link **link)
{
	uint64_t left = cpu->budget_end > cpu->icount ? cpu->budget_end - cpu->icount : 0;
	uint16_t off = h->off;
	unsigned k;

	if (*link)
		link_set(*link, cpu, h);
	/*
	 * Chained blocks go on while the instructions done stay within the
	 * budget and JIT_CHAIN_MAX (the run loop checked this first block): a
	 * block is entered only while JIT_MAX_INSNS more fit.
	 */
	if (left > JIT_CHAIN_MAX)
		left = JIT_CHAIN_MAX;
	cpu->jit_limit = left > JIT_MAX_INSNS ? (uint32_t)(left - JIT_MAX_INSNS) : 0;
	if (cpu->poll)
		cpu->jit_limit = 0; /* this block only (an STI's shadow) */
	cpu->jit_exit = NULL;
	k = j->enter(cpu, h->code);
	cpu->jit_done = 0;
	*link = cpu->jit_exit;
	cpu->icount += k;
	j->runs++;
	if (likely(k))
		return k;
	/* changed bytes or segments: remake it, step once */
	j->stale++;
	form(cpu, j, cpu->eip, off, 0, true);
	*link = NULL;
	k = x86_dc_run(cpu, 1);
	cpu->jit_unflat = plan_unflat(cpu);
	return k;
}

/*
 * Is the instruction at EIP one the decode cache never held (its slot is
 * empty)?  No block can start there (form() needs its entry), so stepping
 * on into it needs no lookup: code run for the first time costs one
 * lookup per straight run instead of one per instruction.
 */
static bool next_is_new(struct x86cpu *cpu)
{
	uint32_t la = cpu->seg[S_CS].base + cpu->eip;

	return (la >> 12) == cpu->fetch_vpn && !dc_fetch_slot(cpu, la & 0xfff)->key;
}

/* One interpreted instruction, then more while they are new (at most 64). */
static unsigned step_new(struct x86cpu *cpu)
{
	unsigned k = 0;

	do {
		k += x86_dc_run(cpu, 1);
	} while (k < 64 && cpu->icount < cpu->budget_end && !cpu->poll && next_is_new(cpu));
	return k;
}

/*
 * Run blocks (or single interpreted instructions) until about n are done or
 * a poll is due.  A block that left through an exit slot gets that slot
 * pointed at the block found next, so the jump goes straight there the
 * next time; a flush of the cache forgets the slot.
 */
unsigned x86_jit_run(struct x86cpu *cpu, unsigned n)
{
	struct jit *j = cpu->jit;
	unsigned done = 0, k;
	struct jit_link *link = NULL;
	uint32_t seg_gen = cpu->seg_gen;

	/* segments load outside blocks (interpreted steps, events, faults) or last in one */
	cpu->jit_unflat = plan_unflat(cpu);
	do {
		struct jit_hot tmp;
		unsigned cold = 0;

		x86_code_sync(cpu); /* before the blocks of pages the dm just wrote run */
		const struct jit_hot *h = pick(cpu, j, &tmp, &cold, &link);

		/* the budget is exact (tests step one instruction at a time) */
		if (h && cpu->icount + h->ninsn <= cpu->budget_end) {
			k = run_block(cpu, j, h, &link);
			done += k;
			/* a block that loaded a segment ended there (ends_block()) */
			if (unlikely(cpu->seg_gen != seg_gen)) {
				seg_gen = cpu->seg_gen;
				cpu->jit_unflat = plan_unflat(cpu);
			}
			continue;
		}
		/* interpret a cold block's instructions until it is hot, else one or a new run */
		if (cold)
			k = x86_dc_run(cpu, cpu->icount + cold <= cpu->budget_end ? cold : 1);
		else
			k = step_new(cpu);
		cpu->jit_unflat = plan_unflat(cpu);
		link = NULL;
		done += k;
	} while (done < n && !cpu->poll);
	return done;
}

/*
 * The bytes after the code buffer that hold cpu->code_gen and code_wr
 * (codewatch.c), or 0 when the bus offers no watch: within 2 GiB of every
 * block, so that a prologue reads its page's word RIP-relative.
 */
static size_t watch_size(const struct x86cpu *cpu)
{
	uint64_t pages = cpu->bus.ram_size >> 12;

	if (!cpu->bus.ram || !cpu->bus.written_bitmap || !cpu->bus.written_seq ||
	    pages > (1ull << 26))
		return 0;
	return (size_t)((pages * 5 + 4095) & ~4095ull);
}

static void watch_setup(struct x86cpu *cpu, struct jit *j)
{
	uint8_t *at = j->code + JIT_CODE_SIZE;

	if (!j->watch_size || mprotect(at, j->watch_size, PROT_READ | PROT_WRITE))
		return;
	cpu->code_gen = (uint32_t *)(void *)at;
	cpu->code_wr = at + (cpu->bus.ram_size >> 12) * 4;
	cpu->written_seen = __atomic_load_n(cpu->bus.written_seq, __ATOMIC_ACQUIRE);
}

/* CPUID 8000_0001h ECX bit 0: LAHF/SAHF in 64-bit mode (every x86-64 host but the first). */
static bool host_has_lahf(void)
{
	unsigned a, b, c, d;

	return __get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & 1u);
}

int x86_jit_create(struct x86cpu *cpu)
{
	struct jit *j;

	/* translated code keeps the flags as LAHF/SAHF see them (flags_home()) */
	if (!host_has_lahf())
		return 0; /* the interpreter alone: cpu->jit stays NULL */
	j = x86_huge_alloc(sizeof(*j));
	if (!j)
		return -12; /* -ENOMEM */
	j->watch_size = watch_size(cpu);
	j->code = mmap(NULL, JIT_CODE_SIZE + j->watch_size, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	j->meta = malloc(JIT_META_SIZE);
	if (j->code == MAP_FAILED || !j->meta) {
		if (j->code != MAP_FAILED)
			munmap(j->code, JIT_CODE_SIZE + j->watch_size);
		free(j->meta);
		x86_huge_free(j, sizeof(*j));
		return -12;
	}
	/*
	 * A guest fork or exec runs some 100k distinct instructions once each:
	 * their blocks and metadata span thousands of 4 KiB host pages, and
	 * every host TLB miss is a (nested, under a hypervisor) page walk.  In
	 * transparent 2 MiB pages, where the host allows them, they need ~50.
	 */
	madvise(j->code, JIT_CODE_SIZE, MADV_HUGEPAGE);
	watch_setup(cpu, j);
	j->enter_size = emit_enter(j->code, j->code + JIT_MAX_CODE);
	j->enter = (jit_enter)(void *)j->code;
	j->code_used = j->enter_size;
	j->cold_used = JIT_COLD_START;
	madvise((void *)(((uintptr_t)j->meta + 4095) & ~(uintptr_t)4095), JIT_META_SIZE - 4096,
		MADV_HUGEPAGE);
	if (getenv("HVM_EMU_JIT") && !strcmp(getenv("HVM_EMU_JIT"), "perfmap")) {
		/*
		 * perf's map for JIT code: host range and guest EIP per block.
		 * Reused after a flush, so a range may carry an older name too.
		 */
		char path[64];

		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
		j->perfmap = fopen(path, "a");
		if (j->perfmap)
			setvbuf(j->perfmap, NULL, _IOLBF, 0);
	}
	cpu->jit = j;
	return 0;
}

void x86_jit_destroy(struct x86cpu *cpu)
{
	struct jit *j = cpu->jit;

	if (!j)
		return;
	if (getenv("HVM_EMU_JIT") && !strcmp(getenv("HVM_EMU_JIT"), "stats"))
		fprintf(stderr,
			"jit: %llu dispatches (%llu from the hot table), %llu block runs, %llu "
			"blocks "
			"made (%llu stale, %llu regrown, %llu replacing another, %llu in watched "
			"pages), %llu flushes\n",
			(unsigned long long)j->dispatches, (unsigned long long)j->hot_hits,
			(unsigned long long)j->runs, (unsigned long long)j->forms,
			(unsigned long long)j->stale, (unsigned long long)j->reforms,
			(unsigned long long)j->evicted, (unsigned long long)j->watched,
			(unsigned long long)j->flushes);
	if (j->perfmap)
		fclose(j->perfmap);
	munmap(j->code, JIT_CODE_SIZE + j->watch_size);
	cpu->code_gen = NULL;
	cpu->code_wr = NULL;
	free(j->meta);
	x86_huge_free(j, sizeof(*j));
	cpu->jit = NULL;
}
