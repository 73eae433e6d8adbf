import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RouteOptions } from 'fastify';
import { permissionFor, permissions, publicApiRoutes, roles, rolesFor, type Role } from '@medical/contracts';
import { startService, type ServiceDefinition } from '../src/service/service.ts';
import { diagnosisService } from '../../../services/diagnosis/src/service.ts';
import { examinationService } from '../../../services/examination/src/service.ts';
import { interopService } from '../../../services/interop/src/service.ts';
import { patientManagementService } from '../../../services/patient-management/src/service.ts';
import { receptionService } from '../../../services/reception/src/service.ts';
import { tempDir } from './helpers.ts';

/**
 * The role list of issue 8, written out independently of the table: each route with the roles
 * other than admin that may call it. The matrix test below compares every route × every role.
 */
const expected: Record<string, Role[]> = {
  'POST /receptions': ['receptionist'],
  'GET /receptions': ['receptionist'],
  'GET /receptions/:id': ['receptionist'],
  'POST /receptions/:id/cancel': ['receptionist'],
  'POST /receptions/:id/confirm': ['receptionist'],
  // The desk's patient registry; merging two records is the medical records office's (admin only).
  'POST /patients': ['receptionist'],
  'GET /patients': ['receptionist'],
  'GET /patients/:patientId': ['receptionist'],
  'PATCH /patients/:patientId': ['receptionist'],
  'POST /patients/:patientId/merge': [],
  'GET /diagnoses': ['doctor'],
  'GET /diagnoses/:id': ['doctor'],
  'POST /diagnoses/:id/prescriptions': ['doctor'],
  'POST /diagnoses/:id/complete': ['doctor'],
  'POST /diagnoses/:id/reject': ['doctor'],
  // The waiting room: the doctor calls the patient in, the examiners theirs.
  'POST /diagnoses/:id/call': ['doctor'],
  'POST /diagnoses/:id/no-show': ['doctor'],
  'POST /examinations/:id/call': ['examiner'],
  'POST /examinations/:id/no-show': ['examiner'],
  'GET /examinations': ['examiner', 'doctor'],
  'GET /examinations/:id': ['examiner', 'doctor'],
  // A laboratory's result, sent over HL7 to the interop service, is performed as that system (integration).
  'POST /examinations/:id/perform': ['examiner', 'integration'],
  'POST /examinations/:id/cancel': ['examiner'],
  'POST /examinations/:id/attachments': ['examiner'],
  // The doctor reads the reports and images: they are the results the diagnosis is judged on.
  'GET /examinations/:id/attachments': ['examiner', 'doctor'],
  'GET /examinations/:id/attachments/:name': ['examiner', 'doctor'],
  'GET /examinations/:id/attachments/*': ['examiner', 'doctor'],
  'GET /patientManagements': ['manager'],
  // Every staff screen refreshes from it; it carries no patient data.
  'GET /patientManagements/stream': ['receptionist', 'doctor', 'examiner', 'manager'],
  'GET /patientManagements/waiting-times': ['manager'],
  'GET /patientManagements/:receptionId': ['manager'],
  'GET /patientManagements/:receptionId/timeline': ['manager'],
  // The privacy officer reads who saw a patient's records, and nothing clinical.
  'GET /patients/:patientId/access-log': ['auditor'],
  // A waiting room's call screen (display) reads its queue, and nothing else; so may all staff.
  'GET /queues/:department': ['display', 'receptionist', 'doctor', 'examiner', 'manager', 'auditor'],
  'GET /queues/:department/stream': ['display', 'receptionist', 'doctor', 'examiner', 'manager', 'auditor'],
  // FHIR R4 is for the hospital's other systems (their scopes then say which resources); staff use the console.
  ...Object.fromEntries(
    [
      ...['Patient', 'Encounter', 'ServiceRequest', 'Task', 'DiagnosticReport', 'Observation', 'Subscription'].map((type) => `GET /fhir/R4/${type}/:id`),
      ...['Encounter', 'ServiceRequest', 'Task', 'DiagnosticReport', 'Subscription'].map((type) => `GET /fhir/R4/${type}`),
      'POST /fhir/R4/Subscription',
      'DELETE /fhir/R4/Subscription/:id',
    ].map((route) => [route, ['integration'] as Role[]]),
  ),
};

/** A concrete path for a route pattern: what a client would send. */
function concrete(pattern: string): string {
  return pattern.replace(/:id\b/g, '12').replace(':department', 'surgery').replace(':receptionId', '7').replace(':patientId', 'P-1').replace(':name', '0123456789abcdef0123456789abcdef.pdf').replace(/\*$/, 'a/b.pdf');
}

