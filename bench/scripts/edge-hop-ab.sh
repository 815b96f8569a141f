#!/usr/bin/env bash
# The edge hop's cost, A/B in one run (issue 18, docs/benchmarks.md "The edge hop"). One predictor container on a
# user-defined bridge network (static address, ports also published on 127.0.0.1 as the slots do), and Debian's
# haproxy on the host (as the edge container runs: host networking, same 2.6 package) in several configurations at
# once, each on its own loopback port. Rounds alternate over every target, so a change in the shared machine's load
# touches all of them:
#   direct-ip     h2load straight to the container's bridge address (no proxy at all)
#   direct-port   the container's published loopback port (docker's userland proxy)
#   <variant>     h2load -> haproxy -> the container (variants below)
# Per target and round: throughput (h2load, 2 connections x 16 streams, Predict) and p50 of one call at a time
# (h2load -c1 -m1 --log-file), and the CPU time the predictor and haproxy spent per call in the throughput run (from
# /proc/PID/stat, at the clock tick's resolution). Prints medians over rounds, ratios to direct-ip and the load average.
#
#   bench/scripts/edge-hop-ab.sh IMAGE [ROUNDS] [REQUESTS] [LATENCY_CALLS] [VARIANTS]
#   e.g. bench/scripts/edge-hop-ab.sh student-performance-predictor:latest 5 40000 4000
#
# Needs docker, haproxy (apt: haproxy), h2load (apt: nghttp2-client), python3. Everything it starts is named
# sp-edge-ab-<pid> and removed at the end.
set -euo pipefail
image=${1:?usage: edge-hop-ab.sh IMAGE [ROUNDS] [REQUESTS] [LATENCY_CALLS] [VARIANTS]}
rounds=${2:-5}
requests=${3:-40000}
latency_calls=${4:-4000}
all_variants="before before-ip after ip-noretry ip-nbthread1 ip-reuse ip-h2window ip-bufsize tcp"
variants=${5:-$all_variants}
name=sp-edge-ab-$$
subnet=${EDGE_AB_SUBNET:-10.213.46.0/29}
ip=${subnet%.*}.2
work=$(mktemp -d)
pids=()

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker network rm "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Predict { student { gender "female" race_ethnicity "group B" parental... "bachelor's degree" lunch "standard"
# test_preparation_course "none" reading_score 72 writing_score 74 } }: bench's RequestMix.Fixed(), as one gRPC frame.
python3 - "$work/predict.grpc" <<'EOF'
import struct, sys
def s(field, text):
    b = text.encode()
    return bytes([field << 3 | 2, len(b)]) + b
def d(field, value):
    return bytes([field << 3 | 1]) + struct.pack('<d', value)
student = s(1, "female") + s(2, "group B") + s(3, "bachelor's degree") + s(4, "standard") + s(5, "none") + d(6, 72) + d(7, 74)
message = bytes([1 << 3 | 2, len(student)]) + student
open(sys.argv[1], 'wb').write(b'\0' + struct.pack('>I', len(message)) + message)
EOF

grpc_port=$(free_port)
http_port=$(free_port)
docker network create --subnet "$subnet" "$name" >/dev/null
docker run -d --name "$name" --network "$name" --ip "$ip" -p "127.0.0.1:$grpc_port:8000" -p "127.0.0.1:$http_port:8080" "$image" >/dev/null
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null || { echo "the predictor did not get ready" >&2; exit 1; }

# One haproxy configuration per variant. "before" is what HaproxyConfig rendered before issue 18 (to the published
# port); "after" is what it renders now (to the container's address, no forwardfor). The others change one thing
# from before-ip. The p50 here is h2load's own per-request time, which moved by less than the rounds' spread on a
# loaded machine; bench rollout's one-call-at-a-time grpc-dotnet p50 is the figure the targets are judged by.
config() {
  local variant=$1 port=$2 target="$ip:8000" check="$ip" checkport=8080
  local mode=http nbthread="" xff="    option forwardfor" retry="    retry-on conn-failure empty-response" extra="" global_extra="" proto=" proto h2" bindproto=" proto h2" observe=" observe layer4 error-limit 1 on-error mark-down"
  case $variant in
    before) target="127.0.0.1:$grpc_port"; check=127.0.0.1; checkport=$http_port ;;
    before-ip) ;;
    ip-noretry) retry="" ;;
    ip-nbthread1) nbthread="    nbthread 1" ;;
    ip-reuse) extra="    http-reuse always" ;;
    ip-h2window) global_extra=$'    tune.h2.initial-window-size 1048576\n    tune.h2.max-concurrent-streams 256' ;;
    ip-bufsize) global_extra="    tune.bufsize 32768" ;;
    after) xff="" ;;
    tcp) mode=tcp; xff=""; retry=""; proto=""; bindproto="" ;;
    *) echo "unknown variant $variant" >&2; exit 2 ;;
  esac
  cat <<EOF
