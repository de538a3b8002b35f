#!/usr/bin/env python3
"""The SDL2 window under Xvfb: hvmdm runs under the qtest harness with std VGA,
a PS/2 controller and -sdl; the test draws a VBE picture through the harness
and then checks, from the X server's side, the window title, that the window
shows the picture pixel for pixel (xwd of the root window), that it scales
when resized, that a key typed with xdotool reaches the guest's PS/2
keyboard as its set 2 scancodes, that Ctrl+Alt toggles the grab (title) and
that Ctrl+Alt+F does not reach the guest.

usage: sdl_window.py HVMDM-QTEST
Needs Xvfb, xdotool, xwd and xwdtopnm (netpbm); SKIPPED (77) without them.
"""
import ctypes
import ctypes.util
import os
import sys
import tempfile
import time

import uitest as ut
from uitest import check

HARNESS = sys.argv[1]


def window_id(x, name):
    for _ in range(100):
        r = x.run("xdotool", "search", "--name", name)
        ids = r.stdout.split()
        if ids:
            return ids[-1].decode()
        time.sleep(0.1)
    return None


def geometry(x, wid):
    r = x.run("xdotool", "getwindowgeometry", "--shell", wid)
    g = dict(line.split("=", 1) for line in r.stdout.decode().split() if "=" in line)
    return int(g["X"]), int(g["Y"]), int(g["WIDTH"]), int(g["HEIGHT"])


def grab_screen(x, tmp):
    path = os.path.join(tmp, "root.xwd")
    r = x.run("xwd", "-root", "-silent", "-out", path)
    assert r.returncode == 0, r.stderr
    return ut.to_ppm(path, "xwdtopnm")


def wait_window_shows(x, tmp, wid, img, tries=50):
    """Poll until the window's top-left region equals img (the SDL thread draws asynchronously)."""
    h, w = len(img), len(img[0])
    best = (999, 999.0)
    for _ in range(tries):
        wx, wy, ww, wh = geometry(x, wid)
        if (ww, wh) == (w, h):
            _, _, root = grab_screen(x, tmp)
            best = ut.diff_stats(img, root, wx, wy)
            if best[0] == 0:
                break
        time.sleep(0.2)
    return best


class XClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong),
                ("message_type", ctypes.c_ulong), ("format", ctypes.c_int),
                ("data", ctypes.c_long * 5), ("pad", ctypes.c_long * 12)]


def wm_delete(display, wid):
    """Ask the window to close as a window manager's close button does (ICCCM WM_DELETE_WINDOW)."""
    lib = ctypes.util.find_library("X11")
    if not lib:
        return False
    x11 = ctypes.CDLL(lib)
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                               ctypes.c_void_p]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    d = x11.XOpenDisplay(display.encode())
    if not d:
        return False
    ev = XClientMessage(type=33, send_event=1, display=d, window=int(wid),  # ClientMessage
                        message_type=x11.XInternAtom(d, b"WM_PROTOCOLS", 0), format=32)
    ev.data[0] = x11.XInternAtom(d, b"WM_DELETE_WINDOW", 0)
    x11.XSendEvent(d, int(wid), 0, 0, ctypes.byref(ev))
    x11.XFlush(d)
    x11.XCloseDisplay(d)
    return True


def title(x, wid):
    return x.run("xdotool", "getwindowname", wid).stdout.decode().strip()


