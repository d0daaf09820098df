/**
 * The Delivr.ai sandbox's data: companies, resolved visitors (people) and their pixel
 * events, generated from a seed. Events are kept sorted by (timestamp, event id), so a
 * time window is a binary search and a page is a slice.
 */
import { SeededRandom } from '../shared/random';

/** A company visitors work at; its domain is unique and lower-case. */
export interface Company {
  readonly name: string;
  readonly domain: string;
  readonly industry: string;
  /** An employee-count range, e.g. `"51-200"`. */
  readonly size: string;
}

/** A resolved visitor: Delivr.ai's stable person id plus what it knows about the person. */
export interface Visitor {
  readonly personId: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly email: string;
  readonly jobTitle: string;
  readonly companyIndex: number;
}

/** One pixel event as stored; rendered on the way out (with or without identity enrichment). */
export interface StoredEvent {
  readonly eventId: string;
  readonly timestamp: number;
  readonly visitorIndex: number;
  readonly eventType: string;
  readonly pageUrl: string;
  /** Some events carry the company domain as the enrichment source spelled it (capitalised). */
  readonly domainAsSeen: string;
}

/**
 * One event on the wire. Resolved events carry the person and company fields; without
 * identity enrichment (no `x-organization-id`) only the core fields and `resolved: false`.
 *
 * Unclear: the documentation lists 132 fields by category but shows no answer body; these
 * names follow its vocabulary (`resolved`, `first_name`, `job_title`, `company_domain`...).
 */
export interface DelivrAiWireEvent {
  event_id: string;
  /** Epoch milliseconds. */
  timestamp: number;
  event_type: string;
  page_url: string;
  pixel_id: string;
  project_id: string;
  organization_id: string;
  resolved: boolean;
  person_id?: string;
  first_name?: string;
  last_name?: string;
  email?: string;
  job_title?: string;
  company_name?: string;
  company_domain?: string;
  company_industry?: string;
  company_size?: string;
}

/** Where the sandbox's single pixel lives. */
export interface Scope {
  readonly organizationId: string;
  readonly projectId: string;
  readonly pixelId: string;
}

/** How much data the sandbox starts with. */
export interface DataSetSizes {
  /** Resolved visitors (people). @default 200 */
  readonly visitors: number;
  /** Companies they work at; every company has a visitor when visitors >= companies. @default 60 */
  readonly companies: number;
}

export const defaultDataSetSizes: DataSetSizes = { visitors: 200, companies: 60 };

export const HOUR_MS = 3600 * 1000;
export const DAY_MS = 24 * HOUR_MS;
/** Generated events fall in the 14 days before the sandbox starts... */
export const HISTORY_MS = 14 * DAY_MS;
/**
 * ...but not in its last hour, so an incremental sync that follows a full one (with the
 * adapter's small overlap) sees only the visits a test adds.
 */
export const QUIET_MS = HOUR_MS;
/** Events per visitor in the generated history, both included. */
export const EVENTS_PER_VISITOR = { min: 2, max: 8 } as const;

