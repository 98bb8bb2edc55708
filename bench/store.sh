#!/bin/bash
# bench/store.sh - SpFS store performance against its peers, as ratios.
#
#   usage: bash bench/store.sh [PRESET...]        (default: small medium)
#
# Calls the shared benchmark kit (never copies it): mktree.py generates the
# trees, lib.sh runs each suite as ONE hyperfine invocation, summarize.py
# writes the per-suite tables. Every goal below is a ratio of medians taken
# from one hyperfine invocation, so both sides ran under the same conditions.
#
# Suites, per preset (results in $RESULTS/<preset>/<suite>.{json,md,log,cmds.txt}):
#   store_commit  ostree commit into an empty bare-user repo (default fsync),
#                 spfs commit into an empty store, and the re-commit of the
#                 same tree into a repo/store that already holds it (both).
#                 Goals: spfs first / ostree first <= 0.7,
#                        spfs re-commit / spfs first <= 0.3.
#   store_render  cp -al of the tree (the hardlink limit), spfs render (default,
#                 which re-hashes payloads), spfs render --no-verify, and
#                 ostree checkout -U -H.  Goal: spfs render / cp -al <= 1.5.
#   storage       (not timed) store size after committing the tree and a copy
#                 with 1% of its files changed, against the unique bytes of the
#                 two trees.  Goal: within 2%.
# Plus (optional, SHA=0 skips) `openssl speed -evp sha256` as the hashing limit.
#
# Environment:
#   SPAWN_SHARED_BENCH  the kit (default: <script dir>/../../shared/bench)
#   SPFS                spfs binary to use (default: build it into $BUILD_DIR)
#   BUILD_DIR           default <repo>/build-bench
#   RESULTS             default <repo>/bench/results
#   WORK                scratch, default /tmp/bench-store (about 3 GB for medium)
#   RUNS_SMALL=10 WARMUP_SMALL=1 RUNS_MEDIUM=5 WARMUP_MEDIUM=0  (hyperfine)
#   SHA=0               skip the openssl speed run
#   SUMMARY_ONLY=1      only rewrite summary.md and RESULTS.md from $RESULTS
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KIT=${SPAWN_SHARED_BENCH:-$(dirname "$0")/../../shared/bench}

die() { echo "bench/store.sh: $*" >&2; exit 1; }

if [ ! -f "$KIT/lib.sh" ] || [ ! -f "$KIT/mktree.py" ] || [ ! -f "$KIT/summarize.py" ]; then
    die "the shared benchmark kit was not found at '$KIT' (expected lib.sh, mktree.py and summarize.py there).
It lives beside the repository as ../shared/bench; set SPAWN_SHARED_BENCH=/path/to/shared/bench to point at it."
fi
KIT=$(cd "$KIT" && pwd)

# ------------------------------------------------------------ requirements
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v ostree >/dev/null || need+=(ostree)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "bench/store.sh: installing ${need[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >&2 \
            || die "apt-get install ${need[*]} failed"
    else
        die "missing ${need[*]}: install the Debian packages hyperfine and ostree (run as root to let this script do it)"
    fi
fi
for c in python3 openssl du find cp sync; do
    command -v "$c" >/dev/null || die "missing $c"
done

# ------------------------------------------------------------ spfs binary
if [ "${SUMMARY_ONLY:-0}" = 1 ]; then SPFS=/bin/true; fi
if [ -z "${SPFS:-}" ]; then
    BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
    echo "bench/store.sh: building spfs in $BUILD_DIR" >&2
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSPAWN_SKIP_MODULES="solver;pkg" >/dev/null || die "cmake failed"
    ninja -C "$BUILD_DIR" spfs >&2 || die "building spfs failed"
    SPFS=$BUILD_DIR/cli/spfs
fi
[ -x "$SPFS" ] || die "spfs binary '$SPFS' is not executable"
SPFS=$(cd "$(dirname "$SPFS")" && pwd)/$(basename "$SPFS")

# ------------------------------------------------------------ kit setup
PRESETS=("$@"); [ ${#PRESETS[@]} -gt 0 ] || PRESETS=(small medium)
for p in "${PRESETS[@]}"; do
    case $p in small|medium|large) ;; *) die "unknown preset '$p' (small, medium or large)" ;; esac
