import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { IncomingHttpHeaders as Http2IncomingHttpHeaders } from 'node:http2';
import replyFrom, { type FastifyReplyFromHooks } from '@fastify/reply-from';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BODY_LIMIT_BYTES, HttpProblem, problemTypes, sendProblem, type App } from '@medical/platform/edge';
import type { Upstream } from './config.ts';
import type { Tracer } from '@opentelemetry/api';
import { classifyFailure, type Failure, type Replica, type ReplicaSet } from './replicas.ts';
import { startUpstreamSpan, type UpstreamSpan } from './upstream-span.ts';

type Headers = IncomingHttpHeaders | Http2IncomingHttpHeaders;

/** Connection-scoped headers (RFC 9110 §7.6.1): they describe one hop and must not be relayed. */
const hopByHop = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

/** Requests that can be replayed without effect, so also after they may have reached a service. */
const replayable = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Where the gateway serves an upstream's own OpenAPI document. */
export function documentPath(upstream: Upstream): string {
  return `/openapi/${upstream.service}.json`;
}

function unavailable(service: string): HttpProblem {
  return new HttpProblem({
    status: 503,
    title: 'Service Unavailable',
    type: problemTypes.unavailable,
    detail: `the ${service} service is unavailable; try again shortly`,
  });
}

function badGateway(service: string): HttpProblem {
  return new HttpProblem({ status: 502, title: 'Bad Gateway', detail: `the ${service} service sent an invalid answer` });
}

/** Answers up to this size are buffered whole before they are sent on (see onResponse). */
const BUFFERED_ANSWER_LIMIT_BYTES = 256 * 1024;

/**
 * The whole of a body of `length` bytes; rejects if the stream fails or ends short. Listeners,
 * not `for await`: the async iterator and end-of-stream watcher it sets up for every answer
 * showed in the gateway's CPU profile.
 */
function readWhole(stream: Readable, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
    });
    stream.once('end', () => {
      if (received !== length) reject(new Error(`the answer ended after ${received} of ${length} bytes`));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    });
    stream.once('error', reject);
    // Destroyed without an error (the connection was cut): no 'end' comes.
    stream.once('close', () => {
      if (!stream.readableEnded) reject(new Error(`the answer was cut off after ${received} of ${length} bytes`));
    });
  });
}

function appendForwardedFor(existing: string | string[] | undefined, ip: string): string {
  const previous = Array.isArray(existing) ? existing.join(', ') : existing;
  return previous ? `${previous}, ${ip}` : ip;
}

/**
 * The headers a request goes on to a replica with: the caller's, plus
 * - the gateway's own request id, so the upstream's logs and records correlate with ours, and the
 *   client's X-Request-Id as `x-client-request-id` (one a client sent under that name is replaced);
 * - who asked, and for which host (reply-from points Host at the replica), kept visible;
 * - the attempt's own `traceparent` when it has one, so the service's span continues the
 *   attempt's span, not the caller's (W3C trace context).
 * One copy of the headers per request: this runs on every proxied request.
 */
function forwardedHeaders(request: FastifyRequest, headers: Headers, traceparent: string | undefined): Headers {
  const forwarded: Headers = {
    ...headers,
    'x-request-id': request.id,
    'x-forwarded-for': appendForwardedFor(headers['x-forwarded-for'], request.ip),
    'x-forwarded-proto': request.protocol,
  };
  if (request.headers.host) forwarded['x-forwarded-host'] = request.headers.host;
  if (request.clientRequestId !== undefined) forwarded['x-client-request-id'] = request.clientRequestId;
  else delete forwarded['x-client-request-id'];
  if (traceparent) forwarded.traceparent = traceparent;
  return forwarded;
}

/**
 * The longest quiet an event stream may have before the gateway calls its replica hung: three of
 * the services' 15 s keepalives, so one delayed keepalive is no reason to cut a stream.
 */
export const STREAM_IDLE_TIMEOUT_MS = 45_000;

