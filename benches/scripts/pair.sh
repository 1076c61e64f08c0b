#!/bin/bash
# pair.sh <binary-a> <binary-b> <layout> [rounds]: starts two gateways on the same
# generated layout (A on 18007, B on 18008; the variables of each from $A_ENV and
# $B_ENV, e.g. A_ENV=MIMALLOC_ALLOW_THP=1), then runs 8 s of the search mix against
# each in turn, round after round (8 by default), so that the host's changes of pace
# fall on both alike. Prints req/s, A then B, one round a line.
set -eu
. "$(dirname "$0")/gateway.sh"
GATEWAY_ENV=${A_ENV:-} start_gateway "$1" "$3" 18007
a=$gateway_pid
GATEWAY_ENV=${B_ENV:-} start_gateway "$2" "$3" 18008
b=$gateway_pid
mix 18007 3 > /dev/null
mix 18008 3 > /dev/null
for _ in $(seq "${4:-8}"); do
  echo "$(mix 18007 8) $(mix 18008 8)"
done
stop_gateway $a
stop_gateway $b
