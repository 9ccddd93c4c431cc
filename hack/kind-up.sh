#!/usr/bin/env bash
# Runs Roomshard on a local kind cluster, end to end: creates the cluster, builds the
# image, loads it into the cluster, installs the chart (with its development Redis),
# applies examples/roomshardset.yaml, reserves a seat through the matchmaker and connects
# a Socket.IO client to the shard it names. See docs/KIND.md.
#
# Needs: docker, kind, kubectl, helm, curl; node and npm for the client step.
# Environment: KIND_CLUSTER (default roomshard), IMAGE (default roomshard:dev),
# NAMESPACE for the operator (default roomshard-system), SKIP_BUILD=1 to reuse an image.
set -euo pipefail
cd "$(dirname "$0")/.."

cluster="${KIND_CLUSTER:-roomshard}"
image="${IMAGE:-roomshard:dev}"
namespace="${NAMESPACE:-roomshard-system}"
set_name=arena
mm_port="${MATCHMAKER_LOCAL_PORT:-18080}"
shard_port="${SHARD_LOCAL_PORT:-13000}"

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'kind-up: %s\n' "$*" >&2; exit 1; }

for tool in docker kind kubectl helm curl; do
  command -v "$tool" >/dev/null || die "$tool is required"
done

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# Polls a URL until it answers or 60 s pass.
wait_http() {
  local url=$1
  for _ in $(seq 1 120); do
    if curl -fsS -o /dev/null --max-time 2 "$url"; then
      return 0
    fi
    sleep 0.5
  done
  die "no answer from $url"
}

if ! kind get clusters | grep -qx "$cluster"; then
  say "creating kind cluster $cluster"
  kind create cluster --name "$cluster" --wait 120s
fi
kubectl config use-context "kind-$cluster" >/dev/null

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  say "building $image"
  docker build -t "$image" .
fi
say "loading $image into kind"
kind load docker-image "$image" --name "$cluster"

say "installing the chart into $namespace"
helm upgrade --install roomshard charts/roomshard \
  --namespace "$namespace" --create-namespace \
  --set image.repository="${image%:*}" \
  --set image.tag="${image##*:}" \
  --set image.pullPolicy=Never \
  --set redis.enabled=true \
  --wait --timeout 180s

say "applying examples/roomshardset.yaml (image $image)"
sed -e "s|image: ghcr.io/roomshard/roomshard:.*|image: $image|" \
    -e "s|imagePullPolicy: IfNotPresent|imagePullPolicy: Never|" \
    examples/roomshardset.yaml | kubectl apply -n default -f -

say "waiting for the workers and the matchmaker"
kubectl -n default wait --for=create "statefulset/$set_name" --timeout=120s
kubectl -n default rollout status "statefulset/$set_name" --timeout=300s
kubectl -n default wait --for=create "deployment/$set_name-matchmaker" --timeout=120s
kubectl -n default rollout status "deployment/$set_name-matchmaker" --timeout=300s
kubectl -n default get "rss/$set_name"

say "reserving a seat through the matchmaker"
kubectl -n default port-forward "svc/$set_name-matchmaker" "$mm_port:8080" >/dev/null &
pids+=("$!")
wait_http "http://127.0.0.1:$mm_port/healthz"
reservation=""
for _ in $(seq 1 30); do
  if reservation=$(curl -fsS -X POST "http://127.0.0.1:$mm_port/reserve" \
      -H 'content-type: application/json' -d '{"track":"default"}'); then
    break
  fi
  sleep 1
done
[[ -n "$reservation" ]] || die "the matchmaker granted no seat (are the shards healthy? kubectl get rss)"
echo "$reservation"

# The reservation is JSON; pull out the fields without extra tools.
field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" <<<"$reservation"; }
shard=$(field shard)
room=$(field room)
token=$(field token)
[[ -n "$shard" && -n "$room" && -n "$token" ]] || die "unexpected reservation: $reservation"

say "connecting a Socket.IO client to shard $shard (room $room)"
kubectl -n default port-forward "svc/$set_name-shard-$shard" "$shard_port:3000" >/dev/null &
pids+=("$!")
wait_http "http://127.0.0.1:$shard_port/healthz"
if command -v node >/dev/null && command -v npm >/dev/null; then
  if [[ ! -d tests/node/node_modules/socket.io-client ]]; then
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
  fi
  NODE_PATH="$PWD/tests/node/node_modules" \
    node tests/charttests/fixtures/player.cjs "http://127.0.0.1:$shard_port" "$room" "$token"
  say "done: a player joined room $room on shard $shard"
else
  say "node is not installed; join by hand: connect a Socket.IO client to http://127.0.0.1:$shard_port and emit join {room: \"$room\", token: \"$token\"}"
fi
echo "Delete the cluster with: kind delete cluster --name $cluster" >&2