/** reply-from's settings for one proxy client: how long to connect and start an answer, and the longest quiet within one. */
function proxyClientOptions(timeoutMs: number, bodyTimeoutMs: number) {
  return {
    // No base: each request names its replica (getUpstream below), and reply-from's undici
    // Agent keeps one connection pool per replica origin, with these limits applying to each.
    undici: {
      connectTimeout: timeoutMs,
      headersTimeout: timeoutMs,
      bodyTimeout: bodyTimeoutMs,
      // reply-from turns certificate checks off (tls.rejectUnauthorized = false) unless told
      // otherwise; undici lets `connect` override that, and an https upstream must be verified.
      connect: { rejectUnauthorized: true },
    },
    // Fastify already logs every request and its outcome; upstream failures are logged below.
    disableRequestLogging: true,
    // Close the pools' keep-alive sockets with the app, so a stopped gateway holds nothing open.
    destroyAgent: true,
  };
}

/**
 * Where a failed first attempt may be tried again, if anywhere. Never more than once, and:
 * - a request that never left the gateway (the connection failed) goes to another replica
 *   whatever its method, since the service cannot have acted on it;
 * - one that may have reached the service goes to another replica only if replaying it is
 *   harmless (GET, HEAD, OPTIONS); a POST that timed out or was cut off is answered 503, because
 *   the service may have done the work and a second try could do it twice;
 * - with a single replica, only a replayable request whose connection was reset is tried again,
 *   on the same replica: most likely a keep-alive connection the service had just closed.
 */
function retryTarget(replicas: ReplicaSet, failed: Replica, failure: Failure, method: string): Replica | undefined {
  if (failure.sent && !replayable.has(method)) return undefined;
  const other = replicas.pick(failed);
  if (other) return other;
  return failure.kind === 'reset' && replayable.has(method) ? failed : undefined;
}

/** One upstream as its routes see it: which service, its replicas, and the tracer of each attempt's span. */
type Target = { upstream: Upstream; replicas: ReplicaSet; tracer: Tracer };

/** One try at sending a request on: to which replica, at which path, and whether it is already the second. */
type Attempt = { request: FastifyRequest; reply: FastifyReply; source: string | undefined; replica: Replica; retried: boolean };

/** What every attempt hands reply-from, whichever replica it goes to. */
const relayHooks = {
  rewriteHeaders: (headers: Headers): Headers => {
    const relayed: Headers = { ...headers };
    for (const name of hopByHop) delete relayed[name];
    return relayed;
  },
  // reply-from's own retries go back to the same URL, so the same replica, and by default it
  // replays a GET that answers 503 up to ten times, which would hide an upstream's own 503.
  // Retrying is decided in answerFailedAttempt instead, where another replica can be chosen.
  retryDelay: () => null,
} satisfies FastifyReplyFromHooks;

/**
 * Forwards every method on each of its `prefixes` and everything below them to one replica of one upstream
 * service, unchanged: path, query string, body bytes and headers go out as they came in, and the
 * upstream's status, headers and body (its problem documents and Location headers included) come
 * back as they are. Replicas take turns (round-robin over the healthy ones, see ReplicaSet). The
 * gateway answers by itself only when no replica can: 503 when they are down, refusing
 * connections, resetting them or slower than `timeoutMs`, so the other routes keep working.
 *
 * Also, on the upstream's upload routes (Upstream.uploads), the body (multipart/form-data) is not
 * buffered but streamed through to the replica as it arrives, up to `uploadLimitBytes` (the
 * attachment limit plus the multipart framing; the service enforces the exact limit on the file),
 * the way an nginx location with client_max_body_size and proxy_request_buffering off does: the
 * gateway holds a chunk at a time, not 20 MiB per upload. Such a request is never retried: its
 * body has been (partly) consumed and cannot be sent again.
 */
