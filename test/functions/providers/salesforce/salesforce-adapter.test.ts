import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../../functions/core/errors';
import { SalesforceAdapter } from '../../../../functions/providers/salesforce/salesforce-adapter';
import { DESCRIBE_TTL_MS, DescribeCache } from '../../../../functions/providers/salesforce/salesforce-describe';
import { SalesforceOrg } from '../../../../functions/providers/salesforce/salesforce-org';
import type { OAuthCredentials, ReadPageRequest, SourcePage } from '../../../../functions/providers/types';
import { obtainSandboxTokens, startSalesforceSandbox, type SalesforceSandbox } from '../../../../local/sandboxes/salesforce';

const DAY = 24 * 3600 * 1000;

/**
 * The adapter against the Salesforce sandbox over HTTP, page by page, without the engine:
 * what it selects (describe, field-level security), what it reads of deletions (queryAll and
 * /deleted) and when it gives up an incremental sync for a full one.
 */
describe('SalesforceAdapter against the sandbox', () => {
  let sandbox: SalesforceSandbox;
  let logins = 0;

  /** A connection as the service stores it: a new org user (login_hint) each time, so describes are not shared. */
  async function connection() {
    const answer = await obtainSandboxTokens(sandbox, { loginHint: `user-${++logins}@sandbox.example` });
    const credentials: OAuthCredentials = { kind: 'oauth2', accessToken: answer.access_token, refreshToken: answer.refresh_token };
    return { credentials, config: { instanceUrl: answer.instance_url, identityUrl: answer.id } as Record<string, unknown> };
  }

  const newAdapter = () => new SalesforceAdapter({ loginUrl: sandbox.url, clientId: sandbox.clientId, clientSecret: async () => sandbox.clientSecret, pageSize: 200, bulk: { threshold: Infinity } });

  /** Reads a whole sync: its pages and the watermark it leaves, or the page that asked for a full sync instead. */
  async function sync(adapter: SalesforceAdapter, conn: Awaited<ReturnType<typeof connection>>, mode: ReadPageRequest['mode'], watermark: Record<string, string> | null = null) {
    const pages: SourcePage[] = [];
    let cursor: ReadPageRequest['cursor'] = null;
    for (;;) {
      const page = await adapter.readPage(conn.credentials, conn.config, { mode, cursor, watermark });
      pages.push(page);
      if (page.restartAsFull || !page.nextCursor) break;
      cursor = page.nextCursor;
    }
    const last = pages.at(-1)!;
    return { pages, records: pages.flatMap((page) => page.records), watermark: last.watermark ?? {}, restartAsFull: last.restartAsFull === true };
  }

  const requests = (endpoint: string) => sandbox.stats().byEndpoint[endpoint] ?? 0;

  beforeAll(async () => {
    sandbox = await startSalesforceSandbox({ accounts: 250, people: 300, opportunities: 60 });
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.failures.reset();
    sandbox.fieldVisibility.hide({});
  });

  describe('fields the user cannot read', () => {
    it('selects only the mapped fields the describe lists: a sync completes without the hidden attributes', async () => {
      const conn = await connection();
      sandbox.fieldVisibility.hide({ Account: ['AnnualRevenue'], Opportunity: ['Probability'] });
      sandbox.resetStats();

      const { records } = await sync(newAdapter(), conn, 'full');

      expect(records).toHaveLength(250 + 300 + 60);
      const accounts = records.filter((record) => record.type === 'accounts');
      const opportunities = records.filter((record) => record.type === 'opportunities');
      expect(accounts.some((record) => 'annualRevenue' in record.attributes)).toBe(false);
      expect(accounts.filter((record) => 'employees' in record.attributes).length).toBeGreaterThan(100);
      expect(opportunities.some((record) => 'probability' in record.attributes)).toBe(false);
      expect(opportunities.every((record) => 'stage' in record.attributes)).toBe(true);
      // One describe per object, counted against the org's allowance like every call.
      expect(requests('describe')).toBe(4);
      expect(sandbox.stats().apiUsage).toBe(4 + requests('query') + requests('queryMore'));
    });

    it('would fail with INVALID_FIELD selecting the fixed field list, as the adapter did before it read the describe', async () => {
      const conn = await connection();
      sandbox.fieldVisibility.hide({ Account: ['AnnualRevenue'] });
      const adapter = newAdapter();
      const fixed = 'SELECT Id, SystemModstamp, IsDeleted, Name, Website, Industry, NumberOfEmployees, AnnualRevenue, BillingCountry FROM Account';

      const error = await adapter.get(conn.credentials, conn.config, `/services/data/v62.0/query?q=${encodeURIComponent(fixed)}`).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).message).toBe('Salesforce refused the request (INVALID_FIELD).');
    });

    it('describes each object once for a few minutes, and again at once when a query finds a field hidden since', async () => {
      const conn = await connection();
      const adapter = newAdapter();
      await sync(adapter, conn, 'full');
      sandbox.resetStats();

      const again = await sync(adapter, conn, 'full');
      expect(requests('describe')).toBe(0);
      expect(again.records.some((record) => 'annualRevenue' in record.attributes)).toBe(true);

      // An admin hides a field after the describe was cached: the query refused, one new describe, read without it.
      sandbox.fieldVisibility.hide({ Account: ['AnnualRevenue'] });
      const after = await sync(adapter, conn, 'full');
      expect(requests('describe')).toBe(1);
      expect(after.records.filter((record) => record.type === 'accounts').some((record) => 'annualRevenue' in record.attributes)).toBe(false);
    });

    it('keeps a describe for its TTL per org user, shares one in flight, and forgets a failed one', async () => {
      const conn = await connection();
      const org = new SalesforceOrg(conn.credentials, conn.config);
      let now = 0;
      const cache = new DescribeCache(() => now);
      sandbox.resetStats();

      const [first, second] = await Promise.all([cache.fieldsOf(org, org.userKey, 'Lead'), cache.fieldsOf(org, org.userKey, 'Lead')]);
      expect(first.fields).toBe(second.fields);
      expect(requests('describe')).toBe(1);
      now += DESCRIBE_TTL_MS - 1;
      expect((await cache.fieldsOf(org, org.userKey, 'Lead')).fresh).toBe(false);
      // Another user of the org has a field-level security of its own: described apart.
      await cache.fieldsOf(org, 'another-user', 'Lead');
      expect(requests('describe')).toBe(2);
      now += 1;
      expect((await cache.fieldsOf(org, org.userKey, 'Lead')).fresh).toBe(true);
      expect(requests('describe')).toBe(3);

      const failing = await cache.fieldsOf(org, org.userKey, 'Invoice__c').catch((error: unknown) => error);
      expect((failing as ProviderError).message).toMatch(/cannot read Invoice__c records; give it read access/);
      await cache.fieldsOf(org, org.userKey, 'Invoice__c').catch(() => undefined);
      expect(requests('describe')).toBe(5);
    });
  });

  describe('hard deletes', () => {
    /** A full sync, then the sandbox clock a few minutes on (/deleted ignores seconds and the current minute). */
    async function synced() {
      const conn = await connection();
      const adapter = newAdapter();
      const full = await sync(adapter, conn, 'full');
      sandbox.advanceTime(2 * 60_000);
      return { conn, adapter, watermark: full.watermark };
    }

    it('removes records purged from the recycle bin in the next incremental sync, and those still in it once', async () => {
      const { conn, adapter, watermark } = await synced();
      expect(Object.keys(watermark).sort()).toEqual(['Account', 'Account.deleted', 'Contact', 'Contact.deleted', 'Lead', 'Lead.deleted', 'Opportunity', 'Opportunity.deleted']);
      const removed = sandbox.data.remove('Contact', 5);
      const purged = sandbox.data.purge('Contact', 3);
      sandbox.advanceTime(2 * 60_000);
      sandbox.resetStats();

      const incremental = await sync(adapter, conn, 'incremental', watermark);

      const deletions = incremental.records.filter((record) => record.deleted);
      // Purged ones only /deleted names; the two still in the bin come from both reads.
      expect(new Set(deletions.map((record) => record.sourceId))).toEqual(new Set(removed));
      expect(deletions.filter((record) => purged.includes(record.sourceId))).toHaveLength(3);
      expect(deletions.every((record) => record.type === 'people')).toBe(true);
      // One queryAll and one /deleted per object: no more.
      expect(sandbox.stats().byEndpoint).toEqual({ queryAll: 4, deleted: 4 });
      // The next window starts where this one's coverage ended.
      expect(Date.parse(incremental.watermark['Contact.deleted']!)).toBeGreaterThan(Date.parse(watermark['Contact.deleted']!));
    });

    it('ends with a record restored from the recycle bin live: its deletion comes before its queryAll row', async () => {
      const { conn, adapter, watermark } = await synced();
      const [restored] = sandbox.data.remove('Lead', 1);
      sandbox.advanceTime(2 * 60_000);
      sandbox.data.undelete('Lead', 1);
      sandbox.advanceTime(2 * 60_000);

      const { records } = await sync(adapter, conn, 'incremental', watermark);

      const mentions = records.filter((record) => record.sourceId === restored);
      expect(mentions.map((record) => record.deleted)).toEqual([true, false]);
    });

    it('asks for a full sync when the deletions since the watermark are older than Salesforce keeps (15 days)', async () => {
      const { conn, adapter, watermark } = await synced();
      const old = new Date(Date.now() - 16 * DAY).toISOString();
      sandbox.resetStats();

      const stale = await sync(adapter, conn, 'incremental', { ...watermark, 'Lead.deleted': old });

      expect(stale.restartAsFull).toBe(true);
      expect(stale.pages).toHaveLength(1);
      // Decided before any call: nothing spent.
      expect(sandbox.stats().apiUsage).toBe(0);
      // Watermarks written before deletions were read: the SystemModstamp watermark stands in.
      expect((await sync(adapter, conn, 'incremental', { Account: old })).restartAsFull).toBe(true);
    });

    it('asks for a full sync when the org says the window is not covered: its clock 16 days on, or its delete log purged', async () => {
      const first = await synced();
      sandbox.data.purgeDeleteLog('Opportunity');
      sandbox.advanceTime(2 * 60_000);
      const purged = await sync(first.adapter, first.conn, 'incremental', first.watermark);
      expect(purged.restartAsFull).toBe(true);
      // Account, Contact and Lead were read first; the engine drops this sync's progress and starts over.
      expect(purged.pages).toHaveLength(4);

      const second = await synced();
      sandbox.advanceTime(16 * DAY);
      const stale = await sync(second.adapter, second.conn, 'incremental', second.watermark);
      expect(stale.restartAsFull).toBe(true);
      expect(stale.pages).toHaveLength(1);
    });
  });

  describe('OAuth details', () => {
    it('answers the instance URL of a refresh when it differs from the stored one', async () => {
      const conn = await connection();
      const adapter = newAdapter();

      expect(await adapter.refresh(conn.credentials, conn.config)).not.toHaveProperty('configUpdate');
      const moved = await adapter.refresh(conn.credentials, { ...conn.config, instanceUrl: 'https://old-instance.example' });
      expect(moved).toMatchObject({ kind: 'oauth2', configUpdate: { instanceUrl: sandbox.url } });
    });

    it('counts only invalid_token as a revoke done: another 400 is a failed revoke', async () => {
      const adapter = newAdapter();
      await expect(adapter.revoke({ kind: 'oauth2', accessToken: 'never-issued' })).resolves.toBeUndefined();

      const conn = await connection();
      sandbox.failures.revokeRefused(1);
      await expect(adapter.revoke(conn.credentials)).rejects.toThrow('Salesforce did not revoke the token (unsupported_token_type).');
      await expect(adapter.revoke(conn.credentials)).resolves.toBeUndefined();
    });
  });
});
