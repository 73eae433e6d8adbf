import { ProblemDetails, WAITING_TIMES_MAX_DAYS, WaitingTimes, WaitingTimesQuery, type WaitingTimesView } from '@medical/contracts';
import { hospitalDayOf, hospitalHourOf, startOfHospitalDay, validationProblem, type App, type ServiceContext } from '@medical/platform';
import { waitingCounts } from '../db/queue-entries.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';
import { waitsStartedBetween } from '../db/waits.ts';
import { summariseWaits } from '../domain/waits.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `GET /patientManagements/waiting-times`: the manager's charts of the waits of the visits' stages
 * (contracts waitStages) that began in a span (by default today so far, in the hospital's zone):
 * per department and stage, and per hour of the day they began, the count and the 50th and 90th
 * percentiles; and who waits now in each department. Registered beside `/patientManagements/:receptionId`:
 * the router prefers the literal segment, so `waiting-times` is never read as a reception id.
 */
export function waitingTimesRoute(app: App, context: ServiceContext<PatientManagementDatabase>): void {
  const db = context.database.db;
  app.get(
    '/patientManagements/waiting-times',
    {
      schema: {
        tags: ['patient management'],
        summary: 'The waits of the stages of the visits, per department, stage and hour',
        description:
          'The stages that ended and began in [from, to) (default: from the start of today in the hospital\'s zone to now), at most ' +
          `${WAITING_TIMES_MAX_DAYS} days: count, p50 and p90 in minutes (nearest rank), per department and stage and per hour of the day ` +
          'the stage began; and the patients waiting now in each department.',
        querystring: WaitingTimesQuery,
        response: { 200: WaitingTimes, 400: ProblemDetails },
      },
    },
    async (request): Promise<WaitingTimesView> => {
      const { timeZone, catalog } = context.config;
      const now = new Date();
      const today = hospitalDayOf(now, timeZone);
      const { from, to } = spanOf(request.query, now, today, timeZone);
      const { department } = request.query;
      const summary = summariseWaits(await waitsStartedBetween(db, from, to, department), hourOfDay(timeZone));
      const waiting = await waitingCounts(db, today, department);
      const departments = department !== undefined ? [department] : [...new Set([...catalog.departments.map((d) => d.code), ...waiting.keys()])];
      return { from, to, timeZone, ...summary, waitingNow: departments.map((code) => ({ department: code, waitingCount: waiting.get(code) ?? 0 })) };
    },
  );
}

/** The span asked for, as UTC instants; a 400 naming the field for one that is empty or longer than WAITING_TIMES_MAX_DAYS. */
function spanOf(query: { from?: string; to?: string }, now: Date, today: string, timeZone: string): { from: string; to: string } {
  const from = new Date(query.from ?? startOfHospitalDay(today, timeZone));
  const to = query.to !== undefined ? new Date(query.to) : now;
  // The field the client chose is the one to change: the other is a default.
  const blamed = (preferred: 'from' | 'to') => (query[preferred] !== undefined ? preferred : preferred === 'from' ? 'to' : 'from');
  if (from.getTime() >= to.getTime() && (query.from !== undefined || query.to !== undefined)) {
    throw validationProblem('the query string is invalid', [{ field: blamed('to'), in: 'querystring', message: 'the span is empty: `from` must be before `to`' }]);
  }
  if (to.getTime() - from.getTime() > WAITING_TIMES_MAX_DAYS * DAY_MS) {
    throw validationProblem('the query string is invalid', [{ field: blamed('from'), in: 'querystring', message: `the span is longer than ${WAITING_TIMES_MAX_DAYS} days` }]);
  }
  return { from: from.toISOString(), to: to.toISOString() };
}

/**
 * The hour of the hospital's clock at an instant, remembered per quarter of an hour (every zone's
 * offset is a multiple of it): a span of three months is thousands of quarters, not a time-zone
 * conversion per wait.
 */
function hourOfDay(timeZone: string): (instant: string) => number {
  const QUARTER_MS = 15 * 60 * 1000;
  const hours = new Map<number, number>();
  return (instant) => {
    const quarter = Math.floor(Date.parse(instant) / QUARTER_MS);
    let hour = hours.get(quarter);
    if (hour === undefined) hours.set(quarter, (hour = hospitalHourOf(new Date(quarter * QUARTER_MS), timeZone)));
    return hour;
  };
}
