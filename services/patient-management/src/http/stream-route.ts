import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { Gauge } from 'prom-client';
import { ProblemDetails } from '@medical/contracts';
import { HttpProblem, problemTypes, type App, type ServiceContext } from '@medical/platform';
import type { PatientManagementDatabase } from '../db/schema.ts';
import { VisitChangeStreams } from '../live/visit-change-streams.ts';

/**
 * `GET /patientManagements/stream`: the live stream of visit changes (server-sent events) that
 * the staff console's screens refresh from; see VisitChangeStreams for the events. It is open to
 * every staff role because it carries no patient data, only which visit changed and its stage.
 */
export async function visitStreamRoute(app: App, context: ServiceContext<PatientManagementDatabase>): Promise<void> {
  const streams = new VisitChangeStreams();
  await streams.start(context.database);
  new Gauge({
    name: 'medical_live_streams',
    help: 'Live streams of visit changes this replica serves now',
    registers: [context.metrics.registry],
    collect() {
      this.set(streams.size);
    },
  });
  // Before the server waits for open requests to finish: a stream never finishes by itself.
  app.addHook('preClose', async () => {
    await streams.close();
  });

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
        response: {
          // Documented as text; the handler sends the stream itself.
          200: { description: 'The stream', content: { 'text/event-stream': { schema: Type.Unsafe<Readable>({ type: 'string' }) } } },
          503: ProblemDetails,
        },
      },
    },
    async (request, reply) => {
      // HEAD (answered by this GET route) gets the headers alone: a stream opened for it would
      // never be read nor closed, and would hold a place among the streams for good.
      if (request.method === 'HEAD') return sseHeaders(reply).send();
      const stream = streams.open();
      if (!stream) {
        reply.header('retry-after', '5');
        throw new HttpProblem({
          status: 503,
          title: 'Service Unavailable',
          type: problemTypes.unavailable,
          detail: 'this replica serves as many live streams as it may; try again shortly',
        });
      }
      return sseHeaders(reply).send(stream);
    },
  );
}

/** An event stream's headers: never cached or transformed (compressed, buffered) on the way, so each event arrives as it is sent. */
function sseHeaders(reply: FastifyReply): FastifyReply {
  return reply.type('text/event-stream; charset=utf-8').header('cache-control', 'no-store, no-transform').header('x-accel-buffering', 'no');
}
