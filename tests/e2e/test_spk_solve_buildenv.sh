#!/bin/bash
# e2e: `spk solve` on recipes whose build environments need each other
# (issue 10: i/2.4.0 builds with e/~2.4.0, e/3.1.1 builds with i/~3.1.0,
# both pin fromBuildEnv: x.x): every solve ends with an answer or an
# explanation, never a crash, and --trace says the cycle.
. "$(dirname "$0")/lib.sh"
SPK="$SPAWN_BIN/spk"
REPO="${SPAWN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/data/spk/buildenv-cycle"

# i pins e to its build environment's e (2.4.3, not 3.1.1)
expect_status 0 "$SPK" solve i --repo "$REPO"
expect_match "$OUT" '^e/2\.4\.3/[A-Z0-9]+  <- i/2\.4\.0/[A-Z0-9]+: e/2\.4$' "i pins e/2.4"
expect_match "$OUT" '^i/2\.4\.0/' "i is chosen"
expect_status 0 "$SPK" solve i --repo "$REPO" --allow-builds
expect_match "$OUT" '^e/2\.4\.3/' "i with --allow-builds"

# e: e/3.1.1 requires i, whose pin needs e/2.4: the older e is the answer
expect_status 0 "$SPK" solve e --repo "$REPO"
expect_eq "$(wc -l <<<"$OUT")" 1 "solve e: one package"
expect_match "$OUT" '^e/2\.4\.3/' "solve e"

# e/3 cannot be had: explained, exit 1 (it was 139)
for extra in "" --allow-builds; do
	expect_status 1 "$SPK" solve e/3 --repo "$REPO" $extra
	expect_match "$ERR" 'The request cannot be satisfied' "e/3 $extra explained"
	expect_match "$ERR" 'i/2\.4\.0/[A-Z0-9]+ (requires e/2\.4|\(e/2\.4\))' "e/3 $extra: the pin"
done
expect_match "$ERR" 'e/3\.1\.1 \(built from source\) cannot be built: its build environment \(i/~3\.1\.0\) cannot be resolved: i/2\.4\.0/[A-Z0-9]+ does not satisfy i/~3\.1\.0 from its build options' \
	"e/3 --allow-builds: why it cannot be built"

# the cycle, in words, on the trace
expect_status 0 "$SPK" solve i --repo "$REPO" --trace
expect_match "$ERR" 'cannot solve the build environment of i/2\.4\.0: its build environment needs e/~2\.4\.0, whose candidate e/3\.1\.1/[A-Z0-9]+ requires i, whose candidate i/2\.4\.0/[A-Z0-9]+ is this build again \(a cycle\)' \
	"trace says the cycle"
# each build environment is solved once
expect_eq "$(grep -c 'solve the build environment of i/2.4.0 ' <<<"$ERR")" 1 "i's environment solved once"

# JSON output of the same solve is well formed
expect_status 0 "$SPK" solve i --repo "$REPO" --json
expect_eq "$(json_get - 'len(d["packages"]) if isinstance(d, dict) and "packages" in d else len(d)' <<<"$OUT")" 2 "json: two packages"

# a chosen recipe whose build environment cannot be resolved: a note on
# stderr (stdout stays the list), and in the JSON
expect_status 0 "$SPK" solve t --repo "$REPO"
expect_eq "$(wc -l <<<"$OUT")" 2 "solve t: two packages"
expect_match "$ERR" '^spk solve: note: t/1\.0\.0/[A-Z0-9]+: its build environment \(e/~9\.0\) cannot be resolved: its build options require e/~9\.0, and no candidate of e satisfies all the requests; its fromBuildEnv requirements are used as written$' \
	"solve t: the note"
expect_status 0 "$SPK" solve t --repo "$REPO" --json
expect_match "$(json_get - '[p["note"] for p in d["packages"] if p["name"] == "t"][0]' <<<"$OUT")" \
	'^its build environment \(e/~9\.0\) cannot be resolved' "json note"
expect_eq "$(json_get - '[p["note"] for p in d["packages"] if p["name"] == "e"][0]' <<<"$OUT")" None "json: no note for e"

# include: IfAlreadyPresent never adds a package; when something else adds
# it, the range applies; a range below every version reads "must not be
# present"
IFP="$(dirname "$REPO")/ifpresent"
expect_status 0 "$SPK" solve a --repo "$IFP"
expect_eq "$(wc -l <<<"$OUT")" 1 "a alone: x stays absent"
expect_status 1 "$SPK" solve a x --repo "$IFP"
expect_match "$ERR" 'x/1\.0\.0/[A-Z0-9]+ cannot be used: a/1\.0\.0/[A-Z0-9]+ requires that x not be present \(x/<0, include: IfAlreadyPresent\)' \
	"a x: x must not be present"
expect_status 1 "$SPK" solve x a --repo "$IFP"
expect_match "$ERR" 'a/1\.0\.0/[A-Z0-9]+ requires that x not be present \(x/<0, include: IfAlreadyPresent\), but x/1\.0\.0/[A-Z0-9]+ is already chosen' \
	"x a: a cannot come after x"
# pinned from the build environment (py/3.7.3), and still optional
expect_status 0 "$SPK" solve lib --repo "$IFP"
expect_eq "$(wc -l <<<"$OUT")" 1 "lib alone: py stays absent"
expect_status 0 "$SPK" solve lib py --repo "$IFP"
expect_match "$OUT" '^py/3\.7\.3/[A-Z0-9]+  <- command line: py; lib/1\.0\.0/[A-Z0-9]+: py/3\.7$' "lib py: py pinned to 3.7"
expect_status 1 "$SPK" solve lib py/3.9 --repo "$IFP"
expect_match "$ERR" 'py/3\.9\.1/[A-Z0-9]+ does not satisfy py/3\.7 from lib/1\.0\.0/' "lib py/3.9: the pin"
