/**
 * Graph's contact folders and `contacts/delta` over the sandbox mailbox, folder by folder.
 * A delta request starts a round: the initial request lists every live contact of the
 * folder, whole; a `$deltatoken` request lists what changed after that token, a changed
 * contact with only the properties that changed (Graph sends "at least" those), a new one
 * whole, a removed one as `@removed`. A round is paged with `$skiptoken` links
 * (`@odata.nextLink`); its last page carries the `@odata.deltaLink` for the next round.
 * Contacts are rendered when their page is served, so a contact changed during a round
 * shows its latest state (and shows up again in the next round: applying a change twice
 * is harmless). Only the last few sync-state generations of a folder are kept.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type ContactStore, contactProperties, folderProperties, type GraphContact, type GraphContactFolder } from './contacts';

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
/**
 * Sync-state generations kept per folder: every round (a delta request without a token, or
 * with a delta token) is a new generation, and the skip and delta tokens of a round older
 * than the last few answer 410 syncStateNotFound. Graph documents no number for Outlook
 * resources ("dependent on the size of the internal delta token cache"); a small one makes
 * a client that keeps old links find out.
 */
export const KEPT_GENERATIONS = 5;
/** Folders per folder list page when the request has no `$top` (Graph's default page of 10). */
const DEFAULT_FOLDER_PAGE = 10;
/** The most folders a `$top` may ask for in one page. */
const MAX_FOLDER_PAGE = 1000;

interface Round {
  readonly folderId: string;
  readonly ids: readonly string[];
  /** The change sequence the round covers up to: the next round lists changes after it. */
  readonly endSequence: number;
  /** Null: a round from scratch (contacts whole); else the sequence it lists changes after (changed properties only). */
  readonly since: number | null;
  readonly select: readonly (keyof GraphContact)[] | null;
  readonly generation: number;
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

/** How a delta request names its folder: `/me/contacts/delta` is the default folder's, reached without an id. */
export interface DeltaTarget {
  readonly folderId: string;
  /** The path its links use. */
  readonly linkPath: string;
}

/** Delta rounds and their state tokens, folder by folder. */
export class ContactsDelta {
  private readonly skipTokens = new Map<string, { round: Round; offset: number }>();
  private readonly deltaTokens = new Map<string, { round: Round }>();
  /** Tokens Graph no longer knows (expired or evicted): they answer 410 with this code. */
  private readonly expired = new Map<string, 'syncStateNotFound' | 'resyncRequired'>();
  /** The latest generation of each folder's sync state. */
  private readonly generations = new Map<string, number>();
  /** Contacts sent in delta pages. */
  recordsReturned = 0;

  constructor(
    private readonly store: ContactStore,
    private readonly baseUrl: string,
    private readonly now: () => number,
    private readonly keptGenerations = KEPT_GENERATIONS,
  ) {}

  /** GET .../contacts/delta with its query, for one folder. */
  answer(target: DeltaTarget, query: URLSearchParams, pageSize: number): GraphAnswer {
    const skipToken = query.get('$skiptoken');
    const deltaToken = query.get('$deltatoken');
    if (skipToken !== null && deltaToken !== null) {
      return graphError(400, 'BadRequest', 'A request cannot carry both $skiptoken and $deltatoken.', this.now());
    }
    if (skipToken !== null || deltaToken !== null) {
      const tokenValue = (skipToken ?? deltaToken) as string;
      const state = skipToken !== null ? this.skipTokens.get(skipToken) : this.deltaTokens.get(deltaToken as string);
      if (!state) return this.lost(tokenValue);
      // A token belongs to its folder's sync state; another folder's path cannot use it.
      if (state.round.folderId !== target.folderId) return graphError(400, 'BadRequest', 'The sync state token in the request is not valid.', this.now());
      if (state.round.generation <= this.generation(target.folderId) - this.keptGenerations) {
        return graphError(410, 'syncStateNotFound', 'The sync state generation is not found. The delta token is expired and data must be synchronized again.', this.now());
      }
      // A next link may be asked for again (a client retrying a page after a failure gets the same page).
      if (skipToken !== null) {
        const { round, offset } = state as { round: Round; offset: number };
        return this.page(target, round, offset, pageSize);
      }
      // A delta link may be used again (Graph lets a client retry a round); it lists changes after its sequence.
      const since = state.round.endSequence;
      const round: Round = { ...this.nextRound(target.folderId, since), select: state.round.select };
      return this.page(target, round, 0, pageSize);
    }
    const select = parseSelect(query.get('$select'), contactProperties);
    if ('unknown' in select) {
      return graphError(400, 'RequestBroker--ParseUri', `Could not find a property named '${select.unknown}' on type 'microsoft.graph.contact'.`, this.now());
    }
    return this.page(target, { ...this.nextRound(target.folderId, null), select: select.properties }, 0, pageSize);
  }

