#!/usr/bin/env python3
"""replay.py - replay qtest scripts against hvmdm-qtest and, optionally, QEMU.

Script format (one item per line):
  # text                 comment
  #! key: value          header: dm-args (extra hvmdm arguments), dm-env
                         (NAME=VALUE... set for hvmdm-qtest and its dm), harness-args
                         (extra hvmdm-qtest arguments, e.g. -m 64), qemu-args
                         (extra QEMU arguments), qemu-machine (default pc),
                         expect-exit (hvmdm-qtest's exit status, default 0),
                         qemu: no (never replay this
                         script against QEMU: it uses extensions, malformed
                         lines, clock_step or time-dependent state)
  > request              one qtest line, sent with a trailing newline
  >x HEX                 raw bytes, sent as they are (no newline added)
  >r N HEX               raw bytes HEX repeated N times (no newline added)
  < reply                expected line, exactly
  <~ regex               expected line, matched in full by a Python regex
  < IRQ raise N          expected IRQ lines, in order, before the reply

Replies are the OK/FAIL/ERR lines; IRQ lines that arrive before a reply
belong to the request before it.  A request's expected lines are all the `<`
lines up to the next request; with none, one reply is read and not checked.

Usage:
  replay.py [--harness PATH] [--harness-arg ARG]... [--qemu [--qemu-bin PATH]] [--qemu-only]
            [--differential-only] [--timeout S] [-v] SCRIPT|DIR...
--qemu also runs every script without `qemu: no` against Debian's
qemu-system-x86_64 (-machine pc -accel tcg -S with a halt-only BIOS);
--differential-only skips scripts marked `qemu: no` altogether.
Exit status: 0 all passed, 1 a failure, 77 nothing could run (QEMU missing).
"""
import argparse
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time


class Script:
    def __init__(self, path):
        self.path = path
        self.headers = {}
        self.steps = []  # (bytes to send, [expected (kind, text)], line number, raw)
        for no, raw in enumerate(open(path, encoding='utf-8', errors='strict'), 1):
            line = raw.rstrip('\n')
            if line.startswith('#!'):
                key, _, val = line[2:].partition(':')
                self.headers[key.strip()] = val.strip()
            elif not line.strip() or line.startswith('#'):
                continue
            elif line.startswith('>x '):
                self.steps.append((bytes.fromhex(line[3:].replace(' ', '')), [], no, True))
            elif line.startswith('>r '):
                n, _, hexdata = line[3:].partition(' ')
                self.steps.append((bytes.fromhex(hexdata.replace(' ', '')) * int(n), [], no, True))
            elif line.startswith('> ') or line == '>':
                self.steps.append(((line[2:] + '\n').encode(), [], no, False))
            elif line.startswith('<~ '):
                self._expect(('re', line[3:]), no)
            elif line.startswith('< '):
                self._expect(('eq', line[2:]), no)
            else:
                raise ValueError('%s:%d: cannot parse %r' % (path, no, line))

    def _expect(self, e, no):
        if not self.steps:
            raise ValueError('%s:%d: expectation before the first request' % (self.path, no))
        self.steps[-1][1].append(e)

    def qemu_ok(self):
        return self.headers.get('qemu', 'yes').lower() not in ('no', 'false', '0')


def is_irq(line):
    return line.startswith('IRQ ')


class Target:
    def __init__(self, argv, name, timeout, kill_at_end, env=None):
        self.name = name
        self.timeout = timeout
        self.kill_at_end = kill_at_end
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, env=env)
        self.buf = b''

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def readline(self):
        deadline = time.monotonic() + self.timeout
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                return None
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b'\n')
        return line.decode('utf-8', 'replace')

    def finish(self):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        if self.kill_at_end:
            self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        self.err.seek(0)
        return rc, self.err.read().decode('utf-8', 'replace')


def dm_env(script):
    """The environment for hvmdm-qtest: ours plus the script's dm-env."""
    env = dict(os.environ)
    for item in script.headers.get('dm-env', '').split():
        k, _, v = item.partition('=')
        env[k] = v
    return env


