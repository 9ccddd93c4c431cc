#!/usr/bin/env bash
# Roomshard against its peers, side by side in one run on this machine, printing ratios.
#
#   bench/run.sh [fanout|interest|memory|matchmaker|crossworker|nearby|resume|sim|operator ...]
#
# With no suite named, all but `resume`, `sim` and `operator` run (those take minutes:
# 100,000 simulated players twice, and a control plane with 100 sets). `nearby` (bench/nearby.mjs): NEARBY_PLAYERS
# players (default 200) in rooms of NEARBY_ROOM_SIZE (default 50) on two processes each
# send the custom event `shoot` NEARBY_RATE times a second (default 5): Roomshard relays it
# to the players whose area holds the sender (scope `nearby`), and room-wide with a radius
# covering the world; the Node peer relays it room-wide. `resume` (bench/resume.mjs) runs when named:
# RESUME_PLAYERS players (default 1000) in RESUME_ROOMS rooms (default 50) lose every
# connection at once and resume, against their fresh reserve-and-join in the same run.
#
# Everything runs on loopback, bounded in players and seconds. Knobs: DURATION (seconds per
# load phase, default 15), FANOUT_PLAYERS (default 200), FANOUT_THREADS (WORKER_THREADS of
# the fan-out workers, default 1), INTEREST_PLAYERS (default 1000), IDLE_CONNECTIONS
# (default 10000), CROSS_PAIRS (rooms of 2 in the cross-worker run, default 25). Figures go
# to stdout and to bench/results/latest.txt.
#
# BASELINE_BIN names a folder holding another build's roomshard-worker (for example the
# release binary of the commit before a change): the fan-out and memory suites then run it
# too, in the same rounds, and print this build's figures over the baseline's.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-15}"
FANOUT_PLAYERS="${FANOUT_PLAYERS:-200}"
INTEREST_PLAYERS="${INTEREST_PLAYERS:-1000}"
IDLE_CONNECTIONS="${IDLE_CONNECTIONS:-10000}"
CROSS_PAIRS="${CROSS_PAIRS:-25}"
RESUME_PLAYERS="${RESUME_PLAYERS:-1000}"
RESUME_ROOMS="${RESUME_ROOMS:-50}"
NEARBY_PLAYERS="${NEARBY_PLAYERS:-200}"
NEARBY_ROOM_SIZE="${NEARBY_ROOM_SIZE:-50}"
NEARBY_RATE="${NEARBY_RATE:-5}"
FANOUT_THREADS="${FANOUT_THREADS:-1}"
BASELINE_BIN="${BASELINE_BIN:-}"
if [[ -n "$BASELINE_BIN" && ! -x "$BASELINE_BIN/roomshard-worker" ]]; then
  echo "bench: BASELINE_BIN=$BASELINE_BIN holds no roomshard-worker" >&2
  exit 2
