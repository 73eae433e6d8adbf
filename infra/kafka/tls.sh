#!/usr/bin/env bash
# The local broker's TLS listener (127.0.0.1:${KAFKA_TLS_PORT}, default 9094): its certificates,
# and the variables the tests need to reach it.
#
#   tls.sh ensure   make sure ${KAFKA_TLS_DIR} holds a CA, a broker certificate for
#                   127.0.0.1/localhost and a client certificate, all signed by that CA and
#                   valid for at least 30 more days; (re)generate them all with openssl otherwise.
#                   Exit 1 without openssl: the broker then starts without
#                   the listener.
#   tls.sh env      print, on stdout, the export lines for the listener when our broker has it
#                   and it answers (infra/up.sh passes them on), nothing otherwise.
#
# The files mirror what Strimzi hands a client: ca.crt (the cluster CA), user.crt and user.key
# (a KafkaUser's client certificate and unencrypted PKCS#8 key). broker.pem is the broker's
# PEM key store: its key, its certificate and the CA's. Keys are readable by the owner only.
# The variables are not the services' own KAFKA_TLS_* names on purpose: the processes the
# tests start inherit the environment, and must stay on the plain-text listener unless told.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Regenerated when a certificate has less than this left.
MIN_VALIDITY_SECONDS=$((30 * 24 * 3600))

# true if every file is there, every certificate chains to ca.crt and is valid long enough.
certificates_usable() {
  local file
  for file in ca.key ca.crt broker.pem user.crt user.key; do
    [[ -s "${KAFKA_TLS_DIR}/${file}" ]] || return 1
  done
  for file in ca.crt broker.pem user.crt; do
    openssl x509 -in "${KAFKA_TLS_DIR}/${file}" -noout -checkend "$MIN_VALIDITY_SECONDS" >/dev/null 2>&1 || return 1
  done
  # openssl x509 reads broker.pem's first certificate, the broker's own.
  openssl x509 -in "${KAFKA_TLS_DIR}/broker.pem" 2>/dev/null | openssl verify -CAfile "${KAFKA_TLS_DIR}/ca.crt" >/dev/null 2>&1 &&
    openssl verify -CAfile "${KAFKA_TLS_DIR}/ca.crt" "${KAFKA_TLS_DIR}/user.crt" >/dev/null 2>&1
}

# sign NAME SUBJECT EXTENSIONS: NAME.key and NAME.crt, signed by the CA, valid a year.
sign() {
  local name="$1" subject="$2" extensions="$3" dir="$KAFKA_TLS_DIR"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "${dir}/${name}.key" 2>/dev/null
  openssl req -new -key "${dir}/${name}.key" -subj "$subject" -out "${dir}/${name}.csr" 2>/dev/null
  printf '%s\n' "$extensions" >"${dir}/${name}.ext"
  openssl x509 -req -in "${dir}/${name}.csr" -CA "${dir}/ca.crt" -CAkey "${dir}/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 -extfile "${dir}/${name}.ext" \
    -out "${dir}/${name}.crt" 2>/dev/null
  rm -f "${dir}/${name}.csr" "${dir}/${name}.ext"
}

generate() {
  local dir="$KAFKA_TLS_DIR"
  log "generating the TLS listener's CA, broker and client certificates in ${dir}"
  # Guarded: never wipe something that is not the state dir's kafka/tls folder.
  [[ "$dir" == */kafka/tls ]] || die "refusing to regenerate certificates in ${dir}"
  rm -rf "$dir"
  mkdir -p "$dir"
  chmod 700 "$dir"
  # Keys are created readable by the owner only.
  umask 077
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "${dir}/ca.key" 2>/dev/null
  openssl req -x509 -new -key "${dir}/ca.key" -subj "/CN=medical local Kafka CA" -days 730 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "${dir}/ca.crt" 2>/dev/null
  sign broker "/CN=localhost" "$(printf '%s\n' \
    'basicConstraints=critical,CA:FALSE' \
    'keyUsage=critical,digitalSignature,keyEncipherment' \
    'extendedKeyUsage=serverAuth' \
    "subjectAltName=DNS:localhost,IP:${KAFKA_HOST}")"
  sign user "/CN=medical-local-client" "$(printf '%s\n' \
    'basicConstraints=critical,CA:FALSE' \
    'keyUsage=critical,digitalSignature' \
    'extendedKeyUsage=clientAuth')"
  # The broker's PEM key store: the (PKCS#8, unencrypted) key, then the chain.
  cat "${dir}/broker.key" "${dir}/broker.crt" "${dir}/ca.crt" >"${dir}/broker.pem"
  rm -f "${dir}/broker.key" "${dir}/broker.crt"
  chmod 644 "${dir}/ca.crt" "${dir}/user.crt"
  certificates_usable || die "the certificates generated in ${dir} do not verify"
}

case "${1:-}" in
  ensure)
    if ! command -v openssl >/dev/null; then
      log "openssl not found: no certificates for the TLS listener"
      exit 1
    fi
    if certificates_usable; then
      log "TLS certificates in ${KAFKA_TLS_DIR} are valid"
    else
      generate
    fi
    ;;
  env)
    # Our broker's configuration has the listener, and something answers there.
    if grep -q '^listener.name.ssl.ssl.client.auth=' "$KAFKA_CONFIG" 2>/dev/null &&
      [[ -s "${KAFKA_TLS_DIR}/user.key" ]] && port_open "$KAFKA_HOST" "$KAFKA_TLS_PORT"; then
      printf 'export KAFKA_TLS_BROKERS=%q\n' "$KAFKA_TLS_BOOTSTRAP"
      printf 'export KAFKA_TLS_LOCAL_CA_FILE=%q\n' "${KAFKA_TLS_DIR}/ca.crt"
      printf 'export KAFKA_TLS_LOCAL_CERT_FILE=%q\n' "${KAFKA_TLS_DIR}/user.crt"
      printf 'export KAFKA_TLS_LOCAL_KEY_FILE=%q\n' "${KAFKA_TLS_DIR}/user.key"
    fi
    ;;
  *)
    die "usage: infra/kafka/tls.sh ensure|env"
    ;;
esac
