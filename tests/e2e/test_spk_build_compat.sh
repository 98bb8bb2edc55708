#!/usr/bin/env bash
# e2e: spk build as SPK runs builds: scripts under bash -ex (bash syntax,
# each command in the log), pkg options giving the build component, host
# options (auto_host_vars) filled from the host and steered with --opt,
# SPK_PKG_* build variables of the build and of its environment.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount namespaces)"; trap - EXIT; rm -rf "$T"; exit 77; }
SPK="$SPAWN_BIN/spk"
spk() { "$SPK" "$@"; }
spfs init >/dev/null
built_id() { sed -nE "s|^built $1/([A-Z2-7]{8}).*|\1|p" <<<"$OUT"; }

# 1. bash syntax, as 11 of SPI's recipes use it: [[ ]], +=, brace
# expansion, arrays, `source` of a file from the sources
mkdir -p "$T/bashy"
echo 'FROM_SOURCED=yes' >"$T/bashy/vars.sh"
cat >"$T/bashy/bashy.yaml" <<'EOF'
pkg: bashy/1.0.0
build:
  auto_host_vars: None
  script:
    - source ./vars.sh
    - flags="-O2"
    - flags+=" -g"
    - mkdir -p $PREFIX/share/{one,two}
    - arr=(a b c)
    - if [[ "$flags" == *-g* && "${arr[*]}" == "a b c" ]]; then echo "ok $flags $FROM_SOURCED ${arr[2]}" > $PREFIX/share/one/out; fi
EOF
expect_status 0 spk build "$T/bashy/bashy.yaml"
id=$(built_id bashy/1.0.0)
expect_status 0 spfs cat "spk/pkg/bashy/1.0.0/$id/run" share/one/out
expect_eq "$OUT" "ok -O2 -g yes c" "bash syntax runs as bash"
expect_status 0 spfs ls "spk/pkg/bashy/1.0.0/$id/run" share
expect_match "$OUT" "two" "brace expansion made both directories"
# -e stops at the first failure and -x logs each command
cat >"$T/bashy/stops.yaml" <<'EOF'
pkg: stops/1.0.0
build:
  script:
    - echo first
    - false
    - echo never
EOF
expect_status 1 spk build "$T/bashy/stops.yaml"
log=$(sed -n 's/^--- full log: //p' <<<"$ERR")
expect_match "$(cat "$log")" "^\+ echo first" "each command is logged (-x)"
expect_match "$(cat "$log")" "^\+ false" "the failing command is logged"
[ -z "$(grep -x never "$log")" ] || fail "-e stops at the first failure"; ok

# 2. pkg options: the build component by default, the named ones else
mkdir -p "$T/comp"
cat >"$T/comp/lib.yaml" <<'EOF'
pkg: lib/1.4.2
build:
  auto_host_vars: None
  script:
    - mkdir -p $PREFIX/include $PREFIX/lib
    - echo header > $PREFIX/include/lib.h
    - echo shared > $PREFIX/lib/lib.so
install:
  components:
    - name: build
      files: [/include/]
    - name: run
      files: [/lib/]
EOF
expect_status 0 spk build "$T/comp/lib.yaml"
cat >"$T/comp/user.yaml" <<'EOF'
pkg: user/1.0.0
build:
  auto_host_vars: None
  options:
    - pkg: lib/1.4
  script:
    - mkdir -p $PREFIX/share
    - ls /spfs/include /spfs/lib > $PREFIX/share/seen 2>&1 || true
    - echo "$SPK_PKG_lib_VERSION_MAJOR $SPK_PKG_lib_VERSION_MINOR $SPK_PKG_lib_VERSION_PATCH $SPK_PKG_lib_VERSION_BASE $SPK_PKG_lib_VERSION" > $PREFIX/share/libver
    - echo "$SPK_PKG_NAME $SPK_PKG_VERSION_MAJOR $SPK_PKG_VERSION_MINOR $SPK_PKG_VERSION_PATCH $SPK_PKG_VERSION_BASE $SPK_PKG_BUILD $SPK_PKG" > $PREFIX/share/selfver
