/* SPDX-License-Identifier: MIT */
/*
 * x86cpu.h - the software x86 CPU (i686 class) used by hvmhv's `emu`
 * backend.  The CPU knows nothing about ioreqs, devices or threads: it runs
 * guest code against a struct x86_bus supplied by the backend.  One struct
 * x86cpu per vCPU; x86cpu_run() is called only from that vCPU's thread.
 *
 * Memory: the bus maps guest-physical pages to host pointers (RAM) or
 * reports them as MMIO, which goes through mmio_read/mmio_write one access at
 * a time.  Decoded instructions are cached by guest-physical address, and
 * every cached decode is checked against the bytes in memory before it is
 * used: writes by the CPU itself, by other vCPUs and by the device model's
 * DMA all make a changed instruction decode afresh, with nothing to report.
 */
#ifndef X86CPU_H
#define X86CPU_H

#include <stdbool.h>
#include <stdint.h>

struct x86cpu;

struct x86_bus {
	void *opaque;
	/*
	 * Host pointer to the 4 KiB guest-physical page containing gpa, or NULL
	 * if the page is not RAM (then MMIO callbacks are used).  write=true asks
	 * for a writable mapping (NULL for ROM: writes to ROM are dropped).
	 */
	uint8_t *(*map_page)(void *opaque, uint64_t gpa, bool write);
	/*
	 * Optional: the writable mapping of the page if writing through it later
	 * needs no bookkeeping now, else NULL.  A TLB fill for a read uses it to
	 * pre-enable writes; without it the fill asks map_page(write=true), which
	 * a bus that logs dirty pages (VRAM) would count as a write.
	 */
	uint8_t *(*probe_writable)(void *opaque, uint64_t gpa);
	uint64_t (*mmio_read)(void *opaque, uint64_t gpa, unsigned size);
	void (*mmio_write)(void *opaque, uint64_t gpa, uint64_t val, unsigned size);
	uint32_t (*pio_in)(void *opaque, uint16_t port, unsigned size);
	void (*pio_out)(void *opaque, uint16_t port, uint32_t val, unsigned size);
	/*
	 * rep ins/outs: `count` items of `size` bytes between port and the
	 * guest-physical buffer at gpa (descending when df).  The CPU clips count
	 * so the buffer stays within one page, like Xen.  NULL: the CPU loops
	 * over pio_in/pio_out instead.
	 */
	void (*pio_string)(void *opaque, uint16_t port, unsigned size, bool is_in, uint64_t gpa,
			   uint32_t count, bool df);
	/* Highest-priority pending maskable interrupt: vector, or -1 for none. */
	int (*intr_pending)(void *opaque);
	/* Acknowledge the interrupt the CPU is about to deliver (INTA cycle). */
	int (*intr_ack)(void *opaque);
	/*
	 * Optional: called at every event poll (every 512 instructions or so,
	 * and whenever an event may be due), before interrupts are looked at,
	 * whatever EFLAGS.IF: a cheap look for lines moved elsewhere.
	 */
	void (*poll)(void *opaque);
	/*
	 * Optional bitmap (bit per 4 KiB page, indexed by page_index(gpa)) of pages
	 * written by others.  Cached decodes are checked against memory on use
	 * and need it not; with ram and written_seq below, the translator reads
	 * and clears it (codewatch.c).  NULL if unused.
	 */
	uint32_t *written_bitmap;
	uint64_t (*page_index)(void *opaque, uint64_t gpa); /* ~0 for non-RAM */
	/*
	 * Optional, for one vCPU only: guest RAM as map_page() hands it out,
	 * [ram, ram + ram_size), whose page i is bit i of written_bitmap, and
	 * the count the dm bumps after it sets bits there.  With them the
	 * translator watches its code pages for writes (codewatch.c) and
	 * reads and clears written_bitmap; without, blocks compare their
	 * bytes on entry.
	 */
	uint8_t *ram;
	uint64_t ram_size;
	const uint32_t *written_seq;
	/* Time source for RDTSC: guest TSC value now. */
	uint64_t (*tsc)(void *opaque);
	/*
	 * Optional: MSRs the CPU does not keep itself (IA32_APIC_BASE 0x1b, the
	 * x2APIC range).  Return 0, or -1 to make the instruction #GP(0).  NULL:
	 * the CPU keeps APIC_BASE as plain storage and #GPs on the others.
	 */
	int (*rdmsr)(void *opaque, uint32_t msr, uint64_t *val);
	int (*wrmsr)(void *opaque, uint32_t msr, uint64_t val);
};

