import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Logger } from 'pino';
import { openSqliteFile } from '../db/node-sqlite-dialect.ts';
import { backoffDelay, sleep } from '../lib/sleep.ts';
import { Utf8Decoding } from './delivery-decoding.ts';
import { batchesOf, MAX_MESSAGE_BYTES, MessageRefusedError, type Delivery, type EventTransport, type SubscribeOptions, type Subscription, type TransportMessage } from './transport.ts';

/**
 * The embedded transport: a durable, append-only log in one SQLite file that the local
 * processes share. It has one partition per topic, consumer groups with committed offsets, and
 * one active member per group at a time (a lease), like a single-partition Kafka topic.
 * SQLite's write lock serialises appends from every process; WAL lets readers go on meanwhile.
 */
const schema = `
CREATE TABLE IF NOT EXISTS messages (
  "offset" INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  message_key TEXT NOT NULL,
  message_id TEXT NOT NULL,
  headers TEXT NOT NULL,
  value TEXT NOT NULL,
  appended_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_topic_message_id ON messages (topic, message_id);
CREATE INDEX IF NOT EXISTS messages_topic_offset ON messages (topic, "offset");
CREATE TABLE IF NOT EXISTS consumer_offsets (
  group_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  committed_offset INTEGER NOT NULL,
  committed_at TEXT NOT NULL,
  PRIMARY KEY (group_id, topic)
);
CREATE TABLE IF NOT EXISTS consumer_leases (
  group_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  owner TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  PRIMARY KEY (group_id, topic)
);
`;

const DEFAULT_LEASE_MS = 10_000;
const BATCH = 200;
/**
 * A consumer commits its offset once per batch, and at least this often within a long one. The
 * inbox makes redelivery harmless, so committing less often only bounds what a crash replays;
 * committing after every message made the offset writes most of the log's write traffic.
 */
const COMMIT_INTERVAL_MS = 100;
/**
 * How long SQLite itself waits for the write lock before handing control back. Its busy handler
 * sleeps synchronously, freezing the event loop (and every HTTP request of the process), so it
 * only gets a few milliseconds; `withWriteLock` then waits asynchronously and tries again.
 */
const SQLITE_BUSY_WAIT_MS = 2;
const WRITE_LOCK_TIMEOUT_MS = 10_000;
const SQLITE_BUSY = 5;

type Durability = 'full' | 'relaxed';

type MessageRow = { offset: number; topic: string; message_key: string; headers: string; value: string };
/** A row as its bytes, for consumers: see `deliveryOf`. */
type MessageBytesRow = { offset: number; topic: string; message_key: Uint8Array; headers: Uint8Array; value: Uint8Array };

export type EmbeddedLogOptions = {
  file: string;
  pollIntervalMs: number;
  logger: Logger;
  retryBaseDelayMs?: number;
  /** How long a group member's claim lasts without renewal (a crashed member's is freed sooner: its pid is gone). */
  leaseMs?: number;
};

