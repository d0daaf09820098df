/** The sandbox's switchable failure modes, and the rate limit it enforces for real. */

/** A snapshot of the failure modes, as `GET /__sandbox/state` shows it. */
export interface FathomFailureState {
  /** API calls still to answer 429; `'always'` until reset. */
  readonly throttle: number | 'always';
  /** The `RateLimit-Reset` those 429s carry, in seconds. */
  readonly throttleResetSeconds: number;
  /** API calls still to answer with a server error (500 JSON, then 502 HTML, alternating). */
  readonly serverError: number | 'always';
  /** Successful API answers still to cut short (200 with broken JSON). */
  readonly malformedJson: number | 'always';
  /** Delay added before every answer, in milliseconds. */
  readonly slowMs: number;
}

/**
 * Switches for failure modes, usable from code (`sandbox.failures`) and over HTTP
 * (`POST /__sandbox/failures`). Counted modes apply to the next n calls to
 * `/external/v1/...` that carry the right key; `Infinity` means "until reset".
 */
export interface FathomSandboxFailures {
  /**
   * The next `times` calls answer 429 with `RateLimit-Limit`, `RateLimit-Remaining: 0` and
   * `RateLimit-Reset: resetSeconds` (default 60). They do not use up the real window.
   */
  throttle(times: number, resetSeconds?: number): void;
  /** The next `times` calls answer a server error: 500 with JSON, then 502 with HTML, alternating. */
  serverError(times: number): void;
  /** The next `times` answers that would succeed come back as 200 with truncated JSON. */
  malformedJson(times: number): void;
  /** Every answer (except the control endpoints) waits `ms` milliseconds first; 0 turns it off. */
  slow(ms: number): void;
  /** Turns every failure mode off and forgets the calls in the rate-limit window. */
  reset(): void;
  /** The current settings. */
  state(): FathomFailureState;
}

export const DEFAULT_THROTTLE_RESET_SECONDS = 60;

/** The mutable settings behind FathomSandboxFailures. */
export class FailureModes {
  throttle = 0;
  throttleResetSeconds = DEFAULT_THROTTLE_RESET_SECONDS;
  serverError = 0;
  serverErrorsServed = 0;
  malformedJson = 0;
  slowMs = 0;

  reset(): void {
    this.throttle = 0;
    this.throttleResetSeconds = DEFAULT_THROTTLE_RESET_SECONDS;
    this.serverError = 0;
    this.serverErrorsServed = 0;
    this.malformedJson = 0;
    this.slowMs = 0;
  }

  /** Takes one from a counter if it is positive; true when the failure applies to this call. */
  take(key: 'throttle' | 'serverError' | 'malformedJson'): boolean {
    if (this[key] <= 0) return false;
    this[key] -= 1; // Infinity stays Infinity.
    return true;
  }

  state(): FathomFailureState {
    return {
      throttle: remaining(this.throttle),
      throttleResetSeconds: this.throttleResetSeconds,
      serverError: remaining(this.serverError),
      malformedJson: remaining(this.malformedJson),
      slowMs: this.slowMs,
    };
  }
}

/** What the limiter says about one call. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the oldest call in the window leaves it (a slot frees up). */
  readonly resetSeconds: number;
}

/**
 * Fathom's "60 calls in a 60 second window", as a rolling window: a call is allowed when
 * fewer than `limit` allowed calls happened in the last `windowMs`. Refused calls do not
 * count, so a client that backs off for `RateLimit-Reset` seconds gets through.
 */
export class RollingWindow {
  private calls: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  take(now: number): RateLimitDecision {
    this.prune(now);
    const allowed = this.calls.length < this.limit;
    if (allowed) this.calls.push(now);
    const oldest = this.calls[0];
    const resetMs = oldest === undefined ? this.windowMs : oldest + this.windowMs - now;
    return { allowed, limit: this.limit, remaining: Math.max(0, this.limit - this.calls.length), resetSeconds: Math.max(1, Math.ceil(resetMs / 1000)) };
  }

  /** Calls counted in the window at `now`. */
  used(now: number): number {
    this.prune(now);
    return this.calls.length;
  }

  clear(): void {
    this.calls = [];
  }

  private prune(now: number): void {
    let drop = 0;
    while (drop < this.calls.length && (this.calls[drop] as number) <= now - this.windowMs) drop++;
    if (drop > 0) this.calls = this.calls.slice(drop);
  }
}

/** A remaining count as JSON can carry it (Infinity becomes `'always'`). */
export function remaining(times: number): number | 'always' {
  return times === Infinity ? 'always' : times;
}

/** Validates a "next n calls" count: a non-negative integer or Infinity. */
export function checkTimes(name: string, times: number): number {
  if (times === Infinity || (Number.isSafeInteger(times) && times >= 0)) return times;
  throw new RangeError(`${name} needs a non-negative integer or Infinity, got ${times}`);
}
