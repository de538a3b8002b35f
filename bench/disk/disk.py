#!/usr/bin/env python3
"""bench/disk: disk throughput inside the guest through the emulated IDE
controller, side by side with QEMU on the same images and accelerator class.

usage: disk.py [--build DIR] [--accel emu|kvm] [--formats raw,qcow2] [--mb N]
               [--rr N] [--iops N] [--runs N] [--timeout S] [--help]

Guest: the guest kit (tests/guest/build.sh BUILD/guest): Debian's i386 686
kernel and busybox initramfs, direct kernel boot, 256 MiB, scenario
diskbench (tests/guest/init) on hda: ata_piix, bus-master DMA.  Inside the
guest, timed with the guest's monotonic clock in microseconds (now_us in
tests/guest/init reads /proc/timer_list's nanosecond "now at"; /proc/uptime's
10 ms steps made QEMU's 64 MiB seqread, some 70 ms, a +-15% figure):
  seqwrite  dd of N MiB (default 1024) in 1 MiB blocks, O_DIRECT, fsync
  seqread   the same N MiB read back, O_DIRECT, page cache dropped first
  randread  R (--rr, default 2000) 4 KiB O_DIRECT reads at random 4 KiB
            offsets inside the written area, queue depth 1, one process:
            the kit's randread (tests/guest/randread.c), what fio's
            rw=randread bs=4k iodepth=1 direct=1 measures.  IOPS over the
            whole phase; randread_median is one read at the median
            per-read latency (each pread timed on its own; the latency
            percentiles p50/p90/p99/max are printed too).  The median
            stays put when the host stalls a few reads for milliseconds,
            the phase total does not.
  randread_dd  M (--iops, default 200) such reads with one busybox dd
            process each (the bench's random-read figure until session 19,
            when busybox was the only tool in the guest): mostly fork, exec
            and exit (see spawn), so a software-CPU figure more than a disk
            one, kept for comparison with earlier numbers
  spawn     M dd runs that touch no disk: the process cost included in
            randread_dd; randread_dd_net subtracts it (reported only when
            the difference is at least 10% of the randread_dd time; the
            difference of two noisy totals, it moves 0.3x-2.5x run to run)
The default sizes make every phase last at least about half a second under
QEMU TCG (1 GiB: seqread ~0.7 s at ~1.4 GB/s; 2000 reads in one process:
~0.4 s; 200 dd reads: ~0.6 s), so one scheduling hiccup on the host moves a
figure by a few percent, not by half.
Images: a fresh image of N + 64 MiB per run and format (qemu-img create;
qcow2 with default options), host page cache in use on both sides (hvmdm's
default, QEMU's cache=writeback).  Runs alternate which side goes first
(ours then QEMU, then QEMU then ours), so a host load that rises or falls
during a run lands on both sides alike.
Host page cache, checked on every run: when the guest marks the end of a
phase (the start of the next), the bench counts the image's pages in the
host page cache (mincore on a mapping that touches nothing) and reads the
device model's read_bytes (/proc/PID/io: bytes it fetched from storage, so
page cache misses; hvmdm, or QEMU's process).  Both print per run ("#
host page cache at phase start ... read from storage during phase"), and a
read phase that starts with under 99% of the written area cached, or that
misses more than 1% of it, prints a warning: that run compares the host
disk, not the device models.  Nothing is forced (no mlock, no readahead
from the bench, no tmpfs): both sides start each phase from the state
their own writes left, as a user's guest would, and a device model that
caused misses (O_DIRECT where it should not, a cache dropped) shows up
in read_bytes instead of being hidden.
Ours: hvmctl create with accel=emu (or kvm) and disk = [ "IMG,FMT,hda,rw" ].
Reference: qemu-system-i386 -M pc -accel tcg (against emu; -enable-kvm
against kvm), -drive file=IMG,format=FMT,if=ide (QEMU's PIIX3 IDE, which
ata_piix runs at MWDMA2; ours is a PIIX4 at UDMA/33: the emulated transfer
mode does not limit either).

Output (DESIGN.md section 6), per format F, medians over the runs:
  BENCH disk_F_seqwrite <MB/s> MB/s          and qemu_disk_F_seqwrite
  BENCH disk_F_seqread <MB/s> MB/s           and qemu_disk_F_seqread
  BENCH disk_F_randread <IOPS> IOPS          and qemu_disk_F_randread
  BENCH disk_F_randread_median <IOPS> IOPS   (1 / the median read)
  BENCH disk_F_randread_dd <IOPS> IOPS       (one dd process per read)
  BENCH disk_F_randread_dd_net <IOPS> IOPS   (spawn cost subtracted)
  # disk_F_randread latency (us) ...           p50/p90/p99/max, medians of the runs
  BENCH disk_F_<figure>_ratio <ours/qemu>    higher is better; 1.0 is parity
  # disk_F_<figure>_ratio run by run: ...      the paired ratio of each run,
                                               their range and median (--runs > 1;
                                               on a host whose speed drifts, the
                                               median of the pairs is steadier
                                               than the BENCH ratio of medians)
Nothing here is a test: no thresholds.

What limits the figures under emu (measured on the 64 MiB raw run: guest
EIP sampled every 200 us, ioreqs counted per port in hvmdm): about 80% of
the sequential phases is the guest kernel's own per-page work (pinning user
pages, building bios and scatter lists, releasing pages, clear_user for
/dev/zero) on the software CPU; about 13% is spent inside IN/OUT
instructions (ata_piix issues some 31 port accesses per command, each a
round trip to hvmdm of about 15 us; commands carry ~450 KiB); the vCPU is
halted waiting for the disk only 4-7% of the time.  hvmhv posts the writes
that only latch a value (taskfile registers 1-6, the PRD address:
SET_BUFFERED_PIO in include/hvm/setup.h) and, signalling hvmdm at once, the
command and bus-master start/stop writes (SET_URGENT_PIO); it answers reads
of alternate status and the bus-master registers from hvmdm's mirror page
when nothing is queued (SET_PIO_MIRROR).  About 9.5 of the 31 accesses are
still round trips (status reads, which clear the interrupt, and reads right
after a posted write), from 18.3 (counted in hvmdm on a 64 MiB run, 469
commands).  Since posted writes name the mirror words they may change
(SET_PIO_EFFECTS, docs/architecture.md), Linux 6.1's ata_piix DMA command
(512 KiB here) makes 2 round trips, from 6: the alternate-status read right
after the command write and the status read that acknowledges the
interrupt.  Since the first of those is answered BSY while the command is
still queued (SET_PIO_BUSY), and the second no longer writes the GSI's
eventfd inside the request (hvm_irq_page.hv_takes_lines: it took 10-20 us
of hvmdm's time), a command makes one round trip, of about 13 us; and
hvmdm watches for the handler's accesses after it raised the interrupt, so
the bus-master stop before that status read rarely has to wake it (an
eventfd write of 5-10 us on the vCPU on this nested host).  A halted vCPU
under emu polls the interrupt lines for up to 200 us before it sleeps (halt
polling), so a command's completion reaches the guest without two scheduler
wake-ups.  An IDE interrupt reaches the guest's first port access in its
handler some 64 us (mean) after hvmdm raises it, under 2% of a phase.  So
these ratios follow the software CPU's speed more than the IDE model's;
randread (one process, about 150-200 us a read, the guest's block layer,
libata and the interrupt on the software CPU) is the closest to a
per-command device figure.  A dd spawn (fork, exec and exit of busybox
dd, some 500K guest instructions run once each, 1.4-1.9 ms) is bound by
how much host code the translator emits per guest instruction
(docs/architecture.md); it is most of randread_dd.

qcow2 (block/qcow2.c): requests move straight between guest RAM and the
image like raw's (one preadv/pwritev per run of adjacent clusters, cluster
allocation batched per run, no copy through a buffer), and reads whose data
and L2 tables are cached run on the dm loop without the worker-thread hop.
perf on a 256 MiB qcow2 run: hvmdm (loop and worker threads) about 2% of
the samples against some 40% for the vCPU thread; the worker's time is the
kernel's page-cache copy.  hvmdm's own CPU time for a whole 256 MiB qcow2
run (boot, both sequential phases, randread): 0.61-0.89 s before, 0.57-0.89 s
after; a 4 KiB read through blk_submit() on the loop: 23-123 us on the
worker, 4-12 us inline (host load ~6 on 2 cores, so wide ranges).  The
qcow2 ratios, like raw's, follow the software CPU.

Where a qcow2 read's time goes (measured on 1 GiB runs, session 11): from
blk_submit() to the completion callback, 512 KiB reads took 124-176 us
(mean per run) against raw's 116-162 us, 4 KiB random reads 89-95 us against
102-112 us, and every qcow2 read ran on the loop thread (no -EAGAIN) while
the image stayed in the page cache: 0.25-0.36 s of a 1.4-3.7 s/GiB seqread
and 20 ms of the 200 random reads, for either format.  perf: the loop
thread's read time is the kernel's page-cache copy (_copy_to_iter 71% of
the samples), qcow2's own code under 2%.  The phase times themselves move
by 2x from run to run on the shared 2-core host (seqread 1.4-3.7 s/GiB
and 2-4 ms per random read for both formats), which covers the single-run
gap last session reported (raw 1.32 s/GiB, qcow2 2.22 s).  Two things
bear on qcow2 all the same.  The host is a VM running DAMON proactive
reclaim (pageout of memory idle for a while, with no memory pressure): a
1 GiB file fell from 1020 MiB resident to 946 MiB in 30 s and 180 MiB in 6
minutes, so images leave the page cache while a guest runs and reads
miss (34 qcow2 reads got -EAGAIN in one slow run).  A read that stops part
way on the loop thread now continues on the worker from the byte it
reached (blk_aio_partial) instead of being redone whole.  And the L2 cache
(16 tables before) now holds enough tables for the whole image, up to 32
MiB of them (QEMU's rule): with 512-byte clusters a 16-table cache mapped
512 KiB, so every read missed it and took the worker (4 KiB random reads
on a 256 MiB image: 10-15 us through the worker, 4.3 us inline after).
A cached 4 KiB read costs 3-5 us inline and 8-137 us through the worker
(the wake-ups, on a host at load 2-5).

After session 11: are the gaps of a one-run bench (raw randread 0.56, seqwrite
0.82 for both formats, qcow2 seqread 0.58) real?  Four runs a format, 1
GiB, host load 3-8 on 2 cores (another guest and builds running):
  * Host page cache: every read phase of all 32 guest runs, on both
    sides, started with 1009-1024 of the 1024 MiB written resident and
    read at most 15 MiB from storage (one phase above 5 MiB, which the
    warning flagged).  DAMON's scheme here pages out memory idle for 12
    aggregation intervals of 5 s (a minute); no phase of a ~30-60 s run
    waits that long, so reclaim does not reach the images in this bench
    and the two sides see the same cache.  The long-idle losses measured
    before (946 MiB after 30 s, 180 MiB after 6 minutes) apply to guests
    that leave data untouched for minutes.
  * Run-by-run paired ratios, four runs each, first with ours always
    going first, then alternating:
      raw   seqwrite 0.63-1.16, then 0.37-1.55; seqread 0.64-1.25, then
            0.46-0.98; randread 0.50-1.21, then 0.21-1.50
      qcow2 seqwrite 0.37-1.32, then 0.67-1.05; seqread 0.36-0.90, then
            0.70-1.33; randread 0.39-3.06, then 0.73-1.21
    Every figure lands on both sides of 1.0 over the eight runs; a
    single run's ratio is mostly the host's load moving between the two
    guests.  Ours seems to suffer more from that load (its seqread took
    1.2-6.4 s/GiB against QEMU's 1.2-4.1 s): each IDE command needs both
    processes (the vCPU in hvmhv, and hvmdm) scheduled several times,
    where QEMU's vCPU thread does the port accesses itself.
  * Where a command's time goes in hvmdm (timestamps at the command
    register write, bus-master start, interrupt raise and the status read
    that takes it back; 256 MiB runs, medians): seqread, ~590 KiB a
    command: command write to bus-master start 52-56 us (the guest's
    altstatus read and bus-master start in between: ioreq round trips),
    start to interrupt 72-83 us (the page-cache copy; the same for raw and
    qcow2), interrupt to the guest's status read 81-98 us (delivery through
    hvmhv), then 450-490 us of guest code before the next command.
    seqwrite: start to interrupt 200-280 us (buffered pwritev into ext4's
    page cache, raw and qcow2 alike).  randread, 4 KiB: 90 / 24 / 105 us,
    then some 3.8 ms of guest code (dd's spawn) before the next read.
    Start to interrupt, the only part the block layer and the IDE model
    own (and mostly the kernel's copy), is about 11% of a seqread
    command; the rest is the guest's own code on the software CPU and the
    round trips and interrupt delivery between the processes.  qcow2 costs what raw costs
    per command, so the qcow2 seqread figure is the same noise as raw's.
  * perf on hvmdm over a 1 GiB qcow2 run: 92% of its samples in the
    kernel (page-cache copies for the writes and reads, ext4 block
    allocation, scheduling), 4% in hvmdm's own code, under 1% in block/
    and hw/ide/ together (qcow2_pwritev 0.08%, the L2 cache lookup 0.07%).
  * qcow2 seqwrite, strace on hvmdm: each allocating command made three
    small metadata writes (the refcount of its first cluster, those of
    the rest, the L2 entries), 19 us each.  The refcounts are now one
    write when their refcount block exists: 1795 -> 1027-1283 pwrite64
    calls and 35 -> 19-20 ms per 256 MiB phase (about 2% of it).  QEMU
    holds such updates in its metadata cache until a flush; doing the
    same here (the L2 write too) is what is left.
  * CPU time per 512 MiB phase (/proc task stats, 7 runs): hvmdm
    0.08-0.32 s for seqread and 0.27-0.44 s for seqwrite, against
    0.42-1.01 s and 1.11-1.70 s for hvmhv; the spread follows the host's
    load, not the format.

Session 19 (randread from one process; 1 GiB, --runs 5, ratios ours/QEMU
as the median of the five pairs, range in brackets):
  raw    seqwrite 1.35 (1.25-1.42), seqread 1.25 (1.17-1.36), randread 1.25
         (1.13-1.54), randread_median 1.28, randread_dd 1.07 (1.04-1.15),
         randread_dd_net 0.88 (0.82-1.09); latency p50/p90/p99 135/179/322
         us against QEMU's 170/245/348
  qcow2  seqwrite 1.34 (1.27-1.50), seqread 1.31 (1.21-1.34), randread 1.24
         (1.02-1.47), randread_median 1.26, randread_dd 1.14 (0.96-1.27),
         randread_dd_net 0.96 (0.72-1.26); latency 135/182/295 against
         165/222/383
  Two things made the in-process read faster: a read's completion almost
  never finds the vCPU halted (the guest is still in its block layer and
  scheduler), so hvmdm now leaves the GSI eventfd alone while a vCPU says
  it is running guest code and the vCPU takes the line at its next event
  poll (hvm_irq_page.vcpu_watching; no hvmhv thread wakes), and the
  instructions that still went through the generic decoder on that path
  (MUL, SHRD by CL, BT by a register, BSF) got handlers.  randread_dd_net
  (a dd's read minus a dd that reads /dev/zero) stays below parity while
  our spawn is faster than QEMU's: what a fresh process's read adds
  besides the spawn costs us a little more.
"""
import argparse
import ctypes
import mmap
import os
import statistics
import subprocess
import sys
import tempfile
import time

