#!/usr/bin/env python3
# test_hvmctl.py - hvmctl's lifecycle against fake hvmhv/hvmdm scripts:
# dry-run command lines, the runtime directory layout, list/domid/domname/
# uptime, pause/unpause, QMP passthrough, sendkey, console, shutdown -w,
# on_reboot=restart with the same domid, on_crash=preserve, destroy,
# unexpected death of either process, start failures, create -F exit codes,
# domain id and name uniqueness.
# Usage: test_hvmctl.py PATH/TO/hvmctl
import json, os, pty, select, shutil, signal, subprocess, sys, tempfile, time

HVMCTL = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_HV = os.path.join(HERE, 'fake_hvmhv.py')
FAKE_DM = os.path.join(HERE, 'fake_hvmdm.py')
failures = []


class Env:
    def __init__(self, **extra):
        self.tmp = tempfile.mkdtemp(prefix='hvt')
        self.run = os.path.join(self.tmp, 'r')
        self.env = dict(os.environ, FAKE_DIR=self.tmp, HVMCTL_HVMHV=FAKE_HV,
                        HVMCTL_HVMDM=FAKE_DM)
        self.env.pop('HVM_RUNDIR', None)
        self.env.update(extra)

    def cfg(self, text, name='guest.cfg'):
        p = os.path.join(self.tmp, name)
        open(p, 'w').write(text)
        return p

    def ctl(self, *args, timeout=30, check=None, stdin=None):
        p = subprocess.run([HVMCTL, '--rundir', self.run] + list(args), env=self.env,
                           capture_output=True, text=True, timeout=timeout, input=stdin)
        if check is not None and p.returncode != check:
            raise AssertionError('hvmctl %s: rc %d, want %d\nstdout: %s\nstderr: %s' %
                                 (' '.join(args), p.returncode, check, p.stdout, p.stderr))
        return p

    def state(self, domid):
        p = os.path.join(self.run, str(domid), 'state')
        if not os.path.exists(p):
            return None
        return dict(l.rstrip('\n').split('=', 1) for l in open(p) if '=' in l)

    def wait(self, cond, what, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = cond()
            if v:
                return v
            time.sleep(0.05)
        raise AssertionError('timed out waiting for ' + what)

    def lines(self, f):
        p = os.path.join(self.tmp, f)
        return open(p).read().splitlines() if os.path.exists(p) else []

    def cleanup(self):
        if os.path.isdir(self.run):
            for d in os.listdir(self.run):
                if d.isdigit():
                    self.ctl('destroy', d)
        shutil.rmtree(self.tmp, ignore_errors=True)


def alive(pid):
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive for our purposes.
    try:
        return open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


BASIC = """# test domain
builder = 'hvm'
name = "%s"
memory = 256
vcpus = 2
serial = 'pty'
vnc = 0
on_poweroff = 'destroy'
on_reboot = 'restart'
on_crash = '%s'
"""


def test(fn):
    def run():
        e = Env()
        try:
            fn(e)
            print('PASS', fn.__name__)
        except Exception as ex:
            failures.append(fn.__name__)
            print('FAIL', fn.__name__, '-', ex)
            for f in ('hvmctl-g1.log', 'hvmctl-g2.log', 'qemu-dm-g1.log', 'hvmhv-g1.log'):
                p = os.path.join(e.run, 'log', f)
                if os.path.exists(p):
                    print('---', f, '---\n' + open(p).read()[-2000:])
        finally:
            e.cleanup()
    return run


@test
def dry_run(e):
    c = e.cfg(BASIC % ('g1', 'destroy') + "kernel='/k'\nramdisk='/i'\nextra='console=ttyS0 quiet'\n"
              "localtime=1\nrtc_timeoffset=60\nuuid='01234567-89ab-cdef-0123-456789abcdef'\n"
              "firmware='/fw/bios.bin'\naccel='emu'\nvif=['bridge=br0,model=e1000']\n")
    p = e.ctl('create', '-n', c, 'memory=300', check=0)
    hv, dm = p.stdout.splitlines()
    r = e.run
    assert hv == ('%s -d 1 -setup %s/1/setup.sock -m 300 -vcpus 2 -accel emu -bios /fw/bios.bin '
                  '-log %s/log/hvmhv-g1.log -name g1' % (FAKE_HV, r, r)), hv
    want = ('%s -d 1 -domain-name g1 -m 300 -vcpus 2 -setup %s/1/setup.sock '
            '-log %s/log/qemu-dm-g1.log -qmp %s/1/qmp.sock -pidfile %s/1/hvmdm.pid -M pc '
            '-nographic -serial pty -boot cda -acpi -localtime -rtc-offset 60 '
            '-uuid 01234567-89ab-cdef-0123-456789abcdef -kernel /k -initrd /i '
            "-append 'console=ttyS0 quiet' -net nic,vlan=0,macaddr=00:16:3e:00:01:00,model=e1000 "
            '-net tap,vlan=0,ifname=vif1.0-emu,bridge=br0,script=no,downscript=no'
            % (FAKE_DM, r, r, r, r))
    assert dm == want, '\n' + dm + '\n' + want
    assert not os.path.exists(os.path.join(r, '1')), 'dry run must not reserve an id'
    # VNC on by default (xl.cfg), device_model_override wins over the environment.
    c2 = e.cfg("name='g2'\nvncdisplay=2\ndevice_model_override='/opt/dm'\nacpi=0\n", 'g2.cfg')
    dm = e.ctl('create', '-n', c2, check=0).stdout.splitlines()[1]
    assert dm.startswith('/opt/dm -d 1 -domain-name g2 -m 128 -vcpus 1 '), dm
    assert ' -vnc 127.0.0.1:2 -vncunused ' in dm and '-nographic' not in dm, dm
    assert '-acpi' not in dm and '-serial' not in dm, dm
    # Disks become -drive options, vga/fda pass through, the VNC password goes in a file.
    c3 = e.cfg("name='g3'\ndisk=['/img/a.img,,hda,w', ',hdc:cdrom,r']\nvga='stdvga'\n"
               "fda='/img/f.img'\nvncpasswd='s3cret'\n", 'g3.cfg')
    dm = e.ctl('create', '-n', c3, check=0).stdout.splitlines()[1]
    assert (' -vga std -drive file=/img/a.img,format=raw,index=0,media=disk,readonly=off '
            '-drive file=,format=raw,index=2,media=cdrom,readonly=on -fda /img/f.img ') in dm, dm
    # The VNC display defaults to the domain id, as with xend.
    assert ('-vnc 127.0.0.1:1,password -vncunused -vnc-password-file %s/1/vncpasswd' % r) in dm
    assert 's3cret' not in dm
    dm = e.ctl('create', '-n', c3, 'sdl=1', 'full-screen=1', 'vnc=0', check=0).stdout
    assert ' -sdl -full-screen ' in dm and '-nographic' not in dm and '-vnc ' not in dm, dm
    # A real create refuses a missing image before starting anything.
    p = e.ctl('create', c3, check=1)
    assert ("%s:2: disk = [\"/img/a.img,,hda,w\", \",hdc:cdrom,r\"]: '/img/a.img,,hda,w': "
            "No such file or directory (check the path)" % c3) in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(r, '1'))
    # So do the kernel, floppy and firmware files, each named with its key.
    p = e.ctl('create', c3, "disk=[]", check=1)
    assert ("%s:4: fda = \"/img/f.img\": No such file or directory (check the path)" % c3) \
        in p.stderr, p.stderr
    p = e.ctl('create', c3, "disk=[]", "fda=", "kernel=/nonexistent/vmlinuz", check=1)
    assert ('command line: kernel = "/nonexistent/vmlinuz": No such file or directory '
            '(check the path)') in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(r, '1'))


