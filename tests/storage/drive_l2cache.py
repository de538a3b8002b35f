#!/usr/bin/env python3
"""l2-cache-size= on a drive, from the xl disk spec to the qcow2 L2 cache:

 1. hvmctl: "IMG,qcow2,hda,rw,l2-cache-size=512K" turns into hvmdm's
    "-drive ...,l2-cache-size=524288" (hvmctl create -n prints the command
    lines); bad sizes and raw images are refused with a message that names
    the value and says what to give.
 2. hvmdm (under hvmdm-qtest, no guest): the size given on -drive is the
    cache the qcow2 image opens with (its "L2 cache of N tables" log line,
    64 KiB clusters); bad sizes and raw images stop the dm with the same
    kind of message.

usage: drive_l2cache.py BUILD_DIR   (SKIPPED without qemu-img)
"""
import os
import shutil
import subprocess
import sys
import tempfile

BUILD = os.path.abspath(sys.argv[1])
fails = 0

BAD = ["5X", "0", "64M", "33554433", "-1", "1.5M", "", "4MB", "99999999999999999999K", "18014398509481985K"]
ADVICE = "give a size up to 32M, in bytes or with a K or M suffix (such as 4M)"


def check(cond, what):
    global fails
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails += 1


def hvmctl_dry(tmp, spec):
    cfg = os.path.join(tmp, "g.cfg")
    with open(cfg, "w") as f:
        f.write('name = "l2c"\nbuilder = "hvm"\nmemory = 64\ndisk = [ "%s" ]\n' % spec)
    p = subprocess.run([os.path.join(BUILD, "bin", "hvmctl"), "--rundir", os.path.join(tmp, "run"),
                        "create", "-n", cfg], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def hvmdm(tmp, drive):
    """Start hvmdm with one IDE drive, ask whether it runs; (exit code, log text)."""
    log = os.path.join(tmp, "dm.log")
    if os.path.exists(log):
        os.unlink(log)
    p = subprocess.run([os.path.join(BUILD, "bin", "hvmdm-qtest"), "--log", log, "--",
                        "-M", "none", "-device", "i440fx", "-device", "piix3",
                        "-device", "piix4-ide", "-drive", drive],
                       input="dm_status\n", capture_output=True, text=True, timeout=60)
    text = open(log).read() if os.path.exists(log) else ""
    return p.returncode, p.stdout + text + p.stderr


def main():
    if not shutil.which("qemu-img"):
        print("SKIPPED: qemu-img not found (Debian's qemu-utils)")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        q = os.path.join(tmp, "d.qcow2")
        r = os.path.join(tmp, "d.raw")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=65536",
                        q, "1G"], check=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "raw", r, "1M"], check=True)

        # 1. the toolstack
        rc, out = hvmctl_dry(tmp, "%s,qcow2,hda,rw,l2-cache-size=512K" % q)
        check(rc == 0 and ",l2-cache-size=524288" in out,
              "hvmctl passes l2-cache-size=512K on as 524288 bytes (rc %d)" % rc)
        rc, out = hvmctl_dry(tmp, "%s,qcow2,hda,rw" % q)
        check(rc == 0 and "l2-cache-size" not in out, "no l2-cache-size unless given")
        rc, out = hvmctl_dry(tmp, "vdev=hda,l2-cache-size=1m,format=qcow2,target=%s" % q)
        check(rc == 0 and ",l2-cache-size=1048576" in out and "file=%s," % q in out,
              "key before target= and a lower-case suffix (rc %d)" % rc)
        for v in BAD:
            rc, out = hvmctl_dry(tmp, "%s,qcow2,hda,rw,l2-cache-size=%s" % (q, v))
            check(rc != 0 and ("l2-cache-size '%s': %s" % (v, ADVICE)) in out,
                  "hvmctl refuses l2-cache-size=%r with the advice" % v)
        rc, out = hvmctl_dry(tmp, "%s,raw,hda,rw,l2-cache-size=1M" % r)
        check(rc != 0 and "l2-cache-size is for qcow2 images only (this one is raw)" in out,
              "hvmctl refuses l2-cache-size on a raw image")

        # 2. the device model: the cache the image gets
        for v, tables in (("512K", 8), ("1048576", 16), ("256k", 4), ("1K", 2)):
            rc, out = hvmdm(tmp, "file=%s,format=qcow2,index=0,l2-cache-size=%s" % (q, v))
            check(rc == 0 and "OK running" in out and
                  "L2 cache of %d tables (%d KiB" % (tables, tables * 64) in out,
                  "hvmdm l2-cache-size=%s: %d tables of 64 KiB (rc %d)" % (v, tables, rc))
        rc, out = hvmdm(tmp, "file=%s,format=qcow2,index=0" % q)
        check(rc == 0 and "L2 cache of 16 tables" in out, "default: 16 tables (the floor)")
        for v in BAD:
            rc, out = hvmdm(tmp, "file=%s,format=qcow2,index=0,l2-cache-size=%s" % (q, v))
            check(rc != 0 and ("hda: l2-cache-size=%s: %s" % (v, ADVICE)) in out,
                  "hvmdm refuses l2-cache-size=%r with the advice (rc %d)" % (v, rc))
        rc, out = hvmdm(tmp, "file=%s,format=raw,index=0,l2-cache-size=1M" % r)
        check(rc != 0 and "hda: l2-cache-size= is for qcow2 images only (format=raw)" in out,
              "hvmdm refuses l2-cache-size on a raw image (rc %d)" % rc)
    print("%d failure(s)" % fails)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
