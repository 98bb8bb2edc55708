#!/usr/bin/env bash
# The command's environment and signals for a user who is not root, through
# the setcap helper (SPFS_RUNTIME_MODE=helper) and rootless alike, as a user
# this test creates (docs/runtime.md, "Root or not"):
#   - spfs run: the caller's own variables (MYLICENSE), PATH and LD_* reach
#     the command as they were given;
#   - spk env: a package's install.environment (a set, a PATH prepend) and
#     the user's variables reach the command;
#   - spk build: $PREFIX and the SPK_* variables reach the build script
#     (the build succeeds, its package records $PREFIX);
#   - signals: a caller that ignores SIGINT and SIGTERM and blocks SIGUSR1;
#     through the helper the command starts with every disposition default
#     and nothing blocked (SigIgn, SigBlk of /proc/self/status).
# The commands are staged into a directory the user can reach, the helper
# with its file capabilities (the installed form). Needs root (useradd,
# setcap); rootless runs only where the kernel allows user namespaces.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (test user, setcap)"; trap - EXIT; rm -rf "$T"; exit 77; fi
for c in useradd setpriv setcap python3; do
	command -v $c >/dev/null || fail "$c is missing (scripts/install-deps.sh installs it)"
done
src=${SPAWN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
U=spfs-ev-$$
useradd --system --no-create-home --shell /bin/sh "$U" || fail "useradd"
UID_=$(id -u "$U"); GID_=$(id -g "$U")
trap 'rc=$?; userdel "$U" 2>/dev/null; (exit $rc); cleanup' EXIT
[ -d /spfs ] || mkdir /spfs

chmod 711 "$T"
mkdir -p "$T/u" "$T/bin"; chown "$U" "$T/u"
cp "$SPFS_BIN" "$SPAWN_BIN/spk" "$SPAWN_BIN/spfs-enter" "$T/bin/"
setcap cap_dac_override,cap_setpcap,cap_sys_admin+ep "$T/bin/spfs-enter" || fail "setcap"
chmod 755 "$T/bin"
cp -r "$src/tests/data/spk/repo/build" "$T/u/specs"
cat >"$T/u/specs/where.yaml" <<'YAML'
pkg: where/1.0.0
build:
  script:
    - mkdir -p "$PREFIX/share"
    - echo "prefix=$PREFIX pkg=$SPK_PKG_NAME license=${MYLICENSE:-none}" > "$PREFIX/share/where"
YAML
chown -R "$U" "$T/u/specs"
as_user() { setpriv --reuid="$UID_" --regid="$GID_" --clear-groups --inh-caps=-all env HOME="$T/u" "$@"; }
# a caller that ignores SIGINT and SIGTERM and blocks SIGUSR1, then execs
SIGCALLER=(python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
os.execvp(sys.argv[1], sys.argv[1:])')

MODES=(helper)
if probe=$(as_user unshare -Ur -m true 2>&1); then MODES+=(rootless); else
	echo "note: rootless runs skipped, unprivileged user namespaces are refused: $probe"
fi

# control: the caller's signal state as a plain child sees it
expect_status 0 as_user "${SIGCALLER[@]}" grep -E '^Sig(Ign|Blk):' /proc/self/status
expect_match "$OUT" "^SigBlk:[[:space:]]+0000000000000200$" "control: the caller blocks SIGUSR1"
IGN=$(awk '/^SigIgn/ {print $2}' <<<"$OUT")
[ $((0x$IGN & 0x4002)) = $((0x4002)) ] || fail "control: the caller ignores SIGINT and SIGTERM ($IGN)"; ok

for MODE in "${MODES[@]}"; do
	echo "== mode $MODE"
	S=$T/u/store-$MODE
	us() { as_user env SPFS_STORAGE="$S" SPFS_RUNTIME_MODE="$MODE" "$@"; }
	expect_status 0 us "$T/bin/spfs" init
	mkdir -p "$T/u/l$MODE"; echo A >"$T/u/l$MODE/file"; chown -R "$U" "$T/u/l$MODE"
	expect_status 0 us "$T/bin/spfs" commit "$T/u/l$MODE" -t a
	if [ "$MODE" = helper ]; then # the helper really is used
		expect_status 0 us "$T/bin/spfs" run a -- cat /proc/self/uid_map
		expect_match "$OUT" "^ +0 +0 +4294967295$" "helper: no user namespace"
	fi

	# spfs run: the caller's environment, whole
	expect_status 0 us env MYLICENSE=27000@lic PATH="/opt/mine/bin:/usr/bin:/bin" LD_LIBRARY_PATH=/opt/mine/lib \
		EMPTY= "$T/bin/spfs" run a -- /usr/bin/env
	for v in MYLICENSE=27000@lic PATH=/opt/mine/bin:/usr/bin:/bin LD_LIBRARY_PATH=/opt/mine/lib EMPTY= \
		SPFS_STORAGE="$S" HOME="$T/u"; do
		expect_eq "$(grep -cxF -- "$v" <<<"$OUT")" 1 "$MODE: spfs run passes $v"
	done
	expect_match "$OUT" "^SPFS_RUNTIME=[0-9a-f]{16}$" "$MODE: SPFS_RUNTIME set"
	# a value with a newline and one of 100 KiB arrive intact
	BIG=$(head -c 102400 /dev/zero | tr '\0' x)
	expect_status 0 us env "ML=$(printf 'one\ntwo')" BIG="$BIG" "$T/bin/spfs" run a -- \
		sh -c 'printf "%s|" "$ML"; printf "%s" "$BIG" | wc -c'
	expect_eq "$OUT" "$(printf 'one\ntwo|102400')" "$MODE: multi-line and large values"

	# spk build: $PREFIX and the SPK_* variables reach the script
	expect_status 0 us env MYLICENSE=27000@lic "$T/bin/spk" build "$T/u/specs/where.yaml"
	expect_match "$OUT" "^built where/1.0.0/" "$MODE: spk build as the user"
	expect_status 0 us "$T/bin/spk" env where -- cat /spfs/share/where
	expect_eq "$OUT" "prefix=/spfs pkg=where license=27000@lic" "$MODE: the build script saw \$PREFIX"
	expect_status 0 us "$T/bin/spk" build "$T/u/specs/greetlib.yaml"
	expect_status 0 us "$T/bin/spk" build "$T/u/specs/greet.yaml"
	expect_match "$OUT" "^built greet/2.0.0/" "$MODE: a build using another package's environment"

	# spk env: install.environment (set, PATH prepend) and the user's own
	expect_status 0 us env MYLICENSE=27000@lic "$T/bin/spk" env greet -- \
		sh -c 'echo "$GREET_LIB $MYLICENSE ${PATH%%:*}"; greet'
	expect_eq "$OUT" "$(printf '/spfs/lib/libgreet.txt 27000@lic /spfs/bin\nhello from greet 2.0.0 using greet-plain')" \
		"$MODE: spk env: the packages' environment and the user's"

	# signals
	expect_status 0 us "${SIGCALLER[@]}" "$T/bin/spfs" run a -- grep -E '^Sig(Ign|Blk):' /proc/self/status
	if [ "$MODE" = helper ]; then
		expect_eq "$OUT" "$(printf 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000')" \
			"helper: the command starts with default dispositions and nothing blocked"
	fi
done