@test
def config_errors(e):
    c = e.cfg("name = 'g1'\n\n\n\n\n\nmemory = \"lots\"\n")
    p = e.ctl('create', c, check=1)
    assert ('hvmctl: %s:7: memory = "lots": expected an integer number of MiB' % c) in p.stderr, \
        p.stderr
    c = e.cfg("name = 'g1'\nfoo = 1\n")
    p = e.ctl('create', '-n', c, check=0)
    assert "warning: unknown key 'foo' ignored\n" in p.stderr, p.stderr
    # A misspelt key names the known one; a wrong type names the kind and a valid line.
    c = e.cfg("name = 'g1'\nkernal = '/boot/vmlinuz'\n")
    p = e.ctl('create', '-n', c, check=0)
    assert ("%s:2: warning: unknown key 'kernal' ignored; did you mean 'kernel'?" % c) in \
        p.stderr, p.stderr
    p = e.ctl('create', '-n', c, "vif='bridge=br0'", check=1)
    assert ('command line: vif = "bridge=br0": expected a list of vif specs (a list of strings), '
            'not a string; for example: vif = [ "bridge=br0" ]') in p.stderr, p.stderr
    p = e.ctl('create', '-n', c, 'vcpus=x', check=1)
    assert 'command line: vcpus = "x": expected a number of vCPUs' in p.stderr, p.stderr
    # The hint still shows when an error follows (here the error it explains).
    c = e.cfg("name = 'g1'\nkernal = '/boot/vmlinuz'\ncmdline = 'quiet'\n")
    p = e.ctl('create', '-n', c, check=1)
    assert ("%s:2: warning: unknown key 'kernal' ignored; did you mean 'kernel'?" % c) in \
        p.stderr, p.stderr
    assert 'cmdline = "quiet": needs kernel' in p.stderr, p.stderr
    p = e.ctl('create', '/nonexistent.cfg', check=1)
    assert 'No such file' in p.stderr


