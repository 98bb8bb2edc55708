#!/usr/bin/env bash
# e2e: source packages as a user makes them: spk make-source with path (its
# .gitignore, exclude and filter rules, subdir, one file), tar, git and
# script sources; the spec's directory by default; hostile input refused
# (a path leaving the spec's directory, tar members leaving the sources,
# links pointing outside) with nothing published; then, as root, builds that
# run in their sources, publish them, and build new variants from the
# published source package on demand.
. "$(dirname "$0")/lib.sh"
SPK="$SPAWN_BIN/spk"
spk() { "$SPK" "$@"; }
spfs init >/dev/null

expect_status 0 spk make-source --help
expect_match "$OUT" "^usage: spk make-source SPEC.yaml" "make-source --help"

# ------------------------------------------------------------ a project
P="$T/proj"
mkdir -p "$P/src/lib" "$P/src/.git" "$P/src/build" "$P/config"
echo 'int main(void) { return 0; }' >"$P/src/main.c"
echo 'int lib(void);' >"$P/src/lib/lib.h"
echo 'object' >"$P/src/lib/lib.o"
echo 'ref: refs/heads/main' >"$P/src/.git/HEAD"
echo 'scratch' >"$P/src/build/cache"
echo 'scratch' >"$P/src/notes.tmp"
printf '*.o\nbuild/\n' >"$P/src/.gitignore"
ln -s main.c "$P/src/main-link.c"
echo '{"mode": "fast"}' >"$P/config/settings.json"
mkdir -p "$T/tarsrc/tool-1.2" && echo 'tool source' >"$T/tarsrc/tool-1.2/tool.c"
tar -C "$T/tarsrc" -czf "$P/tool-1.2.tar.gz" tool-1.2
cat >"$P/proj.yaml" <<'YAML'
pkg: proj/1.0.0
sources:
  - path: ./src
    filter: [":- .gitignore", "- *.tmp"]
  - path: ./config/settings.json
    subdir: etc
  - tar: tool-1.2.tar.gz
    subdir: vendor
  - script:
      - test -f main.c && test -f vendor/tool-1.2/tool.c
      - echo "$SPK_PKG_NAME $SPK_PKG_VERSION $SPK_PKG" > generated.txt
build:
  script:
    - mkdir -p $PREFIX/share/proj
    - pwd > $PREFIX/share/proj/cwd
    - cp main.c generated.txt etc/settings.json vendor/tool-1.2/tool.c $PREFIX/share/proj/
    - echo dropping > in-source-build.o
YAML
expect_status 0 spk make-source "$P/proj.yaml"
expect_match "$OUT" "^published  proj/1.0.0/src \([0-9]+ entries, layer [0-9a-f]{12}\)$" "make-source"
expect_status 0 spfs ls spk/pkg/proj/1.0.0/src/src -R
L=$OUT
S=spk/pkg/proj/1.0.0/src
for f in main.c lib/lib.h .gitignore main-link.c etc/settings.json vendor/tool-1.2/tool.c generated.txt; do
	expect_match "$L" "^$S/$f$" "collected $f"
done
for f in lib/lib.o build .git notes.tmp; do
	expect_eq "$(grep -Ec "^$S/$f(/|$)" <<<"$L" || true)" 0 "left out $f"
done
expect_status 0 spfs cat spk/pkg/proj/1.0.0/src/src "$S/generated.txt"
expect_eq "$OUT" "proj 1.0.0 proj/1.0.0/src" "the source script's variables"
expect_status 0 spfs cat spk/spec/proj/1.0.0/src
expect_match "$OUT" "^pkg: 'proj/1.0.0/src'$" "the source package's spec"
expect_status 0 spk ls proj/1.0.0
expect_eq "$OUT" "$(printf 'proj/1.0.0  [recipe]\nproj/1.0.0/src')" "recipe and source package"
# the same sources again: nothing changes
expect_status 0 spk make-source "$P/proj.yaml"
expect_match "$OUT" "^up to date proj/1.0.0/src" "make-source twice"
# a source package is only chosen when asked for
expect_status 0 spk solve proj/1.0.0/src
expect_match "$OUT" "^proj/1.0.0/src " "solve the source package"
if [ "$(id -u)" = 0 ]; then
	expect_status 0 spk env proj/1.0.0/src -- cat /spfs/spk/pkg/proj/1.0.0/src/generated.txt
	expect_eq "$OUT" "proj 1.0.0 proj/1.0.0/src" "spk env of a source package shows its sources"
