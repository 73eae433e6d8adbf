import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { TestContext } from 'node:test';
import pino, { type Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { Role } from '@medical/contracts';
import { createDevIdentityProvider, type DevIdentityProvider } from '../../../services/gateway/src/dev-identity-provider.ts';
import { DEV_ISSUER_PATH, loadAuthConfig } from '../src/auth/auth-config.ts';
import type { Database, Migrations } from '../src/db/database.ts';
import { openPostgresDatabase } from '../src/db/postgres-database.ts';
import { openSqliteDatabase } from '../src/db/sqlite-database.ts';
import { serviceMigrationSets } from '../src/service/platform-migrations.ts';
import type { KafkaTransportOptions } from '../src/transport/kafka.ts';

/** Shared helpers of the platform tests: temporary directories, polling, child processes, metrics, Kafka settings. */

export const silentLogger: Logger = pino({ level: 'silent' });

/** The Kafka adapter's log in the tests: silent unless KAFKA_TEST_LOG_LEVEL says otherwise. */
export const kafkaTestLogger: Logger = pino({ level: process.env.KAFKA_TEST_LOG_LEVEL ?? 'silent' });

/**
 * The Kafka adapter as the tests open it on a single broker: three partitions, one replica, a
 * member that is gone noticed within seconds, quick retries; `given` names the broker, the
 * client and the topics, and overrides the rest.
 */
export function kafkaTestOptions(given: Pick<KafkaTransportOptions, 'brokers' | 'clientId' | 'topics'> & Partial<KafkaTransportOptions>): KafkaTransportOptions {
  return {
    partitions: 3,
    replicationFactor: 1,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 300,
    logger: kafkaTestLogger,
    retryBaseDelayMs: 20,
    ...given,
  };
}

type HasAfter = { after: (fn: () => void | Promise<void>) => void };
const cleanups = new WeakMap<HasAfter, Array<() => unknown>>();

/**
 * Registers a clean-up to run after the test, in reverse order of registration (node:test runs
 * its own `after` hooks first-in first-out), so a relay stops before the database it reads closes.
 */
export function defer(t: HasAfter, cleanup: () => unknown): void {
  let stack = cleanups.get(t);
  if (!stack) {
    const created: Array<() => unknown> = [];
    cleanups.set(t, created);
    stack = created;
    t.after(async () => {
      for (const fn of created.reverse()) await fn();
    });
  }
  stack.push(cleanup);
}

export function tempDir(t: HasAfter, prefix = 'platform-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  defer(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Polls `condition` until it is truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  condition: () => T | Promise<T>,
  timeoutMs = 5_000,
  intervalMs = 10,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}

export const fixture = (name: string): string => path.join(import.meta.dirname, 'fixtures', name);

/** A child process running a fixture script, with its stdout split into lines as they arrive. */
export type Worker = {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
  send(line: string): void;
};

export function startWorker(script: string, args: string[]): Worker {
  const child = spawn(process.execPath, [fixture(script), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let errors = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    errors += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => errors,
    exited,
    send: (line) => {
      child.stdin!.write(`${line}\n`);
    },
  };
}

export async function counterValue<L extends string>(counter: Counter<L>, labels: Partial<Record<L, string>>): Promise<number> {
  const { values } = await counter.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k as L] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * A development identity provider (the gateway's, AUTH_MODE=dev) served in process on its own
 * port, for tests that start a service: `env` points the service's verifier at it, `token(role)`
 * is a real signed token for a demo user (for `integration`, the demo client `demo-integration`),
 * verified through discovery and JWKS like any other.
 */
export type DevIssuer = {
  issuer: string;
  /** The settings that make a service trust this issuer (merge into its env). */
  env: { AUTH_MODE: 'dev'; OIDC_ISSUER: string };
  provider: DevIdentityProvider;
  token(role: Role): Promise<string>;
  /** `{ authorization: 'Bearer …' }` for a demo user of `role`. */
  authorization(role: Role): Promise<{ authorization: string }>;
  close(): Promise<void>;
};

export async function startDevIssuer(t?: HasAfter): Promise<DevIssuer> {
  let provider: DevIdentityProvider | undefined;
  const server = http.createServer((request, response) => {
    const body =
      request.url === `${DEV_ISSUER_PATH}/.well-known/openid-configuration` ? provider?.discovery() : request.url === `${DEV_ISSUER_PATH}/jwks` ? provider?.jwks() : undefined;
    if (!body) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${DEV_ISSUER_PATH}`;
  const env = { AUTH_MODE: 'dev' as const, OIDC_ISSUER: issuer };
  provider = await createDevIdentityProvider({ config: loadAuthConfig(env), env: {} });
  const tokens = new Map<Role, Promise<string>>();
  const token = (role: Role) => {
    let issued = tokens.get(role);
    // A system (integration) signs in as the demo client, with all of its scopes; a person as the role's demo user.
    if (!issued) tokens.set(role, (issued = role === 'integration' ? provider!.issueForClient('demo-integration') : provider!.issue(role)));
    return issued;
  };
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
  if (t) defer(t, close);
  return { issuer, env, provider, token, authorization: async (role) => ({ authorization: `Bearer ${await token(role)}` }), close };
}

/**
 * The two databases a service under test runs on, as the environment it is started with: SQLite
 * always, PostgreSQL (a schema of its own, `<prefix>_<random>`, dropped after) when DATABASE_URL is set.
 */
export type ServiceEngine = { name: string; skip: string | false; env: () => Record<string, string>; drop: (env: Record<string, string>) => Promise<void> };

export function serviceEngines(schemaPrefix: string): ServiceEngine[] {
  return [
    { name: 'SQLite', skip: false, env: () => ({ DATABASE_URL: '' }), drop: async () => {} },
    {
      name: 'PostgreSQL',
      skip: process.env.DATABASE_URL ? false : 'DATABASE_URL is not set: start PostgreSQL with `eval "$(npm run -s infra:up)"`',
      env: () => ({ DATABASE_URL: process.env.DATABASE_URL!, DATABASE_SCHEMA: `${schemaPrefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}` }),
      async drop(env) {
        const admin = new pg.Client({ connectionString: env.DATABASE_URL });
        await admin.connect();
        await admin.query(`drop schema if exists "${env.DATABASE_SCHEMA}" cascade`);
        await admin.end();
      },
    },
  ];
}

/** A service's database opened directly on one engine for a repository test, migrated, and removed after it. */
export type DatabaseEngine<DB> = { name: string; skip: string | false; open: (t: TestContext) => Promise<Database<DB>> };

/** The schema of each PostgreSQL database a DatabaseEngine opened (for raw SQL against it). */
export const schemaOfDatabase = new WeakMap<object, string>();

/**
 * A service's database on both engines, migrated and dropped after the test: a SQLite file in a
 * temporary folder, and (when DATABASE_URL is set, `eval "$(npm run -s infra:up)"`) a PostgreSQL
 * schema of its own named `<label>_<random>`.
 */
export function databaseEngines<DB>(label: string, service: { name: string; migrations: Migrations; idSequences?: readonly string[] }): Array<DatabaseEngine<DB>> {
  return [
    {
      name: 'SQLite',
      skip: false,
      async open(t) {
        const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${label}-`));
        const database = await openSqliteDatabase<DB>({ serviceName: service.name, dataDir, migrationSets: serviceMigrationSets(service.migrations) });
        t.after(async () => {
          await database.close();
          fs.rmSync(dataDir, { recursive: true, force: true });
        });
        return database;
      },
    },
    {
      name: 'PostgreSQL',
      skip: process.env.DATABASE_URL ? false : 'DATABASE_URL is not set',
      async open(t) {
        const url = process.env.DATABASE_URL!;
        const schema = `${label.replaceAll('-', '')}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
        const database = await openPostgresDatabase<DB>({ url, schema, poolSize: 3, migrationSets: serviceMigrationSets(service.migrations), idSequences: service.idSequences ?? [], logger: silentLogger });
        schemaOfDatabase.set(database, schema);
        t.after(async () => {
          await database.close();
          const admin = new pg.Client({ connectionString: url });
          await admin.connect();
          await admin.query(`drop schema if exists "${schema}" cascade`);
          await admin.end();
        });
        return database;
      },
    },
  ];
}
