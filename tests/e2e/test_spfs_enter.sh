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
#   - LD_PRELOAD / LD_LIBRARY_PATH / GCONV_PATH / PATH set by the caller
#     reach nothing that runs with a capability: a preload library, a gconv
#     module and PATH programs that log the capabilities of whatever loads
#     or runs them log only zero sets, and the helper paused while
#     privileged has none of them in its environment and no such library
#     mapped (each check shown to fail on a process that has them); they do
#     reach the command, after the drop, as in every mode;
#   - an editable runtime never falls back to building its overlay in the
#     initial namespace: with the user's user-namespace quota used up (in a
#     user namespace of the test's with a small limit), the helper fails
#     (125, saying why) and a root-owned 0700 directory covered by the
#     user's same-path directory stays unreadable;
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
HOST_MAX_USERNS=$(cat /proc/sys/user/max_user_namespaces)
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
#include <unistd.h>
__attribute__((constructor)) static void evil(void)
{
	char line[256], caps[64] = "?", exe[256] = "";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
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
		fprintf(l, "%s %s %s\n", TAG, strrchr(exe, '/') ? strrchr(exe, '/') + 1 : "?", caps);
		fclose(l);
	}
}
EOF
gcc -shared -fPIC -DTAG='"preload"' -o "$T/evil/lib/evil.so" "$T/evil/evil.c" || fail "cannot build the preload library"
# the same as a gconv module of a made-up charset (what CVE-2021-4034 used)
mkdir -p "$T/evil/gconv"; chmod 755 "$T/evil/gconv"
gcc -shared -fPIC -DTAG='"gconv"' -o "$T/evil/gconv/EVIL.so" "$T/evil/evil.c" || fail "cannot build the gconv module"
printf 'module EVIL// INTERNAL EVIL 1\nmodule INTERNAL EVIL// EVIL 1\n' >"$T/evil/gconv/gconv-modules"
chmod 644 "$T/evil/gconv/gconv-modules"; chmod 755 "$T/evil/gconv/EVIL.so"
EVILENV=(LD_PRELOAD="$T/evil/lib/evil.so" LD_LIBRARY_PATH="$T/evil/lib" GCONV_PATH="$T/evil/gconv"
	MYLICENSE=27000@lic ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0)
