#!/usr/bin/env bash
# Throw away the project's PostgreSQL data. With our own cluster: stop it and delete
# its folder (up.sh creates a fresh one). With the Debian cluster or a reused server:
# drop the 'medical' database (up.sh recreates it empty; other databases are untouched),
# then stop the server if up.sh had started it.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ -f "${PG_DATA}/PG_VERSION" ]]; then
  "${INFRA_DIR}/postgres/down.sh"
  rm -rf "$PG_STATE"
  log "deleted ${PG_STATE}"
elif pg_ready; then
  admin_psql -c "DROP DATABASE IF EXISTS ${PG_APP_DB} WITH (FORCE)" ||
    die "could not drop database ${PG_APP_DB} (no superuser access?)"
  log "dropped database ${PG_APP_DB}; the next infra/up.sh recreates it"
  "${INFRA_DIR}/postgres/down.sh"
else
  log "PostgreSQL is not running and there is no cluster of ours; start it (infra/up.sh) to reset the database"
fi
