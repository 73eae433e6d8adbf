import type { Transaction } from 'kysely';
import { executeCommand, type Aggregate, type CommandOrigin, type ServiceContext } from '@medical/platform';
import { examinationDecider, isPublished, type Command, type DomainEvent, type Examination } from '../domain/examination.ts';
import { inWaitingRoom } from '../domain/waiting-room.ts';
import { loadExamination, saveExamination } from '../db/repository.ts';
import type { ExaminationDatabase } from '../db/schema.ts';

export type Context = ServiceContext<ExaminationDatabase>;
export type Trx = Transaction<ExaminationDatabase>;

/** An examination as the command pipeline runs it (platform service/command-pipeline.ts). */
export const examinations: Aggregate<Examination, Command, DomainEvent, Trx> = {
  name: 'examination',
  decider: examinationDecider,
  isPublished,
  load: loadExamination,
  save: saveExamination,
  subject: (examination) => examination.receptionId,
  aggregateId: (examination) => examination.id,
  auditNames: {
    RequestExamination: 'examination.request',
    PerformExamination: 'examination.perform',
    CancelExamination: 'examination.cancel',
    CompensateExamination: 'examination.compensate',
    MovePatient: 'examination.movePatient',
    CallPatient: 'examination.call',
    MarkNoShow: 'examination.noShow',
  },
};

/**
 * The examinations as the calls load them: one ordered before waiting rooms (no department of its
 * own) is given the one the catalog says now, and keeps it once its call is saved, so its later
 * calls and its no-show are in the room its first call was shown in.
 */
function inWaitingRooms(context: Context): typeof examinations {
  return {
    ...examinations,
    load: async (trx, id) => {
      const examination = await loadExamination(trx, id);
      return examination && inWaitingRoom(examination, context.config.catalog);
    },
  };
}

const now = () => new Date().toISOString();

export const performExamination = (context: Context, origin: CommandOrigin, id: number, result: string) =>
  executeCommand(context, examinations, origin, id, { type: 'PerformExamination', result, now: now() });

export const cancelExamination = (context: Context, origin: CommandOrigin, id: number, reason?: string) =>
  executeCommand(context, examinations, origin, id, { type: 'CancelExamination', ...(reason ? { reason } : {}), now: now() });

/** The examiner calls the patient in (again: a recall), in the waiting room of the examination's department. */
export const callPatient = (context: Context, origin: CommandOrigin, id: number, room: string | undefined) =>
  executeCommand(context, inWaitingRooms(context), origin, id, { type: 'CallPatient', ...(room !== undefined ? { room } : {}), now: now() });

export const markNoShow = (context: Context, origin: CommandOrigin, id: number) =>
  executeCommand(context, inWaitingRooms(context), origin, id, { type: 'MarkNoShow', now: now() });