done
export RESULTS=${RESULTS:-$ROOT/bench/results}
export WORK=${WORK:-/tmp/bench-store}
export BENCH=$KIT
export PROJECT_CMDS_DIR=$WORK/no-project-cmds   # our rows are added directly
# shellcheck source=/dev/null
source "$KIT/lib.sh"
mkdir -p "$RESULTS" "$WORK/trees" "$PROJECT_CMDS_DIR"
export SPFS

# The busiest processes over one second (other work on this machine is noise).
top_cpu() {
    top -b -n 2 -d 1 -w 120 2>/dev/null | awk '/^top -/{f++} f==2' | sed -n '8,12p' \
        | awk '{printf "  %s%% %s\n", $9, $12}'
}
# Load before and after each suite, for the noise notes.
note_load() { echo "$(date -u +%T) $1: loadavg $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/load.txt"; }

t0=$(date +%s)
if [ "${SUMMARY_ONLY:-0}" != 1 ]; then
: > "$RESULTS/load.txt"
{
    echo "date: $(date -u +%FT%TZ)"
    echo "command: bash bench/store.sh ${PRESETS[*]}"
    echo "spfs: $SPFS (git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- spfs common cli 2>/dev/null || echo ', spfs/common/cli modified in the working tree'))"
    echo "nproc: $(nproc)"
    echo "kernel: $(uname -r)"
    echo "fs of WORK: $(df -T "$WORK" | awk 'NR==2{print $2" on "$1}')"
    echo "versions: hyperfine $(hyperfine --version | cut -d' ' -f2), ostree $(ostree --version | sed -n "s/ *Version: '\(.*\)'/\1/p"), $(openssl version | cut -d' ' -f1-2), coreutils $(cp --version | head -1 | awk '{print $NF}')"
    echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "top CPU users at start (top, 1 s sample):"
    top_cpu
} > "$RESULTS/machine.txt"
cat "$RESULTS/machine.txt" >&2

# ------------------------------------------------------------ SHA-256 limit
if [ "${SHA:-1}" != 0 ]; then
    log "openssl speed -seconds 1 -evp sha256 (hashing limit, one core)"
    openssl speed -seconds 1 -evp sha256 2>/dev/null | grep -E '^(type|sha256)' > "$RESULTS/openssl_sha256.txt" || true
else
    rm -f "$RESULTS/openssl_sha256.txt"
fi