  /** Every state token issued so far stops working (410 with this code): Graph lost the sync state. */
  expireAll(code: 'syncStateNotFound' | 'resyncRequired' = 'syncStateNotFound'): void {
    for (const token of this.skipTokens.keys()) this.expired.set(token, code);
    for (const token of this.deltaTokens.keys()) this.expired.set(token, code);
    this.skipTokens.clear();
    this.deltaTokens.clear();
  }

  private generation(folderId: string): number {
    return this.generations.get(folderId) ?? 0;
  }

  /** A new round of a folder: a new generation of its sync state. */
  private nextRound(folderId: string, since: number | null): Omit<Round, 'select'> {
    const generation = this.generation(folderId) + 1;
    this.generations.set(folderId, generation);
    const ids = since === null ? this.store.liveIds(folderId) : this.store.changedSince(folderId, since);
    return { folderId, ids, endSequence: this.store.currentSequence, since, generation };
  }

  private lost(token: string): GraphAnswer {
    const code = this.expired.get(token);
    if (code === 'resyncRequired') {
      return graphError(410, 'resyncRequired', 'The delta token is no longer valid; the application must resynchronize.', this.now());
    }
    if (code) {
      return graphError(410, 'syncStateNotFound', 'The sync state generation is not found. The delta token is expired and data must be synchronized again.', this.now());
    }
    return graphError(400, 'BadRequest', 'The sync state token in the request is not valid.', this.now());
  }

  private page(target: DeltaTarget, round: Round, offset: number, pageSize: number): GraphAnswer {
    const ids = round.ids.slice(offset, offset + pageSize);
    const value = ids.map((id) => this.render(id, round));
    this.recordsReturned += value.length;
    const next = offset + pageSize;
    const link =
      next < round.ids.length
        ? { '@odata.nextLink': this.link(target, '$skiptoken', this.remember(this.skipTokens, { round, offset: next })) }
        : { '@odata.deltaLink': this.link(target, '$deltatoken', this.remember(this.deltaTokens, { round })) };
    return { status: 200, body: { '@odata.context': `${this.baseUrl}/v1.0/$metadata#Collection(contact)`, ...link, value } };
  }

  /**
   * A contact as a page shows it when served: whole (its selected properties) in a round
   * from scratch or when created since; otherwise, as Graph may, only the selected
   * properties that changed since the round's sequence (and the id).
   */
  private render(id: string, round: Round): Record<string, unknown> {
    const stored = this.store.get(id);
    if (!stored || stored.deleted || stored.contact.parentFolderId !== round.folderId) {
      return { '@odata.type': '#microsoft.graph.contact', id, '@removed': { reason: 'deleted' } };
    }
    const contact = stored.contact;
    const since = round.since;
    const changedOnly = since !== null && stored.createdSeq <= since;
    const fields: Record<string, unknown> = {};
    for (const property of round.select ?? contactProperties) {
      if (changedOnly && !((stored.propertySeq[property] ?? 0) > since)) continue;
      fields[property] = contact[property];
    }
    return { '@odata.type': '#microsoft.graph.contact', '@odata.etag': `W/"${contact.changeKey}"`, ...fields, id: contact.id };
  }

