import { KMSClient } from '@aws-sdk/client-kms';
import { ConfigurationError } from '../errors';
import { traceAwsClient } from '../tracing';
import { EnvelopeCipher } from './envelope';
import { CachingKeyWrapper } from './caching-key-wrapper';
import { KmsKeyWrapper } from './kms-key-wrapper';
import { LocalKeyWrapper } from './local-key-wrapper';

export {
  canonicalContext,
  DECRYPTION_FAILED_MESSAGE,
  EnvelopeCipher,
  type DataKey,
  type EncryptionContext,
  type KeyWrapper,
  type SealedSecret,
} from './envelope';
export { CachingKeyWrapper, type DataKeyCacheOptions } from './caching-key-wrapper';
export { KmsKeyWrapper } from './kms-key-wrapper';
export { generateLocalKey, LocalKeyWrapper, localKeyId } from './local-key-wrapper';

/** Unwrapped KMS data keys a container reuses: one Decrypt per connector every 5 minutes, not one per sync page. */
const KMS_DATA_KEY_CACHE = { maxAgeMs: 5 * 60_000, maxEntries: 1000 };

const KMS_KEY_ID_PATTERNS = [
  /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/, // key ARN or alias ARN
  /^alias\/[\w/-]+$/, // alias name
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, // key id
  /^mrk-[0-9a-f]{32}$/i, // multi-Region key id
];

/** True if `value` names a KMS key rather than holding a local key. */
export function isKmsKeyId(value: string): boolean {
  return KMS_KEY_ID_PATTERNS.some((pattern) => pattern.test(value));
}

/**
 * Builds the cipher the runtime uses, from `CONNECTOR_ENCRYPTION_KEY`:
 * - a KMS key (key ARN, alias ARN, `alias/...` or key id): data keys come from KMS,
 *   through `deps.kmsClient` or a new client (in the key ARN's region, if it has one;
 *   traced with X-Ray in Lambda);
 *   unwrapped data keys are reused for 5 minutes (CachingKeyWrapper);
 * - otherwise one or more local keys, base64 of 32 bytes, comma-separated newest first
 *   (`new,old1,old2`): the first wraps new data keys, all unwrap.
 *
 * Call it at cold start, so a misconfigured runtime refuses to start.
 * @throws ConfigurationError if the variable is missing, empty or malformed (never echoing it).
 */
export function createEnvelopeCipher(
  env: NodeJS.ProcessEnv = process.env,
  deps: { kmsClient?: KMSClient } = {},
): EnvelopeCipher {
  const value = env.CONNECTOR_ENCRYPTION_KEY?.trim();
  if (!value) {
    throw new ConfigurationError(
      'CONNECTOR_ENCRYPTION_KEY is not set: in AWS it names the KMS key, locally it is a base64 32-byte key; the service refuses to start without it',
    );
  }
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.some(isKmsKeyId)) {
    if (entries.length !== 1) {
      throw new ConfigurationError(
        'CONNECTOR_ENCRYPTION_KEY names a KMS key and must name exactly one: KMS rotation keeps older data keys decryptable, and each secret records the key that sealed it',
      );
    }
    const keyId = entries[0]!;
    const region = /^arn:[^:]+:kms:([^:]+):/.exec(keyId)?.[1] ?? env.AWS_REGION;
    const kms = new KmsKeyWrapper(deps.kmsClient ?? traceAwsClient(new KMSClient({ region })), keyId);
    return new EnvelopeCipher(new CachingKeyWrapper(kms, KMS_DATA_KEY_CACHE));
  }
  return new EnvelopeCipher(new LocalKeyWrapper(entries));
}
