#!/usr/bin/env bash
# `cmake --install BUILD --prefix ~/somewhere` as a user who is not root:
# installs the commands, spfs-enter, the man pages and the completions,
# and instead of failing at setcap says that root must run the exact
# setcap command printed (with or without setcap on PATH); spfs then runs
# rootless (auto mode), and after root runs the printed command, through
# the helper. As root the install sets the capabilities itself.
# The user cannot be expected to reach the build tree (a checkout under a
# 0700 home or mktemp -d): the install scripts and the files they name are
# staged into a directory of the user's, with the paths rewritten.
# Needs root (useradd, setcap).
set -euo pipefail
if [ -z "${SPAWN_INSTALL_TEST_NS:-}" ]; then
	if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (test user, setcap)"; exit 77; fi
	for c in unshare useradd setpriv setcap getcap cmake man; do
		command -v $c >/dev/null || { echo "FAILED: $c is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
	done
	# runtimes through the helper mount in namespaces of their own; a
	# private one of the test's keeps any mistake off the host
	export SPAWN_INSTALL_TEST_NS=1
	exec unshare -m --propagation private bash -c 'mount --make-rshared / && exec bash "$0"' "$0"
fi
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "$SPAWN_BIN/.." && pwd)
[ -f "$BUILD/cmake_install.cmake" ] || fail "no cmake_install.cmake in $BUILD"
U=spawn-in-$$
useradd --system --no-create-home --shell /bin/sh "$U" || fail "useradd"
UID_=$(id -u "$U"); GID_=$(id -g "$U")
trap 'rc=$?; userdel "$U" 2>/dev/null; (exit $rc); cleanup' EXIT
[ -d /spfs ] || mkdir /spfs
CAPS=cap_dac_override,cap_setpcap,cap_sys_admin+ep
CAPS_RE=${CAPS/+/\\+}

chmod 755 "$T"
H=$T/home
mkdir -p "$H"
# Stage the install: every cmake_install.cmake, with the build directory's
# path replaced by the copy's, and every file of the build they install.
S=$H/build
(cd "$BUILD" && find . -name cmake_install.cmake) | while read -r f; do
	mkdir -p "$S/$(dirname "$f")"; cp "$BUILD/$f" "$S/$f"
done
find "$S" -name cmake_install.cmake -exec sed -i "s|$BUILD/|$S/|g; s|\"$BUILD\"|\"$S\"|g" {} +
staged=0
for f in $(grep -ohE "\"$S/[^\"]+\"" $(find "$S" -name cmake_install.cmake) | tr -d '"' | sort -u); do
	[ -e "$f" ] && continue
	[ -e "$BUILD/${f#"$S"/}" ] || continue # written by the install (the manifest)
	mkdir -p "$(dirname "$f")"; cp -p "$BUILD/${f#"$S"/}" "$f"
	staged=$((staged + 1))
done
[ "$staged" -ge 5 ] || fail "only $staged installed files found in the install scripts"
chown -R "$U" "$H"
as_user() { setpriv --reuid="$UID_" --regid="$GID_" --clear-groups --inh-caps=-all env HOME="$H" "$@"; }

# 1. as the user, setcap on PATH (it fails: not permitted)
P=$H/somewhere
expect_status 0 as_user cmake --install "$S" --prefix "$P"
MSG="$OUT$ERR"
expect_match "$MSG" "only root can set" "the install says why the helper has no capabilities"
expect_match "$MSG" "^    setcap $CAPS_RE $P/libexec/spfs-enter\$" "the exact setcap command for root"
expect_match "$MSG" "rootless" "says that runtimes run rootless until then"
for f in bin/spfs bin/spk libexec/spfs-enter share/man/man1/spfs.1 share/man/man1/spk.1 \
	share/bash-completion/completions/spfs share/bash-completion/completions/spk \
	share/zsh/site-functions/_spfs share/zsh/site-functions/_spk; do
	[ -f "$P/$f" ] || fail "$P/$f was not installed"
	expect_eq "$(stat -c %u "$P/$f")" "$UID_" "$f is the user's"
done
expect_eq "$(getcap "$P/libexec/spfs-enter")" "" "no capabilities without root"
expect_status 0 as_user "$P/bin/spfs" --version
expect_status 0 as_user env MANPATH="$P/share/man" man -P cat spfs
expect_match "$OUT" "spfs runtime ls" "man spfs from the installed MANPATH"
expect_status 0 as_user bash -c ". '$P/share/bash-completion/completions/spk'; COMP_WORDS=(spk bu); COMP_CWORD=1; _spk; echo \${COMPREPLY[*]}"
expect_eq "$OUT" build "the installed bash completion"

# 2. again, without setcap on PATH (a user's usual PATH has no sbin)
P2=$H/other
expect_status 0 as_user env PATH=/usr/bin:/bin cmake --install "$S" --prefix "$P2"
expect_match "$OUT$ERR" "^    setcap $CAPS_RE $P2/libexec/spfs-enter\$" "the setcap command, setcap not on PATH"
[ -x "$P2/bin/spfs" ] && [ -x "$P2/bin/spk" ] || fail "commands not installed without setcap on PATH"
ok

# 3. the installed spfs runs: rootless in auto mode (a user namespace that
# maps only the user's ids), through the helper once root ran the command
export SPFS_STORAGE=$H/store
us() { as_user env -u SPFS_RUNTIME_MODE "$P/bin/spfs" "$@"; }
mkdir -p "$H/tree"; echo hi >"$H/tree/f"; chown -R "$U" "$H/tree"
expect_status 0 us init
L=$(us commit "$H/tree")
expect_status 125 env SPFS_RUNTIME_MODE=helper setpriv --reuid="$UID_" --regid="$GID_" --clear-groups \
	--inh-caps=-all env HOME="$H" "$P/bin/spfs" run "$L" -- true
expect_match "$ERR" "no usable spfs-enter" "helper mode refused without the capabilities"
if probe=$(as_user unshare -Ur -m true 2>&1); then
	expect_status 0 us run "$L" -- sh -c 'cat /spfs/f; cat /proc/self/uid_map'
	expect_match "$OUT" "^hi" "rootless run of the installed spfs"
	expect_match "$OUT" "^ *$UID_ +$UID_ +1\$" "auto mode without the helper's capabilities: rootless"
else
	echo "note: unprivileged user namespaces are not allowed here ($probe): no rootless run"
fi
# root runs what the install printed
cmd=$(grep -E "^    setcap " <<<"$MSG" | sed 's/^ *//')
bash -c "$cmd" || fail "the printed command failed: $cmd"
expect_match "$(getcap "$P/libexec/spfs-enter")" "cap_dac_override,cap_setpcap,cap_sys_admin=ep" "capabilities set by the printed command"
expect_status 0 us run "$L" -- sh -c 'cat /spfs/f; cat /proc/self/uid_map'
expect_match "$OUT" "^hi" "run through the helper"
expect_match "$OUT" "^ +0 +0 +4294967295\$" "auto mode with the helper: no user namespace"

# 4. as root the install sets the capabilities itself
R=$T/rootprefix
expect_status 0 cmake --install "$S" --prefix "$R"
expect_match "$OUT" "spfs-enter: $CAPS_RE" "root install reports the capabilities"
expect_match "$(getcap "$R/libexec/spfs-enter")" "cap_dac_override,cap_setpcap,cap_sys_admin=ep" "root install setcaps"
[ -f "$R/share/man/man1/spk.1" ] || fail "root install: no man page"
ok
