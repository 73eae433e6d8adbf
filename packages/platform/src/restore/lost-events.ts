import type { StoredMessage } from '../inbox/stored-message.ts';

/**
 * Which events of the log a restore lost, decided without I/O. After a point-in-time restore the
 * services' databases stand at the target time, and the event log (Kafka, which was not restored)
 * goes on past it. Each event there was committed by its producer in the same transaction as the
 * audit row that names it (service/decision.ts), so the producer's restored audit trail says
 * whether the event is still part of the system's history:
 *
 * - **kept**: its producer's trail names it. It happened before the target time; a consumer whose
 *   position is before it applies it again when it starts, as any redelivery.
 * - **lost**: its producer's trail does not. It was committed after the target time, and the state
 *   it came from is gone. A consumer that has not applied it yet must not apply it on its own: it
 *   is set aside as a dead letter of that consumer, for a person to decide (replay it if it should
 *   stand, or leave it).
 *
 * Events from outside the services (no known producer) are left to the consumers, which already
 * dead-letter what they cannot validate.
 */

export type ConsumerPlace = {
  /** The consumer's service name (its consumer group without prefix), as dead letters name it. */
  service: string;
  /** The event types it applies; 'all' for the read model. */
  handles: 'all' | readonly string[];
  /** The next offset it would read, per partition; a partition it never read starts at 0. */
  positions: ReadonlyMap<number, bigint>;
};

export type LostEvents = {
  /** Every lost event, once (the first copy in the log), in log order. */
  lost: StoredMessage[];
  /** Per consumer, the lost events it has not applied and handles: what is set aside for it. */
  setAside: Map<string, StoredMessage[]>;
  /** Events at or after some consumer's position that their producer still names: applied again. */
  keptAhead: number;
};

/** The service that produced an event, from its CloudEvents source (`/reception` → reception). */
export function producerOf(message: StoredMessage): string | undefined {
  const source = message.headers.ce_source;
  return source?.startsWith('/') ? source.slice(1) : undefined;
}

/** The events at or after the lowest position of any consumer: the only ones a restore can affect. */
export function eventsAhead(messages: readonly StoredMessage[], consumers: readonly ConsumerPlace[]): StoredMessage[] {
  return messages.filter((m) => consumers.some((c) => BigInt(m.offset) >= (c.positions.get(m.partition) ?? 0n)));
}

export function findLostEvents(
  messages: readonly StoredMessage[],
  consumers: readonly ConsumerPlace[],
  /** The event ids each producer's restored audit trail names; undefined for a producer not restored here. */
  committedBy: (producer: string) => ReadonlySet<string> | undefined,
): LostEvents {
  const lost: StoredMessage[] = [];
  const lostIds = new Set<string>();
  const keptIds = new Set<string>();
  for (const message of eventsAhead(messages, consumers)) {
    const id = message.headers.ce_id;
    const producer = producerOf(message);
    const committed = producer === undefined ? undefined : committedBy(producer);
    if (id === undefined || committed === undefined) continue;
    if (committed.has(id)) keptIds.add(id);
    else if (!lostIds.has(id)) {
      lostIds.add(id);
      lost.push(message);
    }
  }
  const setAside = new Map<string, StoredMessage[]>();
  for (const consumer of consumers) {
    const handled = (type: string | undefined) => consumer.handles === 'all' || (type !== undefined && consumer.handles.includes(type));
    const mine = lost.filter((m) => handled(m.headers.ce_type) && BigInt(m.offset) >= (consumer.positions.get(m.partition) ?? 0n));
    if (mine.length > 0) setAside.set(consumer.service, mine);
  }
  return { lost, setAside, keptAhead: keptIds.size };
}
