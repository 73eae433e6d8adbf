#!/usr/bin/env bash
# Stop the broker and delete its state (topics, offsets, cluster id, logs).
# The next infra/kafka/up.sh formats a fresh cluster. The jar cache is kept.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"${KAFKA_DIR}/down.sh"
# Guard the rm: never wipe something that is not a '.../kafka' folder of the state dir.
if [[ -d "$KAFKA_STATE" && "$(basename "$KAFKA_STATE")" == kafka ]]; then
  rm -rf "$KAFKA_STATE"
  log "deleted ${KAFKA_STATE}"
else
  log "nothing to delete at ${KAFKA_STATE}"
fi
