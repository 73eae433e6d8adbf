import type { PassThrough } from 'node:stream';
import type { Database } from '@medical/platform';
import { parseVisitChange, VISIT_CHANGES_CHANNEL } from '../app/visit-changes.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';
import { frame, listenForChanges, RETRY_LINE, StreamFanOut, type StreamFanOutOptions } from './stream-fan-out.ts';

/**
 * The server-sent event streams of visit changes this replica serves: one database listener
 * fanned out to every open stream (StreamFanOut, with its limits). Events, in text/event-stream framing:
 * - `ready` when a stream opens, and to every stream again when listening restarts after a lost
 *   database connection: what changed meanwhile is not known, so clients reload what they show;
 * - `visit` with a VisitChange for every committed change of a visit's view;
 * - a `: keepalive` comment when a stream has been idle.
 */
export class VisitChangeStreams {
  private readonly fanOut: StreamFanOut<'visits'>;
  private stopListening: (() => Promise<void>) | undefined;

  constructor(options: StreamFanOutOptions = {}) {
    this.fanOut = new StreamFanOut(options);
  }

  get size(): number {
    return this.fanOut.size;
  }

  /** Starts listening, and resolves once it listens (or after `waitMs`: see listenForChanges). */
  async start(database: Database<PatientManagementDatabase>, waitMs = 10_000): Promise<void> {
    this.stopListening = await listenForChanges(
      database,
      VISIT_CHANGES_CHANNEL,
      (payload) => {
        const change = parseVisitChange(payload);
        if (change) this.fanOut.broadcast(frame('visit', JSON.stringify(change)));
      },
      () => this.fanOut.broadcast(frame('ready', '{}')),
      waitMs,
    );
    this.fanOut.startKeepAlive();
  }

  /** A new stream, already holding its `ready` event; undefined when this replica serves its maximum. */
  open(): PassThrough | undefined {
    return this.fanOut.open('visits', `${RETRY_LINE}${frame('ready', '{}')}`);
  }

  /** Ends every stream (clients reconnect to another replica) and stops listening: for shutdown. */
  async close(): Promise<void> {
    this.fanOut.close();
    await this.stopListening?.();
  }
}
