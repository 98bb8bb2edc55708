#!/usr/bin/env bash
# e2e: remote sources as a user collects them: tar files and git
# repositories served over HTTP by a real nginx on 127.0.0.1 (its access log
# counts what reached the network). A download is verified against the
# recipe's sha256 before anything is extracted; a mismatch, a 404 and a
# hostile archive publish nothing; a second collection and --offline use the
# source cache without touching the network; a damaged cache entry is
# noticed and fetched again; a git ref missing from the cached mirror is
# fetched, an offline one is refused.
. "$(dirname "$0")/lib.sh"
SPK="$SPAWN_BIN/spk"
spk() { "$SPK" "$@"; }
spfs init >/dev/null
command -v nginx >/dev/null || fail "nginx is missing (scripts/install-deps.sh installs it)"
command -v git >/dev/null || fail "git is missing (scripts/install-deps.sh installs it)"
export SPK_SOURCE_CACHE="$T/cache"
unset SPK_OFFLINE

# -------------------------------------------------------------- nginx
WWW="$T/www"
NG="$T/nginx"
mkdir -p "$WWW" "$NG/tmp"
stop_nginx() { [ -s "$NG/nginx.pid" ] && kill "$(cat "$NG/nginx.pid")" 2>/dev/null; true; }
trap 'rc=$?; stop_nginx; (exit $rc); cleanup' EXIT
# nginx binds its socket before it daemonizes: when the command returns,
# the port accepts connections. A port taken meanwhile makes it fail: try
# another.
started=
for _ in 1 2 3 4 5; do
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$NG/nginx.conf" <<CONF
$([ "$(id -u)" = 0 ] && echo "user root;")
daemon on;
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log;
events { worker_connections 64; }
http {
  access_log $NG/access.log;
  client_body_temp_path $NG/tmp/body;
  proxy_temp_path $NG/tmp/proxy;
  fastcgi_temp_path $NG/tmp/fastcgi;
  uwsgi_temp_path $NG/tmp/uwsgi;
  scgi_temp_path $NG/tmp/scgi;
  server { listen 127.0.0.1:$PORT; root $WWW; }
}
CONF
	if nginx -c "$NG/nginx.conf" -p "$NG" 2>"$NG/start.err"; then
		started=1
		break
	fi
done
[ -n "$started" ] || fail "nginx did not start: $(cat "$NG/start.err")"
URL="http://127.0.0.1:$PORT"
# requests for PATH that reached the server so far
hits() { grep -c "GET $1 " "$NG/access.log" 2>/dev/null || true; }

# ------------------------------------------------------ a tar over HTTP
mkdir -p "$T/t/tool-2.0"
echo 'tool 2.0 source' >"$T/t/tool-2.0/tool.c"
tar -C "$T/t" -czf "$WWW/tool-2.0.tar.gz" tool-2.0
SUM=$(sha256sum "$WWW/tool-2.0.tar.gz" | cut -c1-64)
P="$T/proj"
mkdir -p "$P"
recipe() { # recipe NAME VERSION SOURCE-LINES...
	local f="$P/$1-$2.yaml"
	{
		echo "pkg: $1/$2"
		echo "sources:"
		shift 2
		printf '%s\n' "$@"
		echo "build:"
		echo "  script: [true]"
	} >"$f"
	echo "$f"
}
F=$(recipe tool 2.0.0 "  - tar: $URL/tool-2.0.tar.gz" "    sha256: $SUM")
expect_status 0 spk make-source "$F"
expect_match "$OUT" "^published  tool/2.0.0/src" "a pinned tar URL is collected"
expect_status 0 spfs cat spk/pkg/tool/2.0.0/src/src spk/pkg/tool/2.0.0/src/tool-2.0/tool.c
expect_eq "$OUT" "tool 2.0 source" "the downloaded tar's content"
expect_eq "$(hits /tool-2.0.tar.gz)" 1 "downloaded once"
expect_eq "$(ls "$SPK_SOURCE_CACHE/blobs")" "$SUM" "the cache keeps the file under its sha256"
expect_eq "$(ls -A "$SPK_SOURCE_CACHE/tmp")" "" "no download left half-written"

# collected again, and offline: from the cache, no request
expect_status 0 spk make-source "$F"
expect_status 0 spk make-source --offline "$F"
expect_status 0 env SPK_OFFLINE=1 "$SPK" make-source "$F"
expect_eq "$(hits /tool-2.0.tar.gz)" 1 "a cached source never touches the network"

