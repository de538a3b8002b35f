#!/usr/bin/env python3
# test_hvmctl_real.py - hvmctl with the real hvmhv and hvmdm (found next to
# hvmctl) and SeaBIOS without any boot device: the domain starts, lists,
# answers QMP through hvmdm's monitor, pauses and unpauses in hvmhv,
# restarts with the same domid on `reboot` (on_reboot=restart), ends on QMP
# `quit` (hvmhv reports "destroyed", so no restart) and on `destroy`.
# Exits 77 (SKIPPED) when neither accelerator can run a guest here.
# Usage: test_hvmctl_real.py PATH/TO/hvmctl
import json, os, pty, shutil, subprocess, sys, tempfile, time

HVMCTL = os.path.abspath(sys.argv[1])
BIN = os.path.dirname(HVMCTL)
SEABIOS = '/usr/share/seabios/bios.bin'


def skip(why):
    print('SKIPPED: ' + why)
    sys.exit(77)


for b in ('hvmhv', 'hvmdm'):
    if not os.access(os.path.join(BIN, b), os.X_OK):
        skip('%s is not built' % b)
if not os.path.exists(SEABIOS):
    skip(SEABIOS + ' missing (apt-get install seabios)')

tmp = tempfile.mkdtemp(prefix='hvr')
run = os.path.join(tmp, 'r')
env = dict(os.environ)
for k in ('HVMCTL_HVMHV', 'HVMCTL_HVMDM', 'HVM_RUNDIR'):
    env.pop(k, None)


def ctl(*args, check=0, timeout=60):
    p = subprocess.run([HVMCTL, '--rundir', run] + list(args), env=env, capture_output=True,
                       text=True, timeout=timeout)
    if check is not None and p.returncode != check:
        raise AssertionError('hvmctl %s: rc %d\n%s%s' % (' '.join(args), p.returncode, p.stdout,
                                                        p.stderr))
    return p


def state():
    p = os.path.join(run, '1', 'state')
    if not os.path.exists(p):
        return None
    return dict(l.rstrip('\n').split('=', 1) for l in open(p) if '=' in l)


def wait(cond, what, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError('timed out waiting for ' + what)


def log(name):
    p = os.path.join(run, 'log', name)
    return open(p).read() if os.path.exists(p) else ''


cfg = os.path.join(tmp, 'real.cfg')
img = os.path.join(tmp, 'disk.img')
with open(img, 'wb') as f:
    f.truncate(1 << 20)
open(cfg, 'w').write("name = 'real1'\ntype = 'hvm'\nmemory = 32\nvnc = 0\nserial = 'pty'\n"
                     "on_reboot = 'restart'\non_crash = 'destroy'\n"
                     "disk = [ '%s,raw,hda,w', ',hdc:cdrom,r' ]\n" % img)
ok = False
try:
    p = ctl('create', cfg, check=None)
    if p.returncode != 0:
        hvlog = log('hvmhv-real1.log')
        if 'built without' in hvlog or '/dev/kvm' in hvlog or 'KVM' in hvlog:
            skip('no usable accelerator: ' + hvlog.strip().splitlines()[-1])
        raise AssertionError('create failed:\n' + p.stderr + hvlog + log('qemu-dm-real1.log'))
    st = state()
    assert st['state'] == 'running', st
    dmlog = log('qemu-dm-real1.log')
    assert ('hda: disk %s' % img) in dmlog and 'hdc: cdrom (empty) read-only' in dmlog, dmlog
    row = ctl('list').stdout.splitlines()[1].split()
    assert row[:5] == ['real1', '1', '32', '1', 'r-----'], row

    rep = json.loads(ctl('qmp', 'real1', '{"execute": "query-status", "id": "q"}').stdout)
    assert rep['id'] == 'q' and rep['return']['status'] == 'running', rep
    rep = json.loads(ctl('qmp', 'real1', '{"execute": "query-name"}').stdout)
    assert rep['return'] == {'name': 'real1'}, rep
    rep = ctl('qmp', 'real1', '{"execute": "no-such"}', check=1)
    assert 'CommandNotFound' in rep.stdout, rep.stdout

    # The first UART's pty, as hvmdm reports it over QMP query-chardev.
    rep = json.loads(ctl('qmp', 'real1', '{"execute": "query-chardev"}').stdout)['return']
    ser = [c for c in rep if c['label'] == 'serial0']
    assert ser and ser[0]['filename'].startswith('pty:/dev/pts/'), rep
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(HVMCTL, [HVMCTL, '--rundir', run, 'console', 'real1'], env)
    time.sleep(0.5)
    os.write(fd, b'\x1d')  # Ctrl-] detaches
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status

    # Drives: xl disk specs became -drive options; CD media change over QMP.
    bl = [l.split() for l in ctl('block-list', 'real1').stdout.splitlines()]
    assert bl[1] == ['hda', 'disk', 'no', 'raw', img], bl
    assert bl[2] == ['hdc', 'cdrom', '-', '-', '(empty)'], bl
    iso = os.path.join(tmp, 'cd.iso')
    with open(iso, 'wb') as f:
        f.truncate(2048 * 16)
    ctl('cd-insert', 'real1', 'hdc', iso)
    bl = [l.split() for l in ctl('block-list', 'real1').stdout.splitlines()]
    assert bl[2] == ['hdc', 'cdrom', 'yes', 'raw', iso], bl
    ctl('cd-eject', 'real1', 'hdc')
    bl = [l.split() for l in ctl('block-list', 'real1').stdout.splitlines()]
    assert bl[2] == ['hdc', 'cdrom', '-', '-', '(empty)'], bl
    ctl('vncport', 'real1', check=1)  # vnc = 0

    ctl('pause', 'real1')
    assert ctl('list').stdout.splitlines()[1].split()[4] == '--p---'
    ctl('unpause', 'real1')
    assert ctl('list').stdout.splitlines()[1].split()[4] == 'r-----'

    # system_reset: hvmhv exits REBOOT, the supervisor restarts with the same id.
    ctl('reboot', '-w', '-t', '60', 'real1')
    st2 = state()
    assert st2['restarts'] == '1' and st2['state'] == 'running', st2
    assert st2['hv_pid'] != st['hv_pid'], (st, st2)
    assert 'hvmhv ended with exit code 2: reboot' in log('hvmctl-real1.log')
    assert ctl('domid', 'real1').stdout == '1\n'

    # QMP quit: hvmdm asks hvmhv to destroy the domain; nothing restarts it.
    ctl('qmp', 'real1', '{"execute": "quit"}')
    wait(lambda: state() is None, 'the domain to go after quit')
    assert 'hvmhv ended with exit code 4: destroyed' in log('hvmctl-real1.log')

    # destroy of a running domain.
    ctl('create', cfg)
    ctl('destroy', 'real1')
    assert state() is None
    assert ctl('list').stdout.splitlines()[1:] == []
    ok = True
finally:
    if os.path.isdir(os.path.join(run, '1')):
        ctl('destroy', '1', check=None)
    if not ok:
        for f in ('hvmctl-real1.log', 'hvmhv-real1.log', 'qemu-dm-real1.log'):
            print('---', f, '---\n' + log(f)[-3000:])
    shutil.rmtree(tmp, ignore_errors=True)
print('PASS')
