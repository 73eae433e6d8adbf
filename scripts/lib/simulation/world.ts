import type { WaitStage } from '@medical/contracts/queues';
import type { SimulatedClock } from './clock.ts';
import type { GatewayClient, StaffUser } from './http.ts';
import type { Random } from './random.ts';

/**
 * What the simulation knows while it runs: the hospital's catalog as the console gets it, every
 * visit it registered and where the patient is, the counts of the summary, and the waits it
 * measured. The staff's loops (desk.ts, doctor.ts, examiner.ts) read and change it; they run in
 * one process, so a visit is taken by one of them at a time without locks (`claimedBy`).
 */

export type CatalogExamination = { code: string; department?: string; expectedMinutes: number; modality?: string };
export type Catalog = {
  departments: ReadonlyArray<{ code: string; name: { ko: string; en: string } }>;
  defaultDepartment: string;
  examinations: readonly CatalogExamination[];
};

export type SimulationOptions = {
  ratePerMinute: number;
  departments: string[];
  minutes: number;
  speed: number;
  seed: number;
  gateway: string;
};

/** Where a visit's patient is, as far as the simulation knows. */
export type VisitState =
  | 'waiting' // in the doctor's queue, not called yet
  | 'with-doctor'
  | 'absent' // called, did not come: to be recalled at `recallAt`
  | 'examinations'
  | 'returned' // every examination done: back in the doctor's queue
  | 'diagnosed' // completed or rejected: the desk confirms next
  | 'confirmed'
  | 'cancelled'
  | 'failed'; // an unexpected answer ended the simulation of this visit (reported)

export type SimExamination = {
  code: string;
  /** The waiting room it is called in: the examination's own department, as its answer names it. */
  department: string;
  prescriptionId: string;
  prescribedAt: number;
  random: Random;
  state: 'waiting' | 'in-progress' | 'performed' | 'cancelled';
};

export type SimVisit = {
  index: number;
  random: Random;
  department: string;
  patientId: string;
  receptionId: number;
  queueNumber?: number;
  /** Real instants (ms since the epoch) of the answers that start and end the wait stages. */
  receivedAt: number;
  firstCalledAt?: number;
  examinationsEndedAt?: number;
  diagnosedAt?: number;
  state: VisitState;
  /** Who took the visit first: the doctor who calls it, or the desk that cancels it. */
  claimedBy?: 'doctor' | 'desk';
  diagnosisId?: number;
  /** The doctor began: the first prescription, or the end of a diagnosis without one (CALL_TO_DIAGNOSIS). */
  began: boolean;
  examinations: SimExamination[];
  /** The patient is in an examination room now, so no other room calls them. */
  atExamination: boolean;
  /** Simulated ms at which an absent patient is called again, and whether they come then. */
  recallAt?: number;
  comesOnRecall?: boolean;
};

export type DepartmentTally = {
  visits: number;
  returningPatients: number;
  firstQueueNumber?: number;
  lastQueueNumber?: number;
  calls: number;
  recalls: number;
  noShows: number;
  cancelled: number;
  rejected: number;
  examinations: number;
  completed: number;
  confirmed: number;
};

export type RoomTally = { calls: number; performed: number; cancelled: number };

export type MeasuredWait = { department: string; stage: WaitStage; startedAt: number; endedAt: number };

/** Wakes every loop waiting for work: a patient arrived, came back from an examination, was prescribed one. */
export type Doorbell = { ring(): void; wait(realMs: number, signal: AbortSignal): Promise<void> };

export type Simulation = {
  options: SimulationOptions;
  clock: SimulatedClock;
  gateway: GatewayClient;
  catalog: Catalog;
  random: Random;
  /** Aborted at the end of the run: every loop stops at its next step. */
  signal: AbortSignal;
  bell: Doorbell;
  visits: SimVisit[];
  /** The patients this run registered or found, and whether they are in a visit now (a returning patient is one who is not). */
  patients: Map<string, { patientId: string; name: string; birthDate: string; inVisit: boolean }>;
  arrivals: number;
  /** Arrivals whose registration at the desk has not ended yet. */
  registering: number;
  /** The earliest registration instant of the system's own clock (the reception's receivedAt), in ms. */
  firstReceivedAt?: number;
  departments: Map<string, DepartmentTally>;
  rooms: Map<string, RoomTally>;
  waits: MeasuredWait[];
  /** Runs `work` beside the loops (a confirmation later, a result that comes later); the run waits for them at its end. */
  background(work: () => Promise<void>): void;
};

export function doorbell(): Doorbell {
  let ringing: Array<() => void> = [];
  return {
    ring: () => {
      const waiting = ringing;
      ringing = [];
      for (const wake of waiting) wake();
    },
    wait: (realMs, signal) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, realMs);
        signal.addEventListener('abort', done, { once: true });
        ringing.push(done);
      }),
  };
}

export function emptyTally(): DepartmentTally {
  return { visits: 0, returningPatients: 0, calls: 0, recalls: 0, noShows: 0, cancelled: 0, rejected: 0, examinations: 0, completed: 0, confirmed: 0 };
}

export function tallyOf(sim: Simulation, department: string): DepartmentTally {
  let tally = sim.departments.get(department);
  if (!tally) sim.departments.set(department, (tally = emptyTally()));
  return tally;
}

export function roomOf(sim: Simulation, department: string): RoomTally {
  let room = sim.rooms.get(department);
  if (!room) sim.rooms.set(department, (room = { calls: 0, performed: 0, cancelled: 0 }));
  return room;
}

export function recordWait(sim: Simulation, department: string, stage: WaitStage, startedAt: number, endedAt: number): void {
  sim.waits.push({ department, stage, startedAt, endedAt });
}

const SETTLED: readonly VisitState[] = ['confirmed', 'cancelled', 'failed'];

export function isSettled(visit: SimVisit): boolean {
  return SETTLED.includes(visit.state);
}

/** The visit is over for the simulation: its patient may come again as a returning patient. */
export function settle(sim: Simulation, visit: SimVisit, state: 'confirmed' | 'cancelled' | 'failed'): void {
  visit.state = state;
  const patient = sim.patients.get(visit.patientId);
  if (patient) patient.inVisit = false;
  sim.bell.ring();
}

/** The demo doctor of a department, or admin (who may act in every department) where there is none. */
export function doctorOf(department: string): StaffUser {
  return department === 'internal-medicine' ? 'doctor' : department === 'surgery' ? 'doctor-surgery' : 'admin';
}

/** The departments whose rooms perform the catalog's examinations (an examination without one is performed in the visit's department). */
export function examinationDepartments(catalog: Catalog, visitDepartments: readonly string[]): string[] {
  const departments = new Set<string>();
  for (const examination of catalog.examinations) {
    if (examination.department) departments.add(examination.department);
    else for (const department of visitDepartments) departments.add(department);
  }
  return [...departments];
}

/** A department's Korean name, for the rooms: `영상의학과 1`. */
export function departmentName(sim: Simulation, code: string): string {
  return sim.catalog.departments.find((department) => department.code === code)?.name.ko ?? code;
}
