import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../../scripts/lib/processes.ts';
import { shellQuote, watchOwner, type Watchdog } from './watchdog.ts';

/**
 * A PostgreSQL cluster of the test's own: initdb into a temporary folder, started with pg_ctl on
 * a free port of 127.0.0.1 with password (scram-sha-256) login for a `medical` role that may
 * create databases, and the services' own role that DATABASE_SERVICE_ROLE names, like the shared
 * server of `npm run infra:up`. A test can stop and restart
 * it without disturbing the shared server on 5432 that other suites use.
 *
 * PostgreSQL refuses to run as root: when the tests run as root (as here and in CI), initdb and
 * pg_ctl run as the `postgres` OS user (runuser), which then owns the folder.
 *
 *   const cluster = await DedicatedPostgres.create('outages');   // initdb, start, role, database
 *   ... DATABASE_URL = cluster.url ...
 *   await cluster.stop();      // pg_ctl stop -m fast
 *   await cluster.start();
 *   await cluster.restart();   // pg_ctl restart -m fast
 *   await cluster.close();     // stopped (-m immediate), its folder removed
 *
 * The server never outlives the test process: `close` stops it, an exit handler stops it
 * (pg_ctl -m immediate), and a watchdog (see watchdog.ts) does the same and removes the folder
 * if the test process is killed.
 */

const execFileAsync = promisify(execFile);

const PG_VERSION = process.env.PG_VERSION ?? '15';
export const PG_BIN = process.env.PG_BIN ?? `/usr/lib/postgresql/${PG_VERSION}/bin`;
const OS_USER = 'postgres';
const SUPERUSER_PASSWORD = 'postgres';
export const APP_USER = 'medical';
const APP_PASSWORD = 'medical';
const APP_DATABASE = 'medical';
const START_TIMEOUT_S = 60;

const runsAsRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Why a dedicated cluster cannot run here, or undefined when it can. */
export function dedicatedPostgresSkipReason(): string | undefined {
  for (const tool of ['initdb', 'pg_ctl']) {
    if (!fs.existsSync(path.join(PG_BIN, tool))) return `no PostgreSQL ${tool} in ${PG_BIN} (apt-get install postgresql-${PG_VERSION})`;
  }
  if (runsAsRoot && spawnSync('id', ['-u', OS_USER]).status !== 0) {
    return `running as root, and there is no '${OS_USER}' OS user to run PostgreSQL as (it refuses root)`;
  }
  return undefined;
}

/** argv of a PostgreSQL tool, run as the postgres OS user when we are root. */
function asServerUser(tool: string, args: string[]): [string, string[]] {
  const binary = path.join(PG_BIN, tool);
  return runsAsRoot ? ['runuser', ['-u', OS_USER, '--', binary, ...args]] : [binary, args];
}

async function run(tool: string, args: string[], timeoutMs = 90_000): Promise<string> {
  const [file, argv] = asServerUser(tool, args);
  try {
    const { stdout, stderr } = await execFileAsync(file, argv, { encoding: 'utf8', timeout: timeoutMs });
    return `${stdout}${stderr}`;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: error });
  }
}

export class DedicatedPostgres {
  readonly port: number;
  readonly dir: string;
  /** DATABASE_URL for the `medical` role and its database `medical`. */
  readonly url: string;
  readonly logFile: string;
  private readonly data: string;
  private readonly watchdog: Watchdog;
  private running = false;
  private readonly onExit = () => {
    if (!this.running) return;
    const [file, argv] = asServerUser('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
    spawnSync(file, argv, { stdio: 'ignore', timeout: 30_000 });
  };

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
    this.data = path.join(dir, 'data');
    this.logFile = path.join(dir, 'postgres.log');
    this.url = `postgres://${APP_USER}:${APP_PASSWORD}@127.0.0.1:${port}/${APP_DATABASE}`;
    const [file, argv] = asServerUser('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
    this.watchdog = watchOwner(`${[file, ...argv].map(shellQuote).join(' ')} >/dev/null 2>&1; rm -rf ${shellQuote(dir)}`);
    process.on('exit', this.onExit);
  }

  /** initdb into a temporary folder, start the server, create the `medical` role and database. */
  static async create(label: string): Promise<DedicatedPostgres> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-pg-${label}-`));
    const cluster = new DedicatedPostgres(dir, await freePort());
    try {
      await cluster.init();
      await cluster.start();
      await cluster.createApplicationRole();
    } catch (error) {
      await cluster.close({ keep: true });
      throw new Error(`${(error as Error).message}\n(the cluster's folder is kept: ${dir})`, { cause: error });
    }
    return cluster;
  }

