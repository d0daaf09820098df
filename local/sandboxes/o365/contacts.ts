/**
 * The sandbox mailbox's contact folders and contacts: generated from a seed, changed by
 * `data.*`, and stamped with a change sequence so delta rounds can ask "what changed after
 * N" (and which properties: Graph's delta answers may carry only those).
 *
 * The default Contacts folder holds folders of its own, and those child folders; every
 * contact lives in exactly one folder. Removed contacts stay as tombstones (Graph reports
 * them as `@removed` in later delta rounds). Contacts are kept in creation order, which is
 * the order delta rounds list them.
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
  /** The change sequence number at which each property last changed (absent: at creation). */
  readonly propertySeq: Readonly<Partial<Record<keyof GraphContact, number>>>;
  readonly deleted: boolean;
}

/** A contact folder as Graph's `contactFolder` resource shows it. */
export interface GraphContactFolder {
  readonly id: string;
  readonly displayName: string;
  readonly parentFolderId: string;
}

/** Every property name a folder `$select` may name. */
export const folderProperties: readonly (keyof GraphContactFolder)[] = ['id', 'displayName', 'parentFolderId'];

/** A folder to create at start: its name, and the name of its parent (none: under the default Contacts folder). */
export interface FolderSpec {
  readonly displayName: string;
  readonly parent?: string;
}

/**
 * The folders a sandbox mailbox has besides the default Contacts folder, unless told
 * otherwise: two folders under it, one of them with a child folder of its own.
 */
export const DEFAULT_FOLDERS: readonly FolderSpec[] = [
  { displayName: 'Customers' },
  { displayName: 'Suppliers' },
  { displayName: 'Suppliers EU', parent: 'Suppliers' },
];

/** The properties a contact's change may set (what `data.update` accepts). */
export type ContactChanges = Partial<Pick<GraphContact, 'displayName' | 'givenName' | 'surname' | 'jobTitle' | 'companyName' | 'department' | 'emailAddresses' | 'mobilePhone'>>;

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

/** The default "Contacts" folder of the sandbox mailbox (its well-known name is `contacts`). */
export const CONTACTS_FOLDER_ID = `AQMkAD${token('folder', 'contacts', 40)}AAAA==`;
/** The mailbox's root folder, the default Contacts folder's parent (not a contact folder). */
const ROOT_FOLDER_ID = `AQMkAD${token('folder', 'msgfolderroot', 40)}AAAA==`;

/** The contact folders and contacts of the sandbox mailbox. */
export class ContactStore {
  private readonly contacts = new Map<string, StoredContact>();
  private readonly folders = new Map<string, { folder: GraphContactFolder; deleted: boolean }>();
  private readonly random: SeededRandom;
  private readonly mutations: SeededRandom;
  private sequence = 0;
  private serial = 0;
  private folderSerial = 0;
  private lastStampMs: number;

