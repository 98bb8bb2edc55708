#!/usr/bin/env bash
# Security of runtimes for a user who is not root: the same checks on both
# non-root modes, the setcap helper spfs-enter (SPFS_RUNTIME_MODE=helper)
# and rootless (a user namespace of our own), run as an unprivileged user
# this test creates:
#   - the command runs and sees its layers, as the user, in the mode asked for;
#   - /proc/self/status inside: CapInh/Prm/Eff/Bnd/Amb all zero, NoNewPrivs 1;
#   - "digests" like ../../etc or /etc are refused (spfs-enter called
#     directly too);
#   - a render directory (or its parent) replaced by a symlink, or a mount
#     on it, is refused, nothing mounted (spfs-enter called directly, past
#     spfs's own check);
#   - a setuid-root binary planted in a render gains nothing; a copy-up of a
#     root-owned file into a durable upper cannot make a root-owned file;
#   - LD_PRELOAD / LD_LIBRARY_PATH / PATH set by the caller reach nothing
#     that runs with a capability (and, through the helper, not the command);
#   - inherited descriptors do not survive into the command;
#   - nothing leaks into the mount table outside, although "/" is shared
#     there (the test runs in a private mount namespace of its own whose
#     "/" it makes shared), also while a runtime is live;
#   - SIGKILL of the helper at each step of its setup, and kill -9 of a live
#     runtime, leave no mount behind;
#   - mode selection: auto picks a usable helper; helper mode without one is
#     a clear error; a nested run (no_new_privs) falls back to rootless.
# The helper is a copy of the built spfs-enter next to a copy of spfs, with
# its file capabilities set by setcap (the installed form). Needs root (to
# create the user and setcap); rootless checks are skipped only where the
# kernel refuses unprivileged user namespaces.
set -euo pipefail
if [ -z "${SPFS_ENTER_TEST_NS:-}" ]; then
	if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (test user, setcap)"; exit 77; fi
	for c in unshare useradd setpriv setcap getcap; do
		command -v $c >/dev/null || { echo "FAILED: $c is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
	done
	# private first (no peer group shared with the real host), then shared
	export SPFS_ENTER_TEST_NS=1
	exec unshare -m --propagation private bash -c 'mount --make-rshared / && exec bash "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"
[ "$(findmnt -no PROPAGATION /)" = shared ] || fail "/ is not shared in the test namespace"
U=spfs-en-$$
useradd --system --no-create-home --shell /bin/sh "$U" || fail "useradd"
UID_=$(id -u "$U"); GID_=$(id -g "$U")
trap 'rc=$?; userdel "$U" 2>/dev/null; (exit $rc); cleanup' EXIT
[ -d /spfs ] || mkdir /spfs
CAPS=cap_dac_override,cap_setpcap,cap_sys_admin+ep

chmod 711 "$T"
mkdir -p "$T/u" "$T/bin" "$T/kbin" "$T/nbin"
chown "$U" "$T/u"
cp "$SPFS_BIN" "$SPAWN_BIN/spfs-enter" "$T/bin/"
cp "$SPFS_BIN" "$T/kbin/"; cp "$SPAWN_BIN/spfs-enter-test" "$T/kbin/spfs-enter"
cp "$SPFS_BIN" "$T/nbin/"
setcap "$CAPS" "$T/bin/spfs-enter" || fail "setcap"
setcap "$CAPS" "$T/kbin/spfs-enter" || fail "setcap"
chmod 755 "$T/bin" "$T/kbin" "$T/nbin"
export SPFS_STORAGE=$T/u/store
S=$SPFS_STORAGE
SP=$T/bin/spfs
ENTER=$T/bin/spfs-enter
as_user() { setpriv --reuid="$UID_" --regid="$GID_" --clear-groups --inh-caps=-all env HOME="$T/u" "$@"; }
us() { as_user "$SP" "$@"; }
host_mounts() { grep -E " /spfs | $T" /proc/self/mountinfo | sed 's/^[0-9]* [0-9]* //' | sort || true; }
BEFORE=$(host_mounts)
no_leak() { expect_eq "$(host_mounts)" "$BEFORE" "mount table outside unchanged: $1"; }

MODES=(helper)
if probe=$(as_user unshare -Ur -m true 2>&1); then MODES+=(rootless); else
	echo "note: rootless checks skipped, unprivileged user namespaces are refused: $probe"
fi

# --- the store: two layers, one with a deletion mask below, a setuid layer
expect_status 0 us init
mkdir -p "$T/u/a/bin" "$T/u/b"; echo A >"$T/u/a/file"; echo keep >"$T/u/a/keep"; echo B >"$T/u/b/file"
echo secret >"$T/u/a/private"; chmod 600 "$T/u/a/private"
chown -R "$U" "$T/u/a" "$T/u/b"
expect_status 0 us commit "$T/u/a" -t a; expect_status 0 us commit "$T/u/b" -t b
mkdir -p "$T/u/st/etc/spfs/startup.d"; echo 'export FROM_STARTUP=yes' >"$T/u/st/etc/spfs/startup.d/a.sh"
chown -R "$U" "$T/u/st"; expect_status 0 us commit "$T/u/st" -t st
expect_status 0 us run --edit a -- sh -c "rm /spfs/keep; $SP commit layer -t del >/dev/null"
expect_status 0 us render a; RA=$OUT
HA=$(basename "$(dirname "$RA")")$(basename "$RA"); is_digest "$HA"
ID=0123456789abcdef
mkdir -p "$S/runtimes/$ID.scratch"; chown "$U" "$S/runtimes/$ID.scratch"
# a setuid-root binary and a root-owned file planted in a render (as an
# attacker with another way in might): the mount must not honour them
mkdir -p "$T/u/s"; echo s >"$T/u/s/plain"; chown -R "$U" "$T/u/s"
expect_status 0 us commit "$T/u/s" -t s
expect_status 0 us render s; RS=$OUT
cp /usr/bin/id "$RS/id"; chown root:root "$RS/id"; chmod 4755 "$RS/id"
echo root >"$RS/rootfile"; chown root:root "$RS/rootfile"; chmod 666 "$RS/rootfile"

# --- evil environment: a preload library and PATH programs that log the
# capabilities of whatever process runs them
mkdir -p "$T/evil/bin" "$T/evil/lib"; chmod 755 "$T/evil" "$T/evil/bin" "$T/evil/lib"
LOG=$T/u/evil.log; touch "$LOG"; chmod 666 "$LOG"
cat >"$T/evil/evil.c" <<EOF
#include <stdio.h>
#include <string.h>
__attribute__((constructor)) static void evil(void)
{
	char line[256], caps[64] = "?";
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0 || strncmp(line, "CapPrm:", 7) == 0)
			strncat(caps, line + 7, sizeof(caps) - strlen(caps) - 1);
	if (f)
		fclose(f);
	FILE *l = fopen("$LOG", "a");
	if (l) {
		for (char *c = caps; *c; c++)
			if (*c == '\n' || *c == '\t')
				*c = ' ';
		fprintf(l, "preload %s\n", caps);
		fclose(l);
	}
}
EOF
gcc -shared -fPIC -o "$T/evil/lib/evil.so" "$T/evil/evil.c" || fail "cannot build the preload library"
for p in sh mount umount unshare setcap true env id cat ls grep spfs-enter newuidmap; do
	printf '#!/bin/sh\necho "path %s $(grep -E "^CapEff" /proc/self/status | tr -d "\\t")" >>%s\nexit 99\n' "$p" "$LOG" >"$T/evil/bin/$p"
	chmod 755 "$T/evil/bin/$p"
