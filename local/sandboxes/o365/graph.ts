/**
 * Graph's `contacts/delta` over the sandbox mailbox. A delta request starts a round: the
 * initial request lists every live contact, a `$deltatoken` request lists what changed
 * after that token (changed contacts in full, removed ones as `@removed`). A round is
 * paged with `$skiptoken` links (`@odata.nextLink`); its last page carries the
 * `@odata.deltaLink` for the next round. Contacts are rendered when their page is served,
 * so a contact changed during a round shows its latest state (and shows up again in the
 * next round: applying a change twice is harmless).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type ContactStore, contactProperties, type GraphContact } from './contacts';

/**
 * Contacts per page when the request has no `Prefer: odata.maxpagesize`. Not documented
 * for contacts; Outlook resources commonly page by 10, which also makes paging visible
 * with the default data set.
 */
export const DEFAULT_PAGE_SIZE = 10;
/**
 * The largest page the sandbox serves. Graph documents no limit for contacts; Microsoft
 * support says contacts delta caps `odata.maxpagesize` at 200. `Prefer` is a preference,
 * so an adapter must cope with pages smaller than it asked for.
 */
export const MAX_PAGE_SIZE = 200;
/** State tokens kept; older ones are forgotten and answer 410, like Graph's bounded delta token cache. */
const MAX_TOKENS = 20_000;

interface Round {
  readonly ids: readonly string[];
  /** The change sequence the round covers up to: the next round lists changes after it. */
  readonly endSequence: number;
  readonly select: readonly (keyof GraphContact)[] | null;
}

/** A Graph answer: status, JSON body (or text), extra headers. */
export interface GraphAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** The page size a `Prefer` header asks for, capped; and the `Preference-Applied` value to echo. */
export function pageSizeFromPrefer(prefer: string | undefined): { size: number; applied?: string } {
  const match = /(?:^|[,;\s])odata\.maxpagesize\s*=\s*"?(\d+)"?/i.exec(prefer ?? '');
  const asked = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(asked) || asked < 1) return { size: DEFAULT_PAGE_SIZE };
  const size = Math.min(asked, MAX_PAGE_SIZE);
  return { size, applied: `odata.maxpagesize=${size}` };
}

/** Graph's error body: `{"error":{"code","message","innerError":{date,request-id,client-request-id}}}`. */
export function graphError(status: number, code: string, message: string, nowMs: number, headers?: Record<string, string>): GraphAnswer {
  const requestId = randomUUID();
  return {
    status,
    body: {
      error: {
        code,
        message,
        innerError: { date: new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, ''), 'request-id': requestId, 'client-request-id': requestId },
      },
    },
    headers: { 'request-id': requestId, 'client-request-id': requestId, ...headers },
  };
}

/** Delta rounds and their state tokens. */
export class ContactsDelta {
  private readonly skipTokens = new Map<string, { round: Round; offset: number }>();
  private readonly deltaTokens = new Map<string, { sequence: number; select: Round['select'] }>();
  /** Tokens Graph no longer knows (expired or evicted): they answer 410. */
  private readonly expired = new Set<string>();
  /** Contacts sent in delta pages. */
  recordsReturned = 0;

  constructor(
    private readonly store: ContactStore,
    private readonly baseUrl: string,
    private readonly now: () => number,
  ) {}

