/**
 * A small seeded pseudo-random generator, so the sandbox's data set is the same on every
 * machine and every run. Not for secrets: tokens and codes come from node:crypto.
 */
export class SeededRandom {
  private state: number;

  /** `seed` and `stream` together pick the sequence; one stream per object type keeps them independent. */
  constructor(seed: number, stream = '') {
    this.state = mix32((seed >>> 0) ^ hashString(stream));
  }

  /** The next float in [0, 1). */
  next(): number {
    // A Weyl sequence (golden-ratio increment) finalised with a murmur3-style avalanche.
    this.state = (this.state + 0x9e3779b9) >>> 0;
    return mix32(this.state) / 0x1_0000_0000;
  }

  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  /** An integer in [min, max], both included. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick() needs a non-empty list');
    return item;
  }
}

function mix32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a, 32 bits. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
}