const FIRST_NAMES = ['Ada', 'Ben', 'Chloe', 'Dev', 'Elena', 'Farid', 'Grace', 'Hugo', 'Ines', 'Jonas', 'Kira', 'Liam', 'Maya', 'Noah', 'Olga', 'Priya', 'Quinn', 'Rosa', 'Sam', 'Tariq', 'Uma', 'Victor', 'Wen', 'Yara', 'Zoe'];
const LAST_NAMES = ['Almeida', 'Brooks', 'Chen', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jansen', 'Kowalski', 'Larsen', 'Moreau', 'Nakamura', 'Okafor', 'Patel', 'Rossi', 'Schmidt', 'Tanaka', 'Varga', 'Weber', 'Young'];
const JOB_TITLES = ['VP Marketing', 'Head of Growth', 'Marketing Operations Manager', 'CTO', 'Software Engineer', 'Sales Director', 'Account Executive', 'RevOps Lead', 'Product Manager', 'CEO', 'Data Analyst', 'Demand Generation Manager'];
const NAME_HEADS = ['Acme', 'Blue', 'Cedar', 'Delta', 'Ember', 'Fjord', 'Granite', 'Harbor', 'Iris', 'Juniper', 'Kite', 'Lumen', 'Maple', 'Nimbus', 'Orbit', 'Pine', 'Quartz', 'River', 'Summit', 'Tidal'];
const NAME_TAILS = ['Labs', 'Systems', 'Works', 'Health', 'Logistics', 'Analytics', 'Robotics', 'Foods', 'Capital', 'Media', 'Energy', 'Software'];
const TLDS = ['com', 'io', 'co', 'ai', 'net'];
const INDUSTRIES = ['Software', 'Healthcare', 'Logistics', 'Financial Services', 'Manufacturing', 'Retail', 'Media', 'Energy', 'Education'];
const SIZES = ['1-10', '11-50', '51-200', '201-500', '501-1000', '1001-5000', '5001-10000'];
const EVENT_TYPES = ['page_view', 'page_view', 'page_view', 'page_view', 'form_submit', 'click'];
const PATHS = ['/', '/pricing', '/product', '/blog/identity-resolution', '/docs', '/customers', '/contact', '/careers'];

/** The sandbox's companies, visitors and events. */
export class DelivrAiDataStore {
  private readonly companies: Company[] = [];
  private readonly visitors: Visitor[] = [];
  /** Sorted by (timestamp, eventId). */
  private events: StoredEvent[] = [];
  private readonly random: SeededRandom;
  private readonly emails = new Set<string>();
  private nextSerial = 1;

  constructor(
    sizes: DataSetSizes,
    seed: number,
    start: number,
    private readonly scope: Scope,
    private readonly now: () => number,
  ) {
    if (sizes.visitors > 0 && sizes.companies < 1) throw new RangeError('visitors need at least one company');
    const companies = new SeededRandom(seed, 'companies');
    const pairs: Array<[string, string]> = [];
    for (const head of NAME_HEADS) for (const tail of NAME_TAILS) pairs.push([head, tail]);
    for (let i = 0; i < sizes.companies; i++) {
      // A name pair per company while they last, then numbered ones; the domain is unique either way.
      const [head, tail] = i < pairs.length ? pairs[(i * 7919) % pairs.length]! : [`Company${i}`, 'Group'];
      const tld = companies.pick(TLDS);
      this.companies.push({
        name: `${head} ${tail}`,
        domain: `${head}${tail}.${tld}`.toLowerCase(),
        industry: companies.pick(INDUSTRIES),
        size: companies.pick(SIZES),
      });
    }
    this.random = new SeededRandom(seed, 'visitors');
    for (let i = 0; i < sizes.visitors; i++) {
      // The first visitors take one company each, so every company is seen when there are enough visitors.
      this.visitors.push(this.newVisitor(i < sizes.companies ? i : this.random.int(sizes.companies)));
    }
    const timing = new SeededRandom(seed, 'events');
    const from = start - HISTORY_MS;
    const span = HISTORY_MS - QUIET_MS;
    const generated: StoredEvent[] = [];
    this.visitors.forEach((_, visitorIndex) => {
      const count = timing.between(EVENTS_PER_VISITOR.min, EVENTS_PER_VISITOR.max);
      for (let n = 0; n < count; n++) generated.push(this.newEvent(visitorIndex, from + timing.int(span), timing));
    });
    this.events = generated.sort(compareEvents);
  }

  /** Counts: events, distinct people (visitors with events) and distinct companies among them. */
  counts(): { events: number; people: number; companies: number } {
    const people = new Set<number>();
    const companies = new Set<number>();
    for (const event of this.events) {
      people.add(event.visitorIndex);
      companies.add(this.visitors[event.visitorIndex]!.companyIndex);
    }
    return { events: this.events.length, people: people.size, companies: companies.size };
  }

  /**
   * Records `count` new visits stamped now. About 60% are by existing visitors; the rest are
   * new people at existing companies. Returns them as the API would (resolved).
   */
  addVisits(count: number): DelivrAiWireEvent[] {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`addVisits needs a non-negative integer, got ${count}`);
    if (count > 0 && this.companies.length === 0) throw new RangeError('addVisits needs at least one company');
    const added: StoredEvent[] = [];
    const at = this.now();
    for (let i = 0; i < count; i++) {
      const existing = this.visitors.length > 0 && this.random.chance(0.6);
      const visitorIndex = existing ? this.random.int(this.visitors.length) : this.visitors.push(this.newVisitor(this.random.int(this.companies.length))) - 1;
      added.push(this.newEvent(visitorIndex, at, this.random));
    }
    // New events are usually the latest; a test that moved the clock back still gets a sorted list.
    this.events = [...this.events, ...added].sort(compareEvents);
    return added.map((event) => this.render(event, true));
  }

  /** The events with timestamp in [startMs, endMs), in (timestamp, event id) order: total and one page. */
  window(startMs: number, endMs: number, offset: number, limit: number): { total: number; events: StoredEvent[] } {
    const from = firstAtOrAfter(this.events, startMs);
    const to = firstAtOrAfter(this.events, endMs);
    const total = Math.max(0, to - from);
    return { total, events: this.events.slice(Math.min(to, from + offset), Math.min(to, from + offset + limit)) };
  }

  /** An event as the API answers it; without enrichment, only the core fields. */
  render(event: StoredEvent, enriched: boolean): DelivrAiWireEvent {
    const core: DelivrAiWireEvent = {
      event_id: event.eventId,
      timestamp: event.timestamp,
      event_type: event.eventType,
      page_url: event.pageUrl,
      pixel_id: this.scope.pixelId,
      project_id: this.scope.projectId,
      organization_id: this.scope.organizationId,
      resolved: enriched,
    };
    if (!enriched) return core;
    const visitor = this.visitors[event.visitorIndex]!;
    const company = this.companies[visitor.companyIndex]!;
    return {
      ...core,
      person_id: visitor.personId,
      first_name: visitor.firstName,
      last_name: visitor.lastName,
      email: visitor.email,
      job_title: visitor.jobTitle,
      company_name: company.name,
      company_domain: event.domainAsSeen,
      company_industry: company.industry,
      company_size: company.size,
    };
  }

  private newVisitor(companyIndex: number): Visitor {
    const company = this.companies[companyIndex]!;
    const firstName = this.random.pick(FIRST_NAMES);
    const lastName = this.random.pick(LAST_NAMES);
    const local = `${firstName}.${lastName}`.toLowerCase();
    let email = `${local}@${company.domain}`;
    for (let n = 2; this.emails.has(email); n++) email = `${local}${n}@${company.domain}`;
    this.emails.add(email);
    return {
      personId: `dlvr_p_${hex(this.random, 16)}`,
      firstName,
      lastName,
      email,
      jobTitle: this.random.pick(JOB_TITLES),
      companyIndex,
    };
  }

  private newEvent(visitorIndex: number, timestamp: number, random: SeededRandom): StoredEvent {
    const domain = this.companies[this.visitors[visitorIndex]!.companyIndex]!.domain;
    return {
      eventId: `evt_${(this.nextSerial++).toString(36).padStart(6, '0')}${hex(random, 10)}`,
      timestamp,
      visitorIndex,
      eventType: random.pick(EVENT_TYPES),
      pageUrl: `https://www.example-customer.com${random.pick(PATHS)}`,
      // One event in ten spells the domain capitalised, as enrichment sources sometimes do.
      domainAsSeen: random.chance(0.1) ? domain.charAt(0).toUpperCase() + domain.slice(1) : domain,
    };
  }
}

function compareEvents(a: StoredEvent, b: StoredEvent): number {
  return a.timestamp - b.timestamp || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

/** Index of the first event at or after `ms`. */
function firstAtOrAfter(events: readonly StoredEvent[], ms: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (events[mid]!.timestamp >= ms) high = mid;
    else low = mid + 1;
  }
  return low;
}

function hex(random: SeededRandom, length: number): string {
  let text = '';
  while (text.length < length) text += random.int(16).toString(16);
  return text;
}
