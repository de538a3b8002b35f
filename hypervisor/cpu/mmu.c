/* SPDX-License-Identifier: MIT */
/*
 * mmu.c - segmentation limit/rights checks and paging for the software CPU
 * (SDM vol. 3 chapters 3 and 4): 2-level paging with 4 MiB PSE pages
 * (including PSE-36 high bits), PAE 3-level paging with 2 MiB pages, global
 * pages, CR0.WP, accessed/dirty bits and #PF error codes with CR2.  A small
 * direct-mapped software TLB per privilege class maps linear pages to host
 * pointers.  Not emulated: NX/XD (not advertised), SMEP/SMAP, PCIDs, MTRR
 * memory types, A20 masking (the bus owns it).
 */
#include "cpu.h"

#define PTE_P 0x1u
#define PTE_W 0x2u
#define PTE_U 0x4u
#define PTE_A 0x20u
#define PTE_D 0x40u
#define PTE_PS 0x80u
#define PTE_G 0x100u
#define PAE_ADDR 0x000ffffffffff000ull

uint64_t x86_phys_read(struct x86cpu *cpu, uint64_t gpa, unsigned size)
{
	uint8_t *p = cpu->bus.map_page(cpu->bus.opaque, gpa & ~0xfffull, false);

	if (p && (gpa & 0xfff) + size <= 4096) {
		uint64_t v = 0;
		memcpy(&v, p + (gpa & 0xfff), size);
		return v;
	}
	return cpu->bus.mmio_read(cpu->bus.opaque, gpa, size);
}

void x86_phys_write(struct x86cpu *cpu, uint64_t gpa, uint64_t val, unsigned size)
{
	uint8_t *p = cpu->bus.map_page(cpu->bus.opaque, gpa & ~0xfffull, true);

	if (p) {
		x86_code_written(cpu, p + (gpa & 0xfff), size);
		memcpy(p + (gpa & 0xfff), &val, size);
		return;
	}
	/* ROM: readable but not writable; writes are dropped */
	if (cpu->bus.map_page(cpu->bus.opaque, gpa & ~0xfffull, false))
		return;
	cpu->bus.mmio_write(cpu->bus.opaque, gpa, val, size);
}

/* No linear page matches e any more, for reads, writes or native reads. */
static void tlb_ent_clear(struct tlb_ent *e)
{
	e->vpn_r = ~0u;
	e->vpn_w = ~0u;
	e->vpn_rh = ~0u;
}

/* Every entry invalid, none listed: the starting state. */
void x86_tlb_init(struct x86cpu *cpu)
{
	for (unsigned u = 0; u < 2; u++) {
		for (unsigned i = 0; i < TLB_SIZE; i++) {
			tlb_ent_clear(&cpu->tlb[u][i]);
			cpu->tlb[u][i].listed = false;
		}
	}
	cpu->tlb_nused = 0;
	x86_fetch_forget(cpu);
}

/*
 * Only the entries filled since the last flush can be valid: walking that
 * list instead of the whole TLB keeps CR3 reloads (every process switch,
 * every register load in the tests) cheap.
 */
void x86_tlb_flush(struct x86cpu *cpu, bool global)
{
	struct tlb_ent *base = &cpu->tlb[0][0];
	unsigned kept = 0;

	for (unsigned i = 0; i < cpu->tlb_nused; i++) {
		struct tlb_ent *e = base + cpu->tlb_used[i];
		if (!global && e->global && e->vpn_r != ~0u) {
			cpu->tlb_used[kept++] = cpu->tlb_used[i];
			continue;
		}
		tlb_ent_clear(e);
		e->listed = false;
	}
	cpu->tlb_nused = kept;
	if (global)
		x86_fetch_forget(cpu);
	else
		x86_fetch_forget_local(cpu);
}

void x86_tlb_flush_page(struct x86cpu *cpu, uint32_t la)
{
	for (unsigned u = 0; u < 2; u++) {
		tlb_ent_clear(&cpu->tlb[u][(la >> 12) & (TLB_SIZE - 1)]);
	}
	x86_fetch_forget_page(cpu, la >> 12);
}

