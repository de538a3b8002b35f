#!/usr/bin/env python3
"""The VNC server against real clients and hostile ones.  hvmdm runs under the
qtest harness with std VGA, a PS/2 controller, -vnc and -qmp; the test draws a
VBE picture through the harness, then:

  snapshot  vncsnapshot (RFB 3.3, lossless transfer) captures the screen and
            the capture matches QMP screendump (JPEG output: small tolerance);
  tigervnc  TigerVNC's vncviewer under Xvfb connects, the server logs the
            client, and the viewer window shows the picture;
  novnc     noVNC (Debian's copy) in headless Chromium connects over WebSocket
            to the RFB port and a key sent with rfb.sendKey reaches the guest's
            PS/2 keyboard (QEMU Extended Key Event -> set 2 scancodes);
  hostile   bad pixel formats, huge ClientCutText lengths, 65535 encodings and
            a client that never reads: other clients keep getting updates and
            hvmdm's resident memory stays bounded.

usage: vnc_clients.py HVMDM-QTEST MODE
Each mode prints SKIPPED and exits 77 when its client is not installed.
"""
import http.server
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import uitest as ut
from uitest import check

HARNESS = sys.argv[1]
MODE = sys.argv[2] if len(sys.argv) > 2 else "snapshot"


class Dm:
    """hvmdm with std VGA, PS/2, VNC and QMP under the harness."""

    def __init__(self, tmp, extra_env=None):
        self.disp = ut.free_display()
        self.port = 5900 + self.disp
        self.qmp_path = os.path.join(tmp, "qmp.sock")
        self.q = ut.Qtest(["-M", "none", "-name", "vnctest", "-device", "i440fx", "-device",
                           "stdvga", "-device", "i8042", "-vnc", "127.0.0.1:%d" % self.disp,
                           "-qmp", self.qmp_path], tmp)
        self.qmp = ut.Qmp(self.qmp_path)

    def log(self):
        self.q.log.flush()
        self.q.log.seek(0)
        return self.q.log.read()

    def close(self):
        self.q.close()


def screendump(dm, tmp):
    path = os.path.join(tmp, "dump.ppm")
    r = dm.qmp.cmd("screendump", filename=path)
    assert "return" in r, r
    with open(path, "rb") as f:
        return ut.read_pnm(f.read())


# ---- (a) vncsnapshot ----------------------------------------------------------

def mode_snapshot(tmp):
    ut.need("vncsnapshot", "jpegtopnm")
    dm = Dm(tmp)
    try:
        img = ut.test_pattern(320, 200)
        ut.draw_vbe_image(dm.q, img)
        w, h, dump = screendump(dm, tmp)
        check((w, h) == (320, 200) and ut.diff_stats(img, dump)[0] == 0,
              "screendump equals the drawn picture")
        out = os.path.join(tmp, "snap.jpg")
        r = subprocess.run(["vncsnapshot", "-nojpeg", "-quality", "100", "-allowblank",
                            "127.0.0.1:%d" % dm.disp, out], capture_output=True, timeout=60)
        check(r.returncode == 0 and os.path.exists(out),
              "vncsnapshot captured (rc %d: %s)" % (r.returncode, r.stderr.decode(errors="replace")[-200:]))
        if r.returncode != 0:
            return
        sw, sh, snap = ut.to_ppm(out, "jpegtopnm")
        check((sw, sh) == (w, h), "capture is %dx%d like the screendump" % (sw, sh))
        worst, mean = ut.diff_stats(dump, snap)
        # JPEG at quality 100 still subsamples chroma: sharp colour edges differ a little.
        check(mean < 2.0, "capture matches screendump (mean diff %.3f, max %d)" % (mean, worst))
        probes = [(5, 5), (300, 30), (160, 80), (120, 75), (10, 190), (310, 190)]
        bad = [(p, hex(dump[p[1]][p[0]]), hex(snap[p[1]][p[0]])) for p in probes
               if ut.diff_stats([[dump[p[1]][p[0]]]], [[snap[p[1]][p[0]]]])[0] > 24]
        check(not bad, "probe pixels agree within 24 (%s)" % bad)
        log = dm.log()
        check("127.0.0.1" in log and "client" in log.lower(), "server logged the client")
    finally:
        dm.close()


