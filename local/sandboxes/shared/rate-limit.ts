/**
 * A rolling-window rate limit ("at most `limit` calls in any `windowMs`"), as Customer.io
 * and Fathom document theirs. Delivr.ai's is a token bucket and lives with its sandbox.
 */

/** What the window says about one call. */
export interface RollingDecision {
  readonly allowed: boolean;
  readonly limit: number;
  /** Calls still allowed in the window after this one. */
  readonly remaining: number;
  /** Whole seconds (at least 1) until the oldest call in the window leaves it, so a slot frees up. */
  readonly resetSeconds: number;
}

/**
 * A call is allowed when fewer than `limit` allowed calls happened in the last `windowMs`.
 * Refused calls do not count, so a client that waits as told gets through; one that keeps
 * hammering keeps being refused only while its earlier calls are still inside the window.
 */
export class RollingWindow {
  private calls: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Decides on a call at `now` (milliseconds on the caller's clock) and counts it if allowed. */
  take(now: number): RollingDecision {
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

  /** Forgets every call. */
  clear(): void {
    this.calls = [];
  }

  private prune(now: number): void {
    let drop = 0;
    while (drop < this.calls.length && (this.calls[drop] as number) <= now - this.windowMs) drop++;
    if (drop > 0) this.calls = this.calls.slice(drop);
  }
}
