import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * A look into the embedded event log (DATA_DIR/events.sqlite, schema in
 * packages/platform/src/messaging/embedded-log.ts) from outside the services: consumer lag, the
 * log's end, dead letters, and rewinding a consumer group. Each call opens and closes its own
 * connection, so the test never holds a lock the services wait on.
 */

export const TOPIC = 'medical';
export const DEAD_LETTER_TOPIC = 'medical.dlq';

/** The consumer groups of the embedded profile: one per consuming service, named after it. */
export const CONSUMER_GROUPS = ['reception', 'diagnosis', 'examination', 'patient-management'] as const;

function withLog<T>(dataDir: string, work: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(path.join(dataDir, 'events.sqlite'));
  try {
    db.exec('PRAGMA busy_timeout = 10000');
    return work(db);
  } finally {
    db.close();
  }
}

/** The offset of the last message on the topic (0 when empty). */
export function endOffset(dataDir: string, topic = TOPIC): number {
  return withLog(dataDir, (db) => {
    const row = db.prepare('SELECT max("offset") AS last FROM messages WHERE topic = ?').get(topic) as { last: number | null };
    return row.last ?? 0;
  });
}

export function messageCount(dataDir: string, topic = TOPIC): number {
  return withLog(dataDir, (db) => {
    const row = db.prepare('SELECT count(*) AS n FROM messages WHERE topic = ?').get(topic) as { n: number };
    return row.n;
  });
}

/** The group's committed offset, or undefined when it never committed. */
export function committedOffset(dataDir: string, group: string, topic = TOPIC): number | undefined {
  return withLog(dataDir, (db) => {
    const row = db
      .prepare('SELECT committed_offset FROM consumer_offsets WHERE group_id = ? AND topic = ?')
      .get(group, topic) as { committed_offset: number } | undefined;
    return row?.committed_offset;
  });
}

/** Moves a consumer group back to `offset` (0: the whole log is delivered again). Returns rows changed. */
export function rewindGroup(dataDir: string, group: string, offset = 0, topic = TOPIC): number {
  return withLog(dataDir, (db) => {
    const result = db
      .prepare('UPDATE consumer_offsets SET committed_offset = ? WHERE group_id = ? AND topic = ?')
      .run(offset, group, topic);
    return Number(result.changes);
  });
}

export type LagReport = { end: number; committed: Record<string, number | undefined> };

export function lagReport(dataDir: string, groups: readonly string[] = CONSUMER_GROUPS): LagReport {
  const end = endOffset(dataDir);
  const committed: Record<string, number | undefined> = {};
  for (const group of groups) committed[group] = committedOffset(dataDir, group);
  return { end, committed };
}

/** The dead letters on the log, as their reasons (an empty list when none). */
export function deadLetters(dataDir: string): Array<{ type: string; group: string; reason: string }> {
  return withLog(dataDir, (db) =>
    (db.prepare('SELECT headers FROM messages WHERE topic = ? ORDER BY "offset"').all(DEAD_LETTER_TOPIC) as Array<{ headers: string }>).map(
      (row) => {
        const headers = JSON.parse(row.headers) as Record<string, string>;
        return { type: headers.ce_type ?? '?', group: headers.dlq_consumer_group ?? '?', reason: headers.dlq_reason ?? '?' };
      },
    ),
  );
}

/** The types of the events on the topic, by message key (the reception id), in log order. */
export function eventTypesByKey(dataDir: string, topic = TOPIC): Map<string, string[]> {
  return withLog(dataDir, (db) => {
    const rows = db.prepare('SELECT message_key, headers FROM messages WHERE topic = ? ORDER BY "offset"').all(topic) as Array<{
      message_key: string;
      headers: string;
    }>;
    const byKey = new Map<string, string[]>();
    for (const row of rows) {
      const type = (JSON.parse(row.headers) as Record<string, string>).ce_type ?? '?';
      byKey.set(row.message_key, [...(byKey.get(row.message_key) ?? []), type]);
    }
    return byKey;
  });
}
