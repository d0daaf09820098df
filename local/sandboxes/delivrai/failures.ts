/** The Delivr.ai sandbox's switchable failure modes and its per-organization rate limit. */
import { CountedFailure } from '../shared/failures';

/** A snapshot of the failure modes, as `GET /__sandbox/state` shows it. */
export interface DelivrAiFailureState {
  /** API calls still to answer 429 (on top of the real rate limit); `'always'` until reset. */
  readonly throttle: number | 'always';
  /** The Retry-After (and X-RateLimit-Reset distance) those 429s carry, in seconds. */
  readonly throttleResetSeconds: number;
  /** API calls still to answer with a server error (502 HTML / 500 JSON, alternating); `'always'` until reset. */
  readonly serverError: number | 'always';
  /** Successful API answers still to truncate (200 with broken JSON); `'always'` until reset. */
  readonly malformedJson: number | 'always';
  /** Delay added before every API answer, in milliseconds. */
  readonly slowMs: number;
}

/**
 * Switches for failure modes, usable from code (`sandbox.failures`) and over HTTP
 * (`POST /__sandbox/failures`). Counted modes apply to the next n API calls; `Infinity`
 * means "until reset". The control endpoints are never failed, delayed or counted.
 */
export interface DelivrAiSandboxFailures {
  /**
   * The next `times` authenticated API calls answer 429 with `Retry-After: resetSeconds`
   * and `X-RateLimit-*` headers (`Remaining: 0`), as if the organization's bucket were
   * empty. @default resetSeconds 1
   */
  throttle(times: number, resetSeconds?: number): void;
  /** The next `times` API calls answer a server error, before authentication (an outage): 502 HTML and 500 JSON alternate, 502 first. */
  serverError(times: number): void;
  /** The next `times` API answers that would succeed come back as 200 with truncated JSON. */
  malformedJson(times: number): void;
  /** Every API answer waits `ms` milliseconds first; 0 turns it off. */
  slow(ms: number): void;
  /** Turns every failure mode off (the real rate limit stays, with its bucket as it is). */
  reset(): void;
  /** The current settings. */
  state(): DelivrAiFailureState;
}

/** The mutable settings behind DelivrAiSandboxFailures. */
export class FailureModes {
  readonly throttle = new CountedFailure('throttle');
  throttleResetSeconds = 1;
  readonly serverError = new CountedFailure('serverError');
  serverErrorsServed = 0;
  readonly malformedJson = new CountedFailure('malformedJson');
  slowMs = 0;

  reset(): void {
    this.throttle.reset();
    this.throttleResetSeconds = 1;
    this.serverError.reset();
    this.serverErrorsServed = 0;
    this.malformedJson.reset();
    this.slowMs = 0;
  }

  state(): DelivrAiFailureState {
    return {
      throttle: this.throttle.remaining(),
      throttleResetSeconds: this.throttleResetSeconds,
      serverError: this.serverError.remaining(),
      malformedJson: this.malformedJson.remaining(),
      slowMs: this.slowMs,
    };
  }
}

/** What a rate-limit check says, and the `X-RateLimit-*` values to send. */
export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until a request would be allowed (0 when allowed now). */
  readonly retryAfterSeconds: number;
  /** Seconds until the bucket is full again. */
  readonly fullInSeconds: number;
}

/**
 * Delivr.ai's documented limit: 25 requests per second per organization, burst 50. A token
 * bucket per organization (capacity `burst`, refilled at `perSecond`), on the real monotonic
 * clock, never the sandbox's data clock, so a test that freezes `now` still gets refills.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly clock: () => number = () => performance.now(),
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new RangeError('rate limit needs perSecond > 0 and burst >= 1');
  }

  /** Takes a token from the organization's bucket if there is one. */
  take(organizationId: string): RateDecision {
    const now = this.clock();
    const bucket = this.buckets.get(organizationId) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(organizationId, bucket);
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    return {
      allowed,
      limit: this.perSecond,
      remaining: Math.floor(bucket.tokens),
      retryAfterSeconds: allowed ? 0 : (1 - bucket.tokens) / this.perSecond,
      fullInSeconds: (this.burst - bucket.tokens) / this.perSecond,
    };
  }
}
