/**
 * The sandbox's meetings: generated from a seed, kept sorted by `created_at`. People are
 * the customer's team (internal, one of whom records each meeting) and their contacts at
 * other companies (external). Every person is invited to at least one meeting; many are
 * invited to several, sometimes with their email written in another letter case, as
 * calendars do. People are told apart by the lowercased email.
 */
import { Mulberry32 } from '../shared/random';

/**
 * A calendar invitee as Fathom lists it. `email` (and so `email_domain`) may be null, as
 * Fathom's schema allows: a room, a dial-in, a guest the calendar knows by name only.
 */
export interface FathomInvitee {
  readonly name: string;
  readonly email: string | null;
  readonly email_domain: string | null;
  readonly is_external: boolean;
}

/** What `addMeetings` adds besides the meetings themselves. */
export interface AddedMeetingsOptions {
  /** People nobody has met yet, spread over the new meetings. @default 0 */
  readonly newInvitees?: number;
  /** Invitees without an email (`email: null`) in each new meeting. @default 0 */
  readonly inviteesWithoutEmail?: number;
  /**
   * Stamps the new meetings this many seconds before the latest meeting so far, instead of
   * after it: a recording processed late, listed behind a later one. @default none
   */
  readonly lateBySeconds?: number;
}

/** The Fathom user who recorded the meeting. */
export interface FathomRecorder {
  readonly name: string;
  readonly email: string;
  readonly email_domain: string;
  readonly team: string;
}

/** A meeting as `GET /external/v1/meetings` lists it (without the `include_*` extras). */
export interface FathomMeeting {
  readonly title: string;
  readonly meeting_title: string;
  readonly recording_id: number;
  readonly url: string;
  readonly share_url: string;
  readonly created_at: string;
  readonly scheduled_start_time: string;
  readonly scheduled_end_time: string;
  readonly recording_start_time: string;
  readonly recording_end_time: string;
  readonly calendar_invitees_domains_type: 'only_internal' | 'one_or_more_external';
  readonly transcript_language: string;
  readonly calendar_invitees: readonly FathomInvitee[];
  readonly recorded_by: FathomRecorder;
}

/** The data set's sizes. */
export interface FathomDataSetSizes {
  /** Meetings at start. */
  readonly meetings: number;
  /** Distinct people (by lowercased email) among the meetings' calendar invitees. */
  readonly invitees: number;
}

export const defaultFathomDataSetSizes: FathomDataSetSizes = { meetings: 40, invitees: 120 };

/** Upper bounds: the data set lives in memory. */
export const MAX_MEETINGS = 100_000;
export const MAX_INVITEES = 1_000_000;

/**
 * The generated meetings end before this fixed instant (never `Date.now()`, so two runs
 * agree) and start 60 days earlier. Meetings added later are stamped with the sandbox clock.
 */
export const FATHOM_DATA_SET_END = Date.UTC(2026, 2, 5, 8, 0, 0, 0);
export const FATHOM_DATA_SET_DAYS = 60;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

/** The customer's own domain: its people are internal. */
export const INTERNAL_DOMAIN = 'northwind.example';
const TEAMS = ['Sales', 'Customer Success', 'Product'] as const;
const EXTERNAL_DOMAINS = [
  'acme.example',
  'globex.example',
  'initech.example',
  'umbrella.example',
  'hooli.example',
  'stark.example',
  'wayne.example',
  'wonka.example',
  'cyberdyne.example',
  'tyrell.example',
  'soylent.example',
  'vandelay.example',
] as const;
// 24 first names and 31 last names: 24 + 1 and 31 share no factor, so person i's pair
// (i mod 24, (i + i div 24) mod 31) is distinct for the first 744 people.
const FIRST_NAMES = [
  'Ada', 'Ben', 'Chloe', 'Dev', 'Elena', 'Femi', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kira', 'Liam',
  'Maya', 'Noah', 'Olga', 'Priya', 'Quinn', 'Rosa', 'Sami', 'Tess', 'Umar', 'Vera', 'Wes', 'Yara',
] as const;
const LAST_NAMES = [
  'Abbott', 'Baker', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ivanova', 'Jensen',
  'Kowalski', 'Lindqvist', 'Moreau', 'Nakamura', 'Okafor', 'Petrov', 'Quispe', 'Rossi', 'Silva', 'Tanaka',
  'Underwood', 'Varga', 'Weber', 'Xu', 'Yilmaz', 'Zhang', 'Brennan', 'Castillo', 'Dalton', 'Ferreira', 'Holm',
] as const;
const EXTERNAL_TOPICS = ['Discovery call', 'Product demo', 'Pricing review', 'Onboarding', 'Quarterly business review', 'Renewal check-in'] as const;
const ROOMS = ['Conference Room', 'Dial-in', 'Huddle Room'] as const;
const INTERNAL_TOPICS = ['Weekly sync', 'Pipeline review', 'Deal strategy', 'Account planning'] as const;

