import type { SourceRecord } from '../types';

/** The contact properties a sync reads (`$select`; Graph always adds `id`). */
export const CONTACT_SELECT = ['displayName', 'givenName', 'surname', 'emailAddresses', 'companyName', 'jobTitle', 'lastModifiedDateTime'].join(',');

/** One entry of a contacts delta page: a contact, or `{"@removed": {...}, "id": ...}`. */
export type GraphDeltaItem = Record<string, unknown> & {
  id?: unknown;
  '@removed'?: unknown;
  displayName?: unknown;
  givenName?: unknown;
  surname?: unknown;
  emailAddresses?: unknown;
  companyName?: unknown;
  jobTitle?: unknown;
  lastModifiedDateTime?: unknown;
};

/**
 * Maps one delta entry to a person; null when it cannot be (no id). A removed contact
 * becomes a deleted record; a contact's first email address with text is its email.
 *
 * `partial`: the entry comes from a round started at a delta link, where Graph sends "at
 * least the properties that have been updated". The record then names only the attributes
 * whose properties the entry carries, a property sent empty as `null` (the engine removes
 * that attribute), and is marked partial so the engine merges it into what it stored. An
 * entry of an initial round is whole: empty properties are simply left out, as always.
 */
export function toSourceRecord(item: unknown, options: { partial?: boolean } = {}): SourceRecord | null {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return null;
  const entry = item as GraphDeltaItem;
  if (typeof entry.id !== 'string' || entry.id.length === 0) return null;
  if (entry['@removed'] !== undefined) return { type: 'people', sourceId: entry.id, deleted: true, attributes: {} };

  const partial = options.partial === true;
  const attributes: Record<string, unknown> = {};
  const set = (key: string, value: string | undefined) => {
    if (value !== undefined) attributes[key] = value;
    else if (partial) attributes[key] = null;
  };
  // A partial entry without displayName left the name as it was: given name or surname alone cannot say what it is now.
  if (!partial || 'displayName' in entry) {
    set('name', text(entry.displayName) ?? ([text(entry.givenName), text(entry.surname)].filter(Boolean).join(' ') || undefined));
  }
  if (!partial || 'emailAddresses' in entry) set('email', firstAddress(entry.emailAddresses));
  if (!partial || 'companyName' in entry) set('company', text(entry.companyName));
  if (!partial || 'jobTitle' in entry) set('jobTitle', text(entry.jobTitle));
  const modified = typeof entry.lastModifiedDateTime === 'string' ? Date.parse(entry.lastModifiedDateTime) : NaN;
  return {
    type: 'people',
    sourceId: entry.id,
    modifiedAt: Number.isNaN(modified) ? undefined : new Date(modified).toISOString(),
    ...(partial && { partial: true }),
    attributes,
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function firstAddress(value: unknown): string | undefined {
  if (!Array.isArray(value)) return undefined;
  for (const entry of value) {
    const address = typeof entry === 'object' && entry !== null ? text((entry as { address?: unknown }).address) : undefined;
    if (address) return address;
  }
  return undefined;
}
