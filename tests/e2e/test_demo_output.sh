#!/usr/bin/env bash
# The demo's output as a person reads it through a pipe or a log (issue 9,
# item 12): each command shown before it runs ("$ spfs commit ..."), on the
# same stream as its output; no escape sequence when the output is not a
# terminal or NO_COLOR is set (the tools' progress display included); no
# empty value ("starting with plugins from " followed by nothing); the
# payload the demo damages reported as one problem naming the tags that
# need it. Then the package demo (examples/packages/demo.sh) the same way.
. "$(dirname "$0")/lib.sh"
src=${SPAWN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
ESC=$'\033'
no_escape() { expect_eq "$(grep -c "$ESC" <<<"$1" || true)" 0 "$2: no escape sequence"; }
no_empty_value() { expect_eq "$(grep -E '( from ?|=|: )$' <<<"$1" || true)" "" "$2: no empty value"; }

# the store walk, to a pipe, with progress allowed (it must not draw there)
rc=0
env -u SPAWN_NO_PROGRESS NO_COLOR=1 bash "$src/examples/demo.sh" "$SPAWN_BIN" "$T/work" 2>&1 | cat >"$T/demo.out" || rc=$?
OUT=$(cat "$T/demo.out")
expect_eq "$rc" 0 "examples/demo.sh exits 0"
no_escape "$OUT" "demo to a pipe"
no_empty_value "$OUT" "demo"
expect_match "$OUT" "^DCC 2024.2 starting with plugins from $T/work/render/plugins$" "the DCC names its plugin directory"
for c in "spfs init" "spfs commit \\\$WORK/dcc-2024.2 -t demo/dcc/2024.2 --json" "spfs diff demo/dcc/2024.2 demo/dcc/2024.2.1" \
	"spfs render demo/dcc/2024.2.1 \\\$WORK/render" "spfs log demo/dcc/current" "spfs check" "python3 .*gen_tree.py"; do
	expect_match "$OUT" "^\\\$ $c" "the demo shows '$c'"
done
# the damaged payload: one problem, with every tag record that needs it,
# after the command that found it
damage=$(sed -n '/^== Damage a payload/,$p' "$T/demo.out")
expect_eq "$(grep -c '^payload ' <<<"$damage")" 1 "one damaged payload, one line"
expect_eq "$(grep -cE '^(closure|object|tag) ' <<<"$damage" || true)" 0 "nothing else reported"
expect_match "$damage" "^payload [0-9a-f]{64}: content does not match: .*; used by demo/dcc/2024.2, demo/dcc/2024.2.1, demo/dcc/current~1, demo/dcc/current$" "the payload with the tags it affects"
expect_match "$damage" "^checked 4 objects, [0-9]+ payloads .*: 1 problem$" "counted once"
expect_eq "$(grep -A1 '^\$ spfs check' <<<"$damage" | sed -n 2p | cut -c1-8)" "payload " "the report follows its command"

# on a terminal: bold headings, unless NO_COLOR is set
if command -v script >/dev/null; then
	expect_status 0 script -qec "NO_COLOR=1 bash $src/examples/demo.sh $SPAWN_BIN $T/work2" /dev/null
	no_escape "$OUT" "demo on a terminal with NO_COLOR"
	expect_status 0 script -qec "env -u NO_COLOR bash $src/examples/demo.sh $SPAWN_BIN $T/work3" /dev/null
	expect_match "$OUT" "$ESC\[1m== Verify every object" "bold headings on a terminal"
fi

# the package demo (runtimes: root; a C compiler)
if [ "$(id -u)" = 0 ] && command -v cc >/dev/null; then
	spfs init >/dev/null
	rc=0
	env -u SPAWN_NO_PROGRESS NO_COLOR=1 sh "$src/examples/packages/demo.sh" "$SPAWN_BIN/spk" 2>&1 | cat >"$T/pkg.out" || rc=$?
	OUT=$(cat "$T/pkg.out")
	expect_eq "$rc" 0 "examples/packages/demo.sh exits 0"
	no_escape "$OUT" "package demo to a pipe"
	no_empty_value "$OUT" "package demo"
	expect_eq "$(grep -c '^\$ spk build ' <<<"$OUT")" 6 "each build shown"
	expect_match "$OUT" "^\\\$ spk env fur-plugin -- dcc$" "each env shown"
	expect_match "$OUT" "loaded plugin: fur 1.2.0" "the DCC loads its plugin"
else
	echo "note: the package demo needs root (runtimes) and cc; not run"
fi
