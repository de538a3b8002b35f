/* SPDX-License-Identifier: MIT */
/*
 * test_cpu_sys.c - system-level tests of the software x86 CPU with small
 * guest programs assembled here as bytes: real to protected mode switch,
 * exceptions and their error codes, page faults with CR2, privilege changes
 * through IDT gates with the TSS stack, IRET, task switches, V86 mode,
 * external interrupts, HLT and triple faults.  Exception handlers are HLT
 * instructions at HANDLERS + 16 * vector, so a test runs until HLT and then
 * reads the vector from EIP and the frame from the stack.  The decode cache
 * is checked with self-modifying code: patches by a store, by REP MOVSB and
 * by the device model (a direct RAM write flagged in the written-page
 * bitmap), across a page boundary, and the same bytes run as 32- and 16-bit
 * code.  Every test runs twice: with a bus that offers code write tracking
 * (RAM range and written_seq: blocks check their page's generation) and
 * with one that does not (blocks compare their bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x86cpu.h"

#define RAM_SIZE (4u << 20)
#define GDT 0x1000u
#define IDT 0x2000u
#define TSS1 0x3000u
#define TSS2 0x3100u
#define HANDLERS 0x4000u
#define KSTACK 0x9000u
#define USTACK 0x8000u
#define CODE 0x10000u
#define UCODE 0x20000u
#define PD 0x100000u
#define PT 0x101000u

/* GDT selectors */
#define KCS 0x08
#define KDS 0x10
#define UCS 0x1b
#define UDS 0x23
#define TSS1_SEL 0x28
#define SMALL_DS 0x30
#define NP_DS 0x38
#define TSS2_SEL 0x48
#define CS16 0x50
#define DS16 0x58
#define SMALL_UDS 0x63

static int failures, tests;

#define CHECK(cond, ...)                                          \
	do {                                                      \
		tests++;                                          \
		if (!(cond)) {                                    \
			failures++;                               \
			printf("not ok %d - ", tests);            \
			printf(__VA_ARGS__);                      \
			printf(" (%s:%d)\n", __FILE__, __LINE__); \
		} else {                                          \
			printf("ok %d - ", tests);                \
			printf(__VA_ARGS__);                      \
			printf("\n");                             \
		}                                                 \
	} while (0)

/* this pass offers the CPU code write tracking (see main()) */
static bool watch_code;

struct machine {
	uint8_t *ram;
	uint32_t written[RAM_SIZE / 4096 / 32]; /* as hvmdm's DMA marks pages */
	uint32_t written_seq;			/* and counts that it did */
	/* the OUT numbered dma_after writes dma_val at dma_at as the dm would */
	unsigned dma_after;
	uint32_t dma_at, dma_val;
	struct x86cpu *cpu;
	int irq; /* pending vector or -1 */
	uint32_t port_out[4];
	uint32_t out_sum; /* every OUT's value added up */
	unsigned out_n;
	unsigned nout;
	struct {
		uint64_t gpa, val;
		unsigned size;
	} mmio[8]; /* the first device stores */
	unsigned nmmio;
};

static uint8_t *m_map(void *opaque, uint64_t gpa, bool write)
{
	struct machine *m = opaque;
	(void)write;
	return gpa < RAM_SIZE ? m->ram + gpa : NULL;
}

static uint64_t m_mmio_read(void *opaque, uint64_t gpa, unsigned size)
{
	(void)opaque;
	(void)gpa;
	(void)size;
	return ~0ull;
}

static void m_mmio_write(void *opaque, uint64_t gpa, uint64_t val, unsigned size)
{
	struct machine *m = opaque;

	if (m->nmmio < sizeof(m->mmio) / sizeof(m->mmio[0])) {
		m->mmio[m->nmmio].gpa = gpa;
		m->mmio[m->nmmio].val = val;
		m->mmio[m->nmmio].size = size;
	}
	m->nmmio++;
}

static uint64_t m_page_index(void *opaque, uint64_t gpa)
{
	(void)opaque;
	return gpa < RAM_SIZE ? gpa >> 12 : ~0ull;
}

static uint32_t m_pio_in(void *opaque, uint16_t port, unsigned size)
{
	(void)opaque;
	(void)size;
	return port;
}

static void m_pio_out(void *opaque, uint16_t port, uint32_t val, unsigned size)
{
	struct machine *m = opaque;
	(void)port;
	(void)size;
	m->out_sum += val;
	m->out_n++;
	if (m->nout < 4)
		m->port_out[m->nout++] = val;
	if (m->dma_after && m->out_n == m->dma_after) {
		/* as hvmdm's DMA: store, mark the page, count; then the backend's sync */
		memcpy(m->ram + m->dma_at, &m->dma_val, 4);
		m->written[(m->dma_at >> 12) / 32] |= 1u << ((m->dma_at >> 12) % 32);
		m->written_seq++;
		x86cpu_code_sync(m->cpu);
	}
}

static int m_pending(void *opaque)
{
	return ((struct machine *)opaque)->irq;
}

static int m_ack(void *opaque)
{
	struct machine *m = opaque;
	int v = m->irq;
	m->irq = -1;
	return v;
}

static void put8(struct machine *m, uint32_t a, uint8_t v)
{
	m->ram[a] = v;
}

static void put16(struct machine *m, uint32_t a, uint16_t v)
{
	memcpy(m->ram + a, &v, 2);
}

static void put32(struct machine *m, uint32_t a, uint32_t v)
{
	memcpy(m->ram + a, &v, 4);
}

static uint32_t get32(struct machine *m, uint32_t a)
{
	uint32_t v;
	memcpy(&v, m->ram + a, 4);
	return v;
}

static uint16_t get16(struct machine *m, uint32_t a)
{
	uint16_t v;
	memcpy(&v, m->ram + a, 2);
	return v;
}

/* Write hex bytes ("0f 0b ...") at a; returns the address after them. */
static uint32_t asm_hex(struct machine *m, uint32_t a, const char *hex)
{
	while (*hex) {
		char *end;
		unsigned long v = strtoul(hex, &end, 16);
		if (end == hex)
			break;
		m->ram[a++] = (uint8_t)v;
		hex = end;
	}
	return a;
}

static uint32_t asm32(struct machine *m, uint32_t a, uint32_t v)
{
	put32(m, a, v);
	return a + 4;
}

static uint32_t asm16(struct machine *m, uint32_t a, uint16_t v)
{
	put16(m, a, v);
	return a + 2;
}

static void gdt_set(struct machine *m, unsigned sel, uint32_t base, uint32_t limit, uint8_t access,
		    uint8_t flags)
{
	uint32_t a = GDT + (sel & ~7u);
	uint32_t lo = (limit & 0xffff) | (base << 16);
	uint32_t hi = ((base >> 16) & 0xff) | ((uint32_t)access << 8) | (limit & 0xf0000) |
		      ((uint32_t)(flags & 0xf) << 20) | (base & 0xff000000u);
	put32(m, a, lo);
	put32(m, a + 4, hi);
}

static void idt_set(struct machine *m, unsigned vec, uint16_t sel, uint32_t off, uint8_t type_attr)
{
	uint32_t a = IDT + vec * 8;
	put32(m, a, (off & 0xffff) | ((uint32_t)sel << 16));
	put32(m, a + 4, (off & 0xffff0000u) | ((uint32_t)type_attr << 8));
}

static struct machine *machine_new(void)
{
	static const struct x86_bus tmpl = {
		.map_page = m_map,
		.mmio_read = m_mmio_read,
		.mmio_write = m_mmio_write,
		.pio_in = m_pio_in,
		.pio_out = m_pio_out,
		.intr_pending = m_pending,
		.intr_ack = m_ack,
		.page_index = m_page_index,
	};
	struct machine *m = calloc(1, sizeof(*m));
	struct x86_bus bus = tmpl;

	m->ram = calloc(1, RAM_SIZE);
	m->irq = -1;
	bus.opaque = m;
	bus.written_bitmap = m->written;
	if (watch_code) {
		bus.ram = m->ram;
		bus.ram_size = RAM_SIZE;
		bus.written_seq = &m->written_seq;
	}
	if (x86cpu_create(&bus, 0, &m->cpu))
		abort();
	/* flat segments, TSSes, test segments */
	gdt_set(m, KCS, 0, 0xfffff, 0x9b, 0xc);
	gdt_set(m, KDS, 0, 0xfffff, 0x93, 0xc);
	gdt_set(m, UCS, 0, 0xfffff, 0xfb, 0xc);
	gdt_set(m, UDS, 0, 0xfffff, 0xf3, 0xc);
	gdt_set(m, TSS1_SEL, TSS1, 0x88, 0x89, 0); /* I/O bitmap for ports 0-0xff */
	gdt_set(m, SMALL_DS, 0, 0xfff, 0x93, 0x4);
	gdt_set(m, NP_DS, 0, 0xfffff, 0x13, 0xc);
	gdt_set(m, TSS2_SEL, TSS2, 0x67, 0x89, 0);
	gdt_set(m, CS16, 0, 0xffff, 0x9b, 0);
	gdt_set(m, DS16, 0, 0xffff, 0x93, 0);
	gdt_set(m, SMALL_UDS, 0, 0xfff, 0xf3, 0x4);
	/* every vector: 32-bit interrupt gate, DPL 3, handler = HLT */
	for (unsigned v = 0; v < 256; v++) {
		idt_set(m, v, KCS, HANDLERS + v * 16, 0xee);
		put8(m, HANDLERS + v * 16, 0xf4);
	}
	/* TSS1: ring-0 stack */
	put32(m, TSS1 + 4, KSTACK);
	put32(m, TSS1 + 8, KDS);
	put16(m, TSS1 + 0x66, 0x68); /* I/O bitmap right after the TSS */
	memset(m->ram + TSS1 + 0x68, 0, 0x21);
	put8(m, TSS1 + 0x88, 0xff);
	return m;
}

static void machine_free(struct machine *m)
{
	x86cpu_destroy(m->cpu);
	free(m->ram);
	free(m);
}

static void flat_seg(struct x86_seg *s, uint16_t sel, uint16_t attr)
{
	s->sel = sel;
	s->base = 0;
	s->limit = 0xffffffffu;
	s->attr = attr;
}

/* 32-bit protected mode at CPL 0, flat, IDT and GDT loaded, TR = TSS1; MSRs as they are. */
static void load_pm(struct machine *m, uint32_t eip)
{
	struct x86_regs r;

	x86cpu_get_regs(m->cpu, &r);
	for (int s = 0; s < 6; s++)
		flat_seg(&r.seg[s], KDS, 0xc93);
	flat_seg(&r.seg[1], KCS, 0xc9b);
	r.tr = (struct x86_seg){ .sel = TSS1_SEL, .base = TSS1, .limit = 0x88, .attr = 0x8b };
	put8(m, GDT + TSS1_SEL + 5, 0x8b); /* busy */
	r.gdt_base = GDT;
	r.gdt_limit = 0x67;
	r.idt_base = IDT;
	r.idt_limit = 0x7ff;
	r.cr0 = 0x60000011u;
	r.eip = eip;
	r.gpr[4] = KSTACK;
	r.eflags = 2;
	x86cpu_set_regs(m->cpu, &r);
	x86cpu_clear_last_exception(m->cpu);
}

/* load_pm after a power-on reset. */
static void enter_pm(struct machine *m, uint32_t eip)
{
	x86cpu_reset(m->cpu);
	load_pm(m, eip);
}

static struct x86_regs regs(struct machine *m)
{
	struct x86_regs r;
	x86cpu_get_regs(m->cpu, &r);
	return r;
}

/* Leave the HLT state as an external wake-up would (set_regs clears it). */
static void resume(struct machine *m)
{
	struct x86_regs r = regs(m);
	x86cpu_set_regs(m->cpu, &r);
}

/* Vector of the HLT handler the CPU stopped in, or -1. */
static int stopped_in_handler(struct machine *m, enum x86_exit ex)
{
	struct x86_regs r = regs(m);
	if (ex != X86_EXIT_HLT || r.eip < HANDLERS + 1 || r.eip >= HANDLERS + 0x1000)
		return -1;
	if ((r.eip - HANDLERS - 1) % 16)
		return -1;
	return (int)((r.eip - HANDLERS - 1) / 16);
}

/* Fault with an error code at CPL 0: check vector, error, faulting EIP. */
static void expect_fault(struct machine *m, const char *what, int vec, int err, uint32_t fault_eip)
{
	enum x86_exit ex = x86cpu_run(m->cpu, 1000);
	int v = stopped_in_handler(m, ex);
	struct x86_regs r = regs(m);
	uint32_t sp = r.gpr[4];

	CHECK(v == vec, "%s: vector %d (want %d)", what, v, vec);
	if (err >= 0) {
		CHECK(get32(m, sp) == (uint32_t)err, "%s: error code %#x (want %#x)", what,
		      get32(m, sp), err);
		sp += 4;
	} else {
		CHECK(sp == KSTACK - 12, "%s: no error code pushed", what);
	}
	CHECK(get32(m, sp) == fault_eip, "%s: saved EIP %#x (want %#x)", what, get32(m, sp),
	      fault_eip);
}