EOF
expect_status 0 spk build "$T/comp/user.yaml"
uid=$(built_id user/1.0.0)
expect_status 0 spfs cat "spk/pkg/user/1.0.0/$uid/run" share/seen
expect_match "$OUT" "lib.h" "the build environment has lib's build component"
expect_match "$OUT" "cannot access '/spfs/lib'" "and not its run component"
# 7. build variables of the environment and of the build
expect_status 0 spfs cat "spk/pkg/user/1.0.0/$uid/run" share/libver
expect_eq "$OUT" "1 4 2 1.4.2 1.4.2" "SPK_PKG_lib_VERSION_*"
expect_status 0 spfs cat "spk/pkg/user/1.0.0/$uid/run" share/selfver
expect_eq "$OUT" "user 1 0 0 1.0.0 $uid user/1.0.0/$uid" "SPK_PKG_* of the build"
sed 's|pkg: lib/1.4|pkg: lib:run/1.4|' "$T/comp/user.yaml" >"$T/comp/user-run.yaml"
expect_status 0 spk build "$T/comp/user-run.yaml"
rid=$(built_id user/1.0.0)
expect_status 0 spfs cat "spk/pkg/user/1.0.0/$rid/run" share/seen
expect_match "$OUT" "lib.so" "lib:run gives the run component"
expect_match "$OUT" "cannot access '/spfs/include'" "and not the build component"
# at run time a requirement gets the run component (spk env)
expect_status 0 spk env lib -- cat /spfs/lib/lib.so
expect_eq "$OUT" "shared" "spk env gives the run component"

# 4. host options: declared or gained (auto_host_vars, default Distro)
. /etc/os-release
arch=$(uname -m)
mkdir -p "$T/host"
cat >"$T/host/hosty.yaml" <<'EOF'
pkg: hosty/1.0.0
build:
  options:
    - var: arch
    - var: os
  script:
    - mkdir -p $PREFIX/share
    - echo "$SPK_OPT_arch $SPK_OPT_os $SPK_OPT_distro ${SPK_OPT_distro:+$(eval echo \$SPK_OPT_$SPK_OPT_distro)}" > $PREFIX/share/host
EOF
expect_status 0 spk build "$T/host/hosty.yaml"
hid=$(built_id hosty/1.0.0)
expect_status 0 spfs cat "spk/pkg/hosty/1.0.0/$hid/run" share/host
expect_eq "$OUT" "$arch linux $ID $VERSION_ID" "host options reach the script"
expect_status 0 spfs cat "spk/spec/hosty/1.0.0/$hid"
expect_match "$OUT" "var: 'arch/$arch'" "the host's arch is recorded"
expect_match "$OUT" "var: 'distro/$ID'" "the gained distro option is recorded"
expect_match "$OUT" "var: '$ID/$VERSION_ID'" "and the distro's version"
# --opt steers a host option: another build
# (the distro's own option stays the host's: SPK picks it from the host)
expect_status 0 spk build "$T/host/hosty.yaml" --opt distro=rocky
oid=$(built_id hosty/1.0.0)
[ -n "$oid" ] && [ "$oid" != "$hid" ] || fail "another distro, another build id"; ok
expect_status 0 spfs cat "spk/pkg/hosty/1.0.0/$oid/run" share/host
expect_match "$OUT" "^$arch linux rocky $" "--opt replaces the host's value"
# --no-host: none of them
expect_status 0 spk build "$T/host/hosty.yaml" --no-host
nid=$(built_id hosty/1.0.0)
expect_status 0 spfs cat "spk/pkg/hosty/1.0.0/$nid/run" share/host
expect_eq "$OUT" "   " "--no-host leaves the options empty"
# a recipe restricted to other distros is refused here unless told
cat >"$T/host/centos-only.yaml" <<'EOF'
pkg: centos-only/1.0.0
build:
  options:
    - var: distro
      choices: [centos, rocky]
  script:
    - mkdir -p $PREFIX/share/centos-only
