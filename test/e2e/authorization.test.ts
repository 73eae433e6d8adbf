import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { generateKeyPair, importJWK, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';
import { permissions, roles, type Permission, type Role } from '@medical/contracts';
import { freePort, startServiceProcess, type BackendServiceName } from '../../scripts/lib/processes.ts';
import {
  assertProblem,
  authHeaders,
  describeEachProfile,
  ok,
  useTestSystem,
  visitWithPendingExamination,
  type HttpReply,
  type TestSystem,
} from './helpers.ts';

/**
 * Authentication and authorization (issue 8) end to end, on the gateway and on every service
 * behind it (each verifies the token again): every entry of the permission table
 * (packages/contracts/src/permissions.ts) called with no token (401, problem+json, a Bearer
 * challenge), as each role it does not list (403, problem+json) and as each role it lists
 * (neither: the call reaches the route). Tokens that must never pass: signed by another key,
 * expired, for another audience or issuer, and unsigned (`alg: none`). The development identity
 * provider refuses a wrong password, and does not start at all with NODE_ENV=production.
 */

const AUDIENCE = 'medical-visit-workflow';

let running: TestSystem;
/** Ids of one real visit, so most allowed calls find what they ask for. */
let ids: { receptionId: number; patientId: string; diagnosisId: number; examinationId: number; attachment: string };

const serviceOf = (pathname: string): BackendServiceName => {
  const first = pathname.split('/')[1]!;
  if (first === 'receptions') return 'reception';
  if (first === 'diagnoses') return 'diagnosis';
  if (first === 'examinations') return 'examination';
  // The registry is the reception's; a patient's access log is patient-management's.
  if (first === 'patients') return pathname.endsWith('/access-log') ? 'patient-management' : 'reception';
  // The read model's: the visits, and the waiting rooms' queues.
  if (first === 'patientManagements' || first === 'queues') return 'patient-management';
  // FHIR, for the hospital's other systems.
  if (first === 'fhir') return 'interop';
  throw new Error(`no service for ${pathname}`);
};

/** The entry's route with the visit's ids in it (`*` is two segments: a name with a path in it). */
function concretePath(permission: Permission): string {
  const idFor = permission.path.startsWith('/receptions') ? ids.receptionId : permission.path.startsWith('/diagnoses') ? ids.diagnosisId : ids.examinationId;
  return permission.path
    .replace(':receptionId', String(ids.receptionId))
    .replace(':patientId', ids.patientId)
    .replace(':id', String(idFor))
    .replace(':name', ids.attachment)
    .replace(':department', 'internal-medicine')
    .replace('*', 'a/b');
}

/**
 * A refusal as its route answers one: problem+json, or, under /fhir/, FHIR's OperationOutcome of
 * the same status (a FHIR client reads errors one way only).
 */
function assertRefusal(reply: HttpReply, status: number, context: string): void {
  if (!/\/fhir\//.test(reply.request)) return assertProblem(reply, status, { context });
  assert.equal(reply.status, status, `${context}: ${reply.text.slice(0, 300)}`);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/fhir\+json/, `${context}: an OperationOutcome`);
  assert.equal((JSON.parse(reply.text) as { resourceType?: string }).resourceType, 'OperationOutcome', context);
}

/** A body the route accepts (for a POST): the allowed calls mostly succeed. */
function bodyFor(permission: Permission): string | undefined {
  if (permission.method !== 'POST') return undefined;
  const bodies: Record<string, unknown> = {
    '/receptions': { patientId: ids.patientId, symptom: 'authorization matrix' },
    '/patients': { name: 'Authorization Patient', birthDate: '1980-01-01', sex: 'unknown', notADuplicate: true },
    // A patient that does not exist: the allowed call reaches the route and is refused there (400), merging nothing.
    '/patients/:patientId/merge': { mergedPatientId: 'AUTHZ-NOBODY' },
    '/receptions/:id/cancel': { reason: 'authorization matrix' },
    '/diagnoses/:id/prescriptions': { examinationType: 'CHEST_XRAY' },
    '/diagnoses/:id/complete': { opinion: 'fine' },
    '/diagnoses/:id/reject': { reason: 'authorization matrix' },
    '/examinations/:id/perform': { result: 'normal' },
  };
  return JSON.stringify(bodies[permission.path] ?? {});
}

/**
 * One request, as the e2e Client answers, without waiting for the end of an event stream (the
 * live stream of patient-management never ends: its status and headers are the answer).
 */
async function call(baseUrl: string, method: string, pathname: string, headers: Record<string, string>, body?: string): Promise<HttpReply> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 15_000);
  try {
    const response = await fetch(`${baseUrl}${pathname}`, {
      method,
      headers: { accept: 'application/json, application/problem+json, text/event-stream', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body } : {}),
      signal: controller.signal,
    });
    const contentType = response.headers.get('content-type') ?? '';
    let text = '';
    if (/event-stream/.test(contentType)) controller.abort();
    else text = await response.text();
    let parsed: unknown = text;
    if (/json/.test(contentType) && text !== '') parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed, text, request: `${method} ${baseUrl}${pathname}` };
  } finally {
    clearTimeout(timer);
  }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The gateway's issuer (OIDC_ISSUER of every process of the test system). */
