/**
 * The sandbox's records: generated from a seed in O(n), kept per object sorted by
 * SystemModstamp so a watermark filter is a binary search and a page is a slice.
 *
 * Arrays and records are never changed in place: a mutation builds new arrays (O(n) per
 * call, whatever the count) and new record versions. Open query cursors therefore keep
 * the snapshot they were opened on, as Salesforce's query locators do.
 */
import { SeededRandom } from '../shared/random';
import { DEFAULT_INSTANCE, keyPrefix, salesforceId } from './ids';
import { type FieldValue, objectFields, type SObjectType, sobjectTypes } from './schema';

/** One version of one record. Datetimes are epoch milliseconds; they are formatted on the way out. */
export interface StoredRecord {
  readonly id: string;
  readonly type: SObjectType;
  readonly modstamp: number;
  readonly created: number;
  readonly lastModified: number;
  readonly deleted: boolean;
  readonly values: Readonly<Record<string, FieldValue>>;
}

/** How many records of each entity kind the data set starts with. */
export interface DataSetSizes {
  /** Account records. */
  readonly accounts: number;
  /** Contact plus Lead records (about 80% contacts, 20% leads; the sum is exact). */
  readonly people: number;
  /** Opportunity records, each referencing an account. */
  readonly opportunities: number;
  /**
   * More orgs on the same sandbox (see {@link SalesforceOrgOptions}). Part of the sizes so
   * that the local stack's `salesforceSizes` option, which is spread into the sandbox's
   * options, can carry them; the data store itself ignores it.
   */
  readonly orgs?: readonly SalesforceOrgOptions[];
  /**
   * The first org's daily API allowance (see `SalesforceSandboxOptions.apiLimit`), carried
   * here for the same reason as `orgs`; the data store ignores it.
   */
  readonly apiLimit?: number;
  /** See `SalesforceSandboxOptions.bulkPollsToComplete`; carried like `orgs`, ignored by the data store. */
  readonly bulkPollsToComplete?: number;
}

/**
 * An additional org of the Salesforce sandbox: its own data set (from its own seed, with
 * ids of its own), instance URL, users, grants and tokens; the same login URL and connected
 * app as the first org.
 */
export interface SalesforceOrgOptions {
  /** The org's name in the sandbox's API (`sandbox.org(id)`, `sandbox.consentAs(id)`): letters, digits, "-", "_". */
  readonly id: string;
  /** Account records. @default 120 */
  readonly accounts?: number;
  /** Contacts plus leads. @default 450 */
  readonly people?: number;
  /** Opportunity records. @default 35 */
  readonly opportunities?: number;
  /** Seed of its data set. @default the first org's seed + the org's position (1, 2, ...) */
  readonly seed?: number;
  /**
   * Port of its instance URL on 127.0.0.1. @default the one recorded in the state file,
   * else a free one. Each org's instance URL is an origin of its own, as in Salesforce:
   * clients resolve `/services/data/...` and `nextRecordsUrl` against it.
   */
  readonly port?: number;
  /** Its daily API allowance (`Sforce-Limit-Info: api-usage=N/<apiLimit>`). @default 100000 */
  readonly apiLimit?: number;
}

/** The default data set of the local stack contract (DESIGN.md). */
export const defaultDataSetSizes: DataSetSizes = { accounts: 340, people: 1250, opportunities: 89 };

/**
 * The data set ends just before this fixed instant (never `Date.now()`, so two runs agree)
 * and starts about a year earlier.
 */
export const DATA_SET_END = Date.UTC(2026, 2, 5, 8, 0, 0, 0);
const YEAR_MS = 365 * 24 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

/** Splits a people count into contacts and leads; the two always add up to `people`. */
export function splitPeople(people: number): { contacts: number; leads: number } {
  const leads = Math.round(people * 0.2);
  return { contacts: people - leads, leads };
}

interface Table {
  /** Every record version that is current, deleted ones in the recycle bin included, sorted by modstamp. */
  all: readonly StoredRecord[];
  /** The same without deleted records. */
  live: readonly StoredRecord[];
  nextSerial: number;
  /**
   * The object's delete log, oldest first: every deletion, whether the record still sits in the
   * recycle bin or was purged from it. What `/sobjects/{Object}/deleted` reads.
   */
  deleteLog: DeletedEntry[];
  /** The delete log holds nothing from before this instant (its background purge ran then); 0 when it never ran. */
  deleteLogFrom: number;
}

