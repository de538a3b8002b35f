#!/bin/bash
# qcow2 interop with qemu-img/qemu-io: our writes keep images valid for
# `qemu-img check` and equal to a raw reference (`qemu-img compare`); images
# written by QEMU (plain, compressed, backing chains, lazy refcounts left
# dirty) read back identically; bad images are refused with a message.
set -u
BLKIO=$1
command -v qemu-img >/dev/null || { echo "SKIPPED: qemu-img missing (apt-get install qemu-utils)"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# Deterministic pseudo-random writes, applied to the image and to the raw reference.
writes() { # FMT IMG SIZE COUNT SEED
	local fmt=$1 img=$2 size=$3 n=$4 seed=$5 i off len args=() rargs=()
	RANDOM=$seed
	for ((i = 0; i < n; i++)); do
		off=$(( (RANDOM * 32768 + RANDOM) % (size - 200000) ))
		len=$(( RANDOM % 150000 + 1 ))
		if (( i % 7 == 3 )); then
			args+=(z $off $len); rargs+=(z $off $len)
		else
			args+=(w $off $len $((seed + i))); rargs+=(w $off $len $((seed + i)))
		fi
	done
	"$BLKIO" "$fmt" "$img" "${args[@]}" flush && "$BLKIO" raw "$T/ref.raw" "${rargs[@]}"
}

check_and_compare() { # IMG REF LABEL
	qemu-img check -q "$1" >"$T/check.out" 2>&1 || { fail "$3: qemu-img check"; cat "$T/check.out"; return; }
	qemu-img compare -q -f qcow2 -F raw "$1" "$2" || { fail "$3: qemu-img compare"; return; }
	ok "$3"
}

SIZE=$((64 << 20))
for compat in 0.10 1.1; do
	for cs in 512 4096 65536 2097152; do
		for pre in off metadata; do
			for lazy in off on; do
				[ $compat = 0.10 ] && [ $lazy = on ] && continue
				img=$T/t.qcow2
				rm -f "$img"; truncate -s $SIZE "$T/ref.raw"; : >"$T/ref.raw"; truncate -s $SIZE "$T/ref.raw"
				qemu-img create -q -f qcow2 -o compat=$compat,cluster_size=$cs,preallocation=$pre,lazy_refcounts=$lazy "$img" $SIZE
				writes qcow2 "$img" $SIZE 40 $cs || { fail "writes compat=$compat cs=$cs pre=$pre lazy=$lazy"; continue; }
				check_and_compare "$img" "$T/ref.raw" "compat=$compat cluster=$cs prealloc=$pre lazy=$lazy"
			done
		done
	done
done

# QEMU-written data reads back the same.
rm -f "$T/q.qcow2"; : >"$T/ref.raw"; truncate -s $SIZE "$T/ref.raw"
qemu-img create -q -f qcow2 "$T/q.qcow2" $SIZE
for spec in "0xab 1M 64k" "0x5c 3000000 70000" "0x01 60M 4M"; do
	set -- $spec
	qemu-io -f qcow2 -c "write -P $1 $2 $3" "$T/q.qcow2" >/dev/null
	qemu-io -f raw -c "write -P $1 $2 $3" "$T/ref.raw" >/dev/null
done
qemu-io -f qcow2 -c "write -z 1M 4k" "$T/q.qcow2" >/dev/null
qemu-io -f raw -c "write -z 1M 4k" "$T/ref.raw" >/dev/null
"$BLKIO" qcow2 "$T/q.qcow2" ro cmp 0 $SIZE "$T/ref.raw" && ok "reads QEMU-written data and zero clusters" || fail "QEMU-written data"

# Compressed clusters: read, then overwrite part of one.
qemu-img convert -c -O qcow2 "$T/ref.raw" "$T/c.qcow2"
"$BLKIO" qcow2 "$T/c.qcow2" ro cmp 0 $SIZE "$T/ref.raw" && ok "reads compressed clusters" || fail "compressed read"
writes qcow2 "$T/c.qcow2" $SIZE 20 77 && check_and_compare "$T/c.qcow2" "$T/ref.raw" "writes over compressed clusters"

# Backing chain: overlay writes, base untouched.
cp "$T/ref.raw" "$T/base.ref"
qemu-img convert -O qcow2 "$T/ref.raw" "$T/base.qcow2"
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/ov.qcow2"
writes qcow2 "$T/ov.qcow2" $SIZE 25 99 && check_and_compare "$T/ov.qcow2" "$T/ref.raw" "backing chain overlay"
qemu-img compare -q -f qcow2 -F raw "$T/base.qcow2" "$T/base.ref" && ok "backing file untouched" || fail "backing file changed"

# snapshot=1: writes land in a temporary overlay; the image is unchanged.
sum1=$(sha1sum <"$T/base.qcow2")
"$BLKIO" qcow2 "$T/base.qcow2" snapshot w 4096 100000 5 r 4096 100000 >/dev/null || fail "snapshot write"
[ "$sum1" = "$(sha1sum <"$T/base.qcow2")" ] && ok "snapshot=1 leaves the image untouched" || fail "snapshot modified the image"

# Lazy refcounts left dirty by an aborted QEMU writer: we repair on open.
qemu-img create -q -f qcow2 -o lazy_refcounts=on "$T/lz.qcow2" $SIZE
qemu-io -f qcow2 -c "write -P 0x11 0 1M" -c abort "$T/lz.qcow2" >/dev/null 2>&1
if qemu-img info "$T/lz.qcow2" | grep -q "dirty flag\|corrupt: false"; then :; fi
"$BLKIO" qcow2 "$T/lz.qcow2" w 2M 65536 3 flush 2>"$T/lz.err" || fail "open of dirty image"
grep -q "rebuilding refcounts" "$T/lz.err" && ok "dirty image detected" || echo "note: image was not left dirty"
qemu-img check -q "$T/lz.qcow2" && ok "dirty image repaired (qemu-img check clean)" || fail "repair of dirty image"

# Refusals with a message and no crash.
expect_refuse() { # LABEL PATTERN ARGS...
	local label=$1 pat=$2; shift 2
	if "$BLKIO" "$@" >/dev/null 2>"$T/err"; then fail "$label: accepted"; return; fi
	grep -qi "$pat" "$T/err" && ok "$label refused" || { fail "$label: message"; cat "$T/err"; }
}
cp "$T/q.qcow2" "$T/inc.qcow2"; printf '\x04' | dd of="$T/inc.qcow2" bs=1 seek=78 conv=notrunc 2>/dev/null
expect_refuse "unknown incompatible feature" "incompatible feature" qcow2 "$T/inc.qcow2" ro size
cp "$T/q.qcow2" "$T/cor.qcow2"; printf '\x02' | dd of="$T/cor.qcow2" bs=1 seek=79 conv=notrunc 2>/dev/null
expect_refuse "corrupt bit (read-write)" "marked corrupt" qcow2 "$T/cor.qcow2" size
"$BLKIO" qcow2 "$T/cor.qcow2" ro cmp 0 $SIZE "$T/ref.raw" >/dev/null 2>&1; [ $? -le 1 ] && ok "corrupt bit: read-only open works" || fail "corrupt read-only"
if qemu-img create -q -f qcow2 -o compression_type=zstd "$T/z.qcow2" 1M 2>/dev/null; then
	expect_refuse "zstd compression" "compression type" qcow2 "$T/z.qcow2" ro size
fi
head -c 4096 /dev/urandom >"$T/junk.qcow2"
expect_refuse "random bytes as qcow2" "not a qcow2 image.*format=raw" qcow2 "$T/junk.qcow2" ro size
head -c 50 "$T/q.qcow2" >"$T/short.qcow2"
expect_refuse "truncated header" "shorter\|corrupt" qcow2 "$T/short.qcow2" ro size
cp "$T/q.qcow2" "$T/l1.qcow2"; printf '\x7f\xff\xff\xff' | dd of="$T/l1.qcow2" bs=1 seek=36 conv=notrunc 2>/dev/null
expect_refuse "huge L1 size" "L1" qcow2 "$T/l1.qcow2" ro size
# A raw image that looks like qcow2 is still raw: no format guessing.
[ "$("$BLKIO" raw "$T/q.qcow2" ro size)" = "$(stat -c %s "$T/q.qcow2")" ] && ok "raw is never probed as qcow2" || fail "format guessing"

echo "$fails failures"
[ $fails = 0 ]