@test
def lifecycle_basic(e):
    c = e.cfg(BASIC % ('g1', 'destroy'))
    p = e.ctl('create', c, check=0)
    st = e.state(1)
    assert st and st['state'] == 'running' and st['name'] == 'g1', st
    d = os.path.join(e.run, '1')
    for f in ('state', 'setup.sock', 'qmp.sock', 'hvmdm.pid'):
        assert os.path.exists(os.path.join(d, f)), f
    for f in ('qemu-dm-g1.log', 'hvmhv-g1.log', 'hvmctl-g1.log'):
        assert os.path.exists(os.path.join(e.run, 'log', f)), f
    hv, dm, sup = int(st['hv_pid']), int(st['dm_pid']), int(st['sup_pid'])
    assert alive(hv) and alive(dm) and alive(sup)
    assert int(open(os.path.join(d, 'hvmdm.pid')).read()) == dm
    # hvmhv was up before hvmdm started (the fake dm exits otherwise).
    assert len(e.lines('hvmdm.argv')) == 1

    out = e.ctl('list', check=0).stdout.splitlines()
    assert out[0].split() == ['Name', 'ID', 'Mem', 'VCPUs', 'State', 'Time(s)'], out
    row = out[1].split()
    assert row[:5] == ['g1', '1', '256', '2', 'r-----'], row
    assert e.ctl('domid', 'g1', check=0).stdout == '1\n'
    assert e.ctl('domname', '1', check=0).stdout == 'g1\n'
    e.ctl('domid', 'nope', check=1)
    e.ctl('domname', '9', check=1)
    up = e.ctl('uptime', 'g1', check=0).stdout.splitlines()
    assert up[1].split()[:2] == ['g1', '1'] and up[1].split()[2].startswith('0:00:'), up

    e.ctl('pause', 'g1', check=0)
    assert e.ctl('list', check=0).stdout.splitlines()[1].split()[4] == '--p---'
    e.ctl('unpause', '1', check=0)
    assert e.ctl('list', check=0).stdout.splitlines()[1].split()[4] == 'r-----'

    p = e.ctl('qmp', 'g1', '{"execute": "query-status", "id": 5}', check=0)
    rep = json.loads(p.stdout)
    assert rep == {'return': {'status': 'running', 'running': True}, 'id': 5}, rep
    p = e.ctl('qmp', 'g1', '{"execute": "query-status"', check=1)
    assert 'not valid JSON' in p.stderr, p.stderr
    p = e.ctl('qmp', 'g1', '{"execute": "bogus"}', check=1)
    assert 'CommandNotFound' in p.stdout

    e.ctl('sendkey', 'g1', 'ctrl-alt-del', '50', check=0)
    keys = [json.loads(l) for l in e.lines('keys')]
    assert keys == [{'hold-time': 50, 'keys': [{'data': 'ctrl', 'type': 'qcode'},
                                               {'data': 'alt', 'type': 'qcode'},
                                               {'data': 'delete', 'type': 'qcode'}]}], keys

    # Media, block list, VNC port, screendump: QMP wrappers.
    iso = e.cfg('x', 'cd.iso')
    e.ctl('cd-insert', 'g1', 'hdc', iso, check=0)
    e.ctl('cd-eject', 'g1', 'hdc', check=0)
    e.ctl('cd-insert', 'g1', 'hdc', '/nonexistent.iso', check=1)
    q = e.cfg('x', 'q.qcow2')
    e.ctl('cd-insert', 'g1', 'hdc', q, check=0)
    calls = [json.loads(l) for l in e.lines('qmp.calls')]
    assert calls == [
        {'execute': 'blockdev-change-medium',
         'arguments': {'device': 'hdc', 'filename': iso, 'format': 'raw'}},
        {'execute': 'eject', 'arguments': {'device': 'hdc'}},
        {'execute': 'blockdev-change-medium',
         'arguments': {'device': 'hdc', 'filename': q, 'format': 'qcow2'}}], calls
    bl = e.ctl('block-list', 'g1', check=0).stdout.splitlines()
    assert bl[0].split() == ['Vdev', 'Type', 'RO', 'Format', 'Image'], bl
    assert bl[1].split() == ['hda', 'disk', 'no', 'qcow2', '/img/a.qcow2'], bl
    assert bl[2].split() == ['hdc', 'cdrom', '-', '-', '(empty)'], bl
    assert e.ctl('vncport', 'g1', check=0).stdout == '127.0.0.1:5901\n'
    cwd = os.getcwd()
    os.chdir(e.tmp)
    try:
        e.ctl('screendump', 'g1', 'shot.png', check=0)
    finally:
        os.chdir(cwd)
    last = json.loads(e.lines('qmp.calls')[-1])
    assert last == {'execute': 'screendump', 'arguments': {
        'filename': os.path.realpath(e.tmp) + '/shot.png', 'format': 'png'}}, last

    # Console: the fake dm echoes what it reads, upper-cased; Ctrl-] detaches.
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(HVMCTL, [HVMCTL, '--rundir', e.run, 'console', 'g1'], e.env)
    time.sleep(0.5)
    os.write(fd, b'hello')
    got = b''
    end = time.monotonic() + 10
    while b'echo:HELLO' not in got and time.monotonic() < end:
        try:
            got += os.read(fd, 100)
        except OSError:
            break
    os.write(fd, b'\x1d')
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert b'echo:HELLO' in got, got
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status

    # Shutdown: ACPI power button, the fake guest powers off, on_poweroff=destroy.
    e.ctl('shutdown', '-w', '-t', '20', 'g1', check=0)
    assert e.state(1) is None
    e.wait(lambda: not os.path.exists(d), 'the domain directory to go')
    e.wait(lambda: not alive(hv) and not alive(dm) and not alive(sup), 'processes to end')
    assert e.ctl('list', check=0).stdout.splitlines()[1:] == []
    e.ctl('domid', 'g1', check=1)
    log = open(os.path.join(e.run, 'log', 'hvmctl-g1.log')).read()
    assert 'hvmhv ended with exit code 0: poweroff' in log, log
    assert 'shutdown reason=poweroff' in open(os.path.join(e.run, 'log', 'hvmhv-g1.log')).read()


