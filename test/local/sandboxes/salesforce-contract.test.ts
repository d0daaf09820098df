import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DELETED_WINDOW_MS, obtainSandboxTokens, startSalesforceSandbox, type SalesforceSandbox } from '../../../local/sandboxes/salesforce';

const API = '/services/data/v62.0';
const MINUTE = 60_000;

/** What a contract case may use: the sandbox, a token of its first org, and one of another org. */
interface Context {
  sandbox: SalesforceSandbox;
  token: string;
  otherOrgToken: string;
  refreshToken: string;
}

interface Refusal {
  /** The request, as a sentence. */
  request: string;
  /** Where the real API's answer is documented. */
  source: string;
  arrange?: (context: Context) => void;
  send: (context: Context) => Promise<Response>;
  status: number;
  /** The REST `errorCode`, or the OAuth `error`. */
  code: string;
}

const at = (base: string, path: string, token: string, init: RequestInit = {}) =>
  fetch(new URL(path, base), { ...init, headers: { Authorization: `Bearer ${token}`, ...init.headers } });
const soql = (query: string) => `${API}/query?q=${encodeURIComponent(query)}`;
/** `2026-12-01T18:00:00+00:00`, as Salesforce's examples spell a /deleted date. */
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
const deleted = (object: string, start: number, end: number) => `${API}/sobjects/${object}/deleted/?${new URLSearchParams({ start: iso(start), end: iso(end) })}`;
const createJob = (context: Context, query: string) =>
  at(context.sandbox.url, `${API}/jobs/query`, context.token, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ operation: 'queryAll', query }),
  });

/**
 * Requests the real Salesforce API refuses, and how. The sandbox must refuse each the same way,
 * so that an adapter change that starts sending one fails here and in the sync tests, not in a
 * customer's org. Add a case whenever a real answer surprises us.
 */
