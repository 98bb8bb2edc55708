#!/bin/sh
# The demo package set: build it into the local SpFS store ($SPFS_STORAGE),
# run the DCC with a plugin in a solved environment, then show a request that
# cannot be satisfied and why. Needs root (runtimes) and a C compiler.
# Usage: examples/packages/demo.sh [SPK]   (SPK defaults to spk on PATH)
set -e
here=$(cd "$(dirname "$0")" && pwd)
spk=${1:-spk}
for spec in scriptrt scriptrt-3.9 imaging dcc plugins; do
	"$spk" build "$here/$spec.yaml"
done
"$spk" build "$here/scriptrt.yaml" --opt abi=cp310d
echo
echo '$ spk env fur-plugin -- dcc'
"$spk" env fur-plugin -- dcc
echo
echo '$ spk env dcc scriptrt.abi/cp310d -- scriptrt'
"$spk" env dcc scriptrt.abi/cp310d -- scriptrt
echo
echo '$ spk env fur-plugin old-rigging -- dcc'
if "$spk" env fur-plugin old-rigging -- dcc; then
	echo "unexpected: fur-plugin and old-rigging solved together" >&2
	exit 1
fi
