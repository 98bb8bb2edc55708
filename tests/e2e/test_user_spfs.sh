#!/usr/bin/env bash
# spfs as a user who is not root drives it (lib_user.sh: the commands
# installed by cmake --install, a user of its own, its default store), once
# through the installed helper (mode auto) and once rootless: spfs init,
# commit, run (the stack, exit status), shell with a startup script, run
# --edit then spfs commit layer inside, and the committed layer run again.
# (The environment: test_user_env.sh; a layer's file changed in an
# editable runtime: test_user_spfs_edit.sh.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_user.sh"
user_setup

spfs_flow() {
	local W=$UHOME/work
	as_user mkdir -p "$W/a/bin" "$W/b/etc/spfs/startup.d"
	as_user sh -c "echo A > $W/a/file; echo keep > $W/a/keep; echo B > $W/b/file"
	as_user sh -c "printf '#!/bin/sh\necho tool \"\$@\"\n' > $W/a/bin/tool && chmod +x $W/a/bin/tool"
	as_user sh -c "echo 'export FROM_STARTUP=yes' > $W/b/etc/spfs/startup.d/10-b.sh"
	expect_status 0 us commit "$W/a" -t t/a
	is_digest "$OUT"
	expect_status 0 us commit "$W/b" -t t/b
	expect_status 0 us merge t/a t/b -t t/ab

	# run: the stack, as the user, startup scripts, exit status
	expect_status 0 us run t/ab -- sh -c 'cat /spfs/file /spfs/keep; /spfs/bin/tool x; echo "$FROM_STARTUP"; id -u'
	expect_eq "$OUT" "$(printf 'B\nkeep\ntool x\nyes\n%s' "$UID_")" "$MODE: run, the stack as the user"
	expect_status 42 us run t/a -- sh -c 'exit 42'
	expect_status 127 us run t/a -- /no/such/command
	expect_status 2 us run t/a -- sh -c 'echo x > /spfs/x'
	expect_match "$ERR" "Read-only" "$MODE: read-only without --edit"
	# shell: $SHELL, after the startup scripts
	expect_status 0 as_user env SHELL=/bin/sh spfs shell t/ab <<<'echo "shell ${FROM_STARTUP:-no} $(cat /spfs/file)"'
	expect_eq "$OUT" "shell yes B" "$MODE: spfs shell with a startup script"

	# run --edit, commit layer inside: a deletion (a mask), a new file
	expect_status 0 us run --edit t/a -- sh -c \
		'rm /spfs/keep; echo n > /spfs/new; mkdir /spfs/bin/sub; spfs diff; spfs commit layer -t t/edit'
	expect_match "$OUT" "^- keep$" "$MODE: diff shows the deletion"
	expect_match "$OUT" "^\+ new$" "$MODE: diff shows the new file"
	L=$(tail -n1 <<<"$OUT")
	is_digest "$L"
	expect_status 0 us run t/a+t/edit -- sh -c 'ls /spfs /spfs/bin'
	expect_eq "$OUT" "$(printf '/spfs:\nbin\nfile\nnew\n\n/spfs/bin:\nsub\ntool')" "$MODE: the committed layer on top: mask, new file, new dir"
	expect_status 0 us info t/edit
	expect_match "$OUT" "^layer" "$MODE: commit layer made a layer"
	expect_status 0 us runtime ls
	expect_eq "$OUT" "" "$MODE: no runtime left behind"
	# everything the user made is the user's
	expect_eq "$(find "$USTORE" ! -user "$U" | wc -l)" 0 "$MODE: nothing in the store belongs to anyone else"

}
user_modes spfs_flow
