import { createHash } from 'node:crypto';
import { ProblemDetails, Ticket, TicketParams, type TicketView } from '@medical/contracts';
import { endOfHospitalDay, HttpProblem, problemTypes, type App, type ServiceContext } from '@medical/platform';
import { findTicket, queueEntriesOfDay, queueEntriesOfVisit } from '../db/queue-entries.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';
import { ticketStanding, ticketView } from '../domain/queue-views.ts';

/** The problem of a link no ticket has: it says nothing of why (a wrong link and a guessed one look alike). */
const unknownTicket = new HttpProblem({ status: 404, title: 'Not Found', type: problemTypes.notFound, detail: 'this link names no ticket; check the link on your ticket' });

/** The problem of a ticket past its use, in words the patient's page shows as they are. */
function gone(detail: string): HttpProblem {
  return new HttpProblem({ status: 410, title: 'Gone', detail });
}

/**
 * `GET /tickets/{token}`: the patient's own ticket, public (no token of staff: the link printed on
 * the ticket is the key, 128 random bits). Only the SHA-256 of the link's token is known here, as
 * the registration carried it. Valid on the visit's hospital day while the visit is open; it
 * shows the number, the masked name, where the patient stands and the room they are called to,
 * nothing else of them, and is never kept by a cache.
 */
export function ticketRoute(app: App, context: ServiceContext<PatientManagementDatabase>): void {
  const db = context.database.db;
  app.get(
    '/tickets/:token',
    {
      schema: {
        tags: ['waiting room'],
        summary: "A patient's ticket, by the link printed on it",
        description:
          'Public: the token of the link is the key. WAITING with how many are ahead and the minutes that may take (from the ' +
          "department's pace today), CALLED with the room, IN_PROGRESS with the doctor or at an examination. 410 once the day is " +
          'over or the visit has ended.',
        params: TicketParams,
        response: { 200: Ticket, 400: ProblemDetails, 404: ProblemDetails, 410: ProblemDetails },
      },
    },
    async (request, reply): Promise<TicketView> => {
      // On every answer, the refusals too: a shared computer's cache must not keep where a patient is.
      reply.header('cache-control', 'no-store');
      const digest = createHash('sha256').update(request.params.token).digest('hex');
      const ticket = await findTicket(db, digest);
      if (!ticket) throw unknownTicket;
      const standing = ticketStanding(await queueEntriesOfVisit(db, ticket.receptionId));
      if (!standing) throw unknownTicket;
      const { day } = standing.entry;
      const validUntil = endOfHospitalDay(day, context.config.timeZone);
      if (Date.now() >= validUntil.getTime()) throw gone(`this ticket was valid on ${day} only`);
      if (ticket.stage === 'CONFIRMED' || ticket.stage === 'CANCELLED') throw gone('this visit has ended; the ticket is no longer needed');
      const queue = standing.status === 'WAITING' ? await queueEntriesOfDay(db, standing.entry.department, day) : [];
      return ticketView(standing, queue, validUntil.toISOString());
    },
  );
}
