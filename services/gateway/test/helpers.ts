import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Role } from '@medical/contracts';
import { startGateway as startGatewayInProcess, type RunningGateway } from '../src/gateway.ts';

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
    // The admin's token of a gateway started below, unless the test names its own authorization
    // (an empty one: none at all).
    const token = signedIn.get(base);
    if (headers.authorization === '') delete headers.authorization;
    else if (token && headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
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

/** The admin token of each gateway started by startGateway below, by its URL: what send() sends. */
const signedIn = new Map<string, string>();

/** A token for the demo user of `role` from the gateway's development identity provider. */
export async function signIn(base: string, role: Role, password = 'demo'): Promise<string> {
  const answer = await send(base, 'POST', '/auth/token', {
    body: JSON.stringify({ username: role, password }),
    headers: { 'content-type': 'application/json', authorization: '' },
  });
  assert.equal(answer.status, 200, answer.text);
  return answer.json().access_token;
}

/**
 * The gateway in this process, as it runs with `npm start` (AUTH_MODE=dev): its own development
 * identity provider is the issuer its verifier trusts, so with PORT=0 a free port is chosen first
 * (the issuer URL names it), and DATA_DIR is a temporary directory for the signing key. Requests
 * with send() then carry an admin token, so the tests about routing see the routing.
 */
export async function startGateway(env: Record<string, string | undefined>): Promise<RunningGateway> {
  // As `npm start` runs it: asking for the development identity provider (the default is AUTH_MODE=oidc).
  const settings: Record<string, string | undefined> = { AUTH_MODE: 'dev', ...env };
  if (settings.PORT === '0') settings.PORT = new URL(await closedPortUrl()).port;
  if (settings.AUTH_MODE === 'dev' && settings.OIDC_ISSUER === undefined && /^\d+$/.test(settings.PORT ?? '')) {
    settings.OIDC_ISSUER = `http://127.0.0.1:${settings.PORT}/auth`;
  }
  let dataDir: string | undefined;
  if (settings.DATA_DIR === undefined) settings.DATA_DIR = dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-test-'));
  const removeDataDir = () => {
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  let gateway: RunningGateway;
  try {
    gateway = await startGatewayInProcess(settings);
  } catch (error) {
    removeDataDir();
    throw error;
  }
  const stop = gateway.stop;
  gateway.stop = async () => {
    await stop();
    signedIn.delete(gateway.url);
    removeDataDir();
  };
  if (gateway.config.auth.mode === 'dev') signedIn.set(gateway.url, await signIn(gateway.url, 'admin'));
  return gateway;
}
