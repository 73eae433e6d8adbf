import type { FastifyRequest } from 'fastify';
import { BREAK_GLASS_HEADER, BREAK_GLASS_REASON_MAX } from '@medical/contracts';
import { grantedDepartments, recordBreakGlass, requestOrigin, validationProblem } from '@medical/platform';
import { requesterOf as requesterWith, type Requester } from '../app/access.ts';

/**
 * Who a request to the diagnosis routes is, as the app needs it: its command origin, the
 * departments it may work in (from the role it acts in and the token's departments), the reason of
 * its Break-Glass header, and the route it came by.
 */
export function requesterOf(request: FastifyRequest): Requester {
  return requesterWith({
    origin: requestOrigin(request),
    role: request.actor?.role,
    departments: grantedDepartments(request),
    breakGlassReason: breakGlassReasonOf(request.headers['break-glass']),
    route: request.routeOptions.url ?? '(no route)',
    glassBroken: (reason) => recordBreakGlass(request, reason),
  });
}

/** Decodes strictly: bytes that are not UTF-8 are a bad header, never replaced by U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The reason a Break-Glass header gives, or undefined without the header: the value read as UTF-8
 * (Node hands header bytes over as Latin-1), percent-decoded when it is percent-encoded (a
 * browser's fetch cannot send other than Latin-1, so the console sends encodeURIComponent's
 * form; a `%` that begins no valid escape is kept as written), trimmed. A 400 naming the header
 * unless that is 1 to 500 characters of visible text: a header sent empty, blank, or with control
 * characters, is a mistake to tell the doctor about, not an emergency to let through unexplained.
 */
export function breakGlassReasonOf(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const reason = decoded(Array.isArray(value) ? value.join(', ') : value);
  if (reason === undefined || !isVisibleText(reason)) throw badBreakGlassHeader();
  return reason;
}

function decoded(raw: string): string | undefined {
  let text: string;
  try {
    text = utf8.decode(Buffer.from(raw, 'latin1'));
  } catch {
    return undefined;
  }
  if (/%[0-9A-Fa-f]{2}/.test(text)) {
    try {
      text = decodeURIComponent(text);
    } catch {
      // Not percent-encoding after all ("50%AZ"): the text as written.
    }
  }
  return text.trim();
}

/** 1 to 500 characters (code points), no control character, something to read: a letter, digit, punctuation or symbol. */
function isVisibleText(text: string): boolean {
  const length = Array.from(text).length;
  return length >= 1 && length <= BREAK_GLASS_REASON_MAX && !/\p{Cc}/u.test(text) && /[\p{L}\p{N}\p{P}\p{S}]/u.test(text);
}

function badBreakGlassHeader() {
  return validationProblem(`the ${BREAK_GLASS_HEADER} header is invalid`, [
    {
      field: BREAK_GLASS_HEADER,
      in: 'header',
      message: `must be your reason for opening the diagnosis outside your departments: 1 to ${BREAK_GLASS_REASON_MAX} characters of visible text (UTF-8, or percent-encoded UTF-8)`,
    },
  ]);
}
