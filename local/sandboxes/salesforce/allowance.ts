/**
 * An org's API allowance: the rolling 24-hour request limit that every integration of the
 * org shares (`Sforce-Limit-Info: api-usage=USED/LIMIT`, `/limits`' DailyApiRequests).
 *
 * No timers: calls leaving the 24-hour window (`releasePerSecond`) are worked out from the
 * sandbox clock whenever the allowance is read or spent.
 */

/** The default daily allowance: Salesforce's base of 100,000 requests (real orgs add a per-licence share). */
export const DEFAULT_API_LIMIT = 100_000;

/** An org's allowance as the control endpoints and stats show it. */
export interface SalesforceAllowanceState {
  /** The org's daily request limit. */
  readonly limit: number;
  /** Requests counted in the current window: ours plus the other integrations'. */
  readonly used: number;
  /** `max(0, limit - used)`, as `/limits` reports it. */
  readonly remaining: number;
  /** Requests the org's other integrations make for each request of ours. */
  readonly othersPerCall: number;
  /** Requests leaving the rolling window per second of sandbox time. */
  readonly releasePerSecond: number;
}

/** What `allowance.set(...)` and `POST /__sandbox/allowance` change; omitted fields stay as they are. */
export interface SalesforceAllowanceChanges {
  /** The daily limit: a non-negative integer. */
  readonly limit?: number;
  /** Requests already counted: a non-negative integer (it may exceed the limit). */
  readonly used?: number;
  /** A non-negative integer; 0 (the default) means no other integration spends anything. */
  readonly othersPerCall?: number;
  /** A non-negative number (fractions allowed); 0 (the default) means usage never falls on its own. */
  readonly releasePerSecond?: number;
}

/** What a REST call got from the allowance. */
export interface AllowanceCharge {
  /** False when the allowance was used up before the call: the call answers 403 REQUEST_LIMIT_EXCEEDED. */
  readonly allowed: boolean;
  /** The `Sforce-Limit-Info` header value after the call. */
  readonly header: string;
}

/** One org's allowance. */
export class Allowance {
  private limit: number;
  private used = 0;
  private othersPerCall = 0;
  private releasePerSecond = 0;
  /** Sandbox time up to which released calls have been taken off `used`. */
  private releasedUntil: number;

  constructor(
    private readonly now: () => number,
    limit: number = DEFAULT_API_LIMIT,
  ) {
    this.limit = checkInteger('apiLimit', limit);
    this.releasedUntil = now();
  }

  /**
   * Counts one REST call of ours. A call made when the allowance is used up is refused and
   * counts nothing; otherwise it counts one, and the other integrations spend
   * `othersPerCall` more, as far as the limit lets them (their calls past it are refused too).
   */
  charge(): AllowanceCharge {
    this.release();
    if (this.used >= this.limit) return { allowed: false, header: this.header() };
    this.used += 1;
    this.used = Math.max(this.used, Math.min(this.used + this.othersPerCall, this.limit));
    return { allowed: true, header: this.header() };
  }

  /** `api-usage=USED/LIMIT`. */
  header(): string {
    this.release();
    return `api-usage=${this.used}/${this.limit}`;
  }

  state(): SalesforceAllowanceState {
    this.release();
    return {
      limit: this.limit,
      used: this.used,
      remaining: Math.max(0, this.limit - this.used),
      othersPerCall: this.othersPerCall,
      releasePerSecond: this.releasePerSecond,
    };
  }

  /** Applies `changes` after checking all of them (nothing changes when one is bad). */
  set(changes: SalesforceAllowanceChanges): SalesforceAllowanceState {
    const limit = changes.limit === undefined ? undefined : checkInteger('limit', changes.limit);
    const used = changes.used === undefined ? undefined : checkInteger('used', changes.used);
    const others = changes.othersPerCall === undefined ? undefined : checkInteger('othersPerCall', changes.othersPerCall);
    const rate = changes.releasePerSecond === undefined ? undefined : checkRate(changes.releasePerSecond);
    // Release under the old rate up to now, then start afresh from now.
    this.release();
    this.releasedUntil = this.now();
    if (limit !== undefined) this.limit = limit;
    if (used !== undefined) this.used = used;
    if (others !== undefined) this.othersPerCall = others;
    if (rate !== undefined) this.releasePerSecond = rate;
    return this.state();
  }

  /** `resetStats()`: usage back to 0 (limit and behaviour kept). */
  resetUsage(): void {
    this.used = 0;
    this.releasedUntil = this.now();
  }

  /** `failures.reset()`: no other integrations, no release. */
  resetBehaviour(): void {
    this.release();
    this.releasedUntil = this.now();
    this.othersPerCall = 0;
    this.releasePerSecond = 0;
  }

  /** Takes the calls that left the window since the last look off `used` (whole calls only; never below 0). */
  private release(): void {
    const now = this.now();
    if (this.releasePerSecond <= 0 || this.used === 0 || now <= this.releasedUntil) {
      // Nothing to release: time without usage does not bank released calls for later.
      if (this.used === 0 || this.releasePerSecond <= 0) this.releasedUntil = Math.max(this.releasedUntil, now);
      return;
    }
    const released = Math.floor(((now - this.releasedUntil) * this.releasePerSecond) / 1000);
    if (released <= 0) return;
    if (released >= this.used) {
      this.used = 0;
      this.releasedUntil = now;
      return;
    }
    this.used -= released;
    // Keep the fraction of a call that has not left yet.
    this.releasedUntil += (released * 1000) / this.releasePerSecond;
  }
}

function checkInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkRate(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`releasePerSecond must be a non-negative number, got ${JSON.stringify(value)}`);
  }
  return value;
}