__attribute__((noreturn)) static void page_fault(struct x86cpu *cpu, uint32_t la, bool present,
						 bool write, bool user)
{
	cpu->cr2 = la;
	x86_raise(cpu, EXC_PF, (present ? 1 : 0) | (write ? 2 : 0) | (user ? 4 : 0), true);
}

/* Set accessed (and dirty) in a paging entry if not yet set; 32-bit store is enough. */
static void set_ad(struct x86cpu *cpu, uint64_t addr, uint64_t ent, uint32_t bits)
{
	if ((ent & bits) != bits)
		x86_phys_write(cpu, addr, (uint32_t)ent | bits, 4);
}

struct walk {
	uint64_t gpa;
	bool wr_ok, global;
};

static void check_perm(struct x86cpu *cpu, uint32_t la, uint64_t perm, bool write, bool user)
{
	if (user && !(perm & PTE_U))
		page_fault(cpu, la, true, write, user);
	if (write && !(perm & PTE_W) && (user || (cpu->cr0 & CR0_WP)))
		page_fault(cpu, la, true, write, user);
}

static bool can_write(struct x86cpu *cpu, uint64_t perm, bool user)
{
	return (perm & PTE_W) || (!user && !(cpu->cr0 & CR0_WP));
}

static void walk_legacy(struct x86cpu *cpu, uint32_t la, bool write, bool user, struct walk *w)
{
	uint64_t pde_a = (cpu->cr3 & 0xfffff000u) | ((la >> 20) & 0xffc);
	uint32_t pde = (uint32_t)x86_phys_read(cpu, pde_a, 4);

	if (!(pde & PTE_P))
		page_fault(cpu, la, false, write, user);
	if ((pde & PTE_PS) && (cpu->cr4 & CR4_PSE)) {
		check_perm(cpu, la, pde, write, user);
		set_ad(cpu, pde_a, pde, PTE_A | (write ? PTE_D : 0));
		w->gpa = (pde & 0xffc00000u) | (la & 0x3ff000u) |
			 ((uint64_t)((pde >> 13) & 0xf) << 32);
		w->wr_ok = can_write(cpu, pde, user) && (write || (pde & PTE_D));
		w->global = (pde & PTE_G) && (cpu->cr4 & CR4_PGE);
		return;
	}
	uint64_t pte_a = (pde & 0xfffff000u) | ((la >> 10) & 0xffc);
	uint32_t pte = (uint32_t)x86_phys_read(cpu, pte_a, 4);
	if (!(pte & PTE_P))
		page_fault(cpu, la, false, write, user);
	check_perm(cpu, la, pde & pte, write, user);
	set_ad(cpu, pde_a, pde, PTE_A);
	set_ad(cpu, pte_a, pte, PTE_A | (write ? PTE_D : 0));
	w->gpa = pte & 0xfffff000u;
	w->wr_ok = can_write(cpu, pde & pte, user) && (write || (pte & PTE_D));
	w->global = (pte & PTE_G) && (cpu->cr4 & CR4_PGE);
}

static void walk_pae(struct x86cpu *cpu, uint32_t la, bool write, bool user, struct walk *w)
{
	uint64_t pdpte = x86_phys_read(cpu, (cpu->cr3 & 0xffffffe0u) + ((la >> 30) & 3) * 8, 8);

	if (!(pdpte & PTE_P))
		page_fault(cpu, la, false, write, user);
	uint64_t pde_a = (pdpte & PAE_ADDR) + ((la >> 21) & 0x1ff) * 8;
	uint64_t pde = x86_phys_read(cpu, pde_a, 8);
	if (!(pde & PTE_P))
		page_fault(cpu, la, false, write, user);
	if (pde & PTE_PS) {
		check_perm(cpu, la, pde, write, user);
		set_ad(cpu, pde_a, pde, PTE_A | (write ? PTE_D : 0));
		w->gpa = (pde & 0x000fffffffe00000ull) | (la & 0x1ff000u);
		w->wr_ok = can_write(cpu, pde, user) && (write || (pde & PTE_D));
		w->global = (pde & PTE_G) && (cpu->cr4 & CR4_PGE);
		return;
	}
	uint64_t pte_a = (pde & PAE_ADDR) + ((la >> 12) & 0x1ff) * 8;
	uint64_t pte = x86_phys_read(cpu, pte_a, 8);
	if (!(pte & PTE_P))
		page_fault(cpu, la, false, write, user);
	check_perm(cpu, la, pde & pte, write, user);
	set_ad(cpu, pde_a, pde, PTE_A);
	set_ad(cpu, pte_a, pte, PTE_A | (write ? PTE_D : 0));
	w->gpa = pte & PAE_ADDR;
	w->wr_ok = can_write(cpu, pde & pte, user) && (write || (pte & PTE_D));
	w->global = (pte & PTE_G) && (cpu->cr4 & CR4_PGE);
}

