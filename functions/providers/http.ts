import { ProviderError } from '../core/errors';
import { PROVIDER_CALL_TIMEOUT_MS } from '../core/timeouts';
import { traceProviderCall } from '../core/tracing';

/**
 * `fetch` for provider calls: a timeout, and network failures turned into a retryable
 * ProviderError whose message names the provider and the host, never the URL's path or
 * query (they may hold a token), and promises nothing: whoever shows the final failure
 * says how often it was tried. In Lambda each call is an X-Ray subsegment named by the
 * provider and annotated with the answer's status (see traceProviderCall).
 */
export async function providerFetch(provider: string, url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await traceProviderCall({ provider, method: init.method ?? 'GET', url }, () =>
      fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(PROVIDER_CALL_TIMEOUT_MS), redirect: 'manual' }),
    );
  } catch (cause) {
    const timedOut = cause instanceof DOMException && cause.name === 'TimeoutError';
    const within = timedOut ? ` within ${PROVIDER_CALL_TIMEOUT_MS / 1000} seconds` : '';
    throw new ProviderError(`${provider} did not answer at ${hostOf(url)}${within}.`, {
      provider,
      retryable: true,
      cause: new Error(timedOut ? 'timeout' : (cause as Error).message),
    });
  }
}

/** The host (and port) of a provider URL, for messages: never its path or query. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid address';
  }
}

/** " at <host>" for a message about this answer, or nothing when the answer has no URL. */
export function atHostOf(response: Response): string {
  return response.url ? ` at ${hostOf(response.url)}` : '';
}

/** The longest wait a provider may ask for that a sync sits out; a longer one ends the sync. */
export const MAX_PROVIDER_WAIT_SECONDS = 15 * 60;

/**
 * The error for an answer that says "come back later": throttling (`throttled`) or an
 * outage. The provider's wait (Retry-After and the like), if any, is capped here, in one
 * place for every adapter: up to {@link MAX_PROVIDER_WAIT_SECONDS} it is carried as
 * `retryAfterSeconds` of a retryable error; a longer one becomes an error that is not
 * retryable and says so, so a sync ends with that sentence instead of waiting for hours.
 */
export function comeBackLaterError(
  provider: string,
  message: string,
  options: { throttled: boolean; waitSeconds: number | undefined },
): ProviderError {
  const { throttled, waitSeconds } = options;
  if (waitSeconds !== undefined && waitSeconds > MAX_PROVIDER_WAIT_SECONDS) {
    const minutes = Math.ceil(waitSeconds / 60);
    return new ProviderError(`${provider} asked us to wait ${minutes} minutes, longer than a sync waits; the sync will run again at the next schedule.`, {
      provider,
      throttled,
      // Kept for an API caller's Retry-After; a sync does not wait on an error that is not retryable.
      retryAfterSeconds: waitSeconds,
    });
  }
  return new ProviderError(message, { provider, retryable: true, throttled, retryAfterSeconds: waitSeconds });
}

/** Reads a JSON answer, treating a body that is not JSON as a transient provider fault. */
export async function readJson<T>(provider: string, response: Response): Promise<T> {
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ProviderError(`${provider} sent an answer that is not valid JSON (HTTP ${response.status}).`, {
      provider,
      retryable: true,
    });
  }
}

/** Seconds to wait from a Retry-After header (seconds or an HTTP date), if there is one. */
export function retryAfterSeconds(response: Response, now = Date.now()): number | undefined {
  const value = response.headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * An API key and the secret a provider issues with it (Delivr.ai's `X-Api-Key` plus
 * `X-Api-Secret`), as the one string an `apiKey` credential holds, so both are sealed
 * together and neither ever lands in a connector's config. A key without a secret stays
 * the key itself, exactly as connections made before secrets existed stored it.
 */
export function joinApiKeyAndSecret(apiKey: string, apiSecret: string | undefined): string {
  return apiSecret === undefined ? apiKey : JSON.stringify({ apiKey, apiSecret });
}

/** The key and, when one was given, the secret of a string {@link joinApiKeyAndSecret} made. */
export function splitApiKeyAndSecret(stored: string): { apiKey: string; apiSecret?: string } {
  if (stored.startsWith('{')) {
    try {
      const parsed = JSON.parse(stored) as { apiKey?: unknown; apiSecret?: unknown };
      if (typeof parsed.apiKey === 'string' && typeof parsed.apiSecret === 'string') return { apiKey: parsed.apiKey, apiSecret: parsed.apiSecret };
    } catch {
      // Not ours: a key that happens to start with "{" (no provider's does).
    }
  }
  return { apiKey: stored };
}
