import { ROOT_CONTEXT, context, trace, type Span } from '@opentelemetry/api';
import type { CloudEvent, EventType } from '@medical/contracts';
import { isUnavailable } from '../lib/unavailable.ts';
import type { Delivery } from '../transport/transport.ts';
import type { IdempotentConsumerOptions } from './consumer-options.ts';
import { isReplay, validateDelivery } from './delivery-checks.ts';
import { inboxIdOf } from './event-labels.ts';
import { inEventSpan, type HandlingOutcome, type SpanNaming } from './event-spans.ts';
import { claimApplied, readPositions, savePosition } from './inbox-rows.ts';

/** A gap of skipped events this long moves a partition's stored position even with nothing to apply. */
const POSITION_GAP = 500n;

/** A delivery the batch path applies itself: a valid, readable event of a type this service handles, not a replay. */
type Plain = { delivery: Delivery; event: CloudEvent; eventId: string; type: string };

type Applied = Plain & { span: Span };

/**
 * The batch path: runs of plain events of one partition applied a run per transaction, with the
 * partition's position stored in the same transaction (so the database, not the transport, says
 * where each partition resumes); every other delivery goes to `handleAlone` (the one-at-a-time
 * path), in order between the runs.
 */
export class InBatches<Tx> {
  private readonly options: IdempotentConsumerOptions<Tx>;
  private readonly naming: SpanNaming;
  private readonly typeLabel: (type: string | undefined) => string;
  private readonly handleAlone: (delivery: Delivery) => Promise<HandlingOutcome>;
  /** The position last stored of each partition, so a run of skipped events stores it only past a long gap. */
  private readonly positions = new Map<string, bigint>();

  constructor(
    options: IdempotentConsumerOptions<Tx>,
    naming: SpanNaming,
    typeLabel: (type: string | undefined) => string,
    handleAlone: (delivery: Delivery) => Promise<HandlingOutcome>,
  ) {
    this.options = options;
    this.naming = naming;
    this.typeLabel = typeLabel;
    this.handleAlone = handleAlone;
  }

  /** The transport's batch of one partition (BatchHandler). */
  readonly handleBatch = async (deliveries: Delivery[]): Promise<void> => {
    let run: Plain[] = [];
    for (const delivery of deliveries) {
      const kind = this.classify(delivery);
      if (kind === 'pass') continue;
      if (kind !== 'alone') {
        run.push(kind);
        continue;
      }
      await this.applyRun(run, delivery.topic, delivery.partition, BigInt(delivery.offset));
      run = [];
      await this.handleAlone(delivery);
    }
    const last = deliveries.at(-1);
    if (last) await this.applyRun(run, last.topic, last.partition, BigInt(last.offset) + 1n);
  };

  /** Where the database says each partition resumes (ResumePositions). */
  readonly resumeFrom = async (topic: string, partitions: readonly number[]): Promise<Map<number, bigint>> => {
    const { group } = this.options;
    if (!group || partitions.length === 0) return new Map();
    const resumed = await readPositions(this.options.db, group, topic, partitions);
    for (const [partition, next] of resumed) this.positions.set(positionKey(topic, partition), next);
    return resumed;
  };

  /**
   * What a delivery needs: nothing (a type this service does not handle), the batch path (a
   * plain event), or the one-at-a-time path, which knows replays, invalid and unreadable events,
   * retries and dead letters.
   */
  private classify(delivery: Delivery): 'pass' | 'alone' | Plain {
    const typeHeader = delivery.headers.ce_type;
    if (this.options.handles !== 'all' && !this.options.handles.includes(typeHeader as EventType)) return 'pass';
    if (isReplay(delivery)) return 'alone';
    const validation = validateDelivery(delivery);
    if (!validation.ok) return 'alone';
    return { delivery, event: validation.event, eventId: inboxIdOf(delivery), type: this.typeLabel(typeHeader) };
  }

  /**
   * Applies a run of plain events of one partition and stores the partition's position (`next`),
   * together. Should an effect throw, the run is rolled back and its events go one at a time,
   * where the poison one is retried and dead-lettered alone. An outage goes to the transport.
   */
  private async applyRun(run: Plain[], topic: string, partition: number, next: bigint): Promise<void> {
    if (run.length === 0) return this.passOver(topic, partition, next);
    let applied: Applied[];
    try {
      applied = await this.applyInOneTransaction(run, topic, partition, next);
    } catch (error) {
      if (isUnavailable(error) || this.options.signal.aborted) throw error;
      this.options.logger.warn({ err: error, partition, events: run.length }, 'a batch of events failed; handling them one at a time');
      for (const p of run) await this.handleAlone(p.delivery);
      return;
    }
    if (this.options.group) this.positions.set(positionKey(topic, partition), next);
    for (const p of applied) {
      this.options.metrics.eventsConsumed.inc({ type: p.type });
      // One line per clinical event this service acted on, in its trace: ids only, never the event's data.
      context.with(trace.setSpan(ROOT_CONTEXT, p.span), () =>
        this.options.logger.info({ eventId: p.eventId, eventType: p.type, receptionId: p.delivery.key }, 'event applied'),
      );
    }
  }

  /** The run in one transaction: one multi-row inbox claim, the effects in order, the position. Returns what it applied, each with its span. */
  private applyInOneTransaction(run: Plain[], topic: string, partition: number, next: bigint): Promise<Applied[]> {
    const { group } = this.options;
    return this.options.transaction(async (trx) => {
      const own = this.options.ownTables(trx);
      const fresh = await claimApplied(own, run);
      const done: Applied[] = [];
      for (const p of run) {
        // A second copy in the same run (republished by a relay) is claimed once, applied once.
        if (!fresh.delete(p.eventId)) continue;
        const { span } = await inEventSpan(this.naming, p.delivery, p.eventId, p.type, async () => {
          await this.options.effect(trx, p.event);
          return 'applied';
        });
        done.push({ ...p, span });
      }
      if (group) await savePosition(own, { group, topic, partition }, next);
      return done;
    });
  }

  /**
   * Nothing to apply: the position moves only past a long gap (skipped types), so a restart does
   * not read far back; reading a few events again costs nothing but the fetch.
   */
  private async passOver(topic: string, partition: number, next: bigint): Promise<void> {
    const { group } = this.options;
    const key = positionKey(topic, partition);
    const stored = this.positions.get(key);
    if (!group || (stored !== undefined && next - stored < POSITION_GAP)) return;
    await this.options.transaction((trx) => savePosition(this.options.ownTables(trx), { group, topic, partition }, next));
    this.positions.set(key, next);
  }
}

const positionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;