describe('permission table', () => {
  test('lists exactly the routes of the role list, each with admin', () => {
    assert.deepEqual(permissions.map((p) => `${p.method} ${p.path}`).sort(), Object.keys(expected).sort());
    for (const p of permissions) assert.ok(p.roles.includes('admin'), `${p.method} ${p.path} must allow admin`);
  });

  test('matrix: every route × every role is allowed exactly as the role list says', () => {
    const mismatches: string[] = [];
    for (const [route, allowed] of Object.entries(expected)) {
      const [method, pattern] = route.split(' ') as [string, string];
      const granted = rolesFor(method, concrete(pattern));
      assert.ok(granted, `${method} ${concrete(pattern)} is not in the table`);
      for (const role of roles) {
        const shouldAllow = role === 'admin' || allowed.includes(role);
        if (granted.includes(role) !== shouldAllow) mismatches.push(`${role} on ${route}: ${shouldAllow ? 'should be allowed' : 'should be refused'}`);
      }
    }
    assert.deepEqual(mismatches, []);
  });

  test('matches concrete paths: query strings, trailing slashes, HEAD, percent-encoding', () => {
    assert.equal(permissionFor('POST', '/receptions/12/cancel')?.path, '/receptions/:id/cancel');
    assert.equal(permissionFor('POST', '/receptions/12/cancel/')?.path, '/receptions/:id/cancel');
    assert.equal(permissionFor('GET', '/receptions?status=RECEIVED&page=0')?.path, '/receptions');
    assert.equal(permissionFor('GET', '/receptions/?page=1')?.path, '/receptions');
    assert.equal(permissionFor('HEAD', '/diagnoses/3')?.path, '/diagnoses/:id');
    assert.equal(permissionFor('get', '/diagnoses/3')?.path, '/diagnoses/:id');
    assert.equal(permissionFor('GET', '/%72eceptions/1')?.path, '/receptions/:id');
    // Literal segments win over parameters, as in Fastify's router.
    assert.equal(permissionFor('GET', '/patientManagements/stream')?.path, '/patientManagements/stream');
    assert.equal(permissionFor('GET', '/patientManagements/7')?.path, '/patientManagements/:receptionId');
    assert.equal(permissionFor('GET', '/examinations/1/attachments/x.pdf')?.path, '/examinations/:id/attachments/:name');
    assert.equal(permissionFor('GET', '/examinations/1/attachments/../../x')?.path, '/examinations/:id/attachments/*');
  });

  test('is undefined outside the API: unknown paths, methods, empty segments, bad encoding', () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/healthz'],
      ['GET', '/receptionsX'],
      ['DELETE', '/receptions/1'],
      ['PUT', '/receptions/1/cancel'],
      ['GET', '/receptions/1/cancel'],
      ['OPTIONS', '/receptions'],
      ['POST', '/receptions//cancel'],
      ['GET', '/receptions/1/2'],
      ['POST', '/examinations/1/attachments/x'],
      ['GET', '/receptions/%E0%A4%A'],
      ['GET', 'receptions'],
    ] as const) {
      assert.equal(rolesFor(method, path), undefined, `${method} ${path}`);
    }
  });
});

/**
 * Every route each service registers, collected by an onRoute hook installed just before the
 * service's own routes: the service is started for real (startService, port 0, a temporary
 * DATA_DIR), so whatever its registration does, the list is what it serves.
 */
async function serviceRoutes(definition: ServiceDefinition<any>, dataDir: string): Promise<string[]> {
  const found: string[] = [];
  const service = await startService(
    {
      ...definition,
      routes: async (app, context) => {
        app.addHook('onRoute', (route: RouteOptions) => {
          for (const method of [route.method].flat()) if (method !== 'HEAD' && method !== 'OPTIONS') found.push(`${method} ${route.url}`);
        });
        await definition.routes?.(app, context);
      },
    },
    { LOG_LEVEL: 'silent', AUTH_MODE: 'dev', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir },
  );
  await service.stop();
  return found;
}

/** The routes whose own pattern is not in the table (the same entry, not just any that matches). */
/** The routes neither the permission table nor the public routes (publicApiRoutes: a patient's ticket) name. */
function uncovered(routes: string[]): string[] {
  const isPublic = (method: string, pattern: string) => publicApiRoutes.some((route) => route.method === method && route.path === pattern);
  return routes.filter((route) => {
    const [method, pattern] = route.split(' ') as [string, string];
    return permissionFor(method, concrete(pattern))?.path !== pattern && !isPublic(method, pattern);
  });
}

describe('permission table covers every service route', () => {
  for (const definition of [receptionService, diagnosisService, examinationService, patientManagementService, interopService({})]) {
    test(definition.name, async (t) => {
      const routes = await serviceRoutes(definition, tempDir(t, `auth-routes-${definition.name}-`));
      assert.ok(routes.length > 0, 'the service registered no routes');
      assert.deepEqual(uncovered(routes), [], `routes without an entry in packages/contracts/src/permissions.ts`);
    });
  }

  test('the check sees a route the table lacks', async (t) => {
    const routes = await serviceRoutes(
      {
        ...receptionService,
        routes: async (app, context) => {
          await receptionService.routes?.(app, context);
          app.post('/receptions/:id/reopen', async () => ({}));
          app.delete('/receptions/:id', async () => ({}));
        },
      },
      tempDir(t, 'auth-routes-extra-'),
    );
    assert.deepEqual(uncovered(routes), ['POST /receptions/:id/reopen', 'DELETE /receptions/:id']);
    // The reception's five, the registry's five, and the two the table lacks.
    assert.equal(routes.length, 12);
  });
});
