import { createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalContext,
  EnvelopeCipher,
  generateLocalKey,
  LocalKeyWrapper,
  type DataKey,
  type EncryptionContext,
  type KeyWrapper,
  type SealedSecret,
} from '../../../../functions/core/crypto';
import { acmeCrm, acmeOtherConnector, decryptionFailure, everyRenderingOf, formsOf, globexCrm, SECRET } from './support';

function localCipher() {
  const masterKey = generateLocalKey();
  const wrapper = new LocalKeyWrapper([masterKey]);
  return { masterKey, wrapper, cipher: new EnvelopeCipher(wrapper) };
}

/** Flips one bit of a base64 field. */
function flipBit(base64: string, byte = 0): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[byte]! ^= 0x01;
  return bytes.toString('base64');
}

/** Wraps a real wrapper and keeps the data key buffers it hands out, to check they get zeroed. */
class RecordingWrapper implements KeyWrapper {
  readonly generated: Buffer[] = [];
  readonly unwrapped: Buffer[] = [];
  constructor(private readonly inner: KeyWrapper) {}
  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const dataKey = await this.inner.generateDataKey(context);
    this.generated.push(dataKey.plaintextKey);
    return dataKey;
  }
  async unwrapDataKey(wrappedKey: string, keyId: string, context: EncryptionContext): Promise<Buffer> {
    const key = await this.inner.unwrapDataKey(wrappedKey, keyId, context);
    this.unwrapped.push(key);
    return key;
  }
}

