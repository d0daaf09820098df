import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DELETED_WINDOW_MS, obtainSandboxTokens, startSalesforceSandbox, type SalesforceSandbox } from '../../../local/sandboxes/salesforce';

const API = '/services/data/v62.0';
const MINUTE = 60_000;

interface DeletedAnswer {
  deletedRecords: Array<{ id: string; deletedDate: string }>;
  earliestDateAvailable: string;
  latestDateCovered: string;
}

/** `2026-12-01T18:00:00+00:00`, the form Salesforce's examples use. */
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');

describe('Salesforce sandbox: the recycle bin, its purge, and /sobjects/{Object}/deleted', () => {
  let sandbox: SalesforceSandbox;
  let token: string;
  /** The sandbox's clock: it moves only with advanceTime, on top of ours. */
  let offset: number;
  const now = () => Date.now() + offset;
  const advance = (ms: number) => {
    sandbox.advanceTime(ms);
    offset += ms;
  };
  const get = (path: string) => fetch(new URL(path, sandbox.url), { headers: { Authorization: `Bearer ${token}` } });
  const deleted = (object: string, start: number, end: number) =>
    get(`${API}/sobjects/${object}/deleted/?${new URLSearchParams({ start: iso(start), end: iso(end) })}`);
  const queryAllIds = async (object: string) =>
    ((await (await get(`${API}/queryAll?q=${encodeURIComponent(`SELECT Id, IsDeleted FROM ${object}`)}`)).json()) as { records: Array<{ Id: string; IsDeleted: boolean }> }).records;

  beforeEach(async () => {
    sandbox = await startSalesforceSandbox({ accounts: 30, people: 40, opportunities: 10 });
    token = (await obtainSandboxTokens(sandbox)).access_token;
    offset = 0;
  });
  afterEach(() => sandbox.close());

  it('lists deletions of the window, in the recycle bin or purged from it, with what it covers', async () => {
    const start = now() - 10 * MINUTE;
    const binned = sandbox.data.remove('Contact', 3);
    const purgedLater = sandbox.data.remove('Contact', 2);
    expect(sandbox.data.purge('Contact', 2)).toEqual(binned.slice(0, 2));
    advance(2 * MINUTE);

    const answer = await deleted('Contact', start, now());

    expect(answer.status).toBe(200);
    expect(answer.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/100000$/);
    const body = (await answer.json()) as DeletedAnswer;
    expect(body.deletedRecords.map((record) => record.id).sort()).toEqual([...binned, ...purgedLater].sort());
    expect(body.deletedRecords[0]!.deletedDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
    // Seconds are ignored: the answer covers up to the current minute.
    expect(Date.parse(body.latestDateCovered.replace('+0000', 'Z'))).toBe(Math.floor(now() / MINUTE) * MINUTE);
    expect(Date.parse(body.earliestDateAvailable.replace('+0000', 'Z'))).toBeLessThanOrEqual(start);
    // queryAll still sees what sits in the recycle bin, never what was purged from it.
    const inBin = (await queryAllIds('Contact')).filter((record) => record.IsDeleted).map((record) => record.Id);
    expect(inBin.sort()).toEqual([binned[2]!, ...purgedLater].sort());
    expect(sandbox.data.deletedCounts().Contact).toBe(3);
  });

  it('lists nothing deleted in the current minute or after the window, and an undeleted record stays listed', async () => {
    const start = now() - 5 * MINUTE;
    const [gone] = sandbox.data.remove('Lead', 1);
    const first = (await (await deleted('Lead', start, now() + 60 * MINUTE)).json()) as DeletedAnswer;
    // Deleted this very minute: the next window, from latestDateCovered, finds it.
    expect(first.deletedRecords.map((record) => record.id)).not.toContain(gone);
    // A window must be longer than a minute, seconds ignored.
    advance(2 * MINUTE);
    const second = (await (await deleted('Lead', Date.parse(first.latestDateCovered.replace('+0000', 'Z')), now())).json()) as DeletedAnswer;
    expect(second.deletedRecords.map((record) => record.id)).toEqual([gone]);

    expect(sandbox.data.undelete('Lead', 1)).toEqual([gone]);
    const afterUndelete = (await (await deleted('Lead', start, now())).json()) as DeletedAnswer;
    expect(afterUndelete.deletedRecords.map((record) => record.id)).toEqual([gone]);
    expect((await queryAllIds('Lead')).find((record) => record.Id === gone)?.IsDeleted).toBe(false);
  });

  it('answers INVALID_REPLICATION_DATE for a window older than 15 days, one minute long, or older than a purged delete log', async () => {
    const tooOld = await deleted('Account', now() - DELETED_WINDOW_MS - 2 * MINUTE, now());
    expect(tooOld.status).toBe(400);
    expect(((await tooOld.json()) as Array<{ errorCode: string }>)[0]!.errorCode).toBe('INVALID_REPLICATION_DATE');

    const short = await deleted('Account', now() - MINUTE, now());
    expect(((await short.json()) as Array<{ errorCode: string }>)[0]!.errorCode).toBe('INVALID_REPLICATION_DATE');

    const start = now() - 10 * MINUTE;
    expect((await deleted('Account', start, now())).status).toBe(200);
    sandbox.data.purgeDeleteLog('Account');
    const purged = await deleted('Account', start, now() + 5 * MINUTE);
    expect(purged.status).toBe(400);
    expect(((await purged.json()) as Array<{ errorCode: string }>)[0]!.errorCode).toBe('INVALID_REPLICATION_DATE');
    // Other objects' logs are untouched.
    expect((await deleted('Contact', start, now())).status).toBe(200);
  });

  it('is driven over HTTP: remove, purge and purgeDeleteLog in one /__sandbox/data call', async () => {
    const answer = await fetch(new URL('/__sandbox/data', sandbox.url), {
      method: 'POST',
      body: JSON.stringify({ remove: { Opportunity: 3 }, purge: { Opportunity: 2 }, purgeDeleteLog: ['Lead'] }),
    });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { changed: Record<string, Record<string, string[]>> };
    expect(body.changed.purge!.Opportunity).toEqual(body.changed.remove!.Opportunity!.slice(0, 2));
    expect(sandbox.data.deletedCounts().Opportunity).toBe(1);
    expect(sandbox.stats().byEndpoint.deleted).toBeUndefined();
  });
});
