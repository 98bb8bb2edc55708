#!/usr/bin/env bash
# SIGKILL at many points of a large commit: the tag is always the old value
# or the complete new one, `spfs check` finds nothing wrong, and the next
# clean removes the leftovers.
. "$(dirname "$0")/lib.sh"

make_tree "$T/old" 300 1
make_tree "$T/new" 1500 2
spfs init >/dev/null
OLD=$(spfs commit "$T/old" -t app)
NEW=$(SPFS_STORAGE="$T/reference" spfs commit "$T/new")   # the digest a complete commit gives

# How long a full commit takes here, to spread the kill points over it.
start=$(date +%s%N)
SPFS_STORAGE="$T/timing" spfs commit "$T/new" >/dev/null
dur_us=$(( ($(date +%s%N) - start) / 1000 ))
[ "$dur_us" -gt 1000 ] || dur_us=1000

kills=0
for i in $(seq 0 24); do
	delay_us=$(( dur_us * i / 20 ))
	spfs commit "$T/new" -t app >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%06d' "$delay_us")" 2>/dev/null || sleep "$((delay_us / 1000000))"
	kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null || true
	cur=$(spfs info app | sed -n 1p | cut -d' ' -f2)
	[ "$cur" = "$OLD" ] || [ "$cur" = "$NEW" ] || fail "after a kill at ${delay_us}us the tag points at $cur"
	ok
	out=$(spfs check 2>&1) || fail "check after a kill at ${delay_us}us: $out"
	ok
	# The tag's closure renders completely.
	rm -rf "$T/render"
	spfs render app "$T/render" >/dev/null || fail "render after kill at ${delay_us}us"
	ok
	# Go back to the old value for the next round (history keeps both).
	[ "$cur" = "$NEW" ] && spfs tag "$OLD" app
done
echo "killed $kills commits mid-way"
[ "$kills" -gt 3 ] || fail "too few commits were killed mid-way ($kills) to mean anything"
ok

# Leftovers are reported (not as damage) and removed by clean.
spfs check > "$T/check.txt"
expect_status 0 spfs clean --older-than 0s
expect_status 0 spfs check; expect_match "$OUT" "0 problems" "clean store"
[ -z "$(ls -A "$SPFS_STORAGE/tmp")" ] || fail "tmp/ not empty after clean"; ok
expect_status 0 spfs commit "$T/new" -t app; expect_eq "$OUT" "$NEW" "a later commit completes"
