import { Gauge, Histogram, type Registry } from 'prom-client';
import { DEFAULT_QUEUE_LIMITS } from '@medical/contracts';
import { hospitalDayOf, type ServiceContext } from '@medical/platform';
import { calledEntriesOfDay, waitingCounts } from '../db/queue-entries.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';
import { medianWaitSeconds } from '../domain/queue-views.ts';

type Context = ServiceContext<PatientManagementDatabase>;

/**
 * `medical_wait_seconds{department,stage}`: the waits of the stages of the visits as they end
 * (contracts waitStages), by the events' own times; observed once a wait is committed, once each.
 * The buckets span an outpatient day, from half a minute to eight hours.
 */
export function waitHistogram(registry: Registry): Histogram<'department' | 'stage'> {
  return new Histogram({
    name: 'medical_wait_seconds',
    help: "The wait of each stage of a visit that ended, per department and stage, by the events' own times",
    labelNames: ['department', 'stage'] as const,
    buckets: [30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10800, 14400, 28800],
    registers: [registry],
  });
}

/**
 * The waiting rooms of every department of the catalog today, read from the database at each
 * scrape, beside the limits an alert compares them with (the department's `queueLimits`, else
 * DEFAULT_QUEUE_LIMITS): `medical_queue_waiting` and `medical_queue_waiting_limit`,
 * `medical_queue_median_wait_seconds` (to the first call, as the queue answer's median; 0 before
 * the first call) and `medical_queue_median_wait_limit_seconds`. Any replica's figures are the
 * same: they come from the shared database, not from this process. A scrape that cannot read the
 * database leaves the figures out (and logs why) rather than report stale ones.
 */
export function registerQueueGauges(context: Context): void {
  const registers = [context.metrics.registry];
  const { catalog, timeZone } = context.config;
  const db = context.database.db;
  const today = () => hospitalDayOf(new Date(), timeZone);
  const limitsOf = (code: string) => catalog.departments.find((d) => d.code === code)?.queueLimits ?? DEFAULT_QUEUE_LIMITS;
  const failed = (error: unknown) => context.logger.warn({ err: error }, 'could not read the waiting rooms for /metrics');
  const labelNames = ['department'] as const;
  new Gauge({
    name: 'medical_queue_waiting',
    help: "Patients waiting today in each department's queue (the doctor's or an examination's)",
    labelNames,
    registers,
    async collect() {
      this.reset();
      try {
        const counts = await waitingCounts(db, today());
        for (const { code } of catalog.departments) this.set({ department: code }, counts.get(code) ?? 0);
      } catch (error) {
        failed(error);
      }
    },
  });
  new Gauge({
    name: 'medical_queue_median_wait_seconds',
    help: "The median wait today from joining each department's queue to the first call, of the patients called so far (0 before the first call)",
    labelNames,
    registers,
    async collect() {
      this.reset();
      try {
        const called = await calledEntriesOfDay(db, today());
        for (const { code } of catalog.departments) this.set({ department: code }, medianWaitSeconds(called.filter((e) => e.department === code)) ?? 0);
      } catch (error) {
        failed(error);
      }
    },
  });
  new Gauge({
    name: 'medical_queue_waiting_limit',
    help: "The patients waiting in a department's queue above which the waiting room needs attention (the catalog's queueLimits)",
    labelNames,
    registers,
    collect() {
      this.reset();
      for (const { code } of catalog.departments) this.set({ department: code }, limitsOf(code).waiting);
    },
  });
  new Gauge({
    name: 'medical_queue_median_wait_limit_seconds',
    help: "The median wait to the first call above which a department's waiting room needs attention (the catalog's queueLimits)",
    labelNames,
    registers,
    collect() {
      this.reset();
      for (const { code } of catalog.departments) this.set({ department: code }, limitsOf(code).medianWaitMinutes * 60);
    },
  });
}
