#!/usr/bin/env bash
# Runs a real single-node Kubernetes on this machine, from binaries, the way Kubernetes'
# hack/local-up-cluster.sh does: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet and kube-proxy (iptables mode) built from their Go modules
# (hack/install-control-plane.sh, hack/install-node.sh), Debian's containerd, runc and CNI
# plugins, and CoreDNS and Traefik (the ingress controller) as pods from images built here.
# No image is pulled and no Docker is needed. Needs root. See docs/KIND.md.
#
# Pods get a /24 of 10.214.0.0/16 on a bridge of their own and Services a /24 of
# 10.215.0.0/16, both blocks that no host address uses. Pods reach each other and the host,
# and nothing is forwarded or masqueraded off the machine. The ingress answers on
# http://<node ip>:30080 (INGRESS_URL in the cluster's env file).
#
# Prints the admin kubeconfig's path last. hack/cluster-down.sh, Ctrl-C or a failure here
# removes everything it made. Environment: ROOMSHARD_CLUSTER (name, default roomshard),
# ROOMSHARD_CLUSTER_STATE (state folder).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/lib/cluster.sh
source hack/lib/cluster.sh
# shellcheck source=hack/cluster/pki.sh
source hack/cluster/pki.sh

[[ $(id -u) -eq 0 ]] || die "a node needs root (namespaces, mounts, iptables)"
for tool in containerd containerd-shim-runc-v2 runc ctr ip iptables ip6tables openssl ss curl gcc; do
  command -v "$tool" >/dev/null || die "$tool is required (hack/install-deps.sh installs it)"
done
[[ -x /usr/lib/cni/bridge ]] || die "the CNI plugins are required (containernetworking-plugins)"

if [[ -f "$cluster_state/env" ]] && pid_alive "$cluster_state/pids/kubelet.pid"; then
  say "already up"
  echo "$cluster_state/kubeconfig"
  exit 0
fi
if [[ -e "$cluster_state" ]]; then
  hack/cluster-down.sh >&2
fi
if iptables -t nat -S KUBE-SERVICES >/dev/null 2>&1; then
  die "another cluster's kube-proxy chains are present; only one local cluster runs at a time"
fi

cp_bin=$(hack/install-control-plane.sh | tail -n 1)
node_bin=$(hack/install-node.sh | tail -n 1)

mkdir -p "$cluster_state"/{pids,logs,pki}
trap 'status=$?; if ((status != 0)); then say "failed; removing what was made"; hack/cluster-down.sh >&2 || true; fi' EXIT
trap 'exit 130' INT TERM

# A third octet free in both blocks.
used=$( (ip -4 -o addr show; ip -4 route show) 2>/dev/null)
block=
for ((k = 0; k < 256; k++)); do
  b=$(( ($$ + k * 37) % 256 ))
  if ! grep -q -e "10\.214\.$b\." -e "10\.215\.$b\." <<<"$used"; then block=$b; break; fi
done
[[ -n "$block" ]] || die "every 10.214.B.0/24 and 10.215.B.0/24 block is in use"
node_ip="10.214.$block.1"
pod_cidr="10.214.$block.0/24"
service_cidr="10.215.$block.0/24"
api_service_ip="10.215.$block.1"
dns_ip="10.215.$block.10"
node=$(hostname | tr '[:upper:]_' '[:lower:]-')
api_port=6443
etcd_port=$(free_port)
etcd_peer_port=$(free_port)
ingress_port=30080
cat > "$cluster_state/env" <<ENV
CLUSTER_NAME=$cluster_name
NODE_NAME=$node
NODE_IP=$node_ip
POD_CIDR=$pod_cidr
SERVICE_CIDR=$service_cidr
DNS_IP=$dns_ip
BRIDGE=$cluster_bridge
CHAIN=$cluster_chain
API_SERVER=https://$node_ip:$api_port
INGRESS_URL=http://$node_ip:$ingress_port
KUBECONFIG=$cluster_state/kubeconfig
ENV

say "network: bridge $cluster_bridge $node_ip, pods $pod_cidr, services $service_cidr"
ip link add "$cluster_bridge" type bridge
ip addr add "$node_ip/24" dev "$cluster_bridge"
ip link set "$cluster_bridge" up
ip route add "$service_cidr" dev "$cluster_bridge" src "$node_ip"
modprobe br_netfilter 2>/dev/null || true
for s in net.bridge.bridge-nf-call-iptables net.ipv4.ip_forward; do
  echo "$s=$(sysctl -n "$s")" >> "$cluster_state/sysctl.saved"
  sysctl -qw "$s=1"
done
# Forwarding serves the pods' bridge only: nothing from a pod leaves by another interface,
# and nothing from another interface reaches a pod.
iptables -N "$cluster_chain"
iptables -A "$cluster_chain" -s "$pod_cidr" ! -o "$cluster_bridge" -j DROP
iptables -A "$cluster_chain" -d "$pod_cidr" ! -i "$cluster_bridge" -j DROP
iptables -I FORWARD 1 -j "$cluster_chain"

say "certificates"
pki="$cluster_state/pki"
pki_init "$pki"
pki_cert "$pki" apiserver "/CN=kube-apiserver" \
  "IP:$node_ip,IP:$api_service_ip,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
