#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Record the RTC/CMOS qtest transcripts against Debian's QEMU.

Sends qtest requests aimed at the MC146818 RTC and its CMOS RAM (ports
0x70/0x71) to
    qemu-system-x86_64 -machine pc -accel tcg -S -nodefaults -display none
                       -m 128 -qtest stdio -qtest-log none
and writes rtc_*.qtest beside itself: '> request' lines each followed by
the '< reply' QEMU gave.  replay.py replays them against hvmdm (-M none
-device rtc, 128 MiB) and, in the differential run, against QEMU again.

Requests avoid what depends on time or differs on purpose:
  - the clock registers while the clock runs (QEMU's RTC follows the host
    clock even under -S), register C (its flags follow host time) and
    register A while the clock runs (UIP);
  - CMOS 0x2E/0x2F: hvmdm stores the PC/AT checksum of 0x10-0x2D, QEMU
    leaves both bytes 0;
  - 0x12, 0x19-0x1A, 0x1B-0x2D and 0x39: IDE disk geometry and translation
    bytes QEMU's IDE code writes (-nodefaults: none).

Usage: rtc-record.py [--check]   (--check: compare instead of writing)
"""
import sys

import qtest_record as qr

QEMU = ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-S", "-nodefaults",
        "-display", "none", "-m", "128", "-qtest", "stdio", "-qtest-log", "none"]
SKIP = {0x2e, 0x2f} | {0x12, 0x19, 0x1a, 0x39} | set(range(0x1b, 0x2e)) | set(range(0x32, 0x33))


def rd(idx):
    return ["outb 0x70 0x%02x" % idx, "inb 0x71"]


def wr(idx, val):
    return ["outb 0x70 0x%02x" % idx, "outb 0x71 0x%02x" % val]


def nvram():
    s = ["# the CMOS bytes SeaBIOS reads (128 MiB, 1 CPU, boot order cad)"]
    for i in range(0x0e, 0x80):
        if i not in SKIP:
            s += rd(i)
    s += ["# register D, and the index port reads 0xFF"]
    s += rd(0x0d) + ["inb 0x70"]
    s += ["# NVRAM bytes are storage; bit 7 of the index is the NMI mask"]
    s += wr(0x40, 0x5a) + rd(0x40) + wr(0x7f, 0xa5) + rd(0x7f)
    s += ["outb 0x70 0xc0", "inb 0x71", "outb 0x70 0x8d", "inb 0x71"]
    s += wr(0x40, 0x00) + wr(0x7f, 0x00)
    return s


def regs():
    s = ["# SET holds the clock: registers keep what is written, UIE is cleared"]
    s += wr(0x0b, 0x92) + rd(0x0b)
    s += wr(0x00, 0x30) + wr(0x02, 0x45) + wr(0x04, 0x13) + wr(0x06, 0x05)
    s += wr(0x07, 0x15) + wr(0x08, 0x06) + wr(0x09, 0x23)
    s += rd(0x00) + rd(0x02) + rd(0x04) + rd(0x06) + rd(0x07) + rd(0x08) + rd(0x09)
    s += ["# alarm bytes read back"]
    s += wr(0x01, 0xc0) + wr(0x03, 0x12) + wr(0x05, 0xff) + rd(0x01) + rd(0x03) + rd(0x05)
    s += ["# register A: UIP is read-only (no update while SET), divider reset"]
    s += rd(0x0a) + wr(0x0a, 0xff) + rd(0x0a) + wr(0x0a, 0x70) + rd(0x0a)
    s += ["# C and D ignore writes"]
    s += wr(0x0d, 0x00) + rd(0x0d)
    s += ["# binary and 12-hour flags read back"]
    s += wr(0x0b, 0x84) + rd(0x0b) + wr(0x0b, 0x80) + rd(0x0b)
    s += ["# the shutdown status byte"]
    s += wr(0x0f, 0x0a) + rd(0x0f) + wr(0x0f, 0x00)
    s += wr(0x0a, 0x26) + wr(0x0b, 0x02) + rd(0x0b)
    return s


SCRIPTS = {"rtc_cmos.qtest": nvram, "rtc_regs.qtest": regs}


def main():
    headers = ["# recorded with: " + " ".join(QEMU) + " (tests/harness/scripts/rtc-record.py)",
               "#! dm-args: -M none -device rtc"]
    return qr.main({name: lambda fn=fn: qr.record(QEMU, fn(), headers)
                    for name, fn in SCRIPTS.items()})



if __name__ == "__main__":
    sys.exit(main())