@test
def reboot_restarts_same_domid(e):
    c = e.cfg(BASIC % ('g1', 'destroy'))
    e.ctl('create', c, check=0)
    st = e.state(1)
    e.ctl('reboot', '-w', '-t', '20', 'g1', check=0)
    st2 = e.wait(lambda: (e.state(1) or {}).get('state') == 'running' and e.state(1), 'restart')
    assert st2['restarts'] == '1', st2
    assert st2['hv_pid'] != st['hv_pid'] and st2['dm_pid'] != st['dm_pid']
    assert not alive(int(st['hv_pid'])) and not alive(int(st['dm_pid']))
    hvs = e.lines('hvmhv.argv')
    assert len(hvs) == 2 and all(l.startswith('-d 1 ') for l in hvs), hvs
    assert [l.split()[:2] for l in e.lines('hvmdm.argv')] == [['-d', '1']] * 2
    # A second domain gets the next id; names are unique.
    e.ctl('create', e.cfg(BASIC % ('g2', 'destroy'), 'g2.cfg'), check=0)
    assert e.ctl('domid', 'g2', check=0).stdout == '2\n'
    p = e.ctl('create', c, check=1)
    assert "domain 'g1' already exists with id 1" in p.stderr, p.stderr
    e.ctl('destroy', 'g1', check=0)
    assert e.state(1) is None
    e.wait(lambda: not alive(int(st2['hv_pid'])) and not alive(int(st2['sup_pid'])), 'destroy')
    e.ctl('destroy', '2', check=0)
    e.ctl('destroy', 'g1', check=1)