# the log tells privileged loads apart: as root, with every capability,
# the library and the module log non-zero sets (so the checks below can fail)
: >"$LOG"
env "${EVILENV[@]}" sh -c 'iconv -f EVIL -t UTF-8 </dev/null' >/dev/null 2>&1 || true
expect_match "$(grep '^preload iconv' "$LOG")" "^preload iconv \? +0*[1-9a-f][0-9a-f]* " "control: a privileged preload logs its capabilities"
expect_match "$(grep '^gconv iconv' "$LOG")" "^gconv iconv \? +0*[1-9a-f][0-9a-f]* " "control: a privileged gconv load logs its capabilities"
unprivileged_log() { # every line of the log from a process without capabilities
	local kind exe caps
	while read -r kind exe caps; do
		case "$kind" in
		preload|gconv) expect_match "$caps" "^\? +0{16} +0{16}$" "$1: $kind in $exe ran only without capabilities";;
		path) expect_match "$caps" "CapEff:0000000000000000$" "$1: PATH program $exe ran only without capabilities";;
		*) fail "$1: unexpected log line $kind $exe $caps";;
		esac
	done <"$LOG"
}
for p in sh mount umount unshare setcap true env id cat ls grep spfs-enter newuidmap; do
	printf '#!/bin/sh\necho "path %s $(/usr/bin/grep -E "^CapEff" /proc/self/status | /usr/bin/tr -d "\\t")" >>%s\nexit 99\n' "$p" "$LOG" >"$T/evil/bin/$p"
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

	# the caller's LD_PRELOAD / LD_LIBRARY_PATH / GCONV_PATH / PATH: the
	# command gets them (after the drop: the environment spfs run was
	# given, as in every mode), nothing privileged loads or runs them
	: >"$LOG"
	expect_status 0 as_user env "${EVILENV[@]}" PATH="$T/evil/bin:/usr/bin:/bin" \
		"$SP" run --edit a -- /usr/bin/env
	ENVOUT=$OUT
	for v in LD_PRELOAD="$T/evil/lib/evil.so" LD_LIBRARY_PATH="$T/evil/lib" GCONV_PATH="$T/evil/gconv" \
		MYLICENSE=27000@lic PATH="$T/evil/bin:/usr/bin:/bin"; do
		expect_eq "$(grep -cxF -- "$v" <<<"$ENVOUT")" 1 "$MODE: the command gets $v"
	done
	expect_match "$ENVOUT" "^SPFS_RUNTIME=[0-9a-f]{16}$" "$MODE: and SPFS_RUNTIME"
	expect_match "$(cat "$LOG")" "^preload env " "$MODE: the preload library reached the command"
	expect_status 0 as_user env "${EVILENV[@]}" "$SP" run a -- sh -c 'iconv -f EVIL -t UTF-8 </dev/null; true'
	expect_match "$(cat "$LOG")" "^gconv iconv " "$MODE: GCONV_PATH reached the command"
	expect_status 99 as_user env PATH="$T/evil/bin:/usr/bin:/bin" "$SP" run a -- /bin/sh -c 'id -u'
	expect_match "$(cat "$LOG")" "^path id " "$MODE: the caller's PATH reached the command"
	unprivileged_log "$MODE"
	grep -q '^preload spfs' "$LOG" || fail "$MODE: the preload library never loaded in spfs (test broken?)"
	ok

	# inherited descriptors
	expect_status 0 us run a -- sh -c 'ls /proc/self/fd' 7</etc/hostname 9>"$T/u/fd9" 200</dev/null
	expect_eq "$(tr '\n' ' ' <<<"$OUT")" "0 1 2 3 " "$MODE: only stdio reaches the command"

	# nothing leaks while a runtime is live, nor after kill -9
	rm -f "$T/u/pid" "$T/u/go"; mkfifo -m 666 "$T/u/pid" "$T/u/go"
	as_user "$SP" run --edit a -- sh -c "echo \$\$ > $T/u/pid; exec cat $T/u/go" &
	P=$!
	await_line "$T/u/pid" $P
	CP=$LINE
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

