#!/usr/bin/env bash
# Damage in the store: a flipped byte in a blob, a manifest and a tag file;
# a symlink where a payload should be; a tag file cut at every byte offset.
# Each is found by `spfs check`, named, and never served to a render.
. "$(dirname "$0")/lib.sh"

make_tree "$T/tree" 60 5
spfs init >/dev/null
L=$(spfs commit "$T/tree" -t app)
M=$(spfs info app --json | json_get - 'd["manifest"]')
S=$SPFS_STORAGE
path_of() { echo "$S/$1/${2:0:2}/${2:2}"; }

# --- a flipped byte in a blob
f=$(find "$T/tree" -type f -size +1000c | sed -n 1p)
B=$(sha256sum "$f" | cut -c1-64)
p=$(path_of payloads "$B"); [ -f "$p" ] || p="$p.x"
cp "$p" "$T/blob.orig"
chmod u+w "$p"; printf '\x55' | dd of="$p" bs=1 seek=100 conv=notrunc status=none; chmod a-w "$p"
expect_status 1 spfs check
expect_match "$OUT" "^payload $B: content does not match: expected $B, got [0-9a-f]{64}; used by app$" "check names the bad blob and the tag that needs it"
expect_eq "$(wc -l <<<"$OUT")" 1 "one damaged blob is one problem"
expect_match "$ERR" "1 problem$" "counted once"
expect_status 1 spfs render app "$T/r-bad"
expect_match "$ERR" "payload $B is corrupt" "render refuses the bad blob"
[ ! -e "$T/r-bad/$(basename "$f")" ] && ok
expect_status 1 spfs cat "$B"; expect_match "$ERR" "corrupt" "cat verifies"
chmod u+w "$p"; cp "$T/blob.orig" "$p"; chmod a-w "$p"
expect_status 0 spfs check

# --- a flipped byte in the manifest
p=$(path_of objects "$M"); cp "$p" "$T/manifest.orig"
chmod u+w "$p"; printf '\x01' | dd of="$p" bs=1 seek=40 conv=notrunc status=none
expect_status 1 spfs check; expect_match "$OUT" "^object $M: content does not match" "check names the bad manifest"
expect_status 1 spfs render app "$T/r-bad2"; expect_match "$ERR" "object $M is corrupt: expected digest $M, got" "render refuses"
expect_status 1 spfs ls app; expect_match "$ERR" "corrupt" "ls refuses"
cp "$T/manifest.orig" "$p"
# --- a truncated manifest
head -c 30 "$T/manifest.orig" > "$p"
expect_status 1 spfs check; expect_match "$OUT" "^object $M" "truncated manifest found"
cp "$T/manifest.orig" "$p"; chmod a-w "$p"
expect_status 0 spfs check

# --- a symlink inside storage where a payload should be
p=$(path_of payloads "$B"); [ -f "$p" ] || p="$p.x"
mv "$p" "$T/payload.moved"
echo "secret outside the store" > "$T/outside"
ln -s "$T/outside" "$p"
expect_status 1 spfs check; expect_match "$OUT" "payload $B: is a symbolic link" "symlink payload reported"
expect_status 1 spfs render app "$T/r-link"
expect_match "$ERR" "symbolic link" "render refuses to follow"
expect_status 1 spfs cat "$B"
[[ "$OUT" != *secret* ]] && ok
rm "$p"; mv "$T/payload.moved" "$p"
# a symlinked shard directory
mv "$S/objects/${M:0:2}" "$T/shard"; ln -s "$T/shard" "$S/objects/${M:0:2}"
expect_status 1 spfs ls app; expect_match "$ERR" "not a directory|symbolic link|missing" "symlinked shard refused"
rm "$S/objects/${M:0:2}"; mv "$T/shard" "$S/objects/${M:0:2}"
expect_status 0 spfs check