# --------------------------------------------- unpinned: warned, cached
cp "$WWW/tool-2.0.tar.gz" "$WWW/tool-unpinned.tar.gz"
F=$(recipe tool 2.0.1 "  - tar: $URL/tool-unpinned.tar.gz")
expect_status 0 spk make-source "$F"
expect_match "$ERR" "tool-unpinned.tar.gz is not pinned: add 'sha256: $SUM'" "an unpinned URL is warned about, with the digest to pin"
expect_status 0 spk make-source --offline "$F"
expect_eq "$(hits /tool-unpinned.tar.gz)" 1 "an unpinned URL is cached by URL too"

# ------------------------------------------ offline and not in the cache
F=$(recipe tool 2.0.2 "  - tar: $URL/never-fetched.tar.gz")
expect_status 1 spk make-source --offline "$F"
expect_match "$ERR" "never-fetched.tar.gz is not in the source cache .* run once without --offline" "offline and missing says what to do"
expect_eq "$(hits /never-fetched.tar.gz)" 0 "offline sends no request"

# ----------------------------------- a download that differs from its pin
echo 'tampered' >"$T/t/tool-2.0/tool.c"
tar -C "$T/t" -czf "$WWW/tool-evil.tar.gz" tool-2.0
EVIL=$(sha256sum "$WWW/tool-evil.tar.gz" | cut -c1-64)
# the pin names content the cache does not have (a pinned digest already in
# the cache is used from there whatever the URL serves now)
PIN=$(echo 'the release the recipe was written for' | sha256sum | cut -c1-64)
F=$(recipe tool 2.0.3 "  - tar: $URL/tool-evil.tar.gz" "    sha256: $PIN")
expect_status 1 spk make-source "$F"
expect_match "$ERR" "tool-evil.tar.gz does not match the recipe's sha256: expected $PIN, downloaded [0-9]+ bytes with sha256 $EVIL" "a changed download is refused"
expect_status 1 spk info tool/2.0.3
expect_eq "$(ls "$SPK_SOURCE_CACHE/blobs" | grep -c "$EVIL" || true)" 0 "the refused download is not cached"
expect_eq "$(ls -A "$SPK_SOURCE_CACHE/tmp")" "" "nor left in tmp/"

# --------------------------------------------------- HTTP errors, hostile
F=$(recipe tool 2.0.4 "  - tar: $URL/missing.tar.gz")
expect_status 1 spk make-source "$F"
expect_match "$ERR" "cannot download $URL/missing.tar.gz: .*404" "a 404 names the URL and the status"
python3 - "$WWW/dotdot.tar.gz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as t:
    for name, data in (("ok.txt", b"ok"), ("../../evil.txt", b"evil")):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
PY
F=$(recipe tool 2.0.5 "  - tar: $URL/dotdot.tar.gz")
expect_status 2 spk make-source "$F"
expect_match "$ERR" "member '../../evil.txt': '..' leaves the source directory" "a hostile downloaded archive is refused"
expect_status 1 spk info tool/2.0.5
F=$(recipe tool 2.0.6 "  - tar: ftp://127.0.0.1/x.tar.gz")
expect_status 2 spk make-source "$F"
expect_match "$ERR" "only http:// and https:// URLs are downloaded" "other schemes are refused"

# --------------------------------- a damaged cache entry is fetched again
chmod u+w "$SPK_SOURCE_CACHE/blobs/$SUM"
echo junk >>"$SPK_SOURCE_CACHE/blobs/$SUM"
F=$(recipe tool 2.0.7 "  - tar: $URL/tool-2.0.tar.gz" "    sha256: $SUM")
expect_status 0 spk make-source "$F"
expect_match "$ERR" "source cache blobs/$SUM is damaged" "a damaged cache entry is noticed"
expect_eq "$(hits /tool-2.0.tar.gz)" 2 "and downloaded again"
expect_eq "$(sha256sum "$SPK_SOURCE_CACHE/blobs/$SUM" | cut -c1-64)" "$SUM" "the cache holds the right bytes again"

# ------------------------------------------ a local tar with a wrong pin
cp "$WWW/tool-evil.tar.gz" "$P/local.tar.gz"
F=$(recipe tool 2.0.8 "  - tar: local.tar.gz" "    sha256: $SUM")
expect_status 1 spk make-source "$F"
expect_match "$ERR" "local.tar.gz does not match the recipe's sha256" "a pin checks local tar files too"
F=$(recipe tool 2.0.9 "  - path: ." "    sha256: $SUM")
expect_status 2 spk make-source "$F"
expect_match "$ERR" "sha256: only a tar source has it" "sha256 belongs to tar sources"

