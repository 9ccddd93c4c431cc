#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine and is quick when all of it
# is already there: Debian packages, the Go-built Kubernetes binaries and cargo-fuzz (cached
# outside the repository) and the Node packages under tests/node and clients/js.
set -euo pipefail
cd "$(dirname "$0")/.."

# g++ builds libFuzzer for the fuzz targets (and gcc the pause image); containerd, runc,
# the CNI plugins, iptables and conntrack run the local cluster's node.
packages=(redis-server redis-tools nginx-light prometheus openssl iproute2 procps curl shellcheck chromium g++
  containerd runc containernetworking-plugins iptables conntrack)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian packages start system services; the tests start their own on free ports.
for svc in redis-server nginx prometheus prometheus-node-exporter containerd; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" >/dev/null 2>&1 || true
  fi
done

if [[ "${1:-}" != "--no-control-plane" ]]; then
  echo "install-deps: Kubernetes control plane and node" >&2
  hack/install-control-plane.sh >/dev/null
  hack/install-node.sh >/dev/null
fi

if [[ ! -d tests/node/node_modules/socket.io-client ]] ||
   [[ ! -d tests/node/node_modules/playwright-core ]] ||
   [[ tests/node/package-lock.json -nt tests/node/node_modules/.package-lock.json ]]; then
  echo "install-deps: npm ci (tests/node)" >&2
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi
if [[ ! -d clients/js/node_modules/socket.io-client ]] ||
   [[ clients/js/package-lock.json -nt clients/js/node_modules/.package-lock.json ]]; then
  echo "install-deps: npm ci (clients/js)" >&2
  (cd clients/js && npm ci --no-audit --no-fund --loglevel=error)
fi

# schemathesis (the matchmaker's OpenAPI fuzzing in tests/faults/), pinned, in a virtual
# environment under the cache folder so it is installed once and reused.
schemathesis_version=4.32.5
venv="${XDG_CACHE_HOME:-$HOME/.cache}/roomshard/venv"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$schemathesis_version"; then
  echo "install-deps: schemathesis $schemathesis_version" >&2
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

# cargo-fuzz (hack/fuzz.sh), pinned, built once into the cache folder.
cargo_fuzz_version=0.13.2
cargo_fuzz_root="${XDG_CACHE_HOME:-$HOME/.cache}/roomshard/cargo-fuzz"
if [[ "$("$cargo_fuzz_root/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]]; then
  echo "install-deps: cargo-fuzz $cargo_fuzz_version" >&2
  cargo install --quiet --locked cargo-fuzz --version "$cargo_fuzz_version" --root "$cargo_fuzz_root"
fi
