import { createHash, randomBytes } from 'node:crypto';
import { createClientCredentialsTokenSource, type ServiceContext, type TokenSource } from '@medical/platform';
import { acknowledgement, readResult, type AckProblem, type InboundResult } from '../hl7/index.ts';
import { findTasks } from '../db/fhir-reads.ts';
import type { InteropDatabase } from '../db/schema.ts';
import type { Hl7Config } from '../config.ts';

type Context = ServiceContext<InteropDatabase>;
type Inbound = NonNullable<Hl7Config['inbound']>;

/** How long the examination service may take to perform a result before the laboratory is told to send it again. */
const PERFORM_TIMEOUT_MS = 10_000;

type Applied = { code: 'AA' } | { code: 'AE'; problem: AckProblem };

/**
 * A laboratory's or radiology's ORU^R01 applied: the examination it names (OBR-3) performed with
 * its result, on the examination service (the owner of examinations: this service changes none
 * itself), as this service's own OAuth client. The message's control id, from its sender, is the
 * command's Idempotency-Key, so a message sent again because its ACK was lost performs nothing twice
 * and is acknowledged AA again. Every answer is an ACK: AR for what is not a result at all, AE for
 * a result that cannot be applied (an unknown examination, another patient's, one already
 * performed or cancelled), each with its reason, and nothing changed.
 */
export function resultHandler(context: Context, parties: Hl7Config['parties'], inbound: Inbound, tokens: TokenSource = tokenSourceOf(inbound)) {
  return async (text: string): Promise<string> => {
    const ack = (code: 'AA' | 'AE' | 'AR', problem?: AckProblem) =>
      acknowledgement(text, code, problem, { sender: parties, controlId: randomBytes(10).toString('hex'), timestamp: new Date().toISOString() });
    const read = readResult(text, { timeZone: context.config.timeZone });
    if (!read.ok) return ack(read.code, { reason: read.reason, error: read.error, ...(read.location ? { location: read.location } : {}) });
    const applied = await apply(context, inbound, tokens, read.result);
    context.logger.info({ examinationId: read.result.examinationId, ack: applied.code }, 'a laboratory result was received over HL7');
    return applied.code === 'AA' ? ack('AA') : ack('AE', applied.problem);
  };
}

function tokenSourceOf(inbound: Inbound): TokenSource {
  return createClientCredentialsTokenSource({ issuer: inbound.issuer, clientId: inbound.client.clientId, clientSecret: inbound.client.clientSecret, ...(inbound.scope ? { scope: inbound.scope } : {}) });
}

async function apply(context: Context, inbound: Inbound, tokens: TokenSource, result: InboundResult): Promise<Applied> {
  const [task] = await findTasks(context.database.db, [result.examinationId]);
  // The projection may not have the examination yet; the examination service knows, and says.
  if (task !== undefined && result.patientId !== undefined && task.patientId !== result.patientId) {
    return { code: 'AE', problem: { reason: `PID-3 names patient ${result.patientId}, but examination ${result.examinationId} is another patient's`, error: '204', location: { segment: 'PID', field: 3 } } };
  }
  if (task !== undefined && result.prescriptionId !== undefined && task.prescriptionId !== result.prescriptionId) {
    return { code: 'AE', problem: { reason: `OBR-2 names order ${result.prescriptionId}, but examination ${result.examinationId} was ordered as ${task.prescriptionId}`, error: '204', location: { segment: 'OBR', field: 2 } } };
  }
  try {
    let response = await perform(inbound, await tokens.token(), result);
    if (response.status === 401) {
      tokens.invalidate();
      response = await perform(inbound, await tokens.token(), result);
    }
    return outcomeOf(response.status, await response.text(), result.examinationId);
  } catch (error) {
    context.logger.warn({ err: error, examinationId: result.examinationId }, 'a laboratory result could not be performed now');
    return { code: 'AE', problem: { reason: 'the examination service could not be reached; send the message again', error: '206' } };
  }
}

function perform(inbound: Inbound, token: string, result: InboundResult): Promise<Response> {
  const key = createHash('sha256').update(`hl7:${result.controlId}:${result.examinationId}`).digest('hex');
  return fetch(`${inbound.examinationUrl}/examinations/${result.examinationId}/perform`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `hl7-${key}` },
    body: JSON.stringify({ result: result.result }),
    signal: AbortSignal.timeout(PERFORM_TIMEOUT_MS),
  });
}

function outcomeOf(status: number, body: string, examinationId: number): Applied {
  if (status >= 200 && status < 300) return { code: 'AA' };
  let detail = `the examination service answered ${status}`;
  try {
    const problem = JSON.parse(body) as { detail?: string; errors?: { field?: string; message?: string }[] };
    const field = problem.errors?.[0];
    detail = field ? `${field.field ?? ''} ${field.message ?? ''}`.trim() : (problem.detail ?? detail);
  } catch {
    // not problem+json: the status says it
  }
  if (status === 404) return { code: 'AE', problem: { reason: `OBR-3: examination ${examinationId} is not known`, error: '204', location: { segment: 'OBR', field: 3 } } };
  if (status === 409) return { code: 'AE', problem: { reason: `examination ${examinationId} cannot take a result: ${detail}`, error: '207' } };
  if (status >= 500 || status === 429) return { code: 'AE', problem: { reason: `the examination service is unavailable (${status}); send the message again`, error: '206' } };
  return { code: 'AE', problem: { reason: detail, error: '207' } };
}
