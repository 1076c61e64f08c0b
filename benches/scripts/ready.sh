#!/bin/bash
# ready.sh <binary> <layout> [port]: starts the gateway on a generated layout and prints
# the time to /readyz, CPU seconds at ready, peak RSS, RSS at ready and 3 s later, and
# the huge-page and page faults of the whole machine meanwhile.
set -eu
. "$(dirname "$0")/gateway.sh"
port=${3:-18007}
counter() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
thp=$(counter thp_fault_alloc); faults=$(counter pgfault)
start_gateway "$1" "$2" "$port"
thp=$(($(counter thp_fault_alloc) - thp)); faults=$(($(counter pgfault) - faults))
cpu=$(cpu_seconds $gateway_pid)
rss() { awk -v k="$1" '$1 == k { print int($2 / 1024) }' /proc/$gateway_pid/status; }
peak=$(rss VmHWM:); at_ready=$(rss VmRSS:)
sleep 3
echo "ready ${gateway_ready} s, CPU ${cpu} s, peak ${peak} MiB, RSS ${at_ready} -> $(rss VmRSS:) MiB, huge-page faults ${thp}, page faults ${faults}"
stop_gateway $gateway_pid
