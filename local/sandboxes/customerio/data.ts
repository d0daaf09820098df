/**
 * The sandbox workspace's people: generated from a seed, kept sorted by `cio_id` so a
 * list page is a binary search plus a scan, and mutated by `add` / `modify` / `remove`.
 *
 * Attribute values are strings, as the App API stores and returns them; timestamps are
 * unix seconds per attribute, as in the attributes answer's `timestamps` object.
 */
import { Mulberry32 } from '../shared/random';

/** One person as the sandbox keeps it. */
export interface StoredPerson {
  /** Customer.io's own identifier: always set, never changes. 8 hex digits here. */
  readonly cioId: string;
  /** The workspace's `id` identifier; null for people identified by email only. */
  readonly id: string | null;
  readonly email: string;
  readonly unsubscribed: boolean;
  /** Every attribute, identifiers included (`cio_id`, `email`, `id` when set), as strings. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Unix seconds at which each attribute was last set. */
  readonly timestamps: Readonly<Record<string, number>>;
}

/**
 * The default data set ends just before this fixed instant (never `Date.now()`, so two
 * runs agree) and reaches back two years.
 */
export const DATA_SET_END_SECONDS = Math.floor(Date.UTC(2026, 2, 5, 8, 0, 0) / 1000);
const TWO_YEARS_SECONDS = 2 * 365 * 24 * 3600;

/** Share of generated people without an `id` (workspaces may identify people by email only). */
const EMAIL_ONLY_SHARE = 0.1;

/** The people of one sandbox workspace. */
export class PeopleStore {
  /** Live people sorted by cio_id (fixed-width hex, so string order is numeric order). */
  private people: StoredPerson[] = [];
  private readonly byCioId = new Map<string, StoredPerson>();
  private readonly byId = new Map<string, StoredPerson>();
  private readonly byEmail = new Map<string, StoredPerson>();
  private readonly emailsUsed = new Map<string, number>();
  private readonly mutations: Mulberry32;
  private nextSerial: number;
  private nextCustomerNumber: number;

  /** `now` is the sandbox clock in milliseconds; it stamps mutations. */
  constructor(
    count: number,
    seed: number,
    private readonly now: () => number,
  ) {
    const random = new Mulberry32(seed, 'people');
    this.mutations = new Mulberry32(seed, 'mutations');
    // Serials start at a seeded offset so cio_ids do not look like a counter from 1.
    this.nextSerial = 0x03000000 + random.int(0x01000000);
    this.nextCustomerNumber = 1000 + random.int(9000);
    for (let i = 0; i < count; i++) {
      const created = DATA_SET_END_SECONDS - TWO_YEARS_SECONDS + random.int(TWO_YEARS_SECONDS);
      this.insert(this.generate(random, created, DATA_SET_END_SECONDS));
    }
  }

  /** Live people in cio_id order. */
  all(): readonly StoredPerson[] {
    return this.people;
  }

  count(): number {
    return this.people.length;
  }

