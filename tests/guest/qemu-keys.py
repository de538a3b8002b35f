#!/usr/bin/env python3
"""qemu-keys.py OUTDIR - check the guest kit's `keys` scenario under QEMU.

Boots vmlinuz-686 + initrd.gz with hvm.scenario=keys under Debian's
qemu-system-i386 (TCG), waits for "HVM-MARK keys ready" on ttyS0, types
"hi<Enter>quit<Enter>" on the emulated PS/2 keyboard through the QEMU
monitor's sendkey, and checks that /init echoed every byte and both lines,
then powered off.  This proves the scenario works before hvmdm's keyboard
path is tested with it.  Exit 0 pass, 1 fail, 77 skipped.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

out = sys.argv[1]
qemu = os.environ.get('QEMU', 'qemu-system-i386')
if not shutil.which(qemu):
    print('SKIPPED: %s not installed' % qemu)
    sys.exit(77)
for f in ('vmlinuz-686', 'initrd.gz'):
    if not os.path.exists(os.path.join(out, f)):
        print('SKIPPED: guest kit not built (%s missing)' % f)
        sys.exit(77)

tmp = tempfile.mkdtemp(prefix='qemu-keys.')
mon_path = os.path.join(tmp, 'mon.sock')
log_path = os.path.join(tmp, 'serial.log')
p = subprocess.Popen([qemu, '-accel', 'tcg', '-m', '256', '-display', 'none', '-nodefaults',
                      '-vga', 'std', '-no-reboot',
                      '-kernel', os.path.join(out, 'vmlinuz-686'),
                      '-initrd', os.path.join(out, 'initrd.gz'),
                      '-append', 'console=ttyS0 hvm.scenario=keys hvm.modules=none',
                      '-serial', 'file:' + log_path,
                      '-monitor', 'unix:%s,server=on,wait=off' % mon_path],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)


def serial():
    try:
        return open(log_path, 'rb').read().decode('latin-1').replace('\r', '')
    except FileNotFoundError:
        return ''


def wait_for(marker, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if marker in serial().split('\n'):
            return True
        if p.poll() is not None:
            return False
        time.sleep(0.2)
    return False


ok = True
start = time.monotonic()
try:
    if not wait_for('HVM-MARK keys ready', 300):
        print('not ok guest never reached "HVM-MARK keys ready"')
        ok = False
    else:
        print('ok     keys ready after %.1f s' % (time.monotonic() - start))
        mon = socket.socket(socket.AF_UNIX)
        mon.connect(mon_path)
        for k in ['h', 'i', 'ret', 'q', 'u', 'i', 't', 'ret']:
            mon.sendall(('sendkey %s\n' % k).encode())
            time.sleep(0.3)
        end = time.monotonic() + 120
        for marker in ('HVM-MARK key 0x68', 'HVM-MARK key 0x69', 'HVM-MARK key 0x0d',
                       'HVM-MARK line hi', 'HVM-MARK line quit', 'HVM-MARK keys done',
                       'HVM-MARK poweroff'):
            if wait_for(marker, max(1, end - time.monotonic())):
                print('ok     ' + marker)
            else:
                print('not ok ' + marker)
                ok = False
        mon.close()
    try:
        rc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        rc = None
    if rc != 0:
        print('not ok qemu exit status %s (expected a clean poweroff)' % rc)
        ok = False
    print('keys scenario took %.1f s' % (time.monotonic() - start))
finally:
    if p.poll() is None:
        p.kill()
        p.wait()
    if not ok:
        print('--- serial log tail ---')
        print('\n'.join(serial().split('\n')[-40:]))
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(0 if ok else 1)
