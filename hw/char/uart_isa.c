// SPDX-License-Identifier: MIT
/*
 * uart_isa.c - ISA bus glue for the 16550A core: eight byte registers in
 * port I/O space, an edge-triggered ISA IRQ gated by MCR.OUT2 (the PC serial
 * card wiring), and a character backend.  Device type "uart16550".
 *
 * Not emulated: PnP resources, the 16450/8250 variants.
 */
#include "uart_isa.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chardev.h"
#include "device.h"
#include "irq.h"
#include "dm.h"
#include "iospace.h"
#include "log.h"
#include "qmp.h"
#include "uart16550.h"

#define UART_ISA_MOD "uart"
#define UART_ISA_NR_PORTS 8
#define UART_ISA_SPEC_MAX 512

struct uart_isa {
	struct uart16550 core;
	struct io_region io;
	struct irq_line irq;
	struct chardev *chr;
	bool inited;
};

/* The PC/AT COM port assignments (IBM PC/AT Technical Reference). */
static const struct {
	uint16_t iobase;
	uint8_t irq;
} uart_isa_com[4] = {
	{ 0x3f8, 4 },
	{ 0x2f8, 3 },
	{ 0x3e8, 4 },
	{ 0x2e8, 3 },
};

static uint64_t uart_isa_read(void *opaque, uint64_t off, unsigned size)
{
	struct uart_isa *s = opaque;

	(void)size;
	return uart_read(&s->core, (unsigned)off);
}

static void uart_isa_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct uart_isa *s = opaque;

	(void)size;
	uart_write(&s->core, (unsigned)off, (uint8_t)val);
}

/*
 * LSR (5): the hypervisor answers its reads from the dm's mirror while they
 * have no side effect, that is while no error bit or FIFOE is set (a read
 * clears those).  Linux's serial console reads it before every character.
 */
static const struct io_mirror_reg uart_isa_mirrored[] = {
	{ .off = UART_LSR, .size = 1 },
};

/* THR (0, or DLL with DLAB set) may change LSR (THRE, TEMT; DR in loopback). */
static const struct io_post_effect uart_isa_effects[] = {
	{ .off = UART_THR, .len = 1, .mirrored = 1 },
};

/*
 * THR writes are posted: the byte goes out in ring order, and everything
 * the write changes shows only through later reads (LSR waits for the
 * write, IIR and the rest are synchronous) and the interrupt.  A console
 * character then costs one round trip (the LSR read after it) instead of
 * two.  Every other register stays synchronous.
 */
static const struct io_ops uart_isa_ops = {
	.read = uart_isa_read,
	.write = uart_isa_write,
	.min_size = 1,
	.max_size = 1,
	.posted_writes = 1u << UART_THR,
	.mirrored = uart_isa_mirrored,
	.nr_mirrored = 1,
	.post_effects = uart_isa_effects,
	.nr_post_effects = 1,
};

static void uart_isa_lsr_changed(void *opaque, uint8_t lsr)
{
	struct uart_isa *s = opaque;

	if (lsr & (UART_LSR_ERRORS | UART_LSR_FIFOE))
		io_mirror_clear(&s->io, UART_LSR);
	else
		io_mirror_set(&s->io, UART_LSR, lsr);
}

static void uart_isa_set_irq(void *opaque, bool level)
{
	struct uart_isa *s = opaque;

	irq_set(&s->irq, level);
}

/*
 * chardev=SPEC, plus the socket flags that the option parser split off as
 * bare keys ("chardev=unix:/p,server,nowait").
 */
static int uart_isa_chardev_spec(const struct opts *o, char *buf, size_t cap)
{
	static const char *const flags[] = { "server", "nowait", "wait", "nodelay", "telnet" };
	const char *spec = opts_get(o, "chardev");
	size_t i, len;

	if (!spec)
		spec = "null";
	len = (size_t)snprintf(buf, cap, "%s", spec);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]) && len < cap; i++) {
		const char *v = opts_get(o, flags[i]);

		if (v && !*v)
			len += (size_t)snprintf(buf + len, cap - len, ",%s", flags[i]);
	}
	return len < cap ? 0 : -ENAMETOOLONG;
}

/*
 * Tell the toolstack where the port went, as qemu-dm did: QMP query-chardev
 * (label serialN, "pty:/dev/pts/M" for ptys) and the log line that
 * `hvmctl console` and xl-era tools look for.
 */
