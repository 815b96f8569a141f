#!/bin/sh
# Fills the scrape targets into prometheus.yml (Prometheus reads no environment variables in it), checks the
# result with its rules, and runs Prometheus on the host's loopback only.
set -eu
: "${PROMETHEUS_PORT:=9095}" "${DEPLOYER_ADMIN_PORT:=9090}" "${EDGE_METRICS_PORT:=9101}" "${PREDICTOR_HTTP_PORT:=8080}"
: "${SCRAPE_INTERVAL:=15s}" "${PROMETHEUS_RETENTION:=15d}"
: "${DEPLOYER_TOKEN_FILE:=/var/lib/student-performance-deployer/admin-token}" "${TOKEN_WAIT_SECONDS:=120}"
for port in "$PROMETHEUS_PORT" "$DEPLOYER_ADMIN_PORT" "$EDGE_METRICS_PORT" "$PREDICTOR_HTTP_PORT"; do
  case $port in
    '' | *[!0-9]*) echo "prometheus: '$port' is not a port number" >&2; exit 2 ;;
  esac
done
# The deployer writes its admin token at its first start, which may come after ours: wait for it (promtool checks
# that the credentials file exists).
waited=0
until [ -r "$DEPLOYER_TOKEN_FILE" ]; do
  if [ "$waited" -ge "$TOKEN_WAIT_SECONDS" ]; then
    echo "prometheus: cannot read the deployer's admin token at $DEPLOYER_TOKEN_FILE (DEPLOYER_TOKEN_FILE)" >&2
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
sed -e "s|\${DEPLOYER_ADMIN_PORT}|$DEPLOYER_ADMIN_PORT|g" \
    -e "s|\${DEPLOYER_TOKEN_FILE}|$DEPLOYER_TOKEN_FILE|g" \
    -e "s|\${EDGE_METRICS_PORT}|$EDGE_METRICS_PORT|g" \
    -e "s|\${PREDICTOR_HTTP_PORT}|$PREDICTOR_HTTP_PORT|g" \
    -e "s|\${SCRAPE_INTERVAL}|$SCRAPE_INTERVAL|g" \
    /etc/prometheus/prometheus.yml.in > /tmp/prometheus.yml
promtool check config /tmp/prometheus.yml >&2
exec prometheus \
  --config.file=/tmp/prometheus.yml \
  --storage.tsdb.path=/prometheus \
  --storage.tsdb.retention.time="$PROMETHEUS_RETENTION" \
  --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