@test
def reboot_once_by_guest(e):
    # The guest itself reboots once (hvmhv exits REBOOT), then runs.
    e.env['FAKE_HV_MODE'] = 'reboot-once'
    e.ctl('create', e.cfg(BASIC % ('g1', 'destroy')), check=0)
    e.wait(lambda: (e.state(1) or {}).get('restarts') == '1' and
           e.state(1)['state'] == 'running', 'guest reboot')
    assert len(e.lines('hvmhv.argv')) == 2


@test
def crash_preserve(e):
    e.env['FAKE_HV_MODE'] = 'crash'
    e.ctl('create', e.cfg(BASIC % ('g1', 'preserve')), check=0)
    first = e.state(1)
    st = e.wait(lambda: (e.state(1) or {}).get('state') == 'shutdown' and e.state(1),
                'preserve')
    assert st['reason'] == 'crash', st
    assert st['hv_pid'] == '0' and st['dm_pid'] == '0' and st['sup_pid'] == '0', st
    e.wait(lambda: not alive(int(first['hv_pid'])) and not alive(int(first['dm_pid'])),
           'processes gone')
    row = e.ctl('list', check=0).stdout.splitlines()[1].split()
    assert row[:5] == ['g1', '1', '256', '2', '----c-'], row
    e.ctl('shutdown', 'g1', check=1)  # not running
    e.ctl('destroy', 'g1', check=0)
    assert e.state(1) is None and not os.path.exists(os.path.join(e.run, '1'))


@test
def crash_destroy_default(e):
    e.env['FAKE_HV_MODE'] = 'crash'
    e.ctl('create', e.cfg(BASIC % ('g1', 'destroy')), check=0)
    e.wait(lambda: not os.path.exists(os.path.join(e.run, '1')), 'crash cleanup')


@test
def dm_dies(e):
    e.env['FAKE_DM_MODE'] = 'die'
    e.ctl('create', e.cfg(BASIC % ('g1', 'restart')), check=0)
    st = e.state(1)
    hv = int(st['hv_pid'])
    e.wait(lambda: not os.path.exists(os.path.join(e.run, '1')), 'cleanup after dm death')
    e.wait(lambda: not alive(hv), 'hvmhv killed')
    log = open(os.path.join(e.run, 'log', 'hvmctl-g1.log')).read()
    assert 'the device model ended unexpectedly (exit code 1); destroying' in log, log
    assert len(e.lines('hvmhv.argv')) == 1  # not restarted


@test
def hv_killed(e):
    e.env['FAKE_HV_MODE'] = 'die'
    e.ctl('create', e.cfg(BASIC % ('g1', 'restart')), check=0)
    dm = int(e.state(1)['dm_pid'])
    e.wait(lambda: not os.path.exists(os.path.join(e.run, '1')), 'cleanup after hv death')
    e.wait(lambda: not alive(dm), 'hvmdm killed')
    log = open(os.path.join(e.run, 'log', 'hvmctl-g1.log')).read()
    assert 'hvmhv ended with signal 9' in log, log


