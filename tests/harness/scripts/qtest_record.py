# SPDX-License-Identifier: MIT
"""Shared by the *-record.py scripts: run a request plan through a qtest
peer (Debian's QEMU, or hvmdm-qtest where QEMU is not the reference) and
write, or with --check compare, the .qtest transcripts beside the scripts.

A plan is a list of strings: '# ...' lines are copied as comments, every
other line is a qtest request sent to the peer; its reply is recorded as
'< reply', or as '<~ REGEX' when fuzzy(request) gives one (values that
follow the clock).  Unsolicited 'IRQ ...' lines from the peer are skipped.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Debian's QEMU, paused, no default devices; MACHINE and MEM are filled in.
QEMU_BASE = ["qemu-system-x86_64", "-machine", "MACHINE", "-accel", "tcg", "-S", "-nodefaults",
             "-display", "none", "-m", "MEM", "-qtest", "stdio", "-qtest-log", "none"]


def qemu_argv(machine="pc", mem="128", extra=()):
    sub = {"MACHINE": machine, "MEM": str(mem)}
    return [sub.get(a, a) for a in QEMU_BASE] + list(extra)


def record(argv, reqs, headers, fuzzy=None):
    """Send reqs to the qtest peer argv; return the transcript lines."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, bufsize=1)
    lines = list(headers)
    try:
        for r in reqs:
            if r.startswith("#"):
                lines.append(r)
                continue
            p.stdin.write(r + "\n")
            p.stdin.flush()
            while True:
                reply = p.stdout.readline().rstrip("\n")
                if not reply.startswith("IRQ"):
                    break
            pattern = fuzzy(r) if fuzzy else None
            lines += ["> " + r, ("<~ " + pattern) if pattern else ("< " + reply)]
    finally:
        p.kill()
        p.wait()
    return lines


def write_or_check(name, lines):
    """Write HERE/name, or with --check report whether it differs; True if equal/written."""
    text = "\n".join(lines) + "\n"
    path = os.path.join(HERE, name)
    if "--check" in sys.argv[1:]:
        with open(path) as f:
            if f.read() != text:
                print("differs from the recording: " + name)
                return False
        return True
    with open(path, "w") as f:
        f.write(text)
    return True


def main(scripts):
    """scripts: {file name: function returning the transcript lines}."""
    bad = 0
    for name, make in scripts.items():
        if not write_or_check(name, make()):
            bad = 1
    return bad
