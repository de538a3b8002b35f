#!/usr/bin/env python3
"""check.py OUTDIR - structural checks of the guest kit built by build.sh.

Checks, each printed as "ok"/"not ok":
  - initrd.gz is a gzip'ed cpio (newc) listing /init, bin/busybox,
    bin/randread and, per kernel release, modules.dep whose every module file is in the archive;
  - vmlinuz-686 and vmlinuz-686-pae are bzImages (boot sector signature,
    "HdrS" setup header, protocol >= 2.00, LOADED_HIGH);
  - cd.iso has an El Torito boot record whose catalog has a valid validation
    entry and a bootable no-emulation initial entry of 4 sectors pointing at
    isolinux.bin (recognised by its boot-info-table LBA);
  - disk.img has an MBR (0x55AA, syslinux boot code, one active partition)
    and a FAT partition holding ldlinux.sys, ldlinux.c32, syslinux.cfg, the
    kernels and initrd.gz, with the SYSLINUX boot sector installed;
  - disk.qcow2 passes qemu-img check and holds the same bytes as disk.img;
  - the syslinux and isolinux entries pass hvm.media=disk and hvm.media=cd.
Exit 0 when all pass, 1 otherwise, 77 when the kit was not built.
"""
import gzip, os, struct, subprocess, sys, tempfile

out = sys.argv[1]
failed = 0


def check(cond, what):
    global failed
    print(("ok    " if cond else "not ok ") + what)
    if not cond:
        failed += 1


def cpio_names(data):
    names, off = [], 0
    while off + 110 <= len(data):
        hdr = data[off:off + 110]
        if hdr[:6] != b'070701':
            raise ValueError('bad cpio magic at %d' % off)
        fsize = int(hdr[54:62], 16)
        nsize = int(hdr[94:102], 16)
        name = data[off + 110:off + 110 + nsize - 1].decode()
        off = (off + 110 + nsize + 3) & ~3
        off = (off + fsize + 3) & ~3
        if name == 'TRAILER!!!':
            break
        names.append(name)
    return names


def check_initrd():
    path = os.path.join(out, 'initrd.gz')
    data = gzip.open(path).read()
    names = set(cpio_names(data))
    check('init' in names, 'initrd: /init present')
    check('bin/busybox' in names, 'initrd: bin/busybox present')
    check('bin/randread' in names, 'initrd: bin/randread present')
    env = dict(l.strip().split('=', 1) for l in open(os.path.join(out, 'kit.env')) if '=' in l)
    for krel in (env['KREL_686'], env['KREL_PAE']):
        dep = 'lib/modules/%s/modules.dep' % krel
        check(dep in names, 'initrd: %s present' % dep)
        ko = [n for n in names if n.startswith('lib/modules/%s/' % krel) and n.endswith('.ko')]
        check(len(ko) > 10, 'initrd: %s has %d modules' % (krel, len(ko)))
        for want in ('ata_piix', 'sr_mod', '8139too', 'ne2k-pci', 'e1000', 'uhci-hcd', 'usbhid'):
            check(any(os.path.basename(k) == want + '.ko' for k in ko),
                  'initrd: %s/%s.ko present' % (krel, want))


def check_kernel(name):
    k = open(os.path.join(out, name), 'rb').read(0x400)
    check(k[0x1fe:0x200] == b'\x55\xaa', name + ': boot sector signature')
    check(k[0x202:0x206] == b'HdrS', name + ': setup header magic HdrS')
    ver, = struct.unpack_from('<H', k, 0x206)
    check(ver >= 0x200, name + ': boot protocol %#x >= 2.00' % ver)
    check(k[0x211] & 1 == 1, name + ': LOADED_HIGH (bzImage)')


