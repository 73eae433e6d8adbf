/**
 * What tests need and a running service must not load: the decider test helpers (they import
 * node:assert and node:test) and their fixtures, and the database adapters opened directly, the
 * PostgreSQL one with its driver (a service loads it only when configured: db/open-database.ts).
 */
export { deciderAssertions } from './decider-assertions.ts';
export { assertPureSteps, assertRefusalsAsDesigned, deepFreeze, trace, type Step } from './decider-traces.ts';
export { testDeciderLaws, traceOf, type DeciderDesign } from './decider-laws.ts';
export { P1, P2, P3, T0, T1, T2, T3 } from './fixtures.ts';
export { openSqliteDatabase, type OpenSqliteOptions } from '../db/sqlite-database.ts';
export { openPostgresDatabase, type OpenPostgresOptions } from '../db/postgres-database.ts';
export { codePoint, commandSequences, isoTimestamp, schemaText } from './arbitraries.ts';