static void test_real_to_pm(void)
{
	struct machine *m = machine_new();
	struct x86_regs r;
	uint32_t a = 0x7c00;

	/* GDT pointer at 0x7e00 */
	put16(m, 0x7e00, 0x67);
	put32(m, 0x7e02, GDT);
	x86cpu_reset(m->cpu);
	r = regs(m);
	r.seg[1].sel = 0;
	r.seg[1].base = 0;
	r.eip = 0x7c00;
	x86cpu_set_regs(m->cpu, &r);
	a = asm_hex(m, a, "fa 0f 01 16 00 7e");		    /* cli; lgdt [0x7e00] */
	a = asm_hex(m, a, "0f 20 c0 66 83 c8 01 0f 22 c0"); /* mov eax,cr0; or eax,1; mov cr0,eax */
	a = asm_hex(m, a, "66 ea");			    /* jmp dword 0x08:pm */
	uint32_t fix = a;
	a += 4;
	a = asm16(m, a, KCS);
	put32(m, fix, a);
	a = asm_hex(m, a, "b8"); /* mov eax, KDS */
	a = asm32(m, a, KDS);
	a = asm_hex(m, a, "8e d8 8e d0 bc"); /* mov ds,ax; mov ss,ax; mov esp,... */
	a = asm32(m, a, KSTACK);
	a = asm_hex(m, a, "c7 05"); /* mov dword [0x500], 0x12345678 */
	a = asm32(m, a, 0x500);
	a = asm32(m, a, 0x12345678);
	a = asm_hex(m, a, "6a 2a 58 e6 80 f4"); /* push 42; pop eax; out 0x80, al; hlt */
	(void)a;
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT, "real->pm: stops at HLT (exit %d)", ex);
	CHECK(r.cr0 & 1, "real->pm: CR0.PE set");
	CHECK(r.seg[1].sel == KCS && (r.seg[1].attr & 0x400), "real->pm: CS is 32-bit KCS");
	CHECK(get32(m, 0x500) == 0x12345678, "real->pm: 32-bit store through DS");
	CHECK(m->nout == 1 && m->port_out[0] == 42, "real->pm: OUT seen by the bus");
	machine_free(m);
}

static void test_exceptions(void)
{
	struct machine *m = machine_new();
	uint32_t a;

	enter_pm(m, CODE);
	asm_hex(m, CODE, "31 c9 f7 f1"); /* xor ecx,ecx; div ecx */
	expect_fault(m, "#DE", 0, -1, CODE + 2);

	enter_pm(m, CODE);
	asm_hex(m, CODE, "0f 0b");
	expect_fault(m, "#UD ud2", 6, -1, CODE);

	enter_pm(m, CODE);
	a = asm_hex(m, CODE, "66 b8");
	a = asm16(m, a, NP_DS);
	asm_hex(m, a, "8e d8"); /* mov ds, ax */
	expect_fault(m, "#NP on not-present DS", 11, NP_DS, CODE + 4);

	enter_pm(m, CODE);
	a = asm_hex(m, CODE, "66 b8 f8 01 8e c0"); /* mov ax, 0x1f8; mov es, ax */
	expect_fault(m, "#GP(sel) beyond GDT limit", 13, 0x1f8, CODE + 4);

	enter_pm(m, CODE);
	a = asm_hex(m, CODE, "66 b8");
	a = asm16(m, a, UDS);
	asm_hex(m, a, "8e d0"); /* mov ss, user data at CPL 0 */
	expect_fault(m, "#GP(sel) SS with DPL != CPL", 13, UDS & ~3, CODE + 4);

	enter_pm(m, CODE);
	a = asm_hex(m, CODE, "66 b8");
	a = asm16(m, a, SMALL_DS);
	a = asm_hex(m, a, "8e d8 a1"); /* mov ds,ax; mov eax,[0x2000] (limit 0xfff) */
	asm32(m, a, 0x2000);
	expect_fault(m, "#GP(0) beyond DS limit", 13, 0, CODE + 6);

	enter_pm(m, CODE);
	asm_hex(m, CODE, "2e c7 05 00 05 00 00 01 00 00 00"); /* mov cs:[0x500], 1 */
	expect_fault(m, "#GP(0) write through CS", 13, 0, CODE);

	/* at CPL 3 so that delivery switches to the ring-0 stack */
	enter_pm(m, UCODE);
	a = asm_hex(m, UCODE, "66 b8");
	a = asm16(m, a, SMALL_UDS);
	a = asm_hex(m, a, "8e d0 bc 00 20 00 00 50"); /* mov ss,ax; mov esp,0x2000; push eax */
	{
		struct x86_regs r = regs(m);
		flat_seg(&r.seg[1], UCS, 0xcfb);
		flat_seg(&r.seg[2], UDS, 0xcf3);
		flat_seg(&r.seg[3], UDS, 0xcf3);
		r.gpr[4] = USTACK;
		x86cpu_set_regs(m->cpu, &r);
	}
	{
		enum x86_exit ex = x86cpu_run(m->cpu, 100);
		int v = stopped_in_handler(m, ex);
		struct x86_regs r = regs(m);
		CHECK(v == 12 && get32(m, r.gpr[4]) == 0 && get32(m, r.gpr[4] + 4) == UCODE + 11 &&
			      get32(m, r.gpr[4] + 20) == SMALL_UDS,
		      "#SS(0) push beyond SS limit (vector %d)", v);
	}

	enter_pm(m, CODE);
	asm_hex(m, CODE, "cd 41"); /* int 0x41 through a DPL-0 gate from CPL 3 */
	idt_set(m, 0x41, KCS, HANDLERS + 0x41 * 16, 0x8e);
	{
		struct x86_regs r = regs(m);
		flat_seg(&r.seg[1], UCS, 0xcfb);
		for (int s = 0; s < 6; s++)
			if (s != 1)
				flat_seg(&r.seg[s], UDS, 0xcf3);
		r.gpr[4] = USTACK;
		x86cpu_set_regs(m->cpu, &r);
	}
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	int v = stopped_in_handler(m, ex);
	struct x86_regs r = regs(m);
	CHECK(v == 13 && get32(m, r.gpr[4]) == 0x41 * 8 + 2,
	      "INT n through DPL-0 gate from CPL 3: #GP(vec*8+2) (got %d, err %#x)", v,
	      get32(m, r.gpr[4]));

	enter_pm(m, CODE);
	asm_hex(m, CODE, "e4 60"); /* in al, 0x60 at CPL 3, IOPL 0, bitmap denies */
	r = regs(m);
	flat_seg(&r.seg[1], UCS, 0xcfb);
	flat_seg(&r.seg[2], UDS, 0xcf3);
	r.gpr[4] = USTACK;
	x86cpu_set_regs(m->cpu, &r);
	put8(m, TSS1 + 0x68 + 0x60 / 8, 0x01);
	ex = x86cpu_run(m->cpu, 100);
	v = stopped_in_handler(m, ex);
	r = regs(m);
	CHECK(v == 13 && get32(m, r.gpr[4]) == 0, "IN denied by the TSS I/O bitmap: #GP(0)");
	put8(m, TSS1 + 0x68 + 0x60 / 8, 0x00);
	put8(m, TSS1 + 0x68 + 0x80 / 8, 0xff);
	put8(m, TSS1 + 0x68 + 0x88 / 8, 0xff);
	enter_pm(m, CODE);
	asm_hex(m, CODE, "e4 60 f4");
	r = regs(m);
	flat_seg(&r.seg[1], UCS, 0xcfb);
	flat_seg(&r.seg[2], UDS, 0xcf3);
	r.gpr[4] = USTACK;
	r.gpr[0] = 0;
	x86cpu_set_regs(m->cpu, &r);
	ex = x86cpu_run(m->cpu, 100);
	r = regs(m);
	/* HLT at CPL 3 is #GP(0): but the IN must have completed first */
	CHECK((r.gpr[0] & 0xff) == 0x60, "IN allowed by the I/O bitmap at CPL 3");
	machine_free(m);
}

static void test_int_privilege(void)
{
	struct machine *m = machine_new();
	struct x86_regs r;

	enter_pm(m, UCODE);
	asm_hex(m, UCODE, "b8 11 00 00 00 cd 80"); /* mov eax,0x11; int 0x80 */
	r = regs(m);
	flat_seg(&r.seg[1], UCS, 0xcfb);
	for (int s = 0; s < 6; s++)
		if (s != 1)
			flat_seg(&r.seg[s], UDS, 0xcf3);
	r.gpr[4] = USTACK;
	r.eflags = 0x202;
	x86cpu_set_regs(m->cpu, &r);
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	int v = stopped_in_handler(m, ex);
	r = regs(m);
	CHECK(v == 0x80, "int 0x80 from CPL 3 reaches the handler (%d)", v);
	CHECK(r.seg[1].sel == KCS && r.seg[2].sel == KDS, "CPL 0 CS/SS from gate and TSS");
	CHECK(r.gpr[4] == KSTACK - 20, "stack switched to TSS.ESP0 (esp %#x)", r.gpr[4]);
	uint32_t sp = r.gpr[4];
	CHECK(get32(m, sp) == UCODE + 7 && get32(m, sp + 4) == UCS && get32(m, sp + 12) == USTACK &&
		      get32(m, sp + 16) == UDS,
	      "frame: EIP CS EFLAGS ESP SS");
	CHECK((get32(m, sp + 8) & 0x200) && !(r.eflags & 0x200), "saved IF=1, interrupt gate "
								 "cleared IF");
	/* now IRET back to CPL 3: handler code replaced by iret */
	put8(m, HANDLERS + 0x80 * 16 + 1, 0xcf);
	asm_hex(m, UCODE + 7, "40 cd 80"); /* inc eax; int 0x80 again */
	put8(m, HANDLERS + 0x80 * 16 + 2, 0xf4);
	resume(m);
	ex = x86cpu_run(m->cpu, 100);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[0] == 0x12 && r.gpr[4] == KSTACK - 20,
	      "IRET returned to CPL 3 and the next int 0x80 used ESP0 again (eax %#x)", r.gpr[0]);
	machine_free(m);
}

static void setup_paging(struct machine *m, bool pae)
{
	/* identity-map 4 MiB with 4 KiB pages; page 0x400000-... absent */
	memset(m->ram + PD, 0, 0x3000);
	if (!pae) {
		put32(m, PD, PT | 7);
		for (unsigned i = 0; i < 1024; i++)
			put32(m, PT + i * 4, (i << 12) | 7);
	} else {
		/* PDPT at PD, page directory at PD+0x1000, table at PT+0x1000 */
		put32(m, PD, (PD + 0x1000) | 1);
		put32(m, PD + 0x1000, (PT + 0x1000) | 7);
		put32(m, PD + 0x1008, (PT + 0x2000) | 7);
		for (unsigned i = 0; i < 1024; i++)
			put32(m, PT + 0x1000 + i * 8, (i << 12) | 7);
	}
}

static void paging_on(struct machine *m, bool pae, bool wp)
{
	struct x86_regs r = regs(m);
	r.cr3 = PD;
	r.cr4 = pae ? 0x20 : 0;
	r.cr0 |= 0x80000000u | (wp ? 0x10000u : 0);
	x86cpu_set_regs(m->cpu, &r);
}

static void test_paging(bool pae)
{
	struct machine *m = machine_new();
	const char *mode = pae ? "PAE" : "2-level";
	uint32_t pte_a = pae ? PT + 0x1000 + 0x50 * 8 : PT + 0x50 * 4;
	uint32_t pte_b = pae ? PT + 0x1000 + 0x51 * 8 : PT + 0x51 * 4;

	setup_paging(m, pae);
	put32(m, pte_a, 0x50000 | 6); /* not present */
	put32(m, pte_b, 0x51000 | 5); /* user, read-only */
	enter_pm(m, CODE);
	paging_on(m, pae, true);
	asm_hex(m, CODE, "a1 10 00 05 00"); /* mov eax, [0x50010] */
	expect_fault(m, mode, 14, 0, CODE);
	CHECK(regs(m).cr2 == 0x50010, "%s: CR2 = faulting address (%#x)", mode, regs(m).cr2);

	enter_pm(m, CODE);
	paging_on(m, pae, true);
	asm_hex(m, CODE, "c7 05 20 10 05 00 01 00 00 00"); /* mov dword [0x51020], 1 */
	expect_fault(m, "write to read-only page with CR0.WP", 14, 3, CODE);
	CHECK(regs(m).cr2 == 0x51020, "%s: CR2 on protection fault", mode);

	enter_pm(m, CODE);
	paging_on(m, pae, false);
	asm_hex(m, CODE, "c7 05 20 10 05 00 01 00 00 00 f4");
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	CHECK(ex == X86_EXIT_HLT && get32(m, 0x51020) == 1,
	      "%s: supervisor write to read-only page allowed without WP", mode);
	uint32_t pte = get32(m, pte_b);
	CHECK((pte & 0x60) == 0x60, "%s: accessed and dirty bits set (pte %#x)", mode, pte);

	/* user-mode access to a supervisor page */
	put32(m, pte_b, 0x51000 | 3);
	enter_pm(m, UCODE);
	paging_on(m, pae, true);
	asm_hex(m, UCODE, "a1 00 10 05 00");
	struct x86_regs r = regs(m);
	flat_seg(&r.seg[1], UCS, 0xcfb);
	flat_seg(&r.seg[3], UDS, 0xcf3);
	flat_seg(&r.seg[2], UDS, 0xcf3);
	r.gpr[4] = USTACK;
	x86cpu_set_regs(m->cpu, &r);
	ex = x86cpu_run(m->cpu, 100);
	int v = stopped_in_handler(m, ex);
	r = regs(m);
	CHECK(v == 14 && get32(m, r.gpr[4]) == 5 && r.cr2 == 0x51000,
	      "%s: user read of supervisor page: #PF err 5 (got %d err %#x)", mode, v,
	      get32(m, r.gpr[4]));

	/* INVLPG: remap a page and see the new mapping only after invlpg */
	put32(m, 0x52000, 0xaaaa);
	put32(m, 0x53000, 0xbbbb);
	uint32_t pte_c = pae ? PT + 0x1000 + 0x52 * 8 : PT + 0x52 * 4;
	put32(m, pte_c, 0x52000 | 3);
	enter_pm(m, CODE);
	paging_on(m, pae, true);
	asm_hex(m, CODE, "8b 1d 00 20 05 00 f4 0f 01 3d 00 20 05 00 8b 0d 00 20 05 00 f4");
	x86cpu_run(m->cpu, 100);
	put32(m, pte_c, 0x53000 | 3);
	resume(m);
	x86cpu_run(m->cpu, 100);
	r = regs(m);
	CHECK(r.gpr[3] == 0xaaaa && r.gpr[1] == 0xbbbb, "%s: INVLPG drops the stale TLB entry",
	      mode);
	machine_free(m);
}

