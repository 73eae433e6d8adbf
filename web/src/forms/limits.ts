/**
 * The field limits of the API's request bodies (packages/contracts/src/common.ts): forms check
 * them before sending so staff see the problem next to the field, and the server checks again.
 */
export const limits = {
  patientId: 64,
  patientName: 200,
  shortText: 200, // department
  clinicalText: 10_000, // symptom, instructions, opinion, reasons, results
  examinationType: 100,
  patientSearch: 100, // PATIENT_SEARCH_MAX
  phone: 24,
  room: 40, // a call's room (queues.ts Room)
} as const;

/** The default bound on one attachment (DEFAULT_ATTACHMENT_MAX_BYTES): 20 MiB. */
export const attachmentMaxBytes = 20 * 1024 * 1024;
