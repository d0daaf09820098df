/** The sandbox's switchable failure modes: counters and switches the HTTP layer consults. */
import { CountedFailure } from '../shared/failures';

/** A snapshot of the failure modes, as `GET /__sandbox/state` shows it. */
export interface SalesforceFailureState {
  /** REST calls still to answer 403 REQUEST_LIMIT_EXCEEDED; `'always'` until reset. */
  readonly requestLimitExceeded: number | 'always';
  /** REST calls still to answer with a server error (503 HTML / 500 JSON); `'always'` until reset. */
  readonly serverError: number | 'always';
  /** Successful REST answers still to truncate (200 with broken JSON); `'always'` until reset. */
  readonly malformedJson: number | 'always';
  /** Delay added before every answer, in milliseconds. */
  readonly slowMs: number;
  /** Whether refreshes rotate the refresh token. */
  readonly rotateRefreshTokens: boolean;
  /** Whether the authorize endpoint answers `error=access_denied`. */
  readonly consentDenied: boolean;
  /** Bulk query jobs still to be created that end `Failed`; `'always'` until reset. */
  readonly bulkJobFails: number | 'always';
  /** Bulk query jobs still to be created that end `Aborted`; `'always'` until reset. */
  readonly bulkJobAborted: number | 'always';
  /** Bulk query jobs still to be created that stay `InProgress` forever; `'always'` until reset. */
  readonly bulkJobNeverCompletes: number | 'always';
  /** Bulk results requests with a locator still to answer 400 INVALIDLOCATOR; `'always'` until reset. */
  readonly bulkLocatorExpires: number | 'always';
  /** The poll on which a new bulk query job finishes (0: finished at creation). */
  readonly bulkPollsToComplete: number;
  /** Revoke requests still to answer 400 `unsupported_token_type`; `'always'` until reset. */
  readonly revokeRefused: number | 'always';
}

/**
 * Switches for failure modes, usable from code (`sandbox.failures`) and over HTTP
 * (`POST /__sandbox/failures`). Counted modes apply to the next n REST calls
 * (`/services/data/...`); `Infinity` means "until reset". OAuth endpoints are affected
 * only by `slow`, `consentDenied`, `rotateRefreshTokens`, `expireSessions`, `revokeGrant` and `revokeRefused`.
 */
export interface SalesforceSandboxFailures {
  /** All current access tokens stop working (401 INVALID_SESSION_ID); refresh tokens still work. */
  expireSessions(): void;
  /** The next `times` REST calls answer 403 REQUEST_LIMIT_EXCEEDED (`Infinity` = always). */
  requestLimitExceeded(times: number): void;
  /**
   * The next `times` REST calls answer a server error: with `status` 503 an HTML page, with
   * 500 a JSON UNKNOWN_EXCEPTION; without `status` they alternate, 503 first.
   */
  serverError(times: number, status?: 500 | 503): void;
  /** The next `times` REST answers that would succeed come back as 200 with truncated JSON. */
  malformedJson(times: number): void;
  /** Every answer (except the control endpoints) waits `ms` milliseconds first; 0 turns it off. */
  slow(ms: number): void;
  /** Refreshes return a new refresh token and invalidate the old one. */
  rotateRefreshTokens(on: boolean): void;
  /** The user revokes the app: every code, access and refresh token stops working. */
  revokeGrant(): void;
  /** The authorize endpoint redirects with `error=access_denied` instead of a code. */
  consentDenied(on: boolean): void;
  /**
   * The next `times` bulk query jobs created (in any org) end `Failed`, with an
   * `errorMessage`, on the poll that would have completed them.
   */
  bulkJobFails(times: number): void;
  /** The next `times` bulk query jobs created end `Aborted` on the poll that would have completed them. */
  bulkJobAborted(times: number): void;
  /** The next `times` bulk query jobs created stay `InProgress` on every poll (until aborted). */
  bulkJobNeverCompletes(times: number): void;
  /**
   * The next `times` results requests that carry a `locator` (of a job that exists and is
   * complete) answer 400 INVALIDLOCATOR, as an expired or unknown locator does.
   */
  bulkLocatorExpires(times: number): void;
  /**
   * On which poll new bulk query jobs finish: the polls before it answer `InProgress`. 0 (or 1)
   * finishes a job at once (0: even before its first poll). Not a failure: `reset()` puts back
   * the sandbox's option (default 2).
   */
  bulkPollsToComplete(polls: number): void;
  /**
   * The next `times` revoke requests answer 400 `unsupported_token_type` (one of the 400s
   * Salesforce's revoke endpoint answers besides `invalid_token`), revoking nothing.
   */
  revokeRefused(times: number): void;
  /**
   * Turns every failure mode off (issued and revoked tokens stay as they are), including the
   * orgs' other integrations (`othersPerCall`) and usage release (`releasePerSecond`) of
   * their allowances; their `limit` and `used` stay.
   */
  reset(): void;
  /** The current settings. */
  state(): SalesforceFailureState;
}

/** The mutable settings behind SalesforceSandboxFailures. */
export class FailureModes {
  readonly requestLimitExceeded = new CountedFailure('requestLimitExceeded');
  readonly serverError = new CountedFailure('serverError');
  serverErrorStatus: 500 | 503 | undefined;
  serverErrorsServed = 0;
  readonly malformedJson = new CountedFailure('malformedJson');
  slowMs = 0;
  consentDenied = false;
  readonly bulkJobFails = new CountedFailure('bulkJobFails');
  readonly bulkJobAborted = new CountedFailure('bulkJobAborted');
  readonly bulkJobNeverCompletes = new CountedFailure('bulkJobNeverCompletes');
  readonly bulkLocatorExpires = new CountedFailure('bulkLocatorExpires');
  readonly revokeRefused = new CountedFailure('revokeRefused');

  reset(): void {
    this.revokeRefused.reset();
    this.bulkJobFails.reset();
    this.bulkJobAborted.reset();
    this.bulkJobNeverCompletes.reset();
    this.bulkLocatorExpires.reset();
    this.requestLimitExceeded.reset();
    this.serverError.reset();
    this.serverErrorStatus = undefined;
    this.serverErrorsServed = 0;
    this.malformedJson.reset();
    this.slowMs = 0;
    this.consentDenied = false;
  }
}
