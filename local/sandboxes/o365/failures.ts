/** The sandbox's switchable failure modes: counters and switches the HTTP layer consults. */
import { remaining } from '../shared/failures';

/** Which endpoints a counted failure hits: Graph (`/v1.0/...`) or the identity token endpoint. */
export type FailureTarget = 'graph' | 'token';

/** A snapshot of the failure modes, as `GET /__sandbox/state` shows it. */
export interface O365FailureState {
  /** Whether the authorize endpoint answers `error=access_denied`. */
  readonly consentDenied: boolean;
  /** Delay added before every answer, in milliseconds. */
  readonly slowMs: number;
  /** Calls still to answer 429 (or 503) with Retry-After; `'always'` until reset. */
  readonly throttle: { readonly remaining: number | 'always'; readonly retryAfterSeconds: number; readonly status: 429 | 503; readonly target: FailureTarget };
  /** Calls still to answer with a server error; `'always'` until reset. */
  readonly serverError: { readonly remaining: number | 'always'; readonly status: 500 | 502 | 504; readonly target: FailureTarget };
  /** Successful Graph answers still to truncate (200 with broken JSON); `'always'` until reset. */
  readonly malformedJson: number | 'always';
}

/**
 * Switches for failure modes, usable from code (`sandbox.failures`) and over HTTP
 * (`POST /__sandbox/failures`). Counted modes apply to the next n calls of their target;
 * `Infinity` means "until reset". Graph calls are authenticated first: a call without a
 * valid token gets its 401 and does not use up a counted failure.
 */
export interface O365SandboxFailures {
  /** The authorize endpoint redirects with `error=access_denied` (AADSTS65004) instead of a code. */
  consentDenied(on: boolean): void;
  /** Every current access token stops working (Graph: 401 InvalidAuthenticationToken); refresh tokens still work. */
  expireSessions(): void;
  /**
   * The user's grant is revoked: codes and access tokens stop working, and every refresh
   * token answers 400 invalid_grant (AADSTS50173, "revoked").
   */
  revokeGrant(): void;
  /**
   * Every delta and skip token issued so far answers 410 Gone: Graph lost the sync state
   * (`syncStateNotFound`, or with that code `resyncRequired`).
   */
  expireDeltaLinks(code?: 'syncStateNotFound' | 'resyncRequired'): void;
  /**
   * The next `times` calls answer 429 (or, with `status: 503`, 503) with
   * `Retry-After: retryAfterSeconds`. Target `graph` by default.
   */
  throttle(times: number, retryAfterSeconds: number, options?: { status?: 429 | 503; target?: FailureTarget }): void;
  /** The next `times` calls answer 500 (JSON) or 502/504 (an HTML gateway page). Target `graph` by default. */
  serverError(times: number, options?: { status?: 500 | 502 | 504; target?: FailureTarget }): void;
  /** The next `times` Graph answers that would succeed come back as 200 with truncated JSON. */
  malformedJson(times: number): void;
  /** Every answer (except the control endpoints) waits `ms` milliseconds first; 0 turns it off. */
  slow(ms: number): void;
  /** Turns every switch and counter off (issued, expired and revoked tokens stay as they are). */
  reset(): void;
  /** The current settings. */
  state(): O365FailureState;
}

/** The mutable settings behind O365SandboxFailures. */
export class FailureModes {
  consentDenied = false;
  slowMs = 0;
  throttle = { times: 0, retryAfterSeconds: 0, status: 429 as 429 | 503, target: 'graph' as FailureTarget };
  serverError = { times: 0, status: 500 as 500 | 502 | 504, target: 'graph' as FailureTarget };
  malformedJson = 0;

  reset(): void {
    this.consentDenied = false;
    this.slowMs = 0;
    this.throttle = { times: 0, retryAfterSeconds: 0, status: 429, target: 'graph' };
    this.serverError = { times: 0, status: 500, target: 'graph' };
    this.malformedJson = 0;
  }

  state(): O365FailureState {
    return {
      consentDenied: this.consentDenied,
      slowMs: this.slowMs,
      throttle: {
        remaining: remaining(this.throttle.times),
        retryAfterSeconds: this.throttle.retryAfterSeconds,
        status: this.throttle.status,
        target: this.throttle.target,
      },
      serverError: { remaining: remaining(this.serverError.times), status: this.serverError.status, target: this.serverError.target },
      malformedJson: remaining(this.malformedJson),
    };
  }

  /** The throttling answer this call gets, if throttling applies to it (and uses one up). */
  takeThrottle(target: FailureTarget): { status: 429 | 503; retryAfterSeconds: number } | undefined {
    if (this.throttle.target !== target || this.throttle.times <= 0) return undefined;
    this.throttle.times -= 1; // Infinity stays Infinity.
    return { status: this.throttle.status, retryAfterSeconds: this.throttle.retryAfterSeconds };
  }

  /** The server error this call gets, if one applies to it (and uses one up). */
  takeServerError(target: FailureTarget): 500 | 502 | 504 | undefined {
    if (this.serverError.target !== target || this.serverError.times <= 0) return undefined;
    this.serverError.times -= 1;
    return this.serverError.status;
  }

  /** Whether this successful Graph answer is to be truncated (and uses one up). */
  takeMalformedJson(): boolean {
    if (this.malformedJson <= 0) return false;
    this.malformedJson -= 1;
    return true;
  }
}
