import type { EntityType, SyncType, WaitReason } from '../core/model';
import type { ApiBudgetPolicy } from '../core/api-budget';
import type { ProviderId } from '../core/registry';

/**
 * What the service keeps, sealed, for one connector: an OAuth token set or an API key.
 * Provider-neutral; provider facts that are not secret (an instance URL) go to config.
 */
export type Credentials =
  | { kind: 'oauth2'; accessToken: string; refreshToken?: string; expiresAt?: number }
  | { kind: 'apiKey'; apiKey: string };

export type OAuthCredentials = Extract<Credentials, { kind: 'oauth2' }>;

/** The answer to a completed authorization: the credentials, and the connector's non-secret config. */
export interface AuthorizationGrant {
  credentials: OAuthCredentials;
  config: Record<string, unknown>;
}

/**
 * What a refresh answers: the new credentials, and, when the provider moved something that is
 * not secret (Salesforce's `instance_url` after an org migration), the config keys to change.
 * `configUpdate` is stored in the connector's config, never sealed with the credentials.
 */
export type RefreshedCredentials = OAuthCredentials & { configUpdate?: Record<string, unknown> };

/**
 * The OAuth 2.0 side of a provider (authorization code with PKCE S256). Each provider's
 * adapter implements it; the OAuth service drives every provider through it alike.
 */
export interface OAuthAdapter {
  readonly providerId: ProviderId;
  /** Where to send the user for consent. */
  authorizationUrl(request: { state: string; codeChallenge: string; redirectUri: string }): string;
  /** Exchanges the code from the callback (with the PKCE verifier) for tokens. */
  exchangeCode(request: { code: string; codeVerifier: string; redirectUri: string }): Promise<AuthorizationGrant>;
  /**
   * A new access token from the refresh token. Keeps the old refresh token unless the
   * provider rotated it; then the new one replaces it. Config the answer changed (an
   * instance URL) comes back as `configUpdate`.
   * @throws ProviderError with `reauthorizationRequired` when the grant is gone.
   */
  refresh(credentials: OAuthCredentials, config: Record<string, unknown>): Promise<RefreshedCredentials>;
  /** Revokes the grant at the provider, so our copy is not the only thing disconnect removes. */
  revoke(credentials: OAuthCredentials, config: Record<string, unknown>): Promise<void>;
}

/** One record as a provider adapter hands it to the engine, already mapped to our entity types. */
export interface SourceRecord {
  type: EntityType;
  /** The provider's id for the record; entities are upserted by it. */
  sourceId: string;
  /** When the provider last changed it (ISO 8601), if it says; unchanged records are not rewritten. */
  modifiedAt?: string;
  /** The provider deleted it: the entity is removed. */
  deleted?: boolean;
  /**
   * The record carries only some attributes (Graph's delta answers may send only what changed):
   * they are merged into the stored ones, top-level key by key, and a `null` removes one; the
   * attributes it leaves out stay as stored. Without it, `attributes` replace the stored ones whole.
   */
  partial?: boolean;
  attributes: Record<string, unknown>;
}

/**
 * Where a sync stands inside a provider's data: small, JSON, provider-defined. The engine
 * only stores and passes it on (never records: Step Functions state is capped at 256 KB).
 */
export type SyncCursor = Record<string, string | number | boolean | null | Record<string, string>>;

export interface ReadPageRequest {
  mode: SyncType;
  /** Null on the first page of a sync. */
  cursor: SyncCursor | null;
  /** What the previous successful sync left for an incremental one to start from. */
  watermark: Record<string, string> | null;
}

export interface SourcePage {
  records: SourceRecord[];
  /** Records the adapter could not map; counted as failed. */
  failed: number;
  /**
   * Records the source has that are not ours to keep (a Fathom invitee without an email:
   * people are keyed by email): neither synced nor failed, counted apart.
   */
  skipped?: number;
  /** Null when this was the last page. */
  nextCursor: SyncCursor | null;
  /** The watermark to keep once the whole sync has finished. */
  watermark: Record<string, string> | null;
  /**
   * The stored watermark is no longer valid at the provider (e.g. Graph's 410 Gone for an
   * expired delta link): the engine restarts this sync from the beginning as a full sync,
   * so removals are found by the sweep. The page's records are ignored.
   */
  restartAsFull?: boolean;
  /**
   * Nothing to read yet (a Bulk query job still runs): the engine waits this long in the state
   * machine, never in a Lambda, then reads `nextCursor`. Such a page holds no records.
   */
  wait?: { seconds: number; reason: WaitReason };
  /**
   * This page may repeat records earlier pages of the same sync gave (an object read again
   * from its start after its Bulk job failed): the engine then looks each one up, so it counts once.
   */
  repeatsEarlierRecords?: boolean;
  /**
   * The next page must not be read ahead, only once this one committed: reading it changes
   * the source in a way a retry of this page would notice (it deletes a Bulk job whose
   * results this page came from), or creates something only the next task should own.
   */
  readNextAfterCommit?: boolean;
  /** The org's API usage the provider reported with the last call of this page. */
  apiUsage?: { used: number; limit: number };
}

/**
 * The sync side of a provider: one page per call, cursors between calls, watermarks
 * between syncs. Provider-neutral: Salesforce pages SOQL queries, others page cursors,
 * windows or delta links behind the same two methods.
 */
export interface SyncAdapter {
  readonly providerId: ProviderId;
  /**
   * Whether a full sync reads everything the source has. Only then may the engine remove
   * entities a full sync did not see; an event stream read over a lookback window may not.
   */
  readonly fullSyncSeesEverything: boolean;
  /**
   * Whether a sync lists each record once, unless it changed after the sync started (and
   * then its `modifiedAt` says so). Event streams that repeat people across pages do not.
   */
  readonly listsRecordsOnce: boolean;
  /** The sync type actually run for a requested one (a provider without change filters always runs full). */
  effectiveSyncType(requested: SyncType): SyncType;
  readPage(credentials: Credentials, config: Record<string, unknown>, request: ReadPageRequest): Promise<SourcePage>;
  /**
   * For a provider whose org has a shared API allowance: how a sync may spend it, and one
   * call that reads the usage now. The engine stops reading pages while the usage is at or
   * above the budget (see functions/core/api-budget.ts).
   */
  readonly apiAllowance?: {
    readonly policy: ApiBudgetPolicy;
    readUsage(credentials: Credentials, config: Record<string, unknown>): Promise<{ used: number; limit: number }>;
  };
}

/**
 * A provider that connects with an API key an admin pastes in. `connect` checks the key
 * with one cheap call before anything is stored.
 */
export interface ApiKeyAdapter {
  readonly providerId: ProviderId;
  /**
   * Checks and normalizes the provider settings an admin gave (region, organization id...).
   * @throws InvalidInputError naming the setting that is wrong.
   */
  parseConfig(config: Record<string, unknown> | undefined): Record<string, unknown>;
  /**
   * One cheap authenticated call. @throws ProviderError with `reauthorizationRequired`
   * when the provider rejects the key (401/403); other ProviderErrors for outages.
   */
  verifyApiKey(apiKey: string, config: Record<string, unknown>): Promise<void>;
}