fi

# exclude replaces the default (.git/ is then copied)
cat >"$P/excl.yaml" <<'YAML'
pkg: excl/1.0.0
sources:
  - path: src
    exclude: ["lib/"]
    filter: []
YAML
expect_status 0 spk make-source "$P/excl.yaml"
expect_status 0 spfs ls spk/pkg/excl/1.0.0/src/src -R
expect_match "$OUT" "src/.git/HEAD$" "no default exclude once exclude is given"
expect_match "$OUT" "src/notes.tmp$" "no filter rules"
expect_match "$OUT" "src/build/cache$" "filter [] reads no .gitignore"
expect_eq "$(grep -c 'src/lib/' <<<"$OUT" || true)" 0 "exclude lib/"

# without sources: the spec's directory (the store beside it is never collected)
mkdir -p "$T/plain"
echo 'payload' >"$T/plain/data.txt"
printf 'pkg: plain/1.0.0\n' >"$T/plain/plain.yaml"
expect_status 0 spk make-source "$T/plain/plain.yaml"
expect_status 0 spfs ls spk/pkg/plain/1.0.0/src/src -R
expect_match "$OUT" "src/data.txt$" "the spec's directory by default"
expect_match "$OUT" "src/plain.yaml$" "the spec itself"
printf 'pkg: beside/1.0.0\n' >"$T/beside.yaml"
expect_status 0 spk make-source "$T/beside.yaml"
expect_status 0 spfs ls spk/pkg/beside/1.0.0/src/src -R
expect_eq "$(grep -c 'src/store' <<<"$OUT" || true)" 0 "the store next to the spec is left out"
expect_match "$OUT" "src/proj/src/main.c$" "the rest of the directory is collected"
expect_eq "$(grep -c "src/proj/src/lib/lib.o" <<<"$OUT" || true)" 0 "a .gitignore deeper down applies there"

# git: a local repository, a tag, a shallow clone
if command -v git >/dev/null; then
	G="$P/repo"
	git init -q -b main "$G"
	gitc() { git -C "$G" -c user.email=e2e@spawn.invalid -c user.name=e2e "$@"; }
	echo v1 >"$G/VERSION" && gitc add VERSION && gitc commit -qm one && gitc tag v1
	echo v2 >"$G/VERSION" && gitc commit -qam two
	cat >"$P/git.yaml" <<'YAML'
pkg: gitsrc/1.0.0
sources:
  - git: ./repo
    ref: v1
    subdir: code
  - git: ./repo
    subdir: head
YAML
	expect_status 0 spk make-source "$P/git.yaml"
	expect_status 0 spfs cat spk/pkg/gitsrc/1.0.0/src/src spk/pkg/gitsrc/1.0.0/src/code/VERSION
	expect_eq "$OUT" v1 "git ref"
	expect_status 0 spfs cat spk/pkg/gitsrc/1.0.0/src/src spk/pkg/gitsrc/1.0.0/src/head/VERSION
	expect_eq "$OUT" v2 "the default branch"
	printf 'pkg: gitbad/1.0.0\nsources:\n  - git: ./repo\n    ref: nosuch\n' >"$P/gitbad.yaml"
	expect_status 2 spk make-source "$P/gitbad.yaml"
	expect_match "$ERR" "gitbad.yaml:3:5: git source './repo': git clone failed" "a missing ref"
	expect_status 1 spk ls gitbad
fi

