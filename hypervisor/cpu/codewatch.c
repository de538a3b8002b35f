/* SPDX-License-Identifier: MIT */
/*
 * codewatch.c - which pages of guest RAM hold translated code, and when
 * they change.
 *
 * A translated block must not run once the guest bytes it was made from
 * have changed.  Blocks from pages watched here check one word on entry
 * (the page's generation, cpu->code_gen) instead of comparing every byte
 * of their code, the job QEMU does with its write-protected code pages:
 *
 *  - Translating from a page sets bit 0 of its word ("watched") and drops
 *    every TLB entry that could write the page.  While the bit is set,
 *    tlb_fill() makes no write entry for the page, so each CPU store to it
 *    takes the slow path, whose write fill calls x86_code_written(): the
 *    generation goes up, the watch ends, and cpu->smc ends the running
 *    block.  Stores that bypass the TLB (page-table A/D bits, REP INS into
 *    RAM) call it themselves.
 *  - The device model's DMA sets bits in the written-page bitmap and then
 *    bumps *bus.written_seq (include/hvm/setup.h); x86_code_sync() reads
 *    the bitmap when the count moved and ends the watch of every watched
 *    page in it.  It runs before each pass of the block loop (so before any
 *    interrupt handler the DMA's completion raises) and after every request
 *    the dm answered, so a status read that sees the transfer done sees the
 *    code it brought too.  Only code that polls guest memory for the end of
 *    a DMA transfer and then jumps into it through blocks already chained
 *    can run stale code, for at most one chain (JIT_CHAIN_MAX instructions).
 *  - A page whose watch CPU stores end again and again (data next to code)
 *    goes back to byte checks: after CODE_WR_MAX such ends it is no longer
 *    watched, until a DMA write or a flush of all blocks gives it a new
 *    start.
 *
 * The bus offers this only with one vCPU (another CPU's TLB would keep
 * writing the page); without it, every block compares its bytes.
 */
#include <string.h>

#include "cpu.h"

#define CODE_WR_MAX 8

/* The page of bus.ram that host points into, or -1 when not watched RAM. */
long x86_code_page(const struct x86cpu *cpu, const uint8_t *host)
{
	if (!cpu->code_gen || !host || host < cpu->bus.ram ||
	    (uint64_t)(host - cpu->bus.ram) >= cpu->bus.ram_size)
		return -1;
	return (long)((uint64_t)(host - cpu->bus.ram) >> 12);
}

/* The page's blocks are stale from now on; its stores are plain again. */
static void code_bump(struct x86cpu *cpu, long i)
{
	cpu->code_gen[i] = (cpu->code_gen[i] | 1u) + 1u;
}

/*
 * Before a block from the page at host (guest-physical gpa) is made: watch
 * it.  Returns the generation the block checks on entry, or 0 when the
 * block has to compare its bytes instead.
 */
uint32_t x86_code_watch(struct x86cpu *cpu, uint64_t gpa, const uint8_t *host)
{
	long i = x86_code_page(cpu, host);
	struct tlb_ent *base = &cpu->tlb[0][0];

	if (i < 0 || cpu->code_wr[i] >= CODE_WR_MAX)
		return 0;
	if (cpu->code_gen[i] & 1u)
		return cpu->code_gen[i];
	cpu->code_gen[i] |= 1u;
	/* every entry that writes the page, through any linear address */
	for (unsigned k = 0; k < cpu->tlb_nused; k++) {
		struct tlb_ent *e = base + cpu->tlb_used[k];

		if (e->vpn_w != ~0u && *tlb_gpa(cpu, e) == (gpa & ~0xfffull))
			e->vpn_w = ~0u;
	}
	return cpu->code_gen[i];
}

/* May a TLB entry write the page at host without telling us? */
bool x86_code_watched(const struct x86cpu *cpu, const uint8_t *host)
{
	long i = x86_code_page(cpu, host);

	return i >= 0 && (cpu->code_gen[i] & 1u);
}

/* The CPU is about to store into [host, host + len): end the watch there. */
void x86_code_written(struct x86cpu *cpu, const uint8_t *host, size_t len)
{
	long first = x86_code_page(cpu, host), last;

	if (first < 0 || !len)
		return;
	last = x86_code_page(cpu, host + len - 1);
	if (last < first)
		last = first;
	for (long i = first; i <= last; i++) {
		if (!(cpu->code_gen[i] & 1u))
			continue;
		code_bump(cpu, i);
		if (cpu->code_wr[i] < CODE_WR_MAX)
			cpu->code_wr[i]++;
		cpu->smc = true;
	}
}

/* The pages the dm wrote since the last look: end the watch of those. */
void x86_code_sync(struct x86cpu *cpu)
{
	uint32_t *bm = cpu->bus.written_bitmap, seq;
	uint64_t pages = cpu->bus.ram_size >> 12, words = (pages + 31) / 32;

	if (!cpu->code_gen || !bm || !cpu->bus.written_seq)
		return;
	seq = __atomic_load_n(cpu->bus.written_seq, __ATOMIC_ACQUIRE);
	if (seq == cpu->written_seen)
		return;
	cpu->written_seen = seq;
	for (uint64_t w = 0; w < words; w++) {
		uint32_t bits;

		if (!__atomic_load_n(&bm[w], __ATOMIC_RELAXED))
			continue;
		bits = __atomic_exchange_n(&bm[w], 0, __ATOMIC_ACQUIRE);
		while (bits) {
			long i = (long)(w * 32 + (unsigned)__builtin_ctz(bits));

			bits &= bits - 1;
			if ((uint64_t)i >= pages)
				break;
			if (cpu->code_gen[i] & 1u)
				code_bump(cpu, i);
			cpu->code_wr[i] = 0; /* new contents: a fresh start */
		}
	}
}

void x86cpu_code_sync(struct x86cpu *cpu)
{
	x86_code_sync(cpu);
}

/* After a flush of every block: pages that went back to byte checks start over. */
void x86_code_forget_writes(struct x86cpu *cpu)
{
	if (cpu->code_wr)
		memset(cpu->code_wr, 0, cpu->bus.ram_size >> 12);
}
