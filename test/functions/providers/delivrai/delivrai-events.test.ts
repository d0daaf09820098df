import { describe, expect, it } from 'vitest';
import { normalizeDomain, toSourceRecords } from '../../../../functions/providers/delivrai/delivrai-events';

const resolved = {
  event_id: 'evt_1',
  timestamp: Date.UTC(2026, 2, 1, 12, 0, 0),
  event_type: 'page_view',
  resolved: true,
  person_id: 'dlvr_p_1',
  first_name: 'Ada',
  last_name: 'Chen',
  email: 'Ada.Chen@AcmeLabs.io',
  job_title: 'CTO',
  company_name: 'Acme Labs',
  company_domain: 'AcmeLabs.io',
  company_industry: 'Software',
  company_size: '51-200',
};

describe('toSourceRecords', () => {
  it('maps a resolved event to a person (by person_id) and an account (by lower-cased domain)', () => {
    expect(toSourceRecords(resolved)).toEqual({
      failed: false,
      records: [
        {
          type: 'people',
          sourceId: 'dlvr_p_1',
          modifiedAt: '2026-03-01T12:00:00.000Z',
          attributes: {
            firstName: 'Ada',
            lastName: 'Chen',
            email: 'ada.chen@acmelabs.io',
            title: 'CTO',
            company: 'Acme Labs',
            accountId: 'acmelabs.io',
            lastSeenAt: '2026-03-01T12:00:00.000Z',
          },
        },
        {
          type: 'accounts',
          sourceId: 'acmelabs.io',
          modifiedAt: '2026-03-01T12:00:00.000Z',
          attributes: {
            name: 'Acme Labs',
            domain: 'acmelabs.io',
            website: 'https://acmelabs.io',
            industry: 'Software',
            employeeRange: '51-200',
            lastSeenAt: '2026-03-01T12:00:00.000Z',
          },
        },
      ],
    });
  });

  it('skips unresolved events without counting them as failed', () => {
    expect(toSourceRecords({ event_id: 'evt_2', timestamp: 1, resolved: false })).toEqual({ records: [], failed: false });
  });

  it('counts a resolved event without a person id, and anything that is not an event, as failed', () => {
    expect(toSourceRecords({ ...resolved, person_id: undefined })).toEqual({ records: [], failed: true });
    expect(toSourceRecords('nonsense')).toEqual({ records: [], failed: true });
    expect(toSourceRecords(null)).toEqual({ records: [], failed: true });
  });

  it('yields only the person when the event names no usable company domain', () => {
    const { records } = toSourceRecords({ ...resolved, company_domain: 'n/a' });
    expect(records.map((r) => r.type)).toEqual(['people']);
    expect(records[0]!.attributes.accountId).toBeUndefined();
  });

  it('reads timestamps as epoch ms, numeric strings or ISO strings', () => {
    const at = '2026-03-01T12:00:00.000Z';
    expect(toSourceRecords({ ...resolved, timestamp: String(Date.parse(at)) }).records[0]!.modifiedAt).toBe(at);
    expect(toSourceRecords({ ...resolved, timestamp: '2026-03-01T12:00:00Z' }).records[0]!.modifiedAt).toBe(at);
    expect(toSourceRecords({ ...resolved, timestamp: 'whenever' }).records[0]!.modifiedAt).toBeUndefined();
  });
});

describe('normalizeDomain', () => {
  it('reduces a domain or URL to its lower-case host without www', () => {
    expect(normalizeDomain('Acme.com')).toBe('acme.com');
    expect(normalizeDomain(' HTTPS://www.Acme.co.uk:443/about?x=1 ')).toBe('acme.co.uk');
    expect(normalizeDomain('acme.com.')).toBe('acme.com');
  });

  it('answers nothing for what is not a domain', () => {
    for (const value of [undefined, '', 'localhost', 'n/a', 42, 'acme .com']) expect(normalizeDomain(value)).toBeUndefined();
  });
});
