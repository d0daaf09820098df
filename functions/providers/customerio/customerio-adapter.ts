import { ConfigurationError, InvalidInputError, ProviderError } from '../../core/errors';
import type { SyncType } from '../../core/model';
import { atHostOf, comeBackLaterError, providerFetch, readJson, retryAfterSeconds, splitApiKeyAndSecret } from '../http';
import type { ApiKeyAdapter, Credentials, ReadPageRequest, SourcePage, SourceRecord, SyncAdapter } from '../types';
import { cioIdOf, cioIdText, type CustomerIoCustomer, toSourceRecord } from './customerio-people';
import { RequestPacer } from './request-pacer';

const PROVIDER = 'Customer.io';

/** Where a workspace's App API lives. */
export type CustomerIoRegion = 'us' | 'eu';

/** The App API's base URLs per region (paths are `/v1/...`). */
export const CUSTOMERIO_BASE_URLS: Readonly<Record<CustomerIoRegion, string>> = {
  us: 'https://api.customer.io',
  eu: 'https://api-eu.customer.io',
};

/** Where the adapter sends its calls; configuration, never code. */
export interface CustomerIoAdapterConfig {
  /** Base URL per region; the local stack and tests point both at the sandbox. @default CUSTOMERIO_BASE_URLS */
  readonly baseUrls?: { readonly us: string; readonly eu: string };
}

/** The connector's settings once checked. */
export interface CustomerIoConnectorConfig extends Record<string, unknown> {
  region: CustomerIoRegion;
}

/**
 * People per list page. 100 is also the most the attributes call takes, so each page costs
 * exactly two calls: a whole sync of n people makes about n / 50 of them.
 */
export const PAGE_SIZE = 100;
/** The most ids `POST /v1/customers/attributes` accepts in one call. */
const ATTRIBUTES_BATCH = 100;
/**
 * Customer.io allows 10 requests per second. We send at most 10 in any 1.2 s, so arrival
 * jitter on the way cannot push two calls into the same second at Customer.io.
 */
const PACE = { limit: 10, windowMs: 1200 };

/**
 * The audience that is everyone. The filter is required and there is no "match all";
 * every person has a `cio_id`, and an `id` or an email besides. Whether `cio_id` can be
 * filtered on is not spelled out in the documentation, so the other two identifiers are
 * asked for as well: `or` is a union, so no one is listed twice.
 */
export const EVERYONE_FILTER = {
  or: [
    { attribute: { field: 'cio_id', operator: 'exists' } },
    { attribute: { field: 'id', operator: 'exists' } },
    { attribute: { field: 'email', operator: 'exists' } },
  ],
} as const;

interface ListAnswer {
  identifiers?: Array<{ email?: string | null; id?: string | null; cio_id?: string | number | null }>;
  ids?: string[];
  next?: string | null;
}

interface AttributesAnswer {
  customers?: Array<{ customer?: CustomerIoCustomer } & CustomerIoCustomer>;
}

/**
 * Customer.io's App API (an App API key, per region): people, read by listing everyone
 * and fetching their attributes in batches.
 */
export class CustomerIoAdapter implements SyncAdapter, ApiKeyAdapter {
  readonly providerId = 'customerio' as const;
  /** A full sync the list holds every person. */
  readonly fullSyncSeesEverything = true;
  /** Records carry no reliable change time, so a repeat could not be told apart. */
  readonly listsRecordsOnce = false;
  private readonly baseUrls: Readonly<Record<CustomerIoRegion, string>>;
  private readonly pacer = new RequestPacer(PACE.limit, PACE.windowMs);

  constructor(config: CustomerIoAdapterConfig = {}) {
    const baseUrls = config.baseUrls ?? CUSTOMERIO_BASE_URLS;
    for (const region of ['us', 'eu'] as const) {
      if (!/^https?:\/\/[^\s/]+/i.test(baseUrls[region] ?? '')) {
        throw new ConfigurationError(`The Customer.io ${region.toUpperCase()} base URL must be an http(s) URL.`);
      }
    }
    this.baseUrls = { us: baseUrls.us, eu: baseUrls.eu };
  }

  parseConfig(config: Record<string, unknown> | undefined): CustomerIoConnectorConfig {
    const region = config?.region ?? 'us';
    if (region !== 'us' && region !== 'eu') throw new InvalidInputError('region must be us or eu');
    return { region };
  }

