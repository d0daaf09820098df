/**
 * Small seeded pseudo-random generators, so a sandbox's data set is the same on every
 * machine and every run. Not for secrets: tokens and codes come from node:crypto.
 *
 * Two algorithms, because each sandbox's data set is pinned to the one it was generated
 * with: {@link SeededRandom} (Salesforce, Office 365, Delivr.ai) and {@link Mulberry32}
 * (Customer.io, Fathom). Changing either changes every record a seed gives.
 */

/** Draws over a source of floats in [0, 1). */
abstract class Draws {
  /** The next float in [0, 1). */
  abstract next(): number;

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

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy;
  }
}

/** A Weyl sequence (golden-ratio increment) finalised with a murmur3-style avalanche. */
export class SeededRandom extends Draws {
  private state: number;

  /** `seed` and `stream` together pick the sequence; one stream per object type keeps them independent. */
  constructor(seed: number, stream = '') {
    super();
    this.state = mix32((seed >>> 0) ^ hashString(stream));
  }

  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    return mix32(this.state) / 0x1_0000_0000;
  }
}

/** mulberry32. */
export class Mulberry32 extends Draws {
  private state: number;

  /** `seed` and `stream` together pick the sequence; one stream per use keeps them independent. */
  constructor(seed: number, stream = '') {
    super();
    this.state = ((seed >>> 0) ^ hashString(stream)) >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 0x1_0000_0000;
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
