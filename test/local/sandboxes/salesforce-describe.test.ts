import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { obtainSandboxTokens, objectFields, startSalesforceSandbox, type SalesforceSandbox } from '../../../local/sandboxes/salesforce';

const API = '/services/data/v62.0';
const NO_SUCH_COLUMN = (field: string, object: string) =>
  `No such column '${field}' on entity '${object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`;

describe('Salesforce sandbox: describe and field-level security', () => {
  let sandbox: SalesforceSandbox;
  let token: string;
  const get = (path: string, base = sandbox.url, accessToken = token) => fetch(new URL(path, base), { headers: { Authorization: `Bearer ${accessToken}` } });
  const query = (soql: string) => get(`${API}/query?q=${encodeURIComponent(soql)}`);
  const createJob = (soql: string) =>
    fetch(new URL(`${API}/jobs/query`, sandbox.url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ operation: 'queryAll', query: soql }),
    });
  const describeFields = async (object: string, slash = '') => ((await (await get(`${API}/sobjects/${object}/describe${slash}`)).json()) as { fields: Array<{ name: string }> }).fields.map((field) => field.name);

  beforeAll(async () => {
    sandbox = await startSalesforceSandbox({ accounts: 20, people: 20, opportunities: 5, orgs: [{ id: 'org-b', accounts: 5, people: 5, opportunities: 2 }] });
    token = (await obtainSandboxTokens(sandbox)).access_token;
  });
  afterAll(() => sandbox.close());
  afterEach(() => {
    sandbox.fieldVisibility.hide({});
    sandbox.org('org-b').fieldVisibility.hide({});
  });

  it('describes an object: its system fields and its own fields, with types, in a counted REST call', async () => {
    sandbox.resetStats();
    const answer = await get(`${API}/sobjects/Account/describe`);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('sforce-limit-info')).toBe('api-usage=1/100000');
    const body = (await answer.json()) as { name: string; keyPrefix: string; queryable: boolean; fields: Array<{ name: string; type: string }> };
    expect(body).toMatchObject({ name: 'Account', keyPrefix: '001', queryable: true });
    expect(body.fields.map((field) => field.name)).toEqual(['Id', 'SystemModstamp', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', ...objectFields.Account]);
    expect(body.fields.find((field) => field.name === 'AnnualRevenue')?.type).toBe('currency');
    expect(sandbox.stats().byEndpoint.describe).toBe(1);
    // The trailing slash is the same resource; object names are case-insensitive.
    expect(await describeFields('opportunity', '/')).toContain('Probability');
  });

  it('leaves hidden fields out of the describe and refuses them in REST queries and Bulk jobs with INVALID_FIELD', async () => {
    expect(sandbox.fieldVisibility.hide({ Account: ['AnnualRevenue'], Opportunity: ['Probability'] })).toEqual({ Account: ['AnnualRevenue'], Opportunity: ['Probability'] });

    expect(await describeFields('Account')).not.toContain('AnnualRevenue');
    expect(await describeFields('Opportunity')).not.toContain('Probability');
    expect(await describeFields('Contact')).toEqual(expect.arrayContaining([...objectFields.Contact]));
    for (const [soql, field, object] of [
      ['SELECT Id, annualrevenue FROM Account', 'annualrevenue', 'Account'],
      ['SELECT Id, Probability FROM Opportunity', 'Probability', 'Opportunity'],
    ] as const) {
      const rest = await query(soql);
      expect(rest.status).toBe(400);
      expect(await rest.json()).toEqual([{ message: NO_SUCH_COLUMN(field, object), errorCode: 'INVALID_FIELD' }]);
      const bulk = await createJob(soql);
      expect(bulk.status).toBe(400);
      expect(await bulk.json()).toEqual([{ message: NO_SUCH_COLUMN(field, object), errorCode: 'INVALID_FIELD' }]);
    }
    // The fields still visible are read as before.
    expect((await query('SELECT Id, Name, Website FROM Account')).status).toBe(200);
  });

  it('keeps field visibility per org, settable over HTTP, and refuses what cannot be hidden', async () => {
    const control = (body: unknown) => fetch(new URL('/__sandbox/fields', sandbox.url), { method: 'POST', body: JSON.stringify(body) });

    const answer = await control({ org: 'org-b', hidden: { Lead: ['Status'] } });
    expect(await answer.json()).toEqual({ org: 'org-b', hidden: { Lead: ['Status'] } });
    expect(sandbox.org('org-b').fieldVisibility.hidden()).toEqual({ Lead: ['Status'] });
    expect(sandbox.fieldVisibility.hidden()).toEqual({});
    expect(await (await control({})).json()).toEqual({ org: 'default', hidden: {} });

    expect((await control({ hidden: { Account: ['Id'] } })).status).toBe(400);
    expect(() => sandbox.fieldVisibility.hide({ Account: ['SystemModstamp'] })).toThrow(RangeError);
    expect(() => sandbox.fieldVisibility.hide({ Account: ['Nope'] })).toThrow(/cannot hide Account\.Nope/);
    expect(sandbox.fieldVisibility.hidden()).toEqual({});
    const state = (await (await fetch(new URL('/__sandbox/state', sandbox.url))).json()) as { orgs: Array<{ id: string; hiddenFields: unknown }> };
    expect(state.orgs.find((org) => org.id === 'org-b')?.hiddenFields).toEqual({ Lead: ['Status'] });
  });

  it('answers 404 NOT_FOUND for the describe of an object it does not have', async () => {
    const answer = await get(`${API}/sobjects/Invoice__c/describe`);
    expect(answer.status).toBe(404);
    expect(await answer.json()).toEqual([{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
  });
});
