import { ConfigurationError } from './errors';

/**
 * How a sync spends an org's shared API allowance (Salesforce's rolling 24-hour request
 * allowance is shared by every integration of the org): it stops reading pages once the
 * org's usage reaches `share` of the limit, waits in the state machine, re-checks, and after
 * `maxWaitSeconds` of waiting ends completed with what it read.
 */
export interface ApiBudgetPolicy {
  /** The share of the allowance a sync may bring the org's usage to (0 < share <= 1); a connector's own `apiBudget` overrides it. */
  readonly share: number;
  /** How long a sync waits, in total, for the usage to fall before it ends early. */
  readonly maxWaitSeconds: number;
  /** How long each wait lasts before the usage is read again (one call). */
  readonly recheckSeconds: number;
}

/** The budget bounds `setApiBudget` accepts. */
export const API_BUDGET_RANGE = { min: 0.05, max: 1 } as const;

/** Fivetran reschedules at 90% of the allowance; 80% leaves the org's other integrations a fifth of it. */
export const DEFAULT_API_BUDGET: ApiBudgetPolicy = { share: 0.8, maxWaitSeconds: 6 * 3600, recheckSeconds: 15 * 60 };

/**
 * The policy from `SALESFORCE_API_BUDGET` (the share), `SALESFORCE_API_BUDGET_MAX_WAIT_SECONDS`
 * and `SALESFORCE_API_BUDGET_RECHECK_SECONDS`; unset ones keep the defaults.
 * @throws ConfigurationError naming a variable that is out of range.
 */
export function apiBudgetPolicyFromEnv(env: NodeJS.ProcessEnv, prefix = 'SALESFORCE'): ApiBudgetPolicy {
  const number = (name: string, fallback: number, valid: (n: number) => boolean, expected: string) => {
    const raw = env[`${prefix}_${name}`];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || !valid(value)) throw new ConfigurationError(`${prefix}_${name} must be ${expected}; it is "${raw}".`);
    return value;
  };
  return {
    share: number('API_BUDGET', DEFAULT_API_BUDGET.share, (n) => n >= API_BUDGET_RANGE.min && n <= API_BUDGET_RANGE.max, `a share between ${API_BUDGET_RANGE.min} and ${API_BUDGET_RANGE.max}`),
    maxWaitSeconds: number('API_BUDGET_MAX_WAIT_SECONDS', DEFAULT_API_BUDGET.maxWaitSeconds, (n) => Number.isInteger(n) && n >= 0, 'a whole number of seconds'),
    recheckSeconds: number('API_BUDGET_RECHECK_SECONDS', DEFAULT_API_BUDGET.recheckSeconds, (n) => Number.isInteger(n) && n >= 1, 'a whole number of seconds, at least 1'),
  };
}

/** The share in force for a connector: its own `apiBudget`, else the policy's. */
export function budgetShare(policy: ApiBudgetPolicy, connectorBudget: unknown): number {
  return typeof connectorBudget === 'number' ? connectorBudget : policy.share;
}

/** Whether usage has reached the budget: at or above `share` of the limit. */
export function isOverBudget(usage: { used: number; limit: number }, share: number): boolean {
  return usage.limit > 0 && usage.used >= share * usage.limit;
}

/** The note a sync that the budget stopped leaves on its log and connector (no figure a user could not check). */
export function budgetStopNote(provider: string, usage: { used: number; limit: number }, share: number, waitedSeconds: number): string {
  const hours = Math.round((waitedSeconds / 3600) * 10) / 10;
  return (
    `Paused by the API budget: the ${provider} org had used ${usage.used.toLocaleString('en-US')} of its ${usage.limit.toLocaleString('en-US')} daily API requests ` +
    `(the budget is ${Math.round(share * 100)}%) and did not fall below it in ${hours} hours of waiting. ` +
    'What was read is saved; the next sync continues from there.'
  );
}
