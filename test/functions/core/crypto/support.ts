import { inspect } from 'node:util';
import { expect } from 'vitest';
import { CredentialDecryptionError } from '../../../../functions/core/errors';
import type { EncryptionContext } from '../../../../functions/core/crypto';

export const acmeCrm: EncryptionContext = { tenantId: 'tenant-acme', connectorId: 'conn-salesforce-1' };
export const globexCrm: EncryptionContext = { tenantId: 'tenant-globex', connectorId: 'conn-salesforce-1' };
export const acmeOtherConnector: EncryptionContext = { tenantId: 'tenant-acme', connectorId: 'conn-hubspot-2' };

export const SECRET = '{"access_token":"00Dxx0000001gPL!AR8AQJXg","refresh_token":"5Aep861TSESvWeug_xvFHRBTTbf"}';

/** Awaits `promise` and returns the CredentialDecryptionError it must reject with. */
export async function decryptionFailure(promise: Promise<unknown>): Promise<CredentialDecryptionError> {
  const error = await promise.then(
    () => expect.fail('expected decryption to fail'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CredentialDecryptionError);
  expect((error as Error).message).toBe('stored credentials could not be decrypted; reconnect the connector');
  return error as CredentialDecryptionError;
}

/** Every form in which an error might be logged or returned: message, JSON, deep inspect, the cause. */
export function everyRenderingOf(error: Error): string {
  return [
    error.message,
    JSON.stringify(error),
    JSON.stringify({ ...error, message: error.message, cause: String(error.cause) }),
    inspect(error, { depth: Infinity, showHidden: true }),
    String(error.cause),
    error.stack ?? '',
  ].join('\n');
}

/** The forms a secret might take in a rendering: as is, base64, hex. */
export function formsOf(secret: string | Buffer): string[] {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  return [
    ...(typeof secret === 'string' ? [secret] : []),
    bytes.toString('base64'),
    bytes.toString('hex'),
  ];
}
