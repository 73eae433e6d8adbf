import { Type, type Static } from 'typebox';
import { Timestamp } from './common.ts';
import { DepartmentCode } from './departments.ts';

/**
 * The waiting room (DESIGN.md §9): the queue number a visit gets at the desk, the calls that bring
 * the patient to a room, the call screen of a department, the patient's own view of their ticket,
 * and the waiting time of each stage of a visit.
 *
 * A queue number is per department per hospital day (HOSPITAL_TIME_ZONE): 1 for the first visit
 * registered in a department on a day, never given twice on that day. Staff call it out; the call
 * screen shows it beside a masked name, never the name itself.
 */
export const QueueNumber = Type.Integer({ minimum: 1, maximum: 99_999 });

/** A day of the hospital, in its own time zone: `2026-12-07`. */
export const HospitalDay = Type.String({ format: 'date' });

/** What the patient is called for: the doctor's consultation, or an examination. */
export const callPurposes = ['DIAGNOSIS', 'EXAMINATION'] as const;
export type CallPurpose = (typeof callPurposes)[number];
export const CallPurposeSchema = Type.Enum(callPurposes);

/** The room the patient is called to, as the screen shows and the call speaks it: `3`, `진료실 2`, `CT-1`. */
export const Room = Type.String({ minLength: 1, maxLength: 40, pattern: '\\S' });

/** `POST /diagnoses/{id}/call` and `POST /examinations/{id}/call`: the room, when the caller names one. */
export const CallPatientBody = Type.Object({ room: Type.Optional(Room) }, { additionalProperties: false });
export type CallPatientRequest = Static<typeof CallPatientBody>;

/**
 * How a diagnosis or an examination stands in its queue, on its own answer: not yet called
 * (`callCount` 0), called (`calledAt` the last call, `callCount` how many), or marked as not come
 * (`noShowAt`, cleared by the next call).
 */
export const queueProperties = {
  queueNumber: Type.Optional(QueueNumber),
  calledAt: Type.Optional(Timestamp),
  callCount: Type.Optional(Type.Integer({ minimum: 0 })),
  room: Type.Optional(Room),
  noShowAt: Type.Optional(Timestamp),
};

// ---- the call screen ----
export const QueueParams = Type.Object({ department: DepartmentCode }, { additionalProperties: false });

/**
 * A patient on the call screen: the number and the masked name (김*지), nothing else that names
 * them. `from` is the department whose queue the number belongs to, when it is not the screen's
 * own (an examination department calls patients of every department: 내과 12 and 외과 12 differ).
 */
export const CalledPatient = Type.Object({
  queueNumber: QueueNumber,
  maskedName: Type.String(),
  from: Type.Optional(DepartmentCode),
  room: Type.Optional(Room),
  calledAt: Timestamp,
  /** 1 for the first call, 2 and more for a recall. */
  callCount: Type.Integer({ minimum: 1 }),
});
export const WaitingPatient = Type.Object({
  queueNumber: QueueNumber,
  maskedName: Type.String(),
  from: Type.Optional(DepartmentCode),
});

/** `GET /queues/{department}`: who is being called now, newest first, and who waits, in order. */
export const Queue = Type.Object({
  department: DepartmentCode,
  day: HospitalDay,
  calling: Type.Array(CalledPatient),
  waiting: Type.Array(WaitingPatient),
  waitingCount: Type.Integer({ minimum: 0 }),
  /** The median minutes from joining this queue to the first call, of today's patients called so far; null before the first call. */
  medianWaitMinutes: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
});
export type QueueView = Static<typeof Queue>;

// ---- the patient's ticket ----
/**
 * The token of a ticket's link: 128 random bits, base64url (22 characters). It names the visit to
 * the read model only (which keeps its SHA-256, carried by ReceptionCompleted as `ticketDigest`),
 * and is valid on the visit's hospital day while the visit is open.
 */
export const TICKET_TOKEN_PATTERN = '^[A-Za-z0-9_-]{22}$';
export const TicketToken = Type.String({ pattern: TICKET_TOKEN_PATTERN, minLength: 22, maxLength: 22 });
export const TicketParams = Type.Object({ token: TicketToken }, { additionalProperties: false });
/** The ticket's path in the console, which the QR code printed on the ticket links to. */
export const TICKET_PAGE_PATH = '/ticket/';