export async function registerUpstream(
  app: App,
  upstream: Upstream,
  replicas: ReplicaSet,
  timeoutMs: number,
  tracer: Tracer,
  uploadLimitBytes = BODY_LIMIT_BYTES,
): Promise<void> {
  const target: Target = { upstream, replicas, tracer };
  // A plugin of its own: the raw-body parser and the proxy clients stay inside this upstream's
  // scope, and each upstream gets its own clients, so a hung service cannot hold the sockets
  // another one needs.
  await app.register(async (upstreamScope) => {
    keepBodiesAsBytes(upstreamScope);
    await upstreamScope.register(apiRoutes, { target, timeoutMs, uploadLimitBytes });
    if (upstream.streams?.length) await upstreamScope.register(eventStreamRoutes, { target, timeoutMs });
  });
}

/**
 * The services parse and validate their own bodies; re-parsing here would only add a second place
 * to disagree (and would re-encode JSON), so every body stays the bytes that arrived.
 */
function keepBodiesAsBytes(scope: App): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_request, body, done) => {
    done(null, body);
  });
}

/** The API's routes, with the proxy client whose limits are timeoutMs throughout. */
async function apiRoutes(scope: App, { target, timeoutMs, uploadLimitBytes }: { target: Target; timeoutMs: number; uploadLimitBytes: number }): Promise<void> {
  await scope.register(replyFrom, proxyClientOptions(timeoutMs, timeoutMs));
  const { upstream } = target;
  for (const prefix of upstream.prefixes) {
    scope.all(prefix, forwardTo(target));
    scope.all(`${prefix}/*`, forwardTo(target));
  }
  for (const route of upstream.routes ?? []) scope.all(route, forwardTo(target));
  if (upstream.uploads?.length) await scope.register(uploadRoutes, { target, uploadLimitBytes });
  // The service's own API document, reachable through the one entry point like its API.
  scope.get(documentPath(upstream), forwardTo(target, '/openapi.json'));
}

/**
 * The upload routes (see registerUpstream): the request stream itself is the body, whatever its
 * media type, because the service judges it (a body that is not multipart is its 415) and the
 * route's limit bounds it.
 */
async function uploadRoutes(scope: App, { target, uploadLimitBytes }: { target: Target; uploadLimitBytes: number }): Promise<void> {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  for (const path of target.upstream.uploads ?? []) scope.post(path, { bodyLimit: uploadLimitBytes }, forwardTo(target));
}

/**
 * Event streams (Upstream.streams), with a client of their own that lets an answer last as long
 * as it needs, as long as it is never quiet for STREAM_IDLE_TIMEOUT_MS.
 */
async function eventStreamRoutes(scope: App, { target, timeoutMs }: { target: Target; timeoutMs: number }): Promise<void> {
  await scope.register(replyFrom, proxyClientOptions(timeoutMs, STREAM_IDLE_TIMEOUT_MS));
  cutOpenRequestsOnClose(scope);
  for (const path of target.upstream.streams ?? []) scope.get(path, forwardTo(target));
}

/**
 * A stream never ends by itself, and the server's close waits for every open request: the
 * scope's open requests are cut when the gateway stops (the clients reconnect, to another replica).
 */
function cutOpenRequestsOnClose(scope: App): void {
  const open = new Set<FastifyRequest>();
  scope.addHook('onRequest', async (request) => {
    open.add(request);
    request.raw.once('close', () => open.delete(request));
  });
  scope.addHook('preClose', async () => {
    for (const request of open) request.raw.socket.destroy();
  });
}

/** The route handler that sends a request on to `source` on a replica (by default, its own path and query). */
function forwardTo(target: Target, source?: string) {
  return (request: FastifyRequest, reply: FastifyReply): void => {
    // No body arrived; the platform's app substitutes {} for handlers that expect one, which
    // reply-from would try to send. Send none, as the caller did. A stream (an upload) is
    // piped through by reply-from as it is.
    if (!Buffer.isBuffer(request.body) && !(request.body instanceof Readable)) request.body = undefined;
    // Never undefined: pick falls back to replicas not known healthy, and there is at least one.
    sendAttempt(target, { request, reply, source, replica: target.replicas.pick()!, retried: false });
  };
}