interface Person {
  readonly name: string;
  /** Lowercase: the person's identity. */
  readonly email: string;
  readonly domain: string;
  readonly internal: boolean;
  readonly team: string;
}

interface StoredMeeting {
  /** created_at in epoch milliseconds (whole seconds). */
  readonly created: number;
  readonly meeting: FathomMeeting;
}

/** Which meetings to list: `created_after` / `created_before` (both exclusive), in which order. */
export interface MeetingFilter {
  readonly createdAfter?: number;
  readonly createdBefore?: number;
  readonly order: 'asc' | 'desc';
}

/** The meetings of one sandbox account. */
export class FathomDataStore {
  private readonly people: Person[] = [];
  private readonly internal: number[] = [];
  private meetings: StoredMeeting[] = [];
  private readonly random: Mulberry32;
  private readonly mutationRandom: Mulberry32;
  private nextRecordingId = 118_000_000;
  /** Counts repeat invitations, so every other one is written in another letter case. */
  private repeats = 0;

  constructor(
    sizes: FathomDataSetSizes,
    seed: number,
    private readonly now: () => number,
  ) {
    this.random = new Mulberry32(seed, 'meetings');
    this.mutationRandom = new Mulberry32(seed, 'mutations');
    this.generate(sizes);
  }

  /** Every meeting, oldest first. */
  all(): readonly FathomMeeting[] {
    return this.meetings.map((stored) => stored.meeting);
  }

  /** The meetings a list call sees, in its order. */
  list(filter: MeetingFilter): readonly FathomMeeting[] {
    const selected = this.meetings.filter(
      (stored) =>
        (filter.createdAfter === undefined || stored.created > filter.createdAfter) &&
        (filter.createdBefore === undefined || stored.created < filter.createdBefore),
    );
    if (filter.order === 'desc') selected.reverse();
    return selected.map((stored) => stored.meeting);
  }

  count(): number {
    return this.meetings.length;
  }

  /** Distinct lowercased emails among all calendar invitees. */
  distinctInvitees(): number {
    const emails = new Set<string>();
    for (const { meeting } of this.meetings) for (const invitee of meeting.calendar_invitees) if (invitee.email !== null) emails.add(invitee.email.toLowerCase());
    return emails.size;
  }

