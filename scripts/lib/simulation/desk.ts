import type { PageOf, ReceptionView } from '@medical/contracts/api';
import { POSSIBLE_DUPLICATE_PROBLEM, type PatientView } from '@medical/contracts/patients';
import { MINUTE } from './clock.ts';
import { failed, pause, readUntil } from './eventual.ts';
import { CANCEL_REASON, newPatient, symptomFor, type NewPatient } from './people.ts';
import type { Random } from './random.ts';
import { recordWait, settle, tallyOf, type Simulation, type SimVisit } from './world.ts';

/**
 * The front desk: the patients arrive (a Poisson process of `--rate` over every department), each
 * is found in the registry or registered, and their visit registered for a department, which
 * gives the queue number; a few leave before they are called (the desk cancels); the desk
 * confirms each outcome a little after the doctor's.
 */

/** The desk's windows: this many patients are registered at once, the others queue for one. */
const DESK_WINDOWS = 4;
const RETURNING_SHARE = 1 / 3;
const CANCEL_SHARE = 0.03;

/** Admits the arrivals of `--minutes` of simulated time, then returns (their registrations go on in the background). */
export async function admitArrivals(sim: Simulation): Promise<void> {
  const arrivals = sim.random.fork(0, 'arrivals');
  const window = lanes(DESK_WINDOWS);
  const end = sim.options.minutes * MINUTE;
  for (let at = arrivals.exponential(MINUTE / sim.options.ratePerMinute); at < end; at += arrivals.exponential(MINUTE / sim.options.ratePerMinute)) {
    if (!(await sim.clock.sleep(at - sim.clock.elapsedMs(), sim.signal))) return;
    const index = ++sim.arrivals;
    const random = sim.random.fork(index);
    sim.registering += 1;
    sim.background(() =>
      window(() => registerArrival(sim, index, random)).finally(() => {
        sim.registering -= 1;
        sim.bell.ring();
      }),
    );
  }
}

/**
 * One arrival at the desk. The visit's own generator decides, in a fixed order whatever the
 * timing: the department, whether the patient has been here before, who they are if new, the
 * symptom, and whether they will leave before being called.
 */
async function registerArrival(sim: Simulation, index: number, random: Random): Promise<void> {
  const department = random.pick(sim.options.departments);
  const returning = random.chance(RETURNING_SHARE);
  const stranger = newPatient(random);
  const symptom = symptomFor(department, random);
  const leavesAfterMinutes = random.chance(CANCEL_SHARE) ? random.between(2, 20) : undefined;
  if (sim.signal.aborted) return;
  const known = returning ? await returningPatient(sim, random.fork(0, 'returning')) : undefined;
  const patientId = known ?? (await registeredPatient(sim, stranger));
  if (!patientId) return;
  const answer = await sim.gateway.call<ReceptionView>('receptionist', 'POST', '/receptions', { json: { patientId, department, symptom }, expect: [201] });
  if (!answer) return void release(sim, patientId);
  const reception = answer.body;
  sim.firstReceivedAt = Math.min(sim.firstReceivedAt ?? Number.POSITIVE_INFINITY, Date.parse(reception.receivedAt));
  const visit: SimVisit = {
    index,
    random,
    department,
    patientId,
    receptionId: reception.id,
    ...(reception.queueNumber !== undefined ? { queueNumber: reception.queueNumber } : {}),
    receivedAt: answer.at,
    state: 'waiting',
    began: false,
    examinations: [],
    atExamination: false,
  };
  sim.visits.push(visit);
  countVisit(sim, visit, known !== undefined);
  if (leavesAfterMinutes !== undefined) sim.background(() => cancelLater(sim, visit, leavesAfterMinutes));
  sim.bell.ring();
}

function countVisit(sim: Simulation, visit: SimVisit, returning: boolean): void {
  const tally = tallyOf(sim, visit.department);
  tally.visits += 1;
  if (returning) tally.returningPatients += 1;
  const number = visit.queueNumber;
  if (number === undefined) return;
  tally.firstQueueNumber = Math.min(tally.firstQueueNumber ?? number, number);
  tally.lastQueueNumber = Math.max(tally.lastQueueNumber ?? number, number);
}

/**
 * A patient this run met before and who is in no visit now, found again as the desk finds them:
 * by name and birth date. None yet (early in a run): undefined, and the arrival is a new patient.
 */
