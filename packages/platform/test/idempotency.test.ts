import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { Type } from 'typebox';
import type { Migrations } from '../src/db/database.ts';
import { IDEMPOTENCY_KEY_RETENTION_MS, purgeKeys } from '../src/idempotency/idempotency-keys.ts';
import type { PlatformTables } from '../src/service/platform-tables.ts';
import { bodyHash, canonicalJson, problemTypeKeyReused } from '../src/idempotency/http-idempotency.ts';
import { HttpProblem, conflict, notFound } from '../src/http/problem.ts';
import type { Permission } from '@medical/contracts';
import { startService, type RunningService, type ServiceDefinition } from '../src/service/service.ts';
import { defer, startDevIssuer, tempDir, type DevIssuer } from './helpers.ts';

/**
 * Idempotency-Key on the POST commands of a small service built with the platform (startService),
 * on SQLite, and on PostgreSQL when DATABASE_URL is set (a fresh schema per test, and two
 * replicas of the service on one schema for the concurrent case).
 */

type Tables = PlatformTables & { things: { id: number; name: string; version: number } };

const migrations: Migrations = {
  '0001_things': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('things')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
    },
  },
};

const NameBody = Type.Object({ name: Type.String({ minLength: 1 }), delayMs: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
const Thing = Type.Object({ id: Type.Integer(), name: Type.String(), version: Type.Integer() });

/** Executions of each command by this process: what a retry must not increase. */
type Executions = { create: number; rename: number; failing: number };

/** The test service's own permission table: its commands are the receptionist's. */
const thingRoutes: Array<[RegExp, string]> = [
  [/^\/things$/, '/things'],
  [/^\/things\/[^/]+\/rename$/, '/things/:id/rename'],
  [/^\/failing$/, '/failing'],
  [/^\/refused-early$/, '/refused-early'],
];
function thingPermission(method: string, concretePath: string): Permission | undefined {
  const path = concretePath.split('?')[0]!.replace(/(.)\/+$/, '$1');
  const route = method === 'POST' ? thingRoutes.find(([pattern]) => pattern.test(path)) : undefined;
  return route ? { method: 'POST', path: route[1], roles: ['receptionist', 'admin'] } : undefined;
}

let issuer: DevIssuer;
before(async () => {
  issuer = await startDevIssuer();
});
after(() => issuer?.close());

function definition(executions: Executions): ServiceDefinition<Tables> {
  return {
    name: 'idempotency-test',
    defaultPort: 0,
    title: 'Idempotency test',
    description: 'a service with a few commands',
    migrations,
    idSequences: ['things'],
    permissionFor: thingPermission,
    routes(app, context) {
      app.post(
        '/things',
        { schema: { body: NameBody, response: { 201: Thing } } },
        async (request, reply) => {
          const thing = await context.execute(async (trx) => {
            executions.create += 1;
            const id = await context.database.nextId(trx, 'things');
            await trx.insertInto('things').values({ id, name: request.body.name, version: 1 }).execute();
            // Widens the window in which a concurrent retry arrives while the command runs.
            if (request.body.delayMs) await new Promise((resolve) => setTimeout(resolve, request.body.delayMs));
            return { id, name: request.body.name, version: 1 };
          });
          return reply.code(201).header('location', `/things/${thing.id}`).send(thing);
        },
      );
      app.post('/things/:id/rename', { schema: { params: IdParams, body: NameBody, response: { 200: Thing } } }, async (request) =>
        context.execute(async (trx) => {
          executions.rename += 1;
          const thing = await trx.selectFrom('things').selectAll().where('id', '=', request.params.id).executeTakeFirst();
          if (!thing) throw notFound('thing', request.params.id);
          const renamed = { ...thing, name: request.body.name, version: thing.version + 1 };
          await trx.updateTable('things').set(renamed).where('id', '=', thing.id).execute();
          // Refused after writing: the refusal is kept, the write is not.
          if (request.body.name === 'forbidden') throw conflict(`thing ${thing.id} cannot be called that`);
          return renamed;
        }),
      );
      app.post('/failing', { schema: { body: NameBody } }, async () =>
        context.execute(async () => {
          executions.failing += 1;
          throw new Error('the disk is full');
        }),
      );
      app.post('/refused-early', async () => {
        throw new HttpProblem({ status: 400, title: 'Bad Request', detail: 'refused before any command' });
      });
    },
  };
}

type Started = { service: RunningService; executions: Executions; db: Kysely<Tables> };

async function start(t: TestContext, env: Record<string, string>): Promise<Started> {
  const executions: Executions = { create: 0, rename: 0, failing: 0 };
  const service = await startService(definition(executions), { LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', ...issuer.env, ...env });
  let stopped = false;
  defer(t, () => (stopped ? undefined : service.stop()));
  const stop = service.stop;
  service.stop = async () => {
    stopped = true;
    await stop();
  };
  return { service, executions, db: service.context.database.db as Kysely<Tables> };
}

type Reply = { status: number; headers: Headers; text: string; body: any };

async function post(base: string, path: string, body: unknown, key?: string, signal?: AbortSignal, role: 'receptionist' | 'doctor' | 'admin' | null = 'receptionist'): Promise<Reply> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key !== undefined ? { 'idempotency-key': key } : {}),
      ...(role ? await issuer.authorization(role) : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text ? JSON.parse(text) : undefined };
}

const count = async (db: Kysely<Tables>, name: string) =>
  Number((await db.selectFrom('things').select((eb) => eb.fn.countAll<number>().as('n')).where('name', '=', name).executeTakeFirstOrThrow()).n);

function assertProblem(reply: Reply, status: number): { type: string; detail: string } {
  assert.equal(reply.status, status, reply.text);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(reply.body.status, status);
  assert.ok(typeof reply.body.detail === 'string' && reply.body.detail.length > 0);
  return reply.body;
}

test('canonical JSON ignores key order and spacing, and the body hash follows it', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: null, c: 'x' }], u: undefined }), '{"a":[{"c":"x","d":null}],"b":1}');
  assert.equal(bodyHash(JSON.parse('{ "name": "a", "n": 1 }')), bodyHash({ n: 1, name: 'a' }));
  assert.notEqual(bodyHash({ name: 'a' }), bodyHash({ name: 'b' }));
  assert.equal(bodyHash(undefined), bodyHash({}), 'no body is the empty command');
});

