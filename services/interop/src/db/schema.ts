import type { Generated } from 'kysely';
import type { DiagnosisStatus, ReceptionStatus } from '@medical/contracts';
import type { PlatformTables } from '@medical/platform';
import type { EncounterStatus, TaskStatus } from '../fhir/codes.ts';

/**
 * The FHIR projection's tables: each resource's record as JSON (always read and written whole),
 * beside the columns its searches filter on. Written only by the projection of the events.
 */
export type PatientRow = { patient_id: string; record: string; updated_at: string };

export type EncounterRow = {
  reception_id: number;
  patient_id: string;
  /** The Encounter's FHIR status, what `status=` searches. */
  status: EncounterStatus;
  /** When the visit began (its registration), what `date=` searches. */
  started_at: string;
  /** What the stage is derived from (visitStageOf): not part of the Encounter. */
  reception_status: ReceptionStatus;
  diagnosis_id: number | null;
  diagnosis_status: DiagnosisStatus | null;
  record: string;
  updated_at: string;
};

export type ServiceRequestRow = { prescription_id: string; reception_id: number; record: string; updated_at: string };

export type TaskRow = {
  examination_id: number;
  prescription_id: string;
  reception_id: number;
  /** The Task's FHIR status, what `status=` searches. */
  status: TaskStatus;
  record: string;
  updated_at: string;
};

/** A FHIR Subscription a system registered (migration 0002). */
export type SubscriptionRow = {
  id: string;
  /** Who registered it (the token's subject): only they read it or turn it off. */
  owner: string;
  status: 'active' | 'error' | 'off';
  reason: string;
  criteria: string;
  endpoint: string;
  /** The MIME type of the notification's body, or null for a notification without one. */
  payload: string | null;
  /** The channel's headers (`Name: value`), as a JSON array. */
  headers: string;
  /** Why the last delivery failed, while it keeps failing. */
  error: string | null;
  created_at: string;
  updated_at: string;
};

/**
 * One message to deliver to one destination (a subscriber's endpoint, the interface engine), in
 * order per destination, at least once: written in the transaction of the event that caused it,
 * sent after the commit by the delivery worker (app/delivery-worker.ts).
 */
export type DeliveryRow = {
  id: Generated<number>;
  /** `subscription:<id>` or `hl7`. */
  destination: string;
  /** The message: a FHIR resource's JSON, or an HL7 v2 message. */
  body: string;
  content_type: string;
  /** What the message is about, for logs and the operator (`Encounter/12`, `ADT^A04 12`). */
  about: string;
  /** The visit and patient whose data it carries: its delivery is kept in the patient's access log. */
  reception_id: number | null;
  patient_id: string | null;
  created_at: string;
  attempts: number;
  next_attempt_at: string;
  /** The replica sending it now, until when: another replica leaves the destination alone meanwhile. */
  leased_by: string | null;
  leased_until: string | null;
  last_error: string | null;
  delivered_at: string | null;
  /** Refused by the receiver too many times (an HL7 AR): set aside for the operator, the destination goes on. */
  set_aside_at: string | null;
};

export type InteropTables = {
  interop_patients: PatientRow;
  interop_encounters: EncounterRow;
  interop_service_requests: ServiceRequestRow;
  interop_tasks: TaskRow;
  interop_subscriptions: SubscriptionRow;
  interop_deliveries: DeliveryRow;
};

export type InteropDatabase = PlatformTables & InteropTables;
