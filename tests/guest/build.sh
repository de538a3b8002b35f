#!/bin/sh
# build.sh OUTDIR - build the guest kit from Debian packages only.
#
# Produces in OUTDIR:
#   vmlinuz-686, vmlinuz-686-pae   Debian's i386 kernels (bzImage)
#   initrd.gz                      busybox-static initramfs (cpio newc, gzip)
#                                  with /init, /bin/randread (randread.c, the
#                                  disk bench's random reads) and the driver
#                                  modules of both kernels under
#                                  /lib/modules/<release>/
#   disk.img                       raw disk: MBR (syslinux mbr.bin), one active
#                                  FAT16 partition at 1 MiB with ldlinux.sys,
#                                  syslinux.cfg, the 686 kernel and initrd.gz
#   disk.qcow2                     disk.img converted by qemu-img (qcow2 v3)
#   cd.iso                         isolinux El Torito ISO (isohybrid MBR) with
#                                  the same kernel and initramfs
# Every boot entry passes hvm.media=disk or hvm.media=cd, so a test can tell
# which medium the firmware booted.
#   kit.env                        kernel releases and package versions
#
# Packages are fetched with `apt-get download` into OUTDIR/cache and unpacked
# with `dpkg -x`; nothing is installed, nothing is loop-mounted.  Repeat runs
# reuse the cache and rebuild only what is missing or older than its inputs;
# HVM_GUEST_REFRESH=1 looks for newer kernel packages.
# Needs: apt-get, dpkg, cpio, gzip, python3, mtools, syslinux, isolinux,
# xorriso, qemu-img, and a C compiler that makes i386 code (the host's gcc
# with -m32; no i386 libc is needed) (scripts/setup-deps.sh installs them).
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
CACHE=$OUT/cache
X=$OUT/x
mkdir -p "$CACHE" "$X"

log() { echo "guest-kit: $*" >&2; }
die() { echo "guest-kit: error: $*" >&2; exit 1; }

SYSLINUX_BIOS=/usr/lib/syslinux/modules/bios
SYSLINUX_MBR=/usr/lib/syslinux/mbr/mbr.bin
ISOLINUX_BIN=/usr/lib/ISOLINUX/isolinux.bin
ISOHDPFX=/usr/lib/ISOLINUX/isohdpfx.bin
for f in "$SYSLINUX_BIOS/ldlinux.c32" "$SYSLINUX_MBR" "$ISOLINUX_BIN" "$ISOHDPFX"; do
	[ -f "$f" ] || die "$f missing (run scripts/setup-deps.sh)"
done
for t in apt-get apt-cache dpkg cpio gzip python3 mformat mcopy syslinux xorriso; do
	command -v "$t" >/dev/null || die "$t missing (run scripts/setup-deps.sh)"
done

# Driver modules for the devices hvmdm emulates (and what they pull in).  Names
# that are built into Debian's kernel are skipped; modules.dep adds the rest.
MODULES="libata ata_piix ata_generic scsi_mod sd_mod sr_mod cdrom
	isofs floppy 8390 ne2k-pci 8139too 8139cp e1000 mii
	usbcore uhci_hcd ehci_hcd ehci_pci usbhid hid hid_generic
	drm drm_kms_helper cirrus bochs serio_raw psmouse evdev button
	virtio_pci"