export function embeddedLogFile(dataDir: string): string {
  return path.join(dataDir, 'events.sqlite');
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class EmbeddedLog implements EventTransport {
  readonly kind = 'embedded' as const;
  private readonly database: DatabaseSync;
  private readonly options: EmbeddedLogOptions;
  private readonly subscriptions = new Set<LogConsumer>();

  private readonly statements = new Map<string, StatementSync>();

  /**
   * Opens the log, trying again while another process holds the file in a way SQLite answers
   * "database is locked" at once rather than wait (the processes of a system all open a new log
   * together: turning on WAL, creating the schema), for as long as a write may wait.
   */
  static async open(options: EmbeddedLogOptions): Promise<EmbeddedLog> {
    const deadline = Date.now() + WRITE_LOCK_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return new EmbeddedLog(options);
      } catch (error) {
        if ((error as { errcode?: number }).errcode !== SQLITE_BUSY || Date.now() > deadline) throw error;
        options.logger.debug({ attempt }, 'the embedded log is locked by another process; opening it again');
        await sleep(Math.min(10 * (attempt + 1), 200) * Math.random());
      }
    }
  }

  constructor(options: EmbeddedLogOptions) {
    fs.mkdirSync(path.dirname(options.file), { recursive: true });
    this.options = options;
    this.database = openSqliteFile(options.file);
    try {
      // Start-up may wait the full busy timeout for the schema; from then on, see withWriteLock.
      this.immediateNow(() => this.database.exec(schema), 'full');
      this.database.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_WAIT_MS}`);
    } catch (error) {
      this.database.close();
      throw error;
    }
  }

  /** A prepared statement, prepared once per connection: preparing is a large part of a small query's cost. */
  private statement(sql: string): StatementSync {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      prepared = this.database.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  /**
   * Runs `work` inside a write transaction taken up front, so two processes never deadlock
   * upgrading. 'relaxed' commits without waiting for the disk (synchronous = NORMAL): for offsets
   * and leases only, whose loss in a power cut means a redelivery that the inbox absorbs. An
   * appended message is always 'full': its outbox row is deleted once the append returns.
   */
  private immediateNow<T>(work: () => T, durability: Durability): T {
    const relaxed = durability === 'relaxed';
    // Everything below runs in one synchronous stretch, so no other write of this process can
    // commit while the connection is relaxed.
    if (relaxed) this.database.exec('PRAGMA synchronous = NORMAL');
    try {
      this.database.exec('BEGIN IMMEDIATE');
      try {
        const result = work();
        this.database.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.database.isTransaction) this.database.exec('ROLLBACK');
        throw error;
      }
    } finally {
      if (relaxed) this.database.exec('PRAGMA synchronous = FULL');
    }
  }

  /**
   * `immediateNow`, waiting for another process's write transaction asynchronously, so that the
   * process goes on serving requests meanwhile.
   */
  async withWriteLock<T>(work: () => T, durability: Durability): Promise<T> {
    const deadline = Date.now() + WRITE_LOCK_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return this.immediateNow(work, durability);
      } catch (error) {
        if ((error as { errcode?: number }).errcode !== SQLITE_BUSY || Date.now() > deadline) throw error;
        await sleep(Math.min(1 + attempt, 10) * Math.random());
      }
    }
  }

  async publish(messages: TransportMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const insert = this.statement(
      `INSERT OR IGNORE INTO messages (topic, message_key, message_id, headers, value, appended_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    // Refused before anything is written, as Kafka refuses the batch that holds such a message.
    for (const m of messages) {
      const bytes = Buffer.byteLength(m.value) + Buffer.byteLength(m.key) + Buffer.byteLength(JSON.stringify(m.headers));
      if (bytes > MAX_MESSAGE_BYTES) throw new MessageRefusedError(`the embedded log refuses a message of ${bytes} bytes (at most ${MAX_MESSAGE_BYTES})`);
    }
    const now = new Date().toISOString();
    await this.withWriteLock(() => {
      for (const m of messages) {
        insert.run(m.topic, m.key, m.id ?? m.headers.ce_id ?? randomUUID(), JSON.stringify(m.headers), m.value, now);
      }
    }, 'full');
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const consumer = new LogConsumer(this, options, this.options);
    this.subscriptions.add(consumer);
    consumer.start();
    return {
      stop: async () => {
        await consumer.stop();
        this.subscriptions.delete(consumer);
      },
    };
  }

  committedOffset(group: string, topic: string): number {
    const row = this
      .statement('SELECT committed_offset FROM consumer_offsets WHERE group_id = ? AND topic = ?')
      .get(group, topic) as { committed_offset: number } | undefined;
    return row?.committed_offset ?? 0;
  }

  /**
   * Commits only while `owner` still holds the group's lease, so a member that lost its claim
   * (paused too long) can neither move the offset nor deliver past the new holder.
   */
  commitAsOwner(group: string, topic: string, offset: number, owner: string): Promise<boolean> {
    return this.withWriteLock(() => {
      const lease = this
        .statement('SELECT owner, expires_at_ms FROM consumer_leases WHERE group_id = ? AND topic = ?')
        .get(group, topic) as { owner: string; expires_at_ms: number } | undefined;
      if (!lease || lease.owner !== owner || lease.expires_at_ms <= Date.now()) return false;
      this.writeOffset(group, topic, offset);
      return true;
    }, 'relaxed');
  }

  private writeOffset(group: string, topic: string, offset: number): void {
    this
      .statement(
        `INSERT INTO consumer_offsets (group_id, topic, committed_offset, committed_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (group_id, topic) DO UPDATE SET committed_offset = excluded.committed_offset,
           committed_at = excluded.committed_at`,
      )
      .run(group, topic, offset, new Date().toISOString());
  }

  async rewind(group: string, topic: string): Promise<void> {
    await this.withWriteLock(() => this.writeOffset(group, topic, 0), 'full');
  }

  async groupIsActive(group: string, topic: string): Promise<boolean> {
    const lease = this
      .statement('SELECT host, pid, expires_at_ms FROM consumer_leases WHERE group_id = ? AND topic = ?')
      .get(group, topic) as { host: string; pid: number; expires_at_ms: number } | undefined;
    if (!lease || lease.expires_at_ms <= Date.now()) return false;
    return lease.host !== os.hostname() || processIsAlive(lease.pid);
  }

  read(topic: string, afterOffset: number, limit: number): MessageRow[] {
    return this
      .statement(
        `SELECT "offset" AS offset, topic, message_key, headers, value FROM messages
         WHERE topic = ? AND "offset" > ? ORDER BY "offset" LIMIT ?`,
      )
      .all(topic, afterOffset, limit) as MessageRow[];
  }

  /**
   * `read`, with the key, headers and value as the bytes stored: SQLite hands text that is not
   * UTF-8 over with U+FFFD in place of the bad bytes, and a column holding a BLOB (SQLite types
   * values, not columns) as bytes, so the consumer decodes them itself (`deliveryOf`).
   */
  readBytes(topic: string, afterOffset: number, limit: number): MessageBytesRow[] {
    return this
      .statement(
        `SELECT "offset" AS offset, topic, CAST(message_key AS BLOB) AS message_key, CAST(headers AS BLOB) AS headers,
           CAST(value AS BLOB) AS value FROM messages
         WHERE topic = ? AND "offset" > ? ORDER BY "offset" LIMIT ?`,
      )
      .all(topic, afterOffset, limit) as MessageBytesRow[];
  }

  endOffset(topic: string): number {
    const row = this.statement('SELECT max("offset") AS last FROM messages WHERE topic = ?').get(topic) as {
      last: number | null;
    };
    return row.last ?? 0;
  }

  /** Takes or renews the group's lease; false while another live process holds it. */
  acquireLease(group: string, topic: string, owner: string, leaseMs = DEFAULT_LEASE_MS): Promise<boolean> {
    return this.withWriteLock(() => {
      const now = Date.now();
      const lease = this
        .statement('SELECT owner, host, pid, expires_at_ms FROM consumer_leases WHERE group_id = ? AND topic = ?')
        .get(group, topic) as { owner: string; host: string; pid: number; expires_at_ms: number } | undefined;
      const holderIsGone =
        lease !== undefined && lease.owner !== owner && lease.host === os.hostname() && !processIsAlive(lease.pid);
      if (lease && lease.owner !== owner && lease.expires_at_ms > now && !holderIsGone) return false;
      this
        .statement(
          `INSERT INTO consumer_leases (group_id, topic, owner, host, pid, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (group_id, topic) DO UPDATE SET owner = excluded.owner, host = excluded.host,
             pid = excluded.pid, expires_at_ms = excluded.expires_at_ms`,
        )
        .run(group, topic, owner, os.hostname(), process.pid, now + leaseMs);
      return true;
    }, 'relaxed');
  }

  releaseLease(group: string, topic: string, owner: string): Promise<void> {
    return this.withWriteLock(() => {
      this
        .statement('DELETE FROM consumer_leases WHERE group_id = ? AND topic = ? AND owner = ?')
        .run(group, topic, owner);
    }, 'relaxed');
  }

  async lag(group: string, topic: string): Promise<Array<{ partition: number; lag: number }>> {
    const end = this.endOffset(topic);
    const committed = this.committedOffset(group, topic);
    const row = this
      .statement('SELECT count(*) AS behind FROM messages WHERE topic = ? AND "offset" > ? AND "offset" <= ?')
      .get(topic, committed, end) as { behind: number };
    return [{ partition: 0, lag: row.behind }];
  }

  async ping(): Promise<void> {
    this.statement('SELECT 1').get();
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    this.database.close();
  }
}

