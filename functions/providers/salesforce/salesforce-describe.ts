import { ProviderError } from '../../core/errors';
import { DATA_PATH, PROVIDER, SalesforceRestError, type SalesforceOrg } from './salesforce-org';

/** How long an object's describe is trusted: an admin's change to field-level security shows within this. */
export const DESCRIBE_TTL_MS = 10 * 60 * 1000;
/** The cache forgets its oldest entries past this many (users times objects): a process serves many connectors. */
const MAX_ENTRIES = 5000;

/** The fields every read needs: without them records cannot be identified, ordered or told deleted. */
export const REQUIRED_FIELDS = ['Id', 'SystemModstamp', 'IsDeleted'] as const;

interface Entry {
  /** The describe's answer, or the call still under way (callers at the same moment share it). */
  fields: Promise<ReadonlySet<string>>;
  at: number;
}

/**
 * The fields the integration user can read, per object, from its describe
 * (`GET .../sobjects/{Object}/describe`, which lists only the fields the user can see: a
 * field hidden by field-level security is missing, and a query naming it fails with
 * INVALID_FIELD). Kept for {@link DESCRIBE_TTL_MS} per org user and object, in the process:
 * describes are API calls, counted against the org's allowance like any other.
 */
export class DescribeCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The readable fields of `object` for the user `key` names (the connection's identity URL,
   * which names the org and the user). `fresh` says whether Salesforce was asked just now.
   * @throws ProviderError when the user cannot read the object, or one of {@link REQUIRED_FIELDS}.
   */
  async fieldsOf(org: SalesforceOrg, key: string, object: string): Promise<{ fields: ReadonlySet<string>; fresh: boolean }> {
    const id = `${key} ${object}`;
    const cached = this.entries.get(id);
    if (cached && this.now() - cached.at < DESCRIBE_TTL_MS) return { fields: await cached.fields, fresh: false };
    const entry: Entry = { fields: describe(org, object), at: this.now() };
    this.entries.delete(id);
    this.entries.set(id, entry);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= MAX_ENTRIES) break;
      this.entries.delete(oldest);
    }
    try {
      return { fields: await entry.fields, fresh: true };
    } catch (error) {
      // A failed describe is not kept: the next read asks again.
      if (this.entries.get(id) === entry) this.entries.delete(id);
      throw error;
    }
  }

  /** Forgets what was read for `object` (a query found the describe out of date). */
  forget(key: string, object: string): void {
    this.entries.delete(`${key} ${object}`);
  }
}

/** One describe call: the names of the fields the user can read. */
async function describe(org: SalesforceOrg, object: string): Promise<ReadonlySet<string>> {
  let answer: { fields?: Array<{ name?: unknown }> };
  try {
    answer = await org.json(`${DATA_PATH}/sobjects/${encodeURIComponent(object)}/describe`);
  } catch (error) {
    if (error instanceof SalesforceRestError && error.status === 404) {
      throw new ProviderError(`The Salesforce user this connection signed in with cannot read ${object} records; give it read access to ${object}, or connect with another user.`, {
        provider: PROVIDER,
        cause: error,
      });
    }
    throw error;
  }
  if (!Array.isArray(answer.fields)) {
    throw new ProviderError(`Salesforce answered the ${object} describe without its fields.`, { provider: PROVIDER, retryable: true });
  }
  const fields = new Set(answer.fields.map((field) => field.name).filter((name): name is string => typeof name === 'string'));
  const missing = REQUIRED_FIELDS.filter((field) => !fields.has(field));
  if (missing.length > 0) {
    throw new ProviderError(`The Salesforce user this connection signed in with cannot read ${missing.map((field) => `${object}.${field}`).join(', ')}, which every sync needs; give it read access.`, {
      provider: PROVIDER,
    });
  }
  return fields;
}
