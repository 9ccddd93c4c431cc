#!/usr/bin/env bash
# Builds what a local Kubernetes node needs besides the control plane of
# hack/install-control-plane.sh: kube-controller-manager, kube-scheduler, kubelet and
# kube-proxy (from the same k8s.io/kubernetes release), CoreDNS and Traefik (the ingress
# controller of the local cluster), each from its Go module, into a cache folder outside the
# repository keyed by their versions. Prints the folder. A second run only prints it.
set -euo pipefail

K8S_VERSION="${ROOMSHARD_K8S_VERSION:-v1.34.4}"
COREDNS_VERSION="${ROOMSHARD_COREDNS_VERSION:-v1.15.0}"
TRAEFIK_VERSION="${ROOMSHARD_TRAEFIK_VERSION:-v3.6.12}"
CACHE_ROOT="${ROOMSHARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/roomshard}"
OUT="$CACHE_ROOT/node/k8s-$K8S_VERSION-coredns-$COREDNS_VERSION-traefik-$TRAEFIK_VERSION"
binaries=(kube-controller-manager kube-scheduler kubelet kube-proxy coredns traefik)

have_all() {
  local b
  for b in "${binaries[@]}"; do [[ -x "$OUT/$b" ]] || return 1; done
}
if have_all; then
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { echo "install-node: Go is required" >&2; exit 1; }
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
work="$CACHE_ROOT/node/build"
mkdir -p "$work" "$OUT.tmp"
# shellcheck source=hack/lib/gobuild.sh
source "$(dirname "$0")/lib/gobuild.sh"

build_kubernetes "$K8S_VERSION" kube-controller-manager kube-scheduler kubelet kube-proxy

# CoreDNS: its root package is the binary.
build_tool coredns "github.com/coredns/coredns@$COREDNS_VERSION" github.com/coredns/coredns

# Traefik: built as a dependency, its go.mod's replace and exclude lines have to be the
# wrapper's too (they do not apply to a dependent module otherwise).
(
  wrapper_module traefik github.com/traefik/traefik/v3/cmd/traefik
  modfile=$(go mod download -json "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  sed -i "s/^go .*/$(grep -m1 '^go ' "$modfile")/" go.mod
  echo "require github.com/traefik/traefik/v3 $TRAEFIK_VERSION" >> go.mod
  awk '/^replace \(/{r=1;print;next} /^exclude \(/{r=1;print;next} r&&/^\)/{r=0;print;next} r{print;next} /^(replace|exclude) /{print}' "$modfile" >> go.mod
  go mod tidy >/dev/null
  build_into traefik github.com/traefik/traefik/v3/cmd/traefik
)

rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "$OUT"
