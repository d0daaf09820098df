/** The sandbox's switchable failure modes: counters and switches the HTTP layer consults. */
import { checkMs, CountedFailure, parseFailureBody, parseFlag, parseMs, parseTimes } from '../shared/failures';
import { isRecord } from '../shared/http';

/** A snapshot of the failure modes, as `GET /__sandbox/state` shows it. */
export interface CustomerIoFailureState {
  /** Every App API call answers 401, whatever the key (the key was revoked). */
  readonly unauthorized: boolean;
  /** Calls still to answer 429 (on top of the real 10-per-second limit); `'always'` until reset. */
  readonly throttle: number | 'always';
  /** The Retry-After (seconds) those 429s carry; null sends none. */
  readonly throttleRetryAfterSeconds: number | null;
  /** Calls still to answer a server error; `'always'` until reset. */
  readonly serverError: number | 'always';
  /** The status of those server errors. */
  readonly serverErrorStatus: number;
  /** Successful answers still to truncate (200 with broken JSON); `'always'` until reset. */
  readonly malformedJson: number | 'always';
  /** Delay before every App API answer, in milliseconds. */
  readonly slowMs: number;
  /** Calls left in today's quota before every call answers 429 without Retry-After; null: no quota. */
  readonly dailyQuota: number | null;
}

/**
 * Switches for failure modes, usable from code (`sandbox.failures`) and over HTTP
 * (`POST /__sandbox/failures`). Counted modes apply to the next n App API calls
 * (`/v1/...`); `Infinity` means "until reset". The control endpoints are never failed.
 */
export interface CustomerIoSandboxFailures {
  /** While on, every App API call answers 401 whatever the key, as for a revoked key. */
  unauthorized(on: boolean): void;
  /** The next `times` calls answer 429 with `Retry-After: retryAfterSeconds` (default 1; null sends no header). */
  throttle(times: number, retryAfterSeconds?: number | null): void;
  /** The next `times` calls answer `status` (default 500: a JSON error; 502/503/504: an HTML page). */
  serverError(times: number, status?: number): void;
  /** The next `times` answers that would succeed come back as 200 with truncated JSON. */
  malformedJson(times: number): void;
  /** Every App API answer waits `ms` milliseconds first; 0 turns it off. */
  slow(ms: number): void;
  /**
   * Today's quota: after `remaining` more calls (0: at once), every App API call answers 429
   * without Retry-After, as when a workspace has used up its daily requests; null lifts it.
   */
  dailyQuota(remaining: number | null): void;
  /** Turns every failure mode off and lifts the daily quota. The real rate limit stays. */
  reset(): void;
  /** The current settings. */
  state(): CustomerIoFailureState;
}

/** The mutable settings behind CustomerIoSandboxFailures. */
export class FailureModes {
  unauthorized = false;
  readonly throttle = new CountedFailure('throttle');
  throttleRetryAfterSeconds: number | null = 1;
  readonly serverError = new CountedFailure('serverError');
  serverErrorStatus = 500;
  readonly malformedJson = new CountedFailure('malformedJson');
  slowMs = 0;
  dailyQuotaRemaining: number | null = null;

  reset(): void {
    this.unauthorized = false;
    this.throttle.reset();
    this.throttleRetryAfterSeconds = 1;
    this.serverError.reset();
    this.serverErrorStatus = 500;
    this.malformedJson.reset();
    this.slowMs = 0;
    this.dailyQuotaRemaining = null;
  }

