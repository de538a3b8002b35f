#!/usr/bin/env python3
"""Storage with a real guest (Debian's kernel, ata_piix with bus-master DMA):

 1. formats: three disks made by qemu-img (qcow2 v3 64 KiB clusters, qcow2
    compat=0.10 with 4 KiB clusters, a compressed qcow2 from
    `qemu-img convert -c`) read correctly in the guest (MD5 of the first
    MiB); the guest writes 4 MiB to the first one, reads it back after
    dropping its page cache and powers off; `qemu-img check` is clean and the
    image holds exactly the guest's bytes.
 2. backing + kill: a qcow2 overlay with a backing file, a raw disk and a
    512-byte-cluster qcow2 read correctly; the guest writes and syncs to the
    overlay, then hvmdm is killed with SIGKILL: nothing the guest flushed is
    lost, the overlay passes `qemu-img check`, the backing file is unchanged.

Both runs check that ata_piix drives the PIIX4 IDE function with Ultra DMA
(sysfs and the kernel log), and the second that the guest's transfers really
went through the bus master (query-blockstats x-dma-bytes).

usage: guest_qcow2.py BUILD_DIR   ($HVM_BOOT_ACCEL, default emu; SKIPPED if
hvmhv cannot run it or the guest kit is missing)
"""
import glob
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1])
ACCEL = os.environ.get("HVM_BOOT_ACCEL", "emu")
KIT = os.path.join(BUILD, "guest")
TIMEOUT = int(os.environ.get("HVM_BOOT_TIMEOUT", "800"))
MODULES = "libata,scsi_mod,ata_piix,sd_mod"
fails = 0


def check(cond, what):
    global fails
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails += 1


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def md5_region(img, fmt, off, length, tmp):
    raw = os.path.join(tmp, "region.raw")
    sh("qemu-img", "convert", "-f", fmt, "-O", "raw", img, raw)
    with open(raw, "rb") as f:
        f.seek(off)
        digest = hashlib.md5(f.read(length)).hexdigest()
    os.unlink(raw)
    return digest


def pattern_image(tmp, name, fmt, opts, byte):
    """64 MiB image whose first MiB is a pattern (written with qemu-io)."""
    img = os.path.join(tmp, name)
    sh("qemu-img", "create", "-q", "-f", fmt, *opts, img, "64M")
    sh("qemu-io", "-f", fmt, "-c", "write -P 0x%02x 0 512k" % byte, "-c",
       "write -P 0x%02x 512k 512k" % (byte ^ 0xff), img)
    return img


def serial_lines(path):
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    # Only whole lines: the guest may be half-way through writing the last one.
    return text[:text.rfind("\n") + 1].splitlines()


def mark(lines, what):
    out = []
    for l in lines:
        w = l.split()
        if len(w) >= 2 and w[0] == "HVM-MARK" and w[1] == what:
            out.append(w[2:])
    return out


class Guest:
    def __init__(self, tmp, name, disks, disklist, hold=0):
        self.serial = os.path.join(tmp, name + ".serial")
        self.rundir = os.path.join(tmp, "run-" + name)
        cfg = os.path.join(tmp, name + ".cfg")
        with open(cfg, "w") as f:
            f.write('name = "%s"\nbuilder = "hvm"\nmemory = 256\naccel = "%s"\nvnc = 0\n'
                    'serial = "file:%s"\nkernel = "%s/vmlinuz-686"\nramdisk = "%s/initrd.gz"\n'
                    'extra = "console=ttyS0,115200 hvm.scenario=disk hvm.disks=%s hvm.modules=%s '
                    'hvm.disk_hold=%d"\n'
                    'disk = [ %s ]\n' % (name, ACCEL, self.serial, KIT, KIT, disklist, MODULES, hold,
                                          ", ".join('"%s"' % d for d in disks)))
        self.proc = subprocess.Popen([os.path.join(BUILD, "bin", "hvmctl"), "--rundir", self.rundir,
                                      "create", "-F", cfg], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)

    def lines(self):
        return serial_lines(self.serial)

    def wait_mark(self, what):
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and self.proc.poll() is None:
            if mark(self.lines(), what):
                return True
            time.sleep(0.2)
        return bool(mark(self.lines(), what))

    def dm_pid(self):
        for st in glob.glob(os.path.join(self.rundir, "*", "state")):
            for l in open(st):
                if l.startswith("dm_pid="):
                    return int(l.split("=", 1)[1])
        return None

    def finish(self):
        try:
            out, _ = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        print(out.strip())
        return self.proc.returncode


