#!/usr/bin/env bash
# An injected EIO or ENOSPC on the Nth write/fsync/syncfs/rename/open/mkdir
# (through the syscall layer, SPAWN_FAULT): the command fails with a clear
# message or succeeds; nothing is published half-done; a retry succeeds.
. "$(dirname "$0")/lib.sh"

make_tree "$T/old" 100 3
make_tree "$T/new" 300 4
spfs init >/dev/null
OLD=$(spfs commit "$T/old" -t app)
spfs init "$T/reference" >/dev/null   # only spfs init makes a store
NEW=$(SPFS_STORAGE="$T/reference" spfs commit "$T/new")

failures=0
for spec in write:1 write:2 write:37 write:150 write:290 fsync:1 fsync:2 fsync:3 fsync:4 fsync:5 \
	    syncfs:1 syncfs:2 syncfs:3 rename:1 rename:2 rename:100 rename:250 rename:300 rename:301 \
	    rename:302 rename:303 open:1 open:2 open:200 mkdir:1 mkdir:2 mkdir:40; do
	for e in EIO ENOSPC; do
		rc=0
		SPAWN_FAULT="$spec:$e" spfs commit "$T/new" -t app >"$T/out" 2>"$T/err" || rc=$?
		cur=$(spfs info app | sed -n 1p | cut -d' ' -f2)
		if [ $rc -ne 0 ]; then
			failures=$((failures + 1))
			expect_eq "$rc" 1 "exit status with $spec:$e"
			msg=$(cat "$T/err")
			if [ "$e" = EIO ]; then want="Input/output error"; else want="No space left on device"; fi
			expect_match "$msg" "^spfs: cannot commit .*$want" "error message with $spec:$e"
			# A failure after the tag file was renamed into place (the
			# directory fsync) may leave the new, complete value: allowed
			# by the invariant as long as the closure verifies (below).
			[ "$cur" = "$OLD" ] || [ "$cur" = "$NEW" ] || fail "tag points at $cur after $spec:$e"
			ok
		else
			expect_eq "$(cat "$T/out")" "$NEW" "a commit that succeeded printed the new digest ($spec:$e)"
			expect_eq "$cur" "$NEW" "tag moved after a successful commit ($spec:$e)"
		fi
		out=$(spfs check 2>&1) || fail "check after $spec:$e: $out"
		ok
		# Forget NEW entirely and remove what the attempt left, so the next
		# fault hits a commit that has to write everything again.
		spfs untag app && spfs tag "$OLD" app
		spfs clean --older-than 0s >/dev/null 2>&1
	done
done
echo "$failures injected faults made the commit fail"
[ "$failures" -gt 30 ] || fail "too few injected faults hit ($failures)"
ok

# Reads of a damaged store through the fault layer: tag writes.
expect_status 1 env SPAWN_FAULT=fsync:1:EIO "$SPFS_BIN" tag "$OLD" other
expect_match "$ERR" "cannot set tag 'other'" "tag write failure named"
expect_status 1 spfs info other
expect_status 0 spfs commit "$T/new" -t app; expect_eq "$OUT" "$NEW" "retry succeeds"
expect_status 0 spfs check