pki_cert "$pki" kubelet-serving "/CN=$node" "IP:$node_ip,DNS:$node"
pki_cert "$pki" admin "/O=system:masters/CN=roomshard-admin"
pki_cert "$pki" apiserver-kubelet "/O=system:masters/CN=kube-apiserver-kubelet-client"
pki_cert "$pki" controller-manager "/CN=system:kube-controller-manager"
pki_cert "$pki" scheduler "/CN=system:kube-scheduler"
pki_cert "$pki" kube-proxy "/CN=system:kube-proxy"
pki_cert "$pki" kubelet "/O=system:nodes/CN=system:node:$node"
for c in admin controller-manager scheduler kube-proxy kubelet; do
  pki_kubeconfig "$pki" "$c" "https://$node_ip:$api_port"
done
cp "$pki/admin.kubeconfig" "$cluster_state/kubeconfig"
export KUBECONFIG="$cluster_state/kubeconfig"
kubectl=("$cp_bin/kubectl")

# start NAME COMMAND...: runs a component in the background, its log and pid in the state.
start() {
  local name=$1
  shift
  "$@" > "$cluster_state/logs/$name.log" 2>&1 &
  echo $! > "$cluster_state/pids/$name.pid"
}

say "etcd and kube-apiserver"
start etcd "$cp_bin/etcd" --data-dir "$cluster_state/etcd" --name local \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "local=http://127.0.0.1:$etcd_peer_port" --unsafe-no-fsync --listen-metrics-urls ""
start kube-apiserver "$cp_bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address "$node_ip" --advertise-address "$node_ip" --secure-port "$api_port" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" --service-cluster-ip-range "$service_cidr" \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --kubelet-client-certificate "$pki/apiserver-kubelet.crt" --kubelet-client-key "$pki/apiserver-kubelet.key" \
  --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
  --authorization-mode Node,RBAC --allow-privileged=true --service-node-port-range 30000-32767 \
  --profiling=false
wait_for 90 "kube-apiserver ready" "${kubectl[@]}" get --raw /readyz

say "kube-controller-manager and kube-scheduler"
start kube-controller-manager "$node_bin/kube-controller-manager" \
  --kubeconfig "$pki/controller-manager.kubeconfig" --secure-port 0 --leader-elect=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --use-service-account-credentials --service-cluster-ip-range "$service_cidr" --profiling=false
start kube-scheduler "$node_bin/kube-scheduler" --kubeconfig "$pki/scheduler.kubeconfig" \
  --secure-port 0 --leader-elect=false --profiling=false

say "containerd"
cni_conf="$cluster_state/cni/net.d"
mkdir -p "$cni_conf" "$cluster_state/containerd"
sed -e "s|@STATE@|$cluster_state|g" hack/cluster/containerd.toml > "$cluster_state/containerd/config.toml"
sed -e "s|@BRIDGE@|$cluster_bridge|g" -e "s|@POD_CIDR@|$pod_cidr|g" -e "s|@GATEWAY@|$node_ip|g" \
  -e "s|@STATE@|$cluster_state|g" hack/cluster/cni.conflist > "$cni_conf/10-roomshard.conflist"
sock="$cluster_state/containerd/containerd.sock"
start containerd containerd --config "$cluster_state/containerd/config.toml"
wait_for 30 "containerd" ctr --address "$sock" version

say "images (pause, CoreDNS, Traefik)"
hack/image.sh pause coredns traefik --import "$sock" >/dev/null

say "kubelet and kube-proxy"
sed -e "s|@STATE@|$cluster_state|g" -e "s|@NODE_IP@|$node_ip|g" -e "s|@DNS_IP@|$dns_ip|g" \
  -e "s|@KUBELET_PORT@|$(free_port)|g" -e "s|@HEALTHZ_PORT@|$(free_port)|g" \
  hack/cluster/kubelet.yaml > "$cluster_state/kubelet.yaml"
start kubelet "$node_bin/kubelet" --config "$cluster_state/kubelet.yaml" \
  --kubeconfig "$pki/kubelet.kubeconfig" --hostname-override "$node" --node-ip "$node_ip" \
  --root-dir "$cluster_state/kubelet" --cert-dir "$cluster_state/kubelet/pki"
sed -e "s|@KUBECONFIG@|$pki/kube-proxy.kubeconfig|g" -e "s|@POD_CIDR@|$pod_cidr|g" \
  -e "s|@NODE@|$node|g" -e "s|@NODE_IP@|$node_ip|g" \
  -e "s|@HEALTHZ_PORT@|$(free_port)|g" -e "s|@METRICS_PORT@|$(free_port)|g" \
  hack/cluster/kube-proxy.yaml > "$cluster_state/kube-proxy.yaml"
start kube-proxy "$node_bin/kube-proxy" --config "$cluster_state/kube-proxy.yaml"
wait_for 120 "node $node Ready" "${kubectl[@]}" wait --for=condition=Ready "node/$node" --timeout=2s

say "CoreDNS and Traefik"
sed -e "s|@DNS_IP@|$dns_ip|g" -e "s|@INGRESS_PORT@|$ingress_port|g" \
  -e "s|@COREDNS_IMAGE@|$(hack/image.sh --name coredns)|g" \
  -e "s|@TRAEFIK_IMAGE@|$(hack/image.sh --name traefik)|g" \
  hack/cluster/addons.yaml | "${kubectl[@]}" apply -f - >/dev/null
wait_for 120 "CoreDNS" "${kubectl[@]}" -n kube-system rollout status deploy/coredns --timeout=2s
wait_for 120 "Traefik" "${kubectl[@]}" -n traefik rollout status deploy/traefik --timeout=2s
wait_for 60 "the ingress at $node_ip:$ingress_port" curl -fsS -o /dev/null --max-time 2 "http://$node_ip:$ingress_port/ping"

trap - EXIT
say "up: $(tr '\n' ' ' < "$cluster_state/env")"
echo "$cluster_state/kubeconfig"
