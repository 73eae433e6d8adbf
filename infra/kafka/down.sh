#!/usr/bin/env bash
# Stop the broker started by infra/kafka/up.sh. Idempotent; never touches a broker
# this checkout did not start.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# SIGTERM makes Kafka do a controlled shutdown (flush, close segments), which keeps the
# next start from running log recovery; single-node it takes a few seconds.
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

if pid="$(kafka_pid)"; then
  stop_pid "$pid" "Kafka" "$KAFKA_STOP_TIMEOUT"
else
  log "Kafka is not running (no live pid in ${KAFKA_PIDFILE})"
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    log "note: something else still answers on ${KAFKA_BOOTSTRAP}; it was not started here, so it is left alone"
  fi
fi
rm -f "$KAFKA_PIDFILE"
