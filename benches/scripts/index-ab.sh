#!/bin/bash
# index-ab.sh <bench-a> <bench-b> <filter>: runs two builds of the index bench (copies of
# target/release/deps/index-<hash>) at the same time, each on its own core, then again
# with the cores swapped, so that the host's changes of pace fall on both alike. Prints
# each benchmark's median, A then B, per round. Criterion's own files go to a temporary
# directory per build.
set -eu
out=$(mktemp -d)
median() { awk '/^[^ ]/ { name = $0; sub(/ +time:.*/, "", name) } /time:/ { print $(NF-3), $(NF-2), name }' "$1"; }
for round in 1 2; do
  core_a=$((round - 1)); core_b=$((2 - round))
  CRITERION_HOME="$out/criterion-a" taskset -c $core_a "$1" --bench "$3" --warm-up-time 2 --measurement-time 6 > "$out/a" 2>&1 &
  pid_a=$!
  CRITERION_HOME="$out/criterion-b" taskset -c $core_b "$2" --bench "$3" --warm-up-time 2 --measurement-time 6 > "$out/b" 2>&1 &
  wait $pid_a $!
  echo "round $round (A on core $core_a)"
  paste <(median "$out/a") <(median "$out/b" | cut -d' ' -f1,2)
done
rm -r "$out"
