import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { $ZodError } from 'zod/v4/core';
import {
  ConflictError,
  ConnectorServiceError,
  CredentialDecryptionError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  ProviderError,
  UnauthorizedError,
} from '../../core/errors';
import { QUOTED_INPUT_MAX_CHARS, escapeForMessage, quoteInput } from '../../core/quote-input';

/** The one place domain errors become tRPC codes (and so HTTP statuses). */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) {
    return error.cause instanceof ConnectorServiceError ? toTRPCError(error.cause) : error;
  }
  if (error instanceof ConnectorServiceError) {
    const code = codeFor(error);
    // Domain messages are written for users; configuration and unexpected failures are not.
    const message = code === 'INTERNAL_SERVER_ERROR' ? INTERNAL_MESSAGE : error.message;
    return new TRPCError({ code, message, cause: error });
  }
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: INTERNAL_MESSAGE, cause: error });
}

export const INTERNAL_MESSAGE = 'Something went wrong on our side; please try again later.';

function codeFor(error: ConnectorServiceError): TRPC_ERROR_CODE_KEY {
  if (error instanceof UnauthorizedError) return 'UNAUTHORIZED';
  if (error instanceof ForbiddenError) return 'FORBIDDEN';
  if (error instanceof NotFoundError) return 'NOT_FOUND';
  if (error instanceof ConflictError) return 'CONFLICT';
  if (error instanceof InvalidInputError) return 'BAD_REQUEST';
  if (error instanceof CredentialDecryptionError) return 'PRECONDITION_FAILED';
  if (error instanceof ProviderError) {
    if (error.reauthorizationRequired) return 'PRECONDITION_FAILED';
    // 429 only when the provider throttles us (the response then carries Retry-After, see
    // lambda.ts); an outage that may pass is 503, a provider refusing or garbling is 502.
    if (error.throttled) return 'TOO_MANY_REQUESTS';
    return error.retryable ? 'SERVICE_UNAVAILABLE' : 'BAD_GATEWAY';
  }
  return 'INTERNAL_SERVER_ERROR';
}

/** How many calls one batched request may carry (the Lambda adapter's maxBatchSize). */
export const MAX_BATCH_CALLS = 10;

/** Longest message text taken from elsewhere (a parser, tRPC's routing) that a caller is shown. */
const MAX_FOREIGN_MESSAGE_CHARS = 200;

/** Zod issues listed in one message; the rest are counted. */
const MAX_LISTED_ISSUES = 5;

/**
 * The message a caller gets for a tRPC error: input problems as one readable sentence
 * instead of tRPC's raw issue list or JSON.parse's wording; internal failures generic.
 * Whatever part of it the caller sent is cut short and has control and bidi characters
 * escaped (see quote-input.ts), so a message cannot be used to smuggle text.
 */
export function userMessage(error: TRPCError): string {
  // Whatever threw it, an internal failure's own message (an SDK's, a library's) stays in the log.
  if (error.code === 'INTERNAL_SERVER_ERROR') return INTERNAL_MESSAGE;
  if (error.cause instanceof $ZodError) {
    const { issues } = error.cause;
    const problems = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => {
      const field = issue.path.length ? issue.path.map((key) => escapeForMessage(String(key), QUOTED_INPUT_MAX_CHARS)).join('.') : 'input';
      return `${field}: ${escapeForMessage(issue.message, MAX_FOREIGN_MESSAGE_CHARS)}`;
    });
    if (issues.length > MAX_LISTED_ISSUES) problems.push(`and ${issues.length - MAX_LISTED_ISSUES} more problems`);
    return `Invalid input: ${problems.join('; ')}`;
  }
  if (error.code === 'BAD_REQUEST' && error.cause instanceof SyntaxError) {
    // JSON.parse's wording quotes a piece of the input.
    return `Invalid input: the input is not valid JSON (${escapeForMessage(error.cause.message, MAX_FOREIGN_MESSAGE_CHARS)}).`;
  }
  if (error.code === 'BAD_REQUEST' && error.message === 'Batch call exceeds maximum size') {
    return `A batch holds at most ${MAX_BATCH_CALLS} calls; send the calls in smaller batches.`;
  }
  // tRPC's routing errors end by quoting the procedure path from the URL, raw.
  const routing = /^(.*? path )"([\s\S]*)"$/.exec(error.message);
  if (routing && (error.code === 'NOT_FOUND' || error.code === 'METHOD_NOT_SUPPORTED')) {
    return `${escapeForMessage(routing[1]!, MAX_FOREIGN_MESSAGE_CHARS)}${quoteInput(routing[2]!)}.`;
  }
  // Domain messages quote input through quoteInput already; this keeps any other safe too.
  return escapeForMessage(error.message, MAX_FOREIGN_MESSAGE_CHARS * 4);
}
