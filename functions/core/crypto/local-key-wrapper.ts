import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConfigurationError } from '../errors';
import { canonicalContext, strictBase64, type DataKey, type EncryptionContext, type KeyWrapper } from './envelope';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Domain-separates the fingerprint from any other hash of the same key. */
const KEY_ID_LABEL = 'connector-service/local-master-key-id/v1\0';

/**
 * The local stack's stand-in for KMS: master keys held in memory wrap each data key with
 * AES-256-GCM, with the canonical encryption context as AAD (as KMS binds its encryption
 * context), so a wrapped key moved to another context does not unwrap.
 *
 * Rotation: the first master key wraps new data keys; every key unwraps, chosen by the
 * `keyId` stored with the secret (a fingerprint of the key, not the key).
 */
export class LocalKeyWrapper implements KeyWrapper {
  private readonly current: { id: string; key: Buffer };
  private readonly byId: ReadonlyMap<string, Buffer>;

  /**
   * @param masterKeys base64 of exactly 32 bytes each, newest first (at least one).
   * @throws ConfigurationError if a key is malformed; the message gives its position, never its value.
   */
  constructor(masterKeys: readonly string[]) {
    if (masterKeys.length === 0) throw new ConfigurationError('no local master key was given');
    const keys = masterKeys.map((value, index) => {
      const key = strictBase64(value.trim());
      if (key?.length !== KEY_BYTES) {
        const position = masterKeys.length > 1 ? ` (entry ${index + 1} of ${masterKeys.length})` : '';
        throw new ConfigurationError(
          `CONNECTOR_ENCRYPTION_KEY${position} is not a valid local key: expected base64 of exactly 32 bytes`,
        );
      }
      return { id: localKeyId(key), key };
    });
    this.current = keys[0]!;
    this.byId = new Map(keys.map(({ id, key }) => [id, key]));
  }

  /** The id stored with secrets sealed now: `local:` and 16 hex digits. */
  get keyId(): string {
    return this.current.id;
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const plaintextKey = randomBytes(KEY_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(canonicalContext(context));
    const wrapped = Buffer.concat([iv, cipher.update(plaintextKey), cipher.final(), cipher.getAuthTag()]);
    return { plaintextKey, wrappedKey: wrapped.toString('base64'), keyId: this.current.id };
  }

  async unwrapDataKey(wrappedKey: string, keyId: string, context: EncryptionContext): Promise<Buffer> {
    const masterKey = this.byId.get(keyId);
    if (!masterKey) throw new Error('the key that wrapped this data key is not configured');
    const wrapped = strictBase64(wrappedKey);
    if (wrapped?.length !== IV_BYTES + KEY_BYTES + TAG_BYTES) throw new Error('wrapped data key is malformed');
    const decipher = createDecipheriv('aes-256-gcm', masterKey, wrapped.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(canonicalContext(context));
    decipher.setAuthTag(wrapped.subarray(IV_BYTES + KEY_BYTES));
    // GCM's update() yields the bytes before final() checks the tag; zero them if it fails.
    const dataKey = decipher.update(wrapped.subarray(IV_BYTES, IV_BYTES + KEY_BYTES));
    try {
      decipher.final();
      return dataKey;
    } catch (error) {
      dataKey.fill(0);
      throw error;
    }
  }
}

/**
 * The public, stable id of a local master key: the first 8 bytes of SHA-256 over a label
 * and the key, in hex. Enough to tell keys apart; reveals nothing usable about the key.
 */
export function localKeyId(masterKey: Buffer): string {
  return `local:${createHash('sha256').update(KEY_ID_LABEL).update(masterKey).digest().subarray(0, 8).toString('hex')}`;
}

/** A new local master key: base64 of 32 random bytes, for the local stack's state dir. */
export function generateLocalKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}
