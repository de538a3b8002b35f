#!/bin/sh
# Install everything hvmdm needs to build, run and test on Debian 12.
# Idempotent; safe to run again. Needs root (or sudo).
set -e
# as_root CMD...: run CMD as root (directly, or through sudo).
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
		return
	fi
	command -v sudo >/dev/null || {
		echo "setup-deps: installing packages needs root: run scripts/setup-deps.sh as root, or install sudo" >&2
		exit 1
	}
	sudo "$@"
}
# A mirror mid-sync can fail one index (apt-get update exits 100): try again a
# little later, then install from the indexes that did arrive rather than stop.
apt_update() {
	for try in 1 2 3; do
		as_root apt-get update -q && return 0
		[ "$try" = 3 ] || { echo "setup-deps: apt-get update failed; trying again in 20 s" >&2; sleep 20; }
	done
	echo "setup-deps: apt-get update reported errors; going on with the indexes it fetched" >&2
}
PKGS="build-essential cmake pkg-config clang-format
	libsdl2-dev libvncserver-dev zlib1g-dev libaio-dev libpixman-1-dev libpng-dev
	seabios ipxe-qemu qemu-system-x86 qemu-utils libunicorn-dev
	syslinux syslinux-common isolinux xorriso mtools cpio python3 openssl
	acpica-tools dmidecode"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt_update
	as_root apt-get install -y -q --no-install-recommends $missing
fi
# i386 guest packages are fetched (not installed) by tests/guest/build.sh.
dpkg --print-foreign-architectures | grep -q i386 || { as_root dpkg --add-architecture i386 && apt_update; }
# Front-end interop tests with real X and VNC clients (tests/interop: SDL window under
# Xvfb, vncsnapshot, TigerVNC, noVNC in headless Chromium); each test SKIPs without them.
UI_PKGS="xvfb x11-apps x11-utils xdotool netpbm vncsnapshot tigervnc-viewer chromium novnc"
missing=
for p in $UI_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get install -y -q --no-install-recommends $missing
fi
