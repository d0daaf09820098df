/**
 * Salesforce sandbox: a real HTTP server on 127.0.0.1 that speaks Salesforce's OAuth, REST
 * query, describe, getDeleted, `/limits` and Bulk API 2.0 query wire formats (see /work/shared/PROVIDERS.md), for
 * the local stack and tests.
 *
 * @example
 * const sandbox = await startSalesforceSandbox({ ...salesforceSandboxSizesFromEnv(process.env) });
 * // authorize at `${sandbox.url}/services/oauth2/authorize`, query at `${sandbox.url}/services/data/v62.0/query`
 * sandbox.failures.expireSessions();
 * await sandbox.close();
 */
import { positiveIntegerFromEnv } from '../shared/env';
import { type DataSetSizes, defaultDataSetSizes } from './data';

export {
  startSalesforceSandbox,
  DEFAULT_ORG,
  defaultExtraOrgSizes,
  type SalesforceOrgOptions,
  type SalesforceSandboxOrg,
  type SalesforceObjectCounts,
  type SalesforceSandbox,
  type SalesforceSandboxData,
  type SalesforceSandboxOptions,
  type SalesforceSandboxStats,
  type SalesforceSandboxAllowance,
  type SalesforceBulkJobSummary,
  type SalesforceAllowanceChanges,
  type SalesforceAllowanceState,
  type SalesforceSandboxFieldVisibility,
  type HiddenFields,
  DELETED_WINDOW_MS,
  MAX_DELETED_IDS,
} from './sandbox';
export { DEFAULT_API_LIMIT } from './allowance';
export { BULK_MIN_VERSION, DAILY_BULK_QUERY_JOBS, MAX_RESULTS_PAGE, MAX_JOBS_PER_ORG, JOB_RETENTION_MS } from './bulk';
export type { SalesforceFailureState, SalesforceSandboxFailures } from './failures';
export { type SObjectType, sobjectTypes, objectFields, systemFields, fieldTypes } from './schema';
export { type DataSetSizes, defaultDataSetSizes, splitPeople, DATA_SET_END } from './data';
export { AUTH_CODE_TTL_MS, REFRESH_TOKENS_PER_USER } from './oauth';
export { MIN_BATCH_SIZE, MAX_BATCH_SIZE } from './rest';
export { obtainSandboxTokens, type SalesforceTokenAnswer } from './client';
export { newPkcePair, pkceChallenge } from '../shared/oauth';

/** The environment variables that size the local stack's Salesforce data set. */
export const salesforceSandboxSizeVariables = {
  accounts: 'SANDBOX_SALESFORCE_ACCOUNTS',
  people: 'SANDBOX_SALESFORCE_PEOPLE',
  opportunities: 'SANDBOX_SALESFORCE_OPPORTUNITIES',
} as const;

/** Upper bound per variable: the data set lives in memory. */
const MAX_SIZE = 5_000_000;

/**
 * Reads the data-set sizes from `SANDBOX_SALESFORCE_ACCOUNTS`, `SANDBOX_SALESFORCE_PEOPLE`
 * and `SANDBOX_SALESFORCE_OPPORTUNITIES`. Unset or empty variables keep the defaults
 * (340 / 1250 / 89). Anything but a positive integer (at most 5,000,000) throws an error
 * that names the variable and the value.
 */
export function salesforceSandboxSizesFromEnv(env: Readonly<Record<string, string | undefined>>): DataSetSizes {
  const read = (key: keyof typeof salesforceSandboxSizeVariables): number =>
    positiveIntegerFromEnv(env, salesforceSandboxSizeVariables[key], defaultDataSetSizes[key], MAX_SIZE);
  return { accounts: read('accounts'), people: read('people'), opportunities: read('opportunities') };
}