describe('EnvelopeCipher', () => {
  it('decrypts what it encrypted, for any string', async () => {
    const { cipher } = localCipher();
    for (const plaintext of [SECRET, '', 'päßwörd 🔑', 'x'.repeat(100_000)]) {
      const sealed = await cipher.encrypt(plaintext, acmeCrm);
      expect(await cipher.decrypt(sealed, acmeCrm)).toBe(plaintext);
    }
  });

  it('seals into a plain JSON object with no plaintext in it, that still decrypts after a JSON round trip', async () => {
    const { cipher } = localCipher();
    const sealed = await cipher.encrypt(SECRET, acmeCrm);

    expect(Object.keys(sealed).sort()).toEqual(['ciphertext', 'iv', 'keyId', 'tag', 'version', 'wrappedKey']);
    expect(sealed.version).toBe(1);
    expect(Buffer.from(sealed.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(sealed.tag, 'base64')).toHaveLength(16);
    const stored = JSON.stringify(sealed);
    for (const form of formsOf(SECRET)) expect(stored).not.toContain(form);
    expect(await cipher.decrypt(JSON.parse(stored) as SealedSecret, acmeCrm)).toBe(SECRET);
  });

  it('uses a fresh data key for every secret: the same plaintext twice gives different wrapped keys, IVs and ciphertexts', async () => {
    const { wrapper } = localCipher();
    const recording = new RecordingWrapper(wrapper);
    const cipher = new EnvelopeCipher(recording);

    const first = await cipher.encrypt(SECRET, acmeCrm);
    const second = await cipher.encrypt(SECRET, acmeCrm);

    expect(recording.generated).toHaveLength(2);
    expect(second.wrappedKey).not.toBe(first.wrappedKey);
    expect(second.iv).not.toBe(first.iv);
    expect(second.ciphertext).not.toBe(first.ciphertext);
    const [keyOne, keyTwo] = await Promise.all([
      wrapper.unwrapDataKey(first.wrappedKey, first.keyId, acmeCrm),
      wrapper.unwrapDataKey(second.wrappedKey, second.keyId, acmeCrm),
    ]);
    expect(keyOne.equals(keyTwo)).toBe(false);
  });

  it('zeroes the plaintext data key after encrypting and after decrypting', async () => {
    const recording = new RecordingWrapper(localCipher().wrapper);
    const cipher = new EnvelopeCipher(recording);

    const sealed = await cipher.encrypt(SECRET, acmeCrm);
    await cipher.decrypt(sealed, acmeCrm);
    await decryptionFailure(cipher.decrypt({ ...sealed, tag: flipBit(sealed.tag) }, acmeCrm));

    expect(recording.generated).toHaveLength(1);
    expect(recording.unwrapped).toHaveLength(2);
    for (const key of [...recording.generated, ...recording.unwrapped]) {
      expect(key).toHaveLength(32);
      expect(key.every((byte) => byte === 0)).toBe(true);
    }
  });

  it('is AES-256-GCM with the canonical context as AAD: node:crypto alone decrypts it with the unwrapped data key', async () => {
    const { wrapper, cipher } = localCipher();
    const context = { connectorId: 'conn-salesforce-1', purpose: 'oauth', tenantId: 'tenant-acme' };
    const sealed = await cipher.encrypt(SECRET, context);
    const dataKey = await wrapper.unwrapDataKey(sealed.wrappedKey, sealed.keyId, context);
    expect(dataKey).toHaveLength(32);

    // The canonical form, written out by hand: entries sorted by key, as a JSON array of pairs.
    const aad = Buffer.from('[["connectorId","conn-salesforce-1"],["purpose","oauth"],["tenantId","tenant-acme"]]');
    expect(canonicalContext({ tenantId: 'tenant-acme', purpose: 'oauth', connectorId: 'conn-salesforce-1' })).toEqual(aad);
    const decipher = (withAad: boolean) => {
      const d = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(sealed.iv, 'base64'));
      if (withAad) d.setAAD(aad);
      d.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return Buffer.concat([d.update(Buffer.from(sealed.ciphertext, 'base64')), d.final()]).toString('utf8');
    };

    expect(decipher(true)).toBe(SECRET);
    // And the AAD is really bound: without it the tag does not verify.
    expect(() => decipher(false)).toThrow();
  });

  it('does not decrypt a sealed secret copied to another tenant’s record', async () => {
    const { cipher } = localCipher();
    const sealed = await cipher.encrypt(SECRET, acmeCrm);
    await decryptionFailure(cipher.decrypt(sealed, globexCrm));
  });

  it('does not decrypt a sealed secret copied to another connector’s record', async () => {
    const { cipher } = localCipher();
    const sealed = await cipher.encrypt(SECRET, acmeCrm);
    await decryptionFailure(cipher.decrypt(sealed, acmeOtherConnector));
  });

  it('binds the whole context, in any key order: an added or dropped entry fails, a reordered one does not', async () => {
    const { cipher } = localCipher();
    const sealed = await cipher.encrypt(SECRET, { tenantId: 't', connectorId: 'c', purpose: 'oauth' });

    expect(await cipher.decrypt(sealed, { purpose: 'oauth', connectorId: 'c', tenantId: 't' })).toBe(SECRET);
    await decryptionFailure(cipher.decrypt(sealed, { tenantId: 't', connectorId: 'c' }));
    await decryptionFailure(cipher.decrypt(sealed, { tenantId: 't', connectorId: 'c', purpose: 'oauth', x: '' }));
    await decryptionFailure(cipher.decrypt(sealed, { tenantId: 't', connectorId: 'c', purpose: 'api-key' }));
  });

  it('encodes the context unambiguously: contexts that collide when naively joined stay apart', async () => {
    const one = { tenantId: 't', connectorId: 'c', a: 'b=c' };
    const other = { tenantId: 't', connectorId: 'c', 'a=b': 'c' };
    const split = { tenantId: 't,connectorId=c', connectorId: 'c' };
    const glued = { tenantId: 't', connectorId: 'c,connectorId=c' };
    expect(canonicalContext(one).equals(canonicalContext(other))).toBe(false);
    expect(canonicalContext(split).equals(canonicalContext(glued))).toBe(false);

    const { cipher } = localCipher();
    await decryptionFailure(cipher.decrypt(await cipher.encrypt(SECRET, one), other));
  });

  it.each([
    ['ciphertext', (s: SealedSecret) => ({ ...s, ciphertext: flipBit(s.ciphertext, 5) })],
    ['tag', (s: SealedSecret) => ({ ...s, tag: flipBit(s.tag, 15) })],
    ['truncated tag', (s: SealedSecret) => ({ ...s, tag: Buffer.from(s.tag, 'base64').subarray(0, 12).toString('base64') })],
    ['iv', (s: SealedSecret) => ({ ...s, iv: flipBit(s.iv, 11) })],
    ['wrapped key', (s: SealedSecret) => ({ ...s, wrappedKey: flipBit(s.wrappedKey, 20) })],
    ['key id', (s: SealedSecret) => ({ ...s, keyId: 'local:0000000000000000' })],
    ['version', (s: SealedSecret) => ({ ...s, version: 2 }) as unknown as SealedSecret],
    ['non-base64 field', (s: SealedSecret) => ({ ...s, ciphertext: `${s.ciphertext}!` })],
    ['missing field', ({ tag: _tag, ...rest }: SealedSecret) => rest as SealedSecret],
  ])('fails cleanly when the %s is tampered with', async (_field, tamper) => {
    const { cipher } = localCipher();
    const sealed = await cipher.encrypt(SECRET, acmeCrm);
    await decryptionFailure(cipher.decrypt(tamper(sealed), acmeCrm));
  });

  it('does not decrypt a ciphertext paired with another secret’s wrapped data key', async () => {
    const { cipher } = localCipher();
    const mine = await cipher.encrypt(SECRET, acmeCrm);
    const other = await cipher.encrypt(SECRET, acmeCrm);
    await decryptionFailure(cipher.decrypt({ ...mine, wrappedKey: other.wrappedKey }, acmeCrm));
  });

  it('refuses a context without a tenantId or connectorId as a programming error, before touching any key', async () => {
    const recording = new RecordingWrapper(localCipher().wrapper);
    const cipher = new EnvelopeCipher(recording);
    const sealed = await cipher.encrypt(SECRET, acmeCrm);
    const bad = [
      { connectorId: 'c' },
      { tenantId: 't' },
      { tenantId: '', connectorId: 'c' },
      { tenantId: 't', connectorId: 'c', extra: 42 },
      null,
    ] as unknown as EncryptionContext[];

    for (const context of bad) {
      await expect(cipher.encrypt(SECRET, context)).rejects.toThrow(TypeError);
      await expect(cipher.decrypt(sealed, context)).rejects.toThrow(TypeError);
    }
    expect(recording.generated).toHaveLength(1);
    expect(recording.unwrapped).toHaveLength(0);
  });

  it('puts no plaintext, data key or master key in the error, its JSON or its inspected form', async () => {
    const { masterKey, wrapper, cipher } = localCipher();
    const sealed = await cipher.encrypt(SECRET, acmeCrm);
    const dataKey = await wrapper.unwrapDataKey(sealed.wrappedKey, sealed.keyId, acmeCrm);
    const errors = [
      await decryptionFailure(cipher.decrypt(sealed, globexCrm)),
      await decryptionFailure(cipher.decrypt({ ...sealed, tag: flipBit(sealed.tag) }, acmeCrm)),
    ];

    for (const error of errors) {
      const rendered = everyRenderingOf(error);
      expect(rendered).toContain('reconnect the connector');
      for (const form of [...formsOf(SECRET), ...formsOf(dataKey), masterKey, ...formsOf(Buffer.from(masterKey, 'base64'))]) {
        expect(rendered).not.toContain(form);
      }
    }
  });

  it('does not pass on a key wrapper’s own error, whatever it says', async () => {
    const leaky: KeyWrapper = {
      generateDataKey: async () => ({ plaintextKey: Buffer.alloc(32, 7), wrappedKey: 'd3JhcHBlZA==', keyId: 'k' }),
      unwrapDataKey: async () => {
        throw new Error('unwrap failed for master key SUPER-SECRET-MASTER-KEY');
      },
    };
    const cipher = new EnvelopeCipher(leaky);
    const error = await decryptionFailure(cipher.decrypt(await cipher.encrypt(SECRET, acmeCrm), acmeCrm));
    expect(everyRenderingOf(error)).not.toContain('SUPER-SECRET');
  });
});

describe('LocalKeyWrapper', () => {
  it('binds the wrapped data key to its context, as KMS does: another context does not unwrap it', async () => {
    const wrapper = new LocalKeyWrapper([generateLocalKey()]);
    const { plaintextKey, wrappedKey, keyId } = await wrapper.generateDataKey(acmeCrm);

    expect((await wrapper.unwrapDataKey(wrappedKey, keyId, acmeCrm)).equals(plaintextKey)).toBe(true);
    await expect(wrapper.unwrapDataKey(wrappedKey, keyId, globexCrm)).rejects.toThrow();
    await expect(wrapper.unwrapDataKey(wrappedKey, keyId, acmeOtherConnector)).rejects.toThrow();
  });

  it('makes a new random data key each time', async () => {
    const wrapper = new LocalKeyWrapper([generateLocalKey()]);
    const one = await wrapper.generateDataKey(acmeCrm);
    const two = await wrapper.generateDataKey(acmeCrm);
    expect(one.plaintextKey).toHaveLength(32);
    expect(one.plaintextKey.equals(two.plaintextKey)).toBe(false);
    expect(one.keyId).toBe(two.keyId);
  });
});