fi
suites=("$@")
((${#suites[@]})) || suites=(fanout interest memory matchmaker crossworker nearby)

hack/install-deps.sh --no-control-plane
echo "bench: building release binaries" >&2
cargo build -q --release -p roomshard-worker -p roomshard-loadtest
[[ " ${suites[*]} " != *" resume "* ]] || cargo build -q --release -p roomshard-matchmaker
bin="${CARGO_TARGET_DIR:-target}/release"
node_dir=tests/node
mkdir -p bench/results
results=bench/results/latest.txt
: >"$results"

scratch=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

say() { echo "$*" | tee -a "$results"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 1 400); do curl -fs "http://127.0.0.1:$1$2" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "bench: nothing answered on port $1$2" >&2; return 1
}
# CPU seconds (user + system) a process has used.
cpu_of() { awk -v tck="$(getconf CLK_TCK)" '{print ($14 + $15) / tck}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

start_redis() {
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$scratch" \
    >"$scratch/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 200); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "bench: redis-server did not start" >&2; return 1
}

# start_roomshard N [ENV=VALUE ...]: N workers on one Redis; sets worker_urls and server_pids.
start_roomshard() {
  local n=$1; shift
  worker_urls=(); server_pids=()
  for ((i = 0; i < n; i++)); do
    local port; port=$(free_port)
    env "$@" ROOM_SHARD="$i/$n" PORT="$port" BIND_ADDRESS=127.0.0.1 REDIS_URL="redis://127.0.0.1:$redis_port" \
      ROOMSHARD_REQUIRE_TOKEN=false ROOM_CAPACITY=2000 RATE_LIMIT_PER_SEC=200 RUST_LOG=warn \
      MAX_CONNECTIONS_PER_IP=0 \
      "${worker_bin:-$bin/roomshard-worker}" >"$scratch/worker-$i.log" 2>&1 &
    pids+=($!); server_pids+=($!)
    wait_http "$port" /readyz
    worker_urls+=("http://127.0.0.1:$port")
  done
}

# start_node N [ENV=VALUE ...]: N Node socket.io processes with the Redis adapter.
start_node() {
  local n=$1; shift
  worker_urls=(); server_pids=()
  for ((i = 0; i < n; i++)); do
    local port; port=$(free_port)
    env "$@" PORT="$port" REDIS_URL="redis://127.0.0.1:$redis_port" node "$node_dir/peer-server.mjs" \
      >"$scratch/node-$i.log" 2>&1 &
    pids+=($!); server_pids+=($!)
    wait_http "$port" /healthz
    worker_urls+=("http://127.0.0.1:$port")
  done
}

servers_cpu() { local t=0; for p in "${server_pids[@]}"; do t=$(awk -v a="$t" -v b="$(cpu_of "$p")" 'BEGIN {print a + b}'); done; echo "$t"; }

# load NAME PLAYERS ROOMS RATE [LOADTEST ARGS...]: runs the load test against worker_urls,
# writes $scratch/NAME.json
load() {
  local name=$1 players=$2 rooms=$3 rate=$4; shift 4
  local urls; urls=$(IFS=,; echo "${worker_urls[*]}")
  local cpu0; cpu0=$(servers_cpu)
  "$bin/roomshard-loadtest" --worker "$urls" --players "$players" --rooms "$rooms" --rate "$rate" \
    --duration "$DURATION" --connect-concurrency 100 --json --quiet "$@" >"$scratch/$name.json"
  local cpu1; cpu1=$(servers_cpu)
  python3 - "$scratch/$name.json" "$(awk -v a="$cpu1" -v b="$cpu0" 'BEGIN {print a - b}')" <<'PY'
import json, sys
path, cpu = sys.argv[1], float(sys.argv[2])
s = json.load(open(path))
s["server_cpu_seconds"] = cpu
s["messages_per_cpu_second"] = s["messages_in"] / cpu if cpu > 0 else 0
s["updates_per_cpu_second"] = s["move_to_view"]["count"] / cpu if cpu > 0 else 0
json.dump(s, open(path, "w"))
PY
}

field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=d
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$scratch/$1.json" "$2"; }
ratio() { python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f"{a/b:.2f}" if b else "n/a")' "$1" "$2"; }

fanout() {
  say "== 1. fan-out: 2 processes on one Redis, $FANOUT_PLAYERS players at 10 Hz, ${DURATION}s"
  say "   (Roomshard workers run WORKER_THREADS=$FANOUT_THREADS, as two shards sharing two cores would; '-auto' runs one thread per core)"
  say "$(printf '%-10s %-20s %14s %14s %12s %10s %8s' room impl 'msgs/CPU-s' 'updates/CPU-s' 'server CPU-s' 'p99 ms' errors)"
  for size in 8 100; do
    local rooms=$(( (FANOUT_PLAYERS + size - 1) / size ))
    # roomshard-wide: interest management off (a radius covering the world), so every
    # player receives the whole room, as from the peer: the like-for-like fan-out cost.
    local impls=(roomshard roomshard-wide roomshard-wide-auto node)
    [[ -z "$BASELINE_BIN" ]] || impls=(roomshard baseline roomshard-wide baseline-wide roomshard-wide-auto node)
    for impl in "${impls[@]}"; do
      start_redis
      case $impl in
        roomshard) start_roomshard 2 WORKER_THREADS="$FANOUT_THREADS" ;;
        roomshard-wide) start_roomshard 2 AOI_RADIUS=1500 WORKER_THREADS="$FANOUT_THREADS" ;;
        roomshard-wide-auto) start_roomshard 2 AOI_RADIUS=1500 WORKER_THREADS=0 ;;
        baseline) worker_bin="$BASELINE_BIN/roomshard-worker" start_roomshard 2 WORKER_THREADS="$FANOUT_THREADS" ;;
        baseline-wide) worker_bin="$BASELINE_BIN/roomshard-worker" start_roomshard 2 AOI_RADIUS=1500 WORKER_THREADS="$FANOUT_THREADS" ;;
        node) start_node 2 ;;
      esac
      load "fanout-$impl-$size" "$FANOUT_PLAYERS" "$rooms" 10
      stop_all
      say "$(printf '%-10s %-20s %14.0f %14.0f %12.2f %10.2f %8s' "of $size" "$impl" \
        "$(field "fanout-$impl-$size" messages_per_cpu_second)" "$(field "fanout-$impl-$size" updates_per_cpu_second)" \
        "$(field "fanout-$impl-$size" server_cpu_seconds)" "$(field "fanout-$impl-$size" move_to_view.p99_ms)" \
        "$(field "fanout-$impl-$size" errors)")"
    done
    if [[ -n "$BASELINE_BIN" ]]; then
      for pair in roomshard:baseline roomshard-wide:baseline-wide; do
        local now=${pair%%:*} base=${pair##*:}
        say "rooms of $size: $now over $base, messages per CPU-second = $(ratio "$(field "fanout-$now-$size" messages_per_cpu_second)" "$(field "fanout-$base-$size" messages_per_cpu_second)")x, updates per CPU-second = $(ratio "$(field "fanout-$now-$size" updates_per_cpu_second)" "$(field "fanout-$base-$size" updates_per_cpu_second)")x, p99 = $(ratio "$(field "fanout-$now-$size" move_to_view.p99_ms)" "$(field "fanout-$base-$size" move_to_view.p99_ms)")x"
      done
    fi
    for impl in roomshard roomshard-wide roomshard-wide-auto; do
      say "rooms of $size: $impl/Node updates per CPU-second = $(ratio "$(field "fanout-$impl-$size" updates_per_cpu_second)" "$(field "fanout-node-$size" updates_per_cpu_second)")x, messages per CPU-second = $(ratio "$(field "fanout-$impl-$size" messages_per_cpu_second)" "$(field "fanout-node-$size" messages_per_cpu_second)")x, server CPU = $(ratio "$(field "fanout-$impl-$size" server_cpu_seconds)" "$(field "fanout-node-$size" server_cpu_seconds)")x"
    done
  done
}

