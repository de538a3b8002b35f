"""Shared pieces of the front-end interop tests (SDL window, real VNC clients):
hvmdm under the qtest harness (Qtest from vnc_rfb.py), a VBE picture drawn
row by row, Xvfb, a QMP client for screendump, and PPM reading through
netpbm's converters.  Tests that lack a tool call skip(), which prints
SKIPPED and exits 77.
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vnc_rfb  # noqa: E402  (Qtest, Rfb, free_display, read_scancodes)

Qtest = vnc_rfb.Qtest
Rfb = vnc_rfb.Rfb
free_display = vnc_rfb.free_display
read_scancodes = vnc_rfb.read_scancodes

LFB = 0xE0000000
fails = 0


def check(cond, what):
    global fails
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails += 1


def skip(why):
    print("SKIPPED: %s" % why, flush=True)
    sys.exit(77)


def need(*tools):
    for t in tools:
        if not shutil.which(t) and not os.path.exists(t):
            skip("%s not installed (see scripts/setup-deps.sh)" % t)


def finish():
    print("%d failures" % fails)
    return 1 if fails else 0


def test_pattern(w, h):
    """A picture with edges and distinct colours: four bands, a gradient, a box."""
    img = []
    for y in range(h):
        row = []
        for x in range(w):
            band = (y * 4) // h
            if w // 3 <= x < w // 3 + 24 and h // 3 <= y < h // 3 + 24:
                v = 0xFFFFFF
            elif band == 0:
                v = 0xFF0000
            elif band == 1:
                v = 0x00C000
            elif band == 2:
                v = 0x0000FF
            else:
                g = (x * 255) // (w - 1)
                v = (g << 16) | (g << 8) | g
            row.append(v)
        img.append(row)
    return img


def draw_vbe_image(q, img):
    """Program a VBE mode through the Bochs dispi ports and write the picture into the LFB."""
    h, w = len(img), len(img[0])
    q.cmd("outl 0xcf8 0x80001010")  # 00:02.0 BAR0 = LFB
    q.cmd("outl 0xcfc 0x%x" % LFB)
    q.cmd("outl 0xcf8 0x80001004")
    q.cmd("outw 0xcfc 0x3")
    for idx, val in ((4, 0), (1, w), (2, h), (3, 32), (4, 0x41)):
        q.cmd("outw 0x1ce %d" % idx)
        q.cmd("outw 0x1cf %d" % val)
    for y, row in enumerate(img):
        data = b"".join(struct.pack("<I", v) for v in row)
        r = q.cmd("b64write 0x%x %d %s" % (LFB + y * w * 4, len(data),
                                           base64.b64encode(data).decode()))
        assert r.startswith("OK"), r
    q.cmd("clock_step 50000000")  # one console refresh
    q.cmd("clock_step 50000000")


class Xvfb:
    def __init__(self, w=1024, h=768):
        need("Xvfb")
        # -displayfd: Xvfb picks a free display itself (no race between parallel tests).
        # -noreset: by default Xvfb resets when its last client leaves and refuses
        # connections for that moment (a viewer started then cannot open the display).
        self.errlog = tempfile.TemporaryFile()
        rfd, wfd = os.pipe()
        self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-screen", "0",
                                      "%dx%dx24" % (w, h), "-nolisten", "tcp", "-noreset"],
                                     stdout=subprocess.DEVNULL, stderr=self.errlog,
                                     pass_fds=(wfd,))
        os.close(wfd)
        with os.fdopen(rfd) as f:
            num = f.readline().strip()
        if not num:
            raise RuntimeError("Xvfb did not start: %s" % self.said())
        self.display = ":" + num
        self.env = dict(os.environ, DISPLAY=self.display)
        self.wait_ready()

    def said(self):
        self.errlog.seek(0)
        return self.errlog.read().decode(errors="replace")[-2000:]

    def wait_ready(self):
        """Clients must be able to connect before the test starts one."""
        for _ in range(100):
            if self.run("xdpyinfo").returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("Xvfb %s takes no clients (exit %s): %s" %
                           (self.display, self.proc.poll(), self.said()))

    def run(self, *args, **kw):
        return subprocess.run(list(args), env=self.env, capture_output=True, timeout=30, **kw)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Qmp:
    def __init__(self, path):
        # The dm may be slow to start under a loaded machine: retry with a fresh socket.
        for _ in range(300):
            self.s = socket.socket(socket.AF_UNIX)
            try:
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                time.sleep(0.1)
        else:
            raise RuntimeError("QMP socket %s never accepted" % path)
        self.f = self.s.makefile("rwb")
        json.loads(self.f.readline())  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "return" in r or "error" in r:
                return r


def read_pnm(data):
    """(width, height, rows of 0xRRGGBB) from a binary P6 PPM."""
    parts = []
    pos = 0
    while len(parts) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        parts.append(data[pos:end])
        pos = end
    pos += 1
    assert parts[0] == b"P6", parts[0]
    w, h, maxval = int(parts[1]), int(parts[2]), int(parts[3])
    if maxval > 255:  # 16-bit samples, big-endian: scale to 8 bits
        n = w * h * 3
        samples = struct.unpack(">%dH" % n, data[pos:pos + 2 * n])
        px = bytes((v * 255 + maxval // 2) // maxval for v in samples)
    elif maxval != 255:
        px = bytes((v * 255 + maxval // 2) // maxval for v in data[pos:pos + w * h * 3])
    else:
        px = data[pos:pos + w * h * 3]
    rows = []
    for y in range(h):
        o = y * w * 3
        rows.append([(px[o + 3 * x] << 16) | (px[o + 3 * x + 1] << 8) | px[o + 3 * x + 2]
                     for x in range(w)])
    return w, h, rows


def to_ppm(path, converter):
    need(converter)
    out = subprocess.run([converter, path], capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("%s failed: %s" % (converter, out.stderr.decode(errors="replace")))
    return read_pnm(out.stdout)


def diff_stats(a, b, x0=0, y0=0):
    """(max, mean) per-channel difference of picture a against b cropped at (x0, y0)."""
    worst = total = n = 0
    for y, row in enumerate(a):
        brow = b[y0 + y]
        for x, v in enumerate(row):
            u = brow[x0 + x]
            for sh in (16, 8, 0):
                d = abs(((v >> sh) & 255) - ((u >> sh) & 255))
                worst = max(worst, d)
                total += d
                n += 1
    return worst, total / max(n, 1)


def vmrss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def dm_pid(q):
    """The hvmdm child of the harness."""
    out = subprocess.run(["pgrep", "-P", str(q.proc.pid)], capture_output=True, text=True)
    pids = [int(p) for p in out.stdout.split()]
    return pids[0] if pids else None
