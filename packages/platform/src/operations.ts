/**
 * The operator's tools: the dead letters of the system configured like the services, listed and
 * replayed (`npm run dead-letters`, scripts/dead-letters.ts). The Kafka client is loaded only when
 * the letters are on Kafka.
 */
export { DeadLetterStoreError, deadLetterJson, formatDeadLetters, listDeadLetters, openDeadLetterStore, replayDeadLetter, type DeadLetter, type DeadLetterStore, type Replayed } from './inbox/dead-letters.ts';
export type { StoredMessage } from './inbox/stored-message.ts';
