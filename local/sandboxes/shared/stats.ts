/** Request-counter plumbing the sandboxes share; which counters a sandbox keeps is its own. */

/** Adds one to `counts[key]`, as for requests per endpoint or answers per HTTP status. */
export function increment(counts: Record<string, number>, key: string | number): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
