#!/usr/bin/env bash
# Makes local stand-ins for public images, which cannot be pulled on this machine:
#   local/aspnet:10.0    Debian bookworm minbase + the host's .NET runtime (host, NETCore.App, AspNetCore.App)
#   local/sdk:10.0       Debian bookworm minbase + the host's whole .NET SDK
#   local/registry:2     the host's docker-registry (CNCF distribution) binary, standing in for `registry:2`
#   local/debian:bookworm Debian bookworm minbase alone, standing in for `debian:bookworm-slim` (Dockerfile.edge)
# The Dockerfiles take the first two through their SDK_IMAGE / RUNTIME_IMAGE build args; docker-compose.yml
# takes the registry through REGISTRY_IMAGE.
#
# Idempotent: skips everything when all images exist (FORCE=1 remakes them). The debootstrapped rootfs is
# cached outside the repository, in $STUDENTPERFORMANCE_CACHE (default /var/cache/studentperformance).
# The Debian mirror is read from this machine's apt sources; no host name is written here.
set -euo pipefail

DOCKER=${DOCKER:-/usr/bin/docker}
RUNTIME_TAG=local/aspnet:10.0
SDK_TAG=local/sdk:10.0
REGISTRY_TAG=local/registry:2
DEBIAN_TAG=local/debian:bookworm
CACHE=${STUDENTPERFORMANCE_CACHE:-/var/cache/studentperformance}
ROOTFS=$CACHE/rootfs-bookworm
SUITE=bookworm
APP_UID=1654

log() { printf 'make-base-images: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# The registry image needs no rootfs: the binary, the C library it links, and a config.
make_registry_image() {
  local binary=/usr/bin/docker-registry staging
  [[ -x $binary ]] || die "$binary is missing (scripts/setup-host.sh installs docker-registry)"
  staging=$(mktemp -d)
  mkdir -p "$staging/etc/docker/registry" "$staging/var/lib/registry"
  cat >"$staging/etc/docker/registry/config.yml" <<'YAML'
version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
YAML
  log "importing $REGISTRY_TAG"
  # ldd lists the loader and libraries the binary needs; -h stores the files behind their symlinks.
  # shellcheck disable=SC2046
  tar -ch -C / "${binary#/}" $(ldd "$binary" | grep -o '/[^ ]*' | sed 's,^/,,' | sort -u) \
    -C "$staging" etc var |
    "$DOCKER" import -c 'EXPOSE 5000' -c 'VOLUME /var/lib/registry' \
      -c 'ENTRYPOINT ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]' \
      -m "docker-registry from the build host" - "$REGISTRY_TAG" >/dev/null
  rm -rf "$staging"
}

if [[ ${FORCE:-0} == 1 ]] || ! image_exists "$REGISTRY_TAG"; then
  make_registry_image
fi

need_dotnet=1
need_debian=1
if [[ ${FORCE:-0} != 1 ]]; then
  image_exists "$RUNTIME_TAG" && image_exists "$SDK_TAG" && need_dotnet=0
  image_exists "$DEBIAN_TAG" && need_debian=0
fi
if [[ $need_dotnet == 0 && $need_debian == 0 ]]; then
  log "$RUNTIME_TAG, $SDK_TAG and $DEBIAN_TAG exist; nothing to do"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap and chroot)"

dotnet_dir=$(dirname "$(readlink -f "$(command -v dotnet)")")
[[ -d $dotnet_dir/shared/Microsoft.AspNetCore.App ]] || die "no ASP.NET Core runtime under $dotnet_dir"
runtime_version=$(ls "$dotnet_dir/shared/Microsoft.NETCore.App" | sort -V | tail -n 1)
aspnet_version=$(ls "$dotnet_dir/shared/Microsoft.AspNetCore.App" | sort -V | tail -n 1)
sdk_version=$(ls "$dotnet_dir/sdk" | sort -V | tail -n 1)

# Prints the first Debian mirror URI that this machine's apt uses for the main suite (not -security).
apt_mirror() {
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f $file ]] || continue
    # deb822 stanzas are separated by blank lines; take URIs of a stanza whose Suites list the bare suite.
    awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; ok = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris); split(uris, u, /[ \t]+/); uris = u[1] }
          if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
        }
        if (ok && uris != "") { print uris; exit }
      }' "$file"
  done
  [[ -f /etc/apt/sources.list ]] &&
    awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { if ($(i + 1) == suite) print $i; break } }' \
      /etc/apt/sources.list
  return 0
}

