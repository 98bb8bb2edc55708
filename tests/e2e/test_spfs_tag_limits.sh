#!/usr/bin/env bash
# Tag names have one limit (64 parts, 251 bytes a part, 1024 bytes), shared
# by `spfs tag` and every walk of tags/: a name tag accepts works through
# tags/check/clean, one it refuses is refused with the reason, and an odd
# entry planted in tags/ by hand is reported without stopping the walk.
. "$(dirname "$0")/lib.sh"

expect_status 0 spfs init
mkdir "$T/tree"; echo kept > "$T/tree/kept.txt"
expect_status 0 spfs commit "$T/tree"; L=$OUT

# d/d/.../x: 300 parts refused when tagging, with the reason.
deep300=$(printf 'd/%.0s' $(seq 299))x
expect_status 1 spfs tag "$L" "$deep300"
expect_match "$ERR" "not a valid tag name: more than 64 parts deep" "300-deep tag refused at tag time"
[ ! -e "$SPFS_STORAGE/tags/d" ] || fail "a refused tag left directories"; ok
deep65=$(printf 'd/%.0s' $(seq 64))x
expect_status 1 spfs tag "$L" "$deep65"; expect_match "$ERR" "more than 64 parts deep" "65 parts refused"

# The deepest allowed tag (64 parts) works through tag, tags, check, clean.
deep64=$(printf 'd/%.0s' $(seq 63))x
expect_status 0 spfs tag "$L" "$deep64"
expect_status 0 spfs tags; expect_match "$OUT" "^$deep64	$L\$" "tags lists the 64-part tag"
expect_status 0 spfs info "$deep64"; expect_match "$OUT" "$L" "the 64-part tag resolves"
expect_status 0 spfs check; expect_match "$OUT" "0 problems" "check passes with a 64-part tag"
expect_status 0 spfs clean --older-than 0s
expect_status 0 spfs cat "$deep64" kept.txt; expect_eq "$OUT" kept "clean keeps what the 64-part tag reaches"

# One part: 251 bytes is the most ("PART.tag" is a 255-byte file name).
p251=$(head -c 251 /dev/zero | tr '\0' p)
expect_status 0 spfs tag "$L" "long/$p251"
expect_status 0 spfs tags long/; expect_eq "$OUT" "long/$p251	$L" "a 251-byte part is listed"
expect_status 1 spfs tag "$L" "long/${p251}ppppp"
expect_match "$ERR" "a part of 256 bytes \(at most 251\)" "a 256-byte part refused at validation"
expect_status 1 spfs tag "$L" "long/${p251}p"; expect_match "$ERR" "a part of 252 bytes" "252 bytes refused"
expect_status 1 spfs tag "$L" "${p251}ppppp/x"; expect_match "$ERR" "a part of 256 bytes" "a 256-byte directory part refused"

# A too-deep directory planted by hand (anyone who can write tags/ can do
# it): check reports it and goes on; clean still collects garbage.
planted="$SPFS_STORAGE/tags/$(printf 'z/%.0s' $(seq 70))"
mkdir -p "$planted"; cp "$SPFS_STORAGE/tags/$deep64.tag" "$planted/t.tag"
mkdir "$SPFS_STORAGE/tags/bad name"; cp "$SPFS_STORAGE/tags/$deep64.tag" "$SPFS_STORAGE/tags/bad name/t.tag"
expect_status 0 spfs tags; expect_match "$OUT" "^$deep64	$L\$" "tags still lists the others"
expect_match "$ERR" "tags/z(/z){63}: not a tag: a directory nested too deep" "tags warns about the planted directory"
expect_match "$ERR" "tags/bad name: not a tag: a character other than" "tags warns about an invalid name"
expect_status 1 spfs check
expect_match "$OUT" "tags/z(/z){63}.*nested too deep" "check reports the planted directory"
expect_match "$OUT" "tags/bad name.*character" "check reports the invalid name"
expect_match "$ERR" " 2 problems" "the two planted entries are the only problems"; expect_eq "$(wc -l <<<"$OUT")" 2 "one line each"
mkdir "$T/orphan"; head -c 4000 /dev/urandom > "$T/orphan/junk.bin"
expect_status 0 spfs commit "$T/orphan"
junk=$(sha256sum "$T/orphan/junk.bin" | cut -c1-64)
expect_status 0 spfs info "$junk"
expect_status 0 spfs clean --older-than 0s
expect_match "$ERR" "nested too deep" "clean says what it ignored"
expect_status 1 spfs info "$junk"; expect_match "$ERR" "no tag or object|not in the store" "clean still collects garbage"
expect_status 0 spfs cat "$deep64" kept.txt; expect_eq "$OUT" kept "tagged content survives the clean"
