#!/usr/bin/env bash
# Make the broker's JMX answer on 127.0.0.1:${KAFKA_JMX_PORT} (default 9999), for the
# bench's broker-side request counts (kafka.network:type=RequestMetrics). Idempotent.
#   - already answering: nothing to do;
#   - our broker started without it (an up.sh older than JMX): the JVM's management agent
#     is started in place with jcmd, so the broker keeps running (no restart, no lost
#     consumer groups);
#   - a broker this checkout did not start: left alone, and this says so (exit 1).
# Loopback only and without authentication: local development, like the rest of infra/.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if port_open "$KAFKA_HOST" "$KAFKA_JMX_PORT"; then
  log "JMX answers on ${KAFKA_HOST}:${KAFKA_JMX_PORT}"
  exit 0
fi

pid="$(kafka_pid)" || die "no broker started by this checkout is running; JMX can only be turned on for one (infra/kafka/up.sh starts it with JMX)"
command -v jcmd >/dev/null || die "jcmd (the JDK's) is needed to turn on JMX in the running broker; or restart it with infra/kafka/down.sh && infra/kafka/up.sh"

log "turning on JMX in the running broker (pid ${pid}) on ${KAFKA_HOST}:${KAFKA_JMX_PORT}"
# The registry and the RMI server on one port, bound to loopback. The stub's address is the
# JVM's java.rmi.server.hostname, which cannot be set after start: it is the host name's
# address, loopback on this machine; up.sh sets it for a broker it starts.
jcmd "$pid" ManagementAgent.start \
  "jmxremote.host=${KAFKA_HOST}" "jmxremote.port=${KAFKA_JMX_PORT}" "jmxremote.rmi.port=${KAFKA_JMX_PORT}" \
  jmxremote.authenticate=false jmxremote.ssl=false jmxremote.registry.ssl=false >&2
port_open "$KAFKA_HOST" "$KAFKA_JMX_PORT" || die "the management agent started, but nothing answers on ${KAFKA_HOST}:${KAFKA_JMX_PORT}"
log "JMX answers on ${KAFKA_HOST}:${KAFKA_JMX_PORT}"
