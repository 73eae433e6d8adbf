import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { EmbeddedLog, embeddedLogFile } from '../transport/embedded-log.ts';
import type { EventTransport, TransportMessage } from '../transport/transport.ts';
import type { TransportConfig } from '../transport/transport-config.ts';
import { DEAD_LETTER_ID_HEADER, REPLAY_FOR_HEADER, REPLAY_OF_HEADER } from './consumer.ts';
import type { StoredMessage } from './stored-message.ts';

/**
 * The operator's side of the dead-letter topic (`npm run dead-letters`): read the letters back,
 * and replay one after a fix. A dead letter is the original message (key, value, `ce_*` headers)
 * plus the `dlq_*` headers the idempotent consumer adds when it gives up (consumer.ts).
 */

export type DeadLetter = {
  /**
   * The letter's own id: its `dlq_id` header (a UUID, the same on both transports, kept when the
   * relay publishes the letter twice). Letters written before that header existed are named by
   * their position on the dead-letter topic, `<partition>:<offset>`.
   */
  id: string;
  eventType: string;
  /** The CloudEvents id (`ce_id`) of the original event; a replay keeps it. */
  eventId: string;
  key: string;
  /** The consumer group (service) that gave up on the event. */
  group: string;
  reason: string;
  failedAt: string;
  original: { topic: string; partition: number; offset: string };
  deadLetter: { topic: string; partition: number; offset: string };
  /** Set when the event failed again after a replay: the id of the letter that was replayed. */
  replayOf?: string;
  headers: Record<string, string>;
  value: string;
};

export function deadLetterOf(topic: string, message: StoredMessage): DeadLetter {
  const h = message.headers;
  const letter: DeadLetter = {
    id: h[DEAD_LETTER_ID_HEADER] || `${message.partition}:${message.offset}`,
    eventType: h.ce_type ?? '(none)',
    eventId: h.ce_id ?? '(none)',
    key: message.key,
    group: h.dlq_consumer_group ?? '?',
    reason: h.dlq_reason ?? '?',
    failedAt: h.dlq_failed_at ?? '?',
    original: {
      topic: h.dlq_original_topic ?? '?',
      partition: Number(h.dlq_original_partition ?? 0),
      offset: h.dlq_original_offset ?? '?',
    },
    deadLetter: { topic, partition: message.partition, offset: message.offset },
    headers: h,
    value: message.value,
  };
  if (h[REPLAY_OF_HEADER]) letter.replayOf = h[REPLAY_OF_HEADER];
  return letter;
}

/** The letters of the dead-letter topic in log order, each once (a relay may publish a letter twice). */
export function deadLettersOf(topic: string, messages: StoredMessage[]): DeadLetter[] {
  const seen = new Set<string>();
  const letters: DeadLetter[] = [];
  for (const message of messages) {
    const letter = deadLetterOf(topic, message);
    if (seen.has(letter.id)) continue;
    seen.add(letter.id);
    letters.push(letter);
  }
  return letters;
}

export type Found = { ok: true; letter: DeadLetter } | { ok: false; reason: string };

/** The letter named `id`, or a unique prefix of its id (at least 8 characters), as `list` prints it. */
export function findDeadLetter(letters: DeadLetter[], id: string): Found {
  const wanted = id.trim();
  const exact = letters.find((l) => l.id === wanted);
  if (exact) return { ok: true, letter: exact };
  const matching = wanted.length >= 8 ? letters.filter((l) => l.id.startsWith(wanted)) : [];
  if (matching.length === 1) return { ok: true, letter: matching[0]! };
  if (matching.length > 1) return { ok: false, reason: `"${wanted}" names ${matching.length} dead letters: ${matching.map((l) => l.id).join(', ')}` };
  return { ok: false, reason: `no dead letter with id "${wanted}" (${letters.length} on the dead-letter topic)` };
}

/**
 * The original event again, as the consumer first got it: its topic, key, value and headers,
 * the same `ce_id` (so services that applied it see a duplicate), without the `dlq_*` headers,
 * plus `dlq_replay_of` (so the services that dead-lettered it apply it: see consumer.ts). The
 * transport message id is new for every replay: the embedded log drops a re-used one, and a
 * letter may need replaying twice (after a fix that did not take).
 */
