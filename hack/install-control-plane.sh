#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl from their Go modules into a cache outside the
# repository, keyed by version, and prints the folder (an envtest-style KUBEBUILDER_ASSETS).
# A second run with the same versions only prints the folder.
set -euo pipefail

K8S_VERSION="${ROOMSHARD_K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${ROOMSHARD_ETCD_VERSION:-v3.6.6}"
HELM_VERSION="${ROOMSHARD_HELM_VERSION:-v3.19.0}"
CACHE_ROOT="${ROOMSHARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/roomshard}"
OUT="$CACHE_ROOT/control-plane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION"

if [[ -x "$OUT/kube-apiserver" && -x "$OUT/etcd" && -x "$OUT/kubectl" && -x "$OUT/helm" ]]; then
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { echo "install-control-plane: Go is required" >&2; exit 1; }
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
work="$CACHE_ROOT/control-plane/build-$K8S_VERSION"
mkdir -p "$work" "$OUT.tmp"

# kube-apiserver and kubectl: k8s.io/kubernetes requires its staging modules at v0.0.0 and
# replaces them with local paths, which do not apply to a dependent module. Map each one to
# the published release that matches the Kubernetes minor and patch.
staging_version="v0.${K8S_VERSION#v1.}"
(
  cd "$work"
  rm -rf k8s && mkdir k8s && cd k8s
  go mod init roomshard.dev/k8sbuild >/dev/null 2>&1
  modfile=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  go_line=$(grep -m1 '^go ' "$modfile")
  sed -i "s/^go .*/$go_line/" go.mod
  echo "require k8s.io/kubernetes $K8S_VERSION" >> go.mod
  grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$modfile" | awk '{print $1}' | sort -u |
    while read -r m; do echo "replace $m => $m $staging_version" >> go.mod; done
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  go mod tidy >/dev/null
  go build -trimpath -ldflags="-s -w" -o "$OUT.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build -trimpath -ldflags="-s -w" -o "$OUT.tmp/kubectl" k8s.io/kubernetes/cmd/kubectl
)

# build_tool NAME MODULE@VERSION PACKAGE: builds one Go main package, pinned through a
# throwaway module of its own, into $OUT.tmp/NAME.
build_tool() {
  local name=$1 module=$2 package=$3
  (
    cd "$work"
    rm -rf "$name" && mkdir "$name" && cd "$name"
    go mod init "roomshard.dev/${name}build" >/dev/null 2>&1
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" > tools.go
    go get "$module" >/dev/null 2>&1
    go mod tidy >/dev/null
    go build -trimpath -ldflags="-s -w" -o "$OUT.tmp/$name" "$package"
  )
}

# etcd: since 3.5 the server module's root package is the etcd binary.
build_tool etcd "go.etcd.io/etcd/server/v3@$ETCD_VERSION" go.etcd.io/etcd/server/v3

# helm, for the chart tests.
build_tool helm "helm.sh/helm/v3@$HELM_VERSION" helm.sh/helm/v3/cmd/helm

rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "$OUT"
