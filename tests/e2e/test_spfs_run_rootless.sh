#!/usr/bin/env bash
# spfs run as an unprivileged user (lib_user.sh: the commands installed by
# cmake --install, a user this test creates), in both non-root modes: the
# installed helper (mode auto) and rootless (a user namespace mapping only
# the user's own ids). The command sees its layers, keeps its uid, has no
# capability (effective, permitted, bounding, ambient) and NoNewPrivs set; a
# setuid-root binary from a layer gains nothing; nothing reaches the host's
# mount table, also after kill -9; --edit, commit and durable runtimes work.
# (spfs is called by its path inside: test_user_env.sh checks PATH.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_user.sh"
user_setup
host_mounts() { grep -E " /spfs | $T" /proc/self/mountinfo | sed 's/^[0-9]* [0-9]* //' | sort || true; }
BEFORE=$(host_mounts)

run_flow() {
	local W=$UHOME/work
	as_user mkdir -p "$W/a/bin" "$W/b"
	as_user sh -c "echo A > $W/a/file; echo keep > $W/a/keep; echo B > $W/b/file"
	expect_status 0 us commit "$W/a" -t a
	expect_status 0 us commit "$W/b" -t b

	expect_status 0 us run a+b -- sh -c 'cat /spfs/file /spfs/keep; id -u'
	expect_eq "$OUT" "$(printf 'B\nkeep\n%s' "$UID_")" "$MODE: the stack, as the user's own uid"
	expect_status 0 us run a+b -- grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status
	expect_eq "$(awk '{print $2}' <<<"$OUT" | tr '\n' ' ')" "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000 1 " \
		"$MODE: no capability at all, NoNewPrivs"
	expect_status 0 us run a+b -- grep -E ' /spfs .*nosuid,nodev' /proc/self/mountinfo
	expect_status 2 us run a -- sh -c 'echo x > /spfs/x'
	expect_match "$ERR" "Read-only" "$MODE: read-only"
	expect_status 125 us run ../../etc -- true
	expect_match "$ERR" "cannot start a runtime" "$MODE: a path is not a ref"
	expect_status 125 us run /etc -- true
	expect_eq "$(host_mounts)" "$BEFORE" "$MODE: host mount table unchanged"

	# A setuid-root binary in a layer: the store keeps no setuid bit, and
	# the mount is nosuid besides.
	mkdir -p "$T/suid"
	cp /usr/bin/id "$T/suid/id"
	chown root "$T/suid/id"
	chmod 4755 "$T/suid/id"
	expect_status 0 us commit "$T/suid"
	local SL=$OUT
	expect_status 0 us run "$SL" -- sh -c 'test -u /spfs/id && echo setuid; /spfs/id -u; /spfs/id -u -r'
	expect_eq "$OUT" "$(printf '%s\n%s' "$UID_" "$UID_")" "$MODE: setuid bit dropped, no privilege gained"

	# Editable, commit layer (a deletion as a mask), diff; durable runtimes.
	expect_status 0 us run --edit a -- sh -c "rm /spfs/keep; echo n > /spfs/new; $STAGE/bin/spfs diff; $STAGE/bin/spfs commit layer -t e >/dev/null"
	expect_eq "$OUT" "$(printf -- '- keep\n+ new')" "$MODE: diff in an editable runtime"
	expect_status 0 us run a+e -- ls /spfs
	expect_eq "$OUT" "$(printf 'bin\nfile\nnew')" "$MODE: the mask hides the lower file"
	expect_status 1 us run a -- "$STAGE/bin/spfs" edit
	expect_match "$ERR" "start it with --edit" "$MODE: spfs edit needs root"
	expect_status 0 us run --durable d a -- sh -c 'echo 1 > /spfs/d'
	expect_status 0 us run --rerun d -- cat /spfs/d
	expect_eq "$OUT" 1 "$MODE: durable runtime"

	# kill -9 of everything leaves no mount behind; prune cleans the record.
	as_user mkfifo "$UHOME/pid" "$UHOME/go"
	as_user spfs run a -- sh -c "echo \$\$ > $UHOME/pid; exec cat $UHOME/go" &
	local P=$!
	await_line "$UHOME/pid" $P
	kill -9 $P "$LINE"
	wait $P 2>/dev/null || true
	expect_status 0 us runtime prune
	expect_eq "$(host_mounts)" "$BEFORE" "$MODE: no mount after kill -9"
	expect_status 0 us runtime rm d
	expect_status 0 us runtime ls
	expect_eq "$OUT" "" "$MODE: no runtime left"
}
user_modes run_flow