export function replayMessage(letter: DeadLetter, groups: readonly string[], replayId: string = randomUUID()): TransportMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(letter.headers)) if (!name.startsWith('dlq_')) headers[name] = value;
  headers[REPLAY_OF_HEADER] = letter.id;
  // Addressed to the groups that gave up on this event: the others skip it, whether or not their
  // inbox still remembers applying it (inbox-retention.ts).
  const addressees = groups.filter((group) => group !== '?');
  if (addressees.length > 0) headers[REPLAY_FOR_HEADER] = addressees.join(',');
  return { id: `replay-${replayId}`, topic: letter.original.topic, key: letter.key, headers, value: letter.value };
}

/** What `list --json` prints for one letter. */
export function deadLetterJson(letter: DeadLetter) {
  return {
    id: letter.id,
    eventType: letter.eventType,
    eventId: letter.eventId,
    key: letter.key,
    group: letter.group,
    reason: letter.reason,
    failedAt: letter.failedAt,
    original: letter.original,
    deadLetter: letter.deadLetter,
    ...(letter.replayOf ? { replayOf: letter.replayOf } : {}),
    value: letter.value,
  };
}

/** What `list` prints: one block per letter, the newest last. */
export function formatDeadLetters(topic: string, letters: DeadLetter[]): string {
  if (letters.length === 0) return `no dead letters on ${topic}\n`;
  const lines = [`${letters.length} dead letter${letters.length === 1 ? '' : 's'} on ${topic}:`, ''];
  for (const l of letters) {
    lines.push(
      `${l.id}`,
      `  event     ${l.eventType} ${l.eventId} (key ${l.key})`,
      `  group     ${l.group} gave up at ${l.failedAt}`,
      `  reason    ${oneLine(l.reason)}`,
      `  from      ${l.original.topic} partition ${l.original.partition} offset ${l.original.offset}`,
      ...(l.replayOf ? [`  replay of ${l.replayOf} (failed again)`] : []),
      '',
    );
  }
  lines.push('Replay one after fixing its cause: npm run dead-letters -- replay <id>');
  return `${lines.join('\n')}\n`;
}

function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

// ---- where the letters are --------------------------------------------------------------------

/** The dead-letter topic of a system, and the way back to its event topic. */
export interface DeadLetterStore {
  readonly kind: 'embedded' | 'kafka';
  readonly topic: string;
  /** Every message of the dead-letter topic, in order (on Kafka, partition by partition). */
  read(): Promise<StoredMessage[]>;
  publish(message: TransportMessage): Promise<void>;
  close(): Promise<void>;
}

export class DeadLetterStoreError extends Error {
  override name = 'DeadLetterStoreError';
}

/** Opens the dead-letter topic of the system configured like the services (loadConfig). */
export async function openDeadLetterStore(config: TransportConfig, logger: Logger): Promise<DeadLetterStore> {
  if (config.kafka) return new KafkaDeadLetterStore(config, logger);
  const file = embeddedLogFile(config.dataDir);
  // Opening the log would create an empty one: a wrong DATA_DIR would then look like "no letters".
  if (!fs.existsSync(file)) throw new DeadLetterStoreError(`no embedded event log at ${file}: set DATA_DIR to the services' data directory`);
  return new EmbeddedDeadLetterStore(config, file, logger);
}

const PAGE = 500;

class EmbeddedDeadLetterStore implements DeadLetterStore {
  readonly kind = 'embedded' as const;
  readonly topic: string;
  private readonly log: EmbeddedLog;

  constructor(config: TransportConfig, file: string, logger: Logger) {
    this.topic = config.deadLetterTopic;
    this.log = new EmbeddedLog({ file, pollIntervalMs: config.pollIntervalMs, retryBaseDelayMs: config.retryBaseDelayMs, logger });
  }

  async read(): Promise<StoredMessage[]> {
    const messages: StoredMessage[] = [];
    for (let after = 0; ; ) {
      const rows = this.log.read(this.topic, after, PAGE);
      for (const row of rows) {
        messages.push({ partition: 0, offset: String(row.offset), key: row.message_key, headers: JSON.parse(row.headers) as Record<string, string>, value: row.value });
      }
      if (rows.length < PAGE) return messages;
      after = rows.at(-1)!.offset;
    }
  }

