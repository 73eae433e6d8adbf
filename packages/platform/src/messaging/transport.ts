import type { UndecodablePart } from './delivery-decoding.ts';

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

export type SubscribeOptions = {
  group: string;
  topic: string;
  handle: DeliveryHandler;
};

export type Subscription = {
  /** Stops fetching, waits for the message in hand, and commits it. */
  stop(): Promise<void>;
};

/**
 * Thrown by `publish` when the transport refuses a message for good: larger than it accepts, or
 * a record it calls invalid. Sending the same message again cannot succeed, so the outbox relay
 * sets it aside after its retry budget (outbox.ts) instead of retrying it for ever while every
 * later event of the service waits behind it. Any other failure is an outage and is retried.
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
