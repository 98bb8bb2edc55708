#!/usr/bin/env bash
# spfs run as a user drives it: stacks, exit codes, signals, startup
# scripts, concurrent runtimes, the host's mount table, runtime records,
# clean while a runtime lives, cleanup after kill -9, nested runs.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount namespaces)"; trap - EXIT; rm -rf "$T"; exit 77; }

spfs init >/dev/null
mkfifo "$T/ready" "$T/go"
host_mounts() { grep -E " /spfs | $T" /proc/self/mountinfo | sed 's/^[0-9]* [0-9]* //' | sort || true; }
BEFORE=$(host_mounts)

mkdir -p "$T/a/bin" "$T/a/dir" "$T/b/etc/spfs/startup.d"
echo A >"$T/a/file"; echo keep >"$T/a/keep"; echo gone >"$T/a/dir/gone"
printf '#!/bin/sh\necho tool "$@"\n' >"$T/a/bin/tool"; chmod +x "$T/a/bin/tool"
echo B >"$T/b/file"
echo 'export FROM_STARTUP=b${FROM_STARTUP:-}' >"$T/b/etc/spfs/startup.d/20-b.sh"
echo 'export FROM_STARTUP=a' >"$T/b/etc/spfs/startup.d/10-a.sh"
# a name that needs quoting; and files that are not *.sh are not sourced
echo 'export QUOTED="it works"' >"$T/b/etc/spfs/startup.d/30-it's \$x.sh"
echo 'exit 3' >"$T/b/etc/spfs/startup.d/40-not-a-script.txt"
LA=$(spfs commit "$T/a" -t t/a); LB=$(spfs commit "$T/b" -t t/b)
spfs merge t/a t/b -t t/ab >/dev/null

# The stack: later on top, lower files visible, exec works, startup.d sourced in order.
expect_status 0 spfs run t/ab -- sh -c 'cat /spfs/file /spfs/keep; /spfs/bin/tool x; echo "$FROM_STARTUP"'
expect_eq "$OUT" "$(printf 'B\nkeep\ntool x\nba')" "platform stack, startup scripts in name order"
expect_status 0 spfs run t/ab -- sh -c 'echo "$QUOTED"'; expect_eq "$OUT" "it works" "a startup script whose name needs quoting"
expect_status 0 spfs run t/ab -- env; expect_eq "$(grep -c '^SPFS_RUNTIME=' <<<"$OUT")" 1 "SPFS_RUNTIME set once"
expect_match "$OUT" "SPFS_STORAGE=$SPFS_STORAGE" "SPFS_STORAGE passed to the command"
SPFS_RUNTIME=stale expect_status 0 spfs run t/a -- env; expect_eq "$(grep -c '^SPFS_RUNTIME=' <<<"$OUT")" 1 "an inherited SPFS_RUNTIME is replaced, not doubled"
# a large environment (40000 variables) reaches the command whole
mapfile -t many < <(seq -f 'MANY_%g=1' 40000)
expect_status 0 env "${many[@]}" "$SPFS_BIN" run t/ab -- sh -c 'env | grep -c "^MANY_"'
expect_eq "$OUT" 40000 "40000 variables passed through"
expect_status 0 spfs run t/a+t/b -- cat /spfs/file; expect_eq "$OUT" B "A+B puts B on top"
expect_status 0 spfs run t/b+t/a -- cat /spfs/file; expect_eq "$OUT" A "B+A puts A on top"
expect_status 0 spfs run "$LA" -- cat /spfs/file; expect_eq "$OUT" A "a single layer by digest (bind mount)"
expect_status 0 spfs run --no-startup t/ab -- sh -c 'echo "${FROM_STARTUP:-none}"'
expect_eq "$OUT" none "--no-startup"
expect_status 0 spfs run t/a -- sh -c 'echo "$SPFS_RUNTIME"'; expect_match "$OUT" '^[0-9a-f]{16}$' "SPFS_RUNTIME set"
expect_status 0 spfs run t/a true; expect_eq "$OUT" "" "REF CMD without --"

