#!/usr/bin/env bash
# e2e: spk test runs a recipe's tests as SPK does: sources in the source
# package, build in the build environment over the sources, install over
# the variant's build; selectors pick variants, requirements join the
# environment, @STAGE picks a stage, the first failure stops with its
# status; spk build itself runs no tests (as SPK).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount namespaces)"; trap - EXIT; rm -rf "$T"; exit 77; }
SPK="$SPAWN_BIN/spk"
spk() { "$SPK" "$@"; }
spfs init >/dev/null

mkdir -p "$T/deps" "$T/tested"
cat >"$T/deps/deps.yaml" <<'EOF2'
pkg: helper/1.0.0
build:
  auto_host_vars: None
  script: [mkdir -p $PREFIX/share, echo helper > $PREFIX/share/helper]
---
pkg: extra/2.0.0
build:
  auto_host_vars: None
  script: [mkdir -p $PREFIX/share, echo extra > $PREFIX/share/extra]
EOF2
expect_status 0 spk build "$T/deps/deps.yaml"
echo data >"$T/tested/data.txt"
cat >"$T/tested/tested.yaml" <<'EOF2'
pkg: tested/1.0.0
build:
  auto_host_vars: None
  options:
    - pkg: helper
    - var: flavour
  variants:
    - {flavour: a}
    - {flavour: b}
  script:
    - mkdir -p $PREFIX/bin
    - printf '#!/bin/sh\necho %s\n' "$SPK_OPT_flavour" > $PREFIX/bin/tool
    - chmod +x $PREFIX/bin/tool
tests:
  - stage: sources
    script:
      - test "$(cat data.txt)" = data
      - "[[ $PWD == /spfs/spk/pkg/tested/1.0.0/src ]]"
  - stage: build
    script:
      - test -f data.txt
      - test "$(cat /spfs/share/helper)" = helper
      - test "$SPK_PKG_helper_VERSION_MAJOR" = 1
      - test ! -e /spfs/bin/tool
  - stage: install
    selectors:
      - {flavour: b}
    script:
      - test "$(/spfs/bin/tool)" = b
      - echo scribble > /spfs/scribble
  - stage: install
    requirements:
      - pkg: extra
    script:
      - test "$(cat /spfs/share/extra)" = extra
      - test -x /spfs/bin/tool
      - test ! -e /spfs/scribble
EOF2
# install tests need the build
expect_status 1 spk test "$T/tested/tested.yaml@install"
expect_match "$ERR" "is tested/1.0.0/[A-Z2-7]{8} built\? \(spk build makes it\)" "install tests need the build"
expect_status 0 spk build "$T/tested/tested.yaml"
[ -z "$(grep -i testing <<<"$OUT")" ] || fail "spk build runs no tests: $OUT"; ok
expect_status 0 spk test "$T/tested/tested.yaml"
expect_eq "$(grep '^testing' <<<"$OUT")" "testing tested/1.0.0@sources #0 [variant 0]
testing tested/1.0.0@sources #0 [variant 1]
testing tested/1.0.0@build #1 [variant 0]
testing tested/1.0.0@build #1 [variant 1]
testing tested/1.0.0@install #3 [variant 0]
testing tested/1.0.0@install #2 [variant 1]
testing tested/1.0.0@install #3 [variant 1]" "every stage, variant and selector in order"
expect_match "$OUT" "^7 tests passed$" "the count"
expect_match "$ERR" "^\+ test -f data.txt" "each command is logged (bash -x)"
# the recipe stored in the store (spk build published it), by NAME/VERSION
expect_status 0 spk test tested/1.0.0@build --variant 1
expect_eq "$(grep '^testing' <<<"$OUT")" "testing tested/1.0.0@build #1 [variant 1]" "NAME/VERSION@build"
expect_status 1 spk test nothing/1.0.0
expect_match "$ERR" "nothing/1.0.0" "an unknown NAME/VERSION"
# a stage alone, a variant alone
expect_status 0 spk test "$T/tested/tested.yaml@install" --variant 0
expect_eq "$(grep '^testing' <<<"$OUT")" "testing tested/1.0.0@install #3 [variant 0]" "@install --variant 0"
# --here: in the current directory, no source package needed
mkdir -p "$T/elsewhere" && echo data >"$T/elsewhere/data.txt"
cat >"$T/here.yaml" <<'EOF2'
pkg: nosrc/1.0.0
build:
  script: [true]
tests:
  - stage: sources
    script: [test -f data.txt, pwd]
EOF2
expect_status 1 spk test "$T/here.yaml"
expect_match "$ERR" "nosrc/1.0.0 has no source package nosrc/1.0.0/src to test" "sources tests need the source package"
expect_status 0 bash -c "cd '$T/elsewhere' && '$SPK' test '$T/here.yaml' --here"
expect_match "$OUT" "^$T/elsewhere$" "--here runs in the current directory"
# the first failure stops, with its status
cat >"$T/failing.yaml" <<'EOF2'
pkg: failing/1.0.0
build:
  script: [true]
tests:
  - stage: sources
    script: [echo one, exit 3]
  - stage: sources
    script: [echo never]
EOF2
expect_status 1 spk test "$T/failing.yaml" --here
expect_match "$ERR" "spk test: test #0 of failing/1.0.0@sources failed \(exit status 3\)" "a failing test"
[ -z "$(grep -x never <<<"$OUT")" ] || fail "the run stops at the first failure"; ok
# bad usage
expect_status 2 spk test "$T/failing.yaml@deploy"
expect_match "$ERR" "unknown stage 'deploy'" "bad stage"
expect_status 2 spk test
printf 'pkg: bad/1.0.0\ntests:\n  - stage: later\n    script: [true]\n' >"$T/badstage.yaml"
expect_status 2 spk test "$T/badstage.yaml"
expect_match "$ERR" "stage: expected sources, build or install, got 'later'" "bad stage in the spec"
