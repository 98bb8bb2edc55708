#!/usr/bin/env bash
# The mount(2) fallback (kernels without fsopen/"lowerdir+"), forced with
# SPFS_RUNTIME_MOUNT_API=legacy: a store path with ',' ':' and '\' in it
# (escaped in the option string), read-only and editable stacks, deletions,
# and a stack too long for one option page, flattened to fit.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount namespaces)"; trap - EXIT; rm -rf "$T"; exit 77; }
export SPFS_STORAGE="$T/st,o:re\\x"
export SPFS_RUNTIME_MOUNT_API=legacy
spfs init >/dev/null
S=$SPFS_BIN
refs=""
for i in $(seq -w 0 59); do
	mkdir -p "$T/l$i"; echo "$i" >"$T/l$i/top"; echo "$i" >"$T/l$i/f$i"
	refs="$refs${refs:++}$(spfs commit "$T/l$i")"
done
L0=$(spfs commit "$T/l00")
expect_status 0 spfs run "$L0" -- cat /spfs/f00; expect_eq "$OUT" 00 "one layer (bind)"
expect_status 0 spfs run "$refs" -- sh -c 'cat /spfs/top; ls /spfs | wc -l; grep -c " /spfs .*overlay" /proc/self/mountinfo'
expect_eq "$OUT" "$(printf '59\n61\n1')" "60 layers through mount(2): flattened to fit one page"
expect_status 0 spfs run --edit "$L0" -- sh -c "rm /spfs/f00 && echo n > /spfs/n && $S commit layer -t del >/dev/null"
expect_status 0 spfs run "$L0+del" -- ls /spfs; expect_eq "$OUT" "$(printf 'n\ntop')" "a deletion through the legacy mount"
expect_match "$(spfs run "$L0+del" -- grep ' /spfs ' /proc/self/mountinfo)" 'st\\134\\054o\\134:re' "escaped paths in the options (mountinfo shows the escapes in octal)"
