import type { SourceRecord } from '../types';

/** A person as Fathom lists one: a calendar invitee or the recording user. */
interface FathomPerson {
  name?: string | null;
  email?: string | null;
  is_external?: boolean | null;
  team?: string | null;
}

/** A meeting as `GET /meetings` lists it, in the fields we read. */
export interface FathomMeeting {
  recording_id?: number;
  created_at?: string;
  calendar_invitees?: FathomPerson[] | null;
  recorded_by?: FathomPerson | null;
}

/** The answer of `GET /meetings`. */
export interface FathomMeetingsAnswer {
  limit?: number | null;
  next_cursor?: string | null;
  items?: unknown;
}

/**
 * The people of a page of meetings: one `people` record per lowercased email, in order of
 * first appearance. Calendar invitees and the user who recorded (a Fathom user on the
 * customer's team, so internal) are both people; a recorder who is also invited is the
 * same person. Attributes: `email` (lowercased, so a person written in another letter
 * case elsewhere does not look changed), `name` (the first one given), `isExternal`.
 *
 * `skipped` counts invitees without an email (`null` or absent, which Fathom's schema
 * allows: a calendar resource, a dial-in): people are keyed by email, so there is nothing
 * to sync, and nothing went wrong. `failed` counts what is wrong: meetings or people that
 * are not objects, and emails that are not addresses.
 */
export function peopleOf(meetings: readonly unknown[]): { records: SourceRecord[]; failed: number; skipped: number } {
  const people = new Map<string, { email: string; name?: string; isExternal?: boolean }>();
  let failed = 0;
  let skipped = 0;
  const add = (person: unknown, recorder: boolean): void => {
    if (!isRecord(person)) {
      failed += 1;
      return;
    }
    if (person.email === null || person.email === undefined || (typeof person.email === 'string' && person.email.trim() === '')) {
      skipped += 1;
      return;
    }
    const email = typeof person.email === 'string' ? person.email.trim().toLowerCase() : '';
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      failed += 1;
      return;
    }
    const known = people.get(email) ?? { email };
    const name = typeof person.name === 'string' ? person.name.trim() : '';
    if (known.name === undefined && name !== '') known.name = name;
    // An invitee's own flag wins over the recorder's implied "internal".
    if (typeof person.is_external === 'boolean') known.isExternal = person.is_external;
    else if (recorder) known.isExternal ??= false;
    people.set(email, known);
  };
  for (const meeting of meetings) {
    if (!isRecord(meeting)) {
      failed += 1;
      continue;
    }
    const invitees = Array.isArray(meeting.calendar_invitees) ? meeting.calendar_invitees : [];
    for (const invitee of invitees) add(invitee, false);
    // A meeting may have no recorder in the answer; that is not a failure.
    if (meeting.recorded_by !== undefined && meeting.recorded_by !== null) add(meeting.recorded_by, true);
  }
  const records: SourceRecord[] = [...people.values()].map((person) => ({ type: 'people', sourceId: person.email, attributes: { ...person } }));
  return { records, failed, skipped };
}

/** The latest `created_at` among the meetings and `since` (kept as Fathom wrote it), if any is a timestamp. */
export function latestCreatedAt(meetings: readonly unknown[], since: string | undefined): string | undefined {
  let latest = since !== undefined && !Number.isNaN(Date.parse(since)) ? since : undefined;
  for (const meeting of meetings) {
    const createdAt = isRecord(meeting) ? meeting.created_at : undefined;
    if (typeof createdAt !== 'string') continue;
    const at = Date.parse(createdAt);
    if (Number.isNaN(at)) continue;
    if (latest === undefined || at > Date.parse(latest)) latest = createdAt;
  }
  return latest;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
