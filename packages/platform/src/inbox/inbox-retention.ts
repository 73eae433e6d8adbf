import type { Kysely } from 'kysely';
import type { InboxTables } from './tables.ts';

/**
 * How long the inbox remembers that an event was applied. It guards against a delivery that the
 * service's stored position does not already skip, and there are few of those left:
 * - within a partition, the consumer resumes from its position (consumer_positions), written with
 *   each batch's effects, so the transport does not hand it what it applied;
 * - a replay of a dead letter (`npm run dead-letters -- replay`) names the group that gave up
 *   (`dlq_replay_for`), and every other group skips it whatever its inbox holds;
 * - what remains is a partition the service has no position for: after the upgrade from a version
 *   without positions, it resumes from the group's offset in Kafka, and a group that was away
 *   longer than Kafka's `offsets.retention.minutes` (7 days by default) resumes from the topic's
 *   beginning, where only the inbox stops old events from being applied again.
 * So the retention (INBOX_RETENTION_DAYS, 30 by default, at least 8) must stay above Kafka's
 * offsets retention; rows a dead letter left (DEAD_LETTERED) are kept for good, since a replay
 * that comes weeks later must still find that this group gave up on the event.
 */
export async function purgeInbox(db: Kysely<InboxTables>, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('inbox')
    .where('outcome', '=', 'APPLIED')
    .where('processed_at', '<', before.toISOString())
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