/* The page's writable host mapping; a read fill only probes (no dirty log). */
static uint8_t *writable_host(struct x86cpu *cpu, uint64_t gpa, bool write)
{
	if (!write && cpu->bus.probe_writable)
		return cpu->bus.probe_writable(cpu->bus.opaque, gpa);
	return cpu->bus.map_page(cpu->bus.opaque, gpa, true);
}

/* Translate and fill the TLB; faults with #PF. */
static struct tlb_ent *tlb_fill(struct x86cpu *cpu, uint32_t la, bool write, bool user)
{
	struct walk w = { .gpa = la & ~0xfffu, .wr_ok = true, .global = false };
	struct tlb_ent *e = &cpu->tlb[user][(la >> 12) & (TLB_SIZE - 1)];

	if (cpu->cr0 & CR0_PG) {
		if (cpu->cr4 & CR4_PAE)
			walk_pae(cpu, la, write, user, &w);
		else
			walk_legacy(cpu, la, write, user, &w);
	}
	if (!e->listed) {
		e->listed = true;
		cpu->tlb_used[cpu->tlb_nused++] = (uint16_t)(e - &cpu->tlb[0][0]);
	}
	*tlb_gpa(cpu, e) = w.gpa;
	e->global = w.global;
	e->host = cpu->bus.map_page(cpu->bus.opaque, w.gpa, false);
	e->add = (uintptr_t)e->host - (la & ~0xfffu);
	e->vpn_r = la >> 12;
	e->vpn_w = ~0u;
	e->vpn_rh = e->host ? la >> 12 : ~0u;
	e->mmio_w = w.wr_ok && !e->host;
	if (w.wr_ok && e->host && writable_host(cpu, w.gpa, write) == e->host) {
		/* a store to a page blocks were made from ends their watch first */
		if (write)
			x86_code_written(cpu, e->host, 1);
		if (!x86_code_watched(cpu, e->host))
			e->vpn_w = la >> 12;
	}
	return e;
}

uint64_t x86_translate(struct x86cpu *cpu, uint32_t la, bool write, bool user, bool exec)
{
	struct tlb_ent *e = &cpu->tlb[user][(la >> 12) & (TLB_SIZE - 1)];

	if ((write ? e->vpn_w : e->vpn_r) != la >> 12)
		e = tlb_fill(cpu, la, write, user);
	return *tlb_gpa(cpu, e) | (la & 0xfff);
}

uint8_t *x86_fetch_page(struct x86cpu *cpu, uint32_t la, uint64_t *gpa)
{
	struct tlb_ent *e = &cpu->tlb[cpu->user][(la >> 12) & (TLB_SIZE - 1)];

	if (e->vpn_r != la >> 12)
		e = tlb_fill(cpu, la, false, cpu->user);
	*gpa = *tlb_gpa(cpu, e);
	return e->host;
}

uint32_t x86_lin_read_slow(struct x86cpu *cpu, uint32_t la, unsigned size, bool user, bool exec)
{
	if ((la & 0xfff) + size > 4096) {
		uint32_t v = 0;
		for (unsigned i = 0; i < size; i++)
			v |= lin_read(cpu, la + i, 1, user) << (8 * i);
		return v;
	}
	struct tlb_ent *e = &cpu->tlb[user][(la >> 12) & (TLB_SIZE - 1)];
	if (e->vpn_r != la >> 12)
		e = tlb_fill(cpu, la, false, user);
	if (e->host)
		return ld(e->host + (la & 0xfff), size);
	return (uint32_t)cpu->bus.mmio_read(cpu->bus.opaque, *tlb_gpa(cpu, e) | (la & 0xfff), size);
}

