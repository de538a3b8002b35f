// SPDX-License-Identifier: MIT
/*
 * uart16550.c - National/TI PC16550D UART core (16-byte FIFOs).
 *
 * Emulated (PC16550D datasheet, sections 8.1-8.10): RBR/THR, IER, IIR with
 * the four interrupt priorities and the character timeout indication, FCR
 * (FIFO enable, resets, receive trigger levels 1/4/8/14), LCR with DLAB,
 * MCR (including local loopback), LSR, MSR with delta bits, SCR, and the
 * divisor latch.
 *
 * Not emulated: parity/framing errors and break (a backend carries bytes
 * only), the DMA mode pins (FCR3 is stored and ignored), the 16450's
 * pre-FIFO timing, and baud-rate pacing of transmission (see below).
 *
 * Transmission is immediate.  Pacing bytes at the programmed baud rate would
 * slow a serial console to 11 KiB/s for no gain: every THR write already costs
 * an exit, so a guest cannot outrun the device model, and a slow reader is
 * handled by backpressure (bytes stay in the TX FIFO with THRE clear while the
 * backend's bounded buffer is full).  Guests still see the hardware's
 * interrupt behaviour: THRE drops on the write and rises again once the byte
 * "left", producing one THRE interrupt per write, as after the character
 * time on real hardware.  The receiver's character timeout does use the
 * virtual clock (4 character times, datasheet 8.6.2), because drivers rely on
 * it to collect bytes below the trigger level.
 */
#include "uart16550.h"

#include <string.h>

#include "chardev.h"
#include "log.h"

#define UART_MOD "uart"
/* Modem inputs of a port whose cable is always "plugged in" (DCD, DSR, CTS). */
#define UART_MSR_EXTERNAL (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)

/* ---- FIFOs ------------------------------------------------------------ */

static void fifo_reset(struct uart_fifo *f)
{
	f->head = 0;
	f->count = 0;
}

static void fifo_push(struct uart_fifo *f, uint8_t v)
{
	if (f->count >= UART_FIFO_SIZE)
		return;
	f->data[(f->head + f->count) % UART_FIFO_SIZE] = v;
	f->count++;
}

static uint8_t fifo_pop(struct uart_fifo *f)
{
	uint8_t v;

	if (!f->count)
		return 0;
	v = f->data[f->head];
	f->head = (f->head + 1) % UART_FIFO_SIZE;
	f->count--;
	return v;
}

static bool fifo_mode(const struct uart16550 *u)
{
	return u->fcr & UART_FCR_ENABLE;
}

/* Depth of the holding register/FIFO: 16 in FIFO mode, 1 in 16450 mode. */
static unsigned fifo_depth(const struct uart16550 *u)
{
	return fifo_mode(u) ? UART_FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct uart16550 *u)
{
	static const uint8_t levels[4] = { 1, 4, 8, 14 }; /* FCR bits 7:6 */

	return levels[(u->fcr >> 6) & 3];
}

/* ---- timing ----------------------------------------------------------- */

uint64_t uart_char_time_ns(const struct uart16550 *u)
{
	unsigned data = 5 + (u->lcr & 3);
	unsigned bits = 1 + data + ((u->lcr & 0x08) ? 1 : 0);
	uint64_t div = u->baud_div ? u->baud_div : 12;

	/* Two stop bits (1.5 for 5-bit words, rounded up). */
	bits += (u->lcr & 0x04) ? 2 : 1;
	return (uint64_t)bits * NS_PER_SEC * div / UART_BASE_BAUD;
}

static void uart_update_divisor(struct uart16550 *u)
{
	/* A zero divisor would divide by zero in the baud math: keep the old rate. */
	if (u->divisor)
		u->baud_div = u->divisor;
	else
		dm_guest_err(UART_MOD, "divisor 0 ignored, keeping %u", u->baud_div);
}

/* ---- interrupts ------------------------------------------------------- */

/* Highest-priority pending interrupt (PC16550D table 4), without side effects. */
static uint8_t uart_iir(const struct uart16550 *u)
{
	if ((u->ier & UART_IER_ELSI) && (u->lsr & UART_LSR_ERRORS))
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_ERBFI) && u->timeout_ipending)
		return UART_IIR_CTI;
	if ((u->ier & UART_IER_ERBFI) && (u->lsr & UART_LSR_DR) &&
	    (!fifo_mode(u) || u->rx.count >= rx_trigger(u)))
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_ETBEI) && u->thr_ipending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_EDSSI) && (u->msr & UART_MSR_DELTAS))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void uart_tell_lsr(struct uart16550 *u)
{
	if (!u->lsr_changed || (u->lsr_told_valid && u->lsr_told == u->lsr))
		return;
	u->lsr_told = u->lsr;
	u->lsr_told_valid = true;
	u->lsr_changed(u->irq_opaque, u->lsr);
}