/** The behaviour every engine must show; `open` starts one replica of the test service. */
function behaviour(open: (t: TestContext) => Promise<Started>) {
  test('the same key twice: one execution, the same status, body and Location, the second marked replayed', async (t) => {
    const { service, executions, db } = await open(t);
    const key = randomUUID();
    const first = await post(service.url, '/things', { name: 'chart' }, key);
    assert.equal(first.status, 201, first.text);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    // The same command, serialized differently: still the same body.
    const second = await post(service.url, '/things', '{ "name" : "chart" }', key);
    assert.equal(second.status, 201, second.text);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.equal(second.text, first.text);
    assert.equal(second.headers.get('location'), first.headers.get('location'));
    assert.equal(second.headers.get('location'), `/things/${first.body.id}`);
    assert.match(second.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(executions.create, 1);
    assert.equal(await count(db, 'chart'), 1);
  });

  test('the same key from another user is another request: it runs, and each user replays only their own answer', async (t) => {
    const { service, executions } = await open(t);
    const key = randomUUID();
    const mine = await post(service.url, '/things', { name: 'chart' }, key, undefined, 'receptionist');
    const theirs = await post(service.url, '/things', { name: 'chart' }, key, undefined, 'admin');
    assert.equal(mine.status, 201, mine.text);
    assert.equal(theirs.status, 201, theirs.text);
    assert.equal(theirs.headers.get('idempotent-replayed'), null);
    assert.notEqual(theirs.body.id, mine.body.id);
    assert.equal(executions.create, 2);
    const theirsAgain = await post(service.url, '/things', { name: 'chart' }, key, undefined, 'admin');
    assert.equal(theirsAgain.headers.get('idempotent-replayed'), 'true');
    assert.equal(theirsAgain.text, theirs.text);
    assert.equal(executions.create, 2);
  });

  test('a key stored before keys were kept per subject still replays its answer (an upgrade between a request and its retry)', async (t) => {
    const { service, executions, db } = await open(t);
    const key = randomUUID();
    const stored = JSON.stringify({ id: 99, name: 'legacy', version: 1 });
    await db
      .insertInto('idempotency_keys')
      .values({ idempotency_key: key, method: 'POST', path: '/things', body_hash: bodyHash({ name: 'legacy' }), status: 201, headers: JSON.stringify({ 'content-type': 'application/json; charset=utf-8' }), body: stored, created_at: new Date().toISOString() })
      .execute();
    const retry = await post(service.url, '/things', { name: 'legacy' }, key);
    assert.equal(retry.status, 201, retry.text);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.text, stored);
    assert.equal(executions.create, 0);
  });

  test('the same key with another body or on another path is a 422; an invalid key is a 400', async (t) => {
    const { service, executions } = await open(t);
    const key = randomUUID();
    assert.equal((await post(service.url, '/things', { name: 'one' }, key)).status, 201);
    const otherBody = assertProblem(await post(service.url, '/things', { name: 'two' }, key), 422);
    assert.equal(otherBody.type, problemTypeKeyReused);
    assert.match(otherBody.detail, /different body/);
    const otherPath = assertProblem(await post(service.url, '/things/1/rename', { name: 'one' }, key), 422);
    assert.match(otherPath.detail, /POST \/things/);
    assert.equal(executions.create, 1);
    assert.equal(executions.rename, 0);

    for (const bad of ['', 'x'.repeat(256), 'two words', 'caf\u00e9', 'tab\there']) {
      const problem = assertProblem(await post(service.url, '/things', { name: 'three' }, bad), 400);
      assert.match(problem.detail, /Idempotency-Key/, JSON.stringify(bad));
    }
    assert.equal((await post(service.url, '/things', { name: 'three' }, 'k'.repeat(255))).status, 201, '255 visible characters are a key');
    assert.equal(executions.create, 2);
  });

  test('a refused command replays its 4xx, and what it wrote before refusing is rolled back', async (t) => {
    const { service, executions, db } = await open(t);
    const created = await post(service.url, '/things', { name: 'ledger' });
    const key = randomUUID();
    const refused = await post(service.url, `/things/${created.body.id}/rename`, { name: 'forbidden' }, key);
    assertProblem(refused, 409);
    const again = await post(service.url, `/things/${created.body.id}/rename`, { name: 'forbidden' }, key);
    assertProblem(again, 409);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.text, refused.text);
    assert.equal(executions.rename, 1);
    const thing = await db.selectFrom('things').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
    assert.deepEqual({ name: thing.name, version: thing.version }, { name: 'ledger', version: 1 });

    const missing = randomUUID();
    assertProblem(await post(service.url, '/things/999/rename', { name: 'x' }, missing), 404);
    assert.equal((await post(service.url, '/things/999/rename', { name: 'x' }, missing)).headers.get('idempotent-replayed'), 'true');

    const early = randomUUID();
    assertProblem(await post(service.url, '/refused-early', {}, early), 400);
    const earlyAgain = await post(service.url, '/refused-early', {}, early);
    assertProblem(earlyAgain, 400);
    assert.equal(earlyAgain.headers.get('idempotent-replayed'), 'true', 'a refusal before any command is kept too');
  });

  test('a 5xx is not kept: a retry runs the command again', async (t) => {
    const { service, executions } = await open(t);
    const key = randomUUID();
    assertProblem(await post(service.url, '/failing', { name: 'x' }, key), 500);
    const retry = await post(service.url, '/failing', { name: 'x' }, key);
    assertProblem(retry, 500);
    assert.equal(retry.headers.get('idempotent-replayed'), null);
    assert.equal(executions.failing, 2);
  });

  test('without the header nothing changes: each request runs', async (t) => {
    const { service, executions, db } = await open(t);
    const a = await post(service.url, '/things', { name: 'plain' });
    const b = await post(service.url, '/things', { name: 'plain' });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.notEqual(a.body.id, b.body.id);
    assert.equal(b.headers.get('idempotent-replayed'), null);
    assert.equal(executions.create, 2);
    assert.equal(await count(db, 'plain'), 2);
    assert.equal(Number((await db.selectFrom('idempotency_keys').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n), 0);
  });

  test('concurrent requests with one key on one process: one execution, every one answered the same', async (t) => {
    const { service, executions, db } = await open(t);
    const key = randomUUID();
    const replies = await Promise.all(Array.from({ length: 5 }, () => post(service.url, '/things', { name: 'race', delayMs: 100 }, key)));
    assert.deepEqual(replies.map((r) => r.status), [201, 201, 201, 201, 201]);
    assert.equal(new Set(replies.map((r) => r.text)).size, 1);
    assert.equal(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 4);
    assert.equal(executions.create, 1);
    assert.equal(await count(db, 'race'), 1);
  });

  test('a client that gives up mid-command and retries gets one execution', async (t) => {
    const { service, db } = await open(t);
    // Warm up, so the request given up on is inside its command when the client leaves.
    assert.equal((await post(service.url, '/things', { name: 'warm-up' })).status, 201);
    const key = randomUUID();
    // Whether the service notices the departure (and rolls back) or commits first, one execution.
    await assert.rejects(post(service.url, '/things', { name: 'impatient', delayMs: 300 }, key, AbortSignal.timeout(50)));
    const retry = await post(service.url, '/things', { name: 'impatient', delayMs: 300 }, key);
    assert.equal(retry.status, 201, retry.text);
    assert.equal(await count(db, 'impatient'), 1);
  });

  test('a request refused by authentication (401, 403) takes no key: the same key then runs the command', async (t) => {
    const { service, executions } = await open(t);
    const key = randomUUID();
    const anonymous = assertProblem(await post(service.url, '/things', { name: 'guarded' }, key, undefined, null), 401);
    assert.equal(anonymous.type, 'urn:medical:problem:unauthorized');
    assertProblem(await post(service.url, '/things', { name: 'guarded' }, key, undefined, 'doctor'), 403);
    assert.equal(executions.create, 0);
    const allowed = await post(service.url, '/things', { name: 'guarded' }, key);
    assert.equal(allowed.status, 201, allowed.text);
    assert.equal(allowed.headers.get('idempotent-replayed'), null);
    assert.equal(executions.create, 1);
  });

  test('the key survives a restart, and the OpenAPI document shows the header on POST routes', async (t) => {
    const first = await open(t);
    const key = randomUUID();
    const original = await post(first.service.url, '/things', { name: 'durable' }, key);
    assert.equal(original.status, 201);
    const openapi = (await (await fetch(`${first.service.url}/openapi.json`)).json()) as any;
    const parameters = (operation: any) => (operation.parameters ?? []).filter((p: any) => p.in === 'header' && p.name === 'Idempotency-Key');
    assert.equal(parameters(openapi.paths['/things'].post).length, 1);
    assert.equal(parameters(openapi.paths['/things/{id}/rename'].post).length, 1);
    assert.ok(openapi.paths['/things'].post.responses['422'], 'the 422 is documented');
    // The bearer scheme, required by the commands, whose 401 and 403 are documented as problems.
    assert.deepEqual(openapi.components.securitySchemes.bearerAuth, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: openapi.components.securitySchemes.bearerAuth.description,
    });
    assert.deepEqual(openapi.paths['/things'].post.security, [{ bearerAuth: [] }]);
    for (const status of ['401', '403']) assert.ok(openapi.paths['/things'].post.responses[status].content['application/problem+json'], `the ${status} is documented`);
    await first.service.stop();

    const second = await open(t);
    const replayed = await post(second.service.url, '/things', { name: 'durable' }, key);
    assert.equal(replayed.status, 201);
    assert.equal(replayed.text, original.text);
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
    assert.equal(second.executions.create, 0);
    assert.equal(await count(second.db, 'durable'), 1);
  });

  test('keys past their retention are purged', async (t) => {
    const { service, db } = await open(t);
    const key = randomUUID();
    await post(service.url, '/things', { name: 'old' }, key);
    await db.updateTable('idempotency_keys').set({ created_at: new Date(Date.now() - IDEMPOTENCY_KEY_RETENTION_MS - 1000).toISOString() }).execute();
    await post(service.url, '/things', { name: 'young' }, randomUUID());
    assert.equal(await purgeKeys(db, new Date(Date.now() - IDEMPOTENCY_KEY_RETENTION_MS)), 1);
    const left = await db.selectFrom('idempotency_keys').select('idempotency_key').execute();
    assert.equal(left.length, 1);
    assert.ok(!left[0]!.idempotency_key.endsWith(key), 'the old key is the one purged');
  });
}

