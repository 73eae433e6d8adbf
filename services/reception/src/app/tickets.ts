import { createHash, randomBytes } from 'node:crypto';

/**
 * The patient's ticket: the link to their own page of the visit (contracts' queues.ts), printed
 * as a QR code. Its token is 128 random bits, base64url (22 characters), so the link cannot be
 * guessed and is all it takes to open the page. The token stays in this service; the events carry
 * its SHA-256, which the read model keeps and finds the visit by when shown the token.
 */
export type Ticket = { ticket: string; ticketDigest: string };

export function newTicket(): Ticket {
  const ticket = randomBytes(16).toString('base64url');
  return { ticket, ticketDigest: ticketDigestOf(ticket) };
}

/** SHA-256 (hex) of the token as text (UTF-8): what ReceptionCompleted carries as `ticketDigest`. */
export function ticketDigestOf(ticket: string): string {
  return createHash('sha256').update(ticket, 'utf8').digest('hex');
}
