import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { AwsServiceError as KmsError, startAwsJsonService, type AwsJsonRequest } from '../../../support/fake-aws-json-service';

/**
 * A tiny AWS KMS on 127.0.0.1 speaking the real wire protocol (AWS JSON 1.1: POST with
 * `X-Amz-Target: TrentService.<Operation>`, JSON bodies, base64 blobs, errors as a 400 with
 * `__type`), so a real `KMSClient` talks to it unchanged. Only the network boundary is
 * fake: the crypto is real. Data keys are random; each is wrapped with AES-256-GCM under the
 * KMS key's own secret with the EncryptionContext as AAD, so Decrypt under another context
 * fails authentication and answers `InvalidCiphertextException`, as KMS does.
 *
 * Supports GenerateDataKey and Decrypt for one symmetric key, addressable by key id, key
 * ARN, alias name and alias ARN.
 */
export interface FakeKms {
  /** `http://127.0.0.1:<port>`, for `new KMSClient({ endpoint })`. */
  readonly endpoint: string;
  readonly region: string;
  readonly keyId: string;
  readonly keyArn: string;
  readonly aliasName: string;
  readonly aliasArn: string;
  /** Every request, in order: the operation, its JSON body, and whether it was SigV4-signed. */
  readonly requests: readonly AwsJsonRequest[];
  /** Every response status, in request order. */
  readonly statuses: readonly number[];
  close(): Promise<void>;
}

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_BYTES = 16;

export async function startFakeKms(): Promise<FakeKms> {
  const keyId = randomUUID();
  const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`;
  const aliasName = 'alias/connector-credentials';
  const aliasArn = `arn:aws:kms:${REGION}:${ACCOUNT}:${aliasName}`;
  // The key material KMS would keep in its HSMs; it never leaves this process.
  const keyMaterial = randomBytes(32);
  const requests: AwsJsonRequest[] = [];
  const statuses: number[] = [];

  const resolveKey = (id: unknown): void => {
    if (id === keyId || id === keyArn || id === aliasName || id === aliasArn) return;
    throw new KmsError('NotFoundException', `Key '${String(id)}' does not exist`);
  };

  const generateDataKey = (body: Record<string, unknown>) => {
    resolveKey(body.KeyId);
    if (body.KeySpec !== 'AES_256' && body.NumberOfBytes !== 32) {
      throw new KmsError('ValidationException', 'this fake only makes 256-bit data keys');
    }
    const dataKey = randomBytes(32);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', keyMaterial, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(contextAad(body.EncryptionContext));
    // Like a real KMS blob, ours names the key that wrapped it.
    const blob = Buffer.concat([uuidBytes(keyId), iv, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
    return { KeyId: keyArn, CiphertextBlob: blob.toString('base64'), Plaintext: dataKey.toString('base64') };
  };

  const decrypt = (body: Record<string, unknown>) => {
    const blob = Buffer.from(String(body.CiphertextBlob ?? ''), 'base64');
    if (blob.length < KEY_ID_BYTES + IV_BYTES + TAG_BYTES + 1 || !blob.subarray(0, KEY_ID_BYTES).equals(uuidBytes(keyId))) {
      throw new KmsError('InvalidCiphertextException', '');
    }
    if (body.KeyId !== undefined) {
      resolveKey(body.KeyId);
    }
    const iv = blob.subarray(KEY_ID_BYTES, KEY_ID_BYTES + IV_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', keyMaterial, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(contextAad(body.EncryptionContext));
    decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
    try {
      const dataKey = Buffer.concat([
        decipher.update(blob.subarray(KEY_ID_BYTES + IV_BYTES, blob.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return { KeyId: keyArn, Plaintext: dataKey.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    } catch {
      // Real KMS says nothing more either: a wrong context and a damaged blob look the same.
      throw new KmsError('InvalidCiphertextException', '');
    }
  };

  const service = await startAwsJsonService({
    operations: { 'TrentService.GenerateDataKey': generateDataKey, 'TrentService.Decrypt': decrypt },
    onRequest: (request) => requests.push(request),
    onAnswer: (status) => statuses.push(status),
  });

  return {
    endpoint: service.endpoint,
    region: REGION,
    keyId,
    keyArn,
    aliasName,
    aliasArn,
    requests,
    statuses,
    close: () => service.close(),
  };
}

/** The fake's own canonical form of an EncryptionContext (absent = empty), as AAD. */
function contextAad(context: unknown): Buffer {
  const entries = Object.entries((context ?? {}) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}