# ------------------------------------------------------------ per preset
for PRESET in "${PRESETS[@]}"; do
    OUT=$RESULTS/$PRESET
    TREE=$WORK/trees/$PRESET
    W=$WORK/work/$PRESET
    mkdir -p "$OUT" "$W"
    if [ "$PRESET" = small ]; then RUNS=${RUNS_SMALL:-10}; WARMUP=${WARMUP_SMALL:-1}
    else RUNS=${RUNS_MEDIUM:-5}; WARMUP=${WARMUP_MEDIUM:-0}; fi
    HF=(--runs "$RUNS" --warmup "$WARMUP")

    # ---- setup (untimed): tree, 1% mutated copy, base store and base repo
    if [ ! -f "$TREE.json" ] || [ ! -d "$TREE" ]; then
        log "generating $TREE"
        python3 "$KIT/mktree.py" "$TREE" --preset "$PRESET" --force > "$TREE.json.tmp"
        mv "$TREE.json.tmp" "$TREE.json"
    fi
    cp "$TREE.json" "$OUT/tree.json"
    TREE_M=$W/tree_mut
    if [ ! -f "$W/mutate.json" ]; then
        rm -rf "$TREE_M"
        cp -a "$TREE" "$TREE_M"
        python3 "$KIT/mktree.py" "$TREE_M" --mutate 0.01 --seed 7 > "$W/mutate.json.tmp"
        mv "$W/mutate.json.tmp" "$W/mutate.json"
    fi
    cp "$W/mutate.json" "$OUT/mutate.json"
    # The base store and repo are rebuilt every run: spfs may have changed.
    log "setup: base spfs store and base ostree repo of $PRESET"
    rm -rf "$W/spfs_base" "$W/ostree_base" "$W/s" "$W/r" "$W/co" "$W/stor" "$W/orep" "$W/check"
    "$SPFS" init "$W/spfs_base" >/dev/null
    "$SPFS" --store "$W/spfs_base" commit "$TREE" -t bench --json > "$OUT/spfs_commit_stats.txt"
    ostree init --repo="$W/ostree_base" --mode=bare-user
    ostree commit --repo="$W/ostree_base" -b bench --tree=dir="$TREE" >/dev/null
    sync

    # ---- correctness check (untimed): the render is the tree
    "$SPFS" --store "$W/spfs_base" render bench "$W/check"
    if diff -r --no-dereference "$TREE" "$W/check" >/dev/null; then
        echo "spfs render of the committed tree is identical to the tree (diff -r)" > "$OUT/check.txt"
    else
        echo "MISMATCH: spfs render differs from the tree (diff -r)" > "$OUT/check.txt"
    fi
    rm -rf "$W/check"

    # ---- store_commit: first commit vs ostree, re-commit vs first commit
    # Every prepare resets the state the same way for both tools: remove the
    # store/repo, recreate it (empty, or as a hardlink copy of the base that
    # already holds the tree), then sync so no run pays for an earlier run's
    # writeback.
    suite_begin store_commit
    suite_add ostree-commit-first \
        "rm -rf $W/r && sync && ostree init --repo=$W/r --mode=bare-user" \
        "ostree commit --repo=$W/r -b bench --tree=dir=$TREE"
    suite_add spfs-commit-first \
        "rm -rf $W/s && sync && $SPFS init $W/s" \
        "$SPFS --store $W/s commit $TREE -t bench"
    suite_add ostree-recommit \
        "rm -rf $W/r && cp -al $W/ostree_base $W/r && sync" \
        "ostree commit --repo=$W/r -b bench --tree=dir=$TREE"
    suite_add spfs-recommit \
        "rm -rf $W/s && cp -al $W/spfs_base $W/s && sync" \
        "$SPFS --store $W/s commit $TREE -t bench"
    note_load "$PRESET store_commit start"
    suite_run "$OUT" "${HF[@]}"
    note_load "$PRESET store_commit end"
    rm -rf "$W/r" "$W/s"

    # ---- store_render: spfs render vs the cp -al hardlink farm
    suite_begin store_render
    suite_add cp-al "rm -rf $W/co && sync" "cp -al $TREE $W/co"
    suite_add spfs-render "rm -rf $W/co && sync" "$SPFS --store $W/spfs_base render bench $W/co"
    suite_add spfs-render-no-verify "rm -rf $W/co && sync" \
        "$SPFS --store $W/spfs_base render bench $W/co --no-verify"
    suite_add ostree-checkout-hardlink "rm -rf $W/co && sync" \
        "ostree checkout --repo=$W/ostree_base -U -H bench $W/co"
    note_load "$PRESET store_render start"
    suite_run "$OUT" --runs "$(( RUNS * 2 ))" --warmup 1
    note_load "$PRESET store_render end"
    rm -rf "$W/co"

    # ---- storage: tree + 1% mutated copy, in a fresh store (and repo)
    log "storage: commit $PRESET and its 1% mutated copy"
    "$SPFS" init "$W/stor" >/dev/null
    "$SPFS" --store "$W/stor" commit "$TREE" -t a --json > "$W/stor_a.json"
    "$SPFS" --store "$W/stor" commit "$TREE_M" -t b --json > "$W/stor_b.json"
    ostree init --repo="$W/orep" --mode=bare-user
    ostree commit --repo="$W/orep" -b a --tree=dir="$TREE" >/dev/null
    ostree commit --repo="$W/orep" -b b --tree=dir="$TREE_M" >/dev/null
    spfs_check=ok
    "$SPFS" --store "$W/stor" check >/dev/null 2>&1 || spfs_check=FAILED
    python3 - "$TREE" "$TREE_M" "$W/stor" "$W/orep" "$W/stor_a.json" "$W/stor_b.json" "$spfs_check" \
        > "$OUT/storage.json" <<'EOF'
import hashlib, json, os, subprocess, sys
tree, tree_m, store, orep, ja, jb, check = sys.argv[1:8]

def walk(root):
    for d, dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            st = os.lstat(p)
            if not os.path.islink(p):
                yield p, st

