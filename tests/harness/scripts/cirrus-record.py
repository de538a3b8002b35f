#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Record the Cirrus CL-GD5446 qtest transcript against Debian's QEMU.

The requests program the card at 00:02.0 (BAR0 = linear framebuffer at
0xE0000000, BAR1 = memory-mapped registers at 0xE2000000) through
0xCF8/0xCFC, read its identity and extension registers, fill VRAM with
deterministic bytes through the framebuffer, run BitBLTs of every kind
through the GR registers and BAR1, and read the destinations back through
the framebuffer.  They are sent to
    qemu-system-x86_64 -machine pc -accel tcg -S -nodefaults -display none
                       -m 64 -vga cirrus -qtest stdio -qtest-log none
and cirrus_blit.qtest beside this file gets each request with QEMU's reply;
the harness replays it against hvmdm (-M none -device i440fx -device cirrus).

Requests avoid what hvmdm does differently on purpose: 24 bpp skip-left
values above 7 pixels, dword-granular host colour expansion (QEMU counts
dwords as bytes), 16 bpp keyed backward copies, zero-pitch blits that QEMU
also refuses but answers differently, unaligned pattern sources, and the
hardware cursor (drawn, not in VRAM).

Two more transcripts come from the same helpers:
  cirrus-rops.qtest  every ROP in every blit mode that takes one: forward
                     and backward copies, transparent copies, colour
                     expansion (opaque, transparent, inverted), colour and
                     monochrome patterns, solid fill, system-to-video;
                     8 and 16 bpp, known VRAM before, every byte read after
  cirrus-cve.qtest   the Cirrus CVE triggers of reliability.md section 2
                     (blit rectangles that leave VRAM either way, zero
                     pitches, host-source blits past the end, keyed and
                     pattern sources at the end of VRAM, mode 4/5 writes at
                     the last byte): each is refused or wraps inside VRAM,
                     the card keeps answering and VRAM around it is intact

  cirrus-lfb.qtest   the direct framebuffer mapping withdrawn while GRB
                     selects x8 addressing, BAR0 moved and decoding toggled
                     meanwhile, then restored at the new address only