void uart_set_lsr_hook(struct uart16550 *u, void (*fn)(void *opaque, uint8_t lsr))
{
	u->lsr_changed = fn;
	u->lsr_told_valid = false;
	uart_tell_lsr(u);
}

/* Every LSR change ends here or in uart_read()/uart_write(). */
static void uart_update_irq(struct uart16550 *u)
{
	bool level = uart_iir(u) != UART_IIR_NO_INT;

	uart_tell_lsr(u);
	if (u->out2_gates_irq && !(u->mcr & UART_MCR_OUT2))
		level = false;
	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->set_irq)
		u->set_irq(u->irq_opaque, level);
}

/* ---- modem status ----------------------------------------------------- */

static uint8_t uart_modem_inputs(const struct uart16550 *u)
{
	uint8_t m = 0;

	if (!(u->mcr & UART_MCR_LOOP))
		return UART_MSR_EXTERNAL;
	/* Loopback wiring (datasheet 8.6.4): DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	if (u->mcr & UART_MCR_DTR)
		m |= UART_MSR_DSR;
	if (u->mcr & UART_MCR_RTS)
		m |= UART_MSR_CTS;
	if (u->mcr & UART_MCR_OUT1)
		m |= UART_MSR_RI;
	if (u->mcr & UART_MCR_OUT2)
		m |= UART_MSR_DCD;
	return m;
}

static void uart_update_msr(struct uart16550 *u)
{
	uint8_t old = u->msr & 0xf0, now = uart_modem_inputs(u);
	uint8_t delta = 0;

	if ((old ^ now) & UART_MSR_CTS)
		delta |= UART_MSR_DCTS;
	if ((old ^ now) & UART_MSR_DSR)
		delta |= UART_MSR_DDSR;
	if ((old & UART_MSR_RI) && !(now & UART_MSR_RI))
		delta |= UART_MSR_TERI; /* trailing edge only */
	if ((old ^ now) & UART_MSR_DCD)
		delta |= UART_MSR_DDCD;
	u->msr = now | (u->msr & UART_MSR_DELTAS) | delta;
}

/* ---- receiver --------------------------------------------------------- */

static void uart_rx_timer_cb(void *opaque)
{
	struct uart16550 *u = opaque;

	if (fifo_mode(u) && u->rx.count) {
		u->timeout_ipending = true;
		uart_update_irq(u);
	}
}

/* Any receive or read activity restarts the 4-character timeout. */
static void uart_rx_restart_timeout(struct uart16550 *u)
{
	u->timeout_ipending = false;
	if (!u->clock)
		return;
	if (fifo_mode(u) && u->rx.count)
		timer_mod(&u->rx_timer, clock_ns(u->clock) + 4 * uart_char_time_ns(u));
	else
		timer_del(&u->rx_timer);
}

static void uart_rx_byte(struct uart16550 *u, uint8_t v)
{
	if (u->rx.count >= fifo_depth(u)) {
		/* Overrun: FIFO mode keeps the FIFO, 16450 mode overwrites RBR. */
		u->lsr |= UART_LSR_OE;
		u->overruns++;
		if (!fifo_mode(u)) {
			fifo_reset(&u->rx);
			fifo_push(&u->rx, v);
		}
		return;
	}
	fifo_push(&u->rx, v);
	u->lsr |= UART_LSR_DR;
}

size_t uart_can_receive(const struct uart16550 *u)
{
	/* In loopback the serial input pin is disconnected (datasheet 8.6.4). */
	if (u->mcr & UART_MCR_LOOP)
		return 0;
	return fifo_depth(u) - u->rx.count;
}

size_t uart_receive(struct uart16550 *u, const uint8_t *buf, size_t len)
{
	size_t room = uart_can_receive(u), i;

	if (len > room)
		len = room;
	for (i = 0; i < len; i++)
		uart_rx_byte(u, buf[i]);
	if (len) {
		uart_rx_restart_timeout(u);
		uart_update_irq(u);
	}
	return len;
}

static uint8_t uart_read_rbr(struct uart16550 *u)
{
	uint8_t v = u->last_rx;

	if (u->rx.count) {
		v = fifo_pop(&u->rx);
		u->last_rx = v;
	}
	if (!u->rx.count)
		u->lsr &= ~UART_LSR_DR;
	uart_rx_restart_timeout(u);
	uart_update_irq(u);
	if (uart_can_receive(u))
		chardev_accept_input(u->chr);
	return v;
}

