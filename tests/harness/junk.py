#!/usr/bin/env python3
"""junk.py - robustness run of hvmdm-qtest and hvmdm on random requests.

Sends a deterministic (seeded) stream of requests to hvmdm-qtest: well-formed
commands with random arguments aimed at the PC's ports, RAM, MMIO and PCI
configuration space, interleaved with mangled lines (doubled spaces, missing
or junk arguments, control and high bytes, truncation).  Checks that every
line gets exactly one reply (OK/FAIL/ERR, IRQ lines aside), that no reply
says the dm stopped responding, and that hvmdm-qtest and the dm end cleanly.

Usage: junk.py HVMDM_QTEST [--seed N] [--count N] [-- DM-ARGS...]
Exit 0 pass, 1 fail.
"""
import argparse
import os
import random
import select
import subprocess
import sys
import time

# Ports of the PC devices, minus those that end or reset the domain
# (0xcf9 reset control, 0x92 fast reset, 0x64 pulse-reset commands are
# left in: a reset request is not a failure) and the PM control block.
PORTS = ([0x20, 0x21, 0x40, 0x43, 0x60, 0x61, 0x64, 0x70, 0x71, 0x80, 0x92, 0xa0, 0xa1,
          0xe0, 0xe7, 0x1ce, 0x1cf, 0x170, 0x177, 0x1f0, 0x1f1, 0x1f7, 0x376, 0x3f6,
          0x2f8, 0x3f0, 0x3f2, 0x3f4, 0x3f5, 0x3f7, 0x3c0, 0x3c4, 0x3c5, 0x3ce, 0x3cf,
          0x3d4, 0x3d5, 0x3da, 0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x402, 0x510,
          0x511, 0x514, 0x518, 0xc000, 0xcf8, 0xcfc, 0xcfd, 0xcfe, 0xcff] +
         list(range(0x00, 0x20)) + list(range(0xc0, 0xe0)))
MMIO = [0xa0000, 0xb8000, 0xc0000, 0xfebf0000, 0xfec00000, 0xfed00000, 0xfee00000,
        0xfd000000, 0xffff0000, 0x8000000, 0x7fff000]


def num(r, v):
    return r.choice(['0x%x' % v, '%d' % v, '0%o' % v if v else '0'])


def wellformed(r):
    c = r.randrange(16)
    port = r.choice(PORTS) + r.choice([0, 0, 0, 1, 2, 3])
    addr = r.choice(MMIO) + r.randrange(0, 0x1000)
    ram = r.randrange(0, 0x100000)
    val = r.getrandbits(r.choice([8, 16, 32, 64]))
    w = r.choice('bwl')
    if c < 4:
        return 'out%s %s %s' % (w, num(r, port), num(r, val))
    if c < 7:
        return 'in%s %s' % (w, num(r, port))
    if c == 7:
        return 'write%s %s %s' % (r.choice('bwlq'), num(r, addr), num(r, val))
    if c == 8:
        return 'read%s %s' % (r.choice('bwlq'), num(r, addr))
    if c == 9:
        return 'read %s %d' % (num(r, r.choice([addr, ram])), r.randrange(1, 64))
    if c == 10:
        n = r.randrange(1, 16)
        return 'write %s %d 0x%s' % (num(r, r.choice([addr, ram])), n,
                                     ''.join('%02x' % r.randrange(256) for _ in range(n)))
    if c == 11:
        return 'pci_cfg_%s 00:%02x.%d %d %d%s' % (
            r.choice(['read', 'write']), r.randrange(6), r.randrange(8), r.randrange(256),
            r.choice([1, 2, 4]), ' %d' % val)
    if c == 12:
        return 'rep_%s%s %s %s %d %d' % (r.choice(['ins', 'outs']), w, num(r, port),
                                         num(r, r.choice([ram, addr, 2**64 - 8])),
                                         r.randrange(0, 64), r.randrange(2))
    if c == 13:
        return 'mmio_rep_%s %d %s %s %d %d' % (r.choice(['read', 'write', 'stos']),
                                               r.choice([1, 2, 4, 8]), num(r, addr),
                                               num(r, ram), r.randrange(0, 32), r.randrange(2))
    if c == 14:
        return 'clock_step %d' % r.randrange(0, 50000000)
    return r.choice(['endianness', 'irq_intercept_in ioapic', 'shutdown_reason',
                     'memset %s %d %d' % (num(r, ram), r.randrange(0, 256), r.randrange(256)),
                     'b64read %s %d' % (num(r, ram), r.randrange(0, 32))])