  /** The index of the first person whose cio_id is greater than `cioId`. */
  indexAfter(cioId: string): number {
    let low = 0;
    let high = this.people.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.people[mid] as StoredPerson).cioId <= cioId) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** A live person by one of the identifier types the attributes endpoint accepts. */
  find(idType: 'id' | 'email' | 'cio_id', value: string): StoredPerson | undefined {
    if (idType === 'cio_id') return this.byCioId.get(value);
    if (idType === 'email') return this.byEmail.get(value.toLowerCase());
    return this.byId.get(value);
  }

  /** Creates `count` people, created now; returns their cio_ids. */
  add(count: number): string[] {
    checkCount(count);
    const added: string[] = [];
    for (let i = 0; i < count; i++) {
      const stamp = this.nowSeconds();
      const person = this.generate(this.mutations, stamp, stamp);
      this.insert(person);
      added.push(person.cioId);
    }
    return added;
  }

  /**
   * Changes one attribute (company, title or last name) of `count` distinct people and
   * stamps it now, strictly after anything stamped on them before; returns their cio_ids.
   */
  modify(count: number): string[] {
    return this.pickDistinct(count).map((person) => {
      const field = this.mutations.pick(['company', 'title', 'last_name'] as const);
      const value =
        field === 'company'
          ? companyName(this.mutations)
          : field === 'title'
            ? this.mutations.pick(titles)
            : this.mutations.pick(lastNames);
      const stamp = Math.max(this.nowSeconds(), maxTimestamp(person.timestamps) + 1);
      const changed: StoredPerson = {
        ...person,
        attributes: { ...person.attributes, [field]: value === person.attributes[field] ? `${value} II` : value },
        timestamps: { ...person.timestamps, [field]: stamp },
      };
      this.replace(changed);
      return changed.cioId;
    });
  }

  /** Deletes `count` distinct people; returns their cio_ids. */
  remove(count: number): string[] {
    const removed = new Set(this.pickDistinct(count).map((person) => person.cioId));
    for (const cioId of removed) {
      const person = this.byCioId.get(cioId) as StoredPerson;
      this.byCioId.delete(cioId);
      this.byEmail.delete(person.email.toLowerCase());
      if (person.id !== null) this.byId.delete(person.id);
    }
    this.people = this.people.filter((person) => !removed.has(person.cioId));
    return [...removed];
  }

  private pickDistinct(count: number): StoredPerson[] {
    checkCount(count);
    if (count > this.people.length) {
      throw new RangeError(`cannot change ${count} people: only ${this.people.length} exist`);
    }
    // A partial Fisher-Yates over indexes: O(count) picks, all distinct.
    const indexes = this.people.map((_, i) => i);
    const picked: StoredPerson[] = [];
    for (let i = 0; i < count; i++) {
      const j = i + this.mutations.int(indexes.length - i);
      [indexes[i], indexes[j]] = [indexes[j] as number, indexes[i] as number];
      picked.push(this.people[indexes[i] as number] as StoredPerson);
    }
    return picked;
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** New cio_ids only grow, so appending keeps the array sorted. */
  private insert(person: StoredPerson): void {
    this.people.push(person);
    this.index(person);
  }

  private replace(person: StoredPerson): void {
    const at = this.indexAfter(person.cioId) - 1;
    this.people[at] = person;
    this.index(person);
  }

  private index(person: StoredPerson): void {
    this.byCioId.set(person.cioId, person);
    this.byEmail.set(person.email.toLowerCase(), person);
    if (person.id !== null) this.byId.set(person.id, person);
  }

  /** One person created at `created` (unix seconds) whose attributes were set by `latest`. */
  private generate(random: Mulberry32, created: number, latest: number): StoredPerson {
    const cioId = (this.nextSerial++).toString(16).padStart(8, '0');
    const id = random.chance(EMAIL_ONLY_SHARE) ? null : `cust-${this.nextCustomerNumber++}`;
    const first = random.pick(firstNames);
    const last = random.pick(lastNames);
    const company = companyName(random);
    const email = this.email(first, last, `${slug(company)}.example`);
    const unsubscribed = random.chance(0.05);
    const attributes: Record<string, string> = {
      cio_id: cioId,
      email,
      first_name: first,
      last_name: last,
      company,
      created_at: String(created),
    };
    if (id !== null) attributes.id = id;
    if (random.chance(0.7)) attributes.title = random.pick(titles);
    const timestamps: Record<string, number> = {};
    // Identifiers and created_at are set when the person arrives; the rest some time later.
    for (const key of Object.keys(attributes)) {
      const later = key === 'cio_id' || key === 'email' || key === 'id' || key === 'created_at';
      timestamps[key] = later ? created : created + random.int(Math.max(1, latest - created));
    }
    if (unsubscribed) timestamps.unsubscribed = created + random.int(Math.max(1, latest - created));
    if (random.chance(0.3)) {
      // A system attribute: when the person was last emailed (not a profile change).
      const emailed = created + random.int(Math.max(1, latest - created));
      attributes._last_emailed = String(emailed);
      timestamps._last_emailed = emailed;
    }
    return { cioId, id, email, unsubscribed, attributes, timestamps };
  }

  private email(first: string, last: string, domain: string): string {
    const base = `${slug(first)}.${slug(last)}@${domain}`;
    const seen = this.emailsUsed.get(base) ?? 0;
    this.emailsUsed.set(base, seen + 1);
    return seen === 0 ? base : base.replace('@', `${seen + 1}@`);
  }
}

function maxTimestamp(timestamps: Readonly<Record<string, number>>): number {
  return Math.max(0, ...Object.values(timestamps));
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '');
}

function companyName(random: Mulberry32): string {
  return `${random.pick(companyStems)} ${random.pick(companyNouns)}`;
}

const firstNames = [
  'Ada', 'Alan', 'Amara', 'Bea', 'Carlos', 'Chen', 'Dana', 'Elif', 'Femi', 'Grace', 'Hana', 'Ivan', 'Jonas', 'Kai',
  'Lena', 'Mateo', 'Nadia', 'Omar', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tariq', 'Uma', 'Vera', 'Wei', 'Yara', 'Zoe',
] as const;
const lastNames = [
  'Abara', 'Berg', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jansen', 'Kowalski', 'Lopez',
  'Moreau', 'Novak', 'Okafor', 'Petrov', 'Quispe', 'Rossi', 'Sato', 'Tanaka', 'Urbina', 'Varga', 'Weber', 'Yilmaz',
] as const;
const companyStems = ['Blue', 'North', 'Bright', 'Cedar', 'Iron', 'Silver', 'Harbor', 'Summit', 'Pine', 'Delta'] as const;
const companyNouns = ['Labs', 'Works', 'Systems', 'Analytics', 'Foods', 'Logistics', 'Health', 'Media'] as const;
const titles = ['Engineer', 'Marketing Manager', 'Founder', 'Designer', 'Sales Lead', 'Analyst', 'Product Manager'] as const;