# ------------------------------------------------- git over (dumb) HTTP
R="$T/upstream"
git init -q -b main "$R"
echo 'v1' >"$R/lib.c"
git -C "$R" add lib.c
git -C "$R" -c user.name=t -c user.email=t@t commit -qm v1
git -C "$R" tag v1.0
git clone -q --bare "$R" "$WWW/lib.git"
git -C "$WWW/lib.git" update-server-info
F=$(recipe lib 1.0.0 "  - git: $URL/lib.git" "    ref: v1.0")
expect_status 0 spk make-source "$F"
expect_status 0 spfs cat spk/pkg/lib/1.0.0/src/src spk/pkg/lib/1.0.0/src/lib.c
expect_eq "$OUT" "v1" "a remote git source is cloned"
N=$(grep -c "GET /lib.git/" "$NG/access.log")
[ "$N" -gt 0 ] || fail "the git clone went through nginx"
expect_status 0 spk make-source "$F"
expect_status 0 spk make-source --offline "$F"
expect_eq "$(grep -c "GET /lib.git/" "$NG/access.log")" "$N" "a cached git mirror never touches the network"
# a new tag upstream: not in the mirror, fetched once; offline refused
echo 'v2' >"$R/lib.c"
git -C "$R" -c user.name=t -c user.email=t@t commit -qam v2
git -C "$R" tag v2.0
git -C "$R" push -q "$WWW/lib.git" main v2.0
git -C "$WWW/lib.git" update-server-info
F=$(recipe lib 2.0.0 "  - git: $URL/lib.git" "    ref: v2.0")
expect_status 1 spk make-source --offline "$F"
expect_match "$ERR" "ref 'v2.0' is not in the source cache's mirror and spk is offline" "an offline missing ref says so"
expect_status 0 spk make-source "$F"
expect_status 0 spfs cat spk/pkg/lib/2.0.0/src/src spk/pkg/lib/2.0.0/src/lib.c
expect_eq "$OUT" "v2" "a new ref is fetched into the mirror"
expect_status 0 spk make-source --offline "$F"
F=$(recipe lib 3.0.0 "  - git: $URL/nothing-here.git")
expect_status 2 spk make-source "$F"
expect_match "$ERR" "git clone --mirror failed" "an unreachable repository is an error"
expect_eq "$(ls -A "$SPK_SOURCE_CACHE/tmp" | grep -c '^git-' || true)" 0 "a failed mirror leaves nothing behind"

# ------------------------------------------------------------- bad pins
F=$(recipe tool 2.1.0 "  - tar: $URL/tool-2.0.tar.gz" "    sha256: ABC")
expect_status 2 spk make-source "$F"
expect_match "$ERR" "$F:4:13: sha256: expected 64 lowercase hex characters, got 'ABC'" "a malformed pin names its line"

# ------------------------------------------- as a user who is not root
# (lib_user.sh: the installed commands, a created user, its own HOME and
# store; helper and rootless mode): the cache is the user's own
# (~/.cache/spk/sources), a download lands there, then --offline uses it
. "$(dirname "$0")/lib_user.sh"
user_setup
trap 'rc=$?; stop_nginx; user_teardown; (exit $rc); cleanup' EXIT
remote_flow() {
	local f
	f=$(user_data "$P/tool-2.0.0.yaml" "tool-$MODE.yaml")
	local before
	before=$(hits /tool-2.0.tar.gz)
	expect_status 0 uspk make-source "$f"
	expect_match "$OUT" "^published  tool/2.0.0/src" "$MODE: a user collects a pinned tar URL"
	expect_eq "$(hits /tool-2.0.tar.gz)" "$((before + 1))" "$MODE: downloaded into the user's cache"
	expect_status 0 as_user test -f "$UHOME/.cache/spk/sources/blobs/$SUM"
	expect_status 0 uspk make-source --offline "$f"
	expect_eq "$(hits /tool-2.0.tar.gz)" "$((before + 1))" "$MODE: offline from the user's cache"
	expect_status 0 us cat spk/pkg/tool/2.0.0/src/src spk/pkg/tool/2.0.0/src/tool-2.0/tool.c
	expect_eq "$OUT" "tool 2.0 source" "$MODE: in the user's store"
}
user_modes remote_flow
