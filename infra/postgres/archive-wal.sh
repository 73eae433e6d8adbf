#!/usr/bin/env bash
# The local PostgreSQL's archive_command (infra/postgres/common.sh, archive_settings):
#   archive-wal.sh <path of the finished segment> <path in the archive>
# Copies one finished WAL segment into the archive that npm run backup keeps for point-in-time
# recovery. Until the first base backup has made the archive's folder there is nothing a segment
# could be replayed onto, so it is let go (exit 0) and the server recycles it: a server that was
# never backed up keeps no WAL it does not need.
#
# The copy is written under a temporary name, flushed to disk and only then renamed, so the
# archive never holds half a segment; a segment archived before with the same bytes (the server
# retries after a crash) is success, one with other bytes is refused, as PostgreSQL's
# documentation asks of an archive_command. Runs as the server's OS user, with its environment.
set -euo pipefail
source_path="$1"
target="$2"
archive="$(dirname "$target")"
[[ -d "$archive" ]] || exit 0
if [[ -e "$target" ]]; then
  cmp -s "$source_path" "$target" && exit 0
  echo "archive-wal: ${target} is already archived with other contents; refusing to overwrite it" >&2
  exit 1
fi
partial="${target}.partial"
cp "$source_path" "$partial"
sync "$partial"
mv "$partial" "$target"
sync "$archive"