  /** GET /v1.0/me/contacts/delta with its query. */
  answer(query: URLSearchParams, pageSize: number): GraphAnswer {
    const skipToken = query.get('$skiptoken');
    const deltaToken = query.get('$deltatoken');
    if (skipToken !== null && deltaToken !== null) {
      return graphError(400, 'BadRequest', 'A request cannot carry both $skiptoken and $deltatoken.', this.now());
    }
    if (skipToken !== null) {
      const state = this.skipTokens.get(skipToken);
      if (!state) return this.lost(skipToken);
      // A next link may be asked for again (a client retrying a page after a failure gets the same page).
      return this.page(state.round, state.offset, pageSize);
    }
    if (deltaToken !== null) {
      const state = this.deltaTokens.get(deltaToken);
      if (!state) return this.lost(deltaToken);
      // A delta link may be used again (Graph lets a client retry a round); it lists changes after its sequence.
      const round: Round = { ids: this.store.changedSince(state.sequence), endSequence: this.store.currentSequence, select: state.select };
      return this.page(round, 0, pageSize);
    }
    const select = parseSelect(query.get('$select'));
    if ('unknown' in select) {
      return graphError(400, 'RequestBroker--ParseUri', `Could not find a property named '${select.unknown}' on type 'microsoft.graph.contact'.`, this.now());
    }
    return this.page({ ids: this.store.liveIds(), endSequence: this.store.currentSequence, select: select.properties }, 0, pageSize);
  }

  /** Every state token issued so far stops working (410): Graph lost the sync state. */
  expireAll(): void {
    for (const token of this.skipTokens.keys()) this.expired.add(token);
    for (const token of this.deltaTokens.keys()) this.expired.add(token);
    this.skipTokens.clear();
    this.deltaTokens.clear();
  }

  private lost(token: string): GraphAnswer {
    if (this.expired.has(token)) {
      return graphError(410, 'syncStateNotFound', 'The sync state generation is not found. The delta token is expired and data must be synchronized again.', this.now());
    }
    return graphError(400, 'BadRequest', 'The sync state token in the request is not valid.', this.now());
  }

  private page(round: Round, offset: number, pageSize: number): GraphAnswer {
    const ids = round.ids.slice(offset, offset + pageSize);
    const value = ids.map((id) => this.render(id, round.select));
    this.recordsReturned += value.length;
    const next = offset + pageSize;
    const link =
      next < round.ids.length
        ? { '@odata.nextLink': this.link('$skiptoken', this.remember(this.skipTokens, { round, offset: next })) }
        : { '@odata.deltaLink': this.link('$deltatoken', this.remember(this.deltaTokens, { sequence: round.endSequence, select: round.select })) };
    return { status: 200, body: { '@odata.context': `${this.baseUrl}/v1.0/$metadata#Collection(contact)`, ...link, value } };
  }

  private render(id: string, select: Round['select']): Record<string, unknown> {
    const stored = this.store.get(id);
    if (!stored || stored.deleted) return { '@odata.type': '#microsoft.graph.contact', id, '@removed': { reason: 'deleted' } };
    const contact = stored.contact;
    const fields: Record<string, unknown> = {};
    for (const property of select ?? contactProperties) fields[property] = contact[property];
    return { '@odata.type': '#microsoft.graph.contact', '@odata.etag': `W/"${contact.changeKey}"`, ...fields, id: contact.id };
  }

  private link(parameter: '$skiptoken' | '$deltatoken', token: string): string {
    return `${this.baseUrl}/v1.0/me/contacts/delta?${parameter}=${token}`;
  }

  /** Stores a state under a fresh token; the oldest token is forgotten (and answers 410) past the cap. */
  private remember<T>(tokens: Map<string, T>, state: T): string {
    const token = randomBytes(48).toString('base64url');
    tokens.set(token, state);
    if (tokens.size > MAX_TOKENS) {
      const oldest = tokens.keys().next().value as string;
      tokens.delete(oldest);
      this.expired.add(oldest);
    }
    return token;
  }
}

/** `$select=a,b` as contact properties (case-insensitive, as Graph is); null selects everything. */
function parseSelect(raw: string | null): { properties: Round['select'] } | { unknown: string } {
  if (raw === null || raw.trim() === '') return { properties: null };
  const properties: (keyof GraphContact)[] = [];
  for (const name of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    const property = contactProperties.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (!property) return { unknown: name };
    if (!properties.includes(property)) properties.push(property);
  }
  return { properties };
}
