/**
 * Field-level security of one org: which of the objects' own fields the integration user
 * cannot read. Salesforce hides such a field everywhere: a SOQL query (REST or a Bulk API 2.0
 * job) that names it fails with 400 INVALID_FIELD ("No such column ..."), exactly as for a
 * field that does not exist, and the object's describe leaves it out.
 *
 * Salesforce decides this per user (profile and permission sets); the sandbox keeps one
 * setting per org, which is what a connector with one integration user per org sees.
 */
import { fieldTypes, objectFields, type SObjectType, sobjectTypes, systemFields } from './schema';

/** The fields an org's integration user cannot read, per object (objects without any left out). */
export type HiddenFields = Partial<Record<SObjectType, readonly string[]>>;

/** One org's field visibility. */
export class FieldVisibility {
  private hidden = new Map<SObjectType, ReadonlySet<string>>();

  /**
   * Replaces the setting: `{"Account":["AnnualRevenue"]}` hides Account.AnnualRevenue and
   * shows every other field; `{}` shows everything. Checks every name first (RangeError,
   * nothing changed): only an object's own fields can be hidden, never Id or the system
   * fields, which field-level security does not govern. Answers the setting after the change.
   */
  set(fields: unknown): HiddenFields {
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
      throw new RangeError('hidden fields must map object names to arrays of field names');
    }
    const next = new Map<SObjectType, ReadonlySet<string>>();
    for (const [object, names] of Object.entries(fields)) {
      const type = sobjectTypes.find((candidate) => candidate === object);
      if (!type) throw new RangeError(`unknown object ${object}; one of ${sobjectTypes.join(', ')}`);
      if (!Array.isArray(names)) throw new RangeError(`hidden fields of ${object} must be an array of field names`);
      for (const name of names) {
        if (typeof name !== 'string' || !objectFields[type].includes(name)) {
          throw new RangeError(
            `cannot hide ${object}.${String(name)}; hideable: ${objectFields[type].join(', ')} (${systemFields.join(', ')} are always visible)`,
          );
        }
      }
      if (names.length > 0) next.set(type, new Set(names as string[]));
    }
    this.hidden = next;
    return this.state();
  }

  /** The current setting, objects in Salesforce's order. */
  state(): HiddenFields {
    const state: HiddenFields = {};
    for (const type of sobjectTypes) {
      const names = this.hidden.get(type);
      if (names) state[type] = objectFields[type].filter((field) => names.has(field));
    }
    return state;
  }

  /** Whether the user cannot read `field` (Salesforce's spelling) of `type`. */
  isHidden(type: SObjectType, field: string): boolean {
    return this.hidden.get(type)?.has(field) ?? false;
  }

  /**
   * `GET .../sobjects/{Object}/describe`: the object and the fields the user can read, in a
   * subset of Salesforce's shape (`name`, `label`, `keyPrefix`, `queryable`, `fields[]` with
   * `name`, `label`, `type`, `nillable`, `custom`, `urls`). Hidden fields are simply absent.
   */
  describe(type: SObjectType, version: string, keyPrefix: string): Record<string, unknown> {
    const base = `/services/data/${version}/sobjects/${type}`;
    const fields = [...systemFields, ...objectFields[type]]
      .filter((field) => !this.isHidden(type, field))
      .map((field) => ({
        name: field,
        label: labelOf(field),
        type: fieldTypes[field] ?? 'string',
        nillable: !(systemFields as readonly string[]).includes(field) && field !== 'Name' && field !== 'LastName',
        custom: false,
        filterable: true,
        sortable: true,
      }));
    return {
      name: type,
      label: type,
      labelPlural: `${type}s`,
      keyPrefix,
      custom: false,
      queryable: true,
      retrieveable: true,
      replicateable: true,
      deletable: true,
      fields,
      urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
    };
  }
}

/** `AnnualRevenue` -> `Annual Revenue`: the shape of Salesforce's standard labels. */
function labelOf(field: string): string {
  return field.replace(/([a-z])([A-Z])/g, '$1 $2');
}