/*
 * Stores to device memory through paging: a read first fills the TLB with a
 * clean PTE (no write right cached), then the stores must set the dirty bit
 * and reach the bus at the right address and size, in order, from a loop
 * hot enough to become a block.  A PTE made read-only (INVLPG) must fault.
 */
static void test_mmio_store(bool pae)
{
	struct machine *m = machine_new();
	const char *mode = pae ? "PAE" : "2-level";
	uint32_t pte = pae ? PT + 0x1000 + 0x60 * 8 : PT + 0x60 * 4;
	struct x86_regs r;

	setup_paging(m, pae);
	put32(m, pte, 0xfe000000u | 7); /* device page, present, writable, clean */
	enter_pm(m, CODE);
	paging_on(m, pae, true);
	/*
	 * mov eax,[0x60010]; mov ecx,20; L: mov dword [0x60020],ecx;
	 * mov byte [0x60ffd],0x5a; dec ecx; jnz L; hlt
	 */
	asm_hex(m, CODE,
		"a1 10 00 06 00 b9 14 00 00 00 89 0d 20 00 06 00 "
		"c6 05 fd 0f 06 00 5a 49 75 f0 f4");
	enum x86_exit ex = x86cpu_run(m->cpu, 1000);
	CHECK(ex == X86_EXIT_HLT && m->nmmio == 40, "%s: 40 device stores (exit %d, %u)", mode, ex,
	      m->nmmio);
	bool ok = true;
	for (unsigned i = 0; i < 8 && i < m->nmmio; i++) {
		bool dword = !(i & 1);
		ok &= m->mmio[i].gpa == (dword ? 0xfe000020u : 0xfe000ffdu) &&
		      m->mmio[i].size == (dword ? 4u : 1u) &&
		      m->mmio[i].val == (dword ? 20u - i / 2 : 0x5au);
	}
	CHECK(ok, "%s: device stores at the right address, size and value", mode);
	CHECK((get32(m, pte) & 0x60) == 0x60, "%s: device page accessed and dirty (pte %#x)", mode,
	      get32(m, pte));

	put32(m, pte, 0xfe000000u | 0x65); /* read-only now */
	enter_pm(m, CODE);
	paging_on(m, pae, true);
	asm_hex(m, CODE, "0f 01 3d 20 00 06 00 89 0d 20 00 06 00 f4"); /* invlpg; mov [], ecx */
	r = regs(m);
	x86cpu_set_regs(m->cpu, &r);
	expect_fault(m, "device store to a read-only page", 14, 3, CODE + 7);
	CHECK(m->nmmio == 40, "%s: the faulting store never reached the device (%u)", mode,
	      m->nmmio);
	machine_free(m);
}

/*
 * Native loads and stores that cross a page boundary in a hot block: linear
 * pages 0x60 and 0x61 map to physical 0x70000 and 0x50000, so the second
 * half lives in a page that is not the host page after the first.  The
 * translated access must split (bytes from both pages, none at 0x71000).
 */
static void test_page_cross(bool pae)
{
	struct machine *m = machine_new();
	const char *mode = pae ? "PAE" : "2-level";
	uint32_t pt = pae ? PT + 0x1000 : PT, step = pae ? 8 : 4;
	struct x86_regs r;

	setup_paging(m, pae);
	put32(m, pt + 0x60 * step, 0x70000 | 7);
	put32(m, pt + 0x61 * step, 0x50000 | 7);
	put32(m, 0x70ffc, 0x2211ffff);
	put32(m, 0x50000, 0x88884433);
	put32(m, 0x71000, 0x99999999);
	enter_pm(m, CODE);
	paging_on(m, pae, true);
	/*
	 * mov ecx,20; xor esi,esi; mov edx,0xddccbbaa;
	 * L: mov eax,[0x60ffe]; add esi,eax; mov [0x61ffd],edx; dec ecx; jnz L;
	 * mov [0x60fff],edx; hlt
	 */
	asm_hex(m, CODE,
		"b9 14 00 00 00 31 f6 ba aa bb cc dd "
		"8b 05 fe 0f 06 00 01 c6 89 15 fd 1f 06 00 49 75 ef "
		"89 15 ff 0f 06 00 f4");
	put32(m, 0x50ffc, 0);
	enum x86_exit ex = x86cpu_run(m->cpu, 1000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[6] == 20u * 0x44332211u,
	      "%s: loads across a page boundary read both pages (exit %d, sum %#x)", mode, ex,
	      r.gpr[6]);
	CHECK(get32(m, 0x70ffc) == 0xaa11ffffu && get32(m, 0x50000) == 0x88ddccbbu,
	      "%s: a store across a page boundary writes both pages (%#x %#x)", mode,
	      get32(m, 0x70ffc), get32(m, 0x50000));
	CHECK(get32(m, 0x50ffc) == 0xccbbaa00u && m->ram[0x62000] == 0xdd,
	      "%s: the loop's store across 0x62000 writes both pages (%#x %#x)", mode,
	      get32(m, 0x50ffc), m->ram[0x62000]);
	CHECK(get32(m, 0x71000) == 0x99999999u && get32(m, 0x51000) == 0,
	      "%s: nothing lands past the first host page", mode);
	machine_free(m);
}

/*
 * MOV EAX, moffs and back through FS with a non-zero base, the way Linux
 * reaches its per-CPU variables, in a loop hot enough to become a block:
 * the accesses must use FS's base, not DS's.
 */
static void test_moffs_fs(void)
{
	struct machine *m = machine_new();
	struct x86_regs r;

	gdt_set(m, 0x60, 0x30000, 0xfffff, 0x93, 0xc); /* base 0x30000, flat otherwise */
	put32(m, 0x30010, 100);
	enter_pm(m, CODE);
	/*
	 * mov ax,0x60; mov fs,ax; mov ecx,20;
	 * L: mov eax,fs:[0x10]; add eax,1; mov fs:[0x10],eax; dec ecx; jnz L; hlt
	 */
	asm_hex(m, CODE,
		"66 b8 60 00 8e e0 b9 14 00 00 00 "
		"64 a1 10 00 00 00 83 c0 01 64 a3 10 00 00 00 49 75 ee f4");
	enum x86_exit ex = x86cpu_run(m->cpu, 1000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[0] == 120 && get32(m, 0x30010) == 120,
	      "FS-relative moffs loads and stores use FS's base (exit %d, eax %u, [fs:0x10] %u)",
	      ex, r.gpr[0], get32(m, 0x30010));
	CHECK(get32(m, 0x10) == 0, "nothing written at DS:0x10 (%#x)", get32(m, 0x10));
	machine_free(m);
}

static void test_task_switch(void)
{
	struct machine *m = machine_new();

	enter_pm(m, CODE);
	/* TSS2: the new task's state */
	put32(m, TSS2 + 32, CODE + 0x100); /* eip */
	put32(m, TSS2 + 36, 0x2);	   /* eflags */
	put32(m, TSS2 + 40, 0xa1);	   /* eax */
	put32(m, TSS2 + 44, 0xc1);	   /* ecx */
	put32(m, TSS2 + 56, 0xa000);	   /* esp */
	for (int s = 0; s < 6; s++)
		put16(m, TSS2 + 72 + s * 4, s == 1 ? KCS : KDS);
	put8(m, CODE + 0x100, 0xf4);
	asm_hex(m, CODE, "bb 77 00 00 00 9a 00 00 00 00 48 00"); /* mov ebx,0x77; call 0x48:0 */
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	struct x86_regs r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.eip == CODE + 0x101, "CALL to TSS runs the new task");
	CHECK(r.gpr[0] == 0xa1 && r.gpr[1] == 0xc1 && r.gpr[4] == 0xa000, "registers loaded from "
									  "the new TSS");
	CHECK(r.tr.sel == TSS2_SEL && (r.eflags & 0x4000), "TR = new TSS, NT set");
	CHECK(get16(m, TSS2) == TSS1_SEL, "back link = old TSS");
	CHECK(get32(m, TSS1 + 32) == CODE + 12 && get32(m, TSS1 + 52) == 0x77,
	      "old state saved in the old TSS (eip %#x ebx %#x)", get32(m, TSS1 + 32),
	      get32(m, TSS1 + 52));
	CHECK((m->ram[GDT + TSS2_SEL + 5] & 0x0f) == 0xb && (r.cr0 & 8), "new TSS busy, CR0.TS "
									 "set");
	/* IRET with NT returns to the old task */
	put8(m, CODE + 0x101, 0xcf);
	put8(m, CODE + 12, 0xf4);
	resume(m);
	ex = x86cpu_run(m->cpu, 100);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.tr.sel == TSS1_SEL && r.gpr[3] == 0x77 && r.eip == CODE + 13,
	      "IRET with NT switches back (eip %#x tr %#x)", r.eip, r.tr.sel);
	CHECK((m->ram[GDT + TSS2_SEL + 5] & 0x0f) == 0x9, "returning task no longer busy");
	machine_free(m);
}

static void test_v86(void)
{
	struct machine *m = machine_new();
	uint32_t f = 0x7000;

	enter_pm(m, CODE);
	/* IRET frame to V86: eip cs eflags esp ss es ds fs gs */
	put32(m, f, 0x0010);
	put32(m, f + 4, 0x1000);  /* cs: linear 0x10000 + 0x10 */
	put32(m, f + 8, 0x20002); /* VM, IOPL 0 */
	put32(m, f + 12, 0x0ffe);
	put32(m, f + 16, 0x0800);
	put32(m, f + 20, 0x1111);
	put32(m, f + 24, 0x2222);
	put32(m, f + 28, 0x3333);
	put32(m, f + 32, 0x4444);
	asm_hex(m, CODE, "bc 00 70 00 00 cf"); /* mov esp, 0x7000; iret */
	/* V86 code: mov ax, [0]: DS base 0x22220; then int 0x21 (IOPL 0: #GP) */
	put16(m, 0x22220, 0xbeef);
	asm_hex(m, CODE + 0x10, "a1 00 00 cd 21");
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	int v = stopped_in_handler(m, ex);
	struct x86_regs r = regs(m);
	CHECK((r.gpr[0] & 0xffff) == 0xbeef, "V86: segment base = selector << 4");
	CHECK(v == 13 && get32(m, r.gpr[4]) == 0, "V86: INT n with IOPL < 3 is #GP(0)");
	uint32_t sp = r.gpr[4] + 4;
	CHECK(get32(m, sp) == 0x13 && get32(m, sp + 4) == 0x1000 && (get32(m, sp + 8) & 0x20000) &&
		      get32(m, sp + 12) == 0x0ffe && get32(m, sp + 16) == 0x0800 &&
		      get32(m, sp + 20) == 0x1111 && get32(m, sp + 24) == 0x2222 &&
		      get32(m, sp + 28) == 0x3333 && get32(m, sp + 32) == 0x4444,
	      "V86: frame with EIP CS EFLAGS(VM) ESP SS ES DS FS GS");
	CHECK(r.seg[3].sel == 0 && r.seg[0].sel == 0 && !(r.eflags & 0x20000), "V86: data segments "
									       "nulled, VM cleared "
									       "in the handler");
	CHECK(r.gpr[4] == KSTACK - 40, "V86: ring-0 stack from TSS");
	machine_free(m);
}

static void test_real_mode_int(void)
{
	struct machine *m = machine_new();
	struct x86_regs r;

	x86cpu_reset(m->cpu);
	r = regs(m);
	r.seg[1].sel = 0;
	r.seg[1].base = 0;
	r.eip = 0x7c00;
	r.gpr[4] = 0x7000;
	x86cpu_set_regs(m->cpu, &r);
	put16(m, 0x10 * 4, 0x0100); /* IVT[0x10] = 0x0800:0x0100 */
	put16(m, 0x10 * 4 + 2, 0x0800);
	asm_hex(m, 0x8100, "b8 34 12 cf"); /* handler: mov ax,0x1234; iret */
	asm_hex(m, 0x7c00, "fb cd 10 f4"); /* sti; int 0x10; hlt */
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && (r.gpr[0] & 0xffff) == 0x1234 && r.eip == 0x7c04, "real mode: "
										      "INT through "
										      "the IVT and "
										      "IRET back");
	CHECK(get16(m, 0x6ffa) == 0x7c03 && get16(m, 0x6ffc) == 0 && (get16(m, 0x6ffe) & 0x200),
	      "real mode: pushed IP, CS, FLAGS");
	machine_free(m);
}

static void test_external_irq(void)
{
	struct machine *m = machine_new();

	enter_pm(m, CODE);
	asm_hex(m, CODE, "fa f4 fb 90 90 90");
	m->irq = 0x30;
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	CHECK(ex == X86_EXIT_HLT && regs(m).eip == CODE + 2 && m->irq == 0x30, "HLT with IF=0 "
									       "returns HLT and "
									       "leaves the "
									       "interrupt pending");
	ex = x86cpu_run(m->cpu, 100);
	CHECK(ex == X86_EXIT_HLT && regs(m).eip == CODE + 2, "stays halted while IF=0");
	resume(m);
	ex = x86cpu_run(m->cpu, 100);
	int v = stopped_in_handler(m, ex);
	struct x86_regs r = regs(m);
	CHECK(v == 0x30 && m->irq == -1, "STI: interrupt delivered through the IDT");
	CHECK(get32(m, r.gpr[4]) == CODE + 4, "STI shadow: one instruction ran first (eip %#x)",
	      get32(m, r.gpr[4]));
	machine_free(m);
}

static void test_triple_fault(void)
{
	struct machine *m = machine_new();
	struct x86_regs r;

	enter_pm(m, CODE);
	r = regs(m);
	r.idt_limit = 0;
	x86cpu_set_regs(m->cpu, &r);
	asm_hex(m, CODE, "0f 0b");
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	CHECK(ex == X86_EXIT_SHUTDOWN, "fault with no IDT ends in shutdown (exit %d)", ex);
	machine_free(m);
}