/** One entry of an object's delete log. */
export interface DeletedEntry {
  readonly id: string;
  /** Epoch milliseconds: when the record was deleted (its SystemModstamp then). */
  readonly deletedMs: number;
}

interface AccountRef {
  readonly id: string;
  readonly name: string;
  readonly domain: string;
}

/** The records of one sandbox org, and the mutations incremental-sync tests use. */
export class SalesforceDataStore {
  private readonly tables = new Map<SObjectType, Table>();
  private readonly accounts: AccountRef[] = [];
  private readonly accountNames = new Set<string>();
  private readonly emails = new Map<string, number>();
  private readonly mutationRandom: SeededRandom;
  private maxStamp = 0;

  /** `now` is the sandbox clock; mutation timestamps are strictly later than anything before. */
  constructor(
    sizes: DataSetSizes,
    seed: number,
    private readonly now: () => number,
    /** The org's instance part of record ids (see ids.ts); the first org's by default. */
    private readonly instance: string = DEFAULT_INSTANCE,
  ) {
    this.mutationRandom = new SeededRandom(seed, 'mutations');
    const { contacts, leads } = splitPeople(sizes.people);
    // Accounts first: contacts and opportunities reference them.
    const counts: Record<SObjectType, number> = {
      Account: sizes.accounts,
      Contact: contacts,
      Lead: leads,
      Opportunity: sizes.opportunities,
    };
    for (const type of sobjectTypes) {
      const random = new SeededRandom(seed, type);
      // Serial numbers start at a seeded offset so ids look less like a counter from 1.
      const firstSerial = 1_000_000 + random.int(50_000_000);
      const records = this.generate(type, counts[type], random, firstSerial);
      this.tables.set(type, { all: records, live: records, nextSerial: firstSerial + counts[type], deleteLog: [], deleteLogFrom: 0 });
      const last = records[records.length - 1];
      if (last) this.maxStamp = Math.max(this.maxStamp, last.modstamp);
    }
  }

  /** The current records of `type` sorted by SystemModstamp, with or without deleted ones. */
  records(type: SObjectType, includeDeleted: boolean): readonly StoredRecord[] {
    const table = this.table(type);
    return includeDeleted ? table.all : table.live;
  }

  /** Live (not deleted) record counts per object. */
  counts(): Record<SObjectType, number> {
    return this.countBy((table) => table.live.length);
  }

  /** Deleted (recycle bin) record counts per object. */
  deletedCounts(): Record<SObjectType, number> {
    return this.countBy((table) => table.all.length - table.live.length);
  }

  /** Entries of the delete log of `type` deleted in `[fromMs, toMs)`, oldest first. */
  deletedBetween(type: SObjectType, fromMs: number, toMs: number): DeletedEntry[] {
    const log = this.table(type).deleteLog;
    const first = firstAtOrAfter(log, fromMs);
    const end = firstAtOrAfter(log, toMs);
    return log.slice(first, Math.max(first, end));
  }

  /** When the delete log of `type` was last purged by the org (0: never): windows starting earlier cannot be answered. */
  deleteLogFrom(type: SObjectType): number {
    return this.table(type).deleteLogFrom;
  }

  /** Creates `count` records of `type`, stamped now; returns their ids. */
  add(type: SObjectType, count: number): string[] {
    checkCount(count);
    const table = this.table(type);
    const random = this.mutationRandom;
    const added: StoredRecord[] = [];
    for (let i = 0; i < count; i++) {
      const stamp = this.nextStamp();
      const id = salesforceId(keyPrefix[type], table.nextSerial++, this.instance);
      added.push({
        id,
        type,
        modstamp: stamp,
        created: stamp,
        lastModified: stamp,
        deleted: false,
        values: this.values(type, random, id, stamp),
      });
    }
    table.all = [...table.all, ...added];
    table.live = [...table.live, ...added];
    return added.map((record) => record.id);
  }

