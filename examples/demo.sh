#!/usr/bin/env bash
# demo.sh BIN_DIR WORK_DIR - a walk through the SpFS store.
set -euo pipefail
bin=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$bin:$PATH" SPAWN_NO_PROGRESS=1
chmod -R u+w "$work" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$work"
export SPFS_STORAGE="$work/store"
echo "WORK=$work (the store is \$WORK/store: SPFS_STORAGE)"
# Bold headings only on a terminal, and not with NO_COLOR (no-color.org).
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
# Every command is shown before it runs ("$ spfs commit ..."), and its
# messages join its output: one stream, in order, also through a pipe.
show() { printf '$'; printf ' %s' "${@//"$work"/\$WORK}"; printf '\n'; }
run() { show "$@"; "$@" 2>&1; }
# run_tee FILE CMD...: the same, its output kept in FILE too
run_tee() { local f=$1; shift; show "$@"; "$@" | tee "$f"; }
human() { numfmt --to=iec-i --suffix=B "$1"; }

step "Generate a DCC-like install tree (deterministic)"
run python3 "$here/gen_tree.py" "$work/dcc-2024.2" --files 1500 --seed 1
echo "$(find "$work/dcc-2024.2" -type f | wc -l) files, $(du -sh --apparent-size "$work/dcc-2024.2" | cut -f1)"

step "Create a store and commit the tree as a layer"
run spfs init
run_tee "$work/c1.json" spfs commit "$work/dcc-2024.2" -t demo/dcc/2024.2 --json

step "Commit a copy with 15 files changed: only the changes are stored"
run cp -a "$work/dcc-2024.2" "$work/dcc-2024.2.1"
run python3 "$here/gen_tree.py" "$work/dcc-2024.2.1" --mutate 15 --seed 2
run_tee "$work/c2.json" spfs commit "$work/dcc-2024.2.1" -t demo/dcc/2024.2.1 --json
python3 - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
c1 = json.load(open(os.path.join(w, "c1.json")))
c2 = json.load(open(os.path.join(w, "c2.json")))
def stored(root):
    return sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(root) for f in fs)
store = stored(os.path.join(w, "store", "payloads"))
both = c1["bytes"] + c2["bytes"]
mb = lambda n: "%.1f MiB" % (n / 1048576)
print("two trees hold          %s" % mb(both))
print("second commit wrote     %s (%d new blobs)" % (mb(c2["new_bytes"]), c2["new_blobs"]))
print("payloads in the store   %s: dedup saved %s (%.0f%%)" % (mb(store), mb(both - store), 100.0 * (both - store) / both))
PY

step "What changed between the two versions"
run spfs diff demo/dcc/2024.2 demo/dcc/2024.2.1

step "Look inside without rendering"
run spfs ls demo/dcc/2024.2.1 lib -l
run spfs cat demo/dcc/2024.2.1 bin/dcc

step "Render the new version (hardlinks to the store) and run it"
run spfs render demo/dcc/2024.2.1 "$work/render"
run "$work/render/bin/dcc"
run diff -r --no-dereference "$work/dcc-2024.2.1" "$work/render" && echo "render is identical to the committed tree"

step "Tags keep their history"
run spfs tag demo/dcc/2024.2 demo/dcc/current
run spfs tag demo/dcc/2024.2.1 demo/dcc/current
run spfs log demo/dcc/current
run spfs tags demo/

step "Verify every object and payload"
run spfs check

step "Damage a payload on purpose: check finds and names it"
victim=$(find "$work/store/payloads" -type f | sort | sed -n 1p)
run chmod u+w "$victim"
show printf X '|' dd of="$victim" bs=1 seek=0 conv=notrunc status=none
printf 'X' | dd of="$victim" bs=1 seek=0 conv=notrunc status=none
run spfs check || echo "(exit status $?: one damaged payload, named with the tags that need it)"
