/** The objects and fields the sandbox knows: the ones the connector reads, and no more. */

/** The Salesforce objects the sandbox serves. */
export const sobjectTypes = ['Account', 'Contact', 'Lead', 'Opportunity'] as const;

/** One of the Salesforce objects the sandbox serves. */
export type SObjectType = (typeof sobjectTypes)[number];

/** Fields every object has (system fields). */
export const systemFields = ['Id', 'SystemModstamp', 'IsDeleted', 'CreatedDate', 'LastModifiedDate'] as const;

/** Fields particular to each object, in Salesforce's spelling. */
export const objectFields: Readonly<Record<SObjectType, readonly string[]>> = {
  Account: ['Name', 'Website', 'Industry', 'NumberOfEmployees', 'AnnualRevenue', 'BillingCountry'],
  Contact: ['FirstName', 'LastName', 'Email', 'Title', 'AccountId'],
  Lead: ['FirstName', 'LastName', 'Email', 'Company', 'Status'],
  Opportunity: ['Name', 'AccountId', 'Amount', 'StageName', 'CloseDate', 'Probability'],
};

/** A field's type as a describe answer names it (`fields[].type`). */
export type FieldType = 'id' | 'datetime' | 'boolean' | 'string' | 'url' | 'picklist' | 'int' | 'currency' | 'email' | 'reference' | 'date' | 'percent';

/** The type of every field the sandbox knows, system fields included, as Salesforce's describe reports it. */
export const fieldTypes: Readonly<Record<string, FieldType>> = {
  Id: 'id',
  SystemModstamp: 'datetime',
  IsDeleted: 'boolean',
  CreatedDate: 'datetime',
  LastModifiedDate: 'datetime',
  Name: 'string',
  Website: 'url',
  Industry: 'picklist',
  NumberOfEmployees: 'int',
  AnnualRevenue: 'currency',
  BillingCountry: 'string',
  FirstName: 'string',
  LastName: 'string',
  Email: 'email',
  Title: 'string',
  AccountId: 'reference',
  Company: 'string',
  Status: 'picklist',
  Amount: 'currency',
  StageName: 'picklist',
  CloseDate: 'date',
  Probability: 'percent',
};

/** A field value as it appears in a JSON record. */
export type FieldValue = string | number | boolean | null;

/** Looks up an object name case-insensitively (SOQL is case-insensitive), giving Salesforce's spelling. */
export function canonicalObject(name: string): SObjectType | undefined {
  const lower = name.toLowerCase();
  return sobjectTypes.find((type) => type.toLowerCase() === lower);
}

const fieldLookup = new Map<SObjectType, Map<string, string>>(
  sobjectTypes.map((type) => [
    type,
    new Map([...systemFields, ...objectFields[type]].map((field) => [field.toLowerCase(), field])),
  ]),
);

/** Looks up a field of `type` case-insensitively, giving Salesforce's spelling. */
export function canonicalField(type: SObjectType, name: string): string | undefined {
  return fieldLookup.get(type)?.get(name.toLowerCase());
}

/** `2026-03-05T08:00:00.000+0000`: the datetime format of Salesforce's REST answers (`+0000`, not `Z`). */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}
