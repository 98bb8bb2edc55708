#!/usr/bin/env bash
# Every YAML file the commands read (a spec file, the configuration) refuses
# a key given twice, naming both lines (the first used to win silently), and
# a mapping key that is not a plain value.
. "$(dirname "$0")/lib.sh"
SPK="$SPAWN_BIN/spk"

# a spec file: spk lint, spk publish and spk solve --repo read it the same way
mkdir "$T/specs"
cat >"$T/specs/dup.yaml" <<'YAML'
pkg: dup/1.0.0
install:
  requirements:
    - pkg: maya/2024
install:
  requirements:
    - pkg: maya/2023
YAML
expect_status 2 "$SPK" lint "$T/specs/dup.yaml"
expect_match "$ERR" "dup.yaml:5:1: key 'install' appears twice \(lines 2 and 5\)" "lint names both lines"
spfs init >/dev/null
expect_status 2 "$SPK" publish "$T/specs/dup.yaml"
expect_match "$ERR" "dup.yaml:5:1: key 'install' appears twice \(lines 2 and 5\)" "publish refuses it"
expect_eq "$(spfs tags spk/ | wc -l)" 0 "nothing published"
rc=0; "$SPK" solve dup --repo "$T/specs" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] || fail "solve over a spec directory with a duplicate key succeeded"; ok
expect_match "$(cat "$T/err")" "dup.yaml:5:1: key 'install' appears twice \(lines 2 and 5\)" "solve --repo refuses it"
# one level down, in a requirement
printf 'pkg: dup2/1.0.0\ninstall:\n  requirements:\n    - pkg: a\n      pkg: b\n' >"$T/dup2.yaml"
expect_status 2 "$SPK" lint "$T/dup2.yaml"
expect_match "$ERR" "dup2.yaml:5:7: key 'pkg' appears twice \(lines 4 and 5\)" "nested duplicate"
# a collection as a key (issue 9's 22 bytes, after a valid first key)
printf 'pkg: k/1.0.0\n? [complez,#key]\n: va\n' >"$T/key.yaml"
expect_status 2 "$SPK" lint "$T/key.yaml"
expect_match "$ERR" "key.yaml:2:3: a mapping key must be a plain value, not a list" "collection key refused"

# the configuration
printf 'spfs:\n  storage: %s\nspfs:\n  storage: /elsewhere\n' "$SPFS_STORAGE" >"$T/cfg.yaml"
rc=0; env -u SPFS_STORAGE SPAWN_CONFIG="$T/cfg.yaml" "$SPFS_BIN" tags >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] || fail "a configuration with a duplicate key was accepted"; ok
expect_match "$(cat "$T/err")" "cfg.yaml:3:1: key 'spfs' appears twice \(lines 1 and 3\)" "config names both lines"
