import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { DataKey, EncryptionContext, KeyWrapper } from './envelope';

const KEY_BYTES = 32;

/**
 * Data keys from AWS KMS. The encryption context goes to KMS as its EncryptionContext, so
 * KMS itself refuses to unwrap a data key for another tenant or connector, and CloudTrail
 * records which record each Decrypt was for.
 *
 * Rotation: with automatic rotation KMS keeps every earlier version of the key material
 * under the same key id and picks the right one from the ciphertext blob, so data keys
 * wrapped before a rotation keep unwrapping with nothing to do here. Moving to a different
 * KMS key also works: decryption uses the key id stored with each secret, not the current
 * configuration (the role then needs kms:Decrypt on both keys).
 */
export class KmsKeyWrapper implements KeyWrapper {
  /**
   * @param kms a configured client (region, credentials; an endpoint in tests).
   * @param keyId the key that wraps new data keys: key id, key ARN, alias name or alias ARN.
   */
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const response = await this.kms.send(
      new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { ...context } }),
    );
    if (!response.Plaintext || !response.CiphertextBlob) throw new Error('KMS GenerateDataKey returned no key');
    return {
      plaintextKey: shareBytes(response.Plaintext),
      wrappedKey: Buffer.from(response.CiphertextBlob).toString('base64'),
      // KMS answers with the key ARN even when asked by alias: store the ARN, so a later
      // re-pointed alias cannot change which key decryption asks for.
      keyId: response.KeyId ?? this.keyId,
    };
  }

  async unwrapDataKey(wrappedKey: string, keyId: string, context: EncryptionContext): Promise<Buffer> {
    const response = await this.kms.send(
      new DecryptCommand({
        // Naming the key makes KMS refuse a blob wrapped by any other key.
        KeyId: keyId,
        CiphertextBlob: Buffer.from(wrappedKey, 'base64'),
        EncryptionContext: { ...context },
      }),
    );
    if (response.Plaintext?.length !== KEY_BYTES) throw new Error('KMS Decrypt returned no 256-bit key');
    return shareBytes(response.Plaintext);
  }
}

/** Views the SDK's decoded bytes as a Buffer without copying, so zeroing the Buffer zeroes them. */
function shareBytes(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
