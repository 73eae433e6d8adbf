import type { IncomingHttpHeaders } from 'node:http';
import type { IncomingHttpHeaders as Http2IncomingHttpHeaders } from 'node:http2';
import replyFrom, { type FastifyReplyFromHooks, type RetryDetails } from '@fastify/reply-from';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BODY_LIMIT_BYTES, sendProblem, type App } from '@medical/platform/http/app';
import { HttpProblem, problemTypes } from '@medical/platform/http/problem';
import type { Upstream } from './config.ts';

type Headers = IncomingHttpHeaders | Http2IncomingHttpHeaders;

/** Connection-scoped headers (RFC 9110 §7.6.1): they describe one hop and must not be relayed. */
const hopByHop = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

/** Only requests that can be replayed without effect are retried, and only once. */
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

function appendForwardedFor(existing: string | string[] | undefined, ip: string): string {
  const previous = Array.isArray(existing) ? existing.join(', ') : existing;
  return previous ? `${previous}, ${ip}` : ip;
}

/**
 * Forwards every method on `prefix` and everything below it to one upstream service, unchanged:
 * path, query string, body bytes and headers go out as they came in, and the upstream's status,
 * headers and body (its problem documents and Location headers included) come back as they are.
 * The gateway answers by itself only when the upstream cannot: 503 when it is down, refusing
 * connections, resetting them or slower than `timeoutMs`, so the other routes keep working.
 */
export async function registerUpstream(app: App, upstream: Upstream, timeoutMs: number): Promise<void> {
  // A plugin of its own: the raw-body parser and the proxy client stay inside this upstream's
  // scope, and each upstream gets its own connection pool, so a hung service cannot hold the
  // sockets another one needs.
  await app.register(async (scope) => {
    // The services parse and validate their own bodies; re-parsing here would only add a second
    // place to disagree (and would re-encode JSON). Keep every body as the bytes that arrived.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_request, body, done) => {
      done(null, body);
    });

    await scope.register(replyFrom, {
      base: upstream.url,
      undici: {
        connectTimeout: timeoutMs,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        // reply-from turns certificate checks off (tls.rejectUnauthorized = false) unless told
        // otherwise; undici lets `connect` override that, and an https upstream must be verified.
        connect: { rejectUnauthorized: true },
      },
      // Fastify already logs every request and its outcome; upstream failures are logged below.
      disableRequestLogging: true,
      // Close the pool's keep-alive sockets with the app, so a stopped gateway holds nothing open.
      destroyAgent: true,
    });

    const options: FastifyReplyFromHooks = {
      rewriteRequestHeaders: (request, headers) => ({
        ...headers,
        // The id Fastify took from the caller or generated, so the upstream's logs correlate with ours.
        'x-request-id': request.id,
        // reply-from points Host at the upstream; these keep who asked, and for which host, visible.
        'x-forwarded-for': appendForwardedFor(headers['x-forwarded-for'], request.ip),
        'x-forwarded-proto': request.protocol,
        ...(request.headers.host ? { 'x-forwarded-host': request.headers.host } : {}),
      }),
      rewriteHeaders: (headers) => {
        const relayed: Headers = { ...headers };
        for (const name of hopByHop) delete relayed[name];
        return relayed;
      },
      // reply-from replays a GET that answers 503 up to ten times by default, which would hide an
      // upstream's own 503 and stall the caller; only a socket that died before any answer (a
      // keep-alive connection the upstream had just closed) is worth one more try.
      retryDelay: ({ err, req, attempt }: RetryDetails) =>
        attempt === 0 && replayable.has(req.method) && (err as { code?: string } | undefined)?.code === 'UND_ERR_SOCKET' ? 1 : null,
      // reply-from has already logged the cause (at warn, with the request id); what is left is to
      // answer with a problem document instead of its bare 500/504 error objects.
      onError: (reply, { error }) => {
        const status = (error as { statusCode?: number }).statusCode;
        const problem = status === 502 ? badGateway(upstream.service) : unavailable(upstream.service);
        sendProblem(reply as FastifyReply, reply.request as FastifyRequest, problem);
      },
      // reply-from goes on to stream the upstream's body even after it had onError answer an
      // invalid status line; discard that body rather than send a second reply.
      onResponse: (_request, reply, response) => {
        if (reply.sent) {
          response.stream.destroy();
          return;
        }
        reply.send(response.stream);
      },
    };

    /** Sends the request on to `source` on the upstream (by default, its own path and query). */
    const forwardTo = (source?: string) => (request: FastifyRequest, reply: FastifyReply) => {
      if (Buffer.isBuffer(request.body)) {
        // Handing reply-from the bytes with their own content type sends them as they are; left to
        // itself it would JSON.stringify a Buffer whose content type is application/json.
        const contentType = request.headers['content-type'] ?? 'application/octet-stream';
        reply.from(source, { ...options, body: request.body, contentType });
        return;
      }
      // No body arrived; the platform's app substitutes {} for handlers that expect one, which
      // reply-from would try to send. Send none, as the caller did.
      request.body = undefined;
      reply.from(source, options);
    };

    scope.all(upstream.prefix, forwardTo());
    scope.all(`${upstream.prefix}/*`, forwardTo());
    // The service's own API document, reachable through the one entry point like its API.
    scope.get(documentPath(upstream), forwardTo('/openapi.json'));
  });
}
