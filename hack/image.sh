#!/usr/bin/env bash
# Builds images as OCI archives with no registry and no image builder, and (with --import)
# loads them into a containerd. See docs/IMAGES.md.
#
#   hack/image.sh [IMAGE...] [--import SOCKET]   # build (default: roomshard redis), print the archives
#   hack/image.sh --name IMAGE                   # print the name an image is built under
#
# The images:
#   roomshard  Roomshard's image, like the Dockerfile's: the four release binaries in
#              /usr/local/bin, glibc, libgcc and CA certificates from Debian packages,
#              user 65532, no shell. IMAGE overrides its name (roomshard.local/roomshard:dev).
#   redis      the chart's development Redis: Debian's redis-server and redis-cli, user 999.
#   pause      the pod sandbox: one static program (hack/image/pause.c).
#   coredns    CoreDNS and traefik Traefik, static binaries from hack/install-node.sh.
#   traefik
# Environment: SKIP_BUILD=1 uses the release binaries already built; CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/lib/oci.sh
source hack/lib/oci.sh

cache="${ROOMSHARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/roomshard}"
out="$cache/images"
target="${CARGO_TARGET_DIR:-$cache/target}"

name_of() {
  case "$1" in
    roomshard) echo "${IMAGE:-roomshard.local/roomshard:dev}" ;;
    redis) echo "roomshard.local/redis:7" ;;
    pause) echo "roomshard.local/pause:3.10" ;;
    coredns | traefik)
      local bin
      bin=$(hack/install-node.sh | tail -n 1)
      # The version is in the cache folder's name: ...-coredns-vX-traefik-vY.
      sed -E "s/.*-$1-(v[^-]+).*/roomshard.local\/$1:\1/" <<<"$(basename "$bin")"
      ;;
    *) echo "image: no image named $1" >&2; return 1 ;;
  esac
}

images=()
import_socket=
while (($#)); do
  case "$1" in
    --name) name_of "${2:?--name needs an image}"; exit 0 ;;
    --import) import_socket=${2:?--import needs containerd\'s socket}; shift 2 ;;
    *) images+=("$1"); shift ;;
  esac
done
((${#images[@]})) || images=(roomshard redis)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build_roomshard() {
  local root=$work/roomshard bins=(roomshard-operator roomshard-worker roomshard-matchmaker roomshard-loadtest)
  local paths=() args=() b pkgs
  for b in "${bins[@]}"; do args+=(-p "$b" --bin "$b"); paths+=("$target/release/$b"); done
  if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    CARGO_TARGET_DIR="$target" cargo build --release --locked --quiet "${args[@]}"
  fi
  pkgs=$(debian_libraries_of "${paths[@]}") || return 1
  mapfile -t pkgs <<<"$pkgs"
  debian_extract "$cache/debs" "$root" "${pkgs[@]}" ca-certificates
  rootfs_base "$root" 65532 nonroot
  install -m 0755 "${paths[@]}" "$root/usr/local/bin/"
  mkdir -p "$root/etc/ssl/certs"
  find "$root/usr/share/ca-certificates" -name '*.crt' -print0 | sort -z | xargs -0 cat \
    > "$root/etc/ssl/certs/ca-certificates.crt"
  oci_image "$(name_of roomshard)" "$root" \
    '{"User":"65532:65532","Env":["PATH=/usr/local/bin:/usr/bin:/bin","SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],"Cmd":["roomshard-operator"],"ExposedPorts":{"3000/tcp":{},"8080/tcp":{}},"Labels":{"org.opencontainers.image.title":"roomshard"}}' \
    "$out/roomshard.tar"
}

build_redis() {
  local root=$work/redis pkgs
  pkgs=$(debian_libraries_of /usr/bin/redis-check-rdb /usr/bin/redis-cli) || return 1
  mapfile -t pkgs <<<"$pkgs"
  debian_extract "$cache/debs" "$root" redis-server redis-tools "${pkgs[@]}"
  rootfs_base "$root" 999 redis
  mkdir -p "$root/data" && chown 999:999 "$root/data"
  oci_image "$(name_of redis)" "$root" \
    '{"User":"999:999","Env":["PATH=/usr/bin:/bin"],"Cmd":["redis-server"],"WorkingDir":"/data","ExposedPorts":{"6379/tcp":{}}}' \
    "$out/redis.tar"
}

build_pause() {
  local root=$work/pause
  mkdir -p "$root"
  gcc -static -Os -o "$root/pause" hack/image/pause.c
  oci_image "$(name_of pause)" "$root" '{"User":"65535:65535","Entrypoint":["/pause"]}' "$out/pause.tar"
}

# A static Go binary, a CA bundle and a user.
build_static() {
  local name=$1 root=$work/$1 bin
  bin=$(hack/install-node.sh | tail -n 1)
  rootfs_base "$root" 65532 nonroot
  install -m 0755 "$bin/$name" "$root/usr/local/bin/$name"
  oci_image "$(name_of "$name")" "$root" \
    "{\"User\":\"65532:65532\",\"Env\":[\"PATH=/usr/local/bin\"],\"Entrypoint\":[\"/usr/local/bin/$name\"]}" \
    "$out/$name.tar"
}

# current ARCHIVE INPUT...: the archive exists and is newer than every input (the build
# is deterministic, so it would come out the same).
current() {
  local archive=$1 input
  shift
  [[ -f "$archive" ]] || return 1
  for input in "$@"; do [[ "$archive" -nt "$input" ]] || return 1; done
}

for i in "${images[@]}"; do
  case "$i" in
    roomshard) build_roomshard ;;
    redis) build_redis ;;
    pause) current "$out/pause.tar" hack/image/pause.c hack/lib/oci.sh || build_pause ;;
    coredns | traefik)
      current "$out/$i.tar" "$(hack/install-node.sh | tail -n 1)/$i" hack/lib/oci.sh || build_static "$i"
      ;;
    *) echo "image: no image named $i" >&2; exit 1 ;;
  esac
  if [[ -n "$import_socket" ]]; then
    ctr --address "$import_socket" -n k8s.io images import "$out/$i.tar" >/dev/null
  fi
  echo "$out/$i.tar"
done
