#!/usr/bin/env bash
# Start a single-node KRaft Kafka (broker + controller in one JVM) on 127.0.0.1:9092, with a
# TLS listener (client certificates required) on 127.0.0.1:9094 when openssl is there.
# Idempotent: reuses a broker that already answers, or one of ours that is still starting.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Small by default: the machine has 2 cores and also runs PostgreSQL, five services
# and the test runner. Override with e.g. KAFKA_HEAP='-Xms1g -Xmx1g'.
KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"

# Wait until the broker process is up, the port accepts connections, the server has
# logged its start, and a real metadata request (TopicCommand --list) succeeds.
# The port alone opens before the broker has joined the quorum and can serve.
wait_ready() {
  local pid="$1" log_offset="${2:-0}" since=$SECONDS
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  log "waiting for the broker to serve on ${KAFKA_BOOTSTRAP} (timeout ${KAFKA_START_TIMEOUT}s)"
  while ((SECONDS < deadline)); do
    if ! pid_alive "$pid"; then
      log "the Kafka process (pid ${pid}) exited during startup"
      tail_log "$KAFKA_OUT" 20
      tail_log "$KAFKA_SERVER_LOG" 40
      rm -f "$KAFKA_PIDFILE"
      exit 1
    fi
    # Only log lines written since this start count: server.log keeps earlier runs.
    if port_open "$KAFKA_HOST" "$KAFKA_PORT" &&
      tail -c "+$((log_offset + 1))" "$KAFKA_SERVER_LOG" 2>/dev/null | grep -F 'Kafka Server started' >/dev/null; then
      # (grep without -q reads to the end: an early exit would SIGPIPE tail and, with
      # pipefail, turn a match into a failure.)
      # Bounded: a broker that accepts TCP but never answers must not hang up.sh.
      if timeout 30 "${KAFKA_TOOL_CMD[@]}" org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "$KAFKA_BOOTSTRAP" --list >/dev/null 2>&1; then
        log "broker is serving on ${KAFKA_BOOTSTRAP} (pid ${pid}, ready after $((SECONDS - since))s)"
        return 0
      fi
    fi
    sleep 1
  done
  log "the broker did not become ready within ${KAFKA_START_TIMEOUT}s"
  tail_log "$KAFKA_OUT" 20
  tail_log "$KAFKA_SERVER_LOG" 40
  # A broker that is not serving after the timeout is not left behind half-started
  # (raise KAFKA_START_TIMEOUT on a slow machine instead).
  stop_pid "$pid" "Kafka" 30
  rm -f "$KAFKA_PIDFILE"
  exit 1
}

# A broker started before up.sh turned JMX on gets it in place (jmx.sh); without it only the
# bench's broker-side request counts are missing, so a failure there is a warning.
ensure_jmx() {
  "${KAFKA_DIR}/jmx.sh" || log "WARNING: no JMX on ${KAFKA_HOST}:${KAFKA_JMX_PORT}; the bench cannot count the broker's requests"
}

# A broker started before up.sh added the TLS listener keeps running without it (restarting it
# here would take down the services and tests using it): say how to get it.
report_tls() {
  if ! grep -q '^listener.name.ssl.ssl.client.auth=' "$KAFKA_CONFIG" 2>/dev/null; then
    log "note: this broker has no TLS listener on ${KAFKA_TLS_BOOTSTRAP} (started before it was added, or without openssl); npm run infra:down && npm run infra:up adds it"
  fi
}

# 1. One of ours is already running (perhaps still starting): just wait for it.
if pid="$(kafka_pid)"; then
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    log "Kafka already running on ${KAFKA_BOOTSTRAP} (pid ${pid})"
    report_tls
    ensure_jmx
    exit 0
  fi
  log "Kafka (pid ${pid}) is starting; waiting for it"
  wait_ready "$pid"
  ensure_jmx
  exit 0
fi

# 2. Something else already answers on the port (another checkout's broker, a
#    developer's own Kafka): reuse it rather than fail on a port clash.
if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
  log "a broker already answers on ${KAFKA_BOOTSTRAP}; reusing it (not started by this checkout)"
  exit 0
fi

# Kafka 4 requires Java 17 or newer for the broker.
java_major="$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')"
java_major="${java_major%%.*}"
if ! [[ "$java_major" =~ ^[0-9]+$ ]] || ((java_major < 17)); then
  die "Kafka ${KAFKA_VERSION} needs Java 17+, found '${java_major:-none}' at ${JAVA}"
fi

"${KAFKA_DIR}/fetch.sh"

mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
rm -f "$KAFKA_PIDFILE"

# The TLS listener (SSL, client certificates required) beside PLAINTEXT, when tls.sh could make
# its certificates: PEM key and trust stores, read by the broker at start. Clients verify the
# broker's certificate against ca.crt and its name (127.0.0.1 and localhost are in it).
# A port taken by something else would stop the whole broker from starting: then it goes without.
tls_listener="" tls_protocol="" tls_settings=""
if port_open "$KAFKA_HOST" "$KAFKA_TLS_PORT"; then
  log "WARNING: ${KAFKA_TLS_BOOTSTRAP} is taken by another process: the broker starts without its TLS listener"
