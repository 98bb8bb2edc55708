#!/usr/bin/env bash
# e2e: spec files as SPK writes them: templates rendered with --opt
# (lint, publish, solve over a spec directory, build), template errors with
# their line; platforms (v0 and v1) that load, solve, build as empty
# packages and inherit from their base; workspace files.
. "$(dirname "$0")/lib.sh"
expect_match() { grep -Eq -- "$2" <<<"$1" || fail "$3: '$1' does not match /$2/"; ok; }
SPK="$SPAWN_BIN/spk"
spk() { "$SPK" "$@"; }
spfs init >/dev/null
D="$T/specs"
mkdir -p "$D"

# ------------------------------------------------------------ templates
cat >"$D/tool.spk.yaml" <<'YAML'
# {% set opt = opt | default_opts(version="2.4.1") %}
# {% set mm = opt.version | replace_regex(from="(\d+)\.(\d+).*", to="$1$2") %}
pkg: tool/{{ opt.version }}
build:
  options:
    - var: tag
      default: "t{{ mm }}"
  script:
    - mkdir -p $PREFIX/share/tool
    - echo "{{ opt.version }} $SPK_OPT_tag" > $PREFIX/share/tool/version
{% if opt.version | compare_version(op=">=3") %}
    - echo modern > $PREFIX/share/tool/era
{% else %}
    - echo classic > $PREFIX/share/tool/era
{% endif %}
YAML
expect_status 0 spk lint "$D/tool.spk.yaml"
expect_match "$OUT" "^$D/tool.spk.yaml:3: recipe tool/2.4.1, spec-only build" "a template's default version"
expect_status 0 spk lint "$D/tool.spk.yaml" --opt version=3.0.2
expect_match "$OUT" "recipe tool/3.0.2," "--opt version= renders another version"
expect_status 0 spk solve tool/3.0.2 --opt version=3.0.2 --repo "$D"
expect_match "$OUT" "^tool/3.0.2/" "spk solve renders a spec directory's templates with --opt"
expect_status 1 spk solve tool/3.0.2 --repo "$D"
expect_status 0 spk publish "$D/tool.spk.yaml" -o version=2.9.0
expect_status 0 spk info tool/2.9.0
expect_match "$OUT" "default: \"t29\"" "the published recipe is the rendered text"
printf 'pkg: bad/1.0\nbuild:\n  script:\n    - echo {{ opt.nope }}\n' >"$T/bad.spk.yaml"
expect_status 2 spk lint "$T/bad.spk.yaml"
expect_match "$ERR" "^spk lint: $T/bad.spk.yaml:4:15: template: 'opt.nope' is not defined$" "a template error names its line"
printf 'pkg: bad/1.0\n{%% if true %%}\n' >"$T/open.spk.yaml"
expect_status 2 spk lint "$T/open.spk.yaml"
expect_match "$ERR" "open.spk.yaml:2:1: template: \{% if %\} is never closed" "an unclosed block"

# -------------------------------------------------------------- platforms
P="$T/platforms"
mkdir -p "$P"
cat >"$P/base.spk.yaml" <<'YAML'
api: v1/platform
platform: studio-base/2024.1.0
requirements:
  - pkg: gcc
    atBuild: =9.3.1
    atRuntime: 9.3.1
  - pkg: python
    atBuild: =3.9.18
    atRuntime: 3.9
  - pkg: imath
    atRuntime: 3
YAML
cat >"$P/dcc.spk.yaml" <<'YAML'
api: v1/platform
platform: dcc-platform/2025.1.0
base: [studio-base/2024.1.0]
requirements:
  - pkg: python
    atBuild: =3.7.10
    atRuntime: 3.7
  - pkg: imath
    atRuntime: false
YAML
cat >"$P/old.spk.yaml" <<'YAML'
api: v0/platform
platform: vfx-ref/2022
requirements:
  - pkg: python/3.9
