#!/usr/bin/env python3
"""Real clients see a real guest's screen.  The guest kit boots under hvmctl
(accel=emu by default, $HVM_BOOT_ACCEL) with VNC on, running the guest
init's display scenario, which holds at each stage until the host presses a
key (hvmctl sendkey):

  display-bios     the SeaBIOS text screen (the kernel was told not to use tty0)
  display-text     the Linux VGA text console (vgacon) showing
                   "HVM-DISPLAY <token>" (a token chosen here) and printable ASCII
  display-pattern  the DRM driver's framebuffer (cirrus: Linux's cirrus DRM
                   driver, stdvga: bochs) filled by `dd` with a pattern made at
                   kit build time

At each text stage `vncsnapshot` (RFB 3.3) captures the screen and
`hvmctl screendump` saves it; the text of both is read back by matching
each 9x16 cell against the 8x16 font in the VGA BIOS ROM that SeaBIOS loads
(no OCR): the screendump must show the expected text, the vncsnapshot
capture must read the same, and a Raw RFB capture must equal the
screendump pixel for pixel.  At the pattern stage a client connected since
the BIOS screen must have received DesktopSize with the new mode, and a Raw
capture in the framebuffer's own pixel format (565 for 16 bpp) must equal
the pattern byte for byte, as must the screendump.

usage: vnc_guest.py BUILD_DIR cirrus|stdvga
Exit 77 (SKIPPED) without the guest kit, vncsnapshot or the accelerator.
"""
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfbclient  # noqa: E402
import uitest as ut  # noqa: E402
from uitest import check  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
CARD = sys.argv[2] if len(sys.argv) > 2 else "cirrus"
ACCEL = os.environ.get("HVM_BOOT_ACCEL", "emu")
HVMCTL = os.path.join(BUILD, "bin", "hvmctl")
KIT = os.path.join(BUILD, "guest")
ROMS = {"cirrus": "/usr/share/seabios/vgabios-cirrus.bin",
        "stdvga": "/usr/share/seabios/vgabios-stdvga.bin"}
DRM = {"cirrus": "cirrus", "stdvga": "bochs"}
TIMEOUT = int(os.environ.get("HVM_BOOT_TIMEOUT", "840"))
DEADLINE = time.time() + TIMEOUT


def fbtile():
    """The 4093-byte tile tests/guest/build.sh puts in /share/fbtile.bin."""
    s, out = 2026, bytearray()
    for _ in range(4093):
        s = (s * 1103515245 + 12345) & 0xffffffff
        out.append(s >> 16 & 0xff)
    return bytes(out)


# ---- text from pixels -----------------------------------------------------

def rom_font(path):
    """The 8x16 font table of a VGA BIOS image: 256 glyphs of 16 bytes, found
    by its shape (glyphs 0x00 and 0x20 empty, 0xDB the full block)."""
    rom = open(path, "rb").read()
    for f in range(0, len(rom) - 4096):
        if rom[f + 0xdb * 16:f + 0xdc * 16] == b"\xff" * 16 and rom[f:f + 16] == b"\0" * 16 \
                and rom[f + 0x200:f + 0x210] == b"\0" * 16:
            return [rom[f + c * 16:f + c * 16 + 16] for c in range(256)]
    return None


def glyph_key(glyph, c):
    """The 9x16 cell of character c as 16 row bitmasks (9-dot mode: column 9
    repeats column 8 only for the line-drawing characters 0xC0-0xDF)."""
    rows = []
    for b in glyph:
        v = b << 1
        if 0xc0 <= c <= 0xdf:
            v |= b & 1
        rows.append(v)
    return tuple(rows)


def cell_table(font):
    table = {}
    for c in list(range(0x20, 0x7f)) + [0xc4, 0xcd, 0xdb]:
        table.setdefault(glyph_key(font[c], c), chr(c) if c < 0x7f else "#")
    return table


def decode_text(w, h, rows, table):
    """Read an 80x25 9x16 text screen: a cell is lit where a pixel is bright;
    cells that match no glyph read '?'."""
    cols, lines = w // 9, h // 16
    out = []
    for cy in range(lines):
        line = []
        for cx in range(cols):
            key = []
            for y in range(16):
                row = rows[cy * 16 + y]
                v = 0
                for x in range(9):
                    p = row[cx * 9 + x]
                    lum = ((p >> 16) & 255) + ((p >> 8) & 255) + (p & 255)
                    v = v << 1 | (lum > 3 * 0x50)
                key.append(v)
            line.append(table.get(tuple(key), "?"))
        out.append("".join(line).rstrip())
    return out


