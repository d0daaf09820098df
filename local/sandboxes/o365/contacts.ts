/**
 * The sandbox mailbox's contacts: generated from a seed, changed by `data.*`, and
 * stamped with a change sequence so delta rounds can ask "what changed after N".
 *
 * Removed contacts stay as tombstones (Graph reports them as `@removed` in later delta
 * rounds). Contacts are kept in creation order, which is the order delta rounds list them.
 */
import { createHash } from 'node:crypto';
import { SeededRandom } from '../shared/random';

/** An email address of a contact, as Graph writes it. */
export interface GraphEmailAddress {
  readonly name: string;
  readonly address: string;
}

/** A contact as Graph's `contact` resource shows it (the properties the sandbox keeps). */
export interface GraphContact {
  readonly id: string;
  readonly changeKey: string;
  readonly createdDateTime: string;
  readonly lastModifiedDateTime: string;
  readonly parentFolderId: string;
  readonly categories: readonly string[];
  readonly displayName: string;
  readonly fileAs: string;
  readonly givenName: string | null;
  readonly surname: string | null;
  readonly middleName: string | null;
  readonly nickName: string | null;
  readonly title: string | null;
  readonly initials: string | null;
  readonly jobTitle: string | null;
  readonly companyName: string | null;
  readonly department: string | null;
  readonly officeLocation: string | null;
  readonly businessHomePage: string | null;
  readonly mobilePhone: string | null;
  readonly businessPhones: readonly string[];
  readonly homePhones: readonly string[];
  readonly imAddresses: readonly string[];
  readonly emailAddresses: readonly GraphEmailAddress[];
  readonly personalNotes: string;
}

/** Every property name a `$select` may name. */
export const contactProperties: readonly (keyof GraphContact)[] = [
  'id',
  'changeKey',
  'createdDateTime',
  'lastModifiedDateTime',
  'parentFolderId',
  'categories',
  'displayName',
  'fileAs',
  'givenName',
  'surname',
  'middleName',
  'nickName',
  'title',
  'initials',
  'jobTitle',
  'companyName',
  'department',
  'officeLocation',
  'businessHomePage',
  'mobilePhone',
  'businessPhones',
  'homePhones',
  'imAddresses',
  'emailAddresses',
  'personalNotes',
];

/** One contact with its change bookkeeping. */
export interface StoredContact {
  readonly contact: GraphContact;
  /** The change sequence number at which the contact was created (0: part of the seeded data set). */
  readonly createdSeq: number;
  /** The change sequence number of its latest change (creation, modification or removal). */
  readonly changedSeq: number;
  readonly deleted: boolean;
}

/** The default size of the mailbox's contact list. */
export const DEFAULT_CONTACTS = 150;
/** The default seed of the generated contacts. */
export const DEFAULT_SEED = 20260305;
/**
 * The seeded contacts were last modified before this fixed instant (never `Date.now()`,
 * so two runs agree), spread over about a year before it.
 */
export const DATA_SET_END = Date.UTC(2026, 2, 5, 8, 0, 0, 0);
const DATA_SET_SPAN_MS = 365 * 24 * 3600 * 1000;

/** The one contact folder of the sandbox mailbox (the default "Contacts" folder). */
export const CONTACTS_FOLDER_ID = `AQMkAD${token('folder', 'contacts', 40)}AAAA==`;

/** The contacts of the sandbox mailbox. */
export class ContactStore {
  private readonly contacts = new Map<string, StoredContact>();
  private readonly random: SeededRandom;
  private readonly mutations: SeededRandom;
  private sequence = 0;
  private serial = 0;
  private lastStampMs: number;

  constructor(
    count: number,
    private readonly seed: number,
    private readonly now: () => number,
  ) {
    this.random = new SeededRandom(seed, 'contacts');
    this.mutations = new SeededRandom(seed, 'mutations');
    const step = count > 0 ? Math.floor(DATA_SET_SPAN_MS / count) : 0;
    let last = DATA_SET_END - DATA_SET_SPAN_MS;
    for (let i = 0; i < count; i++) {
      const modified = wholeSeconds(DATA_SET_END - DATA_SET_SPAN_MS + i * step + this.random.int(Math.max(1, step)));
      const created = modified - this.random.int(90) * 24 * 3600 * 1000;
      const contact = this.generate(created, modified);
      this.contacts.set(contact.id, { contact, createdSeq: 0, changedSeq: 0, deleted: false });
      last = Math.max(last, modified);
    }
    this.lastStampMs = last;
  }