  /**
   * Adds `count` meetings created now, each strictly later than every meeting so far (or,
   * with `lateBySeconds`, that long before the latest one). `newInvitees` people nobody has
   * met yet are spread over them; each meeting is also recorded by a known team member, has
   * one known contact when there is one, and `inviteesWithoutEmail` invitees without an email.
   */
  addMeetings(count: number, options: AddedMeetingsOptions = {}): FathomMeeting[] {
    const newInvitees = options.newInvitees ?? 0;
    const withoutEmail = options.inviteesWithoutEmail ?? 0;
    const late = options.lateBySeconds;
    if (!Number.isSafeInteger(withoutEmail) || withoutEmail < 0 || withoutEmail > 100) throw new RangeError(`inviteesWithoutEmail must be an integer from 0 to 100, got ${withoutEmail}`);
    if (late !== undefined && (!Number.isSafeInteger(late) || late < 1)) throw new RangeError(`lateBySeconds must be a positive integer, got ${late}`);
    if (!Number.isSafeInteger(count) || count < 0 || count > MAX_MEETINGS) throw new RangeError(`addMeetings needs a count of 0..${MAX_MEETINGS}, got ${count}`);
    if (!Number.isSafeInteger(newInvitees) || newInvitees < 0 || newInvitees > MAX_INVITEES) {
      throw new RangeError(`newInvitees must be a non-negative integer, got ${newInvitees}`);
    }
    if (newInvitees > 0 && count === 0) throw new RangeError('new invitees need at least one new meeting');
    if (count > 0 && this.internal.length === 0) throw new RangeError('the sandbox has no team member to record a meeting');
    const random = this.mutationRandom;
    const knownExternal = this.people.flatMap((person, index) => (person.internal ? [] : [index]));
    const fresh: number[] = [];
    for (let i = 0; i < newInvitees; i++) fresh.push(this.addPerson(false, random));
    const added: FathomMeeting[] = [];
    const latest = this.meetings.at(-1)?.created;
    let created = late !== undefined && latest !== undefined ? latest - late * SECOND : Math.floor(this.now() / SECOND) * SECOND;
    for (let m = 0; m < count; m++) {
      const last = late !== undefined ? created - SECOND : (this.meetings.at(-1)?.created ?? -Infinity);
      if (created <= last) created = last + SECOND;
      const invitees = fresh.filter((_, i) => i % count === m);
      const recorder = random.pick(this.internal);
      const guests = knownExternal.length > 0 ? [random.pick(knownExternal)] : [];
      const meeting = this.buildMeeting(created, recorder, [recorder, ...guests, ...invitees], new Set(invitees), random, withoutEmail);
      this.meetings.push({ created, meeting });
      added.push(meeting);
      created += SECOND;
    }
    // A late meeting goes where its created_at puts it.
    this.meetings.sort((a, b) => a.created - b.created);
    return added;
  }

  private generate({ meetings, invitees }: FathomDataSetSizes): void {
    if (meetings > 0 && invitees === 0) throw new RangeError('meetings need at least one invitee');
    if (invitees > 0 && meetings === 0) throw new RangeError('invitees need at least one meeting');
    const random = this.random;
    // About one person in ten is on the customer's team; at least one, to record.
    const internalCount = invitees === 0 ? 0 : Math.max(1, Math.round(invitees / 10));
    for (let i = 0; i < invitees; i++) this.addPerson(i < internalCount, random);

    // Deal everybody out once, round robin over the meetings, so each person is invited.
    const dealt: number[][] = Array.from({ length: meetings }, () => []);
    random.shuffle(this.people.map((_, index) => index)).forEach((person, k) => dealt[k % meetings]?.push(person));

    const span = FATHOM_DATA_SET_DAYS * DAY;
    const slot = span / Math.max(1, meetings);
    const start = FATHOM_DATA_SET_END - span;
    let previous = -Infinity;
    for (let m = 0; m < meetings; m++) {
      const own = dealt[m] ?? [];
      const team = own.filter((person) => this.people[person]?.internal);
      const recorder = random.pick(team.length > 0 ? team : this.internal);
      const list = own.includes(recorder) ? [...own] : [recorder, ...own];
      // A few people met before: repeats across meetings.
      const extras = random.int(3);
      for (let i = 0; i < extras && list.length < this.people.length; i++) {
        let person = random.int(this.people.length);
        while (list.includes(person)) person = (person + 1) % this.people.length;
        list.push(person);
      }
      let created = Math.floor((start + (m + random.next() * 0.9) * slot) / SECOND) * SECOND;
      if (created <= previous) created = previous + SECOND;
      previous = created;
      const firstSeen = new Set(own);
      this.meetings.push({ created, meeting: this.buildMeeting(created, recorder, random.shuffle(list), firstSeen, random) });
    }
  }

