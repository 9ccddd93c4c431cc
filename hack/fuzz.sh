#!/usr/bin/env bash
# Builds the cargo-fuzz targets under fuzz/ and runs each for a bounded time from the
# committed seed corpus, failing on any crash, timeout or broken property.
#
#   hack/fuzz.sh [TARGET...]     lint, build, then run the targets (default: all)
#   hack/fuzz.sh --update-lock   refresh fuzz/Cargo.lock after the workspace's dependencies
#                                changed (it starts from the workspace's Cargo.lock)
#
# FUZZ_SECONDS (default 60) bounds each run. New inputs go to a temporary directory, so a
# run leaves the tree as it was; a crashing input is kept under fuzz/artifacts/ (ignored by
# git) and replays with `cargo fuzz run TARGET fuzz/artifacts/TARGET-crash-...`.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${XDG_CACHE_HOME:-$HOME/.cache}/roomshard"
export PATH="$cache/cargo-fuzz/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
manifest=fuzz/Cargo.toml

if [[ "${1:-}" == "--update-lock" ]]; then
  cp Cargo.lock fuzz/Cargo.lock
  cargo metadata --manifest-path "$manifest" --format-version 1 >/dev/null
  echo "fuzz/Cargo.lock updated"
  exit 0
fi

seconds="${FUZZ_SECONDS:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "FUZZ_SECONDS must be a whole number of seconds above 0, got '$seconds'" >&2
  exit 2
fi
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(room_shard token_verify records_decode worker_payloads)
fi
if ! command -v cargo-fuzz >/dev/null; then
  echo "cargo-fuzz is missing: run hack/install-deps.sh" >&2
  exit 2
fi

if ! cargo metadata --manifest-path "$manifest" --locked --format-version 1 >/dev/null 2>&1; then
  echo "fuzz/Cargo.lock is out of date with the workspace: run hack/fuzz.sh --update-lock" >&2
  exit 2
fi
echo "== fuzz: fmt and clippy"
cargo fmt --manifest-path "$manifest" -- --check
cargo clippy --manifest-path "$manifest" --locked -- -D warnings

echo "== fuzz: build (release, debug assertions, address sanitizer)"
# cargo-fuzz passes nightly-only flags (sanitizer, coverage instrumentation); the pinned
# stable compiler accepts them when told to.
export RUSTC_BOOTSTRAP=1
cargo fuzz build --fuzz-dir fuzz --target-dir "$CARGO_TARGET_DIR"
triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir="$CARGO_TARGET_DIR/$triple/release"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p fuzz/artifacts
failed=()
for target in "${targets[@]}"; do
  seeds="fuzz/corpus/$target"
  if [[ ! -x "$bin_dir/$target" || ! -d "$seeds" ]]; then
    echo "fuzz: no target or seed corpus named '$target'" >&2
    failed+=("$target")
    continue
  fi
  dict=()
  case "$target" in
    room_shard) dict=(-dict=fuzz/dict/room_shard.dict) ;;
    records_decode | worker_payloads) dict=(-dict=fuzz/dict/json.dict) ;;
  esac
  # The first directory receives new inputs; the committed seeds are only read.
  mkdir "$work/$target"
  log="$work/$target.log"
  echo "== fuzz: $target for ${seconds}s"
  status=0
  "$bin_dir/$target" "$work/$target" "$seeds" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$target-" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -n 1)
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+) .*/\1/p' <<<"$done_line")
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$done_line")
  if ((status != 0)); then
    echo "fuzz: $target FAILED (exit $status); the end of its log:" >&2
    tail -n 60 "$log" >&2
    failed+=("$target")
  else
    echo "fuzz: $target ok: ${runs:-?} execs (${rate:-?}/s), corpus ${corp:-?} inputs (${added:-?} new), coverage ${cov:-?}"
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s each without a failure"