  async verifyApiKey(apiKey: string, config: Record<string, unknown>): Promise<void> {
    const { region } = this.parseConfig(config);
    if (splitApiKeyAndSecret(apiKey).apiSecret !== undefined) {
      throw new InvalidInputError('Customer.io takes no API secret: an App API key is all it needs; remove apiSecret.');
    }
    try {
      // The cheapest authenticated call there is: one person's identifiers.
      await this.post<ListAnswer>(apiKey, region, '/v1/customers', { limit: '1' }, { filter: EVERYONE_FILTER });
    } catch (error) {
      if (error instanceof ProviderError && error.reauthorizationRequired) {
        throw new ProviderError('Customer.io rejected the API key.', { provider: PROVIDER, reauthorizationRequired: true });
      }
      throw error;
    }
  }

  /**
   * Always 'full': the App API has no "updated since" filter, so every sync reads the whole
   * list and is recorded as the full sync it is; the engine's sweep then removes the people
   * who were deleted in Customer.io.
   */
  effectiveSyncType(_requested: SyncType): SyncType {
    return 'full';
  }

  /**
   * One page: up to 100 people from the list (`POST /v1/customers`, cursor `{start}`),
   * then their attributes by cio_id (`POST /v1/customers/attributes`, at most 100 ids a
   * call). People listed but gone by the time their attributes are asked for are left out:
   * they were deleted, and the sweep removes any copy we hold.
   */
  async readPage(credentials: Credentials, config: Record<string, unknown>, request: ReadPageRequest): Promise<SourcePage> {
    if (credentials.kind !== 'apiKey') {
      throw new ProviderError('Customer.io needs an App API key; reconnect Customer.io with one.', {
        provider: PROVIDER,
        reauthorizationRequired: true,
      });
    }
    const { region } = this.parseConfig(config);
    const start = typeof request.cursor?.start === 'string' && request.cursor.start !== '' ? request.cursor.start : undefined;
    const list = await this.post<ListAnswer>(
      credentials.apiKey,
      region,
      '/v1/customers',
      { limit: String(PAGE_SIZE), ...(start ? { start } : {}) },
      { filter: EVERYONE_FILTER },
    );
    if (!Array.isArray(list.identifiers)) throw unexpectedAnswer('the list of people');

    let failed = 0;
    const cioIds: string[] = [];
    const seen = new Set<string>();
    for (const identifier of list.identifiers) {
      const cioId = identifier ? cioIdText(identifier.cio_id) : undefined;
      if (!cioId) {
        failed += 1; // Without a cio_id there is nothing to key the person by.
        continue;
      }
      if (seen.has(cioId)) continue;
      seen.add(cioId);
      cioIds.push(cioId);
    }

    const customers = new Map<string, CustomerIoCustomer>();
    for (let i = 0; i < cioIds.length; i += ATTRIBUTES_BATCH) {
      const batch = cioIds.slice(i, i + ATTRIBUTES_BATCH);
      // id_type=cio_id: not every person has an `id`, and the default id_type is `id`.
      const answer = await this.post<AttributesAnswer>(credentials.apiKey, region, '/v1/customers/attributes', { id_type: 'cio_id' }, { ids: batch });
      if (!Array.isArray(answer.customers)) throw unexpectedAnswer("people's attributes");
      for (const entry of answer.customers) {
        // The documentation nests each person under `customer`; a flat entry is read the same way.
        const customer = entry?.customer ?? entry;
        const cioId = customer ? cioIdOf(customer) : undefined;
        if (cioId && seen.has(cioId)) customers.set(cioId, customer);
      }
    }

    const records: SourceRecord[] = [];
    for (const cioId of cioIds) {
      const customer = customers.get(cioId);
      if (!customer) continue;
      const record = toSourceRecord(customer);
      if (record) records.push(record);
      else failed += 1;
    }
    const next = typeof list.next === 'string' && list.next !== '' && list.next !== start ? list.next : null;
    return { records, failed, nextCursor: next ? { start: next } : null, watermark: null };
  }