  /** Changes a field of `count` random live records of `type` and stamps them now; returns their ids. */
  modify(type: SObjectType, count: number): string[] {
    return this.update(type, count, (record, stamp) => ({
      ...record,
      modstamp: stamp,
      lastModified: stamp,
      values: { ...record.values, ...changedValues(type, record.values, this.mutationRandom) },
    }));
  }

  /**
   * Deletes `count` random live records of `type` (IsDeleted = true, stamped now): they go to
   * the recycle bin, where queryAll still sees them, and to the delete log; returns their ids.
   */
  remove(type: SObjectType, count: number): string[] {
    // Unclear in the documentation: whether deleting a parent cascades here. Salesforce does
    // cascade-delete an account's contacts and opportunities; the sandbox deletes only the
    // records named, so tests control exactly what changes.
    const ids = this.update(type, count, (record, stamp) => ({
      ...record,
      modstamp: stamp,
      lastModified: stamp,
      deleted: true,
    }));
    const table = this.table(type);
    const removed = new Set(ids);
    // The versions just written are the last of `all`, in stamp order.
    for (const record of table.all.slice(table.all.length - ids.length)) {
      if (removed.has(record.id)) table.deleteLog.push({ id: record.id, deletedMs: record.modstamp });
    }
    return ids;
  }

  /**
   * Purges `count` records of `type` from the recycle bin (all of them when `count` is
   * undefined), the longest deleted first, as emptying the bin or its 15-day clean-up does:
   * queryAll no longer sees them; only the delete log (`/deleted`) still names them. Returns
   * their ids.
   */
  purge(type: SObjectType, count?: number): string[] {
    const table = this.table(type);
    const binned = table.all.filter((record) => record.deleted);
    const take = count === undefined ? binned.length : count;
    checkCount(take);
    if (take > binned.length) throw new RangeError(`cannot purge ${take} ${type} records: only ${binned.length} are in the recycle bin`);
    const purged = new Set(binned.slice(0, take).map((record) => record.id));
    table.all = table.all.filter((record) => !purged.has(record.id));
    return [...purged];
  }

  /**
   * Restores `count` records of `type` from the recycle bin (the most recently deleted first):
   * live again, stamped now; returns their ids. Unclear in the documentation: whether the
   * delete log forgets an undeleted record; the sandbox keeps its entry (the reading that asks
   * more of a client: a record named in `/deleted` may be live again).
   */
  undelete(type: SObjectType, count: number): string[] {
    checkCount(count);
    const table = this.table(type);
    const binned = table.all.filter((record) => record.deleted);
    if (count > binned.length) throw new RangeError(`cannot undelete ${count} ${type} records: only ${binned.length} are in the recycle bin`);
    const restored = binned.slice(binned.length - count).reverse();
    const versions = restored.map((record) => {
      const stamp = this.nextStamp();
      return { ...record, modstamp: stamp, lastModified: stamp, deleted: false };
    });
    const ids = new Set(versions.map((record) => record.id));
    table.all = [...table.all.filter((record) => !ids.has(record.id)), ...versions];
    table.live = table.all.filter((record) => !record.deleted);
    return versions.map((record) => record.id);
  }

  /**
   * The org's background process purges the delete log of `type` (Salesforce does so every two
   * hours once the log passes 5,000 entries per licence): entries from before now are gone,
   * and a `/deleted` window starting before now answers INVALID_REPLICATION_DATE.
   */
  purgeDeleteLog(type: SObjectType): void {
    const table = this.table(type);
    const now = this.now();
    table.deleteLog = table.deleteLog.filter((entry) => entry.deletedMs >= now);
    table.deleteLogFrom = now;
  }