void x86_lin_touch_write(struct x86cpu *cpu, uint32_t la, unsigned size, bool user)
{
	x86_translate(cpu, la, true, user, false);
	if ((la & 0xfff) + size > 4096)
		x86_translate(cpu, la + size - 1, true, user, false);
}

void x86_lin_write_slow(struct x86cpu *cpu, uint32_t la, uint32_t val, unsigned size, bool user)
{
	if ((la & 0xfff) + size > 4096) {
		cpu->smc = true;
		/* both pages must be writable before any byte changes */
		x86_lin_touch_write(cpu, la, size, user);
		for (unsigned i = 0; i < size; i++)
			lin_write(cpu, la + i, (val >> (8 * i)) & 0xff, 1, user);
		return;
	}
	struct tlb_ent *e = &cpu->tlb[user][(la >> 12) & (TLB_SIZE - 1)];
	/*
	 * Device memory (the VGA window, MMIO BARs) has no host page, so vpn_w
	 * never matches: without this, every store there walked the page
	 * tables and asked the bus about the page four times.
	 */
	if (e->vpn_r == la >> 12 && e->mmio_w) {
		cpu->bus.mmio_write(cpu->bus.opaque, *tlb_gpa(cpu, e) | (la & 0xfff), val, size);
		return;
	}
	/*
	 * Any other slow store may hit code (a page crossing, a fresh TLB fill):
	 * rare enough to end a block without a closer look.  A device store
	 * does not: cross-modifying code through DMA needs a serializing
	 * instruction on hardware too (SDM vol. 3 8.1.3).
	 */
	cpu->smc = true;
	uint64_t gpa = x86_translate(cpu, la, true, user, false);
	if (e->vpn_w == la >> 12) {
		st(e->host + (la & 0xfff), val, size);
		return;
	}
	x86_phys_write(cpu, gpa, val, size);
}

/*
 * Slow segment check (SDM vol. 3 5.3): null/unusable segments, type rights,
 * expand-down limits.  Faults are #SS(0) for SS and #GP(0) otherwise.
 */
uint32_t x86_seg_check(struct x86cpu *cpu, int s, uint32_t off, unsigned size, bool write)
{
	const struct x86_seg *sg = &cpu->seg[s];
	uint64_t last = (uint64_t)off + size - 1;
	int vec = s == S_SS ? EXC_SS : EXC_GP;
	uint16_t a = sg->attr;

	if (!cpu->pmode || cpu->v86) {
		if (last > sg->limit)
			x86_raise(cpu, vec, 0, true);
		return sg->base + off;
	}
	if (!(a & SA_P))
		x86_raise(cpu, vec, 0, true);
	if (a & SA_CODE) {
		if (write || !(a & SA_RW))
			x86_raise(cpu, vec, 0, true);
	} else if (write && !(a & SA_RW)) {
		x86_raise(cpu, vec, 0, true);
	}
	if (!(a & SA_CODE) && (a & SA_EC)) {
		uint64_t upper = (a & SA_DB) ? 0xffffffffu : 0xffff;
		if (off <= sg->limit || last > upper)
			x86_raise(cpu, vec, 0, true);
	} else if (last > sg->limit) {
		x86_raise(cpu, vec, 0, true);
	}
	return sg->base + off;
}

/* Host pointer for la (translated with fault checks), NULL if not plain RAM. */
uint8_t *x86_host_ptr(struct x86cpu *cpu, uint32_t la, bool write)
{
	struct tlb_ent *e;

	x86_translate(cpu, la, write, cpu->user, false);
	e = &cpu->tlb[cpu->user][(la >> 12) & (TLB_SIZE - 1)];
	if (write ? e->vpn_w != la >> 12 : (e->vpn_r != la >> 12 || !e->host))
		return NULL;
	return e->host + (la & 0xfff);
}
