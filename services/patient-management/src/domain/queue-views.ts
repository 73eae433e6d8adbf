import type { QueueView, TicketView } from '@medical/contracts';
import { DOCTORS_ENTRY, type QueueEntry } from './queue-entries.ts';

/** The call screen shows the last calls and the first in line: enough for a wall, never the whole day. */
export const MAX_CALLING = 10;
export const MAX_WAITING = 30;

/**
 * Waiting order: the order they joined the queue, the queue number breaking a tie of the same
 * instant. A patient back from the examinations takes their place again, before those who
 * registered after them.
 */
function inLine(a: QueueEntry, b: QueueEntry): number {
  return Date.parse(a.joinedAt) - Date.parse(b.joinedAt) || a.queueNumber - b.queueNumber;
}

/** The number of a department whose queue it is not (an examination's patient from another department: 내과 12 and 외과 12 differ). */
function from(entry: QueueEntry, department: string): { from?: string } {
  return entry.visitDepartment !== department ? { from: entry.visitDepartment } : {};
}

/**
 * A department's queue on a day, from its entries of that day: who is being called (the newest
 * call first) and who waits (in order), by number and masked name only, and the median wait to
 * the first call of those called so far.
 */
export function queueView(department: string, day: string, entries: readonly QueueEntry[]): QueueView {
  const calling = entries
    .filter((e) => e.state === 'CALLED' && e.lastCalledAt !== undefined)
    .sort((a, b) => Date.parse(b.lastCalledAt!) - Date.parse(a.lastCalledAt!) || a.queueNumber - b.queueNumber);
  const waiting = entries.filter((e) => e.state === 'WAITING').sort(inLine);
  const median = medianWaitSeconds(entries);
  return {
    department,
    day,
    calling: calling.slice(0, MAX_CALLING).map((e) => ({
      queueNumber: e.queueNumber,
      maskedName: e.maskedName,
      ...from(e, department),
      ...(e.room !== undefined ? { room: e.room } : {}),
      calledAt: e.lastCalledAt!,
      callCount: Math.max(1, e.callCount),
    })),
    waiting: waiting.slice(0, MAX_WAITING).map((e) => ({ queueNumber: e.queueNumber, maskedName: e.maskedName, ...from(e, department) })),
    waitingCount: waiting.length,
    medianWaitMinutes: median === null ? null : Math.round(median / 6) / 10,
  };
}

/** The median seconds from joining the queue to the first call, of the entries called so far; null before the first call. */
export function medianWaitSeconds(entries: readonly QueueEntry[]): number | null {
  return median(entries.flatMap((e) => (e.firstCalledAt !== undefined ? [Math.max(0, Date.parse(e.firstCalledAt) - Date.parse(e.joinedAt)) / 1000] : [])));
}

/** The middle value (the mean of the two middle ones of an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Where a ticket stands, from its visit's entries: called when the doctor called last, or an
 * examination called after that (the patient goes to that room); waiting in the doctor's queue;
 * otherwise in progress (with the doctor, at or waiting for an examination, back at the desk). A
 * patient marked as not come is shown the call they missed, so they present themselves.
 */
export type TicketStanding = { entry: QueueEntry; status: TicketView['status']; call?: QueueEntry };

export function ticketStanding(entries: readonly QueueEntry[]): TicketStanding | undefined {
  const doctor = entries.find((e) => e.item === DOCTORS_ENTRY);
  if (!doctor) return undefined;
  const examinationCall = entries
    .filter((e) => e.item !== DOCTORS_ENTRY && e.state === 'CALLED' && e.lastCalledAt !== undefined)
    .filter((e) => doctor.lastCalledAt === undefined || Date.parse(e.lastCalledAt!) > Date.parse(doctor.lastCalledAt))
    .sort((a, b) => Date.parse(b.lastCalledAt!) - Date.parse(a.lastCalledAt!))[0];
  if (examinationCall) return { entry: doctor, status: 'CALLED', call: examinationCall };
  if (doctor.state === 'WAITING') return { entry: doctor, status: 'WAITING' };
  if ((doctor.state === 'CALLED' || doctor.state === 'NO_SHOW') && doctor.lastCalledAt !== undefined) return { entry: doctor, status: 'CALLED', call: doctor };
  return { entry: doctor, status: 'IN_PROGRESS' };
}

/**
 * The ticket: `queue` is the day's entries of the department of the ticket's entry. A waiting
 * patient sees how many wait before them and, once the department has a pace today (two first
 * calls or more), the minutes that may take: the median interval between first calls, once per
 * patient ahead and once for their own turn. A patient called or in progress waits no more: 0.
 */
export function ticketView(standing: TicketStanding, queue: readonly QueueEntry[], validUntil: string): TicketView {
  const { entry, status, call } = standing;
  const ahead = status === 'WAITING' ? queue.filter((e) => e.state === 'WAITING' && inLine(e, entry) < 0).length : 0;
  const pace = status === 'WAITING' ? minutesBetweenCalls(queue) : 0;
  return {
    department: entry.department,
    day: entry.day,
    queueNumber: entry.queueNumber,
    maskedName: entry.maskedName,
    status,
    ahead,
    expectedWaitMinutes: pace === null ? null : Math.round(pace * (ahead + 1)),
    ...(call?.room !== undefined ? { room: call.room } : {}),
    ...(call?.lastCalledAt !== undefined ? { calledAt: call.lastCalledAt } : {}),
    validUntil,
  };
}

/** The department's pace today: the median minutes between consecutive first calls; null with fewer than two. */
export function minutesBetweenCalls(queue: readonly QueueEntry[]): number | null {
  const calls = queue.flatMap((e) => (e.firstCalledAt !== undefined ? [Date.parse(e.firstCalledAt)] : [])).sort((a, b) => a - b);
  const intervals = calls.slice(1).map((at, i) => (at - calls[i]!) / 60_000);
  return median(intervals);
}
