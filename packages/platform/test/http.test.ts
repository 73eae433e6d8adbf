import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Type } from 'typebox';
import { createApp, type ReadinessCheck } from '../src/http/app.ts';
import { conflict, problemTypes } from '../src/http/problem.ts';
import { createMetrics } from '../src/telemetry/metrics.ts';
import { defer, uuidPattern, waitFor } from './helpers.ts';

const ThingBody = Type.Object(
  { name: Type.String({ minLength: 1 }), count: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
const CancelBody = Type.Object({ reason: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false });
const ListQuery = Type.Object({ page: Type.Optional(Type.Integer({ minimum: 0 })) });

async function build(t: TestContext, readiness: ReadinessCheck[] = []) {
  const metrics = createMetrics('http-test');
  const app = await createApp({ serviceName: 'http-test', title: 'Test', description: 'test app', logLevel: 'silent', metrics, readiness });
  app.post('/things', { schema: { body: ThingBody } }, async (request, reply) => reply.code(201).send(request.body));
  app.get('/things', { schema: { querystring: ListQuery } }, async (request) => ({ page: request.query.page ?? 0 }));
  app.get('/things/:id', async (request) => ({ id: (request.params as { id: string }).id }));
  app.post('/things/:id/cancel', { schema: { body: CancelBody } }, async (request) => ({ reason: request.body.reason ?? null }));
  app.post('/things/:id/complete', async () => {
    throw conflict('thing 1 is already completed');
  });
  app.get('/boom', async () => {
    throw new Error('connect ECONNREFUSED postgres://admin:hunter2@10.0.0.5/clinic');
  });
  await app.ready();
  defer(t, () => app.close());
  return { app, metrics };
}

type Problem = {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: Array<{ field: string; in?: string; message: string }>;
};

function assertProblem(response: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number): Problem {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const problem = JSON.parse(response.body) as Problem;
  assert.equal(problem.status, status);
  assert.equal(typeof problem.type, 'string');
  assert.equal(typeof problem.title, 'string');
  return problem;
}

describe('createApp: problem+json errors', () => {
  test('an invalid body is a 400 listing the failing fields in the body', async (t) => {
    const { app } = await build(t);

    const missing = assertProblem(await app.inject({ method: 'POST', url: '/things', payload: { name: 'chart' } }), 400);
    assert.equal(missing.type, problemTypes.validation);
    assert.equal(missing.instance, '/things');
    assert.deepEqual(
      missing.errors?.map((e) => [e.field, e.in]),
      [['count', 'body']],
    );

    const wrongType = assertProblem(await app.inject({ method: 'POST', url: '/things', payload: { name: 'chart', count: 'many' } }), 400);
    assert.deepEqual(
      wrongType.errors?.map((e) => [e.field, e.in]),
      [['count', 'body']],
    );
    assert.match(wrongType.errors![0]!.message, /integer/);

    const unknown = assertProblem(
      await app.inject({ method: 'POST', url: '/things', payload: { name: 'chart', count: 1, colour: 'red' } }),
      400,
    );
    assert.deepEqual(unknown.errors, [{ field: 'colour', in: 'body', message: 'is not a known property' }]);

    // Every failing field is listed, not only the first.
    const several = assertProblem(await app.inject({ method: 'POST', url: '/things', payload: { count: -1, extra: true } }), 400);
    assert.deepEqual(several.errors?.map((e) => e.field).sort(), ['count', 'extra', 'name']);
    assert.ok(several.errors?.every((e) => e.in === 'body'));

    const created = await app.inject({ method: 'POST', url: '/things', payload: { name: 'chart', count: 2 } });
    assert.equal(created.statusCode, 201);
    assert.deepEqual(created.json(), { name: 'chart', count: 2 });
  });

  test('an invalid query string is a 400 naming the parameter in the query string', async (t) => {
    const { app } = await build(t);
    const problem = assertProblem(await app.inject({ method: 'GET', url: '/things?page=first' }), 400);
    assert.deepEqual(
      problem.errors?.map((e) => [e.field, e.in]),
      [['page', 'querystring']],
    );
    assert.equal(problem.instance, '/things', 'the instance is the path without the query');
  });

  test('malformed JSON is a 400', async (t) => {
    const { app } = await build(t);
    const problem = assertProblem(
      await app.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/json' }, payload: '{"name": "chart",' }),
      400,
    );
    assert.equal(problem.detail, 'the body is not valid JSON');
  });

  test('a body that is not JSON is a 415', async (t) => {
    const { app } = await build(t);
    for (const contentType of ['application/xml', 'application/x-www-form-urlencoded']) {
      const problem = assertProblem(
        await app.inject({ method: 'POST', url: '/things', headers: { 'content-type': contentType }, payload: 'name=chart&count=1' }),
        415,
      );
      assert.equal(problem.title, 'Unsupported Media Type');
    }
  });

  test(
    'a text/plain body is a 415',
    async (t) => {
      const { app } = await build(t);
      assertProblem(
        await app.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'text/plain' }, payload: 'chart' }),
        415,
      );
    },
  );

  test('a 3 MB body is a 413', async (t) => {
    const { app } = await build(t);
    const payload = JSON.stringify({ name: 'x'.repeat(3 * 1024 * 1024), count: 1 });
    const problem = assertProblem(
      await app.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/json' }, payload }),
      413,
    );
    assert.match(problem.detail ?? '', /1048576 bytes/);
  });

  test('an unknown route is a 404', async (t) => {
    const { app } = await build(t);
    const problem = assertProblem(await app.inject({ method: 'GET', url: '/nothing/here?x=1' }), 404);
    assert.equal(problem.type, problemTypes.notFound);
    assert.equal(problem.detail, 'no route for GET /nothing/here');
  });

  test('a handler that throws a plain Error is a 500 that does not reveal the error', async (t) => {
    const { app } = await build(t);
    const response = await app.inject({ method: 'GET', url: '/boom' });
    const problem = assertProblem(response, 500);
    assert.equal(problem.title, 'Internal Server Error');
    assert.doesNotMatch(response.body, /hunter2|postgres|ECONNREFUSED|10\.0\.0\.5/);
    assert.doesNotMatch(response.body, /at .*\.ts:\d+/, 'no stack trace');
  });

  test('an HttpProblem passes through with its status, type and detail', async (t) => {
    const { app } = await build(t);
    const problem = assertProblem(await app.inject({ method: 'POST', url: '/things/1/complete' }), 409);
    assert.deepEqual(problem, {
      type: problemTypes.conflict,
      title: 'Conflict',
      status: 409,
      detail: 'thing 1 is already completed',
      instance: '/things/1/complete',
    });
  });
});

