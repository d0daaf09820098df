import { InvalidInputError, ProviderError } from '../../core/errors';
import type { SyncType } from '../../core/model';
import { atHostOf, comeBackLaterError, providerFetch, readJson, retryAfterSeconds, splitApiKeyAndSecret } from '../http';
import type { ApiKeyAdapter, Credentials, ReadPageRequest, SourcePage, SyncAdapter } from '../types';
import { type FathomMeetingsAnswer, latestCreatedAt, peopleOf } from './fathom-meetings';

const PROVIDER = 'Fathom';
/** Fathom's external API; the sandbox's `url` replaces it locally. */
export const FATHOM_API_BASE_URL = 'https://api.fathom.ai/external/v1';
/**
 * How long to wait on a 429 that names no time: Fathom's whole rate-limit window
 * (60 calls per 60 seconds), after which a slot is free for certain.
 */
export const FATHOM_RATE_LIMIT_WINDOW_SECONDS = 60;
/**
 * An incremental sync asks for meetings created this long before the watermark: whether
 * `created_after` is exclusive, and whether a meeting can be listed a little after a later
 * one (its recording processed later), is undocumented. Meetings read again change nothing
 * (people are keyed by email), as with Delivr.ai's overlapping windows.
 */
export const FATHOM_WATERMARK_OVERLAP_MS = 5 * 60 * 1000;

/** Where the Fathom API lives; configuration of the deployment, never of a tenant. */
export interface FathomAdapterConfig {
  /** @default 'https://api.fathom.ai/external/v1' */
  readonly baseUrl?: string;
}

/**
 * Fathom's external API with an API key (`X-Api-Key`): meetings are read page by page
 * (`next_cursor`), incremental syncs from the latest `created_at` seen (`created_after`),
 * and every calendar invitee and recorder becomes a person, identified by lowercased email.
 */
export class FathomAdapter implements SyncAdapter, ApiKeyAdapter {
  readonly providerId = 'fathom' as const;
  /** A full sync meetings are listed from the first one. */
  readonly fullSyncSeesEverything = true;
  /** The same invitee appears in many meetings. */
  readonly listsRecordsOnce = false;
  private readonly baseUrl: string;

