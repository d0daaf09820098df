import { describe, expect, it } from 'vitest';
import { toSourceRecord } from '../../../../functions/providers/o365/o365-contacts';

describe('toSourceRecord (Graph contacts delta entries)', () => {
  it('maps a contact to a person with name, first email, company, job title and modification time', () => {
    expect(
      toSourceRecord({
        '@odata.etag': 'W/"x"',
        id: 'AAMkAD1',
        displayName: ' Ada Lovelace ',
        emailAddresses: [{ name: 'Ada', address: 'ada@analytical.example' }, { name: 'Ada', address: 'ada@home.example' }],
        companyName: 'Analytical Engines',
        jobTitle: 'Programmer',
        lastModifiedDateTime: '2026-03-01T10:00:00Z',
      }),
    ).toEqual({
      type: 'people',
      sourceId: 'AAMkAD1',
      modifiedAt: '2026-03-01T10:00:00.000Z',
      attributes: { name: 'Ada Lovelace', email: 'ada@analytical.example', company: 'Analytical Engines', jobTitle: 'Programmer' },
    });
  });

  it('maps a removal to a deleted person', () => {
    expect(toSourceRecord({ '@odata.type': '#microsoft.graph.contact', id: 'AAMkAD2', '@removed': { reason: 'deleted' } })).toEqual({
      type: 'people',
      sourceId: 'AAMkAD2',
      deleted: true,
      attributes: {},
    });
  });

  it('falls back to given name and surname, skips empty addresses, and leaves out what is missing', () => {
    expect(
      toSourceRecord({ id: 'AAMkAD3', displayName: '', givenName: 'Grace', surname: 'Hopper', emailAddresses: [{ name: 'x', address: '' }, { address: 'grace@navy.example' }], companyName: null }),
    ).toEqual({ type: 'people', sourceId: 'AAMkAD3', modifiedAt: undefined, attributes: { name: 'Grace Hopper', email: 'grace@navy.example' } });
    expect(toSourceRecord({ id: 'AAMkAD4' })).toEqual({ type: 'people', sourceId: 'AAMkAD4', modifiedAt: undefined, attributes: {} });
  });

  it('cannot map an entry without an id', () => {
    expect(toSourceRecord({ displayName: 'Nobody' })).toBeNull();
    expect(toSourceRecord({ id: '' })).toBeNull();
    expect(toSourceRecord(null)).toBeNull();
    expect(toSourceRecord('AAMkAD5')).toBeNull();
  });
});
