import type { DiagnosisView, PageOf } from '@medical/contracts/api';
import { MINUTE } from './clock.ts';
import { confirmLater } from './desk.ts';
import { failed, pause, readUntil } from './eventual.ts';
import type { StaffUser } from './http.ts';
import { ABSENT_REASON, OPINIONS, REJECT_REASONS } from './people.ts';
import { doctorOf, recordWait, tallyOf, type CatalogExamination, type Simulation, type SimVisit } from './world.ts';

/**
 * One doctor per department works its queue: the patients back from their examinations first,
 * then an absent patient whose recall is due, then the next new patient by queue number. Each is
 * called to the doctor's room once the visit's diagnosis is on the worklist; about one in twenty
 * does not come (marked, called again later once, rejected if still absent); a consultation takes
 * about six minutes and ends in examinations (about 60%, one or two of the catalog's), a rejection
 * (about 5%) or a completion. A patient back from the examinations is recalled and completed.
 */

const NO_SHOW_SHARE = 0.05;
const COMES_ON_RECALL_SHARE = 0.5;
const REJECT_SHARE = 0.05;
const EXAMINATION_SHARE = 0.6;
/** Without a bell, the doctor looks at the worklist again after this many simulated minutes (a recall may be due). */
const IDLE_LOOK_MINUTES = 0.5;

type Doctor = { user: StaffUser; department: string; room: string };
type Next = { visit: SimVisit; see: (sim: Simulation, doctor: Doctor, visit: SimVisit) => Promise<void> };

export async function doctorWorks(sim: Simulation, department: string, room: string): Promise<void> {
  const doctor: Doctor = { user: doctorOf(department), department, room };
  while (!sim.signal.aborted) {
    const next = nextPatient(sim, department);
    if (next) await next.see(sim, doctor, next.visit);
    else await sim.bell.wait(sim.clock.realMs(IDLE_LOOK_MINUTES * MINUTE), sim.signal);
  }
}

function nextPatient(sim: Simulation, department: string): Next | undefined {
  const mine = sim.visits.filter((visit) => visit.department === department);
  const earliest = (visits: SimVisit[], key: (visit: SimVisit) => number) => visits.sort((a, b) => key(a) - key(b))[0];
  const returned = earliest(mine.filter((visit) => visit.state === 'returned'), (visit) => visit.examinationsEndedAt!);
  if (returned) return { visit: returned, see: seeReturned };
  const now = sim.clock.elapsedMs();
  const absent = earliest(mine.filter((visit) => visit.state === 'absent' && visit.recallAt! <= now), (visit) => visit.recallAt!);
  if (absent) return { visit: absent, see: recall };
  const waiting = earliest(mine.filter((visit) => visit.state === 'waiting' && !visit.claimedBy), (visit) => visit.queueNumber ?? visit.index);
  return waiting ? { visit: waiting, see: seeNew } : undefined;
}

async function seeNew(sim: Simulation, doctor: Doctor, visit: SimVisit): Promise<void> {
  visit.claimedBy = 'doctor';
  visit.state = 'with-doctor';
  const diagnosis = await readUntil<PageOf<DiagnosisView>, DiagnosisView>(
    sim,
    doctor.user,
    `/diagnoses?receptionId=${visit.receptionId}`,
    (page) => page.items[0],
    `the diagnosis of reception ${visit.receptionId}`,
  );
  if (!diagnosis) return failed(sim, visit);
  visit.diagnosisId = diagnosis.id;
  const comes = !visit.random.chance(NO_SHOW_SHARE);
  if (!(await callIn(sim, doctor, visit))) return;
  if (comes) return consult(sim, doctor, visit);
  // The doctor waits at the door a moment, marks the patient absent and calls the next one.
  if (!(await pause(sim, visit.random.around(2, { min: 1, max: 5 }))) || !(await markNoShow(sim, doctor, visit))) return;
  visit.recallAt = sim.clock.elapsedMs() + visit.random.between(5, 10) * MINUTE;
  visit.comesOnRecall = visit.random.chance(COMES_ON_RECALL_SHARE);
  visit.state = 'absent';
}

/** The absent patient called again, once: they come, or the diagnosis is rejected. */
async function recall(sim: Simulation, doctor: Doctor, visit: SimVisit): Promise<void> {
  visit.state = 'with-doctor';
  if (!(await callIn(sim, doctor, visit))) return;
  if (visit.comesOnRecall) return consult(sim, doctor, visit);
  if (!(await pause(sim, visit.random.around(2, { min: 1, max: 5 }))) || !(await markNoShow(sim, doctor, visit))) return;
  await endDiagnosis(sim, doctor, visit, 'reject', ABSENT_REASON);
}

async function consult(sim: Simulation, doctor: Doctor, visit: SimVisit): Promise<void> {
  const { random } = visit;
  if (!(await pause(sim, random.around(6, { min: 2, max: 20 })))) return;
  const outcome = random.next();
  if (outcome < REJECT_SHARE) return endDiagnosis(sim, doctor, visit, 'reject', random.pick(REJECT_REASONS));
  if (outcome < REJECT_SHARE + EXAMINATION_SHARE) return prescribe(sim, doctor, visit);
  await endDiagnosis(sim, doctor, visit, 'complete', random.pick(OPINIONS));
}

