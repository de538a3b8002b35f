#!/usr/bin/env python3
"""A real guest writes to a qcow2 disk through the emulated PIIX3 IDE
(ata_piix, DMA), reads it back after dropping its page cache, and powers off;
the image then passes `qemu-img check` and holds exactly the bytes the guest
wrote.  The same with a raw image.

usage: guest_qcow2.py BUILD_DIR   ($HVM_BOOT_ACCEL, default emu; SKIPPED if
hvmhv cannot run it or the guest kit is missing)
"""
import hashlib
import os
import subprocess
import sys
import tempfile

BUILD = os.path.abspath(sys.argv[1])
ACCEL = os.environ.get("HVM_BOOT_ACCEL", "emu")
KIT = os.path.join(BUILD, "guest")
TIMEOUT = int(os.environ.get("HVM_BOOT_TIMEOUT", "900"))
fails = 0


def check(cond, what):
    global fails
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails += 1


def marks(path):
    out = {}
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("HVM-MARK "):
                w = line.split()
                out.setdefault(w[1], w[2:])
    return out


def run_guest(tmp, fmt):
    img = os.path.join(tmp, "disk." + fmt)
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, img, "64M"], check=True)
    serial = os.path.join(tmp, fmt + ".serial")
    cfg = os.path.join(tmp, fmt + ".cfg")
    with open(cfg, "w") as f:
        f.write('name = "disk%s"\nbuilder = "hvm"\nmemory = 256\naccel = "%s"\nvnc = 0\n'
                'serial = "file:%s"\nkernel = "%s/vmlinuz-686"\nramdisk = "%s/initrd.gz"\n'
                'extra = "console=ttyS0,115200 hvm.scenario=disk '
                'hvm.modules=libata,scsi_mod,ata_piix,sd_mod"\n'
                'disk = [ "%s,%s,hda,rw" ]\n' % (fmt, ACCEL, serial, KIT, KIT, img, fmt))
    r = subprocess.run([os.path.join(BUILD, "bin", "hvmctl"), "--rundir", os.path.join(tmp, "run"),
                        "create", "-F", cfg], capture_output=True, text=True, timeout=TIMEOUT)
    print(r.stdout + r.stderr)
    m = marks(serial)
    check(r.returncode == 0 and "poweroff" in m, "%s: guest ran the disk scenario and powered off" % fmt)
    check("disk-dev" in m and m["disk-dev"][1:] == [str(64 * 2048)],
          "%s: guest sees a 64 MiB disk: %s" % (fmt, m.get("disk-dev")))
    written, read = m.get("disk-written"), m.get("disk-read")
    check(written is not None and written == read, "%s: guest read back what it wrote" % fmt)
    if fmt == "qcow2":
        c = subprocess.run(["qemu-img", "check", "-q", img], capture_output=True, text=True)
        check(c.returncode == 0, "qemu-img check is clean: %s" % (c.stdout + c.stderr).strip())
    raw = os.path.join(tmp, "out.raw")
    subprocess.run(["qemu-img", "convert", "-f", fmt, "-O", "raw", img, raw], check=True)
    with open(raw, "rb") as f:
        f.seek(1 << 20)
        digest = hashlib.md5(f.read(4 << 20)).hexdigest()
    check(written is not None and digest == written[0], "%s: the image holds the guest's bytes" % fmt)


def main():
    if not os.path.exists(os.path.join(KIT, "initrd.gz")):
        print("SKIPPED: guest kit not built (tests/guest/build.sh %s)" % KIT)
        return 77
    if subprocess.run([os.path.join(BUILD, "bin", "hvmhv"), "-check-accel", ACCEL],
                      capture_output=True).returncode != 0:
        print("SKIPPED: accel=%s is not available here" % ACCEL)
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("qcow2", "raw"):
            run_guest(tmp, fmt)
    print("%d failures" % fails)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