  /** The public interface over these settings, with argument checks. */
  controls(): CustomerIoSandboxFailures {
    return {
      unauthorized: (on) => {
        if (typeof on !== 'boolean') throw new RangeError('unauthorized needs true or false');
        this.unauthorized = on;
      },
      throttle: (times, retryAfterSeconds = 1) => {
        if (retryAfterSeconds !== null && (!Number.isFinite(retryAfterSeconds) || retryAfterSeconds < 0)) {
          throw new RangeError(`throttle retryAfterSeconds must be a non-negative number or null, got ${retryAfterSeconds}`);
        }
        this.throttle.set(times);
        this.throttleRetryAfterSeconds = retryAfterSeconds;
      },
      serverError: (times, status = 500) => {
        if (!Number.isInteger(status) || status < 500 || status > 599) throw new RangeError(`serverError status must be 5xx, got ${status}`);
        this.serverError.set(times);
        this.serverErrorStatus = status;
      },
      malformedJson: (times) => this.malformedJson.set(times),
      slow: (ms) => {
        this.slowMs = checkMs('slow', ms);
      },
      dailyQuota: (remaining) => {
        if (remaining !== null && (!Number.isSafeInteger(remaining) || remaining < 0)) {
          throw new RangeError(`dailyQuota needs a non-negative integer or null, got ${remaining}`);
        }
        this.dailyQuotaRemaining = remaining;
      },
      reset: () => this.reset(),
      state: () => ({
        unauthorized: this.unauthorized,
        throttle: this.throttle.remaining(),
        throttleRetryAfterSeconds: this.throttleRetryAfterSeconds,
        serverError: this.serverError.remaining(),
        serverErrorStatus: this.serverErrorStatus,
        malformedJson: this.malformedJson.remaining(),
        slowMs: this.slowMs,
        dailyQuota: this.dailyQuotaRemaining,
      }),
    };
  }
}

/**
 * Applies a `POST /__sandbox/failures` body, e.g.
 * `{"reset":true,"throttle":{"times":2,"retryAfterSeconds":3},"serverError":1,"slow":200}`.
 * Counts are non-negative integers or `"always"`; `reset` applies first. Every key's type
 * is checked before anything changes.
 */
export function applyFailures(failures: CustomerIoSandboxFailures, body: unknown): void {
  const fields = parseFailureBody(body, ['reset', 'unauthorized', 'throttle', 'serverError', 'malformedJson', 'slow', 'dailyQuota']);
  const steps: Array<() => void> = [];
  if (fields.reset !== undefined && parseFlag('reset', fields.reset)) steps.push(() => failures.reset());
  if (fields.unauthorized !== undefined) {
    const on = parseFlag('unauthorized', fields.unauthorized);
    steps.push(() => failures.unauthorized(on));
  }
  if (fields.throttle !== undefined) {
    const value = fields.throttle;
    if (isRecord(value)) {
      const after = value.retryAfterSeconds;
      if (after !== undefined && after !== null && typeof after !== 'number') throw new Error('throttle.retryAfterSeconds must be a number or null');
      const count = parseTimes('throttle.times', value.times);
      steps.push(() => failures.throttle(count, after as number | null | undefined));
    } else {
      const count = parseTimes('throttle', value);
      steps.push(() => failures.throttle(count));
    }
  }
  if (fields.serverError !== undefined) {
    const value = fields.serverError;
    if (isRecord(value)) {
      if (value.status !== undefined && typeof value.status !== 'number') throw new Error('serverError.status must be a number');
      const count = parseTimes('serverError.times', value.times);
      steps.push(() => failures.serverError(count, value.status as number | undefined));
    } else {
      const count = parseTimes('serverError', value);
      steps.push(() => failures.serverError(count));
    }
  }
  if (fields.malformedJson !== undefined) {
    const count = parseTimes('malformedJson', fields.malformedJson);
    steps.push(() => failures.malformedJson(count));
  }
  if (fields.slow !== undefined) {
    const ms = parseMs('slow', fields.slow);
    steps.push(() => failures.slow(ms));
  }
  if (fields.dailyQuota !== undefined) {
    const remaining = fields.dailyQuota;
    if (remaining !== null && (typeof remaining !== 'number' || !Number.isSafeInteger(remaining) || remaining < 0)) {
      throw new Error('dailyQuota must be a non-negative integer or null');
    }
    steps.push(() => failures.dailyQuota(remaining as number | null));
  }
  for (const step of steps) step();
}
