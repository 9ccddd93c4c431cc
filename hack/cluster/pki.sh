# shellcheck shell=bash
# The local cluster's certificates, made with openssl: one CA, the API server's and the
# kubelet's serving certificates, a client certificate per component, and the service
# account signing key. Sourced by hack/cluster-up.sh.

# pki_init DIR: the CA and the service-account key pair.
pki_init() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
    -subj "/CN=roomshard-local-ca" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/sa.key" 2>/dev/null
  openssl pkey -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
}

# pki_cert DIR NAME SUBJECT [SANS]: NAME.crt and NAME.key signed by the CA. SANS is an
# openssl subjectAltName list (IP:..., DNS:...); with it the certificate serves TLS.
pki_cert() {
  local dir=$1 name=$2 subject=$3 sans=${4:-} ext
  ext=$(mktemp)
  if [[ -n "$sans" ]]; then
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$sans" > "$ext"
  else
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > "$ext"
  fi
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 7 -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$ext"
}

# pki_kubeconfig DIR NAME SERVER: NAME.kubeconfig, authenticating with NAME's certificate.
pki_kubeconfig() {
  local dir=$1 name=$2 server=$3
  cat > "$dir/$name.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $server
    certificate-authority: $dir/ca.crt
users:
- name: $name
  user:
    client-certificate: $dir/$name.crt
    client-key: $dir/$name.key
contexts:
- name: local
  context: {cluster: local, user: $name}
current-context: local
KUBECONFIG
}
