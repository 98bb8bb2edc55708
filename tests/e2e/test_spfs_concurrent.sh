#!/usr/bin/env bash
# Concurrency: 16 processes commit the same tree at once (all succeed, one
# file per digest); `spfs clean` loops while commits and tag moves loop (no
# tag ever loses part of its closure).
. "$(dirname "$0")/lib.sh"

make_tree "$T/tree" 400 6
spfs init >/dev/null
for i in $(seq 1 16); do
	spfs commit "$T/tree" -t "same/c$i" > "$T/out.$i" 2>"$T/err.$i" &
done
fails=0
for job in $(jobs -p); do wait "$job" || fails=$((fails + 1)); done
expect_eq "$fails" 0 "all 16 concurrent commits succeed"
first=$(cat "$T/out.1")
is_digest "$first"
for i in $(seq 2 16); do expect_eq "$(cat "$T/out.$i")" "$first" "commit $i gives the same digest"; done
unique=$(find "$T/tree" -type f -print0 | xargs -0 sha256sum | while read -r h p; do
	if [ -x "$p" ]; then echo "$h.x"; else echo "$h"; fi; done | sort -u | wc -l)
stored=$(find "$SPFS_STORAGE/payloads" -type f | wc -l)
expect_eq "$stored" "$unique" "one payload file per digest (and mode variant)"
expect_eq "$(find "$SPFS_STORAGE/objects" -type f | wc -l)" 2 "one manifest and one layer object"
expect_eq "$(ls -A "$SPFS_STORAGE/tmp" | wc -l)" 0 "no staging left behind"
expect_status 0 spfs check

# clean loops (grace 0) while commits of changing trees and tag moves loop.
mkdir -p "$T/work"
cleaner() {
	local n=0
	while [ ! -e "$T/stop" ]; do
		"$SPFS_BIN" -v clean --older-than 0s >>"$T/clean.log" 2>&1 || true
		n=$((n + 1))
	done
	echo "$n" > "$T/clean.count"
}
cleaner &
cpid=$!
for round in $(seq 1 12); do
	d="$T/work/r$round"
	make_tree "$d" 40 $((100 + round))
	l=$(spfs commit "$d" -t "loop/app") || fail "commit round $round"
	# garbage for the cleaner: a layer that no tag keeps
	mkdir -p "$d.g"; head -c 20000 /dev/urandom > "$d.g/junk"
	spfs commit "$d.g" -t loop/scratch >/dev/null && spfs untag loop/scratch || fail "scratch round $round"
	rm -rf "$d.g"
	spfs tag "$l" "loop/keep$((round % 3))" || fail "tag round $round"
	spfs merge "$l" "$first" -t loop/platform >/dev/null || fail "merge round $round"
	# Every tag's whole closure must be there right now.
	for t in loop/app "loop/keep$((round % 3))" loop/platform same/c1; do
		rm -rf "$T/render"
		spfs render "$t" "$T/render" >/dev/null || fail "render $t in round $round"
	done
	ok
	rm -rf "$d"
done
touch "$T/stop"; wait "$cpid"
echo "clean ran $(cat "$T/clean.count") times during the loop"
[ "$(cat "$T/clean.count")" -gt 1 ] || fail "clean did not run concurrently"
ok
removed=$(grep -c "^removed payload" "$T/clean.log" || true)
echo "clean removed $removed payloads during the loop"
[ "$removed" -gt 0 ] || fail "clean never removed anything during the loop"
ok
expect_status 0 spfs check; expect_match "$OUT" "0 problems" "store consistent after the race"
# Every version of every tag still resolves to a full closure.
for t in $(spfs tags | cut -f1); do
	n=$(spfs log "$t" | wc -l)
	for k in $(seq 0 $((n - 1))); do
		rm -rf "$T/render"
		spfs render "$t~$k" "$T/render" >/dev/null || fail "render $t~$k"
		ok
	done
done
