/**
 * `npm run dead-letters -- list [--json]`, `npm run dead-letters -- replay <id> [--json]` and
 * `npm run dead-letters -- replay-visit <receptionId> [--json]`:
 * the dead letters of the system configured like the services (DATA_DIR for the embedded log;
 * KAFKA_BROKERS, KAFKA_TOPIC and DEAD_LETTER_TOPIC for Kafka, and KAFKA_TLS with
 * KAFKA_TLS_CA_FILE, KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE for TLS, read by the services'
 * own loader), the replay of one of them once its cause is fixed, and of every dead-lettered event
 * of one visit, in the order they stood in the log (with progress). Exit codes: 0 done,
 * 1 failed (an unknown id, an unreachable log, certificates that do not fit), 2 wrong usage.
 */
import pino from 'pino';
import { ConfigError, loadConfig } from '@medical/platform';
import {
  DeadLetterStoreError,
  deadLetterJson,
  formatDeadLetters,
  listDeadLetters,
  openDeadLetterStore,
  replayDeadLetter,
  replayVisit,
  createProgress,
  type DeadLetterStore,
} from '@medical/platform/operations';

const USAGE = `usage:
  npm run dead-letters -- list [--json]        the dead letters: id, event, group, reason, origin
  npm run dead-letters -- replay <id> [--json] re-publish the event of a dead letter to its topic
  npm run dead-letters -- replay-visit <receptionId> [--json]
                                               re-publish every dead-lettered event of one visit, in log order
Uses the services' settings: DATA_DIR (embedded log), or KAFKA_BROKERS, KAFKA_TOPIC, DEAD_LETTER_TOPIC
(and KAFKA_TLS, KAFKA_TLS_CA_FILE, KAFKA_TLS_CERT_FILE, KAFKA_TLS_KEY_FILE for TLS).`;

const args = process.argv.slice(2);
const json = args.includes('--json');
const [command, ...rest] = args.filter((a) => a !== '--json');

function usage(message?: string): never {
  if (message) console.error(message);
  console.error(USAGE);
  process.exit(2);
}

if (command === '--help' || command === '-h' || command === 'help') {
  console.log(USAGE);
  process.exit(0);
}
if (command !== 'list' && command !== 'replay' && command !== 'replay-visit') usage(command ? `unknown command "${command}"` : undefined);
if (command === 'list' && rest.length > 0) usage(`list takes no arguments, got ${rest.join(' ')}`);
if (command === 'replay' && rest.length !== 1) usage('replay takes one dead letter id');
if (command === 'replay-visit' && (rest.length !== 1 || !/^[1-9][0-9]{0,15}$/.test(rest[0]!))) usage('replay-visit takes one reception id');

let store: DeadLetterStore | undefined;
try {
  // Quiet by default: stdout is the answer (JSON with --json); the clients' logs go to stderr.
  const env = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL?.trim() || 'warn' };
  const config = loadConfig('dead-letters', 0, env);
  const logger = pino({ level: config.logLevel, base: { service: 'dead-letters' } }, pino.destination(2));
  store = await openDeadLetterStore(config, logger);

  if (command === 'replay-visit') {
    const progress = createProgress('dead-letters replay-visit');
    progress.step(`replaying the dead-lettered events of visit ${rest[0]} in log order`, 'events');
    const replayed = await replayVisit(store, rest[0]!, (done, total) => progress.update(done, total));
    const lines = replayed.map(({ letter, groups }) => `  ${letter.eventType} ${letter.eventId} (letter ${letter.id}), for ${groups.join(', ')}`);
    progress.finish({ visit: rest[0], replayed: replayed.map(({ letter, groups }) => ({ letter: letter.id, eventType: letter.eventType, eventId: letter.eventId, groups })) }, []);
    if (json) process.stdout.write(`${JSON.stringify(replayed.map(({ letter, groups }) => ({ replayed: letter.id, eventType: letter.eventType, eventId: letter.eventId, groups })), null, 2)}\n`);
    else process.stdout.write(`replayed ${replayed.length} dead-lettered events of visit ${rest[0]}, in log order:\n${lines.map((l) => `${l}\n`).join('')}`);
  } else if (command === 'list') {
    const letters = await listDeadLetters(store);
    process.stdout.write(json ? `${JSON.stringify(letters.map(deadLetterJson), null, 2)}\n` : formatDeadLetters(store.topic, letters));
  } else {
    const result = await replayDeadLetter(store, rest[0]!);
    if (!result.ok) {
      console.error(`cannot replay: ${result.reason}`);
      process.exitCode = 1;
    } else {
      const { letter, message, groups } = result.replayed;
      if (json) {
        const answer = { replayed: letter.id, eventType: letter.eventType, eventId: letter.eventId, topic: message.topic, key: message.key, groups };
        process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      } else {
        process.stdout.write(
          `replayed dead letter ${letter.id}: ${letter.eventType} ${letter.eventId} re-published to ${message.topic} (key ${message.key})\n` +
            `  the services that dead-lettered it try it again: ${groups.join(', ')}; the services that applied it skip it as a duplicate\n` +
            `  should it fail again, a new dead letter names it (replay of ${letter.id})\n`,
        );
      }
    }
  }
} catch (error) {
  // A KafkaTlsError (certificates that do not fit) says what to check; its stack would not help.
  const known = error instanceof ConfigError || error instanceof DeadLetterStoreError || (error instanceof Error && error.name === 'KafkaTlsError');
  console.error(`dead-letters ${command}: ${known ? (error as Error).message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await store?.close().catch(() => {});
}
