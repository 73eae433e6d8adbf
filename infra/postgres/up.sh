#!/usr/bin/env bash
# Make a PostgreSQL server answer on 127.0.0.1:5432 and ensure the project's role and
# database (medical/medical, database medical). Idempotent. In order of preference:
#   1. a server already answering there is reused (and never stopped by down.sh);
#   2. else the Debian cluster VERSION/main, if the machine has one, is started;
#   3. else a cluster of our own is created under $INFRA_STATE_DIR/postgres and started.
# INFRA_PG_CLUSTER=own skips step 2.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"

[[ -x "${PG_BIN}/pg_ctl" ]] || die "PostgreSQL ${PG_VERSION} binaries not found in ${PG_BIN} (apt-get install postgresql-${PG_VERSION})"

wait_ready() {
  local logfile="$1" deadline=$((SECONDS + PG_START_TIMEOUT))
  until pg_ready; do
    if ((SECONDS >= deadline)); then
      log "PostgreSQL did not accept connections on ${PG_HOST}:${PG_PORT} within ${PG_START_TIMEOUT}s"
      tail_log "$logfile" 40
      exit 1
    fi
    sleep 0.5
  done
  log "PostgreSQL is accepting connections on ${PG_HOST}:${PG_PORT}"
}

# infra.conf is rewritten on every start (postgresql.conf includes it), so a change in
# this script reaches an existing cluster at its next start.
write_own_config() {
  as_pg_user tee "${PG_DATA}/infra.conf" >/dev/null <<CONF
# Written by infra/postgres/up.sh on every start; edit the script, not this file.
listen_addresses = '${PG_HOST}'
port = ${PG_PORT}
# A private socket folder: local connections are 'trust' (see pg_hba.conf), so only
# the cluster's own OS user may reach the socket.
unix_socket_directories = '${PG_SOCKET_DIR}'
unix_socket_permissions = 0700
# Five services, each with a pool or two, plus test suites that open their own.
max_connections = 200
# fsync and synchronous_commit stay on: the outbox and idempotent-consumer tests are
# about not losing committed work, and a test database that lies about commits would
# hide exactly that class of bug.
fsync = on
synchronous_commit = on
# Quieter on a 2-core machine shared with Kafka and the services.
max_worker_processes = 4
max_parallel_workers = 2
max_parallel_workers_per_gather = 1
log_line_prefix = '%m [%p] %q%u@%d '
log_connections = off
log_disconnections = off
shared_preload_libraries = '${PG_PRELOAD_LIBRARIES}'
$(archive_settings)
CONF
}

# The Debian cluster's settings of ours, in its conf.d (read at its next start). Only what it
# lacks: the port, the connections and durability are Debian's own defaults there.
write_debian_config() {
  tee "$PG_DEBIAN_CONF_FILE" >/dev/null <<CONF
# Written by infra/postgres/up.sh; edit the script, not this file.
shared_preload_libraries = '${PG_PRELOAD_LIBRARIES}'
$(archive_settings)
CONF
}

init_own_cluster() {
  log "creating a PostgreSQL ${PG_VERSION} cluster in ${PG_DATA}"
  mkdir -p "$PG_STATE"
  if ((EUID == 0)); then
    # The server runs as 'postgres' (it refuses root), so that user owns its folder.
    chown "$PG_OS_USER": "$PG_STATE"
  fi
  as_pg_user test -w "$PG_STATE" ||
    die "user ${PG_OS_USER} cannot write ${PG_STATE} (a parent folder is private?); set INFRA_STATE_DIR to a folder it can reach"
  as_pg_user mkdir -p -m 0700 "$PG_SOCKET_DIR"
  # Superuser 'postgres' whatever the OS user; local socket trusted (it is private),
  # TCP on loopback by password (scram-sha-256), as the services connect.
  as_pg_user "${PG_BIN}/initdb" -D "$PG_DATA" -U postgres \
    --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >"${PG_STATE}/initdb.log" 2>&1 || {
    tail_log "${PG_STATE}/initdb.log" 30
    die "initdb failed"
  }
  printf "\n# Settings for local development and tests (infra/postgres/up.sh).\ninclude_if_exists = 'infra.conf'\n" |
    as_pg_user tee -a "${PG_DATA}/postgresql.conf" >/dev/null
}

