import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { ProblemDetails } from '@medical/contracts';
import { matchesRoutePattern } from './route-patterns.ts';

type OpenApiResponse = { description?: string; content?: Record<string, unknown> };
type OpenApiOperation = { responses?: Record<string, OpenApiResponse>; security?: Array<Record<string, string[]>> };
type OpenApiDocument = {
  paths?: Record<string, Record<string, OpenApiOperation>>;
  components?: { securitySchemes?: Record<string, unknown>; [other: string]: unknown };
};

/** The name of the bearer scheme in the API documents. */
export const BEARER_SCHEME = 'bearerAuth';

/**
 * The bearer scheme, required by every operation that is not public, with the answers the
 * authentication hook gives before the handler runs: documented, so a client generator knows
 * to send a token and a contract test (schemathesis) finds every status it can meet.
 */
function documentBearerAuthentication(document: OpenApiDocument, publicRoutes: readonly string[]): OpenApiDocument {
  document.components ??= {};
  document.components.securitySchemes = {
    ...document.components.securitySchemes,
    [BEARER_SCHEME]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'An access token from the OpenID Connect provider (in development, POST /auth/token on the gateway).',
    },
  };
  const problem = JSON.parse(JSON.stringify(ProblemDetails)) as unknown;
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    if (matchesRoutePattern(path, publicRoutes)) continue;
    for (const operation of Object.values(operations)) {
      if (!operation || typeof operation !== 'object') continue;
      operation.security = [{ [BEARER_SCHEME]: [] }];
      operation.responses ??= {};
      operation.responses['401'] ??= { description: 'No bearer token, or one that does not verify', content: { 'application/json': { schema: problem } } };
      operation.responses['403'] ??= { description: "None of the token's roles may call this operation", content: { 'application/json': { schema: problem } } };
    }
  }
  return document;
}

/**
 * Every error answer is an RFC 9457 `application/problem+json` document (sendProblem); the
 * generated document would list the routes' 4xx and 5xx schemas under `application/json`.
 */
function documentProblems(document: OpenApiDocument): OpenApiDocument {
  for (const operations of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      for (const [status, response] of Object.entries(operation?.responses ?? {})) {
        const { 'application/json': schema, ...others } = response?.content ?? {};
        if (/^[45]/.test(status) && schema !== undefined) response.content = { 'application/problem+json': schema, ...others };
      }
    }
  }
  return document;
}

export type ApiDocumentOptions = {
  title: string;
  description: string;
  /**
   * Set when the app authenticates its routes: the document then names the bearer scheme, and
   * every operation outside `publicRoutes` requires it and lists its 401 and 403 answers.
   */
  bearerAuthentication?: { publicRoutes: readonly string[] };
};

/**
 * The OpenAPI 3.1 document generated from the routes' schemas, at /openapi.json, and its viewer
 * at /docs. Registered before the routes: the document lists those registered after it.
 */
export const apiDocument = fp<ApiDocumentOptions>(
  async (app, options) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: options.title, description: options.description, version: '0.1.0' },
      },
      transformObject: (documents) => {
        const document = (documents as { openapiObject: OpenApiDocument }).openapiObject;
        const authenticated = options.bearerAuthentication ? documentBearerAuthentication(document, options.bearerAuthentication.publicRoutes) : document;
        return documentProblems(authenticated);
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'api-document' },
);
