#!/usr/bin/env bash
# What a layer-4 (TCP mode) gRPC route does to a blue/green switch, against the HTTP mode the edge ships (issue 18,
# docs/benchmarks.md "A switch at layer 4"). Two predictor containers (v1 as blue, v2 as green) on a bridge network
# of their own, Debian's haproxy on the host in front of both, as the edge runs (host network, HAProxy 2.6), with the
# edge's check settings and the runtime API on a unix socket. Three Python grpcio clients call GetModelInfo every
# 20 ms (deadline 500 ms) and record which model answered:
#   fresh        a new channel (and TCP connection) per call
#   long-lived   one channel, 20-50 ms reconnect backoff
#   ready-wait   one channel, every call with wait_for_ready
# Per mode, two runs:
#   retire    switch to green (green ready, blue drain) at 3 s; at 11 s stop blue gracefully (docker stop: SIGTERM,
#             Kestrel sends GOAWAY and finishes the calls in flight), as the retire step does; end at 19 s
#   rollback  switch to green at 3 s; at 11 s kill green (SIGKILL) and switch back (blue ready, green maint), as a
#             bake failure does; end at 19 s
# Prints, per client and phase: calls, failed calls, and the share answered by v2.
#
#   bench/scripts/edge-switch-modes.sh V1_IMAGE V2_IMAGE [MODES]     e.g. ... i18-predictor:v1 i18-predictor:v2 "http tcp"
#
# Needs docker, haproxy, python3-grpcio, curl. Everything it starts is named sp-edge-modes-<pid> and removed at the end.
set -euo pipefail
v1=${1:?usage: edge-switch-modes.sh V1_IMAGE V2_IMAGE [MODES]}
v2=${2:?usage: edge-switch-modes.sh V1_IMAGE V2_IMAGE [MODES]}
modes=${3:-http tcp}
name=sp-edge-modes-$$
subnet=${EDGE_MODES_SUBNET:-10.213.45.0/29}
blue_ip=${subnet%.*}.2
green_ip=${subnet%.*}.3
work=$(mktemp -d)
haproxy_pid=""

cleanup() {
  [[ -n $haproxy_pid ]] && kill "$haproxy_pid" 2>/dev/null || true
  docker rm -f "$name-blue" "$name-green" >/dev/null 2>&1 || true
  docker network rm "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_ready() {
  for _ in $(seq 1 240); do
    curl -sf "http://$1:8080/readyz" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  echo "the predictor at $1 did not get ready" >&2
  return 1
}

start_slot() { # slot image ip
  docker rm -f "$name-$1" >/dev/null 2>&1 || true
  docker run -d --name "$name-$1" --network "$name" --ip "$3" "$2" >/dev/null
  wait_ready "$3"
}

api() { python3 - "$work/admin.sock" "$@" <<'EOF'
import socket, sys
for command in sys.argv[2:]:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(command.encode() + b"\n")
    answer = b""
    while chunk := s.recv(65536):
        answer += chunk
    s.close()
    if answer.strip():
        print(f"{command}: {answer.decode().strip()}", file=sys.stderr)
EOF
}

config() { # mode port
  local mode=$1 proto=" proto h2"
  [[ $mode == tcp ]] && proto=""
  cat <<EOF
global
    stats socket $work/admin.sock mode 600 level admin
    log stdout format raw local0 notice
defaults
    mode $mode
    log global
    retries 2
    option redispatch 1
$( [[ $mode == http ]] && echo "    retry-on conn-failure empty-response" )
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    timeout check 2s
frontend grpc
    bind ipv4@127.0.0.1:$2$proto
    default_backend grpc
backend grpc
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    server blue $blue_ip:8000$proto check check-proto h1 port 8080 inter 1000ms fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down
    server green $green_ip:8000$proto check check-proto h1 port 8080 inter 1000ms fall 2 rise 1 disabled
EOF
}

# The clients: three threads, each a call every 20 ms, each call recorded as (seconds since start, answer or error).
cat >"$work/clients.py" <<'EOF'
import json, sys, threading, time
import grpc
address, seconds, versions = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
METHOD = "/studentperformance.v1.Predictor/GetModelInfo"
fast = [("grpc.initial_reconnect_backoff_ms", 20), ("grpc.min_reconnect_backoff_ms", 20),
        ("grpc.max_reconnect_backoff_ms", 50), ("grpc.enable_retries", 0)]