static void test_sysenter(void)
{
	struct machine *m = machine_new();

	enter_pm(m, CODE);
	/* wrmsr SYSENTER_CS/ESP/EIP, then sysexit to CPL 3, then sysenter back */
	uint32_t a = CODE;
	a = asm_hex(m, a, "b9 74 01 00 00 31 d2 b8 08 00 00 00 0f 30");
	a = asm_hex(m, a, "b9 75 01 00 00 b8 00 90 00 00 0f 30");
	a = asm_hex(m, a, "b9 76 01 00 00 b8 00 01 01 00 0f 30");
	a = asm_hex(m, a, "ba 00 02 01 00 b9 00 80 00 00 0f 35");
	asm_hex(m, CODE + 0x200, "0f 34");
	put8(m, CODE + 0x100, 0xf4);
	/* SYSEXIT uses SYSENTER_CS+16/+24: selectors 0x18|3 and 0x20|3 = UCS/UDS */
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	struct x86_regs r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.eip == CODE + 0x101 && r.seg[1].sel == KCS &&
		      r.gpr[4] == KSTACK,
	      "SYSEXIT to CPL 3 and SYSENTER back (eip %#x cs %#x)", r.eip, r.seg[1].sel);
	machine_free(m);
}

/*
 * CPUID advertises an invariant TSC and IA32_TSC_ADJUST; the MSR follows
 * SDM 17.17.3 (an ADJUST write moves the TSC, a TSC write moves ADJUST),
 * and an INIT keeps MTRRs and TSC_ADJUST while a power-on reset clears them.
 * This machine's TSC is the instruction count plus the offset.
 */
static void test_tsc_adjust(void)
{
	struct machine *m = machine_new();
	uint64_t adj;

	enter_pm(m, CODE);
	uint32_t a = CODE;
	a = asm_hex(m, a, "b8 07 00 00 80 0f a2 89 15 00 07 00 00"); /* 0x80000007 -> [700] = edx */
	a = asm_hex(m, a, "b8 07 00 00 00 31 c9 0f a2 89 1d 04 07 00 00"); /* 7.0 -> [704] = ebx */
	a = asm_hex(m, a, "b9 3b 00 00 00 0f 32 a3 08 07 00 00");	   /* [708] = TSC_ADJUST */
	/* [730..738] = CPUID 0x15 EAX, EBX, ECX */
	a = asm_hex(m, a,
		    "b8 15 00 00 00 0f a2 a3 30 07 00 00 89 1d 34 07 00 00 89 0d 38 07 00 00");
	/* TSC_ADJUST (ECX was CPUID's) = 0x1000000, then [70c] = rdtsc */
	a = asm_hex(m, a, "b9 3b 00 00 00 b8 00 00 00 01 31 d2 0f 30 0f 31 a3 0c 07 00 00");
	/* TSC = 0, then [710]:[714] = TSC_ADJUST; MTRR_DEF_TYPE = 0xc06 */
	a = asm_hex(m, a, "b9 10 00 00 00 31 c0 31 d2 0f 30 b9 3b 00 00 00 0f 32");
	a = asm_hex(m, a, "a3 10 07 00 00 89 15 14 07 00 00");
	a = asm_hex(m, a, "b9 ff 02 00 00 b8 06 0c 00 00 31 d2 0f 30 f4");
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	CHECK(ex == X86_EXIT_HLT && regs(m).eip == a,
	      "TSC program ran to its HLT (exit %d, eip %#x)", ex, regs(m).eip);
	CHECK(get32(m, 0x700) & (1u << 8), "CPUID 0x80000007 EDX: invariant TSC (%#x)",
	      get32(m, 0x700));
	CHECK(get32(m, 0x704) & (1u << 1), "CPUID 7.0 EBX: TSC_ADJUST (%#x)", get32(m, 0x704));
	CHECK(get32(m, 0x708) == 0, "TSC_ADJUST is 0 out of reset");
	CHECK(get32(m, 0x730) == 1 && get32(m, 0x734) == 1 && get32(m, 0x738) == 1000000000u,
	      "CPUID 0x15: TSC = crystal = 1 GHz (%u/%u, %u Hz)", get32(m, 0x734), get32(m, 0x730),
	      get32(m, 0x738));
	CHECK(get32(m, 0x70c) >= 0x1000000 && get32(m, 0x70c) < 0x1000000 + 100,
	      "a TSC_ADJUST write moves the TSC by the same amount (%#x)", get32(m, 0x70c));
	adj = ((uint64_t)get32(m, 0x714) << 32) | get32(m, 0x710);
	/* ADJUST was 0x1000000 and the TSC 0x1000000 + a few: setting TSC 0 leaves -few */
	CHECK((int64_t)adj < 0 && (int64_t)adj > -100,
	      "a TSC write moves TSC_ADJUST by the difference (%lld)", (long long)adj);
	/* INIT keeps MTRRs and TSC_ADJUST; power-on reset clears them. */
	x86cpu_init_signal(m->cpu);
	asm_hex(m, CODE,
		"b9 ff 02 00 00 0f 32 a3 20 07 00 00 b9 3b 00 00 00 0f 32 a3 24 07 00 00 f4");
	load_pm(m, CODE);
	x86cpu_run(m->cpu, 100);
	CHECK(get32(m, 0x720) == 0xc06 && get32(m, 0x724) == (uint32_t)adj,
	      "INIT keeps MTRR_DEF_TYPE (%#x) and TSC_ADJUST (%#x)", get32(m, 0x720),
	      get32(m, 0x724));
	x86cpu_reset(m->cpu);
	enter_pm(m, CODE);
	x86cpu_run(m->cpu, 100);
	CHECK(get32(m, 0x720) == 0 && get32(m, 0x724) == 0,
	      "power-on reset clears MTRR_DEF_TYPE (%#x) and TSC_ADJUST (%#x)", get32(m, 0x720),
	      get32(m, 0x724));
	machine_free(m);
}

static void test_fpu(void)
{
	struct machine *m = machine_new();
	struct x86_regs r;

	enter_pm(m, CODE);
	r = regs(m);
	r.cr0 = (r.cr0 & ~0xcu) | 0x22; /* MP, NE */
	x86cpu_set_regs(m->cpu, &r);
	/* Linux's FPU probe: fninit; fnstsw [0x600]; fnstcw [0x602]; then 1+2 */
	asm_hex(m, CODE,
		"db e3 dd 3d 00 06 00 00 d9 3d 02 06 00 00 d9 e8 d8 c0 d8 c0 "
		"da 1d 10 06 00 00 f4");
	/* fld1; fadd st0; fadd st0 -> 4; ficomp? no: fistp dword [0x610] via DB /3 */
	asm_hex(m, CODE + 20, "db 1d 10 06 00 00 f4");
	put16(m, 0x600, 0xffff);
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	CHECK(ex == X86_EXIT_HLT && get16(m, 0x600) == 0 && get16(m, 0x602) == 0x37f, "FNINIT, "
										      "FNSTSW, "
										      "FNSTCW");
	CHECK(get32(m, 0x610) == 4, "fld1, fadd, fistp = 4 (%u)", get32(m, 0x610));
	/* #NM with CR0.TS */
	enter_pm(m, CODE);
	r = regs(m);
	r.cr0 |= 0x8;
	x86cpu_set_regs(m->cpu, &r);
	asm_hex(m, CODE, "d9 e8");
	expect_fault(m, "#NM with CR0.TS", 7, -1, CODE);
	/* #MF: unmasked divide by zero with CR0.NE, signalled at the next FP insn */
	enter_pm(m, CODE);
	r = regs(m);
	r.cr0 |= 0x20;
	x86cpu_set_regs(m->cpu, &r);
	put16(m, 0x620, 0x37b); /* ZM unmasked */
	asm_hex(m, CODE, "db e3 d9 2d 20 06 00 00 d9 e8 d9 ee de f9 9b");
	expect_fault(m, "#MF at FWAIT after unmasked #Z", 16, -1, CODE + 14);
	machine_free(m);
}

/* At a: DEC reg (dec: its one-byte opcode); JNZ t (rel8); HLT. */
static void loop_tail_on(struct machine *m, uint32_t a, uint32_t t, uint8_t dec)
{
	put8(m, a, dec);
	a = asm_hex(m, a + 1, "75");
	put8(m, a, (uint8_t)(t - (a + 1)));
	asm_hex(m, a + 1, "f4");
}

/* At a: DEC ECX; JNZ t (rel8); HLT -- the end of the test loops below. */
static void loop_tail(struct machine *m, uint32_t a, uint32_t t)
{
	loop_tail_on(m, a, t, 0x49);
}

/*
 * In protected mode at CODE: setup, then body closed into a loop by
 * loop_tail() (ECX counts the passes), run for at most budget
 * instructions; *r gets the registers after.
 */
static enum x86_exit hot_loop(struct machine *m, const char *setup, const char *body,
			      uint64_t budget, struct x86_regs *r)
{
	uint32_t a, l;
	enum x86_exit ex;

	enter_pm(m, CODE);
	l = asm_hex(m, CODE, setup);
	a = asm_hex(m, l, body);
	loop_tail(m, a, l);
	ex = x86cpu_run(m->cpu, budget);
	*r = regs(m);
	return ex;
}

/*
 * A loop that runs T: "mov eax, 0x11111111; add ebx, eax" twice and, after
 * the first pass, patches the immediate to 0x22222222 and ADD into SUB with
 * two stores.  Cached decodes of T would give EBX 0x22222222.
 */
static void test_smc_store(uint32_t base, const char *what)
{
	struct machine *m = machine_new();
	uint32_t t = base + 7, a;
	struct x86_regs r;

	enter_pm(m, base);
	a = asm_hex(m, base, "b9 02 00 00 00 31 db");
	a = asm_hex(m, a, "b8 11 11 11 11 01 c3");
	a = asm_hex(m, a, "c7 05");
	a = asm32(m, a, t + 1);
	a = asm32(m, a, 0x22222222);
	a = asm_hex(m, a, "c6 05");
	a = asm32(m, a, t + 5);
	a = asm_hex(m, a, "29");
	loop_tail(m, a, t);
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[0] == 0x22222222 && r.gpr[3] == 0xeeeeeeefu,
	      "SMC %s: patched MOV imm and ADD->SUB run (eax %#x ebx %#x)", what, r.gpr[0],
	      r.gpr[3]);
	machine_free(m);
}

/* The same loop, patched by REP MOVSB (the CPU's block-copy fast path). */
static void test_smc_rep_movs(void)
{
	struct machine *m = machine_new();
	uint32_t t = CODE + 7;
	struct x86_regs r;

	enter_pm(m, CODE);
	asm_hex(m, CODE + 0x1000, "b8 33 33 33 33 29 c3");
	asm_hex(m, CODE,
		"ba 02 00 00 00 31 db b8 11 11 11 11 01 c3 be 00 10 01 00 bf 07 00 01 "
		"00 b9 07 00 00 00 fc f3 a4 4a 75 e4 f4");
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[0] == 0x33333333 && r.gpr[3] == 0xddddddde &&
		      r.gpr[7] == t + 7,
	      "SMC REP MOVSB: copied-in code runs (eax %#x ebx %#x)", r.gpr[0], r.gpr[3]);
	machine_free(m);
}

/*
 * Code rewritten by the device model while the CPU is halted: a direct RAM
 * write with the page marked in the written-page bitmap, as hvmdm's DMA does.
 * An interrupt (handler: IRET) wakes the CPU, which jumps back to the code.
 */
static void test_smc_dm_write(void)
{
	struct machine *m = machine_new();
	uint32_t t = CODE + 1;

	enter_pm(m, CODE);
	put8(m, HANDLERS + 0x30 * 16, 0xcf);
	asm_hex(m, CODE, "fb b8 11 11 11 11 f4 eb f8");
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	CHECK(ex == X86_EXIT_HLT && regs(m).gpr[0] == 0x11111111, "SMC dm write: first pass");
	put32(m, t + 1, 0x44444444);
	m->written[(t >> 12) / 32] |= 1u << ((t >> 12) % 32);
	m->written_seq++;
	m->irq = 0x30;
	ex = x86cpu_run(m->cpu, 100);
	CHECK(ex == X86_EXIT_HLT && regs(m).gpr[0] == 0x44444444 && regs(m).eip == CODE + 7,
	      "SMC dm write: the rewritten MOV runs after the wake-up (eax %#x)", regs(m).gpr[0]);
	machine_free(m);
}

/*
 * The same bytes as 32-bit code (mov eax, 0x12345678) and, after a far jump
 * to a 16-bit code segment, as 16-bit code (mov ax, 0x5678; xor al, 0x12):
 * the operand size is part of a cached decode's key.
 */
static void test_smc_mode_switch(void)
{
	struct machine *m = machine_new();

	enter_pm(m, 0x6000);
	put8(m, HANDLERS + 0x30 * 16, 0xcf);
	asm_hex(m, 0x6000, "b8 78 56 34 12 f4 ea 00 60 00 00 50 00");
	struct x86_regs r = regs(m);
	r.eflags |= 0x200;
	x86cpu_set_regs(m->cpu, &r);
	enum x86_exit ex = x86cpu_run(m->cpu, 100);
	CHECK(ex == X86_EXIT_HLT && regs(m).gpr[0] == 0x12345678, "cached decode: 32-bit pass");
	m->irq = 0x30;
	ex = x86cpu_run(m->cpu, 100);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[0] == 0x1234566a && r.seg[1].sel == CS16 &&
		      r.eip == 0x6006,
	      "cached decode: the same bytes as 16-bit code (eax %#x)", r.gpr[0]);
	machine_free(m);
}

