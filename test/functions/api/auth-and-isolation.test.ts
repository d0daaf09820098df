import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, importJWK } from 'jose';
import { readFile } from 'node:fs/promises';
import { databaseIdFor } from '../../../functions/core/connector-ref';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, issueLocalToken } from '../../../local/jwt-issuer';
import { startTestStack, type TestStack } from '../../support/local-stack';
import { connectorRecord, syncLog } from '../../support/factories';
import { errorOf } from '../../support/trpc-error';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());

describe('authentication and authorization', () => {
  const get = (token?: string) =>
    fetch(`${stack.url}/trpc/connector.list`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  /** Signs with the stack's own key, so only the claim under test is wrong. */
  async function tokenWith(claims: Record<string, unknown>, mutate: (jwt: SignJWT) => SignJWT = (jwt) => jwt) {
    const { privateJwk } = JSON.parse(await readFile(join(stack.stateDir, 'signing-key.json'), 'utf8'));
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: privateJwk.kid })
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h');
    return await mutate(jwt).sign(await importJWK(privateJwk, 'RS256'));
  }

  it('answers 401 to a request without a token, before any handler runs', async () => {
    const response = await get();
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: -32001, data: { code: 'UNAUTHORIZED', httpStatus: 401 } } });
  });

  it('answers 401 to a token signed by another issuer key', async () => {
    const otherStateDir = await mkdtemp(join(tmpdir(), 'other-issuer-'));
    expect((await get(await issueLocalToken(otherStateDir, { tenantId: 'acme', role: 'admin' }))).status).toBe(401);
  });

  it('answers 401 to an expired token, a wrong audience, a wrong issuer and garbage', async () => {
    const expired = await tokenWith({ tenant_id: 'acme', role: 'admin' }, (jwt) => jwt.setExpirationTime(Math.floor(Date.now() / 1000) - 60));
    const wrongAudience = await tokenWith({ tenant_id: 'acme' }, (jwt) => jwt.setAudience('someone-else'));
    const wrongIssuer = await tokenWith({ tenant_id: 'acme' }, (jwt) => jwt.setIssuer('https://evil.example'));
    for (const token of [expired, wrongAudience, wrongIssuer, 'not.a.jwt']) {
      expect((await get(token)).status).toBe(401);
    }
  });

  it('answers UNAUTHORIZED (401) to a valid token that carries no tenant', async () => {
    const response = await get(await tokenWith({ role: 'admin' }));
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { data: { code: 'UNAUTHORIZED' } } });
  });

  it('answers UNAUTHORIZED to a tenant claim that is not a plain identifier', async () => {
    expect((await get(await tokenWith({ tenant_id: 'acme#CONNECTOR#salesforce' }))).status).toBe(401);
  });

  it('answers FORBIDDEN (403) to a member calling an admin procedure, and changes nothing', async () => {
    await stack.repository.saveConnector(connectorRecord('roles', 'salesforce'));
    const error = await errorOf(stack.client('roles', 'member').connector.disconnect.mutate({ connectorId: 'salesforce' }));
    expect(error.data?.code).toBe('FORBIDDEN');
    expect(error.data?.httpStatus).toBe(403);
    expect((await stack.client('roles').connector.getStatus.query({ connectorId: 'salesforce' })).status).toBe('connected');
  });

  it('lets members read', async () => {
    expect(await stack.client('roles', 'member').connector.list.query()).toHaveLength(5);
  });
});

describe('tenant isolation', () => {
  const victimDatabaseId = () => databaseIdFor('victim', 'salesforce');

  beforeAll(async () => {
    await stack.repository.saveConnector(connectorRecord('victim', 'salesforce', { config: { instanceUrl: 'https://victim.example' } }));
    await stack.repository.saveSyncLog('salesforce', syncLog('victim', 'salesforce'));
    await stack.repository.adjustEntityCounts('victim', 'salesforce', { accounts: 5 });
  });

  it('answers NOT_FOUND for another tenant\'s database id, in every procedure', async () => {
    const attacker = stack.client('attacker', 'admin');
    const connectorId = victimDatabaseId();
    // Thunks, not promises: a promise made before it is awaited can reject unhandled and fail the run.
    for (const call of [
      () => attacker.connector.getStatus.query({ connectorId }),
      () => attacker.connector.getSyncHistory.query({ connectorId }),
      () => attacker.connector.getEntityCounts.query({ connectorId }),
      () => attacker.connector.disconnect.mutate({ connectorId }),
    ]) {
      const error = await errorOf(call());
      expect(error.data?.code).toBe('NOT_FOUND');
      expect(error.data?.httpStatus).toBe(404);
    }
  });

  it('answers the same NOT_FOUND for an id that exists nowhere, so existence does not leak', async () => {
    const foreign = await errorOf(stack.client('attacker').connector.getStatus.query({ connectorId: victimDatabaseId() }));
    const missing = await errorOf(stack.client('attacker').connector.getStatus.query({ connectorId: 'conn_000000000000000000000000' }));
    expect(foreign.data?.code).toBe(missing.data?.code);
    expect(foreign.message.replace(/"[^"]+"/, '""')).toBe(missing.message.replace(/"[^"]+"/, '""'));
  });

  it('shows a tenant only its own state under the same registry id', async () => {
    const attacker = stack.client('attacker', 'admin');
    expect(await attacker.connector.getStatus.query({ connectorId: 'salesforce' })).toMatchObject({ status: 'disconnected', config: {}, latestSync: null });
    expect(await attacker.connector.getSyncHistory.query({ connectorId: 'salesforce' })).toEqual([]);
    expect(await attacker.connector.getEntityCounts.query({ connectorId: 'salesforce' })).toEqual({ accounts: 0, people: 0, opportunities: 0 });
    await attacker.connector.disconnect.mutate({ connectorId: 'salesforce' });
    expect(await stack.client('victim').connector.getStatus.query({ connectorId: 'salesforce' })).toMatchObject({
      status: 'connected',
      config: { instanceUrl: 'https://victim.example' },
    });
  });
});

describe('disconnect', () => {
  it('resets the status, clears config and answers {disconnected: true}', async () => {
    await stack.repository.saveConnector(connectorRecord('d1', 'salesforce', { config: { instanceUrl: 'https://x.example' }, lastSyncAt: '2026-03-05T08:00:00.000Z' }));
    const admin = stack.client('d1', 'admin');

    expect(await admin.connector.disconnect.mutate({ connectorId: databaseIdFor('d1', 'salesforce') })).toEqual({ disconnected: true });

    expect(await admin.connector.getStatus.query({ connectorId: 'salesforce' })).toMatchObject({
      status: 'disconnected',
      config: {},
      lastSyncError: null,
      lastSyncAt: '2026-03-05T08:00:00.000Z',
    });
  });

  it('is idempotent for a connector that was never set up', async () => {
    expect(await stack.client('d2', 'admin').connector.disconnect.mutate({ connectorId: 'o365' })).toEqual({ disconnected: true });
  });
});
