#!/usr/bin/env python3
"""VNC server interop, with a small RFB client written here from the protocol
(rfbproto): hvmdm runs under the qtest harness with std VGA and VNC; the test
sets a VBE mode and draws pixels through the linear framebuffer, then checks
what RFB 3.3, 3.7 and 3.8 clients see (DesktopSize, Raw pixels), that QEMU's
Extended Key Event reaches the PS/2 keyboard as the right scancode, that a
password is enforced, and that hostile clients only lose their own connection.

usage: vnc_rfb.py HVMDM-QTEST
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

HARNESS = sys.argv[1]
fails = 0


def check(cond, what):
    global fails
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails += 1


class Qtest:
    def __init__(self, dm_args, tmp):
        self.path = os.path.join(tmp, "qtest.sock")
        self.log = open(os.path.join(tmp, "dm.log"), "w+", errors="replace")
        self.proc = subprocess.Popen(
            [HARNESS, "--qtest", "unix:%s,server" % self.path, "--"] + dm_args,
            stdout=self.log, stderr=self.log)
        for _ in range(200):
            if os.path.exists(self.path):
                break
            time.sleep(0.05)
        self.sock = socket.socket(socket.AF_UNIX)
        for _ in range(100):
            try:
                self.sock.connect(self.path)
                break
            except OSError:
                time.sleep(0.05)
        self.buf = b""

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        while True:
            while b"\n" not in self.buf:
                data = self.sock.recv(4096)
                if not data:
                    raise RuntimeError("harness closed")
                self.buf += data
            reply, self.buf = self.buf.split(b"\n", 1)
            reply = reply.decode()
            if not reply.startswith("IRQ"):
                return reply

    def close(self):
        self.sock.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise RuntimeError("server closed the connection")
        data += chunk
    return data


class Rfb:
    """Enough of an RFB client for the checks: handshake, Raw and pseudo-encodings."""

    def __init__(self, port, version=b"003.008", password=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        server = recv_exact(self.s, 12)
        assert server.startswith(b"RFB "), server
        self.s.sendall(b"RFB " + version + b"\n")
        if version == b"003.003":
            sec = struct.unpack(">I", recv_exact(self.s, 4))[0]
        else:
            n = recv_exact(self.s, 1)[0]
            types = recv_exact(self.s, n)
            sec = 2 if 2 in types and password else types[0]
            self.s.sendall(bytes([sec]))
        if sec == 2:
            challenge = recv_exact(self.s, 16)
            self.s.sendall(vnc_des(password or "", challenge))
        if sec == 2 or version == b"003.008":
            result = struct.unpack(">I", recv_exact(self.s, 4))[0]
            if result != 0:
                raise PermissionError("authentication failed")
        self.s.sendall(b"\x01")  # shared
        w, h = struct.unpack(">HH", recv_exact(self.s, 4))
        self.fmt = recv_exact(self.s, 16)
        name_len = struct.unpack(">I", recv_exact(self.s, 4))[0]
        self.name = recv_exact(self.s, name_len)
        self.w, self.h = w, h
        self.fb = {}
        self.ext_key_ack = False

    def set_encodings(self, encs):
        self.s.sendall(struct.pack(">BxH", 2, len(encs)) + b"".join(struct.pack(">i", e) for e in encs))

    def request(self, incremental=0):
        self.s.sendall(struct.pack(">BBHHHH", 3, incremental, 0, 0, self.w, self.h))

    def read_update(self):
        t = recv_exact(self.s, 1)[0]
        if t != 0:
            raise RuntimeError("unexpected server message %d" % t)
        n = struct.unpack(">xH", recv_exact(self.s, 3))[0]
        for _ in range(n):
            x, y, w, h, enc = struct.unpack(">HHHHi", recv_exact(self.s, 12))
            if enc == 0:
                data = recv_exact(self.s, w * h * 4)
                for row in range(h):
                    for col in range(w):
                        off = (row * w + col) * 4
                        self.fb[(x + col, y + row)] = struct.unpack("<I", data[off:off + 4])[0]
            elif enc == -223:
                self.w, self.h = w, h
            elif enc == -258:
                self.ext_key_ack = True
            else:
                raise RuntimeError("unexpected encoding %d" % enc)

    def key_ext(self, down, keysym, xt):
        self.s.sendall(struct.pack(">BBHII", 255, 0, down, keysym, xt))


def vnc_des(password, challenge):
    """VNC authentication: DES-ECB with the bit-reversed password as the key."""
    key = bytes(int("{:08b}".format(b)[::-1], 2) for b in password.encode()[:8].ljust(8, b"\0"))
    out = subprocess.run(["openssl", "enc", "-des-ecb", "-nopad", "-K", key.hex(), "-provider", "legacy",
                          "-provider", "default"], input=challenge, capture_output=True)
    if out.returncode != 0:
        out = subprocess.run(["openssl", "enc", "-des-ecb", "-nopad", "-K", key.hex()],
                             input=challenge, capture_output=True)
    return out.stdout


def draw_vbe(q, w, h, pixels):
    q.cmd("outl 0xcf8 0x80001010")  # 00:02.0 BAR0
    q.cmd("outl 0xcfc 0xe0000000")
    q.cmd("outl 0xcf8 0x80001004")
    q.cmd("outw 0xcfc 0x3")
    for idx, val in ((4, 0), (1, w), (2, h), (3, 32), (4, 0x41)):
        q.cmd("outw 0x1ce %d" % idx)
        q.cmd("outw 0x1cf %d" % val)
    for (x, y), v in pixels.items():
        q.cmd("writel 0x%x 0x%x" % (0xe0000000 + (y * w + x) * 4, v))
    q.cmd("clock_step 50000000")  # one console refresh


def free_display():
    for d in range(40, 99):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", 5900 + d))
                return d
            except OSError:
                continue
    raise RuntimeError("no free VNC port")


def read_scancodes(q):
    codes = []
    for _ in range(8):
        st = int(q.cmd("inb 0x64").split()[1], 16)
        if not st & 1:
            break
        codes.append(int(q.cmd("inb 0x60").split()[1], 16))
    return codes


def session_checks(q, port):
    pixels = {(0, 0): 0x00ff0000, (17, 9): 0x00123456, (799, 599): 0x0000ff00}
    clients = {}
    for ver in (b"003.003", b"003.007", b"003.008"):
        c = Rfb(port, ver)
        c.set_encodings([0, -223, -258])
        clients[ver] = c
    draw_vbe(q, 800, 600, pixels)
    for ver, c in clients.items():
        c.request(0)
        deadline = time.time() + 10
        while time.time() < deadline and not all(c.fb.get(p) == v for p, v in pixels.items()):
            c.read_update()
            if (c.w, c.h) == (800, 600) and not c.fb:
                c.request(0)
        check((c.w, c.h) == (800, 600), "RFB %s: DesktopSize to 800x600" % ver.decode())
        check(all(c.fb.get(p) == v for p, v in pixels.items()),
              "RFB %s: Raw pixels match what the guest drew" % ver.decode())
    c = clients[b"003.008"]
    check(c.ext_key_ack, "Extended Key Event acknowledged")
    # A hostile client: garbage message types.  Only it is dropped.
    bad = socket.create_connection(("127.0.0.1", port))
    recv_exact(bad, 12)
    bad.sendall(b"RFB 003.008\n")
    recv_exact(bad, 2)
    bad.sendall(b"\x01\x01")
    recv_exact(bad, 4)
    bad.sendall(b"\xfa" * 64 + b"\x06\x00\x00\x00\xff\xff\xff\xff")
    time.sleep(0.5)
    # 'a' with raw scancode 0x1e: the PS/2 keyboard (scancode set 2; the i8042 does not
    # translate until the firmware enables it) queues 1c f0 1c.
    c.key_ext(1, ord("a"), 0x1e)
    c.key_ext(0, ord("a"), 0x1e)
    # The server handles the messages on its own schedule: poll (a loaded
    # host can take seconds), stepping the clock so the i8042 moves bytes on.
    codes = []
    deadline = time.time() + 20
    while len(codes) < 3 and time.time() < deadline:
        time.sleep(0.1)
        q.cmd("clock_step 1000000")
        codes += read_scancodes(q)
    check(codes[:3] == [0x1c, 0xf0, 0x1c],
          "Extended Key Event -> scancodes %s" % [hex(x) for x in codes])
    # The good clients still get updates after the bad one.
    q.cmd("writel 0x%x 0x00abcdef" % (0xe0000000 + (3 * 800 + 3) * 4))
    q.cmd("clock_step 50000000")
    c.request(1)
    deadline = time.time() + 10
    while time.time() < deadline and c.fb.get((3, 3)) != 0xabcdef:
        c.read_update()
    check(c.fb.get((3, 3)) == 0xabcdef, "other clients keep working after a bad client")
    check(q.cmd("inb 0xe7") is not None, "dm alive")


def password_checks(tmp):
    pwfile = os.path.join(tmp, "pw")
    with open(pwfile, "w") as f:
        f.write("s3cret\n")
    disp = free_display()
    q = Qtest(["-M", "none", "-device", "i440fx", "-device", "stdvga", "-vnc",
               "127.0.0.1:%d" % disp, "-vnc-password-file", pwfile], tmp)
    try:
        try:
            Rfb(5900 + disp, b"003.008", password="wrong")
            check(False, "wrong password refused")
        except (PermissionError, RuntimeError):
            check(True, "wrong password refused")
        ok = Rfb(5900 + disp, b"003.008", password="s3cret")
        check(ok.w > 0, "right password accepted")
    finally:
        q.close()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        disp = free_display()
        port = 5900 + disp
        q = Qtest(["-M", "none", "-device", "i440fx", "-device", "stdvga", "-device", "i8042",
                   "-vnc", "127.0.0.1:%d" % disp], tmp)
        try:
            session_checks(q, port)
        finally:
            q.close()
            q.log.seek(0)
            log = q.log.read()
        check("listening on 127.0.0.1:%d" % port in log, "dm logged its VNC port")
        password_checks(tmp)
    print("%d failures" % fails)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
