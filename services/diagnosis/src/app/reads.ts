import { notFound } from '@medical/platform';
import type { PageOf } from '@medical/contracts';
import { departmentOf, listedDepartments } from '../domain/departments.ts';
import type { Diagnosis } from '../domain/diagnosis.ts';
import { listDiagnoses, loadDiagnosis, type DiagnosisFilter } from '../db/repository.ts';
import { grantedOn, type DeskContext, type Requester } from './access.ts';
import { openInEmergency } from './commands.ts';

/**
 * The doctor's worklist: only the diagnoses of the requester's departments (every one for admin),
 * filtered by the database, so a page and its total never count another department's. Break-Glass
 * does not widen a list: it opens one diagnosis at a time, each one audited.
 */
export function worklist(context: DeskContext, requester: Requester, filter: DiagnosisFilter): Promise<PageOf<Diagnosis>> {
  return listDiagnoses(context.database.db, filter, listedDepartments(requester.scope, context.config.catalog.defaultDepartment));
}

/** One diagnosis: 404, 403 outside the requester's departments, or shown (after recording the glass broken, if it was). */
export async function openDiagnosis(context: DeskContext, requester: Requester, id: number): Promise<Diagnosis> {
  const diagnosis = await loadDiagnosis(context.database.db, id);
  if (!diagnosis) throw notFound('diagnosis', id);
  const place = { diagnosisId: id, receptionId: diagnosis.receptionId, department: departmentOf(diagnosis, context.config.catalog.defaultDepartment) };
  const granted = grantedOn(place, requester);
  return granted.breakGlass ? openInEmergency(context, requester, { ...granted, breakGlass: granted.breakGlass }) : diagnosis;
}