elif "${KAFKA_DIR}/tls.sh" ensure; then
  tls_listener=",SSL://${KAFKA_TLS_BOOTSTRAP}"
  tls_protocol=",SSL:SSL"
  tls_settings="$(printf '%s\n' \
    "# The TLS listener for the services' KAFKA_TLS tests (infra/kafka/tls.sh): mutual TLS." \
    "listener.name.ssl.ssl.keystore.type=PEM" \
    "listener.name.ssl.ssl.keystore.location=${KAFKA_TLS_DIR}/broker.pem" \
    "listener.name.ssl.ssl.truststore.type=PEM" \
    "listener.name.ssl.ssl.truststore.location=${KAFKA_TLS_DIR}/ca.crt" \
    "listener.name.ssl.ssl.client.auth=required")"
else
  log "WARNING: the broker starts without its TLS listener on ${KAFKA_TLS_BOOTSTRAP} (the Kafka TLS tests are skipped)"
fi

# Written on every start (it is derived, not state); the cluster id lives in
# data/meta.properties, written once by the format step below.
cat >"$KAFKA_CONFIG" <<PROPS
# Generated by infra/kafka/up.sh on every start; edit the script, not this file.
# Single-node KRaft: one JVM is both the broker and the only controller.
process.roles=broker,controller
node.id=1
# Static quorum of one voter. (StorageTool's --standalone is the alternative for a
# dynamic quorum, but 4.1 rejects it when controller.quorum.voters is set.)
controller.quorum.voters=1@${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://${KAFKA_HOST}:${KAFKA_PORT}${tls_listener},CONTROLLER://${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${KAFKA_HOST}:${KAFKA_PORT}${tls_listener}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT${tls_protocol},CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=${KAFKA_DATA}
${tls_settings}

# One broker: every internal topic must have replication factor 1 or it is never created.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1

# Tests start consumer groups constantly; the default 3 s join delay only slows them.
group.initial.rebalance.delay.ms=0
# Topics are created on purpose (the 'medical' topic and its DLQ), never by a typo.
auto.create.topics.enable=false
# More than one partition, so per-key ordering (key = reception id) is really exercised.
num.partitions=3

# Modest thread counts for a 2-core machine.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
PROPS

# Format the storage once. meta.properties marks a formatted log dir; formatting again
# would need the same cluster id, so a formatted dir is left alone.
if [[ ! -f "${KAFKA_DATA}/meta.properties" ]]; then
  cluster_id="$(kafka_tool kafka.tools.StorageTool random-uuid)"
  log "formatting storage in ${KAFKA_DATA} (cluster id ${cluster_id})"
  kafka_tool kafka.tools.StorageTool format \
    --cluster-id "$cluster_id" --config "$KAFKA_CONFIG" --ignore-formatted >&2
fi

# Where this start's lines begin in server.log (wait_ready ignores older runs' lines).
log_offset="$(stat -c %s "$KAFKA_SERVER_LOG" 2>/dev/null || echo 0)"
log "starting Kafka ${KAFKA_VERSION} (heap: ${KAFKA_HEAP}); logs in ${KAFKA_LOGS}"
# JMX on loopback (KAFKA_JMX_PORT), without authentication: the bench counts the broker's
# requests there (bench/lib/kafka-requests.ts).
# setsid: its own session, so Ctrl-C in the caller's terminal or the end of the npm
# process does not take the broker down. All three standard streams are redirected:
# an inherited stdout would keep `eval "$(npm run -s infra:up)"` waiting forever.
# kafka.out is truncated per start so a failure shows this start's JVM errors only.
# $KAFKA_HEAP is split on purpose (several JVM flags in one variable).
# shellcheck disable=SC2086
setsid "$JAVA" $KAFKA_HEAP \
  -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
  -Djava.awt.headless=true \
  -Dcom.sun.management.jmxremote.host="$KAFKA_HOST" \
  -Dcom.sun.management.jmxremote.port="$KAFKA_JMX_PORT" \
  -Dcom.sun.management.jmxremote.rmi.port="$KAFKA_JMX_PORT" \
  -Dcom.sun.management.jmxremote.authenticate=false \
  -Dcom.sun.management.jmxremote.ssl=false \
  -Djava.rmi.server.hostname="$KAFKA_HOST" \
  -Dkafka.logs.dir="$KAFKA_LOGS" \
  -Dlog4j2.configurationFile="${KAFKA_DIR}/log4j2.properties" \
  -cp "${KAFKA_LIBS}/*" \
  kafka.Kafka "$KAFKA_CONFIG" \
  </dev/null >"$KAFKA_OUT" 2>&1 &
pid=$!
printf '%s\n' "$pid" >"$KAFKA_PIDFILE"

wait_ready "$pid" "$log_offset"
