#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz/fuzz_<parser>.c) with clang and
# runs each for a fixed time, seeded from a temporary copy of
# tests/fuzz/corpus/<parser>/ (the corpus in git is never modified).
#   fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]        (defaults: 8, build-fuzz)
# SPAWN_FUZZ_SEED (default 1) fixes libFuzzer's seed, so a run on a
# developer's machine explores what CI's will for the same code; set it to
# another number (or 0 for a random one) to explore further.
# Fails when a target crashes, leaks, hangs or runs out of memory; the input
# that did it is kept under the printed directory, to be added to the corpus.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-8}
dir=${2:-$src/build-fuzz}
seed=${SPAWN_FUZZ_SEED:-1}
jobs=$(nproc)
[ "$jobs" -gt 2 ] && jobs=2

targets=()
for f in "$src"/tests/fuzz/fuzz_*.c; do
	targets+=("$(basename "$f" .c)")
done
CC=clang cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPAWN_FUZZ=ON \
	-DSPAWN_SKIP_MODULES= >/dev/null
ninja -C "$dir" -j "$jobs" "${targets[@]}"

work=$(mktemp -d /tmp/spawn-fuzz.XXXXXX)
failed=()
for t in "${targets[@]}"; do
	parser=${t#fuzz_}
	mkdir -p "$work/$parser/corpus" "$work/$parser/crash"
	cp -r "$src/tests/fuzz/corpus/$parser/." "$work/$parser/corpus/"
	echo "== fuzz $parser (${secs}s)"
	# -timeout: one input taking 10 s is a hang; -rss_limit_mb: a parser's
	# limits must hold its memory well below this.
	if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$dir/tests/$t" -max_total_time="$secs" -seed="$seed" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=0 -artifact_prefix="$work/$parser/crash/" \
		"$work/$parser/corpus" >"$work/$parser/log" 2>&1; then
		tail -n 60 "$work/$parser/log"
		failed+=("$parser")
	else
		grep -E '^#[0-9]+ +DONE' "$work/$parser/log" || tail -n 1 "$work/$parser/log"
	fi
done
echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzzing found problems in: ${failed[*]}" >&2
	echo "inputs and logs: $work/<parser>/crash/ and $work/<parser>/log" >&2
	exit 1
fi
rm -rf "$work"
