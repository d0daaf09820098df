import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../../support/local-stack';

describe('Salesforce sync through the local stack', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());

  it('a first sync brings in the whole default data set', async () => {
    await stack.connectSalesforce('acme');
    const admin = stack.client('acme', 'admin');

    expect(await admin.connector.triggerSync.mutate({ connectorId: 'salesforce' })).toMatchObject({ queued: true, connectorId: 'salesforce', fullSync: false });
    await stack.stepFunctions.idle();

    expect(await admin.connector.getEntityCounts.query({ connectorId: 'salesforce' })).toEqual({ accounts: 340, people: 1250, opportunities: 89 });
    const [latest] = await admin.connector.getSyncHistory.query({ connectorId: 'salesforce' });
    expect(latest).toMatchObject({ status: 'completed', recordsCreated: 1679, recordsFailed: 0 });
    expect(await admin.connector.getStatus.query({ connectorId: 'salesforce' })).toMatchObject({ status: 'connected', lastSyncError: null });
  });
});