# --- the helper paused while privileged (the test build's pause hook, at
# "mounted": everything mounted, nothing dropped yet): what of the caller's
# environment is in it
mkfifo "$T/u/pause"; chown "$U" "$T/u/pause"
# control: the maps check sees a preloaded library when there is one
expect_match "$(env "${EVILENV[@]}" grep -E 'evil|gconv' /proc/self/maps || true)" "evil\.so" "control: a preloaded library shows in maps"
# a C library that is none (no symbols): a program that honours
# LD_LIBRARY_PATH pointing at it cannot start
mkdir -p "$T/evil/fakelibc"; chmod 755 "$T/evil/fakelibc"
echo 'int spfs_fake_libc;' >"$T/evil/fakelibc.c"
gcc -shared -fPIC -nostdlib -Wl,-soname,libc.so.6 -o "$T/evil/fakelibc/libc.so.6" "$T/evil/fakelibc.c" || fail "cannot build the fake libc"
chmod 755 "$T/evil/fakelibc/libc.so.6"
expect_status 127 env LD_LIBRARY_PATH="$T/evil/fakelibc" /bin/true
expect_match "$ERR" "evil/fakelibc/libc.so.6" "control: LD_LIBRARY_PATH loads the fake libc where it is honoured"
for via in direct spfs; do
	if [ $via = direct ]; then
		# (with the fake libc on LD_LIBRARY_PATH: only the helper runs here)
		as_user env "${EVILENV[@]}" LD_LIBRARY_PATH="$T/evil/fakelibc" SPFS_ENTER_TEST_PAUSE="mounted:$T/u/pause" \
			"$T/kbin/spfs-enter" --store "$S" --id $ID --edit 1m --render "$HA" -- true &
	else
		as_user env "${EVILENV[@]}" SPFS_RUNTIME_MODE=helper SPFS_ENTER_TEST_PAUSE="mounted:$T/u/pause" \
			"$T/kbin/spfs" run --edit a -- true &
	fi
	P=$!
	read -r HP <"$T/u/pause"
	PCAPS=$(awk '/^CapEff/ {print $2}' "/proc/$HP/status")
	PENV=$(tr '\0' '\n' <"/proc/$HP/environ")
	PMAPS=$(grep -E 'evil|gconv' "/proc/$HP/maps" || true)
	echo go >"$T/u/pause"
	wait $P || fail "$via: the paused helper failed"
	expect_match "$PCAPS" "[1-9a-f]" "$via: the helper was paused while privileged"
	expect_eq "$PMAPS" "" "$via: no library of the caller's mapped while privileged"
	if [ $via = direct ]; then
		# called directly, the helper is given the caller's environment
		# (the loader ignores it: secure exec): the check below can fail
		expect_match "$PENV" "^LD_PRELOAD=" "control: the environment check sees what the caller gave"
		expect_match "$PENV" "^LD_LIBRARY_PATH=$T/evil/fakelibc$" "control: and the fake libc's directory"
	else
		expect_eq "$PENV" "SPFS_ENTER_TEST_PAUSE=mounted:$T/u/pause" \
			"spfs run gives the privileged helper none of the caller's environment"
	fi
done
no_leak "after the pause tests"

# --- an editable runtime never builds its overlay in the initial user
# namespace. A root-owned 0700 directory in a lower layer, covered by the
# user's same-path directory in a higher one: its entries must stay
# unreachable (an overlay made with CAP_DAC_OVERRIDE over root's files
# would list and read them).
mkdir -p "$T/u/v1/vault2" "$T/u/v2/vault2"; echo x >"$T/u/v1/vault2/placeholder"; echo mine >"$T/u/v2/vault2/mine"
chown -R "$U" "$T/u/v1" "$T/u/v2"
expect_status 0 us commit "$T/u/v1" -t v1; expect_status 0 us commit "$T/u/v2" -t v2
expect_status 0 us render v1; RV1=$OUT
echo topsecret2 >"$RV1/vault2/secret"; chmod 644 "$RV1/vault2/secret"
chown root:root "$RV1/vault2" "$RV1/vault2/secret"; chmod 700 "$RV1/vault2"
PEEK='ls /spfs/vault2; cat /spfs/vault2/secret'
# control: root's own runtime reads it, so the check below can fail
expect_status 0 env SPFS_STORAGE="$S" "$SP" run --edit v1+v2 -- sh -c "$PEEK"
expect_match "$OUT" "topsecret2" "control: root reads the covered directory"
rc=0; OUT=$(SPFS_RUNTIME_MODE=helper us run --edit v1+v2 -- sh -c "$PEEK" 2>&1) || rc=$?
[ $rc != 0 ] || fail "helper: the covered directory was listed and read: $OUT"; ok
expect_eq "$(grep -c 'topsecret2\|^secret$' <<<"$OUT" || true)" 0 "helper: the covered root-owned directory stays closed"
# The user's quota of user namespaces used up: the helper's child cannot
# make its namespace. Done in a user namespace of the test's (all ids
# mapped onto themselves, so the helper's file capabilities hold there and
# root's files are root's) whose own user.max_user_namespaces is small:
# the host's limit is never touched. The user holds namespaces through
# descriptors until unshare fails, then runs the editable runtime.
cat >"$T/userns.py" <<'PY'
# userns.py CMD...: runs CMD as root of a new user namespace mapping every
# id onto itself, with a mount namespace of its own
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
r, w = os.pipe(); r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w); os.close(r2)
    if libc.unshare(0x10000000 | 0x00020000) != 0:
        os._exit(126)
    os.write(w2, b"x"); os.close(w2)
    os.read(r, 1)
    os.execvp(sys.argv[1], sys.argv[1:])
