#!/usr/bin/env bash
# spk as a user who is not root drives it (lib_user.sh: the commands
# installed by cmake --install, a user of its own, its default store), once
# through the installed helper (mode auto) and once rootless: spk build of
# a recipe with sources and a build option, of a library and of a tool
# built against it, a failing build (its log's tail shown, the full log
# readable, nothing published), then spk env with the packages'
# install.environment (a set and a prepend to PATH) and the user's own
# variables reaching the command, and --allow-builds --make-missing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_user.sh"
src=${SPAWN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
user_setup

spk_flow() {
	local R P
	R=$(user_data "$src/tests/data/spk/repo/build" recipes)
	# a project with sources: a path source next to the recipe, used by
	# the build script, and a build option
	P=$UHOME/app
	as_user mkdir -p "$P/src"
	as_user sh -c "printf '#!/bin/sh\necho \"app says \$(cat /spfs/share/app/motd)\"\n' > $P/src/app.sh"
	as_user sh -c "echo 'scratch' > $P/src/notes.tmp"
	as_user sh -c "cat > $P/app.yaml" <<'YAML'
pkg: app/1.0.0
sources:
  - path: ./src
    filter: ["- *.tmp"]
build:
  options:
    - var: motd
      default: hello
    - pkg: greetlib/1
  script:
    - test -f app.sh && test ! -e notes.tmp
    - mkdir -p $PREFIX/bin $PREFIX/share/app
    - cp app.sh $PREFIX/bin/app && chmod +x $PREFIX/bin/app
    - echo "$SPK_OPT_motd" > $PREFIX/share/app/motd
    - echo "built with $(cat /spfs/lib/libgreet.txt)" > $PREFIX/share/app/built-with
install:
  requirements:
    - pkg: greetlib/1
  environment:
    - set: APP_HOME
      value: /spfs/share/app
    - prepend: PATH
      value: /spfs/bin
YAML

	# builds: a library with an option value, then what is built against it
	expect_status 0 uspk build "$R/greetlib.yaml" --opt flavour=fancy
	expect_match "$OUT" "^built greetlib/1.0.0/[A-Z2-7]{8} \(2 components\)" "$MODE: build greetlib"
	expect_status 0 uspk build "$P/app.yaml" --opt motd=bonjour
	expect_match "$OUT" "^built app/1.0.0/[A-Z2-7]{8}" "$MODE: build app from its sources"
	expect_match "$OUT" "^published  app/1.0.0/src" "$MODE: its sources are published"
	local b
	b=$(sed -nE 's|^built app/1.0.0/([A-Z2-7]{8}).*|\1|p' <<<"$OUT")
	expect_status 0 us cat "spk/pkg/app/1.0.0/$b/run" share/app/built-with
	expect_eq "$OUT" "built with greet-fancy" "$MODE: built against the library in its build environment"
	expect_status 0 uspk build "$R/greet.yaml"
	expect_match "$OUT" "^built greet/2.0.0/" "$MODE: build greet"

	# a failing build: the tail of its log, the full log the user's, nothing published
	expect_status 1 uspk build "$R/broken.yaml"
	expect_match "$ERR" "the build script of broken/1.0.0/.* failed \(exit status 1\)" "$MODE: the build fails"
	expect_match "$ERR" "oops: no compiler" "$MODE: the log's tail is shown"
	local log
	log=$(sed -n 's/^--- full log: //p' <<<"$ERR")
	[ -n "$log" ] || fail "$MODE: no full log named: $ERR"
	expect_status 0 as_user cat "$log"
	expect_match "$OUT" "step one" "$MODE: the full log is kept, readable by the user"
	expect_status 1 uspk ls broken
	expect_status 0 us runtime ls
	expect_eq "$OUT" "" "$MODE: no runtime left behind"

	# spk env: the packages' environment operations and the user's own variables
	expect_status 0 as_user env MYLICENSE=27000@lic spk env app greet -- \
		sh -c 'echo "$APP_HOME|$GREET_LIB|$MYLICENSE"; app; greet; echo "$PATH"'
	local lines
	mapfile -t lines <<<"$OUT"
	expect_eq "${lines[0]}" "/spfs/share/app|/spfs/lib/libgreet.txt|27000@lic" "$MODE: set operations and the user's variable"
	expect_eq "${lines[1]}" "app says bonjour" "$MODE: the package's command found through the prepended PATH"
	expect_eq "${lines[2]}" "hello from greet 2.0.0 using greet-fancy" "$MODE: a second package's command on PATH"
	expect_match "${lines[3]}" "^/spfs/bin:.*$STAGE/bin" "$MODE: PATH prepended to the user's own PATH"
	# the user's $SHELL is the default command
	expect_status 0 as_user env SHELL=/bin/sh spk env app <<<'echo "in $APP_HOME"'
	expect_eq "$OUT" "in /spfs/share/app" "$MODE: spk env without a command starts \$SHELL"

	# --make-missing: a variant nobody built yet, built from the stored recipe
	as_user sh -c "cat > $UHOME/level.yaml" <<'YAML'
pkg: level/1.0.0
build:
  options:
    - var: level
      default: "1"
      choices: ["1", "2", "3"]
  script:
    - mkdir -p $PREFIX/share && echo "level $SPK_OPT_level" > $PREFIX/share/level
YAML
	expect_status 0 uspk build "$UHOME/level.yaml"
	as_user rm "$UHOME/level.yaml"
	expect_status 1 uspk env level level=3 -- cat /spfs/share/level
	expect_status 0 uspk env level level=3 --allow-builds --make-missing -- cat /spfs/share/level
	expect_eq "$OUT" "level 3" "$MODE: --make-missing built the variant"
	expect_match "$ERR" "built level/1.0.0/[A-Z2-7]{8}" "$MODE: and says so"
	expect_status 0 uspk env level level=3 -- cat /spfs/share/level
	expect_eq "$OUT" "level 3" "$MODE: the built variant stays"
	expect_eq "$(find "$USTORE" ! -user "$U" | wc -l)" 0 "$MODE: nothing in the store belongs to anyone else"
}
user_modes spk_flow
