# lib_user.sh - run a flow as a user who is not root, the way a newcomer
# meets Spawn: the commands installed into a prefix (cmake --install, run as
# root so that spfs-enter gets its file capabilities by setcap), a user made
# by useradd with a HOME of its own and the default store under it, and the
# flow run once through the installed helper (the default mode, auto) and
# once rootless. Source it after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/lib_user.sh"
#   user_setup                 # stage, create $U, probe the modes
#   flow() { expect_status 0 us run ...; }
#   user_modes flow            # flow once per mode, $MODE = helper|rootless
#
# The user never reads the build or the source tree (a clone may sit below
# a 0700 directory, such as root's home): everything it runs is in $STAGE,
# and what a flow needs of the tests' data goes through user_data, which
# copies it below $T. Nothing is skipped for not being root inside the
# flow: a flow that only works as root fails. Skips: not root (no user can
# be made), or no user namespaces at all (then rootless mode only; the
# helper mode still runs).

# The build directory is the parent of $SPAWN_BIN (BUILD/cli).
user_build_dir() {
	local b
	b=$(cd "$SPAWN_BIN/.." && pwd)
	[ -f "$b/cmake_install.cmake" ] || fail "$b (from SPAWN_BIN=$SPAWN_BIN) is not a cmake build directory"
	echo "$b"
}

user_skip() {
	echo "SKIP: $*"
	trap - EXIT
	[ -z "${U:-}" ] || userdel "$U" 2>/dev/null || true
	rm -rf "$T"
	exit 77
}

# user_setup: $STAGE (the installed prefix), $U/$UID_/$GID_, $MODES (helper,
# and rootless where the kernel allows unprivileged user namespaces), and
# the first mode's home (user_home).
user_setup() {
	[ "$(id -u)" = 0 ] || user_skip "needs root to create a test user and setcap the helper"
	local c
	for c in useradd userdel setpriv setcap getcap cmake; do
		command -v $c >/dev/null || fail "$c is missing (scripts/install-deps.sh installs it)"
	done
	chmod 711 "$T"
	STAGE=$T/prefix
	cmake --install "$(user_build_dir)" --prefix "$STAGE" >"$T/.install" 2>&1 ||
		fail "cmake --install --prefix $STAGE: $(cat "$T/.install")"
	chmod -R a+rX "$STAGE"
	[ -x "$STAGE/bin/spfs" ] && [ -x "$STAGE/bin/spk" ] || fail "cmake --install put no spfs/spk in $STAGE/bin"
	getcap "$STAGE/libexec/spfs-enter" | grep -q cap_sys_admin || fail "the staged spfs-enter has no capabilities"
	U=spawn-u$$
	useradd --system --no-create-home --shell /bin/sh "$U" || fail "useradd $U"
	trap 'rc=$?; user_teardown; (exit $rc); cleanup' EXIT
	UID_=$(id -u "$U")
	GID_=$(id -g "$U")
	[ -d /spfs ] || mkdir /spfs
	MODE=helper
	user_home
	MODES=(helper)
	local probe
	if probe=$(as_user unshare -Ur -m true 2>&1); then MODES+=(rootless); else
		echo "note: rootless mode not tested, the kernel refuses unprivileged user namespaces: $probe"
	fi
}

user_teardown() {
	set +e
	# a flow that failed may have left the user's processes behind: only
	# those this shell started are stopped (cleanup does that); then the
	# user goes
	local j
	for j in $(jobs -p); do kill -KILL "$j" 2>/dev/null; wait "$j" 2>/dev/null; done
	userdel "$U" 2>/dev/null || userdel -f "$U" 2>/dev/null || echo "warning: userdel $U failed" >&2
}

# as_user CMD...: CMD as the user, with a login-like environment of its own
# (nothing of root's, no SPFS_STORAGE: the default store under its HOME), the
# staged commands first on PATH, and the mode of the current flow. VAR=value
# words may come first.
as_user() {
	local keep=()
	local v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS SPAWN_NO_PROGRESS; do
		[ -z "${!v:-}" ] || keep+=("$v=${!v}")
	done
	[ "${MODE:-helper}" = helper ] || keep+=("SPFS_RUNTIME_MODE=$MODE")
	setpriv --reuid="$UID_" --regid="$GID_" --clear-groups --inh-caps=-all \
		env -i HOME="$UHOME" USER="$U" LOGNAME="$U" SHELL=/bin/sh LANG=C.UTF-8 \
		PATH="$STAGE/bin:/usr/local/bin:/usr/bin:/bin" TMPDIR=/tmp "${keep[@]}" \
		sh -c 'cd "$HOME" && exec "$@"' sh "$@"
}
us() { as_user spfs "$@"; }
uspk() { as_user spk "$@"; }

# user_data SRC [NAME]: copy SRC (a file or directory of the tests' data,
# which may be unreachable for the user) to $UHOME/NAME, owned by the user;
# prints the copy's path.
user_data() {
	local dst=$UHOME/${2:-$(basename "$1")}
	cp -r "$1" "$dst" || fail "cannot copy $1"
	chown -R "$U:" "$dst" || fail "cannot chown $dst"
	echo "$dst"
}

# user_home: a fresh HOME for the current $MODE ($UHOME, 0700, the user's),
# and the store a newcomer gets there: `spfs init` with no configuration
# makes the default one, $USTORE (~/.local/share/spfs).
user_home() {
	UHOME=$T/home-$MODE
	USTORE=$UHOME/.local/share/spfs
	[ ! -e "$UHOME" ] || return 0
	mkdir -p "$UHOME"
	chown "$U:" "$UHOME"
	chmod 700 "$UHOME"
	expect_status 0 us init
	[ -d "$USTORE/objects" ] || fail "spfs init as $U made no store at $USTORE: $OUT $ERR"
	ok
}

# user_modes FLOW: FLOW once per mode in $MODES, with $MODE set and a HOME
# (and store) of its own. In helper mode SPFS_RUNTIME_MODE is left unset
# (the default, auto) and it is first checked that auto does pick the
# installed helper, so a fallback to rootless cannot pass for the helper.
user_modes() {
	for MODE in "${MODES[@]}"; do
		echo "== $1 as $U, mode $MODE"
		user_home
		user_check_mode
		"$1"
	done
	MODE=helper
	UHOME=$T/home-helper
	USTORE=$UHOME/.local/share/spfs
}

# The mode really is the one asked for: through the helper the command is in
# the initial user namespace, rootless in one mapping only the user's id.
user_check_mode() {
	[ -d "$T/.mode-layer" ] || { mkdir -p "$T/.mode-layer"; chmod 755 "$T/.mode-layer"; }
	expect_status 0 as_user sh -c "spfs run \"\$(spfs commit $T/.mode-layer)\" -- cat /proc/self/uid_map"
	if [ "$MODE" = helper ]; then
		expect_match "$OUT" "^ +0 +0 +4294967295$" "mode auto uses the installed helper"
	else
		expect_match "$OUT" "^ +$UID_ +$UID_ +1$" "rootless: a user namespace of the user's own"
	fi
}