def run_script(script, argv, name, timeout, verbose, kill_at_end, check_rc, want_rc=0):
    t = Target(argv, name, timeout, kill_at_end, dm_env(script) if check_rc else None)
    failures = []
    for data, expect, no, raw in script.steps:
        if verbose:
            print('  %s > %r' % (name, data.decode('utf-8', 'replace').rstrip('\n')))
        try:
            t.send(data)
        except BrokenPipeError:
            failures.append('line %d: %s closed its input' % (no, name))
            break
        nreplies = sum(1 for k, e in expect if not (k == 'eq' and is_irq(e)) and
                       not (k == 're' and e.startswith('IRQ')))
        if not expect:
            nreplies = data.count(b'\n') if raw else 1
        got = []
        while nreplies > 0:
            line = t.readline()
            if line is None:
                got.append('<no reply within %ss>' % timeout)
                break
            got.append(line)
            if not is_irq(line):
                nreplies -= 1
        if verbose:
            for g in got:
                print('  %s < %s' % (name, g))
        if not expect:
            if got and got[-1].startswith('<no reply'):
                failures.append('line %d: %s' % (no, got[-1]))
                break
            continue
        ok = len(got) == len(expect)
        for (kind, e), g in zip(expect, got):
            if kind == 'eq' and g != e:
                ok = False
            if kind == 're' and not re.fullmatch(e, g):
                ok = False
        if not ok:
            failures.append('line %d: %r\n    expected: %s\n    got:      %s' % (
                no, data.decode('utf-8', 'replace').rstrip('\n')[:120],
                ' | '.join(('~' if k == 're' else '') + e for k, e in expect),
                ' | '.join(got)))
            if got and got[-1].startswith('<no reply'):
                break
    rc, err = t.finish()
    if check_rc and rc != want_rc:
        failures.append('%s exited with status %d, expected %d' % (name, rc, want_rc))
    return failures, err


def hlt_bios(tmpdir):
    path = os.path.join(tmpdir, 'hlt.bin')
    img = bytearray(65536)
    img[0xfff0:0xfff4] = b'\xfa\xf4\xeb\xfd'  # cli; hlt; jmp $-3 at the reset vector
    with open(path, 'wb') as f:
        f.write(img)
    return path


def collect(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            out += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith('.qtest'))
        else:
            out.append(p)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--harness', help='hvmdm-qtest binary')
    ap.add_argument('--harness-arg', action='append', default=[],
                    help='extra hvmdm-qtest argument (repeatable)')
    ap.add_argument('--qemu', action='store_true', help='also replay against QEMU')
    ap.add_argument('--qemu-only', action='store_true', help='replay against QEMU only')
    ap.add_argument('--qemu-bin', default='qemu-system-x86_64')
    ap.add_argument('--differential-only', action='store_true',
                    help='skip scripts marked "qemu: no"')
    ap.add_argument('--timeout', type=float, default=20.0, help='seconds to wait for a reply')
    ap.add_argument('-v', '--verbose', action='store_true')
    ap.add_argument('scripts', nargs='+')
    a = ap.parse_args()

    use_qemu = a.qemu or a.qemu_only
    qemu = shutil.which(a.qemu_bin) if use_qemu else None
    if use_qemu and not qemu:
        print('SKIPPED: %s not installed; no differential run' % a.qemu_bin)
        return 77
    if not a.qemu_only and not a.harness:
        ap.error('--harness is required unless --qemu-only')

    scripts = [Script(p) for p in collect(a.scripts)]
    if a.differential_only:
        scripts = [s for s in scripts if s.qemu_ok()]
    if not scripts:
        print('SKIPPED: no scripts to run')
        return 77
    tmp = tempfile.mkdtemp(prefix='replay.')
    bios = hlt_bios(tmp) if qemu else None
    total_fail = 0
    ran = 0
    try:
        for s in scripts:
            runs = []
            if not a.qemu_only:
                argv = [a.harness] + a.harness_arg + s.headers.get('harness-args', '').split()
                argv += ['--'] + s.headers.get('dm-args', '').split()
                runs.append(('hvmdm-qtest', argv, False, True))
            if qemu and s.qemu_ok():
                argv = [qemu, '-machine', s.headers.get('qemu-machine', 'pc'), '-accel', 'tcg',
                        '-S', '-bios', bios,
                        '-nodefaults', '-display', 'none', '-m', '128', '-qtest', 'stdio',
                        '-qtest-log', '/dev/null']
                argv += s.headers.get('qemu-args', '').split()
                runs.append(('qemu', argv, True, False))
            for name, argv, kill, check_rc in runs:
                ran += 1
                fails, err = run_script(s, argv, name, a.timeout, a.verbose, kill, check_rc,
                                        int(s.headers.get('expect-exit', '0')))
                status = 'ok' if not fails else 'FAIL'
                print('%-4s %s [%s] (%d requests)' % (status, s.path, name, len(s.steps)))
                if fails:
                    total_fail += 1
                    for f in fails:
                        print('    ' + f)
                    if err.strip():
                        print('    --- %s stderr ---' % name)
                        for line in err.strip().splitlines()[-30:]:
                            print('    ' + line)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('%d passed, %d failed' % (ran - total_fail, total_fail))
    return 1 if total_fail else 0


if __name__ == '__main__':
    sys.exit(main())
