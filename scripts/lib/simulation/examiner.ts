import type { ExaminationView, PageOf } from '@medical/contracts/api';
import { MINUTE } from './clock.ts';
import { failed, pause, readUntil } from './eventual.ts';
import { EXAMINATION_CANCEL_REASON, RESULTS } from './people.ts';
import { recordWait, roomOf, type Simulation, type SimExamination, type SimVisit } from './world.ts';

/**
 * One examiner per examination department works its queue in the order of the prescriptions,
 * skipping a patient who is in another room now: finds the examination the prescription became,
 * calls the patient, and performs it after about the catalog's expected minutes (about 2% are
 * cancelled instead). An imaging or tracing examination keeps the room for all that time; a
 * laboratory test (no modality) only for the sample, and its result comes later, while the
 * examiner takes the next patient. Once every examination of a visit is done, the patient goes
 * back to the doctor's queue.
 */

const CANCEL_SHARE = 0.02;
const IDLE_LOOK_MINUTES = 0.5;

type Queued = { visit: SimVisit; examination: SimExamination };

export async function examinerWorks(sim: Simulation, department: string, room: string): Promise<void> {
  while (!sim.signal.aborted) {
    const next = nextExamination(sim, department);
    if (next) await examine(sim, room, next);
    else await sim.bell.wait(sim.clock.realMs(IDLE_LOOK_MINUTES * MINUTE), sim.signal);
  }
}

function nextExamination(sim: Simulation, department: string): Queued | undefined {
  const queued: Queued[] = [];
  for (const visit of sim.visits) {
    if (visit.state !== 'examinations' || visit.atExamination) continue;
    for (const examination of visit.examinations) {
      if (examination.state === 'waiting' && examination.department === department) queued.push({ visit, examination });
    }
  }
  return queued.sort((a, b) => a.examination.prescribedAt - b.examination.prescribedAt)[0];
}

async function examine(sim: Simulation, room: string, { visit, examination }: Queued): Promise<void> {
  visit.atExamination = true;
  examination.state = 'in-progress';
  const found = await readUntil<PageOf<ExaminationView>, ExaminationView>(
    sim,
    'examiner',
    `/examinations?receptionId=${visit.receptionId}`,
    (page) => page.items.find((item) => item.prescriptionId === examination.prescriptionId),
    `the examination of prescription ${examination.prescriptionId}`,
  );
  if (!found) return failed(sim, visit);
  if (found.department) examination.department = found.department;
  const called = await sim.gateway.call('examiner', 'POST', `/examinations/${found.id}/call`, { json: { room } });
  if (!called) return failed(sim, visit);
  roomOf(sim, examination.department).calls += 1;
  const { random } = examination;
  const cancelled = random.chance(CANCEL_SHARE);
  const expected = sim.catalog.examinations.find((e) => e.code === examination.code);
  const minutes = random.around(expected?.expectedMinutes ?? 15, { min: 1 });
  const withPatient = expected?.modality ? minutes : Math.min(minutes, random.around(4, { min: 2, max: 8 }));
  if (cancelled) return cancel(sim, visit, examination, found.id);
  if (!(await pause(sim, withPatient))) return;
  visit.atExamination = false;
  sim.bell.ring();
  if (withPatient >= minutes) return perform(sim, visit, examination, found.id);
  sim.background(async () => {
    if (await pause(sim, minutes - withPatient)) await perform(sim, visit, examination, found.id);
  });
}

async function perform(sim: Simulation, visit: SimVisit, examination: SimExamination, examinationId: number): Promise<void> {
  const answer = await sim.gateway.call('examiner', 'POST', `/examinations/${examinationId}/perform`, { json: { result: examination.random.pick(RESULTS) } });
  if (!answer) return failed(sim, visit);
  recordWait(sim, examination.department, 'PRESCRIPTION_TO_EXAMINATION', examination.prescribedAt, answer.at);
  roomOf(sim, examination.department).performed += 1;
  examination.state = 'performed';
  done(sim, visit, answer.at);
}

/** The patient cannot have it after all (a contraindication found in the room): cancelled after a minute. */
async function cancel(sim: Simulation, visit: SimVisit, examination: SimExamination, examinationId: number): Promise<void> {
  if (!(await pause(sim, examination.random.around(1, { min: 0.5, max: 3 })))) return;
  const answer = await sim.gateway.call('examiner', 'POST', `/examinations/${examinationId}/cancel`, { json: { reason: EXAMINATION_CANCEL_REASON } });
  if (!answer) return failed(sim, visit);
  roomOf(sim, examination.department).cancelled += 1;
  examination.state = 'cancelled';
  visit.atExamination = false;
  done(sim, visit, answer.at);
}

/** After the last examination of the visit, the patient returns to the doctor's queue. */
function done(sim: Simulation, visit: SimVisit, at: number): void {
  if (visit.state !== 'examinations' || visit.examinations.some((e) => e.state === 'waiting' || e.state === 'in-progress')) return;
  visit.examinationsEndedAt = at;
  visit.state = 'returned';
  sim.bell.ring();
}