YAML
printf 'pkg: python/3.7.10\n---\npkg: python/3.9.18\n---\npkg: imath/2.4.0\n---\npkg: gcc/9.3.1\n' >"$P/pkgs.yaml"
expect_status 0 spk lint "$P/base.spk.yaml" "$P/old.spk.yaml"
expect_match "$OUT" "^$P/base.spk.yaml:1: recipe studio-base/2024.1.0" "a v1 platform loads"
expect_match "$OUT" "^$P/old.spk.yaml:1: recipe vfx-ref/2022" "a v0 platform loads"
# a platform only constrains what is present
expect_status 0 spk solve studio-base --repo "$P"
expect_eq "$(wc -l <<<"$OUT")" 1 "a platform brings nothing in"
expect_status 0 spk solve studio-base python --repo "$P"
expect_match "$OUT" "^python/3.9.18/" "a platform pins the run version"
expect_status 1 spk solve studio-base python/=3.7.10 --repo "$P"
expect_match "$ERR" "python/3.9 from studio-base/2024.1.0" "and says so"
expect_status 1 spk solve vfx-ref python/=3.7.10 --repo "$P"
expect_status 0 spk solve studio-base:build python --repo "$P"
expect_match "$OUT" "^python/3.9.18/" "build component: atBuild"

if [ "$(id -u)" = 0 ]; then
	# a template builds as the version --opt renders (SPK's idiom)
	expect_status 0 spk build "$D/tool.spk.yaml" -o version=3.0.2
	expect_match "$OUT" "^built tool/3.0.2/" "spk build -o version= builds that version"
	expect_status 0 spk env tool/3.0.2 -- cat /spfs/share/tool/version /spfs/share/tool/era
	expect_eq "$OUT" "$(printf '3.0.2 t30\nmodern')" "rendered script, option default and condition"
	expect_status 0 spk build "$D/tool.spk.yaml"
	expect_status 0 spk env tool/=2.4.1 -- cat /spfs/share/tool/version /spfs/share/tool/era
	expect_eq "$OUT" "$(printf '2.4.1 t24\nclassic')" "the template's default version"
	expect_status 0 spk build "$P/base.spk.yaml"
	expect_match "$OUT" "^built studio-base/2024.1.0/[A-Z2-7]{8} \(2 components\)" "a platform builds"
	expect_status 0 spk build "$P/dcc.spk.yaml"
	expect_match "$OUT" "^built dcc-platform/2025.1.0/" "a platform with a base builds"
	id=$(spk ls dcc-platform/2025.1.0 | grep -v recipe)
	expect_status 0 spk info "$id"
	I=$OUT
	# gcc from the base, python its own, imath dropped at run time only
	expect_match "$I" "pkg: 'gcc/=9.3.1'" "inherited at build"
	expect_match "$I" "pkg: 'gcc/9.3.1'" "inherited at run"
	expect_match "$I" "pkg: 'python/3.7'" "its own atRuntime replaces the base's"
	expect_eq "$(grep -c "python/3.9" <<<"$I" || true)" 0 "the base's python is replaced"
	expect_eq "$(grep -c "imath/3" <<<"$I" || true)" 0 "atRuntime: false removes the base's imath"
	expect_eq "$(spfs ls "spk/pkg/$id/run" | wc -l)" 0 "a platform holds no files"
	expect_status 0 spk env dcc-platform -- true
	# built: the stored build's requirements apply
	expect_status 0 spk publish "$P/pkgs.yaml"
	expect_status 0 spk explain dcc-platform python
	expect_match "$OUT" "python/3.7.10/" "the built platform's pin applies"
fi

# ------------------------------------------------------------- workspaces
W="$T/ws"
mkdir -p "$W/packages/tool" "$W/attic"
cp "$D/tool.spk.yaml" "$W/packages/tool/"
printf 'pkg: old/1.0\n' >"$W/attic/old.spk.yaml"
cat >"$W/workspace.spk.yaml" <<'YAML'
api: v0/workspace
recipes:
  - packages/**/*.spk.yaml
  - path: packages/tool/tool.spk.yaml
    versions: ['2.{4..5}.0', 3.1.0]
YAML
expect_status 2 spk lint "$W/workspace.spk.yaml"
expect_match "$ERR" "a workspace file" "a workspace is not a spec"
expect_status 0 spk solve tool/3.1.0 --workspace "$W"
expect_match "$OUT" "^tool/3.1.0/" "a workspace renders a template once per listed version"
expect_status 0 spk solve tool/=2.5.0 --repo "$W/workspace.spk.yaml"
expect_status 0 spk solve ws/tool/=2.4.0 --workspace "$W/workspace.spk.yaml"
expect_match "$OUT" "^tool/2.4.0/" "a workspace file's repository is named after its directory"
expect_status 1 spk solve old --workspace "$W"
expect_match "$ERR" "no package named old" "only the recipes a workspace lists"
expect_status 0 spk solve old --repo "$W/attic"
expect_status 2 spk solve tool --workspace "$W/attic"
expect_match "$ERR" "--workspace $W/attic: no workspace file" "--workspace needs one"
