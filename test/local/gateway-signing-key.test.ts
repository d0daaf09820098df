import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { SignJWT, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK } from 'jose';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, issueLocalToken, localJwks, localTokenVerifier } from '../../local/jwt-issuer';
import { startLocalStack, type LocalStack } from '../../local/stack';

/**
 * The local issuer's key in the state directory: RSA, as the HTTP API JWT authorizer requires,
 * and a state directory from before (an EC key, ES256) keeps working once started again.
 */

/** signing-key.json as the issuer wrote it when it signed ES256. */
async function writeOldEcKey(stateDir: string): Promise<{ kid: string; sign: () => Promise<string> }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = crypto.randomUUID();
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256' };
  const stored = { privateJwk, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
  await writeFile(join(stateDir, 'signing-key.json'), JSON.stringify(stored), { mode: 0o600 });
  const sign = async () =>
    await new SignJWT({ tenant_id: 'acme', role: 'admin' })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(await importJWK(privateJwk, 'ES256'));
  return { kid, sign };
}

async function storedKey(stateDir: string) {
  return JSON.parse(await readFile(join(stateDir, 'signing-key.json'), 'utf8')) as {
    privateJwk: Record<string, string>;
    publicJwk: Record<string, string>;
  };
}

const stateDirs: string[] = [];
async function freshStateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'connector-signing-key-'));
  stateDirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(stateDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('the local signing key', () => {
  it('is made on first use as an RSA 2048 key with a kid, private to the user (0600)', async () => {
    const stateDir = await freshStateDir();
    const token = await issueLocalToken(stateDir, { tenantId: 'acme', role: 'admin' });
    const { privateJwk, publicJwk } = await storedKey(stateDir);
    expect(privateJwk).toMatchObject({ kty: 'RSA', alg: 'RS256', kid: expect.any(String) });
    expect(Buffer.from(publicJwk.n!, 'base64url').length * 8).toBe(2048);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: privateJwk.kid, typ: 'JWT' });
    expect((await stat(join(stateDir, 'signing-key.json'))).mode & 0o777).toBe(0o600);
    expect(await readdir(stateDir)).toEqual(['signing-key.json']);
  });

  it('is the same key for every caller racing on a fresh directory', async () => {
    const stateDir = await freshStateDir();
    const kids = await Promise.all(Array.from({ length: 8 }, async () => (await localJwks(stateDir)).keys[0]!.kid));
    expect(new Set(kids).size).toBe(1);
    expect((await storedKey(stateDir)).privateJwk.kid).toBe(kids[0]);
    expect(await readdir(stateDir)).toEqual(['signing-key.json']);
  });

  it('replaces an old EC key with one new RSA key, even with callers racing on it', async () => {
    const stateDir = await freshStateDir();
    const old = await writeOldEcKey(stateDir);
    const kids = await Promise.all(Array.from({ length: 8 }, async () => (await localJwks(stateDir)).keys[0]!.kid));
    expect(new Set(kids).size).toBe(1);
    const { privateJwk, publicJwk } = await storedKey(stateDir);
    expect(privateJwk).toMatchObject({ kty: 'RSA', alg: 'RS256', kid: kids[0] });
    expect(publicJwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: kids[0] });
    expect(privateJwk.kid).not.toBe(old.kid);
    expect((await stat(join(stateDir, 'signing-key.json'))).mode & 0o777).toBe(0o600);
    expect(await readdir(stateDir)).toEqual(['signing-key.json']);
  });

  it('verifies RS256, RS384 and RS512 from an RSA key that does not pin its algorithm, and nothing else', async () => {
    const stateDir = await freshStateDir();
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = crypto.randomUUID();
    const privateJwk = { ...(await exportJWK(privateKey)), kid };
    await writeFile(
      join(stateDir, 'signing-key.json'),
      JSON.stringify({ privateJwk, publicJwk: { ...(await exportJWK(publicKey)), kid, use: 'sig' } }),
      { mode: 0o600 },
    );
    const verify = await localTokenVerifier(stateDir);
    const signed = async (alg: string, key: Parameters<SignJWT['sign']>[0]) =>
      await new SignJWT({ tenant_id: 'acme' })
        .setProtectedHeader({ alg, kid })
        .setIssuer(LOCAL_ISSUER)
        .setAudience(LOCAL_AUDIENCE)
        .setExpirationTime('10m')
        .sign(key);
    for (const alg of ['RS256', 'RS384', 'RS512']) {
      await expect(verify(await signed(alg, await importJWK(privateJwk, alg)))).resolves.toMatchObject({ tenant_id: 'acme' });
    }
    for (const alg of ['PS256', 'ES256']) {
      const { privateKey: other } = await generateKeyPair(alg);
      await expect(verify(await signed(alg, other))).rejects.toThrow("the token's algorithm is not one of RS256, RS384, RS512");
    }
    // The key stays as it was: an RSA key is not replaced.
    expect((await storedKey(stateDir)).privateJwk.kid).toBe(kid);
  });

  it('refuses to guess about a signing-key.json that is not JSON', async () => {
    const stateDir = await freshStateDir();
    await writeFile(join(stateDir, 'signing-key.json'), '{"privateJwk":');
    await expect(localJwks(stateDir)).rejects.toThrow(/signing-key\.json is not JSON/);
  });
});

describe('starting on a state directory that holds an EC key', () => {
  let stack: LocalStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('replaces it with an RSA key: new tokens verify, tokens of the old key answer 401', async () => {
    const stateDir = await freshStateDir();
    const old = await writeOldEcKey(stateDir);
    const oldToken = await old.sign();
    stack = await startLocalStack({
      port: 0,
      stateDir,
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      tableName: `connector-${crypto.randomUUID()}`,
      stepFunctions: { retryDelayMs: 0, waitMs: 0 },
    });

    const { privateJwk } = await storedKey(stateDir);
    expect(privateJwk).toMatchObject({ kty: 'RSA', alg: 'RS256' });
    expect((await stat(join(stateDir, 'signing-key.json'))).mode & 0o777).toBe(0o600);
    const { keys } = (await (await fetch(`${stack.url}/.well-known/jwks.json`)).json()) as { keys: Record<string, string>[] };
    expect(keys).toEqual([expect.objectContaining({ kty: 'RSA', alg: 'RS256', kid: privateJwk.kid })]);

    const list = (token: string) => fetch(`${stack!.url}/trpc/connector.list`, { headers: { authorization: `Bearer ${token}` } });
    expect((await list(await issueLocalToken(stateDir, { tenantId: 'acme', role: 'admin' }))).status).toBe(200);
    const refused = await list(oldToken);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: -32001, data: { code: 'UNAUTHORIZED', httpStatus: 401, path: 'connector.list' } } });
  }, 60_000);
});
