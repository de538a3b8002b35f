#!/usr/bin/env python3
# fake_hvmdm.py - stands in for hvmdm in hvmctl's lifecycle tests: checks
# that hvmhv's setup socket is up, serves a small QMP (greeting,
# qmp_capabilities, query-status, query-chardev, system_powerdown and
# system_reset forwarded to the fake hypervisor as a SHUTDOWN request,
# send-key recorded, quit), opens a pty for `-serial pty` and echoes what
# arrives on it, and exits when the hypervisor goes away.
# FAKE_DM_MODE: die (exit 1 after 0.5 s) | fail (exit before QMP).
import json, os, select, socket, struct, sys, time, tty

argv = sys.argv[1:]
fake = os.environ.get('FAKE_DIR', '/tmp')
mode = os.environ.get('FAKE_DM_MODE', '')
with open(os.path.join(fake, 'hvmdm.argv'), 'a') as f:
    f.write(' '.join(argv) + '\n')


def opt(name):
    return argv[argv.index(name) + 1] if name in argv else None


setup = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    setup.connect(opt('-setup'))
except OSError as e:
    sys.stderr.write('hvmdm: cannot connect to %s: %s\n' % (opt('-setup'), e))
    sys.exit(1)
if mode == 'fail':
    sys.stderr.write('1.000 info dm: starting\n1.001 error dm: failing on purpose\n')
    sys.exit(1)
if opt('-pidfile'):
    open(opt('-pidfile'), 'w').write('%d\n' % os.getpid())

chardevs = []
master = None
if opt('-serial') == 'pty':
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    sys.stderr.write('char device redirected to %s (label serial0)\n' % path)
    sys.stderr.flush()
    chardevs.append({'label': 'serial0', 'filename': 'pty:' + path, 'frontend-open': True})

qsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
qsock.bind(opt('-qmp'))
qsock.listen(4)
clients = {}
start = time.monotonic()
paused = False
pending = []


def hv_shutdown(reason):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    c.connect(opt('-setup'))
    c.send(struct.pack('<IIIi', 7, 8, 1, 0) + struct.pack('<II', reason, 0))
    c.recv(100)
    c.close()


def execute(msg):
    global paused
    cmd, args = msg.get('execute'), msg.get('arguments', {})
    if cmd == 'qmp_capabilities':
        return {}
    if cmd == 'query-status':
        return {'status': 'paused' if paused else 'running', 'running': not paused}
    if cmd == 'query-chardev':
        return chardevs
    if cmd == 'stop':
        paused = True
        return {}
    if cmd == 'cont':
        paused = False
        return {}
    if cmd in ('system_powerdown', 'system_reset'):
        # The guest reacts a little later, as a real one would.
        pending.append((time.monotonic() + 0.2, 0 if cmd == 'system_powerdown' else 1))
        return {}
    if cmd == 'send-key':
        with open(os.path.join(fake, 'keys'), 'a') as f:
            f.write(json.dumps(args, sort_keys=True) + '\n')
        return {}
    if cmd == 'quit':
        sys.exit(0)
    if cmd in ('eject', 'blockdev-change-medium', 'screendump'):
        with open(os.path.join(fake, 'qmp.calls'), 'a') as f:
            f.write(json.dumps(msg, sort_keys=True) + '\n')
        return {}
    if cmd == 'query-block':
        return [{'device': 'hda', 'removable': False,
                 'inserted': {'file': '/img/a.qcow2', 'drv': 'qcow2', 'ro': False}},
                {'device': 'hdc', 'removable': True, 'tray_open': False}]
    if cmd == 'query-vnc':
        return {'enabled': True, 'host': '127.0.0.1', 'service': '5901', 'auth': 'none'}
    return None


while True:
    if mode == 'die' and time.monotonic() - start > 0.5:
        sys.stderr.write('hvmdm: dying on purpose\n')
        sys.exit(1)
    if pending and time.monotonic() >= pending[0][0]:
        hv_shutdown(pending.pop(0)[1])
    fds = [qsock, setup] + list(clients) + ([master] if master is not None else [])
    r, _, _ = select.select(fds, [], [], 0.05)
    for s in r:
        if s is qsock:
            c, _ = qsock.accept()
            clients[c] = b''
            c.sendall(b'{"QMP": {"version": {"qemu": {"major": 0, "minor": 1, "micro": 0}}, '
                      b'"capabilities": []}}\r\n')
        elif s is setup:
            if not setup.recv(100):
                sys.exit(0)  # the hypervisor is gone
        elif s is master:
            data = os.read(master, 1024)
            os.write(master, b'echo:' + data.upper())
        else:
            data = s.recv(4096)
            if not data:
                del clients[s]
                s.close()
                continue
            clients[s] += data
            while b'\n' in clients[s]:
                line, clients[s] = clients[s].split(b'\n', 1)
                if not line.strip():
                    continue
                msg = json.loads(line)
                ret = execute(msg)
                if ret is None:
                    rep = {'error': {'class': 'CommandNotFound', 'desc': 'no ' + msg.get('execute', '')}}
                else:
                    rep = {'return': ret}
                if 'id' in msg:
                    rep['id'] = msg['id']
                s.sendall(json.dumps(rep).encode() + b'\r\n')