/* Why x86cpu_run() returned. */
enum x86_exit {
	X86_EXIT_BUDGET = 0,   /* ran the requested number of instructions */
	X86_EXIT_HLT = 1,      /* HLT with no interrupt deliverable */
	X86_EXIT_SHUTDOWN = 2, /* triple fault */
	X86_EXIT_KICK = 3,     /* x86cpu_kick() from another thread */
	X86_EXIT_ERROR = 4,    /* internal emulator error (logged); guest state kept */
};

struct x86_seg {
	uint16_t sel;
	uint32_t base;
	uint32_t limit; /* byte granular, already expanded */
	uint16_t attr;	/* descriptor bits 40-47 and 52-55 as (attr & 0xff) | flags << 8 */
};

struct x86_regs {
	uint32_t gpr[8]; /* eax ecx edx ebx esp ebp esi edi */
	uint32_t eip, eflags;
	struct x86_seg seg[6]; /* es cs ss ds fs gs */
	struct x86_seg ldtr, tr;
	uint32_t gdt_base, gdt_limit, idt_base, idt_limit;
	uint32_t cr0, cr2, cr3, cr4;
	uint32_t dr[8];
	uint64_t efer;
};

int x86cpu_create(const struct x86_bus *bus, unsigned cpu_index, struct x86cpu **out);
void x86cpu_destroy(struct x86cpu *cpu);

/* Power-on state (CS=F000 base FFFF0000, EIP=FFF0, CR0=60000010). */
void x86cpu_reset(struct x86cpu *cpu);
/* INIT signal: as reset, but MTRRs, TSC and TSC_ADJUST are kept (SDM vol. 3 table 9-1). */
void x86cpu_init_signal(struct x86cpu *cpu);
/* SIPI: an INIT followed by real mode at vector << 12. */
void x86cpu_sipi(struct x86cpu *cpu, uint8_t vector);

/* Run up to `budget` instructions; see enum x86_exit. */
enum x86_exit x86cpu_run(struct x86cpu *cpu, uint64_t budget);
/* Thread-safe: make a running x86cpu_run() return X86_EXIT_KICK soon. */
void x86cpu_kick(struct x86cpu *cpu);

void x86cpu_get_regs(const struct x86cpu *cpu, struct x86_regs *r);
/*
 * Also flushes the TLB, recomputes CPL (SS.DPL in protected mode) and leaves
 * the HLT state; the FPU and MSRs are not touched.
 */
void x86cpu_set_regs(struct x86cpu *cpu, const struct x86_regs *r);

/* Forget TLB entries (host pointers) covering [gpa, gpa+len), e.g. after a remap. */
/*
 * Drop translations of the pages the dm wrote (written_bitmap) since the
 * last call; safe inside a bus callback.
 */
void x86cpu_code_sync(struct x86cpu *cpu);
void x86cpu_invalidate_phys(struct x86cpu *cpu, uint64_t gpa, uint64_t len);

/* Non-maskable interrupt pending (LINT1 / IPI NMI). */
void x86cpu_nmi(struct x86cpu *cpu);

/* Instructions retired since creation. */
uint64_t x86cpu_icount(const struct x86cpu *cpu);

/*
 * CPUID leaf 1 EDX/ECX feature bits the CPU reports (a subset of what it
 * implements; default X86CPU_DEFAULT_FEATURES: FPU VME-less P6 set with TSC,
 * MSR, PAE, CX8, APIC, SEP, MTRR, PGE, CMOV, PAT, PSE, PSE36, FXSR).
 */
#define X86CPU_DEFAULT_FEATURES 0x0103bb79u
void x86cpu_set_cpuid_features(struct x86cpu *cpu, uint32_t edx, uint32_t ecx);

/* For tests: vector of the first exception/interrupt delivered since the last clear, or -1. */
int x86cpu_last_exception(const struct x86cpu *cpu);
void x86cpu_clear_last_exception(struct x86cpu *cpu);

#endif /* X86CPU_H */