# ------------------------------------------------------ hostile input
# Each is refused with the spec file, the entry's position and the reason;
# nothing is published and nothing is written outside.
H="$T/hostile"
mkdir -p "$H/inside" "$T/secret"
echo secret >"$T/secret/key"
ln -s ../../secret "$H/inside/up"
ln -s "$T/secret" "$H/escape"
python3 - "$H" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
def tar(name, *members):
    with tarfile.open(f"{d}/{name}", "w:gz") as t:
        for path, kind, arg in members:
            ti = tarfile.TarInfo(path)
            if kind == "file":
                ti.size = len(arg); t.addfile(ti, io.BytesIO(arg))
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE; ti.linkname = arg; t.addfile(ti)
            elif kind == "hard":
                ti.type = tarfile.LNKTYPE; ti.linkname = arg; t.addfile(ti)
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE; t.addfile(ti)
tar("dotdot.tar.gz", ("ok.txt", "file", b"ok"), ("../../evil.txt", "file", b"evil"))
tar("absolute.tar.gz", ("/tmp/spawn-e2e-evil.txt", "file", b"evil"))
tar("symlink.tar.gz", ("a/link", "sym", "../../etc/passwd"))
tar("symabs.tar.gz", ("link", "sym", "/etc/passwd"))
tar("hardlink.tar.gz", ("h", "hard", "../outside"))
tar("fifo.tar.gz", ("f", "fifo", None))
tar("chain.tar.gz", ("a/l", "sym", ".."), ("m", "sym", "a/l/.."))
PY
refuse() { # NAME SOURCE-YAML REGEX WHAT
	printf 'pkg: %s/1.0.0\nsources:\n%s\n' "$1" "$2" >"$H/$1.yaml"
	expect_status 2 spk make-source "$H/$1.yaml"
	expect_match "$ERR" "^spk make-source: $H/$1.yaml:3:5: $3" "$4"
	expect_status 1 spk ls "$1"
	expect_eq "$(spfs tags "spk/pkg/$1" | wc -l)" 0 "$4: no layer tag"
}
refuse updir "  - path: ../secret" "path source '../secret': '../secret' leaves the spec's directory $H \(through '..' or a symbolic link\)" "path with .."
refuse linkout "  - path: escape" "path source 'escape': 'escape' leaves the spec's directory" "path through a symlink"
refuse nested "  - path: inside/up/" "path source 'inside/up/': 'inside/up/' leaves the spec's directory" "path through a nested symlink"
refuse innerlink "  - path: inside" "path source 'inside': symbolic link up points outside the sources \(target '../../secret'\)" "a link inside a path source"
refuse dotdot "  - tar: dotdot.tar.gz" "tar source 'dotdot.tar.gz': member '../../evil.txt': '..' leaves the source directory" "tar ../"
refuse absolute "  - tar: absolute.tar.gz" "tar source 'absolute.tar.gz': member '/tmp/spawn-e2e-evil.txt': absolute path" "tar absolute member"
refuse symlink "  - tar: symlink.tar.gz" "tar source 'symlink.tar.gz': member 'a/link' is a symbolic link that points outside the sources \(target '../../etc/passwd'\)" "tar symlink out"
refuse symabs "  - tar: symabs.tar.gz" "tar source 'symabs.tar.gz': member 'link' is a symbolic link that points outside the sources \(absolute target '/etc/passwd'\)" "tar absolute symlink"
refuse hardlink "  - tar: hardlink.tar.gz" "tar source 'hardlink.tar.gz': member 'h' is a hard link to '../outside': '..' leaves the source directory" "tar hard link out"
refuse fifo "  - tar: fifo.tar.gz" "tar source 'fifo.tar.gz': member 'f' is not a file, directory or link" "tar fifo"
refuse chain "  - tar: chain.tar.gz" "tar source 'chain.tar.gz': symbolic link m points outside the sources when followed \(target 'a/l/..', through other links\)" "links that escape together"
refuse url "  - tar: ftp://127.0.0.1/x.tar.gz" "tar source 'ftp://127.0.0.1/x.tar.gz': only http:// and https:// URLs are downloaded" "a tar URL of another scheme"
refuse scriptlink "  - script: [ln -s /etc/passwd pw]" "script source: symbolic link pw points outside the sources \(absolute target '/etc/passwd'\)" "a link made by a script"
refuse scriptfail "  - script: [echo partial > p.txt, exit 3]" "script source: the source script failed \(exit status 3\)" "a failing script"
# an absolute path is taken as written, as SPK takes it (a relative one
# stays beneath the spec's directory, above); links inside it are checked
mkdir -p "$T/abs/sub" && echo a >"$T/abs/sub/a.txt" && echo b >"$T/abs/b.txt"
printf 'pkg: abspath/1.0.0\nsources:\n  - path: %s/abs\n  - path: %s/abs/b.txt\n    subdir: one\n' "$T" "$T" >"$H/abspath.yaml"
expect_status 0 spk make-source "$H/abspath.yaml"
expect_status 0 spfs ls spk/pkg/abspath/1.0.0/src/src -R
for f in sub/a.txt b.txt one/b.txt; do
	expect_match "$OUT" "^spk/pkg/abspath/1.0.0/src/$f$" "absolute path source: $f"
