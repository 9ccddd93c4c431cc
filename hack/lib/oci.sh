# shellcheck shell=bash
# OCI image archives without a registry or an image builder: a root filesystem folder
# becomes one uncompressed layer, a config and a manifest in an OCI image layout, packed as
# a tar that `ctr images import` (and `docker load`, `podman load`) reads. Sourced by
# hack/image.sh and hack/cluster-up.sh.

# oci_sha FILE: the file's sha256 digest, hex.
oci_sha() { sha256sum "$1" | cut -d' ' -f1; }

# oci_blob LAYOUT FILE: moves FILE into LAYOUT's blobs, prints its digest (hex).
oci_blob() {
  local layout=$1 file=$2 sha
  sha=$(oci_sha "$file")
  mkdir -p "$layout/blobs/sha256"
  mv "$file" "$layout/blobs/sha256/$sha"
  echo "$sha"
}

# oci_image NAME ROOTFS CONFIG_JSON OUT: packs the folder ROOTFS as the image NAME
# (repository:tag) with the image config CONFIG_JSON (the "config" object: User, Env,
# Entrypoint, Cmd, ...) into the archive OUT. Owners become root, times the epoch, and
# entries are sorted, so the same inputs give the same digests.
oci_image() {
  local name=$1 rootfs=$2 config=$3 out=$4
  local layout layer_sha layer_size config_sha config_size manifest_sha manifest_size
  layout=$(mktemp -d)
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
    -C "$rootfs" -cf "$layout/layer.tar" .
  layer_size=$(stat -c %s "$layout/layer.tar")
  layer_sha=$(oci_blob "$layout" "$layout/layer.tar")
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$config" "$layer_sha" > "$layout/config.json"
  config_size=$(stat -c %s "$layout/config.json")
  config_sha=$(oci_blob "$layout" "$layout/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config_sha" "$config_size" "$layer_sha" "$layer_size" > "$layout/manifest.json"
  manifest_size=$(stat -c %s "$layout/manifest.json")
  manifest_sha=$(oci_blob "$layout" "$layout/manifest.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest_sha" "$manifest_size" "$name" "${name##*:}" > "$layout/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
  mkdir -p "$(dirname "$out")"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$layout" -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  rm -rf "$layout"
}

# debian_libraries_of FILE...: the Debian packages that hold the shared libraries the
# programs FILE... link, one per line.
debian_libraries_of() {
  local lib
  ldd "$@" 2>/dev/null | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]+ \(/{print $1}' | sort -u |
    while read -r lib; do debian_package_of "$lib" || return 1; done | sort -u
}

# debian_package_of PATH: the package that installed PATH (a merged /usr counts).
debian_package_of() {
  local p=$1 real cand
  real=$(readlink -f "$p")
  for cand in "$p" "$real" "/usr$p" "${real#/usr}"; do
    if dpkg -S "$cand" >/dev/null 2>&1; then
      dpkg -S "$cand" 2>/dev/null | head -n1 | cut -d: -f1
      return 0
    fi
  done
  echo "oci: no Debian package holds $p" >&2
  return 1
}

# debian_extract DEBS_CACHE ROOTFS PACKAGE...: downloads each package into DEBS_CACHE once
# and unpacks it into ROOTFS.
debian_extract() {
  local cache=$1 rootfs=$2 pkg version deb
  shift 2
  mkdir -p "$cache" "$rootfs"
  for pkg in "$@"; do
    version=$(dpkg-query -W -f='${Version}' "$pkg")
    deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
    if [[ -z "$deb" ]]; then
      # The installed version, else the archive's current one (a security update of the
      # same release) when the installed one is no longer served.
      (cd "$cache" && { apt-get download -qq "$pkg=$version" || apt-get download -qq "$pkg"; } \
        >/dev/null 2>&1) ||
        { echo "oci: cannot download the Debian package $pkg" >&2; return 1; }
      deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
    fi
    dpkg-deb -x "$deb" "$rootfs"
  done
}

# rootfs_base ROOTFS UID NAME: the files every image here has: /etc/passwd and /etc/group
# with root and one user, a sticky /tmp, and the usual merged-/usr links.
rootfs_base() {
  local rootfs=$1 uid=$2 user=$3
  mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/usr/bin" "$rootfs/usr/lib" "$rootfs/usr/local/bin"
  chmod 1777 "$rootfs/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\n%s:x:%s:%s:%s:/home/%s:/sbin/nologin\n' \
    "$user" "$uid" "$uid" "$user" "$user" > "$rootfs/etc/passwd"
  printf 'root:x:0:\n%s:x:%s:\n' "$user" "$uid" > "$rootfs/etc/group"
  for d in bin lib lib64 sbin; do
    [[ -e "$rootfs/$d" ]] || ln -s "usr/$d" "$rootfs/$d"
  done
  mkdir -p "$rootfs/usr/lib64" "$rootfs/usr/sbin"
  rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/lintian" "$rootfs/usr/share/info"
}
