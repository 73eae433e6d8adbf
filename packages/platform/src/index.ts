/**
 * The service kit: what the services build on. Everything else in this package is the kit's own
 * business. A process at the edge (the gateway) imports `@medical/platform/edge`, the part of this
 * kit without the database and the events; tests find their helpers at
 * `@medical/platform/testing`, the operator's tools theirs at `@medical/platform/operations`.
 *
 * The PostgreSQL driver and the Kafka client stay out of a process that does not use them: they
 * are loaded by openDatabase and openTransport only when configured.
 */

// Configuration, HTTP, authentication, telemetry, shutdown: the edge's kit, every name of it.
export * from './edge.ts';

// A service acting as its own OAuth client (client credentials), and how it tells the provider's outage.
export {
  ClientCredentialsError,
  createClientCredentialsTokenSource,
  loadClientCredentials,
  type ClientCredentials,
  type ClientCredentialsOptions,
  type TokenSource,
} from './auth/client-credentials.ts';
export { IssuerUnavailableError } from './auth/oidc-verifier.ts';

// A service: its definition, the context its handlers get, its process.
export { runServiceProcess, startService, type Emit, type RunningService, type ServiceContext, type ServiceDefinition } from './service/service.ts';
export type { HousekeepingTask } from './service/housekeeping.ts';
export { serviceMigrationSets } from './service/platform-migrations.ts';
export type { PlatformTables } from './service/platform-tables.ts';

// Commands: the pure decider kit, and the save half of load-decide-save.
export { accept, compact, refuse, type Decision, type Refusal } from './domain/decider.ts';
export { commitEvents, eventsOrProblem, eventsOrSkip, type AggregateStore, type AuditedCommand, type EmitEvents } from './service/decision.ts';
export { causedBy, executeCommand, executeCreation, executeReaction, executeStep, type Aggregate, type Decider, type ReactionCause } from './service/command-pipeline.ts';
export { reactionOrigin, recordAudit, requestOrigin, type AuditEntry, type CommandOrigin } from './audit/audit-log.ts';
export { makeAppendOnly, setAppendOnlyAside } from './audit/append-only.ts';
export { CHAIN_GENESIS, chainHash, lockChainTail, verifyChain, type ChainedFields, type ChainRow, type ChainVerdict } from './audit/hash-chain.ts';

// The database port.
export type { Database, MigrationDb, Migrations } from './db/database.ts';
export { openDatabase } from './db/open-database.ts';
export { isPostgres } from './db/is-postgres.ts';
export { fetchPage, type PageRequest } from './db/paging.ts';
export { forUpdate } from './db/row-lock.ts';

// The event transport port.
export { openTransport } from './transport/open-transport.ts';
export type { BatchHandler, Delivery, EventTransport, TransportMessage } from './transport/transport.ts';

// Is this failure an outage (retry later) or a fault of the work itself?
export { isUnavailable } from './lib/unavailable.ts';
export { backoffDelay, sleep } from './lib/sleep.ts';
export { retentionMs } from './retention/policy.ts';

// The access log: what a route's answer showed.
export { recordAnswered, recordBreakGlass } from './access/access-records.ts';
