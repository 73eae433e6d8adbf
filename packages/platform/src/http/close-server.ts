import type { App } from './app.ts';

/**
 * Closes the HTTP server of a service or of the gateway. The close waits for every connection.
 * Node closes those idle when it begins; one whose request was still being answered stays open
 * after its answer, one whose client sent a body the server refused without reading it (a 401
 * before the body) never counts as idle, and neither does one whose event stream the client
 * abandoned through the gateway: each would hold the close past the shutdown timeout (the
 * gateway's stop failed so in the tests, now and then). So idle connections are closed again
 * until the server has closed, and what is left after half the timeout is cut.
 */
export async function closeServer(app: App, shutdownTimeoutMs: number): Promise<void> {
  const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
  const cut = setTimeout(() => {
    // Said, so that a slow stop shows its cause (a client holding a connection, a stream) in the log.
    app.log.warn('connections still open half-way through the stop: cut');
    app.server.closeAllConnections();
  }, Math.floor(shutdownTimeoutMs / 2));
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(cut);
  }
}
