/**
 * The restricted SOQL the sandbox understands, which is what an incremental sync sends:
 *
 *   SELECT f1, f2, ... FROM <Account|Contact|Lead|Opportunity>
 *     [WHERE SystemModstamp (> | >=) <datetime literal>]
 *     [ORDER BY SystemModstamp [ASC]]
 *     [LIMIT n]
 *
 * and the size check before it: `SELECT COUNT() FROM <object> [WHERE ...] [LIMIT n]`.
 *
 * Keywords, object and field names are case-insensitive, as in SOQL. Anything outside
 * this grammar is a 400 MALFORMED_QUERY, also where real SOQL would accept it: the
 * sandbox only promises the subset our adapter uses.
 */
import { canonicalField, canonicalObject, type SObjectType } from './schema';

/** A parsed query. */
export interface SoqlQuery {
  readonly type: SObjectType;
  /** Selected fields in Salesforce's spelling, in the order asked for; empty for COUNT(). */
  readonly fields: readonly string[];
  /** `SELECT COUNT()`: the answer is the number of matching records, without records. */
  readonly count?: true;
  /** Lower bound on SystemModstamp (epoch ms), if any. */
  readonly since?: { readonly ms: number; readonly inclusive: boolean };
  readonly limit?: number;
}

/** A SOQL error as the REST API reports it (`errorCode` values are Salesforce's). */
export class SoqlError extends Error {
  override readonly name = 'SoqlError';
  constructor(
    readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE',
    message: string,
  ) {
    super(message);
  }
}

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'number'; text: string; at: number }
  | { kind: 'datetime'; text: string; at: number }
  | { kind: 'string'; text: string; at: number }
  | { kind: 'symbol'; text: string; at: number };

const TOKEN_PATTERNS: ReadonlyArray<[Token['kind'], RegExp]> = [
  // A datetime literal, checked before numbers. Which offsets count is decided in parseDateTime.
  ['datetime', /\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-][0-9:]+)?/y],
  ['number', /\d+/y],
  ['word', /[A-Za-z_][A-Za-z0-9_.]*/y],
  ['string', /'(?:[^'\\]|\\.)*'/y],
  ['symbol', />=|<=|!=|<>|[,()=<>]/y],
];

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < soql.length) {
    const rest = /\s+/y;
    rest.lastIndex = at;
    if (rest.test(soql)) {
      at = rest.lastIndex;
      continue;
    }
    let matched = false;
    for (const [kind, pattern] of TOKEN_PATTERNS) {
      pattern.lastIndex = at;
      const match = pattern.exec(soql);
      if (match) {
        tokens.push({ kind, text: match[0], at } as Token);
        at = pattern.lastIndex;
        matched = true;
        break;
      }
    }
    if (!matched) throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${soql.slice(at, at + 20)}'`);
  }
  return tokens;
}

/** What the org's user may read, for {@link parseSoql}. */
export interface SoqlOptions {
  /** Field-level security: a hidden field is refused as if it did not exist (INVALID_FIELD). */
  readonly isHidden?: (type: SObjectType, field: string) => boolean;
}