# --- tag files: a flipped byte, and a cut at every offset
L2=$(spfs commit "$T/tree/d000" -t app)
L3=$(spfs commit "$T/tree/empty" -t app)
tagf=$S/tags/app.tag
cp "$tagf" "$T/tag.orig"
size=$(stat -c %s "$tagf")
rec=$(( size / 3 ))
for off in $(seq 0 "$size"); do
	head -c "$off" "$T/tag.orig" > "$tagf"
	complete=$(( off / rec ))
	rc=0; cur=$(spfs info app 2>"$T/err" | sed -n 1p | cut -d' ' -f2) || rc=$?
	case $complete in
	0) expect_match "$(cat "$T/err")" "tag 'app' is damaged: no complete record|no tag named" "cut at $off";;
	1) expect_eq "$cur" "$L" "cut at $off keeps the first record";;
	2) expect_eq "$cur" "$L2" "cut at $off keeps two records";;
	3) expect_eq "$cur" "$L3" "whole file";;
	esac
done
cp "$T/tag.orig" "$tagf"
# flip one hex digit of the middle record's target
python3 - "$tagf" "$rec" <<'PY'
import sys
p, rec = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
i = rec + 5
b[i] = ord('0') if b[i] != ord('0') else ord('1')
open(p, "wb").write(bytes(b))
PY
expect_status 1 spfs check; expect_match "$OUT" "^tag app: 1 damaged or torn record dropped" "check names the damaged tag"
expect_status 0 spfs info app; expect_match "$OUT" "^layer $L3" "tag still readable"
expect_status 0 spfs log app; expect_match "$ERR" "1 damaged record skipped" "log warns"
cp "$T/tag.orig" "$tagf"
# A tag file that is a symlink is not followed.
mv "$tagf" "$T/tag.real"; ln -s "$T/tag.real" "$tagf"
expect_status 1 spfs info app; expect_match "$ERR" "symbolic link" "symlinked tag refused"
rm "$tagf"; mv "$T/tag.real" "$tagf"
expect_status 0 spfs check; expect_match "$OUT" "0 problems" "store whole again"

# --- the executable variant of a payload is verified itself, not its twin
mkdir -p "$T/x1" "$T/x2"; printf 'hello' > "$T/x1/a"; chmod 755 "$T/x1/a"; printf 'hello' > "$T/x2/a"
spfs commit "$T/x1" -t x1 >/dev/null; spfs commit "$T/x2" -t x2 >/dev/null
H=$(printf 'hello' | sha256sum | cut -c1-64)
px=$(path_of payloads "$H").x
[ -f "$px" ] && [ -f "$(path_of payloads "$H")" ] && ok
chmod u+w "$px"; printf 'HELLO' > "$px"; chmod a-w "$px"
expect_status 1 spfs render x1 "$T/r-x1"; expect_match "$ERR" "payload $H \(executable\) is corrupt" "exec variant verified"
[ -z "$(ls -A "$T/r-x1")" ] && ok   # nothing left behind
expect_status 0 spfs render x2 "$T/r-x2"; expect_eq "$(cat "$T/r-x2/a")" hello "the intact variant still renders"
expect_status 1 spfs check
expect_match "$OUT" "^payload $H: content does not match.*; used by x1$" "check names it and blames only the tag that uses the executable variant"
expect_eq "$(wc -l <<<"$OUT")" 1 "one problem"

# --- damage that leaves no trace (content changed, mtime put back to 0, as
# bit rot would): the quick check cannot see it, --full-verify and check do.
B2=$(find "$T/tree" -type f -size +1000c -print0 | xargs -0 sha256sum | cut -c1-64 | grep -v "$B" | sed -n 1p)
p=$(path_of payloads "$B2"); [ -f "$p" ] || p="$p.x"
expect_eq "$(stat -c %Y "$p")" 0 "payloads are stored with mtime 0"
chmod u+w "$p"; printf '\x66' | dd of="$p" bs=1 seek=10 conv=notrunc status=none; chmod a-w "$p"
touch -d @0 "$p"
expect_status 1 spfs render "$L" "$T/r-full" --full-verify; expect_match "$ERR" "payload $B2.* is corrupt" "full verification finds it"
expect_status 1 spfs check; expect_match "$OUT" "^payload $B2: content does not match" "check finds it"
