/** The production transport's connection settings (KAFKA_* in the service's configuration). */
export type KafkaSettings = {
  brokers: string[];
  clientId: string;
  /** Partitions of the topics this service creates at start-up when they do not exist. */
  partitions: number;
  replicationFactor: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
};

/**
 * What the transport needs of the service's configuration (service/config.ts): the topics, the
 * embedded log's directory and pace, and Kafka's settings when it is the transport.
 */
export type TransportConfig = {
  dataDir: string;
  topic: string;
  deadLetterTopic: string;
  pollIntervalMs: number;
  retryBaseDelayMs: number;
  /** Set: the production transport (Apache Kafka). Unset: the embedded log under DATA_DIR. */
  kafka?: KafkaSettings;
};
