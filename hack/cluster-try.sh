#!/usr/bin/env bash
# The whole system on a real single-node cluster, in one command: brings up the local node
# (hack/cluster-up.sh), builds and imports the images (hack/image.sh), installs the chart
# with its development Redis, applies examples/roomshardset.yaml and waits until every
# shard is Ready. Then it prints how to reserve and play from this machine, and how to
# remove it all (hack/cluster-down.sh). Needs root. See docs/KIND.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/lib/cluster.sh
source hack/lib/cluster.sh

[[ $(id -u) -eq 0 ]] || die "a node needs root"
kubeconfig=$(hack/cluster-up.sh | tail -n 1)
export KUBECONFIG=$kubeconfig
bin=$(hack/install-control-plane.sh | tail -n 1)
kubectl=("$bin/kubectl")
ingress=$(sed -n 's/^INGRESS_URL=//p' "$cluster_state/env")

say "images"
hack/image.sh roomshard redis --import "$cluster_state/containerd/containerd.sock" >/dev/null

say "the chart, with its development Redis"
"$bin/helm" upgrade --install rs charts/roomshard --namespace roomshard-system --create-namespace \
  --set image.repository=roomshard.local/roomshard --set image.tag=dev \
  --set redis.enabled=true --set redis.image.repository=roomshard.local/redis \
  --wait --timeout 3m >/dev/null

say "examples/roomshardset.yaml in namespace game"
"${kubectl[@]}" create namespace game --dry-run=client -o yaml | "${kubectl[@]}" apply -f - >/dev/null
sed 's|image: ghcr.io/roomshard/roomshard:.*|image: roomshard.local/roomshard:dev|' \
  examples/roomshardset.yaml | "${kubectl[@]}" apply -n game -f - >/dev/null
wait_for 180 "every shard Ready" "${kubectl[@]}" -n game wait --for=jsonpath='{.status.readyReplicas}'=3 rss/arena --timeout=2s
"${kubectl[@]}" -n game get rss arena

cat >&2 <<EOF

Roomshard runs. From this machine:
  export KUBECONFIG=$kubeconfig
  curl -s -XPOST $ingress/reserve -H 'content-type: application/json' -d '{}'
  # then connect a Socket.IO client to the url it hands out (path /shard/<i>/socket.io/)
  # and emit join {"room": ..., "token": ...}; docs/CLIENT.md has the client library.
  kubectl -n game scale rss/arena --replicas=5
Remove everything: sudo hack/cluster-down.sh
EOF
