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
    return error.retryable ? 'TOO_MANY_REQUESTS' : 'BAD_GATEWAY';
  }
  return 'INTERNAL_SERVER_ERROR';
}

/**
 * The message a caller gets for a tRPC error: input problems as one readable sentence
 * instead of tRPC's raw issue list or JSON.parse's wording; internal failures generic.
 */
export function userMessage(error: TRPCError): string {
  // Whatever threw it, an internal failure's own message (an SDK's, a library's) stays in the log.
  if (error.code === 'INTERNAL_SERVER_ERROR') return INTERNAL_MESSAGE;
  if (error.cause instanceof $ZodError) {
    const problems = error.cause.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : 'input'}: ${issue.message}`);
    return `Invalid input: ${problems.join('; ')}`;
  }
  if (error.code === 'BAD_REQUEST' && error.cause instanceof SyntaxError) {
    return `Invalid input: the input is not valid JSON (${error.cause.message}).`;
  }
  return error.message;
}