const issuerOf = (system: TestSystem) => `${system.system.gatewayUrl}/auth`;

type Claims = { iss?: string; aud?: string; sub?: string; roles?: string[]; iat?: number; exp?: number; nbf?: number };

function claimsFor(system: TestSystem, overrides: Claims = {}): Required<Claims> & { name: string; preferred_username: string } {
  const now = Math.floor(Date.now() / 1000);
  return { iss: issuerOf(system), aud: AUDIENCE, sub: 'dev:admin', roles: ['admin'], iat: now, nbf: now - 5, exp: now + 600, name: 'Demo Administrator', preferred_username: 'admin', ...overrides };
}

/** The development identity provider's own signing key (kept in DATA_DIR/auth) and its kid. */
async function realKey(system: TestSystem): Promise<{ key: CryptoKey | Uint8Array; kid: string }> {
  const file = path.join(system.dataDir, 'auth', 'dev-signing-key.json');
  const jwk = JSON.parse(fs.readFileSync(file, 'utf8')) as JWK;
  const jwks = (await (await fetch(`${issuerOf(system)}/jwks`)).json()) as { keys: Array<JWK & { kid: string }> };
  const kid = jwks.keys.find((k) => k.x === jwk.x && k.y === jwk.y)?.kid ?? jwks.keys[0]!.kid;
  return { key: await importJWK(jwk, 'ES256'), kid };
}

async function sign(claims: Record<string, unknown>, key: CryptoKey | Uint8Array, kid: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(key);
}

