import { ProblemDetails, Queue, QueueParams, type QueueView } from '@medical/contracts';
import { hospitalDayOf, notFound, type App, type ServiceContext } from '@medical/platform';
import { queueEntriesOfDay } from '../db/queue-entries.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';
import { queueView } from '../domain/queue-views.ts';
import { QueueStreams } from '../live/queue-streams.ts';
import { eventStreamAnswer, sendEventStream, serveStreams } from './event-stream.ts';

const tags = ['waiting room'];

/**
 * A department's waiting room as its call screen shows it, today (the hospital's day): who is
 * being called and who waits, by queue number and masked name, and its live stream. For the
 * screen (the `display` role) and every member of staff: it names nobody.
 */
export async function queueRoutes(app: App, context: ServiceContext<PatientManagementDatabase>): Promise<void> {
  const db = context.database.db;
  const readQueue = async (department: string): Promise<QueueView> => {
    const day = hospitalDayOf(new Date(), context.config.timeZone);
    return queueView(department, day, await queueEntriesOfDay(db, department, day));
  };
  /** A department of the catalog, else 404: a screen set up with a wrong code says so rather than show an empty room for ever. */
  const knownDepartment = (department: string): string => {
    if (!context.config.catalog.has(department)) throw notFound('department', department);
    return department;
  };
  const streams = new QueueStreams(readQueue, context.logger);
  await serveStreams(app, context, streams, { name: 'medical_queue_streams', help: "Live streams of departments' queues (call screens) this replica serves now" });

  app.get(
    '/queues/:department',
    {
      schema: {
        tags,
        summary: "A department's queue today, as its call screen shows it",
        description:
          'Who is being called (the newest call first, at most 10) and who waits (in order, at most 30), by queue number and masked name; ' +
          '`from` names the department whose number it is when it is not this one (an examination department calls patients of every department). ' +
          'The median minutes from joining the queue to the first call, of those called today.',
        params: QueueParams,
        response: { 200: Queue, 400: ProblemDetails, 404: ProblemDetails },
      },
    },
    async (request) => readQueue(knownDepartment(request.params.department)),
  );

  app.get(
    '/queues/:department/stream',
    {
      schema: {
        tags,
        summary: "A department's queue, live (server-sent events)",
        description:
          'A text/event-stream that stays open: `queue` with the whole queue (as GET /queues/{department} answers it) on connecting and ' +
          'shortly after every change of it, and a `: keepalive` comment every 15 s of quiet.',
        params: QueueParams,
        response: { 200: eventStreamAnswer, 400: ProblemDetails, 404: ProblemDetails, 503: ProblemDetails },
      },
    },
    async (request, reply) => {
      const department = knownDepartment(request.params.department);
      return sendEventStream(request, reply, () => streams.open(department));
    },
  );
}
