/**
 * The domain's errors. Services throw these; the API maps them to tRPC codes in one place
 * (functions/api/trpc/errors.ts) and the sync engine reads `retryable`. Messages are meant
 * for the user: a clear sentence, never a token, key or secret.
 */

/** Base of every error the service throws on purpose. */
export abstract class ConnectorServiceError extends Error {
  abstract readonly kind: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The caller presented no identity, or one the service cannot use. */
export class UnauthorizedError extends ConnectorServiceError {
  readonly kind = 'unauthorized';
}

/** The caller is known but lacks the role the operation needs. */
export class ForbiddenError extends ConnectorServiceError {
  readonly kind = 'forbidden';
}

/** The thing named does not exist in the caller's tenant (also for other tenants' things). */
export class NotFoundError extends ConnectorServiceError {
  readonly kind = 'not_found';
}

/** The operation collides with the current state, e.g. a sync is already running. */
export class ConflictError extends ConnectorServiceError {
  readonly kind = 'conflict';
}

/** The request is well-formed but not acceptable in the current state, or its input is wrong. */
export class InvalidInputError extends ConnectorServiceError {
  readonly kind = 'invalid_input';
}

/** The runtime is misconfigured (a missing variable, a malformed key); it must not start. */
export class ConfigurationError extends ConnectorServiceError {
  readonly kind = 'configuration';
}

/** A stored credential could not be decrypted (wrong key, moved ciphertext, tampering). */
export class CredentialDecryptionError extends ConnectorServiceError {
  readonly kind = 'credential_decryption';
}

/**
 * A provider answered with an error. `retryable` says whether the same call may succeed
 * later (throttling, 5xx, no answer); `throttled` tells throttling (the provider limits our
 * rate) from an outage; `retryAfterSeconds` carries the provider's own hint of when to come
 * back (a sync waits it only while the error is retryable); `accessTokenExpired` asks for a
 * token refresh and one more try; `reauthorizationRequired` marks a revoked or expired
 * grant: only a person can fix it. Messages state what happened, never that a retry is
 * coming: whoever shows the final failure says how often it was tried.
 */
export class ProviderError extends ConnectorServiceError {
  readonly kind = 'provider';
  readonly provider: string;
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;
  readonly throttled: boolean;
  readonly reauthorizationRequired: boolean;
  readonly accessTokenExpired: boolean;
  /** The org's shared API allowance is used up (Salesforce REQUEST_LIMIT_EXCEEDED): the usage it reported. */
  readonly allowanceSpent?: { used: number; limit: number };
  constructor(
    message: string,
    options: {
      provider: string;
      retryable?: boolean;
      retryAfterSeconds?: number;
      throttled?: boolean;
      reauthorizationRequired?: boolean;
      accessTokenExpired?: boolean;
      allowanceSpent?: { used: number; limit: number };
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.provider = options.provider;
    this.retryable = options.retryable ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.throttled = options.throttled ?? false;
    this.reauthorizationRequired = options.reauthorizationRequired ?? false;
    this.accessTokenExpired = options.accessTokenExpired ?? false;
    if (options.allowanceSpent) this.allowanceSpent = options.allowanceSpent;
  }
}
