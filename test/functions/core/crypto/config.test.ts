import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../../functions/core/errors';
import {
  createEnvelopeCipher,
  generateLocalKey,
  isKmsKeyId,
  localKeyId,
} from '../../../../functions/core/crypto';
import { acmeCrm, decryptionFailure, everyRenderingOf, SECRET } from './support';

const cipherFor = (value: string | undefined) => createEnvelopeCipher({ CONNECTOR_ENCRYPTION_KEY: value });

function configurationFailure(value: string | undefined): ConfigurationError {
  try {
    cipherFor(value);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  return expect.fail(`expected a ConfigurationError for ${value === undefined ? 'an unset key' : 'this key'}`);
}

describe('createEnvelopeCipher', () => {
  it.each([
    ['unset', undefined],
    ['empty', ''],
    ['blank', '   '],
  ])('refuses to start when CONNECTOR_ENCRYPTION_KEY is %s, naming the variable', (_case, value) => {
    const error = configurationFailure(value);
    expect(error.message).toBe(
      'CONNECTOR_ENCRYPTION_KEY is not set: in AWS it names the KMS key, locally it is a base64 32-byte key; the service refuses to start without it',
    );
  });

  it('reads process.env by default', () => {
    const saved = process.env.CONNECTOR_ENCRYPTION_KEY;
    delete process.env.CONNECTOR_ENCRYPTION_KEY;
    try {
      expect(() => createEnvelopeCipher()).toThrow(/CONNECTOR_ENCRYPTION_KEY is not set/);
    } finally {
      if (saved !== undefined) process.env.CONNECTOR_ENCRYPTION_KEY = saved;
    }
  });

  it.each([
    ['a word', 'my-dev-password'],
    ['base64 of 16 bytes', randomBytes(16).toString('base64')],
    ['base64 of 33 bytes', randomBytes(33).toString('base64')],
    ['hex of 32 bytes', randomBytes(32).toString('hex')],
    ['base64 with a stray character', `${generateLocalKey().slice(0, 20)}*${generateLocalKey().slice(21)}`],
    ['a good key followed by a bad one', `${generateLocalKey()},${randomBytes(31).toString('base64')}`],
    ['a trailing comma', `${generateLocalKey()},`],
  ])('refuses a malformed local key (%s) without echoing the value', (_case, value) => {
    const error = configurationFailure(value);
    expect(error.message).toMatch(/CONNECTOR_ENCRYPTION_KEY.*base64 of exactly 32 bytes/);
    const rendered = everyRenderingOf(error);
    for (const part of value.split(',').filter((p) => p.length >= 8)) expect(rendered).not.toContain(part);
  });

  it('generates local keys that are base64 of 32 random bytes, accepted as they are', async () => {
    const key = generateLocalKey();
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(Buffer.from(key, 'base64').toString('base64')).toBe(key);
    expect(generateLocalKey()).not.toBe(key);
    expect(isKmsKeyId(key)).toBe(false);

    const cipher = cipherFor(key);
    expect(await cipher.decrypt(await cipher.encrypt(SECRET, acmeCrm), acmeCrm)).toBe(SECRET);
  });

  it('rotates local keys: with "B,A", secrets sealed under A still decrypt and new ones are sealed under B', async () => {
    const keyA = generateLocalKey();
    const keyB = generateLocalKey();
    const underA = await cipherFor(keyA).encrypt(SECRET, acmeCrm);
    expect(underA.keyId).toBe(localKeyId(Buffer.from(keyA, 'base64')));

    const rotated = cipherFor(` ${keyB} , ${keyA} `);
    expect(await rotated.decrypt(underA, acmeCrm)).toBe(SECRET);
    const underB = await rotated.encrypt(SECRET, acmeCrm);
    expect(underB.keyId).toBe(localKeyId(Buffer.from(keyB, 'base64')));
    expect(underB.keyId).not.toBe(underA.keyId);
    expect(await rotated.decrypt(underB, acmeCrm)).toBe(SECRET);
  });

  it('fails cleanly for a secret sealed under a key that is no longer listed, and leaks no key', async () => {
    const keyA = generateLocalKey();
    const keyB = generateLocalKey();
    const underA = await cipherFor(keyA).encrypt(SECRET, acmeCrm);

    const error = await decryptionFailure(cipherFor(keyB).decrypt(underA, acmeCrm));
    const rendered = everyRenderingOf(error);
    for (const key of [keyA, keyB, SECRET]) expect(rendered).not.toContain(key);
  });

  it('gives key ids that are short fingerprints, not the keys', () => {
    const key = generateLocalKey();
    const id = localKeyId(Buffer.from(key, 'base64'));
    expect(id).toMatch(/^local:[0-9a-f]{16}$/);
    expect(Buffer.from(key, 'base64').toString('hex')).not.toContain(id.slice('local:'.length));
  });

  it.each([
    'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    'arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/connector-credentials',
    'alias/connector-credentials',
    '1234abcd-12ab-34cd-56ef-1234567890ab',
    'mrk-1234abcd12ab34cd56ef1234567890ab',
  ])('recognises %s as a KMS key', (value) => {
    expect(isKmsKeyId(value)).toBe(true);
  });

  it('refuses a list that names a KMS key, since KMS rotates by itself', () => {
    const error = configurationFailure(`alias/connector-credentials,${generateLocalKey()}`);
    expect(error.message).toMatch(/CONNECTOR_ENCRYPTION_KEY names a KMS key and must name exactly one/);
  });
});
