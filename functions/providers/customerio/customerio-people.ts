import type { SourceRecord } from '../types';

/** One person as `POST /v1/customers/attributes` describes them (every field optional: we trust nothing). */
export interface CustomerIoCustomer {
  id?: string | null;
  /** `cio_id` comes as a string, or as a number in some of Customer.io's examples: both are read. */
  identifiers?: { email?: string | null; id?: string | null; cio_id?: string | number | null };
  /** Attribute values; the App API stores and returns them as strings. */
  attributes?: Record<string, unknown>;
  /**
   * Unix seconds at which each attribute was last set. Deprecated by Customer.io and so
   * never relied on: when present it dates the record (`modifiedAt`); whether a person
   * changed is decided by comparing attributes, which the engine does for every record.
   */
  timestamps?: Record<string, unknown>;
  unsubscribed?: boolean;
}

/** Customer.io attribute -> our attribute, for the person fields we keep. */
const ATTRIBUTES: Readonly<Record<string, string>> = {
  email: 'email',
  first_name: 'firstName',
  last_name: 'lastName',
  company: 'company',
  title: 'title',
  phone: 'phone',
};

/** The Customer.io id of a person: `cio_id`, from the identifiers or, failing that, the attributes. */
export function cioIdOf(customer: CustomerIoCustomer): string | undefined {
  return cioIdText(customer.identifiers?.cio_id) ?? cioIdText(customer.attributes?.cio_id);
}

/**
 * A `cio_id` as the string we key people by: a non-empty string as it is, or a whole
 * number (as some of Customer.io's examples write it) in decimal; undefined otherwise.
 */
export function cioIdText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return undefined;
}

/**
 * Maps one person to a source record of type `people`; null when it cannot be (no cio_id).
 *
 * The sourceId is `cio_id`, not `id`: Customer.io always sets `cio_id` and never changes
 * it, while `id` is the workspace's own identifier, which workspaces that identify people
 * by email do not set at all (the list answers an empty string for it) and which can be
 * changed later. Keyed by `id`, those people would be lost or would re-appear as new ones.
 */
export function toSourceRecord(customer: CustomerIoCustomer): SourceRecord | null {
  const cioId = cioIdOf(customer);
  if (!cioId) return null;
  const raw = customer.attributes ?? {};
  const attributes: Record<string, unknown> = {};
  for (const [field, attribute] of Object.entries(ATTRIBUTES)) {
    const value = text(raw[field]);
    if (value !== undefined) attributes[attribute] = value;
  }
  const email = text(customer.identifiers?.email);
  if (attributes.email === undefined && email !== undefined) attributes.email = email;
  // The workspace's own id, when it has one: what the customer's other systems call the person.
  const customerId = text(customer.identifiers?.id) ?? text(raw.id);
  if (customerId !== undefined) attributes.customerId = customerId;
  const createdAt = isoFromSeconds(raw.created_at);
  if (createdAt !== undefined) attributes.createdAt = createdAt;
  if (typeof customer.unsubscribed === 'boolean') attributes.unsubscribed = customer.unsubscribed;
  return { type: 'people', sourceId: cioId, modifiedAt: lastChange(customer.timestamps), attributes };
}

/**
 * When the profile last changed: the latest attribute timestamp. Attributes whose name
 * starts with `_` (such as `_last_emailed`) are Customer.io's activity records, not
 * profile changes, and are left out so sending an email does not count as an update.
 */
function lastChange(timestamps: Record<string, unknown> | undefined): string | undefined {
  let latest: number | undefined;
  for (const [attribute, value] of Object.entries(timestamps ?? {})) {
    if (attribute.startsWith('_')) continue;
    const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
    if (Number.isFinite(seconds) && (latest === undefined || seconds > latest)) latest = seconds;
  }
  return latest === undefined ? undefined : isoFromSeconds(latest);
}

/** Unix seconds (a number or a numeric string, as `created_at` comes) to ISO 8601; undefined otherwise. */
function isoFromSeconds(value: unknown): string | undefined {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,12}$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(seconds) || seconds < 0) return undefined;
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** A non-empty attribute value as a string (numbers and booleans too); undefined otherwise. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}
