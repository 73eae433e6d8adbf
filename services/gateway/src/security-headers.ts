import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import helmet, { type HelmetOptions } from 'helmet';
import type { App } from '@medical/platform/edge';

/**
 * Helmet's security headers on every answer. They depend on nothing in the request, so helmet
 * writes them once, at start, onto a response that is never sent, and every request gets a copy
 * of what it wrote. @fastify/helmet built helmet's middleware anew for every request instead
 * (reading the options and parsing the CSP directives each time, in two hooks) for the same
 * dozen headers: once bearer tokens were no longer verified on every request, that was about 8%
 * of the gateway's CPU per proxied request.
 */
export function helmetHeaders(options: Readonly<HelmetOptions>): Record<string, string> {
  const request = new IncomingMessage(new Socket());
  const response = new ServerResponse(request);
  helmet(options)(request, response, (error?: unknown) => {
    if (error) throw error;
  });
  return Object.fromEntries(Object.entries(response.getHeaders()).map(([name, value]) => [name, String(value)]));
}

/**
 * Sets the headers in an onRequest hook: install it before the hooks that may refuse a request
 * (authentication), so refusals carry them too. A route that needs another value (the console's
 * Content-Security-Policy) sets its own later, which replaces this one.
 */
export function installSecurityHeaders(app: App, options: Readonly<HelmetOptions>): void {
  const headers = helmetHeaders(options);
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
