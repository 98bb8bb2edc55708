#!/usr/bin/env bash
# Deep stacks: a 300-layer platform runs (fsconfig "lowerdir+", one layer a
# call); past the overlay stack limit the bottom is flattened into one
# cached render, masks included; clean keeps the flattened render while a
# runtime uses it.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount namespaces)"; trap - EXIT; rm -rf "$T"; exit 77; }

spfs init >/dev/null
host_mounts() { grep -E " /spfs | $T" /proc/self/mountinfo | sed 's/^[0-9]* [0-9]* //' | sort || true; }
BEFORE=$(host_mounts)
S=$SPFS_BIN

refs=""
for i in $(seq -w 0 299); do
	mkdir -p "$T/l$i/f"
	echo "$i" >"$T/l$i/f/$i"; echo "$i" >"$T/l$i/top"
	d=$(spfs commit "$T/l$i"); refs="$refs${refs:+ }$d"
	[ "$i" = 000 ] && L0=$d
done
# A layer deleting a file of layer 0, made in an edit runtime.
DEL=$(spfs run --edit "$L0" -- sh -c "rm /spfs/f/000 && $S commit layer")
is_digest "$DEL"
set -- $refs
BOTTOM="$1"; shift
STACK="$BOTTOM+$DEL+$(echo "$@" | tr ' ' '+')"

# 301 layers (one with masks: 302 lowers) in one overlay.
expect_status 0 spfs run "$STACK" -- sh -c "cat /spfs/top; ls /spfs/f | wc -l; test ! -e /spfs/f/000 && echo masked; $S commit platform -t t/p300 >/dev/null"
expect_eq "$OUT" "$(printf '299\n299\nmasked')" "300 layers: top wins, all files, the mask applies"
expect_status 0 spfs run t/p300 -- sh -c 'cat /spfs/f/150 /spfs/top; grep -c "lowerdir" /proc/self/mountinfo || true'
expect_match "$OUT" "^150" "platform of 301 layers runs"

# Flattening: the bottom merged into one render (masks applied), cached.
export SPFS_RUNTIME_MAX_LAYERS=20
expect_status 0 spfs run t/p300 -- sh -c 'cat /spfs/top; ls /spfs/f | wc -l; test ! -e /spfs/f/000 && echo masked; cat /spfs/f/001; grep -o "lowerdir[^ ]*" /proc/self/mountinfo | head -1 || true'
expect_eq "$(echo "$OUT" | sed -n 1,4p)" "$(printf '299\n299\nmasked\n001')" "flattened stack shows the same tree"
expect_eq "$(ls "$SPFS_STORAGE/runtimes/flat" | wc -l)" 1 "one flattened stack cached"
FLAT=$(ls "$SPFS_STORAGE/runtimes/flat"); MF=$(cat "$SPFS_STORAGE/runtimes/flat/$FLAT")
expect_eq "$(find "$SPFS_STORAGE/renders/${MF:0:2}/${MF:2}/f" -type f | wc -l)" 280 "the merged render: the bottom 282 layers (L0, the mask layer, L1-L280) minus the masked file"
st1=$(stat -c %Y "$SPFS_STORAGE/renders/${MF:0:2}/${MF:2}")
# The lowers of a flattened runtime: at most 20.
mkfifo "$T/ready" "$T/go"
"$S" run t/p300 -- sh -c "echo \$SPFS_RUNTIME >$T/ready; read -r _ <$T/go; cat /spfs/f/002" >"$T/out" &
P=$!
await_line "$T/ready" $P
await_record
"$S" runtime info "$LINE" --json >"$T/info"
expect_eq "$(json_get "$T/info" 'len(d["lowers"]) <= 20 and d["lowers"][0]["manifest"]')" "$MF" "bottom lower is the flattened render"
expect_eq "$(json_get "$T/info" 'len(d["layers"])')" 301 "the record keeps all 301 layers"
# clean while it runs keeps the untagged flattened manifest and its render
expect_status 0 spfs clean --older-than 0s
expect_status 0 spfs info "$MF"
release "$T/go"; wait $P; expect_eq "$(cat "$T/out")" 002 "runtime reads through the flattened render after clean"
expect_status 0 spfs run t/p300 -- cat /spfs/f/003; expect_eq "$OUT" 003 "second run reuses the cache"
expect_eq "$(stat -c %Y "$SPFS_STORAGE/renders/${MF:0:2}/${MF:2}")" "$st1" "render not redone"
unset SPFS_RUNTIME_MAX_LAYERS
expect_status 125 env SPFS_RUNTIME_MAX_LAYERS=1 "$S" run t/p300 -- true; expect_match "$ERR" "max_layers" "bad limit refused"

# Clean drops the runtime caches whose objects went: the flattened stack
# (its manifest was never tagged), and every mount plan past the grace
# period; the masks of a still tagged layer stay.
rt_count() { find "$SPFS_STORAGE/runtimes/$1" -mindepth "${2:-1}" -maxdepth "${2:-1}" 2>/dev/null | wc -l; }
[ "$(rt_count plans)" -gt 0 ] || fail "runs left no cached plan"
expect_eq "$(rt_count masks 2)" 301 "one mask note per layer manifest"
expect_status 0 spfs clean --older-than 1h --json
expect_eq "$(json_get /dev/stdin 'd["runtime_caches"]' <<<"$OUT")" 0 "nothing past a 1h grace period"
expect_status 0 spfs clean --older-than 0s --json
expect_eq "$(rt_count flat)" 0 "flattening note of the cleaned manifest removed"
expect_eq "$(rt_count plans)" 0 "cached plans removed"
expect_eq "$(rt_count masks 2)" 301 "mask notes of tagged layers kept"
expect_match "$(json_get /dev/stdin 'd["runtime_caches"]' <<<"$OUT")" "^[1-9]" "clean reports the cache entries"
expect_status 0 spfs run t/p300 -- cat /spfs/f/004; expect_eq "$OUT" 004 "runs after clean rebuild the caches"
expect_status 0 spfs untag t/p300
expect_status 0 spfs clean --older-than 0s
expect_eq "$(rt_count masks 2)" 0 "mask notes go with their manifests"

expect_eq "$(host_mounts)" "$BEFORE" "host mount table unchanged"
