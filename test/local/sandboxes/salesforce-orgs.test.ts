import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_ORG,
  type DataSetSizes,
  defaultDataSetSizes,
  defaultExtraOrgSizes,
  obtainSandboxTokens,
  type SalesforceSandbox,
  type SalesforceTokenAnswer,
  startSalesforceSandbox,
} from '../../../local/sandboxes/salesforce';

const API = '/services/data/v62.0';
interface QueryAnswer {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: Array<{ Id: string }>;
}

const ORG_B = { id: 'org-b', accounts: 30, people: 500, opportunities: 7 };
let sandbox: SalesforceSandbox;
const started: SalesforceSandbox[] = [];
beforeEach(async () => {
  sandbox = await startSalesforceSandbox({ orgs: [ORG_B] });
  started.push(sandbox);
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((running) => running.close()));
});

async function query(instanceUrl: string, token: string, soql: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${instanceUrl}${API}/query?q=${encodeURIComponent(soql)}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

/** Every Id of `object` on the instance, following nextRecordsUrl. */
async function allIds(instanceUrl: string, token: string, object: string): Promise<string[]> {
  const ids: string[] = [];
  let next: string | undefined = `${API}/query?q=${encodeURIComponent(`SELECT Id FROM ${object}`)}`;
  while (next) {
    const response = await fetch(`${instanceUrl}${next}`, {
      headers: { Authorization: `Bearer ${token}`, 'Sforce-Query-Options': 'batchSize=200' },
    });
    expect(response.status).toBe(200);
    const page = (await response.json()) as QueryAnswer;
    ids.push(...page.records.map((record) => record.Id));
    next = page.done ? undefined : page.nextRecordsUrl;
  }
  return ids;
}

async function token(form: Record<string, string>, url = sandbox.url): Promise<{ status: number; body: Record<string, string> }> {
  const response = await fetch(`${url}/services/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({ client_id: sandbox.clientId, client_secret: sandbox.clientSecret, ...form }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

async function consentAs(org: string): Promise<SalesforceTokenAnswer> {
  sandbox.consentAs(org);
  return obtainSandboxTokens(sandbox);
}

describe('Salesforce sandbox with several orgs', () => {
  it('keeps the first org as it was, and gives the others their own instance URL, org id and data', () => {
    const [first, second] = sandbox.orgs();
    expect(first).toMatchObject({ id: DEFAULT_ORG, instanceUrl: sandbox.url });
    expect(sandbox.org()).toMatchObject({ id: DEFAULT_ORG, instanceUrl: sandbox.url });
    expect(sandbox.org(DEFAULT_ORG).data).toBe(sandbox.data);
    expect(sandbox.data.entityCounts()).toEqual(defaultDataSetSizes);
    expect(second?.id).toBe('org-b');
    expect(second?.instanceUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(second?.instanceUrl).not.toBe(sandbox.url);
    expect(second?.organizationId).toMatch(/^00D[A-Za-z0-9]{15}$/);
    expect(second?.organizationId).not.toBe(first?.organizationId);
    expect(sandbox.org('org-b').data.entityCounts()).toEqual({ accounts: 30, people: 500, opportunities: 7 });
    expect(() => sandbox.org('org-c')).toThrow(RangeError);
    expect(() => sandbox.consentAs('org-c')).toThrow(RangeError);
  });

  it('serves each org its own records, with ids that never collide', async () => {
    const a = await obtainSandboxTokens(sandbox);
    const b = await consentAs('org-b');
    const idsA = await allIds(a.instance_url, a.access_token, 'Contact');
    const idsB = await allIds(b.instance_url, b.access_token, 'Contact');
    expect(idsA.length).toBe(sandbox.data.counts().Contact);
    expect(idsB.length).toBe(sandbox.org('org-b').data.counts().Contact);
    expect(idsB.length).toBe(400);
    const shared = new Set(idsA);
    expect(idsB.filter((id) => shared.has(id))).toEqual([]);
    const accountsB = (await query(b.instance_url, b.access_token, 'SELECT Id FROM Account')).body as QueryAnswer;
    expect(accountsB.totalSize).toBe(30);
  });

  it('gives an extra org sizes of its own when none are named, and a data set that differs from the first org', async () => {
    const other = await startSalesforceSandbox({ orgs: [{ id: 'plain' }] });
    started.push(other);
    expect(other.org('plain').data.entityCounts()).toEqual(defaultExtraOrgSizes);
    expect(other.org('plain').data.entityCounts()).not.toEqual(other.data.entityCounts());
  });

  it('logs the next consents into the org chosen with consentAs, and back into the first', async () => {
    expect(sandbox.consentOrg()).toBe(DEFAULT_ORG);
    const b = await consentAs('org-b');
    const orgB = sandbox.org('org-b');
    expect(sandbox.consentOrg()).toBe('org-b');
    expect(b.instance_url).toBe(orgB.instanceUrl);
    // The identity URL stays on the login URL and names org B.
    expect(b.id).toMatch(new RegExp(`^${sandbox.url}/id/${orgB.organizationId}/005[A-Za-z0-9]{15}$`));
    expect(b.access_token.startsWith(`${orgB.organizationId.slice(0, 15)}!`)).toBe(true);
    const identity = await fetch(b.id, { headers: { Authorization: `Bearer ${b.access_token}` } });
    expect(identity.status).toBe(200);
    expect(await identity.json()).toMatchObject({ organization_id: orgB.organizationId });

    sandbox.consentAs();
    const a = await obtainSandboxTokens(sandbox);
    expect(sandbox.consentOrg()).toBe(DEFAULT_ORG);
    expect(a.instance_url).toBe(sandbox.url);
    expect(a.id).toContain(`/id/${sandbox.org().organizationId}/`);
  });

  it("refuses one org's access token on another org's instance as a bad session", async () => {
    const a = await obtainSandboxTokens(sandbox);
    const b = await consentAs('org-b');
    const onB = await query(b.instance_url, a.access_token, 'SELECT Id FROM Account');
    expect(onB.status).toBe(401);
    expect(onB.body).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    const onA = await query(a.instance_url, b.access_token, 'SELECT Id FROM Account');
    expect(onA.status).toBe(401);
    expect((await query(b.instance_url, b.access_token, 'SELECT Id FROM Account')).status).toBe(200);
    // Nor does one org's token read another org's identity.
    const identity = await fetch(b.id, { headers: { Authorization: `Bearer ${a.access_token}` } });
    expect(identity.status).toBe(403);
  });

  it("refreshes and revokes every org's tokens at the one login URL", async () => {
    const a = await obtainSandboxTokens(sandbox);
    const b = await consentAs('org-b');
    const refreshedA = await token({ grant_type: 'refresh_token', refresh_token: a.refresh_token as string });
    const refreshedB = await token({ grant_type: 'refresh_token', refresh_token: b.refresh_token as string });
    expect(refreshedA.status).toBe(200);
    expect(refreshedB.status).toBe(200);
    expect(refreshedA.body.instance_url).toBe(sandbox.url);
    expect(refreshedB.body.instance_url).toBe(sandbox.org('org-b').instanceUrl);
    expect(refreshedB.body.id).toBe(b.id);
    expect((await query(b.instance_url, refreshedB.body.access_token as string, 'SELECT Id FROM Lead')).status).toBe(200);
    expect((await query(b.instance_url, refreshedA.body.access_token as string, 'SELECT Id FROM Lead')).status).toBe(401);
    expect(sandbox.stats().tokenRefreshes).toBe(2);

    const revoke = await fetch(`${sandbox.url}/services/oauth2/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token: b.refresh_token as string }),
    });
    expect(revoke.status).toBe(200);
    expect((await token({ grant_type: 'refresh_token', refresh_token: b.refresh_token as string })).body.error).toBe('invalid_grant');
    expect((await query(b.instance_url, refreshedB.body.access_token as string, 'SELECT Id FROM Lead')).status).toBe(401);
    // Org A's grant is untouched.
    expect((await query(a.instance_url, refreshedA.body.access_token as string, 'SELECT Id FROM Lead')).status).toBe(200);
  });

  it('rotates refresh tokens per grant in every org', async () => {
    const a = await obtainSandboxTokens(sandbox);
    const b = await consentAs('org-b');
    sandbox.failures.rotateRefreshTokens(true);
    for (const grant of [a, b]) {
      const rotated = await token({ grant_type: 'refresh_token', refresh_token: grant.refresh_token as string });
      expect(rotated.body.refresh_token).toBeDefined();
      expect(rotated.body.instance_url).toBe(grant.instance_url);
      expect((await token({ grant_type: 'refresh_token', refresh_token: grant.refresh_token as string })).body.error).toBe('invalid_grant');
      expect((await token({ grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token as string })).status).toBe(200);
    }
  });

  it('expireSessions and revokeGrant apply to every org', async () => {
    const b = await consentAs('org-b');
    sandbox.failures.expireSessions();
    expect((await query(b.instance_url, b.access_token, 'SELECT Id FROM Account')).status).toBe(401);
    sandbox.failures.revokeGrant();
    expect((await token({ grant_type: 'refresh_token', refresh_token: b.refresh_token as string })).body.error).toBe('invalid_grant');
  });

  it("changes each org's data on its own", async () => {
    const b = await consentAs('org-b');
    sandbox.org('org-b').data.add('Account', 4);
    sandbox.org('org-b').data.remove('Contact', 2);
    expect(sandbox.org('org-b').data.entityCounts()).toEqual({ accounts: 34, people: 498, opportunities: 7 });
    expect(sandbox.data.entityCounts()).toEqual(defaultDataSetSizes);
    const count = (await query(b.instance_url, b.access_token, 'SELECT Id FROM Account')).body as QueryAnswer;
    expect(count.totalSize).toBe(34);
  });

  it('is driven over HTTP: consentAs in the failures body, org in the data body, every org in the state', async () => {
    const post = (path: string, body: unknown) => fetch(`${sandbox.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    expect((await post('/__sandbox/failures', { consentAs: 'org-b' })).status).toBe(200);
    expect(sandbox.consentOrg()).toBe('org-b');
    expect((await obtainSandboxTokens(sandbox)).instance_url).toBe(sandbox.org('org-b').instanceUrl);
    expect((await post('/__sandbox/failures', { consentAs: 'nope' })).status).toBe(400);
    expect((await post('/__sandbox/failures', { consentAs: null })).status).toBe(200);
    expect(sandbox.consentOrg()).toBe(DEFAULT_ORG);

    const changed = await post('/__sandbox/data', { org: 'org-b', add: { Lead: 3 } });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as { counts: { Lead: number } }).counts.Lead).toBe(sandbox.org('org-b').data.counts().Lead);
    expect(sandbox.org('org-b').data.entityCounts().people).toBe(503);
    expect(sandbox.data.entityCounts().people).toBe(defaultDataSetSizes.people);
    expect((await post('/__sandbox/data', { org: 'nope', add: { Lead: 1 } })).status).toBe(400);

    const state = (await (await fetch(`${sandbox.url}/__sandbox/state`)).json()) as {
      consentOrg: string;
      orgs: Array<{ id: string; instanceUrl: string; entityCounts: unknown }>;
    };
    expect(state.consentOrg).toBe(DEFAULT_ORG);
    expect(state.orgs.map((org) => [org.id, org.instanceUrl])).toEqual([
      [DEFAULT_ORG, sandbox.url],
      ['org-b', sandbox.org('org-b').instanceUrl],
    ]);
  });

  it('refuses bad org options', async () => {
    await expect(startSalesforceSandbox({ orgs: [{ id: DEFAULT_ORG }] })).rejects.toThrow(RangeError);
    await expect(startSalesforceSandbox({ orgs: [{ id: 'x' }, { id: 'x' }] })).rejects.toThrow(RangeError);
    await expect(startSalesforceSandbox({ orgs: [{ id: 'a/b' }] })).rejects.toThrow(RangeError);
    await expect(startSalesforceSandbox({ orgs: [{ id: 'ok', accounts: -1 }] })).rejects.toThrow(RangeError);
  });

  it('takes extra orgs through the data-set sizes, as the local stack passes them', async () => {
    const sizes: Partial<DataSetSizes> = { accounts: 5, orgs: [{ id: 'org-b', accounts: 9, people: 10, opportunities: 1 }] };
    const viaSizes = await startSalesforceSandbox({ ...sizes, port: 0 });
    started.push(viaSizes);
    expect(viaSizes.data.entityCounts().accounts).toBe(5);
    expect(viaSizes.org('org-b').data.entityCounts()).toEqual({ accounts: 9, people: 10, opportunities: 1 });
  });

  it("keeps every org's grants, instance URL and the consent org across a restart on the state file", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'salesforce-orgs-'));
    try {
      const stateFile = join(dir, 'salesforce-sandbox.json');
      const before = await startSalesforceSandbox({ stateFile, orgs: [ORG_B] });
      started.push(before);
      before.consentAs('org-b');
      const b = await obtainSandboxTokens(before);
      const port = Number(new URL(before.url).port);
      const instanceB = before.org('org-b').instanceUrl;
      await before.close();
      started.splice(started.indexOf(before), 1);

      const after = await startSalesforceSandbox({ stateFile, port, orgs: [ORG_B] });
      started.push(after);
      expect(after.org('org-b').instanceUrl).toBe(instanceB);
      expect(after.consentOrg()).toBe('org-b');
      expect((await query(instanceB, b.access_token, 'SELECT Id FROM Account')).status).toBe(200);
      const refreshed = await fetch(`${after.url}/services/oauth2/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: b.refresh_token as string,
          client_id: after.clientId,
          client_secret: after.clientSecret,
        }),
      });
      expect(refreshed.status).toBe(200);
      expect(((await refreshed.json()) as { instance_url: string }).instance_url).toBe(instanceB);
      // The same org's token is still no good on the first org's instance.
      expect((await query(after.url, b.access_token, 'SELECT Id FROM Account')).status).toBe(401);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
