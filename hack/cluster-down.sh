#!/usr/bin/env bash
# Removes everything hack/cluster-up.sh made: the pods' containers and shims, the
# components, mounts under the state folder, the pods' network namespaces, the bridge and
# its route, the kubelet's, kube-proxy's and the cluster's iptables chains, the pods'
# cgroups, the sysctls it changed and the state folder. Safe to run twice, and on a
# cluster that never came up whole. Then checks that nothing is left (exit 1 if so).
#
#   hack/cluster-down.sh            # remove
#   hack/cluster-down.sh --check    # only report what is left
set -uo pipefail
[[ -n "${CLUSTER_DOWN_TRACE:-}" ]] && { PS4='+ $SECONDS '; set -x; }
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=hack/lib/cluster.sh
source hack/lib/cluster.sh

env_file="$cluster_state/env"
pod_cidr=
if [[ -f "$env_file" ]]; then
  pod_cidr=$(sed -n 's/^POD_CIDR=//p' "$env_file")
fi
sock="$cluster_state/containerd/containerd.sock"

# What is left of the cluster, one line each; nothing when all is gone.
leftovers() {
  local p
  for p in "$cluster_state"/pids/*.pid; do
    pid_alive "$p" && echo "process $(basename "$p" .pid) ($(cat "$p"))"
  done
  pgrep -f "containerd-shim.*$cluster_state" | sed 's/^/shim process /'
  findmnt -rn -o TARGET | grep -F "$cluster_state" | sed 's/^/mount /'
  ip link show "$cluster_bridge" >/dev/null 2>&1 && echo "bridge $cluster_bridge"
  for t in filter nat mangle raw; do
    iptables -t "$t" -S 2>/dev/null | awk -v t="$t" '$1 == "-N" && ($2 ~ /^KUBE-/ || $2 == "'"$cluster_chain"'") {print "iptables chain " t "/" $2}'
    ip6tables -t "$t" -S 2>/dev/null | awk -v t="$t" '$1 == "-N" && $2 ~ /^KUBE-/ {print "ip6tables chain " t "/" $2}'
  done
  if [[ -n "$pod_cidr" ]]; then
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
      ip netns exec "$ns" ip -4 -o addr show 2>/dev/null | grep -q "${pod_cidr%.0/24}\." && echo "netns $ns"
    done
  fi
  compgen -G "/sys/fs/cgroup/*/kubepods*" >/dev/null && echo "cgroups kubepods"
  [[ -e "$cluster_state" ]] && echo "state $cluster_state"
  return 0
}

if [[ "${1:-}" == "--check" ]]; then
  left=$(leftovers)
  [[ -z "$left" ]] && exit 0
  echo "$left"
  exit 1
fi
[[ $(id -u) -eq 0 ]] || die "removing a node needs root"

# The pods' containers: killed and removed through containerd, so their shims exit and
# their rootfs mounts go, before the components that would restart them stop.
stop_pids 10 "$cluster_state/pids/kubelet.pid" "$cluster_state/pids/kube-proxy.pid"
if [[ -S "$sock" ]] && pid_alive "$cluster_state/pids/containerd.pid"; then
  # Each task killed and deleted at once (force), all of them side by side.
  for id in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
    ctr --address "$sock" -n k8s.io tasks delete --force "$id" >/dev/null 2>&1 &
  done
  wait
  for id in $(ctr --address "$sock" -n k8s.io containers ls -q 2>/dev/null); do
    ctr --address "$sock" -n k8s.io containers delete "$id" >/dev/null 2>&1 &
  done
  wait
fi
stop_pids 10 "$cluster_state"/pids/kube-{scheduler,controller-manager,apiserver}.pid
stop_pids 10 "$cluster_state/pids/containerd.pid"
stop_pids 10 "$cluster_state/pids/etcd.pid"
pkill -KILL -f "containerd-shim.*$cluster_state" 2>/dev/null

# The pods' network namespaces (containerd names them cni-...; ours hold a pod address).
if [[ -n "$pod_cidr" ]]; then
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    if ip netns exec "$ns" ip -4 -o addr show 2>/dev/null | grep -q "${pod_cidr%.0/24}\."; then
      ip netns del "$ns" 2>/dev/null
    fi
  done
fi

# Mounts under the state folder, deepest first.
findmnt -rn -o TARGET | grep -F "$cluster_state" | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
done

ip link del "$cluster_bridge" 2>/dev/null

# iptables: first the jumps from the built-in chains, then the chains themselves.
for cmd in iptables ip6tables; do
  for t in filter nat mangle raw; do
    "$cmd" -t "$t" -S 2>/dev/null | grep -E "^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j (KUBE-[A-Z0-9-]+|$cluster_chain)( |$)" |
      sed 's/^-A/-D/' | while read -r rule; do
        # The rule as iptables -S prints it, quotes and all.
        eval "$cmd -t $t $rule" 2>/dev/null
      done
    chains=$("$cmd" -t "$t" -S 2>/dev/null | awk '$1 == "-N" && ($2 ~ /^KUBE-/ || $2 == "'"$cluster_chain"'") {print $2}')
    for c in $chains; do "$cmd" -t "$t" -F "$c" 2>/dev/null; done
    for c in $chains; do "$cmd" -t "$t" -X "$c" 2>/dev/null; done
  done
done

# The pods' cgroups, deepest first (empty once their processes are gone).
for root in /sys/fs/cgroup/*/kubepods* /sys/fs/cgroup/kubepods*; do
  [[ -d "$root" ]] && find "$root" -depth -type d -exec rmdir {} \; 2>/dev/null
done

if [[ -f "$cluster_state/sysctl.saved" ]]; then
  while IFS='=' read -r key value; do
    sysctl -qw "$key=$value" 2>/dev/null
  done < "$cluster_state/sysctl.saved"
fi

rm -rf "$cluster_state" 2>/dev/null

left=$(leftovers)
if [[ -n "$left" ]]; then
  echo "cluster-down: left behind:" >&2
  echo "$left" >&2
  exit 1
fi
say "down"
