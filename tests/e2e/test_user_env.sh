#!/usr/bin/env bash
# The environment of a command run by a user who is not root (lib_user.sh:
# installed helper in mode auto, then rootless) is the one spfs run
# prepared, as for root: the user's own variables (MYLICENSE=27000@lic,
# values with spaces, '=' and a newline), PATH in its order (a program of
# the user's found, spfs found inside for spfs commit), HOME, plus
# SPFS_RUNTIME; spfs shell keeps it too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_user.sh"
user_setup

env_flow() {
	local W=$UHOME/work
	as_user mkdir -p "$W/bin" "$W/l"
	as_user sh -c "printf '#!/bin/sh\necho mytool\n' > $W/bin/mytool && chmod +x $W/bin/mytool; echo l > $W/l/f"
	expect_status 0 us commit "$W/l" -t t/l
	local path="$W/bin:$STAGE/bin:/usr/bin:/bin"
	expect_status 0 as_user env MYLICENSE=27000@lic "SPACED=a b  c" "EQ=x=y" "NL=one
two" PATH="$path" spfs run t/l -- sh -c \
		'printf "%s|%s|%s|%s|%s|%s\n" "$MYLICENSE" "$SPACED" "$EQ" "$HOME" "$PATH" "$(cat /spfs/f)"; printf "%s\n" "$NL"; mytool; command -v spfs; echo "${SPFS_RUNTIME:-none}"'
	local lines
	mapfile -t lines <<<"$OUT"
	expect_eq "${lines[0]}" "27000@lic|a b  c|x=y|$UHOME|$path|l" "$MODE: the user's variables, HOME and PATH as they were"
	expect_eq "${lines[1]}:${lines[2]}" "one:two" "$MODE: a value with a newline"
	expect_eq "${lines[3]}" mytool "$MODE: a program on the user's PATH"
	expect_eq "${lines[4]}" "$STAGE/bin/spfs" "$MODE: spfs found on PATH inside"
	expect_match "${lines[5]}" "^[0-9a-f]{16}$" "$MODE: SPFS_RUNTIME set"
	expect_status 0 as_user env MYLICENSE=27000@lic PATH="$path" SHELL=/bin/sh spfs shell t/l <<<'echo "$MYLICENSE $(mytool)"'
	expect_eq "$OUT" "27000@lic mytool" "$MODE: spfs shell keeps the user's environment"
	expect_status 0 as_user env MYLICENSE=27000@lic spfs run --edit t/l -- sh -c 'echo "$MYLICENSE" > /spfs/lic; spfs commit layer -t t/lic >/dev/null; cat /spfs/lic'
	expect_eq "$OUT" "27000@lic" "$MODE: editable runtime keeps it too"
}
user_modes env_flow
