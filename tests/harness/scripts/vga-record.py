#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Record the VGA and Bochs VBE CVE transcripts against Debian's QEMU (std VGA).

  vbe-cve.qtest  (recorded from hvmdm itself, `qemu: no`: QEMU keeps an
                 oversized mode and shrinks YRES/VIRT_HEIGHT to fit, hvmdm
                 refuses it and keeps the previous mode; QEMU applies the
                 VBE bank to VGA planar accesses too, hvmdm only while VBE is
                 enabled.  Both stay inside VRAM; the replies were reviewed.)
                 CVE-2014-3615 (a mode larger than VRAM), CVE-2016-3712
                 (register values that overflow the size arithmetic) and
                 CVE-2016-3710 "Dark Portal" (the VBE bank kept while the
                 window changes to VGA planar / chain-4 access): the VBE
                 registers read back clamped to VRAM, window accesses land
                 inside VRAM (read back through the linear framebuffer)
  vga-cve.qtest  CVE-2018-5683 (text mode start address 0xFFFF),
                 CVE-2017-13672 (start address and line offset beyond VRAM),
                 CVE-2017-13673 (split screen) and CVE-2018-7858 (line offset
                 and scanline length disagree): the registers are set and the
                 card keeps answering; tests/interop/display_cve.py replays
                 the same requests and renders after each (screendump)

The requests go to
    qemu-system-x86_64 -machine pc -accel tcg -S -nodefaults -display none
                       -m 64 -vga std -global VGA.vgamem_mb=16 -qtest stdio
and each reply is recorded; the harness replays them against hvmdm
(-M none -device i440fx -device stdvga,vram=16).

