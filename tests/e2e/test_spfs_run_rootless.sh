#!/usr/bin/env bash
# spfs run as an unprivileged user (rootless: a user namespace mapping only
# the user's own ids): the command sees its layers, keeps its uid, has no
# capability (effective, permitted, bounding, ambient) and NoNewPrivs set; a
# setuid-root binary from a layer gains nothing; nothing reaches the host's
# mount table, also after kill -9; --edit, commit and durable runtimes work.
# Needs root to create the user; skipped where unprivileged user namespaces
# with overlayfs are not allowed.
. "$(dirname "$0")/lib.sh"
skip() { echo "SKIP: $*"; trap - EXIT; [ -z "${U:-}" ] || userdel "$U" 2>/dev/null; rm -rf "$T"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to create a test user"
command -v useradd >/dev/null && command -v setpriv >/dev/null || skip "needs useradd and setpriv"
U=spfs-rl-$$
useradd --system --no-create-home --shell /bin/sh "$U" 2>/dev/null || skip "useradd failed"
UID_=$(id -u "$U"); GID_=$(id -g "$U")
trap 'rc=$?; userdel "$U" 2>/dev/null; (exit $rc); cleanup' EXIT
[ -d /spfs ] || mkdir /spfs

chmod 711 "$T"
mkdir -p "$T/u"; chown "$U" "$T/u"
export SPFS_STORAGE=$T/u/store
export SPFS_RUNTIME_MODE=rootless # not an installed spfs-enter (test_spfs_enter.sh tests both)
as_user() { setpriv --reuid="$UID_" --regid="$GID_" --clear-groups --inh-caps=-all env HOME="$T/u" "$@"; }
us() { as_user "$SPFS_BIN" "$@"; }
probe=$(as_user unshare -Ur -m true 2>&1) || skip "unprivileged user namespaces are not allowed here: $probe"
host_mounts() { grep -E " /spfs | $T" /proc/self/mountinfo | sed 's/^[0-9]* [0-9]* //' | sort || true; }
BEFORE=$(host_mounts)

expect_status 0 us init
mkdir -p "$T/u/a/bin" "$T/u/b"; echo A >"$T/u/a/file"; echo keep >"$T/u/a/keep"; echo B >"$T/u/b/file"
chown -R "$U" "$T/u/a" "$T/u/b"
expect_status 0 us commit "$T/u/a" -t a; expect_status 0 us commit "$T/u/b" -t b

expect_status 0 us run a+b -- sh -c 'cat /spfs/file /spfs/keep; id -u'
expect_eq "$OUT" "$(printf 'B\nkeep\n%s' "$UID_")" "the stack, as the user's own uid"
expect_status 0 us run a+b -- grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status
expect_eq "$(echo "$OUT" | awk '{print $2}' | tr '\n' ' ')" "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000 1 " \
	"no capability at all, NoNewPrivs"
expect_status 0 us run a+b -- grep -E ' /spfs .*nosuid,nodev' /proc/self/mountinfo
expect_status 2 us run a -- sh -c 'echo x > /spfs/x'; expect_match "$ERR" "Read-only" "read-only"
expect_status 125 us run ../../etc -- true; expect_match "$ERR" "cannot start a runtime" "a path is not a ref"
expect_status 125 us run /etc -- true
expect_eq "$(host_mounts)" "$BEFORE" "host mount table unchanged"

# A setuid-root binary in a layer: the store keeps no setuid bit, and the
# mount is nosuid besides.
mkdir -p "$T/suid"; cp /usr/bin/id "$T/suid/id"; chown root "$T/suid/id"; chmod 4755 "$T/suid/id"
SL=$(us commit "$T/suid")
expect_status 0 us run "$SL" -- sh -c 'test -u /spfs/id && echo setuid; /spfs/id -u; /spfs/id -u -r'
expect_eq "$OUT" "$(printf '%s\n%s' "$UID_" "$UID_")" "setuid bit dropped, no privilege gained"

# Editable, commit layer (a deletion as a mask), diff; durable runtimes.
expect_status 0 us run --edit a -- sh -c "rm /spfs/keep; echo n > /spfs/new; $SPFS_BIN diff; $SPFS_BIN commit layer -t e >/dev/null"
expect_eq "$OUT" "$(printf -- '- keep\n+ new')" "diff in a rootless runtime"
expect_status 0 us run a+e -- ls /spfs; expect_eq "$OUT" "$(printf 'bin\nfile\nnew')" "the mask hides the lower file"
expect_status 1 us run a -- "$SPFS_BIN" edit; expect_match "$ERR" "start it with --edit" "spfs edit needs root"
expect_status 0 us run --durable d a -- sh -c 'echo 1 > /spfs/d'
expect_status 0 us run --rerun d -- cat /spfs/d; expect_eq "$OUT" 1 "durable rootless runtime"

# kill -9 of everything leaves no mount behind; prune cleans the record.
as_user "$SPFS_BIN" run a -- sh -c "echo \$\$ > $T/u/pid; exec sleep 30" &
P=$!
for _ in $(seq 100); do [ -s "$T/u/pid" ] && break; sleep 0.05; done
kill -9 $P "$(cat "$T/u/pid")"; wait $P 2>/dev/null || true
expect_status 0 us runtime prune
expect_eq "$(host_mounts)" "$BEFORE" "no mount after kill -9"
expect_status 0 us runtime rm d
