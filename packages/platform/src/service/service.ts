import type { Transaction } from 'kysely';
import pino, { type Logger } from 'pino';
import type { AccessRecord, AnsweredVisit, CloudEvent, EventType, MedicalEvent, Permission } from '@medical/contracts';
import { accessLogging, visitOfResource } from '../access/access-logging.ts';
import { AccessRecorder } from '../access/access-recorder.ts';
import { loadAuthConfig } from '../auth/auth-config.ts';
import { authentication, PUBLIC_ROUTES } from '../auth/authentication.ts';
import { createOidcVerifier } from '../auth/oidc-verifier.ts';
import type { Database, Migrations } from '../db/database.ts';
import { openDatabase } from '../db/open-database.ts';
import { createApp, type App } from '../http/app.ts';
import { closeServer } from '../http/close-server.ts';
import { currentIdempotentRequest, idempotency } from '../idempotency/http-idempotency.ts';
import { createIdempotentConsumer } from '../inbox/consumer.ts';
import { OutboxRelay, appendToOutbox } from '../outbox/outbox.ts';
import { loggerOptions } from '../telemetry/log-fields.ts';
import { createMetrics, registerBacklogGauges, type ServiceMetrics } from '../telemetry/metrics.ts';
import { createTracing, type Tracing } from '../telemetry/tracing.ts';
import { visitTraceparent } from '../telemetry/visit-traces.ts';
import { openTransport } from '../transport/open-transport.ts';
import type { BatchHandler, EventTransport, Subscription } from '../transport/transport.ts';
import { loadConfig, type ServiceConfig } from './config.ts';
import { startHousekeeping, type HousekeepingTask } from './housekeeping.ts';
import { watchCatalog } from '../reference/catalog-watch.ts';
import type { CodedColumn } from '../reference/coded-column.ts';
import { platformPurges } from './purges.ts';
import { serviceMigrationSets } from './platform-migrations.ts';
import { platformTables, type PlatformTables } from './platform-tables.ts';
import { installShutdown } from './shutdown.ts';
import { afterCommit, traceDatabase } from './traced-database.ts';

/** What a service's handlers get: its database, and a way to commit state with its events. */
export type ServiceContext<DB> = {
  config: ServiceConfig;
  database: Database<DB>;
  logger: Logger;
  metrics: ServiceMetrics;
  tracing: Tracing;
  /** Runs `callback` once `trx` has committed (never if it rolls back): see traced-database.ts. */
  afterCommit: typeof afterCommit;
  /**
   * Runs `work` in one transaction; the events it hands to `emit` are written to the outbox in
   * that same transaction and published after the commit. In a POST handler whose request has an
   * Idempotency-Key, the key and the answer are kept in that same transaction too, which then
   * commits just before the answer leaves (idempotency/http-idempotency.ts): one command per such request.
   */
  execute<T>(work: (trx: Transaction<DB>, emit: Emit) => Promise<T>): Promise<T>;
  /**
   * Keeps an access to patient data that no request of this service answered, as a request's is
   * kept (access/access-recorder.ts): what the service itself sent to another system (interop's
   * notifications and HL7 messages), so the patient's access log shows every disclosure.
   */
  recordAccess(record: AccessRecord): Promise<void>;
};

export type Emit = (events: Array<{ type: string; data: unknown }>, subject: string | number) => Promise<CloudEvent[]>;

export type ServiceDefinition<DB> = {
  name: string;
  defaultPort: number;
  title: string;
  description: string;
  migrations: Migrations;
  /** The named id sequences its handlers draw from with `database.nextId`. */
  idSequences?: readonly string[];
  routes?: (app: App, context: ServiceContext<DB>) => void | Promise<void>;
  /**
   * Who may call which route (default the contracts' table, which every real service uses). Only
   * a test service with routes of its own passes its own lookup: authentication is never off.
   */
  permissionFor?: (method: string, concretePath: string) => Permission | undefined;
  /** Upkeep of the service's own tables, run on timers beside the platform's purges (housekeeping.ts). */
  housekeeping?: (context: ServiceContext<DB>) => HousekeepingTask[];
  consumer?: {
    handles: 'all' | readonly EventType[];
    effect: (context: ServiceContext<DB>) => (trx: Transaction<DB>, event: CloudEvent, emit: Emit) => Promise<void>;
  };
  /**
   * The keeper of the access log (patient-management): handles the access records every service
   * and the gateway send to ACCESS_LOG_TOPIC, in batches per partition, with its own consumer
   * group. The handler stores each record once however often it is delivered.
   */
  accessLogKeeper?: (context: ServiceContext<DB>) => BatchHandler;
  /**
   * The visit one resource of the service's answers belongs to, for the access log (default: its
   * `receptionId` and `patientId`, access/access-logging.ts). Every 2xx answer's resources (a
   * page's items, or the one resource) are read with it, so no route can forget to say what it showed.
   */
  answeredVisit?: (resource: Record<string, unknown>) => AnsweredVisit | undefined;
  /** The columns that hold catalog codes, with free text from before the codes: what `npm run catalog:migrate` rewrites (reference/recode.ts). */
  codedColumns?: readonly CodedColumn[];
};

