# shellcheck shell=bash
# Shared by hack/cluster-up.sh and hack/cluster-down.sh: where a local cluster keeps its
# state and how its parts are named. One local cluster runs on a machine at a time (the
# kubelet's and kube-proxy's iptables chains are machine-wide).

cluster_name="${ROOMSHARD_CLUSTER:-roomshard}"
cluster_state="${ROOMSHARD_CLUSTER_STATE:-${TMPDIR:-/tmp}/roomshard-cluster-$cluster_name}"
# Interface names are at most 15 bytes.
export cluster_bridge="rsk-${cluster_name:0:11}"
export cluster_chain="ROOMSHARD-${cluster_name:0:18}"

say() { printf 'cluster: %s\n' "$*" >&2; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

# pid_alive FILE: the process named in a pid file still runs.
pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pids SECONDS FILE...: SIGTERM to the processes of the pid files, then SIGKILL to
# those still there after the deadline; the files are removed.
stop_pids() {
  local limit=$1 file pids=() pid i alive
  shift
  for file in "$@"; do
    [[ -s "$file" ]] && pids+=("$(cat "$file")")
  done
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for ((i = 0; i < limit * 10; i++)); do
    alive=0
    for pid in "${pids[@]}"; do
      # A zombie (exited, not yet reaped) counts as gone.
      if kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
        alive=1
      fi
    done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  rm -f "$@"
  return 0
}

# free_port: a TCP port nothing on this machine listens on.
free_port() {
  local used p
  used=$(ss -Htan | awk '{n=split($4,a,":"); print a[n]}' | sort -u)
  for ((;;)); do
    p=$((20000 + RANDOM % 20000))
    grep -qx "$p" <<<"$used" || { echo "$p"; return 0; }
  done
}

# wait_for SECONDS WHAT COMMAND...: runs COMMAND until it succeeds or the deadline passes.
wait_for() {
  local limit=$1 what=$2 end
  shift 2
  end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || die "$what: not within ${limit}s (logs in $cluster_state/logs)"
    sleep 0.5
  done
}
