/** The sandbox's switchable failure modes. */
import { CountedFailure } from '../shared/failures';

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
  readonly throttle = new CountedFailure('throttle');
  throttleResetSeconds = DEFAULT_THROTTLE_RESET_SECONDS;
  readonly serverError = new CountedFailure('serverError');
  serverErrorsServed = 0;
  readonly malformedJson = new CountedFailure('malformedJson');
  slowMs = 0;

  reset(): void {
    this.throttle.reset();
    this.throttleResetSeconds = DEFAULT_THROTTLE_RESET_SECONDS;
    this.serverError.reset();
    this.serverErrorsServed = 0;
    this.malformedJson.reset();
    this.slowMs = 0;
  }

  state(): FathomFailureState {
    return {
      throttle: this.throttle.remaining(),
      throttleResetSeconds: this.throttleResetSeconds,
      serverError: this.serverError.remaining(),
      malformedJson: this.malformedJson.remaining(),
      slowMs: this.slowMs,
    };
  }
}
