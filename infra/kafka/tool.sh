#!/usr/bin/env bash
# Run a Kafka CLI class from the cached jars against the local broker, e.g.
#   infra/kafka/tool.sh org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
#   infra/kafka/tool.sh org.apache.kafka.tools.ConsoleProducer --bootstrap-server 127.0.0.1:9092 --topic t
#   infra/kafka/tool.sh org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server 127.0.0.1:9092 --topic t --from-beginning
#   infra/kafka/tool.sh org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server 127.0.0.1:9092 --describe --all-groups
# (The Kafka distribution's bin/*.sh wrappers are not installed; these are their classes.)
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

(($# >= 1)) || die "usage: $0 CLASS [ARGS...]"
[[ -f "${KAFKA_LIBS}/.complete" ]] || "${KAFKA_DIR}/fetch.sh"
exec "${KAFKA_TOOL_CMD[@]}" "$@"