/** Parses `soql`, or throws a SoqlError that the REST layer turns into a 400. */
export function parseSoql(soql: string, options: SoqlOptions = {}): SoqlQuery {
  const tokens = tokenize(soql);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const isKeyword = (word: string): boolean => {
    const token = peek();
    return token?.kind === 'word' && token.text.toUpperCase() === word;
  };
  const unexpected = (): SoqlError => {
    const token = peek();
    return new SoqlError('MALFORMED_QUERY', token ? `unexpected token: '${token.text}'` : 'unexpected end of query');
  };
  const expectKeyword = (word: string): void => {
    if (!isKeyword(word)) throw unexpected();
    position++;
  };
  const expectWord = (): string => {
    const token = peek();
    if (token?.kind !== 'word') throw unexpected();
    position++;
    return token.text;
  };

  expectKeyword('SELECT');
  const rawFields: string[] = [];
  let count = false;
  if (isKeyword('COUNT') && tokens[position + 1]?.text === '(') {
    position += 2;
    // COUNT(field) is an aggregate with an `expr0` record, which the sandbox does not serve.
    if (peek()?.text !== ')') throw new SoqlError('MALFORMED_QUERY', 'the sandbox supports COUNT() only without a field');
    position++;
    count = true;
    // SOQL allows COUNT() only on its own.
    if (peek()?.text === ',') throw unexpected();
  } else {
    rawFields.push(expectWord());
    while (peek()?.text === ',') {
      position++;
      rawFields.push(expectWord());
    }
  }
  expectKeyword('FROM');
  const objectName = expectWord();
  const type = canonicalObject(objectName);
  if (!type) {
    throw new SoqlError(
      'INVALID_TYPE',
      `sObject type '${objectName}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.`,
    );
  }
  const fields: string[] = [];
  for (const raw of rawFields) {
    const field = canonicalField(type, raw);
    // Salesforce answers a field the user may not read with the very words it uses for one that does not exist.
    if (!field || options.isHidden?.(type, field)) throw noSuchColumn(raw, type);
    // Unclear which code Salesforce uses for a field selected twice; the sandbox rejects it
    // so our adapter never sends one, and calls it MALFORMED_QUERY.
    if (fields.includes(field)) throw new SoqlError('MALFORMED_QUERY', `duplicate field selected: ${field}`);
    fields.push(field);
  }

  let since: SoqlQuery['since'];
  if (isKeyword('WHERE')) {
    position++;
    const fieldName = expectWord();
    const field = canonicalField(type, fieldName);
    if (!field) throw noSuchColumn(fieldName, type);
    if (field !== 'SystemModstamp') {
      throw new SoqlError('MALFORMED_QUERY', `the sandbox filters only on SystemModstamp, not on ${field}`);
    }
    const operator = peek();
    if (operator?.text !== '>' && operator?.text !== '>=') {
      throw new SoqlError('MALFORMED_QUERY', `the sandbox supports only > and >= on SystemModstamp, got '${operator?.text ?? ''}'`);
    }
    position++;
    const value = peek();
    if (value?.kind === 'string') {
      throw new SoqlError(
        'INVALID_FIELD',
        `value of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes`,
      );
    }
    if (value?.kind !== 'datetime') throw unexpected();
    position++;
    since = { ms: parseDateTime(value.text), inclusive: operator.text === '>=' };
    if (isKeyword('AND') || isKeyword('OR')) {
      throw new SoqlError('MALFORMED_QUERY', 'the sandbox supports a single WHERE condition');
    }
  }

  if (isKeyword('ORDER')) {
    // Unclear whether SOQL accepts ORDER BY with COUNT() (a count has no rows to order); the
    // sandbox refuses it, so the adapter never depends on it.
    if (count) throw new SoqlError('MALFORMED_QUERY', 'ORDER BY is not allowed with COUNT()');
    position++;
    expectKeyword('BY');
    const fieldName = expectWord();
    const field = canonicalField(type, fieldName);
    if (!field) throw noSuchColumn(fieldName, type);
    if (field !== 'SystemModstamp') {
      throw new SoqlError('MALFORMED_QUERY', `the sandbox orders only by SystemModstamp, not by ${field}`);
    }
    if (isKeyword('ASC')) position++;
    else if (isKeyword('DESC')) throw new SoqlError('MALFORMED_QUERY', 'the sandbox orders only ascending');
  }

  let limit: number | undefined;
  if (isKeyword('LIMIT')) {
    position++;
    const value = peek();
    if (value?.kind !== 'number') throw unexpected();
    position++;
    limit = Number(value.text);
    if (!Number.isSafeInteger(limit)) throw new SoqlError('MALFORMED_QUERY', `bad LIMIT ${value.text}`);
  }

  if (peek()) throw unexpected();
  return {
    type,
    fields,
    ...(count ? { count: true as const } : {}),
    ...(since ? { since } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

function noSuchColumn(field: string, type: SObjectType): SoqlError {
  return new SoqlError(
    'INVALID_FIELD',
    `No such column '${field}' on entity '${type}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
  );
}

/**
 * Parses a SOQL datetime literal to epoch ms. SOQL's documented forms are
 * `YYYY-MM-DDThh:mm:ssZ` and `YYYY-MM-DDThh:mm:ss+hh:mm` / `-hh:mm`; fractional seconds
 * (`.000Z`) are accepted as well.
 *
 * Unclear in the documentation: whether SOQL accepts the REST answers' own `+0000` form (no
 * colon). The sandbox rejects it (MALFORMED_QUERY), the safer reading for us: an adapter
 * that echoes a SystemModstamp straight back into SOQL fails here rather than in
 * production, and the `Z` form it must send instead works against either reading.
 */
export function parseDateTime(literal: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(literal);
  if (!match) throw new SoqlError('MALFORMED_QUERY', `line 1: invalid datetime: ${literal}`);
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const ms = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s), Number((frac ?? '0').padEnd(3, '0')));
  const check = new Date(ms);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59 ||
    Number(oh ?? 0) > 14 ||
    Number(om ?? 0) > 59
  ) {
    throw new SoqlError('MALFORMED_QUERY', `line 1: invalid datetime: ${literal}`);
  }
  const offset = sign ? (sign === '+' ? 1 : -1) * (Number(oh) * 60 + Number(om)) * 60_000 : 0;
  return ms - offset;
}
