import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCClientError, createTRPCClient, httpBatchLink, httpLink } from '@trpc/client';
import { SignJWT, decodeProtectedHeader, generateKeyPair, importJWK, type CryptoKey } from 'jose';
import type { AppRouter } from '../../functions/api/router';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../local/jwt-issuer';
import { startTestStack, type TestStack } from '../support/local-stack';

interface ErrorEnvelope {
  error: { message: string; code: number; data: { code: string; httpStatus: number; path?: string } };
}

/**
 * The local gateway as API Gateway's HTTP API with its JWT authorizer: which tokens it lets
 * through, and that each rejection it makes itself reads like one of tRPC's own errors.
 */
describe('local gateway', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());

  const now = () => Math.floor(Date.now() / 1000);

  /** Signs with the stack's key; `claims` sets (or, as undefined, leaves out) the time claims. */
  async function tokenWith(times: { exp?: number; nbf?: number; iat?: number }) {
    const { privateJwk } = JSON.parse(await readFile(join(stack.stateDir, 'signing-key.json'), 'utf8'));
    const claims = Object.fromEntries(Object.entries(times).filter(([, value]) => value !== undefined));
    return await new SignJWT({ tenant_id: 'acme', role: 'admin', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: privateJwk.kid })
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .sign(await importJWK(privateJwk, 'RS256'));
  }

  const list = (token?: string) =>
    fetch(`${stack.url}/trpc/connector.list`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  async function envelopeOf(response: Response): Promise<ErrorEnvelope> {
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    return (await response.json()) as ErrorEnvelope;
  }

  describe('JWT checks, as the HTTP API JWT authorizer makes them', () => {
    it('accepts a token with exp in the future and iat, nbf now or before', async () => {
      expect((await list(await tokenWith({ exp: now() + 600, iat: now(), nbf: now() }))).status).toBe(200);
      expect((await list(await tokenWith({ exp: now() + 600, iat: now() - 60, nbf: now() - 60 }))).status).toBe(200);
      expect((await list(await tokenWith({ exp: now() + 600 }))).status).toBe(200);
    });

    /** A token the stack would take but for its algorithm (and key): same kid, issuer, audience and claims. */
    async function signedWith(alg: string, key: CryptoKey | Uint8Array) {
      const { privateJwk } = JSON.parse(await readFile(join(stack.stateDir, 'signing-key.json'), 'utf8'));
      return await new SignJWT({ tenant_id: 'acme', role: 'admin' })
        .setProtectedHeader({ alg, kid: privateJwk.kid })
        .setIssuer(LOCAL_ISSUER)
        .setAudience(LOCAL_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(key);
    }

    async function expectAlgorithmRefused(token: string) {
      const response = await list(token);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
      const { error } = await envelopeOf(response);
      expect(error).toEqual({
        message: "The bearer token is not valid: the token's algorithm is not one of RS256, RS384, RS512.",
        code: -32001,
        data: { code: 'UNAUTHORIZED', httpStatus: 401, path: 'connector.list' },
      });
    }

    it('signs RS256 with an RSA 2048 key whose public half, and only that, is at /.well-known/jwks.json', async () => {
      const token = await stack.token('acme', 'admin');
      const header = decodeProtectedHeader(token);
      expect(header.alg).toBe('RS256');
      const { keys } = (await (await fetch(`${stack.url}/.well-known/jwks.json`)).json()) as { keys: Record<string, string>[] };
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: header.kid, e: 'AQAB' });
      expect(keys[0]).not.toHaveProperty('d');
      expect(Buffer.from(keys[0]!.n!, 'base64url').length * 8).toBe(2048);
      expect((await list(token)).status).toBe(200);
    });

    it('answers 401 to an ES256 token from an EC key with the same kid, issuer and audience', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      await expectAlgorithmRefused(await signedWith('ES256', privateKey));
    });

    it('answers 401 to an HS256 token, even one keyed with the public key (algorithm confusion)', async () => {
      const { publicJwk } = JSON.parse(await readFile(join(stack.stateDir, 'signing-key.json'), 'utf8'));
      await expectAlgorithmRefused(await signedWith('HS256', new TextEncoder().encode(JSON.stringify(publicJwk))));
      await expectAlgorithmRefused(await signedWith('HS256', crypto.getRandomValues(new Uint8Array(32))));
    });

    it('answers 401 to an unsigned token (alg none)', async () => {
      const { privateJwk } = JSON.parse(await readFile(join(stack.stateDir, 'signing-key.json'), 'utf8'));
      const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const claims = { tenant_id: 'acme', role: 'admin', iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, iat: now(), exp: now() + 600 };
      await expectAlgorithmRefused(`${part({ alg: 'none', kid: privateJwk.kid })}.${part(claims)}.`);
    });

    for (const [name, times, reason] of [
      ['no exp', { iat: now() }, /no exp claim/],
      ['exp in the past', { exp: now() - 1 }, /expired/],
      ['nbf in the future', { exp: now() + 600, nbf: now() + 120 }, /not valid yet/],
      ['iat in the future', { exp: now() + 600, iat: now() + 120 }, /issued in the future/],
    ] as const) {
      it(`answers 401 to a token with ${name}, saying why`, async () => {
        const response = await list(await tokenWith(times));
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
        const { error } = await envelopeOf(response);
        expect(error.message).toMatch(reason);
        expect(error.data).toEqual({ code: 'UNAUTHORIZED', httpStatus: 401, path: 'connector.list' });
      });
    }
  });

  describe("rejections in tRPC's envelope", () => {
    it('shapes a 401 exactly like the 403 a handler answers through tRPC', async () => {
      const missing = await envelopeOf(await list());
      expect(missing).toEqual({
        error: {
          message: expect.stringMatching(/^A bearer token is required/),
          code: -32001,
          data: { code: 'UNAUTHORIZED', httpStatus: 401, path: 'connector.list' },
        },
      });
      const forbidden = await envelopeOf(
        await fetch(`${stack.url}/trpc/connector.disconnect`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await stack.token('acme', 'member')}`, 'content-type': 'application/json' },
          body: '{"connectorId":"salesforce"}',
        }),
      );
      expect(forbidden).toEqual({
        error: { message: expect.any(String), code: -32003, data: { code: 'FORBIDDEN', httpStatus: 403, path: 'connector.disconnect' } },
      });
      expect(Object.keys(missing.error)).toEqual(Object.keys(forbidden.error));
      expect(Object.keys(missing.error.data)).toEqual(Object.keys(forbidden.error.data));
    });

    it('gives the real tRPC client a TRPCClientError with the code, over httpLink and httpBatchLink', async () => {
      for (const link of [httpLink, httpBatchLink]) {
        const client = createTRPCClient<AppRouter>({
          links: [link({ url: `${stack.url}/trpc`, headers: { authorization: 'Bearer not.a.jwt' } })],
        });
        const error = await client.connector.list.query().then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(TRPCClientError);
        expect((error as TRPCClientError<AppRouter>).data).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 });
        expect((error as TRPCClientError<AppRouter>).message).toMatch(/^The bearer token is not valid: /);
      }
    });

    it('answers 404 NOT_FOUND outside the routes, quoting the path safely', async () => {
      const response = await fetch(`${stack.url}/nowhere/${'x'.repeat(200)}`);
      expect(response.status).toBe(404);
      const { error } = await envelopeOf(response);
      expect(error).toMatchObject({ code: -32004, data: { code: 'NOT_FOUND', httpStatus: 404 } });
      expect(error.message).toMatch(/^No route matches GET "\/nowhere\/x+…"\.$/);
    });

    it('answers 405 METHOD_NOT_SUPPORTED with Allow to a GET on a mutation, before the token is checked', async () => {
      const response = await fetch(`${stack.url}/trpc/connector.disconnect?input=%7B%7D`);
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(await envelopeOf(response)).toEqual({
        error: {
          message: '"connector.disconnect" accepts POST requests, not GET.',
          code: -32005,
          data: { code: 'METHOD_NOT_SUPPORTED', httpStatus: 405, path: 'connector.disconnect' },
        },
      });
    });

    it('answers 405 to a method no route of the path takes', async () => {
      const response = await fetch(`${stack.url}/trpc/connector.list`, { method: 'DELETE' });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET');
      expect((await envelopeOf(response)).error.data.code).toBe('METHOD_NOT_SUPPORTED');
    });

    it('answers 413 PAYLOAD_TOO_LARGE over the 10 MB limit', async () => {
      const response = await fetch(`${stack.url}/trpc/connector.disconnect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'x'.repeat(10 * 1024 * 1024 + 1),
      });
      expect(response.status).toBe(413);
      expect((await envelopeOf(response)).error).toMatchObject({ code: -32013, data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 } });
    });

    it('answers 431 with the envelope to a URL over 16 KB', async () => {
      const input = encodeURIComponent(JSON.stringify({ connectorId: 'x'.repeat(20_000) }));
      // node's own client: it reads a response that arrives while the request is still being refused.
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const call = request(`${stack.url}/trpc/connector.getStatus?input=${input}`, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        });
        call.on('error', reject);
        call.end();
      });
      expect(status).toBe(431);
      expect(JSON.parse(body)).toEqual({
        error: { message: expect.stringMatching(/over the 16 KB limit/), code: -32600, data: { code: 'BAD_REQUEST', httpStatus: 431 } },
      });
    });
  });
});
