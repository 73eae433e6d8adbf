/**
 * The event transport port. A message is what travels: CloudEvents binary mode, the attributes
 * as `ce_*` headers and the JSON data as the value, the same on Kafka and on the embedded log.
 */
export type TransportMessage = {
  /**
   * What makes a re-publish recognisable (the outbox row's id). Defaults to the `ce_id` header;
   * dead letters of one event from two services share that header, so they carry their own.
   */
  id?: string;
  topic: string;
  key: string;
  headers: Record<string, string>;
  value: string;
};

/** A part of a delivered message that was not text (not UTF-8), with its original bytes (delivery-decoding.ts). */
export type UndecodablePart = {
  /** 'headers' is the embedded log's header column as a whole. */
  part: 'key' | 'value' | 'header' | 'header name' | 'headers';
  /** The header's name as delivered, for 'header' and 'header name'. */
  name?: string;
  problem: string;
  bytes: Uint8Array;
};

export type Delivery = TransportMessage & {
  partition: number;
  offset: string;
  /**
   * The parts of the message that were not text (not UTF-8), as their transport decoded them
   * (delivery-decoding.ts): the strings above then hold U+FFFD in their place, and the consumer
   * dead-letters the message with these original bytes. Absent when everything decoded.
   */
  undecodable?: UndecodablePart[];
};

/**
 * Called once per message, in log order per partition. The offset is committed only after the
 * handler resolves; a handler that rejects gets the same message again (at-least-once).
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

/**
 * Called with consecutive messages of one partition, in log order, at most `maxBatch` of them:
 * what the transport has fetched for that partition, so a busy partition's events are handled
 * together. Batches of different partitions may be in hand at the same time; one partition's
 * never. The transport moves past a batch only once the handler resolved; a handler that rejects
 * gets the same batch again after a backoff (at-least-once).
 */
export type BatchHandler = (deliveries: Delivery[]) => Promise<void>;

/**
 * Where the subscriber's own store says each partition resumes: the offset after the last
 * message whose effect it committed (the service's database, in the same transaction as the
 * effect). Asked whenever the member takes partitions over; a partition it does not name resumes
 * from the transport's committed offset, which is then only a mark of progress.
 */
export type ResumePositions = (partitions: readonly number[]) => Promise<Map<number, bigint>>;

export type SubscribeOptions = {
  group: string;
  topic: string;
} & (
  | { handle: DeliveryHandler; handleBatch?: undefined; maxBatch?: undefined; resumeFrom?: undefined }
  | { handleBatch: BatchHandler; maxBatch: number; resumeFrom?: ResumePositions; handle?: undefined }
);

/** The subscriber's handler as batches, and the most a batch holds (1 for a per-message handler). */
export function batchesOf(options: SubscribeOptions): { handleBatch: BatchHandler; maxBatch: number } {
  if (options.handleBatch) return { handleBatch: options.handleBatch, maxBatch: Math.max(1, options.maxBatch) };
  const handle = options.handle;
  return {
    maxBatch: 1,
    handleBatch: async (deliveries) => {
      for (const delivery of deliveries) await handle(delivery);
    },
  };
}

export type Subscription = {
  /** Stops fetching, waits for the message in hand, and commits it. */
  stop(): Promise<void>;
};

/**
 * Thrown by `publish` when the transport refuses a message for good: larger than it accepts, or
 * a record it calls invalid. Sending the same message again cannot succeed, so the outbox relay
 * sets it aside after its retry budget (outbox/outbox.ts) instead of retrying it for ever while
 * every later event of the service waits behind it. Any other failure is an outage and is retried.
 */
export class MessageRefusedError extends Error {
  override name = 'MessageRefusedError';
}

/**
 * The most a message (value, key and headers) may weigh on either transport: Kafka's default
 * `message.max.bytes`, so that what the embedded log accepts, a default broker accepts too.
 */
export const MAX_MESSAGE_BYTES = 1_048_588;

export interface EventTransport {
  readonly kind: 'embedded' | 'kafka';
  /** Resolves once every message is durably appended. Re-publishing a message id is harmless. */
  publish(messages: TransportMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Messages not yet consumed by the group, per partition, where the transport knows it. */
  lag(group: string, topic: string): Promise<Array<{ partition: number; lag: number }>>;
  /** Moves a group back to the start of the topic: how a read model is rebuilt. The group must be idle. */
  rewind(group: string, topic: string): Promise<void>;
  /** Whether a live member of the group is consuming now (a rebuild must not race it). */
  groupIsActive(group: string, topic: string): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
