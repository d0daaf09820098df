import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from './services/caller';

/** The service's one structured JSON logger (Powertools); created once per runtime. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'connector' });

/**
 * A log that stamps `keys` on every line. Batched tRPC calls run procedures side by side
 * in one invocation, so per-call keys are bound here rather than appended to the shared logger.
 */
export function logWithKeys(keys: Record<string, unknown>): Log {
  return {
    debug: (message, extra) => logger.debug(message, { ...keys, ...extra }),
    info: (message, extra) => logger.info(message, { ...keys, ...extra }),
    warn: (message, extra) => logger.warn(message, { ...keys, ...extra }),
    error: (message, extra) =>
      logger.error(message, extra instanceof Error ? { ...keys, error: extra } : { ...keys, ...extra }),
  };
}

/** `Bearer <token>` and `Basic <credentials>`, as an Authorization header or a message quotes them (8+ characters: not prose). */
const AUTH_SCHEME_VALUE = /\b(bearer|basic)(\s+)[\w.~+/=-]{8,}/gi;
/** `access_token=...`, `"client_secret": "..."` and the like, in a form body, a query, JSON or prose. */
const SECRET_FIELD_VALUE =
  /\b((?:access|refresh|id)_?token|client_?secret|api_?key|apikey|password|secret|authorization|code_?verifier)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi;

/**
 * Text from elsewhere (a failure's cause, an error message) made safe to log: the values of
 * anything shaped like a credential are replaced with `[redacted]`. The service's own messages
 * never hold one; this guards against a library's or a provider's quoting one back.
 */
export function redactSecrets(text: string): string {
  return text.replace(AUTH_SCHEME_VALUE, '$1$2[redacted]').replace(SECRET_FIELD_VALUE, '$1$2[redacted]');
}

/** Longest cause logged: a message, not a stack or a whole answer. */
const MAX_LOGGED_CAUSE_CHARS = 1000;

/**
 * A Step Functions failure's `Cause`, ready for a log line: Lambda reports it as JSON
 * (`errorMessage`, `errorType`, and a stack `trace`, left out here), the local runner as the
 * message itself. Step messages are written for users and hold no token or secret; an
 * unexpected error's might quote one, so it is redacted, and it is cut at 1,000 characters.
 */
export function loggableCause(cause: string): string {
  let message = cause;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // not JSON: the message itself
  }
  const safe = redactSecrets(message);
  return safe.length > MAX_LOGGED_CAUSE_CHARS ? `${safe.slice(0, MAX_LOGGED_CAUSE_CHARS)}...` : safe;
}
