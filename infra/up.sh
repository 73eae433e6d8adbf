#!/usr/bin/env bash
# Start the local infrastructure for the production profile: PostgreSQL on
# 127.0.0.1:5432 and a single-node Kafka on 127.0.0.1:9092 (and its TLS listener on
# 127.0.0.1:9094). Idempotent.
#
# Progress goes to stderr; stdout carries only the environment for the services, so
#   eval "$(npm run -s infra:up)"
# prepares a shell (run by hand, it just prints the two lines).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

started=$SECONDS
# Each part's stdout is sent to stderr as well: nothing but the exports may reach stdout.
# PostgreSQL first: it is ready in seconds, and a failure there is reported before the
# slower Kafka start.
"${INFRA_DIR}/postgres/up.sh" >&2
"${INFRA_DIR}/kafka/up.sh" >&2
log "infrastructure ready in $((SECONDS - started))s (state: ${INFRA_STATE_DIR}; stop with npm run infra:down)"

printf 'export KAFKA_BROKERS=%s\n' "127.0.0.1:9092"
printf 'export DATABASE_URL=%s\n' "postgres://medical:medical@127.0.0.1:5432/medical"
# The services' own role: `npm start` and the tests then migrate as the owner above first and
# run the services as this role (scripts/lib/processes.ts, databaseRoles).
printf 'export DATABASE_SERVICE_ROLE=%s\n' "medical_service"
printf 'export DATABASE_SERVICE_PASSWORD=%s\n' "medical_service"
# When the broker's TLS listener answers: KAFKA_TLS_BROKERS and the local CA and client
# certificate's files, for the TLS tests (infra/kafka/tls.sh env).
"${INFRA_DIR}/kafka/tls.sh" env
