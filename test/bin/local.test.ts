import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTRPCClient, httpLink } from '@trpc/client';
import { decodeProtectedHeader } from 'jose';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AppRouter } from '../../functions/api/router';
import { TestConnectorStore } from '../support/connector-store';
import { freePort, localDynamoDbClient } from '../../local/dynamodb-local';
import { connectorRecord } from '../support/factories';

const run = promisify(execFile);

interface Started {
  process: ChildProcess;
  /** Everything the stack printed so far. */
  output: () => string;
  dynamoDbEndpoint: string;
  tableName: string;
}

/** Runs `npm start` as a user would, and waits for its `ready` line. */
async function npmStart(env: Record<string, string>): Promise<Started> {
  const child = spawn('npm', ['start'], { env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'INFO', ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no ready line:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready[\s\S]*DynamoDB Local: (\S+), table (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ process: child, output: () => output, dynamoDbEndpoint: match[1]!, tableName: match[2]! });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
}

async function stop(started: Started): Promise<void> {
  const exited = new Promise((resolve) => started.process.once('exit', resolve));
  process.kill(-started.process.pid!, 'SIGTERM');
  await exited;
}

async function token(stateDir: string, tenant: string, role: string): Promise<string> {
  const { stdout } = await run('npm', ['run', '--silent', 'token', '--', '--tenant', tenant, '--role', role], {
    env: { ...process.env, LOCAL_STATE_DIR: stateDir },
  });
  return stdout;
}

describe('npm start (the local stack contract)', () => {
  let stateDir: string;
  let port: number;
  let started: Started;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'connector-npm-start-'));
    port = await freePort();
    started = await npmStart({ PORT: String(port), LOCAL_STATE_DIR: stateDir });
  }, 90_000);
  afterAll(async () => {
    if (started.process.exitCode === null) await stop(started);
    await rm(stateDir, { recursive: true, force: true });
  });

  it('serves /health with 200 once it has printed its ready line', async () => {
    expect(started.output()).toMatch(new RegExp(`ready at http://127\\.0\\.0\\.1:${port}`));
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    expect(response.status).toBe(200);
  });

  it('npm run --silent token prints a JWT and nothing else, which the stack accepts', async () => {
    const printed = await token(stateDir, 'acme', 'admin');
    expect(printed).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    // RS256 by the key the stack publishes: the only kind of token the HTTP API JWT authorizer verifies.
    const { keys } = (await (await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`)).json()) as { keys: { kty: string; kid: string }[] };
    expect(decodeProtectedHeader(printed.trim())).toMatchObject({ alg: 'RS256', kid: keys[0]!.kid });
    expect(keys).toEqual([expect.objectContaining({ kty: 'RSA' })]);

    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `http://127.0.0.1:${port}/trpc`, headers: { authorization: `Bearer ${printed.trim()}` } })],
    });
    expect(await client.connector.list.query()).toHaveLength(5);
  });

  it('refuses a bad role with a usage message', async () => {
    await expect(token(stateDir, 'acme', 'root')).rejects.toMatchObject({ stderr: expect.stringMatching(/--role must be admin or member/) });
  });

  it('creates a local encryption key (base64 of 32 bytes) in LOCAL_STATE_DIR when none is given', async () => {
    const key = (await readFile(join(stateDir, 'encryption-key'), 'utf8')).trim();
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
  });

  it('connects Salesforce through its sandbox: getAuthUrl, consent, callback, back on the connections page, connected', async () => {
    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `http://127.0.0.1:${port}/trpc`, headers: { authorization: `Bearer ${(await token(stateDir, 'oauth', 'admin')).trim()}` } })],
    });
    const { authUrl } = await client.connector.getAuthUrl.mutate();
    const consent = await fetch(authUrl, { redirect: 'manual' });
    const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
    // npm start's APP_URL is the connections page: the callback sends the browser back there.
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe(`http://127.0.0.1:${port}/?connector=salesforce&status=connected`);
    expect((await client.connector.getStatus.query({ connectorId: 'salesforce' })).status).toBe('connected');
  });

  it('keeps its data, signing key and encryption key across a restart', async () => {
    const documentClient = DynamoDBDocumentClient.from(localDynamoDbClient(started.dynamoDbEndpoint));
    await new TestConnectorStore(documentClient, started.tableName).saveConnector(
      connectorRecord('persisted', 'salesforce', { config: { instanceUrl: 'https://kept.example' } }),
    );
    documentClient.destroy();
    const tokenBeforeRestart = (await token(stateDir, 'persisted', 'member')).trim();

    await stop(started);
    started = await npmStart({ PORT: String(port), LOCAL_STATE_DIR: stateDir });

    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `http://127.0.0.1:${port}/trpc`, headers: { authorization: `Bearer ${tokenBeforeRestart}` } })],
    });
    expect(await client.connector.getStatus.query({ connectorId: 'salesforce' })).toMatchObject({
      status: 'connected',
      config: { instanceUrl: 'https://kept.example' },
    });
    // Credentials sealed before the restart still open with the persisted local key: the
    // disconnect can revoke (the log says so) instead of failing to decrypt.
    const oauthClient = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `http://127.0.0.1:${port}/trpc`, headers: { authorization: `Bearer ${(await token(stateDir, 'oauth', 'admin')).trim()}` } })],
    });
    expect(await oauthClient.connector.disconnect.mutate({ connectorId: 'salesforce' })).toEqual({ disconnected: true });
    await expect.poll(() => started.output()).toMatch(/"message":"connector disconnected".*"revokedAtProvider":true/);
    expect(started.output()).not.toMatch(/could not be decrypted|revoking the grant at the provider failed/);
  }, 90_000);
});