MODULES = "libata,scsi_mod,ata_piix,sd_mod"
NET_MIN_SHARE = 0.1  # randread_dd_net needs randread_dd - spawn >= 10% of randread_dd
LAT = ("p50", "p90", "p99", "max")


def append(a):
    return ("console=ttyS0,115200 hvm.scenario=diskbench hvm.disk=hda hvm.modules=%s "
            "hvm.bench_mb=%d hvm.bench_iops=%d hvm.bench_rr=%d" % (MODULES, a.mb, a.iops, a.rr))


def marks(serial):
    """{name: (count, microseconds)} from "HVM-MARK bench NAME COUNT US", and
    {NAME_lat: (p50, p90, p99, max)} from "HVM-MARK bench-lat NAME ..."."""
    out, failed = {}, []
    try:
        text = open(serial, errors="replace").read()
    except FileNotFoundError:
        return out, ["no serial output"]
    for l in text[:text.rfind("\n") + 1].splitlines():  # whole lines only
        w = l.split()
        if len(w) >= 5 and w[0] == "HVM-MARK" and w[1] == "bench":
            out[w[2]] = (int(w[3]), int(w[4]))
        elif len(w) >= 7 and w[0] == "HVM-MARK" and w[1] == "bench-lat":
            out[w[2] + "_lat"] = tuple(int(v) for v in w[3:7])
        elif len(w) >= 3 and w[0] == "HVM-MARK" and w[1] == "bench-failed":
            failed.append(w[2])
    return out, failed