export type RunningService = {
  app: App;
  context: ServiceContext<unknown>;
  transport: EventTransport;
  url: string;
  stop(): Promise<void>;
};

/** How often an idle outbox relay looks for rows nobody woke it for (a crashed replica's). */
const OUTBOX_IDLE_POLL_MS = 1_000;
/** The most events of one partition applied in one transaction. */
const MAX_EVENT_BATCH = 100;
/** The most access records of one partition kept in one transaction. */
const MAX_ACCESS_RECORD_BATCH = 500;
/** How often each process deletes the idempotency keys, visit traces and inbox rows past their retention. */
const PURGE_INTERVAL_MS = 60 * 60 * 1000;
/** A scrape waits this long for the consumer lag before it answers without it. */
const LAG_READING_TIMEOUT_MS = 2_000;

/**
 * The `emit` of one transaction: its events go to the outbox, and once it commits the relay is
 * woken, once, however many times it emitted. A transaction that emitted nothing wakes no one.
 */
function emitterFor(trx: Transaction<PlatformTables>, topic: string, tracing: Tracing, wakeRelay: () => void): Emit {
  let wakes = false;
  return async (events, subject) => {
    const traceparent = await visitTraceparent(trx, tracing, String(subject), events.map((e) => e.type));
    const envelopes = await appendToOutbox(trx, topic, events as MedicalEvent[], { subject: String(subject), ...(traceparent ? { traceparent } : {}) });
    if (!wakes && envelopes.length > 0) {
      wakes = true;
      afterCommit(trx, wakeRelay);
    }
    return envelopes;
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Starts a service, in this order: its infrastructure (database, transport, outbox relay), the
 * context its handlers get, its HTTP app, its consumer, its housekeeping and gauges; then it
 * listens. `stop` undoes it in the reverse order (stopService).
 */
export async function startService<DB>(
  definition: ServiceDefinition<DB>,
  env: Record<string, string | undefined> = process.env,
): Promise<RunningService> {
  const config = loadConfig(definition.name, definition.defaultPort, env);
  // Read before anything is opened, so a wrong setting fails the start with its variable's name.
  const auth = loadAuthConfig(env);
  const logger = pino(loggerOptions(config.serviceName, config.logLevel));
  const metrics = createMetrics(config.serviceName);
  const tracing = createTracing(config.serviceName, config.tracing, logger);
  const parts = await openInfrastructure(definition, { config, logger, metrics, tracing });
  const context = serviceContext(parts, { config, logger, metrics, tracing });
  const app = await serviceApp(definition, context, auth, parts.accessRecorder);
  // Woken by this process's commits that wrote events; rows another replica left behind (it
  // crashed before publishing them) are found by the relay's poll.
  parts.relay.start();
  const consumerAbort = new AbortController();
  const subscription = definition.consumer ? await startConsumer(definition.consumer, context, parts, consumerAbort.signal) : undefined;
  const accessLogSubscription = definition.accessLogKeeper ? await keepAccessLog(definition.accessLogKeeper(context), parts.transport, config) : undefined;
  const housekeeping = startHousekeeping([...platformHousekeeping(parts.database, config), ...(definition.housekeeping?.(context) ?? [])], logger);
  const stopWatchingCatalog = watchCatalog(config.catalog, { intervalMs: config.catalogReloadIntervalMs, logger, registry: metrics.registry });
  registerBacklogGauges(metrics, {
    outboxPending: () => parts.relay.pending(),
    transportPing: () => parts.transport.ping(),
    transportKind: parts.transport.kind,
    ...(definition.consumer ? { consumerLag: () => withTimeout(parts.transport.lag(config.consumerGroup, config.topic), LAG_READING_TIMEOUT_MS, 'reading the consumer lag') } : {}),
    onError: (what, error) => logger.warn({ err: error }, `could not read the ${what} for /metrics`),
  });

  const url = await app.listen({ host: config.host, port: config.port });
  logger.info({ url, database: parts.database.kind, transport: parts.transport.kind }, `${config.serviceName} listening`);

  let stopping: Promise<void> | undefined;
  const subscriptions = [subscription, accessLogSubscription].filter((s) => s !== undefined);
  const stop = () => (stopping ??= stopService({ ...parts, app, config, logger, tracing, housekeeping, stopWatchingCatalog, subscriptions, consumerAbort }));
  return { app, context: context as ServiceContext<unknown>, transport: parts.transport, url, stop };
}

type Telemetry = { config: ServiceConfig; logger: Logger; metrics: ServiceMetrics; tracing: Tracing };
type Infrastructure<DB> = { database: Database<DB>; transport: EventTransport; relay: OutboxRelay; wakeRelay: () => void; accessRecorder: AccessRecorder };

/** The database (migrated), the event transport and the outbox relay between them (not started yet). */
async function openInfrastructure<DB>(definition: ServiceDefinition<DB>, { config, logger, metrics, tracing }: Telemetry): Promise<Infrastructure<DB>> {
  const database = traceDatabase(await openDatabase<DB>(config, serviceMigrationSets(definition.migrations), logger, definition.idSequences), tracing.tracer);
  let transport: EventTransport;
  try {
    transport = await openTransport(config, logger);
  } catch (error) {
    await database.close();
    await tracing.shutdown();
    throw error;
  }
  const relay = new OutboxRelay({
    database: platformTables(database),
    transport,
    logger,
    metrics,
    tracing,
    pollIntervalMs: config.pollIntervalMs,
    // Each commit with events wakes the relay of its own process: unasked, it looks only for what
    // a crashed replica left, which a second's wait costs little (and the idle system 4 polls a
    // second of every service's relay less).
    idlePollMs: OUTBOX_IDLE_POLL_MS,
    retryBaseDelayMs: config.retryBaseDelayMs,
    refusalBudget: config.retryBudget,
  });
  const wakeRelay = () => relay.notify();
  const accessRecorder = new AccessRecorder({ database: platformTables(database), topic: config.accessLogTopic, wakeRelay, metrics });
  return { database, transport, relay, wakeRelay, accessRecorder };
}

/** What the handlers get; `execute` runs a command in one transaction, with the request's Idempotency-Key when it has one. */
function serviceContext<DB>({ database, wakeRelay, accessRecorder }: Infrastructure<DB>, { config, logger, metrics, tracing }: Telemetry): ServiceContext<DB> {
  return {
    config,
    database,
    logger,
    metrics,
    tracing,
    afterCommit,
    recordAccess: (record) => accessRecorder.record(record),
    async execute(work) {
      const run = (trx: Transaction<DB>) => work(trx, emitterFor(platformTables(trx), config.topic, tracing, wakeRelay));
      const idempotent = currentIdempotentRequest();
      return idempotent ? idempotent.execute(database, platformTables, run) : database.transaction(run);
    },
  };
}

/** The HTTP app: the platform's parts first (authentication, then idempotency), then the service's routes. */
async function serviceApp<DB>(
  definition: ServiceDefinition<DB>,
  context: ServiceContext<DB>,
  auth: ReturnType<typeof loadAuthConfig>,
  accessRecorder: AccessRecorder,
): Promise<App> {
  const { config, database, logger, metrics, tracing } = context;
  const app = await createApp({
    serviceName: config.serviceName,
    title: definition.title,
    description: definition.description,
    logLevel: config.logLevel,
    metrics,
    tracing,
    bearerAuthentication: { publicRoutes: PUBLIC_ROUTES },
    // Ready means the database answers: the only thing without which a command cannot be served.
    // Not the broker: the outbox keeps the events while Kafka is away, and a probe that failed with
    // the broker would take every pod out of its Service at once (medical_transport_up tells).
    readiness: [{ name: 'database', check: () => database.ping() }],
  });
  // Every request is authenticated before anything else runs: the gateway's check is repeated
  // here, so a service reached past the gateway (from inside the cluster) is no softer. Before
  // idempotency, so a refused request (401, 403) never takes an Idempotency-Key. The issuer's keys
  // are fetched on the first request, so a service may start before the gateway (the dev issuer).
  await app.register(authentication, {
    verifier: createOidcVerifier(auth),
    ...(definition.permissionFor ? { permissionFor: definition.permissionFor } : {}),
  });
  await app.register(idempotency, { database: platformTables(database), logger });
  // Last of the hooks: every answer of an API route is recorded before it leaves, a command's
  // after its commit (access/access-logging.ts).
  await app.register(accessLogging, { recorder: accessRecorder, service: config.serviceName, answeredVisit: definition.answeredVisit ?? visitOfResource });
  await definition.routes?.(app, context);
  return app;
}

/**
 * The service's consumer: what a partition has fetched is handled in one transaction with its
 * position, partitions side by side; the database says where each partition resumes
 * (inbox/consumer.ts, handleBatch).
 */
async function startConsumer<DB>(
  consumer: NonNullable<ServiceDefinition<DB>['consumer']>,
  context: ServiceContext<DB>,
  { database, transport, relay, wakeRelay }: Infrastructure<DB>,
  signal: AbortSignal,
): Promise<Subscription> {
  const { config, logger, metrics, tracing } = context;
  const effect = consumer.effect(context);
  const handle = createIdempotentConsumer<Transaction<DB>>({
    serviceName: config.serviceName,
    db: platformTables(database.db),
    transaction: (work) => database.transaction(work),
    ownTables: platformTables,
    logger,
    metrics,
    tracing,
    messagingSystem: transport.kind,
    deadLetterTopic: config.deadLetterTopic,
    retryBudget: config.retryBudget,
    retryBaseDelayMs: config.retryBaseDelayMs,
    handles: consumer.handles,
    effect: (trx, event) => effect(trx, event, emitterFor(platformTables(trx), config.topic, tracing, wakeRelay)),
    afterCommit: () => relay.notify(),
    signal,
    group: config.consumerGroup,
  });
  return transport.subscribe({
    group: config.consumerGroup,
    topic: config.topic,
    handleBatch: handle.handleBatch,
    maxBatch: MAX_EVENT_BATCH,
    resumeFrom: (partitions) => handle.resumeFrom(config.topic, partitions),
  });
}

/** The access-log keeper's subscription: its own group, so it never waits behind the events' consumer. */
function keepAccessLog(handleBatch: BatchHandler, transport: EventTransport, config: ServiceConfig): Promise<Subscription> {
  return transport.subscribe({ group: `${config.consumerGroup}.access-log`, topic: config.accessLogTopic, handleBatch, maxBatch: MAX_ACCESS_RECORD_BATCH });
}

/** The platform's purges (purges.ts), at start-up and hourly in every process. */
function platformHousekeeping<DB>(database: Database<DB>, config: ServiceConfig): HousekeepingTask[] {
  return platformPurges(platformTables(database.db), config).map((purge) => ({ ...purge, everyMs: PURGE_INTERVAL_MS }));
}

type Running<DB> = Infrastructure<DB> &
  Pick<Telemetry, 'config' | 'logger' | 'tracing'> & {
    app: App;
    housekeeping: { stop(): Promise<void> };
    stopWatchingCatalog: () => void;
    subscriptions: Subscription[];
    consumerAbort: AbortController;
  };

/**
 * Stops taking requests, waits the drain, then undoes the start in reverse: the consumers (the
 * batch in hand finishes), the HTTP server, the access records in hand, housekeeping, the relay (which publishes what is
 * left), the transport, the database. Each step says when it is done, so a stop that outlives its
 * timeout shows where it hung.
 */
async function stopService<DB>(running: Running<DB>): Promise<void> {
  const { app, config, logger } = running;
  app.stopAccepting();
  if (config.shutdownDrainMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
  const step = async (what: string, work: () => Promise<unknown>) => {
    await work();
    logger.debug(`stopping: ${what} done`);
  };
  running.consumerAbort.abort();
  await step('consumer', () => Promise.all(running.subscriptions.map((subscription) => subscription.stop())));
  await step('http server', () => closeServer(app, config.shutdownTimeoutMs));
  await step('access records', () => running.accessRecorder.drain());
  await step('housekeeping', () => running.housekeeping.stop());
  running.stopWatchingCatalog();
  await step('outbox relay', () => running.relay.stop());
  await step('transport', () => running.transport.close());
  await step('database', () => running.database.close());
  await running.tracing.shutdown();
  logger.info('stopped');
}

/** Entry point of a service process: start, and stop cleanly on SIGTERM/SIGINT. */
export async function runServiceProcess<DB>(definition: ServiceDefinition<DB>): Promise<void> {
  try {
    const service = await startService(definition);
    const { shutdownTimeoutMs, shutdownDrainMs } = service.context.config;
    installShutdown(service.stop, shutdownTimeoutMs + shutdownDrainMs, service.context.logger);
  } catch (error) {
    console.error(`${definition.name} failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
