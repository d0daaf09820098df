/**
 * Delivr.ai sandbox: a real HTTP server on 127.0.0.1 that speaks Delivr.ai's Events API
 * (see /work/shared/PROVIDERS.md), for the local stack and tests.
 *
 * @example
 * const sandbox = await startDelivrAiSandbox({ ...delivrAiSandboxOptionsFromEnv(process.env) });
 * // GET `${sandbox.url}/api/v1/events?pixel_id=${sandbox.pixelId}&start_ms=...&end_ms=...`
 * //   with `X-Api-Key: ${sandbox.apiKey}` and `X-Api-Secret: ${sandbox.apiSecret}`
 * //   (or the deprecated `Authorization: Bearer ${sandbox.apiKey}` with `x-organization-id`)
 * sandbox.failures.throttle(2);
 * await sandbox.close();
 */
import { positiveIntegerFromEnv } from '../shared/env';
import { defaultDataSetSizes } from './data';

export {
  startDelivrAiSandbox,
  DEFAULT_LIMIT,
  EVENT_SCHEMA,
  MAX_LIMIT,
  MAX_WINDOW_MS,
  type DelivrAiQuery,
  type DelivrAiSandbox,
  type DelivrAiSandboxData,
  type DelivrAiSandboxOptions,
  type DelivrAiOrganizationOptions,
  type DelivrAiSandboxOrganization,
  defaultExtraOrganizationSizes,
  type DelivrAiSandboxStats,
} from './sandbox';
export type { DelivrAiFailureState, DelivrAiSandboxFailures } from './failures';
export {
  type DataSetSizes,
  type DelivrAiWireEvent,
  defaultDataSetSizes,
  EVENTS_PER_VISITOR,
  HISTORY_MS,
  QUIET_MS,
} from './data';

/** The environment variables the local stack's Delivr.ai sandbox reads. */
export const delivrAiSandboxVariables = {
  visitors: 'SANDBOX_DELIVRAI_VISITORS',
  companies: 'SANDBOX_DELIVRAI_COMPANIES',
  apiKey: 'SANDBOX_DELIVRAI_API_KEY',
  apiSecret: 'SANDBOX_DELIVRAI_API_SECRET',
  organizationId: 'SANDBOX_DELIVRAI_ORGANIZATION_ID',
} as const;

/** Upper bound per size variable: the data set lives in memory. */
const MAX_SIZE = 1_000_000;

/**
 * Sandbox options from `SANDBOX_DELIVRAI_VISITORS`, `SANDBOX_DELIVRAI_COMPANIES`,
 * `SANDBOX_DELIVRAI_API_KEY`, `SANDBOX_DELIVRAI_API_SECRET` and
 * `SANDBOX_DELIVRAI_ORGANIZATION_ID`. Unset or empty variables keep the defaults
 * (200 / 60 / 'sandbox-key' / 'sandbox-secret' / 'sandbox-org'). A size that is not a
 * positive integer (at most 1,000,000) throws an error naming the variable and value.
 */
export function delivrAiSandboxOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): {
  visitors: number;
  companies: number;
  apiKey?: string;
  apiSecret?: string;
  organizationId?: string;
} {
  const read = (key: 'visitors' | 'companies'): number =>
    positiveIntegerFromEnv(env, delivrAiSandboxVariables[key], defaultDataSetSizes[key], MAX_SIZE);
  const text = (key: 'apiKey' | 'apiSecret' | 'organizationId'): string | undefined => {
    const value = env[delivrAiSandboxVariables[key]]?.trim();
    return value ? value : undefined;
  };
  const apiKey = text('apiKey');
  const apiSecret = text('apiSecret');
  const organizationId = text('organizationId');
  return {
    visitors: read('visitors'),
    companies: read('companies'),
    ...(apiKey ? { apiKey } : {}),
    ...(apiSecret ? { apiSecret } : {}),
    ...(organizationId ? { organizationId } : {}),
  };
}
