#!/usr/bin/env bash
# Bytes the server allocates per Predict call: dotnet-counters records the server's GC allocation counter while
# h2load sends a fixed number of requests, then the total is divided by the request count.
#   bench/scripts/alloc-per-request.sh PID [ADDRESS] [REQUESTS]
# Needs the dotnet-counters tool: dotnet tool install --global dotnet-counters
set -euo pipefail
pid=${1:?usage: alloc-per-request.sh PID [ADDRESS] [REQUESTS]}
address=${2:-http://127.0.0.1:8000}
requests=${3:-300000}
here=$(cd "$(dirname "$0")" && pwd)
bench=${BENCH:-"$here/../bin/Release/net10.0/Bench"}
counters=$(command -v dotnet-counters || echo "$HOME/.dotnet/tools/dotnet-counters")
out=$(mktemp /tmp/bench-alloc.XXXXXX.csv)
trap 'rm -f "$out"' EXIT

# Warm the server first so that JIT and first-use allocations are not counted.
"$bench" h2load --address "$address" --pid "$pid" --requests 50000 --warmup 0 --no-client > /dev/null
# The collector runs for a fixed time (a background job ignores SIGINT) that must cover the whole h2load run.
seconds=${SECONDS_TO_COLLECT:-20}
"$counters" collect -p "$pid" --format csv -o "$out" --refresh-interval 1 --counters System.Runtime \
  --duration "00:00:00:$seconds" > /dev/null 2>&1 &
collector=$!
sleep 2
"$bench" h2load --address "$address" --pid "$pid" --requests "$requests" --warmup 0 --no-client | grep -E '^h2load ->'
wait "$collector" || true
awk -F, -v n="$requests" '
  /total_allocated/ { bytes += $5 }
  /gc.collections/ && /gen0/ { gen0 += $5 }
  /gc.collections/ && /gen1/ { gen1 += $5 }
  /gc.collections/ && /gen2/ { gen2 += $5 }
  END { printf "allocated %.0f bytes/request over %d requests; GCs gen0 %d, gen1 %d, gen2 %d\n", bytes / n, n, gen0, gen1, gen2 }
' "$out"