EOF
expect_status 2 spk build "$T/host/centos-only.yaml"
expect_match "$ERR" "option distro: the host's '$ID' is not one of its choices" "host value checked against choices"
expect_status 0 spk build "$T/host/centos-only.yaml" --opt distro=rocky
expect_status 2 spk env --no-host lib
expect_match "$ERR" "--no-host is not an option of this command" "--no-host is spk build's"

# 9. `!` in component files: the last matching rule wins
mkdir -p "$T/neg"
cat >"$T/neg/neg.yaml" <<'EOF2'
pkg: neg/1.0.0
build:
  auto_host_vars: None
  script:
    - mkdir -p $PREFIX/lib/pkgconfig $PREFIX/bin
    - echo so > $PREFIX/lib/libneg.so
    - echo pc > $PREFIX/lib/pkgconfig/neg.pc
    - echo t > $PREFIX/bin/neg
install:
  components:
    - name: run
      files: [/lib/, '!/lib/pkgconfig', /bin/]
    - name: pc
      files: [/lib/pkgconfig/]
EOF2
expect_status 0 spk build "$T/neg/neg.yaml"
gid=$(built_id neg/1.0.0)
expect_status 0 spfs ls "spk/pkg/neg/1.0.0/$gid/run" -R
expect_match "$OUT" "libneg.so" "run has lib/"
expect_match "$OUT" "bin/neg" "run has bin/"
[ -z "$(grep pkgconfig <<<"$OUT")" ] || fail "run lacks lib/pkgconfig: $OUT"; ok
expect_status 0 spfs ls "spk/pkg/neg/1.0.0/$gid/pc" -R
expect_match "$OUT" "neg.pc" "pc has lib/pkgconfig"
# file_match_mode: Remaining takes what no earlier component matched
cat >"$T/neg/rem.yaml" <<'EOF2'
pkg: rem/1.0.0
build:
  auto_host_vars: None
  script:
    - mkdir -p $PREFIX/share/doc $PREFIX/bin
    - echo d > $PREFIX/share/doc/readme
    - echo t > $PREFIX/bin/rem
install:
  components:
    - name: docs
      files: [/share/doc/]
    - name: rest
      files: ['*']
      file_match_mode: Remaining
EOF2
expect_status 0 spk build "$T/neg/rem.yaml"
mid=$(built_id rem/1.0.0)
expect_status 0 spfs ls "spk/pkg/rem/1.0.0/$mid/rest" -R
expect_match "$OUT" "bin/rem" "rest has bin"
[ -z "$(grep readme <<<"$OUT")" ] || fail "rest lacks what docs took: $OUT"; ok
expect_status 0 spfs ls "spk/pkg/rem/1.0.0/$mid/run" -R
expect_match "$OUT" "share/doc/readme" "run (All, the default) has everything"

# 10. ifPresentInBuildEnv: a fromBuildEnv requirement only when the
# package was in the build environment; suppress: a Strong var of the
# build environment not passed on to the build's users
mkdir -p "$T/pin"
cat >"$T/pin/base.yaml" <<'EOF2'
pkg: base/1.0.0
build:
  auto_host_vars: None
  options:
    - var: inherit-me/yes
      inheritance: Strong
  script: [mkdir -p $PREFIX/base]
---
pkg: opt/2.3.4
build:
  auto_host_vars: None
  script: [mkdir -p $PREFIX/opt]
EOF2
expect_status 0 spk build "$T/pin/base.yaml"
cat >"$T/pin/without.yaml" <<'EOF2'
pkg: without/1.0.0
build:
  auto_host_vars: None
  options:
    - pkg: base
  script: [mkdir -p $PREFIX/without]
