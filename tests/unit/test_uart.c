// SPDX-License-Identifier: MIT
/*
 * test_uart.c - the 16550A through its ISA ports on a standalone dm: reset
 * values, DLAB and the divisor (including zero), THRE interrupts and OUT2
 * gating, loopback and MSR wiring, FIFO trigger levels, the character
 * timeout on the virtual clock, interrupt identification priority,
 * receive overrun, and hostile register sequences.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "char/uart16550.h"
#include "char/uart_isa.h"
#include "device.h"
#include "dm.h"
#include "irq.h"
#include "io_util.h"
#include "tap.h"

#define COM1 0x3f8

static struct dm *new_dm(struct dev **uart, const char *opts)
{
	struct dm *dm = NULL;

	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	CHECK_EQ(dev_create(dm, "uart16550", opts, uart), 0);
	return dm;
}

static void test_reset_values(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d, "index=0");

	CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(in8(dm, COM1 + UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(in8(dm, COM1 + UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	CHECK_EQ(in8(dm, COM1 + UART_LCR), 0);
	CHECK_EQ(in8(dm, COM1 + UART_MCR), UART_MCR_OUT2); /* as QEMU */
	CHECK_EQ(in8(dm, COM1 + UART_IER), 0);
	out8(dm, COM1 + UART_SCR, 0x5a);
	CHECK_EQ(in8(dm, COM1 + UART_SCR), 0x5a);
	CHECK(!dm_irq_level(dm, 4));
	dm_destroy(dm);
}

static void test_com_ports(void)
{
	struct dev *d[4];
	struct dm *dm = NULL;
	static const uint16_t base[4] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
	static const uint8_t irq[4] = { 4, 3, 4, 3 };
	char opts[32];
	int i;

	CHECK_EQ(dm_create_standalone(1 << 20, &dm), 0);
	for (i = 0; i < 4; i++) {
		snprintf(opts, sizeof(opts), "index=%d", i);
		CHECK_EQ(dev_create(dm, "uart16550", opts, &d[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		out8(dm, base[i] + UART_SCR, (uint8_t)(0x10 + i));
		/* Enable THRE interrupt with OUT2: the port's IRQ goes up. */
		out8(dm, base[i] + UART_MCR, UART_MCR_OUT2);
		out8(dm, base[i] + UART_IER, UART_IER_ETBEI);
		CHECK(dm_irq_level(dm, irq[i]));
		CHECK_EQ(in8(dm, base[i] + UART_IIR), UART_IIR_THRI);
		out8(dm, base[i] + UART_IER, 0);
	}
	for (i = 0; i < 4; i++)
		CHECK_EQ(in8(dm, base[i] + UART_SCR), 0x10 + i);
	/* A fifth port on COM1's address is refused. */
	CHECK(dev_create(dm, "uart16550", "index=0", NULL) < 0);
	CHECK(dev_create(dm, "uart16550", "index=4", NULL) < 0);
	CHECK_EQ(dev_create(dm, "uart16550", "iobase=0x200,irq=5", &d[0]), 0);
	out8(dm, 0x200 + UART_SCR, 0x77);
	CHECK_EQ(in8(dm, 0x200 + UART_SCR), 0x77);
	dm_destroy(dm);
}

static void test_divisor(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d, NULL);
	struct uart16550 *u = uart_isa_core(d);
	uint64_t t_9600, t_115200;

	CHECK(u != NULL);
	t_9600 = uart_char_time_ns(u);
	out8(dm, COM1 + UART_LCR, UART_LCR_DLAB | 0x03);
	out8(dm, COM1 + UART_DLL, 1);
	out8(dm, COM1 + UART_DLM, 0);
	CHECK_EQ(in8(dm, COM1 + UART_DLL), 1);
	CHECK_EQ(in8(dm, COM1 + UART_DLM), 0);
	t_115200 = uart_char_time_ns(u);
	CHECK(t_115200 * 12 == t_9600 || t_115200 < t_9600);
	/* 8N1 at 115200: 10 bits = 86805 ns. */
	CHECK_EQ(t_115200, 10ull * 1000000000ull / 115200);
	/* Divisor 0: stored as written, timing keeps the last valid rate. */
	out8(dm, COM1 + UART_DLL, 0);
	CHECK_EQ(in8(dm, COM1 + UART_DLL), 0);
	CHECK_EQ(uart_char_time_ns(u), t_115200);
	/* DLAB hides RBR/IER. */
	out8(dm, COM1 + UART_LCR, 0x03);
	out8(dm, COM1 + UART_IER, 0xff);
	CHECK_EQ(in8(dm, COM1 + UART_IER), 0x0f);
	out8(dm, COM1 + UART_LCR, 0x83);
	CHECK_EQ(in8(dm, COM1 + UART_DLM), 0);
	dm_destroy(dm);
}

static void test_thre_and_out2(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d, NULL);
	uint32_t edges;
	int i;

	/* Without OUT2 the interrupt is pending but the ISA line stays low. */
	out8(dm, COM1 + UART_MCR, 0);
	out8(dm, COM1 + UART_IER, UART_IER_ETBEI);
	CHECK(!dm_irq_level(dm, 4));
	out8(dm, COM1 + UART_MCR, UART_MCR_OUT2);
	CHECK(dm_irq_level(dm, 4));
	CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_THRI);
	/* Reading IIR cleared it. */
	CHECK(!dm_irq_level(dm, 4));
	CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_NO_INT);
	/* Every THR write gives a new THRE interrupt edge. */
	edges = dm_irq_edges(dm, 4);
	for (i = 0; i < 5; i++) {
		out8(dm, COM1 + UART_THR, (uint8_t)('a' + i));
		CHECK(in8(dm, COM1 + UART_LSR) & UART_LSR_THRE);
		CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_THRI);
	}
	CHECK_EQ(dm_irq_edges(dm, 4) - edges, 5);
	/* Re-enabling ETBEI with THR empty raises THRE again. */
	out8(dm, COM1 + UART_IER, 0);
	out8(dm, COM1 + UART_IER, UART_IER_ETBEI);
	CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_THRI);
	/* FIFO mode shows bits 7:6 in IIR. */
	out8(dm, COM1 + UART_FCR, UART_FCR_ENABLE);
	CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_NO_INT | UART_IIR_FIFO);
	dm_destroy(dm);
}