content, content_mode = {}, {}
for root in (tree, tree_m):
    for p, st in walk(root):
        with open(p, "rb") as fh:
            h = hashlib.file_digest(fh, "sha256").digest()
        content[h] = st.st_size
        content_mode[(h, bool(st.st_mode & 0o111))] = st.st_size

def files_bytes(root):
    n = 0
    for p, st in walk(root):
        n += st.st_size
    return n

def du(args, path):
    return int(subprocess.check_output(["du", "-s"] + args + [path]).split()[0])

uniq = sum(content.values())
uniq_mode = sum(content_mode.values())
s_files = files_bytes(store)
s_payloads = files_bytes(os.path.join(store, "payloads"))
out = {
    "unique_content_bytes_of_both_trees": uniq,
    "unique_content_bytes_per_exec_bit": uniq_mode,
    "spfs_regular_file_bytes": s_files,
    "spfs_payload_bytes": s_payloads,
    "spfs_object_bytes": files_bytes(os.path.join(store, "objects")),
    "spfs_du_apparent_bytes": du(["-b"], store),
    "spfs_du_allocated_bytes": du(["-B1"], store),
    "spfs_ratio_file_bytes": s_files / uniq,
    "spfs_ratio_du_apparent": du(["-b"], store) / uniq,
    "spfs_check": check,
    "spfs_commit_a": json.load(open(ja)),
    "spfs_commit_b": json.load(open(jb)),
    "ostree_regular_file_bytes": files_bytes(orep),
    "ostree_du_apparent_bytes": du(["-b"], orep),
    "ostree_ratio_file_bytes": files_bytes(orep) / uniq,
}
for k in ("layer", "manifest"):
    out["spfs_commit_a"].pop(k, None)
    out["spfs_commit_b"].pop(k, None)
print(json.dumps(out, indent=1))
EOF
    cat "$OUT/storage.json" >&2
    rm -rf "$W/stor" "$W/orep" "$W/spfs_base" "$W/ostree_base"
    log "preset $PRESET done"
done

{
    echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg); wall $(( $(date +%s) - t0 )) s"
    echo "top CPU users at end (top, 1 s sample):"
    top_cpu
} >> "$RESULTS/machine.txt"
fi # SUMMARY_ONLY

# ------------------------------------------------------------ reports
python3 "$KIT/summarize.py" "$RESULTS" > "$RESULTS/RESULTS.md"
python3 - "$RESULTS" "${PRESETS[@]}" > "$RESULTS/summary.md" <<'EOF'
import json, os, statistics, sys
res, presets = sys.argv[1], sys.argv[2:]

def load(p, suite):
    f = os.path.join(res, p, suite + ".json")
    if not os.path.exists(f):
        return None
    return {r["command"]: r["times"] for r in json.load(open(f))["results"]}

def fmt(s):
    return "%.3f s" % s if s >= 1 else "%.1f ms" % (s * 1e3)

def cell(t):
    return "%s [%s–%s]" % (fmt(statistics.median(t)), fmt(min(t)), fmt(max(t)))

# (label, suite, numerator, denominator, goal or None)
ratios = [
    ("first commit: spfs / ostree (bare-user)", "store_commit", "spfs-commit-first", "ostree-commit-first", 0.7),
    ("re-commit / first commit: spfs", "store_commit", "spfs-recommit", "spfs-commit-first", 0.3),
    ("re-commit / first commit: ostree (peer)", "store_commit", "ostree-recommit", "ostree-commit-first", None),
    ("render: spfs render / cp -al", "store_render", "spfs-render", "cp-al", 1.5),
    ("render: spfs render --no-verify / cp -al", "store_render", "spfs-render-no-verify", "cp-al", None),
    ("render: spfs render (verify) / spfs render --no-verify", "store_render", "spfs-render", "spfs-render-no-verify", None),
    ("render: ostree checkout -U -H / cp -al (peer)", "store_render", "ostree-checkout-hardlink", "cp-al", None),
]
out = []
out.append("### Ratios (each from one hyperfine invocation)\n")
out.append("Ratio = median ÷ median; in brackets the lower and higher of min ÷ min and max ÷ max. Goal met is judged on the median ratio.\n")
out.append("| ratio | preset | median ratio [min/min, max/max] | goal | met? | numerator median [min–max] | denominator median [min–max] | runs |")
out.append("|---|---|---|---|---|---|---|---|")
for label, suite, num, den, goal in ratios:
    for p in presets:
        d = load(p, suite)
        if not d or num not in d or den not in d:
            continue
        a, b = d[num], d[den]
        r = statistics.median(a) / statistics.median(b)
        out.append("| %s | %s | **%.2fx** [%.2f–%.2f] | %s | %s | %s | %s | %d |" % (
            label, p, r, *sorted((min(a) / min(b), max(a) / max(b))),
            "≤ %.1fx" % goal if goal else "–",
            ("yes" if r <= goal else "**no**") if goal else "–",
            cell(a), cell(b), len(a)))
out.append("")
out.append("### Storage: a tree plus its copy with 1% of the files changed\n")
out.append("Unique bytes = sum of the sizes of the distinct file contents (SHA-256) of the two trees. "
           "Store bytes = sum of the apparent sizes of all regular files in the store "
           "(payloads, objects, tags); du --apparent-size also counts the directories. Goal: within 2% (≤ 1.02x).\n")
out.append("| preset | unique bytes | spfs payload bytes | spfs all files (bytes, ratio) | met? | spfs du --apparent-size (bytes, ratio) | spfs du allocated | ostree bare-user all files (bytes, ratio) | new blobs / bytes of 2nd commit | spfs check |")
out.append("|---|---|---|---|---|---|---|---|---|---|")
for p in presets:
    f = os.path.join(res, p, "storage.json")
    if not os.path.exists(f):
        continue
    s = json.load(open(f))
    u = s["unique_content_bytes_of_both_trees"]
    note = ""
    if s["unique_content_bytes_per_exec_bit"] != u:
        note = " (%d counting exec bit)" % s["unique_content_bytes_per_exec_bit"]
    out.append("| %s | %d%s | %d | %d (**%.4fx**) | %s | %d (%.4fx) | %d (%.3fx) | %d (%.4fx) | %d / %d | %s |" % (
        p, u, note, s["spfs_payload_bytes"], s["spfs_regular_file_bytes"], s["spfs_ratio_file_bytes"],
        "yes" if s["spfs_ratio_file_bytes"] <= 1.02 else "**no**",
        s["spfs_du_apparent_bytes"], s["spfs_ratio_du_apparent"],
        s["spfs_du_allocated_bytes"], s["spfs_du_allocated_bytes"] / u,
        s["ostree_regular_file_bytes"], s["ostree_ratio_file_bytes"],
        s["spfs_commit_b"]["new_blobs"], s["spfs_commit_b"]["new_bytes"], s["spfs_check"]))
out.append("")
sha = os.path.join(res, "openssl_sha256.txt")
if os.path.exists(sha):
    lines = open(sha).read().split("\n")
    hdr = [l for l in lines if l.startswith("type")]
    row = [l for l in lines if l.startswith("sha256")]
    if hdr and row:
        sizes = hdr[0].split()[1::2]
        vals = [float(x.rstrip("k")) * 1000 / 1e6 for x in row[0].split()[1:]]
        big = vals[-1]
        out.append("### SHA-256 limit (openssl speed -evp sha256, one core)\n")
        out.append("| block | " + " | ".join(s + " B" for s in sizes) + " |")
        out.append("|---" * (len(sizes) + 1) + "|")
        out.append("| MB/s | " + " | ".join("%.0f" % v for v in vals) + " |")
        out.append("")
        for p in presets:
            d = load(p, "store_commit")
            t = json.load(open(os.path.join(res, p, "tree.json")))
            if d and "spfs-commit-first" in d:
                h = t["bytes"] / (big * 1e6)
                m = statistics.median(d["spfs-commit-first"])
                out.append("- %s: hashing all %.1f MB at %.0f MB/s takes %.3f s on one core, %.0f%% of the spfs first-commit median (%.3f s)."
                           % (p, t["bytes"] / 1e6, big, h, 100 * h / m, m))
        out.append("")
for p in presets:
    c = os.path.join(res, p, "check.txt")
    if os.path.exists(c):
        out.append("- %s correctness: %s" % (p, open(c).read().strip()))
print("\n".join(out))
EOF
cat "$RESULTS/summary.md"
log "done in $(( $(date +%s) - t0 )) s: $RESULTS/summary.md (tables), $RESULTS/RESULTS.md (all rows)"
