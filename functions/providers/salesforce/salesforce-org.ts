import { ProviderError } from '../../core/errors';
import { atHostOf, comeBackLaterError, providerFetch, readJson, retryAfterSeconds } from '../http';
import type { OAuthCredentials } from '../types';

export const PROVIDER = 'Salesforce';
export const SALESFORCE_API_VERSION = 'v62.0';
/** The org's REST API root, below its instance URL. */
export const DATA_PATH = `/services/data/${SALESFORCE_API_VERSION}`;

/** An org's API usage as a Salesforce answer reports it. */
export interface OrgApiUsage {
  used: number;
  limit: number;
}

/**
 * Reads `Sforce-Limit-Info: api-usage=USED/LIMIT` (other parts, such as
 * `per-app-api-usage=...`, are skipped); undefined when the answer has none.
 */
export function apiUsageOf(response: Response): OrgApiUsage | undefined {
  const match = /(?:^|[\s,;])api-usage=(\d+)\/(\d+)/.exec(response.headers.get('sforce-limit-info') ?? '');
  return match ? { used: Number(match[1]), limit: Number(match[2]) } : undefined;
}

/**
 * The calls one sync step makes to one org: its instance URL and token, Salesforce's errors
 * mapped to ProviderError, and the API usage the latest answer reported (Salesforce counts
 * every call against the org's allowance, which the org's other integrations share).
 */
export class SalesforceOrg {
  /** The usage the latest answer reported, if any did. */
  usage: OrgApiUsage | undefined;
  /**
   * The org's clock as its latest answer's `Date` header gave it (epoch ms, whole seconds);
   * undefined before any answer. Windows Salesforce checks against its own clock (`/deleted`)
   * are measured with this, not with ours.
   */
  serverTime: number | undefined;
  /**
   * Who reads, for what is cached per org user (describes: field-level security is the
   * user's): the connection's identity URL (org and user ids), else its instance URL.
   */
  readonly userKey: string;
  private readonly instanceUrl: string;

  constructor(
    private readonly credentials: OAuthCredentials,
    config: Record<string, unknown>,
  ) {
    if (typeof config.instanceUrl !== 'string') {
      throw new ProviderError('The Salesforce connection has no instance URL; reconnect Salesforce.', { provider: PROVIDER, reauthorizationRequired: true });
    }
    this.instanceUrl = config.instanceUrl;
    this.userKey = typeof config.identityUrl === 'string' ? config.identityUrl : config.instanceUrl;
  }

  /** A call whose answer is returned as it is when it succeeded, and as a ProviderError otherwise. */
  async send(path: string, init: { method?: string; headers?: Record<string, string>; json?: unknown } = {}): Promise<Response> {
    const response = await providerFetch(PROVIDER, new URL(path, this.instanceUrl).toString(), {
      method: init.method ?? 'GET',
      headers: {
        ...init.headers,
        authorization: `Bearer ${this.credentials.accessToken}`,
        accept: 'application/json',
        ...(init.json !== undefined && { 'content-type': 'application/json' }),
      },
      ...(init.json !== undefined && { body: JSON.stringify(init.json) }),
    });
    this.usage = apiUsageOf(response) ?? this.usage;
    const date = Date.parse(response.headers.get('date') ?? '');
    if (Number.isFinite(date)) this.serverTime = date;
    if (response.ok) return response;
    throw await restError(response, this.usage);
  }

  /** A call answered with JSON. */
  async json<T>(path: string, init: Parameters<SalesforceOrg['send']>[1] = {}): Promise<T> {
    return await readJson<T>(PROVIDER, await this.send(path, init));
  }

  /** The org's daily API allowance now, in one call (`/limits`). */
  async readUsage(): Promise<OrgApiUsage> {
    const limits = await this.json<{ DailyApiRequests?: { Max?: number; Remaining?: number } }>(`${DATA_PATH}/limits`);
    const { Max, Remaining } = limits.DailyApiRequests ?? {};
    if (typeof Max !== 'number' || typeof Remaining !== 'number') {
      throw new ProviderError('Salesforce answered the limits request without DailyApiRequests.', { provider: PROVIDER, retryable: true });
    }
    return { used: Max - Remaining, limit: Max };
  }
}

/** A Salesforce REST error: its HTTP status and its first `errorCode`, for callers that treat some as answers. */
export class SalesforceRestError extends ProviderError {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string | undefined,
    options: ConstructorParameters<typeof ProviderError>[1],
  ) {
    super(message, options);
  }
}

/** Salesforce REST errors (a JSON array of {message, errorCode}) mapped by error code. */
async function restError(response: Response, usage: OrgApiUsage | undefined): Promise<ProviderError> {
  const text = await response.text();
  let errorCode: string | undefined;
  try {
    errorCode = (JSON.parse(text) as { errorCode?: string }[])[0]?.errorCode;
  } catch {
    errorCode = undefined;
  }
  const retryAfter = retryAfterSeconds(response);
  if (response.status === 401 || errorCode === 'INVALID_SESSION_ID') {
    return new ProviderError('The Salesforce session expired (INVALID_SESSION_ID).', { provider: PROVIDER, accessTokenExpired: true });
  }
  if (errorCode === 'REQUEST_LIMIT_EXCEEDED') {
    const error = comeBackLaterError(PROVIDER, "Salesforce refused the request because the org's API request limit is used up (REQUEST_LIMIT_EXCEEDED).", {
      throttled: true,
      waitSeconds: retryAfter,
    });
    // The org's whole allowance is spent: a sync waits for it as for its budget, when it knows the figures.
    return usage ? new ProviderError(error.message, { provider: PROVIDER, retryable: error.retryable, throttled: true, retryAfterSeconds: error.retryAfterSeconds, allowanceSpent: { used: Math.max(usage.used, usage.limit), limit: usage.limit } }) : error;
  }
  if (response.status === 429 || response.status >= 500) {
    const throttled = response.status === 429;
    return comeBackLaterError(PROVIDER, `Salesforce${atHostOf(response)} ${throttled ? 'is limiting our requests' : 'is unavailable'} (HTTP ${response.status}).`, {
      throttled,
      waitSeconds: retryAfter,
    });
  }
  return new SalesforceRestError(`Salesforce refused the request (${errorCode ?? `HTTP ${response.status}`}).`, response.status, errorCode, { provider: PROVIDER });
}
