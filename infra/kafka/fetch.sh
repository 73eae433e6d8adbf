#!/usr/bin/env bash
# Fetch the Kafka and log4j2 jars listed in pom.xml into the cache
# ($INFRA_CACHE_DIR/kafka-<version>/libs). Runs Maven only when the cache is missing
# or was filled from a different pom, so later runs are fast and work offline.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# The stamp ties the cached jars to the exact pom and version that produced them.
stamp_value="$(cat "${KAFKA_DIR}/pom.xml" <(printf '%s\n' "$KAFKA_VERSION") | sha256sum | cut -d' ' -f1)"
stamp_file="${KAFKA_LIBS}/.complete"

if [[ -f "$stamp_file" && "$(<"$stamp_file")" == "$stamp_value" ]]; then
  log "jars for Kafka ${KAFKA_VERSION} already cached in ${KAFKA_LIBS}"
  exit 0
fi

command -v mvn >/dev/null || die "mvn not found: it is needed once to fetch the Kafka jars"

log "fetching Kafka ${KAFKA_VERSION} jars from Maven Central into ${KAFKA_LIBS} (first run only)"
# Download into a scratch folder and move it into place at the end, so an interrupted
# or failed download never leaves a half-filled libs folder that looks usable.
parent="$(dirname "$KAFKA_LIBS")"
mkdir -p "$parent"
tmp="$(mktemp -d "${parent}/libs.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# -B and style.color=never: no progress bars or ANSI colour codes in the caller's log.
# Maven's stdout goes to stderr too, because up.sh's stdout is reserved for the exports.
if ! mvn -B -q -Dstyle.color=never -f "${KAFKA_DIR}/pom.xml" \
  -Dkafka.version="$KAFKA_VERSION" \
  dependency:copy-dependencies \
  -DoutputDirectory="$tmp" \
  -DincludeScope=runtime >&2; then
  die "mvn could not fetch org.apache.kafka:kafka_2.13:${KAFKA_VERSION} (is Maven Central reachable?)"
fi

ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 ||
  die "Maven finished but kafka_2.13-${KAFKA_VERSION}.jar is missing from the download"

printf '%s\n' "$stamp_value" >"${tmp}/.complete"
rm -rf "$KAFKA_LIBS"
mv "$tmp" "$KAFKA_LIBS"
trap - EXIT
log "cached $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$KAFKA_LIBS" | cut -f1))"
