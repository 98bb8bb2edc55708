#!/usr/bin/env bash
# e2e: the configuration files as docs/config.md describes them: the
# documented top-level `storage:` (and `spfs: storage:`), unknown keys and
# typos warned about with file:line:column, $XDG_CONFIG_HOME, a malformed
# file is a usage error (exit 2) naming file:line, for spfs and spk alike.
. "$(dirname "$0")/lib.sh"
SPK="$SPAWN_BIN/spk"
unset SPFS_STORAGE SPAWN_CONFIG XDG_CONFIG_HOME
export HOME="$T/home"
mkdir -p "$HOME/.config/spawn" "$T/xdg/spawn"
CFG="$HOME/.config/spawn/config.yaml"
# the stores exist beforehand, so a setting that is not read cannot make
# the default store (/var/lib/spfs for root): each check reads `spfs info`
for d in top nested from-home from-xdg env only; do spfs init "$T/$d" >/dev/null; done
spfs init "$HOME/store" >/dev/null
store_is() { expect_match "$OUT" "^store: +$1\$" "$2"; }

# the documented form: top-level storage
printf 'storage: %s\n' "$T/top" >"$CFG"
expect_status 0 spfs info; store_is "$T/top" "top-level storage: is the store"
expect_eq "$ERR" "" "no warning for known keys"
expect_status 0 "$SPK" ls; expect_eq "$ERR" "" "spk uses it too"
# the older spelling stays accepted
printf 'spfs:\n  storage: %s\n' "$T/nested" >"$CFG"
expect_status 0 spfs info; store_is "$T/nested" "spfs: storage: accepted"
# "~/" is the user's home
printf 'storage: ~/store\n' >"$CFG"
expect_status 0 spfs info; store_is "$HOME/store" "~/ expanded"

# typos and unknown keys: a warning with file:line:column and the key
printf 'storage: %s\nstorrage: /elsewhere\nspfs:\n  runtime:\n    mdoe: helper\n' "$T/top" >"$CFG"
expect_status 0 spfs info
expect_match "$ERR" "^warning: $CFG:2:1: unknown setting 'storrage' \\(did you mean 'storage'\\?\\)" "typo warned with position"
expect_match "$ERR" "$CFG:5:5: unknown setting 'spfs.runtime.mdoe' \\(did you mean 'spfs.runtime.mode'\\?\\)" "nested typo"
expect_eq "$(grep -c 'storrage' <<<"$ERR")" 1 "warned once per run"
expect_status 0 "$SPK" ls; expect_match "$ERR" "$CFG:2:1: unknown setting 'storrage'" "spk warns too"
printf 'colour: red\n' >"$CFG"
expect_status 0 spfs --store "$T/top" info
expect_match "$ERR" "$CFG:1:1: unknown setting 'colour' \\(ignored" "an unknown key without a near one"

# XDG_CONFIG_HOME wins over ~/.config
printf 'storage: %s\n' "$T/from-home" >"$CFG"
printf 'storage: %s\n' "$T/from-xdg" >"$T/xdg/spawn/config.yaml"
expect_status 0 env XDG_CONFIG_HOME="$T/xdg" "$SPFS_BIN" info; store_is "$T/from-xdg" "XDG_CONFIG_HOME honoured"
expect_status 0 "$SPFS_BIN" info; store_is "$T/from-home" "~/.config without XDG_CONFIG_HOME"
# SPFS_STORAGE and --store still win over the files
expect_status 0 env SPFS_STORAGE="$T/env" "$SPFS_BIN" info; store_is "$T/env" "SPFS_STORAGE wins"

# malformed: exit 2 (usage), file:line:column named, nothing done
printf 'storage: [oops\n' >"$CFG"
expect_status 2 spfs info; expect_match "$ERR" "^spfs: $CFG:2:1: " "spfs: malformed config is exit 2 with file:line"
expect_status 2 spfs --store "$T/top" tags; expect_match "$ERR" "$CFG:2:1: " "even when the store is given"
expect_status 2 "$SPK" ls; expect_match "$ERR" "^spk: $CFG:2:1: " "spk: malformed config is exit 2"
expect_status 2 "$SPK" solve x --repo "$T"; expect_match "$ERR" "$CFG:2:1: " "spk solve too"
printf 'storage:\n  - a\n' >"$CFG"
expect_status 2 spfs info; expect_match "$ERR" "$CFG:1:1: 'storage' must be a single value" "wrong shape is exit 2"
printf 'spfs: 3\n' >"$CFG"
expect_status 2 spfs info; expect_match "$ERR" "$CFG:1:1: 'spfs' must be a mapping of settings" "a value where a mapping belongs"
# SPAWN_CONFIG names the one file read
printf 'storage: %s\n' "$T/only" >"$T/only.yaml"
expect_status 0 env SPAWN_CONFIG="$T/only.yaml" "$SPFS_BIN" info; store_is "$T/only" "SPAWN_CONFIG alone"
