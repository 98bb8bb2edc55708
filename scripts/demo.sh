#!/usr/bin/env bash
# The demo: installs dependencies, builds Spawn, then walks through the
# store on a generated tree. Everything happens under demo-work/.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bash "$src/scripts/install-deps.sh"
bash "$src/scripts/build.sh" "$src/build" >/dev/null
exec bash "$src/examples/demo.sh" "$src/build/cli" "$src/demo-work"
