import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import type { Logger } from 'pino';
import { openSqliteFile } from '../db/node-sqlite-dialect.ts';
import { backoffDelay, sleep } from './sleep.ts';
import type { Delivery, EventTransport, SubscribeOptions, Subscription, TransportMessage } from './transport.ts';

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

type MessageRow = { offset: number; topic: string; message_key: string; headers: string; value: string };

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

  constructor(options: EmbeddedLogOptions) {
    fs.mkdirSync(path.dirname(options.file), { recursive: true });
    this.options = options;
    this.database = openSqliteFile(options.file);
    this.immediate(() => this.database.exec(schema));
  }

  /** Runs `work` inside a write transaction taken up front, so two processes never deadlock upgrading. */
  immediate<T>(work: () => T): T {
    this.database.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.database.exec('COMMIT');
      return result;
    } catch (error) {
      this.database.exec('ROLLBACK');
      throw error;
    }
  }

  async publish(messages: TransportMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const insert = this.database.prepare(
      `INSERT OR IGNORE INTO messages (topic, message_key, message_id, headers, value, appended_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const now = new Date().toISOString();
    this.immediate(() => {
      for (const m of messages) {
        insert.run(m.topic, m.key, m.id ?? m.headers.ce_id ?? randomUUID(), JSON.stringify(m.headers), m.value, now);
      }
    });
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
    const row = this.database
      .prepare('SELECT committed_offset FROM consumer_offsets WHERE group_id = ? AND topic = ?')
      .get(group, topic) as { committed_offset: number } | undefined;
    return row?.committed_offset ?? 0;
  }

  /**
   * Commits only while `owner` still holds the group's lease, so a member that lost its claim
   * (paused too long) can neither move the offset nor deliver past the new holder.
   */
  commitAsOwner(group: string, topic: string, offset: number, owner: string): boolean {
    return this.immediate(() => {
      const lease = this.database
        .prepare('SELECT owner, expires_at_ms FROM consumer_leases WHERE group_id = ? AND topic = ?')
        .get(group, topic) as { owner: string; expires_at_ms: number } | undefined;
      if (!lease || lease.owner !== owner || lease.expires_at_ms <= Date.now()) return false;
      this.writeOffset(group, topic, offset);
      return true;
    });
  }

  private writeOffset(group: string, topic: string, offset: number): void {
    this.database
      .prepare(
        `INSERT INTO consumer_offsets (group_id, topic, committed_offset, committed_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (group_id, topic) DO UPDATE SET committed_offset = excluded.committed_offset,
           committed_at = excluded.committed_at`,
      )
      .run(group, topic, offset, new Date().toISOString());
  }

  commit(group: string, topic: string, offset: number): void {
    this.immediate(() => this.writeOffset(group, topic, offset));
  }

  async rewind(group: string, topic: string): Promise<void> {
    this.commit(group, topic, 0);
  }

  async groupIsActive(group: string, topic: string): Promise<boolean> {
    const lease = this.database
      .prepare('SELECT host, pid, expires_at_ms FROM consumer_leases WHERE group_id = ? AND topic = ?')
      .get(group, topic) as { host: string; pid: number; expires_at_ms: number } | undefined;
    if (!lease || lease.expires_at_ms <= Date.now()) return false;
    return lease.host !== os.hostname() || processIsAlive(lease.pid);
  }

  read(topic: string, afterOffset: number, limit: number): MessageRow[] {
    return this.database
      .prepare(
        `SELECT "offset" AS offset, topic, message_key, headers, value FROM messages
         WHERE topic = ? AND "offset" > ? ORDER BY "offset" LIMIT ?`,
      )
      .all(topic, afterOffset, limit) as MessageRow[];
  }

  endOffset(topic: string): number {
    const row = this.database.prepare('SELECT max("offset") AS last FROM messages WHERE topic = ?').get(topic) as {
      last: number | null;
    };
    return row.last ?? 0;
  }

  /** Takes or renews the group's lease; false while another live process holds it. */
  acquireLease(group: string, topic: string, owner: string, leaseMs = DEFAULT_LEASE_MS): boolean {
    const now = Date.now();
    return this.immediate(() => {
      const lease = this.database
        .prepare('SELECT owner, host, pid, expires_at_ms FROM consumer_leases WHERE group_id = ? AND topic = ?')
        .get(group, topic) as { owner: string; host: string; pid: number; expires_at_ms: number } | undefined;
      const holderIsGone =
        lease !== undefined && lease.owner !== owner && lease.host === os.hostname() && !processIsAlive(lease.pid);
      if (lease && lease.owner !== owner && lease.expires_at_ms > now && !holderIsGone) return false;
      this.database
        .prepare(
          `INSERT INTO consumer_leases (group_id, topic, owner, host, pid, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (group_id, topic) DO UPDATE SET owner = excluded.owner, host = excluded.host,
             pid = excluded.pid, expires_at_ms = excluded.expires_at_ms`,
        )
        .run(group, topic, owner, os.hostname(), process.pid, now + leaseMs);
      return true;
    });
  }

  releaseLease(group: string, topic: string, owner: string): void {
    this.immediate(() =>
      this.database
        .prepare('DELETE FROM consumer_leases WHERE group_id = ? AND topic = ? AND owner = ?')
        .run(group, topic, owner),
    );
  }

  async lag(group: string, topic: string): Promise<Array<{ partition: number; lag: number }>> {
    const end = this.endOffset(topic);
    const committed = this.committedOffset(group, topic);
    const row = this.database
      .prepare('SELECT count(*) AS behind FROM messages WHERE topic = ? AND "offset" > ? AND "offset" <= ?')
      .get(topic, committed, end) as { behind: number };
    return [{ partition: 0, lag: row.behind }];
  }

  async ping(): Promise<void> {
    this.database.prepare('SELECT 1').get();
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
      this.log.releaseLease(this.options.group, this.options.topic, this.owner);
    } catch {
      // The log may already be closed; an expired lease frees itself.
    }
  }

  private holdsLease(): boolean {
    if (Date.now() < this.leaseRenewAt) return true;
    const leaseMs = this.settings.leaseMs ?? DEFAULT_LEASE_MS;
    const held = this.log.acquireLease(this.options.group, this.options.topic, this.owner, leaseMs);
    this.leaseRenewAt = held ? Date.now() + leaseMs / 3 : 0;
    return held;
  }

  private async loop(): Promise<void> {
    const { group, topic, handle } = this.options;
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      if (!this.holdsLease()) {
        await sleep(500, signal);
        continue;
      }
      const rows = this.log.read(topic, this.log.committedOffset(group, topic), BATCH);
      if (rows.length === 0) {
        await sleep(this.settings.pollIntervalMs, signal);
        continue;
      }
      for (const row of rows) {
        // Renewed before every message: a slow batch (retries with backoff) must not outlive the claim.
        if (signal.aborted || !this.holdsLease()) break;
        const delivery: Delivery = {
          topic: row.topic,
          key: row.message_key,
          headers: JSON.parse(row.headers) as Record<string, string>,
          value: row.value,
          partition: 0,
          offset: String(row.offset),
        };
        try {
          await handle(delivery);
          failures = 0;
        } catch (error) {
          // The handler owns retries and dead-lettering; reaching here means its own store failed.
          // Leave the offset where it is and try the same message again after a pause.
          failures += 1;
          this.settings.logger.error({ err: error, group, offset: row.offset }, 'event handling failed; will redeliver');
          await sleep(backoffDelay(failures, this.settings.retryBaseDelayMs ?? 200), signal);
          break;
        }
        if (!this.log.commitAsOwner(group, topic, row.offset, this.owner)) {
          this.leaseRenewAt = 0;
          this.settings.logger.warn({ group, offset: row.offset }, 'lost the consumer lease; another member continues');
          break;
        }
      }
    }
  }
}
