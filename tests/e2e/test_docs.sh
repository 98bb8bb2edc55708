#!/usr/bin/env bash
# Every command documented in docs/spfs.md exists and answers --help.
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