  /** The latest change sequence number: every mutation of one contact takes the next one. */
  get currentSequence(): number {
    return this.sequence;
  }

  /** A contact (or its tombstone) by id. */
  get(id: string): StoredContact | undefined {
    return this.contacts.get(id);
  }

  /** Ids of the live contacts, in list order. */
  liveIds(): string[] {
    const ids: string[] = [];
    for (const [id, stored] of this.contacts) if (!stored.deleted) ids.push(id);
    return ids;
  }

  /**
   * Ids of the contacts that changed after `sequence`, in order of change. A contact
   * created and removed after it is left out: the caller never saw it.
   */
  changedSince(sequence: number): string[] {
    return [...this.contacts.values()]
      .filter((stored) => stored.changedSeq > sequence && !(stored.deleted && stored.createdSeq > sequence))
      .sort((a, b) => a.changedSeq - b.changedSeq)
      .map((stored) => stored.contact.id);
  }

  /** Live contacts. */
  count(): number {
    let live = 0;
    for (const stored of this.contacts.values()) if (!stored.deleted) live++;
    return live;
  }

  /** Creates `count` contacts stamped now; returns their ids. */
  add(count: number): string[] {
    checkCount('add', count);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const stamp = this.stamp();
      const contact = this.generate(stamp, stamp);
      const sequence = ++this.sequence;
      this.contacts.set(contact.id, { contact, createdSeq: sequence, changedSeq: sequence, deleted: false });
      ids.push(contact.id);
    }
    return ids;
  }

  /** Changes the job title (and sometimes the company) of `count` live contacts, stamped now; returns their ids. */
  modify(count: number): string[] {
    const picked = this.pickLive('modify', count);
    for (const id of picked) {
      const stored = this.contacts.get(id) as StoredContact;
      const stamp = this.stamp();
      const companyName = this.mutations.chance(0.3) ? this.mutations.pick(companies) : stored.contact.companyName;
      const contact: GraphContact = {
        ...stored.contact,
        jobTitle: nextDifferent(this.mutations, titles, stored.contact.jobTitle),
        companyName,
        changeKey: token('change', `${id}:${stamp}`, 24),
        lastModifiedDateTime: iso(stamp),
      };
      this.contacts.set(id, { ...stored, contact, changedSeq: ++this.sequence });
    }
    return picked;
  }

  /** Deletes `count` live contacts (they stay as tombstones for delta rounds); returns their ids. */
  remove(count: number): string[] {
    const picked = this.pickLive('remove', count);
    for (const id of picked) {
      const stored = this.contacts.get(id) as StoredContact;
      this.contacts.set(id, { ...stored, deleted: true, changedSeq: ++this.sequence });
    }
    return picked;
  }

  /** `count` distinct live contacts, chosen with the mutation stream of the seed. */
  private pickLive(operation: string, count: number): string[] {
    checkCount(operation, count);
    const live = this.liveIds();
    if (count > live.length) throw new RangeError(`${operation} needs ${count} live contacts; the mailbox has ${live.length}`);
    // A partial Fisher-Yates shuffle: the first `count` slots end up a uniform sample.
    for (let i = 0; i < count; i++) {
      const j = i + this.mutations.int(live.length - i);
      [live[i], live[j]] = [live[j] as string, live[i] as string];
    }
    return live.slice(0, count);
  }

  /** Now on the sandbox clock, whole seconds, strictly after every stamp so far (Graph stamps have no fraction). */
  private stamp(): number {
    const now = wholeSeconds(this.now());
    this.lastStampMs = Math.max(now, this.lastStampMs + 1000);
    return this.lastStampMs;
  }

  private generate(created: number, modified: number): GraphContact {
    const random = this.random;
    const serial = ++this.serial;
    const id = `AAMkAD${token('contact', `${this.seed}:${serial}`, 44)}AAA=`;
    const givenName = random.pick(givenNames);
    const surname = random.pick(surnames);
    const companyName = random.chance(0.85) ? random.pick(companies) : null;
    const jobTitle = random.chance(0.8) ? random.pick(titles) : null;
    const local = `${givenName}.${surname}`.toLowerCase().replace(/[^a-z.]/g, '');
    const displayName = `${givenName} ${surname}`;
    const workDomain = companyName ? `${companyName.toLowerCase().replace(/[^a-z]/g, '')}.example` : random.pick(mailDomains);
    // Most contacts have one address, some two (work first), a few none.
    const roll = random.next();
    const emailAddresses: GraphEmailAddress[] =
      roll < 0.06
        ? []
        : roll < 0.85
          ? [{ name: displayName, address: `${local}${serial}@${workDomain}` }]
          : [
              { name: displayName, address: `${local}${serial}@${workDomain}` },
              { name: displayName, address: `${local}.${serial}@${random.pick(mailDomains)}` },
            ];
    return {
      id,
      changeKey: token('change', `${id}:${modified}`, 24),
      createdDateTime: iso(created),
      lastModifiedDateTime: iso(modified),
      parentFolderId: CONTACTS_FOLDER_ID,
      categories: random.chance(0.2) ? [random.pick(categories)] : [],
      displayName,
      fileAs: `${surname}, ${givenName}`,
      givenName,
      surname,
      middleName: null,
      nickName: null,
      title: null,
      initials: null,
      jobTitle,
      companyName,
      department: random.chance(0.5) ? random.pick(departments) : null,
      officeLocation: null,
      businessHomePage: null,
      mobilePhone: random.chance(0.6) ? `+1 555 01${String(serial % 100).padStart(2, '0')}` : null,
      businessPhones: random.chance(0.5) ? [`+1 555 02${String(serial % 100).padStart(2, '0')}`] : [],
      homePhones: [],
      imAddresses: [],
      emailAddresses,
      personalNotes: '',
    };
  }
}

