import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../functions/core/errors';
import { MAX_PROVIDER_WAIT_SECONDS, comeBackLaterError, providerFetch } from '../../../functions/providers/http';

describe('providerFetch', () => {
  let closedPort: number;

  beforeAll(async () => {
    // A port that was just free: nothing listens there once the server is closed.
    const server: Server = createServer();
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    closedPort = (server.address() as { port: number }).port;
    await new Promise<void>((closed) => server.close(() => closed()));
  });

  it('says which host did not answer, without the path or query, and promises no retry', async () => {
    const failure = await providerFetch('Salesforce', `http://127.0.0.1:${closedPort}/services/oauth2/token?refresh_token=secret-token`).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ retryable: true, throttled: false, message: `Salesforce did not answer at 127.0.0.1:${closedPort}.` });
    expect((failure as Error).message).not.toMatch(/secret-token|oauth2|retried/);
  });
});

describe('comeBackLaterError', () => {
  it('carries a wait up to the cap as a retryable error', () => {
    const error = comeBackLaterError('Fathom', 'Fathom is unavailable (HTTP 503).', { throttled: false, waitSeconds: MAX_PROVIDER_WAIT_SECONDS });

    expect(error).toMatchObject({ retryable: true, throttled: false, retryAfterSeconds: 900, message: 'Fathom is unavailable (HTTP 503).' });
  });

  it('turns a longer wait into an error that is not retryable and says why', () => {
    const error = comeBackLaterError('Delivr.ai', 'Delivr.ai is limiting our request rate (HTTP 429).', { throttled: true, waitSeconds: 2 * 60 * 60 });

    expect(error).toMatchObject({
      retryable: false,
      throttled: true,
      message: 'Delivr.ai asked us to wait 120 minutes, longer than a sync waits; the sync will run again at the next schedule.',
    });
  });

  it('keeps an error without a wait retryable, for the state machine to back off', () => {
    expect(comeBackLaterError('Salesforce', 'Salesforce is unavailable (HTTP 500).', { throttled: false, waitSeconds: undefined })).toMatchObject({
      retryable: true,
      retryAfterSeconds: undefined,
    });
  });
});
