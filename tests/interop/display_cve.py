#!/usr/bin/env python3
"""The display CVE transcripts, rendered: replays the requests of
tests/harness/scripts/{vga,vbe,cirrus}-cve.qtest against hvmdm under the
qtest harness with QMP, and after every section (each "# CVE..." comment and
the end) asks for a screendump, which runs the display's refresh over
whatever geometry the trigger left (start address, line offset, split
screen, VBE offsets, blit leftovers).  Checks: every request gets its
recorded reply, every screendump succeeds with a picture no larger than the
console's maximum, and hvmdm is still running at the end.  Under the
HVM_SANITIZE build this is where an out-of-bounds read in the drawing code
would be reported.

usage: display_cve.py HVMDM-QTEST
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uitest as ut  # noqa: E402
from uitest import check  # noqa: E402

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness", "scripts")
CONSOLE_MAX = (4096, 4096)  # ui/console.h CONSOLE_MAX_*


def parse(path):
    """(dm-args, [(section, [(request, expected reply or None)])])."""
    args, sections = [], [("start", [])]
    pending = None
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("#! dm-args:"):
            args = line.split(":", 1)[1].split()
        elif line.startswith("# CVE") or line.startswith("# the card still works"):
            sections.append((line[2:], []))
        elif line.startswith("> "):
            pending = [line[2:], None]
            sections[-1][1].append(pending)
        elif line.startswith("< ") and pending is not None and pending[1] is None:
            pending[1] = line[2:]
    return args, sections


def run(name, tmp):
    args, sections = parse(os.path.join(SCRIPTS, name))
    sub = os.path.join(tmp, name)
    os.mkdir(sub)
    qmp = os.path.join(sub, "qmp.sock")
    q = ut.Qtest(args + ["-qmp", qmp], sub)
    try:
        m = ut.Qmp(qmp)
        bad = []
        dumps = 0
        for title, reqs in sections:
            for req, want in reqs:
                got = q.cmd(req)
                if want is not None and got != want:
                    bad.append((req, want, got))
            path = os.path.join(sub, "dump%d.ppm" % dumps)
            r = m.cmd("screendump", filename=path)
            ok = "return" in r and os.path.exists(path)
            if ok:
                with open(path, "rb") as f:
                    w, h, _ = ut.read_pnm(f.read())
                ok = 0 < w <= CONSOLE_MAX[0] and 0 < h <= CONSOLE_MAX[1]
            check(ok, "%s: screendump after '%s' (%s)" % (name, title[:60],
                                                         "%dx%d" % (w, h) if ok else r))
            dumps += 1
        check(not bad, "%s: every request got its recorded reply (%d differ: %s)" %
              (name, len(bad), bad[:3]))
        check(q.proc.poll() is None, "%s: hvmdm still runs" % name)
    finally:
        q.close()


def main():
    tmp = tempfile.mkdtemp(prefix="displaycve-")
    try:
        for name in ("vga-cve.qtest", "vbe-cve.qtest", "cirrus-cve.qtest"):
            run(name, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(ut.finish())


if __name__ == "__main__":
    main()
