import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, describe, expect, it } from 'vitest';
import { readEnvironmentConfig } from '../../lib/environment-config';

const settings = {
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: ['connector-api'],
  allowedOrigins: ['https://app.example.com'],
  logRetentionDays: 30,
  salesforce: { clientId: 'consumer-key' },
};

// Apps that never synthesize still claim an output folder: give them one shared folder.
const outdir = mkdtempSync(join(tmpdir(), 'environment-config-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** Reads the config of an app whose context holds `environments` and, maybe, `env`. */
function configOf(context: Record<string, unknown>) {
  return readEnvironmentConfig(new App({ context, outdir }));
}

describe('readEnvironmentConfig', () => {
  it('reads the environment picked with -c env=<name>', () => {
    const config = configOf({ env: 'prod', environments: { dev: settings, prod: { ...settings, logRetentionDays: 365 } } });
    expect(config).toMatchObject({ name: 'prod', jwtIssuer: settings.jwtIssuer, logRetention: RetentionDays.ONE_YEAR });
  });

  it('defaults the claim names to tenant_id and role, and the admin role to admin', () => {
    expect(configOf({ env: 'dev', environments: { dev: settings } })).toMatchObject({
      tenantClaim: 'tenant_id',
      roleClaim: 'role',
      adminRole: 'admin',
    });
  });

  it('reads the Salesforce connected app, defaulting the login URL to login.salesforce.com', () => {
    expect(configOf({ env: 'dev', environments: { dev: settings } }).salesforce).toEqual({
      clientId: 'consumer-key',
      loginUrl: 'https://login.salesforce.com',
    });
    const sandbox = { ...settings, salesforce: { clientId: 'k', loginUrl: 'https://test.salesforce.com' } };
    expect(configOf({ env: 'dev', environments: { dev: sandbox } }).salesforce.loginUrl).toBe('https://test.salesforce.com');
  });

  it('refuses an environment without a Salesforce client id, or with a login URL that is not an https origin', () => {
    const { salesforce: _, ...withoutSalesforce } = settings;
    expect(() => configOf({ env: 'dev', environments: { dev: withoutSalesforce } })).toThrow(/salesforce must be an object/);
    expect(() => configOf({ env: 'dev', environments: { dev: { ...settings, salesforce: {} } } })).toThrow(
      /salesforce.clientId must be a non-empty string/,
    );
    expect(() =>
      configOf({ env: 'dev', environments: { dev: { ...settings, salesforce: { clientId: 'k', loginUrl: 'http://login.salesforce.com' } } } }),
    ).toThrow(/loginUrl must be an https origin/);
  });

  it('reads the optional Salesforce API budget and Bulk threshold, and refuses values the runtime would', () => {
    const salesforce = (extra: Record<string, unknown>) => configOf({ env: 'dev', environments: { dev: { ...settings, salesforce: { clientId: 'k', ...extra } } } }).salesforce;
    expect(salesforce({ apiBudget: 0.6, bulkThreshold: 100_000 })).toMatchObject({ apiBudget: 0.6, bulkThreshold: 100_000 });
    expect(salesforce({})).not.toHaveProperty('apiBudget');
    for (const apiBudget of [0, 1.2, '0.8']) expect(() => salesforce({ apiBudget }), String(apiBudget)).toThrow(/salesforce.apiBudget must be a share of the org's API allowance between 0.05 and 1/);
    for (const bulkThreshold of [-1, 2.5, '50000']) expect(() => salesforce({ bulkThreshold }), String(bulkThreshold)).toThrow(/salesforce.bulkThreshold must be a whole number of records/);
  });

  it('reads an optional Office 365 app registration, defaulting the tenant to common', () => {
    expect(configOf({ env: 'dev', environments: { dev: settings } }).o365).toBeUndefined();
    expect(configOf({ env: 'dev', environments: { dev: { ...settings, o365: { clientId: 'app-id' } } } }).o365).toEqual({
      clientId: 'app-id',
      tenant: 'common',
    });
    for (const tenant of ['organizations', 'contoso.onmicrosoft.com', '72f988bf-86f1-41af-91ab-2d7cd011db47']) {
      expect(configOf({ env: 'dev', environments: { dev: { ...settings, o365: { clientId: 'app-id', tenant } } } }).o365, tenant).toEqual({
        clientId: 'app-id',
        tenant,
      });
    }
  });

  it('refuses Office 365 settings without a client id, with a tenant that is not one path segment, or that are not an object', () => {
    for (const o365 of [{}, { clientId: '' }, { clientId: '  ' }, { clientId: 42 }, { tenant: 'common' }]) {
      expect(() => configOf({ env: 'dev', environments: { dev: { ...settings, o365 } } }), JSON.stringify(o365)).toThrow(
        'environments.dev.o365.clientId must be a non-empty string.',
      );
    }
    for (const tenant of ['', 'contoso/evil', 'common?x=1', ' common']) {
      expect(() => configOf({ env: 'dev', environments: { dev: { ...settings, o365: { clientId: 'k', tenant } } } }), tenant).toThrow(
        /o365.tenant must/,
      );
    }
    for (const o365 of ['app-id', null, ['app-id']]) {
      expect(() => configOf({ env: 'dev', environments: { dev: { ...settings, o365 } } }), JSON.stringify(o365)).toThrow(
        /environments.dev.o365 must be an object with the app registration's clientId/,
      );
    }
  });

  it('reads an optional API base URL (without a trailing slash) and app URL', () => {
    const config = configOf({ env: 'dev', environments: { dev: { ...settings, apiBaseUrl: 'https://api.example.com/connector/', appUrl: 'https://app.example.com/x' } } });
    expect(config).toMatchObject({ apiBaseUrl: 'https://api.example.com/connector', appUrl: 'https://app.example.com/x' });
    const plain = configOf({ env: 'dev', environments: { dev: settings } });
    expect(plain.apiBaseUrl).toBeUndefined();
    expect(plain.appUrl).toBeUndefined();
    expect(() => configOf({ env: 'dev', environments: { dev: { ...settings, apiBaseUrl: 'http://api.example.com' } } })).toThrow(
      /apiBaseUrl must be an https URL/,
    );
  });

  it('serves the connections page only when connectionsPage is set, with an optional https sign-in URL', () => {
    const page = (connectionsPage: unknown) => configOf({ env: 'dev', environments: { dev: { ...settings, connectionsPage } } }).connectionsPage;
    expect(configOf({ env: 'dev', environments: { dev: settings } }).connectionsPage).toBeUndefined();
    expect(page({})).toEqual({});
    expect(page({ signInUrl: 'https://auth.example.com/sign-in?next=connections' })).toEqual({ signInUrl: 'https://auth.example.com/sign-in?next=connections' });
    for (const connectionsPage of [true, 'web/dist', null, []]) {
      expect(() => page(connectionsPage), JSON.stringify(connectionsPage)).toThrow(/environments.dev.connectionsPage must be an object \({} serves the page/);
    }
    for (const signInUrl of ['http://auth.example.com', 'auth.example.com', 'https://auth.example.com/"x"', '']) {
      expect(() => page({ signInUrl }), signInUrl).toThrow(/connectionsPage.signInUrl must be/);
    }
    expect(() => page({ signinUrl: 'https://auth.example.com' })).toThrow(
      'environments.dev.connectionsPage has unknown settings (signinUrl): the only one is signInUrl.',
    );
  });

  it('retains data in every environment but dev', () => {
    const environments = { dev: settings, staging: settings, prod: settings };
    expect(configOf({ env: 'dev', environments }).retainData).toBe(false);
    expect(configOf({ env: 'staging', environments }).retainData).toBe(true);
    expect(configOf({ env: 'prod', environments }).retainData).toBe(true);
  });

  it('refuses to synth without an environment, naming the known ones', () => {
    expect(() => configOf({ environments: { dev: settings, prod: settings } })).toThrow(
      'No environment picked: run with -c env=<name>, where <name> is one of: dev, prod.',
    );
  });

  it('refuses an unknown environment', () => {
    expect(() => configOf({ env: 'qa', environments: { dev: settings } })).toThrow(/Unknown environment "qa": pick one of: dev/);
  });

  it('refuses an issuer that is not an https URL', () => {
    expect(() => configOf({ env: 'dev', environments: { dev: { ...settings, jwtIssuer: 'http://issuer' } } })).toThrow(
      /jwtIssuer must be an https URL/,
    );
  });

  it('refuses an empty audience list', () => {
    expect(() => configOf({ env: 'dev', environments: { dev: { ...settings, jwtAudience: [] } } })).toThrow(
      /jwtAudience must name at least one audience/,
    );
  });

  it('refuses a log retention CloudWatch does not offer', () => {
    expect(() => configOf({ env: 'dev', environments: { dev: { ...settings, logRetentionDays: 10 } } })).toThrow(
      /logRetentionDays must be one of CloudWatch's retention periods/,
    );
  });

  it('refuses an allowed origin with a path', () => {
    expect(() =>
      configOf({ env: 'dev', environments: { dev: { ...settings, allowedOrigins: ['https://app.example.com/x'] } } }),
    ).toThrow(/is not an origin/);
  });
});
