#!/usr/bin/env bash
# The test command: installs dependencies, checks formatting and banned
# calls, builds, runs every test (unit, fuzz corpus replay, end-to-end) with
# ctest, then again under AddressSanitizer + UndefinedBehaviorSanitizer, then
# builds every fuzz target with clang and fuzzes each for a fixed time.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bash "$src/scripts/install-deps.sh"
bash "$src/scripts/check-style.sh"
jobs=$(nproc)

echo "== build and test (RelWithDebInfo)"
bash "$src/scripts/build.sh" "$src/build"
ctest --test-dir "$src/build" --output-on-failure -j "$jobs"

echo "== build and test (ASan + UBSan)"
bash "$src/scripts/build.sh" "$src/build-asan" -DSPAWN_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir "$src/build-asan" --output-on-failure -j "$jobs"

# Every parser is fuzzed on every change, not only replayed: each libFuzzer
# target runs $SPAWN_FUZZ_SECONDS (default 8) seeded from a temporary copy
# of its corpus; a crash, leak or hang fails (scripts/fuzz.sh says where the
# input is kept).
echo "== fuzz (clang + libFuzzer, ${SPAWN_FUZZ_SECONDS:-8}s per target)"
bash "$src/scripts/fuzz.sh" "${SPAWN_FUZZ_SECONDS:-8}" "$src/build-fuzz"
