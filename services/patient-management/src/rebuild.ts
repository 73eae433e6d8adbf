/**
 * Rebuilds the visit view and the visits' timelines from the start of the event log: empties
 * both and the inbox, rewinds the consumer group, replays every event through the same
 * projection the service runs, and exits when it has caught up. Run it while the service is stopped:
 *
 *   npm run rebuild -w @medical/patient-management
 */
import pino from 'pino';
import { loadConfig, openDatabase, openTransport, serviceMigrationSets, startService } from '@medical/platform';
import type { Kysely } from 'kysely';
import { clearVisits, listVisits } from './db/repository.ts';
import { clearTimelines } from './db/timeline.ts';
import type { PatientManagementDatabase } from './db/schema.ts';
import { patientManagementService } from './service.ts';

const definition = patientManagementService;
// `npm run -w` runs in the workspace folder; the data lives where npm was invoked (the repo root).
const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: process.env.DATA_DIR ?? `${process.env.INIT_CWD ?? process.cwd()}/data` };
const config = loadConfig(definition.name, definition.defaultPort, env);
const logger = pino({ level: config.logLevel, base: { service: `${definition.name}-rebuild` } });

const transport = await openTransport(config, logger);
if (await transport.groupIsActive(config.consumerGroup, config.topic)) {
  console.error(`${definition.name} is consuming right now: stop it before rebuilding its view.`);
  process.exit(1);
}
const database = await openDatabase<PatientManagementDatabase>(config, serviceMigrationSets(definition.migrations), logger);
await database.transaction(async (trx) => {
  await clearVisits(trx);
  await clearTimelines(trx);
  // Forget which events were applied and where each partition stood, so the replay starts at the
  // beginning and applies every one again.
  await trx.deleteFrom('inbox').execute();
  await trx.deleteFrom('consumer_positions').execute();
});
await database.close();
await transport.rewind(config.consumerGroup, config.topic);
await transport.close();

const started = Date.now();
// The rebuild's own service answers nobody: it listens on loopback, on a free port, only to run
// its consumer. It authenticates as the environment says; an environment that names no identity
// provider (a developer's, beside `npm start`) gets the development one, which no request reaches.
const authentication = env.AUTH_MODE?.trim() || env.OIDC_ISSUER?.trim() ? {} : { AUTH_MODE: 'dev' };
const service = await startService(definition, { ...env, ...authentication, HOST: '127.0.0.1', PORT: '0' });
for (;;) {
  const lag = await service.transport.lag(config.consumerGroup, config.topic);
  if (lag.every((p) => p.lag === 0)) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const { total } = await listVisits(service.context.database.db as Kysely<PatientManagementDatabase>, { size: 1 });
await service.stop();
console.log(`rebuilt ${total} visits from the event log in ${Date.now() - started} ms`);