  private async init(): Promise<void> {
    const passwordFile = path.join(this.dir, 'superuser-password');
    fs.writeFileSync(passwordFile, `${SUPERUSER_PASSWORD}\n`, { mode: 0o600 });
    if (runsAsRoot) {
      const uid = Number(spawnSync('id', ['-u', OS_USER], { encoding: 'utf8' }).stdout.trim());
      const gid = Number(spawnSync('id', ['-g', OS_USER], { encoding: 'utf8' }).stdout.trim());
      fs.chownSync(this.dir, uid, gid);
      fs.chownSync(passwordFile, uid, gid);
    }
    // --no-sync only for initdb's own files; the server keeps fsync on, so a commit it
    // acknowledged survives its restart, which is what the outage tests are about.
    await run('initdb', [
      '-D', this.data, '-U', 'postgres', `--pwfile=${passwordFile}`,
      '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync',
    ]);
    const socketDir = path.join(this.dir, 'run');
    const settings = [
      '',
      '# The e2e outage tests (test/e2e/support/postgres-cluster.ts).',
      "listen_addresses = '127.0.0.1'",
      `port = ${this.port}`,
      // A private socket folder (local connections are trusted), never the system's.
      `unix_socket_directories = '${socketDir}'`,
      'max_connections = 150',
      'shared_buffers = 64MB',
      'fsync = on',
      'synchronous_commit = on',
      'max_worker_processes = 4',
      'max_parallel_workers = 2',
      'max_parallel_workers_per_gather = 1',
      "log_line_prefix = '%m [%p] %q%u@%d '",
      '',
    ].join('\n');
    // Both as the server's user, who owns the folder and the configuration file.
    const conf = path.join(this.data, 'postgresql.conf');
    const script = `mkdir -m 0700 ${shellQuote(socketDir)} && cat >> ${shellQuote(conf)}`;
    const [file, argv] = runsAsRoot ? ['runuser', ['-u', OS_USER, '--', 'sh', '-c', script]] : ['sh', ['-c', script]];
    const result = spawnSync(file, argv, { input: settings, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`could not configure the cluster in ${this.data}: ${result.stderr}`);
  }

  private async createApplicationRole(): Promise<void> {
    const admin = new pg.Client({ host: '127.0.0.1', port: this.port, user: 'postgres', password: SUPERUSER_PASSWORD, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${APP_USER} LOGIN CREATEDB PASSWORD '${APP_PASSWORD}'`);
      await admin.query(`CREATE DATABASE ${APP_DATABASE} OWNER ${APP_USER}`);
      // The services' own role, as infra/up.sh makes it on the shared server: where the environment
      // names one, the system under test migrates as the owner and runs its services as this role.
      const serviceRole = process.env.DATABASE_SERVICE_ROLE?.trim();
      if (serviceRole) {
        await admin.query(`CREATE ROLE "${serviceRole}" LOGIN PASSWORD '${(process.env.DATABASE_SERVICE_PASSWORD ?? '').replaceAll("'", "''")}'`);
      }
    } finally {
      await admin.end().catch(() => undefined);
    }
  }

  isRunning(): boolean {
    return this.running;
  }

  /** pg_ctl start, waiting until the server accepts connections. */
  async start(): Promise<void> {
    await run('pg_ctl', ['-D', this.data, '-l', this.logFile, '-w', '-t', String(START_TIMEOUT_S), 'start']);
    this.running = true;
  }

  /** pg_ctl stop: 'fast' rolls back open transactions and disconnects every client. */
  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    await run('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', String(START_TIMEOUT_S), 'stop']);
    this.running = false;
  }

  /** pg_ctl restart -m fast. */
  async restart(): Promise<void> {
    this.running = false;
    await run('pg_ctl', ['-D', this.data, '-l', this.logFile, '-m', 'fast', '-w', '-t', String(START_TIMEOUT_S), 'restart']);
    this.running = true;
  }

  /** The server log's last lines, for failure messages. */
  logTail(lines = 40): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no server log)';
    }
  }

  /** Stops the server at once and removes its folder (kept with `keep`, for a look after a failure). */
  async close(options: { keep?: boolean } = {}): Promise<void> {
    if (fs.existsSync(path.join(this.data, 'postmaster.pid'))) {
      await run('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    }
    this.running = false;
    process.removeListener('exit', this.onExit);
    this.watchdog.disarm();
    if (!options.keep) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
