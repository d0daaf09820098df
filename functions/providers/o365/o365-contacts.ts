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
 */
export function toSourceRecord(item: unknown): SourceRecord | null {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return null;
  const entry = item as GraphDeltaItem;
  if (typeof entry.id !== 'string' || entry.id.length === 0) return null;
  if (entry['@removed'] !== undefined) return { type: 'people', sourceId: entry.id, deleted: true, attributes: {} };

  const attributes: Record<string, unknown> = {};
  const name = text(entry.displayName) ?? ([text(entry.givenName), text(entry.surname)].filter(Boolean).join(' ') || undefined);
  if (name) attributes.name = name;
  const email = firstAddress(entry.emailAddresses);
  if (email) attributes.email = email;
  const company = text(entry.companyName);
  if (company) attributes.company = company;
  const jobTitle = text(entry.jobTitle);
  if (jobTitle) attributes.jobTitle = jobTitle;
  const modified = typeof entry.lastModifiedDateTime === 'string' ? Date.parse(entry.lastModifiedDateTime) : NaN;
  return {
    type: 'people',
    sourceId: entry.id,
    modifiedAt: Number.isNaN(modified) ? undefined : new Date(modified).toISOString(),
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
