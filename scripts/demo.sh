#!/usr/bin/env bash
# The demo: installs dependencies, builds Spawn, then
#  1. walks through the SpFS store on a generated tree (examples/demo.sh);
#  2. builds the demo package set from source inside SpFS runtimes, runs the
#     DCC with a plugin in a solved environment, and shows a request that
#     cannot be satisfied with its explanation (examples/packages/demo.sh).
# Everything goes under demo-work/.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bash "$src/scripts/install-deps.sh"
bash "$src/scripts/build.sh" "$src/build" >/dev/null
bash "$src/examples/demo.sh" "$src/build/cli" "$src/demo-work"

export PATH="$src/build/cli:$PATH" SPFS_STORAGE="$src/demo-work/packages-store" SPAWN_NO_PROGRESS=1
printf '\n$ export SPFS_STORAGE=%s\n$ spfs init\n' "$SPFS_STORAGE"
spfs init
sh "$src/examples/packages/demo.sh" "$src/build/cli/spk"
