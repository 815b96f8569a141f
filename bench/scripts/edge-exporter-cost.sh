#!/usr/bin/env bash
# What HAProxy's Prometheus exporter (Deployer:Edge:MetricsPort) costs the edge: Debian's haproxy on loopback with
# the edge's two routes' shape (2 backends x 4 servers, as HaproxyConfig renders them) plus the exporter frontend.
# 1) CPU per scrape: HAProxy's utime+stime (/proc) over N scrapes, and the size of one scrape.
# 2) Throughput A/B: h2load against a frontend HAProxy answers itself (the most sensitive case: no predictor time
#    to hide the exporter's), rounds alternating "no scrape" and "a scrape every second" (15x compose's interval).
# Usage: bench/scripts/edge-exporter-cost.sh [scrapes=500] [requests=200000] [rounds=3]
set -euo pipefail
scrapes=${1:-500}
requests=${2:-200000}
rounds=${3:-3}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
front=$(free_port) metrics=$(free_port)
cat >"$work/haproxy.cfg" <<CFG
global
    log stdout format raw local0 notice
defaults
    mode http
    timeout connect 2s
    timeout client 1h
    timeout server 1h
frontend fe_bench
    bind 127.0.0.1:$front proto h2
    http-request return status 200 content-type text/plain string ok
backend be_8000
    server blue 127.0.0.1:1 disabled
    server green 127.0.0.1:2 disabled
    server blue-standby 127.0.0.1:3 backup disabled
    server green-standby 127.0.0.1:4 backup disabled
backend be_8080
    server blue 127.0.0.1:5 disabled
    server green 127.0.0.1:6 disabled
    server blue-standby 127.0.0.1:7 backup disabled
    server green-standby 127.0.0.1:8 backup disabled
frontend metrics
    bind 127.0.0.1:$metrics
    no log
    http-request use-service prometheus-exporter if { path /metrics }
    http-request deny
CFG
haproxy -f "$work/haproxy.cfg" -db >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$metrics/metrics" >/dev/null && break; sleep 0.1; done
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
bytes=$(curl -s "http://127.0.0.1:$metrics/metrics" | wc -c)
series=$(curl -s "http://127.0.0.1:$metrics/metrics" | grep -vc '^#')
before=$(ticks)
for _ in $(seq 1 "$scrapes"); do curl -s -o /dev/null "http://127.0.0.1:$metrics/metrics"; done
after=$(ticks)
echo "scrape: $bytes bytes, $series series; HAProxy CPU per scrape: $(awk -v t=$((after - before)) -v n="$scrapes" -v hz="$hz" 'BEGIN { printf "%.3f ms", t / hz / n * 1000 }') ($scrapes scrapes)"
rate() { h2load -n "$requests" -c 2 -m 16 "http://127.0.0.1:$front/" 2>/dev/null | awk '/^finished in/ { gsub(",", "", $4); print $4 }'; }
for round in $(seq 1 "$rounds"); do
  off=$(rate)
  ( while :; do curl -s -o /dev/null "http://127.0.0.1:$metrics/metrics"; sleep 1; done ) &
  scraper=$!
  on=$(rate)
  kill "$scraper"; wait "$scraper" 2>/dev/null || true
  echo "round $round: no scrape $off req/s, scraped every 1 s $on req/s, ratio $(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')"
done
