import type { PassThrough, Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Gauge } from 'prom-client';
import { Type } from 'typebox';
import { HttpProblem, problemTypes, type App, type Database, type ServiceContext } from '@medical/platform';
import type { PatientManagementDatabase } from '../db/schema.ts';

/** What a route's live streams are: started on the database's notices, counted, closed. */
type Streams = { start(database: Database<PatientManagementDatabase>): Promise<void>; readonly size: number; close(): Promise<void> };

/**
 * Starts a route's streams, counts them in the gauge `metric` and closes them when the app
 * closes, before the server waits for its open requests to finish: a stream never finishes by
 * itself.
 */
export async function serveStreams(app: App, context: ServiceContext<PatientManagementDatabase>, streams: Streams, metric: { name: string; help: string }): Promise<void> {
  await streams.start(context.database);
  new Gauge({
    ...metric,
    registers: [context.metrics.registry],
    collect() {
      this.set(streams.size);
    },
  });
  app.addHook('preClose', async () => {
    await streams.close();
  });
}

/** The 200 of a route that answers a server-sent event stream: documented as text, the handler sends the stream itself. */
export const eventStreamAnswer = { description: 'The stream', content: { 'text/event-stream': { schema: Type.Unsafe<Readable>({ type: 'string' }) } } };

/**
 * Answers with the stream `open` gives, or 503 when this replica serves as many as it may. HEAD
 * (answered by the GET route) gets the headers alone: a stream opened for it would never be read
 * nor closed, and would hold a place among the streams for good.
 */
export function sendEventStream(request: FastifyRequest, reply: FastifyReply, open: () => PassThrough | undefined): FastifyReply {
  if (request.method === 'HEAD') return sseHeaders(reply).send();
  const stream = open();
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
}

/** An event stream's headers: never cached or transformed (compressed, buffered) on the way, so each event arrives as it is sent. */
function sseHeaders(reply: FastifyReply): FastifyReply {
  return reply.type('text/event-stream; charset=utf-8').header('cache-control', 'no-store, no-transform').header('x-accel-buffering', 'no');
}