os.close(r); os.close(w2)
if os.read(r2, 1) != b"x":
    sys.exit(126)
for f in ("uid_map", "gid_map"):
    with open("/proc/%d/%s" % (pid, f), "w") as m:
        m.write("0 0 4294967295\n")
os.write(w, b"x")
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
PY
cat >"$T/hold.py" <<'PY'
# hold.py CMD...: makes user namespaces, each held by a descriptor, until
# the kernel refuses one (at most 10000), then runs CMD while holding them
import ctypes, errno, os, signal, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
held = []
for _ in range(10000):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        e = 0 if libc.unshare(0x10000000) == 0 else ctypes.get_errno()
        os.write(w, str(e).encode()); os.close(w)
        signal.pause()
        os._exit(0)
    os.close(w)
    e = int(os.read(r, 16) or b"-1"); os.close(r)
    if e == 0:
        held.append(os.open("/proc/%d/ns/user" % pid, os.O_RDONLY))
    os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
    if e:
        break
print("held %d, then %s" % (len(held), errno.errorcode.get(e, e)), file=sys.stderr)
if e not in (errno.ENOSPC, errno.EUSERS):
    sys.exit(3)
sys.exit(subprocess.run(sys.argv[1:]).returncode)
PY
chmod 644 "$T/userns.py" "$T/hold.py"
probe=$(python3 "$T/userns.py" sh -c 'echo 5 >/proc/sys/user/max_user_namespaces && cat /proc/sys/user/max_user_namespaces' 2>&1) || true
expect_eq "$probe" 5 "a user namespace of the test's with its own limit"
expect_eq "$(cat /proc/sys/user/max_user_namespaces)" "$HOST_MAX_USERNS" "the host's limit is untouched"
INNS=(python3 "$T/userns.py" sh -c 'echo 5 >/proc/sys/user/max_user_namespaces && exec "$@"' sh
	setpriv --reuid="$UID_" --regid="$GID_" --clear-groups --inh-caps=-all env HOME="$T/u" SPFS_STORAGE="$S" SPFS_RUNTIME_MODE=helper)
# in that namespace, without exhaustion, the helper works as on the host
expect_status 0 "${INNS[@]}" "$SP" run --edit v1+v2 -- sh -c 'echo ok >/spfs/new; cat /spfs/new /spfs/vault2/mine'
expect_eq "$OUT" "$(printf 'ok\nmine')" "the helper inside the test's user namespace"
rc=0; OUT=$("${INNS[@]}" "$SP" run --edit v1+v2 -- sh -c "$PEEK" 2>&1) || rc=$?
[ $rc != 0 ] && ! grep -q 'topsecret2' <<<"$OUT" || fail "the covered directory was read in the test's namespace: $OUT"; ok
# exhausted: exit 125, a clear message, nothing read
expect_status 125 "${INNS[@]}" python3 "$T/hold.py" "$SP" run --edit v1+v2 -- sh -c "$PEEK"
expect_match "$ERR" "held 5, then E(NOSPC|USERS)" "the user's quota was used up"
expect_match "$ERR" "cannot make a user namespace.*limit is reached.*max_user_namespaces is 5" "the helper says why"
expect_eq "$(grep -c topsecret2 <<<"$OUT$ERR" || true)" 0 "exhausted: the covered directory stays closed"
expect_status 125 "${INNS[@]}" python3 "$T/hold.py" "$SP" run --durable dv v1+v2 -- sh -c "$PEEK"
expect_match "$ERR" "limit is reached" "a durable runtime fails closed too"
no_leak "after the exhaustion attack"

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
