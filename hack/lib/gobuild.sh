# shellcheck shell=bash
# Building Go commands from their modules into a cache folder, with a throwaway wrapper
# module per build. Sourced by hack/install-control-plane.sh and hack/install-node.sh.
# Callers export CGO_ENABLED=0 and set `work` (the build folder) and `OUT` (where the
# binaries go, as $OUT.tmp until the whole set is built).

# wrapper_module NAME PACKAGE...: a fresh module $work/NAME whose tools.go imports each
# PACKAGE, so `go mod tidy` pins them; leaves the shell in it.
wrapper_module() {
  local name=$1 p
  shift
  cd "${work:?}" || return 1
  rm -rf "$name" && mkdir "$name" && cd "$name" || return 1
  go mod init "roomshard.dev/${name}build" >/dev/null 2>&1
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for p in "$@"; do printf '\t_ "%s"\n' "$p"; done
    printf ')\n'
  } > tools.go
}

# build_into NAME PACKAGE: `go build` of PACKAGE (from the current module) to $OUT.tmp/NAME.
build_into() {
  go build -trimpath -ldflags="-s -w" -o "$OUT.tmp/$1" "$2"
}

# build_tool NAME MODULE@VERSION PACKAGE: builds one main package, pinned through a wrapper
# module of its own, into $OUT.tmp/NAME.
build_tool() {
  local name=$1 module=$2 package=$3
  (
    wrapper_module "$name" "$package"
    go get "$module" >/dev/null 2>&1
    go mod tidy >/dev/null
    build_into "$name" "$package"
  )
}

# build_kubernetes VERSION COMMAND...: builds k8s.io/kubernetes/cmd/COMMAND for each
# COMMAND. k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
# local paths, which do not apply to a dependent module: each is mapped to the published
# release that matches the Kubernetes minor and patch.
build_kubernetes() {
  local version=$1 c modfile
  shift
  (
    local packages=()
    for c in "$@"; do packages+=("k8s.io/kubernetes/cmd/$c"); done
    wrapper_module k8s "${packages[@]}"
    modfile=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    sed -i "s/^go .*/$(grep -m1 '^go ' "$modfile")/" go.mod
    echo "require k8s.io/kubernetes $version" >> go.mod
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$modfile" | awk '{print $1}' | sort -u |
      while read -r m; do echo "replace $m => $m v0.${version#v1.}" >> go.mod; done
    go mod tidy >/dev/null
    for c in "$@"; do build_into "$c" "k8s.io/kubernetes/cmd/$c"; done
  )
}