describe('Idempotency-Key on SQLite', () => {
  // One DATA_DIR per test; a restart within a test reopens the same one.
  const dirs = new WeakMap<object, string>();
  behaviour((t) => {
    let dir = dirs.get(t);
    if (!dir) {
      dir = tempDir(t, 'idempotency-test-');
      dirs.set(t, dir);
    }
    return start(t, { DATA_DIR: dir });
  });
});

const url = process.env.DATABASE_URL;
const skip = url ? false : 'DATABASE_URL is not set: start PostgreSQL with `eval "$(npm run -s infra:up)"` to run the PostgreSQL idempotency tests';

describe('Idempotency-Key on PostgreSQL', { skip }, () => {
  let admin: pg.Pool;
  before(() => {
    admin = new pg.Pool({ connectionString: url, max: 2 });
  });
  after(() => admin?.end());

  const schemas = new WeakMap<object, { schema: string; dir: string }>();
  function placeOf(t: TestContext): { schema: string; dir: string } {
    let place = schemas.get(t);
    if (!place) {
      const schema = `idemtest_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      defer(t, () => admin.query(`drop schema if exists "${schema}" cascade`));
      place = { schema, dir: tempDir(t, 'idempotency-pg-') };
      schemas.set(t, place);
    }
    return place;
  }
  const openReplica = (t: TestContext) => {
    const { schema, dir } = placeOf(t);
    return start(t, { DATABASE_URL: url!, DATABASE_SCHEMA: schema, DATA_DIR: dir, DATABASE_POOL_SIZE: '5' });
  };

  behaviour(openReplica);

  test('concurrent requests with one key on two replicas of one schema: exactly one execution', async (t) => {
    const [a, b] = [await openReplica(t), await openReplica(t)];
    for (let round = 0; round < 5; round++) {
      const key = randomUUID();
      const name = `replicated-${round}`;
      const replies = await Promise.all(
        Array.from({ length: 6 }, (_, i) => post((i % 2 === 0 ? a : b).service.url, '/things', { name, delayMs: 50 }, key)),
      );
      assert.deepEqual(replies.map((r) => r.status), [201, 201, 201, 201, 201, 201], replies.map((r) => r.text).join('\n'));
      assert.equal(new Set(replies.map((r) => r.text)).size, 1, 'every replica answers the one result');
      assert.equal(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 5);
      assert.equal(await count(a.db, name), 1);
    }
    assert.equal(a.executions.create + b.executions.create, 5, 'one execution per key across both replicas');
  });
});
