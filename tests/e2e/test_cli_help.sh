#!/usr/bin/env bash
# --help of spfs, spk and every command they list: exit 0, the command's own
# usage on stdout (not the program's), the same as -h and `PROG help CMD`;
# the dispatcher knows every listed command (a bad option is a usage error
# of that command, not "unknown command"). The man pages and completions
# generated from the same tables (build/doc) name every listed command and
# option: the man page renders without warnings, bash completes `spfs ru`
# to run and runtime, the zsh scripts parse and offer the same words.
. "$(dirname "$0")/lib.sh"
DOC=${SPAWN_DOC:-$SPAWN_BIN/../doc}
for c in groff man zsh; do
	command -v $c >/dev/null || fail "$c is missing (scripts/install-deps.sh installs it)"
done

# commands PROG: the names listed under "Commands:" in PROG --help
commands() {
	"$SPAWN_BIN/$1" --help | awk '/^Commands:/ {on = 1; next}
		on && /^$/ {exit}
		on {sub(/^  /, ""); split($0, a, /  +/); if (a[1] != "") print a[1]}'
}
# options TEXT: the option names of the "Options:" section of a --help
options() {
	awk '/^Options:/ {on = 1; next} on && /^$/ {exit}
		on && /^  -/ {sub(/^  /, ""); split($0, a, /   +/); n = split(a[1], w, /[ ,]+/)
			for (i = 1; i <= n; i++) if (w[i] ~ /^-/) print w[i]}' <<<"$1"
}
bash_complete() { # PROG WORDS... (the last one is completed)
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _"$1"; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$DOC/bash-completion/$1" "$@"
}
zsh_complete() { # PROG WORDS...: what the completion offers (stubbed _describe)
	zsh -c '_describe() { local -a a; a=("${(@P)4}"); print -rl -- ${a%%:*} }
		_files() { print -r -- "(files)" }
		f=$1; shift; words=("$@"); CURRENT=$#; PREFIX=${words[-1]}; source $f' \
		_ "$DOC/zsh/_$1" "$@"
}

