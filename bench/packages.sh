#!/bin/sh
# bench/packages.sh - what spk adds to `spfs run`: builds the demo package
# set (examples/packages) into a private store, then times (median of N
# runs, renders already made) `spk solve REQUEST`, `spk env REQUEST -- true`
# and `spfs run` of the same, already-solved stack of layers. Goal (issue
# 5): spk env adds at most 20 ms to spfs run. Needs root and cc.
# Usage: bench/packages.sh [BUILD_DIR] [REQUEST] [N]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$src/build}/cli
req=${2:-fur-plugin}
n=${3:-50}
SPFS_STORAGE=$(mktemp -d /tmp/spk-bench.XXXXXX)
export SPFS_STORAGE
trap 'rm -rf "$SPFS_STORAGE"' EXIT
"$src/examples/packages/demo.sh" "$bin/spk" >/dev/null 2>&1
python3 - "$bin" "$req" "$n" <<'PY'
import json, statistics, subprocess, sys, time
bin, req, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
sol = json.loads(subprocess.run([bin + "/spk", "solve", req, "--json"], check=True,
                                capture_output=True, text=True).stdout)
layers = ["spk/pkg/%s/%s/%s/%s" % (p["name"], p["version"], p["build"], c)
          for p in sol["packages"] if not p["embedded_in"] and not p["from_source"]
          for c in p["components"]]
def median_ms(cmd):
    subprocess.run(cmd, check=True, capture_output=True)  # warm: renders, caches
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000
solve = median_ms([bin + "/spk", "solve", req])
env = median_ms([bin + "/spk", "env", req, "--", "true"])
run = median_ms([bin + "/spfs", "run", "+".join(layers), "--", "true"])
print("request: %s (%d layers), median of %d runs" % (req, len(layers), n))
print("spk solve             %7.1f ms" % solve)
print("spk env -- true       %7.1f ms" % env)
print("spfs run -- true      %7.1f ms  (same layers, already solved)" % run)
print("spk env - spfs run    %7.1f ms  (goal: <= 20 ms)" % (env - run))
PY
