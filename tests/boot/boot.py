#!/usr/bin/env python3
"""Boot tests: Debian's i386 kernel with the busybox initramfs of the guest
kit, started with `hvmctl create -F` on the real hvmhv + hvmdm, checked
through the machine-readable markers its /init prints on ttyS0.

usage: boot.py BUILD_DIR SCENARIO
  direct     direct kernel boot: init marker, vCPU count, memory, date; the
             guest powers off and create -F exits 0   (also SMP: vcpus=2)
  smp        the same with vcpus=2
  reboot     on_reboot=restart boots the guest again; on_reboot=destroy ends it
  crash      a triple fault (Linux reboot=t) is a crash, handled per on_crash
  acpi       acpi=1: the kernel finds the ACPI tables; `hvmctl shutdown` presses
             the power button and the guest powers off
  noacpi     acpi=0 boots as well
  pae        memory=5120 with the PAE kernel: RAM above 4 GiB is seen
  keys       `hvmctl sendkey` reaches a guest reading the keyboard
  cdrom      boot="d" with the kit disk on hda and the El Torito ISO on hdc:
             SeaBIOS boots isolinux from the IDE CD-ROM (hvm.media=cd)
  disk       boot="c": SeaBIOS boots SYSLINUX from a raw IDE disk (hvm.media=disk)
  disk-qcow2 the same from the kit disk converted to qcow2
  dc-empty   boot="dc" with an empty CD-ROM drive on hdc: SeaBIOS falls back
             to the disk
  usb        usb=1, usbdevice="tablet": Linux's uhci_hcd drives the PIIX3 UHCI
             function at 00:01.2, usbhid makes the tablet an input device, and
             a VNC client's pointer move and click reach the guest's evdev as
             the absolute position and BTN_LEFT

Accelerator: $HVM_BOOT_ACCEL (default emu).  When hvmhv cannot run that
accelerator the test prints SKIPPED and exits 77.
"""
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1])
SCENARIO = sys.argv[2]
ACCEL = os.environ.get("HVM_BOOT_ACCEL", "emu")
HVMCTL = os.path.join(BUILD, "bin", "hvmctl")
KIT = os.path.join(BUILD, "guest")
# Seconds the whole scenario may take (every wait below draws on it), kept
# under the CTest TIMEOUT so a hung guest fails with its log instead of being
# killed.
# reboot boots three times (CMakeLists.txt gives it a longer TIMEOUT too).
TIMEOUT = int(os.environ.get("HVM_BOOT_TIMEOUT", "1140" if SCENARIO == "reboot" else "540"))
DEADLINE = time.time() + TIMEOUT
fails = 0


def left(cap=None):
    """Seconds until the scenario's deadline, at most `cap`, at least 1."""
    t = max(1.0, DEADLINE - time.time())
    return min(t, cap) if cap else t


def check(cond, what):
    global fails
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails += 1


def skip(why):
    print("SKIPPED: " + why, flush=True)
    sys.exit(77)


def accel_available():
    out = subprocess.run([os.path.join(BUILD, "bin", "hvmhv"), "-check-accel", ACCEL],
                         capture_output=True, text=True)
    return out.returncode == 0, (out.stdout + out.stderr).strip()


