#!/usr/bin/env python3
"""bench/boot: time from `hvmctl create` to the guest's first userspace marker
(HVM-MARK init on ttyS0), side by side with QEMU on the same accelerator
class, same kernel, initramfs and memory.

usage: boot.py [--build DIR] [--accel emu|kvm] [--memory MB] [--runs N] [--help]

Guest: the guest kit's Debian i386 686 kernel + busybox initramfs (build it
with tests/guest/build.sh BUILD/guest), direct kernel boot, scenario poweroff.
Reference: qemu-system-i386 -accel tcg (against emu) or -enable-kvm (against
kvm), -m MB, the same -kernel/-initrd/-append.

Output (DESIGN.md section 6): one line per figure,
  BENCH boot_init_s <seconds> s          ours, median of the runs
  BENCH qemu_boot_init_s <seconds> s     QEMU, median
  BENCH boot_init_ratio <ours/qemu>      lower is better; 1.0 is parity
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

APPEND = "console=ttyS0,115200 hvm.scenario=poweroff"


def wait_marker(path, proc, start, timeout):
    while time.time() - start < timeout:
        try:
            with open(path, errors="replace") as f:
                if "HVM-MARK init" in f.read():
                    return time.time() - start
        except FileNotFoundError:
            pass
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    return None


def run_ours(a, kit, tmp, i):
    serial = os.path.join(tmp, "ours%d.serial" % i)
    cfg = os.path.join(tmp, "ours%d.cfg" % i)
    with open(cfg, "w") as f:
        f.write('name = "bench%d"\nbuilder = "hvm"\nmemory = %d\naccel = "%s"\nvnc = 0\n'
                'serial = "file:%s"\nkernel = "%s/vmlinuz-686"\nramdisk = "%s/initrd.gz"\n'
                'extra = "%s"\n' % (i, a.memory, a.accel, serial, kit, kit, APPEND))
    start = time.time()
    p = subprocess.Popen([os.path.join(a.build, "bin", "hvmctl"), "--rundir", os.path.join(tmp, "run"),
                          "create", "-F", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = wait_marker(serial, p, start, a.timeout)
    try:
        p.wait(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        p.kill()
    return t


def run_qemu(a, kit, tmp, i):
    serial = os.path.join(tmp, "qemu%d.serial" % i)
    accel = ["-accel", "tcg"] if a.accel == "emu" else ["-enable-kvm"]
    start = time.time()
    p = subprocess.Popen(["qemu-system-i386"] + accel + ["-M", "pc", "-m", str(a.memory), "-display", "none",
                          "-kernel", kit + "/vmlinuz-686", "-initrd", kit + "/initrd.gz", "-append", APPEND,
                          "-serial", "file:" + serial, "-no-reboot", "-monitor", "none"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = wait_marker(serial, p, start, a.timeout)
    try:
        p.wait(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        p.kill()
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--accel", default="emu", choices=["emu", "kvm"])
    ap.add_argument("--memory", type=int, default=256)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=1200)
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    kit = os.path.join(a.build, "guest")
    if not os.path.exists(os.path.join(kit, "initrd.gz")):
        print("bench/boot: build the guest kit first: tests/guest/build.sh %s" % kit)
        return 2
    print("bench/boot: accel %s (QEMU: %s), guest: Debian i386 686 kernel + busybox initramfs, "
          "%d MiB, %d run(s)" % (a.accel, "tcg" if a.accel == "emu" else "kvm", a.memory, a.runs))
    ours, qemu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.runs):
            ours.append(run_ours(a, kit, tmp, i))
            qemu.append(run_qemu(a, kit, tmp, i))
    ours = [t for t in ours if t is not None]
    qemu = [t for t in qemu if t is not None]
    if ours:
        print("BENCH boot_init_s %.2f s" % statistics.median(ours))
    else:
        print("bench/boot: our guest never reached init")
    if qemu:
        print("BENCH qemu_boot_init_s %.2f s" % statistics.median(qemu))
    if ours and qemu:
        print("BENCH boot_init_ratio %.2f" % (statistics.median(ours) / statistics.median(qemu)))
    return 0 if ours and qemu else 1


if __name__ == "__main__":
    sys.exit(main())
