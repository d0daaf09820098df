import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../../../functions/core/errors';
import { DEFAULT_SECRETS_MAX_AGE_SECONDS, secretFromEnv } from '../../../../functions/core/secrets';
import { startFakeSecretsManager, type FakeSecretsManager } from './fake-secrets-manager';

const FIRST = 'client-secret-v1-Zq8wXr2N';
const ROTATED = 'client-secret-v2-Hk4pLm7T';

let secretsManager: FakeSecretsManager;
let client: SecretsManagerClient;
/** Everything written to stdout, stderr or the console while a test ran. */
let output: string[];

beforeAll(async () => {
  secretsManager = await startFakeSecretsManager();
  // A real SDK client; only the endpoint is ours. Static credentials: nothing reaches AWS.
  client = new SecretsManagerClient({
    endpoint: secretsManager.endpoint,
    region: secretsManager.region,
    credentials: { accessKeyId: 'AKIAFAKESECRETSTEST0', secretAccessKey: 'fake-secret-access-key' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await secretsManager.close();
});

beforeEach(() => {
  output = [];
  const keep = (chunk: unknown) => void output.push(String(chunk));
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: never[]) => {
      keep(chunk);
      return write(chunk as string, ...rest);
    }) as typeof stream.write);
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => keep(args.map(String).join(' ')));
  }
});
afterEach(() => {
  // No secret value may reach any output, whatever the test did.
  expect(output.join('\n')).not.toMatch(new RegExp(`${FIRST}|${ROTATED}`));
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A reader as a container holds one: its own cache, over the fake Secrets Manager. */
const provider = () => new SecretsProvider({ awsSdkV3Client: client });
const requestsFor = (arn: string) => secretsManager.requests.filter((id) => id === arn).length;
/** Lets the clock Parameters reads (Date) move, and only that: the SDK's timers stay real. */
function clock(): { advanceSeconds(seconds: number): void } {
  let now = Date.now();
  vi.useFakeTimers({ toFake: ['Date'], now });
  return {
    advanceSeconds(seconds) {
      now += seconds * 1000;
      vi.setSystemTime(now);
    },
  };
}

describe('secretFromEnv', () => {
  it('answers NAME directly when it is set (the local stack), asking Secrets Manager nothing', async () => {
    const before = secretsManager.requests.length;
    const secret = secretFromEnv({ APP_SECRET: FIRST, APP_SECRET_ARN: 'arn:unused' }, 'APP_SECRET', { provider: provider() });
    expect(await secret()).toBe(FIRST);
    expect(secretsManager.requests.length).toBe(before);
  });

  it('refuses clearly when neither NAME nor NAME_ARN is set', async () => {
    await expect(secretFromEnv({}, 'APP_SECRET')()).rejects.toThrow(new ConfigurationError('APP_SECRET (or APP_SECRET_ARN) is not set.'));
  });

  it('reads NAME_ARN once and keeps it: calls at the same time share the read, later ones within the max age use the cache', async () => {
    const arn = secretsManager.put('cached', FIRST);
    const time = clock();
    const secret = secretFromEnv({ APP_SECRET_ARN: arn }, 'APP_SECRET', { provider: provider() });

    expect(await Promise.all([secret(), secret(), secret()])).toEqual([FIRST, FIRST, FIRST]);
    time.advanceSeconds(DEFAULT_SECRETS_MAX_AGE_SECONDS - 1);
    expect(await secret()).toBe(FIRST);
    expect(requestsFor(arn)).toBe(1);
  });

  it('picks up a rotated secret once the max age (5 minutes by default) has passed, with nothing rebuilt', async () => {
    const arn = secretsManager.put('rotated', FIRST);
    const time = clock();
    const secret = secretFromEnv({ APP_SECRET_ARN: arn }, 'APP_SECRET', { provider: provider() });
    expect(await secret()).toBe(FIRST);

    secretsManager.rotate(arn, ROTATED);
    time.advanceSeconds(60);
    expect(await secret()).toBe(FIRST);
    time.advanceSeconds(DEFAULT_SECRETS_MAX_AGE_SECONDS - 60 + 1);
    expect(await secret()).toBe(ROTATED);
    expect(await secret()).toBe(ROTATED);
    expect(requestsFor(arn)).toBe(2);
  });

  it('takes its max age from SECRETS_MAX_AGE_SECONDS; 0 reads the secret on every use', async () => {
    const arn = secretsManager.put('short-lived', FIRST);
    const time = clock();
    const secret = secretFromEnv({ APP_SECRET_ARN: arn, SECRETS_MAX_AGE_SECONDS: '30' }, 'APP_SECRET', { provider: provider() });
    expect(await secret()).toBe(FIRST);
    secretsManager.rotate(arn, ROTATED);
    time.advanceSeconds(31);
    expect(await secret()).toBe(ROTATED);
    expect(requestsFor(arn)).toBe(2);

    const uncached = secretFromEnv({ APP_SECRET_ARN: arn, SECRETS_MAX_AGE_SECONDS: '0' }, 'APP_SECRET', { provider: provider() });
    await uncached();
    await uncached();
    expect(requestsFor(arn)).toBe(4);
  });

  it('refuses a SECRETS_MAX_AGE_SECONDS that is not a whole number of seconds, at once', () => {
    for (const value of ['-1', '2.5', 'five minutes']) {
      expect(() => secretFromEnv({ APP_SECRET_ARN: 'arn:x', SECRETS_MAX_AGE_SECONDS: value }, 'APP_SECRET')).toThrow(ConfigurationError);
    }
  });

  it('refuses an empty secret, or one with no SecretString, with a ConfigurationError naming the variable', async () => {
    for (const value of ['', undefined]) {
      const arn = secretsManager.put('empty', value);
      const secret = secretFromEnv({ APP_SECRET_ARN: arn }, 'APP_SECRET', { provider: provider() });
      await expect(secret()).rejects.toThrow(new ConfigurationError('The secret named by APP_SECRET_ARN is empty or not text.'));
    }
  });

  it("rejects with Secrets Manager's own error when the read fails, and reads again on the next call", async () => {
    const arn = `arn:aws:secretsmanager:${secretsManager.region}:111122223333:secret:missing-AbCdEf`;
    const secret = secretFromEnv({ APP_SECRET_ARN: arn }, 'APP_SECRET', { provider: provider() });
    await expect(secret()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(secret()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(requestsFor(arn)).toBe(2);
  });

  it('never puts the value in an error, after it was read and then went wrong', async () => {
    const arn = secretsManager.put('leaky', FIRST);
    const time = clock();
    const secret = secretFromEnv({ APP_SECRET_ARN: arn, SECRETS_MAX_AGE_SECONDS: '1' }, 'APP_SECRET', { provider: provider() });
    expect(await secret()).toBe(FIRST);
    secretsManager.rotate(arn, '');
    time.advanceSeconds(2);

    const error = (await secret().catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(ConfigurationError);
    const everything = JSON.stringify({ message: error.message, stack: error.stack, cause: String(error.cause), own: { ...error } });
    expect(everything).not.toContain(FIRST);
  });

  it('reads through the runtime\'s own client when none is injected (the SDK honours AWS_ENDPOINT_URL_SECRETS_MANAGER)', async () => {
    const arn = secretsManager.put('default-client', FIRST);
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.endpoint);
    vi.stubEnv('AWS_REGION', secretsManager.region);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAFAKESECRETSTEST0');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'fake-secret-access-key');
    try {
      expect(await secretFromEnv({ APP_SECRET_ARN: arn }, 'APP_SECRET')()).toBe(FIRST);
      expect(requestsFor(arn)).toBe(1);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
