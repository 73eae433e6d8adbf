import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// The upstreams here are real HTTP servers on real ports: the gateway's whole contract is what
// goes over the wire to them and back, so that is what these tests look at.

export type Seen = { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer };
export type Answer = (seen: Seen, response: ServerResponse, request: IncomingMessage) => void;
export type FakeUpstream = {
  url: string;
  server: http.Server;
  /** Every request but the gateway's readiness checks, which are counted in `checks`. */
  seen: Seen[];
  answer: Answer;
  /** The status this replica's /readyz answers with, or 'hang' to hold the check unanswered. */
  readyStatus: number | 'hang';
  checks: number;
  /** Stops at once: every connection, busy or idle, is cut. */
  close(): Promise<void>;
  /**
   * Stops the way a Node service does: no new connections, idle keep-alive ones closed, the
   * requests it holds answered (with Connection: close) before their connections close.
   */
  shutdown(): Promise<void>;
};

export const echo: Answer = (seen, response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ method: seen.method, url: seen.url }));
};

export async function startUpstream(answer: Answer = echo, port = 0): Promise<FakeUpstream> {
  let closing = false;
  const pending = new Set<ServerResponse>();
  const server = http.createServer((request, response) => {
    // Draining: answer what arrives, then close its connection rather than wait for more.
    if (closing) response.shouldKeepAlive = false;
    pending.add(response);
    response.on('close', () => pending.delete(response));
    if (request.url === '/readyz') {
      upstream.checks += 1;
      if (upstream.readyStatus === 'hang') return;
      response.writeHead(upstream.readyStatus, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: upstream.readyStatus === 200 ? 'READY' : 'NOT READY' }));
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const seen = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) };
      upstream.seen.push(seen);
      upstream.answer(seen, response, request);
    });
  });
  const upstream: FakeUpstream = {
    url: '',
    server,
    seen: [],
    answer,
    readyStatus: 200,
    checks: 0,
    close: async () => {
      if (!server.listening) return;
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
    shutdown: async () => {
      if (!server.listening) return;
      closing = true;
      // Answers still being prepared go out with Connection: close, so no keep-alive connection
      // outlives its last answer (server.close only closes the connections idle at the time).
      for (const response of pending) if (!response.headersSent) response.shouldKeepAlive = false;
      const closed = once(server, 'close');
      // Stops listening and closes the idle keep-alive connections; busy ones close after their answer.
      server.close();
      await closed;
    },
  };
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return upstream;
}

/** A port that was free a moment ago and has nothing listening on it now. */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return `http://127.0.0.1:${port}`;
}

export type Answered = { status: number; headers: IncomingHttpHeaders; body: Buffer; text: string; json(): any };

/** A plain HTTP/1.1 request with no connection reuse, so every header on the wire is visible. */
export function send(
  base: string,
  method: string,
  target: string,
  options: { body?: Buffer | string; headers?: Record<string, string> } = {},
): Promise<Answered> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const headers = { ...options.headers };
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    const request = http.request({ host: url.hostname, port: url.port, method, path: target, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, text, json: () => JSON.parse(text) });
      });
    });
    // A server that refuses a large body may close before it has all been written; the
    // response, already received, is what the test wants.
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    request.end(options.body);
  });
}

export const quiet = { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' };

export function assertProblem(answer: Answered, status: number, type?: string): Record<string, unknown> {
  assert.equal(answer.status, status, answer.text);
  assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
  const problem = answer.json();
  assert.equal(problem.status, status);
  assert.equal(typeof problem.title, 'string');
  if (type) assert.equal(problem.type, type);
  return problem;
}

/** Polls `condition` every few milliseconds until it holds, failing after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
