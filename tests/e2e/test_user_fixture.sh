#!/usr/bin/env bash
# The non-root fixture (lib_user.sh) works from any checkout location: with
# the source and build trees below a 0700 directory, as a clone in root's
# home is, which the created user cannot enter. In a private mount
# namespace, the checkout and its build are bind-mounted (read-only) below
# such a directory; from there the fixture stages the commands, copies the
# tests' data for the user, runs a flow in both modes, and a whole test
# (test_spfs_run_rootless.sh) passes when started from there.
set -euo pipefail
if [ -z "${SPAWN_FIXTURE_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (bind mounts, a test user)"; exit 77; }
	export SPAWN_FIXTURE_NS=1
	exec unshare -m --propagation private bash "$0"
fi
. "$(dirname "$0")/lib.sh"
src=${SPAWN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(cd "$SPAWN_BIN/.." && pwd)
H=$T/root-home
mkdir -m 700 "$H" "$H/spawn" "$H/build"
# read-only: whatever goes wrong, nothing below them can be removed
mount --bind "$src" "$H/spawn" && mount -o remount,bind,ro "$H/spawn"
mount --bind "$build" "$H/build" && mount -o remount,bind,ro "$H/build"
export SPAWN_SRC=$H/spawn SPAWN_BIN=$H/build/cli
SPFS_BIN=$SPAWN_BIN/spfs
. "$SPAWN_SRC/tests/e2e/lib_user.sh"
user_setup

# the user really cannot reach the trees (else this test proves nothing)
for p in "$SPAWN_BIN/spfs" "$SPAWN_SRC/tests/data"; do
	rc=0
	as_user test -r "$p" || rc=$?
	[ "$rc" != 0 ] || fail "$U can read $p: the checkout is not private"
	ok
done

fixture_flow() {
	local D
	D=$(user_data "$SPAWN_SRC/tests/data/spk/repo/build" recipes)
	expect_status 0 us commit "$D" -t recipes
	expect_status 0 us run recipes -- sh -c 'head -n1 /spfs/greet.yaml; id -u'
	expect_eq "$OUT" "$(printf 'pkg: greet/2.0.0\n%s' "$UID_")" "$MODE: the tests' data, copied for the user, in a runtime"
}
user_modes fixture_flow

# a whole test of the suite, started from the private checkout
expect_status 0 env SPAWN_FIXTURE_NS= bash "$SPAWN_SRC/tests/e2e/test_spfs_run_rootless.sh"
expect_match "$OUT" "^PASS: test_spfs_run_rootless.sh" "test_spfs_run_rootless.sh from below a 0700 directory"