# ---- (b) TigerVNC ---------------------------------------------------------------

def mode_tigervnc(tmp):
    ut.need("Xvfb", "vncviewer", "xdotool", "xwd", "xwdtopnm")
    if b"TigerVNC" not in subprocess.run(["vncviewer", "-h"], capture_output=True).stderr + \
            subprocess.run(["vncviewer", "-h"], capture_output=True).stdout:
        ut.skip("vncviewer is not TigerVNC")
    xs = ut.Xvfb()
    dm = Dm(tmp)
    viewer = None
    try:
        img = ut.test_pattern(320, 200)
        ut.draw_vbe_image(dm.q, img)
        vlog_path = os.path.join(tmp, "vncviewer.log")
        vlog_file = open(vlog_path, "w")
        viewer = subprocess.Popen(["vncviewer", "-PreferredEncoding=ZRLE", "-AutoSelect=0",
                                   "-FullColor", "-Shared", "-RemoteResize=0",
                                   "127.0.0.1::%d" % dm.port], env=xs.env,
                                  stdout=vlog_file, stderr=subprocess.STDOUT)
        wid = None
        deadline = time.time() + 60  # a loaded host starts the viewer slowly
        while time.time() < deadline:
            ids = xs.run("xdotool", "search", "--name", "vnctest").stdout.split()
            if ids:
                wid = ids[-1].decode()
                break
            time.sleep(0.1)
        check(wid is not None, "vncviewer opened a window titled after the desktop name")
        if wid is None:
            vlog_file.flush()
            with open(vlog_path, errors="replace") as f:
                print("# vncviewer said:\n" + "".join("#   " + l for l in f.readlines()[-30:]))
            print("# windows: %s" % xs.run("xdotool", "search", "--name", ".").stdout)
            for wid_any in xs.run("xdotool", "search", "--name", ".").stdout.split():
                print("#   %s" % xs.run("xdotool", "getwindowname", wid_any).stdout)
            print("\n".join("# " + l for l in dm.log().splitlines()[-30:]))
            return
        matched = False
        stats = None
        deadline = time.time() + 60
        while time.time() < deadline:
            if wid is None:
                break
            r = xs.run("xdotool", "getwindowgeometry", "--shell", wid)
            g = dict(l.split("=", 1) for l in r.stdout.decode().split() if "=" in l)
            path = os.path.join(tmp, "root.xwd")
            xs.run("xwd", "-root", "-silent", "-out", path)
            _, _, root = ut.to_ppm(path, "xwdtopnm")
            x0, y0 = int(g.get("X", 0)), int(g.get("Y", 0))
            if int(g.get("WIDTH", 0)) >= 320 and int(g.get("HEIGHT", 0)) >= 200:
                stats = ut.diff_stats(img, root, x0, y0)
                if stats[0] == 0:
                    matched = True
                    break
            time.sleep(0.25)
        check(matched, "the TigerVNC window shows the picture exactly (%s)" % (stats,))
        # A change after connecting arrives too: the viewer keeps requesting updates.
        dm.q.cmd("memset 0x%x 1280 0" % (ut.LFB + 100 * 1280))  # row 100 black
        dm.q.cmd("clock_step 50000000")
        img[100] = [0] * 320
        updated = False
        deadline = time.time() + 60
        while time.time() < deadline:
            xs.run("xwd", "-root", "-silent", "-out", path)
            _, _, root = ut.to_ppm(path, "xwdtopnm")
            if ut.diff_stats(img, root, x0, y0)[0] == 0:
                updated = True
                break
            time.sleep(0.25)
        check(updated, "an update drawn later reaches the viewer")
        log = dm.log()
        vlog = [l for l in log.splitlines() if " vnc:" in l or "vnc " in l]
        print("\n".join("# " + l for l in vlog[-25:]))
        check(any("client 127.0.0.1" in l for l in vlog), "server log shows the TigerVNC client")
        check(any("ZRLE" in l for l in vlog), "server log shows the client asked for ZRLE updates")
        if ut.fails:
            vlog_file.flush()
            with open(vlog_path, errors="replace") as f:
                print("# vncviewer said:\n" + "".join("#   " + l for l in f.readlines()[-30:]))
    finally:
        if viewer:
            viewer.terminate()
            viewer.wait(timeout=10)
        dm.close()
        xs.close()


