import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  demoIntegrationScopes,
  fhirScopesFor,
  parseSmartScope,
  roles,
  scopeGrants,
  scopeInteractions,
  scopePermits,
  scopeWithin,
  type ScopeInteraction,
} from '../src/index.ts';

const resourceTypes = ['Patient', 'Encounter', 'ServiceRequest', 'Task', 'DiagnosticReport', 'Observation', 'Subscription', 'Binary'];
const resourceType = fc.constantFrom(...resourceTypes);
const interaction = fc.constantFrom(...scopeInteractions);
/** A SMART 2 permission string: a non-empty selection of c r u d s, in that order. */
const v2Permissions = fc.subarray([...scopeInteractions], { minLength: 1 }).map((letters) => letters.join(''));
const grants = (scopes: readonly string[], type: string) => scopeInteractions.filter((letter) => scopeGrants(scopes, type, letter));

describe('SMART scopes: parsing', () => {
  test('v1: read, write and *, on a type or on every type', () => {
    assert.deepEqual(parseSmartScope('system/Encounter.read'), { context: 'system', resourceType: 'Encounter', interactions: ['r', 's'] });
    assert.deepEqual(parseSmartScope('system/Subscription.write'), { context: 'system', resourceType: 'Subscription', interactions: ['c', 'u', 'd'] });
    assert.deepEqual(parseSmartScope('system/*.read'), { context: 'system', resourceType: '*', interactions: ['r', 's'] });
    assert.deepEqual(parseSmartScope('system/*.*'), { context: 'system', resourceType: '*', interactions: ['c', 'r', 'u', 'd', 's'] });
  });

  test('v2: each letter of cruds once, in order', () => {
    assert.deepEqual(parseSmartScope('system/Encounter.rs')?.interactions, ['r', 's']);
    assert.deepEqual(parseSmartScope('system/Task.cruds')?.interactions, ['c', 'r', 'u', 'd', 's']);
    assert.deepEqual(parseSmartScope('system/Task.u')?.interactions, ['u']);
    for (const scope of ['system/Encounter.sr', 'system/Encounter.rr', 'system/Encounter.x', 'system/Encounter.', 'system/Encounter.crudss']) {
      assert.equal(parseSmartScope(scope), undefined, scope);
    }
  });

  test('a v2 scope with search parameters is refused, not widened', () => {
    assert.equal(parseSmartScope('system/Observation.rs?category=laboratory'), undefined);
    assert.equal(scopePermits(['system/Observation.rs?category=laboratory'], 'Observation', 'read'), false);
    assert.equal(scopeWithin('system/Observation.rs?category=laboratory', ['system/*.*']), false);
  });

  test('user/ and patient/ scopes parse but grant nothing; other scopes are not SMART scopes', () => {
    assert.equal(parseSmartScope('user/Encounter.read')?.context, 'user');
    assert.equal(parseSmartScope('patient/*.rs')?.context, 'patient');
    assert.equal(scopePermits(['user/Encounter.read', 'patient/*.*'], 'Encounter', 'read'), false);
    for (const scope of ['openid', 'offline_access', 'launch/patient', 'system/encounter.read', 'System/Encounter.read', 'system/Encounter.read ', 'system/Enc-ounter.read', '']) {
      assert.equal(parseSmartScope(scope), undefined, scope);
    }
  });

  test('property: every v2 permission string parses to exactly its letters, and a reordering that is not cruds order does not parse', () => {
    fc.assert(
      fc.property(resourceType, v2Permissions, (type, permissions) => {
        assert.deepEqual(parseSmartScope(`system/${type}.${permissions}`)?.interactions, [...permissions]);
        const reversed = [...permissions].reverse().join('');
        if (reversed !== permissions) assert.equal(parseSmartScope(`system/${type}.${reversed}`), undefined);
      }),
    );
  });
});