Usage: vga-record.py [--check] [--dm HVMDM-QTEST] [vbe|vga...]
"""
import sys

import qtest_record as qr

QEMU = ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-S", "-nodefaults",
        "-display", "none", "-m", "64", "-vga", "std", "-global", "VGA.vgamem_mb=16",
        "-qtest", "stdio", "-qtest-log", "none"]
LFB = 0xe0000000
DEVFN = 0x10  # 00:02.0
VRAM = 16 << 20


def cfg(reg, val):
    return ["outl 0xcf8 0x%08x" % (0x80000000 | DEVFN << 8 | reg), "outl 0xcfc 0x%08x" % val]


def vbe(i, v=None):
    return ["outw 0x1ce 0x%04x" % i] + (["inw 0x1cf"] if v is None else ["outw 0x1cf 0x%04x" % v])


def vbe_all():
    s = []
    for i in range(1, 11):
        s += vbe(i)
    return s


def vga(port_idx, port_data, i, v):
    return ["outb 0x%x 0x%02x" % (port_idx, i), "outb 0x%x 0x%02x" % (port_data, v)]


def seq(i, v):
    return vga(0x3c4, 0x3c5, i, v)


def gr(i, v):
    return vga(0x3ce, 0x3cf, i, v)


def crt(i, v):
    return vga(0x3d4, 0x3d5, i, v)


def setup():
    """BAR0, decoding, and a 720x400 text mode's timing registers (80x25,
    9-dot, 16 scan lines) with the attribute controller showing the palette,
    so the display has a picture to draw after each trigger."""
    s = cfg(0x10, LFB) + cfg(0x04, 0x00000003) + ["outb 0x3c2 0x67"]
    s += seq(1, 0x00) + seq(4, 0x02) + gr(5, 0x10) + gr(6, 0x0e)
    s += crt(0x11, 0x00) + crt(0x01, 0x4f) + crt(0x07, 0x1f) + crt(0x09, 0x4f)
    s += crt(0x12, 0x8f) + crt(0x13, 0x28) + crt(0x14, 0x1f) + crt(0x17, 0xa3)
    s += ["inb 0x3da", "outb 0x3c0 0x20"]
    return s


def enable(x, y, bpp, flags=0x41):
    """VBE mode with LFB (0x40) and ENABLED (0x01); 0x80 keeps VRAM."""
    return vbe(4, 0) + vbe(1, x) + vbe(2, y) + vbe(3, bpp) + vbe(4, flags)


def plan_vbe():
    s = ["# BAR0 at 0xE0000000, memory decoding on"] + setup()
    s += ["# the 64 KB count of VRAM"] + vbe(0x0a)
    s += ["# CVE-2014-3615: modes larger than VRAM are clamped, at every register write"]
    s += enable(16000, 12000, 32) + vbe_all()
    s += enable(1024, 768, 32) + vbe(2, 0xffff) + vbe_all()
    s += vbe(1, 0xfff8) + vbe_all()
    s += vbe(3, 0x20) + vbe(6, 0xffff) + vbe(7, 0xffff) + vbe_all()
    s += ["# CVE-2016-3712: offsets and virtual sizes that overflow 32-bit products"]
    s += enable(1024, 768, 32, 0xc1) + vbe(6, 0x4000) + vbe(8, 0xffff) + vbe(9, 0xffff) + vbe_all()
    s += vbe(3, 0x08) + vbe(6, 0xffff) + vbe(9, 0x8000) + vbe_all()
    s += vbe(3, 0x04) + vbe_all()
    s += vbe(3, 0x07) + vbe_all()
    s += ["# CVE-2016-3710: banked window at the highest bank, then VGA modes"]
    s += enable(640, 480, 8, 0x81) + vbe(5, 0xffff) + vbe(5)
    s += ["writeb 0xa0000 0x5a", "readb 0xa0000", "writeb 0xaffff 0xa5", "readb 0xaffff"]
    s += vbe(5, 0xff) + vbe(5) + ["writel 0xafffc 0x01020304", "readl 0xafffc"]
    s += ["readl 0x%x" % (LFB + VRAM - 4), "readl 0x%x" % (LFB + 0xff0000 + 0xfffc)]
    s += ["# VBE off, bank kept: planar 16-colour (write mode 0, all planes)"]
    s += vbe(4, 0x80) + seq(2, 0x0f) + seq(4, 0x06) + gr(5, 0x00) + gr(6, 0x05) + gr(8, 0xff)
    s += ["writeb 0xaffff 0x3c", "readb 0xaffff", "writeb 0xa0000 0xc3", "readb 0xa0000"]
    s += ["# chain-4 (mode 13h style)"]
    s += seq(4, 0x0e) + gr(5, 0x40) + gr(6, 0x05)
    s += ["writeb 0xaffff 0x77", "readb 0xaffff", "writel 0xafffc 0x11223344", "readl 0xafffc"]
    s += ["# odd/even"]
    s += seq(4, 0x02) + gr(5, 0x10) + gr(6, 0x0e)
    s += ["writeb 0xb7fff 0x66", "readb 0xb7fff"]
    s += ["# back to VBE with the bank still at its maximum"]
    s += vbe(4, 0x81) + vbe(5) + ["readb 0xaffff", "readb 0xa0000"]
    s += ["# VRAM through the LFB"]
    s += vbe(4, 0xc1) + ["readl 0x%x" % (LFB + a) for a in (0, 0xfffc, 0xff0000, 0xfffffc)]
    return s


def plan_vga():
    s = ["# BAR0 at 0xE0000000, memory decoding on"] + setup()
    s += ["# CVE-2018-5683: text mode with the CRTC start address 0xFFFF"]
    s += seq(4, 0x02) + gr(5, 0x10) + gr(6, 0x0e) + crt(0x11, 0x00)
    s += crt(0x0c, 0xff) + crt(0x0d, 0xff) + crt(0x0e, 0xff) + crt(0x0f, 0xff)
    s += ["writew 0xb8000 0x0741", "readw 0xb8000", "outb 0x3d4 0x0c", "inb 0x3d5"]
    s += ["# CVE-2017-13672: graphics mode, start address and line offset at their maxima"]
    s += seq(4, 0x06) + gr(5, 0x00) + gr(6, 0x05) + crt(0x13, 0xff) + crt(0x14, 0x40)
    s += crt(0x17, 0xe3) + crt(0x0c, 0xff) + crt(0x0d, 0xff)
    s += ["writeb 0xaffff 0x99", "readb 0xaffff"]
    s += ["# CVE-2017-13673: split screen (line compare) inside the picture, doubled scan"]
    s += crt(0x18, 0x10) + crt(0x07, 0x00) + crt(0x09, 0x80) + ["inb 0x3da"]
    s += ["# CVE-2018-7858: chain-4 256-colour, line offset smaller than a scanline"]
    s += seq(4, 0x0e) + gr(5, 0x40) + crt(0x13, 0x01) + crt(0x14, 0x40) + crt(0x01, 0xff)
    s += ["writel 0xa0000 0xdeadbeef", "readl 0xa0000"]
    s += ["# VBE on top with its own geometry, then off again"]
    s += enable(320, 200, 8, 0xc1) + vbe(8, 0xffff) + vbe(9, 0xffff) + vbe(4, 0x80)
    s += ["inb 0x3cc", "outb 0x3c4 0x04", "inb 0x3c5"]
    return s


PLANS = {"vbe": ("vbe-cve.qtest", plan_vbe, True), "vga": ("vga-cve.qtest", plan_vga, False)}
DM_ARGS = ["-M", "none", "-device", "i440fx", "-device", "stdvga,vram=16"]


def retrace(req):
    """The retrace status follows the clock: any value."""
    return "OK 0x[0-9a-f]{4}" if req == "inb 0x3da" else None


def record(reqs, own):
    if own:
        cmd = [own, "--qtest", "stdio", "--"] + DM_ARGS
        headers = ["# recorded with: hvmdm-qtest -- " + " ".join(DM_ARGS) +
                   " (tests/harness/scripts/vga-record.py; see there why not QEMU)",
                   "#! qemu: no"]
    else:
        cmd = QEMU
        headers = ["# recorded with: " + " ".join(QEMU) + " (tests/harness/scripts/vga-record.py)",
                   "#! qemu-args: -vga std -global VGA.vgamem_mb=16"]
    headers.append("#! dm-args: " + " ".join(DM_ARGS))
    return qr.record(cmd, reqs, headers, retrace)


def main():
    argv = sys.argv[1:]
    dm = None
    if "--dm" in argv:
        i = argv.index("--dm")
        dm = argv[i + 1]
        del argv[i:i + 2]
    args = [a for a in argv if not a.startswith("--")]
    rc = 0
    scripts = {}
    for name in args or list(PLANS):
        fname, fn, own = PLANS[name]
        if own and not dm:
            print("%s is recorded from hvmdm: give --dm PATH-TO-hvmdm-qtest" % fname)
            rc = 1
            continue
        scripts[fname] = lambda fn=fn, own=own: record(fn(), dm if own else None)
    return qr.main(scripts) or rc



if __name__ == "__main__":
    sys.exit(main())