describe('createApp: requests', () => {
  test('x-request-id is echoed, and generated when absent', async (t) => {
    const { app } = await build(t);
    const given = await app.inject({ method: 'GET', url: '/things/1', headers: { 'x-request-id': 'req-from-gateway-1' } });
    assert.equal(given.headers['x-request-id'], 'req-from-gateway-1');
    const onProblem = await app.inject({ method: 'GET', url: '/boom', headers: { 'x-request-id': 'req-from-gateway-2' } });
    assert.equal(onProblem.headers['x-request-id'], 'req-from-gateway-2');
    const onNotFound = await app.inject({ method: 'GET', url: '/nothing', headers: { 'x-request-id': 'req-from-gateway-3' } });
    assert.equal(onNotFound.headers['x-request-id'], 'req-from-gateway-3');

    const first = await app.inject({ method: 'GET', url: '/things/1' });
    const second = await app.inject({ method: 'GET', url: '/things/1' });
    assert.match(String(first.headers['x-request-id']), uuidPattern);
    assert.match(String(second.headers['x-request-id']), uuidPattern);
    assert.notEqual(first.headers['x-request-id'], second.headers['x-request-id']);
  });

  test('a POST whose body fields are all optional accepts no body at all', async (t) => {
    const { app } = await build(t);
    const none = await app.inject({ method: 'POST', url: '/things/1/cancel' });
    assert.equal(none.statusCode, 200, none.body);
    assert.deepEqual(none.json(), { reason: null });
    const emptyJson = await app.inject({ method: 'POST', url: '/things/1/cancel', headers: { 'content-type': 'application/json' }, payload: '' });
    assert.equal(emptyJson.statusCode, 200, emptyJson.body);
    assert.deepEqual(emptyJson.json(), { reason: null });
    const withReason = await app.inject({ method: 'POST', url: '/things/1/cancel', payload: { reason: 'patient left' } });
    assert.deepEqual(withReason.json(), { reason: 'patient left' });
    // An empty body is still validated: a required field stays required.
    assertProblem(await app.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/json' }, payload: '' }), 400);
  });

  test('/healthz answers 200', async (t) => {
    const { app } = await build(t);
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { status: 'UP' });
  });

  test('/readyz is 503 while a readiness check throws and after stopAccepting()', async (t) => {
    let databaseUp = true;
    const { app } = await build(t, [
      {
        name: 'database',
        check: async () => {
          if (!databaseUp) throw new Error('SQLITE_CANTOPEN /var/lib/clinic/reception.sqlite');
        },
      },
      { name: 'transport', check: async () => undefined },
    ]);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'READY' });

    databaseUp = false;
    const down = await app.inject({ method: 'GET', url: '/readyz' });
    const problem = assertProblem(down, 503);
    assert.equal(problem.type, problemTypes.unavailable);
    assert.equal(problem.detail, 'not ready: database');
    assert.doesNotMatch(down.body, /SQLITE_CANTOPEN/);

    databaseUp = true;
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    app.stopAccepting();
    assert.equal(assertProblem(await app.inject({ method: 'GET', url: '/readyz' }), 503).detail, 'shutting down');
    // Liveness is not readiness: the process is still alive while it drains.
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });

  test('/metrics labels request durations with the route pattern, never the raw URL', async (t) => {
    const { app } = await build(t);
    await app.inject({ method: 'GET', url: '/things/41' });
    await app.inject({ method: 'GET', url: '/things/42?verbose=1' });
    await app.inject({ method: 'POST', url: '/things/42/complete' });
    await app.inject({ method: 'GET', url: '/no/such/path/42' });

    const count = (text: string, labels: string) => {
      const line = text.split('\n').find((l) => l.startsWith('http_request_duration_seconds_count{') && l.includes(labels));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const text = await waitFor('the four requests to be observed', async () => {
      const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      return count(body, 'route="/things/:id",status_code="200"') === 2 ? body : undefined;
    });
    assert.equal(count(text, 'method="GET",route="/things/:id",status_code="200"'), 2);
    assert.equal(count(text, 'method="POST",route="/things/:id/complete",status_code="409"'), 1);
    assert.equal(count(text, 'status_code="404"'), 1);
    const routes = new Set([...text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]));
    for (const route of routes) assert.doesNotMatch(route!, /\d/, `route label "${route}" holds no raw id`);
    assert.ok(!text.includes('/no/such/path'), 'an unmatched URL never becomes a label');
    assert.match(text, /# TYPE http_request_duration_seconds histogram/);
    assert.match(text, /service="http-test"/);
  });
});

