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
ldflags="-s -w"

# Kubernetes: the same wrapper as the control plane's (staging modules mapped to their
# published releases), with the node's commands.
staging_version="v0.${K8S_VERSION#v1.}"
(
  cd "$work"
  rm -rf k8s && mkdir k8s && cd k8s
  go mod init roomshard.dev/k8snodebuild >/dev/null 2>&1
  modfile=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  sed -i "s/^go .*/$(grep -m1 '^go ' "$modfile")/" go.mod
  echo "require k8s.io/kubernetes $K8S_VERSION" >> go.mod
  grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$modfile" | awk '{print $1}' | sort -u |
    while read -r m; do echo "replace $m => $m $staging_version" >> go.mod; done
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for c in kube-controller-manager kube-scheduler kubelet kube-proxy; do
      printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"
    done
    printf ')\n'
  } > tools.go
  go mod tidy >/dev/null
  for c in kube-controller-manager kube-scheduler kubelet kube-proxy; do
    go build -trimpath -ldflags="$ldflags" -o "$OUT.tmp/$c" "k8s.io/kubernetes/cmd/$c"
  done
)

# CoreDNS: its root package is the binary.
(
  cd "$work"
  rm -rf coredns && mkdir coredns && cd coredns
  go mod init roomshard.dev/corednsbuild >/dev/null 2>&1
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/coredns/coredns"\n' > tools.go
  go get "github.com/coredns/coredns@$COREDNS_VERSION" >/dev/null 2>&1
  go mod tidy >/dev/null
  go build -trimpath -ldflags="$ldflags" -o "$OUT.tmp/coredns" github.com/coredns/coredns
)

# Traefik: built as a dependency, its go.mod's replace and exclude lines have to be the
# wrapper's too (they do not apply to a dependent module otherwise).
(
  cd "$work"
  rm -rf traefik && mkdir traefik && cd traefik
  go mod init roomshard.dev/traefikbuild >/dev/null 2>&1
  modfile=$(go mod download -json "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  sed -i "s/^go .*/$(grep -m1 '^go ' "$modfile")/" go.mod
  echo "require github.com/traefik/traefik/v3 $TRAEFIK_VERSION" >> go.mod
  awk '/^replace \(/{r=1;print;next} /^exclude \(/{r=1;print;next} r&&/^\)/{r=0;print;next} r{print;next} /^(replace|exclude) /{print}' "$modfile" >> go.mod
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/traefik/traefik/v3/cmd/traefik"\n' > tools.go
  go mod tidy >/dev/null
  go build -trimpath -ldflags="$ldflags" -o "$OUT.tmp/traefik" github.com/traefik/traefik/v3/cmd/traefik
)

rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "$OUT"
