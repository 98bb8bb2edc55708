#!/usr/bin/env bash
# e2e: SpFS package repositories as a user drives them: spk publish, ls,
# info, solve over the store, deprecate/undeprecate, remove, publish --to,
# and bad input (malformed specs, tags that hold no spec).
. "$(dirname "$0")/lib.sh"
# lib.sh's expect_match pipes printf into grep -q under pipefail: when grep
# stops at an early line, printf can die of SIGPIPE and the check fails
# although the text matches. A here-string has no such race.
expect_match() { grep -Eq -- "$2" <<<"$1" || fail "$3: '$1' does not match /$2/"; ok; }
src=${SPAWN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA="$src/tests/data/spk/repo"
SPK="$SPAWN_BIN/spk"
spk() { "$SPK" "$@"; }

# every command answers --help
for c in publish ls info deprecate undeprecate remove lint explain; do
	expect_status 0 spk "$c" --help
	expect_match "$OUT" "^usage: spk $c" "spk $c --help"
	expect_match "$OUT" "Exit status" "spk $c --help"
done

# no store yet: read commands say so
expect_status 1 spk ls
expect_match "$ERR" "no store at $SPFS_STORAGE \(create one with 'spfs init" "ls without a store"

# bad input publishes nothing, and names file:line:column
expect_status 2 spk publish "$DATA"/specs/*.y*ml "$DATA/broken/malformed.yaml"
expect_match "$ERR" "malformed.yaml:6:12: invalid request 'Not_A_Name/1'" "malformed spec"
expect_status 2 spk publish "$DATA/broken/notyaml.yaml"
expect_match "$ERR" "notyaml.yaml:3:1: invalid YAML" "invalid YAML"
expect_status 2 spk publish "$T/nosuchfile.yaml"
expect_match "$ERR" "nosuchfile.yaml" "missing file"
# writing commands do not make a store either (only spfs init does)
expect_status 1 spk publish "$DATA"/specs/*.y*ml
expect_match "$ERR" "no store at $SPFS_STORAGE \(create one with 'spfs init" "publish without a store"
[ ! -e "$SPFS_STORAGE" ] || fail "publish made a store"; ok
"$SPFS_BIN" init >/dev/null
expect_status 1 spk ls python

# publish the specs: a recipe also gets its default build
expect_status 0 spk publish "$DATA"/specs/*.y*ml
expect_match "$OUT" "published  spk/spec/python/3.9.7$" "recipe tag"
expect_match "$OUT" "published  spk/spec/python/3.9.7/TJI6SNWU" "default build tag"
expect_match "$OUT" "published  spk/spec/zlib/1.2.13/ZLIBBILD" "explicit build"
expect_match "$OUT" "published  spk/spec/zlib/1.2.13/src" "source package"
expect_eq "$(spfs tags spk/spec/ | wc -l)" 16 "spec tags"
# each spec blob is one document: its digest is the sha256 of its bytes
d=$(spfs info spk/spec/dcc/1.0.0 --json | json_get - 'd["digest"]')
expect_eq "$(spfs cat spk/spec/dcc/1.0.0 | sha256sum | cut -d' ' -f1)" "$d" "spec blob digest"
expect_eq "$(spfs cat spk/spec/dcc/1.0.0 | grep -c '^pkg:')" 1 "one document per blob"
# publishing again changes nothing
expect_status 0 spk publish "$DATA/specs/python.yaml"
expect_match "$OUT" "up to date spk/spec/python/3.10.6" "republish"
expect_eq "$(spfs log spk/spec/python/3.10.6 --json | json_get - 'len(d["records"]) if isinstance(d, dict) else len(d)')" 1 "no new tag record"

# ls and info
expect_status 0 spk ls
expect_eq "$OUT" "$(printf 'dcc\nnew-plugin\nold-plugin\npython\nzlib')" "ls"
expect_status 0 spk ls python
expect_eq "$OUT" "$(printf '3.10.6\n3.10.4\n3.9.7')" "ls python: newest first"
expect_status 0 spk ls python/3.10.6
expect_eq "$OUT" "$(printf 'python/3.10.6  [recipe]\npython/3.10.6/5GJA25UU')" "ls python/3.10.6"
expect_status 0 spk ls --json
expect_eq "$(echo "$OUT" | json_get - 'len(d["packages"])')" 5 "ls --json"
expect_status 1 spk ls nosuch
expect_match "$ERR" "nosuch is not in the repository" "ls unknown"
expect_status 0 spk info python/3.9.7/TJI6SNWU
expect_match "$OUT" "^tag: +spk/spec/python/3.9.7/TJI6SNWU" "info tag"
expect_match "$OUT" "options: +abi=cp39" "info options"
expect_match "$OUT" "a spec-only build" "info components"
expect_match "$OUT" "^pkg: python/3.9.7" "info spec text"
expect_status 0 spk info dcc/2.0.0 --json
expect_eq "$(echo "$OUT" | json_get - 'd["kind"], d["deprecated"], d["requirements"]')" "recipe False ['python/~3.10']" "info --json"
expect_status 0 spk info python/3.10.6.0
expect_match "$OUT" "spk/spec/python/3.10.6$" "versions compare as versions"
expect_status 2 spk info python
expect_status 1 spk info python/9.9

# solve over the store gives the spec directory's answers
for req in "new-plugin" "old-plugin zlib" "dcc python/3.9" "dcc/2 gl" "python/~3.10"; do
	# shellcheck disable=SC2086
	expect_status 0 spk solve $req --repo "$DATA/specs"
	want=$OUT
	# shellcheck disable=SC2086
	expect_status 0 spk solve $req --repo "$SPFS_STORAGE"
	expect_eq "$OUT" "$want" "solve $req: store vs spec dir"
	# shellcheck disable=SC2086
	expect_status 0 spk solve $req
	expect_eq "$OUT" "$want" "solve $req: the local store by default"
done
expect_status 1 spk solve new-plugin old-plugin
expect_match "$ERR" "cannot be satisfied" "unsat over the store"
# issue 9: an explanation points at what a person edits. Over published
# specs it names the builds and the file:line of each requirement in the
# file they were published from (recorded on their first line), never a
# tag with ":1"; over the spec directory, each requirement's file:line.
specs=$(realpath "$DATA/specs")
expect_match "$ERR" "the requirements in ((new|old)-plugin/1\.0\.0/[A-Z0-9]{8} \(recipe $specs/plugins.yml:(4|9)\)(, )?){2}, or publish" \
	"explanations over the store name the builds and their recipes"
expect_match "$ERR" "new-plugin/1\.0\.0/[A-Z0-9]{8} \(recipe $specs/plugins.yml:4\)" "new-plugin's requirement line"
expect_match "$ERR" "old-plugin/1\.0\.0/[A-Z0-9]{8} \(recipe $specs/plugins.yml:9\)" "old-plugin's requirement line"
expect_eq "$(spfs cat spk/spec/old-plugin/1.0.0 | head -n 1)" "# spk-origin: $specs/plugins.yml:6" "the published spec records its origin"
grep -q "spk/spec/\|:1\b" <<<"$ERR" && fail "an explanation names a store tag: $ERR"
ok
expect_status 1 spk solve new-plugin old-plugin --repo "$DATA/specs"
expect_match "$ERR" "the requirements in ($DATA/specs/plugins.yml:(4|9)(, )?){2}, or publish" \
	"explanations over a spec directory name file:line of each requirement"
expect_match "$ERR" "plugins.yml:4" "new-plugin's dcc/2 is on line 4"
expect_match "$ERR" "plugins.yml:9" "old-plugin's dcc/1 is on line 9"
expect_status 0 spk explain new-plugin
expect_match "$OUT" "try new-plugin/1.0.0/" "explain traces"
expect_match "$OUT" "^Solution:" "explain solution"
expect_status 1 spk explain new-plugin old-plugin
expect_match "$OUT" "cannot be satisfied" "explain explains"
expect_status 0 spk solve local/dcc/1
expect_match "$OUT" "^dcc/1.0.0/" "the local store is named local"

# deprecate: ranges skip the build, a pinned exact build still resolves
expect_status 0 spk solve dcc
expect_match "$OUT" "python/3.10.6/5GJA25UU" "before deprecation"
expect_status 0 spk deprecate python/3.10.6/5GJA25UU
expect_match "$OUT" "deprecated python/3.10.6/5GJA25UU \(1 spec\)" "deprecate"
expect_status 0 spk solve dcc
expect_match "$OUT" "python/3.10.4/5GJA25UU" "a range skips the deprecated build"
expect_status 0 spk solve dcc python/3.10.6/5GJA25UU
expect_match "$OUT" "python/3.10.6/5GJA25UU" "the exact build still resolves"
expect_status 0 spk ls python/3.10.6
expect_match "$OUT" "python/3.10.6/5GJA25UU  \[deprecated\]" "ls shows deprecation"
expect_status 0 spk info python/3.10.6/5GJA25UU
expect_match "$OUT" "deprecated: yes" "info shows deprecation"
expect_match "$(spfs cat spk/spec/python/3.10.6/5GJA25UU)" "^deprecated: true" "the spec says so"
expect_status 0 spk deprecate python/3.10.6/5GJA25UU
expect_match "$OUT" "already deprecated" "deprecate twice"
expect_status 0 spk undeprecate python/3.10.6/5GJA25UU
expect_status 0 spk solve dcc
expect_match "$OUT" "python/3.10.6/5GJA25UU" "undeprecated"
# the whole version: recipe and builds
expect_status 0 spk deprecate python/3.10.4
expect_match "$OUT" "\(2 specs\)" "deprecate a version"
expect_status 0 spk ls python
expect_match "$OUT" "3.10.4  \[deprecated\]" "ls shows a deprecated version"
expect_status 0 spk undeprecate python/3.10.4
expect_status 2 spk deprecate python
expect_status 1 spk deprecate python/7

# the index: rebuilt from the tags when missing or stale
expect_status 0 spfs untag spk/index
SPAWN_LOG=debug expect_status 0 spk solve new-plugin
expect_match "$ERR" "spk/index.*rebuilding it from the tags" "missing index rebuilt"
expect_status 0 spfs cat spk/index
expect_match "$OUT" "^spk-index 1 16" "index written back"
# move a tag behind spk's back (to its deprecated spec from history)
expect_status 0 spfs tag spk/spec/python/3.10.6/5GJA25UU~1 spk/spec/python/3.10.6/5GJA25UU
SPAWN_LOG=debug expect_status 0 spk solve dcc
expect_match "$ERR" "stale \(spk/spec/python/3.10.6/5GJA25UU moved\)" "stale target detected"
expect_match "$OUT" "python/3.10.4/5GJA25UU" "the moved tag is honoured"
expect_status 0 spk undeprecate python/3.10.6/5GJA25UU

# tags that hold no spec: skipped with a warning naming the tag
mkdir -p "$T/junk/bin" && echo 'not a spec' >"$T/junk/bin/tool"
layer=$(spfs commit "$T/junk")
blob=$(sha256sum "$T/junk/bin/tool" | cut -d' ' -f1)
expect_status 0 spfs tag "$blob" spk/spec/junk/1.0.0/AAAAAAAA
expect_status 0 spfs tag "$layer" spk/spec/junk/2.0.0/BBBBBBBB
expect_status 1 spk solve junk
expect_match "$ERR" "skipping a tag that holds no readable spec: spk/spec/junk/1.0.0/AAAAAAAA:1:1" "non-spec blob"
expect_match "$ERR" "spk/spec/junk/2.0.0/BBBBBBBB: .* is a layer, not a spec blob" "a layer"
expect_status 0 spk solve dcc
expect_status 0 spk ls junk/1.0.0
expect_match "$OUT" "\[invalid\]" "ls marks it"
expect_status 2 spk info junk/1.0.0/AAAAAAAA
expect_match "$ERR" "spk/spec/junk/1.0.0/AAAAAAAA:1:1" "info names the tag"
# a spec under another package's tag
expect_status 0 spfs tag spk/spec/dcc/1.0.0 spk/spec/junk/3.0.0
expect_status 2 spk info junk/3.0.0
expect_match "$ERR" "spk/spec/junk/3.0.0: the spec is dcc/1.0.0" "wrong identity"
expect_status 0 spk remove junk/1.0.0
expect_status 0 spk remove junk/2.0.0
expect_status 0 spk remove junk/3.0.0

# conflicts: a changed spec replaces a published one only with --force
sed 's/abi\/cp39$/abi\/cp39x/' "$DATA/specs/python.yaml" >"$T/python.yaml"
expect_status 1 spk publish "$T/python.yaml"
expect_match "$ERR" "already exists with other content" "conflict"
expect_status 0 spk publish "$DATA/specs/python.yaml"

# layers: publish --to copies them; remove refuses while a platform uses them
mkdir -p "$T/zlib/lib" && echo 'libz' >"$T/zlib/lib/libz.so"
expect_status 0 spfs commit "$T/zlib" -t spk/pkg/zlib/1.2.13/ZLIBBILD/run
zl=$OUT
expect_status 0 spk info zlib/1.2.13/ZLIBBILD
expect_match "$OUT" "components: run $zl" "info lists the layer"
expect_status 0 spk publish --to "file://$T/other" dcc new-plugin python zlib/1.2.13/ZLIBBILD
expect_match "$OUT" "copied spk/pkg/zlib/1.2.13/ZLIBBILD/run" "layer tag copied"
expect_status 0 spfs --store "$T/other" check
expect_status 0 spfs --store "$T/other" cat spk/pkg/zlib/1.2.13/ZLIBBILD/run lib/libz.so
expect_eq "$OUT" "libz" "payload copied"
expect_status 0 spk solve new-plugin --repo "$DATA/specs"
want=$OUT
expect_status 0 spk solve new-plugin --repo "$T/other"
expect_eq "$OUT" "$want" "solve in the second store"
SPFS_STORAGE="$T/other" expect_status 0 spk solve new-plugin
expect_eq "$OUT" "$want" "solve in the second store as the local one"
expect_status 1 spk solve old-plugin --repo "$T/other"
expect_status 0 spk publish --to "$T/other" dcc
expect_match "$OUT" "copied spk/spec/dcc/2.0.0" "copy again is idempotent"
expect_status 2 spk publish --to "$SPFS_STORAGE" dcc

expect_status 0 spfs merge spk/pkg/zlib/1.2.13/ZLIBBILD/run -t platforms/shot
expect_status 1 spk remove zlib/1.2.13/ZLIBBILD
expect_match "$ERR" "cannot remove zlib/1.2.13/ZLIBBILD: platform tag platforms/shot uses its layers" "remove refused"
expect_status 0 spk ls zlib/1.2.13
expect_match "$OUT" "ZLIBBILD" "still there"
expect_status 0 spfs untag platforms/shot
expect_status 0 spk remove zlib/1.2.13/ZLIBBILD
expect_match "$OUT" "removed spk/pkg/zlib/1.2.13/ZLIBBILD/run" "layer tag removed"
expect_match "$OUT" "removed spk/spec/zlib/1.2.13/ZLIBBILD" "spec tag removed"
expect_status 1 spk solve zlib/1.2.13/ZLIBBILD
# --force removes even while a platform uses the layers
expect_status 0 spfs commit "$T/zlib" -t spk/pkg/python/3.9.7/TJI6SNWU/run
expect_status 0 spfs merge spk/pkg/python/3.9.7/TJI6SNWU/run -t platforms/shot2
expect_status 1 spk remove python/3.9.7
expect_status 0 spk remove python/3.9.7 --force
expect_match "$OUT" "removed spk/spec/python/3.9.7$" "recipe removed"
expect_match "$OUT" "removed spk/pkg/python/3.9.7/TJI6SNWU/run" "layers removed"
expect_status 0 spk ls python
expect_eq "$OUT" "$(printf '3.10.6\n3.10.4')" "after remove"
expect_status 1 spk solve old-plugin
expect_status 1 spk remove python/3.9.7
expect_status 2 spk remove python

# lint: what publish and build would read
expect_status 0 spk lint "$DATA/specs/python.yaml" "$DATA/specs/zlib.yaml"
expect_match "$OUT" "python.yaml:2: recipe python/3.9.7, spec-only build TJI6SNWU, no build.script" "lint recipe"
expect_match "$OUT" "zlib.yaml:2: build zlib/1.2.13/ZLIBBILD" "lint build"
expect_match "$OUT" "zlib.yaml:7: source package zlib/1.2.13/src" "lint source"
expect_status 2 spk lint "$DATA/broken/malformed.yaml"
expect_match "$ERR" "malformed.yaml:6:12" "lint error position"
expect_status 0 spk lint --help

# usage errors
expect_status 2 spk publish
expect_status 2 spk ls --force
expect_status 2 spk info a/1 b/2
expect_status 2 spk deprecate
