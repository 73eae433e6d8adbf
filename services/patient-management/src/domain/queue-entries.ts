import { maskName, type CallPurpose, type EventDataOf, type EventType } from '@medical/contracts';
import type { ProjectedEvent, Visit } from './visit.ts';

/**
 * The waiting room as the read model keeps it: who waits in which department's queue on a
 * hospital day, and who is being called. A visit has the doctor's entry (from its registration
 * with a queue number; visits registered before queue numbers have none) and one entry per
 * examination prescribed, in the queue of the department that performs it, under the visit's
 * number. Each entry moves:
 *
 *   WAITING ─call→ CALLED ─the doctor begins, or the examination ends→ IN_PROGRESS / DONE
 *   CALLED ─no-show→ NO_SHOW ─call→ CALLED
 *
 * The doctor's entry goes IN_PROGRESS at a prescription, DONE at the diagnosis's outcome, and
 * back to WAITING when the visit's last pending examination ends: the patient returns to the
 * doctor. An ended visit (cancelled, its diagnosis cancelled, confirmed) leaves every queue.
 * Like the visit, an entry follows the events whatever their number of deliveries: an event
 * applied again changes nothing.
 */
export const queueStates = ['WAITING', 'CALLED', 'IN_PROGRESS', 'NO_SHOW', 'DONE'] as const;
export type QueueState = (typeof queueStates)[number];

/** The item of the doctor's entry of a visit; an examination's entry is its prescription id. */
export const DOCTORS_ENTRY = '';

export type QueueEntry = {
  receptionId: number;
  item: string;
  purpose: CallPurpose;
  examinationId?: number;
  /** The queue it is in, and the visit's department, whose number it is. */
  department: string;
  visitDepartment: string;
  day: string;
  queueNumber: number;
  maskedName: string;
  state: QueueState;
  /** When it joined the queue, and since when it waits (the doctor's entry waits again after the examinations). */
  joinedAt: string;
  waitingSince: string;
  firstCalledAt?: string;
  lastCalledAt?: string;
  callCount: number;
  room?: string;
  updatedAt: string;
};

type Change = { [K in keyof QueueEntry]?: QueueEntry[K] | undefined };

/** The entries an event changes or adds (only those), given the visit's entries and the visit before and after it. */
export function queueChanges(entries: readonly QueueEntry[], before: Visit | null, after: Visit, event: ProjectedEvent): QueueEntry[] {
  const w = workingSet(entries, event.time);
  switch (event.type as EventType) {
    case 'ReceptionCompleted': {
      const created = before ? undefined : doctorsEntry(after);
      if (created) w.add(created);
      break;
    }
    case 'ReceptionPatientMerged':
      for (const e of entries) w.update(e, { maskedName: maskName(after.patientName) });
      break;
    case 'PatientCalled': {
      const d = event.data as EventDataOf<'PatientCalled'>;
      const current = calledEntry(entries, after, d);
      w.update(current, callOf(current, d));
      break;
    }
    case 'PatientNoShow': {
      const d = event.data as EventDataOf<'PatientNoShow'>;
      const current = calledEntry(entries, after, d);
      // Only a patient being called can fail to come; a mark of an earlier call than the last is late.
      if (current?.state === 'CALLED' && !isBefore(d.markedAt, current.lastCalledAt)) w.update(current, { state: 'NO_SHOW' });
      break;
    }
    case 'ExaminationPrescribed':
      prescribe(w, before, after, event as ProjectedEvent & { data: EventDataOf<'ExaminationPrescribed'> });
      break;
    case 'ExaminationRequested': {
      const d = event.data as EventDataOf<'ExaminationRequested'>;
      const current = w.entry(d.prescriptionId);
      if (current && current.examinationId === undefined) {
        w.update(current, { examinationId: d.examinationId, department: d.department ?? current.department, visitDepartment: d.visitDepartment ?? current.visitDepartment });
      }
      break;
    }
    case 'ExaminationPerformed':
    case 'ExaminationCancelled':
      endExamination(w, before, after, (event.data as { prescriptionId: string }).prescriptionId, event.time);
      break;
    case 'DiagnosisCompleted':
    case 'DiagnosisRejected':
      w.update(w.entry(DOCTORS_ENTRY), { state: 'DONE' });
      break;
    case 'ReceptionCancelled':
    case 'DiagnosisCancelled':
    case 'ReceptionConfirmed':
      for (const e of entries) w.update(e, { state: 'DONE' });
      break;
    default:
      break;
  }
  return w.changed();
}

/** The entries of a visit as one event changes them: each read sees the changes made before it. */
function workingSet(entries: readonly QueueEntry[], at: string) {
  const changed = new Map<string, QueueEntry>();
  const entry = (item: string) => changed.get(item) ?? entries.find((e) => e.item === item);
  return {
    entry,
    add: (created: QueueEntry) => void changed.set(created.item, created),
    update(current: QueueEntry | undefined, change: Change): void {
      const latest = current && entry(current.item);
      if (!latest) return;
      const next = withChange(latest, change, at);
      if (next !== latest) changed.set(latest.item, next);
    },
    changed: () => [...changed.values()],
  };
}
type WorkingSet = ReturnType<typeof workingSet>;

