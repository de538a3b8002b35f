#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Record the i8042 + PS/2 qtest transcripts against Debian's QEMU.

Each transcript is a list of qtest port I/O requests to 0x60/0x64, sent to
    qemu-system-x86_64 -machine pc -accel tcg -S -nodefaults -display none
        -m 64 -qtest stdio -qtest-log none
and written as kbd_*.qtest beside this script: '> request' lines each
followed by QEMU's '< reply'.  tests/unit/test_uart_kbd_qtest.c replays them
in-process against hvmdm's i8042 and compares every reply.

Requests avoid what QEMU does differently on purpose: unknown keyboard and
mouse commands (QEMU acknowledges them, real devices and hvmdm answer 0xfe
resend), a command argument sent before the command's ACK was read (QEMU
drops the unread ACK; drivers always wait for it), an out-of-range mouse resolution (same), controller RAM bytes other
than the command byte, 0xe0 (read test inputs: QEMU ignores it), clearing
the status SYS flag through command byte bit 2 (QEMU keeps it set once the
self test ran; the 8042 follows the command byte), and anything that resets
the machine.  After the self test every command byte written keeps bit 2.

Usage: kbd-record.py [--check]   (--check: compare instead of writing)
"""
import sys

import qtest_record as qr

QEMU = ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-S", "-nodefaults",
        "-display", "none", "-m", "64", "-qtest", "stdio", "-qtest-log", "none"]


def cmd(v):
    return "outb 0x64 0x%x" % v


def data(v):
    return "outb 0x60 0x%x" % v


def get(n=1):
    """Read n bytes the way a driver does: status, then data."""
    return ["inb 0x64", "inb 0x60"] * n


def aux(v):
    return [cmd(0xd4), data(v)]


def controller():
    s = ["# status and command byte after reset"]
    s += ["inb 0x64", cmd(0x20)] + get() + ["inb 0x64"]
    s += ["# self test and interface tests"]
    s += [cmd(0xaa)] + get() + [cmd(0xab)] + get() + [cmd(0xa9)] + get()
    s += ["# the last byte reads again when nothing is new"]
    s += ["inb 0x60", "inb 0x64"]
    s += ["# write and read the command byte"]
    s += [cmd(0x60), data(0x65), "inb 0x64", cmd(0x20)] + get()
    s += [cmd(0x60), data(0x07), cmd(0x20)] + get()
    s += ["# port disable and enable bits"]
    s += [cmd(0xad), cmd(0x20)] + get() + [cmd(0xa7), cmd(0x20)] + get()
    s += [cmd(0xae), cmd(0x20)] + get() + [cmd(0xa8), cmd(0x20)] + get()
    s += ["# input port, output port"]
    s += [cmd(0xc0)] + get() + [cmd(0xd0)] + get()
    s += ["# A20 through the output port (reset line kept high)"]
    s += [cmd(0xd1), data(0xcd), cmd(0xd0)] + get() + [cmd(0xd1), data(0xcf), cmd(0xd0)] + get()
    s += ["# bytes placed in the output buffer as keyboard / aux data"]
    s += [cmd(0xd2), data(0x12)] + get() + [cmd(0xd3), data(0x34)] + get()
    s += ["# pulse with the reset bit masked does nothing"]
    s += [cmd(0xff), "inb 0x64"]
    return s


def kcmd(c, arg, n):
    """A keyboard command with an argument, reading the ACK in between as drivers do."""
    return [data(c)] + get(1) + [data(arg)] + get(n)


def keyboard():
    s = ["# self test first: it sets the status SYS flag"]
    s += [cmd(0xaa)] + get()
    s += ["# translation off: raw set 2 replies"]
    s += [cmd(0x60), data(0x07)]
    s += [data(0xff)] + get(3)
    s += [data(0xf2)] + get(3)
    s += [data(0xee)] + get(1)
    s += kcmd(0xed, 0x02, 1)
    s += kcmd(0xf0, 0x00, 2)
    s += kcmd(0xf3, 0x20, 1)
    s += [data(0xf4)] + get(1)
    s += ["# translation on: identify and set query come back translated"]
    s += [cmd(0x60), data(0x47)]
    s += [data(0xf2)] + get(3)
    s += kcmd(0xf0, 0x00, 2)
    s += ["# scancode set 3 and back"]
    s += kcmd(0xf0, 0x03, 1) + kcmd(0xf0, 0x00, 2)
    s += [cmd(0x60), data(0x07)]
    s += kcmd(0xf0, 0x00, 2)
    s += kcmd(0xf0, 0x02, 1) + kcmd(0xf0, 0x00, 2)
    s += ["# disable and defaults"]
    s += [data(0xf5)] + get(1) + [data(0xf6)] + get(1) + kcmd(0xf0, 0x00, 2)
    return s


def mouse():
    s = ["# self test first: it sets the status SYS flag"]
    s += [cmd(0xaa)] + get()
    s += ["# reset, identify, enable"]
    s += aux(0xff) + get(4)
    s += aux(0xf2) + get(3)
    s += ["# IntelliMouse knock: 200, 100, 80 -> ID 3"]
    for r in (200, 100, 80):
        s += aux(0xf3) + get(1) + aux(r) + get(1)
    s += aux(0xf2) + get(2)
    s += ["# Explorer knock: 200, 200, 80 -> ID 4"]
    for r in (200, 200, 80):
        s += aux(0xf3) + get(1) + aux(r) + get(1)
    s += aux(0xf2) + get(2)
    s += ["# resolution, scaling, status request"]
    s += aux(0xe8) + get(1) + aux(0x03) + get(1)
    s += aux(0xe7) + get(1) + aux(0xe9) + get(4)
    s += aux(0xe6) + get(1) + aux(0xf4) + get(1) + aux(0xe9) + get(4)
    s += ["# remote mode and a read-data packet"]
    s += aux(0xf0) + get(1) + aux(0xe9) + get(4) + aux(0xeb) + get(5)
    s += aux(0xea) + get(1)
    s += ["# wrap mode echoes"]
    s += aux(0xee) + get(1) + aux(0x42) + get(1) + aux(0xec) + get(1)
    s += ["# disable, defaults, reset back to ID 0"]
    s += aux(0xf5) + get(1) + aux(0xf6) + get(1) + aux(0xe9) + get(4)
    s += aux(0xff) + get(3) + aux(0xf2) + get(2)
    s += ["# aux port disabled holds the reply back"]
    s += [cmd(0xa7)] + aux(0xf2) + ["inb 0x64", cmd(0xa8)] + get(2)
    return s


# Headers for tests/harness/replay.py: hvmdm gets only the device under test.
HEADERS = ['#! dm-args: -M none -device i8042']

SCRIPTS = {
    "kbd_controller.qtest": controller,
    "kbd_keyboard.qtest": keyboard,
    "kbd_mouse.qtest": mouse,
}


def main():
    headers = ["# recorded with: " + " ".join(QEMU)] + HEADERS
    return qr.main({name: lambda fn=fn: qr.record(QEMU, fn(), headers)
                    for name, fn in SCRIPTS.items()})



if __name__ == "__main__":
    sys.exit(main())
