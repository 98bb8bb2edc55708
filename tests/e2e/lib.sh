# lib.sh - helpers for the end-to-end tests. Source it; it sets -eu, makes a
# private temp dir ($T) removed on exit, and finds the built commands.
set -euo pipefail

SPAWN_BIN=${SPAWN_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build/cli" && pwd)}
SPFS_BIN="$SPAWN_BIN/spfs"
export SPAWN_NO_PROGRESS=1
T=$(mktemp -d /tmp/spawn-e2e.XXXXXX)
export SPFS_STORAGE="$T/store"
cleanup() {
	local rc=$?
	set +e
	# A test that failed may have left background commands waiting (for a
	# file that will never appear): stop them so ctest does not wait.
	for j in $(jobs -p); do kill -TERM "$j" 2>/dev/null; done
	# Unmount anything a test mounted below $T before removing it.
	grep -o " $T[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	chmod -R u+w "$T" 2>/dev/null || true
	rm -rf "$T"
	if [ $rc -eq 0 ]; then echo "PASS: $(basename "$0") ($CHECKS checks)"; else echo "FAIL: $(basename "$0")"; fi
	exit $rc
}
trap cleanup EXIT
CHECKS=0

spfs() { "$SPFS_BIN" "$@"; }

fail() { echo "FAILED: $*" >&2; exit 1; }
ok() { CHECKS=$((CHECKS + 1)); }

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; ok; }
# expect_match TEXT REGEX WHAT
# (a here-string, not a pipe: grep -q exits at the first match and the
# writer's SIGPIPE would fail the pipeline under pipefail)
expect_match() { grep -Eq -- "$2" <<<"$1" || fail "$3: '$1' does not match /$2/"; ok; }
# expect_status CODE CMD... : runs CMD, checks its exit status, keeps its
# stdout in $OUT and stderr in $ERR.
expect_status() {
	local want=$1; shift
	local rc=0
	"$@" >"$T/.out" 2>"$T/.err" || rc=$?
	OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want; stderr: $ERR"
	ok
}
is_digest() { [[ "$1" =~ ^[0-9a-f]{64}$ ]] || fail "'$1' is not a digest"; ok; }

# Synchronising with a command running in the background, on events, never
# on time. The command says it is ready by writing one line into a fifo
# (mkfifo; the write blocks until the test reads); `await_line FIFO PID`
# reads that line into $LINE, and fails as soon as PID (the background job)
# exits without writing one. The command waits for the test by reading a
# second fifo; `release FIFO` writes the line it waits for (in the
# background: if the command died, nothing hangs; cleanup stops the
# writer). Not in a $(...): $LINE is set in the caller's shell.
await_line() {
	LINE=$(python3 - "$1" "$2" <<'PY'
import os, select, sys
fifo, pid = sys.argv[1], int(sys.argv[2])
fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
try:
    pfd = os.pidfd_open(pid)
except ProcessLookupError:
    sys.exit("process %d exited before writing to %s" % (pid, fifo))
data = b""
while not data.endswith(b"\n"):
    p = select.poll()
    p.register(fd, select.POLLIN)
    p.register(pfd, select.POLLIN)
    ready = dict(p.poll())
    if fd in ready:
        chunk = os.read(fd, 4096)
        if not chunk:
            break  # the writer closed (EOF)
        data += chunk
    elif pfd in ready:
        sys.exit("process %d exited before writing to %s" % (pid, fifo))
sys.stdout.write(data.decode().rstrip("\n"))
PY
	) || fail "await_line $1"
}
release() { echo go >"$1" & }
# await_record [STORE]: after a runtime's command said it is ready, wait
# until `spfs run` has written the runtime's record: it does so before it
# releases its shared lock on the store (docs/store-format.md, locks/store).
await_record() { flock -x "${1:-$SPFS_STORAGE}/locks/store" true; }

# json_get FILE_OR_- PYTHON_EXPR : evaluates EXPR with `d` bound to the JSON.
json_get() {
	if [ "$1" = - ]; then python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"
	else python3 -c "import json,sys; d=json.load(sys.stdin); print($2)" < "$1"; fi
}

# make_tree DIR NFILES SEED : a deterministic tree with text and binary
# files, executables, nested and empty dirs, symlinks (one dangling), a
# name with spaces and duplicated content.
make_tree() {
	python3 - "$1" "$2" "$3" <<'PY'
import os, random, sys
root, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
os.makedirs(root, exist_ok=True)
dirs = [root]
for i in range(max(3, n // 10)):
    d = os.path.join(rng.choice(dirs), "d%03d" % i)
    os.makedirs(d, exist_ok=True)
    dirs.append(d)
os.makedirs(os.path.join(root, "empty", "nested-empty"), exist_ok=True)
shared = bytes(rng.getrandbits(8) for _ in range(3000))
for i in range(n):
    d = rng.choice(dirs)
    p = os.path.join(d, "f%04d%s" % (i, rng.choice([".txt", ".bin", ".py", " with space.txt"])))
    r = rng.random()
    if r < 0.1:
        data = shared
    elif r < 0.15:
        data = b""
    else:
        size = int(rng.lognormvariate(7, 1.5)) % 200000
        data = bytes(rng.getrandbits(8) for _ in range(min(size, 4096))) * (size // 4096 + 1)
        data = data[:size]
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, 0o755 if rng.random() < 0.1 else 0o644)
os.symlink("d000", os.path.join(root, "link-to-dir"))
os.symlink("does/not/exist", os.path.join(root, "dangling"))
os.symlink("../" * 3 + "etc/passwd", os.path.join(root, "escaping-link"))
PY
}

# tree_listing DIR : type, exec bit, size, link target and content hash of
# every entry, sorted: two trees with equal listings are the same tree.
tree_listing() {
	(cd "$1" && find . -mindepth 1 -printf '%y %s %l %p\n' | LC_ALL=C sort &&
		find . -type f -perm -u+x | LC_ALL=C sort | sed 's/^/exec /' &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