def cursor_only(a, b):
    """True if pictures a and b (rows of pixels, 9x16 cells) differ at most in
    the lower scan lines (12-15) of one cell: the blinking text cursor,
    which SeaBIOS leaves on and which the two captures may catch in
    different phases."""
    cells = set()
    for y, (ra, rb) in enumerate(zip(a, b)):
        for x, (pa, pb) in enumerate(zip(ra, rb)):
            if pa != pb:
                if y % 16 < 12:
                    return False
                cells.add((x // 9, y // 16))
    return len(cells) <= 1


def same_text(ta, tb, cursor):
    """Decoded screens equal, or (cursor) equal but for one cell read '?' on one side."""
    if ta == tb:
        return True
    if not cursor or len(ta) != len(tb):
        return False
    diffs = []
    for la, lb in zip(ta, tb):
        la, lb = la.ljust(80), lb.ljust(80)
        diffs += [(ca, cb) for ca, cb in zip(la, lb) if ca != cb]
    return len(diffs) == 1 and "?" in diffs[0]


def rows_from_rfb(w, h, data):
    """32-bpp little-endian x888 RFB pixels -> rows of 0xRRGGBB."""
    px = struct.unpack("<%dI" % (w * h), data)
    return [[v & 0xffffff for v in px[y * w:(y + 1) * w]] for y in range(h)]


# ---- the domain ----------------------------------------------------------

class Guest:
    def __init__(self, tmp, token):
        self.tmp = tmp
        self.name = "dsp%s%d" % (CARD, os.getpid() % 1000)
        self.serial = os.path.join(tmp, "serial")
        self.rundir = os.path.join(tmp, "run")
        extra = ("console=ttyS0,115200 hvm.scenario=display hvm.modules=none "
                 "hvm.display_token=%s hvm.display_drm=%s hvm.display_pause=240" %
                 (token, DRM[CARD]))
        cfg = {"name": '"%s"' % self.name, "builder": '"hvm"', "memory": 256, "vcpus": 1,
               "accel": '"%s"' % ACCEL, "serial": '"file:%s"' % self.serial,
               "vnc": 1, "vncunused": 1, "vnclisten": '"127.0.0.1"',
               "stdvga": 1 if CARD == "stdvga" else 0,
               "kernel": '"%s/vmlinuz-686"' % KIT, "ramdisk": '"%s/initrd.gz"' % KIT,
               "extra": '"%s"' % extra, "on_poweroff": '"destroy"', "on_reboot": '"destroy"',
               "on_crash": '"destroy"'}
        path = os.path.join(tmp, "guest.cfg")
        with open(path, "w") as f:
            for k, v in cfg.items():
                f.write("%s = %s\n" % (k, v))
        self.log = open(os.path.join(tmp, "create.log"), "w+")
        self.proc = subprocess.Popen([HVMCTL, "--rundir", self.rundir, "create", "-F", path],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def ctl(self, *args, timeout=60):
        return subprocess.run([HVMCTL, "--rundir", self.rundir] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def marks(self):
        try:
            with open(self.serial, errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            return []
        # Only whole lines: the guest may be half-way through writing the last one.
        text = text[:text.rfind("\n") + 1]
        return [l.split()[1:] for l in text.splitlines() if l.startswith("HVM-MARK ")]

    def wait_mark(self, what):
        while time.time() < DEADLINE:
            for m in self.marks():
                if m and m[0] == what:
                    return m[1:]
            if self.proc.poll() is not None:
                return None
            time.sleep(0.2)
        return None

    def port(self):
        for _ in range(100):
            r = self.ctl("vncport", self.name)
            if r.returncode == 0 and ":" in r.stdout:
                return int(r.stdout.strip().rsplit(":", 1)[1])
            time.sleep(0.2)
        return None

    def screendump(self, tag):
        path = os.path.join(self.tmp, tag + ".ppm")
        r = self.ctl("screendump", self.name, path)
        if r.returncode != 0:
            check(False, "hvmctl screendump: %s" % (r.stdout + r.stderr).strip())
            return None
        with open(path, "rb") as f:
            return ut.read_pnm(f.read())

    def release(self):
        self.ctl("sendkey", self.name, "ret")

    def close(self):
        if self.proc.poll() is None:
            self.ctl("destroy", self.name)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.seek(0)
        print("".join("# " + l for l in self.log.read().splitlines(True)[-10:]))


def text_stage(g, port, table, tag, cursor=False):
    """Screendump, vncsnapshot and a Raw capture of a text screen; returns the
    text read from the screendump (None if it could not be taken)."""
    dump = g.screendump(tag)
    snap_path = os.path.join(g.tmp, tag + ".jpg")
    r = subprocess.run(["vncsnapshot", "-nojpeg", "-quality", "100", "-allowblank",
                        "127.0.0.1:%d" % (port - 5900), snap_path],
                       capture_output=True, timeout=120)
    c = rfbclient.Rfb(port)
    try:
        rw, rh, raw = c.capture()
    finally:
        c.close()
    dump2 = g.screendump(tag + "-after")
    if dump is None:
        return None
    w, h, rows = dump
    check((w, h) == (720, 400), "%s: screendump is the 720x400 text mode (%dx%d)" % (tag, w, h))
    check(dump2 is not None and (dump2[2] == rows or (cursor and cursor_only(dump2[2], rows))),
          "%s: the screen held still while captured%s" % (tag, " (but the cursor)" if cursor else ""))
    text = decode_text(w, h, rows, table)
    print("\n".join("#  |%s" % l for l in text[:6]))
    check(r.returncode == 0 and os.path.exists(snap_path),
          "%s: vncsnapshot captured (rc %d %s)" % (tag, r.returncode,
                                                    r.stderr.decode(errors="replace")[-200:]))
    if r.returncode == 0:
        sw, sh, snap = ut.to_ppm(snap_path, "jpegtopnm")
        check((sw, sh) == (w, h), "%s: vncsnapshot image is %dx%d" % (tag, sw, sh))
        if (sw, sh) == (w, h):
            stext = decode_text(sw, sh, snap, table)
            check(same_text(stext, text, cursor),
                  "%s: vncsnapshot shows the same text as the screendump%s" %
                  (tag, " (but the cursor cell)" if cursor else ""))
            worst, mean = ut.diff_stats(rows, snap)
            check(mean < 2.0, "%s: vncsnapshot matches the screendump (mean diff %.3f, max %d)" %
                  (tag, mean, worst))
    rrows = rows_from_rfb(rw, rh, raw) if (rw, rh) == (w, h) else None
    check(rrows is not None and (rrows == rows or (cursor and cursor_only(rrows, rows))),
          "%s: Raw RFB capture equals the screendump pixel for pixel%s" %
          (tag, " (but the blinking cursor)" if cursor else ""))
    return text


def pattern_stage(g, port, geometry, watcher):
    name, xres, yres, bpp, stride = geometry[0], int(geometry[1]), int(geometry[2]), \
        int(geometry[3]), int(geometry[4])
    check(xres > 0 and yres > 0 and bpp in (16, 24, 32) and stride >= xres * bpp // 8,
          "fb0 %s: %dx%d, %d bpp, stride %d" % (name, xres, yres, bpp, stride))
    want = {"cirrus": "cirrus", "stdvga": "bochs"}[CARD]
    check(want in name, "fb0 belongs to the %s DRM driver (%s)" % (want, name))
    if not (xres and yres and bpp in (16, 32)):
        return
    tile = fbtile()
    # Let the refresh timer and the watcher see the last damage first.
    time.sleep(2)
    sizes = list(watcher.c.sizes)
    check((xres, yres) in sizes, "DesktopSize %dx%d reached the client connected since the "
          "BIOS screen (sizes seen: %s)" % (xres, yres, sizes))
    check(watcher.error is None, "the watching client kept its connection (%s)" % watcher.error)
    c = rfbclient.Rfb(port, bpp=bpp)
    try:
        w, h, raw = c.capture()
    finally:
        c.close()
    check((w, h) == (xres, yres), "capture size %dx%d is the mode" % (w, h))
    if (w, h) != (xres, yres):
        return
    bypp = bpp // 8
    mask = 0xffff if bpp == 16 else 0xffffff
    bad = 0
    first = None
    fmt = "<%d%s" % (xres, "H" if bpp == 16 else "I")
    for y in range(yres):
        o = y * stride
        need = bytes(tile[(o + i) % 4093] for i in range(xres * bypp))
        got = struct.unpack(fmt, raw[y * xres * bypp:(y + 1) * xres * bypp])
        exp = struct.unpack(fmt, need)
        for x in range(xres):
            if (got[x] ^ exp[x]) & mask:
                bad += 1
                if first is None:
                    first = (x, y, hex(got[x] & mask), hex(exp[x] & mask))
    check(bad == 0, "VNC capture (%d bpp client format) equals the guest's pattern pixel for "
          "pixel (%d differ, first %s)" % (bpp, bad, first))
    dump = g.screendump("pattern")
    if dump:
        dw, dh, rows = dump
        bad = 0
        for y in range(min(dh, yres)):
            o = y * stride
            for x in range(min(dw, xres)):
                p = rows[y][x]
                if bpp == 16:
                    v = tile[(o + 2 * x) % 4093] | tile[(o + 2 * x + 1) % 4093] << 8
                    q = (p >> 19 & 31) << 11 | (p >> 10 & 63) << 5 | (p >> 3 & 31)
                else:
                    v = tile[(o + 4 * x) % 4093] | tile[(o + 4 * x + 1) % 4093] << 8 | \
                        tile[(o + 4 * x + 2) % 4093] << 16
                    q = p
                bad += q != v
        check((dw, dh) == (xres, yres) and bad == 0,
              "screendump %dx%d equals the pattern (%d pixels differ)" % (dw, dh, bad))


def main():
    if not os.path.exists(os.path.join(KIT, "initrd.gz")):
        ut.skip("guest kit not built (tests/guest/build.sh %s/guest)" % BUILD)
    ut.need("vncsnapshot", "jpegtopnm")
    r = subprocess.run([os.path.join(BUILD, "bin", "hvmhv"), "-check-accel", ACCEL],
                       capture_output=True, text=True)
    if r.returncode != 0:
        ut.skip("hvmhv cannot run accel=%s: %s" % (ACCEL, (r.stdout + r.stderr).strip()))
    font = rom_font(ROMS[CARD])
    if font is None:
        ut.skip("no 8x16 font found in %s" % ROMS[CARD])
    table = cell_table(font)
    token = "t%08x" % random.getrandbits(32)
    tmp = tempfile.mkdtemp(prefix="vncguest-")
    g = Guest(tmp, token)
    watcher = None
    try:
        port = g.port()
        check(port is not None, "hvmctl vncport names the VNC port (%s)" % port)
        if port is None:
            return
        watcher = rfbclient.Watcher(port)
        watcher.start()
        check(g.wait_mark("display-bios") is not None, "guest reached the display scenario")
        text = text_stage(g, port, table, "bios", cursor=True)
        if text:
            check(text[0].startswith("SeaBIOS (version "),
                  "screen shows SeaBIOS's banner: %r" % text[0])
        g.release()
        check(g.wait_mark("display-text") is not None, "guest wrote its text console")
        text = text_stage(g, port, table, "text")
        if text:
            ascii_line = "".join(chr(c) for c in range(32, 127))
            check(text[0] == "HVM-DISPLAY " + token, "row 0 reads %r" % text[0])
            check(text[1] == ascii_line[:80] and text[2] == ascii_line[80:],
                  "rows 1-2 read printable ASCII: %r %r" % (text[1], text[2]))
            check(all(not l for l in text[3:]), "the rest of the console is blank")
        g.release()
        geometry = g.wait_mark("display-fb")
        check(geometry is not None and len(geometry) == 5, "fb0 geometry: %s" % geometry)
        check(g.wait_mark("display-pattern") is not None, "guest drew its pattern")
        if geometry and len(geometry) == 5:
            pattern_stage(g, port, geometry, watcher)
        g.release()
        check(g.wait_mark("poweroff") is not None, "guest powered off")
    finally:
        if watcher:
            watcher.stop()
        g.close()
        if not ut.fails:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("# kept %s" % tmp)
    sys.exit(ut.finish())


if __name__ == "__main__":
    main()
