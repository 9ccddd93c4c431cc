#!/usr/bin/env bash
# The whole test suite: installs what is missing, checks formatting and lints, then runs
# every test against real Redis, a real kube-apiserver, a real single-node cluster
# (hack/cluster-up.sh) and the real Socket.IO client, and the fuzz targets for a bounded
# time (hack/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

hack/install-deps.sh --no-control-plane
# The Kubernetes binaries build (once, cached) while Rust compiles: each leaves idle time
# on the other's cores.
cp_log=$(mktemp)
log=$(mktemp)
cp_pid=
trap '[[ -n "$cp_pid" ]] && kill "$cp_pid" 2>/dev/null; rm -f "$log" "$cp_log"' EXIT
# The node's binaries (the local cluster's tests) build after the control plane's.
(hack/install-node.sh >/dev/null && hack/install-control-plane.sh) >"$cp_log" 2>&1 &
cp_pid=$!
# Heavy build products live outside the clone so a second run is warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/roomshard/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test --no-run"
cargo test --workspace --locked --no-run
# The local cluster's tests run the image hack/image.sh builds from the release binaries.
echo "== cargo build --release (the image's binaries)"
cargo build --release --locked \
  -p roomshard-operator --bin roomshard-operator -p roomshard-worker --bin roomshard-worker \
  -p roomshard-matchmaker --bin roomshard-matchmaker -p roomshard-loadtest --bin roomshard-loadtest
if ! wait "$cp_pid"; then
  cp_pid=
  cat "$cp_log" >&2
  echo "hack/install-control-plane.sh failed" >&2
  exit 1
fi
export KUBEBUILDER_ASSETS
KUBEBUILDER_ASSETS=$(tail -n 1 "$cp_log")
echo "== cargo test (control plane: $KUBEBUILDER_ASSETS)"
cp_pid=
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The fuzz targets, FUZZ_SECONDS (default 60) each, after the tests so that a test failure
# is reported first; either failing fails the run.
hack/fuzz.sh
fuzz_status=$?
set -e
read -r passed failed < <(awk '/^test result:/ {
    for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
  } END { print p + 0, f + 0 }' "$log")
echo "== finished in $(( $(date +%s) - start ))s"
if ((fuzz_status != 0)); then
  echo "hack/fuzz.sh failed (exit $fuzz_status)"
  ((status != 0)) || status=$fuzz_status
fi
echo "cargo test: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
