import { Counter } from 'prom-client';
import { validateAccessRecord, type AccessRecord } from '@medical/contracts';
import { isUnavailable, type BatchHandler, type Delivery, type ServiceContext } from '@medical/platform';
import { keepAccessRecords, keepUnreadableRecord } from '../db/access-log.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';

/** A delivery read as an access record, or why it is none. */
function readRecord(delivery: Delivery): { record: AccessRecord } | { problem: string } {
  if (delivery.undecodable?.length) return { problem: `not UTF-8: ${delivery.undecodable.map((part) => part.part).join(', ')}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(delivery.value);
  } catch {
    return { problem: 'the value is not JSON' };
  }
  const checked = validateAccessRecord(parsed);
  if (!checked.ok) return { problem: checked.reason };
  // Text a database cannot store (NUL) would fail the batch's transaction on every delivery.
  if (delivery.value.includes('\\u0000')) return { problem: 'a field holds the NUL character (U+0000), which the access log cannot store' };
  return { record: checked.record };
}

type Unreadable = { partition: number; offset: string; value: string; problem: string };

/**
 * Keeps the access records every service and the gateway send (ACCESS_LOG_TOPIC): a partition's
 * batch in one transaction, each record once however often it is delivered (its id), on that
 * partition's chain. A message that is no access record, or one the database refuses to store, is
 * kept aside as it came (`access_log_unreadable`), counted and logged: never dropped, and never
 * holding up the records behind it. An outage of the database fails the batch, which comes again.
 */
export function accessLogKeeper(context: Pick<ServiceContext<PatientManagementDatabase>, 'database' | 'metrics' | 'logger'>): BatchHandler {
  const registers = [context.metrics.registry];
  const kept = new Counter({ name: 'medical_access_records_kept_total', help: 'Access records kept in the access log (each once)', registers });
  const unreadable = new Counter({ name: 'medical_access_records_unreadable_total', help: 'Messages of the access-log topic that were no access record, kept aside', registers });
  const keep = (records: readonly AccessRecord[], aside: readonly Unreadable[], chain: number) =>
    context.database.transaction(async (trx) => {
      for (const message of aside) await keepUnreadableRecord(trx, message);
      return keepAccessRecords(trx, records, chain);
    });
  return async (deliveries) => {
    const chain = deliveries[0]?.partition ?? 0;
    const read = deliveries.map((delivery) => ({ delivery, ...readRecord(delivery) }));
    const aside: Unreadable[] = read.flatMap((r) => ('problem' in r ? [{ partition: r.delivery.partition, offset: r.delivery.offset, value: r.delivery.value, problem: r.problem }] : []));
    let added: number;
    try {
      added = await keep(read.flatMap((r) => ('record' in r ? [r.record] : [])), aside, chain);
    } catch (error) {
      if (isUnavailable(error)) throw error;
      // A record the database refuses: the batch again, one record at a time, setting aside what fails alone.
      added = await keepOneByOne(read, aside, (records, unread) => keep(records, unread, chain));
    }
    kept.inc(added);
    if (aside.length > 0) {
      unreadable.inc(aside.length);
      context.logger.error({ messages: aside.map(({ partition, offset, problem }) => ({ partition, offset, problem })) }, 'messages of the access-log topic that are no access record were kept aside');
    }
  };
}

type Read = { delivery: Delivery } & ({ record: AccessRecord } | { problem: string });

/** The batch kept record by record, what fails alone (not for an outage) added to `aside`. */
async function keepOneByOne(read: readonly Read[], aside: Unreadable[], keep: (records: AccessRecord[], aside: Unreadable[]) => Promise<number>): Promise<number> {
  let added = await keep([], aside);
  for (const item of read) {
    if (!('record' in item)) continue;
    try {
      added += await keep([item.record], []);
    } catch (error) {
      if (isUnavailable(error)) throw error;
      const refused: Unreadable = { partition: item.delivery.partition, offset: item.delivery.offset, value: item.delivery.value, problem: `the database refused it: ${error instanceof Error ? error.message : String(error)}` };
      await keep([], [refused]);
      aside.push(refused);
    }
  }
  return added;
}
