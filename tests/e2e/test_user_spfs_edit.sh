#!/usr/bin/env bash
# A file that comes from a layer, changed in an editable runtime by a user
# who is not root (lib_user.sh: installed helper, then rootless), as
# `make install` over an older copy does: the manifest says 0644 and the
# file is the user's own, so the write must work as it does for root, and
# spfs commit layer must capture it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_user.sh"
user_setup

edit_flow() {
	local W=$UHOME/work
	as_user mkdir -p "$W/a/bin"
	as_user sh -c "echo A > $W/a/file; echo x > $W/a/bin/x"
	expect_status 0 us commit "$W/a" -t t/a
	expect_status 0 us ls t/a -l
	expect_match "$OUT" "^file +0644 +2 [0-9a-f]+ file$" "$MODE: the layer's file is 0644"
	expect_status 0 us run --edit t/a -- sh -c 'echo changed > /spfs/file; echo more >> /spfs/bin/x; spfs commit layer -t t/edit'
	expect_status 0 us run t/a+t/edit -- cat /spfs/file /spfs/bin/x
	expect_eq "$OUT" "$(printf 'changed\nx\nmore')" "$MODE: a layer's files changed in an editable runtime"
}
user_modes edit_flow
