#!/usr/bin/env bash
# e2e: no command drops input. spfs merge of 1000 layers makes a platform
# of 1000 layers that runs (the bottom and the top layer both visible);
# flags may come between and after operands; spfs runtime rm and spk build
# --opt take any number of operands.
. "$(dirname "$0")/lib.sh"
SPK="$SPAWN_BIN/spk"
spfs init >/dev/null

# 1000 layers, each with its own file (so 1000 distinct digests)
N=1000
for i in $(seq 1 $N); do
	mkdir -p "$T/l/$i"
	echo "layer $i" >"$T/l/$i/file-$i"
	echo "$i" >"$T/l/$i/which"
done
# two commits at a time (the machine's budget), each digest kept in order
seq 1 $N | xargs -P 2 -I{} sh -c '"$1" commit "$2/l/{}" >"$2/l/{}.digest"' sh "$SPFS_BIN" "$T"
refs=()
for i in $(seq 1 $N); do refs+=("$(cat "$T/l/$i.digest")"); done
expect_eq "$(printf '%s\n' "${refs[@]}" | sort -u | wc -l)" $N "1000 distinct layers"
# the tag flag between operands, and after them
expect_status 0 spfs merge "${refs[@]:0:500}" -t big "${refs[@]:500}"
PLAT=$OUT
expect_eq "$(spfs info big --json | json_get - 'len(d["layers"])')" $N "platform has 1000 layers"
expect_eq "$(spfs info big --json | json_get - 'd["layers"][0]')" "${refs[0]}" "bottom layer first"
expect_eq "$(spfs info big --json | json_get - 'd["layers"][-1]')" "${refs[$((N - 1))]}" "top layer last"
expect_eq "$(spfs info "$PLAT" --json | json_get - 'len(d["layers"])')" $N "printed digest is the platform"
# merging the platform with one more layer keeps every one of them
expect_status 0 spfs merge big "${refs[0]}" -t bigger
expect_eq "$(spfs info bigger --json | json_get - 'len(d["layers"])')" $((N + 1)) "platform expanded, not cut"
# an operand that looks like a flag, after --
expect_status 2 spfs ls big -- --nope --what
expect_match "$ERR" "usage: spfs ls" "operands after -- are operands (and counted)"

if [ "$(id -u)" = 0 ]; then
	expect_status 0 spfs run big -- cat /spfs/file-1 /spfs/file-$N /spfs/which
	expect_eq "$OUT" "$(printf 'layer 1\nlayer %d\n%d' $N $N)" "bottom and top layer visible, top wins"
	# startup scripts: 256 are all sourced; a 257th is an error, not dropped
	mkdir -p "$T/s/etc/spfs/startup.d"
	for i in $(seq -w 1 256); do echo "export COUNT=\$((\${COUNT:-0} + 1))" >"$T/s/etc/spfs/startup.d/$i.sh"; done
	spfs commit "$T/s" -t s256 >/dev/null
	expect_status 0 spfs run s256 -- sh -c 'echo $COUNT'
	expect_eq "$OUT" 256 "256 startup scripts sourced"
	echo 'COUNT=x' >"$T/s/etc/spfs/startup.d/257.sh"
	spfs commit "$T/s" -t s257 >/dev/null
	expect_status 125 spfs run s257 -- true
	expect_match "$ERR" "more than 256 startup scripts in /spfs/etc/spfs/startup.d" "257 scripts: an error"
	expect_status 0 spfs run --no-startup s257 -- true
fi

# spfs runtime rm: every one of 100 names is looked at (each unknown here)
names=()
for i in $(seq 1 100); do names+=("nosuch$i"); done
expect_status 1 spfs runtime rm "${names[@]}"
expect_eq "$(grep -c "nosuch" <<<"$ERR")" 100 "runtime rm reports all 100 operands"
expect_match "$ERR" "nosuch100" "the 100th operand too"

# spk build --opt: 100 options all reach the build (the 100th changes the
# build id: an unknown option is not part of it, a declared one is)
mkdir -p "$T/p"
{
	echo 'pkg: optmany/1.0.0'
	echo 'build:'
	echo '  options:'
	echo '    - var: last/none'
	echo '  script:'
	echo '    - echo "$SPK_OPT_last" > /spfs/last'
} >"$T/p/optmany.yaml"
opts=()
for i in $(seq 1 99); do opts+=(--opt "o$i=v$i"); done
opts+=(--opt last=hundredth)
expect_status 0 "$SPK" lint "$T/p/optmany.yaml"
if [ "$(id -u)" = 0 ]; then
	expect_status 0 "$SPK" build "$T/p/optmany.yaml" "${opts[@]}"
	expect_match "$OUT" "^built optmany/1.0.0/" "built with 100 --opt"
	expect_status 0 "$SPK" env optmany -- cat /spfs/last
	expect_eq "$OUT" hundredth "the 100th --opt reached the build"
fi
