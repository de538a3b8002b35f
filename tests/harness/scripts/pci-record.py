#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Record the PCI chipset qtest transcripts against Debian's QEMU.

Each transcript is a list of qtest requests (port I/O only) aimed at the
functions hvmdm models in hw/pci: i440FX 00:00.0, PIIX3 00:01.0 and PIIX4 PM
00:01.3.  This script sends them to
    qemu-system-x86_64 -machine pc[,smm=off] -accel tcg -S -nodefaults
                       -display none -m 64 -qtest stdio -qtest-log none
Configuration space is recorded with smm=off: hvmdm has no SMM and reports
it as QEMU does then (PIIX4 DEVACTB APMC_EN preset).  The PM I/O script is
recorded with SMM on, where QEMU (like hvmdm, like a real board's firmware)
clears SCI_EN at reset and lets ACPI_ENABLE/ACPI_DISABLE at 0xB2 toggle it;
QEMU without SMM pins SCI_EN to 1 instead.
and writes pci_*.qtest beside itself: '> request' lines each followed by
the '< reply' QEMU gave.  The harness replays them against hvmdm; the unit
test tests/unit/test_pci_qtest.c replays them in-process.

Requests avoid what QEMU does differently on purpose or by accident:
00:01.1/01.2 (IDE, USB: not part of hw/pci), i440FX byte 0x57 (RAM size),
PM1_STS (QEMU reports TMR_STS at time 0), PM_TMR (frozen clock under -S),
non-dword accesses to 0xCF8 (QEMU returns CONFIG_ADDRESS bytes, real
chipsets and hvmdm return all-ones), and writes of reserved or read-only
bits that QEMU keeps (QEMU makes all of 0x40-0xFF writable).

pci_pm_timer.qtest is not recorded here: QEMU cannot step its clock in this
setup, so its replies are computed (see the comments in that file).

Usage: pci-record.py [--check]   (--check: compare instead of writing)
"""
import sys

import qtest_record as qr

QEMU = ["qemu-system-x86_64", "-machine", "MACHINE", "-accel", "tcg", "-S", "-nodefaults",
        "-display", "none", "-m", "64", "-qtest", "stdio", "-qtest-log", "none"]


def cfg_addr(devfn, reg, bus=0):
    return 0x80000000 | bus << 16 | devfn << 8 | (reg & 0xfc)


def rd(devfn, reg, size=4):
    op = {1: "inb", 2: "inw", 4: "inl"}[size]
    return ["outl 0xcf8 0x%08x" % cfg_addr(devfn, reg), "%s 0x%x" % (op, 0xcfc + (reg & 3))]


def wr(devfn, reg, val, size=4):
    op = {1: "outb", 2: "outw", 4: "outl"}[size]
    return ["outl 0xcf8 0x%08x" % cfg_addr(devfn, reg),
            "%s 0x%x 0x%x" % (op, 0xcfc + (reg & 3), val)]


def dump(devfn, skip=()):
    out = ["# config space of %02x.%x" % (devfn >> 3, devfn & 7)]
    for reg in range(0, 256, 4):
        if reg in skip:
            continue
        out += rd(devfn, reg)
    return out


def ids():
    s = []
    s += dump(0x00, skip=(0x54,))
    s += ["# 0x57 holds the RAM size: read around it"] + rd(0x00, 0x54, 2) + rd(0x00, 0x56, 1)
    s += dump(0x08)
    s += dump(0x0b)
    s += ["# word and byte data cycles"]
    s += rd(0x00, 0x02, 2) + rd(0x00, 0x03, 1) + rd(0x08, 0x0e, 1) + rd(0x0b, 0x3d, 1)
    s += ["# nobody at 00:1f.0, on bus 1, or with the enable bit clear"]
    s += rd(0xf8, 0x00) + rd(0xf8, 0x02, 2)
    s += ["outl 0xcf8 0x%08x" % cfg_addr(0x00, 0, bus=1), "inl 0xcfc"]
    s += ["outl 0xcf8 0x00000000", "inl 0xcfc"]
    s += ["# CONFIG_ADDRESS reads back"]
    s += ["outl 0xcf8 0x80000b40", "inl 0xcf8"]
    return s


def writes():
    s = ["# i440FX: COMMAND mask, PAM as SeaBIOS programs it, SMRAM"]
    s += wr(0x00, 0x04, 0xffff, 2) + rd(0x00, 0x04) + wr(0x00, 0x04, 0, 2) + rd(0x00, 0x04)
    s += wr(0x00, 0x00, 0xffffffff) + rd(0x00, 0x00)
    s += wr(0x00, 0x08, 0xffffffff) + rd(0x00, 0x08)
    s += wr(0x00, 0x2c, 0xffffffff) + rd(0x00, 0x2c)
    s += wr(0x00, 0x3c, 0xffffffff) + rd(0x00, 0x3c)
    s += wr(0x00, 0x0c, 0xffffffff) + rd(0x00, 0x0c)
    s += wr(0x00, 0x10, 0xffffffff) + rd(0x00, 0x10)
    s += wr(0x00, 0x30, 0xfffff800) + rd(0x00, 0x30)
    s += wr(0x00, 0x59, 0x30, 1)
    for reg in range(0x5a, 0x60):
        s += wr(0x00, reg, 0x33, 1)
    s += rd(0x00, 0x58) + rd(0x00, 0x5c)
    s += wr(0x00, 0x72, 0x0a, 1) + rd(0x00, 0x70) + wr(0x00, 0x72, 0x02, 1)
    s += ["# PIIX3: STATUS error bits are W1C (none set), PIRQ routing as SeaBIOS does it"]
    s += wr(0x08, 0x06, 0xffff, 2) + rd(0x08, 0x04)
    s += wr(0x08, 0x60, 0x0b0b0a0a) + rd(0x08, 0x60)
    s += wr(0x08, 0x61, 0x85, 1) + rd(0x08, 0x60)
    s += wr(0x08, 0x60, 0x80808080) + rd(0x08, 0x60)
    s += ["# PIIX4 PM: PMBA 0x600, PMREGMISC, SMBus base as SeaBIOS programs them"]
    s += wr(0x0b, 0x40, 0x601) + rd(0x0b, 0x40)
    s += wr(0x0b, 0x80, 0x01, 1) + rd(0x0b, 0x80)
    s += wr(0x0b, 0x90, 0xb101) + rd(0x0b, 0x90)
    s += wr(0x0b, 0xd2, 0x09, 1) + rd(0x0b, 0xd0)
    s += wr(0x0b, 0x3c, 0x09, 1) + rd(0x0b, 0x3c)
    return s


def pm():
    s = ["# PM block at 0x600 (PM1_EN, PM1_CNT), ACPI enable through 0xB2, GPE0"]
    s += wr(0x0b, 0x40, 0x601) + wr(0x0b, 0x80, 0x01, 1)
    s += ["inw 0x602", "inw 0x604", "inl 0x60c", "inw 0x606"]
    s += ["outw 0x602 0x0121", "inw 0x602", "outw 0x602 0x0000", "inw 0x602"]
    s += ["outb 0xb2 0xf1", "inw 0x604", "inb 0xb2"]
    s += ["outb 0xb2 0xf0", "inw 0x604"]
    s += ["outw 0x604 0x0001", "inw 0x604", "outw 0x604 0x0000"]
    s += ["outb 0xb3 0x5a", "inb 0xb3"]
    s += ["inl 0xafe0", "outw 0xafe2 0x0004", "inl 0xafe0", "outw 0xafe2 0x0000"]
    s += ["# moving and disabling the block"]
    s += wr(0x0b, 0x40, 0xb001) + ["inw 0x604", "inw 0xb004"]
    s += wr(0x0b, 0x80, 0x00, 1) + ["inw 0xb004"]
    return s


SCRIPTS = {
    "pci_config_ids.qtest": ("pc,smm=off", ids),
    "pci_config_writes.qtest": ("pc,smm=off", writes),
    "pci_pm.qtest": ("pc", pm),
}


def record(machine, reqs):
    argv = [machine if a == "MACHINE" else a for a in QEMU]
    # Headers for replay.py: hvmdm builds exactly these functions (whatever
    # -M pc holds), and the differential run uses the same QEMU machine.
    headers = ["# recorded with: " + " ".join(argv),
               "#! dm-args: -M none -device i440fx -device piix3 -device piix4-pm",
               "#! qemu-machine: " + machine]
    return qr.record(argv, reqs, headers)


def main():
    return qr.main({name: lambda m=machine, fn=plan: record(m, fn())
                    for name, (machine, plan) in SCRIPTS.items()})



if __name__ == "__main__":
    sys.exit(main())