def check_iso():
    f = open(os.path.join(out, 'cd.iso'), 'rb')
    f.seek(17 * 2048)
    brvd = f.read(2048)
    check(brvd[0] == 0 and brvd[1:6] == b'CD001', 'iso: boot record volume descriptor at sector 17')
    check(brvd[7:30] == b'EL TORITO SPECIFICATION', 'iso: El Torito boot system id')
    cat_lba, = struct.unpack_from('<I', brvd, 0x47)
    f.seek(cat_lba * 2048)
    cat = f.read(64)
    words = struct.unpack_from('<16H', cat, 0)
    check(cat[0] == 1 and cat[0x1e:0x20] == b'\x55\xaa' and sum(words) & 0xffff == 0,
          'iso: boot catalog validation entry (sector %d)' % cat_lba)
    ent = cat[32:64]
    boot_lba, = struct.unpack_from('<I', ent, 8)
    sectors, = struct.unpack_from('<H', ent, 6)
    check(ent[0] == 0x88 and ent[1] == 0 and sectors == 4,
          'iso: bootable no-emulation initial entry, 4 sectors')
    f.seek(boot_lba * 2048)
    img = f.read(64)
    # -boot-info-table patches the image's own LBA at offset 12.
    check(struct.unpack_from('<I', img, 12)[0] == boot_lba, 'iso: boot image carries its boot-info-table')
    pvd = open(os.path.join(out, 'cd.iso'), 'rb')
    pvd.seek(16 * 2048)
    check(pvd.read(6) == b'\x01CD001', 'iso: primary volume descriptor')
    ls = subprocess.run(['xorriso', '-indev', os.path.join(out, 'cd.iso'), '-find', '/', '-type', 'f'],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    for p in ('/isolinux/isolinux.bin', '/isolinux/ldlinux.c32', '/isolinux/isolinux.cfg',
              '/vmlinuz', '/initrd.gz'):
        check("'%s'" % p in ls, 'iso: %s present' % p)


def check_disk():
    path = os.path.join(out, 'disk.img')
    d = open(path, 'rb').read(512)
    check(d[510:512] == b'\x55\xaa', 'disk: MBR signature')
    mbr = open('/usr/lib/syslinux/mbr/mbr.bin', 'rb').read()[:440]
    check(d[:len(mbr)] == mbr[:440], 'disk: syslinux MBR boot code')
    flag, ptype, start, count = d[446], d[450], *struct.unpack_from('<II', d, 454)
    check(flag == 0x80 and ptype in (0x04, 0x06, 0x0b, 0x0c, 0x0e) and start > 0 and count > 0,
          'disk: active FAT partition at LBA %d' % start)
    with open(path, 'rb') as f:
        f.seek(start * 512)
        vbr = f.read(512)
    check(vbr[510:512] == b'\x55\xaa' and b'SYSLINUX' in vbr, 'disk: SYSLINUX volume boot record')
    ls = subprocess.run(['mdir', '-a', '-b', '-i', '%s@@%d' % (path, start * 512), '::/'],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.upper()
    for p in ('LDLINUX.SYS', 'LDLINUX.C32', 'SYSLINUX.CFG', 'VMLINUZ', 'INITRD.GZ'):
        check('::/' + p in ls.split(), 'disk: %s present' % p.lower())


def check_qdisk():
    # disk.qcow2 is disk.img converted: a clean qcow2 with the same contents.
    path = os.path.join(out, 'disk.qcow2')
    r = subprocess.run(['qemu-img', 'check', '-q', path], capture_output=True, text=True)
    check(r.returncode == 0, 'disk.qcow2: qemu-img check is clean')
    r = subprocess.run(['qemu-img', 'compare', '-q', '-f', 'qcow2', '-F', 'raw', path,
                        os.path.join(out, 'disk.img')], capture_output=True, text=True)
    check(r.returncode == 0, 'disk.qcow2: same contents as disk.img')


def check_media():
    # Every boot entry tells /init which medium it came from (hvm.media=).
    mdir = subprocess.run(['mtype', '-i', '%s@@%d' % (os.path.join(out, 'disk.img'), 2048 * 512),
                           '::/syslinux.cfg'], capture_output=True, text=True).stdout
    appends = [l for l in mdir.splitlines() if l.strip().startswith('APPEND')]
    check(appends and all('hvm.media=disk' in l for l in appends), 'disk: entries pass hvm.media=disk')
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, 'isolinux.cfg')
        subprocess.run(['xorriso', '-indev', os.path.join(out, 'cd.iso'), '-osirrox', 'on',
                        '-extract', '/isolinux/isolinux.cfg', cfg], capture_output=True)
        iso = open(cfg).read() if os.path.exists(cfg) else ''
    appends = [l for l in iso.splitlines() if l.strip().startswith('APPEND')]
    check(appends and all('hvm.media=cd' in l for l in appends), 'iso: entries pass hvm.media=cd')


need = ('initrd.gz', 'vmlinuz-686', 'vmlinuz-686-pae', 'cd.iso', 'disk.img', 'disk.qcow2', 'kit.env')
missing = [n for n in need if not os.path.exists(os.path.join(out, n))]
if missing:
    print('SKIPPED: guest kit not built in %s (missing %s); run tests/guest/build.sh' % (out, ' '.join(missing)))
    sys.exit(77)
check_initrd()
check_kernel('vmlinuz-686')
check_kernel('vmlinuz-686-pae')
check_iso()
check_disk()
check_qdisk()
check_media()
print('%d failed' % failed)
sys.exit(1 if failed else 0)