static void test_loopback(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d, NULL);
	uint8_t msr;

	out8(dm, COM1 + UART_MCR, UART_MCR_LOOP);
	/* Entering loopback with all outputs low drops CTS/DSR/DCD: deltas. */
	msr = in8(dm, COM1 + UART_MSR);
	CHECK_EQ(msr & 0xf0, 0);
	CHECK_EQ(msr & UART_MSR_DELTAS, UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	CHECK_EQ(in8(dm, COM1 + UART_MSR) & UART_MSR_DELTAS, 0);
	/* DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	out8(dm, COM1 + UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
	CHECK_EQ(in8(dm, COM1 + UART_MSR), UART_MSR_DSR | UART_MSR_DDSR);
	out8(dm, COM1 + UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT1 | UART_MCR_OUT2);
	msr = in8(dm, COM1 + UART_MSR);
	CHECK_EQ(msr & 0xf0, UART_MSR_CTS | UART_MSR_RI | UART_MSR_DCD);
	/* RI falling gives TERI. */
	out8(dm, COM1 + UART_MCR, UART_MCR_LOOP);
	CHECK(in8(dm, COM1 + UART_MSR) & UART_MSR_TERI);
	/* Transmitted bytes come back on the receiver. */
	out8(dm, COM1 + UART_THR, 0x41);
	CHECK(in8(dm, COM1 + UART_LSR) & UART_LSR_DR);
	CHECK_EQ(in8(dm, COM1 + UART_RBR), 0x41);
	CHECK(!(in8(dm, COM1 + UART_LSR) & UART_LSR_DR));
	/* 16450 mode: a second byte before reading is an overrun. */
	out8(dm, COM1 + UART_THR, 1);
	out8(dm, COM1 + UART_THR, 2);
	CHECK_EQ(in8(dm, COM1 + UART_LSR) & (UART_LSR_OE | UART_LSR_DR), UART_LSR_OE | UART_LSR_DR);
	CHECK_EQ(in8(dm, COM1 + UART_LSR) & UART_LSR_OE, 0); /* cleared by the read */
	CHECK_EQ(in8(dm, COM1 + UART_RBR), 2);
	/* In loopback the backend is cut off. */
	CHECK_EQ(uart_can_receive(uart_isa_core(d)), 0);
	out8(dm, COM1 + UART_MCR, 0);
	CHECK_EQ(uart_can_receive(uart_isa_core(d)), 1);
	dm_destroy(dm);
}