if [[ ! -f $ROOTFS/.complete ]]; then
  mirror=$(apt_mirror | head -n 1)
  [[ -n $mirror ]] || die "no '$SUITE' mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
  log "debootstrapping $SUITE from the machine's apt mirror into $ROOTFS (about a minute)"
  mkdir -p "$CACHE"
  work=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  debootstrap --variant=minbase \
    --include=ca-certificates,libicu72,libssl3,zlib1g,libstdc++6,libgcc-s1,tzdata \
    "$SUITE" "$work" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $CACHE/debootstrap.log"

  # The same non-root user the official images carry, so `USER 1654` means `app` in both.
  echo "app:x:$APP_UID:$APP_UID::/home/app:/usr/sbin/nologin" >>"$work/etc/passwd"
  echo "app:x:$APP_UID:" >>"$work/etc/group"
  echo "app:!:20000::::::" >>"$work/etc/shadow"
  install -d -o "$APP_UID" -g "$APP_UID" "$work/home/app"
  # The official images resolve `dotnet` from /usr/bin; the exec-form HEALTHCHECK relies on that.
  ln -sf /usr/share/dotnet/dotnet "$work/usr/bin/dotnet"
  rm -rf "$work"/var/cache/apt/archives/*.deb "$work"/var/lib/apt/lists/* \
    "$work"/usr/share/doc/* "$work"/usr/share/man/* "$work"/usr/share/info/*
  touch "$work/.complete"
  rm -rf "$ROOTFS"
  mv "$work" "$ROOTFS"
  trap - EXIT
fi

# This machine checks outbound TLS against extra CAs; without them `dotnet restore` inside `docker build`
# fails with UntrustedRoot. They go into the cached rootfs only (never into the repository) and are refreshed
# on every run in case the host's set changed.
rm -f "$ROOTFS"/usr/local/share/ca-certificates/*.crt
if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
  cp -r /usr/local/share/ca-certificates/. "$ROOTFS/usr/local/share/ca-certificates/"
fi
chroot "$ROOTFS" update-ca-certificates --fresh >/dev/null

# The plain Debian base for Dockerfile.edge: the rootfs without .NET. Its apt sources are the ones debootstrap
# wrote, so `apt-get install` inside `docker build --network host` reaches the same mirror as this machine.
if [[ $need_debian == 1 ]]; then
  log "importing $DEBIAN_TAG"
  tar --exclude=./.complete --exclude=./usr/bin/dotnet -C "$ROOTFS" -c . |
    "$DOCKER" import \
      -c "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      -c 'CMD ["bash"]' \
      -m "Debian $SUITE minbase" \
      - "$DEBIAN_TAG" >/dev/null
fi

if [[ $need_dotnet == 0 ]]; then
  exit 0
fi

common_env=(
  -c "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  -c "ENV APP_UID=$APP_UID"
  -c "ENV DOTNET_RUNNING_IN_CONTAINER=true"
  -c "ENV DOTNET_VERSION=$runtime_version"
  -c "ENV ASPNET_VERSION=$aspnet_version"
)

log "importing $RUNTIME_TAG (.NET $runtime_version, ASP.NET Core $aspnet_version)"
tar_to_image() { tar --exclude=./.complete --transform "s,^${dotnet_dir#/},usr/share/dotnet," -C "$ROOTFS" -c . -C / "$@"; }

tar_to_image "${dotnet_dir#/}/dotnet" "${dotnet_dir#/}/host" \
  "${dotnet_dir#/}/shared/Microsoft.NETCore.App/$runtime_version" \
  "${dotnet_dir#/}/shared/Microsoft.AspNetCore.App/$aspnet_version" |
  "$DOCKER" import "${common_env[@]}" \
    -c "ENV ASPNETCORE_HTTP_PORTS=8080" \
    -c "WORKDIR /app" \
    -m "Debian $SUITE minbase + .NET runtime $runtime_version from the build host" \
    - "$RUNTIME_TAG" >/dev/null

log "importing $SDK_TAG (.NET SDK $sdk_version)"
tar_to_image "${dotnet_dir#/}" |
  "$DOCKER" import "${common_env[@]}" \
    -c "ENV DOTNET_ROOT=/usr/share/dotnet" \
    -c "ENV DOTNET_SDK_VERSION=$sdk_version" \
    -c "ENV DOTNET_CLI_TELEMETRY_OPTOUT=1" \
    -c "ENV DOTNET_NOLOGO=1" \
    -c "ENV DOTNET_GENERATE_ASPNET_CERTIFICATE=false" \
    -c "ENV NUGET_XMLDOC_MODE=skip" \
    -m "Debian $SUITE minbase + .NET SDK $sdk_version from the build host" \
    - "$SDK_TAG" >/dev/null

"$DOCKER" images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E "^local/(aspnet|sdk|registry|debian):" >&2
