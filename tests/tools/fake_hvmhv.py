#!/usr/bin/env python3
# fake_hvmhv.py - stands in for hvmhv in hvmctl's lifecycle tests.  It
# listens on the setup socket like hvmhv (SOCK_SEQPACKET, setup.h framing)
# and answers the toolstack messages QUERY/PAUSE/UNPAUSE/DESTROY and a dm's
# SHUTDOWN, exiting with the HVM_EXIT_* code the real hypervisor would use.
# FAKE_HV_MODE: crash | die | reboot-once | poweroff-after | error (default:
# run until told otherwise).  FAKE_DIR: where argv and run counts go.
import os, select, signal, socket, struct, sys, time

HDR = struct.Struct('<IIIi')
MSG_SHUTDOWN, MSG_PAUSE, MSG_UNPAUSE, MSG_QUERY, MSG_DESTROY = 7, 8, 9, 10, 11
EXIT_POWEROFF, EXIT_ERROR, EXIT_REBOOT, EXIT_CRASH, EXIT_DESTROYED = 0, 1, 2, 3, 4
REASONS = {0: 'poweroff', 1: 'error', 2: 'reboot', 3: 'crash', 4: 'destroyed'}

argv = sys.argv[1:]
opts = dict(zip(argv[::2], argv[1::2]))
fake = os.environ.get('FAKE_DIR', '/tmp')
mode = os.environ.get('FAKE_HV_MODE', '')
with open(os.path.join(fake, 'hvmhv.argv'), 'a') as f:
    f.write(' '.join(argv) + '\n')
runs_file = os.path.join(fake, 'hvmhv.runs')
runs = int(open(runs_file).read()) + 1 if os.path.exists(runs_file) else 1
open(runs_file, 'w').write(str(runs))

domid, name = opts['-d'], opts.get('-name', '?')
start = time.monotonic()
state = 1  # HVM_STATE_RUNNING


def finish(code):
    sys.stderr.write('hvmhv: domain %s (%s): shutdown reason=%s\n' % (domid, name, REASONS[code]))
    sys.exit(code)


if mode == 'error':
    sys.stderr.write('hvmhv: cannot set up the guest\n')
    sys.exit(EXIT_ERROR)
lsock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
lsock.bind(opts['-setup'])
lsock.listen(8)
conns = []
deadline = None
if mode == 'crash':
    deadline, dcode = 0.3, EXIT_CRASH
elif mode == 'poweroff-after':
    deadline, dcode = 0.5, EXIT_POWEROFF
elif mode == 'reboot-once' and runs == 1:
    deadline, dcode = 0.3, EXIT_REBOOT
elif mode == 'die':
    deadline, dcode = 0.3, None

running_since = None  # the guest "runs" once the dm has connected (READY in setup.h)
while True:
    if (deadline is not None and running_since is not None and
            time.monotonic() - running_since > deadline):
        if dcode is None:
            os.kill(os.getpid(), signal.SIGKILL)
        finish(dcode)
    r, _, _ = select.select([lsock] + conns, [], [], 0.05)
    for s in r:
        if s is lsock:
            c, _ = lsock.accept()
            conns.append(c)
            if running_since is None:
                running_since = time.monotonic()
            continue
        data = s.recv(65536)
        if not data:
            conns.remove(s)
            s.close()
            continue
        typ, ln, seq, _ = HDR.unpack(data[:16])
        payload, status, code = b'', 0, None
        if typ == MSG_QUERY:
            payload = struct.pack('<IIQ', state, int(opts.get('-vcpus', 1)),
                                  int((time.monotonic() - start) * 1e9))
        elif typ == MSG_PAUSE:
            state = 2
        elif typ == MSG_UNPAUSE:
            state = 1
        elif typ == MSG_DESTROY:
            code = EXIT_DESTROYED
        elif typ == MSG_SHUTDOWN:
            reason = struct.unpack('<I', data[16:20])[0]
            code = {0: EXIT_POWEROFF, 1: EXIT_REBOOT}.get(reason, EXIT_CRASH)
        else:
            status = -38  # -ENOSYS
        s.send(HDR.pack(typ, len(payload), seq, status) + payload)
        if code is not None:
            finish(code)