  constructor(
    count: number,
    private readonly seed: number,
    private readonly now: () => number,
    folders: readonly FolderSpec[] = DEFAULT_FOLDERS,
  ) {
    this.random = new SeededRandom(seed, 'contacts');
    this.mutations = new SeededRandom(seed, 'mutations');
    this.folders.set(CONTACTS_FOLDER_ID, { folder: { id: CONTACTS_FOLDER_ID, displayName: 'Contacts', parentFolderId: ROOT_FOLDER_ID }, deleted: false });
    const byName = new Map<string, string>();
    for (const spec of folders) {
      const parent = spec.parent === undefined ? CONTACTS_FOLDER_ID : byName.get(spec.parent);
      if (parent === undefined) throw new RangeError(`folder '${spec.displayName}' names parent '${spec.parent}', which is not listed before it`);
      byName.set(spec.displayName, this.addFolder(spec.displayName, parent));
    }
    // Half the seeded contacts in the default folder, the rest spread over the others (a stream of its own, so contacts stay as they were).
    const placement = new SeededRandom(seed, 'folders');
    const others = [...byName.values()];
    const step = count > 0 ? Math.floor(DATA_SET_SPAN_MS / count) : 0;
    let last = DATA_SET_END - DATA_SET_SPAN_MS;
    for (let i = 0; i < count; i++) {
      const modified = wholeSeconds(DATA_SET_END - DATA_SET_SPAN_MS + i * step + this.random.int(Math.max(1, step)));
      const created = modified - this.random.int(90) * 24 * 3600 * 1000;
      const folder = others.length > 0 && placement.chance(0.5) ? placement.pick(others) : CONTACTS_FOLDER_ID;
      const contact = this.generate(created, modified, folder);
      this.contacts.set(contact.id, { contact, createdSeq: 0, changedSeq: 0, propertySeq: {}, deleted: false });
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

  /** A live folder by id. */
  folder(id: string): GraphContactFolder | undefined {
    const stored = this.folders.get(id);
    return stored && !stored.deleted ? stored.folder : undefined;
  }

  /** The live folders directly under `parentId`, in creation order. */
  childFolders(parentId: string): GraphContactFolder[] {
    return [...this.folders.values()].filter((stored) => !stored.deleted && stored.folder.parentFolderId === parentId).map((stored) => stored.folder);
  }

  /** Every live folder, the default one first. */
  allFolders(): GraphContactFolder[] {
    return [...this.folders.values()].filter((stored) => !stored.deleted).map((stored) => stored.folder);
  }

  /** Creates a folder under `parentId` (the default Contacts folder unless given); returns its id. */
  addFolder(displayName: string, parentId: string = CONTACTS_FOLDER_ID): string {
    if (!this.folder(parentId)) throw new RangeError(`no folder ${parentId} to create '${displayName}' in`);
    const id = `AQMkAD${token('folder', `${this.seed}:${++this.folderSerial}:${displayName}`, 40)}AAAA==`;
    this.folders.set(id, { folder: { id, displayName, parentFolderId: parentId }, deleted: false });
    return id;
  }

  /**
   * Deletes a folder other than the default one, with its child folders and every contact
   * in them (Outlook moves them to Deleted Items, which is no contact folder); returns the
   * ids of the contacts removed.
   */
  removeFolder(id: string): string[] {
    if (id === CONTACTS_FOLDER_ID) throw new RangeError('the default Contacts folder cannot be removed');
    if (!this.folder(id)) throw new RangeError(`no folder ${id}`);
    const removed: string[] = [];
    for (const child of this.childFolders(id)) removed.push(...this.removeFolder(child.id));
    for (const [contactId, stored] of this.contacts) {
      if (stored.deleted || stored.contact.parentFolderId !== id) continue;
      this.contacts.set(contactId, { ...stored, deleted: true, changedSeq: ++this.sequence });
      removed.push(contactId);
    }
    this.folders.set(id, { ...this.folders.get(id)!, deleted: true });
    return removed;
  }

  /** Ids of the live contacts, in list order: of one folder, or of the whole mailbox. */
  liveIds(folderId?: string): string[] {
    const ids: string[] = [];
    for (const [id, stored] of this.contacts) if (!stored.deleted && (folderId === undefined || stored.contact.parentFolderId === folderId)) ids.push(id);
    return ids;
  }

  /**
   * Ids of one folder's contacts that changed after `sequence`, in order of change. A
   * contact created and removed after it is left out: the caller never saw it.
   */
  changedSince(folderId: string, sequence: number): string[] {
    return [...this.contacts.values()]
      .filter((stored) => stored.contact.parentFolderId === folderId)
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

  /** Creates `count` contacts stamped now, in a folder (the default one unless given); returns their ids. */
  add(count: number, folderId: string = CONTACTS_FOLDER_ID): string[] {
    checkCount('add', count);
    if (!this.folder(folderId)) throw new RangeError(`no folder ${folderId} to add contacts to`);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const stamp = this.stamp();
      const contact = this.generate(stamp, stamp, folderId);
      const sequence = ++this.sequence;
      this.contacts.set(contact.id, { contact, createdSeq: sequence, changedSeq: sequence, propertySeq: {}, deleted: false });
      ids.push(contact.id);
    }
    return ids;
  }

  /** Changes the job title (and sometimes the company) of `count` live contacts, stamped now; returns their ids. */
  modify(count: number): string[] {
    const picked = this.pickLive('modify', count);
    for (const id of picked) {
      const stored = this.contacts.get(id) as StoredContact;
      // Drawn in the order they always were, so a seed changes the same contacts the same way.
      const companyName = this.mutations.chance(0.3) ? this.mutations.pick(companies) : stored.contact.companyName;
      this.update(id, { jobTitle: nextDifferent(this.mutations, titles, stored.contact.jobTitle), companyName });
    }
    return picked;
  }

  /**
   * Sets these properties of a live contact (a null clears one), stamped now. Only the
   * properties that end up different count as changed, with its stamp and change key.
   */
  update(id: string, changes: ContactChanges): void {
    const stored = this.contacts.get(id);
    if (!stored || stored.deleted) throw new RangeError(`no live contact ${id}`);
    const stamp = this.stamp();
    const sequence = ++this.sequence;
    const propertySeq: Partial<Record<keyof GraphContact, number>> = { ...stored.propertySeq, lastModifiedDateTime: sequence, changeKey: sequence };
    for (const [property, value] of Object.entries(changes) as [keyof ContactChanges, unknown][]) {
      if (JSON.stringify(stored.contact[property]) !== JSON.stringify(value)) propertySeq[property] = sequence;
    }
    const contact: GraphContact = { ...stored.contact, ...changes, changeKey: token('change', `${id}:${stamp}`, 24), lastModifiedDateTime: iso(stamp) };
    this.contacts.set(id, { ...stored, contact, changedSeq: sequence, propertySeq });
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

  private generate(created: number, modified: number, folderId: string): GraphContact {
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
      parentFolderId: folderId,
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
