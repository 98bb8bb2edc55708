#!/usr/bin/env bash
# Configures and builds Spawn: build.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$src/build}; shift || true
cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPAWN_SKIP_MODULES= "$@" >/dev/null
ninja -C "$dir"