/*
 * Hot loops (run often enough for blocks, see hypervisor/cpu/jit.c) that
 * rewrite code: (1) each pass stores pass >> 3 into the immediate of a MOV
 * later in the same block, which must run with the new value at once, also
 * in pass 16, when the block is translated and the value changes (EBX = 8 *
 * 1 + 5 * 2); (2) pass 12 patches a MOV in the block of the loop head from
 * another block, which must be re-made (EBX = 12 * 0x11 + 8 * 0x22).
 */
static void test_jit_smc(void)
{
	struct machine *m = machine_new();
	uint32_t a, x, t;
	struct x86_regs r;

	enter_pm(m, CODE);
	a = asm_hex(m, CODE, "b9 14 00 00 00 31 db 31 d2");
	t = a;
	x = t + 12;
	a = asm_hex(m, t, "42 89 d6 c1 ee 03 89 35");
	a = asm32(m, a, x + 1);
	a = asm_hex(m, a, "b8 00 00 00 00 01 c3");
	loop_tail(m, a, t);
	enum x86_exit ex = x86cpu_run(m->cpu, 1000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == 18 && r.gpr[0] == 2,
	      "hot loop storing into its own block: each pass runs the new MOV (eax %u ebx %u)",
	      r.gpr[0], r.gpr[3]);
	machine_free(m);

	m = machine_new();
	enter_pm(m, CODE);
	a = asm_hex(m, CODE, "b9 14 00 00 00 31 db 31 d2");
	t = a;
	a = asm_hex(m, t, "b8 11 00 00 00 01 c3 42 83 fa 0c 75 0a c7 05");
	a = asm32(m, a, t + 1);
	a = asm32(m, a, 0x22);
	loop_tail(m, a, t);
	ex = x86cpu_run(m->cpu, 1000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == 12 * 0x11 + 8 * 0x22,
	      "hot loop patched from another block: the loop head is re-made (ebx %#x)", r.gpr[3]);
	machine_free(m);
}

/*
 * A hot loop of two chained blocks, one of which the device model rewrites
 * while it answers the loop's OUT in pass 20 (mov eax, 1 becomes mov eax,
 * 2): every later pass runs the new MOV, with no return to the run loop in
 * between.  Passes 1-20 add 1, 21-40 add 2.  (A block that jumps to itself
 * checks nothing on the way round, so the loop has two.)
 */
static void test_jit_dm_write(void)
{
	struct machine *m = machine_new();
	uint32_t a, t;

	enter_pm(m, CODE);
	a = asm_hex(m, CODE, "b9 28 00 00 00 31 db");
	t = a;
	/* t: mov eax, 1; add ebx, eax; out 0x80, al; jmp u; u: dec ecx; jnz t */
	a = asm_hex(m, t, "b8 01 00 00 00 01 c3 e6 80 eb 00");
	loop_tail(m, a, t);
	m->dma_after = 20;
	m->dma_at = t + 1;
	m->dma_val = 2;
	enum x86_exit ex = x86cpu_run(m->cpu, 1000);
	CHECK(ex == X86_EXIT_HLT && regs(m).gpr[3] == 20 * 1 + 20 * 2,
	      "hot loop rewritten by DMA during its OUT: later passes run the new MOV (ebx %u)",
	      regs(m).gpr[3]);
	machine_free(m);
}

/*
 * A hot loop whose block U is linked from block A (a direct jump in the
 * same page) until pass 20 rewrites U's MOV: U is remade, and A's exit,
 * still aimed at the old translation, must reach the new one (jit.c,
 * redirect()) in every later pass.  Passes 1-19 add 0x11, 20-40 add 0x22.
 * A: inc edx; cmp edx, 20; jne U.  P: mov dword [U + 1], 0x22.
 * U: mov eax, 0x11; add ebx, eax; then dec ecx; jnz A.
 */
static void test_jit_stale_target(void)
{
	struct machine *m = machine_new();
	uint32_t a, t, u;
	struct x86_regs r;

	enter_pm(m, CODE);
	t = asm_hex(m, CODE, "b9 28 00 00 00 31 db 31 d2");
	u = t + 6 + 10;
	a = asm_hex(m, t, "42 83 fa 14 75 0a c7 05");
	a = asm32(m, a, u + 1);
	a = asm32(m, a, 0x22);
	a = asm_hex(m, a, "b8 11 00 00 00 01 c3");
	loop_tail(m, a, t);
	enum x86_exit ex = x86cpu_run(m->cpu, 1000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == 19 * 0x11 + 21 * 0x22 && r.gpr[1] == 0,
	      "a linked block rewritten and remade: later passes reach the new one (ebx %#x)",
	      r.gpr[3]);
	machine_free(m);
}

/*
 * A hot loop that keeps IF=0 but for the NOP after its STI, stopped after
 * its first block's CLI when an interrupt comes: after the STI's shadow
 * (the NOP) the interrupt must be taken, before the next pass's CLI, though
 * STI, NOP and CLI are all in translated blocks (jit.c: an STI ends its
 * block; a poll ends a run of chained blocks).
 * Loop: t: cli; inc esi; jmp u.  u: sti; nop; dec ecx; jnz t.
 */
static void test_jit_poll_chain(void)
{
	struct machine *m = machine_new();
	uint32_t a, t, esi;

	enter_pm(m, CODE);
	t = asm_hex(m, CODE, "b9 e8 03 00 00 31 f6");
	a = asm_hex(m, t, "fa 46 eb 00 fb 90");
	loop_tail(m, a, t);
	/* the 2 setup instructions, 50 passes of 7, and the first block of the 51st */
	enum x86_exit ex = x86cpu_run(m->cpu, 2 + 50 * 7 + 3);
	esi = regs(m).gpr[6];
	CHECK(ex == X86_EXIT_BUDGET && esi == 51 && regs(m).eip == t + 4 &&
		      !(regs(m).eflags & 0x200),
	      "hot CLI/STI loop: stopped after the first block (esi %u)", esi);
	m->irq = 0x30;
	ex = x86cpu_run(m->cpu, 6000);
	int v = stopped_in_handler(m, ex);
	CHECK(v == 0x30 && regs(m).gpr[6] == esi,
	      "an STI in a run of chained blocks: the interrupt comes before the next block "
	      "(vector %d, esi %u after %u)",
	      v, regs(m).gpr[6], esi);
	machine_free(m);
}

/*
 * A backward REP STOSB of 0x3000 bytes (string.c does 4096 a run when it
 * cannot copy in bulk), then a read of ECX in the same straight run, in a
 * hot loop: the REP leaves EIP on itself until ECX is 0, so the
 * instructions after it may run only then, also once the loop is
 * translated (jit.c ends a block after a REP).  Loop: mov edi, 0x42fff;
 * mov ecx, 0x3000; mov eax, edx; std; rep stosb; cld; add esi, ecx;
 * inc edx.  ESI stays 0; the buffer holds the last pass's byte.
 */
static void test_jit_rep(void)
{
	struct machine *m = machine_new();
	uint32_t a, t;
	bool filled = true;

	enter_pm(m, CODE);
	t = asm_hex(m, CODE, "b9 0c 00 00 00 31 f6 31 d2 89 cd");
	/* ECX is the REP's count, so the pass count lives in EBP */
	a = asm_hex(m, t, "bf ff 2f 04 00 b9 00 30 00 00 89 d0 fd f3 aa fc 01 ce 42");
	loop_tail_on(m, a, t, 0x4d);
	enum x86_exit ex = x86cpu_run(m->cpu, 2000);
	for (uint32_t o = 0; o < 0x3000; o++)
		filled &= m->ram[0x40000 + o] == 11;
	CHECK(ex == X86_EXIT_HLT && regs(m).gpr[6] == 0 && regs(m).gpr[2] == 12 && filled,
	      "hot REP STOSB past a run: what follows runs once it is done (esi %#x, edx %u, "
	      "buffer %s)",
	      regs(m).gpr[6], regs(m).gpr[2], filled ? "filled" : "not filled");
	machine_free(m);
}

/*
 * A translated block that ends in a REP STOSB goes on by a link only when
 * the REP is done (jit.c, last_exit()): the link to the next block is made
 * in the early passes, whose counts are 16, and pass 13 asks for 0x3000,
 * more than one run does.  Loop: mov edi, 0x42fff; xor ecx, ecx;
 * cmp ebp, 2; sete cl; imul ecx, ecx, 0x2ff0; add ecx, 0x10; mov eax, edx;
 * std; rep stosb; cld; add esi, ecx; inc edx; dec ebp; jnz.  ESI stays 0.
 */
static void test_jit_rep_link(void)
{
	struct machine *m = machine_new();
	uint32_t a, t;
	bool filled = true;

	enter_pm(m, CODE);
	t = asm_hex(m, CODE, "b9 0e 00 00 00 31 f6 31 d2 89 cd");
	a = asm_hex(m, t,
		    "bf ff 2f 04 00 31 c9 83 fd 02 0f 94 c1 69 c9 f0 2f 00 00 83 c1 10 "
		    "89 d0 fd f3 aa fc 01 ce 42");
	loop_tail_on(m, a, t, 0x4d);
	enum x86_exit ex = x86cpu_run(m->cpu, 3000);
	for (uint32_t o = 0; o < 0x3000 - 0x10; o++)
		filled &= m->ram[0x40000 + o] == 12;
	for (uint32_t o = 0x3000 - 0x10; o < 0x3000; o++)
		filled &= m->ram[0x40000 + o] == 13;
	CHECK(ex == X86_EXIT_HLT && regs(m).gpr[6] == 0 && regs(m).gpr[2] == 14 && filled,
	      "linked exit after a REP STOSB: taken only once it is done (esi %#x, edx %u, "
	      "buffer %s)",
	      regs(m).gpr[6], regs(m).gpr[2], filled ? "filled" : "not filled");
	machine_free(m);
}

/*
 * REPNE SCASB (Linux's strlen and strstr on i386) inside translated blocks:
 * a hot loop scans 0xff bytes for the zero at 0x42800 from 0x40000 + pass *
 * 0x100, 6913 to 10241 bytes (more than one run does: string.c).  Loop: mov edi, edx;
 * shl edi, 8; add edi, 0x40000; mov ecx, -1; xor eax, eax; cld;
 * repne scasb; not ecx; add esi, ecx; inc edx; dec ebp; jnz.
 */
static void test_jit_repne_scas(void)
{
	struct machine *m = machine_new();
	uint32_t a, t, want = 0;

	memset(m->ram + 0x40000, 0xff, 0x3000);
	m->ram[0x42800] = 0;
	for (uint32_t k = 0; k < 14; k++)
		want += 0x2801 - 0x100 * k;
	enter_pm(m, CODE);
	t = asm_hex(m, CODE, "b9 0e 00 00 00 31 f6 31 d2 89 cd");
	a = asm_hex(m, t,
		    "89 d7 c1 e7 08 81 c7 00 00 04 00 b9 ff ff ff ff 31 c0 fc f2 ae f7 d1 "
		    "01 ce 42");
	loop_tail_on(m, a, t, 0x4d);
	enum x86_exit ex = x86cpu_run(m->cpu, 3000);
	CHECK(ex == X86_EXIT_HLT && regs(m).gpr[6] == want && regs(m).gpr[2] == 14 &&
		      regs(m).gpr[7] == 0x42801,
	      "hot REPNE SCASB: bytes scanned %u of %u, edi %#x", regs(m).gpr[6], want,
	      regs(m).gpr[7]);
	machine_free(m);
}

/*
 * IN and OUT inside translated blocks, with the port in a register the
 * block holds in a host register: the bus must see each pass's port and
 * value, and IN's result must reach the next instruction.  The test bus
 * answers IN with the port number.  Loop: in eax, dx; add esi, eax;
 * out dx, al; inc edx; dec ecx; jnz.
 */
static void test_jit_in_out(void)
{
	struct machine *m = machine_new();
	uint32_t a, t, want = 0;

	for (uint32_t p = 0x40; p < 0x40 + 20; p++)
		want += p;
	enter_pm(m, CODE);
	t = asm_hex(m, CODE, "b9 14 00 00 00 31 f6 ba 40 00 00 00");
	a = asm_hex(m, t, "ed 01 c6 ee 42");
	loop_tail(m, a, t);
	enum x86_exit ex = x86cpu_run(m->cpu, 1000);
	CHECK(ex == X86_EXIT_HLT && regs(m).gpr[6] == want && m->out_n == 20 &&
		      m->out_sum == want && regs(m).gpr[2] == 0x54,
	      "hot IN/OUT loop: esi %u, %u OUTs adding to %u (want %u), edx %#x", regs(m).gpr[6],
	      m->out_n, m->out_sum, want, regs(m).gpr[2]);
	machine_free(m);
}

/*
 * MOV DS in a hot loop (100 passes, so that its blocks are translated
 * and linked), alternating between the flat selector and one based at
 * 0x1000, before a block that loads [0x40] natively when DS is flat: a
 * segment load ends its block and updates what blocks test on entry
 * before its block goes on by a link, so the odd passes read 0x1040
 * (jit.c, last_exit(); dcache.c, f_plain_last()).  Loop: test ebp, 1; jz +6; mov ax, 0x60; jmp +4;
 * mov ax, 0x10; mov ds, ax; mov edx, [0x40]; add edi, edx; dec ebp; jnz.
 */
/*
 * The segment-load loops below: selector 0x60 based at 0x1000, [0x40] =
 * 0x11 and [0x1040] = 0x2200, setup and body run with EBP counting the
 * passes; EDI must end at want.
 */
static void seg_load_loop(const char *what, const char *setup, const char *body, uint32_t want)
{
	struct machine *m = machine_new();
	uint32_t a, t;

	gdt_set(m, 0x60, 0x1000, 0xfffff, 0x93, 0xc);
	put32(m, 0x40, 0x11);
	put32(m, 0x1040, 0x2200);
	enter_pm(m, CODE);
	t = asm_hex(m, CODE, setup);
	a = asm_hex(m, t, body);
	loop_tail_on(m, a, t, 0x4d);
	enum x86_exit ex = x86cpu_run(m->cpu, 5000);
	CHECK(ex == X86_EXIT_HLT && regs(m).gpr[7] == want,
	      "%s: each pass reads through the DS it loaded (edi %#x, want %#x)", what,
	      regs(m).gpr[7], want);
	machine_free(m);
}