done
chmod 755 "$T/evil/lib/evil.so"

for MODE in "${MODES[@]}"; do
	export SPFS_RUNTIME_MODE=$MODE
	echo "== mode $MODE"

	# the command runs and sees its layers, as the user, in this mode
	expect_status 0 us run a+b -- sh -c 'cat /spfs/file /spfs/keep /spfs/private; id -u; id -G'
	expect_eq "$OUT" "$(printf 'B\nkeep\nsecret\n%s\n%s' "$UID_" "$GID_")" "$MODE: the stack, as the user"
	expect_status 0 us run a+del -- ls /spfs
	expect_eq "$OUT" "$(printf 'bin\nfile\nprivate')" "$MODE: a mask hides a lower file"
	expect_status 0 us run a+st -- sh -c 'echo "${FROM_STARTUP:-no} $SPFS_RUNTIME"'
	expect_match "$OUT" "^yes [0-9a-f]{16}$" "$MODE: startup scripts sourced, SPFS_RUNTIME set"
	expect_status 0 us run --no-startup a+st -- sh -c 'echo "${FROM_STARTUP:-no}"'
	expect_eq "$OUT" no "$MODE: --no-startup"
	expect_status 0 as_user env SHELL=/bin/sh "$SP" shell a+st <<<'echo "shell ${FROM_STARTUP:-no}"'
	expect_eq "$OUT" "shell yes" "$MODE: spfs shell with startup scripts"
	expect_status 0 us run a -- cat /proc/self/uid_map
	if [ "$MODE" = helper ]; then
		expect_match "$OUT" "^ +0 +0 +4294967295$" "helper: no user namespace"
	else
		expect_match "$OUT" "^ +$UID_ +$UID_ +1$" "rootless: a user namespace of our own"
	fi

	# no capability at all, no_new_privs; nosuid,nodev
	expect_status 0 us run a+b -- grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status
	expect_eq "$(awk '{print $2}' <<<"$OUT" | tr '\n' ' ')" "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000 1 " \
		"$MODE: no capability, NoNewPrivs"
	expect_status 0 us run --edit a+b -- grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status
	expect_eq "$(awk '{print $2}' <<<"$OUT" | tr '\n' ' ')" "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000 1 " \
		"$MODE: no capability in an editable runtime either"
	expect_status 0 us run a+b -- grep -E ' /spfs .*nosuid,nodev' /proc/self/mountinfo
	expect_status 2 us run a -- sh -c 'echo x > /spfs/x'; expect_match "$ERR" "Read-only" "$MODE: read-only"

	# paths in place of digests
	for bad in ../../etc /etc "a/../../../etc"; do
		expect_status 125 us run "$bad" -- true
	done
	no_leak "$MODE: refused refs"

	# a render replaced by a symlink (spfs's own check)
	mv "$RA" "$RA.real"; ln -s /etc "$RA"
	expect_status 125 us run a -- cat /spfs/passwd
	expect_match "$ERR" "not a directory|symlink" "$MODE: a render that is a symlink is refused"
	rm "$RA"; mv "$RA.real" "$RA"
	no_leak "$MODE: symlinked render"

	# setuid-root binary in a layer: nothing gained (nosuid, no_new_privs)
	expect_status 0 us run s -- sh -c 'test -u /spfs/id && echo setuid; /spfs/id -u; /spfs/id -ru; grep ^CapEff /proc/self/status'
	expect_eq "$OUT" "$(printf 'setuid\n%s\n%s\nCapEff:\t0000000000000000' "$UID_" "$UID_")" "$MODE: setuid bit present, no privilege"
	# a copy-up of a root-owned file into a durable upper fails: no root
	# file (let alone setuid) appears in a directory the user keeps
	rc=0; us run --durable "d$MODE" s -- sh -c 'touch /spfs/id /spfs/rootfile' >/dev/null 2>&1 || rc=$?
	[ "$rc" != 0 ] || fail "$MODE: copy-up of root-owned files succeeded"
	ok
	expect_eq "$(find "$S/runtimes/durable/d$MODE/upper" -uid 0 | wc -l)" 0 "$MODE: nothing root-owned in the durable upper"
	expect_status 0 us run --rerun "d$MODE" -- sh -c 'echo mine > /spfs/new; cat /spfs/new'
	expect_eq "$OUT" mine "$MODE: durable runtime works"
	expect_status 0 us runtime rm "d$MODE"
	# a file the user cannot read, put (by root, here) into a directory the
	# user owns inside their own render: renaming it in an editable runtime
	# makes overlayfs copy it up; the overlay is built in a user namespace
	# of the user's (helper and rootless alike), where that copy-up is
	# refused outright (EOVERFLOW) instead of copying the data into a file
	# of the user's before a failing chown
	mkdir -p "$RA/vault"; chown "$U" "$RA/vault"
	echo topsecret >"$RA/vault/secret"; chmod 600 "$RA/vault/secret"
	expect_status 1 us run --durable "v$MODE" a -- mv /spfs/vault/secret /spfs/vault/moved
	expect_match "$ERR" "Value too large" "$MODE: another user's unreadable file is never copied up"
	expect_eq "$(grep -rl topsecret "$S/runtimes/durable/v$MODE" 2>/dev/null | wc -l)" 0 "$MODE: its content is nowhere in the user's directories"
	expect_status 0 us runtime rm "v$MODE"
	rm -rf "$RA/vault"

	# the caller's LD_PRELOAD / LD_LIBRARY_PATH / PATH
	: >"$LOG"
	expect_status 0 as_user env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		LD_PRELOAD="$T/evil/lib/evil.so" LD_LIBRARY_PATH="$T/evil/lib" PATH="$T/evil/bin:/usr/bin:/bin" \
		"$SP" run --edit a -- /usr/bin/env
	ENVOUT=$OUT
	while read -r kind caps; do
		case "$kind" in
		preload) expect_match "$caps" "^\? +0{16} +0{16}$" "$MODE: preload ran only without capabilities";;
		path) expect_match "$caps" "CapEff:0000000000000000$" "$MODE: PATH programs ran only without capabilities";;
		*) fail "$MODE: unexpected log line $kind $caps";;
		esac
	done <"$LOG"
	grep -q '^preload' "$LOG" || fail "$MODE: the preload library never loaded (test broken?)"
	ok
	if [ "$MODE" = helper ]; then
		# through the helper the command's environment is an allowlist
		expect_eq "$(grep -cE '^(LD_PRELOAD|LD_LIBRARY_PATH)=' <<<"$ENVOUT" || true)" 0 "helper: no LD_* in the command"
		expect_match "$ENVOUT" "^PATH=/usr/local/bin:/usr/bin:/bin$" "helper: the fixed PATH"
		expect_eq "$(grep -c "$T/evil" <<<"$ENVOUT" || true)" 0 "helper: nothing of the caller's evil environment"
		: >"$LOG"
		expect_status 0 as_user env PATH="$T/evil/bin:/usr/bin:/bin" "$SP" run a -- sh -c 'echo ok'
		expect_eq "$OUT" ok "helper: sh from the fixed PATH"
		expect_eq "$(cat "$LOG")" "" "helper: no program of the caller's PATH ran"
	fi

	# inherited descriptors
	expect_status 0 us run a -- sh -c 'ls /proc/self/fd' 7</etc/hostname 9>"$T/u/fd9" 200</dev/null
	expect_eq "$(tr '\n' ' ' <<<"$OUT")" "0 1 2 3 " "$MODE: only stdio reaches the command"

	# nothing leaks while a runtime is live, nor after kill -9
	rm -f "$T/u/pid"
	as_user "$SP" run --edit a -- sh -c "echo \$\$ > $T/u/pid; exec sleep 30" &
	P=$!
	for _ in $(seq 200); do [ -s "$T/u/pid" ] && break; sleep 0.05; done
	[ -s "$T/u/pid" ] || fail "$MODE: the runtime did not start"
	CP=$(cat "$T/u/pid")
	expect_match "$(grep ' /spfs ' "/proc/$CP/mountinfo")" "overlay" "$MODE: /spfs inside"
	no_leak "$MODE: live runtime"
	kill -9 $P "$CP"; wait $P 2>/dev/null || true
	expect_status 0 us runtime prune
	no_leak "$MODE: after kill -9"

	# nested: no_new_privs keeps the helper's capabilities away; auto mode
	# falls back to rootless inside
	if [ "${#MODES[@]}" = 2 ]; then
		expect_status 0 as_user env SPFS_RUNTIME_MODE=auto "$SP" run a -- "$SP" run b -- cat /spfs/file
		expect_eq "$OUT" B "$MODE: nested runtime"
	fi