# resolve_kernels: set KPKG_686 and KPKG_PAE to the concrete packages the
# linux-image-686(-pae) metapackages depend on.  apt-cache is slow (seconds
# per call), so the answer is remembered in the cache; HVM_GUEST_REFRESH=1
# asks again (to pick up a newer kernel).
resolve_kernels() {
	if [ -z "${HVM_GUEST_REFRESH:-}" ] && [ -f "$CACHE/resolved.env" ]; then
		. "$CACHE/resolved.env"
		if ls "$CACHE/${KPKG_686}"_*_i386.deb "$CACHE/${KPKG_PAE}"_*_i386.deb >/dev/null 2>&1; then
			return 0
		fi
	fi
	deps=$(apt-cache depends linux-image-686:i386 linux-image-686-pae:i386 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p')
	if [ -z "$deps" ]; then
		log "no i386 package index; running apt-get update"
		apt-get update -q >&2 || true
		deps=$(apt-cache depends linux-image-686:i386 linux-image-686-pae:i386 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p')
	fi
	KPKG_686=$(echo "$deps" | grep -- '-686$' | head -n1)
	KPKG_PAE=$(echo "$deps" | grep -- '-686-pae$' | head -n1)
	[ -n "$KPKG_686" ] && [ -n "$KPKG_PAE" ] ||
		die "cannot resolve linux-image-686:i386 (is i386 enabled: dpkg --add-architecture i386?)"
	printf 'KPKG_686=%s\nKPKG_PAE=%s\n' "$KPKG_686" "$KPKG_PAE" >"$CACHE/resolved.env"
}

# fetch PKG: print the path of the cached i386 .deb, downloading it once.
fetch() {
	pkg=$1
	deb=$(ls "$CACHE/${pkg}"_*_i386.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ]; then
		log "downloading $pkg:i386"
		if ! (cd "$CACHE" && apt-get download -q -o APT::Sandbox::User=root "$pkg:i386" >&2); then
			log "apt-get download failed; refreshing the package index"
			apt-get update -q >&2 || true
			(cd "$CACHE" && apt-get download -q -o APT::Sandbox::User=root "$pkg:i386" >&2) ||
				die "cannot download $pkg:i386 (is i386 enabled: dpkg --add-architecture i386?)"
		fi
		deb=$(ls "$CACHE/${pkg}"_*_i386.deb | head -n1)
	fi
	echo "$deb"
}

# unpack DEB DIR: dpkg -x once per .deb (a stamp names the .deb unpacked).
unpack() {
	if [ "$(cat "$2.stamp" 2>/dev/null || true)" != "$(basename "$1")" ]; then
		rm -rf "$2" "$2.stamp"
		mkdir -p "$2"
		dpkg -x "$1" "$2"
		basename "$1" >"$2.stamp"
	fi
}

newer() { # newer TARGET INPUT...: true if TARGET is missing or older than an input
	t=$1
	shift
	[ -e "$t" ] || return 0
	for i in "$@"; do
		[ "$i" -nt "$t" ] && return 0
	done
	return 1
}

resolve_kernels

DEB_686=$(fetch "$KPKG_686")
DEB_PAE=$(fetch "$KPKG_PAE")
DEB_BB=$(fetch busybox-static)
unpack "$DEB_686" "$X/k686"
unpack "$DEB_PAE" "$X/kpae"
unpack "$DEB_BB" "$X/busybox"

KREL_686=$(ls "$X/k686/lib/modules" | head -n1)
KREL_PAE=$(ls "$X/kpae/lib/modules" | head -n1)
cp -p "$X/k686/boot/vmlinuz-$KREL_686" "$OUT/vmlinuz-686.tmp" && mv "$OUT/vmlinuz-686.tmp" "$OUT/vmlinuz-686"
cp -p "$X/kpae/boot/vmlinuz-$KREL_PAE" "$OUT/vmlinuz-686-pae.tmp" && mv "$OUT/vmlinuz-686-pae.tmp" "$OUT/vmlinuz-686-pae"

# --- initramfs -----------------------------------------------------------
# add_modules KROOT KREL ROOT: copy MODULES and their dependencies from the
# unpacked kernel package into ROOT/lib/modules/KREL with a matching
# modules.dep, so busybox modprobe loads them in dependency order.
add_modules() {
	python3 - "$1" "$2" "$3" $MODULES <<'EOF'
# Debian ships no modules.dep (depmod runs at install time), so dependencies
# come from each module's .modinfo "depends=" entry (ELF32 section).
import os, shutil, struct, subprocess, sys
kroot, krel, root = sys.argv[1:4]
want = [m.replace('-', '_') for m in sys.argv[4:]]
mdir = os.path.join(kroot, 'lib/modules', krel)
EXTS = ('.ko.xz', '.ko.zst', '.ko.gz', '.ko')
def modname(p):
    b = os.path.basename(p)
    for ext in EXTS:
        if b.endswith(ext):
            return b[:-len(ext)].replace('-', '_')
    return None
byname = {}
for dp, _, files in os.walk(os.path.join(mdir, 'kernel')):
    for f in files:
        n = modname(f)
        if n:
            byname[n] = os.path.relpath(os.path.join(dp, f), mdir)
builtin = set(modname(l.strip()) for l in open(os.path.join(mdir, 'modules.builtin')))
def plain(rel):
    for ext, tool in (('.xz', 'xz'), ('.zst', 'zstd'), ('.gz', 'gzip')):
        if rel.endswith(ext):
            return rel[:-len(ext)], tool
    return rel, None
def elf_bytes(rel):
    _, tool = plain(rel)
    src = os.path.join(mdir, rel)
    if tool:
        return subprocess.run([tool, '-dc', src], stdout=subprocess.PIPE, check=True).stdout
    return open(src, 'rb').read()
def depends(data):
    assert data[:4] == b'\x7fELF' and data[4] == 1, 'not an ELF32 module'
    shoff, = struct.unpack_from('<I', data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x2e)
    secs = [struct.unpack_from('<IIIIII', data, shoff + i * shentsize) for i in range(shnum)]
    stroff = secs[shstrndx][4]
    for name, _, _, _, off, size in secs:
        end = data.index(b'\0', stroff + name)
        if data[stroff + name:end] == b'.modinfo':
            for e in data[off:off + size].split(b'\0'):
                if e.startswith(b'depends='):
                    return [d for d in e[8:].decode().split(',') if d]
    return []
need, report, blobs, deps = [], [], {}, {}
def add(n):
    if n in need:
        return
    rel = byname[n]
    blobs[n] = elf_bytes(rel)
    deps[n] = [d.replace('-', '_') for d in depends(blobs[n])]
    for d in deps[n]:
        add(d)
    need.append(n)
for m in want:
    if m in byname:
        add(m); report.append(m + '=m')
    elif m in builtin:
        report.append(m + '=y')
    else:
        report.append(m + '=absent')
out = os.path.join(root, 'lib/modules', krel)
os.makedirs(out, exist_ok=True)
def closure(n, acc):
    for d in deps[n]:
        closure(d, acc)
        if d not in acc:
            acc.append(d)
    return acc
lines = []
for n in need:
    rel, _ = plain(byname[n])
    os.makedirs(os.path.dirname(os.path.join(out, rel)), exist_ok=True)
    with open(os.path.join(out, rel), 'wb') as f:
        f.write(blobs[n])
    # modules.dep lists every dependency, the one to load first last.
    lines.append(rel + ':' + ''.join(' ' + plain(byname[d])[0] for d in reversed(closure(n, []))))
with open(os.path.join(out, 'modules.dep'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
for n in ('modules.builtin', 'modules.order'):
    shutil.copyfile(os.path.join(mdir, n), os.path.join(out, n))
with open(os.path.join(out, 'hvm-modules.txt'), 'w') as f:
    f.write(' '.join(report) + '\n')
print('%s: %d module files; %s' % (krel, len(need), ' '.join(report)), file=sys.stderr)
EOF
}

# randread.c: freestanding i386, Linux system calls only (see its header).
RANDREAD=$X/randread
if newer "$RANDREAD" "$HERE/randread.c" "$HERE/build.sh"; then
	${CC:-cc} -m32 -O2 -static -nostdlib -ffreestanding -fno-pic -no-pie \
		-fno-stack-protector -Wall -Wextra -Werror -o "$RANDREAD.tmp" "$HERE/randread.c" ||
		die "cannot build randread.c for i386 (${CC:-cc} -m32)"
	mv "$RANDREAD.tmp" "$RANDREAD"
fi

INITRD=$OUT/initrd.gz
if newer "$INITRD" "$HERE/init" "$HERE/build.sh" "$RANDREAD" "$DEB_686" "$DEB_PAE" "$DEB_BB"; then
	log "building initramfs"
	ROOT=$X/initramfs
	rm -rf "$ROOT"
	mkdir -p "$ROOT/bin" "$ROOT/sbin" "$ROOT/usr/bin" "$ROOT/usr/sbin" "$ROOT/proc" \
		"$ROOT/sys" "$ROOT/dev" "$ROOT/tmp" "$ROOT/mnt" "$ROOT/etc" "$ROOT/root"
	cp "$X/busybox/bin/busybox" "$ROOT/bin/busybox"
	ln -s busybox "$ROOT/bin/sh"
	cp "$HERE/init" "$ROOT/init"
	cp "$RANDREAD" "$ROOT/bin/randread"
	# Display scenario: a 4093-byte tile (a prime length, so every framebuffer
	# row starts elsewhere in it) of deterministic bytes, the same generator
	# as tests/interop/vnc_guest.py's fbtile().
	mkdir -p "$ROOT/share"
	python3 -c 'import sys
s = 2026
out = bytearray()
for _ in range(4093):
    s = (s * 1103515245 + 12345) & 0xffffffff
    out.append(s >> 16 & 0xff)
sys.stdout.buffer.write(bytes(out))' >"$ROOT/share/fbtile.bin"
	chmod 755 "$ROOT/init" "$ROOT/bin/busybox" "$ROOT/bin/randread"
	add_modules "$X/k686" "$KREL_686" "$ROOT"
	add_modules "$X/kpae" "$KREL_PAE" "$ROOT"
	# No device nodes: /init mounts devtmpfs first and then reopens
	# /dev/console for its own output.
	(cd "$ROOT" && find . | sort | sed 's,^\./,,;/^\.$/d') >"$X/initramfs.list"
	(
		cd "$ROOT"
		cpio --quiet -o -H newc -R 0:0 <"$X/initramfs.list"
	) | gzip -9n >"$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
fi

# --- SYSLINUX disk image -------------------------------------------------
write_syslinux_cfg() { # FILE MEDIUM: promptless config for syslinux and isolinux
	CMDLINE_BASE="console=ttyS0,115200 console=tty0 hvm.media=$2"
	cat >"$1" <<EOF
DEFAULT poweroff
TIMEOUT 1
PROMPT 0
LABEL poweroff
  KERNEL /vmlinuz
  INITRD /initrd.gz
  APPEND $CMDLINE_BASE hvm.scenario=poweroff
LABEL reboot
  KERNEL /vmlinuz
  INITRD /initrd.gz
  APPEND $CMDLINE_BASE hvm.scenario=reboot
LABEL keys
  KERNEL /vmlinuz
  INITRD /initrd.gz
  APPEND $CMDLINE_BASE hvm.scenario=keys
LABEL shell
  KERNEL /vmlinuz
  INITRD /initrd.gz
  APPEND $CMDLINE_BASE hvm.scenario=shell
LABEL pae
  KERNEL /vmlinuz-pae
  INITRD /initrd.gz
  APPEND $CMDLINE_BASE hvm.scenario=poweroff
EOF
}

DISK=$OUT/disk.img
DISK_MB=48
PART_LBA=2048
if newer "$DISK" "$INITRD" "$OUT/vmlinuz-686" "$OUT/vmlinuz-686-pae" "$HERE/build.sh"; then
	log "building SYSLINUX disk image"
	rm -f "$DISK.tmp"
	truncate -s ${DISK_MB}M "$DISK.tmp"
	# MBR: syslinux boot code, one active FAT16 (type 0x06) partition from
	# LBA 2048 to the end, CHS fields clamped as for LBA-only disks.
	python3 - "$DISK.tmp" "$SYSLINUX_MBR" $PART_LBA $((DISK_MB * 2048)) <<'EOF'
import struct, sys
img, mbr, start, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
code = open(mbr, 'rb').read()[:440]
entry = struct.pack('<B3sB3sII', 0x80, b'\xfe\xff\xff', 0x06, b'\xfe\xff\xff', start, total - start)
with open(img, 'r+b') as f:
    f.write(code)
    f.seek(440)
    f.write(struct.pack('<I', 0x48564d31) + b'\0\0')  # disk signature "HVM1"
    f.write(entry + b'\0' * 48 + b'\x55\xaa')
EOF
	P="$DISK.tmp@@$((PART_LBA * 512))"
	mformat -i "$P" -v HVMKIT -T $(((DISK_MB * 2048) - PART_LBA)) -h 64 -s 32 -H $PART_LBA ::
	write_syslinux_cfg "$X/syslinux.cfg" disk
	mcopy -i "$P" "$X/syslinux.cfg" ::/syslinux.cfg
	mcopy -i "$P" "$OUT/vmlinuz-686" ::/vmlinuz
	mcopy -i "$P" "$OUT/vmlinuz-686-pae" ::/vmlinuz-pae
	mcopy -i "$P" "$INITRD" ::/initrd.gz
	syslinux --offset $((PART_LBA * 512)) --install "$DISK.tmp"
	mv "$DISK.tmp" "$DISK"
fi

# --- the same disk as qcow2 (boot tests of the qcow2 driver under SeaBIOS) ---
QDISK=$OUT/disk.qcow2
if newer "$QDISK" "$DISK"; then
	command -v qemu-img >/dev/null || die "qemu-img missing (run scripts/setup-deps.sh)"
	log "converting the disk image to qcow2"
	qemu-img convert -f raw -O qcow2 "$DISK" "$QDISK.tmp"
	mv "$QDISK.tmp" "$QDISK"
fi

# --- isolinux El Torito ISO ----------------------------------------------
ISO=$OUT/cd.iso
if newer "$ISO" "$INITRD" "$OUT/vmlinuz-686" "$OUT/vmlinuz-686-pae" "$HERE/build.sh"; then
	log "building isolinux ISO"
	T=$X/iso
	rm -rf "$T"
	mkdir -p "$T/isolinux"
	cp "$ISOLINUX_BIN" "$T/isolinux/isolinux.bin"
	cp "$SYSLINUX_BIOS/ldlinux.c32" "$T/isolinux/ldlinux.c32"
	write_syslinux_cfg "$T/isolinux/isolinux.cfg" cd
	cp "$OUT/vmlinuz-686" "$T/vmlinuz"
	cp "$OUT/vmlinuz-686-pae" "$T/vmlinuz-pae"
	cp "$INITRD" "$T/initrd.gz"
	xorriso -as mkisofs -quiet -o "$ISO.tmp" -V HVMKIT -J -R \
		-isohybrid-mbr "$ISOHDPFX" \
		-b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table "$T"
	mv "$ISO.tmp" "$ISO"
fi

cat >"$OUT/kit.env.tmp" <<EOF
KREL_686=$KREL_686
KREL_PAE=$KREL_PAE
KPKG_686=$(basename "$DEB_686")
KPKG_PAE=$(basename "$DEB_PAE")
BUSYBOX=$(basename "$DEB_BB")
EOF
mv "$OUT/kit.env.tmp" "$OUT/kit.env"
log "done: $OUT (kernels $KREL_686, $KREL_PAE)"
