#!/usr/bin/env bash
# Style gates: clang-format on every C file, and no banned calls
# (strcpy, strcat, sprintf, vsprintf, strtok, atoi, gets; plain open() inside spfs/).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.c' -o -name '*.h')
status=0
if command -v clang-format >/dev/null; then
	if ! clang-format --dry-run -Werror $files 2>/tmp/spawn-format.log; then
		echo "clang-format: these files need formatting (run: clang-format -i \$(git ls-files '*.c' '*.h')):"
		grep -o '^[^:]*\.[ch]' /tmp/spawn-format.log | sort -u | sed 's/^/  /'
		status=1
	fi
fi
if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|gets)\s*\(' $files | grep -v '^scripts/'; then
	echo "banned calls above: use snprintf/memcpy/strtok_r/strtol"
	status=1
fi
# Inside the store every file is opened relative to a directory fd.
if grep -nE '(^|[^_a-z])open\s*\(' spfs/*.c | grep -v 'O_DIRECTORY' | grep -vE '^\S+:\s*(/\*|\*)'; then
	echo "plain open() inside spfs/ above: use openat() with O_NOFOLLOW|O_CLOEXEC"
	status=1
fi
exit $status