install:
  requirements:
    - var: base.inherit-me
      suppress: "without does not care how base was made"
    - pkg: opt
      fromBuildEnv: x.x
      ifPresentInBuildEnv: true
EOF2
expect_status 0 spk build "$T/pin/without.yaml"
wid=$(built_id without/1.0.0)
expect_status 0 spfs cat "spk/spec/without/1.0.0/$wid"
expect_match "$OUT" "var: 'base.inherit-me/yes'" "the Strong var is a build option"
expect_eq "$(sed -n '/^install:/,$p' <<<"$OUT" | grep -c "base.inherit-me/yes" || true)" 0 "suppressed: not an install requirement"
expect_status 0 spk env without -- sh -c 'echo "${SPK_PKG_opt:-none}"'
expect_eq "$OUT" "none" "opt was not in the build environment: no requirement"
# with opt in the build environment, the pin applies
sed -e 's|^pkg: without/1.0.0|pkg: with/1.0.0|' -e 's|    - pkg: base|    - pkg: base\n    - pkg: opt|' "$T/pin/without.yaml" >"$T/pin/with.yaml"
expect_status 0 spk build "$T/pin/with.yaml"
expect_status 0 spk env with -- sh -c 'echo "$SPK_PKG_opt_VERSION"'
expect_eq "$OUT" "2.3.4" "opt was in the build environment: required at run time"
# without ifPresentInBuildEnv the requirement stays as written
sed -e 's|^pkg: without/1.0.0|pkg: plain/1.0.0|' -e '/ifPresentInBuildEnv/d' "$T/pin/without.yaml" >"$T/pin/plain.yaml"
expect_status 0 spk build "$T/pin/plain.yaml"
expect_status 0 spk env plain -- sh -c 'echo "$SPK_PKG_opt_VERSION"'
expect_eq "$OUT" "2.3.4" "a plain fromBuildEnv requirement of a package not in the build environment stays"
# a suppress request names a var only
printf 'pkg: bad/1.0.0\nbuild:\n  script: [true]\ninstall:\n  requirements:\n    - var: base.inherit-me/yes\n      suppress: why\n' >"$T/pin/bad.yaml"
expect_status 2 spk build "$T/pin/bad.yaml"
expect_match "$ERR" "a suppress request names the var only" "suppress with a value refused"