def main():
    ut.need("Xvfb", "xdotool", "xwd", "xwdtopnm")
    xs = ut.Xvfb()
    os.environ["DISPLAY"] = xs.display
    os.environ.pop("SDL_VIDEODRIVER", None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            q = ut.Qtest(["-M", "none", "-name", "sdltest", "-device", "i440fx", "-device",
                          "stdvga", "-device", "i8042", "-sdl"], tmp)
            try:
                run(q, xs, tmp)
            finally:
                q.close()
                q.log.seek(0)
                log = q.log.read()
            if "built without SDL2" in log:
                ut.skip("hvmdm built without SDL2")
            check("window \"sdltest - hvmdm\"" in log, "dm logged the SDL window")
    finally:
        xs.close()
    return ut.finish()


def run(q, x, tmp):
    img = ut.test_pattern(320, 200)
    wid = window_id(x, "sdltest - hvmdm")
    if wid is None:
        q.close()
        q.log.seek(0)
        if "built without SDL2" in q.log.read():
            ut.skip("hvmdm built without SDL2")
        check(False, "the SDL window appeared")
        return
    check(title(x, wid) == "sdltest - hvmdm", "window title is 'NAME - hvmdm'")
    ut.draw_vbe_image(q, img)
    worst, mean = wait_window_shows(x, tmp, wid, img)
    check(worst == 0, "window shows the 320x200 VBE picture exactly (max diff %d, mean %.2f)"
          % (worst, mean))

    # Scaling: a 640x400 window shows each guest pixel as a 2x2 block.
    x.run("xdotool", "windowsize", "--sync", wid, "640", "400")
    for yy in range(10, 14):  # a 4x4 magenta block: linear filtering keeps its inside exact
        for xx in range(10, 14):
            q.cmd("writel 0x%x 0x00ff00ff" % (ut.LFB + (yy * 320 + xx) * 4))
    q.cmd("clock_step 50000000")
    ok = False
    got = None
    for _ in range(50):
        wx, wy, ww, wh = geometry(x, wid)
        _, _, root = grab_screen(x, tmp)
        if (ww, wh) == (640, 400):
            probes = [(0, 0, 0xFF0000), (23, 23, 0xFF00FF), (639, 399, 0xFFFFFF),
                      (330, 170, 0x00C000), (330, 230, 0x0000FF)]
            got = [root[wy + py][wx + px] for px, py, _ in probes]
            if got == [v for _, _, v in probes]:
                ok = True
                break
        time.sleep(0.2)
    check(ok, "resized window scales the picture (640x400 shows guest pixels 2x2; %s, %s)"
          % (geometry(x, wid), got and [hex(v) for v in got]))

    # A key typed into the window reaches the PS/2 keyboard: 'a' = set 2 1c, f0 1c.
    ut.read_scancodes(q)
    x.run("xdotool", "windowfocus", "--sync", wid)
    time.sleep(0.3)
    x.run("xdotool", "key", "a")
    codes = []
    for _ in range(30):
        time.sleep(0.1)
        q.cmd("clock_step 1000000")
        codes += ut.read_scancodes(q)
        if len(codes) >= 3:
            break
    check(codes[:3] == [0x1C, 0xF0, 0x1C], "xdotool 'a' -> PS/2 scancodes %s" % [hex(c) for c in codes])

    # Ctrl+Alt alone toggles the grab (title says so); again releases it.
    x.run("xdotool", "keydown", "ctrl", "keydown", "alt", "keyup", "alt", "keyup", "ctrl")
    grabbed = False
    for _ in range(30):
        if "(grabbed: Ctrl-Alt to release)" in title(x, wid):
            grabbed = True
            break
        time.sleep(0.1)
    check(grabbed, "Ctrl-Alt grabs (title '%s')" % title(x, wid))
    x.run("xdotool", "keydown", "ctrl", "keydown", "alt", "keyup", "alt", "keyup", "ctrl")
    released = False
    for _ in range(30):
        if title(x, wid) == "sdltest - hvmdm":
            released = True
            break
        time.sleep(0.1)
    check(released, "Ctrl-Alt again releases the grab")

    # Ctrl+Alt+F is a hotkey: the guest sees Ctrl and Alt but no F (set 2 F = 0x2b).
    for _ in range(5):
        q.cmd("clock_step 1000000")
        ut.read_scancodes(q)
    x.run("xdotool", "key", "ctrl+alt+f")
    time.sleep(0.5)
    codes = []
    for _ in range(10):
        q.cmd("clock_step 1000000")
        codes += ut.read_scancodes(q)
    check(codes and 0x2B not in codes, "Ctrl-Alt-F not passed to the guest (%s)" % [hex(c) for c in codes])
    check(q.cmd("inb 0xe7") is not None, "dm alive")

    # Closing the window is a shutdown request (no ACPI on -M none: power off).
    check(wm_delete(x.display, wid), "sent WM_DELETE_WINDOW")
    closed = False
    for _ in range(50):
        time.sleep(0.1)
        q.log.flush()
        q.log.seek(0)
        if "window closed: no ACPI power button, powering off" in q.log.read():
            closed = True
            break
    check(closed, "closing the window requests a power off")


if __name__ == "__main__":
    sys.exit(main())
