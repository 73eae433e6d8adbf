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
 * A failover, as CloudNativePG does it (one primary, streaming standbys, a quorum of one
 * synchronous):
 *
 *   const standby = await cluster.createStandby('failover-standby'); // pg_basebackup, started, streaming
 *   await cluster.replicateSynchronously();  // a commit now returns once the standby has it
 *   await cluster.stop('immediate');         // the primary crashes
 *   await standby.promote();                 // the standby is the primary, with every acknowledged commit
 *
 * The server never outlives the test process: `close` stops it, an exit handler stops it
 * (pg_ctl -m immediate), and a watchdog (see watchdog.ts) does the same and removes the folder
 * if the test process is killed.
 */

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
  for (const tool of ['initdb', 'pg_ctl', 'pg_basebackup']) {
    if (!fs.existsSync(path.join(PG_BIN, tool))) return `no PostgreSQL ${tool} in ${PG_BIN} (apt-get install postgresql-${PG_VERSION})`;
  }
  if (runsAsRoot && spawnSync('id', ['-u', OS_USER]).status !== 0) {
    return `running as root, and there is no '${OS_USER}' OS user to run PostgreSQL as (it refuses root)`;
  }
  return undefined;
}

/** When we are root, hands `paths` to the postgres OS user, who runs the server (it refuses root). */
function giveToServerUser(...paths: string[]): void {
  if (!runsAsRoot) return;
  const uid = Number(spawnSync('id', ['-u', OS_USER], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', OS_USER], { encoding: 'utf8' }).stdout.trim());
  for (const p of paths) fs.chownSync(p, uid, gid);
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

/** Asks `probe` every 100 ms until it says yes; fails after `timeoutMs` naming `what`. */
async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = START_TIMEOUT_S * 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL: ${what}: not after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export class DedicatedPostgres {
  readonly port: number;
  readonly dir: string;
  /** DATABASE_URL for the `medical` role and its database `medical`. */
  readonly url: string;
  readonly logFile: string;
  private readonly data: string;
  /** A private socket folder (local connections are trusted), never the system's. */
  private readonly socketDir: string;
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
    this.socketDir = path.join(dir, 'run');
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
    giveToServerUser(this.dir, passwordFile);
    // --no-sync only for initdb's own files; the server keeps fsync on, so a commit it
    // acknowledged survives its restart, which is what the outage tests are about.
    await run('initdb', [
      '-D', this.data, '-U', 'postgres', `--pwfile=${passwordFile}`,
      '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync',
    ]);
    this.configure('postgresql.conf', [
      '# The e2e outage tests (test/e2e/support/postgres-cluster.ts).',
      ...this.addressSettings(),
      'max_connections = 150',
      'shared_buffers = 64MB',
      'fsync = on',
      'synchronous_commit = on',
      'max_worker_processes = 4',
      'max_parallel_workers = 2',
      'max_parallel_workers_per_gather = 1',
      "log_line_prefix = '%m [%p] %q%u@%d '",
    ]);
  }

  /** Where this server listens: its own port of 127.0.0.1 and its own socket folder. */
  private addressSettings(): string[] {
    return ["listen_addresses = '127.0.0.1'", `port = ${this.port}`, `unix_socket_directories = '${this.socketDir}'`];
  }

  /**
   * Appends `settings` to a configuration file of the data folder and makes the socket folder;
   * both as the server's user, who owns the folder and its files.
   */
  private configure(file: 'postgresql.conf' | 'postgresql.auto.conf', settings: string[]): void {
    const script = `mkdir -p -m 0700 ${shellQuote(this.socketDir)} && cat >> ${shellQuote(path.join(this.data, file))}`;
    const [command, argv] = runsAsRoot ? ['runuser', ['-u', OS_USER, '--', 'sh', '-c', script]] : ['sh', ['-c', script]];
    const result = spawnSync(command, argv, { input: ['', ...settings, ''].join('\n'), encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`could not configure the cluster in ${this.data}: ${result.stderr}`);
  }

  /** A connection of the superuser `postgres` over TCP, for `work`, closed after it. */
  private async asSuperuser<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
    const admin = new pg.Client({ host: '127.0.0.1', port: this.port, user: 'postgres', password: SUPERUSER_PASSWORD, database: 'postgres' });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.end().catch(() => undefined);
    }
  }

  private async createApplicationRole(): Promise<void> {
    await this.asSuperuser(async (admin) => {
      await admin.query(`CREATE ROLE ${APP_USER} LOGIN CREATEDB PASSWORD '${APP_PASSWORD}'`);
      await admin.query(`CREATE DATABASE ${APP_DATABASE} OWNER ${APP_USER}`);
      // The services' own role, as infra/up.sh makes it on the shared server: where the environment
      // names one, the system under test migrates as the owner and runs its services as this role.
      const serviceRole = process.env.DATABASE_SERVICE_ROLE?.trim();
      if (serviceRole) {
        await admin.query(`CREATE ROLE "${serviceRole}" LOGIN PASSWORD '${(process.env.DATABASE_SERVICE_PASSWORD ?? '').replaceAll("'", "''")}'`);
      }
    });
  }

  // ---- replication ---------------------------------------------------------------------------

  /**
   * A streaming standby of this running server, started, in a folder and on a free port of its
   * own: pg_basebackup -R -X stream over TCP as the superuser (initdb's pg_hba allows replication
   * from 127.0.0.1), with a replication slot so that this server keeps every WAL segment the
   * standby has not received. Resolves once this server sees the standby streaming. The standby
   * is a DedicatedPostgres like this one (stop, start, close, logTail), and `promote` makes it a
   * primary. `through`: the port the standby reaches this server at, when not its own (a
   * TcpProxy in between stands for the network between them).
   */
  async createStandby(label: string, { through = this.port }: { through?: number } = {}): Promise<DedicatedPostgres> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-pg-${label}-`));
    const standby = new DedicatedPostgres(dir, await freePort());
    try {
      giveToServerUser(dir);
      const primary = `host=127.0.0.1 port=${through} user=postgres password=${SUPERUSER_PASSWORD}`;
      await run('pg_basebackup', ['-d', primary, '-D', standby.data, '-R', '-X', 'stream', '-C', '-S', `standby_${standby.port}`, '-c', 'fast', '--no-sync']);
      // After primary_conninfo, which -R wrote there: this file is read last, so these settings
      // win over the primary's copied ones, a synchronous_standby_names it had set included (a
      // promoted standby with no standby of its own would otherwise wait for ever on every commit).
      standby.configure('postgresql.auto.conf', [
        `# A streaming standby of 127.0.0.1:${this.port} (test/e2e/support/postgres-cluster.ts).`,
        ...standby.addressSettings(),
        // The name the standby goes by in the primary's pg_stat_replication (application_name).
        `cluster_name = '${label}'`,
        "synchronous_standby_names = ''",
      ]);
      await standby.start();
      await this.asSuperuser((admin) =>
        waitUntil(`standby ${label} streaming from 127.0.0.1:${this.port}`, async () => {
          const { rows } = await admin.query(`select 1 from pg_stat_replication where application_name = $1 and state = 'streaming'`, [label]);
          return rows.length > 0;
        }),
      );
    } catch (error) {
      await standby.close({ keep: true });
      throw new Error(`${(error as Error).message}\n(the standby's folder is kept: ${dir})`, { cause: error });
    }
    return standby;
  }

  /**
   * Synchronous replication to a quorum of one standby (synchronous_standby_names 'ANY 1 (*)',
   * reloaded), as the azure overlay's CloudNativePG cluster has it: from now on a COMMIT returns
   * only once a standby has flushed its WAL, so a commit a client saw survives the loss of this
   * server. Resolves once a standby counts in the quorum; call it with a standby streaming.
   */
  async replicateSynchronously(): Promise<void> {
    await this.asSuperuser(async (admin) => {
      await admin.query(`ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (*)'`);
      await admin.query('SELECT pg_reload_conf()');
      await waitUntil('a standby in the synchronous quorum', async () => {
        const { rows } = await admin.query(`select 1 from pg_stat_replication where sync_state = 'quorum' and state = 'streaming'`);
        return rows.length > 0;
      });
    });
  }

  /** A standby becomes a primary: pg_ctl promote, then waits until it takes writes (pg_is_in_recovery() false). */
  async promote(): Promise<void> {
    await run('pg_ctl', ['-D', this.data, '-w', '-t', String(START_TIMEOUT_S), 'promote']);
    await this.asSuperuser((admin) =>
      waitUntil('promoted (out of recovery)', async () => {
        const { rows } = await admin.query<{ recovering: boolean }>('select pg_is_in_recovery() as recovering');
        return rows[0]?.recovering === false;
      }),
    );
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
