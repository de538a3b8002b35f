#!/bin/sh
# qemu-boot.sh OUTDIR kernel|pae|disk|iso - boot the guest kit under Debian's QEMU
# (TCG) and check the markers its /init prints on ttyS0: init, cpus 1, the
# memory size, ata_piix loaded, the scenario, and a clean ACPI poweroff
# (QEMU exits 0).  Proves the kit itself is right before hvmdm boots it.
# Prints the boot time (informational, never asserted).
# Exit 0 pass, 1 fail, 77 skipped (kit not built or QEMU missing).
set -u
OUT=$1
MODE=$2
QEMU=${QEMU:-qemu-system-i386}
command -v "$QEMU" >/dev/null || { echo "SKIPPED: $QEMU not installed"; exit 77; }
for f in vmlinuz-686 vmlinuz-686-pae initrd.gz disk.img cd.iso; do
	[ -f "$OUT/$f" ] || { echo "SKIPPED: guest kit not built ($OUT/$f missing)"; exit 77; }
done
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
case $MODE in
kernel | pae)
	k=vmlinuz-686
	[ "$MODE" = pae ] && k=vmlinuz-686-pae
	set -- -kernel "$OUT/$k" -initrd "$OUT/initrd.gz" \
		-append 'console=ttyS0 hvm.scenario=poweroff'
	;;
disk) set -- -drive file="$OUT/disk.img",format=raw,if=ide,snapshot=on ;;
iso) set -- -cdrom "$OUT/cd.iso" -boot d ;;
*) echo "usage: $0 OUTDIR kernel|pae|disk|iso" >&2; exit 2 ;;
esac
start=$(date +%s.%N)
timeout 600 "$QEMU" -accel tcg -m 256 -display none -serial stdio -monitor none \
	-nodefaults -vga std -no-reboot "$@" </dev/null >"$LOG.raw" 2>&1
rc=$?
tr -d '\r' <"$LOG.raw" >"$LOG"
rm -f "$LOG.raw"
end=$(date +%s.%N)
echo "qemu exit status $rc, boot to poweroff took $(echo "$end - $start" | awk "{print \$1 - \$3}" 2>/dev/null) s"
grep -a 'HVM-MARK' "$LOG"
fail=0
expect() {
	if grep -aqx "HVM-MARK $1" "$LOG"; then
		echo "ok     HVM-MARK $1"
	else
		echo "not ok HVM-MARK $1"
		fail=1
	fi
}
expect init
expect 'cpus 1'
expect 'module ata_piix ok'
expect 'scenario poweroff'
expect poweroff
mem=$(sed -n 's/^HVM-MARK mem \([0-9]*\)\r*$/\1/p' "$LOG" | head -n1)
# 256 MiB guest: the kernel reports MemTotal a little below 262144 KiB.
if [ -n "$mem" ] && [ "$mem" -gt 200000 ] && [ "$mem" -le 262144 ]; then
	echo "ok     mem $mem KiB"
else
	echo "not ok mem '$mem' KiB"
	fail=1
fi
[ $rc -eq 0 ] || { echo "not ok qemu exit status $rc (expected a clean poweroff)"; fail=1; }
[ $fail -eq 0 ] || { echo "--- serial log tail ---"; tail -n 40 "$LOG"; }
exit $fail