# Read-only unless --edit; nosuid/nodev.
expect_status 2 spfs run t/ab -- sh -c "echo x > /spfs/new"; expect_match "$ERR" "Read-only" "read-only runtime"
expect_status 0 spfs run t/ab -- grep -E ' /spfs .*nosuid,nodev' /proc/self/mountinfo
expect_status 0 spfs run t/a -- grep -E ' /spfs .*ro,nosuid,nodev' /proc/self/mountinfo

# Exit status passes through; signals give 128+N; setup failures 125-127.
expect_status 42 spfs run t/a -- sh -c 'exit 42'
expect_status 137 spfs run t/a -- sh -c 'kill -KILL $$'
expect_status 143 spfs run t/a -- sh -c 'kill -TERM $$'
expect_status 127 spfs run t/a -- /no/such/command; expect_match "$ERR" "cannot run /no/such/command" "missing command"
expect_status 126 spfs run t/a -- /spfs/keep
expect_status 125 spfs run no/such/tag -- true; expect_match "$ERR" "cannot start a runtime" "unknown ref"
expect_status 2 spfs run t/a; expect_match "$ERR" "no command" "no command"
expect_status 125 spfs run "$(sha256sum "$T/a/file" | cut -c1-64)" -- true; expect_match "$ERR" "blob" "a blob is not a stack"

# stdin passes through.
expect_status 0 spfs run t/a -- sh -c 'read l; echo "got $l"' <<<"hello"; expect_eq "$OUT" "got hello" "stdin"

# SIGTERM sent to `spfs run` reaches the command, which may handle it.
# (the shell waits in read, which a trapped signal interrupts)
"$SPFS_BIN" run t/a -- sh -c "trap 'echo term >$T/sig; exit 7' TERM; echo ready >$T/ready; read -r _ <$T/go" &
P=$!
await_line "$T/ready" $P
kill -TERM $P; rc=0; wait $P || rc=$?
expect_eq "$rc" 7 "the command's own exit after SIGTERM"; expect_eq "$(cat "$T/sig")" term "SIGTERM forwarded"
"$SPFS_BIN" run t/a -- sh -c "echo ready >$T/ready; exec cat $T/go" &
P=$!
await_line "$T/ready" $P
kill -HUP $P; rc=0; wait $P || rc=$?
expect_eq "$rc" 129 "SIGHUP forwarded, 128+1"

# Runtimes: a record while live, gone after; ls/info; the host never sees /spfs.
"$SPFS_BIN" run t/ab -- sh -c "echo ready >$T/ready; cat $T/go" &
P=$!
await_line "$T/ready" $P
await_record
expect_status 0 spfs runtime ls; expect_match "$OUT" "live" "runtime ls shows the live runtime"
ID=$(echo "$OUT" | awk '$2 == "live" {print $1; exit}')
expect_status 0 spfs runtime info "$ID" --json
expect_eq "$(echo "$OUT" | json_get - 'len(d["layers"])')" 2 "info lists the two layers"
expect_eq "$(echo "$OUT" | json_get - 'd["state"]')" live "info: live"
expect_eq "$(host_mounts)" "$BEFORE" "no mount visible on the host while a runtime runs"
expect_status 1 spfs runtime rm "$ID"; expect_match "$ERR" "is live" "rm refuses a live runtime"
CPID=$(echo "$(spfs runtime info "$ID" --json)" | json_get - 'd["pid"]')
kill -9 $P "$CPID"; wait $P 2>/dev/null || true
expect_status 0 spfs runtime ls; expect_match "$OUT" "dead" "killed runtime shows as dead"
expect_status 0 spfs runtime prune; expect_match "$OUT" "removed $ID" "prune removes it"
expect_status 0 spfs runtime ls; expect_eq "$OUT" "" "nothing left"
expect_eq "$(host_mounts)" "$BEFORE" "no mount left after kill -9"

# kill -9 of the command alone: spfs run reports 137 and removes the record.
"$SPFS_BIN" run t/a -- sh -c "echo \$\$ >$T/ready; exec cat $T/go" &
P=$!
await_line "$T/ready" $P
kill -9 "$LINE"; rc=0; wait $P || rc=$?
expect_eq "$rc" 137 "command killed by SIGKILL"
expect_eq "$(ls "$SPFS_STORAGE/runtimes" | grep -cE '^[0-9a-f]{16}$' || true)" 0 "record removed"

