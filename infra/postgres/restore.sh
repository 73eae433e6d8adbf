#!/usr/bin/env bash
# The PostgreSQL half of `npm run restore -- --to <time>` (scripts/restore.ts):
#   restore.sh <base backup's data folder> <target time, ISO 8601 with its offset>
# Point-in-time recovery of the local server (the one infra/postgres/up.sh started):
#   1. the WAL written up to now is archived (a segment switch, then a wait for the archiver);
#   2. the server stops, and its data folder is set aside, never deleted: <data>.before-restore-<time>;
#   3. the base backup is copied in, with recovery.signal and the recovery settings: WAL from the
#      archive, up to the target time, then promote;
#   4. the server starts, replays, and is promoted onto a new timeline; the recovery settings go.
# Progress goes to stderr; stdout carries one line of JSON at the end.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

base="${1:?usage: restore.sh <base backup data folder> <target time>}"
target="${2:?usage: restore.sh <base backup data folder> <target time>}"
RECOVERY_TIMEOUT="${RECOVERY_TIMEOUT:-600}"
[[ -f "${base}/PG_VERSION" ]] || die "${base} is not a base backup's data folder"
[[ "$target" =~ ^[0-9TZ:.+-]+$ ]] || die "not a time: ${target}"
# In the form recovery_target_time reads (it refuses ISO 8601's T and Z), in UTC, to the microsecond.
target_pg="$(date -u -d "$target" '+%Y-%m-%d %H:%M:%S.%6N+00')" || die "not a time: ${target}"
[[ -d "$PG_WAL_ARCHIVE" ]] || die "no WAL archive at ${PG_WAL_ARCHIVE}: take a backup with npm run backup first"

mode=""
[[ -f "$PG_MODE_FILE" ]] && mode="$(<"$PG_MODE_FILE")"
if own_cluster_running; then
  mode=own
elif [[ "$mode" != debian && -f "${PG_DATA}/PG_VERSION" ]]; then
  mode=own
fi
[[ "$mode" == own || "$mode" == debian ]] || die "no PostgreSQL started by npm run infra:up here: npm run restore restores that server only"
data="$(data_dir)"
[[ -n "$data" && -d "$data" ]] || die "the server's data folder is not found"

stop_server() {
  if [[ "$mode" == own ]]; then
    own_cluster_running || return 0
    as_pg_user "${PG_BIN}/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
  else
    pg_ctlcluster "$PG_VERSION" "$PG_DEBIAN_CLUSTER" stop -m fast >&2 || true
  fi
}
start_server() {
  if [[ "$mode" == own ]]; then
    as_pg_user mkdir -p -m 0700 "$PG_SOCKET_DIR"
    as_pg_user "${PG_BIN}/pg_ctl" -D "$PG_DATA" -l "$PG_OWN_LOG" -w -t 120 start >/dev/null 2>&1 || {
      tail_log "$PG_OWN_LOG" 40
      die "the server did not start to recover"
    }
  else
    pg_ctlcluster "$PG_VERSION" "$PG_DEBIAN_CLUSTER" start >&2 || {
      tail_log "$PG_DEBIAN_LOG" 40
      die "the server did not start to recover"
    }
  fi
}
server_log() { [[ "$mode" == own ]] && printf '%s\n' "$PG_OWN_LOG" || printf '%s\n' "$PG_DEBIAN_LOG"; }

# 1. Everything written so far into the archive: switch to a new segment, wait until the
# archiver has the one just finished (pg_walfile_name of the switch's position names it).
if pg_ready && admin_psql -At -c 'select 1' >/dev/null 2>&1; then
  last="$(admin_psql -At -c 'SELECT pg_walfile_name(pg_switch_wal())')"
  log "archiving the WAL up to now (segment ${last})"
  deadline=$((SECONDS + 60))
  archived() { admin_psql -At -c "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"; }
  # Segment names sort in the order they were written (timeline, then position).
  until [[ ! "$(archived)" < "$last" ]]; do
    ((SECONDS < deadline)) || die "the archiver has not archived ${last} within 60 s (see pg_stat_archiver)"
    sleep 0.5
  done
fi

# 2. Stop, and keep what was there.
log "stopping the server"
stop_server
aside="${data}.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
mv "$data" "$aside"
log "the data folder as it was is kept at ${aside}"

# 3. The base backup in its place, told to recover to the target.
log "copying the base backup into ${data}"
as_pg_user cp -a "$base" "$data"
as_pg_user chmod 0700 "$data"
as_pg_user rm -f "${data}/backup_manifest"
as_pg_user tee -a "${data}/postgresql.auto.conf" >/dev/null <<CONF
# Point-in-time recovery (infra/postgres/restore.sh); reset once the server is promoted.
restore_command = 'cp "${PG_WAL_ARCHIVE}/%f" "%p"'
recovery_target_time = '${target_pg}'
recovery_target_action = 'promote'
CONF
as_pg_user touch "${data}/recovery.signal"

# 4. Replay up to the target, then a new timeline.
log "replaying the archived WAL up to ${target}"
start_server
deadline=$((SECONDS + RECOVERY_TIMEOUT))
until [[ "$(admin_psql -At -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" == f ]]; do
  if ! pg_ready && ! { [[ "$mode" == own ]] && own_cluster_running; }; then
    tail_log "$(server_log)" 40
    die "recovery failed (the server stopped): the log above says why"
  fi
  ((SECONDS < deadline)) || die "recovery did not end within ${RECOVERY_TIMEOUT} s"
  sleep 0.5
done
admin_psql <<SQL >/dev/null
ALTER SYSTEM RESET restore_command;
ALTER SYSTEM RESET recovery_target_time;
ALTER SYSTEM RESET recovery_target_action;
SELECT pg_reload_conf();
SQL
timeline="$(admin_psql -At -c 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')"
log "recovered to ${target}; the server is promoted, on timeline $((16#${timeline}))"
printf '{"data":"%s","setAside":"%s","timeline":%d}\n' "$data" "$aside" "$((16#${timeline}))"
