# shellcheck shell=bash
# Variables here are used by the scripts that source this file.
# shellcheck disable=SC2034
# Paths and helpers shared by the Kafka scripts. Sourced, never executed.
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
INFRA_COMPONENT=kafka

KAFKA_DIR="${INFRA_DIR}/kafka"
# 4.1.x: the line the project targets. Override to try another Maven Central release.
KAFKA_VERSION="${KAFKA_VERSION:-4.1.2}"
KAFKA_HOST=127.0.0.1
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_BOOTSTRAP="${KAFKA_HOST}:${KAFKA_PORT}"
# The TLS listener beside the plain-text one, with client certificates required, for the tests
# of the services' TLS settings (KAFKA_TLS); its certificates are made by tls.sh.
KAFKA_TLS_PORT="${KAFKA_TLS_PORT:-9094}"
KAFKA_TLS_BOOTSTRAP="${KAFKA_HOST}:${KAFKA_TLS_PORT}"
# The broker's JMX (registry and RMI server on one port, loopback only): the bench reads the
# broker's request counts there (infra/kafka/jmx.sh, bench/lib/kafka-requests.ts).
KAFKA_JMX_PORT="${KAFKA_JMX_PORT:-9999}"

KAFKA_LIBS="${INFRA_CACHE_DIR}/kafka-${KAFKA_VERSION}/libs"
KAFKA_STATE="${INFRA_STATE_DIR}/kafka"
KAFKA_DATA="${KAFKA_STATE}/data"
KAFKA_LOGS="${KAFKA_STATE}/logs"
KAFKA_CONFIG="${KAFKA_STATE}/server.properties"
KAFKA_TLS_DIR="${KAFKA_STATE}/tls"
KAFKA_PIDFILE="${KAFKA_STATE}/kafka.pid"
KAFKA_SERVER_LOG="${KAFKA_LOGS}/server.log"
# The JVM's own stdout/stderr (crashes, -XX output); log4j2 writes server.log.
KAFKA_OUT="${KAFKA_LOGS}/kafka.out"

JAVA="${JAVA:-java}"

# The JVM command line for the jars' short-lived CLI classes, with quiet logging.
# C1-only JIT, serial GC and a small heap because these JVMs live for a second or two
# and the machine has 2 cores shared with the broker and the services.
KAFKA_TOOL_CMD=(
  "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
  -Dlog4j2.configurationFile="${KAFKA_DIR}/log4j2-tools.properties"
  -cp "${KAFKA_LIBS}/*"
)

# kafka_tool CLASS ARGS...: run one CLI class from the cached jars.
kafka_tool() {
  "${KAFKA_TOOL_CMD[@]}" "$@"
}

# kafka_pid: the broker's pid from the pid file, if that process is really our broker.
kafka_pid() {
  local pid
  [[ -f "$KAFKA_PIDFILE" ]] || return 1
  pid="$(<"$KAFKA_PIDFILE")"
  pid_alive "$pid" || return 1
  # A stale pid file may name a pid the kernel has since reused for something else.
  pid_cmdline_has "$pid" "$KAFKA_CONFIG" || return 1
  printf '%s\n' "$pid"
}