describe('createApp: OpenAPI document', () => {
  // Found by schemathesis (test/e2e/schemathesis.test.ts): the errors are problem+json, and the
  // document listed them as application/json, so every 4xx broke its own operation's contract.
  test('documents error answers as application/problem+json and the others as application/json', async (t) => {
    const metrics = createMetrics('http-test');
    const app = await createApp({ serviceName: 'http-test', title: 'Test', description: 'test app', logLevel: 'silent', metrics, readiness: [] });
    const Thing = Type.Object({ name: Type.String() });
    const Problem = Type.Object({ type: Type.String(), title: Type.String(), status: Type.Integer() }, { additionalProperties: true });
    app.post('/things', { schema: { body: ThingBody, response: { 201: Thing, 400: Problem, 409: Problem } } }, async (_request, reply) =>
      reply.code(201).send({ name: 'chart' }),
    );
    await app.ready();
    defer(t, () => app.close());

    const document = JSON.parse((await app.inject({ method: 'GET', url: '/openapi.json' })).body) as {
      paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, unknown> }> }>>;
    };
    const responses = document.paths['/things']!.post!.responses;
    assert.deepEqual(Object.keys(responses['201']!.content), ['application/json']);
    assert.deepEqual(Object.keys(responses['400']!.content), ['application/problem+json']);
    assert.deepEqual(Object.keys(responses['409']!.content), ['application/problem+json']);
    // And the answer is what the document says.
    const invalid = await app.inject({ method: 'POST', url: '/things', payload: {} });
    assert.equal(invalid.statusCode, 400);
    assert.match(String(invalid.headers['content-type']), /^application\/problem\+json/);
  });
});
