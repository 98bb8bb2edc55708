#!/usr/bin/env bash
# e2e: the demo package set (examples/packages) builds with the system
# compiler, the DCC loads its plugin in `spk env`, an ABI variant is chosen by
# a var request, and the impossible request is explained.
. "$(dirname "$0")/lib.sh"
# lib.sh's expect_match pipes printf into grep -q under pipefail: when grep
# stops at an early line, printf can die of SIGPIPE and the check fails
# although the text matches. A here-string has no such race.
expect_match() { grep -Eq -- "$2" <<<"$1" || fail "$3: '$1' does not match /$2/"; ok; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount namespaces)"; trap - EXIT; rm -rf "$T"; exit 77; }
command -v cc >/dev/null || { echo "SKIP: needs cc"; trap - EXIT; rm -rf "$T"; exit 77; }
src=${SPAWN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cp -r "$src/examples/packages" "$T/packages"
SPK="$SPAWN_BIN/spk"
spk() { "$SPK" "$@"; }
spfs init >/dev/null

expect_status 0 "$T/packages/demo.sh" "$SPK"
expect_eq "$(echo "$OUT" | grep -c '^built ')" 9 "nine builds"
expect_match "$OUT" "loaded plugin: fur 1.2.0" "the DCC loads its plugin"
expect_match "$OUT" "scriptrt 3.10.2 \(abi cp310d\)" "the ABI variant"
expect_match "$ERR" "old-rigging/0.9.0/[A-Z2-7]{8} requires dcc/2023, and no candidate of dcc is left" "explained"
expect_match "$ERR" "dcc/2023.1.0/[A-Z2-7]{8} does not satisfy dcc/~2024.1 from fur-plugin" "both sides"

# the builds' sources: a path source, a script source, the spec's directory
expect_status 0 spfs ls spk/pkg/dcc/2024.1.0/src/src -R
expect_match "$OUT" "^spk/pkg/dcc/2024.1.0/src/dcc.c$" "the DCC's path source"
expect_status 0 spfs cat spk/pkg/fur-plugin/1.2.0/src/src spk/pkg/fur-plugin/1.2.0/src/fur.c
expect_match "$OUT" "return \"fur 1.2.0\"" "the plugin's generated source"
expect_status 0 spfs ls spk/pkg/imaging/2.1.0/src/src -R
expect_match "$OUT" "^spk/pkg/imaging/2.1.0/src/imaging.yaml$" "the default: the spec's directory"

# the embedded library stands for imaging/2; imaging/1 cannot join it
expect_status 0 spk env fur-plugin -- sh -c 'ls /spfs/dcc/lib; echo "$DCC_PLUGIN_PATH"'
expect_eq "$OUT" "$(printf 'libimaging.so.2\n/spfs/dcc/plugins')" "embedded library and plugin path"
expect_status 0 spk solve fur-plugin
expect_match "$OUT" "imaging/2.1.0/embedded \[embedded in dcc/2024.1.0/" "imaging comes from the DCC"
expect_status 1 spk env fur-plugin imaging/1 -- true
# the older DCC with the older runtime
expect_status 0 spk env old-rigging -- sh -c 'dcc; scriptrt'
expect_eq "$OUT" "$(printf 'dcc 2023.1.0 (no plugin support)\nscriptrt 3.9.7 (abi cp39)')" "old stack"
# a second run of the demo rebuilds nothing
expect_status 0 "$T/packages/demo.sh" "$SPK"
expect_eq "$(echo "$OUT" | grep -c '^already built ')" 9 "no-op rebuilds"