function checkCount(operation: string, count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`${operation} needs a non-negative integer, got ${count}`);
}

function wholeSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** Graph's datetime form: ISO 8601 in UTC, whole seconds. */
function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Deterministic id text: base64url of a hash, so the same seed names contacts the same everywhere. */
function token(kind: string, input: string, length: number): string {
  let text = '';
  for (let i = 0; text.length < length; i++) {
    text += createHash('sha256').update(`${kind}:${input}:${i}`).digest('base64url');
  }
  return text.slice(0, length);
}

function nextDifferent(random: SeededRandom, items: readonly string[], current: string | null): string {
  const next = random.pick(items);
  return next === current ? (items[(items.indexOf(next) + 1) % items.length] as string) : next;
}

const givenNames = [
  'Ada', 'Ben', 'Chloe', 'Dario', 'Elena', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Keiko', 'Liam', 'Maya', 'Noah',
  'Olga', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tara', 'Umar', 'Vera', 'Wen', 'Ximena', 'Yusuf', 'Zoe',
];
const surnames = [
  'Andersen', 'Baptiste', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Hughes', 'Ito', 'Jansen', 'Kowalski', 'Larsen',
  'Moreau', 'Nakamura', "O'Brien", 'Petrov', 'Quintero', 'Rossi', 'Schmidt', 'Tanaka', 'Usman', 'Vargas', 'Weber', 'Young',
];
const companies = [
  'Contoso', 'Fabrikam', 'Northwind Traders', 'Tailspin Toys', 'Wide World Importers', 'Adventure Works', 'Litware',
  'Proseware', 'Woodgrove Bank', 'Coho Winery', 'Alpine Ski House', 'Fourth Coffee',
];
const titles = [
  'Account Executive', 'Buyer', 'CFO', 'CTO', 'Engineering Manager', 'Head of Sales', 'Marketing Lead', 'Office Manager',
  'Operations Director', 'Procurement Specialist', 'Product Owner', 'Solutions Architect',
];
const departments = ['Sales', 'Finance', 'Engineering', 'Marketing', 'Operations', 'Purchasing'];
const categories = ['Customer', 'Partner', 'Supplier', 'VIP'];
const mailDomains = ['mail.example', 'inbox.example', 'post.example'];