def mangle(r, line):
    b = bytearray(line.encode())
    for _ in range(r.randrange(1, 4)):
        k = r.randrange(6)
        pos = r.randrange(len(b) + 1)
        if k == 0:
            b[pos:pos] = b' '
        elif k == 1 and b:
            del b[pos:]
        elif k == 2:
            b[pos:pos] = bytes([r.choice([0, 1, 9, 13, 27, 127, 128, 255])])
        elif k == 3:
            b[pos:pos] = b'0x' + b'f' * r.randrange(1, 40)
        elif k == 4:
            b[pos:pos] = bytes(r.randrange(1, 256) for _ in range(r.randrange(1, 20)))
        else:
            b = bytearray(b' '.join(bytes(w) for w in bytes(b).split(b' ')[:r.randrange(1, 3)]))
    return bytes(x for x in b if x != 10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('harness')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--count', type=int, default=3000)
    ap.add_argument('dm_args', nargs='*')
    a = ap.parse_args()
    r = random.Random(a.seed)
    p = subprocess.Popen([a.harness, '--'] + a.dm_args, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    buf = b''
    fails = []
    start = time.monotonic()
    errbuf = []

    def drain_err():
        while select.select([p.stderr], [], [], 0)[0]:
            chunk = os.read(p.stderr.fileno(), 65536)
            if not chunk:
                break
            errbuf.append(chunk)

    for i in range(a.count):
        line = wellformed(r).encode()
        if r.randrange(3) == 0:
            line = mangle(r, line.decode())
        p.stdin.write(line + b'\n')
        p.stdin.flush()
        while True:
            drain_err()
            if b'\n' in buf:
                reply, _, buf = buf.partition(b'\n')
                if reply.startswith(b'IRQ '):
                    continue
                break
            rd = select.select([p.stdout], [], [], 30)[0]
            chunk = os.read(p.stdout.fileno(), 65536) if rd else b''
            if not chunk:
                fails.append('request %d %r: no reply' % (i, line[:80]))
                reply = None
                break
            buf += chunk
        if reply is None:
            break
        if not (reply.startswith(b'OK') or reply.startswith(b'FAIL') or reply.startswith(b'ERR')):
            fails.append('request %d %r: bad reply %r' % (i, line[:80], reply[:80]))
        if b'dm not responding' in reply or b'protocol violation' in reply:
            fails.append('request %d %r: %r' % (i, line[:80], reply))
            break
    p.stdin.close()
    rest = p.stdout.read()
    if rest.strip(b'\n').replace(b'\n', b'').strip():
        lines = [l for l in rest.split(b'\n') if l and not l.startswith(b'IRQ ')]
        if lines:
            fails.append('unexpected output after the last reply: %r' % lines[:3])
    rc = p.wait(timeout=60)
    errbuf.append(p.stderr.read())
    if rc != 0:
        fails.append('hvmdm-qtest exited with status %d' % rc)
    print('%d requests (seed %d) in %.1f s' % (a.count, a.seed, time.monotonic() - start))
    if fails:
        for f in fails:
            print('FAIL ' + f)
        err = b''.join(errbuf).decode('utf-8', 'replace').strip().splitlines()
        print('--- stderr (tail) ---')
        print('\n'.join(err[-30:]))
        return 1
    print('ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
