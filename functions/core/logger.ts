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