/* ---- transmitter ------------------------------------------------------ */

/* Move TX FIFO bytes to the backend as far as it takes them. */
static void uart_tx_drain(struct uart16550 *u)
{
	unsigned guard;

	for (guard = 0; u->tx.count && guard < UART_FIFO_SIZE; guard++) {
		uint8_t v = u->tx.data[u->tx.head];

		if (u->chr && chardev_write(u->chr, &v, 1) == 0)
			break; /* backend full: wait for write_ready */
		fifo_pop(&u->tx);
	}
	if (!u->tx.count && !(u->lsr & UART_LSR_THRE)) {
		u->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
		u->thr_ipending = true;
		uart_update_irq(u);
	}
}

static void uart_write_thr(struct uart16550 *u, uint8_t v)
{
	if (u->mcr & UART_MCR_LOOP) {
		/* Transmitter output wired to the receiver input. */
		u->lsr &= ~(UART_LSR_THRE | UART_LSR_TEMT);
		u->thr_ipending = false;
		uart_update_irq(u);
		uart_rx_byte(u, v);
		uart_rx_restart_timeout(u);
		u->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
		u->thr_ipending = true;
		uart_update_irq(u);
		return;
	}
	if (u->tx.count >= fifo_depth(u)) {
		/* The guest ignored THRE: the byte is lost, as on hardware. */
		u->tx_dropped++;
		dm_guest_err(UART_MOD, "THR written with a full transmitter");
		return;
	}
	fifo_push(&u->tx, v);
	u->lsr &= ~(UART_LSR_THRE | UART_LSR_TEMT);
	u->thr_ipending = false;
	uart_update_irq(u);
	uart_tx_drain(u);
}

/* ---- registers -------------------------------------------------------- */

static void uart_write_fcr(struct uart16550 *u, uint8_t v)
{
	bool was_fifo = fifo_mode(u);
	bool tx_had_data = u->tx.count != 0;

	/* Changing FCR0 clears both FIFOs (datasheet 8.4). */
	if ((v & UART_FCR_ENABLE) != was_fifo)
		v |= UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX;
	if (v & UART_FCR_CLEAR_RX) {
		fifo_reset(&u->rx);
		u->lsr &= ~(UART_LSR_DR | UART_LSR_FIFOE);
	}
	if (v & UART_FCR_CLEAR_TX)
		fifo_reset(&u->tx);
	u->fcr = (v & UART_FCR_ENABLE) ? (v & (UART_FCR_ENABLE | UART_FCR_DMA | UART_FCR_TRIGGER))
				       : 0;
	uart_rx_restart_timeout(u);
	if (tx_had_data && !u->tx.count) {
		u->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
		u->thr_ipending = true;
	}
	uart_update_irq(u);
	if (uart_can_receive(u))
		chardev_accept_input(u->chr);
}

static void uart_write_ier(struct uart16550 *u, uint8_t v)
{
	uint8_t old = u->ier;

	u->ier = v & 0x0f;
	/*
	 * Enabling ETBEI while THR is empty raises a THRE interrupt at once;
	 * Linux's 8250 driver tests for exactly this (UART_BUG_THRE probing).
	 */
	if (!(old & UART_IER_ETBEI) && (u->ier & UART_IER_ETBEI) && (u->lsr & UART_LSR_THRE))
		u->thr_ipending = true;
	uart_update_irq(u);
}

static void uart_write_mcr(struct uart16550 *u, uint8_t v)
{
	bool was_loop = u->mcr & UART_MCR_LOOP;

	u->mcr = v & 0x1f;
	uart_update_msr(u);
	uart_update_irq(u);
	if (was_loop && !(u->mcr & UART_MCR_LOOP)) {
		/* Back on the wire: send what queued up, take input again. */
		uart_tx_drain(u);
		if (uart_can_receive(u))
			chardev_accept_input(u->chr);
	}
}

static uint8_t uart_read_iir(struct uart16550 *u)
{
	uint8_t iir = uart_iir(u);

	/* Reading IIR clears a THRE interrupt when it is the one reported (8.6.3). */
	if (iir == UART_IIR_THRI) {
		u->thr_ipending = false;
		uart_update_irq(u);
	}
	return iir | (fifo_mode(u) ? UART_IIR_FIFO : 0);
}

