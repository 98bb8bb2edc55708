#!/bin/bash
# bench/runtime.sh - `spfs run` launch latency against its limit, as ratios.
#
#   usage: sudo bash bench/runtime.sh            (root: mount namespaces)
#
# Uses the shared benchmark kit (never copies it): mktree.py makes 50 small
# layers (20 files, 200 KB each, as the kit's bench_launch.sh does), and
# ovl_exec.c is the syscall-level limit: unshare(CLONE_NEWNS), rprivate,
# [tmpfs,] one mount(2) of the overlay of the same stored renders, exec.
# Every ratio is a ratio of medians from ONE hyperfine -N invocation, so
# both sides ran under the same conditions.
#
# Suites (results in $RESULTS/<suite>.{json,md,cmds.txt}):
#   runtime_launch  spfs run PLATFORM -- true, 1/10/50 layers, renders made
#                   already; ovl_exec N ro over those renders (the limit);
#                   bwrap --bind / / true (Debian's bubblewrap); and the
#                   editable variants (spfs run --edit, ovl_exec N rw).
#                   Goal: spfs run (10 layers) / limit (10 layers) <= 1.5.
#   runtime_first   the first run of a 10-layer platform: renders removed
#                   before each run (--prepare), against a run that reuses
#                   them: the render cost, reported on its own.
#
# Environment:
#   SPAWN_SHARED_BENCH  the kit (default: <script dir>/../../shared/bench)
#   SPFS                spfs binary (default: build it into $BUILD_DIR)
#   BUILD_DIR           default <repo>/build-bench-rt
#   RESULTS             default <repo>/bench/results/runtime
#   WORK                scratch, default /tmp/bench-runtime
#   RUNS=300 WARMUP=30  (hyperfine, runtime_launch); FIRST_RUNS=30
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KIT=${SPAWN_SHARED_BENCH:-$HERE/../../shared/bench}
die() { echo "bench/runtime.sh: $*" >&2; exit 1; }
[ -f "$KIT/mktree.py" ] && [ -f "$KIT/ovl_exec.c" ] ||
	die "the shared benchmark kit was not found at '$KIT'; set SPAWN_SHARED_BENCH"
KIT=$(cd "$KIT" && pwd)
[ "$(id -u)" = 0 ] || die "needs root (mount namespaces and overlay mounts)"
for c in hyperfine bwrap python3 cc; do
	command -v $c >/dev/null || die "missing $c (Debian packages: hyperfine bubblewrap python3 gcc)"
done

WORK=${WORK:-/tmp/bench-runtime}
RESULTS=${RESULTS:-$ROOT/bench/results/runtime}
RUNS=${RUNS:-300}
WARMUP=${WARMUP:-30}
FIRST_RUNS=${FIRST_RUNS:-30}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench-rt}
if [ -z "${SPFS:-}" ]; then
	cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPAWN_TESTS=OFF >/dev/null
	ninja -C "$BUILD_DIR" spfs >/dev/null
	SPFS=$BUILD_DIR/cli/spfs
fi
mkdir -p "$WORK/bin" "$WORK/mnt" "$RESULTS"
cc -O2 -o "$WORK/bin/ovl_exec" "$KIT/ovl_exec.c"

export SPFS_STORAGE=$WORK/store
STORE=$SPFS_STORAGE
if [ ! -e "$WORK/.made" ]; then
	rm -rf "$STORE" "$WORK/trees" "$WORK/layers"
	"$SPFS" init >/dev/null
	mkdir -p "$WORK/trees" "$WORK/layers"
	for i in $(seq 0 49); do
		t=$(printf '%s/trees/L%02d' "$WORK" "$i")
		python3 "$KIT/mktree.py" "$t" --files 20 --total-size 200K --seed $((100 + i)) \
			--dup-frac 0 --symlink-frac 0 --force >/dev/null
		"$SPFS" commit "$t" -t "bench/l$i" >/dev/null
	done
	for n in 1 10 50; do
		"$SPFS" merge $(for i in $(seq 0 $((n - 1))); do echo "bench/l$i"; done) -t "bench/p$n" >/dev/null
	done
	touch "$WORK/.made"
fi
# Renders made once (spfs render REF prints the stored render of each
# layer, bottom first); the limit mounts exactly those directories.
rm -rf "$WORK/layers"; mkdir -p "$WORK/layers"
i=0
while read -r r; do
	ln -s "$r" "$(printf '%s/layers/L%02d' "$WORK" "$i")"
	i=$((i + 1))
done < <("$SPFS" render bench/p50)
[ "$i" = 50 ] || die "expected 50 renders, got $i"
mkdir -p "$WORK/layers.rt"
# sanity: both see the same merged tree
a=$("$SPFS" run bench/p10 -- find /spfs -type f | wc -l)
b=$("$WORK/bin/ovl_exec" 10 ro "$WORK/layers" "$WORK/mnt" find "$WORK/mnt" -type f | wc -l)
[ "$a" = "$b" ] || die "spfs run sees $a files, the limit $b"
echo "bench/runtime.sh: 10 layers: $a files in both views" >&2

OVL=$WORK/bin/ovl_exec
run_suite() { # NAME HYPERFINE-ARGS... -- then pairs NAME CMD
	local name=$1; shift
	{
		echo "# hyperfine $*"
	} >"$RESULTS/$name.cmds.txt"
	hyperfine "$@" --export-json "$RESULTS/$name.json" --export-markdown "$RESULTS/$name.md" >"$RESULTS/$name.log" 2>&1 ||
		{ cat "$RESULTS/$name.log" >&2; die "hyperfine failed for $name"; }
}