# Concurrent runtimes with different stacks see different /spfs: all three
# are up (each said so) before any reads.
mkfifo "$T/r1" "$T/r2" "$T/r3" "$T/g1" "$T/g2" "$T/g3"
"$SPFS_BIN" run t/a -- sh -c "echo up >$T/r1; read -r _ <$T/g1; cat /spfs/file" >"$T/c1" &
P1=$!
"$SPFS_BIN" run t/b -- sh -c "echo up >$T/r2; read -r _ <$T/g2; cat /spfs/file" >"$T/c2" &
P2=$!
"$SPFS_BIN" run t/a+t/b -- sh -c "echo up >$T/r3; read -r _ <$T/g3; cat /spfs/file /spfs/keep" >"$T/c3" &
P3=$!
await_line "$T/r1" $P1; await_line "$T/r2" $P2; await_line "$T/r3" $P3
release "$T/g1"; release "$T/g2"; release "$T/g3"
wait $P1 $P2 $P3
expect_eq "$(cat "$T/c1")" A "runtime 1"; expect_eq "$(cat "$T/c2")" B "runtime 2"
expect_eq "$(cat "$T/c3")" "$(printf 'B\nkeep')" "runtime 3"

# Nested: a fresh stack inside, the parent's /spfs untouched.
expect_status 0 spfs run t/a -- sh -c "$SPFS_BIN run t/b -- cat /spfs/file; cat /spfs/file"
expect_eq "$OUT" "$(printf 'B\nA')" "nested run gets its own stack"

# clean keeps what a live runtime uses, even untagged.
mkdir -p "$T/u"; echo untagged >"$T/u/only"
LU=$(spfs commit "$T/u")
"$SPFS_BIN" run "$LU" -- sh -c "echo ready >$T/ready; read -r _ <$T/go; cat /spfs/only" >"$T/cu" &
P=$!
await_line "$T/ready" $P
await_record
expect_status 0 spfs clean --older-than 0s
expect_status 0 spfs info "$LU"; release "$T/go"; wait $P
expect_eq "$(cat "$T/cu")" untagged "the runtime still reads its layer after clean"
expect_status 0 spfs clean --older-than 0s
expect_status 1 spfs info "$LU"; expect_match "$ERR" "not in the store" "cleaned once the runtime is gone"

# Interactive terminal: job control and the foreground group work (script(1) gives a pty).
if command -v script >/dev/null; then
	expect_status 0 script -qec "$SPFS_BIN run t/a -- sh -c 'test -t 0 && test -t 1 && echo tty-ok'" /dev/null
	expect_match "$OUT" "tty-ok" "the command has the terminal"
fi

expect_eq "$(host_mounts)" "$BEFORE" "host mount table unchanged at the end"

# Cached plans follow tag moves and missing renders.
spfs tag t/a t/moving >/dev/null
expect_status 0 spfs run t/moving -- cat /spfs/file; expect_eq "$OUT" A "plan of a tag"
spfs tag t/b t/moving >/dev/null
expect_status 0 spfs run t/moving -- cat /spfs/file; expect_eq "$OUT" B "the tag moved: new plan"
spfs untag t/moving --latest >/dev/null
expect_status 0 spfs run t/moving -- cat /spfs/file; expect_eq "$OUT" A "the tag moved back"
chmod -R u+w "$SPFS_STORAGE/renders"; rm -rf "$SPFS_STORAGE/renders"/*
expect_status 0 spfs run t/moving+t/b -- cat /spfs/file /spfs/keep; expect_eq "$OUT" "$(printf 'B\nkeep')" "renders removed: made again"

# spfs shell: $SHELL after the startup scripts; stdin passes through.
expect_status 5 env SHELL=/bin/sh "$SPFS_BIN" shell t/ab <<<'echo "$FROM_STARTUP $SPFS_RUNTIME"; cat /spfs/file; exit 5'
expect_match "$OUT" "^ba [0-9a-f]{16}" "shell sourced the startup scripts"; expect_match "$OUT" "B$" "shell sees the stack"
expect_status 2 spfs shell t/ab -- true; expect_match "$ERR" "takes no command" "shell takes no command"
