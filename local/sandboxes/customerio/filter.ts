/**
 * The audience filter of `POST /v1/customers`: `and` / `or` arrays, a `not` object,
 * `segment` and `attribute` conditions (`eq` or `exists`), one property per object.
 *
 * The sandbox is stricter than it needs to be where the documentation is loose: a filter
 * object with no property or several, an empty `and` / `or`, or an unknown operator is a
 * 400, so an adapter that sends one fails here rather than in production.
 */
import type { StoredPerson } from './data';

export type AudienceFilter =
  | { readonly and: readonly AudienceFilter[] }
  | { readonly or: readonly AudienceFilter[] }
  | { readonly not: AudienceFilter }
  | { readonly segment: { readonly id: number } }
  | { readonly attribute: { readonly field: string; readonly operator: 'eq' | 'exists'; readonly value?: string } };

/** A filter the sandbox refuses; the HTTP layer answers 400 with its message. */
export class FilterError extends Error {
  override readonly name = 'FilterError';
}

const KEYS = ['and', 'or', 'not', 'segment', 'attribute'] as const;
/** Deeper filters than this are refused (Customer.io documents nesting, not a depth; this only guards the sandbox). */
const MAX_DEPTH = 10;

/** Checks a request's `filter` and returns it typed, or throws a FilterError. */
export function parseFilter(value: unknown, path = 'filter', depth = 0): AudienceFilter {
  if (depth > MAX_DEPTH) throw new FilterError(`${path} is nested too deeply`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FilterError(`${path} must be an object`);
  const keys = Object.keys(value);
  if (keys.length !== 1 || !KEYS.includes(keys[0] as (typeof KEYS)[number])) {
    throw new FilterError(`${path} must have exactly one of ${KEYS.join(', ')}`);
  }
  const key = keys[0] as (typeof KEYS)[number];
  const inner = (value as Record<string, unknown>)[key];
  switch (key) {
    case 'and':
    case 'or': {
      if (!Array.isArray(inner) || inner.length === 0) throw new FilterError(`${path}.${key} must be a non-empty array`);
      const items = inner.map((item, i) => parseFilter(item, `${path}.${key}[${i}]`, depth + 1));
      return key === 'and' ? { and: items } : { or: items };
    }
    case 'not':
      return { not: parseFilter(inner, `${path}.not`, depth + 1) };
    case 'segment': {
      const id = (inner as { id?: unknown } | null)?.id;
      if (!Number.isSafeInteger(id)) throw new FilterError(`${path}.segment.id must be an integer`);
      return { segment: { id: id as number } };
    }
    case 'attribute': {
      const { field, operator, value: expected } = (inner ?? {}) as { field?: unknown; operator?: unknown; value?: unknown };
      if (typeof field !== 'string' || field === '') throw new FilterError(`${path}.attribute.field must be a non-empty string`);
      if (operator !== 'eq' && operator !== 'exists') throw new FilterError(`${path}.attribute.operator must be eq or exists`);
      if (operator === 'eq') {
        if (expected === undefined || expected === null || typeof expected === 'object') {
          throw new FilterError(`${path}.attribute.value is required with eq`);
        }
        // The documentation types `value` as a string but shows `true`; attributes are strings, so compare as one.
        return { attribute: { field, operator, value: String(expected) } };
      }
      return { attribute: { field, operator } };
    }
  }
}

/** Whether `person` is in the audience. The sandbox has no segments: a segment condition matches nobody. */
export function matches(filter: AudienceFilter, person: StoredPerson): boolean {
  if ('and' in filter) return filter.and.every((item) => matches(item, person));
  if ('or' in filter) return filter.or.some((item) => matches(item, person));
  if ('not' in filter) return !matches(filter.not, person);
  if ('segment' in filter) return false;
  const { field, operator, value } = filter.attribute;
  const actual = field === 'unsubscribed' ? String(person.unsubscribed) : person.attributes[field];
  if (operator === 'exists') return actual !== undefined && actual !== '';
  return actual === value;
}
