import { createHash } from 'node:crypto';

/**
 * Keeps our own calls under a provider's rate limit: at most `limit` requests per key in
 * any window of `windowMs`, by making the caller wait for its slot. Slots are handed out
 * in call order, so concurrent callers (a verify during a sync) share the budget.
 *
 * Keys are hashed: the pacer never holds an API key itself.
 */
export class RequestPacer {
  private readonly slots = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }

  /** Waits until one more request for `key` fits, and takes that slot. */
  async acquire(key: string): Promise<void> {
    const bucket = createHash('sha256').update(key).digest('base64url');
    const now = this.now();
    // Slots are increasing; the ones that left the window no longer matter.
    const slots = (this.slots.get(bucket) ?? []).filter((at) => at > now - this.windowMs);
    let slot = Math.max(now, slots[slots.length - 1] ?? now);
    if (slots.length >= this.limit) slot = Math.max(slot, (slots[slots.length - this.limit] as number) + this.windowMs);
    slots.push(slot);
    this.slots.set(bucket, slots);
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, Math.ceil(slot - now)));
  }
}
