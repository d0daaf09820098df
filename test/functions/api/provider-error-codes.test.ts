import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../functions/core/errors';
import { toTRPCError } from '../../../functions/api/trpc/errors';
import { DEFAULT_THROTTLED_RETRY_AFTER_SECONDS, retryAfterSecondsFor } from '../../../functions/api/trpc/lambda';

const provider = 'Customer.io';

describe('provider errors as API answers', () => {
  it('answers 503 for an outage that may pass, 502 for a provider that refused, 429 only for throttling', () => {
    expect(toTRPCError(new ProviderError('Customer.io at host is unavailable (HTTP 503).', { provider, retryable: true })).code).toBe(
      'SERVICE_UNAVAILABLE',
    );
    expect(toTRPCError(new ProviderError('Customer.io refused the request (HTTP 400).', { provider })).code).toBe('BAD_GATEWAY');
    expect(toTRPCError(new ProviderError('Customer.io asked us to slow down (HTTP 429).', { provider, retryable: true, throttled: true })).code).toBe(
      'TOO_MANY_REQUESTS',
    );
    expect(toTRPCError(new ProviderError('Reconnect.', { provider, reauthorizationRequired: true })).code).toBe('PRECONDITION_FAILED');
  });

  it('keeps the provider sentence as the message of an outage', () => {
    const error = toTRPCError(new ProviderError('Customer.io did not answer at api.customer.io.', { provider, retryable: true }));

    expect(error.message).toBe('Customer.io did not answer at api.customer.io.');
  });

  it('always gives a throttled answer a Retry-After: the provider\'s, else a default', () => {
    const throttled = (retryAfterSeconds?: number) =>
      toTRPCError(new ProviderError('slow down', { provider, retryable: true, throttled: true, retryAfterSeconds }));

    expect(retryAfterSecondsFor([throttled(7.2)])).toBe(8);
    expect(retryAfterSecondsFor([throttled()])).toBe(DEFAULT_THROTTLED_RETRY_AFTER_SECONDS);
    // A batch waits for its slowest call.
    expect(retryAfterSecondsFor([throttled(7), throttled(30)])).toBe(30);
  });

  it('gives an outage a Retry-After only when the provider named one, and other errors none', () => {
    const outage = (retryAfterSeconds?: number) => toTRPCError(new ProviderError('down', { provider, retryable: true, retryAfterSeconds }));

    expect(retryAfterSecondsFor([outage(120)])).toBe(120);
    expect(retryAfterSecondsFor([outage()])).toBeUndefined();
    expect(retryAfterSecondsFor([new TRPCError({ code: 'BAD_REQUEST', message: 'bad' })])).toBeUndefined();
  });
});