done
unset SPFS_RUNTIME_MODE

# --- spfs-enter called directly: arguments that are not digests
mkdir -p "$S/runtimes/$ID.scratch"; chown "$U" "$S/runtimes/$ID.scratch"
for bad in ../../etc /etc ../../../../../../etc "$(printf '%064d' 0)/.." "${HA^^}" "${HA:0:63}"; do
	expect_status 2 as_user "$ENTER" --store "$S" --id $ID --render "$bad" -- true
	expect_match "$ERR" "is not a digest" "spfs-enter refuses --render '$bad'"
	expect_status 2 as_user "$ENTER" --store "$S" --id $ID --masks "$bad" -- true
done
expect_status 2 as_user "$ENTER" --store "$S" --id ../../etc --render "$HA" -- true
expect_status 2 as_user "$ENTER" --store "$S" --id $ID --render "$HA" true
expect_match "$ERR" "must follow '--'" "the command follows --"
expect_status 2 as_user "$ENTER" --store "$S" --id $ID --render "$HA" --lowerdir /etc -- true
expect_status 2 as_user "$ENTER" --store "$S" --id $ID --durable ../x --render "$HA" -- true
expect_status 0 as_user "$ENTER" --store "$S" --id $ID --render "$HA" -- cat /spfs/file
expect_eq "$OUT" A "spfs-enter itself mounts a render"
# a render, or its parent, replaced by a symlink after spfs's checks
mv "$RA" "$RA.real"; ln -s /etc "$RA"
expect_status 125 as_user "$ENTER" --store "$S" --id $ID --render "$HA" -- true
expect_match "$ERR" "symlink" "spfs-enter refuses a symlinked render"
rm "$RA"; mv "$RA.real" "$RA"
PD=$(dirname "$RA"); mv "$PD" "$PD.real"; ln -s "$PD.real" "$PD"
expect_status 125 as_user "$ENTER" --store "$S" --id $ID --render "$HA" -- true
expect_match "$ERR" "symlink" "spfs-enter refuses a render below a symlink"
rm "$PD"; mv "$PD.real" "$PD"
# a mount on a render (as a FUSE mount of the user's would be) is not a layer
mkdir -p "$T/other"; echo other >"$T/other/file"; mount --bind "$T/other" "$RA"
expect_status 125 as_user "$ENTER" --store "$S" --id $ID --render "$HA" -- cat /spfs/file
expect_match "$ERR" "mount point" "spfs-enter refuses a render that is a mount point"
umount "$RA"
# a render the user cannot read is not mounted
chmod 700 "$RA"; chown root "$RA"
expect_status 125 as_user "$ENTER" --store "$S" --id $ID --render "$HA" -- true
expect_match "$ERR" "Permission denied" "spfs-enter opens renders as the caller"
chown "$U" "$RA"; chmod 755 "$RA"
# scratch directory must be the caller's own
chown root "$S/runtimes/$ID.scratch"
expect_status 125 as_user "$ENTER" --store "$S" --id $ID --edit 1m --render "$HA" -- true
expect_match "$ERR" "not the caller's own" "scratch owned by another user is refused"
chown "$U" "$S/runtimes/$ID.scratch"
expect_status 0 as_user "$ENTER" --store "$S" --id $ID --edit 1m --render "$HA" -- sh -c 'echo x > /spfs/x && stat -c %U /spfs/x'
expect_eq "$OUT" "$U" "spfs-enter --edit: the upper is the user's"
# stdio closed and an inherited descriptor as the status fd that is not a pipe
expect_status 125 as_user "$ENTER" --status-fd 7 --store "$S" --id $ID --render "$HA" -- true 7</etc/hostname
expect_match "$ERR" "not a pipe" "status fd must be a pipe"
rc=0; as_user "$ENTER" --store "$S" --id $ID --render "$HA" -- sh -c 'cat /spfs/file >&2' <&- >&- 2>"$T/.err" || rc=$?
expect_eq "$rc:$(cat "$T/.err")" "0:A" "closed stdin/stdout are tolerated"
# without its capabilities (a plain copy) it says what is missing
cp "$SPAWN_BIN/spfs-enter" "$T/nbin/spfs-enter-nocap"
expect_status 125 as_user "$T/nbin/spfs-enter-nocap" --store "$S" --id $ID --render "$HA" -- true
expect_match "$ERR" "lacks its capabilities.*setcap" "a helper without capabilities says so"
rm "$T/nbin/spfs-enter-nocap"
# setuid instead of file capabilities is refused
cp "$SPAWN_BIN/spfs-enter" "$T/nbin/spfs-enter-suid"; chown root "$T/nbin/spfs-enter-suid"; chmod 4755 "$T/nbin/spfs-enter-suid"
expect_status 125 as_user "$T/nbin/spfs-enter-suid" --store "$S" --id $ID --render "$HA" -- true
expect_match "$ERR" "must not be setuid" "a setuid helper refuses to run"
rm "$T/nbin/spfs-enter-suid"
no_leak "spfs-enter direct calls"

