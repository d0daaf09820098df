import { TRPCClientError } from '@trpc/client';

/** The HTTP status of an API error: the envelope's, else the response's (API Gateway's own 401 has no envelope). */
function httpStatusOf(error: unknown): number | undefined {
  if (!(error instanceof TRPCClientError)) return undefined;
  const data = error.data as { httpStatus?: number } | undefined;
  const response = (error.meta as { response?: { status?: number } } | undefined)?.response;
  return data?.httpStatus ?? response?.status;
}

export function isUnauthorized(error: unknown): boolean {
  return httpStatusOf(error) === 401;
}

/** Worth asking again: the network, a provider's or the service's passing trouble; not a refusal. */
export function isRetryable(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === undefined || status >= 500 || status === 429;
}

/** An API error as a sentence for the person at the page. The API's own messages are written for people. */
export function describeError(error: unknown): string {
  const status = httpStatusOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (status === 403) return 'Only an admin can do this: your sign-in lets you see everything but change nothing.';
  if (status === 401) return `Your sign-in is not valid any more (${message}). Sign in again.`;
  if (error instanceof TRPCClientError && status === undefined) {
    return 'The API could not be reached. Check that the service is running, then try again.';
  }
  if (status === 429) return `${message} Try again in a moment.`;
  return message || `The API answered ${status ?? 'an error'}.`;
}
