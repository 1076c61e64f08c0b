# Sourced by the scripts beside it: starting and stopping a gateway on a generated layout
# (`STAC_OCI_LOAD_KEEP=<dir> cargo bench --bench load -- scale` leaves `<dir>/<n>/layout`).

scripts=$(dirname "${BASH_SOURCE[0]}")

# start_gateway <binary> <layout> <port>: starts it, with the variables in $GATEWAY_ENV
# (e.g. `MIMALLOC_ALLOW_THP=1`) set, and sets $gateway_pid and $gateway_ready (seconds
# from start to /readyz).
start_gateway() {
  local config
  config=$(mktemp --suffix=.toml)
  printf '[server]\nlisten = "127.0.0.1:%s"\n[[sources]]\nname = "scale"\nlayout = "%s"\nrepository = "pastis-scale"\ninterval = "24h"\n' \
    "$3" "$(realpath "$2")" > "$config"
  if curl -s -o /dev/null "http://127.0.0.1:$3/healthz"; then echo "port $3 busy" >&2; exit 1; fi
  local start
  start=$(date +%s.%N)
  # shellcheck disable=SC2086 # one word per variable
  env ${GATEWAY_ENV:-} STAC_OCI_LOG=warn "$1" serve --config "$config" > /dev/null 2>&1 &
  gateway_pid=$!
  until curl -sf "http://127.0.0.1:$3/readyz" > /dev/null; do
    kill -0 $gateway_pid 2> /dev/null || { echo "the gateway stopped" >&2; exit 1; }
    sleep 0.1
  done
  gateway_ready=$(printf "%.2f" "$(echo "$(date +%s.%N) - $start" | bc)")
  rm -f "$config"
}

# stop_gateway <pid>
stop_gateway() {
  kill "$1"
  wait "$1" 2> /dev/null
}

# cpu_seconds <pid>: user + system CPU so far.
cpu_seconds() {
  awk -v tck="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / tck }' "/proc/$1/stat"
}

# mix <port> <seconds>: req/s of wrk's search mix, 32 connections.
mix() {
  wrk -t2 -c32 -d"$2"s -s "$scripts/search-mix.lua" "http://127.0.0.1:$1/search" \
    | awk '/Requests\/sec/ { print $2 }'
}
