import { SalesforceAdapter } from '../../functions/providers/salesforce/salesforce-adapter';
import { startSalesforceSandbox } from '../../local/sandboxes/salesforce';
import { freshTable } from './dynamodb';
import { connectThroughOAuth } from './oauth';
import { localCredentialService } from './credentials';

/** Records per page in {@link startSalesforceSyncFixture}: tiny, so a sync has many pages. */
export const FIXTURE_PAGE_SIZE = 200;

/**
 * What a sync engine needs below the state machine, for service-level sync tests: a fresh
 * table on DynamoDB Local, the Salesforce sandbox over HTTP (450 accounts, 1,300 people,
 * 250 opportunities), its adapter with {@link FIXTURE_PAGE_SIZE}-record pages, and a
 * credential service with a local key. Bulk reads are off.
 */
export async function startSalesforceSyncFixture() {
  const table = await freshTable();
  const sandbox = await startSalesforceSandbox({ accounts: 450, people: 1300, opportunities: 250 });
  const adapter = new SalesforceAdapter({
    loginUrl: sandbox.url,
    clientId: sandbox.clientId,
    clientSecret: async () => sandbox.clientSecret,
    pageSize: FIXTURE_PAGE_SIZE,
    // REST pages only, so a sync's requests are its pages (readPages); Bulk reads have tests of their own.
    bulk: { threshold: Infinity },
  });
  const credentialService = localCredentialService(table, () => adapter);
  return {
    table,
    sandbox,
    adapter,
    credentialService,
    /** A sync's read pages: one query page (one request) after another, per object (an object's first page also reads its describe, once per 10 minutes). */
    readPages: () => Object.values(sandbox.data.counts()).reduce((pages, n) => pages + Math.max(1, Math.ceil(n / FIXTURE_PAGE_SIZE)), 0),
    /** Connects `tenantId` through the real OAuth flow against the sandbox. */
    connect: (tenantId: string) => connectThroughOAuth({ client: table.client, tableName: table.tableName, credentialService, adapter, tenantId }),
    async close() {
      await sandbox.close();
      table.destroy();
    },
  };
}

export type SalesforceSyncFixture = Awaited<ReturnType<typeof startSalesforceSyncFixture>>;
