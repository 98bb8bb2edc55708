#!/bin/sh
# The demo package set: build it into the local SpFS store ($SPFS_STORAGE),
# run the DCC with a plugin in a solved environment, then show a request that
# cannot be satisfied and why. Needs SpFS runtimes (root, or the spfs-enter
# helper, or rootless: docs/runtime.md) and a C compiler.
# Usage: examples/packages/demo.sh [SPK]   (SPK defaults to spk on PATH)
# Each command is shown before it runs ("$ spk build ..."), on stdout with
# the commands' own output.
set -e
here=$(cd "$(dirname "$0")" && pwd)
spk=${1:-spk}
# bold headings only on a terminal, and not with NO_COLOR (no-color.org)
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); else bold='' plain=''; fi
printf '\n%s== Packages: build the demo set in runtimes, solve, run%s\n' "$bold" "$plain"
run() {
	printf '$ spk'
	printf ' %s' "$@"
	printf '\n'
	"$spk" "$@"
}
for spec in scriptrt scriptrt-3.9 imaging dcc plugins; do
	run build "$here/$spec.yaml"
done
run build "$here/scriptrt.yaml" --opt abi=cp310d
echo
run env fur-plugin -- dcc
echo
run env dcc scriptrt.abi/cp310d -- scriptrt
echo
if run env fur-plugin old-rigging -- dcc; then
	echo "unexpected: fur-plugin and old-rigging solved together" >&2
	exit 1
fi
