#!/bin/bash
# mixrun.sh <binary> <layout> [port] [perf.data]: starts the gateway on a generated layout,
# warms it with 3 s of the search mix, then runs 10 s of it and prints req/s and the
# gateway's CPU per request (recording a call-graph profile meanwhile if asked).
set -eu
. "$(dirname "$0")/gateway.sh"
port=${3:-18007}
start_gateway "$1" "$2" "$port"
mix "$port" 3 > /dev/null
before=$(cpu_seconds $gateway_pid)
if [ -n "${4:-}" ]; then
  perf record -F 999 -g -p $gateway_pid -o "$4" -- sleep 9 > /dev/null 2>&1 &
  perf_pid=$!
fi
rps=$(mix "$port" 10)
cpu=$(echo "$(cpu_seconds $gateway_pid) - $before" | bc)
[ -z "${perf_pid:-}" ] || wait $perf_pid
echo "ready ${gateway_ready} s, ${rps} req/s, $(echo "scale=1; $cpu * 100000 / $rps" | bc) µs of gateway CPU per request, RSS $(awk '$1 == "VmRSS:" { print int($2 / 1024) }' /proc/$gateway_pid/status) MiB"
stop_gateway $gateway_pid
