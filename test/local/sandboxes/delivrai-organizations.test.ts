import { afterEach, describe, expect, it } from 'vitest';
import {
  type DelivrAiSandbox,
  type DelivrAiSandboxOptions,
  type DelivrAiWireEvent,
  defaultDataSetSizes,
  defaultExtraOrganizationSizes,
  HISTORY_MS,
  startDelivrAiSandbox,
} from '../../../local/sandboxes/delivrai';

const T0 = Date.UTC(2026, 2, 5, 8, 0, 0);
const DAY = 24 * 3600 * 1000;
interface EventsAnswer {
  data: DelivrAiWireEvent[];
  total: number;
}

const opened: DelivrAiSandbox[] = [];
async function start(options: DelivrAiSandboxOptions = {}): Promise<DelivrAiSandbox> {
  const started = await startDelivrAiSandbox({ now: () => T0, ...options });
  opened.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

/** A query as the adapter sends it: bearer key, `x-organization-id`, `organization_id`. */
function events(sandbox: DelivrAiSandbox, key: string, organizationId: string, from: number, offset = 0, headers: Record<string, string> = {}) {
  const url = new URL('/api/v1/events', sandbox.url);
  url.search = new URLSearchParams({
    organization_id: organizationId,
    start_ms: String(from),
    end_ms: String(from + DAY),
    limit: '1000',
    offset: String(offset),
  }).toString();
  return fetch(url, { headers: { Authorization: `Bearer ${key}`, 'x-organization-id': organizationId, ...headers } });
}

/** Every event of an organization's generated history. */
async function history(sandbox: DelivrAiSandbox, key: string, organizationId: string): Promise<DelivrAiWireEvent[]> {
  const all: DelivrAiWireEvent[] = [];
  for (let from = T0 - HISTORY_MS; from < T0; from += DAY) {
    for (let offset = 0; ; ) {
      const response = await events(sandbox, key, organizationId, from, offset);
      expect(response.status).toBe(200);
      const page = (await response.json()) as EventsAnswer;
      all.push(...page.data);
      offset += page.data.length;
      if (offset >= page.total) break;
    }
  }
  return all;
}

const distinct = (list: DelivrAiWireEvent[], key: 'person_id' | 'company_domain') =>
  new Set(list.map((event) => (key === 'company_domain' ? event.company_domain?.toLowerCase() : event[key]))).size;

describe('Delivr.ai sandbox with several organizations', () => {
  it('keeps the first organization as it was and serves another its own data set', async () => {
    const sandbox = await start({ organizations: [{ id: 'other-org', apiKey: 'other-key', visitors: 50, companies: 12 }] });
    expect(sandbox.organization()).toMatchObject({ organizationId: 'sandbox-org', apiKey: 'sandbox-key' });
    expect(sandbox.organization().data).toBe(sandbox.data);
    const other = sandbox.organization('other-org');
    expect(other).toMatchObject({ organizationId: 'other-org', apiKey: 'other-key', projectId: 'other-org-project', pixelId: 'other-org-pixel' });
    expect(sandbox.organizations().map((org) => org.organizationId)).toEqual(['sandbox-org', 'other-org']);
    expect(() => sandbox.organization('nope')).toThrow(RangeError);

    const first = await history(sandbox, 'sandbox-key', 'sandbox-org');
    const second = await history(sandbox, 'other-key', 'other-org');
    expect(distinct(first, 'person_id')).toBe(defaultDataSetSizes.visitors);
    expect(distinct(first, 'company_domain')).toBe(defaultDataSetSizes.companies);
    expect(distinct(second, 'person_id')).toBe(50);
    expect(distinct(second, 'company_domain')).toBe(12);
    expect(second.length).toBe(other.data.count().events);
    expect(second.every((event) => event.organization_id === 'other-org' && event.pixel_id === 'other-org-pixel')).toBe(true);
    const firstPeople = new Set(first.map((event) => event.person_id));
    expect(second.filter((event) => firstPeople.has(event.person_id))).toEqual([]);
    const firstEvents = new Set(first.map((event) => event.event_id));
    expect(second.filter((event) => firstEvents.has(event.event_id))).toEqual([]);
  });

  it("refuses one organization's key for the other organization", async () => {
    const sandbox = await start({ organizations: [{ id: 'other-org', apiKey: 'other-key' }] });
    const from = T0 - DAY;
    expect((await events(sandbox, 'other-key', 'sandbox-org', from)).status).toBe(403);
    expect((await events(sandbox, 'sandbox-key', 'other-org', from)).status).toBe(403);
    expect((await events(sandbox, 'wrong-key', 'other-org', from)).status).toBe(401);
    // With its secret, as the current scheme sends it, the key reaches its organization's pixel only.
    const url = new URL('/api/v1/events', sandbox.url);
    url.search = new URLSearchParams({ pixel_id: 'other-org-pixel', start_ms: String(from), end_ms: String(from + DAY) }).toString();
    const pair = (key: string) => ({ 'X-Api-Key': key, 'X-Api-Secret': 'sandbox-secret' });
    expect((await fetch(url, { headers: pair('other-key') })).status).toBe(200);
    expect((await fetch(url, { headers: pair('sandbox-key') })).status).toBe(403);
  });

  it('gives each organization its own secret when asked to, which reaches only it', async () => {
    const sandbox = await start({ organizations: [{ id: 'other-org', apiKey: 'other-key', apiSecret: 'other-secret' }] });
    expect(sandbox.organization('other-org')).toMatchObject({ apiKey: 'other-key', apiSecret: 'other-secret' });
    const url = new URL('/api/v1/events', sandbox.url);
    url.search = new URLSearchParams({ pixel_id: 'other-org-pixel', start_ms: String(T0 - DAY), end_ms: String(T0) }).toString();
    expect((await fetch(url, { headers: { 'X-Api-Key': 'other-key', 'X-Api-Secret': 'other-secret' } })).status).toBe(200);
    expect((await fetch(url, { headers: { 'X-Api-Key': 'other-key', 'X-Api-Secret': 'sandbox-secret' } })).status).toBe(401);
  });

  it('lets one key reach several organizations, picked by x-organization-id, when an organization names no key of its own', async () => {
    const sandbox = await start({ organizations: [{ id: 'other-org' }] });
    expect(sandbox.organization('other-org').apiKey).toBe('sandbox-key');
    expect(sandbox.organization('other-org').data.count()).toMatchObject({
      people: defaultExtraOrganizationSizes.visitors,
      companies: defaultExtraOrganizationSizes.companies,
    });
    const from = T0 - DAY;
    const first = (await (await events(sandbox, 'sandbox-key', 'sandbox-org', from)).json()) as EventsAnswer;
    const second = (await (await events(sandbox, 'sandbox-key', 'other-org', from)).json()) as EventsAnswer;
    expect(first.data.every((event) => event.organization_id === 'sandbox-org')).toBe(true);
    expect(second.data.every((event) => event.organization_id === 'other-org')).toBe(true);
    expect(second.data.length).toBeGreaterThan(0);
    // The header and the scope must agree.
    expect((await events(sandbox, 'sandbox-key', 'other-org', from, 0, { 'x-organization-id': 'sandbox-org' })).status).toBe(403);
    expect((await events(sandbox, 'sandbox-key', 'third-org', from)).status).toBe(403);
  });

  it("changes each organization's data on its own, in code and over HTTP", async () => {
    const sandbox = await start({ organizations: [{ id: 'other-org', apiKey: 'other-key' }] });
    const before = sandbox.data.count();
    const otherBefore = sandbox.organization('other-org').data.count();
    sandbox.organization('other-org').data.addVisits(3);
    const response = await fetch(new URL('/__sandbox/data', sandbox.url), {
      method: 'POST',
      body: JSON.stringify({ addVisits: 2, organization: 'other-org' }),
    });
    expect(response.status).toBe(200);
    expect(sandbox.organization('other-org').data.count().events).toBe(otherBefore.events + 5);
    expect(sandbox.data.count()).toEqual(before);
    const unknown = await fetch(new URL('/__sandbox/data', sandbox.url), { method: 'POST', body: JSON.stringify({ addVisits: 1, organization: 'nope' }) });
    expect(unknown.status).toBe(400);
    const state = (await (await fetch(new URL('/__sandbox/state', sandbox.url))).json()) as { organizations: Array<{ organizationId: string }> };
    expect(state.organizations.map((org) => org.organizationId)).toEqual(['sandbox-org', 'other-org']);
    expect(JSON.stringify(state)).not.toContain('other-key');
  });

  it('refuses bad organization options', async () => {
    await expect(start({ organizations: [{ id: 'sandbox-org' }] })).rejects.toThrow(RangeError);
    await expect(start({ organizations: [{ id: 'a' }, { id: 'a' }] })).rejects.toThrow(RangeError);
    await expect(start({ organizations: [{ id: 'a b' }] })).rejects.toThrow(RangeError);
    await expect(start({ organizations: [{ id: 'a', apiKey: '' }] })).rejects.toThrow(RangeError);
  });
});