interest() {
  say "== 2. interest management: $INTEREST_PLAYERS players in one room at 2 Hz, ${DURATION}s"
  start_redis
  start_roomshard 1
  # Only 50 players decode their views: the bytes are counted on every connection, and the
  # room-wide run is then limited by the server rather than by the load generator's parsing.
  load interest-aoi "$INTEREST_PLAYERS" 1 2 --timed-players 50
  stop_all
  start_redis
  # A radius covering the whole world turns interest management into a room-wide broadcast.
  start_roomshard 1 AOI_RADIUS=1500
  load interest-naive "$INTEREST_PLAYERS" 1 2 --timed-players 50
  stop_all
  local aoi naive aoi_moves naive_moves
  aoi=$(field interest-aoi bytes_per_client_per_s); naive=$(field interest-naive bytes_per_client_per_s)
  aoi_moves=$(field interest-aoi moves_sent); naive_moves=$(field interest-naive moves_sent)
  say "bytes per client per second: interest-managed $(printf %.0f "$aoi") ($aoi_moves moves sent), room-wide $(printf %.0f "$naive") ($naive_moves moves sent, move-to-view p50 $(field interest-naive move_to_view.p50_ms) ms)"
  # The load generator shares the cores and cannot always send every move of the plan, and
  # the two runs send different totals; the ratio is therefore taken per move sent.
  say "bytes per client per move sent: interest/naive = $(python3 -c 'import sys; a,am,n,nm=map(float,sys.argv[1:]); print(f"{(a/am)/(n/nm):.3f}" if am and nm and n else "n/a")' "$aoi" "$aoi_moves" "$naive" "$naive_moves")"
}