/** The doctor has begun (IN_PROGRESS); the examination joins its department's queue under the visit's number. */
function prescribe(w: WorkingSet, before: Visit | null, after: Visit, event: ProjectedEvent & { data: EventDataOf<'ExaminationPrescribed'> }): void {
  const d = event.data;
  if (before?.examinations.some((e) => e.prescriptionId === d.prescriptionId)) return; // a redelivery
  const doctor = w.entry(DOCTORS_ENTRY);
  if (doctor && doctor.state !== 'DONE') w.update(doctor, { state: 'IN_PROGRESS' });
  const queueNumber = d.queueNumber ?? after.queueNumber;
  const day = after.queueDay ?? doctor?.day;
  const department = after.examinations.find((e) => e.prescriptionId === d.prescriptionId)?.department ?? after.department;
  if (queueNumber === undefined || day === undefined || department === undefined) return;
  w.add({
    receptionId: after.receptionId,
    item: d.prescriptionId,
    purpose: 'EXAMINATION',
    department,
    visitDepartment: d.visitDepartment ?? after.department ?? department,
    day,
    queueNumber,
    maskedName: maskName(after.patientName),
    state: 'WAITING',
    joinedAt: event.time,
    waitingSince: event.time,
    callCount: 0,
    updatedAt: event.time,
  });
}

/** The examination's entry is done once the visit's examination ended; the last one sends the patient back to the doctor. */
function endExamination(w: WorkingSet, before: Visit | null, after: Visit, prescriptionId: string, at: string): void {
  const examination = after.examinations.find((e) => e.prescriptionId === prescriptionId);
  if (examination && examination.status !== 'REQUESTED') w.update(w.entry(prescriptionId), { state: 'DONE' });
  const doctor = w.entry(DOCTORS_ENTRY);
  if (after.stage === 'EXAMINATIONS_DONE' && before?.stage !== 'EXAMINATIONS_DONE' && doctor && doctor.state !== 'DONE') {
    w.update(doctor, { state: 'WAITING', waitingSince: after.examinationsEndedAt ?? at });
  }
}

/** The doctor's entry of a visit registered with a queue number, waiting from its registration. */
function doctorsEntry(visit: Visit): QueueEntry | undefined {
  if (visit.queueNumber === undefined || visit.queueDay === undefined || visit.department === undefined) return undefined;
  const joinedAt = visit.receivedAt ?? visit.createdAt;
  return {
    receptionId: visit.receptionId,
    item: DOCTORS_ENTRY,
    purpose: 'DIAGNOSIS',
    department: visit.department,
    visitDepartment: visit.department,
    day: visit.queueDay,
    queueNumber: visit.queueNumber,
    maskedName: maskName(visit.patientName),
    state: 'WAITING',
    joinedAt,
    waitingSince: joinedAt,
    callCount: 0,
    updatedAt: visit.createdAt,
  };
}

/** The entry a call or a no-show is about: the doctor's, or the examination's (by its id, or its prescription's link in the visit). */
function calledEntry(entries: readonly QueueEntry[], visit: Visit, d: { calledFor: CallPurpose; examinationId?: number | undefined }): QueueEntry | undefined {
  if (d.calledFor === 'DIAGNOSIS') return entries.find((e) => e.item === DOCTORS_ENTRY);
  const prescriptionId = visit.examinations.find((e) => e.examinationId === d.examinationId)?.prescriptionId;
  return entries.find((e) => e.purpose === 'EXAMINATION' && (e.examinationId === d.examinationId || e.item === prescriptionId));
}

/** What a call changes: CALLED in the room it names, shown where it is spoken; nothing for an ended entry, or a call not newer than the last. */
function callOf(current: QueueEntry | undefined, d: EventDataOf<'PatientCalled'>): Change {
  if (!current || current.state === 'DONE' || !isNewCall(d, current)) return {};
  return {
    state: 'CALLED',
    department: d.department,
    firstCalledAt: current.firstCalledAt ?? d.calledAt,
    lastCalledAt: d.calledAt,
    callCount: d.callCount,
    room: d.room,
  };
}

/** Later than the last call, or its recall of the same instant: the same call applied again is not new. */
function isNewCall(d: { calledAt: string; callCount: number }, current: QueueEntry): boolean {
  if (current.lastCalledAt === undefined) return true;
  const at = Date.parse(d.calledAt);
  const last = Date.parse(current.lastCalledAt);
  return at > last || (at === last && d.callCount > current.callCount);
}

function isBefore(at: string, than: string | undefined): boolean {
  return than !== undefined && Date.parse(at) < Date.parse(than);
}

/**
 * `current` with `change` applied (an undefined value removes the field), or `current` itself when
 * nothing differs. Like the visit's, its updatedAt never moves backwards (a late redelivery).
 */
function withChange(current: QueueEntry, change: Change, at: string): QueueEntry {
  const keys = Object.keys(change) as Array<keyof QueueEntry>;
  if (keys.every((k) => change[k] === current[k])) return current;
  const updatedAt = Date.parse(at) > Date.parse(current.updatedAt) ? at : current.updatedAt;
  const next: Record<string, unknown> = { ...current, ...change, updatedAt };
  for (const k of keys) if (next[k] === undefined) delete next[k];
  return next as QueueEntry;
}