static void uart_isa_announce(struct dev *d, struct chardev *chr, uint64_t index, const char *spec)
{
	const char *pty = chardev_pty_path(chr);
	char label[24], file[UART_ISA_SPEC_MAX + 8];

	snprintf(label, sizeof(label), "serial%u", (unsigned)index);
	if (pty) {
		dm_info(UART_ISA_MOD, "char device redirected to %s (label %s)", pty, label);
		snprintf(file, sizeof(file), "pty:%s", pty);
	} else {
		snprintf(file, sizeof(file), "%s", spec);
	}
	if (chr && qmp_add_chardev(d->dm, label, file) < 0)
		dm_warn(UART_ISA_MOD, "%s: not listed in query-chardev", d->id);
}

static int uart_isa_resources(const struct opts *o, uint64_t *index, uint64_t *iobase,
			      uint64_t *irq)
{
	int rc;

	rc = opts_get_u64(o, "index", 0, index);
	if (rc || *index >= 4) {
		dm_err(UART_ISA_MOD, "index must be 0-3 (COM1-COM4)");
		return -EINVAL;
	}
	rc = opts_get_u64(o, "iobase", uart_isa_com[*index].iobase, iobase);
	if (!rc)
		rc = opts_get_u64(o, "irq", uart_isa_com[*index].irq, irq);
	if (rc || *iobase > 0xffff - UART_ISA_NR_PORTS + 1 || *irq >= DM_MAX_GSIS) {
		dm_err(UART_ISA_MOD, "bad iobase/irq (iobase <= 0xfff8, irq < %u)", DM_MAX_GSIS);
		return -EINVAL;
	}
	return 0;
}

static int uart_isa_create(struct dev *d, const struct opts *o)
{
	struct uart_isa *s = d->state;
	char spec[UART_ISA_SPEC_MAX];
	uint64_t index, iobase, irq;
	int rc;

	rc = uart_isa_resources(o, &index, &iobase, &irq);
	if (rc)
		return rc;
	rc = uart_isa_chardev_spec(o, spec, sizeof(spec));
	if (rc)
		return rc;
	rc = chardev_open(d->dm->loop, spec, &s->chr);
	if (rc)
		return rc;
	irq_line_init(&s->irq, d->dm, (uint32_t)irq);
	uart_init(&s->core, d->dm->clock, s->chr, uart_isa_set_irq, s);
	s->core.out2_gates_irq = true;
	s->inited = true;
	io_region_init(&s->io, &uart_isa_ops, s, d->id, UART_ISA_NR_PORTS);
	rc = io_region_map(d->dm, &s->io, IO_PIO, iobase);
	if (rc) {
		dm_err(UART_ISA_MOD, "%s: ports 0x%llx-0x%llx are taken", d->id,
		       (unsigned long long)iobase,
		       (unsigned long long)(iobase + UART_ISA_NR_PORTS - 1));
		return rc;
	}
	uart_set_lsr_hook(&s->core, uart_isa_lsr_changed);
	dm_info(UART_ISA_MOD, "%s: 16550A at 0x%llx irq %llu, backend %s", d->id,
		(unsigned long long)iobase, (unsigned long long)irq, spec);
	uart_isa_announce(d, s->chr, index, spec);
	return 0;
}

static void uart_isa_reset(struct dev *d, enum dev_reset kind)
{
	struct uart_isa *s = d->state;

	(void)kind;
	if (s->inited)
		uart_reset(&s->core);
}

static void uart_isa_destroy(struct dev *d)
{
	struct uart_isa *s = d->state;

	io_region_unmap(&s->io);
	if (s->inited) {
		uart_fini(&s->core);
		irq_set(&s->irq, false);
	}
	chardev_close(s->chr);
	s->chr = NULL;
}

static const struct dev_type uart_isa_type = {
	.name = "uart16550",
	.state_size = sizeof(struct uart_isa),
	.create = uart_isa_create,
	.reset = uart_isa_reset,
	.destroy = uart_isa_destroy,
};
DM_DEVICE(uart_isa_type);

struct chardev *uart_isa_chardev(struct dev *d)
{
	if (!d || d->type != &uart_isa_type)
		return NULL;
	return ((struct uart_isa *)d->state)->chr;
}

struct uart16550 *uart_isa_core(struct dev *d)
{
	if (!d || d->type != &uart_isa_type)
		return NULL;
	return &((struct uart_isa *)d->state)->core;
}
