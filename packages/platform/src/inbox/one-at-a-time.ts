import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { CloudEvent, EventType } from '@medical/contracts';
import { backoffDelay, sleep } from '../lib/sleep.ts';
import { isUnavailable } from '../lib/unavailable.ts';
import { appendMessage } from '../outbox/outbox.ts';
import type { OutboxTables } from '../outbox/tables.ts';
import type { Delivery } from '../transport/transport.ts';
import type { IdempotentConsumerOptions } from './consumer-options.ts';
import { deadLetterMessage } from './dead-letter-message.ts';
import { isReplay, isReplayForOthers, REPLAY_OF_HEADER, validateDelivery } from './delivery-checks.ts';
import { inboxIdOf } from './event-labels.ts';
import { inEventSpan, type HandlingOutcome, type SpanNaming } from './event-spans.ts';
import { claimApplied, inboxOutcome, reclaimDeadLettered, recordDeadLettered, type InboxClaim } from './inbox-rows.ts';
import type { InboxTables } from './tables.ts';

/**
 * Tries at writing one dead letter before the delivery fails to the transport. A letter's write
 * fails when the database does (a constraint, a trigger, a full disk): it is tried again here
 * with backoff, without repeating the attempts at the event that led to it, then the transport
 * backs off and delivers the event again, which makes new attempts and a new letter. Either way
 * the consumer stays on the event until it is recorded, and nothing crashes; an outage goes to
 * the transport at once, as everywhere.
 */
const DEAD_LETTER_WRITE_ATTEMPTS = 4;

const stopping = () => new Error('consumer stopping; event left for redelivery');

/**
 * The one-at-a-time path: a delivery handled alone, in a transaction of its own, which knows every
 * case the batch path leaves to it: replays of dead letters, invalid and unreadable events,
 * retries with backoff, and dead letters.
 */
export class OneAtATime<Tx> {
  private readonly options: IdempotentConsumerOptions<Tx>;
  private readonly naming: SpanNaming;
  private readonly typeLabel: (type: string | undefined) => string;
  /** The unreadable types already logged (with their reason): once each, not once per event. */
  private readonly reported = new Set<string>();

  constructor(options: IdempotentConsumerOptions<Tx>, naming: SpanNaming, typeLabel: (type: string | undefined) => string) {
    this.options = options;
    this.naming = naming;
    this.typeLabel = typeLabel;
  }

  /** One delivery, in its event's span: skipped unless this service handles its type and, for a replay, is one it was addressed to. */
  readonly handle = async (delivery: Delivery): Promise<HandlingOutcome> => {
    const typeHeader = delivery.headers.ce_type;
    if (this.options.handles !== 'all' && !this.options.handles.includes(typeHeader as EventType)) return 'skipped';
    if (isReplayForOthers(delivery, this.options.serviceName)) return 'duplicate';
    // Both name the event in rows, metrics and spans: bounded and printable whatever the headers hold.
    const claim = { eventId: inboxIdOf(delivery), type: this.typeLabel(typeHeader) };
    return (await inEventSpan(this.naming, delivery, claim.eventId, claim.type, () => this.applyWithRetries(delivery, claim))).outcome;
  };

  /** Applies the event, retrying a failed effect with backoff up to the budget; then dead-letters it. */
  private async applyWithRetries(delivery: Delivery, claim: InboxClaim): Promise<HandlingOutcome> {
    const { options } = this;
    const replay = isReplay(delivery);
    // Decoding and validation give the same answer every time: done once, before the attempts.
    const validation = validateDelivery(delivery);
    if (!validation.ok && validation.unknown) return this.skipUnreadable(claim, validation.unknown, validation.reason);
    if (!validation.ok) {
      // A valid event's redelivery is caught inside its transaction (applyOnce); an invalid one
      // never gets there, so look it up before spending the retry budget on it again.
      const recorded = await inboxOutcome(options.db, claim.eventId);
      if (recorded !== undefined && !(replay && recorded === 'DEAD_LETTERED')) return 'duplicate';
    }
    let lastReason = validation.ok ? '' : validation.reason;
    for (let attempt = 0; attempt <= options.retryBudget; attempt++) {
      if (attempt > 0) await sleep(backoffDelay(attempt - 1, options.retryBaseDelayMs), options.signal);
      if (options.signal.aborted) throw stopping();
      if (!validation.ok) {
        options.metrics.eventsFailed.inc({ type: claim.type, reason: 'invalid' });
        continue;
      }
      try {
        return this.logged(delivery, claim, await this.applyOnce(validation.event, claim, replay));
      } catch (error) {
        // An outage is not the event's fault: leave it to the transport to redeliver later.
        if (isUnavailable(error)) throw error;
        lastReason = error instanceof Error ? error.message : String(error);
        options.metrics.eventsFailed.inc({ type: claim.type, reason: 'handler' });
        options.logger.warn({ err: error, eventId: claim.eventId, eventType: claim.type, attempt }, 'event handler failed');
      }
    }
    return this.deadLetter(delivery, claim, lastReason);
  }