  /**
   * Sets fields of the live record `id` of `type` to `values` (fields particular to the
   * object, in Salesforce's spelling) and stamps it now; returns the id. For values the
   * generator never makes, such as text with commas, quotes or line breaks.
   */
  set(type: SObjectType, id: string, values: Readonly<Record<string, FieldValue>>): string {
    const table = this.table(type);
    const record = table.live.find((candidate) => candidate.id === id);
    if (!record) throw new RangeError(`no live ${type} record ${id}`);
    for (const [field, value] of Object.entries(values)) {
      if (!objectFields[type].includes(field)) {
        throw new RangeError(`cannot set ${type}.${field}; settable: ${objectFields[type].join(', ')}`);
      }
      if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new RangeError(`${type}.${field} must be a string, number, boolean or null`);
      }
    }
    const stamp = this.nextStamp();
    const version: StoredRecord = { ...record, modstamp: stamp, lastModified: stamp, values: { ...record.values, ...values } };
    table.all = [...table.all.filter((candidate) => candidate.id !== id), version];
    table.live = table.all.filter((candidate) => !candidate.deleted);
    return id;
  }

  private update(
    type: SObjectType,
    count: number,
    change: (record: StoredRecord, stamp: number) => StoredRecord,
  ): string[] {
    checkCount(count);
    const table = this.table(type);
    if (count > table.live.length) {
      throw new RangeError(`cannot change ${count} ${type} records: only ${table.live.length} are live`);
    }
    const changed = new Map<string, StoredRecord>();
    for (const index of distinctIndexes(table.live.length, count, this.mutationRandom)) {
      const record = table.live[index] as StoredRecord;
      changed.set(record.id, change(record, this.nextStamp()));
    }
    const versions = [...changed.values()];
    table.all = [...table.all.filter((record) => !changed.has(record.id)), ...versions];
    table.live = table.all.filter((record) => !record.deleted);
    return versions.map((record) => record.id);
  }

  /** A mutation timestamp: now-ish, and strictly after every SystemModstamp so far. */
  private nextStamp(): number {
    this.maxStamp = Math.max(this.now(), this.maxStamp + 1);
    return this.maxStamp;
  }

  private table(type: SObjectType): Table {
    const table = this.tables.get(type);
    if (!table) throw new Error(`unknown object ${type}`);
    return table;
  }

  private countBy(count: (table: Table) => number): Record<SObjectType, number> {
    const result = {} as Record<SObjectType, number>;
    for (const type of sobjectTypes) result[type] = count(this.table(type));
    return result;
  }

  /**
   * O(n): n distinct timestamps over the year before DATA_SET_END (one per slot of width
   * w, jittered inside it, so they are strictly increasing), handed to records in a
   * shuffled order, so id order and SystemModstamp order differ as in a real org.
   */
  private generate(type: SObjectType, n: number, random: SeededRandom, firstSerial: number): StoredRecord[] {
    const sorted = new Array<StoredRecord>(n);
    if (n === 0) return sorted;
    const width = Math.max(1, Math.floor(YEAR_MS / n));
    const start = DATA_SET_END - width * n;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = random.int(i + 1);
      const t = order[i] as number;
      order[i] = order[j] as number;
      order[j] = t;
    }
    const earliest = start - YEAR_MS;
    for (let i = 0; i < n; i++) {
      const slot = order[i] as number;
      const modstamp = start + slot * width + random.int(width);
      // Created some time before the last change, more often recently than long ago.
      const created = modstamp - Math.floor(random.next() * random.next() * (modstamp - earliest));
      // Now and then a system process touched the record after the last user edit.
      const lastModified = random.chance(0.1) ? Math.max(created, modstamp - random.int(3_600_000)) : modstamp;
      const id = salesforceId(keyPrefix[type], firstSerial + i, this.instance);
      sorted[slot] = { id, type, modstamp, created, lastModified, deleted: false, values: this.values(type, random, id, modstamp) };
    }
    return sorted;
  }

  private values(type: SObjectType, random: SeededRandom, id: string, stamp: number): Record<string, FieldValue> {
    switch (type) {
      case 'Account':
        return this.accountValues(random, id);
      case 'Contact':
        return this.contactValues(random);
      case 'Lead':
        return this.leadValues(random);
      case 'Opportunity':
        return this.opportunityValues(random, stamp);
    }
  }

  private accountValues(random: SeededRandom, id: string): Record<string, FieldValue> {
    const base = `${random.pick(companyStems)} ${random.pick(companyNouns)}`;
    const number = this.accountNames.has(base) ? this.accounts.length + 1 : undefined;
    this.accountNames.add(base);
    const stem = number === undefined ? base : `${base} ${number}`;
    const domain = `${slug(base)}${number ?? ''}.example`;
    const name = `${stem} ${random.pick(companySuffixes)}`.trim();
    this.accounts.push({ id, name, domain });
    return {
      Name: name,
      Website: random.chance(0.9) ? `https://www.${domain}` : null,
      Industry: random.chance(0.85) ? random.pick(industries) : null,
      NumberOfEmployees: random.chance(0.8) ? Math.round(10 ** (1 + random.next() * 4)) : null,
      AnnualRevenue: random.chance(0.7) ? Math.round(10 ** (5 + random.next() * 4) / 1000) * 1000 : null,
      BillingCountry: random.chance(0.95) ? random.pick(countries) : null,
    };
  }

  private contactValues(random: SeededRandom): Record<string, FieldValue> {
    const account = this.accounts.length > 0 && random.chance(0.95) ? random.pick(this.accounts) : undefined;
    const first = random.chance(0.97) ? random.pick(firstNames) : null;
    const last = random.pick(lastNames);
    return {
      FirstName: first,
      LastName: last,
      Email: this.email(first, last, account?.domain ?? random.pick(mailDomains)),
      Title: random.chance(0.8) ? random.pick(titles) : null,
      AccountId: account?.id ?? null,
    };
  }

  private leadValues(random: SeededRandom): Record<string, FieldValue> {
    const company = `${random.pick(companyStems)} ${random.pick(companyNouns)}`;
    const first = random.chance(0.97) ? random.pick(firstNames) : null;
    const last = random.pick(lastNames);
    return {
      FirstName: first,
      LastName: last,
      Email: this.email(first, last, `${slug(company)}.example`),
      Company: company,
      Status: random.pick(leadStatuses),
    };
  }

  private opportunityValues(random: SeededRandom, stamp: number): Record<string, FieldValue> {
    const account = this.accounts.length > 0 ? random.pick(this.accounts) : undefined;
    const stage = random.pick(stages);
    const closeDate = new Date(stamp + (random.int(240) - 60) * DAY_MS).toISOString().slice(0, 10);
    return {
      Name: `${account?.name ?? 'New'} - ${random.pick(products)}`,
      AccountId: account?.id ?? null,
      Amount: random.chance(0.9) ? random.between(5, 500) * 1000 : null,
      StageName: stage.name,
      CloseDate: closeDate,
      Probability: stage.probability,
    };
  }

  /** Every person gets a distinct address (first.last@domain, numbered on collision). */
  private email(first: string | null, last: string, domain: string): string {
    const local = first ? `${slug(first)}.${slug(last)}` : slug(last);
    const key = `${local}@${domain}`;
    const seen = this.emails.get(key) ?? 0;
    this.emails.set(key, seen + 1);
    return seen === 0 ? key : `${local}${seen + 1}@${domain}`;
  }
}

