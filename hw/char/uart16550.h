/* SPDX-License-Identifier: MIT */
/*
 * uart16550.h - the 16550A UART core, with no bus knowledge.
 *
 * The bus glue (uart_isa.c) maps the eight registers, routes the interrupt
 * output and owns the character backend; the core sees register offsets 0-7,
 * a set_irq callback, the virtual clock (for the receiver's character
 * timeout) and an optional struct chardev.
 *
 * Contract:
 *   - uart_read()/uart_write() take reg in 0..7; other values read 0xff and
 *     drop writes.
 *   - set_irq(opaque, level) is called on every change of the interrupt
 *     output, already gated by MCR.OUT2 when out2_gates_irq is set (the PC
 *     wiring: OUT2 enables the IRQ buffer on the ISA card).
 *   - Input from the backend is taken only while the receiver has room
 *     (uart_can_receive()); nothing from the backend is ever dropped.
 *   - Transmission is immediate: a THR byte goes to the backend at once and
 *     THRE/TEMT come back in the same access, each write producing a fresh
 *     THRE interrupt edge.  When the backend's output buffer is full the byte
 *     stays in the TX FIFO and THRE stays clear until the backend drains.
 * Loop thread only.
 */
#ifndef HW_CHAR_UART16550_H
#define HW_CHAR_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"

struct chardev;

#define UART_FIFO_SIZE 16
#define UART_BASE_BAUD 115200 /* 1.8432 MHz crystal / 16 */

/* Register offsets (TI PC16550D datasheet, table "Register summary"). */
#define UART_RBR 0 /* read, DLAB=0 */
#define UART_THR 0 /* write, DLAB=0 */
#define UART_DLL 0 /* DLAB=1 */
#define UART_IER 1 /* DLAB=0 */
#define UART_DLM 1 /* DLAB=1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_ERBFI 0x01 /* received data available */
#define UART_IER_ETBEI 0x02 /* THR empty */
#define UART_IER_ELSI 0x04  /* receiver line status */
#define UART_IER_EDSSI 0x08 /* modem status */

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI 0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_CTI 0x0c
#define UART_IIR_FIFO 0xc0 /* both bits set when FCR0 = 1 */

#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_FCR_DMA 0x08
#define UART_FCR_TRIGGER 0xc0

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_PE 0x04
#define UART_LSR_FE 0x08
#define UART_LSR_BI 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LSR_FIFOE 0x80
#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_DELTAS 0x0f
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80

struct uart_fifo {
	uint8_t data[UART_FIFO_SIZE];
	uint8_t head, count;
};

struct uart16550 {
	/* Registers. */
	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint16_t divisor;  /* as programmed (may be 0) */
	uint16_t baud_div; /* last non-zero divisor: used for timing */
	uint8_t last_rx;   /* returned by an RBR read with nothing received */
	struct uart_fifo rx, tx;
	bool thr_ipending;     /* THRE interrupt latched (cleared by IIR read / THR write) */
	bool timeout_ipending; /* character timeout latched */
	bool irq_level;	       /* current (gated) output */

	/* Wiring. */
	void (*set_irq)(void *opaque, bool level);
	void *irq_opaque;
	/*
	 * Optional: told LSR's value at every change, before any interrupt or
	 * answer that reveals it (the ISA glue mirrors it for the hypervisor).
	 */
	void (*lsr_changed)(void *opaque, uint8_t lsr);
	uint8_t lsr_told;
	bool lsr_told_valid;
	bool out2_gates_irq;
	struct chardev *chr;
	struct dm_clock *clock;
	struct dm_timer rx_timer;

	/* Statistics (guest mistakes). */
	uint64_t overruns;
	uint64_t tx_dropped;
};

/* Wire up and reset.  clock and chr may be NULL (no timeouts / no backend). */
void uart_init(struct uart16550 *u, struct dm_clock *clock, struct chardev *chr,
	       void (*set_irq)(void *opaque, bool level), void *irq_opaque);
/* Stop timers and detach from the backend (the caller closes it). */
void uart_fini(struct uart16550 *u);
/* Power-on / reset state (PC16550D "Reset" table). */
void uart_reset(struct uart16550 *u);

/* Install the LSR hook (struct uart16550) and tell it the value now. */
void uart_set_lsr_hook(struct uart16550 *u, void (*fn)(void *opaque, uint8_t lsr));

uint8_t uart_read(struct uart16550 *u, unsigned reg);
void uart_write(struct uart16550 *u, unsigned reg, uint8_t val);

/* Receiver side, as the backend sees it (also used by tests without a backend). */
size_t uart_can_receive(const struct uart16550 *u);
/* Deliver up to uart_can_receive() bytes; extra bytes are refused (returns taken). */
size_t uart_receive(struct uart16550 *u, const uint8_t *buf, size_t len);

/* Nanoseconds one character takes at the programmed baud rate and frame. */
uint64_t uart_char_time_ns(const struct uart16550 *u);

#endif /* HW_CHAR_UART16550_H */
