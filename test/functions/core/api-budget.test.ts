import { describe, expect, it } from 'vitest';
import { apiBudgetPolicyFromEnv, budgetShare, budgetStopNote, DEFAULT_API_BUDGET, isOverBudget } from '../../../functions/core/api-budget';
import { ConfigurationError } from '../../../functions/core/errors';

describe('the API budget policy', () => {
  it('defaults to 80% of the allowance, 15-minute re-checks and 6 hours of waiting', () => {
    expect(apiBudgetPolicyFromEnv({})).toEqual({ share: 0.8, recheckSeconds: 900, maxWaitSeconds: 21_600 });
    expect(DEFAULT_API_BUDGET).toEqual(apiBudgetPolicyFromEnv({}));
  });

  it('reads SALESFORCE_API_BUDGET and its two timings from the environment', () => {
    expect(
      apiBudgetPolicyFromEnv({ SALESFORCE_API_BUDGET: '0.5', SALESFORCE_API_BUDGET_RECHECK_SECONDS: '60', SALESFORCE_API_BUDGET_MAX_WAIT_SECONDS: '0' }),
    ).toEqual({ share: 0.5, recheckSeconds: 60, maxWaitSeconds: 0 });
  });

  it('refuses to start with a value it cannot apply, naming the variable', () => {
    for (const [name, value] of [
      ['SALESFORCE_API_BUDGET', '0'],
      ['SALESFORCE_API_BUDGET', '80%'],
      ['SALESFORCE_API_BUDGET', '1.5'],
      ['SALESFORCE_API_BUDGET_RECHECK_SECONDS', '0'],
      ['SALESFORCE_API_BUDGET_MAX_WAIT_SECONDS', '2.5'],
    ] as const) {
      expect(() => apiBudgetPolicyFromEnv({ [name]: value }), `${name}=${value}`).toThrow(ConfigurationError);
      expect(() => apiBudgetPolicyFromEnv({ [name]: value })).toThrow(new RegExp(`^${name} must be .*; it is "${value.replace('.', '\\.')}"\\.$`));
    }
  });

  it('is over the budget at or above the share of the limit, and a connector\'s own share wins', () => {
    expect(isOverBudget({ used: 79_999, limit: 100_000 }, 0.8)).toBe(false);
    expect(isOverBudget({ used: 80_000, limit: 100_000 }, 0.8)).toBe(true);
    expect(isOverBudget({ used: 100_000, limit: 100_000 }, 1)).toBe(true);
    // An org that reports no allowance is never over it.
    expect(isOverBudget({ used: 5, limit: 0 }, 0.8)).toBe(false);
    expect(budgetShare(DEFAULT_API_BUDGET, 0.5)).toBe(0.5);
    expect(budgetShare(DEFAULT_API_BUDGET, undefined)).toBe(0.8);
  });

  it('says in its note what stopped the sync, in figures a user can check', () => {
    expect(budgetStopNote('Salesforce', { used: 85_210, limit: 100_000 }, 0.8, 21_600)).toBe(
      'Paused by the API budget: the Salesforce org had used 85,210 of its 100,000 daily API requests (the budget is 80%) and did not fall below it in 6 hours of waiting. What was read is saved; the next sync continues from there.',
    );
  });
});