def check_pre(lines, expect):
    got = {m[0]: m[1] for m in mark(lines, "disk-pre") if len(m) == 2}
    for dev, (label, digest) in expect.items():
        check(got.get(dev) == digest, "%s (%s) reads correctly in the guest" % (label, dev))


def check_dma(lines):
    # The IDE function is PIIX4-compatible (8086:7111), which ata_piix drives
    # with Ultra DMA/33 (a PIIX3 gets multiword DMA only).  The disks must run
    # in a UDMA mode (sysfs xfer_mode), and the kernel log must show the
    # channels' UDMA limit ("ata1: PATA max UDMA/33").
    # Attached disks: hda = ata1.00 (dev1.0), hdb = dev1.1, hdd = dev2.1.
    modes = {m[0]: m[1] for m in mark(lines, "ata-mode") if len(m) >= 2}
    disks = ("dev1.0", "dev1.1", "dev2.1")
    check(all("UDMA" in modes.get(d, "") for d in disks),
          "ata_piix runs the disks with Ultra DMA: %s" % {d: modes.get(d) for d in disks})
    conf = {m[0]: m[1] for m in mark(lines, "ata-max") if len(m) >= 2}
    check(all(conf.get(p, "").startswith("UDMA/") for p in ("ata1", "ata2")),
          "dmesg: libata drives both channels up to a UDMA mode: %s" % conf)
    pci = [m for m in mark(lines, "pci") if len(m) >= 4 and m[0].endswith("01.1")]
    check(pci and pci[0][1] == "0x8086:0x7111" and pci[0][3] == "ata_piix",
          "the IDE function is a PIIX4 (8086:7111) bound to ata_piix: %s" % pci)


def blockstats(g, name):
    """query-blockstats through hvmctl: {device: stats}."""
    r = subprocess.run([os.path.join(BUILD, "bin", "hvmctl"), "--rundir", g.rundir, "qmp", name,
                        '{"execute": "query-blockstats"}'], capture_output=True, text=True)
    try:
        return {d["device"]: d["stats"] for d in json.loads(r.stdout)["return"]}
    except (ValueError, KeyError, TypeError):
        print("query-blockstats: %r %r" % (r.stdout, r.stderr))
        return {}


def check_dma_used(stats, dev):
    # The guest moved 1 MiB (checksum), 4 MiB written and 4 MiB read back on
    # hda; the bus master must have moved all of it (a few KiB of firmware
    # PIO reads are allowed).
    st = stats.get(dev, {})
    dma = st.get("x-dma-bytes", 0)
    total = st.get("rd_bytes", 0) + st.get("wr_bytes", 0)
    check(dma >= 9 << 20 and total - dma <= 64 << 10,
          "%s: the guest's transfers went through bus-master DMA (%d of %d bytes)" % (dev, dma, total))


def run_formats(tmp):
    a = pattern_image(tmp, "v3.qcow2", "qcow2", [], 0x11)
    b = pattern_image(tmp, "v2.qcow2", "qcow2", ["-o", "compat=0.10,cluster_size=4096"], 0x22)
    src = pattern_image(tmp, "c.raw", "raw", [], 0x33)
    c = os.path.join(tmp, "c.qcow2")
    sh("qemu-img", "convert", "-c", "-O", "qcow2", src, c)
    expect = {"hda": ("qcow2 v3", md5_region(a, "qcow2", 0, 1 << 20, tmp)),
              "hdb": ("qcow2 compat=0.10, 4 KiB clusters", md5_region(b, "qcow2", 0, 1 << 20, tmp)),
              "hdd": ("compressed qcow2", md5_region(c, "qcow2", 0, 1 << 20, tmp))}
    g = Guest(tmp, "formats", ["%s,qcow2,hda,rw" % a, "%s,qcow2,hdb,rw" % b, "%s,qcow2,hdd,rw" % c],
              "hda,hdb,hdd")
    rc = g.finish()
    lines = g.lines()
    check(rc == 0 and mark(lines, "poweroff"), "guest ran the disk scenario and powered off (rc %s)" % rc)
    check_dma(lines)
    check_pre(lines, expect)
    written, read = mark(lines, "disk-written"), mark(lines, "disk-read")
    check(written and written == read, "guest read back what it wrote")
    r = subprocess.run(["qemu-img", "check", "-q", a], capture_output=True, text=True)
    check(r.returncode == 0, "qemu-img check is clean: %s" % (r.stdout + r.stderr).strip())
    check(written and md5_region(a, "qcow2", 1 << 20, 4 << 20, tmp) == written[0][0],
          "the qcow2 image holds the guest's bytes")


