#!/usr/bin/env bash
# Every command documented in docs/spfs.md and docs/packages.md exists and
# answers --help.
. "$(dirname "$0")/lib.sh"
src=${SPAWN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0
for cmd in $(grep -oE '^## spfs [a-z-]+' "$src/docs/spfs.md" | cut -d' ' -f3); do
	expect_status 0 spfs "$cmd" --help
	expect_match "$(spfs --help)" "^  $cmd " "spfs --help lists $cmd"
	n=$((n + 1))
done
[ "$n" -ge 14 ] || fail "only $n commands found in docs/spfs.md"
ok

# spk's package commands (docs/packages.md: "### spk NAME[, spk NAME]")
n=0
for cmd in $(grep -E '^### spk [a-z-]+' "$src/docs/packages.md" | grep -oE 'spk [a-z-]+' | cut -d' ' -f2); do
	expect_status 0 "$SPAWN_BIN/spk" "$cmd" --help
	expect_match "$OUT" "^usage: spk $cmd" "spk $cmd --help"
	expect_match "$("$SPAWN_BIN/spk" --help)" "(^| )$cmd( |,|;|$)" "spk --help names $cmd"
	n=$((n + 1))
done
[ "$n" -ge 12 ] || fail "only $n spk commands found in docs/packages.md"
ok
