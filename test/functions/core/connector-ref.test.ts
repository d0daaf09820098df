import { describe, expect, it } from 'vitest';
import { databaseIdFor, resolveConnector } from '../../../functions/core/connector-ref';
import { NotFoundError } from '../../../functions/core/errors';

describe('resolveConnector', () => {
  it('resolves a registry id', () => {
    expect(resolveConnector('t1', 'o365').name).toBe('Office 365');
  });

  it('resolves the tenant\'s own database id', () => {
    expect(resolveConnector('t1', databaseIdFor('t1', 'fathom')).id).toBe('fathom');
  });

  it('does not resolve another tenant\'s database id', () => {
    expect(() => resolveConnector('t1', databaseIdFor('t2', 'fathom'))).toThrow(NotFoundError);
  });

  it('does not resolve unknown names', () => {
    expect(() => resolveConnector('t1', 'hubspot')).toThrow(/No connector "hubspot"/);
    expect(() => resolveConnector('t1', 'conn_0000')).toThrow(NotFoundError);
  });

  it('gives each tenant and provider its own stable database id', () => {
    expect(databaseIdFor('t1', 'salesforce')).toBe(databaseIdFor('t1', 'salesforce'));
    expect(databaseIdFor('t1', 'salesforce')).not.toBe(databaseIdFor('t2', 'salesforce'));
    expect(databaseIdFor('t1', 'salesforce')).toMatch(/^conn_[0-9a-f]{24}$/);
  });
});