# ---- (c) noVNC in headless Chromium ------------------------------------------

PAGE = """<!doctype html><html><body><div id="screen"></div>
<script type="module">
import RFB from './novnc/core/rfb.js';
function report(what) { fetch('/report?' + encodeURIComponent(what)); }
try {
  const rfb = new RFB(document.getElementById('screen'), 'ws://127.0.0.1:%d');
  rfb.addEventListener('connect', () => {
    report('connected');
    // Give the server's Extended Key Event acknowledgement time to arrive.
    setTimeout(() => { rfb.sendKey(0x61, 'KeyA'); report('sent'); }, 1500);
  });
  rfb.addEventListener('disconnect', e => report('disconnected ' + e.detail.clean));
  rfb.addEventListener('desktopname', e => report('name ' + e.detail.name));
} catch (e) { report('error ' + e); }
</script></body></html>
"""


def mode_novnc(tmp):
    ut.need("chromium", "/usr/share/novnc/core/rfb.js")
    dm = Dm(tmp)
    www = os.path.join(tmp, "www")
    os.mkdir(www)
    os.symlink("/usr/share/novnc", os.path.join(www, "novnc"))
    with open(os.path.join(www, "test.html"), "w") as f:
        f.write(PAGE % dm.port)
    reports = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=www, **kw)

        def do_GET(self):
            if self.path.startswith("/report?"):
                reports.append(urllib.parse.unquote(self.path[8:]))
                self.send_response(204)
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    browser = None
    try:
        ut.draw_vbe_image(dm.q, ut.test_pattern(64, 48))
        ut.read_scancodes(dm.q)
        browser = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--user-data-dir=" + os.path.join(tmp, "profile"),
             "http://127.0.0.1:%d/test.html" % httpd.server_address[1]],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "chromium.log"), "w"))
        codes = []
        deadline = time.time() + 60
        while time.time() < deadline and len(codes) < 3:
            time.sleep(0.2)
            dm.q.cmd("clock_step 1000000")
            codes += ut.read_scancodes(dm.q)
        check("connected" in reports, "noVNC connected over WebSocket (%s)" % reports)
        check("name vnctest" in reports, "noVNC got the desktop name")
        check(codes[:3] == [0x1C, 0xF0, 0x1C],
              "rfb.sendKey('a') -> PS/2 scancodes %s" % [hex(c) for c in codes])
        check("websocket" in dm.log().lower(), "server log shows the WebSocket upgrade")
    finally:
        if browser:
            browser.terminate()
            try:
                browser.wait(timeout=10)
            except subprocess.TimeoutExpired:
                browser.kill()
        httpd.shutdown()
        dm.close()


# ---- (d) hostile clients ------------------------------------------------------