# 8. build.validation: SPK's default rules and the recipe's
mkdir -p "$T/val"
val_recipe() { # NAME SCRIPT [RULES...]
	local name=$1 script=$2
	shift 2
	{
		printf 'pkg: %s/1.0.0\nbuild:\n  auto_host_vars: None\n  options:\n    - pkg: lib\n' "$name"
		printf '  script:\n    - mkdir -p $PREFIX/share/%s\n    - %s\n' "$name" "$script"
		if [ $# -gt 0 ]; then
			printf '  validation:\n    rules:\n'
			for r in "$@"; do printf '      - %s\n' "$r"; done
		fi
	} >"$T/val/$name.yaml"
}
# nothing installed: built (SPK's package always holds its metadata, so
# its EmptyPackage rule does not fire); requiring an empty package fails
printf 'pkg: empty/1.0.0\nbuild:\n  script: [true]\n' >"$T/val/empty.yaml"
expect_status 0 spk build "$T/val/empty.yaml"
printf 'pkg: empty2/1.0.0\nbuild:\n  script: [true]\n  validation:\n    rules: [{require: EmptyPackage}]\n' >"$T/val/empty2.yaml"
expect_status 1 spk build "$T/val/empty2.yaml"
expect_match "$ERR" "empty2: the build must install nothing \(EmptyPackage is required\)" "EmptyPackage required"
# changing a file of the build environment
val_recipe changer 'echo more >> /spfs/include/lib.h'
expect_status 1 spk build "$T/val/changer.yaml"
expect_match "$ERR" "changer: the build changed /spfs/include/lib.h of lib \(AlterExistingFiles is denied" "changing lib's file is denied"
val_recipe changer 'echo more >> /spfs/include/lib.h' '{allow: AlterExistingFiles}'
expect_status 1 spk build "$T/val/changer.yaml"
expect_match "$ERR" "changer: the build collected /spfs/include/lib.h of lib \(CollectExistingFiles is denied" "altering allowed, collecting still denied"
val_recipe changer 'echo more >> /spfs/include/lib.h' '{allow: AlterExistingFiles}' '{allow: CollectExistingFiles}'
expect_status 0 spk build "$T/val/changer.yaml"
cid=$(built_id changer/1.0.0)
expect_status 0 spfs cat "spk/pkg/changer/1.0.0/$cid/run" include/lib.h
expect_eq "$OUT" "header
more" "the changed file is collected"
# the more specific rule wins over a later general one
val_recipe picky 'echo more >> /spfs/include/lib.h' '{allow: AlterExistingFiles, packages: [lib]}' '{deny: AlterExistingFiles}' '{allow: CollectExistingFiles}'
expect_status 0 spk build "$T/val/picky.yaml"
val_recipe picky 'echo more >> /spfs/include/lib.h' '{allow: AlterExistingFiles, packages: [other]}' '{allow: CollectExistingFiles}'
expect_status 1 spk build "$T/val/picky.yaml" --force
expect_match "$ERR" "changed /spfs/include/lib.h of lib" "a rule naming another package does not apply"
# removing one
val_recipe remover 'rm /spfs/include/lib.h'
expect_status 1 spk build "$T/val/remover.yaml"
expect_match "$ERR" "remover: the build removed /spfs/include/lib.h of lib \(AlterExistingFiles is denied" "removing is denied"
# touching one (same content): allowed, and not collected
val_recipe toucher 'cp /spfs/include/lib.h /tmp/x && cat /tmp/x > /spfs/include/lib.h'
expect_status 0 spk build "$T/val/toucher.yaml"
tid=$(built_id toucher/1.0.0)
expect_status 0 spfs ls "spk/pkg/toucher/1.0.0/$tid/run" -R
[ -z "$(grep lib.h <<<"$OUT")" ] || fail "a touched file of another package is not collected: $OUT"; ok
# (as in SPK, a file of another package touched is left out before the
# rules look, so even a Touch rule does not see it)
val_recipe toucher2 'cp /spfs/include/lib.h /tmp/x && cat /tmp/x > /spfs/include/lib.h' '{deny: AlterExistingFiles, action: Touch}'
expect_status 0 spk build "$T/val/toucher2.yaml"
# building on another version of itself
sed -e 's|pkg: lib/1.4.2|pkg: lib/2.0.0|' -e 's|  auto_host_vars: None|  auto_host_vars: None\n  options:\n    - pkg: lib/1|' "$T/comp/lib.yaml" >"$T/val/lib2.yaml"
expect_status 1 spk build "$T/val/lib2.yaml"
expect_match "$ERR" "lib: its build environment holds another version of lib \(RecursiveBuild is denied" "RecursiveBuild denied"
printf '  validation:\n    rules: [{allow: RecursiveBuild}]\n' >>"$T/val/lib2.yaml"
sed -i 's|^build:|build:|' "$T/val/lib2.yaml"
python3 - "$T/val/lib2.yaml" <<'PY'
import sys
p = sys.argv[1]
t = open(p).read()
v = "  validation:\n    rules: [{allow: RecursiveBuild}]\n"
t = t.replace(v, "")
t = t.replace("  script:\n", v + "  script:\n", 1)
open(p, "w").write(t)
PY
expect_status 0 spk build "$T/val/lib2.yaml"
expect_match "$OUT" "^built lib/2.0.0/" "RecursiveBuild allowed (and its own files may change)"
# a bad rule is refused before anything runs
val_recipe badrule 'true' '{allow: Everything}'
expect_status 2 spk build "$T/val/badrule.yaml"
expect_match "$ERR" "build.validation: unknown rule .*got 'Everything'" "unknown rule"
