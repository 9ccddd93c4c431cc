#!/usr/bin/env bash
# The whole test suite: installs what is missing, checks formatting and lints, then runs
# every test against real Redis, a real kube-apiserver and the real Socket.IO client.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

hack/install-deps.sh
export KUBEBUILDER_ASSETS
KUBEBUILDER_ASSETS=$(hack/install-control-plane.sh)
# Heavy build products live outside the clone so a second run is warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/roomshard/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
read -r passed failed < <(awk '/^test result:/ {
    for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
  } END { print p + 0, f + 0 }' "$log")
echo "== finished in $(( $(date +%s) - start ))s"
echo "cargo test: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