static void test_jit_seg_load(void)
{
	seg_load_loop("hot MOV DS alternating bases", "bd 64 00 00 00 31 ff",
		      "f7 c5 01 00 00 00 74 06 66 b8 60 00 eb 04 66 b8 10 00 8e d8 "
		      "8b 15 40 00 00 00 01 d7",
		      50 * 0x11 + 50 * 0x2200);
}

/*
 * MOV DS as the last instruction of a block, linked to a block that loads
 * [0x40] natively (translated while DS is flat: the first 20 passes load
 * the flat selector), then alternating with a DS based at 0x1000: the
 * block goes on by a link after the load, so the load itself must update
 * what blocks test on entry (dcache.c, f_plain_last()), or the next block
 * reads 0x40 through the based DS.  Loop: xor eax, eax; cmp ecx, 20;
 * setae al; and eax, ecx; and eax, 1; imul eax, eax, 0x50; add eax, 0x10;
 * mov ds, ax; mov edx, [0x40]; add edi, edx; inc ecx; dec ebp; jnz.
 */
static void test_jit_seg_load_link(void)
{
	seg_load_loop("linked block after MOV DS alternating bases", "bd 64 00 00 00 31 ff 31 c9",
		      "31 c0 83 f9 14 0f 93 c0 21 c8 83 e0 01 6b c0 50 83 c0 10 8e d8 "
		      "8b 15 40 00 00 00 01 d7 41",
		      60 * 0x11 + 40 * 0x2200);
}

/*
 * A hot loop that sets IF with POPF and clears it again with the next
 * instruction, an interrupt coming after pass 50: it must be taken right
 * after the POPF of pass 51 (POPF has no shadow), though POPF and CLI are
 * in one translated run (jit.c: a POPF ends its block).
 * Loop: inc esi; push 0x202; popf; cli; dec ecx; jnz.
 */
static void test_jit_popf(void)
{
	struct machine *m = machine_new();
	uint32_t a, t;

	enter_pm(m, CODE);
	t = asm_hex(m, CODE, "b9 e8 03 00 00 31 f6");
	a = asm_hex(m, t, "46 68 02 02 00 00 9d fa");
	loop_tail(m, a, t);
	enum x86_exit ex = x86cpu_run(m->cpu, 2 + 50 * 6);
	CHECK(ex == X86_EXIT_BUDGET && regs(m).gpr[6] == 50 && regs(m).eip == t,
	      "hot POPF/CLI loop: 50 passes (esi %u)", regs(m).gpr[6]);
	m->irq = 0x30;
	ex = x86cpu_run(m->cpu, 6000);
	int v = stopped_in_handler(m, ex);
	CHECK(v == 0x30 && regs(m).gpr[6] == 51,
	      "a POPF that sets IF in a translated loop: the interrupt comes right after it "
	      "(vector %d, esi %u)",
	      v, regs(m).gpr[6]);
	machine_free(m);
}

/*
 * A code segment whose limit ends at 0x10fff, and a hot loop whose JE is
 * taken in pass 20, to 0x11100 past the limit: #GP(0) at the JE, also in
 * a translated block (jit.c skips a jump's limit compare only in blocks
 * that checked for a 4 GiB CS on entry).  A HLT waits at 0x11100 in case.
 * Loop: inc edx; cmp edx, 20; je 0x11100; dec ecx; jnz.
 */
static void test_jit_cs_limit(void)
{
	struct machine *m = machine_new();
	uint32_t a, t, je;

	gdt_set(m, 0x60, 0, 0x10fff, 0x9b, 0x4);
	enter_pm(m, CODE);
	put8(m, 0x11100, 0xf4);
	a = asm_hex(m, CODE, "ea");
	a = asm32(m, a, CODE + 7);
	t = asm_hex(m, a, "60 00 b9 28 00 00 00 31 d2");
	je = asm_hex(m, t, "42 83 fa 14");
	a = asm_hex(m, je, "0f 84");
	a = asm32(m, a, 0x11100 - (a + 4));
	loop_tail(m, a, t);
	expect_fault(m, "hot JE past CS.limit", 13, 0, je);
	CHECK(regs(m).gpr[2] == 20, "hot JE past CS.limit: in pass 20 (edx %u)", regs(m).gpr[2]);
	machine_free(m);
}

/* A hot loop of CALL and RET (blocks with stack forms): ESP comes back each pass. */
static void test_jit_call_ret(void)
{
	struct machine *m = machine_new();
	uint32_t a, t, f = CODE + 0x100;
	struct x86_regs r;

	enter_pm(m, CODE);
	a = asm_hex(m, CODE, "b9 14 00 00 00 31 db");
	t = a;
	a = asm_hex(m, t, "e8");
	a = asm32(m, a, f - (a + 4));
	loop_tail(m, a, t);
	asm_hex(m, f, "83 c3 03 53 5a c3");
	enum x86_exit ex = x86cpu_run(m->cpu, 1000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == 60 && r.gpr[2] == 60 && r.gpr[4] == KSTACK,
	      "hot loop of CALL/RET: ebx %u edx %u, esp back at %#x", r.gpr[3], r.gpr[2], r.gpr[4]);
	machine_free(m);
}

/*
 * A hot loop calls F at linear 0x60000, in another page (a link between
 * pages both ways: the call and F's return), then maps that page to other
 * code and flushes it (INVLPG, or a CR3 reload), and loops again: the
 * second pass must run the new F.  F is "add ebx,1; ret", then
 * "add ebx,0x100; ret".
 */
/*
 * A hot call into the page at 0x60000, remapped after 100 calls from
 * 0x70000 to 0x50000 and invalidated by INVLPG, a CR3 reload or (for a
 * global page, which a CR3 reload keeps) a toggle of CR4.PGE.
 */
enum remap_by {
	REMAP_INVLPG,
	REMAP_CR3,
	REMAP_PGE
};

static void test_jit_link_remap(bool pae, enum remap_by by, bool global)
{
	static const char *const hows[] = { "INVLPG", "CR3 reload", "CR4.PGE toggle" };
	static const char *const flush[] = {
		"0f 01 3d 00 00 06 00", /* invlpg [0x60000] */
		"0f 20 d8 0f 22 d8",	/* mov eax,cr3; mov cr3,eax */
		/* mov eax,cr4; xor eax,0x80; mov cr4,eax; xor eax,0x80; mov cr4,eax */
		"0f 20 e0 35 80 00 00 00 0f 22 e0 35 80 00 00 00 0f 22 e0",
	};
	struct machine *m = machine_new();
	const char *how = hows[by];
	uint32_t pt = pae ? PT + 0x1000 : PT, step = pae ? 8 : 4, a, o, l;
	uint32_t g = global ? 0x100 : 0; /* PTE.G */
	struct x86_regs r;

	setup_paging(m, pae);
	put32(m, pt + 0x60 * step, 0x70000 | 7 | g);
	asm_hex(m, 0x70000, "83 c3 01 c3");
	asm_hex(m, 0x50000, "81 c3 00 01 00 00 c3");
	enter_pm(m, CODE);
	paging_on(m, pae, true);
	if (g) {
		r = regs(m);
		r.cr4 |= 0x80; /* PGE */
		x86cpu_set_regs(m->cpu, &r);
	}
	/* mov esi,2; xor ebx,ebx; O: mov ecx,100; L: call 0x60000; dec ecx; jnz L */
	a = asm_hex(m, CODE, "be 02 00 00 00 31 db");
	o = a;
	a = asm_hex(m, o, "b9 64 00 00 00");
	l = a;
	a = asm_hex(m, l, "e8");
	a = asm32(m, a, 0x60000 - (a + 4));
	a = asm_hex(m, a, "49 75");
	put8(m, a, (uint8_t)(l - (a + 1)));
	/* mov dword [pte], 0x50007 (| G); then the flush */
	a = asm_hex(m, a + 1, "c7 05");
	a = asm32(m, a, pt + 0x60 * step);
	a = asm32(m, a, 0x50000 | 7 | g);
	a = asm_hex(m, a, flush[by]);
	/* dec esi; jnz O; hlt */
	a = asm_hex(m, a, "4e 75");
	put8(m, a, (uint8_t)(o - (a + 1)));
	asm_hex(m, a + 1, "f4");
	enum x86_exit ex = x86cpu_run(m->cpu, 5000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == 100 + 100 * 0x100,
	      "%s, %s%s: a hot call into a remapped page runs the new code (exit %d, ebx %#x)",
	      pae ? "PAE" : "2-level", how, global ? ", global page" : "", ex, r.gpr[3]);
	machine_free(m);
}

/*
 * An indirect CALL (FF /2) in a hot loop alternates between two functions
 * in other pages: the link from the call site must follow the target.
 */
static void test_jit_indirect(void)
{
	struct machine *m = machine_new();
	struct x86_regs r;

	put32(m, 0x7000, 0x60000); /* the table */
	put32(m, 0x7004, 0x61000);
	asm_hex(m, 0x60000, "83 c3 01 c3");
	asm_hex(m, 0x61000, "81 c3 00 01 00 00 c3");
	/* mov ecx,100; xor ebx,ebx; L: mov eax,ecx; and eax,1; mov eax,[0x7000+eax*4]; call eax */
	enum x86_exit ex = hot_loop(m, "b9 64 00 00 00 31 db",
				    "89 c8 83 e0 01 8b 04 85 00 70 00 00 ff d0", 2000, &r);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == 50 + 50 * 0x100,
	      "hot indirect call alternating between two targets runs each (exit %d, ebx %#x)", ex,
	      r.gpr[3]);
	machine_free(m);
}

/*
 * A RET that goes somewhere other than its call's return site on every
 * other pass (the callee adds 6 to its return address when ECX is odd,
 * skipping "add ebx,1000"): a return is followed only to where it went.
 */
static void test_jit_ret_elsewhere(void)
{
	struct machine *m = machine_new();
	struct x86_regs r;
	uint32_t a, l, g = 0x60000;

	/* G: test cl,1; jz 1f; pop edx; add edx,6; push edx; 1: ret */
	asm_hex(m, g, "f6 c1 01 74 05 5a 83 c2 06 52 c3");
	enter_pm(m, CODE);
	/* mov ecx,100; xor ebx,ebx; L: call G; add ebx,1000; add ebx,1 */
	a = asm_hex(m, CODE, "b9 64 00 00 00 31 db");
	l = a;
	a = asm_hex(m, l, "e8");
	a = asm32(m, a, g - (a + 4));
	a = asm_hex(m, a, "81 c3 e8 03 00 00 83 c3 01");
	loop_tail(m, a, l);
	enum x86_exit ex = x86cpu_run(m->cpu, 3000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == 50 * 1 + 50 * 1001 && r.gpr[4] == KSTACK,
	      "hot RET to a moved return address goes there (exit %d, ebx %u, esp %#x)", ex,
	      r.gpr[3], r.gpr[4]);
	machine_free(m);
}

/*
 * RDTSC inside a hot loop, with no time source (the TSC counts
 * instructions): two reads five instructions apart differ by five on
 * every pass, also when both run inside one translated block.
 */
static void test_jit_rdtsc(void)
{
	struct machine *m = machine_new();
	struct x86_regs r;
	/* mov ecx,100; xor ebx,ebx; L: rdtsc; mov esi,eax; nop x3; rdtsc; sub eax,esi; add ebx,eax */
	enum x86_exit ex = hot_loop(m, "b9 64 00 00 00 31 db",
				    "0f 31 89 c6 90 90 90 0f 31 29 f0 01 c3", 2000, &r);

	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == 500,
	      "RDTSC in a hot loop counts the instructions between two reads (exit %d, sum %u)", ex,
	      r.gpr[3]);
	machine_free(m);
}

/*
 * A block that loops back to its own start (see self_loop() in jit.c):
 * the instruction budget stops it exactly, and a handler call inside it
 * (BSWAP) sees and keeps registers the previous pass changed natively.
 * Loop: mov edx,ebx; bswap edx; add esi,edx; add esi,ebx; add edi,ebx;
 * inc ebx; xor eax,ebx; dec ecx; jnz.
 */
static void test_jit_self_loop(void)
{
	static const char loop[] = "89 da 0f ca 01 d6 01 de 01 df 43 31 d8 49 75 f0";
	uint32_t eax = 0, ebx = 0, esi = 0, edi = 0, a;
	struct machine *m = machine_new();
	struct x86_regs r;

	for (unsigned i = 0; i < 100; i++) {
		esi += __builtin_bswap32(ebx) + ebx;
		edi += ebx;
		ebx++;
		eax ^= ebx;
	}
	enter_pm(m, CODE);
	/* mov ecx,100; xor eax,eax; xor ebx,ebx; xor esi,esi; xor edi,edi */
	a = asm_hex(m, CODE, "b9 64 00 00 00 31 c0 31 db 31 f6 31 ff");
	a = asm_hex(m, a, loop);
	asm_hex(m, a, "f4");
	enum x86_exit ex = x86cpu_run(m->cpu, 2000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[0] == eax && r.gpr[3] == 100 && r.gpr[6] == esi &&
		      r.gpr[7] == edi,
	      "hot self-loop with a handler call: eax %#x/%#x ebx %u esi %#x/%#x edi %#x/%#x",
	      r.gpr[0], eax, r.gpr[3], r.gpr[6], esi, r.gpr[7], edi);
	machine_free(m);

	/* 5 + 9 * 60 + 6 instructions: stops after the sixth of pass 61 (inc ebx) */
	m = machine_new();
	enter_pm(m, CODE);
	a = asm_hex(m, CODE, "b9 64 00 00 00 31 c0 31 db 31 f6 31 ff");
	a = asm_hex(m, a, loop);
	asm_hex(m, a, "f4");
	uint64_t start = x86cpu_icount(m->cpu);
	ex = x86cpu_run(m->cpu, 5 + 9 * 60 + 6);
	r = regs(m);
	CHECK(ex == X86_EXIT_BUDGET && x86cpu_icount(m->cpu) - start == 5 + 9 * 60 + 6 &&
		      r.gpr[3] == 61 && r.gpr[1] == 40,
	      "the budget stops a hot self-loop exactly (exit %d, %llu instructions, ebx %u, "
	      "ecx %u)",
	      ex, (unsigned long long)(x86cpu_icount(m->cpu) - start), r.gpr[3], r.gpr[1]);
	machine_free(m);
}

