/* SPDX-License-Identifier: MIT */
/*
 * test_cpu_seabios.c - smoke test of the software x86 CPU on real firmware:
 * Debian's SeaBIOS (/usr/share/seabios/bios.bin) runs from reset with a
 * minimal bus (RAM, the BIOS ROM, CMOS memory size, a host bridge on PCI
 * config ports, the 0x402 debug port) through its real-mode start, the
 * switch to 32-bit mode, relocation, PCI enumeration and many 16/32-bit
 * transitions until it waits for a key at the boot menu.  There is no timer,
 * so the test ends at the first HLT with interrupts enabled after the boot
 * menu prompt.  The debug port output must show each stage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x86cpu.h"

#define RAM_SIZE (64u << 20)
#define BIOS "/usr/share/seabios/bios.bin"

struct sb {
	uint8_t *ram, *rom;
	size_t romsz;
	char log[16384];
	size_t loglen;
	uint8_t cmos_idx;
	uint32_t pci_addr;
};

static uint8_t *sb_map(void *o, uint64_t gpa, bool write)
{
	struct sb *s = o;
	uint64_t rom_base = 0x100000000ull - s->romsz;

	if (gpa < RAM_SIZE)
		return s->ram + gpa;
	if (gpa >= rom_base && gpa < 0x100000000ull)
		return write ? NULL : s->rom + (gpa - rom_base);
	return NULL;
}

static uint64_t sb_mmio_read(void *o, uint64_t gpa, unsigned size)
{
	(void)o;
	(void)gpa;
	(void)size;
	return ~0ull;
}

static void sb_mmio_write(void *o, uint64_t gpa, uint64_t val, unsigned size)
{
	(void)o;
	(void)gpa;
	(void)val;
	(void)size;
}

static uint32_t ones(unsigned size)
{
	return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

/* PCI config space: only 00:00.0, an i440FX host bridge (8086:1237). */
static uint32_t pci_read(struct sb *s, uint16_t port, unsigned size)
{
	uint32_t v = ones(4);

	if ((s->pci_addr & 0x80ffff00u) == 0x80000000u && (s->pci_addr & 0xfc) == 0)
		v = 0x12378086u;
	return (v >> ((port & 3) * 8)) & ones(size);
}

static uint32_t sb_in(void *o, uint16_t port, unsigned size)
{
	struct sb *s = o;

	if (port == 0x71) /* CMOS 0x34/0x35: RAM above 16 MiB in 64 KiB units */
		return s->cmos_idx == 0x35 ? ((RAM_SIZE - (16u << 20)) >> 24) : 0;
	if (port == 0xcf8 && size == 4)
		return s->pci_addr;
	if (port >= 0xcfc && port < 0xd00)
		return pci_read(s, port, size);
	if (port == 0x402) /* QEMU's debugcon answers 0xe9; SeaBIOS checks */
		return 0xe9;
	return ones(size);
}

static void sb_out(void *o, uint16_t port, uint32_t val, unsigned size)
{
	struct sb *s = o;

	if (port == 0x402 && s->loglen + 1 < sizeof(s->log))
		s->log[s->loglen++] = (char)val;
	else if (port == 0x70)
		s->cmos_idx = val & 0x7f;
	else if (port == 0xcf8 && size == 4)
		s->pci_addr = val;
}

static int sb_none(void *o)
{
	(void)o;
	return -1;
}

int main(void)
{
	static const struct x86_bus tmpl = {
		.map_page = sb_map,
		.mmio_read = sb_mmio_read,
		.mmio_write = sb_mmio_write,
		.pio_in = sb_in,
		.pio_out = sb_out,
		.intr_pending = sb_none,
		.intr_ack = sb_none,
	};
	static const char *stages[] = { "SeaBIOS (version", "Relocating init",
					"PCI: init bdf=00:00.0", "All threads complete",
					"Press ESC for boot menu" };
	struct x86_bus bus = tmpl;
	struct sb *s = calloc(1, sizeof(*s));
	struct x86cpu *cpu;
	FILE *f = fopen(BIOS, "rb");
	int fails = 0;

	if (!f) {
		printf("1..0 # SKIPPED: %s not installed (Debian package seabios)\n", BIOS);
		return 77;
	}
	s->rom = malloc(256 * 1024);
	s->ram = calloc(1, RAM_SIZE);
	s->romsz = fread(s->rom, 1, 256 * 1024, f);
	fclose(f);
	/* the top 128 KiB of the ROM also appear below 1 MiB (as the chipset does) */
	memcpy(s->ram + 0xe0000, s->rom + s->romsz - 0x20000, 0x20000);
	bus.opaque = s;
	if (x86cpu_create(&bus, 0, &cpu))
		return 1;
	enum x86_exit ex = X86_EXIT_BUDGET;
	for (int i = 0; i < 200 && ex == X86_EXIT_BUDGET; i++)
		ex = x86cpu_run(cpu, 1000000);
	s->log[s->loglen] = 0;
	printf("1..%zu\n", sizeof(stages) / sizeof(stages[0]) + 1);
	printf("# %llu instructions, exit %d\n", (unsigned long long)x86cpu_icount(cpu), ex);
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		bool ok = strstr(s->log, stages[i]) != NULL;
		fails += !ok;
		printf("%s %zu - SeaBIOS printed \"%s\"\n", ok ? "ok" : "not ok", i + 1, stages[i]);
	}
	fails += ex != X86_EXIT_HLT;
	printf("%s %zu - waits in HLT for an interrupt at the boot menu\n",
	       ex == X86_EXIT_HLT ? "ok" : "not ok", sizeof(stages) / sizeof(stages[0]) + 1);
	if (fails)
		printf("# debug port output:\n%s\n", s->log);
	x86cpu_destroy(cpu);
	free(s->ram);
	free(s->rom);
	free(s);
	return fails ? 1 : 0;
}