# --- SIGKILL of the helper at each step of its setup (the test build of
# spfs-enter, with its hook), through spfs run
for step in start unshared opened scratch mounted dropped; do
	expect_status 137 as_user env SPFS_RUNTIME_MODE=helper SPFS_ENTER_TEST_KILL=$step "$T/kbin/spfs" run --edit a+b -- true
	no_leak "SIGKILL at $step"
done
expect_status 0 as_user env SPFS_RUNTIME_MODE=helper "$T/kbin/spfs" run --edit a+b -- cat /spfs/file
expect_eq "$OUT" B "the test build works without the hook"
# the mount fallbacks for older kernels (forced in the test build)
for api in string legacy; do
	expect_status 0 as_user env SPFS_RUNTIME_MODE=helper SPFS_ENTER_TEST_API=$api "$T/kbin/spfs" run --edit a+b -- \
		sh -c 'cat /spfs/file; echo n > /spfs/n; cat /spfs/n'
	expect_eq "$OUT" "$(printf 'B\nn')" "mount through the $api fallback"
done
expect_status 0 us runtime prune
no_leak "after the kill tests"

# --- mode selection
expect_status 0 as_user env SPFS_RUNTIME_MODE=auto "$SP" run a -- cat /proc/self/uid_map
expect_match "$OUT" "^ +0 +0 +4294967295$" "auto uses the helper next to spfs"
if [ "${#MODES[@]}" = 2 ]; then
	expect_status 0 as_user env SPFS_RUNTIME_MODE=auto "$T/nbin/spfs" run a -- cat /proc/self/uid_map
	expect_match "$OUT" "^ +$UID_ +$UID_ +1$" "auto without a helper: rootless"
fi
if [ ! -e /usr/local/libexec/spfs-enter ]; then
	expect_status 125 as_user env SPFS_RUNTIME_MODE=helper "$T/nbin/spfs" run a -- true
	expect_match "$ERR" "no usable spfs-enter.*cmake --install" "helper mode without a helper says what to install"
fi
expect_status 125 as_user env SPFS_RUNTIME_MODE=bogus "$SP" run a -- true
expect_match "$ERR" "not auto, helper or rootless" "a bad mode is an error"
no_leak "end"