/*
 * Conditional jumps inside a block (side exits, see side_exit() in jit.c),
 * taken both ways across the passes.  The inner loop's own JNZ is one too,
 * so a pass that takes neither of the others goes back to the block's
 * start from a side exit, and its last pass runs on through the outer
 * loop's tail in the same block.  The outer loop runs the inner one with
 * ECX 3 (every path decoded before the block is made), then 100.
 * Inner: cmp ecx,40; ja +1; inc esi; cmp ecx,70; jae +3; add ebx,1;
 * add edi,ecx; dec ecx; jnz -- 7 instructions a pass, one more when
 * ECX <= 40, one more when ECX < 70.  Outer tail: mov eax,ebx;
 * mov ebp,100; dec edx; jnz.
 */
static void side_exit_loop(struct machine *m)
{
	uint32_t a, o, l;

	enter_pm(m, CODE);
	o = asm_hex(m, CODE, "31 db 31 f6 31 ff bd 03 00 00 00 ba 02 00 00 00");
	l = asm_hex(m, o, "89 e9");
	a = asm_hex(m, l, "83 f9 28 77 01 46 83 f9 46 73 03 83 c3 01 01 cf 49 75");
	put8(m, a, (uint8_t)(l - (a + 1)));
	a = asm_hex(m, a + 1, "89 d8 bd 64 00 00 00 4a 75");
	put8(m, a, (uint8_t)(o - (a + 1)));
	asm_hex(m, a + 1, "f4");
}

static bool side_exit_regs(const struct x86_regs *r)
{
	return r->gpr[6] == 43 && r->gpr[3] == 72 && r->gpr[0] == 72 && r->gpr[7] == 5056;
}

static void test_jit_side_exit(void)
{
	const uint64_t total = 5 + (1 + 3 * 9 + 4) + (1 + 100 * 7 + 40 + 69 + 4);
	struct machine *m = machine_new();
	uint64_t start = x86cpu_icount(m->cpu);
	unsigned overran = 0, wrong = 0;
	struct x86_regs r;

	side_exit_loop(m);
	enum x86_exit ex = x86cpu_run(m->cpu, 2000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && side_exit_regs(&r) &&
		      x86cpu_icount(m->cpu) - start == total + 1,
	      "hot loop with side exits (exit %d, esi %u, ebx %u, eax %u, edi %u, %llu "
	      "instructions)",
	      ex, r.gpr[6], r.gpr[3], r.gpr[0], r.gpr[7],
	      (unsigned long long)(x86cpu_icount(m->cpu) - start));
	machine_free(m);

	/* the same in runs of 14 to 42 instructions, 29 phases: each run stops exactly */
	for (unsigned phase = 0; phase < 29; phase++) {
		uint64_t runs = phase;

		m = machine_new();
		side_exit_loop(m);
		for (uint64_t done = 0, k; done < total && runs < 1000; done += k, runs++) {
			k = 14 + runs % 29;
			if (k > total - done)
				k = total - done;
			start = x86cpu_icount(m->cpu);
			ex = x86cpu_run(m->cpu, k);
			overran += ex != X86_EXIT_BUDGET || x86cpu_icount(m->cpu) - start != k;
		}
		r = regs(m);
		wrong += !side_exit_regs(&r);
		machine_free(m);
	}
	CHECK(!overran && !wrong,
	      "the budget stops blocks with side exits exactly (%u runs overran, %u of 29 "
	      "results wrong)",
	      overran, wrong);
}

/*
 * ROL in a hot loop between AND and SETZ: a rotate sets only CF and OF,
 * so SETZ still sees AND's ZF (ECX a multiple of 4: 25 of 100 passes).
 * Loop: mov eax,ecx; and eax,3; rol edx,5; setz al; movzx eax,al;
 * add ebx,eax; dec ecx; jnz.
 */
static void test_jit_rotate(void)
{
	struct machine *m = machine_new();
	struct x86_regs r;
	/* mov ecx,100; xor ebx,ebx; mov edx,1 */
	enum x86_exit ex = hot_loop(m, "b9 64 00 00 00 31 db ba 01 00 00 00",
				    "89 c8 83 e0 03 c1 c2 05 0f 94 c0 0f b6 c0 01 c3", 2000, &r);

	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == 25 && r.gpr[2] == 1u << 20,
	      "hot ROL keeps the flags it does not set (exit %d, ebx %u, edx %#x)", ex, r.gpr[3],
	      r.gpr[2]);
	machine_free(m);
}

/*
 * SHL by CL in a hot loop: by ECX & 31 = 0 (ECX = 32, 64, 96) it changes
 * neither the register nor the flags, so SETZ sees CMP's ZF; otherwise
 * it shifts.  Loop: mov eax,ecx; and eax,31; cmp eax,0; mov edx,1;
 * shl edx,cl; setz al; movzx eax,al; add ebx,eax; add esi,edx; dec ecx;
 * jnz.  ZF after SHL by a non-zero count is clear (EDX is not 0).
 */
static void test_jit_shift_cl(void)
{
	struct machine *m = machine_new();
	struct x86_regs r;
	uint32_t esi = 0;

	for (unsigned c = 100; c; c--)
		esi += 1u << (c & 31);
	/* mov ecx,100; xor ebx,ebx; xor esi,esi */
	enum x86_exit ex = hot_loop(m, "b9 64 00 00 00 31 db 31 f6",
				    "89 c8 83 e0 1f 83 f8 00 ba 01 00 00 00 d3 e2 0f 94 c0 0f b6 "
				    "c0 01 c3 01 d6",
				    3000, &r);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == 3 && r.gpr[6] == esi,
	      "hot SHL by CL: a zero count keeps the flags (exit %d, ebx %u, esi %#x/%#x)", ex,
	      r.gpr[3], r.gpr[6], esi);
	machine_free(m);
}

/*
 * test_jit_smc()'s first loop with its store going through an alias of the
 * code page (linear 0x3ff000) that INVLPG drops at the top of each pass:
 * the store misses the TLB and runs in the handler, whose write to the
 * fetch page must still end the block before the patched MOV.
 */
static void test_jit_smc_slow(void)
{
	struct machine *m = machine_new();
	uint32_t a, x, t, alias = 0x3ff000;
	struct x86_regs r;

	setup_paging(m, false);
	put32(m, PT + (alias >> 12) * 4, CODE | 7);
	enter_pm(m, CODE);
	paging_on(m, false, false);
	a = asm_hex(m, CODE, "b9 14 00 00 00 31 db 31 d2");
	t = a;
	x = t + 19;
	a = asm_hex(m, t, "0f 01 3d"); /* invlpg [alias] */
	a = asm32(m, a, alias);
	a = asm_hex(m, a, "42 89 d6 c1 ee 03 89 35");
	a = asm32(m, a, alias + (x + 1 - CODE));
	a = asm_hex(m, a, "b8 00 00 00 00 01 c3");
	loop_tail(m, a, t);
	enum x86_exit ex = x86cpu_run(m->cpu, 1000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == 18 && r.gpr[0] == 2,
	      "hot loop storing into its own block through a TLB miss (eax %u ebx %u)", r.gpr[0],
	      r.gpr[3]);
	machine_free(m);
}

/*
 * Byte ALU forms, MOV of an imm8 and TEST AL in a hot loop, with EAX held
 * in a host register and EBX/EDX (whose byte 1 is written) not.  Loop:
 * mov al,0x5a; xor al,cl; cmp al,0x40; adc bl,al; test al,0x10;
 * sub dh,al; xor [edi],al; add bh,[edi]; xor dh,bl; xor bh,dh;
 * test bl,bh; mov al,0x33; dec ecx; jnz.  Then a loop whose only writes
 * to the held EAX and EDX are MOV AL, imm8 and MOV DX, imm16 (C7 /0):
 * mov al,0x5a; mov dx,0x1234; add ebx,eax (x3); add ebx,edx (x3).
 */
static void test_jit_byte_ops(void)
{
	struct machine *m = machine_new();
	uint8_t bl = 0, bh = 0, dh = 0, mem = 0x11;
	struct x86_regs r;

	for (unsigned c = 100; c; c--) {
		uint8_t al = (uint8_t)(0x5a ^ c);

		bl = (uint8_t)(bl + al + (al < 0x40));
		dh = (uint8_t)(dh - al);
		mem ^= al;
		bh = (uint8_t)(bh + mem);
		dh ^= bl;
		bh ^= dh;
	}
	/* mov ecx,100; xor ebx,ebx; xor edx,edx; mov edi,0x30000; xor eax,eax; mov byte [edi],0x11 */
	enum x86_exit ex = hot_loop(m, "b9 64 00 00 00 31 db 31 d2 bf 00 00 03 00 31 c0 c6 07 11",
				    "b0 5a 30 c8 3c 40 10 c3 a8 10 28 c6 30 07 02 3f 30 de 30 f7 "
				    "84 fb "
				    "b0 33",
				    3000, &r);
	CHECK(ex == X86_EXIT_HLT && r.gpr[0] == 0x33 && r.gpr[3] == (uint32_t)(bh << 8 | bl) &&
		      r.gpr[2] == (uint32_t)dh << 8 && m->ram[0x30000] == mem,
	      "hot byte ALU forms (exit %d, eax %#x, ebx %#x/%#x, edx %#x/%#x, mem %#x/%#x)", ex,
	      r.gpr[0], r.gpr[3], bh << 8 | bl, r.gpr[2], dh << 8, m->ram[0x30000], mem);
	machine_free(m);

	m = machine_new();
	/*
	 * mov ecx,100; mov eax,0x12345678; xor ebx,ebx; mov edx,0xabcdef01; then
	 * once more from the setup's end with the loop translated already: only
	 * the block writes AL and DX.
	 */
	ex = hot_loop(m, "b9 64 00 00 00 b8 78 56 34 12 31 db ba 01 ef cd ab",
		      "b0 5a 66 c7 c2 34 12 01 c3 01 c3 01 c3 01 d3 01 d3 01 d3", 3000, &r);
	r.gpr[0] = 0x12345678;
	r.gpr[1] = 100;
	r.gpr[2] = 0xabcdef01;
	r.gpr[3] = 0;
	r.eip = CODE + 17;
	x86cpu_set_regs(m->cpu, &r);
	ex = x86cpu_run(m->cpu, 3000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[0] == 0x1234565a && r.gpr[2] == 0xabcd1234 &&
		      r.gpr[3] == 300u * 0x1234565a + 300u * 0xabcd1234,
	      "hot MOV AL, imm8 and MOV DX, imm16 into held registers (exit %d, eax %#x, edx %#x, "
	      "ebx %#x)",
	      ex, r.gpr[0], r.gpr[2], r.gpr[3]);
	machine_free(m);
}

/*
 * Instructions that cross a page run in the middle of hot code (jit.c: the
 * last entry of a block, through the generic decoder, then on by a link):
 * at 0x10ff6 the loop add ebx,ecx; lea esi,[esi+1]; nop; add ebx,imm32
 * (0x10ffc-0x11001); call F; dec ecx; jnz; F at 0x11ff8: test cl,1;
 * jz rel32 (0x11ffb-0x12000, taken every other pass); xor ebx,imm32; ret;
 * and at 0x12010: add ebx,7; ret.  Then, with the blocks hot, the crossing ADD's ModRM
 * (page 0x10000) and its immediate's top byte (page 0x11000) change in
 * memory: the next run must see both.
 */
static uint32_t cross_expect(uint32_t *esi, uint32_t imm, bool to_esi)
{
	uint32_t b = 0;

	*esi = 0;
	for (uint32_t c = 300; c; c--) {
		b += c;
		*esi += 1;
		if (to_esi)
			*esi += imm;
		else
			b += imm;
		if (c & 1)
			b ^= 0x55aa55aau;
		else
			b += 7;
	}
	return b;
}

static void test_jit_page_crossing(void)
{
	struct machine *m = machine_new();
	const uint32_t l = 0x10ff6, f = 0x11ff8;
	uint32_t a, esi, b;
	struct x86_regs r;

	enter_pm(m, CODE);
	a = asm_hex(m, CODE, "b9 2c 01 00 00 31 db 31 f6 e9");
	asm32(m, a, l - (a + 4));
	a = asm_hex(m, l, "01 cb 8d 76 01 90 81 c3 44 33 22 11 e8");
	a = asm32(m, a, f - (a + 4));
	asm_hex(m, a, "49 75 ec f4");
	asm_hex(m, f, "f6 c1 01 0f 84 0f 00 00 00 81 f3 aa 55 aa 55 c3");
	asm_hex(m, 0x12010, "83 c3 07 c3");
	enum x86_exit ex = x86cpu_run(m->cpu, 5000);
	r = regs(m);
	b = cross_expect(&esi, 0x11223344u, false);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == b && r.gpr[6] == esi && r.gpr[1] == 0 &&
		      r.gpr[4] == KSTACK && r.eip == 0x1100b,
	      "hot loop through instructions that cross pages (exit %d, ebx %#x/%#x, esi %u, "
	      "eip %#x)",
	      ex, r.gpr[3], b, r.gpr[6], r.eip);

	put8(m, 0x10ffd, 0xc6); /* add esi, imm32 */
	put8(m, 0x11001, 0x77);
	r.gpr[1] = 300;
	r.gpr[3] = 0;
	r.gpr[6] = 0;
	r.eip = l;
	x86cpu_set_regs(m->cpu, &r);
	ex = x86cpu_run(m->cpu, 5000);
	r = regs(m);
	b = cross_expect(&esi, 0x77223344u, true);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == b && r.gpr[6] == esi,
	      "a crossing instruction changed on both of its pages runs as changed (exit %d, "
	      "ebx %#x/%#x, esi %#x/%#x)",
	      ex, r.gpr[3], b, r.gpr[6], esi);
	machine_free(m);
}

