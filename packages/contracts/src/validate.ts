import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { AccessRecord } from './access-log.ts';
import { parseDataSchema, readsSchemaVersion } from './data-schemas.ts';
import { ATTRIBUTE_STRING_PATTERN, CloudEventEnvelope, eventSchemas, isEventType, type CloudEvent, type EventType } from './events.ts';

/**
 * Adds the JSON Schema formats (date-time, uuid, ...) to `ajv`. ajv-formats is CommonJS: under
 * Node's ESM loader its default export is the plugin itself, whatever its types say.
 */
export const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
const envelopeValidator = ajv.compile(CloudEventEnvelope);
const dataValidators = new Map<EventType, ValidateFunction>(
  (Object.keys(eventSchemas) as EventType[]).map((type) => [type, ajv.compile(eventSchemas[type])]),
);

/**
 * `unknown` marks an event this contract cannot judge rather than one that breaks it: a
 * well-formed envelope of a type, or of a `dataschema` version, that it does not have, written by
 * a newer producer. A consumer skips such an event (data-schemas.ts); any other failure is a
 * poison event.
 */
export type EventValidation = { ok: true; event: CloudEvent } | { ok: false; reason: string; unknown?: 'type' | 'version' };

function messageOf(error: ErrorObject): string {
  if (error.keyword === 'pattern' && error.params.pattern === ATTRIBUTE_STRING_PATTERN) {
    return 'must not contain control characters (NUL among them), surrogates or noncharacters';
  }
  return error.message ?? 'is invalid';
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${messageOf(e)}`).join('; ');
}

/** Checks an envelope and its data against the contract; the reason is fit for a dead-letter header. */
export function validateCloudEvent(candidate: unknown): EventValidation {
  if (!envelopeValidator(candidate)) {
    return { ok: false, reason: `invalid CloudEvents envelope: ${describe(envelopeValidator.errors)}` };
  }
  const envelope = candidate as CloudEvent;
  if (!isEventType(envelope.type)) return { ok: false, reason: `unknown event type ${envelope.type}`, unknown: 'type' };
  if (envelope.dataschema !== undefined) {
    const schema = parseDataSchema(envelope.dataschema);
    if (!schema || schema.type !== envelope.type) {
      return { ok: false, reason: `invalid CloudEvents envelope: dataschema "${envelope.dataschema}" is not urn:medical:events:${envelope.type}:<version>` };
    }
    if (!readsSchemaVersion(envelope.type, schema.version)) {
      return { ok: false, reason: `unknown version ${schema.version} of event type ${envelope.type}`, unknown: 'version' };
    }
  }
  const validator = dataValidators.get(envelope.type)!;
  if (!validator(envelope.data)) {
    return { ok: false, reason: `invalid ${envelope.type} data: ${describe(validator.errors)}` };
  }
  return { ok: true, event: envelope };
}

/** Checks the data a producer is about to write; throws because a producer bug must never be published. */
export function assertEventData(type: EventType, data: unknown): void {
  const validator = dataValidators.get(type);
  if (!validator) throw new Error(`refusing to produce an event of unknown type ${String(type)}`);
  if (!validator(data)) throw new Error(`refusing to produce invalid ${type}: ${describe(validator.errors)}`);
}

const accessRecordValidator = ajv.compile<AccessRecord>(AccessRecord);

/** Checks one access record (the access-log topic's message value, parsed) against the contract. */
export function validateAccessRecord(candidate: unknown): { ok: true; record: AccessRecord } | { ok: false; reason: string } {
  if (accessRecordValidator(candidate)) return { ok: true, record: candidate };
  return { ok: false, reason: `invalid access record: ${describe(accessRecordValidator.errors)}` };
}