  private link(target: DeltaTarget, parameter: '$skiptoken' | '$deltatoken', token: string): string {
    return `${this.baseUrl}${target.linkPath}?${parameter}=${token}`;
  }

  /** Stores a state under a fresh token; the oldest token is forgotten (and answers 410) past the cap. */
  private remember<T>(tokens: Map<string, T>, state: T): string {
    const token = randomBytes(48).toString('base64url');
    tokens.set(token, state);
    if (tokens.size > MAX_TOKENS) {
      const oldest = tokens.keys().next().value as string;
      tokens.delete(oldest);
      this.expired.set(oldest, 'syncStateNotFound');
    }
    return token;
  }
}

/**
 * `GET /me/contactFolders` (the folders under the default one) or `.../{id}/childFolders`:
 * `$select`, `$top` (10 by default) and `$skip` paging, with an `@odata.nextLink`.
 */
export function folderList(folders: readonly GraphContactFolder[], requestUrl: URL, baseUrl: string, nowMs: number): GraphAnswer {
  const query = requestUrl.searchParams;
  const select = parseSelect(query.get('$select'), folderProperties);
  if ('unknown' in select) {
    return graphError(400, 'RequestBroker--ParseUri', `Could not find a property named '${select.unknown}' on type 'microsoft.graph.contactFolder'.`, nowMs);
  }
  const top = wholeNumber(query.get('$top'), DEFAULT_FOLDER_PAGE);
  const skip = wholeNumber(query.get('$skip'), 0);
  if (top === null || top < 1 || top > MAX_FOLDER_PAGE || skip === null) {
    return graphError(400, 'ErrorInvalidUrlQuery', 'The value of $top or $skip is not valid.', nowMs);
  }
  const value = folders.slice(skip, skip + top).map((folder) => renderFolder(folder, select.properties));
  const body: Record<string, unknown> = { '@odata.context': `${baseUrl}/v1.0/$metadata#users('me')/contactFolders`, value };
  if (skip + top < folders.length) {
    const next = new URL(requestUrl.pathname, baseUrl);
    next.search = new URLSearchParams({ ...Object.fromEntries(query), $top: String(top), $skip: String(skip + top) }).toString();
    body['@odata.nextLink'] = next.toString();
  }
  return { status: 200, body };
}

/** `GET /me/contactFolders/{id}`: one folder, `$select` applied. */
export function folderAnswer(folder: GraphContactFolder, query: URLSearchParams, baseUrl: string, nowMs: number): GraphAnswer {
  const select = parseSelect(query.get('$select'), folderProperties);
  if ('unknown' in select) {
    return graphError(400, 'RequestBroker--ParseUri', `Could not find a property named '${select.unknown}' on type 'microsoft.graph.contactFolder'.`, nowMs);
  }
  return { status: 200, body: { '@odata.context': `${baseUrl}/v1.0/$metadata#users('me')/contactFolders/$entity`, ...renderFolder(folder, select.properties) } };
}

function renderFolder(folder: GraphContactFolder, select: readonly (keyof GraphContactFolder)[] | null): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const property of select ?? folderProperties) fields[property] = folder[property];
  return { ...fields, id: folder.id };
}

function wholeNumber(raw: string | null, fallback: number): number | null {
  if (raw === null) return fallback;
  return /^\d{1,9}$/.test(raw) ? Number(raw) : null;
}

/** `$select=a,b` as properties of a type (case-insensitive, as Graph is); null selects everything. */
function parseSelect<P extends string>(raw: string | null, known: readonly P[]): { properties: P[] | null } | { unknown: string } {
  if (raw === null || raw.trim() === '') return { properties: null };
  const properties: P[] = [];
  for (const name of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    const property = known.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (!property) return { unknown: name };
    if (!properties.includes(property)) properties.push(property);
  }
  return { properties };
}