/*
 * Indirect calls the way Linux makes them with retpolines: CALL to a
 * thunk that CALLs ahead, overwrites that return address with EAX and
 * RETs there (jit.c: a RET neither return site on the ring predicts goes
 * on by its block's own link, compared with EIP).  EAX is T1 (add ebx,3)
 * on three passes out of four and T2 (lea ebx,[ebx*2+1]) on the fourth.
 */
static void test_jit_retpoline(void)
{
	struct machine *m = machine_new();
	const uint32_t thunk = CODE + 0x100, t1 = CODE + 0x200, t2 = CODE + 0x300;
	uint32_t a, l, b = 0;
	struct x86_regs r;

	for (uint32_t c = 200; c; c--)
		b = (c & 3) ? b + 3 : b * 2 + 1;
	enter_pm(m, CODE);
	l = asm_hex(m, CODE, "b9 c8 00 00 00 31 db");
	a = asm_hex(m, l, "b8");
	a = asm32(m, a, t1);
	a = asm_hex(m, a, "f6 c1 03 75 05 b8");
	a = asm32(m, a, t2);
	a = asm_hex(m, a, "e8");
	a = asm32(m, a, thunk - (a + 4));
	loop_tail(m, a, l);
	/* call +7; pause; lfence; jmp -7; mov [esp],eax; ret */
	asm_hex(m, thunk, "e8 07 00 00 00 f3 90 0f ae e8 eb f9 89 04 24 c3");
	asm_hex(m, t1, "83 c3 03 c3");
	asm_hex(m, t2, "8d 1c 5d 01 00 00 00 c3");
	enum x86_exit ex = x86cpu_run(m->cpu, 5000);
	r = regs(m);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == b && r.gpr[1] == 0 && r.gpr[4] == KSTACK,
	      "hot indirect calls through a retpoline thunk to two targets (exit %d, ebx %#x/%#x, "
	      "esp %#x)",
	      ex, r.gpr[3], b, r.gpr[4]);
	machine_free(m);
}

/*
 * Instructions only the generic decoder runs, in the middle of a hot loop
 * (dcache.c, plain_op()): push ds; pop eax; add ebx,eax; mov edx,ecx;
 * tzcnt edx,edx; add ebx,edx; verw ax; sete dl; movzx edx,dl; add ebx,edx.
 */
static void test_jit_plain_ops(void)
{
	struct machine *m = machine_new();
	uint32_t b = 0;
	struct x86_regs r;

	for (uint32_t c = 200; c; c--)
		b += KDS + (uint32_t)__builtin_ctz(c) + 1;
	enum x86_exit ex = hot_loop(m, "b9 c8 00 00 00 31 db",
				    "1e 58 01 c3 89 ca f3 0f bc d2 01 d3 "
				    "0f 00 e8 0f 94 c2 0f b6 d2 01 d3",
				    5000, &r);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == b && r.gpr[4] == KSTACK,
	      "hot PUSH DS, TZCNT and VERW among translated code (exit %d, ebx %#x/%#x, esp %#x)",
	      ex, r.gpr[3], b, r.gpr[4]);
	machine_free(m);
}

/*
 * LOCK-prefixed read-modify-writes in a hot loop (specialised handlers and
 * native forms, as without the prefix): mov edi,0x30000 once; then
 * lock add [edi],ecx; lock sub dword [edi+4],3; lock inc dword [edi+8];
 * lock or byte [edi+12],cl; mov eax,[edi]; add ebx,eax.
 */
static void test_jit_locked_rmw(void)
{
	struct machine *m = machine_new();
	uint32_t a = 0, s = 0, b = 0, or = 0;
	struct x86_regs r;

	for (uint32_t c = 200; c; c--) {
		a += c;
		s -= 3;
		or |= c & 0xff;
		b += a;
	}
	enum x86_exit ex = hot_loop(m, "b9 c8 00 00 00 31 db bf 00 00 03 00",
				    "f0 01 0f f0 83 6f 04 03 f0 ff 47 08 f0 08 4f 0c 8b 07 01 c3",
				    5000, &r);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == b && get32(m, 0x30000) == a &&
			      get32(m, 0x30004) == s && get32(m, 0x30008) == 200 &&
			      m->ram[0x3000c] == or
	      ,
	      "hot LOCK ADD/SUB/INC/OR on memory (exit %d, ebx %#x/%#x, [edi] %#x/%#x, "
	      "[edi+4] %#x, [edi+8] %u, [edi+12] %#x/%#x)",
	      ex, r.gpr[3], b, get32(m, 0x30000), a, get32(m, 0x30004), get32(m, 0x30008),
	      m->ram[0x3000c], or);
	machine_free(m);
}

/*
 * Runs of PUSHes and POPs in a hot loop (jit.c: one TLB probe a run), with
 * ESP moving down 4 bytes a pass so that for some passes both runs cross
 * the page at 0x40000 and take their handlers one by one.  Loop:
 * lea esp,[esp-4]; push eax; push ecx; push 0x11223344; push ebx;
 * pop edx; pop esi; pop edi; pop ebp; add ebx,esi; xor ebx,edi;
 * sub ebx,ebp; add ebx,edx; inc eax.
 */
static void test_jit_push_pop_runs(void)
{
	struct machine *m = machine_new();
	uint32_t a = 0x1000, b = 0, d = 0, esp = 0x40040, k = 0x11223344;
	struct x86_regs r;

	for (uint32_t c = 100; c; c--, a++) {
		esp -= 4;
		d = b;
		b = ((b + k) ^ c) - a + d;
	}
	/* mov ecx,100; mov esp,0x40040; xor ebx,ebx; mov eax,0x1000 */
	enum x86_exit ex = hot_loop(m, "b9 64 00 00 00 bc 40 00 04 00 31 db b8 00 10 00 00",
				    "8d 64 24 fc 50 51 68 44 33 22 11 53 5a 5e 5f 5d "
				    "01 f3 31 fb 29 eb 01 d3 40",
				    5000, &r);
	CHECK(ex == X86_EXIT_HLT && r.gpr[3] == b && r.gpr[0] == a && r.gpr[4] == esp &&
		      r.gpr[2] == d && r.gpr[6] == k && r.gpr[7] == 1 && r.gpr[5] == a - 1 &&
		      get32(m, esp - 4) == a - 1 && get32(m, esp - 8) == 1 &&
		      get32(m, esp - 12) == k && get32(m, esp - 16) == d,
	      "hot runs of PUSH and POP across a page (exit %d, ebx %#x/%#x, esp %#x/%#x, "
	      "edx %#x/%#x, edi %u, ebp %#x)",
	      ex, r.gpr[3], b, r.gpr[4], esp, r.gpr[2], d, r.gpr[7], r.gpr[5]);
	machine_free(m);
}

/*
 * FS and GS with a base (0x30003) and a 4 GiB limit in a hot loop, the
 * way Linux addresses per-CPU data: loads, an INC and a moffs load through
 * FS, an ADD through GS.  Loop: lea esi,[ecx-4]; mov eax,fs:[esi];
 * add ebx,eax; add edi,gs:[esi]; inc dword fs:[esi]; mov eax,fs:[0];
 * add ebp,eax; dec ecx; jnz.  At ECX = 3 the offset is 0xffffffff: the
 * dword's last byte is past the limit (#GP(0)), though its linear address
 * (base - 1) is inside one page.
 */
static void test_jit_fs(void)
{
	struct machine *m = machine_new();
	uint32_t ebx = 0, edi = 0, ebp = 0;
	uint8_t mem[128];

	for (unsigned i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 37 + 5);
	for (unsigned i = 0; i < sizeof(mem); i++)
		put8(m, 0x30003 + i, mem[i]);
	for (unsigned c = 100; c > 3; c--) {
		uint32_t v;

		memcpy(&v, mem + c - 4, 4);
		ebx += v;
		edi += v;
		v++;
		memcpy(mem + c - 4, &v, 4);
		memcpy(&v, mem, 4);
		ebp += v;
	}
	gdt_set(m, 0x60, 0x30003, 0xfffff, 0x93, 0xc);
	enter_pm(m, CODE);
	/*
	 * mov ax,0x60; mov fs,ax; mov gs,ax; mov ecx,100; xor ebx,ebx; xor edi,edi;
	 * mov eax,[0x40] (DS: page 0 in the TLB, where offsets without FS's base would hit);
	 * xor ebp,ebp
	 */
	uint32_t l = asm_hex(m, CODE,
			     "66 b8 60 00 8e e0 8e e8 b9 64 00 00 00 31 db 31 ff a1 40 00 00 00 31 "
			     "ed");
	uint32_t a =
		asm_hex(m, l, "8d 71 fc 64 8b 06 01 c3 65 03 3e 64 ff 06 64 a1 00 00 00 00 01 c5");
	loop_tail(m, a, l);
	expect_fault(m, "hot FS load past the limit", 13, 0, l + 3);
	struct x86_regs r = regs(m);
	CHECK(r.gpr[1] == 3 && r.gpr[3] == ebx && r.gpr[7] == edi && r.gpr[5] == ebp,
	      "hot FS/GS forms add the base (ecx %u, ebx %#x/%#x, edi %#x/%#x, ebp %#x/%#x)",
	      r.gpr[1], r.gpr[3], ebx, r.gpr[7], edi, r.gpr[5], ebp);
	for (unsigned i = 0; i < sizeof(mem); i++)
		if (m->ram[0x30003 + i] != mem[i]) {
			CHECK(0, "FS INC wrote %#x at fs:%#x (want %#x)", m->ram[0x30003 + i], i,
			      mem[i]);
			break;
		}
	machine_free(m);
}

/*
 * A constant FS offset whose last byte passes the 4 GiB limit, in a hot
 * loop: each pass faults (#GP(0)), though the offset wraps to a page the
 * TLB holds.  The translator checks a constant offset once (jit.c,
 * seg_base()); an instruction that faults is never in the decode cache, so
 * it never goes into a block, and this holds the interpreter to the same
 * answer.  The #GP handler skips the 7-byte load and counts in ESI.
 * Loop: mov edx, [0x30000]; mov eax, fs:[0xfffffffd]; dec ecx; jnz.
 */
static void test_jit_fs_wrap(void)
{
	struct machine *m = machine_new();
	uint32_t l;

	gdt_set(m, 0x60, 0x30003, 0xfffff, 0x93, 0xc);
	enter_pm(m, CODE);
	/* add esp, 4 (the error code); add dword [esp], 7; inc esi; iret */
	asm_hex(m, HANDLERS + 13 * 16, "83 c4 04 83 04 24 07 46 cf");
	/* mov ax, 0x60; mov fs, ax; mov ecx, 20; xor esi, esi */
	l = asm_hex(m, CODE, "66 b8 60 00 8e e0 b9 14 00 00 00 31 f6");
	/* mov edx, [0x30000] (where the offset would wrap to, in the TLB) */
	loop_tail(m, asm_hex(m, l, "8b 15 00 00 03 00 64 8b 05 fd ff ff ff"), l);
	enum x86_exit ex = x86cpu_run(m->cpu, 1000);
	CHECK(ex == X86_EXIT_HLT && regs(m).gpr[6] == 20 && regs(m).gpr[1] == 0,
	      "hot FS load at a constant offset past the limit faults every pass (esi %u)",
	      regs(m).gpr[6]);
	machine_free(m);
}

static void run_all(void)
{
	test_real_to_pm();
	test_exceptions();
	test_int_privilege();
	test_paging(false);
	test_paging(true);
	test_mmio_store(false);
	test_mmio_store(true);
	test_page_cross(false);
	test_page_cross(true);
	test_moffs_fs();
	test_task_switch();
	test_v86();
	test_real_mode_int();
	test_external_irq();
	test_triple_fault();
	test_jit_smc();
	test_jit_smc_slow();
	test_jit_dm_write();
	test_jit_stale_target();
	test_jit_poll_chain();
	test_jit_fs_wrap();
	test_jit_rep();
	test_jit_rep_link();
	test_jit_repne_scas();
	test_jit_in_out();
	test_jit_seg_load();
	test_jit_seg_load_link();
	test_jit_popf();
	test_jit_cs_limit();
	test_jit_call_ret();
	for (unsigned pae = 0; pae < 2; pae++) {
		test_jit_link_remap(pae, REMAP_INVLPG, false);
		test_jit_link_remap(pae, REMAP_CR3, false);
		test_jit_link_remap(pae, REMAP_INVLPG, true);
		test_jit_link_remap(pae, REMAP_PGE, true);
	}
	test_jit_indirect();
	test_jit_ret_elsewhere();
	test_jit_rdtsc();
	test_jit_self_loop();
	test_jit_side_exit();
	test_jit_rotate();
	test_jit_shift_cl();
	test_jit_byte_ops();
	test_jit_push_pop_runs();
	test_jit_page_crossing();
	test_jit_retpoline();
	test_jit_plain_ops();
	test_jit_locked_rmw();
	test_jit_fs();
	test_sysenter();
	test_tsc_adjust();
	test_fpu();
	test_smc_store(CODE, "by stores");
	test_smc_store(CODE + 0xff7, "across a page boundary");
	test_smc_rep_movs();
	test_smc_dm_write();
	test_smc_mode_switch();
}

int main(void)
{
	printf("# pass 1: blocks compare their bytes on entry\n");
	run_all();
	printf("# pass 2: code write tracking (blocks check their page's generation)\n");
	watch_code = true;
	run_all();
	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}