static void fill(struct uart16550 *u, unsigned n)
{
	uint8_t buf[32];
	unsigned i;

	for (i = 0; i < n && i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	CHECK_EQ(uart_receive(u, buf, n), n);
}

static void test_fifo_trigger(void)
{
	static const uint8_t fcr_trig[4] = { 0x00, 0x40, 0x80, 0xc0 };
	static const unsigned level[4] = { 1, 4, 8, 14 };
	struct dev *d;
	struct dm *dm = new_dm(&d, NULL);
	struct uart16550 *u = uart_isa_core(d);
	int t;

	out8(dm, COM1 + UART_MCR, UART_MCR_OUT2);
	out8(dm, COM1 + UART_IER, UART_IER_ERBFI);
	for (t = 0; t < 4; t++) {
		out8(dm, COM1 + UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX | fcr_trig[t]);
		CHECK_EQ(uart_can_receive(u), UART_FIFO_SIZE);
		if (level[t] > 1) {
			fill(u, level[t] - 1);
			CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_NO_INT | UART_IIR_FIFO);
			CHECK(!dm_irq_level(dm, 4));
			fill(u, 1);
		} else {
			fill(u, 1);
		}
		CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_RDI | UART_IIR_FIFO);
		CHECK(dm_irq_level(dm, 4));
		/* Draining below the trigger drops the RDI interrupt. */
		in8(dm, COM1 + UART_RBR);
		if (level[t] > 1)
			CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_NO_INT | UART_IIR_FIFO);
	}
	/* FIFO full: the receiver refuses more (backpressure, nothing lost). */
	out8(dm, COM1 + UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
	fill(u, 16);
	CHECK_EQ(uart_can_receive(u), 0);
	CHECK_EQ(uart_receive(u, (const uint8_t *)"x", 1), 0);
	for (t = 0; t < 16; t++)
		CHECK_EQ(in8(dm, COM1 + UART_RBR), t);
	CHECK(!(in8(dm, COM1 + UART_LSR) & UART_LSR_OE));
	/* FCR clear-RX empties the FIFO; disabling FIFOs returns to 1 byte. */
	fill(u, 5);
	out8(dm, COM1 + UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
	CHECK(!(in8(dm, COM1 + UART_LSR) & UART_LSR_DR));
	fill(u, 3);
	out8(dm, COM1 + UART_FCR, 0);
	CHECK(!(in8(dm, COM1 + UART_LSR) & UART_LSR_DR));
	CHECK_EQ(uart_can_receive(u), 1);
	dm_destroy(dm);
}

static void test_char_timeout(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d, NULL);
	struct uart16550 *u = uart_isa_core(d);
	uint64_t t0 = clock_ns(dm->clock), ct;

	out8(dm, COM1 + UART_MCR, UART_MCR_OUT2);
	out8(dm, COM1 + UART_IER, UART_IER_ERBFI);
	out8(dm, COM1 + UART_FCR, UART_FCR_ENABLE | 0xc0); /* trigger 14 */
	ct = uart_char_time_ns(u);
	fill(u, 3);
	CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_NO_INT | UART_IIR_FIFO);
	clock_set(dm->clock, t0 + 4 * ct - 1);
	CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_NO_INT | UART_IIR_FIFO);
	clock_set(dm->clock, t0 + 4 * ct);
	CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_CTI | UART_IIR_FIFO);
	CHECK(dm_irq_level(dm, 4));
	/* A read clears the timeout and restarts it while data remains. */
	CHECK_EQ(in8(dm, COM1 + UART_RBR), 0);
	CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_NO_INT | UART_IIR_FIFO);
	clock_set(dm->clock, t0 + 8 * ct + 1);
	CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_CTI | UART_IIR_FIFO);
	in8(dm, COM1 + UART_RBR);
	in8(dm, COM1 + UART_RBR);
	/* Empty FIFO: no timeout ever. */
	clock_set(dm->clock, t0 + 100 * ct);
	CHECK_EQ(in8(dm, COM1 + UART_IIR), UART_IIR_NO_INT | UART_IIR_FIFO);
	CHECK(!dm_irq_level(dm, 4));
	dm_destroy(dm);
}

static void test_priority(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d, NULL);
	int i;

	out8(dm, COM1 + UART_FCR, UART_FCR_ENABLE); /* trigger 1 */
	out8(dm, COM1 + UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	in8(dm, COM1 + UART_MSR); /* consume the loopback entry deltas */
	/* 17 bytes into a 16-byte FIFO: overrun (line status). */
	for (i = 0; i < 17; i++)
		out8(dm, COM1 + UART_THR, (uint8_t)i);
	/* A modem status change: DTR -> DSR. */
	out8(dm, COM1 + UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_DTR);
	out8(dm, COM1 + UART_IER, 0x0f);
	CHECK(dm_irq_level(dm, 4));
	/* 1: receiver line status, cleared by reading LSR. */
	CHECK_EQ(in8(dm, COM1 + UART_IIR) & 0x0f, UART_IIR_RLSI);
	CHECK(in8(dm, COM1 + UART_LSR) & UART_LSR_OE);
	/* 2: received data, cleared by draining. */
	CHECK_EQ(in8(dm, COM1 + UART_IIR) & 0x0f, UART_IIR_RDI);
	for (i = 0; i < 16; i++)
		CHECK_EQ(in8(dm, COM1 + UART_RBR), i);
	/* 3: THRE, cleared by reading IIR. */
	CHECK_EQ(in8(dm, COM1 + UART_IIR) & 0x0f, UART_IIR_THRI);
	/* 4: modem status, cleared by reading MSR. */
	CHECK_EQ(in8(dm, COM1 + UART_IIR) & 0x0f, UART_IIR_MSI);
	CHECK(in8(dm, COM1 + UART_MSR) & UART_MSR_DDSR);
	CHECK_EQ(in8(dm, COM1 + UART_IIR) & 0x0f, UART_IIR_NO_INT);
	CHECK(!dm_irq_level(dm, 4));
	dm_destroy(dm);
}