memory() {
  local -A mem
  say "== 3. memory per idle connection at $IDLE_CONNECTIONS connections"
  local impls=(roomshard node)
  [[ -z "$BASELINE_BIN" ]] || impls=(roomshard baseline node)
  for impl in "${impls[@]}"; do
    start_redis
    case $impl in
      roomshard) start_roomshard 1 ;;
      baseline) worker_bin="$BASELINE_BIN/roomshard-worker" start_roomshard 1 ;;
      node) start_node 1 ;;
    esac
    local pid=${server_pids[0]} before after
    before=$(rss_kib "$pid")
    mkfifo "$scratch/hold-$impl"
    node "$node_dir/worker/idle.mjs" "${worker_urls[0]}" "$IDLE_CONNECTIONS" <"$scratch/hold-$impl" >"$scratch/idle-$impl.out" &
    local idle=$!
    exec 7>"$scratch/hold-$impl"
    for _ in $(seq 1 1200); do grep -q connected "$scratch/idle-$impl.out" 2>/dev/null && break; sleep 0.1; done
    sleep 1
    after=$(rss_kib "$pid")
    exec 7>&-
    wait "$idle" 2>/dev/null || true
    stop_all
    mem[$impl]=$(( (after - before) * 1024 / IDLE_CONNECTIONS ))
    say "$impl: RSS $before KiB -> $after KiB, $(( (after - before) * 1024 / IDLE_CONNECTIONS )) bytes per connection ($(cat "$scratch/idle-$impl.out"))"
  done
  say "Roomshard/Node bytes per idle connection = $(ratio "${mem[roomshard]}" "${mem[node]}")"
  [[ -z "$BASELINE_BIN" ]] ||
    say "Roomshard over baseline bytes per idle connection = $(ratio "${mem[roomshard]}" "${mem[baseline]}")"
}

matchmaker() {
  say "== 4. matchmaker: reserves by rooms per track, through the matchmaker and as the raw placement script"
  cargo build -q --release -p roomshard-matchmaker
  cargo bench -q -p roomshard-matchmaker --bench throughput 2>&1 | tee -a "$results"
}

sim() {
  say "== 7. roomshard-sim: 1,024 simulated shards against a single Redis and a 3-primary cluster"
  cargo bench -q -p roomshard-loadtest --bench sim 2>&1 | tee -a "$results"
}

operator() {
  say "== 8. operator: 100 RoomShardSets of 10 shards on a real control plane"
  cargo build -q --release -p roomshard-operator --bins
  cargo bench -q -p roomshard-operator --bench hundred_sets 2>&1 | tee -a "$results"
}

crossworker() {
  # An odd number of rooms: the load tool deals player i to worker i % 2 and room
  # i % rooms, so the two players of every room land on different workers in the split run.
  local pairs=$CROSS_PAIRS
  ((pairs % 2)) || pairs=$((pairs + 1))
  say "== 5. cross-worker overhead: move-to-view in $pairs rooms of 2 players, 10 Hz, ${DURATION}s"
  start_redis
  # A radius covering the world, so the two players of a room always see each other.
  start_roomshard 2 AOI_RADIUS=1500
  local both=("${worker_urls[@]}")
  worker_urls=("${both[0]}")
  load cross-same $((2 * pairs)) "$pairs" 10
  worker_urls=("${both[@]}")
  load cross-split $((2 * pairs)) "$pairs" 10
  stop_all
  say "same worker: $(field cross-same move_to_view.count) samples, p50 $(field cross-same move_to_view.p50_ms) ms p99 $(field cross-same move_to_view.p99_ms) ms; different workers: $(field cross-split move_to_view.count) samples, p50 $(field cross-split move_to_view.p50_ms) ms p99 $(field cross-split move_to_view.p99_ms) ms"
  say "cross-worker overhead at p50 = $(python3 -c 'import sys; print(f"{float(sys.argv[2])-float(sys.argv[1]):.2f} ms")' "$(field cross-same move_to_view.p50_ms)" "$(field cross-split move_to_view.p50_ms)")"
}

