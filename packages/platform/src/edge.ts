/**
 * The kit of a process at the edge, which serves HTTP but holds no database and consumes no
 * events (the gateway; it only sends the access records of the refusals it answers): configuration, the HTTP app and its problem details, authentication, telemetry and
 * shutdown. `.` (index.ts) is this and the rest of the service kit; an edge process imports this
 * entry so that it does not load the database layer and the service runtime (some 8 MB of the
 * gateway's idle resident set).
 */

// Configuration.
export { loadConfig, type ServiceConfig } from './service/config.ts';
export { ConfigError, readInteger, readString, readUrl } from './lib/env.ts';
export { DEFAULT_TIME_ZONE, endOfHospitalDay, hospitalDayOf, hospitalHourOf, readTimeZone, startOfHospitalDay } from './lib/hospital-day.ts';
export { installShutdown } from './service/shutdown.ts';

// HTTP: the app, problem details, validation.
export { BODY_LIMIT_BYTES, createApp, sendProblem, type App, type AppOptions } from './http/app.ts';
export { closeServer } from './http/close-server.ts';
export { HttpProblem, conflict, notFound, problemTypes, validationProblem, type FieldError } from './http/problem.ts';
export { validatorCompiler } from './http/validators.ts';

// Authentication.
export { DEV_ISSUER_PATH, loadAuthConfig, type AuthConfig } from './auth/auth-config.ts';
export { fhirOutcomes } from './http/fhir-outcomes.ts';
export { PUBLIC_ROUTES, authProblemTypes, authentication } from './auth/authentication.ts';
export { grantedDepartments, grantedRoles, grantedScopes } from './auth/request-actor.ts';
export { createOidcVerifier } from './auth/oidc-verifier.ts';

// Telemetry: metrics, traces, log lines.
export { createMetrics, type ServiceMetrics } from './telemetry/metrics.ts';
export { createTracing, traceparentOf, tracingOff, type Tracing } from './telemetry/tracing.ts';
export type { TracingConfig } from './telemetry/tracing-config.ts';
export { requestTraceContext } from './telemetry/http-tracing.ts';
export { loggerOptions, type LogLevel } from './telemetry/log-fields.ts';

// The access log of the refusals the edge answers itself, over the event transport.
export { refusalLogging } from './access/refusal-logging.ts';
export type { TransportConfig } from './transport/transport-config.ts';

// The hospital's reference data: the departments.
export { loadCatalog, parseCatalog, type Catalog, type LiveCatalog } from './reference/catalog.ts';
export { watchCatalog } from './reference/catalog-watch.ts';
export { departmentInCatalog, examinationInCatalog } from './reference/catalog-checks.ts';
export { examinationTypeCode, visitDepartmentCode } from './reference/event-codes.ts';
