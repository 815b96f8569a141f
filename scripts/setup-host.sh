#!/usr/bin/env bash
# Makes this host ready for the tests: the Debian packages they use and a running Docker engine.
# Idempotent and quick on a second run: it installs only what is missing (running `apt-get update` only then)
# and starts dockerd only when the socket does not answer.
set -euo pipefail

log() { printf 'setup-host: %s\n' "$*" >&2; }

sudo_if_needed() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# package => what proves it is usable ("a|b": either will do). A command is checked instead of the dpkg status
# because another distribution of the same tool may already be present (GitHub's Ubuntu runners ship docker-ce
# rather than docker.io, and Chrome with its chromedriver rather than chromium).
declare -A probes=(
  [docker.io]="/usr/bin/docker"
  [docker-registry]="/usr/bin/docker-registry"
  [docker-compose]="docker-compose"
  [debootstrap]="debootstrap"
  [python3-grpcio]="py:grpc"
  [python3-grpc-tools]="py:grpc_tools"
  [grpc-proto]="/usr/share/grpc-proto"
  [nghttp2-client]="h2load"
  [haproxy]="haproxy"
  [chromium]="chromium|chromium-browser|google-chrome"
  [chromium-driver]="chromedriver|env:CHROMEWEBDRIVER"
  [apache2-utils]="htpasswd"
  [jq]="jq"
  # promtool checks and unit-tests deploy/prometheus (tests/Delivery.Tests/Observability).
  [prometheus]="promtool"
)

present() {
  local probe=$1 alternative variable
  local -a alternatives
  if [[ $probe == *"|"* ]]; then
    IFS='|' read -ra alternatives <<<"$probe"
    for alternative in "${alternatives[@]}"; do present "$alternative" && return 0; done
    return 1
  fi
  case $probe in
    env:*) variable=${probe#env:} && [[ -n ${!variable:-} ]] ;;
    py:*) /usr/bin/python3 -c "import ${probe#py:}" 2>/dev/null ;;
    /*) [[ -e $probe ]] ;;
    *) command -v "$probe" >/dev/null 2>&1 || [[ -x /usr/sbin/$probe ]] ;;
  esac
}

missing=()
for package in "${!probes[@]}"; do
  present "${probes[$package]}" || missing+=("$package")
done

if ((${#missing[@]} > 0)); then
  log "installing ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

docker_answers() { timeout 10 /usr/bin/docker version >/dev/null 2>&1; }

if ! docker_answers; then
  log "starting dockerd (log: /var/log/dockerd.log)"
  # setsid detaches the daemon from this script's process group so a Ctrl-C on the tests does not stop it.
  sudo_if_needed setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    docker_answers && break
    sleep 1
  done
  docker_answers || { log "dockerd did not answer within 60 s; see /var/log/dockerd.log"; exit 1; }
fi

log "ready (docker $(/usr/bin/docker version --format '{{.Server.Version}}'))"
