import { randomUUID } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { Producer } from '@platformatic/kafka';

/**
 * Messages written as bytes, past the transports' publish (which only takes strings): what
 * another client on the topic, or a hand-edited log file, may leave there.
 */
export type Bytes = string | Uint8Array;

/** Bytes from text and byte values: `bytes('{"a":"', [0xff], '"}')` spells JSON that is not UTF-8. */
export const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

export type RawLogRow = {
  topic: string;
  key: Bytes;
  /** The header column as stored: normally the JSON object of the headers. */
  headers: Bytes;
  value: Bytes;
  /** SQLite stores what it is given as TEXT (the default) or as a BLOB. */
  storage?: 'text' | 'blob';
};

/** Appends rows to an embedded log's file with SQL of its own, bytes as they are (not checked as UTF-8). */
export function appendRawToLog(file: string, rows: RawLogRow[]): void {
  const database = new DatabaseSync(file);
  try {
    for (const row of rows) {
      const cell = (value: Bytes) => (typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
      const asStored = row.storage === 'blob' ? '?' : 'CAST(? AS TEXT)';
      database
        .prepare(
          `INSERT INTO messages (topic, message_key, message_id, headers, value, appended_at)
           VALUES (?, ${asStored}, ?, ${asStored}, ${asStored}, ?)`,
        )
        .run(row.topic, cell(row.key), randomUUID(), cell(row.headers), cell(row.value), new Date().toISOString());
    }
  } finally {
    database.close();
  }
}

export type RawKafkaMessage = { topic: string; partition?: number; key: Bytes; headers: Array<[Bytes, Bytes]>; value: Bytes };

/** Produces messages as bytes with a producer of its own, in order. */
export async function publishRawToKafka(brokers: string[], messages: RawKafkaMessage[]): Promise<void> {
  const producer = new Producer({ clientId: `raw-producer-${process.pid}`, bootstrapBrokers: brokers, retries: 3 });
  producer.on('error', () => {});
  const buffer = (value: Bytes) => (typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value));
  try {
    for (const m of messages) {
      await producer.send({
        messages: [
          {
            topic: m.topic,
            ...(m.partition === undefined ? {} : { partition: m.partition }),
            key: buffer(m.key),
            value: buffer(m.value),
            headers: new Map(m.headers.map(([name, value]) => [buffer(name), buffer(value)])),
          },
        ],
      });
    }
  } finally {
    await producer.close();
  }
}
