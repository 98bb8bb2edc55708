#!/usr/bin/env bash
# The store on a small tmpfs that fills up mid-commit: a clear error,
# earlier tags intact, `spfs check` clean, and a retry succeeds after space
# is freed. Needs root (mount); ctest reports it skipped otherwise.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root to mount a tmpfs"; exit 77; fi

mkdir "$T/small"
mount -t tmpfs -o size=6m tmpfs "$T/small"
export SPFS_STORAGE="$T/small/store"
spfs init >/dev/null
mkdir -p "$T/base"; head -c 500000 /dev/urandom > "$T/base/a.bin"; echo hi > "$T/base/b.txt"
BASE=$(spfs commit "$T/base" -t base)
# Something else on the same filesystem that the admin can delete later.
head -c 2500000 /dev/urandom > "$T/small/filler"
make_tree "$T/big" 200 7
for i in 1 2 3 4; do head -c 600000 /dev/urandom > "$T/big/blob$i.bin"; done
expect_status 1 spfs commit "$T/big" -t big
expect_match "$ERR" "No space left on device" "the error says what happened"
expect_match "$ERR" "^spfs: cannot commit $T/big" "the error says what was being done"
expect_status 1 spfs info big
expect_status 0 spfs info base; expect_match "$OUT" "^layer $BASE" "earlier tag intact"
expect_status 0 spfs check; expect_match "$OUT" "0 problems" "store consistent after ENOSPC"
expect_status 0 spfs render base "$T/r-base"
cmp "$T/r-base/a.bin" "$T/base/a.bin" && ok
# Free space, retry.
rm "$T/small/filler"
expect_status 0 spfs commit "$T/big" -t big; BIG=$OUT; is_digest "$BIG"
expect_status 0 spfs check; expect_match "$OUT" "0 problems" "store consistent after the retry"
expect_status 0 spfs clean --older-than 0s
umount "$T/small"