  /** Makes person number `people.length`; names and emails are unique by construction. */
  private addPerson(internal: boolean, random: Mulberry32): number {
    const index = this.people.length;
    const pairs = FIRST_NAMES.length * LAST_NAMES.length;
    const first = FIRST_NAMES[index % FIRST_NAMES.length] as string;
    const last = LAST_NAMES[(index + Math.floor(index / FIRST_NAMES.length)) % LAST_NAMES.length] as string;
    const round = Math.floor(index / pairs);
    const suffix = round === 0 ? '' : String(round + 1);
    const domain = internal ? INTERNAL_DOMAIN : random.pick(EXTERNAL_DOMAINS);
    this.people.push({
      name: `${first} ${last}${suffix}`,
      email: `${first}.${last}${suffix}@${domain}`.toLowerCase(),
      domain,
      internal,
      team: TEAMS[index % TEAMS.length] as string,
    });
    if (internal) this.internal.push(index);
    return index;
  }

  /**
   * One meeting: `people` are its invitees (the recorder among them); those not in
   * `firstSeen` are repeat invitations, every other one written in another letter case.
   */
  private buildMeeting(
    created: number,
    recorder: number,
    people: readonly number[],
    firstSeen: ReadonlySet<number>,
    random: Mulberry32,
    withoutEmail = 0,
  ): FathomMeeting {
    const person = (index: number): Person => {
      const found = this.people[index];
      if (!found) throw new Error(`no person ${index}`);
      return found;
    };
    const invitees = people.map((index): FathomInvitee => {
      const { name, email, domain, internal } = person(index);
      const repeat = !firstSeen.has(index) && index !== recorder;
      const written = repeat && this.repeats++ % 2 === 0 ? otherCase(email, this.repeats) : email;
      return { name, email: written, email_domain: domain, is_external: !internal };
    });
    for (let i = 0; i < withoutEmail; i++) invitees.push({ name: `${random.pick(ROOMS)} ${i + 1}`, email: null, email_domain: null, is_external: false });
    const host = person(recorder);
    const external = invitees.find((invitee) => invitee.is_external && invitee.email_domain !== null);
    const company = external?.email_domain ? companyOf(external.email_domain) : undefined;
    const title = company ? `${company} <> Northwind: ${random.pick(EXTERNAL_TOPICS)}` : random.pick(INTERNAL_TOPICS);
    const recordingId = this.nextRecordingId;
    this.nextRecordingId += random.between(1, 5000);
    const recordingEnd = created - random.between(5, 90) * SECOND;
    const duration = random.pick([25, 30, 45, 55]) * MINUTE + random.between(-120, 240) * SECOND;
    const recordingStart = recordingEnd - duration;
    const scheduledStart = Math.floor(recordingStart / (15 * MINUTE)) * 15 * MINUTE;
    return {
      title,
      meeting_title: title,
      recording_id: recordingId,
      url: `https://fathom.video/calls/${recordingId}`,
      share_url: `https://fathom.video/share/${shareToken(random)}`,
      created_at: iso(created),
      scheduled_start_time: iso(scheduledStart),
      scheduled_end_time: iso(scheduledStart + (duration > 30 * MINUTE ? 60 : 30) * MINUTE),
      recording_start_time: iso(recordingStart),
      recording_end_time: iso(recordingEnd),
      calendar_invitees_domains_type: external ? 'one_or_more_external' : 'only_internal',
      transcript_language: 'en',
      calendar_invitees: invitees,
      recorded_by: { name: host.name, email: host.email, email_domain: host.domain, team: host.team },
    };
  }
}

/** Fathom writes timestamps to the second, with `Z`. */
function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The same address in another letter case, as a calendar might have it. */
function otherCase(email: string, variant: number): string {
  const [local = '', domain = ''] = email.split('@');
  const capitalized = local.split('.').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('.');
  switch (variant % 3) {
    case 0:
      return `${capitalized}@${domain}`;
    case 1:
      return `${local}@${domain.toUpperCase()}`;
    default:
      return `${capitalized}@${domain.charAt(0).toUpperCase()}${domain.slice(1)}`;
  }
}

function companyOf(domain: string): string {
  const name = domain.split('.')[0] ?? domain;
  return name.charAt(0).toUpperCase() + name.slice(1);
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function shareToken(random: Mulberry32): string {
  let token = '';
  for (let i = 0; i < 20; i++) token += BASE62[random.int(62)];
  return token;
}