for prog in spfs spk; do
	P=$SPAWN_BIN/$prog
	expect_status 0 "$P" --help
	GLOBAL=$OUT
	[ -z "$ERR" ] || fail "$prog --help wrote to stderr: $ERR"
	expect_match "$GLOBAL" "^usage: $prog " "$prog --help starts with its usage"
	expect_match "$GLOBAL" "^Exit status" "$prog --help has the exit status"
	expect_status 0 "$P" -h; expect_eq "$OUT" "$GLOBAL" "$prog -h"
	expect_status 0 "$P" help; expect_eq "$OUT" "$GLOBAL" "$prog help"
	expect_status 2 "$P"; expect_eq "$ERR" "$GLOBAL" "$prog without a command: the usage on stderr"
	expect_status 2 "$P" no-such-command; expect_match "$ERR" "unknown command 'no-such-command'" "$prog no-such-command"
	mapfile -t CMDS < <(commands "$prog")
	[ "${#CMDS[@]}" -ge 12 ] || fail "$prog --help lists only ${#CMDS[@]} commands"
	ok

	# the rendered man page, one section per command
	MAN=$DOC/man1/$prog.1
	[ -f "$MAN" ] || fail "$MAN was not generated"
	W=$(groff -man -Tutf8 -ww -z "$MAN" 2>&1)
	expect_eq "$W" "" "groff -ww warnings in $prog.1"
	W=$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$MAN" 2>&1 >/dev/null)
	expect_eq "$W" "" "man -l warnings in $prog.1"
	RENDERED=$(LC_ALL=C.UTF-8 MANWIDTH=100 man -l "$MAN" 2>/dev/null)
	expect_match "$RENDERED" "^NAME" "$prog.1 renders"
	for o in $(options "$GLOBAL"); do
		expect_match "$RENDERED" "(^ +|, )$o([ ,]|$)" "$prog.1 has the global option $o"
	done

	ZTOP=$(zsh_complete "$prog" "")
	TOP=()
	for c in "${CMDS[@]}"; do
		read -ra w <<<"$c"
		# its own help, on stdout, exit 0, by --help, -h and `help`
		expect_status 0 "$P" "${w[@]}" --help
		H=$OUT
		[ -z "$ERR" ] || fail "$prog $c --help wrote to stderr: $ERR"
		[ "$H" != "$GLOBAL" ] || fail "$prog $c --help prints the global help"
		ok
		expect_match "$(head -n1 <<<"$H")" "^usage: $prog $c( |$)" "$prog $c --help names the command"
		expect_match "$H" "^Exit status" "$prog $c --help has the exit status"
		expect_status 0 "$P" "${w[@]}" -h; expect_eq "$OUT" "$H" "$prog $c -h"
		expect_status 0 "$P" help "${w[@]}"; expect_eq "$OUT" "$H" "$prog help $c"
		# the dispatcher knows it: a bad option is that command's usage error
		expect_status 2 "$P" "${w[@]}" --no-such-option-x
		if grep -q "unknown command" <<<"$ERR"; then fail "$prog $c: the dispatcher does not know it"; fi
		expect_match "$ERR" "usage: $prog ${w[0]}" "$prog $c: usage on stderr for a bad option"

		# the man page has its section, and its options
		expect_match "$RENDERED" "^   $prog $c\$" "$prog.1 has a section for $c"
		SECTION=$(awk -v h="   $prog $c" '$0 == h {on = 1; next} on && /^   [^ ]/ {exit} on' <<<"$RENDERED")
		for o in $(options "$H"); do
			expect_match "$SECTION" "(^ +|, )$o([ ,]|$)" "$prog.1 documents $o of $c"
		done

		# completion: the command's name, then its options
		last=${w[${#w[@]} - 1]}
		prefix=("${w[@]:0:${#w[@]}-1}")
		expect_match "$(bash_complete "$prog" "${prefix[@]}" "${last:0:2}")" "^$last\$" "bash completes $prog ${prefix[*]} ${last:0:2}"
		expect_match "$(zsh_complete "$prog" "${prefix[@]}" "")" "^$last\$" "zsh offers $last after $prog ${prefix[*]}"
		BOPTS=$(bash_complete "$prog" "${w[@]}" -)
		ZOPTS=$(zsh_complete "$prog" "${w[@]}" -)
		for o in $(options "$H") --help; do
			expect_match "$BOPTS" "^$o\$" "bash completes $o after $prog $c"
			expect_match "$ZOPTS" "^$o\$" "zsh completes $o after $prog $c"
		done
		[ "${#w[@]}" -gt 1 ] || TOP+=("$c")
	done
	# the top-level words of the completions are exactly the listed commands
	expect_eq "$(bash_complete "$prog" "" | sort)" "$(printf '%s\n' "${TOP[@]}" | sort)" "bash: $prog's commands"
	expect_eq "$(sort <<<"$ZTOP")" "$(printf '%s\n' "${TOP[@]}" | sort)" "zsh: $prog's commands"
	W=$(zsh -n "$DOC/zsh/_$prog" 2>&1); expect_eq "$W" "" "zsh -n _$prog"
	expect_match "$(bash -c '. "$1"; complete -p '"$prog" _ "$DOC/bash-completion/$prog")" "-F _$prog $prog\$" "bash: complete -p $prog"
done

# the example of the issue, and file names where no word fits
expect_eq "$(bash_complete spfs ru | tr '\n' ' ')" "run runtime " "spfs ru<TAB>"
expect_eq "$(bash_complete spfs commit "$T/x" "")" "" "spfs commit DIR <TAB>: files (bash's default)"
expect_eq "$(zsh_complete spfs commit "$T/x" "")" "(files)" "zsh: files after an operand"
expect_eq "$(bash_complete spfs --store "")" "" "spfs --store <TAB>: files"
# a --help among a command's arguments is that command's: spfs and spk go
# on to run it (and fail here, where there is no store)
# (spfs run's own failures before the command are 125, docs/spfs.md)
expect_status 125 spfs run no-such-ref true --help; expect_match "$ERR" "no store" "spfs run REF CMD --help runs CMD"
expect_status 125 spfs run no-such-ref -- true --help; expect_match "$ERR" "no store" "spfs run REF -- CMD --help runs CMD"
expect_status 1 "$SPAWN_BIN/spk" env a -- true --help; expect_match "$ERR" "no store at" "spk env REQ -- CMD --help runs CMD"
