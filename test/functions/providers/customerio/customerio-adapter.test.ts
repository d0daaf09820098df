import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, ProviderError } from '../../../../functions/core/errors';
import { CustomerIoAdapter, errorDetail, EVERYONE_FILTER } from '../../../../functions/providers/customerio/customerio-adapter';
import { joinApiKeyAndSecret } from '../../../../functions/providers/http';
import { toSourceRecord } from '../../../../functions/providers/customerio/customerio-people';
import type { Credentials, SourcePage, SourceRecord, SyncCursor } from '../../../../functions/providers/types';
import { type CustomerIoSandbox, startCustomerIoSandbox } from '../../../../local/sandboxes/customerio';

let sandbox: CustomerIoSandbox;
let adapter: CustomerIoAdapter;
const credentials: Credentials = { kind: 'apiKey', apiKey: 'sandbox-key' };
const us = { region: 'us' };

beforeEach(async () => {
  sandbox = await startCustomerIoSandbox();
  adapter = new CustomerIoAdapter({ baseUrls: { us: sandbox.url, eu: sandbox.url } });
});
afterEach(async () => {
  await sandbox.close();
});

function readPage(cursor: SyncCursor | null = null, creds: Credentials = credentials): Promise<SourcePage> {
  return adapter.readPage(creds, us, { mode: 'full', cursor, watermark: null });
}