  publish(message: TransportMessage): Promise<void> {
    return this.log.publish([message]);
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

class KafkaDeadLetterStore implements DeadLetterStore {
  readonly kind = 'kafka' as const;
  readonly topic: string;
  private readonly config: TransportConfig;
  private readonly logger: Logger;
  private transport: EventTransport | undefined;

  constructor(config: TransportConfig, logger: Logger) {
    this.config = config;
    this.logger = logger;
    this.topic = config.deadLetterTopic;
  }

  async read(): Promise<StoredMessage[]> {
    const { readKafkaTopic } = await import('./dead-letters-kafka.ts');
    const { brokers, clientId, tls } = this.config.kafka!;
    return readKafkaTopic(brokers, this.topic, { clientId, tls });
  }

  async publish(message: TransportMessage): Promise<void> {
    if (!this.transport) {
      // The services' own producer (idempotent, acks=all, the Java client's partitioner): the
      // replay lands in the partition of its key, behind the rest of its visit.
      const { openTransport } = await import('../transport/open-transport.ts');
      this.transport = await openTransport(this.config, this.logger);
    }
    await this.transport.publish([message]);
  }

  async close(): Promise<void> {
    await this.transport?.close();
  }
}

// ---- the two commands -------------------------------------------------------------------------

export async function listDeadLetters(store: DeadLetterStore): Promise<DeadLetter[]> {
  return deadLettersOf(store.topic, await store.read());
}

export type Replayed = {
  letter: DeadLetter;
  message: TransportMessage;
  /**
   * Every group with a letter for the same event: each of them applies the replay (its inbox has
   * the event as dead-lettered) unless it has applied the event since.
   */
  groups: string[];
};

/** Every group with a letter for the same event as `letter` (a letter without an event id stands alone): those a replay is for. */
function groupsThatGaveUp(letters: readonly DeadLetter[], letter: DeadLetter): string[] {
  const sameEvent = letter.headers.ce_id ? letters.filter((l) => l.eventId === letter.eventId) : [letter];
  return [...new Set(sameEvent.map((l) => l.group))];
}

/** Re-publishes the original event of letter `id` to its topic; fails with the reason when there is no such letter. */
export async function replayDeadLetter(store: DeadLetterStore, id: string): Promise<{ ok: true; replayed: Replayed } | { ok: false; reason: string }> {
  const letters = await listDeadLetters(store);
  const found = findDeadLetter(letters, id);
  if (!found.ok) return found;
  const { letter } = found;
  if (letter.original.topic === '?') return { ok: false, reason: `dead letter ${letter.id} does not name its original topic (no dlq_original_topic header)` };
  const groups = groupsThatGaveUp(letters, letter);
  const message = replayMessage(letter, groups);
  await store.publish(message);
  return { ok: true, replayed: { letter, message, groups } };
}

/**
 * The events of one visit (the message key, its reception id) that are dead letters, one letter
 * each (its newest: a failed replay's letter stands for the event now), in the order the events
 * first stood in the log: how a visit's letters are replayed, so each service applies them in the
 * order their producers wrote them.
 */
export function lettersOfVisit(letters: readonly DeadLetter[], key: string): DeadLetter[] {
  const events = new Map<string, DeadLetter[]>();
  for (const letter of letters.filter((l) => l.key === key)) {
    const event = letter.headers.ce_id ? letter.eventId : letter.id;
    events.set(event, [...(events.get(event) ?? []), letter]);
  }
  const position = (letter: DeadLetter) => (/^\d+$/.test(letter.original.offset) ? BigInt(letter.original.offset) : 0n);
  const ordered = [...events.values()].map((group) => {
    // Where the event itself stood: a replay's letter names the replayed copy, later in the log.
    const originals = group.filter((l) => l.replayOf === undefined);
    const first = (originals.length > 0 ? originals : group).map(position).reduce((a, b) => (b < a ? b : a));
    const newest = group.reduce((a, b) => (b.failedAt > a.failedAt ? b : a));
    return { first, newest };
  });
  return ordered.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0)).map((entry) => entry.newest);
}

/** Replays every dead-lettered event of one visit, in log order (lettersOfVisit), telling `onEach` after each. */
export async function replayVisit(store: DeadLetterStore, key: string, onEach: (done: number, total: number, replayed: Replayed) => void = () => {}): Promise<Replayed[]> {
  const letters = await listDeadLetters(store);
  const ordered = lettersOfVisit(letters, key);
  const replayed: Replayed[] = [];
  for (const letter of ordered) {
    if (letter.original.topic === '?') continue;
    const groups = groupsThatGaveUp(letters, letter);
    const message = replayMessage(letter, groups);
    await store.publish(message);
    replayed.push({ letter, message, groups });
    onEach(replayed.length, ordered.length, replayed.at(-1)!);
  }
  return replayed;
}