static void test_hostile(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d, NULL);
	struct uart16550 *u = uart_isa_core(d);
	unsigned i;
	uint64_t v;

	srand(1234);
	for (i = 0; i < 200000; i++) {
		uint16_t port = COM1 + (rand() & 7);

		if (rand() & 1)
			out8(dm, port, (uint8_t)rand());
		else
			in8(dm, port);
		if (!(i % 1000))
			fill(u,
			     (unsigned)uart_can_receive(u) < 3 ? (unsigned)uart_can_receive(u) : 3);
		if (!(i % 5000))
			clock_set(dm->clock, clock_ns(dm->clock) + 1000000);
		CHECK(u->rx.count <= UART_FIFO_SIZE && u->tx.count <= UART_FIFO_SIZE);
	}
	/* Wide accesses are split by the dispatcher and reach only our ports. */
	v = 0;
	CHECK_EQ(io_dispatch(dm, IO_PIO, COM1 + 6, 4, false, &v), 0);
	dm_destroy(dm);
}

/*
 * The LSR mirror (hw/char/uart_isa.c): what the hypervisor may answer must be
 * what a real read returns, and no read with a side effect (error bits or
 * FIFOE set, which a read clears) may be answered from it.
 */
static unsigned lsr_compared;

static void lsr_check(struct dm *dm)
{
	uint64_t mirrored = 0;
	uint8_t real;

	if (!io_mirror_peek(dm, COM1 + UART_LSR, 1, &mirrored))
		return;
	real = in8(dm, COM1 + UART_LSR);
	lsr_compared++;
	CHECK_EQ(mirrored, real);
	CHECK(!(real & (UART_LSR_ERRORS | UART_LSR_FIFOE)));
}

static void test_lsr_mirror(void)
{
	struct dev *d;
	struct dm *dm = new_dm(&d, "index=0");
	struct uart16550 *u = uart_isa_core(d);
	uint64_t v;
	unsigned i;

	lsr_compared = 0;
	CHECK(io_mirror_peek(dm, COM1 + UART_LSR, 1, &v));
	CHECK_EQ(v, UART_LSR_THRE | UART_LSR_TEMT);
	out8(dm, COM1 + UART_FCR, UART_FCR_ENABLE);
	lsr_check(dm);
	CHECK_EQ(uart_receive(u, (const uint8_t *)"ab", 2), 2);
	lsr_check(dm); /* DR */
	in8(dm, COM1 + UART_RBR);
	in8(dm, COM1 + UART_RBR);
	lsr_check(dm);
	/* Loopback: 17 bytes into a 16-byte FIFO overrun it; OE hides the mirror. */
	out8(dm, COM1 + UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	for (i = 0; i < 17; i++) {
		out8(dm, COM1 + UART_THR, (uint8_t)i);
		lsr_check(dm);
	}
	CHECK(!io_mirror_peek(dm, COM1 + UART_LSR, 1, &v));
	CHECK(in8(dm, COM1 + UART_LSR) & UART_LSR_OE);
	/* The read cleared OE: mirrored again (FIFOE clears once the FIFO has no error). */
	for (i = 0; i < 16; i++)
		in8(dm, COM1 + UART_RBR);
	in8(dm, COM1 + UART_LSR);
	CHECK(io_mirror_peek(dm, COM1 + UART_LSR, 1, &v));
	lsr_check(dm);
	out8(dm, COM1 + UART_MCR, UART_MCR_OUT2);
	lsr_check(dm);
	printf("# LSR mirror compared %u times\n", lsr_compared);
	CHECK(lsr_compared >= 10);
	dm_destroy(dm);
}

int main(void)
{
	test_reset_values();
	test_com_ports();
	test_divisor();
	test_thre_and_out2();
	test_loopback();
	test_fifo_trigger();
	test_char_timeout();
	test_priority();
	test_hostile();
	test_lsr_mirror();
	return tap_done();
}
