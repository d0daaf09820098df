import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CredentialDecryptionError } from '../errors';

/**
 * What a secret is bound to. It must name the tenant and the connector that own the
 * secret; it may carry more (e.g. `purpose`). It is authenticated as AAD (and, with KMS,
 * sent as the KMS encryption context), so a sealed secret only opens under the same
 * context: copied to another tenant's or connector's record, it does not decrypt.
 * Values are not secret: KMS logs the encryption context in CloudTrail.
 */
export type EncryptionContext = Readonly<Record<string, string>> & {
  readonly tenantId: string;
  readonly connectorId: string;
};

/**
 * A sealed secret, as stored (a DynamoDB map). Every binary field is standard base64.
 * It holds no plaintext and no usable key: the data key is wrapped by the master key.
 */
export interface SealedSecret {
  /** Format version; bumped if the layout or algorithms change. */
  readonly version: 1;
  /** The wrapping key that wrapped the data key (a KMS key ARN, or `local:<fingerprint>`). */
  readonly keyId: string;
  /** The data key, wrapped by the master key under the same encryption context. */
  readonly wrappedKey: string;
  /** The 96-bit AES-GCM nonce. */
  readonly iv: string;
  /** The 128-bit AES-GCM authentication tag. */
  readonly tag: string;
  /** The secret, AES-256-GCM encrypted under the data key with the canonical context as AAD. */
  readonly ciphertext: string;
}

/** A fresh data key in two forms: to use now (then zero it) and to store. */
export interface DataKey {
  /** 32 bytes. The caller zeroes it after use. */
  readonly plaintextKey: Buffer;
  /** The data key wrapped by the master key, base64; opaque to the cipher. */
  readonly wrappedKey: string;
  /** Which master key wrapped it; handed back to {@link KeyWrapper.unwrapDataKey}. */
  readonly keyId: string;
}

/**
 * The port to whatever holds the master key (KMS in AWS, a local key on a developer
 * machine). Implementations bind the wrapping to `context`, so unwrapping under another
 * context fails. Failures may throw anything; the cipher turns them into one clean error.
 */
export interface KeyWrapper {
  /** Makes a new random 256-bit data key; never returns the same key twice. */
  generateDataKey(context: EncryptionContext): Promise<DataKey>;
  /** Recovers the 32-byte data key; the caller zeroes it after use. */
  unwrapDataKey(wrappedKey: string, keyId: string, context: EncryptionContext): Promise<Buffer>;
}

/** The one message a user sees for any decryption failure: it says what to do, nothing more. */
export const DECRYPTION_FAILED_MESSAGE = 'stored credentials could not be decrypted; reconnect the connector';

const SEALED_VERSION = 1;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Checks `context` and returns its canonical byte form, used as AAD: the entries sorted
 * by key, as a JSON array of `[key, value]` pairs. JSON escaping makes it unambiguous (no
 * separator a key or value could forge), and sorting makes it independent of insertion
 * order. A context without a non-empty `tenantId` and `connectorId`, or with a non-string
 * value, is a programming error and throws a `TypeError` (naming keys, never values).
 */
export function canonicalContext(context: EncryptionContext): Buffer {
  if (typeof context !== 'object' || context === null || Array.isArray(context)) {
    throw new TypeError('encryption context must be an object of strings');
  }
  for (const required of ['tenantId', 'connectorId'] as const) {
    const value: unknown = context[required];
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(`encryption context must contain a non-empty "${required}"`);
    }
  }
  const keys = Object.keys(context).sort();
  for (const key of keys) {
    if (typeof context[key] !== 'string') {
      throw new TypeError(`encryption context value "${key}" must be a string`);
    }
  }
  return Buffer.from(JSON.stringify(keys.map((key) => [key, context[key]])), 'utf8');
}

/**
 * Envelope encryption of secrets: each `encrypt` asks the {@link KeyWrapper} for a fresh
 * data key (never reused, never cached), encrypts with AES-256-GCM under a random 96-bit
 * IV with the canonical context as AAD, stores the wrapped data key alongside, and zeroes
 * the plaintext data key.
 */
export class EnvelopeCipher {
  constructor(private readonly keys: KeyWrapper) {}

