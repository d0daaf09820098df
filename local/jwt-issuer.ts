import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SignJWT,
  createLocalJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
} from 'jose';

/** The local identity provider's issuer and audience; the local gateway checks both, as the AWS JWT authorizer does. */
export const LOCAL_ISSUER = 'https://issuer.connector.local';
export const LOCAL_AUDIENCE = 'connector-api';
/**
 * What the local issuer signs with. The HTTP API JWT authorizer supports only RSA-based
 * algorithms, so the local issuer signs RS256 with an RSA 2048 key, as a customer's
 * identity provider must for the deployed API to accept its tokens.
 */
const ALGORITHM = 'RS256';
/** What the local gateway accepts: the RSA algorithms only, as the JWT authorizer does. */
export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512'] as const;
const RSA_MODULUS_BITS = 2048;

interface StoredKey {
  privateJwk: JWK;
  publicJwk: JWK;
}

/** A stored key the issuer can sign with: an RSA key pair with a kid (not a state directory's older EC key). */
function isRsaKey(stored: unknown): stored is StoredKey {
  const { privateJwk, publicJwk } = (stored ?? {}) as Partial<StoredKey>;
  return (
    privateJwk?.kty === 'RSA' && typeof privateJwk.d === 'string' && typeof privateJwk.kid === 'string' &&
    publicJwk?.kty === 'RSA' && publicJwk.n === privateJwk.n && publicJwk.kid === privateJwk.kid && publicJwk.d === undefined
  );
}

async function readStoredKey(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof SyntaxError) throw new Error(`${file} is not JSON: delete it to have a new signing key made`, { cause: error });
    throw error;
  }
}

async function newRsaKey(): Promise<StoredKey> {
  const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { modulusLength: RSA_MODULUS_BITS, extractable: true });
  const kid = crypto.randomUUID();
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALGORITHM },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: 'sig' },
  };
}

/**
 * The local signing key, created on first use in the state directory. A state directory
 * from before the issuer signed RS256 holds an EC key: that one is replaced by a new RSA
 * key (tokens it signed stop verifying; nothing else changes).
 *
 * The file only ever appears whole: a new key is written to a private temporary file
 * (mode 0600) and hard-linked into place, which fails if a key is already there; an old
 * key is first renamed aside, which only one process can do. So `npm start` and
 * `npm run token` racing on a fresh or old directory end up with the same key.
 */
async function signingKey(stateDir: string): Promise<StoredKey> {
  const file = join(stateDir, 'signing-key.json');
  for (let attempt = 0; attempt < 5; attempt++) {
    const stored = await readStoredKey(file);
    if (isRsaKey(stored)) return stored;
    if (stored !== undefined) {
      // Not an RSA key: take it out of the way, then make a new one.
      const aside = `${file}.replaced-${crypto.randomUUID()}`;
      try {
        await rename(file, aside);
      } catch (error) {
        // Another process moved it first.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        continue;
      }
      if (isRsaKey(await readStoredKey(aside))) {
        // Another process replaced the old key between our read and our rename: put its key back.
        await link(aside, file).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        });
      }
      await unlink(aside);
      continue;
    }
    const key = await newRsaKey();
    await mkdir(stateDir, { recursive: true });
    const temporary = `${file}.${crypto.randomUUID()}.tmp`;
    await writeFile(temporary, JSON.stringify(key), { flag: 'wx', mode: 0o600 });
    try {
      await link(temporary, file).catch(async (error: NodeJS.ErrnoException) => {
        // A file system without hard links: an exclusive create, which a reader may see part-written.
        if (!['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'].includes(error.code ?? '')) throw error;
        await writeFile(file, JSON.stringify(key), { flag: 'wx', mode: 0o600 });
      });
      return key;
    } catch (error) {
      // Another process put its key in place first: read and use that one.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(temporary);
    }
  }
  throw new Error(`${file} keeps changing: is something else writing the signing key?`);
}

/** The public keys, as the issuer's JWKS document would publish them. */
export async function localJwks(stateDir: string): Promise<JSONWebKeySet> {
  return { keys: [(await signingKey(stateDir)).publicJwk] };
}

/** Signs a token for a tenant and role, with the claim names the service is configured to read. */
export async function issueLocalToken(
  stateDir: string,
  options: { tenantId: string; role: string; expiresIn?: string; env?: NodeJS.ProcessEnv },
): Promise<string> {
  const env = options.env ?? process.env;
  const { privateJwk } = await signingKey(stateDir);
  const key = await importJWK(privateJwk, ALGORITHM);
  return await new SignJWT({
    [env.TENANT_CLAIM || 'tenant_id']: options.tenantId,
    [env.ROLE_CLAIM || 'role']: options.role,
  })
    .setProtectedHeader({ alg: ALGORITHM, kid: privateJwk.kid, typ: 'JWT' })
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setSubject(`local-${options.role}@${options.tenantId}`)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h')
    .sign(key);
}

/**
 * A verifier that checks what the HTTP API JWT authorizer checks: an RSA signature
 * (RS256, RS384 or RS512; any other `alg`, `none` included, is refused) by `kid`,
 * issuer, audience, `exp` present and in the future, `nbf` and `iat` (when present) not in
 * the future. No clock tolerance: the authorizer documents none.
 * @throws when the token fails any check; the message says which.
 */
export async function localTokenVerifier(stateDir: string): Promise<(token: string) => Promise<JWTPayload>> {
  const jwks = createLocalJWKSet(await localJwks(stateDir));
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: LOCAL_ISSUER,
        audience: LOCAL_AUDIENCE,
        algorithms: [...ACCEPTED_ALGORITHMS],
        // jose checks exp only when present, and iat's future only with maxTokenAge: ask for exp here, iat below.
        requiredClaims: ['exp'],
        clockTolerance: 0,
      }));
    } catch (error) {
      throw new Error(refusalReason(error), { cause: error });
    }
    if (payload.iat !== undefined && payload.iat > Math.floor(Date.now() / 1000)) {
      throw new Error('the token was issued in the future (iat)');
    }
    return payload;
  };
}

/** Why jose refused a token, in the words the gateway shows the caller. */
function refusalReason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired (exp)';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `the token has no ${error.claim} claim`;
    if (error.claim === 'nbf') return 'the token is not valid yet (nbf)';
    return `the token's ${error.claim} claim is not the one this API expects`;
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWSSignatureVerificationFailed) {
    return 'the token is not signed by this issuer\'s keys';
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return `the token's algorithm is not one of ${ACCEPTED_ALGORITHMS.join(', ')}`;
  return 'the token is not a well-formed signed JWT';
}