/** One member of a consumer group: reads after the committed offset, hands each message over, commits. */
class LogConsumer {
  private readonly log: EmbeddedLog;
  private readonly options: SubscribeOptions;
  private readonly settings: EmbeddedLogOptions;
  private readonly owner = `${os.hostname()}:${process.pid}:${randomUUID()}`;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private leaseRenewAt = 0;

  constructor(log: EmbeddedLog, options: SubscribeOptions, settings: EmbeddedLogOptions) {
    this.log = log;
    this.options = options;
    this.settings = settings;
  }

  start(): void {
    this.running = this.loop().catch((error: unknown) => {
      this.settings.logger.fatal({ err: error, group: this.options.group }, 'embedded log consumer stopped');
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    try {
      await this.log.releaseLease(this.options.group, this.options.topic, this.owner);
    } catch {
      // The log may already be closed; an expired lease frees itself.
    }
  }

  private async holdsLease(): Promise<boolean> {
    if (Date.now() < this.leaseRenewAt) return true;
    const leaseMs = this.settings.leaseMs ?? DEFAULT_LEASE_MS;
    const held = await this.log.acquireLease(this.options.group, this.options.topic, this.owner, leaseMs);
    const taken = held && this.leaseRenewAt === 0;
    this.leaseRenewAt = held ? Date.now() + leaseMs / 3 : 0;
    // Taken over (at start, or after another member held it): resume where the subscriber's own
    // store says, which may be ahead of this log's offset (a crash between the two) or behind it
    // (the subscriber's database restored from a backup).
    if (taken && !(await this.resume())) return false;
    return held;
  }

  private async resume(): Promise<boolean> {
    const { group, topic, resumeFrom } = this.options;
    if (!resumeFrom) return true;
    const next = (await resumeFrom([0])).get(0);
    if (next === undefined || Number(next) - 1 === this.log.committedOffset(group, topic)) return true;
    if (await this.log.commitAsOwner(group, topic, Number(next) - 1, this.owner)) return true;
    this.leaseRenewAt = 0;
    return false;
  }

  private async loop(): Promise<void> {
    const { group, topic } = this.options;
    const { handleBatch, maxBatch } = batchesOf(this.options);
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      let holds: boolean;
      try {
        holds = await this.holdsLease();
      } catch (error) {
        // The subscriber's store could not say where to resume (its database is away): wait.
        this.leaseRenewAt = 0;
        this.settings.logger.warn({ err: error, group }, 'could not take the consumer lease over; retrying');
        holds = false;
      }
      if (!holds) {
        await sleep(500, signal);
        continue;
      }
      const rows = this.log.readBytes(topic, this.log.committedOffset(group, topic), BATCH);
      if (rows.length === 0) {
        await sleep(this.settings.pollIntervalMs, signal);
        continue;
      }
      // The last message handled and not yet committed; committed at the end of the rows read, on
      // a failure, and every COMMIT_INTERVAL_MS within a long run of batches.
      let handled: number | undefined;
      let committedAt = Date.now();
      const commitHandled = async (): Promise<boolean> => {
        if (handled === undefined) return true;
        const offset = handled;
        handled = undefined;
        committedAt = Date.now();
        if (await this.log.commitAsOwner(group, topic, offset, this.owner)) return true;
        this.leaseRenewAt = 0;
        this.settings.logger.warn({ group, offset }, 'lost the consumer lease; another member continues');
        return false;
      };
      for (let start = 0; start < rows.length; start += maxBatch) {
        // Renewed before every batch: a slow one (retries with backoff) must not outlive the claim.
        if (signal.aborted || !(await this.holdsLease())) break;
        const batch = rows.slice(start, start + maxBatch);
        try {
          await handleBatch(batch.map(deliveryOf));
          failures = 0;
        } catch (error) {
          // The handler owns retries and dead-lettering; reaching here means its own store failed.
          // Keep what was handled before it, and try the same batch again after a pause.
          failures += 1;
          this.settings.logger.error({ err: error, group, offset: batch[0]!.offset }, 'event handling failed; will redeliver');
          await commitHandled();
          await sleep(backoffDelay(failures, this.settings.retryBaseDelayMs ?? 200), signal);
          break;
        }
        handled = batch.at(-1)!.offset;
        if (Date.now() - committedAt >= COMMIT_INTERVAL_MS && !(await commitHandled())) break;
      }
      await commitHandled();
    }
  }
}

/**
 * The message as the handler gets it (delivery-decoding.ts). Parsing the header column never
 * throws: a row the consumer could not turn into a delivery would stop it at that offset for good.
 * Headers that are not a JSON object of strings are delivered as the strings among them (none,
 * when it is not an object), and reported, so the consumer dead-letters the message.
 */
function deliveryOf(row: MessageBytesRow): Delivery {
  const decoding = new Utf8Decoding();
  const headerText = decoding.text(row.headers, 'headers');
  const headers: Record<string, string> = {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(headerText);
  } catch {
    parsed = undefined;
  }
  let stringsOnly = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  if (stringsOnly) {
    for (const [name, value] of Object.entries(parsed as object)) {
      if (typeof value === 'string') headers[name] = value;
      else stringsOnly = false;
    }
  }
  if (!stringsOnly) decoding.malformed('headers', 'are not a JSON object of strings', row.headers);
  return decoding.deliver({
    topic: row.topic,
    key: decoding.text(row.message_key, 'key'),
    headers,
    value: decoding.text(row.value, 'value'),
    partition: 0,
    offset: String(row.offset),
  });
}
