#!/usr/bin/env bash
# Editable runtimes: --edit, spfs edit, diff, reset, commit layer (with
# deletions as masks, opaque directories), commit platform, durable runtimes.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount namespaces)"; trap - EXIT; rm -rf "$T"; exit 77; }

spfs init >/dev/null
host_mounts() { grep -E " /spfs | $T" /proc/self/mountinfo | sed 's/^[0-9]* [0-9]* //' | sort || true; }
BEFORE=$(host_mounts)
S=$SPFS_BIN

mkdir -p "$T/base/lib/sub" "$T/base/share/doc" "$T/base/opq/old"
echo v1 >"$T/base/lib/a.txt"; echo del >"$T/base/lib/delete-me"; echo s >"$T/base/lib/sub/s"
echo doc >"$T/base/share/doc/README"; echo o >"$T/base/opq/old/x"; echo o2 >"$T/base/opq/y"
ln -s a.txt "$T/base/lib/link"
spfs commit "$T/base" -t t/base >/dev/null

# An edit runtime: change, add, delete a file, delete a dir, replace a dir
# (opaque), then commit the layer.
expect_status 0 spfs run --edit t/base -- sh -c "
	set -e
	echo v2 > /spfs/lib/a.txt
	echo new > /spfs/lib/new.txt
	rm /spfs/lib/delete-me
	rm -r /spfs/share/doc
	rm -r /spfs/opq && mkdir /spfs/opq && echo fresh > /spfs/opq/fresh
	mkdir -p /spfs/bin && printf '#!/bin/sh\necho hi\n' > /spfs/bin/hi && chmod +x /spfs/bin/hi
	$S diff > $T/diff
	$S commit layer -t t/change"
EDIT=$OUT; is_digest "$EDIT"
expect_match "$(cat "$T/diff")" '^~ lib/a.txt$' "diff: changed file"
expect_match "$(cat "$T/diff")" '^\+ lib/new.txt$' "diff: added file"
expect_match "$(cat "$T/diff")" '^- lib/delete-me$' "diff: deleted file"
expect_match "$(cat "$T/diff")" '^- share/doc/$' "diff: deleted dir"
expect_match "$(cat "$T/diff")" '^- opq/y$' "diff: opaque dir hides lower files"
expect_status 0 spfs ls t/change -R --json
expect_eq "$(echo "$OUT" | json_get - '",".join(sorted(e["path"] for e in d if e["kind"] == "mask"))')" \
	"lib/delete-me,opq/old,opq/y,share/doc" "deletions and the opaque dir's lower children are masks"

# The upper layer deletes files of the lower one: the stack shows that.
expect_status 0 spfs run t/base+t/change -- sh -c 'cd /spfs && find . | LC_ALL=C sort && cat lib/a.txt && bin/hi'
expect_eq "$OUT" "$(printf '%s\n' . ./bin ./bin/hi ./lib ./lib/a.txt ./lib/link ./lib/new.txt ./lib/sub ./lib/sub/s \
	./opq ./opq/fresh ./share v2 hi)" "base+change: deletions, opaque dir, new files"
expect_status 0 spfs runtime ls; expect_eq "$OUT" "" "no records left"

# spfs edit inside a read-only runtime, then commit platform.
expect_status 0 spfs run t/base+t/change -- sh -c "
	set -e
	! touch /spfs/x 2>/dev/null
	$S edit
	echo third > /spfs/third
	rm /spfs/lib/new.txt
	$S commit platform -t t/plat3"
is_digest "$OUT"
expect_status 0 spfs info t/plat3 --json; expect_eq "$(echo "$OUT" | json_get - 'd["kind"]')" platform "a platform"
expect_status 0 spfs run t/plat3 -- sh -c 'cat /spfs/third; test ! -e /spfs/lib/new.txt && echo gone; cat /spfs/lib/a.txt'
expect_eq "$OUT" "$(printf 'third\ngone\nv2')" "platform of the stack plus the changes"
expect_status 1 spfs edit; expect_match "$ERR" "not inside a runtime" "spfs edit outside a runtime"
expect_status 1 spfs run t/base -- "$S" commit layer; expect_match "$ERR" "read-only" "commit in a read-only runtime"
expect_status 1 spfs run --edit t/base -- "$S" commit layer; expect_match "$ERR" "nothing to commit" "nothing to commit"

# reset: one path, then everything.
expect_status 0 spfs run --edit t/base -- sh -c "
	set -e
	echo x > /spfs/keep-me; echo y > /spfs/drop-me; rm /spfs/lib/a.txt
	$S reset /spfs/drop-me lib/a.txt
	ls /spfs; cat /spfs/lib/a.txt
	$S reset
	ls /spfs"
expect_eq "$OUT" "$(printf '%s\n' keep-me lib opq share v1 lib opq share)" "reset PATH, then reset all"

# Durable runtimes keep their changes for --rerun.
expect_status 0 spfs run --durable dev t/base -- sh -c 'echo 1 > /spfs/count; rm /spfs/lib/a.txt'
expect_status 0 spfs run --rerun dev -- sh -c 'cat /spfs/count; test ! -e /spfs/lib/a.txt && echo still-gone; echo 2 > /spfs/count'
expect_eq "$OUT" "$(printf '1\nstill-gone')" "durable changes survive"
expect_status 0 spfs run --durable dev t/base -- cat /spfs/count; expect_eq "$OUT" 2 "--durable NAME with the same stack reuses it"
expect_status 125 spfs run --durable dev t/change -- true; expect_match "$ERR" "another stack" "durable name with another stack"
expect_status 125 spfs run --rerun nope -- true; expect_match "$ERR" "no durable runtime" "unknown durable name"
expect_status 0 spfs runtime ls; expect_match "$OUT" "stopped .*durable dev" "runtime ls lists the durable runtime"
expect_status 0 spfs run --rerun dev -- sh -c "$S commit layer -t t/dur"
expect_status 0 spfs run t/base+t/dur -- sh -c 'cat /spfs/count; ls /spfs/lib'; expect_eq "$OUT" "$(printf '2\ndelete-me\nlink\nsub')" "durable commit"
# A second use of the same durable runtime at once is refused.
mkfifo "$T/ready" "$T/go"
"$S" run --rerun dev -- sh -c "echo in >$T/ready; read -r _ <$T/go" &
P=$!
await_line "$T/ready" $P
await_record
expect_status 125 spfs run --rerun dev -- true; expect_match "$ERR" "in use" "durable in use"
expect_status 1 spfs runtime rm dev; expect_match "$ERR" "in use" "rm refuses a durable runtime in use"
release "$T/go"; wait $P
# clean keeps a durable runtime's layers, untagged or not.
mkdir -p "$T/u"; echo u >"$T/u/u"; LU=$(spfs commit "$T/u")
expect_status 0 spfs run --durable d2 "$LU" -- true
expect_status 0 spfs clean --older-than 0s; expect_status 0 spfs info "$LU"
expect_status 0 spfs runtime rm d2; expect_status 0 spfs runtime rm dev
expect_status 0 spfs runtime ls; expect_eq "$OUT" "" "durable runtimes removed"
expect_status 0 spfs clean --older-than 0s; expect_status 1 spfs info "$LU"

expect_eq "$(host_mounts)" "$BEFORE" "host mount table unchanged"
