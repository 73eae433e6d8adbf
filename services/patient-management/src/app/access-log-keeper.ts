import { Counter } from 'prom-client';
import { validateAccessRecord, type AccessRecord } from '@medical/contracts';
import type { BatchHandler, Delivery, ServiceContext } from '@medical/platform';
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

/**
 * Keeps the access records every service and the gateway send (ACCESS_LOG_TOPIC): a partition's
 * batch in one transaction, each record once however often it is delivered (its id). A message
 * that is no access record is kept aside as it came (`access_log_unreadable`), counted and
 * logged, never dropped and never holding up the records behind it.
 */
export function accessLogKeeper(context: ServiceContext<PatientManagementDatabase>): BatchHandler {
  const registers = [context.metrics.registry];
  const kept = new Counter({ name: 'medical_access_records_kept_total', help: 'Access records kept in the access log (each once)', registers });
  const unreadable = new Counter({ name: 'medical_access_records_unreadable_total', help: 'Messages of the access-log topic that were no access record, kept aside', registers });
  return async (deliveries) => {
    const read = deliveries.map((delivery) => ({ delivery, ...readRecord(delivery) }));
    const records = read.flatMap((r) => ('record' in r ? [r.record] : []));
    const rejected = read.flatMap((r) => ('problem' in r ? [{ partition: r.delivery.partition, offset: r.delivery.offset, value: r.delivery.value, problem: r.problem }] : []));
    const added = await context.database.transaction(async (trx) => {
      for (const message of rejected) await keepUnreadableRecord(trx, message);
      // A batch is one partition's: its records go on that partition's chain.
      return keepAccessRecords(trx, records, deliveries[0]?.partition ?? 0);
    });
    kept.inc(added);
    if (rejected.length > 0) {
      unreadable.inc(rejected.length);
      context.logger.error({ messages: rejected.map(({ partition, offset, problem }) => ({ partition, offset, problem })) }, 'messages of the access-log topic that are no access record were kept aside');
    }
  };
}