nearby() {
  say "== 6. nearby custom events: $NEARBY_PLAYERS players in rooms of $NEARBY_ROOM_SIZE on 2 processes, shoot at $NEARBY_RATE Hz each, ${DURATION}s"
  say "$(printf '%-22s %12s %12s %14s %12s %14s %12s' impl sent delivered 'msgs/CPU-s' 'server CPU-s' 'bytes/client' 'bytes/msg')"
  local events='[{"name":"shoot","scope":"nearby","maxBytes":64,"perSecond":50}]'
  for impl in roomshard-nearby roomshard-wide node; do
    start_redis
    case $impl in
      roomshard-nearby) start_roomshard 2 EVENTS="$events" WORKER_THREADS="$FANOUT_THREADS" ;;
      # A radius covering the world: `nearby` reaches the whole room, as the peer's relay.
      roomshard-wide) start_roomshard 2 EVENTS="$events" AOI_RADIUS=1500 WORKER_THREADS="$FANOUT_THREADS" ;;
      node) start_node 2 RELAY_EVENTS=shoot ;;
    esac
    local urls; urls=$(IFS=,; echo "${worker_urls[*]}")
    local cpu0 cpu1; cpu0=$(servers_cpu)
    node bench/nearby.mjs "$urls" "$NEARBY_PLAYERS" "$NEARBY_ROOM_SIZE" "$NEARBY_RATE" "$DURATION" \
      >"$scratch/nearby-$impl.json"
    cpu1=$(servers_cpu)
    stop_all
    python3 - "$scratch/nearby-$impl.json" "$(awk -v a="$cpu1" -v b="$cpu0" 'BEGIN {print a - b}')" <<'PY'
import json, sys
path, cpu = sys.argv[1], float(sys.argv[2])
s = json.load(open(path))
s["server_cpu_seconds"] = cpu
s["messages_per_cpu_second"] = s["delivered"] / cpu if cpu > 0 else 0
json.dump(s, open(path, "w"))
PY
    say "$(printf '%-22s %12s %12s %14.0f %12.2f %14.0f %12.1f' "$impl" \
      "$(field "nearby-$impl" sent)" "$(field "nearby-$impl" delivered)" \
      "$(field "nearby-$impl" messages_per_cpu_second)" "$(field "nearby-$impl" server_cpu_seconds)" \
      "$(field "nearby-$impl" bytes_per_client)" "$(field "nearby-$impl" bytes_per_delivered)")"
  done
  for impl in roomshard-nearby roomshard-wide; do
    say "$impl/Node: messages delivered per CPU-second = $(ratio "$(field "nearby-$impl" messages_per_cpu_second)" "$(field nearby-node messages_per_cpu_second)")x, bytes per client = $(ratio "$(field "nearby-$impl" bytes_per_client)" "$(field nearby-node bytes_per_client)")x, server CPU = $(ratio "$(field "nearby-$impl" server_cpu_seconds)" "$(field nearby-node server_cpu_seconds)")x"
  done
}

resume() {
  # One worker shard behind a matchmaker, with reservations and their tokens, rooms of
  # RESUME_PLAYERS / RESUME_ROOMS seats (the matchmaker fills rooms in order).
  local capacity=$(( (RESUME_PLAYERS + RESUME_ROOMS - 1) / RESUME_ROOMS ))
  local secret=bench-resume-secret-0123456789abcdef
  start_redis
  local wport mport
  wport=$(free_port); mport=$(free_port)
  ROOM_SHARD=0/1 PORT="$wport" BIND_ADDRESS=127.0.0.1 REDIS_URL="redis://127.0.0.1:$redis_port" \
    ROOMSHARD_TOKEN_SECRET="$secret" PUBLIC_URL="http://127.0.0.1:$wport" ROOM_CAPACITY="$capacity" \
    ROOMS_PER_SHARD=$((RESUME_ROOMS * 2)) RUST_LOG=warn "$bin/roomshard-worker" >"$scratch/resume-worker.log" 2>&1 &
  pids+=($!)
  wait_http "$wport" /readyz
  PORT="$mport" BIND=127.0.0.1 REDIS_URL="redis://127.0.0.1:$redis_port" ROOMSHARD_TOKEN_SECRET="$secret" \
    RUST_LOG=warn "$bin/roomshard-matchmaker" >"$scratch/resume-matchmaker.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 400); do
    curl -fs "http://127.0.0.1:$mport/rooms" 2>/dev/null | grep -q '"healthy":true' && break
    sleep 0.05
  done
  node bench/resume.mjs "http://127.0.0.1:$mport" "$RESUME_PLAYERS" "$RESUME_ROOMS" | tee -a "$results"
  stop_all
}

say "Roomshard benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
for s in "${suites[@]}"; do
  case "$s" in
    fanout|interest|memory|matchmaker|crossworker|nearby|resume|sim|operator) "$s" ;;
    *) echo "bench: unknown suite '$s'" >&2; exit 2 ;;
  esac
done
