import type { EntityType } from '../../core/model';
import type { SourceRecord } from '../types';

/** A record as Salesforce's query API returns it. */
export type SalesforceRecord = Record<string, unknown> & { Id?: string; SystemModstamp?: string; IsDeleted?: boolean };

export interface SalesforceObject {
  name: string;
  entity: EntityType;
  /** The fields we read, besides Id, SystemModstamp and IsDeleted. */
  fields: readonly string[];
  /** Salesforce field -> our attribute. */
  attributes: Readonly<Record<string, string>>;
  /** Fixed attributes, e.g. which kind of person. */
  fixed?: Readonly<Record<string, string>>;
  /** The fields that are numbers (Bulk results are CSV text; REST answers JSON numbers). */
  numbers?: readonly string[];
}

/** The objects a Salesforce sync reads, in order, and how each maps to our entities. */
export const SALESFORCE_OBJECTS: readonly SalesforceObject[] = [
  {
    name: 'Account',
    entity: 'accounts',
    fields: ['Name', 'Website', 'Industry', 'NumberOfEmployees', 'AnnualRevenue', 'BillingCountry'],
    attributes: { Name: 'name', Website: 'website', Industry: 'industry', NumberOfEmployees: 'employees', AnnualRevenue: 'annualRevenue', BillingCountry: 'country' },
    numbers: ['NumberOfEmployees', 'AnnualRevenue'],
  },
  {
    name: 'Contact',
    entity: 'people',
    fields: ['FirstName', 'LastName', 'Email', 'Title', 'AccountId'],
    attributes: { FirstName: 'firstName', LastName: 'lastName', Email: 'email', Title: 'title', AccountId: 'accountId' },
    fixed: { kind: 'contact' },
  },
  {
    name: 'Lead',
    entity: 'people',
    fields: ['FirstName', 'LastName', 'Email', 'Company', 'Status'],
    attributes: { FirstName: 'firstName', LastName: 'lastName', Email: 'email', Company: 'company', Status: 'leadStatus' },
    fixed: { kind: 'lead' },
  },
  {
    name: 'Opportunity',
    entity: 'opportunities',
    fields: ['Name', 'AccountId', 'Amount', 'StageName', 'CloseDate', 'Probability'],
    attributes: { Name: 'name', AccountId: 'accountId', Amount: 'amount', StageName: 'stage', CloseDate: 'closeDate', Probability: 'probability' },
    numbers: ['Amount', 'Probability'],
  },
];

/** Maps one Salesforce record to a source record; null when it cannot be (no Id). */
export function toSourceRecord(object: SalesforceObject, raw: SalesforceRecord): SourceRecord | null {
  if (typeof raw.Id !== 'string' || raw.Id.length === 0) return null;
  const attributes: Record<string, unknown> = { ...object.fixed };
  for (const [field, attribute] of Object.entries(object.attributes)) {
    if (raw[field] !== undefined && raw[field] !== null) attributes[attribute] = raw[field];
  }
  return {
    type: object.entity,
    sourceId: raw.Id,
    // Salesforce writes `+0000`; ISO `Z` sorts and parses the same everywhere.
    modifiedAt: typeof raw.SystemModstamp === 'string' ? new Date(raw.SystemModstamp.replace(/\+0000$/, 'Z')).toISOString() : undefined,
    deleted: raw.IsDeleted === true,
    attributes,
  };
}

/**
 * A Bulk API CSV row as the record the REST API would have answered: an empty field is null,
 * numbers and IsDeleted are typed, so both paths store equal attributes (an entity read once
 * through each counts no update).
 */
export function fromCsvRow(object: SalesforceObject, row: Record<string, string>): SalesforceRecord {
  const record: SalesforceRecord = {};
  for (const [field, text] of Object.entries(row)) {
    record[field] = text === '' ? null : field === 'IsDeleted' ? text === 'true' : object.numbers?.includes(field) ? Number(text) : text;
  }
  return record;
}