done
ln -s /etc/passwd "$T/abs/pw"
printf 'pkg: abslink/1.0.0\nsources:\n  - path: %s/abs\n' "$T" >"$H/abslink.yaml"
expect_status 2 spk make-source "$H/abslink.yaml"
expect_match "$ERR" "abslink.yaml:3:5: path source '$T/abs': symbolic link pw points outside the sources" "a link inside an absolute path source"
printf 'pkg: absmissing/1.0.0\nsources:\n  - path: %s/no-such-dir\n' "$T" >"$H/absmissing.yaml"
expect_status 1 spk make-source "$H/absmissing.yaml"
expect_match "$ERR" "absmissing.yaml:3:5: path source '$T/no-such-dir': '$T/no-such-dir': No such file or directory" "a missing absolute path"
# a script (or git) runs confined: only the sources are writable to it
printf 'pkg: scriptout/1.0.0\nsources:\n  - script: ["echo leak > %s/leak.txt"]\n' "$T" >"$H/scriptout.yaml"
expect_status 2 spk make-source "$H/scriptout.yaml"
expect_match "$ERR" "$T/leak.txt: Read-only file system" "the script is told why"
expect_match "$ERR" "scriptout.yaml:3:5: script source: the source script failed \(exit status 1\)" "a script writing outside"
[ ! -e "$T/leak.txt" ] || fail "a source script wrote outside the sources"
ok
printf 'pkg: empty/1.0.0\nsources:\n  - script: [true]\n' >"$H/empty.yaml"
expect_status 2 spk make-source "$H/empty.yaml"
expect_match "$ERR" "^spk make-source: $H/empty.yaml: no source files collected for empty/1.0.0/src" "empty sources"
expect_status 1 spk ls empty
[ ! -e "$T/evil.txt" ] && [ ! -e "$H/../evil.txt" ] && [ ! -e /tmp/spawn-e2e-evil.txt ] || fail "a tar member was written outside"
ok
expect_eq "$(cat "$T/secret/key")" secret "the outside file is untouched"
# a good source before a bad one: still nothing published
printf 'pkg: mixed/1.0.0\nsources:\n  - script: [echo fine > fine.txt]\n  - tar: dotdot.tar.gz\n' >"$H/mixed.yaml"
expect_status 2 spk make-source "$H/mixed.yaml"
expect_match "$ERR" "mixed.yaml:4:5: tar source 'dotdot.tar.gz': member" "the second source"
expect_status 1 spk ls mixed
# malformed entries are spec errors (spk lint names them)
printf 'pkg: bad/1.0.0\nsources:\n  - path: a\n    tar: b.tar\n' >"$H/two.yaml"
expect_status 2 spk lint "$H/two.yaml"
expect_match "$ERR" "two.yaml:3:5: source: more than one of path, git, tar, script" "two kinds"
printf 'pkg: bad/1.0.0\nsources:\n  - path: a\n    subdir: ../up\n' >"$H/sub.yaml"
expect_status 2 spk lint "$H/sub.yaml"
expect_match "$ERR" "sub.yaml:4:13: subdir '../up': '..' leaves the source directory" "subdir with .."
printf 'pkg: bad/1.0.0\nsources:\n  - path: a\n    filter: ["merge x"]\n' >"$H/filter.yaml"
expect_status 2 spk lint "$H/filter.yaml"
expect_match "$ERR" "filter: 'merge x' is not a supported rule" "filter rule"
printf 'pkg: bad/1.0.0\nsources:\n  - tar: a.tar\n    ref: main\n' >"$H/ref.yaml"
expect_status 2 spk lint "$H/ref.yaml"
expect_match "$ERR" "ref: only a git source has it" "a field of another kind"

# ------------------------------------------------- builds from sources
[ "$(id -u)" = 0 ] || { echo "SKIP (the rest): builds need root"; exit 0; }
expect_status 0 spk build "$P/proj.yaml"
expect_match "$OUT" "^built proj/1.0.0/[A-Z2-7]{8} \(2 components\) from proj/1.0.0/src$" "build from sources"
b=$(sed -nE 's|^built proj/1.0.0/([A-Z2-7]{8}).*|\1|p' <<<"$OUT")
expect_status 0 spk env proj -- cat /spfs/share/proj/cwd /spfs/share/proj/generated.txt /spfs/share/proj/tool.c
expect_eq "$OUT" "$(printf '/spfs/spk/pkg/proj/1.0.0/src\nproj 1.0.0 proj/1.0.0/src\ntool source')" "the script runs in its sources"
expect_status 0 spfs ls "spk/pkg/proj/1.0.0/$b/run" -R
expect_eq "$(grep -c '^spk' <<<"$OUT" || true)" 0 "neither the sources nor what the build wrote there are packaged"
# changed sources: --force rebuilds from them and publishes them
echo 'int main(void) { return 1; }' >"$P/src/main.c"
expect_status 0 spk build "$P/proj.yaml"
expect_match "$OUT" "^already built proj/1.0.0/$b" "same options: nothing to do"
expect_status 0 spk build "$P/proj.yaml" --force
expect_match "$OUT" "^published  proj/1.0.0/src \(its sources\)$" "new sources published"
expect_status 0 spk env proj -- cat /spfs/share/proj/main.c
expect_eq "$OUT" "int main(void) { return 1; }" "built from the new sources"
expect_status 0 spfs log spk/pkg/proj/1.0.0/src/src --json
expect_eq "$(json_get - 'len(d["records"]) if isinstance(d, dict) else len(d)' <<<"$OUT")" 2 "the old sources stay in the tag's history"

