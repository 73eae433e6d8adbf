import type { TSchema } from 'typebox';
import { dataSchemaOf } from './data-schemas.ts';
import { eventConsumers, eventProducers, eventSchemas, eventTypes, type EventType } from './events.ts';

/**
 * The AsyncAPI 3.0 document of the events (DESIGN.md section 4), made from this package's own
 * tables, so it cannot drift from what the services send and accept: each type's data schema
 * (events.ts), its producers and consumers (eventProducers, eventConsumers), its schema version
 * (data-schemas.ts), and the CloudEvents headers of the binary mode every message carries.
 *
 * One document for the system, not one per service: a channel per topic (the events, and the
 * dead letters, which carry the same messages), and an operation per producer and per consumer of
 * each type, named `<service>.sends.<Type>` and `<service>.receives.<Type>`. The gateway serves it
 * at `/asyncapi.json`, and docs/asyncapi.json is a copy (`npm run asyncapi` writes it; a test fails
 * when the copy is not the document).
 */

export type AsyncApiOptions = {
  /** The document's version: the system's release. */
  version: string;
  /** The events' topic (KAFKA_TOPIC) and its dead letters' (DEAD_LETTER_TOPIC). */
  topic?: string;
  deadLetterTopic?: string;
};

type Json = Record<string, unknown>;

/** A TypeBox schema as plain JSON Schema: its symbol-keyed annotations dropped. */
const plain = (schema: TSchema): Json => JSON.parse(JSON.stringify(schema)) as Json;

const SOURCE_SERVICE = { '/reception': 'reception', '/diagnosis': 'diagnosis', '/examination': 'examination' } as const;

/** The CloudEvents 1.0 attributes of the binary mode, as Kafka headers (the embedded log keeps the same). */
function cloudEventHeaders(type: EventType): Json {
  const sources = eventProducers[type];
  return {
    type: 'object',
    required: ['ce_specversion', 'ce_id', 'ce_type', 'ce_source', 'ce_time', 'ce_subject', 'content-type'],
    properties: {
      ce_specversion: { type: 'string', const: '1.0' },
      ce_id: { type: 'string', format: 'uuid', description: 'The event\'s id: consumers apply an id once (the inbox)' },
      ce_type: { type: 'string', const: type },
      ce_source: sources.length === 1 ? { type: 'string', const: sources[0] } : { type: 'string', enum: [...sources], description: 'The service that produced it: for a call, the doctor\'s (calledFor DIAGNOSIS) or the examiners\' (EXAMINATION)' },
      ce_time: { type: 'string', format: 'date-time' },
      ce_subject: { type: 'string', pattern: '^[1-9][0-9]*$', description: 'The visit: its reception id, also the message key' },
      ce_dataschema: { type: 'string', const: dataSchemaOf(type), description: 'The data schema and its version (absent from events written before it existed)' },
      'content-type': { type: 'string', const: 'application/json' },
      traceparent: { type: 'string', description: 'W3C Trace Context of the command that caused it' },
    },
  };
}

function message(type: EventType): Json {
  const producers = eventProducers[type].map((source) => SOURCE_SERVICE[source]);
  return {
    name: type,
    title: type,
    summary: `${type}, from ${producers.join(' or ')} to ${eventConsumers[type].join(', ')}`,
    contentType: 'application/json',
    headers: cloudEventHeaders(type),
    payload: plain(eventSchemas[type]),
    correlationId: { description: 'The visit the event belongs to', location: '$message.header#/ce_subject' },
    bindings: {
      kafka: {
        key: { type: 'string', pattern: '^[1-9][0-9]*$', description: 'The reception id: every event of a visit is in one partition, in order' },
        bindingVersion: '0.5.0',
      },
    },
  };
}

function operations(): Json {
  const found: Json = {};
  for (const type of eventTypes) {
    const ref = { $ref: `#/channels/events/messages/${type}` };
    for (const source of eventProducers[type]) {
      const service = SOURCE_SERVICE[source];
      found[`${service}.sends.${type}`] = {
        action: 'send',
        channel: { $ref: '#/channels/events' },
        messages: [ref],
        summary: `${service} publishes ${type} through its transactional outbox`,
        tags: [{ name: service }],
      };
    }
    for (const service of eventConsumers[type]) {
      found[`${service}.receives.${type}`] = {
        action: 'receive',
        channel: { $ref: '#/channels/events' },
        messages: [ref],
        summary: `${service} applies ${type} once (idempotent consumer), retried and then dead-lettered if it cannot`,
        tags: [{ name: service }],
      };
    }
  }
  return found;
}

export function asyncApiDocument(options: AsyncApiOptions): Json {
  const topic = options.topic ?? 'medical';
  const deadLetterTopic = options.deadLetterTopic ?? `${topic}.dlq`;
  const references = Object.fromEntries(eventTypes.map((type) => [type, { $ref: `#/components/messages/${type}` }]));
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Medical visit workflow: events',
      version: options.version,
      description:
        'The events of the outpatient visit saga (choreography over Apache Kafka, or the embedded log of the local profile). ' +
        'CloudEvents 1.0 in binary mode: the attributes are ce_* headers, the value is the JSON data. Delivery is at least once ' +
        'from a transactional outbox; every consumer applies an event once. Producers may add optional fields (every data schema ' +
        'accepts unknown properties); a change older consumers cannot read is a new version of ce_dataschema.',
    },
    defaultContentType: 'application/json',
    servers: {
      kafka: {
        host: 'medical-kafka-bootstrap:9093',
        protocol: 'kafka-secure',
        description: 'The Strimzi cluster of deploy/k8s (KAFKA_BROKERS): TLS with client certificates, an ACL per service',
      },
    },
    channels: {
      events: {
        address: topic,
        title: 'The workflow\'s events',
        description: 'Key: the reception id. Kept for good (retention.ms -1): the read model is rebuilt from it.',
        messages: references,
      },
      deadLetters: {
        address: deadLetterTopic,
        title: 'Dead letters',
        description: 'Events a consumer gave up on after its retries, as they were, for a person to replay (npm run dead-letters).',
        messages: references,
      },
    },
    operations: operations(),
    components: { messages: Object.fromEntries(eventTypes.map((type) => [type, message(type)])) },
  };
}