def version(reply):  # ModelInfo field 1, model_version
    return reply[2:2 + reply[1]].decode() if reply[:1] == b"\x0a" else "?"
def run(kind, records, start):
    shared = None if kind == "fresh" else grpc.insecure_channel(address, options=fast)
    next_at = start
    while time.monotonic() - start < seconds:
        channel = shared or grpc.insecure_channel(address)
        t = time.monotonic() - start
        try:
            call = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
            reply = call(b"", timeout=0.5, wait_for_ready=(kind == "ready-wait"))
            records.append((t, versions.get(version(reply), "?")))
        except grpc.RpcError as e:
            records.append((t, "failed:" + e.code().name))
        finally:
            if shared is None:
                channel.close()
        next_at += 0.02
        time.sleep(max(0, next_at - time.monotonic()))
start = time.monotonic()
results = {k: [] for k in ("fresh", "long-lived", "ready-wait")}
threads = [threading.Thread(target=run, args=(k, results[k], start)) for k in results]
print("started", flush=True)
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(results))
EOF

summarise() { python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
results, mode, run = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
phases = [("before the switch", 0, 3), ("after the switch", 3.5, 11), (f"after the {'retire' if run == 'retire' else 'kill and switch back'}", 11, 19)]
for client, records in results.items():
    cells = []
    for label, a, b in phases:
        inside = [r for t, r in records if a <= t < b]
        failed = [r for r in inside if r.startswith("failed")]
        answered = [r for r in inside if not r.startswith("failed")]
        share = sum(r == "v2" for r in answered) / len(answered) if answered else 0
        codes = ",".join(sorted(set(f.split(":")[1] for f in failed)))
        cells.append(f"{len(inside)} calls, {len(failed)} failed{' (' + codes + ')' if codes else ''}, v2 {share:.0%}")
    print(f"{mode:4} {run:8} {client:10} | " + " | ".join(cells))
EOF
}

docker network create --subnet "$subnet" "$name" >/dev/null
port=$(free_port)
echo "# $(date -u +%FT%TZ) commit $(git -C "$(dirname "$0")" rev-parse --short HEAD) haproxy $(haproxy -v | head -1 | awk '{print $3}') v1 $v1 v2 $v2 load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# phases: before the switch (0-3 s) | after the switch (3.5-11 s) | after the retire or the kill (11-19 s)"
for mode in $modes; do
  for run in retire rollback; do
    start_slot blue "$v1" "$blue_ip"
    start_slot green "$v2" "$green_ip"
    # Which model version is which image: ask each slot once, straight.
    versions=$(/usr/bin/python3 - "$blue_ip" "$green_ip" <<'EOF'
import json, sys, grpc
out = {}
for ip, label in ((sys.argv[1], "v1"), (sys.argv[2], "v2")):
    with grpc.insecure_channel(f"{ip}:8000") as c:
        reply = c.unary_unary("/studentperformance.v1.Predictor/GetModelInfo", request_serializer=None, response_deserializer=None)(b"", timeout=5)
        out[reply[2:2 + reply[1]].decode()] = label
print(json.dumps(out))
EOF
)
    config "$mode" "$port" >"$work/haproxy.cfg"
    haproxy -c -q -f "$work/haproxy.cfg"
    haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy-$mode-$run.log" 2>&1 &
    haproxy_pid=$!
    for _ in $(seq 1 100); do [[ -S $work/admin.sock ]] && break; sleep 0.1; done
    /usr/bin/python3 "$work/clients.py" "127.0.0.1:$port" 19 "$versions" >"$work/out.json" &
    clients=$!
    sleep 3
    api "set server grpc/green state ready" "set server grpc/blue state drain"
    sleep 8
    if [[ $run == retire ]]; then
      docker stop -t 20 "$name-blue" >/dev/null
      api "set server grpc/blue state maint"
    else
      docker kill "$name-green" >/dev/null
      api "set server grpc/blue state ready" "set server grpc/green state maint"
    fi
    wait "$clients"
    tail -1 "$work/out.json" >"$work/results.json"
    summarise "$work/results.json" "$mode" "$run"
    kill "$haproxy_pid" 2>/dev/null || true
    wait "$haproxy_pid" 2>/dev/null || true
    haproxy_pid=""
    rm -f "$work/admin.sock"
  done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