start_own_cluster() {
  [[ -f "${PG_DATA}/PG_VERSION" ]] || init_own_cluster
  as_pg_user mkdir -p -m 0700 "$PG_SOCKET_DIR"
  write_own_config
  log "starting our own cluster (${PG_DATA}); log ${PG_OWN_LOG}"
  # The mode file first: if start succeeds halfway, down.sh still knows to stop it.
  printf 'own\n' >"$PG_MODE_FILE"
  # pg_ctl detaches the postmaster itself; its output goes to the log, never to our
  # stdout (which `eval "$(npm run -s infra:up)"` captures).
  as_pg_user "${PG_BIN}/pg_ctl" -D "$PG_DATA" -l "$PG_OWN_LOG" -w -t "$PG_START_TIMEOUT" start >/dev/null 2>&1 || {
    tail_log "$PG_OWN_LOG" 40
    die "pg_ctl could not start ${PG_DATA}"
  }
  wait_ready "$PG_OWN_LOG"
}

start_debian_cluster() {
  log "starting the Debian cluster ${PG_VERSION}/${PG_DEBIAN_CLUSTER} (pg_ctlcluster); log ${PG_DEBIAN_LOG}"
  printf 'debian\n' >"$PG_MODE_FILE"
  write_debian_config
  pg_ctlcluster "$PG_VERSION" "$PG_DEBIAN_CLUSTER" start >&2 || {
    tail_log "$PG_DEBIAN_LOG" 40
    die "pg_ctlcluster ${PG_VERSION} ${PG_DEBIAN_CLUSTER} start failed"
  }
  wait_ready "$PG_DEBIAN_LOG"
}

mkdir -p "$PG_STATE"

if pg_ready; then
  if own_cluster_running; then
    log "our own cluster is already running on ${PG_HOST}:${PG_PORT}"
  elif [[ -f "$PG_MODE_FILE" ]]; then
    log "the Debian cluster started by an earlier infra/up.sh is already running"
  else
    log "PostgreSQL already answers on ${PG_HOST}:${PG_PORT}; reusing it"
  fi
elif [[ -f "${PG_DATA}/PG_VERSION" ]]; then
  # A cluster we created earlier wins over the Debian one: it holds this checkout's data.
  start_own_cluster
elif [[ "$INFRA_PG_CLUSTER" == auto ]] && ((EUID == 0)) && debian_cluster_exists; then
  # pg_ctlcluster needs root (it switches to the cluster owner itself).
  start_debian_cluster
else
  start_own_cluster
fi

# --- pg_stat_statements and WAL archiving ------------------------------------------------
# shared_preload_libraries and archive_mode take effect only at a server start. A server of ours
# that runs without them (started before up.sh set them) is restarted once, with the same port,
# data and credentials: 'fast' ends open connections, which reconnect. A server we did not start
# is never restarted: the bench then reports no statement counts, and npm run backup refuses.
preloaded() {
  [[ ",$(admin_psql -At -c 'SHOW shared_preload_libraries' | tr -d ' ')," == *",${PG_PRELOAD_LIBRARIES},"* ]] &&
    [[ "$(admin_psql -At -c 'SHOW archive_mode')" == on ]]
}

restart_with_preload() {
  if own_cluster_running; then
    write_own_config
    log "restarting our own cluster to load ${PG_PRELOAD_LIBRARIES} and archive WAL"
    as_pg_user "${PG_BIN}/pg_ctl" -D "$PG_DATA" -l "$PG_OWN_LOG" -m fast -w -t "$PG_START_TIMEOUT" restart >/dev/null 2>&1 || {
      tail_log "$PG_OWN_LOG" 40
      die "pg_ctl could not restart ${PG_DATA}"
    }
    wait_ready "$PG_OWN_LOG"
  elif [[ -f "$PG_MODE_FILE" && "$(<"$PG_MODE_FILE")" == debian ]]; then
    write_debian_config
    log "restarting the Debian cluster ${PG_VERSION}/${PG_DEBIAN_CLUSTER} to load ${PG_PRELOAD_LIBRARIES} and archive WAL"
    pg_ctlcluster "$PG_VERSION" "$PG_DEBIAN_CLUSTER" restart -m fast >&2 || {
      tail_log "$PG_DEBIAN_LOG" 40
      die "pg_ctlcluster ${PG_VERSION} ${PG_DEBIAN_CLUSTER} restart failed"
    }
    wait_ready "$PG_DEBIAN_LOG"
  else
    log "WARNING: this server was not started by infra/up.sh and does not load ${PG_PRELOAD_LIBRARIES}; it is left as it is"
    return 1
  fi
}