class Domain:
    def __init__(self, tmp, name, keys):
        self.tmp = tmp
        self.name = name
        self.serial = os.path.join(tmp, name + ".serial")
        self.earlier = ""  # output of runs before a restart
        self.last = ""
        self.rundir = os.path.join(tmp, "run")
        cfg = {
            "name": '"%s"' % name, "builder": '"hvm"', "memory": 256, "vcpus": 1,
            "accel": '"%s"' % ACCEL, "serial": '"file:%s"' % self.serial, "vnc": 0,
            "kernel": '"%s/vmlinuz-686"' % KIT, "ramdisk": '"%s/initrd.gz"' % KIT,
            "on_poweroff": '"destroy"', "on_reboot": '"destroy"', "on_crash": '"destroy"',
        }
        cfg.update(keys)
        cfg = {k: v for k, v in cfg.items() if v is not None}  # None: leave the key out
        self.cfgfile = os.path.join(tmp, name + ".cfg")
        with open(self.cfgfile, "w") as f:
            for k, v in cfg.items():
                f.write("%s = %s\n" % (k, v))
        self.start = time.time()
        self.proc = subprocess.Popen([HVMCTL, "--rundir", self.rundir, "create", "-F", self.cfgfile],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def text(self):
        """Everything the guest printed so far.  A restarted domain gets a new
        device model, which truncates the serial file as QEMU's file: backend
        does; the earlier runs' output is kept here (a boot takes far longer
        than one poll, so no truncation goes unnoticed)."""
        try:
            with open(self.serial, errors="replace") as f:
                cur = f.read()
        except FileNotFoundError:
            cur = ""
        if len(cur) < len(self.last) or not cur.startswith(self.last):
            self.earlier += self.last
        self.last = cur
        return self.earlier + cur

    def marks(self):
        # Only whole lines: the guest may be half-way through writing the last one.
        text = self.text()
        text = text[:text.rfind("\n") + 1]
        return [l.split()[1:] for l in text.splitlines() if l.startswith("HVM-MARK ")]

    def wait_mark(self, what, count=1, timeout=None):
        deadline = time.time() + left(timeout)
        while time.time() < deadline:
            if sum(1 for m in self.marks() if m and m[0] == what) >= count:
                return time.time() - self.start
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        return None

    def ctl(self, *args, timeout=120):
        return subprocess.run([HVMCTL, "--rundir", self.rundir] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def finish(self, timeout=None):
        try:
            out, _ = self.proc.communicate(timeout=left(timeout))
        except subprocess.TimeoutExpired:
            self.ctl("destroy", self.name)
            out, _ = self.proc.communicate(timeout=60)
            print(out)
            print("timed out; last serial output:\n" + self.text()[-1500:], flush=True)
            return None
        print(out.strip())
        return self.proc.returncode

    def mark_value(self, what):
        for m in self.marks():
            if m and m[0] == what:
                return m[1:]
        return None


def extra(scenario, more="", modules="none"):
    # Loading every driver module takes long on a software CPU; scenarios
    # that need none skip them.
    return '"console=ttyS0,115200 hvm.scenario=%s hvm.modules=%s %s"' % (scenario, modules, more)


def run_direct(tmp, vcpus):
    d = Domain(tmp, "direct%d" % vcpus, {"vcpus": vcpus, "extra": extra("poweroff")})
    t = d.wait_mark("init")
    check(t is not None, "init marker on the serial console (%s)" %
          ("%.1f s after create" % t if t else "never"))
    rc = d.finish()
    cpus = d.mark_value("cpus")
    mem = d.mark_value("mem")
    date = d.mark_value("date")
    check(cpus == [str(vcpus)], "/proc/cpuinfo shows %d vCPU(s): %s" % (vcpus, cpus))
    check(mem is not None and 200000 < int(mem[0]) <= 262144, "MemTotal fits memory=256: %s kB" % mem)
    check(date is not None and abs(int(date[0]) - time.time()) < 300,
          "guest date matches host UTC: %s" % date)
    check(d.mark_value("poweroff") is not None, "guest powered off")
    check(rc == 0, "create -F exits 0 after a clean poweroff (rc %s)" % rc)


def run_reboot(tmp):
    d = Domain(tmp, "rbrestart", {"extra": extra("reboot"), "on_reboot": '"restart"'})
    t = d.wait_mark("init", count=2)
    check(t is not None, "on_reboot=restart: the guest booted twice")
    d.ctl("destroy", "rbrestart")
    d.finish(60)
    d = Domain(tmp, "rbdestroy", {"extra": extra("reboot"), "on_reboot": '"destroy"'})
    rc = d.finish()
    check(d.mark_value("reboot") is not None, "guest rebooted")
    check(sum(1 for m in d.marks() if m[0] == "init") == 1 and rc is not None,
          "on_reboot=destroy: the domain ended after one boot (rc %s)" % rc)


def run_crash(tmp):
    d = Domain(tmp, "crash", {"extra": extra("reboot", "reboot=t"), "on_crash": '"preserve"'})
    listing = ""
    while time.time() < DEADLINE:
        listing = d.ctl("list").stdout
        # xl-style state column: 'c' marks a crashed (preserved) domain.
        if re.search(r"^crash\s.*-c-", listing, re.M):
            break
        time.sleep(1)
    check(d.mark_value("reboot") is not None, "guest asked for a triple-fault reboot")
    check(re.search(r"^crash\s.*-c-", listing, re.M) is not None,
          "the triple fault is a crash, preserved per on_crash: %s" % listing.strip())
    d.ctl("destroy", "crash")
    d.finish(60)


def run_acpi(tmp, acpi):
    d = Domain(tmp, "acpi%d" % acpi, {"acpi": acpi,
                                        "extra": extra("idle", "hvm.idle=600", "evdev,button")})
    if acpi:
        check(d.wait_mark("powerbutton-armed") is not None, "guest watches the ACPI power button")
    t = d.wait_mark("scenario")
    check(t is not None, "acpi=%d: booted to the scenario" % acpi)
    text = d.text()
    if acpi:
        check("ACPI: RSDP" in text, "the kernel found the ACPI tables")
        # hvmctl's own -t must expire first so its message is what we report.
        r = d.ctl("shutdown", "-w", "-t", "120", "acpi1", timeout=180)
        check(r.returncode == 0, "hvmctl shutdown: power button -> guest poweroff (%s)" %
              (r.stdout + r.stderr).strip())
    else:
        check("ACPI: RSDP" not in text, "acpi=0: no ACPI tables")
        d.ctl("destroy", "acpi0")
    d.finish(120)
    if acpi:
        check(d.mark_value("powerbutton") is not None, "the guest saw the power button event")


def run_pae(tmp):
    d = Domain(tmp, "pae", {"memory": 5120, "kernel": '"%s/vmlinuz-686-pae"' % KIT,
                            "extra": extra("poweroff")})
    d.finish()
    mem = d.mark_value("mem")
    check(mem is not None and int(mem[0]) > 4 * 1024 * 1024, "PAE kernel sees RAM above 4 GiB: %s kB" % mem)


def run_keys(tmp):
    d = Domain(tmp, "keys", {"extra": '"console=ttyS0,115200 console=tty0 hvm.scenario=keys hvm.modules=none"'})
    check(d.wait_mark("keys") is not None, "keys scenario ready")
    for word in ("h", "v", "m", "ret"):
        d.ctl("sendkey", "keys", word)
    seen = d.wait_mark("line", timeout=120)
    check(d.mark_value("line") == ["hvm"], "sendkey reached the guest keyboard: %s" % d.mark_value("line"))
    d.ctl("destroy", "keys")
    d.finish(60)


def kit_copy(tmp, name):
    """A private copy of a kit image (the guest may write to its disk)."""
    dst = os.path.join(tmp, name)
    with open(os.path.join(KIT, name), "rb") as src, open(dst, "wb") as out:
        while True:
            buf = src.read(1 << 20)
            if not buf:
                break
            out.write(buf)
    return dst


def firmware_boot(tmp, name, boot, disks, want_media, what):
    """Boot through SeaBIOS (no kernel=) and check which medium the boot
    loader came from: the kit's syslinux and isolinux entries pass
    hvm.media=disk and hvm.media=cd, which /init reports."""
    d = Domain(tmp, name, {"kernel": None, "ramdisk": None, "boot": '"%s"' % boot,
                           "disk": "[ %s ]" % ", ".join('"%s"' % x for x in disks)})
    t = d.wait_mark("media")
    check(t is not None, "%s: Linux reached /init (%s)" %
          (what, "%.1f s after create" % t if t else "never"))
    media = d.mark_value("media")
    check(media == [want_media], "%s: booted from the %s (hvm.media=%s)" % (what, want_media, media))
    # The kit's default entry then loads every driver module before powering
    # off, which takes minutes on a software CPU and checks nothing more here.
    d.ctl("destroy", name)
    d.finish(60)
    if t is None:
        print("last serial output:\n" + d.text()[-1500:], flush=True)


def run_cdrom(tmp):
    firmware_boot(tmp, "cdrom", "d",
                  ["%s,raw,hda,w" % kit_copy(tmp, "disk.img"), "%s/cd.iso,raw,hdc,cdrom,r" % KIT],
                  "cd", 'boot="d", disk on hda, ISO on hdc')


def run_disk(tmp, fmt):
    img = kit_copy(tmp, "disk.img" if fmt == "raw" else "disk.qcow2")
    firmware_boot(tmp, "disk" + fmt, "c", ["%s,%s,hda,w" % (img, fmt)], "disk",
                  'boot="c", %s disk on hda' % fmt)
    if fmt == "qcow2":
        r = subprocess.run(["qemu-img", "check", "-q", img], capture_output=True, text=True)
        check(r.returncode == 0, "the qcow2 boot disk passes qemu-img check after the run: %s" %
              (r.stdout + r.stderr).strip())


def run_dc_empty(tmp):
    firmware_boot(tmp, "dcempty", "dc", ["%s,raw,hda,w" % kit_copy(tmp, "disk.img"), ",hdc:cdrom,r"],
                  "disk", 'boot="dc", empty CD-ROM drive on hdc')


def vnc_pointer(d, moves):
    """Connect to the domain's VNC server and send PointerEvents (x, y, buttons)
    given as fractions of the screen; returns the pixel positions and the
    screen size the server announced."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
    import rfbclient
    addr = d.ctl("vncport", d.name).stdout.strip()
    port = int(addr.rsplit(":", 1)[1])
    r = rfbclient.Rfb(port)
    sent = []
    for fx, fy, buttons in moves:
        x, y = int(fx * (r.w - 1)), int(fy * (r.h - 1))
        r.s.sendall(struct.pack(">BBHH", 5, buttons, x, y))
        sent.append((x, y, buttons))
        time.sleep(0.3)
    w, h = r.w, r.h
    r.close()
    return sent, w, h


def run_usb(tmp):
    d = Domain(tmp, "usb", {"usb": 1, "usbdevice": '"tablet"', "vnc": 1,
                            "vnclisten": '"127.0.0.1"', "vncunused": 1,
                            "extra": extra("pointer", "hvm.settle=4 hvm.pointer_events=6",
                                           modules="uhci_hcd,usbhid,hid_generic,evdev")})
    t = d.wait_mark("pointer-ready", timeout=300)
    check(t is not None, "the guest found the tablet's event device (%s)" %
          ("%.1f s after create" % t if t else d.mark_value("pointer-missing")))
    sent = []
    if t is not None:
        # press the left button half-way across and a quarter down, then release
        sent, w, h = vnc_pointer(d, [(0.5, 0.25, 1), (0.5, 0.25, 0)])
    rc = d.finish()
    marks = d.marks()
    uhci = [m for m in marks if m[0] == "pci" and len(m) == 5 and m[2] == "0x8086:0x7020"]
    check(len(uhci) == 1 and uhci[0][1].endswith("00:01.2") and uhci[0][3] == "0x0c0300"
          and uhci[0][4] == "uhci_hcd",
          "UHCI 8086:7020 at 00:01.2, class 0c0300, bound to uhci_hcd: %s" % uhci)
    inputs = [m[2] for m in marks if m[0] == "input" and len(m) == 3]
    check(any("USB_Tablet" in n for n in inputs), "the tablet is an input device: %s" % inputs)
    events = [tuple(m[1:]) for m in marks if m[0] == "ev" and len(m) == 4]
    if sent:
        x, y, _ = sent[0]
        want = [("3", "0", str(x * 0x7fff // (w - 1))), ("3", "1", str(y * 0x7fff // (h - 1))),
                ("1", "272", "1"), ("1", "272", "0")]
        check(all(e in events for e in want),
              "VNC pointer at (%d, %d) of %dx%d with the left button: the guest reads "
              "ABS_X/ABS_Y/BTN_LEFT %s, want %s" % (x, y, w, h, events, want))
    check(d.mark_value("poweroff") is not None, "guest powered off")
    check(rc == 0, "create -F exits 0 (rc %s)" % rc)


def main():
    if not all(os.path.exists(os.path.join(KIT, f)) for f in ("initrd.gz", "disk.qcow2")):
        skip("guest kit not built (tests/guest/build.sh %s/guest)" % BUILD)
    ok, why = accel_available()
    if not ok:
        skip("accel=%s unavailable: %s" % (ACCEL, why))
    with tempfile.TemporaryDirectory() as tmp:
        {
            "direct": lambda: run_direct(tmp, 1),
            "smp": lambda: run_direct(tmp, 2),
            "reboot": lambda: run_reboot(tmp),
            "crash": lambda: run_crash(tmp),
            "acpi": lambda: run_acpi(tmp, 1),
            "noacpi": lambda: run_acpi(tmp, 0),
            "pae": lambda: run_pae(tmp),
            "keys": lambda: run_keys(tmp),
            "cdrom": lambda: run_cdrom(tmp),
            "disk": lambda: run_disk(tmp, "raw"),
            "disk-qcow2": lambda: run_disk(tmp, "qcow2"),
            "dc-empty": lambda: run_dc_empty(tmp),
            "usb": lambda: run_usb(tmp),
        }[SCENARIO]()
    print("%d failures" % fails)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