def figures(m):
    """MB/s and IOPS from the raw marks (None where a figure is missing)."""
    def rate(name, scale):
        if name not in m or m[name][1] <= 0:
            return None
        return m[name][0] / scale / (m[name][1] / 1e6)
    f = {"seqwrite": rate("seqwrite", 1e6), "seqread": rate("seqread", 1e6),
         "randread": rate("randread", 1), "randread_dd": rate("randread_dd", 1)}
    lat = m.get("randread_lat")
    f["randread_median"] = 1e6 / lat[0] if lat and lat[0] > 0 else None
    # the difference of two timings: only a figure when it is well above
    # their run-to-run spread, not when process spawning is nearly all of
    # the randread_dd time (a 2% difference once gave "4.3x QEMU")
    dd, sp = m.get("randread_dd"), m.get("spawn")
    if dd and sp and dd[1] - sp[1] >= NET_MIN_SHARE * dd[1]:
        f["randread_dd_net"] = dd[0] / ((dd[1] - sp[1]) / 1e6)
    else:
        f["randread_dd_net"] = None
    return f


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                       ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]


def resident_mib(path):
    """MiB of path in the host page cache (mincore on a mapping that touches nothing)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return 0.0
        addr = _libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            return None
        pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
        vec = ctypes.create_string_buffer(pages)
        ok = _libc.mincore(addr, size, vec) == 0
        _libc.munmap(addr, size)
        if not ok:
            return None
        return sum(b & 1 for b in vec.raw) * mmap.PAGESIZE / 1048576.0
    finally:
        os.close(fd)


def read_bytes(pid):
    """Bytes the process (all its threads) had fetched from storage: page cache misses."""
    try:
        for l in open("/proc/%d/io" % pid):
            if l.startswith("read_bytes:"):
                return int(l.split()[1])
    except OSError:
        pass
    return None


def find_pid(needle, exe):
    """The process whose command line names the image (hvmdm, or QEMU itself)."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            cmd = open("/proc/%s/cmdline" % d, "rb").read().split(b"\0")
        except OSError:
            continue
        if cmd and os.path.basename(cmd[0].decode(errors="replace")) == exe and \
                any(needle.encode() in w for w in cmd):
            return int(d)
    return None


