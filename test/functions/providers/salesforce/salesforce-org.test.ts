import { describe, expect, it } from 'vitest';
import { apiUsageOf } from '../../../../functions/providers/salesforce/salesforce-org';

const answer = (limitInfo?: string) => new Response('{}', { headers: limitInfo === undefined ? {} : { 'Sforce-Limit-Info': limitInfo } });

describe('apiUsageOf (Sforce-Limit-Info)', () => {
  it('reads the org\'s usage and limit', () => {
    expect(apiUsageOf(answer('api-usage=18/5000'))).toEqual({ used: 18, limit: 5000 });
  });

  it('reads the org\'s figure, not a connected app\'s, when the header carries both', () => {
    expect(apiUsageOf(answer('per-app-api-usage=2/250(appName=Ours), api-usage=81234/100000'))).toEqual({ used: 81_234, limit: 100_000 });
    expect(apiUsageOf(answer('api-usage=40/100000; per-app-api-usage=7/250(appName=Ours)'))).toEqual({ used: 40, limit: 100_000 });
  });

  it('answers nothing for an answer without the header, or one it cannot read', () => {
    expect(apiUsageOf(answer())).toBeUndefined();
    expect(apiUsageOf(answer('per-app-api-usage=2/250(appName=Ours)'))).toBeUndefined();
    expect(apiUsageOf(answer('api-usage=lots'))).toBeUndefined();
  });
});