export const ticketStatuses = ['WAITING', 'CALLED', 'IN_PROGRESS'] as const;
export const Ticket = Type.Object({
  department: DepartmentCode,
  day: HospitalDay,
  queueNumber: QueueNumber,
  maskedName: Type.String(),
  /** WAITING: in the queue; CALLED: go to `room`; IN_PROGRESS: with the doctor or at an examination. */
  status: Type.Enum(ticketStatuses),
  /** How many of the department's queue are before this patient; 0 when called. */
  ahead: Type.Integer({ minimum: 0 }),
  /** The minutes this patient may still wait, from the department's pace today; null until it is known. */
  expectedWaitMinutes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  room: Type.Optional(Room),
  calledAt: Type.Optional(Timestamp),
  /** The end of the visit's hospital day: the link is refused after it. */
  validUntil: Timestamp,
});
export type TicketView = Static<typeof Ticket>;

// ---- waiting times ----
/**
 * The stages of a visit whose waits are measured, each from one event to another:
 * - `RECEPTION_TO_CALL`: registered → first called by the doctor;
 * - `CALL_TO_DIAGNOSIS`: first called → the doctor began (the first prescription, or the
 *   completion or rejection of a diagnosis without one);
 * - `PRESCRIPTION_TO_EXAMINATION`: an examination prescribed → performed (one per examination);
 * - `EXAMINATIONS_TO_COMPLETION`: the last examination performed or cancelled → diagnosis completed or rejected;
 * - `COMPLETION_TO_CONFIRMATION`: diagnosis completed or rejected → confirmed at the desk;
 * - `VISIT`: registered → confirmed.
 */
export const waitStages = [
  'RECEPTION_TO_CALL',
  'CALL_TO_DIAGNOSIS',
  'PRESCRIPTION_TO_EXAMINATION',
  'EXAMINATIONS_TO_COMPLETION',
  'COMPLETION_TO_CONFIRMATION',
  'VISIT',
] as const;
export type WaitStage = (typeof waitStages)[number];
export const WaitStageSchema = Type.Enum(waitStages);

/** The longest span one query of waiting times covers: 93 days. */
export const WAITING_TIMES_MAX_DAYS = 93;
export const WaitingTimesQuery = Type.Object(
  {
    /** From this instant (inclusive), by when each stage began; default: the start of today in the hospital's zone. */
    from: Type.Optional(Timestamp),
    /** To this instant (exclusive); default: now. */
    to: Type.Optional(Timestamp),
    department: Type.Optional(DepartmentCode),
  },
  { additionalProperties: false },
);

const WaitFigures = {
  count: Type.Integer({ minimum: 0 }),
  p50Minutes: Type.Number({ minimum: 0 }),
  p90Minutes: Type.Number({ minimum: 0 }),
};
export const StageWaits = Type.Object({ department: DepartmentCode, stage: WaitStageSchema, ...WaitFigures });
/** By the hour of the day (0-23, in the hospital's zone) at which the stage began. */
export const HourlyStageWaits = Type.Object({ department: DepartmentCode, stage: WaitStageSchema, hour: Type.Integer({ minimum: 0, maximum: 23 }), ...WaitFigures });

/**
 * `GET /patientManagements/waiting-times`: the waits of the stages that ended, per department and
 * stage, and per hour; minutes to the hundredth (0.6 s), percentiles by nearest rank.
 */
export const WaitingTimes = Type.Object({
  from: Timestamp,
  to: Timestamp,
  timeZone: Type.String(),
  stages: Type.Array(StageWaits),
  byHour: Type.Array(HourlyStageWaits),
  /** The patients waiting now, per department: in the doctor's queue or an examination's. */
  waitingNow: Type.Array(Type.Object({ department: DepartmentCode, waitingCount: Type.Integer({ minimum: 0 }) })),
});
export type WaitingTimesView = Static<typeof WaitingTimes>;

/**
 * A name as the call screen and the ticket show it: the first and the last character of each word
 * kept, the rest starred, so the patient knows it is them and the room does not learn who they
 * are. 김민지 → 김*지, 남궁민수 → 남**수, 김민 → 김*, Jane Doe → J**e D*e, one character → *.
 */
export function maskName(name: string): string {
  return name
    .trim()
    .split(/\s+/)
    .map((word) => {
      const letters = Array.from(word);
      if (letters.length <= 1) return '*';
      if (letters.length === 2) return `${letters[0]}*`;
      return `${letters[0]}${'*'.repeat(letters.length - 2)}${letters.at(-1)}`;
    })
    .join(' ');
}
