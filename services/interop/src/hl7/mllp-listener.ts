import net from 'node:net';
import { frameOf, frameReader, MAX_FRAME_BYTES } from './mllp-framing.ts';

/**
 * The MLLP listener laboratory and radiology systems send their results to: many connections,
 * each answered one message at a time in the order sent (MLLP's original mode: a sender waits
 * for each ACK), by `handle`, which reads the message, acts and returns the ACK's text.
 */

export type MllpListenerOptions = {
  host: string;
  /** 0 for any free port; the listener says which it took. */
  port: number;
  /** A frame larger than this closes its connection: MAX_FRAME_BYTES (1 MiB) when not given. */
  maxFrameBytes?: number;
  /** Told of what ends a connection without an answer (a frame too large, a handler that threw, a reset): for the log. */
  onError?: (error: Error) => void;
};

export type MllpListener = { port: number; close(): Promise<void> };

/**
 * Listens until closed. Bad bytes never reach the process: bytes outside a frame are skipped, a
 * frame too large closes its connection, and a `handle` that throws closes its connection
 * without an ACK (the sender sends again; `handle` should answer AE instead whenever it can).
 */
export async function startMllpListener(options: MllpListenerOptions, handle: (message: string) => Promise<string>): Promise<MllpListener> {
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    serve(socket, handle, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => options.onError?.(error));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    // Open connections are cut, not drained: a message whose ACK is lost is sent again.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of connections) socket.destroy();
      }),
  };
}

function serve(socket: net.Socket, handle: (message: string) => Promise<string>, options: MllpListenerOptions): void {
  const reader = frameReader(options.maxFrameBytes ?? MAX_FRAME_BYTES);
  const fail = (error: unknown) => {
    options.onError?.(error instanceof Error ? error : new Error(String(error)));
    socket.destroy();
  };
  let answering = Promise.resolve();
  let waiting = 0;
  socket.on('error', fail);
  socket.on('data', (chunk) => {
    let messages: string[];
    try {
      messages = reader.push(chunk);
    } catch (error) {
      return fail(error);
    }
    for (const message of messages) {
      waiting++;
      // Not reading on while messages wait keeps a sender that does not wait for its ACKs from queueing without end.
      socket.pause();
      answering = answering.then(async () => {
        try {
          if (!socket.destroyed) socket.write(frameOf(await handle(message)));
        } catch (error) {
          fail(error);
        }
        if (--waiting === 0 && !socket.destroyed) socket.resume();
      });
    }
  });
}
