import { ProviderError } from '../core/errors';
import { PROVIDER_CALL_TIMEOUT_MS } from '../core/timeouts';

/**
 * `fetch` for provider calls: a timeout, and network failures turned into a retryable
 * ProviderError whose message names the provider and never the URL's query (it may hold
 * a token).
 */
export async function providerFetch(provider: string, url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(PROVIDER_CALL_TIMEOUT_MS), redirect: 'manual' });
  } catch (cause) {
    const timedOut = cause instanceof DOMException && cause.name === 'TimeoutError';
    throw new ProviderError(`${provider} did not answer${timedOut ? ' in time' : ''}; the call will be retried.`, {
      provider,
      retryable: true,
      cause: new Error(timedOut ? 'timeout' : (cause as Error).message),
    });
  }
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
