import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Loads a handler module in a fresh Node process, as a Lambda container's init does. */
async function initHandler(handler: string, env: Record<string, string>) {
  return await run('node_modules/.bin/tsx', [`functions/api/${handler}.ts`], {
    env: { PATH: process.env.PATH!, AWS_REGION: 'eu-west-1', ...env },
  }).then(
    () => ({ failed: false, stderr: '' }),
    (error: { stderr: string }) => ({ failed: true, stderr: error.stderr }),
  );
}

describe('handler start-up', () => {
  it('refuses to start without CONNECTOR_ENCRYPTION_KEY, and says why', async () => {
    const result = await initHandler('list', { TABLE_NAME: 'connector' });
    expect(result.failed).toBe(true);
    expect(result.stderr).toMatch(/CONNECTOR_ENCRYPTION_KEY is not set/);
  });

  it('refuses a malformed local key without echoing it', async () => {
    const result = await initHandler('oauthCallback', { TABLE_NAME: 'connector', CONNECTOR_ENCRYPTION_KEY: 'c2hvcnQtc2VjcmV0LXZhbHVl' });
    expect(result.failed).toBe(true);
    expect(result.stderr).toMatch(/CONNECTOR_ENCRYPTION_KEY/);
    expect(result.stderr).not.toContain('c2hvcnQtc2VjcmV0LXZhbHVl');
  });

  it('starts with a table and a key', async () => {
    const result = await initHandler('getAuthUrl', { TABLE_NAME: 'connector', CONNECTOR_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(result).toEqual({ failed: false, stderr: '' });
  });
});