if admin_psql -At -c 'select 1' >/dev/null 2>&1; then
  preloaded || restart_with_preload || true
  # archive_command is read again on a reload: written anew (a checkout moved, or
  # INFRA_BACKUP_DIR changed) into a server of ours, which reloads it.
  if own_cluster_running; then
    write_own_config
  elif [[ -f "$PG_MODE_FILE" && "$(<"$PG_MODE_FILE")" == debian ]]; then
    write_debian_config
  fi
  admin_psql -At -c 'SELECT pg_reload_conf()' >/dev/null || true
fi

# --- The project's role and database --------------------------------------------------
# CREATEDB so test suites may create throwaway databases of their own (and drop them, see
# pg_signal_backend below). The password is
# (re)set every time, which also repairs a role created by hand with another one.
# \gexec runs the generated CREATE only when the object is missing (CREATE DATABASE
# cannot run inside the DO block an IF would need).
rc=0
admin_psql <<SQL || rc=$?
SELECT format('CREATE ROLE %I LOGIN', '${PG_APP_USER}')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${PG_APP_USER}') \gexec
ALTER ROLE ${PG_APP_USER} WITH LOGIN CREATEDB PASSWORD '${PG_APP_PASSWORD}';
-- DROP DATABASE ... WITH (FORCE) of a test database must also end an autovacuum worker that
-- happens to be in it, which only a member of pg_signal_backend may do.
GRANT pg_signal_backend TO ${PG_APP_USER};
-- The bench reads pg_stat_statements as the owner: the services' statements run as their own
-- role, whose text only a member of pg_read_all_stats may see.
GRANT pg_read_all_stats TO ${PG_APP_USER};
SELECT format('CREATE ROLE %I LOGIN', '${PG_SERVICE_USER}')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${PG_SERVICE_USER}') \gexec
ALTER ROLE ${PG_SERVICE_USER} WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD '${PG_SERVICE_PASSWORD}';
SELECT format('CREATE DATABASE %I OWNER %I', '${PG_APP_DB}', '${PG_APP_USER}')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '${PG_APP_DB}') \gexec
ALTER DATABASE ${PG_APP_DB} OWNER TO ${PG_APP_USER};
SQL
case "$rc" in
0)
  log "roles '${PG_APP_USER}' (owner) and '${PG_SERVICE_USER}' (the services') and database '${PG_APP_DB}' are in place"
  max_conn="$(admin_psql -At -c 'SHOW max_connections')"
  if ((max_conn < 100)); then
    log "WARNING: max_connections is ${max_conn}; five services with pools need at least 100"
  else
    log "max_connections = ${max_conn}"
  fi
  ;;
2)
  # A server we did not start and have no superuser socket for (admin_psql found
  # none): fine if the project's login already works, which the check below decides.
  log "no superuser access to this server; relying on an existing '${PG_APP_USER}' role"
  ;;
*)
  die "could not create the role or database (psql exit ${rc})"
  ;;
esac

if ((rc == 0)) && preloaded; then
  # In the project's database, where the bench reads it (its view covers every database, by
  # dbid). The reset is the superuser's unless granted: the bench resets one database's.
  admin_psql -d "$PG_APP_DB" <<SQL ||
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint) TO ${PG_APP_USER};
SQL
    die "could not create pg_stat_statements in database '${PG_APP_DB}'"
  log "pg_stat_statements is loaded and created in database '${PG_APP_DB}'"
elif ((rc == 0)); then
  log "WARNING: ${PG_PRELOAD_LIBRARIES} is not loaded; the bench reports no statement counts"
fi

# The services connect over TCP with a password, so prove exactly that path (pg_hba on
# the Debian cluster allows scram-sha-256 from 127.0.0.1/32; ours is initdb'd that way).
if ! PGPASSWORD="$PG_APP_PASSWORD" PGCONNECT_TIMEOUT=5 "${PG_BIN}/psql" -X -q -At \
  -h "$PG_HOST" -p "$PG_PORT" -U "$PG_APP_USER" -d "$PG_APP_DB" -c 'select 1' >/dev/null; then
  die "cannot log in as ${PG_APP_USER} over TCP on ${PG_HOST}:${PG_PORT} (check pg_hba.conf allows scram-sha-256 for 127.0.0.1/32)"
fi
log "login as ${PG_APP_USER}@${PG_HOST}:${PG_PORT}/${PG_APP_DB} with a password works"
