#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Record the 16550A qtest transcripts against Debian's QEMU.

Each transcript is a list of qtest port I/O requests aimed at COM1
(0x3f8-0x3ff), sent to
    qemu-system-x86_64 -machine pc -accel tcg -S -nodefaults -display none
        -m 64 -chardev null,id=s0 -device isa-serial,chardev=s0,index=0
        -qtest stdio -qtest-log none
and written as uart_*.qtest beside this script: '> request' lines each
followed by QEMU's '< reply'.  tests/unit/test_uart_kbd_qtest.c replays them
in-process against hvmdm's uart16550 and compares every reply.

Requests avoid MSR in loopback: QEMU produces no modem-status delta bits
there, while the PC16550D datasheet (8.6.4) keeps the modem-status
interrupt operational with MCR as its source, as hvmdm does (test_uart.c
checks it).  They also avoid what depends on time (the character timeout: QEMU's clock is
frozen under -S, and hvmdm's test clock does not move either, so neither
reports it here) and the interrupt line (QEMU needs irq_intercept_in).

Usage: uart-record.py [--check]   (--check: compare instead of writing)
"""
import sys

import qtest_record as qr

QEMU = ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-S", "-nodefaults",
        "-display", "none", "-m", "64", "-chardev", "null,id=s0",
        "-device", "isa-serial,chardev=s0,index=0", "-qtest", "stdio", "-qtest-log", "none"]

B = 0x3f8
RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR = range(8)
FCR = IIR
THR = RBR


def rd(reg):
    return "inb 0x%x" % (B + reg)


def wr(reg, val):
    return "outb 0x%x 0x%x" % (B + reg, val)


def regs():
    s = ["# power-on values of all eight registers"]
    s += [rd(r) for r in range(8)]
    s += ["# scratch and line control"]
    s += [wr(SCR, 0x5a), rd(SCR), wr(LCR, 0x1b), rd(LCR)]
    s += ["# divisor latch through DLAB, including a zero divisor"]
    s += [wr(LCR, 0x83), wr(RBR, 0x01), wr(IER, 0x00), rd(RBR), rd(IER)]
    s += [wr(RBR, 0x00), rd(RBR), wr(IER, 0x12), rd(IER), wr(LCR, 0x03), rd(IER)]
    s += ["# IER keeps four bits"]
    s += [wr(IER, 0xff), rd(IER), wr(IER, 0x00), rd(IER)]
    s += ["# THRE interrupt on enabling ETBEI, cleared by reading IIR"]
    s += [wr(MCR, 0x08), wr(IER, 0x02), rd(IIR), rd(IIR), wr(THR, 0x41), rd(IIR), rd(LSR)]
    s += [wr(IER, 0x00), rd(IIR)]
    s += ["# FIFO enable shows in IIR bits 7:6; disable clears them"]
    s += [wr(FCR, 0x01), rd(IIR), wr(FCR, 0xc7), rd(IIR), wr(FCR, 0x00), rd(IIR)]
    return s


def loopback():
    s = ["# transmitted bytes return on the receiver (16450 mode)"]
    s += [wr(MCR, 0x10), wr(THR, 0x55), rd(LSR), rd(RBR), rd(LSR)]
    s += ["# two bytes without reading: overrun, OE clears on read"]
    s += [wr(THR, 0x01), wr(THR, 0x02), rd(LSR), rd(LSR), rd(RBR), rd(LSR)]
    s += [wr(MCR, 0x13), rd(MCR), wr(THR, 0x66), rd(RBR), wr(MCR, 0x00), rd(MCR)]
    return s


def fifo():
    s = ["# FIFO mode in loopback: fill 16, then one more for an overrun"]
    s += [wr(FCR, 0x07), wr(MCR, 0x18)]
    s += [wr(THR, i) for i in range(17)]
    s += [rd(LSR), wr(IER, 0x07), rd(IIR), rd(LSR), rd(IIR)]
    s += [rd(RBR) for _ in range(16)]
    s += [rd(LSR), rd(IIR), rd(IIR)]
    s += ["# receive trigger levels 4, 8 and 14"]
    for fcr, n in ((0x41, 4), (0x81, 8), (0xc1, 14)):
        s += [wr(FCR, fcr | 0x06), wr(IER, 0x01)]
        s += [wr(THR, 0x30 + i) for i in range(n - 1)]
        s += [rd(IIR), wr(THR, 0x2f), rd(IIR), rd(RBR), rd(IIR), rd(LSR)]
    s += ["# clearing the receive FIFO"]
    s += [wr(FCR, 0x03), rd(LSR), rd(IIR), wr(IER, 0x00), wr(FCR, 0x00), rd(IIR)]
    return s


# Headers for tests/harness/replay.py: hvmdm gets only the device under test.
HEADERS = ['#! dm-args: -M none -device uart16550,index=0', '#! qemu-args: -chardev null,id=s0 -device isa-serial,chardev=s0,index=0']

SCRIPTS = {
    "uart_regs.qtest": regs,
    "uart_loopback.qtest": loopback,
    "uart_fifo.qtest": fifo,
}


def main():
    headers = ["# recorded with: " + " ".join(QEMU)] + HEADERS
    return qr.main({name: lambda fn=fn: qr.record(QEMU, fn(), headers)
                    for name, fn in SCRIPTS.items()})



if __name__ == "__main__":
    sys.exit(main())
