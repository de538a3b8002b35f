#!/usr/bin/env python3
"""bench/display: the display path seen by a VNC client, side by side with
QEMU's VNC server on the same guest and accelerator class.

usage: display.py [--build DIR] [--accel emu|kvm] [--card cirrus|stdvga]
                  [--lines N] [--frames N] [--timeout S] [--help]

Guest: the guest kit (tests/guest/build.sh BUILD/guest), direct kernel boot,
the init's display scenario without holds: it scrolls N lines through the
Linux VGA text console (vgacon), loads the DRM driver (cirrus or bochs),
then writes N full-screen frames to /dev/fb0 with dd, alternating two
patterns, and reports the bytes and its own time for them (microseconds
from the guest's monotonic clock, now_us in tests/guest/init; it used
/proc/uptime's 10 ms steps before).
Ours: hvmctl create (accel as given, VNC on 127.0.0.1).  Reference:
qemu-system-i386 -accel tcg (against emu) or -enable-kvm (against kvm),
-vga cirrus|std, -vnc 127.0.0.1:N, same kernel, initramfs and command line.
One RFB client (tests/interop/rfbclient.py: ZRLE + DesktopSize, 32 bpp,
one incremental request outstanding) is connected from the start.

Output (DESIGN.md section 6), for each of ours and qemu_*:
  BENCH text_fps <updates/s> fps          updates received while scrolling
  BENCH text_kbytes_per_s <KB/s> KB/s     bytes received while scrolling
  BENCH text_bytes_per_line <B> B         bytes received per scrolled line
  BENCH text_bytes_per_update <B> B       bytes per update while scrolling
  BENCH text_guest_s <s> s                the guest's own time for the scrolling
  BENCH gfx_fps <updates/s> fps           updates received while drawing frames
  BENCH gfx_kbytes_per_frame <KB> KB      bytes received per frame drawn
  BENCH gfx_kbytes_per_update <KB> KB     bytes per update while drawing
  BENCH fb_write_mb_s <MB/s> MB/s         the guest's dd bandwidth to /dev/fb0
and the ratios ours/QEMU:
  BENCH text_fps_ratio, gfx_fps_ratio, fb_write_ratio     higher is better
  BENCH text_bytes_ratio, gfx_bytes_ratio                 lower is better
  BENCH text_update_bytes_ratio, gfx_update_bytes_ratio   lower is better
  BENCH text_guest_s_ratio                                lower is better (the
        guest's own time for the scroll; the text window is guest memory
        while it decodes simply, hw/vga/vga_mirror.c)
The guest CPUs differ in speed (our emu vs TCG): a slower guest spreads
the same output over more refresh periods, so updates per second, bytes per
line and bytes per frame all follow the guest's speed as well as the
server's; bytes per update compare the encoders more directly.

fb_write under emu (guest EIP sampled during the frames, cirrus at 1024x768
16 bpp): the guest's stores into VRAM (memcpy_toio from the fbdev shadow,
through the direct mapping, no traps) are about 1% of its time and it never
halts; page faults and page allocation for dd's buffer, reads from tmpfs
and the copy into the shadow buffer make up the rest, so the ratio follows
the software CPU's speed.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "interop"))
import rfbclient  # noqa: E402

DRM = {"cirrus": "cirrus", "stdvga": "bochs"}


def append(a):
    return ("console=ttyS0,115200 hvm.scenario=display hvm.modules=none hvm.display_pause=0 "
            "hvm.display_scroll=%d hvm.display_drm=%s hvm.display_frames=%d" %
            (a.lines, DRM[a.card], a.frames))


def free_port():
    for disp in range(40, 99):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", 5900 + disp))
            return disp
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free VNC port")


def marks(path):
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    # Only whole lines: the guest may be half-way through writing the last
    # one, and a mark read then ("display-scroll done 20" of 2012345) would
    # stick, since each mark counts once.
    text = text[:text.rfind("\n") + 1]
    return [l.split()[1:] for l in text.splitlines() if l.startswith("HVM-MARK ")]


def connect(port, proc, timeout=60):
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        try:
            w = rfbclient.Watcher(port, 32, (rfbclient.ZRLE, rfbclient.DESKTOPSIZE))
            w.start()
            return w
        except (OSError, ConnectionError):
            time.sleep(0.1)
    return None


def measure(serial, proc, port, timeout):
    """Watch the marks; returns the figures of one run (or None)."""
    w = connect(port, proc)
    if not w:
        return None
    seen = {}
    end = time.time() + timeout

    def poll():
        for m in marks(serial):
            key = " ".join(m[:2]) if m and m[0] == "display-scroll" else (m[0] if m else "")
            if key and key not in seen:
                seen[key] = (time.time(), m)
    try:
        while time.time() < end and proc.poll() is None:
            poll()
            if "display-bw" in seen or "poweroff" in seen:
                break
            time.sleep(0.05)
        poll()
        time.sleep(1.0)  # the last frames' updates
    finally:
        w.stop()
    need = ("display-scroll start", "display-scroll done", "display-pattern", "display-bw")
    if any(k not in seen for k in need):
        print("# marks seen: %s" % sorted(seen), file=sys.stderr)
        return None
    t0, t1 = seen["display-scroll start"][0], seen["display-scroll done"][0]
    g0, g1 = seen["display-pattern"][0], seen["display-bw"][0]
    tu, tb = w.counts_between(t0, t1 + 0.5)
    gu, gb = w.counts_between(g0, g1 + 0.5)
    bw = seen["display-bw"][1]
    fbbytes, us = int(bw[1]), max(int(bw[2]), 1)
    scroll_us = max(int(seen["display-scroll done"][1][2]), 1)
    return {
        "text_fps": tu / max(t1 - t0, 0.01),
        "text_kbytes_per_s": tb / 1024.0 / max(t1 - t0, 0.01),
        "text_bytes_per_line": tb / float(max(1, LINES[0])),
        "text_guest_s": scroll_us / 1e6,
        "text_bytes_per_update": tb / float(max(1, tu)),
        "gfx_fps": gu / max(g1 - g0, 0.01),
        "gfx_kbytes_per_update": gb / 1024.0 / max(1, gu),
        "gfx_kbytes_per_frame": gb / 1024.0 / max(1, FRAMES[0]),
        "fb_write_mb_s": fbbytes / 1e6 / (us / 1e6),
        "vnc_error": str(w.error) if w.error and proc.poll() is None else "",
    }


LINES = [0]
FRAMES = [0]


def run_ours(a, kit, tmp):
    serial = os.path.join(tmp, "ours.serial")
    disp = free_port()
    cfg = os.path.join(tmp, "ours.cfg")
    with open(cfg, "w") as f:
        f.write('name = "benchdisplay"\nbuilder = "hvm"\nmemory = 256\naccel = "%s"\n'
                'vnc = 1\nvnclisten = "127.0.0.1"\nvncdisplay = %d\nvncunused = 0\nstdvga = %d\n'
                'serial = "file:%s"\nkernel = "%s/vmlinuz-686"\nramdisk = "%s/initrd.gz"\n'
                'extra = "%s"\non_poweroff = "destroy"\n' %
                (a.accel, disp, a.card == "stdvga", serial, kit, kit, append(a)))
    hvmctl = [os.path.join(a.build, "bin", "hvmctl"), "--rundir", os.path.join(tmp, "run")]
    p = subprocess.Popen(hvmctl + ["create", "-F", cfg], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        return measure(serial, p, 5900 + disp, a.timeout)
    finally:
        if p.poll() is None:
            subprocess.run(hvmctl + ["destroy", "benchdisplay"], capture_output=True)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()


def run_qemu(a, kit, tmp):
    serial = os.path.join(tmp, "qemu.serial")
    disp = free_port()
    accel = ["-accel", "tcg"] if a.accel == "emu" else ["-enable-kvm"]
    p = subprocess.Popen(["qemu-system-i386"] + accel +
                         ["-m", "256", "-vga", "cirrus" if a.card == "cirrus" else "std",
                          "-vnc", "127.0.0.1:%d" % disp, "-serial", "file:" + serial,
                          "-monitor", "none", "-no-reboot", "-kernel", kit + "/vmlinuz-686",
                          "-initrd", kit + "/initrd.gz", "-append", append(a)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return measure(serial, p, 5900 + disp, a.timeout)
    finally:
        if p.poll() is None:
            p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--accel", default="emu", choices=("emu", "kvm"))
    ap.add_argument("--card", default="cirrus", choices=("cirrus", "stdvga"))
    ap.add_argument("--lines", type=int, default=20000)
    # 200: QEMU's server sent about 2 updates/s while the guest drew, so 50
    # frames (under 0.5 s there) could end with none and a gfx ratio of nan
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--only", choices=("ours", "qemu"), help="run one side and print its figures")
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    LINES[0], FRAMES[0] = a.lines, a.frames
    kit = os.path.join(a.build, "guest")
    if not os.path.exists(os.path.join(kit, "initrd.gz")):
        print("guest kit missing: tests/guest/build.sh %s" % kit, file=sys.stderr)
        return 2
    print("# accel %s (QEMU: %s), card %s, guest %s/vmlinuz-686 + initrd.gz, %d lines, %d frames"
          % (a.accel, "tcg" if a.accel == "emu" else "kvm", a.card, kit, a.lines, a.frames))
    with tempfile.TemporaryDirectory(prefix="bench-display-") as tmp:
        ours = run_ours(a, kit, tmp) if a.only != "qemu" else None
        ref = run_qemu(a, kit, tmp) if a.only != "ours" else None
    if a.only:
        print(ours or ref)
        return 0 if (ours or ref) else 1
    if not ours or not ref:
        print("a run failed (ours %s, qemu %s)" % (bool(ours), bool(ref)), file=sys.stderr)
        return 1
    units = {"text_fps": "fps", "text_kbytes_per_s": "KB/s", "text_bytes_per_line": "B",
             "text_bytes_per_update": "B", "text_guest_s": "s", "gfx_fps": "fps",
             "gfx_kbytes_per_frame": "KB", "gfx_kbytes_per_update": "KB",
             "fb_write_mb_s": "MB/s"}
    for k, u in units.items():
        print("BENCH %s %.3f %s" % (k, ours[k], u))
        print("BENCH qemu_%s %.3f %s" % (k, ref[k], u))

    def ratio(name, k):
        print("BENCH %s %.3f" % (name, ours[k] / ref[k] if ref[k] else float("nan")))
    ratio("text_fps_ratio", "text_fps")
    ratio("text_bytes_ratio", "text_bytes_per_line")
    ratio("gfx_fps_ratio", "gfx_fps")
    ratio("gfx_bytes_ratio", "gfx_kbytes_per_frame")
    ratio("text_update_bytes_ratio", "text_bytes_per_update")
    ratio("gfx_update_bytes_ratio", "gfx_kbytes_per_update")
    ratio("fb_write_ratio", "fb_write_mb_s")
    ratio("text_guest_s_ratio", "text_guest_s")
    for who, r in (("ours", ours), ("qemu", ref)):
        if r["vnc_error"]:
            print("# %s: VNC client error %s" % (who, r["vnc_error"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
