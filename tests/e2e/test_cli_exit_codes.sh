#!/usr/bin/env bash
# e2e: the exit-code table of docs/spfs.md and docs/spk.md, code by code;
# a missing or unexecutable command is 127/126 wherever a command is run;
# no command makes a store behind the user's back; a commit that waits on a
# locked store says so; SPAWN_LOG is checked; errors reach the user whole
# (a >2 KiB solve explanation) and with control characters quoted.
. "$(dirname "$0")/lib.sh"
SPK="$SPAWN_BIN/spk"
spk() { "$SPK" "$@"; }
ROOT=false
[ "$(id -u)" = 0 ] && ROOT=true

# --- no store: the same error from spfs and spk, exit 1, nothing created
NOSTORE="$T/nostore"
for cmd in "spfs tags" "spfs commit $T" "spfs run x -- true"; do
	want=1
	[ "$cmd" = "spfs run x -- true" ] && want=125 # spfs run's own failures are 125
	expect_status $want env SPFS_STORAGE="$NOSTORE" "$SPFS_BIN" ${cmd#spfs }
	expect_match "$ERR" "^spfs: no store at $NOSTORE \\(create one with 'spfs init $NOSTORE'\\)" "$cmd: no store"
done
mkdir -p "$T/src"
printf 'pkg: nostore/1.0.0\nbuild:\n  script:\n    - echo hi >/spfs/x\n' >"$T/src/nostore.yaml"
for cmd in "build $T/src/nostore.yaml" "make-source $T/src/nostore.yaml" "publish $T/src/nostore.yaml" "ls" "env nostore -- true"; do
	expect_status 1 env SPFS_STORAGE="$NOSTORE" "$SPK" $cmd
	expect_match "$ERR" "^spk ${cmd%% *}: no store at $NOSTORE \\(create one with 'spfs init $NOSTORE'\\)" "spk $cmd: no store"
done
[ ! -e "$NOSTORE" ] || fail "a command made a store"; ok
# the default store (root: /var/lib/spfs) is not made either
if $ROOT && [ ! -e /var/lib/spfs ]; then
	expect_status 1 env -u SPFS_STORAGE HOME="$T/home" SPAWN_CONFIG="$T/none.yaml" "$SPK" build "$T/src/nostore.yaml"
	expect_match "$ERR" "no store at /var/lib/spfs \\(create one with 'spfs init /var/lib/spfs'\\)" "default store named"
	[ ! -e /var/lib/spfs ] || { rm -rf /var/lib/spfs; fail "spk build made /var/lib/spfs"; }
	ok
fi

spfs init >/dev/null
mkdir -p "$T/a"
echo A >"$T/a/file"
spfs commit "$T/a" -t a >/dev/null

# --- spfs: 0, 1, 2, 75
expect_status 0 spfs tags
expect_status 1 spfs info no/such/tag
expect_status 2 spfs --bogus tags; expect_match "$ERR" "unknown option --bogus" "usage error"
expect_status 2 spfs nosuchcommand
expect_status 2 spfs ls
# hold the store's lock as spfs clean does (exclusive) until told to stop
mkfifo "$T/held" "$T/release"
flock -x "$SPFS_STORAGE/locks/store" sh -c 'echo held >"$1"; read -r _ <"$2"' sh "$T/held" "$T/release" &
LOCKER=$!
read -r _ <"$T/held"
expect_status 75 spfs clean; expect_match "$ERR" "clean skipped" "store busy: 75"

# --- spfs commit waiting on the locked store says so, then completes
mkfifo "$T/commit.err"
exec 3<>"$T/commit.err"
"$SPFS_BIN" commit "$T/a" -t waited >"$T/commit.out" 2>"$T/commit.err" &
COMMIT=$!
read -r line <&3
expect_match "$line" "^warning: store $SPFS_STORAGE is locked by 'spfs clean' \\(another process\\): waiting for it to finish" "commit says it waits, and for what"
echo go >"$T/release"
wait $LOCKER
rc=0; wait $COMMIT || rc=$?
exec 3>&-
expect_eq "$rc" 0 "commit completes once the lock is released"
expect_eq "$(cat "$T/commit.out")" "$(spfs info a --json | json_get - 'd["digest"]')" "and prints its layer"

# --- SPAWN_LOG: a bad value is a usage error naming the valid ones
expect_status 2 env SPAWN_LOG=bogus "$SPFS_BIN" tags
expect_match "$ERR" "SPAWN_LOG=bogus is not a log level \\(error, warn, info, debug or trace\\)" "spfs: SPAWN_LOG=bogus"
expect_status 2 env SPAWN_LOG=bogus "$SPK" ls
expect_match "$ERR" "SPAWN_LOG=bogus is not a log level" "spk: SPAWN_LOG=bogus"
expect_status 2 env SPAWN_LOG=bogus "$SPK" solve x --repo "$T"
expect_status 0 env SPAWN_LOG=debug "$SPFS_BIN" tags

# --- control characters from arguments are quoted in messages
expect_status 1 spfs info $'no\e[31mred\r'
expect_match "$ERR" 'no\\x1b\[31mred\\x0d' "escape sequence quoted"
grep -q $'\e' <<<"$ERR" && fail "a raw ESC reached the terminal"; ok
expect_status 2 spfs $'\e]0;pwned\a'
expect_match "$ERR" "unknown command '\\\\x1b]0;pwned\\\\x07'" "unknown command quoted"
expect_status 2 spk $'\e[2J'
expect_match "$ERR" "unknown command '\\\\x1b\\[2J'" "spk: quoted"

$ROOT || exit 0 # runtimes and builds below need root here

# --- spfs run / spfs shell: the command's status, 125, 126, 127
expect_status 42 spfs run a -- sh -c 'exit 42'
expect_status 137 spfs run a -- sh -c 'kill -KILL $$'
expect_status 127 spfs run a -- /no/such/command; expect_match "$ERR" "cannot run /no/such/command: No such file" "run: 127"
expect_status 127 spfs run a -- no-such-command-in-path
expect_status 126 spfs run a -- /spfs/file; expect_match "$ERR" "Permission denied" "run: 126"
expect_status 125 spfs run no/such/tag -- true
expect_status 127 env SHELL=/no/such/shell "$SPFS_BIN" shell a </dev/null
expect_status 126 env SHELL="$T/a/file" "$SPFS_BIN" shell a </dev/null

# --- spk env: the same rule
SPEC="$T/src/tool.yaml"
printf 'pkg: tool/1.0.0\nbuild:\n  script:\n    - echo "#!/bin/sh" >/spfs/notexec\n' >"$SPEC"
expect_status 0 spk build "$SPEC"
expect_status 0 spk env tool -- true
expect_status 42 spk env tool -- sh -c 'exit 42'
expect_status 127 spk env tool -- /no/such/command; expect_match "$ERR" "^spk env: cannot run /no/such/command" "env: 127"
expect_status 127 spk env tool -- no-such-command-in-path
expect_status 126 spk env tool -- /spfs/notexec; expect_match "$ERR" "Permission denied" "env: 126"
expect_status 127 env SHELL=/no/such/shell "$SPK" env tool </dev/null
expect_status 1 spk env nosuchpackage -- true; expect_match "$ERR" "cannot be satisfied" "env: 1 unsolvable"
expect_status 2 spk env 'Bad_Name!' -- true

# --- spk build: 0, 1 (script fails: its status in the message), 2
printf 'pkg: failing/1.0.0\nbuild:\n  script:\n    - no-such-command-in-the-script\n' >"$T/src/failing.yaml"
expect_status 1 spk build "$T/src/failing.yaml"
expect_match "$ERR" "the build script of failing/1.0.0/[A-Z0-9]+ failed \\(exit status 127\\)" "script's missing command: 127 in the message, exit 1"
printf 'pkg: [broken\n' >"$T/src/broken.yaml"
expect_status 2 spk build "$T/src/broken.yaml"

# --- a build environment that cannot be solved: the whole explanation
for i in $(seq 0 11); do # 12 candidates, each explained: over 3 KiB
	printf 'pkg: plugin-host/1.0.%d\ninstall:\n  requirements:\n    - pkg: vendor-runtime-library-number-%d/1.0\n---\n' $i $i
done | head -n -1 >"$T/src/hosts.yaml"
spk publish "$T/src/hosts.yaml" >/dev/null
printf 'pkg: app/1.0.0\nbuild:\n  options:\n    - pkg: plugin-host/1.0\n  script:\n    - echo hi\n' >"$T/src/app.yaml"
expect_status 1 spk build "$T/src/app.yaml"
[ "${#ERR}" -gt 2048 ] || fail "explanation is ${#ERR} bytes, wanted > 2 KiB"; ok
expect_match "$ERR" "^spk build: cannot solve the build environment of app/1.0.0" "chain first"
for i in $(seq 0 11); do
	grep -q "no package named vendor-runtime-library-number-$i exists" <<<"$ERR" || fail "candidate $i missing from the explanation"
done
ok
expect_match "$(tail -n 1 <<<"$ERR")" "^To find a solution, change" "explanation ends whole"