/** Reads page after page until nextCursor is null, as the engine does. */
async function readAll(): Promise<{ records: SourceRecord[]; pages: SourcePage[] }> {
  const pages: SourcePage[] = [];
  let cursor: SyncCursor | null = null;
  do {
    const page = await readPage(cursor);
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return { records: pages.flatMap((page) => page.records), pages };
}

/** The error a promise rejects with (the test fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

/**
 * The raw attributes of people, from a twin sandbox (same seed, same people): asking the
 * adapter's own sandbox would spend its rate limit behind the adapter's back.
 */
async function rawAttributes(cioIds: string[]): Promise<Map<string, Record<string, string>>> {
  const twin = await startCustomerIoSandbox();
  try {
    const response = await fetch(`${twin.url}/v1/customers/attributes?id_type=cio_id`, {
      method: 'POST',
      headers: { authorization: 'Bearer sandbox-key', 'content-type': 'application/json' },
      body: JSON.stringify({ ids: cioIds }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { customers: Array<{ customer: { identifiers: { cio_id: string }; attributes: Record<string, string> } }> };
    return new Map(body.customers.map(({ customer }) => [customer.identifiers.cio_id, customer.attributes]));
  } finally {
    await twin.close();
  }
}

describe('CustomerIoAdapter', () => {
  describe('readPage', () => {
    it('reads all 500 people over pages until nextCursor is null, each exactly once, with mapped attributes', async () => {
      const { records, pages } = await readAll();

      expect(pages).toHaveLength(5);
      expect(records).toHaveLength(500);
      expect(new Set(records.map((record) => record.sourceId)).size).toBe(500);
      expect(pages.every((page) => page.failed === 0 && page.watermark === null)).toBe(true);
      expect(pages.slice(0, -1).every((page) => typeof page.nextCursor?.start === 'string')).toBe(true);
      const sample = records.slice(0, 100);
      const raw = await rawAttributes(sample.map((record) => record.sourceId));
      for (const record of sample) {
        const source = raw.get(record.sourceId) as Record<string, string>;
        expect(record.type).toBe('people');
        expect(record.attributes).toMatchObject({
          email: source.email,
          firstName: source.first_name,
          lastName: source.last_name,
          company: source.company,
          createdAt: new Date(Number(source.created_at) * 1000).toISOString(),
        });
        expect(record.attributes.customerId).toBe(source.id);
        expect(record.modifiedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      }
    });

    it('keys people by cio_id, so people without an id are kept too', async () => {
      const { records } = await readAll();

      const withoutId = records.filter((record) => record.attributes.customerId === undefined);
      expect(withoutId.length).toBeGreaterThan(0);
      expect(records.every((record) => /^[0-9a-f]{8}$/.test(record.sourceId))).toBe(true);
    });

    it('makes two calls a page, one list and one attributes call of at most 100 ids, and never trips the rate limit', async () => {
      await readAll();

      expect(sandbox.stats()).toMatchObject({
        requests: 10,
        byEndpoint: { listCustomers: 5, customerAttributes: 5 },
        rateLimited: 0,
        peopleReturned: 500,
      });
    });

    it('finds people added, changed and removed since the last read on the next full read', async () => {
      const before = new Map((await readAll()).records.map((record) => [record.sourceId, record]));
      const removed = sandbox.data.remove(3);
      const added = sandbox.data.add(2);
      const [modified] = sandbox.data.modify(1) as [string];

      const after = new Map((await readAll()).records.map((record) => [record.sourceId, record]));

      expect(after.size).toBe(499);
      expect(removed.some((cioId) => after.has(cioId))).toBe(false);
      expect(added.every((cioId) => after.has(cioId) && !before.has(cioId))).toBe(true);
      expect(after.get(modified)?.modifiedAt).not.toBe(before.get(modified)?.modifiedAt);
    });

    it('keeps calls under 10 a second when callers overlap, by waiting for a slot', async () => {
      const started = performance.now();

      await Promise.all([readAll(), ...Array.from({ length: 5 }, () => adapter.verifyApiKey('sandbox-key', us))]);

      expect(sandbox.stats()).toMatchObject({ requests: 15, rateLimited: 0 });
      expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
    });
  });

  describe('errors', () => {
    it('turns a 429 into a retryable error carrying Retry-After', async () => {
      sandbox.failures.throttle(1, 7);

      const error = await rejection(readPage());

      expect(error.retryable).toBe(true);
      expect(error.retryAfterSeconds).toBe(7);
      expect(error.reauthorizationRequired).toBe(false);
    });

    it('ends the sync with a clear sentence on a 429 without Retry-After: the daily quota, which no retry lifts', async () => {
      sandbox.failures.dailyQuota(0);

      const error = await rejection(readPage());

      expect(error).toMatchObject({ retryable: false, throttled: true, reauthorizationRequired: false, retryAfterSeconds: undefined });
      expect(error.message).toBe(
        'Customer.io refused further requests today (HTTP 429 without Retry-After: the workspace\'s daily API quota; "Daily request limit reached for this workspace; try again tomorrow"). ' +
          'The sync stopped; it will run again at the next schedule.',
      );
      expect(sandbox.stats().requests).toBe(1);
    });

    it('ends the sync too when the quota runs out between the list and the attributes', async () => {
      sandbox.failures.dailyQuota(1);

      const error = await rejection(readPage());

      expect(error.retryable).toBe(false);
      expect(sandbox.stats().byEndpoint).toEqual({ listCustomers: 1, customerAttributes: 1 });
    });

    it('turns 5xx answers into retryable errors without a wait of their own', async () => {
      sandbox.failures.serverError(1);
      const json = await rejection(readPage());
      sandbox.failures.serverError(1, 503);
      const html = await rejection(readPage());

      for (const error of [json, html]) {
        expect(error.retryable).toBe(true);
        expect(error.retryAfterSeconds).toBeUndefined();
        expect(error.reauthorizationRequired).toBe(false);
      }
      expect(html.message).toContain('503');
    });

    it('tells throttling from an outage, names the host and promises no retry', async () => {
      sandbox.failures.throttle(1, 7);
      const throttled = await rejection(readPage());
      sandbox.failures.serverError(1, 503);
      const outage = await rejection(readPage());

      expect(throttled.throttled).toBe(true);
      expect(outage.throttled).toBe(false);
      expect(outage.message).toBe(`Customer.io at ${new URL(sandbox.url).host} is unavailable (HTTP 503).`);
      for (const error of [throttled, outage]) expect(error.message).not.toMatch(/retried|waits and continues/);
    });

    it('ends a sync with a sentence, not a wait, when Retry-After is longer than 15 minutes', async () => {
      sandbox.failures.throttle(1, 3600);

      const error = await rejection(readPage());

      expect(error.retryable).toBe(false);
      expect(error.throttled).toBe(true);
      expect(error.message).toBe('Customer.io asked us to wait 60 minutes, longer than a sync waits; the sync will run again at the next schedule.');
    });

    it('waits a Retry-After of exactly 15 minutes', async () => {
      sandbox.failures.throttle(1, 15 * 60);

      const error = await rejection(readPage());

      expect(error).toMatchObject({ retryable: true, retryAfterSeconds: 900 });
    });

    it('turns a malformed JSON answer into a retryable error', async () => {
      sandbox.failures.malformedJson(1);

      const error = await rejection(readPage());

      expect(error.retryable).toBe(true);
      expect(error.retryAfterSeconds).toBeUndefined();
    });

    it('turns a 401 into reauthorizationRequired with a sentence saying the key must be replaced, never the key', async () => {
      sandbox.failures.unauthorized(true);

      const error = await rejection(readPage());

      expect(error.reauthorizationRequired).toBe(true);
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/rejected the App API key/);
      expect(error.message).toMatch(/must be replaced/);
      expect(error.message).toMatch(/reconnect/i);
      expect(error.message).not.toContain('sandbox-key');
    });

    it('asks for a reconnect when the stored credentials are not an API key', async () => {
      const error = await rejection(readPage(null, { kind: 'oauth2', accessToken: 'a-token' }));

      expect(error.reauthorizationRequired).toBe(true);
      expect(error.message).not.toContain('a-token');
      expect(sandbox.stats().requests).toBe(0);
    });
  });

  describe('identifiers and the deprecated timestamps', () => {
    it('accepts a numeric cio_id, keying people by its decimal digits', async () => {
      await sandbox.close();
      sandbox = await startCustomerIoSandbox({ cioIdAs: 'number' });
      adapter = new CustomerIoAdapter({ baseUrls: { us: sandbox.url, eu: sandbox.url } });

      const { records, pages } = await readAll();

      expect(records).toHaveLength(500);
      expect(pages.reduce((sum, page) => sum + page.failed, 0)).toBe(0);
      expect(records.every((record) => /^\d+$/.test(record.sourceId))).toBe(true);
    });

    it('reads people without timestamps: no modification time, and a change shows in the attributes the engine compares', async () => {
      await sandbox.close();
      sandbox = await startCustomerIoSandbox({ timestamps: false });
      adapter = new CustomerIoAdapter({ baseUrls: { us: sandbox.url, eu: sandbox.url } });
      const before = new Map((await readAll()).records.map((record) => [record.sourceId, record]));

      const changed = new Set(sandbox.data.modify(3));
      const after = (await readAll()).records;

      expect(after).toHaveLength(500);
      expect(after.every((record) => record.modifiedAt === undefined)).toBe(true);
      const differing = after.filter((record) => JSON.stringify(record.attributes) !== JSON.stringify(before.get(record.sourceId)?.attributes));
      expect(new Set(differing.map((record) => record.sourceId))).toEqual(changed);
    });
  });

  describe('verifyApiKey', () => {
    it('refuses an API secret, which Customer.io does not issue, without calling it', async () => {
      await expect(adapter.verifyApiKey(joinApiKeyAndSecret('sandbox-key', 'a-secret'), us)).rejects.toThrow(
        new InvalidInputError('Customer.io takes no API secret: an App API key is all it needs; remove apiSecret.'),
      );
      expect(sandbox.stats().requests).toBe(0);
    });

    it('accepts the sandbox key with one cheap call', async () => {
      await expect(adapter.verifyApiKey('sandbox-key', us)).resolves.toBeUndefined();

      expect(sandbox.stats().byEndpoint).toEqual({ listCustomers: 1 });
    });

    it('rejects another key with a sentence that does not repeat it', async () => {
      const error = await rejection(adapter.verifyApiKey('not-the-key', us));

      expect(error.message).toBe('Customer.io rejected the API key.');
      expect(error.reauthorizationRequired).toBe(true);
    });

    it('rejects a key that cannot be sent without calling Customer.io', async () => {
      const error = await rejection(adapter.verifyApiKey('two words', us));

      expect(error.reauthorizationRequired).toBe(true);
      expect(sandbox.stats().requests).toBe(0);
    });

    it('reports an outage as a retryable error, not as a rejected key', async () => {
      sandbox.failures.serverError(1);

      const error = await rejection(adapter.verifyApiKey('sandbox-key', us));

      expect(error.retryable).toBe(true);
      expect(error.reauthorizationRequired).toBe(false);
    });

    it("calls the region's base URL", async () => {
      const eu = await startCustomerIoSandbox({ apiKey: 'eu-key', people: 3 });
      try {
        const regional = new CustomerIoAdapter({ baseUrls: { us: sandbox.url, eu: eu.url } });

        await expect(regional.verifyApiKey('eu-key', { region: 'eu' })).resolves.toBeUndefined();
        await expect(regional.verifyApiKey('eu-key', { region: 'us' })).rejects.toThrow('Customer.io rejected the API key.');
        const page = await regional.readPage({ kind: 'apiKey', apiKey: 'eu-key' }, { region: 'eu' }, { mode: 'full', cursor: null, watermark: null });
        expect(page.records).toHaveLength(3);
        expect(page.nextCursor).toBeNull();
      } finally {
        await eu.close();
      }
    });
  });

  describe('parseConfig', () => {
    it('defaults the region to us, accepts eu, and drops anything else', () => {
      expect(adapter.parseConfig(undefined)).toEqual({ region: 'us' });
      expect(adapter.parseConfig({})).toEqual({ region: 'us' });
      expect(adapter.parseConfig({ region: null })).toEqual({ region: 'us' });
      expect(adapter.parseConfig({ region: 'eu', extra: 1 })).toEqual({ region: 'eu' });
    });

    it('refuses any other region with InvalidInputError', () => {
      for (const region of ['EU', 'apac', '', 1, {}]) {
        expect(() => adapter.parseConfig({ region })).toThrow(new InvalidInputError('region must be us or eu'));
      }
    });
  });

  it('always runs a full sync: Customer.io has no "updated since" filter', () => {
    expect(adapter.effectiveSyncType('full')).toBe('full');
    expect(adapter.effectiveSyncType('incremental')).toBe('full');
  });

  it('asks for everyone with a filter of identifiers that every person has', () => {
    expect(EVERYONE_FILTER.or.map((condition) => condition.attribute.field)).toEqual(['cio_id', 'id', 'email']);
  });
});

describe('toSourceRecord', () => {
  it('maps a person, reading cio_id from the identifiers or the attributes', () => {
    const record = toSourceRecord({
      attributes: { cio_id: 'a3000001', email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', company: 'Engines', created_at: '1489014595' },
      timestamps: { email: 1489014595, first_name: 1500000000, _last_emailed: 1700000000 },
      unsubscribed: false,
    });

    expect(record).toEqual({
      type: 'people',
      sourceId: 'a3000001',
      // _last_emailed is activity, not a profile change.
      modifiedAt: new Date(1500000000 * 1000).toISOString(),
      attributes: {
        email: 'ada@example.com',
        firstName: 'Ada',
        lastName: 'Lovelace',
        company: 'Engines',
        createdAt: new Date(1489014595 * 1000).toISOString(),
        unsubscribed: false,
      },
    });
  });

  it('gives null for a person without a cio_id, and leaves out empty values', () => {
    expect(toSourceRecord({ identifiers: { id: '1', email: 'x@example.com', cio_id: null } })).toBeNull();
    expect(toSourceRecord({ identifiers: { cio_id: 'b1', id: '', email: 'y@example.com' }, attributes: { first_name: ' ', created_at: 'soon' } })).toEqual({
      type: 'people',
      sourceId: 'b1',
      modifiedAt: undefined,
      attributes: { email: 'y@example.com' },
    });
  });
});

describe('errorDetail', () => {
  it("reads Customer.io's errors envelope, joining the details", () => {
    expect(errorDetail('{"errors":[{"detail":"filter is required.","status":"400"}]}', 'k')).toBe('filter is required');
    expect(errorDetail('{"errors":[{"detail":"a","status":"400","code":"x"},{"detail":"b","status":"400"}]}', 'k')).toBe('a; b');
  });

  it('reads the meta forms of older examples, and never repeats the key', () => {
    expect(errorDetail('{"meta":{"error":"bad key sk_1"}}', 'sk_1')).toBe('bad key [key]');
    expect(errorDetail('{"meta":{"errors":["one","two"]}}', 'k')).toBe('one; two');
  });

  it('answers undefined for a body without a message', () => {
    for (const text of ['', '<html>', '{}', '{"errors":[{"status":"500"}]}']) expect(errorDetail(text, 'k')).toBeUndefined();
  });
});