  /** One line per clinical event this service acted on: ids only, never the event's data. */
  private logged(delivery: Delivery, { eventId, type }: InboxClaim, outcome: HandlingOutcome): HandlingOutcome {
    if (outcome === 'applied') {
      this.options.metrics.eventsConsumed.inc({ type });
      this.options.logger.info({ eventId, eventType: type, receptionId: delivery.key }, 'event applied');
    } else {
      this.options.logger.debug({ eventId, eventType: type, receptionId: delivery.key }, 'event already applied');
    }
    return outcome;
  }

  /**
   * Claims the event in the inbox first, in one statement: a row already there means the effect
   * is already committed. Should the effect fail, the rollback takes the claim back with it.
   */
  private applyOnce(event: CloudEvent, claim: InboxClaim, replay: boolean): Promise<HandlingOutcome> {
    return this.options.transaction(async (trx) => {
      const own = this.options.ownTables(trx);
      const claimed = (await claimApplied(own, [claim])).has(claim.eventId);
      // An operator's replay of a dead letter gives the event another chance here only if this
      // service gave up on it: the row moves from DEAD_LETTERED to APPLIED in the effect's
      // transaction. A service that applied it, and any plain redelivery, see a duplicate.
      if (!claimed && !(replay && (await reclaimDeadLettered(own, claim.eventId)))) return 'duplicate';
      await this.options.effect(trx, event);
      return 'applied';
    });
  }

  /**
   * A well-formed event of a type or version this version does not read: a newer producer's,
   * during a rolling upgrade. Not this event's fault, and no retry would help: skipped, counted,
   * and logged once per type (a busy topic would otherwise log every such event).
   */
  private skipUnreadable(claim: InboxClaim, unknown: 'type' | 'version', reason: string): HandlingOutcome {
    const skipReason = unknown === 'type' ? 'unknown-type' : 'unknown-version';
    this.options.metrics.eventsSkipped.inc({ type: claim.type, reason: skipReason });
    const key = `${skipReason} ${claim.type}`;
    if (!this.reported.has(key)) {
      this.reported.add(key);
      this.options.logger.warn({ eventId: claim.eventId, eventType: claim.type, reason }, 'skipping events this version cannot read (from a newer producer?); logged once per type');
    }
    return 'skipped';
  }

  private async deadLetter(delivery: Delivery, claim: InboxClaim, reason: string): Promise<HandlingOutcome> {
    const { options } = this;
    const { eventId, type: eventType } = claim;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!(await this.writeDeadLetter(delivery, claim, reason))) return 'duplicate';
        break;
      } catch (error) {
        options.metrics.eventsFailed.inc({ type: eventType, reason: 'dead-letter' });
        if (isUnavailable(error) || attempt >= DEAD_LETTER_WRITE_ATTEMPTS) throw error;
        options.logger.warn({ err: error, eventId, eventType, attempt }, 'could not write the dead letter; trying again');
        await sleep(backoffDelay(attempt - 1, options.retryBaseDelayMs), options.signal);
        if (options.signal.aborted) throw stopping();
      }
    }
    options.afterCommit();
    options.metrics.eventsDeadLettered.inc({ type: eventType });
    options.logger.error({ eventId, eventType, reason, offset: delivery.offset, replayOf: delivery.headers[REPLAY_OF_HEADER] }, 'event dead-lettered');
    return 'dead-lettered';
  }

  /** Writes the letter to the outbox and the event's row to the inbox; false when the inbox says the event is done already. */
  private writeDeadLetter(delivery: Delivery, claim: InboxClaim, reason: string): Promise<boolean> {
    const replay = isReplay(delivery);
    return this.options.transaction(async (trx) => {
      const own = this.options.ownTables(trx);
      const recorded = await inboxOutcome(own, claim.eventId);
      // A replay that fails again gets a letter of its own (with its new reason), so the operator
      // sees that the fix did not take; any other delivery of a recorded event is a duplicate.
      if (recorded !== undefined && !(replay && recorded === 'DEAD_LETTERED')) return false;
      await recordDeadLetter(own, delivery, claim, recorded, { topic: this.options.deadLetterTopic, reason, consumerGroup: this.options.serviceName });
      return true;
    });
  }
}

/**
 * Gives up on an event in `trx`: its dead letter into the outbox (the relay publishes it to the
 * dead-letter topic) and the event into the inbox as dead-lettered. The one way a consumer, or a
 * restore's reconciliation (restore/reconcile.ts), sets an event aside.
 */
export async function recordDeadLetter(
  trx: Transaction<InboxTables & OutboxTables>,
  delivery: Delivery,
  claim: InboxClaim,
  recorded: InboxTables['inbox']['outcome'] | undefined,
  facts: { topic: string; reason: string; consumerGroup: string },
): Promise<void> {
  const deadLetterId = randomUUID();
  const letter = deadLetterMessage(delivery, { id: deadLetterId, ...facts, failedAt: new Date().toISOString() });
  // One poison event may be dead-lettered by several services: each letter has its own id.
  await appendMessage(trx, letter, claim.type, deadLetterId);
  await recordDeadLettered(trx, claim, recorded);
}
