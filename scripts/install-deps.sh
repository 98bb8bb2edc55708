#!/usr/bin/env bash
# Installs the Debian 12 packages Spawn needs to build, test and run its demo.
# Runs apt-get only for what is missing; needs root (or sudo) for that.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config python3 git
      nginx # tests/e2e: a real HTTP server for remote sources (and remotes)
      libssl-dev libuv1-dev libyaml-dev libcmocka-dev zlib1g-dev libarchive-dev
      liblua5.4-dev libcurl4-openssl-dev clang-format
      clang libclang-rt-14-dev # libFuzzer (-fsanitize=fuzzer): scripts/fuzz.sh
      libcap2-bin # setcap: cmake --install of spfs-enter, tests/e2e/test_spfs_enter.sh
      groff-base man-db zsh) # tests/e2e/test_cli_help.sh: the man pages render, zsh completion parses
pkgs+=(bash) # spk runs build, source and test scripts with bash -ex, as SPK does
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