global
    log stdout format raw local0 notice
$nbthread
$global_extra
defaults
    mode $mode
    log global
    option dontlognull
$xff
    retries 2
    option redispatch 1
$retry
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    timeout http-keep-alive 1h
    timeout http-request 10s
    timeout queue 5s
    timeout check 2s
frontend fe
    bind ipv4@127.0.0.1:$port$bindproto
    default_backend be
backend be
$extra
$( [ "$mode" = http ] && printf '    option httpchk\n    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost\n    http-check expect status 200\n' )
    server blue $target$proto check $( [ "$mode" = http ] && echo "check-proto h1" ) addr $check port $checkport inter 1000ms fall 2 rise 1$observe
    server blue-standby $target$proto backup disabled
EOF
}

declare -A port_of pid_of
for variant in $variants; do
  port=$(free_port)
  port_of[$variant]=$port
  config "$variant" "$port" > "$work/$variant.cfg"
  haproxy -c -q -f "$work/$variant.cfg"
  haproxy -db -f "$work/$variant.cfg" > "$work/$variant.log" 2>&1 &
  pids+=($!)
  pid_of[$variant]=$!
done
predictor_pid=$(docker inspect -f '{{.State.Pid}}' "$name")
# CPU time (user + system, in clock ticks) a process has used so far: read around each throughput run, it gives the
# CPU each hop spends per call, which is what bounds throughput when client, edge and predictor share the cores.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))
sleep 3

url_of() {
  case $1 in
    direct-ip) echo "http://$ip:8000" ;;
    direct-port) echo "http://127.0.0.1:$grpc_port" ;;
    *) echo "http://127.0.0.1:${port_of[$1]}" ;;
  esac
}

h2() { h2load -d "$work/predict.grpc" -H 'content-type: application/grpc' -H 'te: trailers' "$@"; }
targets="direct-ip direct-port $variants"
echo "# $(date -u +%FT%TZ) commit $(git -C "$(dirname "$0")" rev-parse --short HEAD) haproxy $(haproxy -v | head -1 | awk '{print $3}') image $image"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Warm-up: JIT and connection pools.
for target in $targets; do h2 -D 2 -c 2 -m 16 "$(url_of "$target")/studentperformance.v1.Predictor/Predict" >/dev/null; done
for round in $(seq 1 "$rounds"); do
  for target in $targets; do
    url="$(url_of "$target")/studentperformance.v1.Predictor/Predict"
    edge_pid=${pid_of[$target]:-}
    predictor_before=$(ticks "$predictor_pid") edge_before=$([[ -n $edge_pid ]] && ticks "$edge_pid" || echo 0)
    out=$(h2 -n "$requests" -c 2 -m 16 "$url")
    predictor_cpu=$(( ($(ticks "$predictor_pid") - predictor_before) * tick_us * 100 / requests ))
    edge_cpu=$(( ($([[ -n $edge_pid ]] && ticks "$edge_pid" || echo 0) - edge_before) * tick_us * 100 / requests ))
    rps=$(awk '/^finished in/ {print $4}' <<<"$out")
    ok=$(awk '/^requests:/ {print $8}' <<<"$out")
    h2 -n "$latency_calls" -c 1 -m 1 --log-file "$work/lat.log" "$url" >/dev/null
    p50=$(awk '{print $3}' "$work/lat.log" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "round $round $target rps $rps ok $ok/$requests p50_us $p50 load $(cut -d' ' -f1 /proc/loadavg) predictor_cpu_us $((predictor_cpu / 100)).$(printf %02d $((predictor_cpu % 100))) edge_cpu_us $((edge_cpu / 100)).$(printf %02d $((edge_cpu % 100)))"
  done
done | tee "$work/results"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/results" $targets <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
targets = sys.argv[2:]
med = {}
for t in targets:
    rs = [float(r[4]) for r in rows if r[2] == t]
    ps = [float(r[8]) for r in rows if r[2] == t]
    pc = [float(r[12]) for r in rows if r[2] == t]
    ec = [float(r[14]) for r in rows if r[2] == t]
    med[t] = (statistics.median(rs), statistics.median(ps), statistics.median(pc), statistics.median(ec))
base_r, base_p, _, _ = med['direct-ip']
port_r, port_p, _, _ = med['direct-port']
print(f"{'target':16} {'req/s':>9} {'x ip':>6} {'x port':>7} {'p50 us':>7} {'+ip us':>7} {'+port us':>8} {'predictor cpu us/call':>22} {'haproxy cpu us/call':>20}")
for t in targets:
    r, p, pc, ec = med[t]
    print(f"{t:16} {r:9.0f} {r/base_r:6.2f} {r/port_r:7.2f} {p:7.0f} {p-base_p:7.0f} {p-port_p:8.0f} {pc:22.2f} {ec:20.2f}")
EOF
