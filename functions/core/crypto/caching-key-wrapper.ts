import { createHash } from 'node:crypto';
import { canonicalContext, type DataKey, type EncryptionContext, type KeyWrapper } from './envelope';

export interface DataKeyCacheOptions {
  /** How long an unwrapped data key is reused; also how long a revoked KMS grant can go unnoticed. */
  maxAgeMs: number;
  /** Data keys kept at most; the oldest goes first. */
  maxEntries: number;
  clock?: () => number;
}

/**
 * Keeps unwrapped data keys for a few minutes, so a sync that reads its connector's
 * credentials on every page asks KMS once per container and period instead of once per
 * page (the AWS Encryption SDK's caching materials manager makes the same trade). A key is
 * reused only for the same wrapped key, key id and encryption context, so another
 * tenant's or connector's context still goes to KMS, which refuses it. New data keys are
 * never cached: each secret gets its own. Callers zero what they get: they get copies.
 */
export class CachingKeyWrapper implements KeyWrapper {
  private readonly keys = new Map<string, { key: Buffer; expiresAt: number }>();
  private readonly clock: () => number;

  constructor(
    private readonly inner: KeyWrapper,
    private readonly options: DataKeyCacheOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  generateDataKey(context: EncryptionContext): Promise<DataKey> {
    return this.inner.generateDataKey(context);
  }

  async unwrapDataKey(wrappedKey: string, keyId: string, context: EncryptionContext): Promise<Buffer> {
    const id = createHash('sha256').update(keyId).update('\0').update(wrappedKey).update('\0').update(canonicalContext(context)).digest('base64');
    const cached = this.keys.get(id);
    if (cached && cached.expiresAt > this.clock()) return Buffer.from(cached.key);
    if (cached) this.drop(id);

    const key = await this.inner.unwrapDataKey(wrappedKey, keyId, context);
    this.keys.set(id, { key: Buffer.from(key), expiresAt: this.clock() + this.options.maxAgeMs });
    while (this.keys.size > this.options.maxEntries) this.drop(this.keys.keys().next().value!);
    return key;
  }

  private drop(id: string): void {
    this.keys.get(id)?.key.fill(0);
    this.keys.delete(id);
  }
}
