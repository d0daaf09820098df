/**
 * Failure-mode plumbing the sandboxes share: counted modes ("the next n calls fail",
 * `Infinity` until reset, shown as `"always"` in JSON), the argument checks of the
 * switches, and the parts of a `POST /__sandbox/failures` body that every sandbox reads
 * the same way. Which modes exist and what a failed call answers stay with each sandbox.
 */
import { isRecord } from './http';

/** Validates a "next n calls" count: a non-negative integer or Infinity. */
export function checkTimes(name: string, times: number): number {
  if (times === Infinity || (Number.isSafeInteger(times) && times >= 0)) return times;
  throw new RangeError(`${name} needs a non-negative integer or Infinity, got ${times}`);
}

/** A remaining count as JSON can carry it (Infinity becomes `'always'`). */
export function remaining(times: number): number | 'always' {
  return times === Infinity ? 'always' : times;
}

/** Validates a duration such as `slow(ms)` or `advanceTime(ms)`: a non-negative finite number. */
export function checkMs(name: string, ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`${name} needs a non-negative number of ms, got ${ms}`);
  return ms;
}

/** The first half of a JSON object's text, as a `malformedJson` answer: never valid JSON, as its outer brace is never closed. */
export function truncatedJson(text: string): string {
  return text.slice(0, Math.floor(text.length / 2));
}

/** A counted failure mode: the next n calls fail, or every call until reset (`Infinity`). */
export class CountedFailure {
  private left = 0;

  /** `name` is how errors about a bad count name the mode. */
  constructor(private readonly name: string) {}

  /** The next `times` calls fail; `Infinity` means until reset. Throws on anything but a count. */
  set(times: number): void {
    this.left = checkTimes(this.name, times);
  }

  /** Uses up one call if any are left; true when this call is to fail. */
  take(): boolean {
    if (this.left <= 0) return false;
    this.left -= 1; // Infinity stays Infinity.
    return true;
  }

  /** Calls still to fail, as `GET /__sandbox/state` shows it. */
  remaining(): number | 'always' {
    return remaining(this.left);
  }

  /** No more failures. */
  reset(): void {
    this.left = 0;
  }
}

/**
 * The fields of a `POST /__sandbox/failures` body: it must be a JSON object naming only
 * `known` modes.
 */
export function parseFailureBody(body: unknown, known: readonly string[]): Record<string, unknown> {
  if (!isRecord(body)) throw new Error('body must be a JSON object');
  const unknown = Object.keys(body).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new Error(`unknown failure mode(s): ${unknown.join(', ')}; known: ${known.join(', ')}`);
  return body;
}

/** A count in a failures body: a number, or `"always"` for Infinity. The number is checked by the switch. */
export function parseTimes(key: string, value: unknown): number {
  if (value === 'always') return Infinity;
  if (typeof value === 'number') return value;
  throw new Error(`${key} must be a number or "always"`);
}

/** A switch in a failures body: `true` or `false`. */
export function parseFlag(key: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Error(`${key} must be true or false`);
  return value;
}

/** A delay in a failures body: a number of milliseconds, checked by the switch. */
export function parseMs(key: string, value: unknown): number {
  if (typeof value !== 'number') throw new Error(`${key} must be a number of milliseconds`);
  return value;
}
