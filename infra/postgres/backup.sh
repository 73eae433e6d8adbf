#!/usr/bin/env bash
# The PostgreSQL half of `npm run backup` (scripts/backup.ts):
#   backup.sh <folder>
# A base backup of the local server (the one infra/postgres/up.sh started) into <folder>/data:
# a plain copy of the cluster with the WAL it needs to be consistent (streamed while it runs) and
# its backup_manifest, then checked with pg_verifybackup. The WAL archive (PG_WAL_ARCHIVE) is made
# first, so every segment finished from here on is archived: what `npm run restore -- --to <time>`
# replays onto this backup up to any later moment.
#
# pg_basebackup's progress lines go to stderr (scripts/backup.ts reads them); stdout carries one
# line of JSON at the end: where the backup and the archive are.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

folder="${1:?usage: backup.sh <folder>}"
[[ -x "${PG_BIN}/pg_basebackup" ]] || die "pg_basebackup not found in ${PG_BIN}"
pg_ready || die "PostgreSQL does not answer on ${PG_HOST}:${PG_PORT}: start it with npm run infra:up"
socket="$(admin_socket_dir)" ||
  die "no superuser socket for the server on port ${PG_PORT}: npm run backup backs up the PostgreSQL that npm run infra:up started"
[[ "$(admin_psql -At -c 'SHOW archive_mode')" == on ]] ||
  die "WAL archiving is off on this server: run npm run infra:up once more (it restarts the server with archive_mode = on)"

# The backup folder belongs to the server's OS user: its archive_command writes the archive there.
mkdir -p "$PG_BACKUP_DIR"
((EUID == 0)) && chown "$PG_OS_USER": "$PG_BACKUP_DIR"
as_pg_user mkdir -p "$PG_WAL_ARCHIVE" "$(dirname "$folder")"
[[ ! -e "$folder" ]] || die "${folder} already exists"

log "base backup of ${PG_HOST}:${PG_PORT} into ${folder}/data"
as_pg_user mkdir -p "$folder"
# -c fast: a checkpoint now rather than spread over checkpoint_timeout; -X stream: the WAL the
# copy needs, so the backup is consistent on its own.
as_pg_user "${PG_BIN}/pg_basebackup" -h "$socket" -p "$PG_PORT" -U postgres \
  -D "${folder}/data" -F plain -X stream -c fast --progress --label "medical backup $(date -u +%FT%TZ)" >&2 ||
  die "pg_basebackup failed"
log "verifying the backup against its manifest (pg_verifybackup)"
as_pg_user "${PG_BIN}/pg_verifybackup" -q "${folder}/data" >&2 || die "pg_verifybackup found the backup damaged"
# The segment the backup ended in, archived now rather than within archive_timeout.
admin_psql -At -c 'SELECT pg_switch_wal()' >/dev/null

printf '{"data":"%s","walArchive":"%s","port":%s}\n' "${folder}/data" "$PG_WAL_ARCHIVE" "$PG_PORT"
