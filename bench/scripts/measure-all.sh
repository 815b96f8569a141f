#!/usr/bin/env bash
# The figures of docs/benchmarks.md, in one run (about 6 minutes). Builds the predictor and the benchmark in Release,
# then prints each mode's JSON line. Pass a different predictor command as $1 to measure another build.
#   bench/scripts/measure-all.sh ["dotnet path/to/Predictor.dll"]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if [ $# -eq 0 ]; then
  # The trainer's build builds the predictor and trains its default model (model/model.zip beside Predictor.dll).
  dotnet build -c Release services/Predictor.Training >/dev/null
fi
dotnet build -c Release bench >/dev/null
bench=bench/bin/Release/net10.0/Bench
predictor=${1:-"dotnet $root/services/Predictor/bin/Release/net10.0/Predictor.dll"}

run() { echo "\$ bench $*" >&2; "$bench" "$@" | tail -1; }

run predict --command "$predictor" --compare-echo --duration 10 --warmup 5
run predict --command "$predictor" --compare-echo --connections 1 --per-connection 1 --duration 10 --warmup 5
run h2load --command "$predictor" --compare-echo --requests 500000 --warmup 5
run batch --command "$predictor" --duration 5 --warmup 3
run startup --command "$predictor" --runs 7
run startup --echo --runs 7
run predict --command "$predictor" --requests 1000000 --sample-every 1 --duration 600 --warmup 2 --mix random