Usage: cirrus-record.py [--check] [NAME...]   (NAME: blit, lfb, rops, cve; default
all; --check: compare instead of writing)
"""
import sys

import qtest_record as qr

QEMU = ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-S", "-nodefaults",
        "-display", "none", "-m", "64", "-vga", "cirrus", "-qtest", "stdio",
        "-qtest-log", "none"]
LFB = 0xe0000000
MMIO = 0xe2000000
DEVFN = 0x10  # 00:02.0

seed = [2026]


def rnd_bytes(n):
    out = bytearray()
    for _ in range(n):
        seed[0] = (seed[0] * 1103515245 + 12345) & 0xffffffff
        out.append((seed[0] >> 16) & 0xff)
    return bytes(out)


def cfg(reg, val=None):
    s = ["outl 0xcf8 0x%08x" % (0x80000000 | DEVFN << 8 | reg)]
    return s + (["inl 0xcfc"] if val is None else ["outl 0xcfc 0x%08x" % val])


def sr(i, v=None):
    return ["outb 0x3c4 0x%02x" % i] + (["inb 0x3c5"] if v is None else ["outb 0x3c5 0x%02x" % v])


def gr(i, v=None):
    return ["outb 0x3ce 0x%02x" % i] + (["inb 0x3cf"] if v is None else ["outb 0x3cf 0x%02x" % v])


def cr(i, v=None):
    return ["outb 0x3d4 0x%02x" % i] + (["inb 0x3d5"] if v is None else ["outb 0x3d5 0x%02x" % v])


def fill(addr, n):
    """Deterministic bytes at VRAM offset addr, in chunks of 256."""
    s = []
    for off in range(0, n, 256):
        k = min(256, n - off)
        s.append("write 0x%x %d 0x%s" % (LFB + addr + off, k, rnd_bytes(k).hex()))
    return s


def readback(addr, pitch, w, h):
    return ["read 0x%x %d" % (LFB + addr + y * pitch, w) for y in range(h)]


def blit(w, h, dpitch, spitch, daddr, saddr, mode, rop, ext=0, skip=0, fg=0, bg=0, key=0,
         mmio=False):
    regs = [(0x00, bg & 0xff), (0x10, bg >> 8 & 0xff), (0x12, bg >> 16 & 0xff),
            (0x14, bg >> 24 & 0xff), (0x01, fg & 0xff), (0x11, fg >> 8 & 0xff),
            (0x13, fg >> 16 & 0xff), (0x15, fg >> 24 & 0xff),
            (0x20, (w - 1) & 0xff), (0x21, (w - 1) >> 8), (0x22, (h - 1) & 0xff),
            (0x23, (h - 1) >> 8), (0x24, dpitch & 0xff), (0x25, dpitch >> 8),
            (0x26, spitch & 0xff), (0x27, spitch >> 8), (0x2c, saddr & 0xff),
            (0x2d, saddr >> 8 & 0xff), (0x2e, saddr >> 16), (0x2f, skip), (0x30, mode),
            (0x32, rop), (0x33, ext), (0x34, key & 0xff), (0x35, key >> 8),
            (0x28, daddr & 0xff), (0x29, daddr >> 8 & 0xff), (0x2a, daddr >> 16),
            (0x31, 0x02)]
    mm = {0x00: 0, 0x10: 1, 0x12: 2, 0x14: 3, 0x01: 4, 0x11: 5, 0x13: 6, 0x15: 7,
          0x20: 8, 0x21: 9, 0x22: 10, 0x23: 11, 0x24: 12, 0x25: 13, 0x26: 14, 0x27: 15,
          0x28: 16, 0x29: 17, 0x2a: 18, 0x2c: 20, 0x2d: 21, 0x2e: 22, 0x2f: 23, 0x30: 24,
          0x32: 26, 0x33: 27, 0x34: 28, 0x35: 29, 0x31: 0x40}
    if mmio:
        return ["writeb 0x%x 0x%02x" % (MMIO + 0x100 + mm[g], v) for g, v in regs]
    # The 16-bit form: index in the low byte, data in the high byte.
    return ["outw 0x3ce 0x%04x" % (v << 8 | g) for g, v in regs]


ROPS = [0x00, 0x05, 0x06, 0x09, 0x0b, 0x0d, 0x0e, 0x50, 0x59, 0x6d, 0x90, 0x95, 0xad, 0xd0,
        0xd6, 0xda]


def plan():
    s = ["# identity and BARs"]
    s += cfg(0x00) + cfg(0x08) + cfg(0x2c)
    s += cfg(0x10, 0xffffffff) + cfg(0x10) + cfg(0x14, 0xffffffff) + cfg(0x14)
    s += cfg(0x10, LFB) + cfg(0x14, MMIO) + cfg(0x04, 0x00000003)
    s += ["# extension registers"]
    s += ["outb 0x3c2 0x67"]
    s += sr(0x06) + sr(0x06, 0x12) + sr(0x06) + sr(0x06, 0x00) + sr(0x06) + sr(0x06, 0x12)
    s += cr(0x27) + sr(0x0f) + sr(0x15) + sr(0x17) + sr(0x1f) + gr(0x18)
    s += sr(0x17, 0xff) + sr(0x17) + sr(0x17, 0x20)
    s += gr(0x21, 0xff) + gr(0x21) + gr(0x2a, 0xff) + gr(0x2a) + gr(0x00, 0xa5) + gr(0x00)
    s += sr(0x70, 0x10) + sr(0x10) + sr(0xf1, 0x02) + sr(0x11)
    s += ["outw 0x3c4 0x1206", "inb 0x3c5"]
    s += ["# hidden DAC: the fifth access after four reads of 0x3C6"]
    s += ["inb 0x3c8"] + ["inb 0x3c6"] * 4 + ["outb 0x3c6 0xe1"]
    s += ["inb 0x3c8"] + ["inb 0x3c6"] * 5
    s += ["# BAR1: ports at 0x00, BitBLT registers at 0x100"]
    s += ["writeb 0x%x 0x06" % (MMIO + 4), "readb 0x%x" % (MMIO + 5)]
    s += ["writeb 0x%x 0x23" % (MMIO + 0x108), "readb 0x%x" % (MMIO + 0x108)] + gr(0x20)
    s += ["# banked window (extended mode)"]
    s += sr(0x07, 0x01) + gr(0x0b, 0x00) + gr(0x09, 0x10)
    s += ["writeb 0xa0123 0x5a", "writeb 0xa8005 0x6b", "readb 0xa0123"]
    s += ["readb 0x%x" % (LFB + 0x10123), "readb 0x%x" % (LFB + 0x18005)]
    s += gr(0x0b, 0x01) + gr(0x09, 0x01) + gr(0x0a, 0x02)
    s += ["writeb 0xa0000 0x11", "writeb 0xa8000 0x22"]
    s += ["readb 0x%x" % (LFB + 0x1000), "readb 0x%x" % (LFB + 0x2000)]
    s += gr(0x0b, 0x20) + gr(0x09, 0x01) + ["writeb 0xa0001 0x33", "readb 0x%x" % (LFB + 0x4001)]
    s += gr(0x09, 0xff) + ["writeb 0xa0000 0x44", "readb 0x%x" % (LFB + 0x3fc000)]
    # (A8000 with a single bank past the end: QEMU reads VRAM offset 0, hvmdm open bus.)
    s += ["readb 0xa4000"]
    s += ["# write modes 4 and 5"]
    s += fill(0x100, 0x200)
    s += gr(0x0b, 0x04) + gr(0x09, 0x00) + gr(0x01, 0x77) + gr(0x00, 0x99)
    s += gr(0x05, 0x04) + ["writeb 0xa0100 0xa5"] + gr(0x05, 0x05) + ["writeb 0xa0200 0x0f"]
    s += readback(0x100, 0x100, 8, 2)
    # x8 addressing applies to the framebuffer too (hvmdm withdraws the direct mapping).
    s += gr(0x0b, 0x06) + gr(0x05, 0x04) + ["writeb 0xa0030 0x81"] + readback(0x30, 8, 8, 1)
    s += gr(0x05, 0x00) + gr(0x0b, 0x00) + gr(0x09, 0x00) + readback(0x180, 8, 8, 1)
    s += ["# BitBLT registers in the last 256 bytes of the framebuffer (SR17 bits 6 and 2)"]
    s += sr(0x17, 0x64) + ["writeb 0x%x 0x5c" % (LFB + 0x3fff0c), "readb 0x%x" % (LFB + 0x3fff0c)]
    s += gr(0x24) + sr(0x17, 0x20) + ["readb 0x%x" % (LFB + 0x3fff0c)]
    s += ["# video-to-video copies, all 16 ROPs (alternating ports and BAR1)"]
    for i, rop in enumerate(ROPS):
        s += fill(0x10000, 64 * 4) + fill(0x20000, 64 * 4)
        s += blit(24, 4, 64, 64, 0x20004, 0x10008, 0x00, rop, mmio=bool(i & 1))
        s += readback(0x20000, 64, 32, 4) + gr(0x31)
    s += ["# overlapping copies: forward (dst above), backward (dst below)"]
    s += fill(0x30000, 512 * 20)
    s += blit(64, 16, 512, 512, 0x30000, 0x30000 + 4 * 512, 0x00, 0x0d)
    s += readback(0x30000, 512, 64, 16)
    s += fill(0x30000, 512 * 20)
    last = 0x30000 + 15 * 512 + 63
    s += blit(64, 16, 512, 512, last + 3 * 512 + 5, last, 0x01, 0x0d, mmio=True)
    s += readback(0x30000, 512, 80, 20)
    s += fill(0x30000, 512 * 20)
    s += blit(40, 8, 512, 512, 0x30000 + 7 * 512 + 100, 0x30000 + 10 * 512 + 39, 0x01, 0x59)
    s += readback(0x30000, 512, 128, 12)
    s += ["# transparent copies, 8 and 16 bpp"]
    for bypp in (1, 2):
        s += fill(0x40000, 128 * 4) + fill(0x50000, 128 * 4)
        for y in range(4):
            for x in range(0, 32, 3 * bypp):
                s.append("write 0x%x %d 0x%s" % (LFB + 0x50000 + y * 128 + x, bypp, "3c" * bypp))
        s += blit(32, 4, 128, 128, 0x40000, 0x50000, 0x08 | (bypp - 1) << 4, 0x0d, key=0x3c3c)
        s += readback(0x40000, 128, 32, 4)
    s += ["# colour expansion from VRAM: opaque, transparent, inverted, skip-left"]
    for bypp in (1, 2, 3, 4):
        for variant in range(4):
            mode = 0x80 | (bypp - 1) << 4
            ext = skip = 0
            if variant in (1, 2):
                mode |= 0x08
            if variant == 2:
                ext = 0x02
            if variant == 3 and bypp != 3:
                skip = 3
            s += fill(0x60000, 256 * 5) + fill(0x70000, 16)
            s += blit(21 * bypp, 5, 256, 3, 0x60000, 0x70000, mode, 0x0d, ext=ext, skip=skip,
                      fg=0xa1b2c3d4, bg=0x15263748, mmio=bool(variant & 1))
            s += readback(0x60000, 256, 21 * bypp, 5)
    s += ["# patterns: colour, monochrome, solid fill"]
    for bypp in (1, 2, 3, 4):
        s += fill(0x80000, 1024 * 11) + fill(0x90000, 256)
        s += blit(19 * bypp, 11, 1024, 0, 0x80000, 0x90000, 0x40 | (bypp - 1) << 4, 0x59)
        s += readback(0x80000, 1024, 19 * bypp, 11)
        s += blit(19 * bypp, 11, 1024, 0, 0x80000, 0x90000, 0xc0 | (bypp - 1) << 4, 0x0d,
                  fg=0x01020304, bg=0xf0e0d0c0, mmio=True)
        s += readback(0x80000, 1024, 19 * bypp, 11)
        s += blit(19 * bypp, 11, 1024, 0, 0x80000, 0x90000, 0xc0 | (bypp - 1) << 4, 0x6d,
                  ext=0x04, fg=0x01020304)
        s += readback(0x80000, 1024, 19 * bypp, 11)
    s += ["# system-to-video: window, BitBLT aperture"]
    s += fill(0xa0000, 64 * 3)
    s += blit(10, 3, 64, 0, 0xa0000, 0, 0x04, 0x0d) + gr(0x31)
    s += ["writeb 0x%x 0x%02x" % (0xa0000 + (i % 12), b) for i, b in enumerate(rnd_bytes(36))]
    s += gr(0x31) + readback(0xa0000, 64, 16, 3)
    s += fill(0xb0000, 64 * 4)
    s += blit(40, 4, 64, 0, 0xb0000, 0, 0x94, 0x0d, fg=0xbeef, bg=0x1234, mmio=True)
    s += ["writeb 0x%x 0x%02x" % (LFB + 0x1000000 + i, b) for i, b in enumerate(rnd_bytes(12))]
    s += gr(0x31) + readback(0xb0000, 64, 40, 4)
    s += ["# hostile geometry (reliability.md Cirrus rows): refused, VRAM intact"]
    s += fill(0x0, 0x1100)
    s += blit(256, 16, 1024, 1024, 0x1000, 0x10, 0x01, 0x0d) + gr(0x31)
    s += blit(256, 16, 1024, 1024, 0x100, 0x200000, 0x01, 0x0d) + gr(0x31)
    s += blit(256, 2, 256, 256, 0x1000, 0x400000 - 300, 0x00, 0x0d) + gr(0x31)
    s += blit(64, 64, 4096, 0, 0x400000 - 4096 * 10, 0, 0x04, 0x0d) + gr(0x31)
    s += blit(8000, 64, 8000, 8000, 0, 0x400000 - 64, 0x80, 0x0d) + gr(0x31)
    s += readback(0x0, 256, 256, 17)
    return s


def setup():
    """BARs, decoding, extensions unlocked, 8 bpp extended mode."""
    s = cfg(0x10, LFB) + cfg(0x14, MMIO) + cfg(0x04, 0x00000003)
    s += ["outb 0x3c2 0x67"] + sr(0x06, 0x12) + sr(0x07, 0x01)
    return s


ALL_ROPS = [0x00, 0x05, 0x06, 0x09, 0x0b, 0x0d, 0x0e, 0x50, 0x59, 0x6d, 0x90, 0x95, 0xad,
            0xd0, 0xd6, 0xda]


def plan_rops():
    s = ["# BARs at 0xE0000000 / 0xE2000000, extended 8 bpp"] + setup()
    for i, rop in enumerate(ALL_ROPS):
        mm = bool(i & 1)
        s += ["# ROP 0x%02x" % rop]
        # Backward copy within one area (source below the destination, overlapping).
        s += fill(0x10000, 256 * 12)
        s += blit(48, 8, 256, 256, 0x10000 + 11 * 256 + 60, 0x10000 + 9 * 256 + 50, 0x01, rop,
                  mmio=mm)
        s += readback(0x10000, 256, 64, 12)
        # Forward 16 bpp copy and transparent 8 bpp copy.
        s += fill(0x20000, 128 * 6) + fill(0x21000, 128 * 6)
        s += blit(40, 5, 128, 128, 0x20008, 0x21004, 0x10, rop, mmio=not mm)
        s += readback(0x20000, 128, 56, 5)
        s += fill(0x22000, 128 * 4)
        s += blit(32, 4, 128, 128, 0x22000, 0x21000, 0x08, rop, key=0x3c, mmio=mm)
        s += readback(0x22000, 128, 32, 4)
        # Colour expansion from VRAM: opaque 8 bpp, transparent 16 bpp, inverted.
        s += fill(0x30000, 256 * 5) + fill(0x31000, 32)
        s += blit(24, 5, 256, 3, 0x30000, 0x31000, 0x80, rop, fg=0xa1b2c3d4, bg=0x15263748,
                  mmio=mm)
        s += readback(0x30000, 256, 24, 5)
        s += blit(48, 5, 256, 3, 0x30000, 0x31000, 0x98, rop, fg=0xa1b2c3d4, mmio=not mm)
        s += readback(0x30000, 256, 48, 5)
        s += blit(24, 5, 256, 3, 0x30000, 0x31000, 0x88, rop, ext=0x02, fg=0x5a, mmio=mm)
        s += readback(0x30000, 256, 24, 5)
        # Colour pattern 8 bpp, monochrome pattern 16 bpp (opaque, transparent), solid fill.
        s += fill(0x40000, 512 * 9) + fill(0x41000, 128)
        s += blit(20, 9, 512, 0, 0x40000, 0x41000, 0x40, rop, mmio=not mm)
        s += readback(0x40000, 512, 20, 9)
        s += blit(40, 9, 512, 0, 0x40000, 0x41000, 0xd0, rop, fg=0x1234, bg=0xfedc, mmio=mm)
        s += readback(0x40000, 512, 40, 9)
        s += blit(40, 9, 512, 0, 0x40000, 0x41000, 0xd8, rop, fg=0x4321, mmio=not mm)
        s += readback(0x40000, 512, 40, 9)
        s += blit(20, 9, 512, 0, 0x40000, 0x41000, 0xc0, rop, ext=0x04, fg=0x77, mmio=mm)
        s += readback(0x40000, 512, 20, 9)
        # System-to-video, 8 bpp, through the window.
        s += fill(0x50000, 64 * 3)
        s += blit(10, 3, 64, 0, 0x50000, 0, 0x04, rop, mmio=not mm) + gr(0x31)
        s += ["writeb 0x%x 0x%02x" % (0xa0000 + (k % 12), b) for k, b in enumerate(rnd_bytes(36))]
        s += gr(0x31) + readback(0x50000, 64, 16, 3)
    return s


def plan_cve():
    end = 0x400000
    s = ["# BARs at 0xE0000000 / 0xE2000000, extended 8 bpp"] + setup()
    s += ["# 1024 lines of 1024 pixels, 1024-byte lines, palette shown: the display draws VRAM"]
    s += cr(0x11, 0x00) + cr(0x01, 0x7f) + cr(0x12, 0xff) + cr(0x07, 0x42) + cr(0x13, 0x80)
    s += ["inb 0x3da", "outb 0x3c0 0x20"]
    s += ["# known bytes at both ends of VRAM"]
    s += fill(0x0, 0x2000) + fill(end - 0x2000, 0x2000)
    s += ["# CVE-2014-8106 / CVE-2017-2615: backward blit whose rectangle reaches below 0"]
    s += blit(64, 32, 1024, 1024, 0x100, 0x1800, 0x01, 0x0d) + gr(0x31)
    s += blit(64, 32, 1024, 1024, 0x1800, 0x40, 0x01, 0x0d, mmio=True) + gr(0x31)
    s += ["# ... and forward ones that run past the end"]
    s += blit(256, 32, 1024, 1024, end - 0x1000, 0x0, 0x00, 0x0d) + gr(0x31)
    s += blit(256, 32, 1024, 1024, 0x0, end - 0x1000, 0x00, 0x0d, mmio=True) + gr(0x31)
    s += ["# CVE-2017-2620: system-to-video blit whose destination ends past VRAM"]
    s += blit(256, 64, 1024, 0, end - 0x2000, 0, 0x04, 0x0d) + gr(0x31)
    s += ["writel 0xa0000 0x%08x" % (0x11111111 * (k % 16)) for k in range(64)]
    s += gr(0x31)
    s += ["# CVE-2017-7718: transparent copy whose source is the end of VRAM"]
    s += blit(128, 16, 256, 256, 0x400, end - 0x80, 0x08, 0x0d, key=0x00) + gr(0x31)
    s += ["# CVE-2017-7980: colour expansion and patterns sourced past the end"]
    s += blit(64, 16, 256, 8, 0x400, end - 4, 0x80, 0x0d, fg=0x11, bg=0x22) + gr(0x31)
    s += blit(64, 16, 256, 0, 0x400, end - 8, 0x40, 0x59) + gr(0x31)
    s += blit(64, 16, 256, 0, end - 256 * 8, 0, 0xc0, 0x6d, fg=0x33) + gr(0x31)
    s += ["# CVE-2017-18030: a legitimate backward blit that ends exactly at address 0"]
    s += blit(32, 4, 256, 256, 0x300 + 31, 0x1300 + 31, 0x01, 0x0d) + gr(0x31)
    s += ["# huge width and height: 8192 x 1024 at 8 KB pitch"]
    s += blit(8192, 1024, 8191, 8191, 0x0, 0x0, 0x00, 0x0d) + gr(0x31)
    s += ["# CVE-2017-15289: write mode 5 with x16 addressing at the last bank"]
    s += gr(0x0b, 0x24) + gr(0x09, 0xff) + gr(0x01, 0x0f) + gr(0x00, 0x55) + gr(0x05, 0x05)
    s += ["writeb 0xa7fff 0xff", "writeb 0xa3fff 0x0f"]
    s += gr(0x05, 0x00) + gr(0x0b, 0x00) + gr(0x09, 0x00)
    s += ["# the card still works: a small legitimate copy"]
    s += blit(16, 2, 64, 64, 0x1000, 0x1400, 0x00, 0x0d) + gr(0x31)
    s += ["# VRAM at both ends"]
    s += readback(0x0, 256, 256, 32) + readback(end - 0x2000, 256, 256, 32)
    return s


def plan_lfb():
    new_lfb = 0xd0000000
    s = ["# BARs at 0xE0000000 / 0xE2000000, extended 8 bpp"] + setup()
    s += ["# plain framebuffer: bytes land where they are written"]
    s += ["writeb 0x%x 0x11" % (LFB + 0x10), "readb 0x%x" % (LFB + 0x10)]
    s += ["# GRB x8 addressing: the framebuffer must trap (hvmdm withdraws the direct"]
    s += ["# mapping through pci_bar_memfd_enable); a byte at 0x20 lands at 0x100"]
    s += gr(0x0b, 0x02) + gr(0x05, 0x04) + gr(0x01, 0x00) + gr(0x00, 0x00)
    s += ["writeb 0x%x 0xff" % (LFB + 0x20)]
    s += ["# BAR0 moves while trapping, then decoding goes off and on"]
    s += cfg(0x10, new_lfb) + ["writeb 0x%x 0x0f" % (new_lfb + 0x21)]
    # (Nothing is read while nothing decodes: QEMU reads 0, hvmdm all-ones.)
    s += cfg(0x04, 0x00000000) + cfg(0x04, 0x00000003)
    s += ["# back to plain addressing: the mapping returns at the new address only"]
    s += gr(0x05, 0x00) + gr(0x0b, 0x00)
    s += ["readb 0x%x" % (new_lfb + a) for a in (0x10, 0x100, 0x101, 0x108, 0x109)]
    s += ["writeb 0x%x 0x5a" % (new_lfb + 0x400), "readb 0x%x" % (new_lfb + 0x400)]
    s += ["# and moves back"]
    s += cfg(0x10, LFB) + ["readb 0x%x" % (LFB + 0x400), "readb 0x%x" % (LFB + 0x108)]
    return s


PLANS = {"blit": ("cirrus_blit.qtest", plan, ""),
         "lfb": ("cirrus-lfb.qtest", plan_lfb, ""),
         "rops": ("cirrus-rops.qtest", plan_rops, ""),
         "cve": ("cirrus-cve.qtest", plan_cve, "")}


def retrace(req):
    """The retrace status follows the clock: any value."""
    return "OK 0x[0-9a-f]{4}" if req == "inb 0x3da" else None


def record(reqs):
    headers = ["# recorded with: " + " ".join(QEMU) + " (tests/harness/scripts/cirrus-record.py)",
               "#! dm-args: -M none -device i440fx -device cirrus",
               "#! qemu-args: -vga cirrus"]
    return qr.record(QEMU, reqs, headers, retrace)


def recorded(fn):
    seed[0] = 2026  # every plan starts from the same pseudo-random bytes
    return record(fn())


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    scripts = {}
    for name in args or list(PLANS):
        fname, fn, _ = PLANS[name]
        scripts[fname] = lambda fn=fn: recorded(fn)
    return qr.main(scripts)



if __name__ == "__main__":
    sys.exit(main())