# The mark that ends one phase is the start of the next.
PHASE_AFTER = {"bench-dev": "seqwrite", "seqwrite": "seqread", "seqread": "randread",
               "randread": "randread_dd"}
READ_PHASES = ("seqread", "randread", "randread_dd")


def watch(p, serial, img, exe, timeout):
    """Wait for process p; at the start of each guest phase record the image's
    page-cache residency (MiB) and, at every phase boundary, how many bytes the
    device model had read from storage (page cache misses) so far."""
    seen, state, pid = 0, {}, None
    io = {}
    t_end = time.time() + timeout
    while p.poll() is None and time.time() < t_end:
        if pid is None:
            pid = find_pid(img, exe)
        try:
            text = open(serial, errors="replace").read()
        except FileNotFoundError:
            text = ""
        lines = text[:text.rfind("\n") + 1].splitlines()
        for l in lines[seen:]:
            w = l.split()
            tag = None
            if len(w) >= 2 and w[0] == "HVM-MARK" and w[1] == "bench-dev":
                tag = "bench-dev"
            elif len(w) >= 3 and w[0] == "HVM-MARK" and w[1] == "bench":
                tag = w[2]
            if tag is None:
                continue
            rb = read_bytes(pid) if pid else None
            io[tag] = rb
            if tag in PHASE_AFTER:
                state[PHASE_AFTER[tag]] = resident_mib(img)
        seen = len(lines)
        time.sleep(0.02)
    if p.poll() is None:
        p.kill()
        p.wait()
    # bytes read from storage during each phase
    miss, order = {}, ["bench-dev", "seqwrite", "seqread", "randread", "randread_dd"]
    for a, b in zip(order, order[1:]):
        if io.get(a) is not None and io.get(b) is not None:
            miss[b] = (io[b] - io[a]) / 1048576.0
    return state, miss