  /** Seals `plaintext` for the record named by `context`. */
  async encrypt(plaintext: string, context: EncryptionContext): Promise<SealedSecret> {
    if (typeof plaintext !== 'string') throw new TypeError('plaintext must be a string');
    const aad = canonicalContext(context);
    const { plaintextKey, wrappedKey, keyId } = await this.keys.generateDataKey({ ...context });
    try {
      if (plaintextKey.length !== KEY_BYTES) throw new Error('key wrapper returned a data key that is not 256 bits');
      // A random 96-bit nonce is safe here because each data key encrypts exactly one message.
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', plaintextKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad);
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return {
        version: SEALED_VERSION,
        keyId,
        wrappedKey,
        iv: iv.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
        ciphertext: ciphertext.toString('base64'),
      };
    } finally {
      // OpenSSL keeps its own copy inside the (now discarded) cipher; this is the one we own.
      plaintextKey.fill(0);
    }
  }

  /**
   * Opens a sealed secret under the context it was sealed for. Any failure (unknown or
   * rotated-out key, moved record, tampering, malformed item) throws
   * `CredentialDecryptionError` with {@link DECRYPTION_FAILED_MESSAGE}; its `cause` names
   * only the stage that failed, never key or secret material.
   */
  async decrypt(sealed: SealedSecret, context: EncryptionContext): Promise<string> {
    // A bad context is the caller's bug, not a bad credential: let the TypeError through.
    const aad = canonicalContext(context);
    const parts = parseSealed(sealed);
    if (!parts) throw decryptionFailed('sealed secret is malformed or of an unknown version');

    let dataKey: Buffer;
    try {
      dataKey = await this.keys.unwrapDataKey(parts.wrappedKey, parts.keyId, { ...context });
    } catch (error) {
      throw decryptionFailed(`data key could not be unwrapped${errorName(error)}`);
    }

    let plaintext: Buffer | undefined;
    try {
      if (dataKey.length !== KEY_BYTES) throw new Error('unwrapped data key is not 256 bits');
      const decipher = createDecipheriv('aes-256-gcm', dataKey, parts.iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(parts.tag);
      // GCM's update() yields the bytes before final() checks the tag: only trust them after.
      plaintext = decipher.update(parts.ciphertext);
      decipher.final();
      return plaintext.toString('utf8');
    } catch {
      throw decryptionFailed('ciphertext failed authentication');
    } finally {
      dataKey.fill(0);
      plaintext?.fill(0);
    }
  }
}

interface SealedParts {
  keyId: string;
  wrappedKey: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/** Validates the stored shape; `undefined` if it is not a version-1 sealed secret. */
function parseSealed(sealed: unknown): SealedParts | undefined {
  if (typeof sealed !== 'object' || sealed === null) return undefined;
  const s = sealed as Record<string, unknown>;
  if (s.version !== SEALED_VERSION) return undefined;
  const { keyId, wrappedKey } = s;
  if (typeof keyId !== 'string' || keyId === '' || typeof wrappedKey !== 'string' || wrappedKey === '') return undefined;
  const iv = strictBase64(s.iv);
  const tag = strictBase64(s.tag);
  const ciphertext = strictBase64(s.ciphertext);
  // Fixed lengths matter: GCM would otherwise accept a truncated (forgeable) tag.
  if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || !ciphertext) return undefined;
  return { keyId, wrappedKey, iv, tag, ciphertext };
}

/** Decodes canonical standard base64 only (Node's decoder silently skips bad characters). */
export function strictBase64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string') return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.toString('base64') === value ? bytes : undefined;
}

function decryptionFailed(stage: string): CredentialDecryptionError {
  // The cause is a fresh Error naming the stage only: the underlying error (an SDK
  // exception with its HTTP response, an OpenSSL error) is dropped, so nothing leaks.
  return new CredentialDecryptionError(DECRYPTION_FAILED_MESSAGE, { cause: new Error(stage) });
}

/** ` (InvalidCiphertextException)` for a named error, '' for a generic one. */
function errorName(error: unknown): string {
  return error instanceof Error && error.name !== 'Error' ? ` (${error.name})` : '';
}