def raw_client(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    ut.vnc_rfb.recv_exact(s, 12)
    s.sendall(b"RFB 003.008\n")
    n = ut.vnc_rfb.recv_exact(s, 1)[0]
    ut.vnc_rfb.recv_exact(s, n)
    s.sendall(b"\x01")
    ut.vnc_rfb.recv_exact(s, 4)
    s.sendall(b"\x01")
    ut.vnc_rfb.recv_exact(s, 4 + 16)
    ut.vnc_rfb.recv_exact(s, struct.unpack(">I", ut.vnc_rfb.recv_exact(s, 4))[0])
    return s


def pixel_format(bpp, depth, true_colour, rmax, gmax, bmax):
    return struct.pack(">BxxxBBBBHHHBBBxxx", 0, bpp, depth, 0, true_colour, rmax, gmax, bmax,
                       16, 8, 0)


def send_quietly(s, data):
    try:
        s.sendall(data)
    except OSError:
        pass


def good_client_sees(dm, good, x, y, colour):
    dm.q.cmd("writel 0x%x 0x%x" % (ut.LFB + (y * 320 + x) * 4, colour))
    dm.q.cmd("clock_step 50000000")
    deadline = time.time() + 15
    good.request(1)
    while time.time() < deadline and good.fb.get((x, y)) != colour:
        good.read_update()
        if good.fb.get((x, y)) != colour:
            good.request(1)
    return good.fb.get((x, y)) == colour


def mode_hostile(tmp):
    dm = Dm(tmp)
    try:
        ut.draw_vbe_image(dm.q, ut.test_pattern(320, 200))
        pid = ut.dm_pid(dm.q)
        good = ut.Rfb(dm.port, b"003.008")
        good.set_encodings([0, -223])
        good.request(0)
        deadline = time.time() + 15
        while time.time() < deadline and len(good.fb) < 320 * 200:
            good.read_update()
        check(len(good.fb) == 320 * 200, "good client has the full picture")
        rss0 = ut.vmrss_kb(pid) if pid else 0

        # Bad pixel formats: 0 and 7 bits per pixel, zero colour maxima.
        for fmt, what in ((pixel_format(0, 0, 1, 255, 255, 255), "bpp 0"),
                          (pixel_format(7, 7, 1, 255, 255, 255), "bpp 7"),
                          (pixel_format(32, 24, 1, 0, 0, 0), "zero max colour"),
                          (pixel_format(16, 16, 1, 0, 0, 0), "16 bpp zero max")):
            s = raw_client(dm.port)
            send_quietly(s, fmt)
            send_quietly(s, struct.pack(">BBHHHH", 3, 0, 0, 0, 320, 200))
            time.sleep(0.3)
            s.close()
            check(good_client_sees(dm, good, 1, 1, 0x010203 + len(what)),
                  "after a client with %s, the good client still gets updates" % what)

        # Huge ClientCutText lengths (the body never comes).
        for length in (0xFFFFFFFF, 0x7FFFFFFF, 0x10000000):
            s = raw_client(dm.port)
            send_quietly(s, struct.pack(">BxxxI", 6, length) + b"x" * 4096)
            time.sleep(0.3)
            s.close()
        # Extended clipboard form: negative length.
        s = raw_client(dm.port)
        send_quietly(s, struct.pack(">Bxxxi", 6, -0x7FFFFFFF) + b"\0" * 64)
        time.sleep(0.3)
        s.close()
        check(good_client_sees(dm, good, 2, 2, 0x445566), "after huge ClientCutText lengths")

        # SetEncodings with 65535 entries (all Raw, plus junk).
        s = raw_client(dm.port)
        send_quietly(s, struct.pack(">BxH", 2, 65535) +
                     b"".join(struct.pack(">i", (i * 7919) - 400) for i in range(65535)))
        send_quietly(s, struct.pack(">BBHHHH", 3, 0, 0, 0, 320, 200))
        time.sleep(0.5)
        s.close()
        check(good_client_sees(dm, good, 3, 3, 0x778899), "after SetEncodings with 65535 entries")

        # A client that asks for full updates and never reads, while we keep drawing.
        stuck = raw_client(dm.port)
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        send_quietly(stuck, struct.pack(">BxH", 2, 1) + struct.pack(">i", 0))
        ok = True
        for i in range(40):
            send_quietly(stuck, struct.pack(">BBHHHH", 3, 0, 0, 0, 320, 200))
            dm.q.cmd("memset 0x%x %d %d" % (ut.LFB + (20 + i) * 1280, 1280, (i * 37) & 255))
            if i % 8 == 7:
                ok = ok and good_client_sees(dm, good, 4 + i // 8, 4, 0x100000 + i)
        check(ok, "a good client keeps getting updates while another never reads")
        rss1 = ut.vmrss_kb(pid) if pid else 0
        stuck.close()
        check(good_client_sees(dm, good, 9, 9, 0xabcdef), "good client works after all of it")
        print("VmRSS of hvmdm: %d kB before the hostile clients, %d kB after" % (rss0, rss1))
        check(pid is not None and rss1 - rss0 < 64 * 1024,
              "hvmdm resident memory grew by %d kB (< 64 MiB)" % (rss1 - rss0))
        check(dm.q.cmd("inb 0xe7") is not None, "dm alive")
    finally:
        dm.close()


def main():
    modes = {"snapshot": mode_snapshot, "tigervnc": mode_tigervnc, "novnc": mode_novnc,
             "hostile": mode_hostile}
    if MODE not in modes:
        print("unknown mode %s (%s)" % (MODE, ", ".join(modes)))
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        modes[MODE](tmp)
    return ut.finish()


if __name__ == "__main__":
    sys.exit(main())
