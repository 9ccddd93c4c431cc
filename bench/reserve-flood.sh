#!/usr/bin/env bash
# The matchmaker's /reserve latency for well-behaved clients with and without one abusive
# client flooding it from one address (docs/LOADTEST.md, "Reservations under a flood").
# Settings: FLOOD_BENCH_SECS, FLOOD_BENCH_CLIENTS, FLOOD_BENCH_RATE, FLOOD_BENCH_FLOODERS
# (see matchmaker/benches/flood.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p roomshard-matchmaker
exec cargo bench -q -p roomshard-matchmaker --bench flood
