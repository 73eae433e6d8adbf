import { apiBlob, apiJson, queryString } from './client.ts';
import { fetchAllPages, fetchNewestWhile, PAGE_SIZE } from './paging.ts';
import type { PageOf } from '@medical/contracts/api';
import type {
  AccessLogEntry,
  AttachmentView,
  CreateReceptionRequest,
  DiagnosisStatus,
  DiagnosisView,
  ExaminationView,
  PatientView,
  ReceptionView,
  RegisterPatientRequest,
  VisitTimelineView,
  VisitView,
  WaitingTimesView,
} from './types.ts';

/** The routes the console calls, one typed function each (DESIGN.md section 6). */

// ---- reception desk ----
/** Patients one search shows: the desk narrows a search by typing more, not by paging. */
export const PATIENT_SEARCH_SIZE = 10;

/** The registry's search: `q` is a patient number, a name, its initials, a birth date or a phone's last digits. */
export const searchPatients = (q: string, signal?: AbortSignal) =>
  apiJson<PageOf<PatientView>>(`/patients${queryString({ q, page: 0, size: PATIENT_SEARCH_SIZE })}`, { signal });

/** A 409 of the possible-duplicate type names look-alikes (api/problem.ts, possibleDuplicatesOf). */
export const registerPatient = (body: RegisterPatientRequest, idempotencyKey: string) =>
  apiJson<PatientView>('/patients', { method: 'POST', json: body, idempotencyKey });

export const registerReception = (body: CreateReceptionRequest, idempotencyKey: string) =>
  apiJson<ReceptionView>('/receptions', { method: 'POST', json: body, idempotencyKey });

export const listNewestReceptions = (keep: (reception: ReceptionView) => boolean, signal?: AbortSignal) =>
  fetchNewestWhile<ReceptionView>('/receptions', keep, {}, signal);

export const cancelReception = (id: number, reason: string | undefined, idempotencyKey: string) =>
  apiJson<ReceptionView>(`/receptions/${id}/cancel`, { method: 'POST', json: reason ? { reason } : {}, idempotencyKey });

export const confirmReception = (id: number, idempotencyKey: string) =>
  apiJson<ReceptionView>(`/receptions/${id}/confirm`, { method: 'POST', json: {}, idempotencyKey });

// ---- doctor ----
// A diagnosis of another department is a 403 (api/breakGlass.ts); `breakGlass`, the doctor's
// reason, sends the request again as an emergency access, allowed and recorded.
export const listDiagnoses = (status: DiagnosisStatus, signal?: AbortSignal) =>
  fetchAllPages<DiagnosisView>('/diagnoses', { status }, signal);

export const getDiagnosis = (id: number, signal?: AbortSignal, breakGlass?: string) =>
  apiJson<DiagnosisView>(`/diagnoses/${id}`, { signal, breakGlass });

export const prescribe = (id: number, body: { examinationType: string; instructions?: string }, idempotencyKey: string, breakGlass?: string) =>
  apiJson<DiagnosisView>(`/diagnoses/${id}/prescriptions`, { method: 'POST', json: body, idempotencyKey, breakGlass });

export const completeDiagnosis = (id: number, opinion: string, idempotencyKey: string, breakGlass?: string) =>
  apiJson<DiagnosisView>(`/diagnoses/${id}/complete`, { method: 'POST', json: { opinion }, idempotencyKey, breakGlass });

export const rejectDiagnosis = (id: number, reason: string, idempotencyKey: string, breakGlass?: string) =>
  apiJson<DiagnosisView>(`/diagnoses/${id}/reject`, { method: 'POST', json: { reason }, idempotencyKey, breakGlass });

/**
 * Calls the patient in (again: a recall) to `room`, the doctor's own, sent when one is set: a
 * recall without one keeps the last call's room. No-show marks a called patient who did not come.
 */
export const callDiagnosis = (id: number, room: string | undefined, idempotencyKey: string, breakGlass?: string) =>
  apiJson<DiagnosisView>(`/diagnoses/${id}/call`, { method: 'POST', json: room ? { room } : {}, idempotencyKey, breakGlass });

export const markDiagnosisNoShow = (id: number, idempotencyKey: string, breakGlass?: string) =>
  apiJson<DiagnosisView>(`/diagnoses/${id}/no-show`, { method: 'POST', json: {}, idempotencyKey, breakGlass });

// ---- examinations ----
export const listRequestedExaminations = (signal?: AbortSignal) =>
  fetchAllPages<ExaminationView>('/examinations', { status: 'REQUESTED' }, signal);

export const performExamination = (id: number, result: string, idempotencyKey: string) =>
  apiJson<ExaminationView>(`/examinations/${id}/perform`, { method: 'POST', json: { result }, idempotencyKey });

export const cancelExamination = (id: number, reason: string | undefined, idempotencyKey: string) =>
  apiJson<ExaminationView>(`/examinations/${id}/cancel`, { method: 'POST', json: reason ? { reason } : {}, idempotencyKey });

export const callExamination = (id: number, room: string | undefined, idempotencyKey: string) =>
  apiJson<ExaminationView>(`/examinations/${id}/call`, { method: 'POST', json: room ? { room } : {}, idempotencyKey });

export const markExaminationNoShow = (id: number, idempotencyKey: string) =>
  apiJson<ExaminationView>(`/examinations/${id}/no-show`, { method: 'POST', json: {}, idempotencyKey });

export function uploadAttachment(examinationId: number, file: File, idempotencyKey: string) {
  const form = new FormData();
  form.append('file', file, file.name);
  return apiJson<AttachmentView>(`/examinations/${examinationId}/attachments`, { method: 'POST', form, idempotencyKey });
}

export const listAttachments = (examinationId: number, signal?: AbortSignal) =>
  apiJson<PageOf<AttachmentView>>(`/examinations/${examinationId}/attachments?page=0&size=${PAGE_SIZE}`, { signal }).then((page) => page.items);

export const downloadAttachment = (examinationId: number, name: string, signal?: AbortSignal) =>
  apiBlob(`/examinations/${examinationId}/attachments/${encodeURIComponent(name)}`, { signal });

// ---- patient management ----
export const listVisits = (signal?: AbortSignal) => fetchAllPages<VisitView>('/patientManagements', {}, signal);

export const getVisit = (receptionId: number, signal?: AbortSignal) =>
  apiJson<VisitView>(`/patientManagements/${receptionId}`, { signal });

export const getTimeline = (receptionId: number, signal?: AbortSignal) =>
  apiJson<VisitTimelineView>(`/patientManagements/${receptionId}/timeline`, { signal });

/** The waits of the stages that began from `from` to `to` (now, if not given), by department and stage and by hour. */
export const getWaitingTimes = (range: { from: string; to?: string | undefined; department?: string | undefined }, signal?: AbortSignal) =>
  apiJson<WaitingTimesView>(`/patientManagements/waiting-times${queryString(range)}`, { signal });

// ---- access log (the privacy officer) ----
/** Rows per page of a patient's access log: a screenful (the API's default page). */
export const ACCESS_LOG_PAGE_SIZE = 20;

// The patient id goes percent-encoded: it is free text of the desk (spaces, slashes, Hangul).
export const getAccessLog = (patientId: string, page: number, signal?: AbortSignal) =>
  apiJson<PageOf<AccessLogEntry>>(`/patients/${encodeURIComponent(patientId)}/access-log${queryString({ page, size: ACCESS_LOG_PAGE_SIZE })}`, { signal });
