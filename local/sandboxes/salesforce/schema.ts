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