def run_backing_kill(tmp):
    base = pattern_image(tmp, "base.qcow2", "qcow2", [], 0x44)
    base_sum = hashlib.md5(open(base, "rb").read()).hexdigest()
    ov = os.path.join(tmp, "ov.qcow2")
    sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", ov)
    raw = pattern_image(tmp, "r.raw", "raw", [], 0x55)
    small = pattern_image(tmp, "small.qcow2", "qcow2", ["-o", "cluster_size=512"], 0x66)
    expect = {"hda": ("qcow2 overlay on a backing file", md5_region(ov, "qcow2", 0, 1 << 20, tmp)),
              "hdb": ("raw", md5_region(raw, "raw", 0, 1 << 20, tmp)),
              "hdd": ("qcow2, 512-byte clusters", md5_region(small, "qcow2", 0, 1 << 20, tmp))}
    g = Guest(tmp, "kill", ["%s,qcow2,hda,rw" % ov, "%s,raw,hdb,rw" % raw, "%s,qcow2,hdd,rw" % small],
              "hda,hdb,hdd", hold=600)
    reached = g.wait_mark("disk-read")
    check(reached, "guest wrote, synced and read back")
    stats = blockstats(g, "kill")
    check_dma_used(stats, "hda")
    # The raw disk's requests went through Linux native AIO (io_submit on the
    # dm loop); the qcow2 disk's cached reads ran on the dm loop and its
    # writes (and reads that would block) on the worker thread.
    raw, q = stats.get("hdb", {}), stats.get("hda", {})
    check(raw.get("x-aio") == "native" and raw.get("x-aio-native", 0) > 0,
          "hdb (raw): Linux native AIO served %s requests (%s fell back to the worker)" %
          (raw.get("x-aio-native"), raw.get("x-aio-fallback")))
    check(q.get("x-aio") == "native" and q.get("x-aio-native", 0) > 0 and
          q.get("x-aio-fallback", 0) > 0,
          "hda (qcow2): %s requests on the dm loop, %s on the worker thread" %
          (q.get("x-aio-native"), q.get("x-aio-fallback")))
    pid = g.dm_pid()
    check(pid is not None, "found hvmdm's pid")
    if pid:
        os.kill(pid, signal.SIGKILL)
    g.finish()
    check(not mark(g.lines(), "poweroff"), "hvmdm was killed while the guest was still up")
    lines = g.lines()
    check_pre(lines, expect)
    written = mark(lines, "disk-written")
    r = subprocess.run(["qemu-img", "check", "-q", ov], capture_output=True, text=True)
    check(r.returncode == 0, "overlay passes qemu-img check after SIGKILL: %s" % (r.stdout + r.stderr).strip())
    check(written and md5_region(ov, "qcow2", 1 << 20, 4 << 20, tmp) == written[0][0],
          "nothing the guest flushed was lost")
    check(hashlib.md5(open(base, "rb").read()).hexdigest() == base_sum, "the backing file is unchanged")


def main():
    if not os.path.exists(os.path.join(KIT, "initrd.gz")):
        print("SKIPPED: guest kit not built (tests/guest/build.sh %s)" % KIT)
        return 77
    if subprocess.run([os.path.join(BUILD, "bin", "hvmhv"), "-check-accel", ACCEL],
                      capture_output=True).returncode != 0:
        print("SKIPPED: accel=%s is not available here" % ACCEL)
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        run_formats(tmp)
        run_backing_kill(tmp)
    print("%d failures" % fails)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
