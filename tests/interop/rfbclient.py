"""A small RFB 3.8 client (rfbproto) for the guest display tests and
bench/display: no authentication, SetPixelFormat, Raw, ZRLE (skipped, only
counted), CopyRect, DesktopSize; a bytearray framebuffer in the client's
pixel format.  Written from the protocol description, shared by
tests/interop/vnc_guest.py and bench/display/display.py.
"""
import socket
import struct
import threading
import time

RAW, COPYRECT, ZRLE, DESKTOPSIZE = 0, 1, 16, -223


def recv_exact(s, n):
    data = bytearray()
    while len(data) < n:
        chunk = s.recv(min(n - len(data), 1 << 20))
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    return bytes(data)


def pixel_format(bpp):
    """SetPixelFormat body: little-endian true colour, 565 for 16 bpp, x888 for 32."""
    if bpp == 16:
        return struct.pack("<BBBB", 16, 16, 0, 1) + struct.pack(">HHHBBB", 31, 63, 31, 11, 5, 0) + \
            b"\0" * 3
    return struct.pack("<BBBB", 32, 24, 0, 1) + struct.pack(">HHHBBB", 255, 255, 255, 16, 8, 0) + \
        b"\0" * 3


class Rfb:
    def __init__(self, port, bpp=32, encodings=(RAW, DESKTOPSIZE), host="127.0.0.1", timeout=30):
        self.s = socket.create_connection((host, port), timeout=timeout)
        server = recv_exact(self.s, 12)
        if not server.startswith(b"RFB "):
            raise ConnectionError("not an RFB server: %r" % server)
        self.s.sendall(b"RFB 003.008\n")
        n = recv_exact(self.s, 1)[0]
        if n == 0:
            raise ConnectionError("server refused the connection")
        types = recv_exact(self.s, n)
        if 1 not in types:
            raise ConnectionError("server wants authentication: %r" % types)
        self.s.sendall(b"\x01")
        if struct.unpack(">I", recv_exact(self.s, 4))[0] != 0:
            raise ConnectionError("security handshake failed")
        self.s.sendall(b"\x01")  # shared session
        self.w, self.h = struct.unpack(">HH", recv_exact(self.s, 4))
        recv_exact(self.s, 16)  # the server's pixel format
        self.name = recv_exact(self.s, struct.unpack(">I", recv_exact(self.s, 4))[0])
        self.bpp = bpp
        self.s.sendall(b"\x00\x00\x00\x00" + pixel_format(bpp))
        self.s.sendall(struct.pack(">BxH", 2, len(encodings)) +
                       b"".join(struct.pack(">i", e) for e in encodings))
        self.fb = bytearray(self.w * self.h * bpp // 8)
        self.sizes = []  # DesktopSize rectangles received: (w, h)
        self.updates = 0  # FramebufferUpdate messages with at least one rectangle
        self.rects = 0
        self.bytes = 0  # bytes received after the handshake

    def request(self, incremental):
        self.s.sendall(struct.pack(">BBHHHH", 3, 1 if incremental else 0, 0, 0, self.w, self.h))

    def _recv(self, n):
        d = recv_exact(self.s, n)
        self.bytes += n
        return d

    def read_message(self):
        """Read one server message: the number of pixel rectangles of a
        FramebufferUpdate, -1 for any other message."""
        t = self._recv(1)[0]
        if t == 2:  # Bell
            return -1
        if t == 3:  # ServerCutText
            self._recv(3)
            self._recv(struct.unpack(">I", self._recv(4))[0])
            return -1
        if t == 1:  # SetColourMapEntries
            n = struct.unpack(">xHH", self._recv(5))[1]
            self._recv(6 * n)
            return -1
        if t != 0:
            raise ConnectionError("unexpected server message %d" % t)
        n = struct.unpack(">xH", self._recv(3))[0]
        bypp = self.bpp // 8
        pix = 0
        for _ in range(n):
            x, y, w, h, enc = struct.unpack(">HHHHi", self._recv(12))
            pix += enc != DESKTOPSIZE
            if enc == RAW:
                data = self._recv(w * h * bypp)
                if x + w <= self.w and y + h <= self.h:
                    for row in range(h):
                        o = ((y + row) * self.w + x) * bypp
                        self.fb[o:o + w * bypp] = data[row * w * bypp:(row + 1) * w * bypp]
            elif enc == COPYRECT:
                sx, sy = struct.unpack(">HH", self._recv(4))
                rows = [bytes(self.fb[((sy + r) * self.w + sx) * bypp:((sy + r) * self.w + sx + w) * bypp])
                        for r in range(h)]
                for r, data in enumerate(rows):
                    o = ((y + r) * self.w + x) * bypp
                    self.fb[o:o + w * bypp] = data
            elif enc == ZRLE:
                self._recv(struct.unpack(">I", self._recv(4))[0])  # counted, not decoded
            elif enc == DESKTOPSIZE:
                self.w, self.h = w, h
                self.fb = bytearray(w * h * bypp)
                self.sizes.append((w, h))
            else:
                raise ConnectionError("unexpected encoding %d" % enc)
        if n:
            self.updates += 1
            self.rects += n
        return pix

    def capture(self, tries=4):
        """A full (non-incremental) update: the whole screen, as (w, h, bytes).
        An update holding only a DesktopSize is followed by another request
        for the new size."""
        for _ in range(tries):
            self.request(False)
            while True:
                pix = self.read_message()
                if pix >= 0:
                    break
            if pix:
                break
        return self.w, self.h, bytes(self.fb)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


class Watcher(threading.Thread):
    """Keeps one incremental update request outstanding and records every
    update (time, bytes so far) and DesktopSize, until stop()."""

    def __init__(self, port, bpp=32, encodings=(RAW, DESKTOPSIZE)):
        super().__init__(daemon=True)
        self.c = Rfb(port, bpp, encodings)
        self.c.s.settimeout(1.0)
        self.log = []  # (time, updates, bytes)
        self.error = None
        self.running = True
        self.lock = threading.Lock()

    def run(self):
        try:
            self.c.request(False)
            while self.running:
                try:
                    if self.c.read_message() >= 0:
                        with self.lock:
                            self.log.append((time.time(), self.c.updates, self.c.bytes))
                        self.c.request(True)
                except socket.timeout:
                    continue
        except (OSError, ConnectionError) as e:
            if self.running:
                self.error = e

    def counts_between(self, t0, t1):
        """(updates, bytes) received between host times t0 and t1."""
        with self.lock:
            log = list(self.log)
        before = [e for e in log if e[0] <= t0]
        upto = [e for e in log if e[0] <= t1]
        u0, b0 = (before[-1][1], before[-1][2]) if before else (0, 0)
        u1, b1 = (upto[-1][1], upto[-1][2]) if upto else (0, 0)
        return u1 - u0, b1 - b0

    def stop(self):
        self.running = False
        self.join(timeout=5)
        self.c.close()
