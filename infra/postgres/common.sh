# shellcheck shell=bash
# Paths and helpers shared by the PostgreSQL scripts. Sourced, never executed.
# Variables here are used by the scripts that source this file.
# shellcheck disable=SC2034
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
INFRA_COMPONENT=postgres

PG_VERSION="${PG_VERSION:-15}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/${PG_VERSION}/bin}"
PG_HOST=127.0.0.1
# INFRA_PG_PORT: another port for a second, separate cluster (with INFRA_PG_CLUSTER=own and its
# own INFRA_STATE_DIR), as the backup and failover tests start beside the shared one.
PG_PORT="${INFRA_PG_PORT:-5432}"
# The project's role and database (DATABASE_URL in infra/up.sh).
PG_APP_USER=medical
PG_APP_PASSWORD=medical
PG_APP_DB=medical
# The role the services connect as (DATABASE_SERVICE_ROLE): it owns nothing, so it may not change
# a schema or rewrite the audit trail; `npm run migrate`, as PG_APP_USER, grants it the rest.
PG_SERVICE_USER=medical_service
PG_SERVICE_PASSWORD=medical_service

# auto: reuse a running server, else start the Debian cluster, else our own (see up.sh).
# own: never start the Debian cluster (e.g. to keep this checkout's data apart).
INFRA_PG_CLUSTER="${INFRA_PG_CLUSTER:-auto}"
case "$INFRA_PG_CLUSTER" in
auto | own) ;;
*) die "INFRA_PG_CLUSTER must be 'auto' or 'own', not '${INFRA_PG_CLUSTER}'" ;;
esac

PG_STATE="${INFRA_STATE_DIR}/postgres"
# A cluster of our own (used when the machine has no Debian cluster to start).
PG_DATA="${PG_STATE}/data"
# Its socket folder: private to the cluster's OS user (see unix_socket_permissions).
PG_SOCKET_DIR="${PG_STATE}/run"
PG_OWN_LOG="${PG_STATE}/postgres.log"
# Which server up.sh started, so down.sh stops that one and nothing else:
# 'debian' (pg_ctlcluster VERSION main) or 'own' (PG_DATA); absent when reused.
PG_MODE_FILE="${PG_STATE}/started-by-infra"

# Backups (npm run backup, npm run restore): base backups under base/, and the WAL archive the
# server's archive_command fills, once the first base backup has made it (archive-wal.sh).
PG_BACKUP_DIR="$(realpath -m "${INFRA_BACKUP_DIR:-${INFRA_STATE_DIR}/backups}")"
PG_WAL_ARCHIVE="${PG_BACKUP_DIR}/wal"
[[ "$PG_BACKUP_DIR" != *"'"* ]] || die "INFRA_BACKUP_DIR must not contain a single quote: ${PG_BACKUP_DIR}"

PG_DEBIAN_CLUSTER=main
PG_DEBIAN_SOCKET_DIR=/var/run/postgresql
PG_DEBIAN_LOG="/var/log/postgresql/postgresql-${PG_VERSION}-${PG_DEBIAN_CLUSTER}.log"
# Settings of ours for the Debian cluster: its postgresql.conf includes conf.d (Debian's default).
PG_DEBIAN_CONF_FILE="/etc/postgresql/${PG_VERSION}/${PG_DEBIAN_CLUSTER}/conf.d/medical-infra.conf"

# Loaded at server start: pg_stat_statements counts the statements of each database, which
# the bench reads per complete visit (bench/lib/pg-counters.ts).
PG_PRELOAD_LIBRARIES=pg_stat_statements

# PostgreSQL refuses to run as root, so as root every server-side command runs as
# the 'postgres' OS user; as anyone else, as that user themself.
if ((EUID == 0)); then
  PG_OS_USER=postgres
else
  PG_OS_USER="$(id -un)"
fi

# The server's settings for WAL archiving, in postgresql.conf syntax (up.sh writes them into the
# cluster's configuration). archive_mode needs a restart to change; archive_command a reload.
archive_settings() {
  cat <<CONF
# WAL archiving for point-in-time recovery (npm run backup / npm run restore). A finished
# segment is copied to the archive only once a base backup exists; before that it is let go.
archive_mode = on
# Tested before the script runs, so a server whose OS user cannot reach this checkout (the
# Debian cluster, a checkout under /root) lets its segments go as long as nobody backs it up.
archive_command = 'test ! -d "${PG_WAL_ARCHIVE}" || "${INFRA_DIR}/postgres/archive-wal.sh" "%p" "${PG_WAL_ARCHIVE}/%f"'
# A segment at least every minute while anything is written, so the archive is never far behind.
archive_timeout = 60
CONF
}

# data_dir: the data directory of the server this checkout uses (ours, or the Debian cluster's).
data_dir() {
  if [[ -f "$PG_MODE_FILE" && "$(<"$PG_MODE_FILE")" == debian ]]; then
    pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_DEBIAN_CLUSTER" '$1 == v && $2 == c { print $6 }'
  else
    printf '%s\n' "$PG_DATA"
  fi
}

# as_pg_user CMD ARGS...: run a command as the cluster's OS user.
as_pg_user() {
  if ((EUID == 0)); then
    # runuser, not su: no PAM session, no login shell, arguments passed through intact.
    runuser -u "$PG_OS_USER" -- "$@"
  else
    "$@"
  fi
}

pg_ready() {
  "${PG_BIN}/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -t 2
}

# debian_cluster_exists: true if `pg_lsclusters` lists VERSION/main on our port.
debian_cluster_exists() {
  command -v pg_lsclusters >/dev/null || return 1
  pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_DEBIAN_CLUSTER" -v p="$PG_PORT" \
    '$1 == v && $2 == c && $3 == p { found = 1 } END { exit !found }'
}

# own_cluster_running: our own data dir has a live postmaster.
own_cluster_running() {
  [[ -f "${PG_DATA}/PG_VERSION" ]] || return 1
  as_pg_user "${PG_BIN}/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

# admin_socket_dir: the folder of the superuser's socket (ours first, then Debian's).
admin_socket_dir() {
  local dir
  for dir in "$PG_SOCKET_DIR" "$PG_DEBIAN_SOCKET_DIR"; do
    [[ -S "${dir}/.s.PGSQL.${PG_PORT}" ]] && { printf '%s\n' "$dir"; return 0; }
  done
  return 1
}

# admin_psql ARGS...: psql as the 'postgres' superuser over a unix socket (peer auth on
# the Debian cluster; trust on our own cluster's private socket). Tries our cluster's
# socket first, then Debian's.
admin_psql() {
  local dir
  for dir in "$PG_SOCKET_DIR" "$PG_DEBIAN_SOCKET_DIR"; do
    [[ -S "${dir}/.s.PGSQL.${PG_PORT}" ]] || continue
    as_pg_user "${PG_BIN}/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$PG_PORT" -U postgres -d postgres "$@"
    return
  done
  return 2
}
