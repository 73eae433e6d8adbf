import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadAuthConfig } from '../src/auth/auth-config.ts';
import { ConfigError } from '../src/lib/env.ts';

function refused(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => loadAuthConfig(env),
    (error: unknown) => error instanceof ConfigError && error.message.includes(variable),
    `${JSON.stringify(env)} should be refused naming ${variable}`,
  );
}

describe('loadAuthConfig', () => {
  test('nothing said: a real provider is expected, and one that is not named is refused', () => {
    refused({}, 'OIDC_ISSUER');
    refused({ OIDC_ISSUER: 'https://idp.example/realms/h' }, 'OIDC_AUDIENCE');
    assert.equal(loadAuthConfig({ OIDC_ISSUER: 'https://idp.example/realms/h', OIDC_AUDIENCE: 'medical' }).mode, 'oidc');
  });

  test('the development provider when asked for: on the local gateway', () => {
    assert.deepEqual(loadAuthConfig({ AUTH_MODE: 'dev' }), {
      mode: 'dev',
      issuer: 'http://127.0.0.1:8088/auth',
      audience: 'medical-visit-workflow',
      rolesClaim: 'roles',
      departmentsClaim: 'departments',
      clockToleranceSeconds: 30,
      dev: { password: 'demo', tokenLifetimeSeconds: 900 },
    });
  });

  test('oidc: the issuer as given (a trailing slash kept), the audience and the roles claim', () => {
    assert.deepEqual(
      loadAuthConfig({
        AUTH_MODE: 'oidc',
        NODE_ENV: 'production',
        OIDC_ISSUER: 'https://login.microsoftonline.com/0000/v2.0',
        OIDC_AUDIENCE: 'api://medical',
        OIDC_CLOCK_TOLERANCE_SECONDS: '5',
      }),
      { mode: 'oidc', issuer: 'https://login.microsoftonline.com/0000/v2.0', audience: 'api://medical', rolesClaim: 'roles', departmentsClaim: 'departments', clockToleranceSeconds: 5 },
    );
    const keycloak = loadAuthConfig({ AUTH_MODE: 'oidc', OIDC_ISSUER: 'https://tenant.example/', OIDC_AUDIENCE: 'medical', OIDC_ROLES_CLAIM: 'realm_access.roles' });
    assert.equal(keycloak.issuer, 'https://tenant.example/');
    assert.equal(keycloak.rolesClaim, 'realm_access.roles');
  });

  test('refusals name the variable', () => {
    refused({ AUTH_MODE: 'none' }, 'AUTH_MODE');
    refused({ AUTH_MODE: 'oidc', OIDC_AUDIENCE: 'medical' }, 'OIDC_ISSUER');
    refused({ AUTH_MODE: 'oidc', OIDC_ISSUER: 'https://idp.example/realms/h' }, 'OIDC_AUDIENCE');
    refused({ AUTH_MODE: 'oidc', OIDC_ISSUER: 'idp.example', OIDC_AUDIENCE: 'm' }, 'OIDC_ISSUER');
    refused({ AUTH_MODE: 'oidc', OIDC_ISSUER: 'ftp://idp.example', OIDC_AUDIENCE: 'm' }, 'OIDC_ISSUER');
    refused({ AUTH_MODE: 'oidc', OIDC_ISSUER: 'https://idp.example/?realm=h', OIDC_AUDIENCE: 'm' }, 'OIDC_ISSUER');
    refused({ OIDC_ROLES_CLAIM: 'realm_access..roles' }, 'OIDC_ROLES_CLAIM');
    refused({ OIDC_ROLES_CLAIM: '.roles' }, 'OIDC_ROLES_CLAIM');
    refused({ AUTH_MODE: 'dev', OIDC_DEPARTMENTS_CLAIM: 'attributes..departments' }, 'OIDC_DEPARTMENTS_CLAIM');
    refused({ OIDC_CLOCK_TOLERANCE_SECONDS: '-1' }, 'OIDC_CLOCK_TOLERANCE_SECONDS');
    refused({ AUTH_MODE: 'dev', DEV_TOKEN_LIFETIME_SECONDS: '10' }, 'DEV_TOKEN_LIFETIME_SECONDS');
    refused({ AUTH_MODE: 'dev', DEV_TOKEN_LIFETIME_SECONDS: 'forever' }, 'DEV_TOKEN_LIFETIME_SECONDS');
    // The development provider is served by the gateway under /auth, nowhere else.
    refused({ AUTH_MODE: 'dev', OIDC_ISSUER: 'http://127.0.0.1:8088/realms/dev' }, 'OIDC_ISSUER');
    refused({ NODE_ENV: 'production', AUTH_MODE: 'dev' }, 'AUTH_MODE');
  });

  test('dev: another gateway address, password and token lifetime', () => {
    const config = loadAuthConfig({ AUTH_MODE: 'dev', OIDC_ISSUER: 'http://gateway:8080/auth', DEV_PASSWORD: ' pass word ', DEV_TOKEN_LIFETIME_SECONDS: '300' });
    assert.equal(config.issuer, 'http://gateway:8080/auth');
    assert.deepEqual(config.dev, { password: ' pass word ', tokenLifetimeSeconds: 300 });
    assert.equal(loadAuthConfig({ AUTH_MODE: 'dev', DEV_PASSWORD: '' }).dev?.password, 'demo');
  });
});