def cache_warnings(a, res_mib, miss_mib):
    """Why a run's read phases did not start from a warm host page cache."""
    out = []
    for ph in READ_PHASES:
        r = res_mib.get(ph)
        if r is not None and r < 0.99 * a.mb:
            out.append("%s started with %.0f of the %d MiB written in the host page cache"
                       % (ph, r, a.mb))
        m = miss_mib.get(ph)
        if m is not None and m > 0.01 * a.mb:
            out.append("%s read %.1f MiB from storage (page cache misses)" % (ph, m))
    return out


def make_image(a, tmp, fmt, tag):
    img = os.path.join(tmp, "%s.%s" % (tag, fmt))
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, img, "%dM" % (a.mb + 64)], check=True)
    return img


def run_ours(a, kit, tmp, fmt, i):
    img = make_image(a, tmp, fmt, "ours%d" % i)
    serial = os.path.join(tmp, "ours-%s-%d.serial" % (fmt, i))
    cfg = os.path.join(tmp, "ours-%s-%d.cfg" % (fmt, i))
    with open(cfg, "w") as f:
        f.write('name = "dbench%d"\nbuilder = "hvm"\nmemory = 256\naccel = "%s"\nvnc = 0\n'
                'serial = "file:%s"\nkernel = "%s/vmlinuz-686"\nramdisk = "%s/initrd.gz"\n'
                'extra = "%s"\ndisk = [ "%s,%s,hda,rw" ]\n'
                % (i, a.accel, serial, kit, kit, append(a), img, fmt))
    p = subprocess.Popen([os.path.join(a.build, "bin", "hvmctl"), "--rundir", os.path.join(tmp, "run"),
                          "create", "-F", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache = watch(p, serial, img, "hvmdm", a.timeout)
    os.unlink(img)
    return marks(serial) + cache


def run_qemu(a, kit, tmp, fmt, i):
    img = make_image(a, tmp, fmt, "qemu%d" % i)
    serial = os.path.join(tmp, "qemu-%s-%d.serial" % (fmt, i))
    accel = ["-accel", "tcg"] if a.accel == "emu" else ["-enable-kvm"]
    p = subprocess.Popen(["qemu-system-i386"] + accel +
                         ["-M", "pc", "-m", "256", "-display", "none", "-nodefaults", "-vga", "std",
                          "-kernel", kit + "/vmlinuz-686", "-initrd", kit + "/initrd.gz", "-append",
                          append(a), "-drive", "file=%s,format=%s,if=ide" % (img, fmt),
                          "-serial", "file:" + serial, "-no-reboot", "-monitor", "none"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache = watch(p, serial, img, "qemu-system-i386", a.timeout)
    os.unlink(img)
    return marks(serial) + cache


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build"))
    ap.add_argument("--accel", default="emu", choices=["emu", "kvm"])
    ap.add_argument("--formats", default="raw,qcow2")
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--rr", type=int, default=2000)
    ap.add_argument("--iops", type=int, default=200)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=1200)
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    kit = os.path.join(a.build, "guest")
    if not os.path.exists(os.path.join(kit, "initrd.gz")):
        print("guest kit missing: tests/guest/build.sh %s" % kit, file=sys.stderr)
        return 2
    print("bench/disk: accel=%s (QEMU: %s), guest: Debian %s + busybox diskbench, 256 MiB, "
          "%d MiB sequential, %d random 4 KiB reads in one process and %d with a dd each, "
          "%d run(s), fresh %d MiB images"
          % (a.accel, "-accel tcg" if a.accel == "emu" else "-enable-kvm",
             open(os.path.join(kit, "kit.env")).read().split()[0].split("=")[1], a.mb, a.rr,
             a.iops, a.runs, a.mb + 64),
          flush=True)
    names = ("seqwrite", "seqread", "randread", "randread_median", "randread_dd",
             "randread_dd_net")
    units = {"seqwrite": "MB/s", "seqread": "MB/s"}
    with tempfile.TemporaryDirectory(dir=os.path.join(a.build)) as tmp:
        for fmt in a.formats.split(","):
            res, lats = {"ours": [], "qemu": []}, {"ours": [], "qemu": []}
            for i in range(a.runs):
                order = (("ours", run_ours), ("qemu", run_qemu))
                for who, fn in order if i % 2 == 0 else order[::-1]:
                    t0 = time.time()
                    m, failed, res_mib, miss_mib = fn(a, kit, tmp, fmt, i)
                    f = figures(m)
                    print("# %s %s run %d (%.0f s wall): %s%s" % (
                        who, fmt, i, time.time() - t0, m, " FAILED: %s" % failed if failed else ""),
                        flush=True)
                    print("#   host page cache at phase start (MiB of image): %s; read from "
                          "storage during phase (MiB): %s; figures: %s" % (
                              {k: round(v) for k, v in res_mib.items() if v is not None},
                              {k: round(v, 1) for k, v in miss_mib.items()},
                              {k: round(v, 1) for k, v in f.items() if v is not None}), flush=True)
                    for warn in cache_warnings(a, res_mib, miss_mib):
                        print("#   warning: %s: %s" % (who, warn), flush=True)
                    res[who].append(f)
                    lats[who].append(m.get("randread_lat"))
            for n in names:
                ours = median([f[n] for f in res["ours"]])
                ref = median([f[n] for f in res["qemu"]])
                if ours is not None:
                    print("BENCH disk_%s_%s %.2f %s" % (fmt, n, ours, units.get(n, "IOPS")))
                elif n == "randread_dd_net":
                    print("# disk_%s_randread_dd_net: not measured, the spawn cost is over "
                          "%d%% of the randread_dd time" % (fmt, 100 - 100 * NET_MIN_SHARE))
                if ref is not None:
                    print("BENCH qemu_disk_%s_%s %.2f %s" % (fmt, n, ref, units.get(n, "IOPS")))
                if ours is not None and ref:
                    print("BENCH disk_%s_%s_ratio %.3f" % (fmt, n, ours / ref))
                pairs = [o[n] / q[n] for o, q in zip(res["ours"], res["qemu"]) if o[n] and q[n]]
                if len(pairs) > 1:
                    print("# disk_%s_%s_ratio run by run: %s (range %.2f-%.2f, median %.2f)" % (
                        fmt, n, " ".join("%.2f" % r for r in pairs), min(pairs), max(pairs),
                        median(pairs)))
            for who in ("ours", "qemu"):
                got = [v for v in lats[who] if v]
                if got:
                    print("# disk_%s_randread latency (us) %s: %s" % (fmt, who, " ".join(
                        "%s %g" % (k, median([v[i] for v in got])) for i, k in enumerate(LAT))))
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