async function returningPatient(sim: Simulation, random: Random): Promise<string | undefined> {
  const candidates = [...sim.patients.values()].filter((patient) => !patient.inVisit);
  if (candidates.length === 0) return undefined;
  const patient = random.pick(candidates);
  patient.inVisit = true;
  const query = new URLSearchParams({ q: patient.name, birthDate: patient.birthDate });
  const answer = await sim.gateway.call<PageOf<PatientView>>('receptionist', 'GET', `/patients?${query}`);
  const found = answer?.body.items.find((item) => item.patientId === patient.patientId);
  if (found) return found.patientId;
  if (answer) sim.gateway.report(`GET /patients?${query}: patient ${patient.patientId}, registered in this run, not found by name and birth date`);
  patient.inVisit = false;
  return undefined;
}

/**
 * A new patient registered. One who looks like a patient already registered (409, an earlier
 * run's patient of the same name and birth date: the same seed makes the same people) is that
 * patient: the desk picks the candidate rather than register them twice.
 */
async function registeredPatient(sim: Simulation, patient: NewPatient): Promise<string | undefined> {
  type Registered = PatientView | { type: string; candidates?: PatientView[] };
  const answer = await sim.gateway.call<Registered>('receptionist', 'POST', '/patients', { json: patient, expect: [201, 409] });
  if (!answer) return undefined;
  const body = answer.body;
  const chosen =
    answer.status === 201
      ? (body as PatientView)
      : ((body as { candidates?: PatientView[] }).candidates ?? []).find((candidate) => candidate.birthDate === patient.birthDate);
  if (!chosen || (answer.status === 409 && (body as { type: string }).type !== POSSIBLE_DUPLICATE_PROBLEM)) {
    sim.gateway.report(`POST /patients as receptionist: 409 without a candidate of the same birth date (${JSON.stringify(body).slice(0, 300)})`);
    return undefined;
  }
  sim.patients.set(chosen.patientId, { patientId: chosen.patientId, name: patient.name, birthDate: patient.birthDate, inVisit: true });
  return chosen.patientId;
}

function release(sim: Simulation, patientId: string): void {
  const patient = sim.patients.get(patientId);
  if (patient) patient.inVisit = false;
}

/** The patient leaves before being called: the desk cancels, unless the doctor has called them meanwhile. */
async function cancelLater(sim: Simulation, visit: SimVisit, afterMinutes: number): Promise<void> {
  if (!(await pause(sim, afterMinutes)) || visit.claimedBy) return;
  visit.claimedBy = 'desk';
  const answer = await sim.gateway.call('receptionist', 'POST', `/receptions/${visit.receptionId}/cancel`, { json: { reason: CANCEL_REASON } });
  if (!answer) return failed(sim, visit);
  tallyOf(sim, visit.department).cancelled += 1;
  settle(sim, visit, 'cancelled');
}

/** The desk confirms the doctor's outcome a little later, once the reception shows it. */
export async function confirmLater(sim: Simulation, visit: SimVisit): Promise<void> {
  if (!(await pause(sim, visit.random.around(2, { min: 0.5, max: 10 })))) return;
  const path = `/receptions/${visit.receptionId}`;
  const outcome = await readUntil<ReceptionView, string>(
    sim,
    'receptionist',
    path,
    (reception) => (reception.status === 'DIAGNOSIS_COMPLETED' || reception.status === 'DIAGNOSIS_REJECTED' ? reception.status : undefined),
    `the doctor's outcome of reception ${visit.receptionId}`,
  );
  if (!outcome) return failed(sim, visit);
  const answer = await sim.gateway.call<ReceptionView>('receptionist', 'POST', `${path}/confirm`, { json: {} });
  if (!answer) return failed(sim, visit);
  recordWait(sim, visit.department, 'COMPLETION_TO_CONFIRMATION', visit.diagnosedAt!, answer.at);
  recordWait(sim, visit.department, 'VISIT', visit.receivedAt, answer.at);
  tallyOf(sim, visit.department).confirmed += 1;
  settle(sim, visit, 'confirmed');
}

/** Runs at most `count` works at once; the others wait their turn, in order. */
function lanes(count: number): (work: () => Promise<void>) => Promise<void> {
  let free = count;
  const queue: Array<() => void> = [];
  return async (work) => {
    if (free > 0) free -= 1;
    else await new Promise<void>((resolve) => queue.push(resolve));
    try {
      await work();
    } finally {
      const next = queue.shift();
      if (next) next();
      else free += 1;
    }
  };
}