static uint8_t uart_read_lsr(struct uart16550 *u)
{
	uint8_t v = u->lsr;

	/* Error bits clear on read; so does the line-status interrupt. */
	u->lsr &= ~(UART_LSR_ERRORS | UART_LSR_FIFOE);
	uart_update_irq(u);
	return v;
}

static uint8_t uart_read_msr(struct uart16550 *u)
{
	uint8_t v = u->msr;

	u->msr &= ~UART_MSR_DELTAS;
	uart_update_irq(u);
	return v;
}

static uint8_t uart_read_reg(struct uart16550 *u, unsigned reg)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_RBR:
		return dlab ? (uint8_t)u->divisor : uart_read_rbr(u);
	case UART_IER:
		return dlab ? (uint8_t)(u->divisor >> 8) : u->ier;
	case UART_IIR:
		return uart_read_iir(u);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return uart_read_lsr(u);
	case UART_MSR:
		return uart_read_msr(u);
	case UART_SCR:
		return u->scr;
	default:
		return 0xff;
	}
}

uint8_t uart_read(struct uart16550 *u, unsigned reg)
{
	uint8_t v = uart_read_reg(u, reg);

	uart_tell_lsr(u);
	return v;
}

static void uart_write_reg(struct uart16550 *u, unsigned reg, uint8_t val);

void uart_write(struct uart16550 *u, unsigned reg, uint8_t val)
{
	uart_write_reg(u, reg, val);
	uart_tell_lsr(u);
}

static void uart_write_reg(struct uart16550 *u, unsigned reg, uint8_t val)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_THR:
		if (dlab) {
			u->divisor = (u->divisor & 0xff00) | val;
			uart_update_divisor(u);
		} else {
			uart_write_thr(u, val);
		}
		break;
	case UART_IER:
		if (dlab) {
			u->divisor = (uint16_t)((u->divisor & 0x00ff) | (val << 8));
			uart_update_divisor(u);
		} else {
			uart_write_ier(u, val);
		}
		break;
	case UART_FCR:
		uart_write_fcr(u, val);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		uart_write_mcr(u, val);
		break;
	case UART_SCR:
		u->scr = val;
		break;
	default:
		/* LSR and MSR are read-only (writes are factory test only). */
		dm_guest_err(UART_MOD, "write 0x%02x to read-only register %u", val, reg);
		break;
	}
}

/* ---- backend callbacks ------------------------------------------------ */

static size_t uart_chr_can_read(void *opaque)
{
	return uart_can_receive(opaque);
}

static void uart_chr_read(void *opaque, const uint8_t *buf, size_t len)
{
	uart_receive(opaque, buf, len);
}

static void uart_chr_write_ready(void *opaque)
{
	struct uart16550 *u = opaque;

	if (!(u->mcr & UART_MCR_LOOP))
		uart_tx_drain(u);
}

static const struct chardev_fe_ops uart_chr_ops = {
	.can_read = uart_chr_can_read,
	.read = uart_chr_read,
	.write_ready = uart_chr_write_ready,
};

/* ---- lifecycle -------------------------------------------------------- */

void uart_reset(struct uart16550 *u)
{
	u->ier = 0;
	u->lcr = 0;
	/*
	 * OUT2 starts set, as in QEMU: guests written against it use interrupts
	 * without ever touching MCR (the datasheet's reset value is 0).
	 */
	u->mcr = UART_MCR_OUT2;
	u->scr = 0;
	u->fcr = 0;
	u->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	u->msr = UART_MSR_EXTERNAL;
	u->divisor = 12; /* 9600 baud, what BIOSes leave behind */
	u->baud_div = 12;
	u->last_rx = 0;
	fifo_reset(&u->rx);
	fifo_reset(&u->tx);
	u->thr_ipending = false;
	u->timeout_ipending = false;
	if (u->clock)
		timer_del(&u->rx_timer);
	uart_update_irq(u);
	chardev_accept_input(u->chr);
}

void uart_init(struct uart16550 *u, struct dm_clock *clock, struct chardev *chr,
	       void (*set_irq)(void *opaque, bool level), void *irq_opaque)
{
	memset(u, 0, sizeof(*u));
	u->clock = clock;
	u->chr = chr;
	u->set_irq = set_irq;
	u->irq_opaque = irq_opaque;
	if (clock)
		timer_init(&u->rx_timer, clock, uart_rx_timer_cb, u);
	uart_reset(u);
	chardev_attach(chr, &uart_chr_ops, u);
}

void uart_fini(struct uart16550 *u)
{
	if (u->clock)
		timer_del(&u->rx_timer);
	chardev_attach(u->chr, NULL, NULL);
	u->chr = NULL;
}