describe('SMART scopes: what they permit', () => {
  test('read is read and search; write is create, update and delete', () => {
    assert.equal(scopePermits(['system/Encounter.read'], 'Encounter', 'read'), true);
    assert.equal(scopePermits(['system/Encounter.read'], 'Encounter', 'write'), false);
    assert.equal(scopePermits(['system/Encounter.read'], 'Task', 'read'), false);
    assert.equal(scopePermits(['system/Subscription.write'], 'Subscription', 'write'), true);
    assert.equal(scopePermits(['system/*.read'], 'DiagnosticReport', 'read'), true);
    assert.equal(scopePermits(['system/*.*'], 'Subscription', 'write'), true);
    // Part of an access is not the access: a read by id alone does not search.
    assert.equal(scopePermits(['system/Encounter.r'], 'Encounter', 'read'), false);
    assert.equal(scopeGrants(['system/Encounter.r'], 'Encounter', 'r'), true);
    assert.equal(scopeGrants(['system/Encounter.r'], 'Encounter', 's'), false);
    assert.equal(scopePermits(['system/Subscription.cu'], 'Subscription', 'write'), false);
    // Granted by two scopes together.
    assert.equal(scopePermits(['system/Subscription.c', 'system/*.ud'], 'Subscription', 'write'), true);
    assert.equal(scopePermits([], 'Patient', 'read'), false);
  });

  test("property: v1's read, write and * grant exactly what v2's rs, cud and cruds grant", () => {
    fc.assert(
      fc.property(fc.constantFrom('*', ...resourceTypes), resourceType, (scoped, asked) => {
        for (const [v1, v2] of [['read', 'rs'], ['write', 'cud'], ['*', 'cruds']] as const) {
          assert.deepEqual(grants([`system/${scoped}.${v1}`], asked), grants([`system/${scoped}.${v2}`], asked));
        }
      }),
    );
  });

  test('property: a scope of one type grants nothing on another; a scope of every type grants its interactions on each', () => {
    fc.assert(
      fc.property(resourceType, resourceType, v2Permissions, (scoped, asked, permissions) => {
        const expected = scoped === asked ? [...permissions] : [];
        assert.deepEqual(grants([`system/${scoped}.${permissions}`], asked), expected);
        assert.deepEqual(grants([`system/*.${permissions}`], asked), [...permissions]);
        assert.deepEqual(grants([`user/${scoped}.${permissions}`, `patient/*.${permissions}`], asked), []);
      }),
    );
  });
});

describe('SMART scopes: what a client may ask for', () => {
  test('within the allowed scopes: the same, a part of one, or in the other version', () => {
    const allowed = demoIntegrationScopes;
    for (const scope of ['system/Encounter.read', 'system/Encounter.rs', 'system/Encounter.r', 'system/Subscription.cruds', 'system/Subscription.*']) {
      assert.equal(scopeWithin(scope, allowed), true, scope);
    }
    for (const scope of ['system/Encounter.write', 'system/Binary.read', 'system/*.read', 'user/Encounter.read', 'openid', 'system/Encounter.sr']) {
      assert.equal(scopeWithin(scope, allowed), false, scope);
    }
    assert.equal(scopeWithin('system/*.read', ['system/*.*']), true);
    assert.equal(scopeWithin('system/Binary.read', ['system/*.rs']), true);
  });

  test('property: a scope within the allowed ones never grants more than they do', () => {
    const scope = fc.tuple(fc.constantFrom('*', ...resourceTypes), fc.oneof(v2Permissions, fc.constantFrom('read', 'write', '*'))).map(([type, p]) => `system/${type}.${p}`);
    fc.assert(
      fc.property(fc.array(scope, { maxLength: 4 }), scope, resourceType, interaction, (allowed, requested, type, letter: ScopeInteraction) => {
        if (scopeWithin(requested, allowed) && scopeGrants([requested], type, letter)) assert.equal(scopeGrants(allowed, type, letter), true);
        // And what is allowed is always within itself.
        for (const each of allowed) assert.equal(scopeWithin(each, allowed), true, each);
      }),
    );
  });

  test("the demo client's scopes: reads of the workflow's resources and its Subscriptions, no Binary", () => {
    for (const type of ['Patient', 'Encounter', 'ServiceRequest', 'Task', 'DiagnosticReport', 'Observation', 'Subscription']) {
      assert.equal(scopePermits(demoIntegrationScopes, type, 'read'), true, type);
    }
    assert.equal(scopePermits(demoIntegrationScopes, 'Subscription', 'write'), true);
    assert.equal(scopePermits(demoIntegrationScopes, 'Binary', 'read'), false);
    for (const type of ['Patient', 'Encounter', 'ServiceRequest', 'Task', 'DiagnosticReport', 'Observation']) {
      assert.equal(scopeGrants(demoIntegrationScopes, type, 'c'), false, type);
    }
  });
});

describe('SMART scopes: mapped onto the roles', () => {
  test('integration: exactly its token\'s system scopes; admin: system/*.*; the union for both', () => {
    const token = ['system/Encounter.read', 'user/Patient.read', 'openid', 'system/Task.rs', 'system/Encounter.read'];
    assert.deepEqual(fhirScopesFor(['integration'], token), ['system/Encounter.read', 'system/Task.rs']);
    assert.deepEqual(fhirScopesFor(['integration'], []), []);
    assert.deepEqual(fhirScopesFor(['admin'], []), ['system/*.*']);
    assert.deepEqual(fhirScopesFor(['admin', 'integration'], ['system/Task.rs']), ['system/*.*', 'system/Task.rs']);
  });

  test('property: staff roles get no FHIR scopes, whatever their token carries', () => {
    const staffRoles = roles.filter((role) => role !== 'admin' && role !== 'integration');
    fc.assert(
      fc.property(fc.subarray(staffRoles), fc.array(fc.constantFrom('system/*.*', 'system/Encounter.read', 'user/*.*', 'openid')), (held, scopes) => {
        assert.deepEqual(fhirScopesFor(held, scopes), []);
      }),
    );
  });
});
