#!/usr/bin/env bash
# SIGKILL at many points of a large commit: the tag is always the old value
# or the complete new one, `spfs check` finds nothing wrong, and the next
# clean removes the leftovers. Kill points are exact: SPAWN_FAULT=OP:N:KILL
# makes the process kill itself at the Nth call of OP (write, fsync, syncfs,
# rename, open, mkdir), so the test does not depend on timing.
. "$(dirname "$0")/lib.sh"

make_tree "$T/old" 300 1
make_tree "$T/new" 1500 2
spfs init >/dev/null
OLD=$(spfs commit "$T/old" -t app)
spfs init "$T/reference" >/dev/null   # only spfs init makes a store
NEW=$(SPFS_STORAGE="$T/reference" spfs commit "$T/new")   # the digest a complete commit gives

after_crash() {
	local what=$1 cur out
	cur=$(spfs info app | sed -n 1p | cut -d' ' -f2)
	[ "$cur" = "$OLD" ] || [ "$cur" = "$NEW" ] || fail "after a kill at $what the tag points at $cur"
	ok
	out=$(spfs check 2>&1) || fail "check after a kill at $what: $out"
	ok
	rm -rf "$T/render"
	spfs render app "$T/render" >/dev/null || fail "render after a kill at $what"
	ok
	# Forget NEW and what the attempt left, so the next kill happens in a
	# commit that writes everything again.
	spfs untag app && spfs tag "$OLD" app
	spfs clean --older-than 0s >/dev/null 2>&1 || fail "clean after a kill at $what"
}

kills=0
for point in write:1 write:10 write:700 write:1400 open:1 open:500 open:1500 mkdir:1 mkdir:2 \
	     syncfs:1 syncfs:2 syncfs:3 rename:1 rename:600 rename:1300 rename:1301 rename:1302 \
	     rename:1303 fsync:1 fsync:2 fsync:3 fsync:4 fsync:5 fsync:6; do
	rc=0
	SPAWN_FAULT="$point:KILL" spfs commit "$T/new" -t app >/dev/null 2>&1 || rc=$?
	if [ "$rc" = 137 ]; then kills=$((kills + 1)); else
		[ "$rc" = 0 ] || fail "commit with $point:KILL exited $rc"
	fi
	after_crash "$point"
done
echo "$kills commits were killed mid-way at exact points"
[ "$kills" -ge 14 ] || fail "only $kills kill points were reached"
ok

# Kills at arbitrary moments too (timing varies; every outcome must be safe).
for delay in 0.01 0.03 0.05 0.08 0.12 0.2; do
	"$SPFS_BIN" commit "$T/new" -t app >/dev/null 2>&1 &   # the binary itself, so kill -9 hits it
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	after_crash "${delay}s"
done

# A kill leaves a staging directory: reported by check (not as damage), removed by clean.
SPAWN_FAULT=syncfs:1:KILL spfs commit "$T/new" -t app >/dev/null 2>&1 || true
expect_status 0 spfs check; expect_match "$OUT" "^temp " "leftover reported"
expect_status 0 spfs clean --older-than 0s
expect_eq "$(ls -A "$SPFS_STORAGE/tmp" | wc -l)" 0 "tmp/ empty after clean"
expect_status 0 spfs check; expect_match "$OUT" "0 problems" "clean store"
expect_status 0 spfs commit "$T/new" -t app; expect_eq "$OUT" "$NEW" "a later commit completes"