  /** A POST to the region's App API, paced under the rate limit, with errors mapped to ProviderError. */
  private async post<T>(apiKey: string, region: CustomerIoRegion, path: string, query: Record<string, string>, body: unknown): Promise<T> {
    const key = apiKey.trim();
    // A key with spaces or control characters inside cannot be a header value; say what it is.
    if (key === '' || /[\s\u0000-\u001f\u007f]/.test(key)) throw rejectedKey(region);
    const url = new URL(path, this.baseUrls[region]);
    url.search = new URLSearchParams(query).toString();
    await this.pacer.acquire(key);
    const response = await providerFetch(PROVIDER, url.toString(), {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.ok) return await readJson<T>(PROVIDER, response);
    throw await apiError(response, region, key);
  }
}

/** The sentence for a key Customer.io refuses (reauthorizationRequired: the engine stops scheduling syncs). */
function rejectedKey(region: CustomerIoRegion): ProviderError {
  return new ProviderError(
    `Customer.io rejected the App API key; it may have been revoked, or belong to a workspace outside the ${region.toUpperCase()} region. ` +
      'The key must be replaced: an admin needs to reconnect Customer.io with a valid App API key.',
    { provider: PROVIDER, reauthorizationRequired: true },
  );
}

function unexpectedAnswer(what: string): ProviderError {
  return new ProviderError(`Customer.io answered without ${what}; the answer's format is not one we know.`, { provider: PROVIDER });
}

/**
 * App API errors by status; the body (`{"errors":[{"detail","status","code?"}]}`) adds detail.
 *
 * A 429 with `Retry-After` is the per-second limit: wait that long and go on. A 429 without
 * it is Customer.io's daily quota, which no wait of seconds lifts: the sync ends with a
 * sentence saying so (not retryable), instead of retrying every second until the engine
 * gives up, and the next scheduled sync tries again.
 */
async function apiError(response: Response, region: CustomerIoRegion, apiKey: string): Promise<ProviderError> {
  const detail = errorDetail(await response.text().catch(() => ''), apiKey);
  if (response.status === 401 || response.status === 403) return rejectedKey(region);
  if (response.status === 429) {
    const wait = retryAfterSeconds(response);
    if (wait === undefined) {
      return new ProviderError(
        `Customer.io refused further requests today (HTTP 429 without Retry-After: the workspace's daily API quota${detail ? `; "${detail}"` : ''}). ` +
          'The sync stopped; it will run again at the next schedule.',
        { provider: PROVIDER, throttled: true },
      );
    }
    return comeBackLaterError(PROVIDER, 'Customer.io asked us to slow down (HTTP 429: more than 10 requests per second).', {
      throttled: true,
      waitSeconds: wait,
    });
  }
  if (response.status >= 500) {
    return comeBackLaterError(PROVIDER, `Customer.io${atHostOf(response)} is unavailable (HTTP ${response.status}).`, {
      throttled: false,
      waitSeconds: retryAfterSeconds(response),
    });
  }
  return new ProviderError(`Customer.io refused the request (HTTP ${response.status}${detail ? `: ${detail}` : ''}).`, { provider: PROVIDER });
}

/**
 * The message of an error body, without the key and at most 200 characters. Customer.io's
 * App API answers `{"errors":[{"detail","status","code"?}]}`; the `{"meta":{"error":"..."}}`
 * and `{"meta":{"errors":["..."]}}` forms of older examples are read too.
 */
export function errorDetail(text: string, apiKey: string): string | undefined {
  let message: string | undefined;
  try {
    const body = JSON.parse(text) as { errors?: unknown; meta?: { error?: unknown; errors?: unknown } };
    const meta = body?.meta;
    if (Array.isArray(body?.errors)) {
      message = body.errors
        .map((item: unknown) => (typeof item === 'string' ? item : typeof item === 'object' && item !== null ? (item as { detail?: unknown }).detail : undefined))
        .filter((item): item is string => typeof item === 'string' && item.trim() !== '')
        .join('; ');
    } else if (typeof meta?.error === 'string') message = meta.error;
    else if (Array.isArray(meta?.errors)) message = meta.errors.filter((item): item is string => typeof item === 'string').join('; ');
  } catch {
    return undefined;
  }
  if (!message) return undefined;
  const clean = message.split(apiKey).join('[key]').replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  return clean.length > 200 ? `${clean.slice(0, 197)}...` : clean;
}
