/* SPDX-License-Identifier: MIT */
/*
 * uart_isa.h - the ISA 16550A serial port device ("uart16550").
 *
 * Options: index=N (0-3: COM1 0x3f8/IRQ4, COM2 0x2f8/IRQ3, COM3 0x3e8/IRQ4,
 * COM4 0x2e8/IRQ3) or iobase=,irq= (either overrides the index default), and
 * chardev=SPEC (chardev.h; default null).  Commas inside SPEC are written
 * ",," or left as separate bare flags: "chardev=tcp::4555,server,nowait".
 */
#ifndef HW_CHAR_UART_ISA_H
#define HW_CHAR_UART_ISA_H

struct dev;
struct chardev;
struct uart16550;

/* The backend of a "uart16550" instance (NULL for chardev=none or another type). */
struct chardev *uart_isa_chardev(struct dev *d);
/* The UART core of a "uart16550" instance (tests, savestate), or NULL. */
struct uart16550 *uart_isa_core(struct dev *d);

#endif /* HW_CHAR_UART_ISA_H */
