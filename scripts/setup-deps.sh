#!/bin/sh
# Install everything hvmdm needs to build, run and test on Debian 12.
# Idempotent; safe to run again. Needs root (or sudo).
set -e
SUDO=
# A mirror mid-sync can fail one index (apt-get update exits 100); install from
# the indexes that did arrive rather than stop here.
apt_update() {
	$SUDO apt-get update -q || echo "setup-deps: apt-get update reported errors; going on with the indexes it fetched" >&2
}
[ "$(id -u)" = 0 ] || SUDO=sudo
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
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi
# i386 guest packages are fetched (not installed) by tests/guest/build.sh.
dpkg --print-foreign-architectures | grep -q i386 || { $SUDO dpkg --add-architecture i386 && apt_update; }
# Front-end interop tests with real X and VNC clients (tests/interop: SDL window under
# Xvfb, vncsnapshot, TigerVNC, noVNC in headless Chromium); each test SKIPs without them.
UI_PKGS="xvfb x11-apps x11-utils xdotool netpbm vncsnapshot tigervnc-viewer chromium novnc"
missing=
for p in $UI_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi
