#!/bin/bash
# bench/solver.sh - `spk solve` against libsolv's testsolv on the same
# synthetic repositories, timed side by side by one hyperfine run per size.
#
#   usage: bench/solver.sh [BUILD_DIR]     (default: build-solver next to this file)
#   env:   SIZES ("200x20 1000x20"), RUNS (10), GEN (path of gen_repo.py),
#          WORK (scratch dir, default a temp dir)
#
# For each size PxV: gen_repo.py writes repo.json / requests.json / *.t; this
# script translates repo.json into a spec directory (one file per package,
# one YAML document per version, deps as `pkg: name/>=x,<y`), checks every
# spk answer with check_solution.py, then times testsolv and spk on each
# request, and an unsatisfiable case (the top-quarter request plus a pin
# that breaks it), whose explanation spk must produce. spk is timed as a
# whole process, reading and parsing every spec file each run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build-solver}
SPK=$BUILD/cli/spk
GEN=${GEN:-/work/shared/bench/solver/gen_repo.py}
CHECK=${CHECK:-$(dirname "$GEN")/check_solution.py}
SIZES=${SIZES:-"200x20 1000x20"}
RUNS=${RUNS:-10}
WORK=${WORK:-$(mktemp -d)}
[ -x "$SPK" ] || { echo "no spk at $SPK (build first)" >&2; exit 2; }
command -v testsolv >/dev/null || { echo "testsolv not installed (libsolv-tools)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine not installed" >&2; exit 2; }

translate() { # DIR: repo.json -> DIR/specs, requests.json -> DIR/<req>.spk (one request per line)
    python3 - "$1" <<'PY'
import json, os, re, sys
d = sys.argv[1]
repo = json.load(open(d + "/repo.json"))
reqs = json.load(open(d + "/requests.json"))
def conv(dep):
    m = re.match(r"^([a-z0-9-]+)(.*)$", dep)
    name, rng = m.group(1), m.group(2)
    return name + ("/" + rng if rng else "")
os.makedirs(d + "/specs", exist_ok=True)
for name, versions in repo.items():
    docs = []
    for v, deps in versions.items():
        doc = "pkg: %s/%s\n" % (name, v)
        if deps:
            doc += "install:\n  requirements:\n" + "".join(
                "    - pkg: '%s'\n" % conv(x) for x in deps)
        docs.append(doc)
    open("%s/specs/%s.yaml" % (d, name), "w").write("---\n".join(docs))
for r, lst in reqs.items():
    open("%s/%s.spk" % (d, r), "w").write("\n".join(conv(x) for x in lst) + "\n")
PY
}

# Finds an unsatisfiable variant of the top-quarter request: each package
# in name order pinned (=) to its oldest, middle and newest version; among
# the first three pins (within the first 120 packages) that make it
# unsatisfiable, the one that costs the clause solver the most conflicts is
# kept (deterministic).
make_unsat() { # DIR
    local d=$1 n v best="" bestc=-1 found=0 c tried=0
    mapfile -t base <"$d/install_all_top_quarter.spk"
    python3 -c "
import json
r=json.load(open('$d/repo.json'))
k=lambda v:tuple(map(int,v.split('.')))
for n in sorted(r):
    vs=sorted(r[n],key=k)
    print(n, vs[0], vs[len(vs)//2], vs[-1])" >"$d/pins.txt"
    while read -r n a m z && [ $found -lt 3 ] && [ $tried -lt 120 ]; do
        tried=$((tried + 1))
        for v in $a $m $z; do
            if ! "$SPK" solve "${base[@]}" "$n/=$v" --repo "$d/specs" --trace >/dev/null 2>"$d/probe.err"; then
                found=$((found + 1))
                c=$(sed -n 's/^clause solver: .* \([0-9]*\) conflicts.*/\1/p' "$d/probe.err")
                if [ "${c:-0}" -gt "$bestc" ]; then bestc=${c:-0}; best="$n $v"; fi
                break
            fi
        done
    done <"$d/pins.txt"
    [ -n "$best" ] || { echo "none"; return 0; }
    set -- $best
    { cat "$d/install_all_top_quarter.spk"; echo "$1/=$2"; } >"$d/unsat_hard.spk"
    # the same job for testsolv: the top-quarter installs plus a lock of
    # every other version of the pinned package
    { grep -v '^job' "$d/install_all_top_quarter.t" | grep -v '^result'
      grep '^job install' "$d/install_all_top_quarter.t"
      echo "job install name $1"
      python3 -c "
import json
r=json.load(open('$d/repo.json'))['$1']
for v in r:
    if v != '$2': print('job lock pkg $1-%s-1.noarch@available' % v)"
    } >"$d/unsat_hard.t"
    echo "$1/=$2 ($bestc conflicts in the clause solver)"
}

for sz in $SIZES; do
    P=${sz%x*}; V=${sz#*x}
    D=$WORK/r$sz
    python3 "$GEN" "$D" --packages "$P" --versions "$V" --seed 1 >/dev/null
    translate "$D"
    echo "== $sz: $(ls "$D"/specs | wc -l) spec files"
    for t in install_1_root install_5 install_20 install_5_pinned_old install_all_top_quarter; do
        mapfile -t rq <"$D/$t.spk"
        if "$SPK" solve "${rq[@]}" --repo "$D/specs" >"$D/$t.spk.out" 2>"$D/$t.spk.err"; then
            sed -E 's|^([^/]+)/([^/ ]+)/.*|\1 \2|' "$D/$t.spk.out" >"$D/$t.spk.sol"
            if python3 "$CHECK" "$D" "$t" "$D/$t.spk.sol" >"$D/$t.check" 2>&1; then
                echo "$t: spk solved, $(wc -l <"$D/$t.spk.sol") packages, valid ($(tail -1 "$D/$t.check"))"
            else
                echo "$t: spk answer INVALID: $(tail -3 "$D/$t.check")"
            fi
        else
            echo "$t: spk found no solution ($(head -2 "$D/$t.spk.err" | tail -1))"
        fi
        echo "$t: testsolv: $(testsolv "$D/$t.t" | grep -E 'problems|installed' | head -1)"
    done
    pin=$(make_unsat "$D")
    echo "unsat_hard: pin $pin"
    mapfile -t uq <"$D/unsat_hard.spk" 2>/dev/null || uq=()
    if [ ${#uq[@]} -gt 0 ]; then
        s0=$(date +%s%N)
        "$SPK" solve "${uq[@]}" --repo "$D/specs" >/dev/null 2>"$D/unsat_hard.explain" || true
        s1=$(date +%s%N)
        echo "unsat_hard: spk explained it in $(( (s1 - s0) / 1000000 )) ms, $(wc -l <"$D/unsat_hard.explain") lines; testsolv: $(testsolv "$D/unsat_hard.t" | grep -E 'problems' | head -1)"
        head -12 "$D/unsat_hard.explain" | sed 's/^/  | /'
    fi
    # hyperfine runs both tools without a shell (-N); spk's exit status 1
    # (no solution) is expected for unsat_hard and parse_only, hence -i.
    # testsolv on unsat_hard can take minutes on large sizes: it is timed
    # once, outside hyperfine, with a timeout.
    args=()
    for t in parse_only install_1_root install_5 install_20 install_5_pinned_old install_all_top_quarter unsat_hard; do
        [ -f "$D/$t.t" ] || continue
        [ "$t" = unsat_hard ] || args+=(-n "testsolv-$t" "testsolv $D/$t.t")
        if [ "$t" = parse_only ]; then
            args+=(-n "spk-$t" "$SPK solve p000/=0.0.0-a.0 --repo $D/specs")
        else
            args+=(-n "spk-$t" "xargs -a $D/$t.spk $SPK solve --repo $D/specs")
        fi
    done
    hyperfine -N -i --runs "$RUNS" --warmup 2 --export-json "$D/hyperfine.json" "${args[@]}" >/dev/null 2>&1
    if [ -f "$D/unsat_hard.t" ]; then
        s0=$(date +%s%N)
        timeout "${UNSAT_TIMEOUT:-120}" testsolv "$D/unsat_hard.t" >/dev/null 2>&1 && tu=ok || tu=timeout
        s1=$(date +%s%N)
        [ "$tu" = ok ] && echo "unsat_hard: testsolv once: $(( (s1 - s0) / 1000000 )) ms" ||
            echo "unsat_hard: testsolv once: gave up after ${UNSAT_TIMEOUT:-120} s"
    fi
    python3 - "$D/hyperfine.json" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
print("%-26s %12s %12s %8s" % ("request", "testsolv ms", "spk ms", "ratio"))
for name in res:
    if not name.startswith("spk-"):
        continue
    t = name[len("spk-"):]
    a, b = res.get("testsolv-" + t), res[name]
    if not a:
        print("%-26s %12s %12.2f %8s" % (t, "(below)", b["mean"] * 1e3, "-"))
        continue
    print("%-26s %12.2f %12.2f %8.2f" % (t, a["mean"] * 1e3, b["mean"] * 1e3, b["mean"] / a["mean"]))
PY
done