describeEachProfile((profile) => {
  useTestSystem('authorization', profile, async (system) => {
    running = system;
    const { client } = system;
    const { reception, diagnosis, examination } = await visitWithPendingExamination(client, 'CT_HEAD');
    const uploadPath = `/examinations/${examination.id}/attachments`;
    const form = new FormData();
    form.append('file', new Blob([new TextEncoder().encode('%PDF-1.7\n% authorization\n%%EOF\n')], { type: 'application/pdf' }), 'report.pdf');
    const uploaded = await fetch(`${system.system.gatewayUrl}${uploadPath}`, { method: 'POST', body: form, headers: await authHeaders('POST', uploadPath) });
    const attachment = (await uploaded.json()) as { name?: string };
    assert.equal(uploaded.status, 201, `upload an attachment: ${JSON.stringify(attachment)}`);
    ids = { receptionId: reception.id, patientId: reception.patientId, diagnosisId: diagnosis.id, examinationId: examination.id, attachment: attachment.name! };
  });

  for (const where of ['gateway', 'service'] as const) {
    test(`every route of the permission table, ${where === 'gateway' ? 'through the gateway' : 'straight at its service'}: no token 401, a role not listed 403, a listed role passes`, async () => {
      const failures: string[] = [];
      for (const permission of permissions) {
        const pathname = concretePath(permission);
        const baseUrl = where === 'gateway' ? running.system.gatewayUrl : running.system.services[serviceOf(permission.path)].url;
        const context = `${permission.method} ${permission.path} (${pathname})`;

        const anonymous = await call(baseUrl, permission.method, pathname, {}, bodyFor(permission));
        try {
          assertRefusal(anonymous, 401, `${context} without a token`);
          assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer\b/, `${context} without a token: a Bearer challenge in WWW-Authenticate`);
        } catch (error) {
          failures.push((error as Error).message);
        }

        for (const role of roles) {
          const token = await running.tokens.tokenFor(role);
          assert.ok(token, `a token for ${role} from the development identity provider`);
          const reply = await call(baseUrl, permission.method, pathname, bearer(token), bodyFor(permission));
          try {
            if (permission.roles.includes(role)) {
              assert.ok(reply.status !== 401 && reply.status !== 403, `${context} as ${role} (allowed): got ${reply.status} ${reply.text.slice(0, 300)}`);
              assert.ok(reply.status < 500, `${context} as ${role}: no server error, got ${reply.status} ${reply.text.slice(0, 300)}`);
            } else {
              assertRefusal(reply, 403, `${context} as ${role} (not allowed)`);
            }
          } catch (error) {
            failures.push((error as Error).message);
          }
        }
      }
      assert.deepEqual(failures, [], `${failures.length} refusal(s) or admission(s) wrong:\n${failures.join('\n')}`);
    });
  }

  test('the allowed calls of the real visit succeed for the specific role (a sample: 2xx)', async () => {
    const gateway = running.system.gatewayUrl;
    const checks: Array<[Role, string]> = [
      ['receptionist', `/receptions/${ids.receptionId}`],
      ['receptionist', `/patients/${ids.patientId}`],
      ['doctor', `/diagnoses/${ids.diagnosisId}`],
      ['doctor', `/examinations/${ids.examinationId}/attachments/${ids.attachment}`],
      ['examiner', `/examinations/${ids.examinationId}`],
      ['manager', `/patientManagements/${ids.receptionId}/timeline`],
      ['admin', `/patientManagements/${ids.receptionId}`],
    ];
    for (const [role, pathname] of checks) {
      const reply = await call(gateway, 'GET', pathname, bearer((await running.tokens.tokenFor(role))!));
      assert.equal(reply.status, 200, `GET ${pathname} as ${role}: ${reply.text.slice(0, 300)}`);
    }
  });

  test('forged, expired, wrong-audience, wrong-issuer and unsigned tokens: 401 at the gateway and at each service', async () => {
    const { key, kid } = await realKey(running);
    const other = await generateKeyPair('ES256');
    const past = Math.floor(Date.now() / 1000) - 7200;
    const genuine = await sign(claimsFor(running), key, kid);
    const tokens: Record<string, string> = {
      'signed by another key (the real kid)': await sign(claimsFor(running), other.privateKey, kid),
      'signed by another key (an unknown kid)': await sign(claimsFor(running), other.privateKey, 'not-a-known-key'),
      expired: await sign(claimsFor(running, { iat: past, nbf: past, exp: past + 900 }), key, kid),
      'for another audience': await sign(claimsFor(running, { aud: 'some-other-api' }), key, kid),
      'from another issuer': await sign(claimsFor(running, { iss: 'http://127.0.0.1:9/auth' }), key, kid),
      'alg none (unsigned)': new UnsecuredJWT(claimsFor(running)).encode(),
      'alg none with the signature of a real token': `${new UnsecuredJWT(claimsFor(running)).encode()}${genuine.split('.')[2]}`,
      'not a JWT': 'not-a-token',
    };
    const targets: Array<[string, string, string]> = [
      ['gateway', running.system.gatewayUrl, '/receptions'],
      ['reception', running.system.services.reception.url, '/receptions'],
      ['diagnosis', running.system.services.diagnosis.url, '/diagnoses'],
      ['examination', running.system.services.examination.url, '/examinations'],
      ['patient-management', running.system.services['patient-management'].url, '/patientManagements'],
    ];
    const failures: string[] = [];
    for (const [name, baseUrl, pathname] of targets) {
      // The harness signs right: its genuine token (the real key, the right claims) passes.
      const control = await call(baseUrl, 'GET', pathname, bearer(genuine));
      assert.equal(control.status, 200, `${name}: a token the harness signs with the real key passes: ${control.text.slice(0, 300)}`);
      for (const [what, token] of Object.entries(tokens)) {
        const reply = await call(baseUrl, 'GET', pathname, bearer(token));
        try {
          assertProblem(reply, 401, { context: `${name}: a token ${what}` });
          assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer\b/, `${name}: a token ${what}: a Bearer challenge`);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
      for (const [what, header] of [['a Basic authorization', 'Basic YWRtaW46ZGVtbw=='], ['an empty bearer', 'Bearer ']] as const) {
        const reply = await call(baseUrl, 'GET', pathname, { authorization: header });
        if (reply.status !== 401) failures.push(`${name}: ${what} → expected 401, got ${reply.status} ${reply.text.slice(0, 200)}`);
      }
    }
    assert.deepEqual(failures, [], failures.join('\n'));
  });

  test('POST /auth/token: a wrong password or an unknown user is 401; the right one a Bearer token for the role', async () => {
    const gateway = running.system.gatewayUrl;
    const login = (username: string, password: string) => call(gateway, 'POST', '/auth/token', {}, JSON.stringify({ username, password }));
    const wrong = await login('admin', 'not-the-password');
    assert.equal(wrong.status, 401, wrong.text);
    assert.match(wrong.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal((await login('nobody', 'demo')).status, 401);
    const right = await login('doctor', 'demo');
    const body = ok(right) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(body.token_type, 'Bearer');
    assert.ok(body.expires_in > 0);
    const payload = JSON.parse(Buffer.from(body.access_token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.equal(payload.sub, 'dev:doctor');
    assert.equal(payload.iss, issuerOf(running));
    assert.equal(payload.aud, AUDIENCE);
    // A doctor's token reads diagnoses and is refused the receptions.
    assert.equal((await call(gateway, 'GET', '/diagnoses', bearer(body.access_token))).status, 200);
    assertProblem(await call(gateway, 'GET', '/receptions', bearer(body.access_token)), 403);
  });

  test('the public routes need no token', async () => {
    for (const pathname of ['/healthz', '/readyz', '/metrics', '/openapi/reception.json']) {
      const reply = await call(running.system.gatewayUrl, 'GET', pathname, {});
      assert.equal(reply.status, 200, `GET ${pathname} without a token: ${reply.text.slice(0, 200)}`);
    }
    for (const service of ['reception', 'diagnosis', 'examination', 'patient-management'] as const) {
      for (const pathname of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
        const reply = await call(running.system.services[service].url, 'GET', pathname, {});
        assert.equal(reply.status, 200, `${service} GET ${pathname} without a token: ${reply.text.slice(0, 200)}`);
      }
    }
  });
});

test('the development identity provider does not start with NODE_ENV=production: the gateway exits non-zero naming AUTH_MODE', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-auth-production-'));
  try {
    const gateway = startServiceProcess({
      name: 'gateway',
      port: await freePort(),
      output: 'capture',
      env: {
        NODE_ENV: 'production',
        AUTH_MODE: 'dev',
        OIDC_ISSUER: '',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        RECEPTION_URL: 'http://127.0.0.1:9',
        DIAGNOSIS_URL: 'http://127.0.0.1:9',
        EXAMINATION_URL: 'http://127.0.0.1:9',
        PATIENT_MANAGEMENT_URL: 'http://127.0.0.1:9',
      },
    });
    const exit = await Promise.race([gateway.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20_000))]);
    if (!exit) {
      await gateway.kill();
      assert.fail(`the gateway kept running with NODE_ENV=production and AUTH_MODE=dev:\n${gateway.output()}`);
    }
    assert.notEqual(exit.code, 0, `exit ${JSON.stringify(exit)}`);
    assert.match(gateway.output(), /AUTH_MODE/, 'the error names AUTH_MODE');
    assert.ok(!fs.existsSync(path.join(dataDir, 'auth', 'dev-signing-key.json')), 'no demo signing key was made');
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the rate limit (RATE_LIMIT_PER_MINUTE, per verified subject) and the sign-in limit (per address): 429 problem+json with Retry-After', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-auth-rate-limit-'));
  const port = await freePort();
  // The gateway alone (its backends are nowhere: an admitted call is a 502 or 503, never a 429).
  const gateway = startServiceProcess({
    name: 'gateway',
    port,
    output: 'capture',
    env: {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      AUTH_MODE: 'dev',
      NODE_ENV: '',
      OIDC_ISSUER: `http://127.0.0.1:${port}/auth`,
      RATE_LIMIT_PER_MINUTE: '3',
      AUTH_TOKEN_RATE_LIMIT_PER_MINUTE: '2',
      RECEPTION_URL: 'http://127.0.0.1:9',
      DIAGNOSIS_URL: 'http://127.0.0.1:9',
      EXAMINATION_URL: 'http://127.0.0.1:9',
      PATIENT_MANAGEMENT_URL: 'http://127.0.0.1:9',
    },
  });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answer = await fetch(`${gateway.url}/healthz`).then((r) => r.status, () => 0);
      if (answer === 200) break;
      if (gateway.exitInfo() || Date.now() > deadline) assert.fail(`the gateway did not start:\n${gateway.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const login = (username: string) => call(gateway.url, 'POST', '/auth/token', {}, JSON.stringify({ username, password: 'demo' }));
    const admin = ok(await login('admin')) as { access_token: string };
    const doctor = ok(await login('doctor')) as { access_token: string };
    assertProblem(await login('manager'), 429, { context: 'a third sign-in in a minute from one address' });

    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(gateway.url, 'GET', '/receptions', bearer(admin.access_token))).status);
    assert.ok(statuses.every((s) => s !== 429), `the first 3 calls are admitted: ${statuses.join(', ')}`);
    const limited = await call(gateway.url, 'GET', '/receptions', bearer(admin.access_token));
    assertProblem(limited, 429, { context: 'the 4th call of the admin in a minute' });
    assert.ok(Number(limited.headers.get('retry-after')) > 0, `Retry-After: ${limited.headers.get('retry-after')}`);
    // Counted per subject: the doctor still has calls left; the public routes are never limited.
    assert.notEqual((await call(gateway.url, 'GET', '/diagnoses', bearer(doctor.access_token))).status, 429);
    for (let i = 0; i < 5; i++) assert.equal((await call(gateway.url, 'GET', '/healthz', {})).status, 200);
  } finally {
    await gateway.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