/** Index of the first delete-log entry deleted at `ms` or later. */
function firstAtOrAfter(log: readonly DeletedEntry[], ms: number): number {
  let low = 0;
  let high = log.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((log[mid] as DeletedEntry).deletedMs >= ms) high = mid;
    else low = mid + 1;
  }
  return low;
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
}

/** `count` distinct indexes below `n`, chosen with `random`. */
function distinctIndexes(n: number, count: number, random: SeededRandom): number[] {
  if (count * 2 < n) {
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(random.int(n));
    return [...chosen];
  }
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + random.int(n - i);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order.slice(0, count);
}

function changedValues(
  type: SObjectType,
  values: Readonly<Record<string, FieldValue>>,
  random: SeededRandom,
): Record<string, FieldValue> {
  switch (type) {
    case 'Account':
      return { NumberOfEmployees: (typeof values.NumberOfEmployees === 'number' ? values.NumberOfEmployees : 0) + 1 + random.int(50) };
    case 'Contact':
      return { Title: random.pick(titles.filter((title) => title !== values.Title)) };
    case 'Lead':
      return { Status: random.pick(leadStatuses.filter((status) => status !== values.Status)) };
    case 'Opportunity': {
      const stage = random.pick(stages.filter((candidate) => candidate.name !== values.StageName));
      return { StageName: stage.name, Probability: stage.probability };
    }
  }
}

const slugs = new Map<string, string>();

/** Lower-case ASCII letters and digits only, accents dropped (memoised: the inputs come from small pools). */
function slug(text: string): string {
  let result = slugs.get(text);
  if (result === undefined) {
    result = text
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/ł/g, 'l')
      .replace(/Ł/g, 'L')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '');
    slugs.set(text, result);
  }
  return result;
}