@test
def start_failures(e):
    e.env['FAKE_DM_MODE'] = 'fail'
    p = e.ctl('create', e.cfg(BASIC % ('g1', 'destroy')), check=1)
    # The reason the device model logged is in the message, not only in its log.
    assert ('the device model ended (exit code 1) before its QMP socket appeared: '
            'dm: failing on purpose (see ') in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(e.run, '1'))
    e.env['FAKE_DM_MODE'] = ''
    e.env['FAKE_HV_MODE'] = 'error'
    p = e.ctl('create', e.cfg(BASIC % ('g1', 'destroy')), check=1)
    assert ('hvmhv ended (exit code 1) before its setup socket appeared: '
            'hvmhv: cannot set up the guest (see ') in p.stderr, p.stderr
    e.env['FAKE_HV_MODE'] = ''
    e.env['HVMCTL_HVMHV'] = '/nonexistent/hvmhv'
    p = e.ctl('create', e.cfg(BASIC % ('g1', 'destroy')), check=1)
    assert 'cannot run /nonexistent/hvmhv: No such file or directory' in p.stderr, p.stderr
    assert os.listdir(e.run) == ['log'] or sorted(os.listdir(e.run)) == ['lock', 'log'], \
        os.listdir(e.run)


@test
def foreground(e):
    # -F: the create process supervises; exit 0 after a clean poweroff.
    e.env['FAKE_HV_MODE'] = 'poweroff-after'
    p = e.ctl('create', '-F', e.cfg(BASIC % ('g1', 'destroy')), check=0)
    assert 'hvmhv ended with exit code 0: poweroff' in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(e.run, '1'))
    # Crash with on_crash=destroy: non-zero.
    e.env['FAKE_HV_MODE'] = 'crash'
    p = e.ctl('create', '-F', e.cfg(BASIC % ('g1', 'destroy')), check=1)
    assert 'crash' in p.stderr
    # SIGTERM to a foreground create destroys the domain.
    e.env['FAKE_HV_MODE'] = ''
    proc = subprocess.Popen([HVMCTL, '--rundir', e.run, 'create', '-F',
                             e.cfg(BASIC % ('g1', 'destroy'))], env=e.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    st = e.wait(lambda: (e.state(1) or {}).get('state') == 'running' and e.state(1), 'start')
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1, (proc.returncode, err)
    assert 'destroying the domain' in err and 'destroyed' in err, err
    assert not os.path.exists(os.path.join(e.run, '1'))
    assert not alive(int(st['hv_pid'])) and not alive(int(st['dm_pid']))


@test
def rundir_env(e):
    # HVM_RUNDIR selects the runtime directory when --rundir is absent.
    env = dict(e.env, HVM_RUNDIR=os.path.join(e.tmp, 'envrun'))
    p = subprocess.run([HVMCTL, 'create', '-n', e.cfg(BASIC % ('g1', 'destroy'))], env=env,
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0 and ('-setup %s/envrun/1/setup.sock' % e.tmp) in p.stdout, p.stdout


def pty_session(e, args, send, want):
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(HVMCTL, [HVMCTL, '--rundir', e.run] + args, e.env)
    got = b''
    end = time.monotonic() + 15
    sent = False
    while want not in got and time.monotonic() < end:
        if not sent and e.state(1) and e.state(1).get('state') == 'running':
            time.sleep(0.3)
            os.write(fd, send)
            sent = True
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                got += os.read(fd, 100)
            except OSError:
                break
    os.write(fd, b'\x1d')
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return got, status


@test
def create_console(e):
    got, status = pty_session(e, ['create', '-c', e.cfg(BASIC % ('g1', 'destroy'))], b'hi',
                              b'echo:HI')
    assert b'echo:HI' in got, got
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert e.state(1)['state'] == 'running'  # detaching leaves the domain running


@test
def supervisor_killed(e):
    e.ctl('create', e.cfg(BASIC % ('g1', 'restart')), check=0)
    st = e.state(1)
    os.kill(int(st['sup_pid']), signal.SIGKILL)
    e.wait(lambda: not alive(int(st['sup_pid'])), 'supervisor gone')
    # hvmhv still answers, so the domain still lists as running.
    assert e.ctl('list', check=0).stdout.splitlines()[1].split()[4] == 'r-----'
    e.ctl('destroy', 'g1', check=0, timeout=8)
    assert e.state(1) is None
    e.wait(lambda: not alive(int(st['hv_pid'])) and not alive(int(st['dm_pid'])), 'cleanup')


for t in [dry_run, config_errors, lifecycle_basic, reboot_restarts_same_domid,
          reboot_once_by_guest, crash_preserve, crash_destroy_default, dm_dies, hv_killed,
          start_failures, foreground, rundir_env, create_console, supervisor_killed]:
    t()
print('%d failed' % len(failures))
sys.exit(1 if failures else 0)
