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

# shellcheck source=hack/lib/gobuild.sh
source "$(dirname "$0")/lib/gobuild.sh"

build_kubernetes "$K8S_VERSION" kube-apiserver kubectl

# etcd: since 3.5 the server module's root package is the etcd binary.
build_tool etcd "go.etcd.io/etcd/server/v3@$ETCD_VERSION" go.etcd.io/etcd/server/v3

# helm, for the chart tests.
build_tool helm "helm.sh/helm/v3@$HELM_VERSION" helm.sh/helm/v3/cmd/helm

rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "$OUT"
