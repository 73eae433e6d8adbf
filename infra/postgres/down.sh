#!/usr/bin/env bash
# Stop the PostgreSQL server that infra/postgres/up.sh started (our own cluster or the
# Debian cluster). A server that was already running before up.sh is left alone.
# Idempotent.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mode=""
[[ -f "$PG_MODE_FILE" ]] && mode="$(<"$PG_MODE_FILE")"

# Our own cluster is ours whatever the mode file says (it may have been deleted).
if own_cluster_running; then
  log "stopping our own cluster (${PG_DATA})"
  # 'fast' rolls back open transactions and disconnects clients (a test run's leftover
  # pools) instead of waiting for them as 'smart' would; it is still a clean shutdown.
  as_pg_user "${PG_BIN}/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
  log "stopped"
elif [[ "$mode" == debian ]]; then
  if pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_DEBIAN_CLUSTER" \
    '$1 == v && $2 == c && $4 == "online" { found = 1 } END { exit !found }'; then
    log "stopping the Debian cluster ${PG_VERSION}/${PG_DEBIAN_CLUSTER}"
    pg_ctlcluster "$PG_VERSION" "$PG_DEBIAN_CLUSTER" stop -m fast >&2
    log "stopped"
  else
    log "the Debian cluster ${PG_VERSION}/${PG_DEBIAN_CLUSTER} is already stopped"
  fi
else
  log "nothing to stop: no PostgreSQL started by infra/up.sh is running"
  if pg_ready; then
    log "note: a server still answers on ${PG_HOST}:${PG_PORT}; it was not started here, so it is left alone"
  fi
fi
rm -f "$PG_MODE_FILE"