# a failing build publishes neither the build nor its sources
mkdir -p "$T/failing" && echo 'x' >"$T/failing/input.txt"
printf 'pkg: failing/1.0.0\nbuild:\n  script:\n    - cat input.txt\n    - exit 4\n' >"$T/failing/failing.yaml"
expect_status 1 spk build "$T/failing/failing.yaml"
expect_match "$ERR" "the build script of failing/1.0.0/[A-Z2-7]{8} failed \(exit status 4\)" "failing build"
log=$(sed -n 's/^--- full log: //p' <<<"$ERR")
expect_eq "$(grep -v '^+ ' "$log")" x "the script ran in its sources (the spec's directory)"
expect_match "$(cat "$log")" "^\+ cat input.txt" "the log shows each command (bash -x)"
rm -rf "$(dirname "$log")"
expect_status 1 spk ls failing
expect_eq "$(spfs tags spk/pkg/failing | wc -l)" 0 "no layer tags, not even the sources'"

# a new variant built on demand from the published source package, after
# the spec and its directory are gone
mkdir -p "$T/lvl/data"
echo 'from the sources' >"$T/lvl/data/msg"
cat >"$T/lvl/level.yaml" <<'YAML'
pkg: srclevel/1.0.0
sources:
  - path: data
build:
  options:
    - var: level
      default: "1"
      choices: ["1", "2"]
  script:
    - mkdir -p $PREFIX/share
    - echo "level $SPK_OPT_level $(cat msg)" > $PREFIX/share/level
YAML
expect_status 0 spk build "$T/lvl/level.yaml"
rm -rf "$T/lvl"
expect_status 0 spk env srclevel level=2 --allow-builds --make-missing -- cat /spfs/share/level
expect_eq "$OUT" "level 2 from the sources" "built on demand from the source package"
# a recipe with sources whose source package is missing cannot be built on demand
mkdir -p "$T/nosrc/data" && echo x >"$T/nosrc/data/x"
sed 's/srclevel/nosrc/' <<'YAML' >"$T/nosrc/nosrc.yaml"
pkg: srclevel/1.0.0
sources:
  - path: data
build:
  options:
    - var: level
      default: "1"
      choices: ["1", "2"]
  script:
    - mkdir -p $PREFIX/share && echo "level $SPK_OPT_level" > $PREFIX/share/level
YAML
expect_status 0 spk publish "$T/nosrc/nosrc.yaml"
expect_status 1 spk env nosrc level=2 --allow-builds --make-missing -- true
expect_match "$ERR" "nosrc/1.0.0 has sources but no source package nosrc/1.0.0/src \(spk make-source SPEC.yaml makes it\)" "no source package"
expect_status 0 spk make-source "$T/nosrc/nosrc.yaml"
expect_status 0 spk env nosrc level=2 --allow-builds --make-missing -- cat /spfs/share/level
expect_eq "$OUT" "level 2" "once the source package exists"

# a recipe published without sources and never built: built on demand in a
# scratch directory holding its spec
cat >"$T/bare.yaml" <<'YAML'
pkg: bare/1.0.0
build:
  options:
    - var: level
      default: "1"
      choices: ["1", "2"]
  script:
    - mkdir -p $PREFIX/share && echo "bare $SPK_OPT_level $(ls)" > $PREFIX/share/bare
YAML
expect_status 0 spk publish "$T/bare.yaml"
expect_status 0 spk env bare level=2 --allow-builds --make-missing -- cat /spfs/share/bare
expect_eq "$OUT" "bare 2 spec.yaml" "built on demand without sources"
