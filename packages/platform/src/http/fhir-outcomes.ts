import fp from 'fastify-plugin';
import { operationOutcomeOfProblem } from '@medical/contracts';

/**
 * The API's problem+json answers under `prefix` (/fhir/) given as FHIR's OperationOutcome of the
 * same status, whoever sent them: the gateway's refusals (no token, a service down), the
 * service's (a bad query, an unknown route). A FHIR client reads each error the one way it knows.
 */
export const fhirOutcomes = fp<{ prefix: string }>(
  async (app, { prefix }) => {
    app.addHook('onSend', async (request, reply, payload) => {
      if (!request.url.startsWith(prefix) || typeof payload !== 'string') return payload;
      if (!String(reply.getHeader('content-type') ?? '').startsWith('application/problem+json')) return payload;
      let problem: Parameters<typeof operationOutcomeOfProblem>[1] = {};
      try {
        problem = JSON.parse(payload) as typeof problem;
      } catch {
        // not JSON after all: the status alone says what happened
      }
      reply.type('application/fhir+json; charset=utf-8');
      reply.removeHeader('content-length');
      return JSON.stringify(operationOutcomeOfProblem(reply.statusCode, problem));
    });
  },
  { name: 'fhir-outcomes' },
);