  constructor(config: FathomAdapterConfig = {}) {
    const baseUrl = config.baseUrl ?? FATHOM_API_BASE_URL;
    let parsed: URL;
    try {
      parsed = new URL(baseUrl);
    } catch {
      throw new TypeError(`Fathom base URL is not a URL: ${baseUrl}`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError(`Fathom base URL must be http(s): ${baseUrl}`);
    this.baseUrl = parsed.toString().replace(/\/+$/, '');
  }

  /**
   * Fathom connectors have no settings: the key says whose meetings are read. Anything
   * given is refused rather than stored and ignored, so an admin who expects a setting to
   * matter (a region, a team filter, a base URL) learns at once that it does not; and a
   * per-tenant URL must never reach the adapter, or a tenant could send our calls, with
   * their key, anywhere.
   */
  parseConfig(config: Record<string, unknown> | undefined): Record<string, unknown> {
    if (config === undefined) return {};
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      throw new InvalidInputError('Fathom settings must be an object; Fathom takes none.');
    }
    const keys = Object.keys(config);
    if (keys.length > 0) throw new InvalidInputError(`Fathom takes no settings; remove ${keys.map((key) => `"${key}"`).join(', ')}.`);
    return {};
  }

  /** Lists the first page of meetings: the cheapest authenticated call Fathom has. */
  async verifyApiKey(apiKey: string, _config: Record<string, unknown>): Promise<void> {
    if (splitApiKeyAndSecret(apiKey).apiSecret !== undefined) throw new InvalidInputError('Fathom takes no API secret: its API key is all it needs; remove apiSecret.');
    const key = usableKey(apiKey);
    if (!key) throw new InvalidInputError('The Fathom API key is empty or has characters an API key cannot have; paste it again.');
    await this.listMeetings(key, {}, 'verify');
  }

  /** Fathom filters meetings by `created_after`, so incremental syncs really are incremental. */
  effectiveSyncType(requested: SyncType): SyncType {
    return requested;
  }

  /**
   * One page of meetings, as the people in them. Full syncs list every meeting;
   * incremental ones those created after the watermark's `createdAfter`, less
   * {@link FATHOM_WATERMARK_OVERLAP_MS}. The filter is sent again with every cursor (a
   * Fathom cursor may not carry it). The watermark is the latest `created_at` seen so far,
   * carried in the cursor, so it holds whatever order Fathom lists meetings in; an
   * incremental sync that finds nothing new keeps the old one.
   *
   * Invitees without an email are skipped, not failed: each page counts them apart
   * (`skipped`), and the sync log adds them up in `recordsSkipped`.
   */
  async readPage(credentials: Credentials, _config: Record<string, unknown>, request: ReadPageRequest): Promise<SourcePage> {
    const key = credentials.kind === 'apiKey' ? usableKey(credentials.apiKey) : undefined;
    if (!key) {
      throw new ProviderError('The stored Fathom credentials are not a usable API key; an admin needs to reconnect Fathom.', {
        provider: PROVIDER,
        reauthorizationRequired: true,
      });
    }
    const watermarkAt = request.mode === 'incremental' ? validTimestamp(request.watermark?.createdAfter) : undefined;
    const sentCursor = typeof request.cursor?.cursor === 'string' ? request.cursor.cursor : undefined;
    const carried = typeof request.cursor?.latestCreatedAt === 'string' ? request.cursor.latestCreatedAt : undefined;

    const params: Record<string, string> = {};
    if (watermarkAt) params.created_after = fathomTime(Date.parse(watermarkAt) - FATHOM_WATERMARK_OVERLAP_MS);
    if (sentCursor) params.cursor = sentCursor;
    const answer = await this.listMeetings(key, params, 'sync');

    const items = answer.items as unknown[];
    const { records, failed, skipped } = peopleOf(items);
    const latest = latestCreatedAt(items, carried ?? watermarkAt);
    const next = typeof answer.next_cursor === 'string' && answer.next_cursor !== '' ? answer.next_cursor : null;
    if (next !== null && next === sentCursor) {
      throw new ProviderError('Fathom returned the same page twice; the sync stopped so it would not loop.', { provider: PROVIDER });
    }
    return {
      records,
      failed,
      skipped,
      nextCursor: next === null ? null : { cursor: next, latestCreatedAt: latest ?? null },
      watermark: latest === undefined ? null : { createdAfter: latest },
    };
  }

  /** `GET {baseUrl}/meetings` with the key; Fathom's errors mapped to ProviderError. */
  private async listMeetings(apiKey: string, params: Record<string, string>, during: 'verify' | 'sync'): Promise<FathomMeetingsAnswer> {
    const query = new URLSearchParams(params).toString();
    const response = await providerFetch(PROVIDER, `${this.baseUrl}/meetings${query ? `?${query}` : ''}`, {
      headers: { 'X-Api-Key': apiKey, accept: 'application/json' },
    });
    if (!response.ok) throw await fathomError(response, during);
    const answer = await readJson<FathomMeetingsAnswer>(PROVIDER, response);
    const cursor = answer?.next_cursor;
    if (typeof answer !== 'object' || answer === null || !Array.isArray(answer.items) || (cursor !== undefined && cursor !== null && typeof cursor !== 'string')) {
      throw new ProviderError('Fathom sent a meetings list the connector does not understand.', {
        provider: PROVIDER,
        retryable: true,
      });
    }
    return answer;
  }
}

/**
 * Fathom's error answers, by status only: their bodies are undocumented and never quoted
 * (nothing in a message may echo the key).
 */
async function fathomError(response: Response, during: 'verify' | 'sync'): Promise<ProviderError> {
  await response.body?.cancel();
  const status = response.status;
  if (status === 401 || status === 403) {
    return new ProviderError(
      during === 'verify' ? 'Fathom rejected the API key.' : 'Fathom rejected the API key; an admin needs to reconnect Fathom with a valid key.',
      { provider: PROVIDER, reauthorizationRequired: true },
    );
  }
  if (status === 429) {
    const wait = rateLimitResetSeconds(response) ?? retryAfterSeconds(response) ?? FATHOM_RATE_LIMIT_WINDOW_SECONDS;
    return comeBackLaterError(PROVIDER, `Fathom's rate limit was reached (HTTP 429); calls can resume in ${wait} seconds.`, {
      throttled: true,
      waitSeconds: wait,
    });
  }
  if (status >= 500) {
    return comeBackLaterError(PROVIDER, `Fathom${atHostOf(response)} is unavailable (HTTP ${status}).`, {
      throttled: false,
      waitSeconds: retryAfterSeconds(response),
    });
  }
  return new ProviderError(`Fathom refused the request (HTTP ${status}).`, { provider: PROVIDER });
}

/**
 * Seconds from `RateLimit-Reset`, "the time remaining in the current time window"
 * (Fathom's words; delta seconds, as in the IETF RateLimit header draft). A value too
 * large to be a delta is read as an epoch timestamp in seconds, which some servers send.
 */
export function rateLimitResetSeconds(response: Response, now = Date.now()): number | undefined {
  const value = response.headers.get('ratelimit-reset')?.trim();
  if (!value) return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) return undefined;
  if (seconds > 1_000_000_000) return Math.max(0, Math.ceil(seconds - now / 1000));
  return Math.ceil(seconds);
}

/** The key as it can go into a header (pasted keys often carry spaces or a newline), or undefined. */
function usableKey(apiKey: string): string | undefined {
  const key = typeof apiKey === 'string' ? apiKey.trim() : '';
  return /^[\x21-\x7e]+$/.test(key) ? key : undefined;
}

/** Epoch milliseconds as Fathom writes times: ISO 8601 to the second, with `Z`. */
function fathomTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function validTimestamp(value: string | undefined): string | undefined {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? value : undefined;
}
