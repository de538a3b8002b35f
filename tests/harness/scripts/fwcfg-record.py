#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Record the fw_cfg qtest transcripts against Debian's QEMU.

Sends qtest requests aimed at the fw_cfg device (selector 0x510, data 0x511,
DMA 0x514-0x51B, DMA descriptors and targets in guest RAM) to
    qemu-system-x86_64 -machine pc -accel tcg -S -nodefaults -display none
                       -m 128 -qtest stdio -qtest-log none
and writes fwcfg_*.qtest beside itself ('> request' / '< reply' lines) for
replay.py, which replays them against hvmdm (-M none -device fw_cfg) and,
in the differential run, against QEMU again.

Left out on purpose: the file directory and anything reached through it
(QEMU publishes more files, e.g. genroms/kvmvapic.bin and
etc/msr_feature_control, so keys and sizes differ, and hvmdm's etc/e820
carries the KVM reservation QEMU adds only under KVM), and 16-bit reads of
the data port (QEMU rejects them as invalid accesses).

Usage: fwcfg-record.py [--check]   (--check: compare instead of writing)
"""
import sys

import qtest_record as qr

QEMU = ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-S", "-nodefaults",
        "-display", "none", "-m", "128", "-qtest", "stdio", "-qtest-log", "none"]

SELECT, READ, SKIP, WRITE = 0x08, 0x02, 0x04, 0x10


def item(key, n):
    return ["outw 0x510 0x%04x" % key] + ["inb 0x511"] * n


def ports():
    s = ["# signature, ID (traditional + DMA), then zeros past the end"]
    s += item(0x00, 5) + item(0x01, 5)
    s += ["# RAM size, CPUs, NUMA (no nodes), boot menu, UUID (none), IRQ0 override"]
    s += item(0x03, 8) + item(0x05, 2) + item(0x0f, 2) + item(0x0d, 16) + item(0x0e, 2)
    s += item(0x02, 16) + item(0x8002, 4)
    s += ["# unused and out-of-range keys read 0"]
    s += item(0x06, 2) + item(0x40, 2) + item(0x7fff, 2) + item(0xffff, 2)
    s += ["# 0x510 reads data too; a byte write there is a data write"]
    s += ["outw 0x510 0x0000", "inb 0x510", "outb 0x510 0x01", "inb 0x511", "inb 0x510"]
    s += ["# the DMA register reads back \"QEMU CFG\""]
    s += ["inl 0x514", "inl 0x518"] + ["inb 0x%x" % p for p in range(0x514, 0x51c)]
    return s


def desc(control, length, addr):
    return "0x%08x%08x%016x" % (control, length, addr)


def kick(at):
    # Big-endian address: high half then low half (the low write starts it).
    le = int.from_bytes(at.to_bytes(4, "big"), "little")
    return ["outl 0x514 0x0", "outl 0x518 0x%x" % le]


def dma():
    s = ["# DMA: select + read the signature into RAM, descriptor at 0x1000"]
    s += ["memset 0x2000 16 0xee"]
    s += ["write 0x1000 16 " + desc(SELECT | READ, 4, 0x2000)] + kick(0x1000)
    s += ["read 0x1000 4", "read 0x2000 8"]
    s += ["# skip 1 byte of the ID, then read 8: 3 bytes of data and zero fill"]
    s += ["write 0x1000 16 " + desc(0x01 << 16 | SELECT | SKIP, 1, 0)] + kick(0x1000)
    s += ["read 0x1000 4"]
    s += ["write 0x1000 16 " + desc(READ, 8, 0x2000)] + kick(0x1000)
    s += ["read 0x1000 4", "read 0x2000 12"]
    s += ["# a data read past the DMA transfer continues where it stopped"]
    s += ["write 0x1000 16 " + desc(0x03 << 16 | SELECT | READ, 3, 0x2000)] + kick(0x1000)
    s += ["inb 0x511", "inb 0x511"]
    s += ["# a write is refused with the error bit"]
    s += ["write 0x1000 16 " + desc(0x01 << 16 | SELECT | WRITE, 4, 0x2000)] + kick(0x1000)
    s += ["read 0x1000 4"]
    s += ["# a target outside guest RAM (4 GiB, 128 MiB guest): error bit, no crash"]
    s += ["write 0x1000 16 " + desc(SELECT | READ, 4, 0x100000000)] + kick(0x1000)
    s += ["read 0x1000 4"]
    s += ["# no operation bit: nothing moves, control cleared"]
    s += ["write 0x1000 16 " + desc(0, 16, 0x3000)] + kick(0x1000)
    s += ["read 0x1000 4", "read 0x3000 4"]
    return s


SCRIPTS = {"fwcfg_ports.qtest": ports, "fwcfg_dma.qtest": dma}


def main():
    headers = ["# recorded with: " + " ".join(QEMU) + " (tests/harness/scripts/fwcfg-record.py)",
               "#! dm-args: -M none -device fw_cfg"]
    return qr.main({name: lambda fn=fn: qr.record(QEMU, fn(), headers)
                    for name, fn in SCRIPTS.items()})



if __name__ == "__main__":
    sys.exit(main())
