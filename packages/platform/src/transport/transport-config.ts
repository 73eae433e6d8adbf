/** The production transport's connection settings (KAFKA_* in the service's configuration). */
export type KafkaSettings = {
  brokers: string[];
  clientId: string;
  /** Partitions of the topics this service creates at start-up when they do not exist. */
  partitions: number;
  replicationFactor: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Set (KAFKA_TLS=true): every client connects with TLS and verifies the brokers' certificates and names. */
  tls?: KafkaTlsSettings;
};

/**
 * KAFKA_TLS_*: where the PEM files are. They are read, and checked, when the transport (or the
 * dead-letters tool's reader) makes its clients, at start (transport/kafka-tls.ts), not here: the
 * configuration of a service stays checkable where the files are not (the deployment's tests).
 * A renewed certificate is picked up by the next start (a rolling restart).
 */
export type KafkaTlsSettings = {
  /** PEM, one or more certificates the brokers' certificates must chain to. Unset: Node's default roots. */
  caFile?: string;
  /** PEM client certificate and its unencrypted key, for mutual TLS (Strimzi's user.crt and user.key); both or neither. */
  certFile?: string;
  keyFile?: string;
};

/**
 * What the transport needs of the service's configuration (service/config.ts): the topics, the
 * embedded log's directory and pace, and Kafka's settings when it is the transport.
 */
export type TransportConfig = {
  dataDir: string;
  topic: string;
  deadLetterTopic: string;
  accessLogTopic: string;
  /** retention.ms of each topic the Kafka transport creates (from the retention table); -1 keeps it for good. */
  topicRetentionMs?: Readonly<Record<string, number>>;
  /**
   * The topics this process uses, which the Kafka transport checks (and creates where allowed) at
   * start: by default the events', the dead letters' and the access log's. The gateway names only
   * the access log's, the one topic its Kafka user may see.
   */
  topics?: readonly string[];
  pollIntervalMs: number;
  retryBaseDelayMs: number;
  /** Set: the production transport (Apache Kafka). Unset: the embedded log under DATA_DIR. */
  kafka?: KafkaSettings;
};
