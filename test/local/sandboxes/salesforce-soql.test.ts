import { describe, expect, it } from 'vitest';
import { parseDateTime, parseSoql, SoqlError } from '../../../local/sandboxes/salesforce/soql';

function soqlError(soql: string): SoqlError {
  try {
    parseSoql(soql);
  } catch (error) {
    if (error instanceof SoqlError) return error;
    throw error;
  }
  throw new Error(`expected ${soql} to be rejected`);
}

describe('Salesforce sandbox SOQL', () => {
  it('parses the incremental query with case-insensitive keywords, objects and fields', () => {
    expect(
      parseSoql('select id, NAME, systemmodstamp from account where SystemModstamp > 2026-01-01T00:00:00.000Z order by SystemModstamp asc limit 10'),
    ).toEqual({
      type: 'Account',
      fields: ['Id', 'Name', 'SystemModstamp'],
      since: { ms: Date.UTC(2026, 0, 1), inclusive: false },
      limit: 10,
    });
  });

  it('accepts >= and a watermark without milliseconds', () => {
    expect(parseSoql('SELECT Id FROM Lead WHERE SystemModstamp >= 2026-01-01T00:00:00Z').since).toEqual({
      ms: Date.UTC(2026, 0, 1),
      inclusive: true,
    });
  });

  it('reads +hh:mm offsets as SOQL documents them', () => {
    expect(parseDateTime('2026-01-01T02:00:00+02:00')).toBe(Date.UTC(2026, 0, 1));
    expect(parseDateTime('2025-12-31T19:00:00.500-05:00')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
  });

  it('rejects the +0000 form of REST answers in a SOQL literal (MALFORMED_QUERY)', () => {
    expect(soqlError('SELECT Id FROM Account WHERE SystemModstamp > 2026-01-01T00:00:00.000+0000').errorCode).toBe(
      'MALFORMED_QUERY',
    );
  });

  it('rejects impossible dates', () => {
    expect(soqlError('SELECT Id FROM Account WHERE SystemModstamp > 2026-02-30T00:00:00Z').errorCode).toBe('MALFORMED_QUERY');
  });

  it('names an unknown object INVALID_TYPE and an unknown field INVALID_FIELD', () => {
    expect(soqlError('SELECT Id FROM Widget').errorCode).toBe('INVALID_TYPE');
    expect(soqlError('SELECT Id, Shoe_Size__c FROM Contact').errorCode).toBe('INVALID_FIELD');
    expect(soqlError('SELECT Id, Company FROM Contact').message).toContain("No such column 'Company' on entity 'Contact'");
  });

  it('answers INVALID_FIELD for a quoted datetime, as Salesforce does', () => {
    expect(soqlError("SELECT Id FROM Account WHERE SystemModstamp > '2026-01-01T00:00:00Z'").errorCode).toBe('INVALID_FIELD');
  });

  it('parses SELECT COUNT() with a filter and a limit, and no fields', () => {
    expect(parseSoql('select count() from contact where SystemModstamp > 2026-01-01T00:00:00Z limit 5')).toEqual({
      type: 'Contact',
      fields: [],
      count: true,
      since: { ms: Date.UTC(2026, 0, 1), inclusive: false },
      limit: 5,
    });
    // A field named like the function is still a field (and unknown here).
    expect(soqlError('SELECT Count FROM Account').errorCode).toBe('INVALID_FIELD');
  });

  it.each([
    ['COUNT() with a field', 'SELECT COUNT(), Id FROM Account'],
    ['COUNT(field)', 'SELECT COUNT(Id) FROM Account'],
    ['COUNT() with ORDER BY', 'SELECT COUNT() FROM Account ORDER BY SystemModstamp'],
    ['an unclosed COUNT(', 'SELECT COUNT( FROM Account'],
  ])('rejects %s as MALFORMED_QUERY', (_, soql) => {
    expect(soqlError(soql).errorCode).toBe('MALFORMED_QUERY');
  });

  it.each([
    ['garbage', 'hello world'],
    ['a missing FROM', 'SELECT Id Account'],
    ['a trailing comma', 'SELECT Id, FROM Account'],
    ['another filter field', 'SELECT Id FROM Account WHERE Name > 2026-01-01T00:00:00Z'],
    ['another operator', 'SELECT Id FROM Account WHERE SystemModstamp < 2026-01-01T00:00:00Z'],
    ['two conditions', 'SELECT Id FROM Account WHERE SystemModstamp > 2026-01-01T00:00:00Z AND SystemModstamp > 2026-01-02T00:00:00Z'],
    ['descending order', 'SELECT Id FROM Account ORDER BY SystemModstamp DESC'],
    ['a non-numeric LIMIT', 'SELECT Id FROM Account LIMIT ten'],
    ['trailing tokens', 'SELECT Id FROM Account LIMIT 5 OFFSET 5'],
    ['a duplicate field', 'SELECT Id, id FROM Account'],
    ['a stray character', 'SELECT Id FROM Account;'],
  ])('rejects %s as MALFORMED_QUERY', (_, soql) => {
    expect(soqlError(soql).errorCode).toBe('MALFORMED_QUERY');
  });
});
