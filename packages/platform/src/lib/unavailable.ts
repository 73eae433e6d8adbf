/**
 * Tells an outage of something this service depends on (the database server restarting, a
 * connection dropped) from a fault in the work itself. An outage is answered with 503 and
 * retried later; it must never send an event to the dead-letter topic.
 */
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// PostgreSQL: connection exceptions (08*), operator intervention (57P*), insufficient resources
// (53*), and a transaction still losing to concurrent ones after its retries (40001, 40P01):
// all of them succeed when simply tried again later.
const postgresUnavailable = /^(08|57P|53|40001$|40P01$)/;

export function isUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof e !== 'object') return false;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (networkCodes.has(code) || postgresUnavailable.test(code))) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)) {
      return true;
    }
  }
  return false;
}