L=$WORK/layers M=$WORK/mnt
run_suite runtime_launch -N --runs "$RUNS" --warmup "$WARMUP" \
	-n limit-1 "$OVL 1 ro $L $M true" -n spfs-1 "$SPFS run bench/p1 -- true" \
	-n limit-10 "$OVL 10 ro $L $M true" -n spfs-10 "$SPFS run bench/p10 -- true" \
	-n limit-50 "$OVL 50 ro $L $M true" -n spfs-50 "$SPFS run bench/p50 -- true" \
	-n limit-10-rw "$OVL 10 rw $L $M true" -n spfs-10-edit "$SPFS run --edit bench/p10 -- true" \
	-n bwrap "bwrap --bind / / true" -n unshare-m "$OVL 0 ro $L $M true"

# First run: the renders of the 10 layers are removed before each run.
P10_RENDERS=$("$SPFS" render bench/p10 | tr '\n' ' ')
run_suite runtime_first -N --runs "$FIRST_RUNS" --warmup 2 \
	--prepare "rm -rf $P10_RENDERS" -n spfs-10-first-run "$SPFS run bench/p10 -- true" \
	--prepare "true" -n spfs-10-rendered "$SPFS run bench/p10 -- true"
"$SPFS" render bench/p50 >/dev/null

# The same commands interleaved (round robin, posix_spawn + wait, one
# sample of each per round): on a loaded machine the load then falls on
# every command alike, which sequential hyperfine batches cannot promise.
python3 - "$RESULTS/runtime_interleaved.json" "${INTERLEAVED_RUNS:-300}" \
	"limit-1=$OVL 1 ro $L $M true" "spfs-1=$SPFS run bench/p1 -- true" \
	"limit-10=$OVL 10 ro $L $M true" "spfs-10=$SPFS run bench/p10 -- true" \
	"limit-50=$OVL 50 ro $L $M true" "spfs-50=$SPFS run bench/p50 -- true" \
	"bwrap=/usr/bin/bwrap --bind / / /usr/bin/true" <<'PY'
import json, os, statistics, sys, time
out, runs, specs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
cmds = [(n, c.split()) for n, c in (x.split("=", 1) for x in specs)]
times = {n: [] for n, _ in cmds}
devnull = os.open(os.devnull, os.O_RDWR)
for r in range(runs + 10):
    for n, argv in cmds:
        t0 = time.perf_counter_ns()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        _, st = os.waitpid(pid, 0)
        t1 = time.perf_counter_ns()
        if st != 0:
            sys.exit("%s failed: %d" % (n, st))
        if r >= 10:
            times[n].append((t1 - t0) / 1e9)
json.dump({n: {"median": statistics.median(v), "min": min(v)} for n, v in times.items()}, open(out, "w"), indent=1)
PY

python3 - "$RESULTS" <<'PY'
import json, sys, os
res = sys.argv[1]
def med(suite):
    d = json.load(open(os.path.join(res, suite + ".json")))
    return {r["command"]: r["median"] for r in d["results"]}
m = med("runtime_launch")
f = med("runtime_first")
il = json.load(open(os.path.join(res, "runtime_interleaved.json")))
rows = [("spfs run, 1 layer", "spfs-1", "limit-1"), ("spfs run, 10 layers", "spfs-10", "limit-10"),
        ("spfs run, 50 layers", "spfs-50", "limit-50"), ("spfs run --edit, 10 layers", "spfs-10-edit", "limit-10-rw")]
out = ["| case | spfs (ms) | limit (ms) | spfs / limit | spfs / bwrap |", "|---|---|---|---|---|"]
for label, a, b in rows:
    out.append("| %s | %.2f | %.2f | %.2fx | %.2fx |" % (label, m[a] * 1e3, m[b] * 1e3, m[a] / m[b], m[a] / m["bwrap"]))
out.append("")
out.append("bwrap --bind / / true: %.2f ms; unshare + rprivate + exec alone: %.2f ms" % (m["bwrap"] * 1e3, m["unshare-m"] * 1e3))
out.append("first run of 10 layers (renders made): %.2f ms, against %.2f ms with renders reused (render cost %.2f ms)"
           % (f["spfs-10-first-run"] * 1e3, f["spfs-10-rendered"] * 1e3, (f["spfs-10-first-run"] - f["spfs-10-rendered"]) * 1e3))
out.append("")
out.append("interleaved (round robin; medians, min in brackets):")
out.append("")
out.append("| layers | limit (ms) | spfs (ms) | spfs / limit |")
out.append("|---|---|---|---|")
for n in (1, 10, 50):
    l, a = il["limit-%d" % n], il["spfs-%d" % n]
    out.append("| %d | %.2f [%.2f] | %.2f [%.2f] | %.2fx |" % (n, l["median"] * 1e3, l["min"] * 1e3,
               a["median"] * 1e3, a["min"] * 1e3, a["median"] / l["median"]))
out.append("")
out.append("bwrap --bind / / true (interleaved): %.2f ms" % (il["bwrap"]["median"] * 1e3))
out.append("")
for name in ("spfs-10",):
    goal = m[name] / m["limit-10"]
    out.append("goal %s / limit-10 <= 1.5 (hyperfine): %.2fx %s" % (name, goal, "MET" if goal <= 1.5 else "NOT MET"))
    goal = il[name]["median"] / il["limit-10"]["median"]
    out.append("goal %s / limit-10 <= 1.5 (interleaved): %.2fx %s" % (name, goal, "MET" if goal <= 1.5 else "NOT MET"))
text = "\n".join(out)
open(os.path.join(res, "summary.md"), "w").write(text + "\n")
print(text)
PY
