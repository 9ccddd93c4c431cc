#!/usr/bin/env bash
# Runs Roomshard locally: a matchmaker and SHARDS worker shards (default 3), each worker
# with its own ROOM_SHARD and PORT. Redis: REDIS_URL when set, else a throwaway
# redis-server when one is installed, else a single worker on its in-process adapter
# (no matchmaker, joins without reservations). Ctrl-C, SIGTERM or closing the terminal
# (SIGHUP) stops everything.
# ROOMSHARD_BIN_DIR=DIR uses the binaries in DIR instead of building them.
# Every service listens on HOST only (default 127.0.0.1): the development stack lets anyone
# who reaches it reserve, so it is not on the network unless HOST names an address there.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARDS="${SHARDS:-3}"
WORKER_BASE_PORT="${WORKER_BASE_PORT:-3000}"
MATCHMAKER_PORT="${MATCHMAKER_PORT:-8080}"
HOST="${HOST:-127.0.0.1}"
PROFILE="${PROFILE:-release}"

[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || { echo "dev.sh: SHARDS must be a positive whole number, got '$SHARDS'" >&2; exit 2; }

if [[ -n "${ROOMSHARD_BIN_DIR:-}" ]]; then
  bin="$ROOMSHARD_BIN_DIR"
else
  profile_flag=(--release)
  [[ "$PROFILE" == "release" ]] || profile_flag=()
  echo "dev.sh: building (cargo build ${profile_flag[*]:-})" >&2
  cargo build -q "${profile_flag[@]}" -p roomshard-worker -p roomshard-matchmaker
  target_dir="${CARGO_TARGET_DIR:-target}"
  bin="$target_dir/$([[ "$PROFILE" == "release" ]] && echo release || echo debug)"
fi
for b in roomshard-worker roomshard-matchmaker; do
  [[ -x "$bin/$b" ]] || { echo "dev.sh: $bin/$b is missing" >&2; exit 1; }
done

pids=()
redis_pid=
scratch=$(mktemp -d)
# Workers and the matchmaker stop first (they drain and deregister from Redis), then Redis.
# A second signal while this runs does not cut it short.
cleanup() {
  trap - EXIT
  trap '' INT TERM HUP
  echo "dev.sh: stopping" >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n "$redis_pid" ]]; then
    kill -TERM "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
  echo "dev.sh: stopped" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# A closed terminal takes stdout and stderr with it: a write there would fail (and, under
# `set -e`, end the cleanup before Redis is stopped), so the cleanup writes nowhere.
trap 'exec >/dev/null 2>&1; exit 129' HUP

# Starts a service in the background with SIGHUP ignored: a closing terminal hangs up its
# whole process group, and the services then stop through cleanup's SIGTERM, in order and
# drained, instead of dying on the spot.
spawn() {
  (
    trap '' HUP
    exec "$@"
  ) &
  pids+=($!)
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 200); do port_open "$1" "$2" && return 0; sleep 0.05; done
  echo "dev.sh: nothing answered on $1:$2" >&2; return 1
}

if [[ -z "${REDIS_URL:-}" ]] && command -v redis-server >/dev/null; then
  redis_port="${REDIS_PORT:-6390}"
  # In its own session, so Ctrl-C reaches the workers first and Redis outlives their
  # drain; cleanup stops it last.
  setsid redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$scratch" >"$scratch/redis.log" 2>&1 &
  redis_pid=$!
  wait_port 127.0.0.1 "$redis_port"
  REDIS_URL="redis://127.0.0.1:$redis_port"
  echo "dev.sh: started redis-server on $REDIS_URL" >&2
fi

export RUST_LOG="${RUST_LOG:-info}"
if [[ -n "${REDIS_URL:-}" ]]; then
  secret="${ROOMSHARD_TOKEN_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
  for ((i = 0; i < SHARDS; i++)); do
    port=$((WORKER_BASE_PORT + i))
    spawn env ROOM_SHARD="$i/$SHARDS" PORT="$port" BIND_ADDRESS="$HOST" REDIS_URL="$REDIS_URL" \
      ROOMSHARD_TOKEN_SECRET="$secret" PUBLIC_URL="http://$HOST:$port" POD_NAME="dev-$i" \
      "$bin/roomshard-worker"
  done
  # A development stack: anyone who reaches the matchmaker may reserve (AUTH_MODE=none,
  # chosen explicitly; see docs/SECURITY.md for jwt and api-key).
  auth_mode="${AUTH_MODE:-none}"
  spawn env PORT="$MATCHMAKER_PORT" BIND="$HOST" REDIS_URL="$REDIS_URL" ROOMSHARD_TOKEN_SECRET="$secret" \
    AUTH_MODE="$auth_mode" "$bin/roomshard-matchmaker"
  for ((i = 0; i < SHARDS; i++)); do wait_port "$HOST" $((WORKER_BASE_PORT + i)); done
  wait_port "$HOST" "$MATCHMAKER_PORT"
  cat <<MSG

Roomshard is running ($SHARDS shards on $REDIS_URL):
  status page  http://$HOST:$MATCHMAKER_PORT/      (shards, rooms, players; live)
  demo         http://$HOST:$MATCHMAKER_PORT/demo  (open it in two tabs)
  matchmaker   http://$HOST:$MATCHMAKER_PORT       (POST /reserve, GET /rooms)
  auth         AUTH_MODE=$auth_mode (development only: with none anyone may reserve)
MSG
  for ((i = 0; i < SHARDS; i++)); do
    echo "  shard $i/$SHARDS  http://$HOST:$((WORKER_BASE_PORT + i))/   (Socket.IO, /metrics)"
  done
  echo "  reserve a seat: curl -s -XPOST -H 'content-type: application/json' -d '{}' http://$HOST:$MATCHMAKER_PORT/reserve"
else
  spawn env PORT="$WORKER_BASE_PORT" BIND_ADDRESS="$HOST" "$bin/roomshard-worker"
  wait_port "$HOST" "$WORKER_BASE_PORT"
  cat <<MSG

Roomshard is running alone, without Redis (install redis-server or set REDIS_URL for shards
and a matchmaker):
  demo         http://$HOST:$WORKER_BASE_PORT/demo  (open it in two tabs)
  worker 0/1   http://$HOST:$WORKER_BASE_PORT/      (Socket.IO; joins need no reservation)
MSG
fi
echo "Ctrl-C stops everything."
wait -n "${pids[@]}"
