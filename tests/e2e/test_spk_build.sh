#!/usr/bin/env bash
# e2e: spk build and spk env as a user drives them: build from a recipe in a
# runtime, components split by globs, rebuild with other options, a no-op
# rebuild, a failing build, a script writing outside /spfs, env with the
# packages' environment, then deprecate/remove/publish --to of real builds.
. "$(dirname "$0")/lib.sh"
# lib.sh's expect_match pipes printf into grep -q under pipefail: when grep
# stops at an early line, printf can die of SIGPIPE and the check fails
# although the text matches. A here-string has no such race.
expect_match() { grep -Eq -- "$2" <<<"$1" || fail "$3: '$1' does not match /$2/"; ok; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount namespaces)"; trap - EXIT; rm -rf "$T"; exit 77; }
src=${SPAWN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cp -r "$src/tests/data/spk/repo/build" "$T/specs"
S="$T/specs"
SPK="$SPAWN_BIN/spk"
spk() { "$SPK" "$@"; }
spfs init >/dev/null

expect_status 0 spk build --help
expect_match "$OUT" "^usage: spk build SPEC.yaml" "build --help"
expect_status 0 spk env --help
expect_match "$OUT" "^usage: spk env REQUEST" "env --help"

# a library: two components split by globs, an environment operation
expect_status 0 spk build "$S/greetlib.yaml"
expect_match "$OUT" "^built greetlib/1.0.0/[A-Z2-7]{8} \(2 components\) from greetlib/1.0.0/src$" "build greetlib"
expect_match "$OUT" "^published  greetlib/1.0.0/src \(its sources\)$" "its sources are published"
plain=$(echo "$OUT" | sed -nE 's|^built greetlib/1.0.0/([A-Z2-7]{8}).*|\1|p')
expect_status 0 spfs ls "spk/pkg/greetlib/1.0.0/$plain/run" -R
expect_match "$OUT" "lib/libgreet.txt" "run has lib/"
expect_eq "$(echo "$OUT" | grep -c include || true)" 0 "run lacks include/"
expect_status 0 spfs ls "spk/pkg/greetlib/1.0.0/$plain/build" -R
expect_match "$OUT" "include/greet.h" "build has everything"
expect_status 0 spfs cat "spk/pkg/greetlib/1.0.0/$plain/run" lib/libgreet.txt
expect_eq "$OUT" "greet-plain" "option value seen by the script"
# the build's spec: pkg and option values resolved
expect_status 0 spfs cat "spk/spec/greetlib/1.0.0/$plain"
expect_match "$OUT" "^pkg: 'greetlib/1.0.0/$plain'" "build spec names the build"
# rebuilding the same options is a no-op; --force rebuilds
expect_status 0 spk build "$S/greetlib.yaml"
expect_match "$OUT" "already built greetlib/1.0.0/$plain" "no-op rebuild"
expect_status 0 spk build "$S/greetlib.yaml" --force
expect_match "$OUT" "^built greetlib/1.0.0/$plain" "forced rebuild"
# other options: another build of the same version
expect_status 0 spk build "$S/greetlib.yaml" --opt flavour=fancy
fancy=$(echo "$OUT" | sed -nE 's|^built greetlib/1.0.0/([A-Z2-7]{8}).*|\1|p')
[ "$fancy" != "$plain" ] || fail "another option value, another build id"; ok
expect_status 0 spfs cat "spk/spec/greetlib/1.0.0/$fancy"
expect_match "$OUT" "var: 'flavour/fancy'" "the option value is recorded"
expect_status 0 spfs cat "spk/pkg/greetlib/1.0.0/$fancy/run" lib/libgreet.txt
expect_eq "$OUT" "greet-fancy" "fancy build"
expect_status 2 spk build "$S/greetlib.yaml" --opt flavour=weird
expect_match "$ERR" "'weird' is not one of its choices" "choices checked"
# a required option needs a value
printf 'pkg: needy/1.0.0\nbuild:\n  options:\n    - var: abi\n      required: true\n  script:\n    - mkdir -p $PREFIX/share\n    - echo "$SPK_OPT_abi" > $PREFIX/share/needy\n' >"$T/needy.yaml"
expect_status 2 spk build "$T/needy.yaml"
expect_match "$ERR" "its required option abi has no value \(give one with --opt abi=VALUE" "required option checked"
expect_status 0 spk build "$T/needy.yaml" --opt abi=cp39
expect_match "$OUT" "^built needy/1.0.0/" "required option given"
expect_status 0 spk ls greetlib/1.0.0
expect_eq "$(echo "$OUT" | grep -c '/1.0.0/[A-Z2-7]\{8\}$')" 2 "two builds"
expect_match "$OUT" "^greetlib/1.0.0/src$" "and the source package"

# issue 9: a solve explanation over the store names the build and the recipe
# it was built from, with the line of the requirement (the published spec
# records "# spk-origin: FILE:LINE"), never a spec tag
cat >"$T/needs-lib.yaml" <<'YAML'
# the document starts on line 2
pkg: needs-lib/1.0.0
build:
  script:
    - mkdir -p $PREFIX/share && echo ok > $PREFIX/share/needs-lib
install:
  requirements:
    - pkg: greetlib/2
YAML
# (--no-host: host options inserted into the build spec move its lines, and
# then only the file is recorded, checked below)
expect_status 0 spk build "$T/needs-lib.yaml" --no-host
nl_id=$(echo "$OUT" | sed -nE 's|^built needs-lib/1.0.0/([A-Z2-7]{8}).*|\1|p')
recipe=$(realpath "$T/needs-lib.yaml")
expect_eq "$(spfs cat "spk/spec/needs-lib/1.0.0/$nl_id" | head -n 1)" "# spk-origin: $recipe:2" "the build spec records its recipe"
expect_eq "$(spfs cat spk/spec/needs-lib/1.0.0 | head -n 1)" "# spk-origin: $recipe:2" "so does the published recipe"
expect_status 1 spk solve needs-lib
expect_match "$ERR" "needs-lib/1.0.0/$nl_id requires greetlib/2" "the conflict"
expect_match "$ERR" "the requirements in needs-lib/1.0.0/$nl_id \(recipe $recipe:8\)" \
	"the explanation names the recipe's requirement line"
grep -q "spk/spec/" <<<"$ERR" && fail "an explanation names a spec tag: $ERR"
ok
expect_status 0 spk build "$T/needs-lib.yaml"
nh_id=$(echo "$OUT" | sed -nE 's|^built needs-lib/1.0.0/([A-Z2-7]{8}).*|\1|p')
[ "$nh_id" != "$nl_id" ] || fail "host options make another build"
expect_eq "$(spfs cat "spk/spec/needs-lib/1.0.0/$nh_id" | head -n 1)" "# spk-origin: $recipe" \
	"a build spec with inserted host options records the recipe file only"

# variants: every variant by default, or the one asked for
expect_status 0 spk build "$S/variants.yaml"
expect_match "$OUT" "^built multi/1.0.0/[A-Z2-7]{8} \[variant 0\]" "variant 0"
expect_match "$OUT" "built multi/1.0.0/[A-Z2-7]{8} \[variant 1\]" "variant 1"
expect_status 0 spk build "$S/variants.yaml" --variant 1
expect_match "$OUT" "^already built multi/1.0.0/.* \[variant 1\]" "one variant, already built"
expect_status 0 spk build "$S/variants.yaml" --variant 1 --opt flavour=extra
expect_match "$OUT" "^built multi/1.0.0/" "--opt on top of a variant"
expect_status 2 spk build "$S/variants.yaml" --variant 2
expect_match "$ERR" "multi has no variant 2 \(it has 2\)" "no such variant"
expect_status 0 spk env multi flavour=fancy -- cat /spfs/share/multi/flavour
expect_eq "$OUT" fancy "a variant chosen by a var request"
expect_status 0 spk env multi --opt flavour=extra -- cat /spfs/share/multi/flavour
expect_eq "$OUT" extra "spk env --opt chooses the build as spk solve --opt does"
expect_status 2 spk env multi --opt flavour -- true
expect_match "$ERR" "--opt expects NAME=VALUE" "spk env --opt checked"
expect_status 0 spk ls multi/1.0.0
expect_eq "$(echo "$OUT" | grep -c '/1.0.0/[A-Z2-7]\{8\}$')" 3 "three builds"

# two recipes in one file: the first one's variables do not reach the second
cat >"$T/two.yaml" <<'YAML'
pkg: leaka/1.0.0
build:
  options:
    - var: x/1
  script:
    - mkdir -p $PREFIX/a && echo "x=${SPK_OPT_x:-unset}" > $PREFIX/a/x
---
pkg: leakb/1.0.0
build:
  script:
    - mkdir -p $PREFIX/b && echo "x=${SPK_OPT_x:-unset}" > $PREFIX/b/x
YAML
expect_status 0 spk build "$T/two.yaml"
expect_status 0 spk env leaka leakb -- cat /spfs/a/x /spfs/b/x
expect_eq "$OUT" "$(printf 'x=1\nx=unset')" "no environment leak between builds"

# a variant nobody built yet: --allow-builds --make-missing builds it on demand
cat >"$T/level.yaml" <<'YAML'
pkg: level/1.0.0
build:
  options:
    - var: level
      default: "1"
      choices: ["1", "2", "3"]
  script:
    - mkdir -p $PREFIX/share && echo "level $SPK_OPT_level" > $PREFIX/share/level
YAML
expect_status 0 spk build "$T/level.yaml"
rm "$T/level.yaml" # built from the stored recipe from now on
expect_status 1 spk env level level=3 -- cat /spfs/share/level
expect_status 1 spk env level level=3 --allow-builds -- cat /spfs/share/level
expect_match "$ERR" "level/1.0.0 would have to be built from source first \(--make-missing builds it\)" "allow-builds alone"
expect_status 0 spk env level level=3 --allow-builds --make-missing -- cat /spfs/share/level
expect_eq "$OUT" "level 3" "built on demand"
expect_match "$ERR" "spk env: built level/1.0.0/[A-Z2-7]{8}" "says what it built"
l3=$(echo "$ERR" | sed -nE 's|.*spk env: built level/1.0.0/([A-Z2-7]{8}).*|\1|p')
expect_eq "$(spfs cat "spk/spec/level/1.0.0/$l3" | head -n 1)" "# spk-origin: $(realpath "$T")/level.yaml" \
	"a build from the stored recipe passes on the recipe's origin (the file: host options moved its lines)"
expect_status 0 spk env level level=3 -- cat /spfs/share/level
expect_eq "$OUT" "level 3" "and it stays"

# environment priority: a higher priority is applied last, whatever the names
cat >"$T/prio.yaml" <<'YAML'
pkg: aa-prio/1.0.0
install:
  environment:
    - priority: 90
    - set: PRIO
      value: aa
---
pkg: zz-prio/1.0.0
install:
  environment:
    - set: PRIO
      value: zz
YAML
expect_status 0 spk publish "$T/prio.yaml"
expect_status 0 spk env aa-prio zz-prio -- sh -c 'echo $PRIO'
expect_eq "$OUT" aa "priority 90 wins over the default 50"

# environment operations apply in solve order: the command line's requests
# in the order given, then what they bring in (so a name order, or any
# other, gives other values here)
cat >"$T/order.yaml" <<'YAML'
pkg: aa-prepend/1.0.0
install:
  environment:
    - prepend: ORDER_VAR
      value: aa
---
pkg: zz-set/1.0.0
install:
  environment:
    - set: ORDER_VAR
      value: zz
---
pkg: mm-app/1.0.0
install:
  requirements:
    - pkg: aa-prepend
  environment:
    - set: ORDER_VAR
      value: mm
YAML
expect_status 0 spk publish "$T/order.yaml"
unset ORDER_VAR
expect_status 0 spk env zz-set aa-prepend -- sh -c 'echo $ORDER_VAR'
expect_eq "$OUT" "aa:zz" "zz sets, then aa prepends"
expect_status 0 spk env aa-prepend zz-set -- sh -c 'echo $ORDER_VAR'
expect_eq "$OUT" "zz" "aa prepends, then zz sets"
expect_status 0 spk env mm-app -- sh -c 'echo $ORDER_VAR'
expect_eq "$OUT" "aa:mm" "a package before what it brings in"

# Strong options pass to what is built against them (SPK's inheritance):
# the build's spec gets the option and, for Strong, a var requirement, so
# at run time it only takes the runtime build it was built with.
cat >"$T/srt.yaml" <<'YAML'
pkg: srt/1.0.0
build:
  options:
    - var: abi
      default: cp1
      inheritance: Strong
    - var: flavour
      default: plain
      inheritance: StrongForBuildOnly
    - var: weak
      default: w
  script:
    - mkdir -p $PREFIX/share/srt && echo $SPK_OPT_abi > $PREFIX/share/srt/abi
YAML
cat >"$T/suser.yaml" <<'YAML'
pkg: suser/1.0.0
build:
  options:
    - pkg: srt
  script:
    - mkdir -p $PREFIX/share/suser && cat /spfs/share/srt/abi > $PREFIX/share/suser/built-with
install:
  environment:
    - set: SUSER
      value: yes
YAML
expect_status 0 spk build "$T/srt.yaml" --opt abi=cp1
expect_status 0 spk build "$T/srt.yaml" --opt abi=cp2
expect_status 0 spk build "$T/suser.yaml" --opt srt.abi=cp1
sb=$(echo "$OUT" | sed -nE 's|^built suser/1.0.0/([A-Z2-7]{8}).*|\1|p')
expect_status 0 spfs cat "spk/spec/suser/1.0.0/$sb"
SPEC=$OUT
expect_match "$SPEC" "value: yes" "the rest of the recipe's text is kept"
wb=$(spfs cat "spk/pkg/suser/1.0.0/$sb/run" share/suser/built-with 2>/dev/null || spk env "suser/1.0.0/$sb" -- cat /spfs/share/suser/built-with)
expect_eq "$wb" cp1 "--opt srt.abi=cp1 chose the build environment's srt"
expect_match "$SPEC" "- var: 'srt.abi/$wb'" "a Strong option is added to the build's options and requirements"
expect_eq "$(grep -c "var: 'srt.abi/$wb'" <<<"$SPEC")" 2 "in build.options and install.requirements"
expect_eq "$(grep -c "var: 'srt.flavour/plain'" <<<"$SPEC")" 1 "StrongForBuildOnly: a build option only"
expect_eq "$(grep -c "srt.weak" <<<"$SPEC")" 0 "a Weak option passes nothing"
expect_status 0 spk env srt -- cat /spfs/share/srt/abi
expect_eq "$OUT" cp2 "alone, srt's preferred build is cp2"
expect_status 0 spk env suser srt -- cat /spfs/share/srt/abi
expect_eq "$OUT" cp1 "with suser, srt is the build suser was built with"
expect_status 1 spk env suser srt.abi/cp2 -- true
expect_match "$OUT$ERR" "srt.abi/cp1" "another abi is refused, and the explanation says why"
expect_status 0 spk build "$T/suser.yaml" --opt srt.abi=cp2
sb2=$(echo "$OUT" | sed -nE 's|^built suser/1.0.0/([A-Z2-7]{8}).*|\1|p')
[ -n "$sb2" ] && [ "$sb2" != "$sb" ] || fail "built against srt cp2, suser is another build ($sb, '$sb2')"
ok
expect_status 0 spk env suser srt.abi/cp2 -- cat /spfs/share/suser/built-with
expect_eq "$OUT" cp2 "a var request picks the suser build made against that srt"

# layers stack in solve order too: the later package's file is on top
for who in a b; do
	cat >"$T/lay-$who.yaml" <<YAML
pkg: lay-$who/1.0.0
build:
  script:
    - mkdir -p \$PREFIX/share
    - echo $who > \$PREFIX/share/who
YAML
	expect_status 0 spk build "$T/lay-$who.yaml"
done
expect_status 0 spk env lay-a lay-b -- cat /spfs/share/who
expect_eq "$OUT" b "lay-b, solved after lay-a, is stacked above it"
expect_status 0 spk env lay-b lay-a -- cat /spfs/share/who
expect_eq "$OUT" a "and the other way round"

# an application built against the library (build env: the library's layers)
expect_status 0 spk build "$S/greet.yaml"
expect_match "$OUT" "^built greet/2.0.0/" "build greet"
gb=$(echo "$OUT" | sed -nE 's|^built greet/2.0.0/([A-Z2-7]{8}).*|\1|p')
expect_status 0 spfs cat "spk/spec/greet/2.0.0/$gb"
expect_match "$OUT" "pkg: 'greetlib/1.0.0'" "a pkg option records the version it resolved to"
expect_status 0 spk env greet -- greet
expect_match "$OUT" "^hello from greet 2.0.0 using greet-(plain|fancy)$" "spk env runs it"
expect_status 0 spk env greet "greetlib/1.0.0/$fancy" -- greet
expect_eq "$OUT" "hello from greet 2.0.0 using greet-fancy" "a pinned build"
expect_status 0 spk env "greetlib:build/1.0.0/$plain" -- sh -c 'ls /spfs/include; echo "$SPK_PKG_greetlib $GREET_LIB"'
expect_eq "$OUT" "$(printf 'greet.h\ngreetlib/1.0.0/%s /spfs/lib/libgreet.txt' "$plain")" "components and variables"
expect_status 0 spk env greet -- sh -c 'echo "$PATH"'
expect_match "$OUT" "^/spfs/bin:" "prepend"
expect_status 1 spk env nosuch -- true
expect_match "$ERR" "no package named nosuch" "unsolvable env"
expect_status 3 spk env greet -- sh -c 'exit 3'
expect_status 2 spk env

# the script runs in the spec's directory with SPK_* and PREFIX
expect_status 0 spk build "$S/data.yaml"
expect_status 0 spk env data -- cat /spfs/share/data/vars
expect_match "$OUT" "^data 1.0.0 [A-Z2-7]{8} /spfs$" "build variables"
expect_status 0 spk env data -- test -f /spfs/share/data/greetlib.yaml

# a failing build publishes nothing, shows its log's tail, leaves no runtime
expect_status 1 spk build "$S/broken.yaml"
expect_match "$ERR" "the build script of broken/1.0.0/.* failed \(exit status 1\)" "failure"
expect_match "$ERR" "oops: no compiler" "log tail"
expect_match "$ERR" "full log: " "log path"
log=$(echo "$ERR" | sed -n 's/^--- full log: //p')
expect_match "$(cat "$log")" "step one" "the full log is kept"
expect_status 1 spk ls broken
expect_eq "$(spfs tags spk/pkg/broken | wc -l)" 0 "no layers"
expect_eq "$(spfs tags spk/build | wc -l)" 0 "no temporary tag"
expect_status 0 spfs runtime ls --json
expect_eq "$(echo "$OUT" | json_get - 'len([r for r in (d if isinstance(d, list) else d.get("runtimes", [])) if r.get("state") == "live"])')" 0 "no runtime left"
rm -rf "$(dirname "$log")"

# a script writing outside /spfs: the rest of the host is read-only to it
# (a host file keeps its content, the build fails and spk says why); /tmp
# is the build's own (what it writes there never reaches the host's /tmp)
OUTDIR=$(mktemp -d /var/tmp/spawn-e2e-outside.XXXXXX)
cleanup_outside() {
	local rc=$?
	set +e
	rm -rf "$OUTDIR"
	(exit $rc)
	cleanup
}
trap cleanup_outside EXIT
echo before >"$OUTDIR/host.txt"
export OUTSIDE_FILE="$OUTDIR/host.txt"
expect_status 1 spk build "$S/outside.yaml"
expect_match "$ERR" "$OUTDIR/host.txt: Read-only file system" "the script's own error"
expect_match "$ERR" "the rest of the host is read-only to it\)$" "spk build explains it"
expect_eq "$(cat "$OUTDIR/host.txt")" before "the host file is untouched"
rm -rf "$(dirname "$(sed -n 's/^--- full log: //p' <<<"$ERR")")"
expect_status 1 spk ls outside
export OUTSIDE_FILE="/tmp/spawn-e2e-private-$$.txt"
expect_status 0 spk build "$S/outside.yaml"
[ ! -e "$OUTSIDE_FILE" ] || fail "a file the build wrote in its /tmp reached the host"
ok
b=$(spk ls outside/1.0.0 | grep -v -e recipe -e /src | cut -d/ -f3)
expect_status 0 spfs ls "spk/pkg/outside/1.0.0/$b/run" -R
expect_eq "$(echo "$OUT" | grep -c outside || true)" 0 "not in the package"
expect_match "$OUT" "share/inside.txt" "inside is"

# remove refuses while a live runtime uses the build's layers
mkfifo "$T/ready" "$T/go"
spk env greet -- sh -c "echo ready >$T/ready; read -r _ <$T/go" &
envpid=$!
await_line "$T/ready" "$envpid"
await_record
expect_status 1 spk remove greet/2.0.0
expect_match "$ERR" "cannot remove greet/2.0.0: live runtime [0-9a-f]{16} \(pid [0-9]+\) uses its layers" "in use by a runtime"
release "$T/go"
wait "$envpid"

# real builds in the other commands: deprecate, publish --to, remove
expect_status 0 spk deprecate "greetlib/1.0.0/$fancy"
expect_status 0 spk env greet -- greet
expect_eq "$OUT" "hello from greet 2.0.0 using greet-plain" "deprecated build skipped"
expect_status 0 spk publish --to "$T/other" greet greetlib
expect_status 0 spfs --store "$T/other" check
SPFS_STORAGE="$T/other" expect_status 0 spk env greet -- greet
expect_eq "$OUT" "hello from greet 2.0.0 using greet-plain" "env in the second store"
expect_status 0 spk solve greet --repo "$T/other"
expect_match "$OUT" "^greetlib/1.0.0/$plain  <- greet/2.0.0/$gb: greetlib/1$" "solve in the second store"
expect_status 0 spk ls greetlib/1.0.0 --repo "$T/other"
expect_match "$OUT" "^greetlib/1.0.0/src$" "the sources were copied too"
expect_status 0 spfs merge "spk/pkg/greetlib/1.0.0/$plain/run" -t platforms/shot
expect_status 1 spk remove "greetlib/1.0.0/$plain"
expect_match "$ERR" "platform tag platforms/shot" "in use"
expect_status 0 spk remove greetlib/1.0.0 --force
expect_status 1 spk env greet -- true