const companyStems = [
  'Acme', 'Northwind', 'Globex', 'Initech', 'Umbrella', 'Blue Harbor', 'Summit', 'Redwood', 'Silverline',
  'Brightpath', 'Ironbridge', 'Pinecrest', 'Oakridge', 'Starfield', 'Crescent', 'Evergreen', 'Lakeside',
  'Granite', 'Horizon', 'Maplewood', 'Northstar', 'Riverbend', 'Stonegate', 'Westfield', 'Cobalt',
  'Falcon', 'Juniper', 'Keystone', 'Lighthouse', 'Meridian', 'Nimbus', 'Orchid', 'Quantum', 'Sapphire',
];
const companyNouns = [
  'Analytics', 'Logistics', 'Foods', 'Systems', 'Health', 'Energy', 'Robotics', 'Media', 'Capital',
  'Software', 'Labs', 'Outfitters', 'Pharma', 'Networks', 'Consulting', 'Manufacturing', 'Textiles',
  'Ventures', 'Aerospace', 'Biotech', 'Retail', 'Telecom', 'Insurance', 'Partners',
];
const companySuffixes = ['Inc.', 'LLC', 'Ltd', 'GmbH', 'Group', 'Corp.', '', '', ''];
const industries = [
  'Agriculture', 'Apparel', 'Banking', 'Biotechnology', 'Chemicals', 'Communications', 'Construction',
  'Consulting', 'Education', 'Electronics', 'Energy', 'Engineering', 'Entertainment', 'Finance',
  'Food & Beverage', 'Government', 'Healthcare', 'Hospitality', 'Insurance', 'Manufacturing', 'Media',
  'Not For Profit', 'Retail', 'Shipping', 'Technology', 'Telecommunications', 'Transportation', 'Utilities',
];
const countries = ['United States', 'Germany', 'United Kingdom', 'France', 'Canada', 'Australia', 'Japan', 'Brazil', 'India', 'Netherlands', 'Spain', 'Sweden'];
const firstNames = [
  'Ada', 'Alan', 'Amara', 'Ben', 'Carla', 'Chen', 'Dario', 'Elena', 'Emeka', 'Farah', 'Grace', 'Hiro',
  'Ines', 'Jonas', 'Kai', 'Lena', 'Marco', 'Maya', 'Nadia', 'Noah', 'Olga', 'Omar', 'Priya', 'Rafael',
  'Rosa', 'Sami', 'Sofia', 'Tariq', 'Uma', 'Viktor', 'Wen', 'Yara', 'Zoe', 'José', 'Zoë', 'Łukasz',
];
const lastNames = [
  'Anderson', 'Bauer', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Hughes', 'Ivanova', 'Jensen',
  'Kowalski', 'Lopez', 'Müller', 'Nakamura', 'Okafor', 'Patel', 'Quinn', 'Rossi', 'Schmidt', 'Tanaka',
  'Usman', 'Varga', 'Walsh', 'Xu', 'Yilmaz', 'Zimmermann', "O'Brien", 'Nguyen', 'Smith', 'Khan',
];
const titles = [
  'CEO', 'CTO', 'VP Sales', 'Head of Marketing', 'Sales Manager', 'Account Executive', 'Buyer',
  'Procurement Lead', 'Operations Director', 'Software Engineer', 'Office Manager', 'CFO',
];
const mailDomains = ['mail.example', 'inbox.example', 'post.example'];
const leadStatuses = ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'];
const stages = [
  { name: 'Prospecting', probability: 10 },
  { name: 'Qualification', probability: 10 },
  { name: 'Needs Analysis', probability: 20 },
  { name: 'Value Proposition', probability: 50 },
  { name: 'Id. Decision Makers', probability: 60 },
  { name: 'Perception Analysis', probability: 70 },
  { name: 'Proposal/Price Quote', probability: 75 },
  { name: 'Negotiation/Review', probability: 90 },
  { name: 'Closed Won', probability: 100 },
  { name: 'Closed Lost', probability: 0 },
] as const;
const products = ['Platform Licence', 'Renewal', 'Expansion', 'Services', 'Pilot', 'Support Plan'];
