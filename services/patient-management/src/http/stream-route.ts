import { ProblemDetails } from '@medical/contracts';
import type { App, ServiceContext } from '@medical/platform';
import type { PatientManagementDatabase } from '../db/schema.ts';
import { VisitChangeStreams } from '../live/visit-change-streams.ts';
import { eventStreamAnswer, sendEventStream, serveStreams } from './event-stream.ts';

/**
 * `GET /patientManagements/stream`: the live stream of visit changes (server-sent events) that
 * the staff console's screens refresh from; see VisitChangeStreams for the events. It is open to
 * every staff role because it carries no patient data, only which visit changed and its stage.
 */
export async function visitStreamRoute(app: App, context: ServiceContext<PatientManagementDatabase>): Promise<void> {
  const streams = new VisitChangeStreams();
  await serveStreams(app, context, streams, { name: 'medical_live_streams', help: 'Live streams of visit changes this replica serves now' });

  app.get(
    '/patientManagements/stream',
    {
      schema: {
        tags: ['patient management'],
        summary: 'Live changes of the visit views (server-sent events)',
        description:
          'A text/event-stream that stays open: `ready` on connecting and whenever changes may have been missed (reload then), ' +
          '`visit` with `{ receptionId, stage, updatedAt }` for every committed change of a visit, and a `: keepalive` comment ' +
          'every 15 s of quiet. No patient data: read the visit through the API your role may use.',
        response: { 200: eventStreamAnswer, 503: ProblemDetails },
      },
    },
    async (request, reply) => sendEventStream(request, reply, () => streams.open()),
  );
}
