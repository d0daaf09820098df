import type { TRPCClientError } from '@trpc/client';
import { expect } from 'vitest';
import type { AppRouter } from '../../functions/api/router';

/** The tRPC error a call made through the real client failed with; the test fails if the call succeeded. */
export function errorOf(promise: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  return promise.then(
    () => expect.fail('expected the call to fail'),
    (error: TRPCClientError<AppRouter>) => error,
  );
}
