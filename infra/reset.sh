#!/usr/bin/env bash
# Stop everything and throw away the data: Kafka's topics and offsets, and PostgreSQL's
# 'medical' database (or our whole cluster). The next infra/up.sh starts from empty.
# The downloaded jars ($INFRA_CACHE_DIR) are kept.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"${INFRA_DIR}/kafka/reset.sh"
"${INFRA_DIR}/postgres/reset.sh"
