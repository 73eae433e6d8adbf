import type { CloudEvent } from '@medical/contracts';
import { causedBy, executeReaction, type Emit } from '@medical/platform';
import type { Command } from '../domain/reception.ts';
import { loadReception } from '../db/repository.ts';
import { receptions, type Context, type Trx } from './aggregates.ts';

function commandFor(event: CloudEvent): Command | undefined {
  if (event.type === 'DiagnosisCompleted') {
    const d = event.data as CloudEvent<'DiagnosisCompleted'>['data'];
    return { type: 'RecordDiagnosisCompleted', diagnosisId: d.diagnosisId, opinion: d.opinion, now: event.time };
  }
  if (event.type === 'DiagnosisRejected') {
    const d = event.data as CloudEvent<'DiagnosisRejected'>['data'];
    return { type: 'RecordDiagnosisRejected', diagnosisId: d.diagnosisId, reason: d.reason, now: event.time };
  }
  return undefined;
}

/** The reception reacts to the doctor's outcome (DiagnosisCompleted / DiagnosisRejected). */
export function receptionEffect(context: Context) {
  return async (trx: Trx, event: CloudEvent, emit: Emit): Promise<void> => {
    const command = commandFor(event);
    if (!command) return;
    const receptionId = (event.data as { receptionId: number }).receptionId;
    const state = await loadReception(trx, receptionId);
    // A diagnosis always follows a reception this service wrote; if it is missing, retry, then dead-letter.
    if (!state) throw new Error(`${event.type} for unknown reception ${receptionId}`);
    await executeReaction(trx, emit, receptions, state, command, causedBy(context, event));
  };
}