/** Back from the examinations: once the diagnosis shows every result, the patient is recalled and the diagnosis completed. */
async function seeReturned(sim: Simulation, doctor: Doctor, visit: SimVisit): Promise<void> {
  visit.state = 'with-doctor';
  const done = await readUntil<DiagnosisView, DiagnosisView>(
    sim,
    doctor.user,
    `/diagnoses/${visit.diagnosisId}`,
    (diagnosis) => (diagnosis.status === 'EXAMINATION_DONE' ? diagnosis : undefined),
    `the examinations' results on diagnosis ${visit.diagnosisId}`,
  );
  if (!done) return failed(sim, visit);
  if (!(await callIn(sim, doctor, visit)) || !(await pause(sim, visit.random.around(3, { min: 1, max: 10 })))) return;
  await endDiagnosis(sim, doctor, visit, 'complete', visit.random.pick(OPINIONS));
}

/** One or two of the catalog's examinations; the patient leaves for them once both are prescribed. */
async function prescribe(sim: Simulation, doctor: Doctor, visit: SimVisit): Promise<void> {
  const { random } = visit;
  const chosen = distinct(random.chance(0.7) ? 1 : 2, sim.catalog.examinations, () => random.pick(sim.catalog.examinations));
  for (const [n, examination] of chosen.entries()) {
    const path = `/diagnoses/${visit.diagnosisId}/prescriptions`;
    const answer = await sim.gateway.call<DiagnosisView>(doctor.user, 'POST', path, { json: { examinationType: examination.code }, expect: [201] });
    if (!answer) return failed(sim, visit);
    const known = new Set(visit.examinations.map((e) => e.prescriptionId));
    const prescription = answer.body.prescriptions.find((p) => p.examinationType === examination.code && !known.has(p.prescriptionId));
    if (!prescription) {
      sim.gateway.report(`POST ${path}: the answer does not list the new prescription of ${examination.code}`);
      return failed(sim, visit);
    }
    began(sim, visit, answer.at);
    const department = examination.department ?? visit.department;
    visit.examinations.push({ code: examination.code, department, prescriptionId: prescription.prescriptionId, prescribedAt: answer.at, random: random.fork(n, 'examination'), state: 'waiting' });
    tallyOf(sim, visit.department).examinations += 1;
  }
  visit.state = 'examinations';
  sim.bell.ring();
}

function distinct(count: number, from: readonly CatalogExamination[], pick: () => CatalogExamination): CatalogExamination[] {
  const chosen = new Set<CatalogExamination>();
  while (chosen.size < Math.min(count, from.length)) chosen.add(pick());
  return [...chosen];
}

async function callIn(sim: Simulation, doctor: Doctor, visit: SimVisit): Promise<boolean> {
  const answer = await sim.gateway.call(doctor.user, 'POST', `/diagnoses/${visit.diagnosisId}/call`, { json: { room: doctor.room } });
  if (!answer) {
    failed(sim, visit);
    return false;
  }
  const tally = tallyOf(sim, visit.department);
  tally.calls += 1;
  if (visit.firstCalledAt !== undefined) tally.recalls += 1;
  else {
    visit.firstCalledAt = answer.at;
    recordWait(sim, visit.department, 'RECEPTION_TO_CALL', visit.receivedAt, answer.at);
  }
  return true;
}

async function markNoShow(sim: Simulation, doctor: Doctor, visit: SimVisit): Promise<boolean> {
  const answer = await sim.gateway.call(doctor.user, 'POST', `/diagnoses/${visit.diagnosisId}/no-show`, { json: {} });
  if (!answer) {
    failed(sim, visit);
    return false;
  }
  tallyOf(sim, visit.department).noShows += 1;
  return true;
}

/** The doctor began: the first prescription, or the end of a diagnosis without one. */
function began(sim: Simulation, visit: SimVisit, at: number): void {
  if (visit.began) return;
  visit.began = true;
  recordWait(sim, visit.department, 'CALL_TO_DIAGNOSIS', visit.firstCalledAt!, at);
}

async function endDiagnosis(sim: Simulation, doctor: Doctor, visit: SimVisit, action: 'complete' | 'reject', text: string): Promise<void> {
  const body = action === 'complete' ? { opinion: text } : { reason: text };
  const answer = await sim.gateway.call(doctor.user, 'POST', `/diagnoses/${visit.diagnosisId}/${action}`, { json: body });
  if (!answer) return failed(sim, visit);
  began(sim, visit, answer.at);
  if (visit.examinationsEndedAt !== undefined) recordWait(sim, visit.department, 'EXAMINATIONS_TO_COMPLETION', visit.examinationsEndedAt, answer.at);
  const tally = tallyOf(sim, visit.department);
  if (action === 'complete') tally.completed += 1;
  else tally.rejected += 1;
  visit.diagnosedAt = answer.at;
  visit.state = 'diagnosed';
  sim.background(() => confirmLater(sim, visit));
}
