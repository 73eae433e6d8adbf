#!/usr/bin/env bash
# Stop what infra/up.sh started (Kafka, then PostgreSQL). Idempotent. Data is kept;
# see infra/README.md to reset it.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Try both even if the first fails, so one stuck part does not leave the other running.
status=0
"${INFRA_DIR}/kafka/down.sh" || status=1
"${INFRA_DIR}/postgres/down.sh" || status=1
exit "$status"
