import { mkdir, readFile, writeFile } from 'node:fs/promises';
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
const ALGORITHM = 'ES256';

interface StoredKey {
  privateJwk: JWK;
  publicJwk: JWK;
}

/**
 * The local signing key, created on first use in the state directory. Created with an
 * exclusive write, so `npm start` and `npm run token` racing on a fresh directory agree.
 */
async function signingKey(stateDir: string): Promise<StoredKey> {
  const file = join(stateDir, 'signing-key.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StoredKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  const kid = crypto.randomUUID();
  const stored: StoredKey = {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALGORITHM },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: 'sig' },
  };
  await mkdir(stateDir, { recursive: true });
  try {
    await writeFile(file, JSON.stringify(stored), { flag: 'wx', mode: 0o600 });
    return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return JSON.parse(await readFile(file, 'utf8')) as StoredKey;
  }
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
 * A verifier that checks what the HTTP API JWT authorizer checks: the signature by `kid`,
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
        algorithms: [ALGORITHM],
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
  if (error instanceof errors.JOSEAlgNotAllowed) return `the token's algorithm is not ${ALGORITHM}`;
  return 'the token is not a well-formed signed JWT';
}
