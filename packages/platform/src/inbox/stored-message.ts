/** A message read back from a topic, with its position there (dead-letters.ts, dead-letters-kafka.ts). */
export type StoredMessage = { partition: number; offset: string; key: string; headers: Record<string, string>; value: string };
