#!/usr/bin/env bash
# The spfs store as a user drives it: init, commit, read commands, tags,
# render, merge, check, clean.
. "$(dirname "$0")/lib.sh"

expect_status 0 spfs init; expect_eq "$OUT" "$SPFS_STORAGE" "init prints the store path"
expect_status 0 spfs --help; expect_match "$OUT" "commit DIR" "help lists commit"
expect_status 2 spfs frobnicate; expect_match "$ERR" "unknown command" "unknown command"

make_tree "$T/tree" 120 1
chmod 0755 "$T/tree/d000"; touch -d @1000 "$T/tree/d000"
expect_status 0 spfs commit "$T/tree" -t demo/app
L1=$OUT; is_digest "$L1"

# Same tree, different timestamps/owners/umask: same digest.
cp -a "$T/tree" "$T/tree2"; touch "$T/tree2"/*.txt 2>/dev/null || true
expect_status 0 spfs commit "$T/tree2"; expect_eq "$OUT" "$L1" "re-commit gives the same layer"
expect_status 0 spfs commit "$T/tree2" --json
expect_eq "$(echo "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["new_blobs"])')" 0 "nothing new written the second time"

# A blob is an object: the sha256 of a file's bytes.
f=$(find "$T/tree" -type f -size +100c | sed -n 1p)
h=$(sha256sum "$f" | cut -c1-64)
expect_status 0 spfs info "$h"; expect_match "$OUT" "^blob $h" "info on a blob"
expect_status 0 spfs info "${h:0:8}"; expect_match "$OUT" "^blob $h" "8-char prefix"
expect_status 1 spfs info "${h:0:5}"; expect_match "$ERR" "at least 8" "short prefix explained"
expect_status 0 spfs cat "$h"; cmp <(spfs cat "$h") "$f" && ok

# ls / cat / info on the layer.
expect_status 0 spfs ls demo/app; expect_match "$OUT" "^d000/" "ls shows a dir"
expect_match "$OUT" "dangling" "ls shows the dangling symlink"
expect_match "$OUT" "empty/" "ls shows the empty dir"
expect_status 0 spfs ls demo/app empty; expect_eq "$OUT" "nested-empty/" "ls PATH"
rel=${f#$T/tree/}
expect_status 0 spfs cat demo/app "$rel"; cmp <(spfs cat demo/app "$rel") "$f" && ok
expect_status 0 spfs cat demo/app dangling; expect_eq "$OUT" "does/not/exist" "symlink target kept verbatim"
expect_status 1 spfs cat demo/app no/such/file; expect_match "$ERR" "no such file" "cat of a missing path"
expect_status 0 spfs info demo/app --json
expect_eq "$(echo "$OUT" | json_get - 'd["kind"]')" layer "info --json kind"
expect_eq "$(echo "$OUT" | json_get - 'd["files"]')" "$(find "$T/tree" -type f | wc -l)" "file count"
expect_status 0 spfs ls demo/app -R --json
expect_eq "$(echo "$OUT" | json_get - 'len(d)')" "$(find "$T/tree" -mindepth 1 | wc -l)" "every entry listed"

# Render equals the source (exec bits, symlinks, empty dirs, content).
expect_status 0 spfs render demo/app "$T/r1"
expect_eq "$(tree_listing "$T/r1" | sha256sum)" "$(tree_listing "$T/tree" | sha256sum)" "render matches the tree"
expect_status 0 spfs render demo/app "$T/r2" --copy
expect_eq "$(tree_listing "$T/r2" | sha256sum)" "$(tree_listing "$T/tree" | sha256sum)" "copy render matches"
mkdir -p "$T/notempty"; touch "$T/notempty/x"
expect_status 1 spfs render demo/app "$T/notempty"; expect_match "$ERR" "cannot render" "render into a non-empty dir refused"

# Stored renders: made once under the store, then reused.
expect_status 0 spfs render demo/app; R1=$OUT
expect_match "$R1" "^$SPFS_STORAGE/renders/[0-9a-f]{2}/[0-9a-f]{62}$" "stored render path"
expect_eq "$(tree_listing "$R1" | sha256sum)" "$(tree_listing "$T/tree" | sha256sum)" "stored render matches"
ino=$(stat -c %i "$R1/$rel")
expect_status 0 spfs render demo/app; expect_eq "$OUT" "$R1" "same render path the second time"
expect_eq "$(stat -c %i "$R1/$rel")" "$ino" "the render is reused, not redone"

# A second version: history, diff, TAG~1.
echo changed > "$T/tree/$rel"; rm -rf "$T/tree/d001"; echo new > "$T/tree/added.txt"
expect_status 0 spfs commit "$T/tree" -t demo/app; L2=$OUT
[ "$L2" != "$L1" ] && ok
expect_status 0 spfs log demo/app; expect_match "$OUT" "demo/app~1	$L1" "log shows the old version"
expect_status 0 spfs info demo/app~1; expect_match "$OUT" "^layer $L1" "TAG~1"
expect_status 1 spfs info demo/app~5; expect_match "$ERR" "only 2 versions" "TAG~N past the history"
expect_status 0 spfs diff demo/app~1 demo/app
expect_match "$OUT" "^~ $rel" "diff shows the change"; expect_match "$OUT" "^\+ added.txt" "diff shows the addition"
expect_match "$OUT" "^- d001/" "diff shows the removal"
expect_status 0 spfs tags; expect_match "$OUT" "^demo/app	$L2" "tags lists the tag"
expect_status 0 spfs tag "$L1" other/name; expect_status 0 spfs tags other
expect_eq "$OUT" "other/name	$L1" "tags PREFIX"
expect_status 1 spfs tag "$L1" "../escape"; expect_match "$ERR" "not a valid tag name" "tag name checked"
expect_status 1 spfs tag "$L1" "/abs"; expect_match "$ERR" "not a valid tag name" "absolute tag refused"
expect_status 0 spfs untag demo/app --latest
expect_status 0 spfs info demo/app; expect_match "$OUT" "^layer $L1" "untag --latest restores the previous"

# Merge: a platform, later layers on top.
mkdir -p "$T/top/d000"; echo top > "$T/top/d000/top.txt"; echo over > "$T/top/added.txt"
expect_status 0 spfs commit "$T/top"; LT=$OUT
expect_status 0 spfs merge "$L2" "$LT" -t demo/platform; P=$OUT; is_digest "$P"
expect_status 0 spfs info demo/platform; expect_match "$OUT" "layer 1: $LT" "platform lists layers bottom first"
expect_status 0 spfs cat demo/platform added.txt; expect_eq "$OUT" over "upper layer wins"
expect_status 0 spfs cat demo/platform "$rel"; expect_eq "$OUT" changed "lower layer shows through"
expect_status 0 spfs render demo/platform "$T/rp"; expect_eq "$(cat "$T/rp/d000/top.txt")" top "platform render merges dirs"

# Refused inputs name the path.
mkdir "$T/bad"; mkfifo "$T/bad/pipe"
expect_status 1 spfs commit "$T/bad"; expect_match "$ERR" "pipe is a FIFO" "FIFO refused by name"
expect_status 1 spfs commit "$T/nonexistent"; expect_match "$ERR" "cannot open .*nonexistent" "missing dir"

# check and clean.
expect_status 0 spfs check; expect_match "$OUT" "0 problems" "check passes"
expect_status 0 spfs check --json; expect_eq "$(echo "$OUT" | json_get - 'd["ok"]')" True "check --json ok"
mkdir "$T/orphan"; head -c 5000 /dev/urandom > "$T/orphan/unique.bin"
expect_status 0 spfs commit "$T/orphan"; LO=$OUT
oh=$(sha256sum "$T/orphan/unique.bin" | cut -c1-64)
expect_status 0 spfs clean --dry-run; expect_match "$ERR" "kept [1-9][0-9]* younger" "grace period keeps new objects"
expect_status 0 spfs info "$oh"
expect_status 0 spfs clean --older-than 0s --dry-run --json
expect_match "$OUT" "$oh" "dry run names the orphan blob"
expect_status 0 spfs info "$oh"
expect_status 0 spfs clean --older-than 0s
expect_status 1 spfs info "$oh"; expect_match "$ERR" "no tag or object|not in the store" "orphan removed"
expect_status 1 spfs info "$LO"
for ref in demo/app demo/platform other/name "$L2" "$LT"; do
	expect_status 0 spfs render "$ref" "$T/after-clean-$(echo "$ref" | tr '/~' '__')"
done
expect_status 0 spfs check; expect_match "$OUT" "0 problems" "check passes after clean"
expect_status 1 spfs --store "$T/nowhere" tags; expect_match "$ERR" "no store at" "missing store explained"

# The store location from a config file, and a broken config explained.
unset SPFS_STORAGE
mkdir -p "$T/home/.config/spawn"
printf 'spfs:\n  storage: %s\n' "$T/from-config" > "$T/cfg.yaml"
expect_status 0 env SPAWN_CONFIG="$T/cfg.yaml" "$SPFS_BIN" init; expect_eq "$OUT" "$T/from-config" "storage from config"
printf 'spfs:\n  storage: [oops\n' > "$T/cfg.yaml"
expect_status 2 env SPAWN_CONFIG="$T/cfg.yaml" "$SPFS_BIN" tags; expect_match "$ERR" "$T/cfg.yaml:[0-9]+:[0-9]+: " "config error names file:line:col"