const refusals: Refusal[] = [
  {
    request: 'a REST query naming a field the user cannot read (field-level security)',
    source: 'REST API guide, "No such column" INVALID_FIELD; PROVIDERS.md',
    arrange: ({ sandbox }) => sandbox.fieldVisibility.hide({ Account: ['AnnualRevenue'] }),
    send: ({ sandbox, token }) => at(sandbox.url, soql('SELECT Id, AnnualRevenue FROM Account'), token),
    status: 400,
    code: 'INVALID_FIELD',
  },
  {
    request: 'a Bulk API 2.0 query job naming a field the user cannot read',
    source: 'Bulk API 2.0 guide: the job is refused at creation as the same query over REST',
    arrange: ({ sandbox }) => sandbox.fieldVisibility.hide({ Opportunity: ['Probability'] }),
    send: (context) => createJob(context, 'SELECT Id, Probability FROM Opportunity'),
    status: 400,
    code: 'INVALID_FIELD',
  },
  {
    request: 'a /deleted window starting more than 15 days ago',
    source: 'REST API guide, sObject Get Deleted; SOAP getDeleted() rules',
    send: ({ sandbox, token }) => at(sandbox.url, deleted('Contact', Date.now() - DELETED_WINDOW_MS - 10 * MINUTE, Date.now()), token),
    status: 400,
    code: 'INVALID_REPLICATION_DATE',
  },
  {
    request: 'a /deleted window of one minute (start must precede end by more than a minute)',
    source: 'SOAP getDeleted() rules',
    send: ({ sandbox, token }) => at(sandbox.url, deleted('Contact', Date.now() - MINUTE, Date.now()), token),
    status: 400,
    code: 'INVALID_REPLICATION_DATE',
  },
  {
    request: 'a /deleted window starting before the org purged its delete log',
    source: 'SOAP getDeleted() rules: "If the purge has been performed before your getDeleted() call"',
    arrange: ({ sandbox }) => sandbox.data.purgeDeleteLog('Lead'),
    send: ({ sandbox, token }) => at(sandbox.url, deleted('Lead', Date.now() - 60 * MINUTE, Date.now()), token),
    status: 400,
    code: 'INVALID_REPLICATION_DATE',
  },
  {
    request: 'the describe of an object the org does not have (or the user cannot see)',
    source: 'REST API guide, status codes: 404 NOT_FOUND',
    send: ({ sandbox, token }) => at(sandbox.url, `${API}/sobjects/Invoice__c/describe`, token),
    status: 404,
    code: 'NOT_FOUND',
  },
  {
    request: 'a REST call with an expired session',
    source: 'REST API guide, status codes: 401 INVALID_SESSION_ID',
    arrange: ({ sandbox }) => sandbox.failures.expireSessions(),
    send: ({ sandbox, token }) => at(sandbox.url, soql('SELECT Id FROM Account'), token),
    status: 401,
    code: 'INVALID_SESSION_ID',
  },
  {
    request: "a REST call with another org's access token",
    source: 'a session belongs to its org and instance',
    send: ({ sandbox, otherOrgToken }) => at(sandbox.url, soql('SELECT Id FROM Account'), otherOrgToken),
    status: 401,
    code: 'INVALID_SESSION_ID',
  },
  {
    request: 'a SOQL datetime in quotes',
    source: 'SOQL reference: dateTime literals are not quoted',
    send: ({ sandbox, token }) => at(sandbox.url, soql("SELECT Id FROM Account WHERE SystemModstamp > '2026-03-01T00:00:00Z'"), token),
    status: 400,
    code: 'INVALID_FIELD',
  },
  {
    request: 'a query of an object the org does not have',
    source: "REST API guide: sObject type '...' is not supported (INVALID_TYPE)",
    send: ({ sandbox, token }) => at(sandbox.url, soql('SELECT Id FROM Invoice__c'), token),
    status: 400,
    code: 'INVALID_TYPE',
  },
  {
    request: 'a Bulk API 2.0 query job with COUNT()',
    source: 'Bulk API 2.0 guide: aggregate functions are not supported',
    send: (context) => createJob(context, 'SELECT COUNT() FROM Account'),
    status: 400,
    code: 'API_ERROR',
  },
  {
    request: 'a REST call once the org has used up its daily allowance',
    source: 'REST API guide: 403 REQUEST_LIMIT_EXCEEDED',
    arrange: ({ sandbox }) => sandbox.allowance.set({ used: 100_000 }),
    send: ({ sandbox, token }) => at(sandbox.url, soql('SELECT Id FROM Account'), token),
    status: 403,
    code: 'REQUEST_LIMIT_EXCEEDED',
  },
  {
    request: 'a refresh with a refresh token the user revoked',
    source: 'OAuth refresh token flow: 400 invalid_grant',
    arrange: ({ sandbox }) => sandbox.failures.revokeGrant(),
    send: ({ sandbox, refreshToken }) =>
      fetch(new URL('/services/oauth2/token', sandbox.url), {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: sandbox.clientId, client_secret: sandbox.clientSecret }),
      }),
    status: 400,
    code: 'invalid_grant',
  },
  {
    request: 'a revoke of a token that is no longer valid',
    source: 'OAuth token revocation: 400 invalid_token',
    send: ({ sandbox }) => fetch(new URL('/services/oauth2/revoke', sandbox.url), { method: 'POST', body: new URLSearchParams({ token: 'no-such-token' }) }),
    status: 400,
    code: 'invalid_token',
  },
];

describe('Salesforce sandbox contract: what the real API refuses', () => {
  let context: Context;

  beforeEach(async () => {
    const sandbox = await startSalesforceSandbox({ accounts: 5, people: 5, opportunities: 2, orgs: [{ id: 'org-b', accounts: 1, people: 1, opportunities: 1 }] });
    const first = await obtainSandboxTokens(sandbox);
    sandbox.consentAs('org-b');
    const other = await obtainSandboxTokens(sandbox);
    sandbox.consentAs();
    context = { sandbox, token: first.access_token, otherOrgToken: other.access_token, refreshToken: first.refresh_token! };
  });
  afterEach(() => context.sandbox.close());

  it.each(refusals.map((refusal) => [refusal.request, refusal] as const))('refuses %s', async (_request, refusal) => {
    refusal.arrange?.(context);

    const answer = await refusal.send(context);

    expect(answer.status).toBe(refusal.status);
    const body = (await answer.json()) as Array<{ errorCode?: string; message?: string }> | { error?: string };
    const code = Array.isArray(body) ? body[0]?.errorCode : body.error;
    expect(code).toBe(refusal.code);
    // REST errors are Salesforce's JSON array with a message; OAuth errors an object with a description.
    if (Array.isArray(body)) expect(body[0]?.message).toEqual(expect.any(String));
  });
});
