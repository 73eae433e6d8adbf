import http from 'node:http';
import { Pool } from 'undici';

/**
 * The least a Node.js reverse proxy can do per request, run by scenario 1 beside nginx and the
 * gateway: node:http in front, undici's connection pool behind (the client the gateway uses), the
 * answer read whole and sent in one write. No routing, validation, request ids, metrics, retries
 * or health checks. What it reaches is the ceiling of any gateway written in Node.js on this
 * machine, so the gateway's figure is read against it as well as against nginx's.
 *
 * Usage: node bench/lib/minimal-proxy.ts <upstream origin> <port>; prints "ready" when listening.
 */
const [upstream, port] = process.argv.slice(2);
if (!upstream || !port) throw new Error('usage: minimal-proxy.ts <upstream origin> <port>');

const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding']);
const pool = new Pool(upstream, { connections: 64 });

const server = http.createServer(async (request, response) => {
  try {
    const answer = await pool.request({ path: request.url ?? '/', method: request.method as 'GET', headers: request.headers, body: request.method === 'GET' || request.method === 'HEAD' ? null : request });
    const body = Buffer.from(await answer.body.arrayBuffer());
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(answer.headers)) if (!hopByHop.has(name)) headers[name] = value;
    response.writeHead(answer.statusCode, headers);
    response.end(body);
  } catch {
    response.writeHead(502);
    response.end();
  }
});

server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => {
  server.close();
  void pool.close();
});
