import { createDecipheriv } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CachingKeyWrapper,
  canonicalContext,
  createEnvelopeCipher,
  EnvelopeCipher,
  KmsKeyWrapper,
} from '../../../../functions/core/crypto';
import { startFakeKms, type FakeKms } from './fake-kms-server';
import { acmeCrm, acmeOtherConnector, decryptionFailure, everyRenderingOf, formsOf, globexCrm, SECRET } from './support';

let kms: FakeKms;
let client: KMSClient;

beforeAll(async () => {
  kms = await startFakeKms();
  // A real SDK client; only the endpoint is ours. Static credentials: nothing reaches AWS.
  client = new KMSClient({
    endpoint: kms.endpoint,
    region: kms.region,
    credentials: { accessKeyId: 'AKIAFAKEKMSTEST00000', secretAccessKey: 'fake-secret-access-key' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await kms?.close();
});

let seen: number;
beforeEach(() => {
  seen = kms.requests.length;
});
const requestsSinceTestStart = () => kms.requests.slice(seen);

describe('KmsKeyWrapper with EnvelopeCipher, against a KMS over HTTP', () => {
  it('round-trips a secret, recording the key ARN even when configured with an alias', async () => {
    const cipher = new EnvelopeCipher(new KmsKeyWrapper(client, kms.aliasName));
    const sealed = await cipher.encrypt(SECRET, acmeCrm);

    expect(sealed.keyId).toBe(kms.keyArn);
    expect(await cipher.decrypt(sealed, acmeCrm)).toBe(SECRET);
  });

  it('sends the encryption context with GenerateDataKey and Decrypt, asks for AES_256, names the key, signs', async () => {
    const cipher = new EnvelopeCipher(new KmsKeyWrapper(client, kms.keyArn));
    const context = { ...acmeCrm, purpose: 'oauth' };
    const sealed = await cipher.encrypt(SECRET, context);
    await cipher.decrypt(sealed, context);

    const [generate, decrypt, ...rest] = requestsSinceTestStart();
    expect(rest).toEqual([]);
    expect(generate).toMatchObject({
      target: 'TrentService.GenerateDataKey',
      body: { KeyId: kms.keyArn, KeySpec: 'AES_256', EncryptionContext: context },
      signed: true,
    });
    expect(decrypt).toMatchObject({
      target: 'TrentService.Decrypt',
      body: { KeyId: kms.keyArn, CiphertextBlob: sealed.wrappedKey, EncryptionContext: context },
      signed: true,
    });
  });

  it('asks KMS for a fresh data key per secret', async () => {
    const cipher = new EnvelopeCipher(new KmsKeyWrapper(client, kms.keyArn));
    const first = await cipher.encrypt(SECRET, acmeCrm);
    const second = await cipher.encrypt(SECRET, acmeCrm);

    expect(requestsSinceTestStart().map((r) => r.target)).toEqual([
      'TrentService.GenerateDataKey',
      'TrentService.GenerateDataKey',
    ]);
    expect(second.wrappedKey).not.toBe(first.wrappedKey);
    expect(second.iv).not.toBe(first.iv);
    expect(second.ciphertext).not.toBe(first.ciphertext);
  });

  it('encrypts with the 256-bit key KMS returns: node:crypto alone decrypts the ciphertext with it', async () => {
    const wrapper = new KmsKeyWrapper(client, kms.keyId);
    const sealed = await new EnvelopeCipher(wrapper).encrypt(SECRET, acmeCrm);
    const dataKey = await wrapper.unwrapDataKey(sealed.wrappedKey, sealed.keyId, acmeCrm);
    expect(dataKey).toHaveLength(32);

    const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(canonicalContext(acmeCrm));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    const plaintext = Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
    expect(plaintext.toString('utf8')).toBe(SECRET);
  });

  it('lets KMS itself refuse to unwrap a data key under another tenant’s context', async () => {
    const wrapper = new KmsKeyWrapper(client, kms.keyArn);
    const sealed = await new EnvelopeCipher(wrapper).encrypt(SECRET, acmeCrm);

    await expect(wrapper.unwrapDataKey(sealed.wrappedKey, sealed.keyId, globexCrm)).rejects.toMatchObject({
      name: 'InvalidCiphertextException',
    });
    expect(kms.statuses.at(-1)).toBe(400);
  });

  it('fails cleanly, leaking nothing, when a sealed secret is moved to another tenant or connector', async () => {
    const wrapper = new KmsKeyWrapper(client, kms.keyArn);
    const cipher = new EnvelopeCipher(wrapper);
    const sealed = await cipher.encrypt(SECRET, acmeCrm);
    const dataKey = await wrapper.unwrapDataKey(sealed.wrappedKey, sealed.keyId, acmeCrm);

    for (const moved of [globexCrm, acmeOtherConnector]) {
      const error = await decryptionFailure(cipher.decrypt(sealed, moved));
      const rendered = everyRenderingOf(error);
      for (const form of [...formsOf(SECRET), ...formsOf(dataKey)]) expect(rendered).not.toContain(form);
    }
    expect(requestsSinceTestStart().at(-1)).toMatchObject({
      target: 'TrentService.Decrypt',
      body: { EncryptionContext: acmeOtherConnector },
    });
  });

  it('fails cleanly when the wrapped data key is tampered with', async () => {
    const cipher = new EnvelopeCipher(new KmsKeyWrapper(client, kms.keyArn));
    const sealed = await cipher.encrypt(SECRET, acmeCrm);
    const blob = Buffer.from(sealed.wrappedKey, 'base64');
    blob[blob.length - 20]! ^= 0x80;

    await decryptionFailure(cipher.decrypt({ ...sealed, wrappedKey: blob.toString('base64') }, acmeCrm));
  });

  it.each(['keyArn', 'aliasArn', 'aliasName', 'keyId'] as const)(
    'is what createEnvelopeCipher builds when CONNECTOR_ENCRYPTION_KEY is the KMS %s',
    async (form) => {
      const cipher = createEnvelopeCipher({ CONNECTOR_ENCRYPTION_KEY: kms[form] }, { kmsClient: client });
      const sealed = await cipher.encrypt(SECRET, acmeCrm);

      expect(sealed.keyId).toBe(kms.keyArn);
      expect(requestsSinceTestStart()[0]).toMatchObject({ body: { KeyId: kms[form] } });
      expect(await cipher.decrypt(sealed, acmeCrm)).toBe(SECRET);
    },
  );
});

describe('CachingKeyWrapper in front of KMS', () => {
  const decrypts = () => requestsSinceTestStart().filter((r) => r.target === 'TrentService.Decrypt').length;
  const cached = (options: { maxEntries?: number; clock?: () => number } = {}) =>
    new EnvelopeCipher(new CachingKeyWrapper(new KmsKeyWrapper(client, kms.keyArn), { maxAgeMs: 60_000, maxEntries: options.maxEntries ?? 10, clock: options.clock }));

  it('asks KMS once for a secret read again and again (a sync reads its credentials on every page)', async () => {
    const cipher = cached();
    const sealed = await cipher.encrypt(SECRET, acmeCrm);

    for (let page = 0; page < 5; page++) expect(await cipher.decrypt(sealed, acmeCrm)).toBe(SECRET);

    expect(decrypts()).toBe(1);
  });

  it('asks KMS again once the key is older than its maximum age', async () => {
    let now = 1_000_000;
    const cipher = cached({ clock: () => now });
    const sealed = await cipher.encrypt(SECRET, acmeCrm);
    await cipher.decrypt(sealed, acmeCrm);
    now += 59_999;
    await cipher.decrypt(sealed, acmeCrm);
    expect(decrypts()).toBe(1);

    now += 1;
    expect(await cipher.decrypt(sealed, acmeCrm)).toBe(SECRET);
    expect(decrypts()).toBe(2);
  });

  it('never serves a cached key under another context: KMS is asked, and refuses', async () => {
    const cipher = cached();
    const sealed = await cipher.encrypt(SECRET, acmeCrm);
    await cipher.decrypt(sealed, acmeCrm);

    await decryptionFailure(cipher.decrypt(sealed, globexCrm));

    expect(decrypts()).toBe(2);
    expect(kms.statuses.at(-1)).toBe(400);
  });

  it('keeps at most maxEntries keys, dropping the oldest', async () => {
    const cipher = cached({ maxEntries: 2 });
    const secrets = await Promise.all([acmeCrm, globexCrm, acmeOtherConnector].map((context) => cipher.encrypt(SECRET, context)));
    await cipher.decrypt(secrets[0]!, acmeCrm);
    await cipher.decrypt(secrets[1]!, globexCrm);
    await cipher.decrypt(secrets[2]!, acmeOtherConnector);
    expect(decrypts()).toBe(3);

    await cipher.decrypt(secrets[2]!, acmeOtherConnector);
    await cipher.decrypt(secrets[0]!, acmeCrm);

    expect(decrypts()).toBe(4);
  });

  it('never reuses a new data key: every secret sealed gets its own from KMS', async () => {
    const cipher = cached();
    await cipher.encrypt(SECRET, acmeCrm);
    await cipher.encrypt(SECRET, acmeCrm);

    expect(requestsSinceTestStart().filter((r) => r.target === 'TrentService.GenerateDataKey')).toHaveLength(2);
  });

  it('is what the runtime builds for a KMS key', async () => {
    const cipher = createEnvelopeCipher({ CONNECTOR_ENCRYPTION_KEY: kms.keyArn }, { kmsClient: client });
    const sealed = await cipher.encrypt(SECRET, acmeCrm);
    await cipher.decrypt(sealed, acmeCrm);
    await cipher.decrypt(sealed, acmeCrm);

    expect(decrypts()).toBe(1);
  });
});
