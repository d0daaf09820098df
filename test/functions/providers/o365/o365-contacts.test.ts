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

  it('maps an entry of a delta-link round as partial: only what it carries, a cleared property as null', () => {
    expect(toSourceRecord({ id: 'AAMkAD6', jobTitle: 'CTO', companyName: null, lastModifiedDateTime: '2026-03-02T10:00:00Z' }, { partial: true })).toEqual({
      type: 'people',
      sourceId: 'AAMkAD6',
      modifiedAt: '2026-03-02T10:00:00.000Z',
      partial: true,
      attributes: { jobTitle: 'CTO', company: null },
    });
    // The name only when displayName came: a given name alone cannot say what the name is now.
    expect(toSourceRecord({ id: 'AAMkAD7', givenName: 'Grace' }, { partial: true })!.attributes).toEqual({});
    expect(toSourceRecord({ id: 'AAMkAD7', displayName: '', givenName: 'Grace', surname: 'Hopper' }, { partial: true })!.attributes).toEqual({ name: 'Grace Hopper' });
    expect(toSourceRecord({ id: 'AAMkAD8', emailAddresses: [] }, { partial: true })!.attributes).toEqual({ email: null });
    // A removal is a removal either way.
    expect(toSourceRecord({ id: 'AAMkAD9', '@removed': { reason: 'deleted' } }, { partial: true })).toEqual({ type: 'people', sourceId: 'AAMkAD9', deleted: true, attributes: {} });
  });

  it('cannot map an entry without an id', () => {
    expect(toSourceRecord({ displayName: 'Nobody' })).toBeNull();
    expect(toSourceRecord({ id: '' })).toBeNull();
    expect(toSourceRecord(null)).toBeNull();
    expect(toSourceRecord('AAMkAD5')).toBeNull();
  });
});