/** Sends the request to the attempt's replica, under a span of its own. */
function sendAttempt(target: Target, attempt: Attempt): void {
  const { request, reply, source, replica } = attempt;
  const span = startUpstreamSpan(target.tracer, request, target.upstream.service, replica.origin);
  const hooks = attemptHooks(target, attempt, span);
  if (Buffer.isBuffer(request.body)) {
    // Handing reply-from the bytes with their own content type sends them as they are; left to
    // itself it would JSON.stringify a Buffer whose content type is application/json. The same
    // Buffer is sent again as it is if the request is retried on another replica.
    const contentType = request.headers['content-type'] ?? 'application/octet-stream';
    reply.from(source, { ...hooks, body: request.body, contentType });
    return;
  }
  reply.from(source, hooks);
}

/** reply-from's hooks for one attempt: where it goes, what it carries, and how its outcome is answered and traced. */
function attemptHooks(target: Target, attempt: Attempt, span: UpstreamSpan): FastifyReplyFromHooks {
  return {
    ...relayHooks,
    getUpstream: () => attempt.replica.origin,
    rewriteRequestHeaders: (_request, headers) => forwardedHeaders(attempt.request, headers, span.traceparent),
    onResponse: (_request, _reply, response) => {
      span.answered(response.statusCode);
      relayAnswer(attempt, response.stream, target.upstream.service);
    },
    onError: (_reply, { error }) => {
      span.failed(error);
      answerFailedAttempt(target, attempt, error);
    },
  };
}

/** Sends the replica's answer on: small ones whole, the others as they arrive. */
function relayAnswer({ request, reply }: Attempt, body: Readable, service: string): void {
  // reply-from goes on to stream the upstream's body even after it had onError answer an invalid
  // status line; discard that body rather than send a second reply.
  if (reply.sent) {
    body.destroy();
    return;
  }
  // reply-from has copied the replica's headers onto the reply by now.
  const length = Number(reply.getHeader('content-length'));
  if (!(length <= BUFFERED_ANSWER_LIMIT_BYTES)) {
    // Large, or of unknown length (an event stream): relayed as it arrives.
    reply.send(body);
    return;
  }
  // A small answer of known length is read whole and sent in one write, as nginx's proxy
  // buffering does: relaying it as a stream cost a write per chunk plus chunked framing, which
  // was most of the gateway's time per request.
  readWhole(body, length).then(
    (whole) => {
      if (!reply.sent) reply.send(whole);
    },
    () => {
      // The replica cut its answer short: say so rather than relay a truncated body.
      if (!reply.sent) sendProblem(reply, request, badGateway(service));
    },
  );
}

/**
 * reply-from has already logged the cause (at warn, with the request id); what is left is to
 * judge the replica, maybe try another, and otherwise answer with a problem document instead of
 * its bare 500/504 error objects.
 */
function answerFailedAttempt(target: Target, attempt: Attempt, error: Error): void {
  const { request, reply, replica } = attempt;
  const { service } = target.upstream;
  if ((error as { code?: string }).code === 'FST_REPLY_FROM_BAD_GATEWAY') {
    // The replica answered, just not in HTTP; it is up, and the answer is not replayable.
    sendProblem(reply, request, badGateway(service));
    return;
  }
  const failure = classifyFailure(error);
  if (failure) {
    target.replicas.markDown(replica, `${failure.kind} failure on a proxied request`);
    // A streamed body (an upload) is gone once read, so never sent twice.
    const streamed = request.body instanceof Readable;
    const next = attempt.retried || streamed ? undefined : retryTarget(target.replicas, replica, failure, request.method);
    if (next) {
      request.log.warn(
        { upstream: replica.origin, retryOn: next.origin, failure },
        `retrying on ${next === replica ? 'the same' : 'another'} ${service} replica`,
      );
      sendAttempt(target, { ...attempt, replica: next, retried: true });
      return;
    }
  }
  sendProblem(reply, request, unavailable(service));
}
