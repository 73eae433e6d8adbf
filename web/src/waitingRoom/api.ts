import { apiJson } from '../api/client.ts';
import type { QueueView, TicketView } from '@medical/contracts/queues';

export type { QueueView, TicketView };
export type CalledPatientView = QueueView['calling'][number];
export type WaitingPatientView = QueueView['waiting'][number];

/** The waiting room's routes (DESIGN.md §9), one typed function each, as api/endpoints.ts has the staff's. */

/** A department's queue as its call screen shows it: numbers and masked names (the display role, or staff). */
export const getQueue = (department: string, signal?: AbortSignal) => apiJson<QueueView>(`/queues/${encodeURIComponent(department)}`, { signal });

/** Its live stream: an event `queue` with the whole queue, on open and after each change. */
export const queueStreamPath = (department: string) => `/queues/${encodeURIComponent(department)}/stream`;

/** A patient's ticket, by the token of its link: public, no session. */
export const getTicket = (token: string, signal?: AbortSignal) => apiJson<TicketView>(`/tickets/${encodeURIComponent(token)}`, { signal });

/** A room as the screen shows and the call speaks it: a bare number is a consultation room's ("3번 진료실"). */
export function isNumberedRoom(room: string): boolean {
  return /^\d+$/.test(room.trim());
}
