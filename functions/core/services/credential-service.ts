import { randomUUID } from 'node:crypto';
import type { EncryptionContext, EnvelopeCipher, SealedSecret } from '../crypto';
import { databaseIdFor } from '../connector-ref';
import { CredentialDecryptionError, ProviderError } from '../errors';
import { findProvider, type ProviderId } from '../registry';
import { TOKEN_REFRESH_LEASE_MS } from '../timeouts';
import type { ConnectorLifecycleRepository, CredentialRepository } from '../repository/types';
import type { Credentials, OAuthAdapter, OAuthCredentials, RefreshedCredentials } from '../../providers/types';
import type { MetricsRecorder } from '../metrics';
import type { Log } from './caller';

/** How often a process that lost the lease looks for the winner's new token. */
const REFRESH_POLL_MS = 100;
/** How long a process waits for another's refresh: a whole lease (then it takes the lease over), and as long again. */
const REFRESH_WAIT_MS = 2 * TOKEN_REFRESH_LEASE_MS;

/** Fresh OAuth credentials and the connector's config as it stands with them (a refresh may move the instance URL). */
interface Session {
  credentials: OAuthCredentials;
  config: Record<string, unknown>;
}

export interface CredentialServiceDeps {
  repository: CredentialRepository;
  /** Where a grant found gone is recorded (the lifecycle's `reauthorizationRequired`). */
  lifecycle: Pick<ConnectorLifecycleRepository, 'markReauthorizationRequired'>;
  cipher: EnvelopeCipher;
  oauthAdapter: (providerId: ProviderId) => OAuthAdapter | undefined;
  /** Where token refreshes and refresh failures are counted. */
  metrics?: MetricsRecorder;
  clock?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Sealing, unsealing, refreshing and revoking a connector's credentials. The encryption
 * context binds every ciphertext to its tenant and connector. Refreshes of one connector
 * collapse into one provider call: within a process by sharing the pending promise,
 * across processes by a lease on the credentials' version.
 */
export class CredentialService {
  private readonly refreshing = new Map<string, Promise<Session>>();
  private readonly clock: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: CredentialServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Seals credentials for this tenant's connector. */
  seal(tenantId: string, providerId: ProviderId, credentials: Credentials): Promise<SealedSecret> {
    return this.deps.cipher.encrypt(JSON.stringify(credentials), encryptionContext(tenantId, providerId));
  }

  /** The connector's credentials, unsealed, with their version and config; null when it has none. */
  async current(tenantId: string, providerId: ProviderId) {
    const stored = await this.deps.repository.getCredentials(tenantId, providerId);
    if (!stored) return null;
    const plaintext = await this.deps.cipher.decrypt(stored.sealed, encryptionContext(tenantId, providerId));
    return { credentials: JSON.parse(plaintext) as Credentials, version: stored.version, config: stored.config };
  }

  /**
   * Runs a provider call with the connector's credentials, whatever their kind; OAuth
   * ones are refreshed on expiry as in `withOAuthCredentials`.
   */
  async withCredentials<T>(
    tenantId: string,
    providerId: ProviderId,
    call: (credentials: Credentials, config: Record<string, unknown>) => Promise<T>,
  ): Promise<T> {
    const current = await this.current(tenantId, providerId);
    if (!current) {
      throw new ProviderError(`The ${providerId} connector has no credentials; connect it again.`, { provider: providerId, reauthorizationRequired: true });
    }
    const { credentials } = current;
    if (credentials.kind === 'oauth2') return await this.callRefreshingOnExpiry(tenantId, providerId, { ...current, credentials }, call);
    return await call(credentials, current.config);
  }

  /**
   * Runs a provider call with the connector's OAuth credentials; when the provider says
   * the access token expired, refreshes it (once, whoever else is refreshing) and tries again.
   */
  async withOAuthCredentials<T>(
    tenantId: string,
    providerId: ProviderId,
    call: (credentials: OAuthCredentials, config: Record<string, unknown>) => Promise<T>,
  ): Promise<T> {
    return await this.callRefreshingOnExpiry(tenantId, providerId, await this.requireOAuth(tenantId, providerId), call);
  }

  private async callRefreshingOnExpiry<T>(
    tenantId: string,
    providerId: ProviderId,
    current: { credentials: OAuthCredentials; version: number; config: Record<string, unknown> },
    call: (credentials: OAuthCredentials, config: Record<string, unknown>) => Promise<T>,
  ): Promise<T> {
    try {
      return await call(current.credentials, current.config);
    } catch (error) {
      if (!(error instanceof ProviderError && error.accessTokenExpired)) throw error;
      // With the config the refresh left: the provider may have named another instance URL.
      const refreshed = await this.refreshSession(tenantId, providerId, current.version);
      return await call(refreshed.credentials, refreshed.config);
    }
  }

  /**
   * Replaces the stale token (the one at `staleVersion`) with a fresh one and answers it.
   * @throws ProviderError with `reauthorizationRequired` when the grant is gone; the
   * connector is then set `error` with a message saying so.
   */
  async refresh(tenantId: string, providerId: ProviderId, staleVersion: number): Promise<OAuthCredentials> {
    return (await this.refreshSession(tenantId, providerId, staleVersion)).credentials;
  }

  /** {@link refresh}, answering the connector's config with the credentials (a refresh may change it). */
  private refreshSession(tenantId: string, providerId: ProviderId, staleVersion: number): Promise<Session> {
    const key = `${tenantId}/${providerId}/${staleVersion}`;
    let pending = this.refreshing.get(key);
    if (!pending) {
      pending = this.refreshAcrossProcesses(tenantId, providerId, staleVersion).finally(() => this.refreshing.delete(key));
      this.refreshing.set(key, pending);
    }
    return pending;
  }

  /** Revokes the grant at the provider where it can; answers whether the provider confirmed. */
  async revoke(tenantId: string, providerId: ProviderId, log: Log): Promise<boolean> {
    const adapter = this.deps.oauthAdapter(providerId);
    try {
      const current = await this.current(tenantId, providerId);
      if (!current || current.credentials.kind !== 'oauth2' || !adapter) return false;
      await adapter.revoke(current.credentials, current.config);
      return true;
    } catch (error) {
      // Our copy goes anyway: a user who disconnects must not stay connected because the provider is down.
      log.warn('revoking the grant at the provider failed; removing our copy of the credentials anyway', {
        connectorId: providerId,
        reason: error instanceof ProviderError || error instanceof CredentialDecryptionError ? error.message : 'unexpected error',
      });
      return false;
    }
  }

  private async refreshAcrossProcesses(tenantId: string, providerId: ProviderId, staleVersion: number): Promise<Session> {
    const owner = randomUUID();
    const deadline = this.clock().getTime() + REFRESH_WAIT_MS;
    for (;;) {
      // Read first, and lease only the version read: a process that comes late (the winner
      // stored, or a lapsed lease was taken over) uses the stored token instead of spending
      // a refresh token that may already be rotated away.
      const current = await this.requireOAuth(tenantId, providerId);
      if (current.version !== staleVersion) return { credentials: current.credentials, config: current.config };
      const nowMs = this.clock().getTime();
      const lease = await this.deps.repository.acquireRefreshLease(tenantId, providerId, {
        version: current.version,
        owner,
        nowMs,
        untilMs: nowMs + TOKEN_REFRESH_LEASE_MS,
      });
      if (lease) return await this.refreshUnderLease(tenantId, providerId, current, owner, lease.tookOverLapsedLease);
      if (nowMs > deadline) {
        throw new ProviderError(`Refreshing the ${providerName(providerId)} access token took too long.`, { provider: providerId, retryable: true });
      }
      await this.sleep(REFRESH_POLL_MS);
    }
  }

  /**
   * Refreshes `current` (the version this process leased) and stores the result. Never
   * answers tokens it could not store unless they are the stored ones: with rotation, tokens
   * that are not stored are lost for good.
   */
  private async refreshUnderLease(
    tenantId: string,
    providerId: ProviderId,
    current: { credentials: OAuthCredentials; version: number; config: Record<string, unknown> },
    owner: string,
    tookOverLapsedLease: boolean,
  ): Promise<Session> {
    const now = () => this.clock().toISOString();
    let refreshed: RefreshedCredentials;
    try {
      refreshed = await this.refreshAtProvider(tenantId, providerId, current);
    } catch (error) {
      const stillHeld = await this.deps.repository.releaseRefreshLease(tenantId, providerId, owner);
      if (!(error instanceof ProviderError && error.reauthorizationRequired)) throw error;
      // A refused refresh token may have been spent by another refresher (ours lapsed and was
      // taken over, or we took over theirs): its tokens are stored, or may still be.
      const latest = await this.latestAfter(tenantId, providerId, current.version);
      if (latest) return latest;
      if (tookOverLapsedLease || !stillHeld) {
        throw new ProviderError(`Another process was refreshing the ${providerName(providerId)} access token at the same time.`, {
          provider: providerId,
          retryable: true,
          cause: error,
        });
      }
      await this.deps.lifecycle.markReauthorizationRequired(tenantId, providerId, error.message, now());
      throw error;
    }
    // What the provider changed besides the tokens (an instance URL) is config, never sealed.
    const { configUpdate, ...credentials } = refreshed;
    const changed = Object.fromEntries(Object.entries(configUpdate ?? {}).filter(([key, value]) => current.config[key] !== value));
    const hasChanges = Object.keys(changed).length > 0;
    try {
      const sealed = await this.seal(tenantId, providerId, credentials);
      // The rotated refresh token, if any, is inside `sealed`, and the changed config beside it: persisted in this same write.
      const stored = await this.deps.repository.storeRefreshedCredentials(tenantId, providerId, {
        sealed,
        version: current.version,
        now: now(),
        ...(hasChanges && { configUpdate: changed }),
      });
      if (stored) return { credentials, config: { ...current.config, ...changed } };
    } catch (error) {
      await this.deps.repository.releaseRefreshLease(tenantId, providerId, owner);
      throw error;
    }
    await this.deps.repository.releaseRefreshLease(tenantId, providerId, owner);
    // Not stored: a reconnect stored newer credentials (use them), or a disconnect removed them.
    const latest = await this.latestAfter(tenantId, providerId, current.version);
    if (latest) return latest;
    throw new ProviderError(`The ${providerName(providerId)} connector has no credentials any more; connect it again.`, {
      provider: providerId,
      reauthorizationRequired: true,
    });
  }

  /**
   * The provider's refresh call, counted in TokenRefreshes or TokenRefreshFailures: here,
   * where the provider answers, the lease makes it one count per refresh call made.
   */
  private async refreshAtProvider(
    tenantId: string,
    providerId: ProviderId,
    current: { credentials: OAuthCredentials; config: Record<string, unknown> },
  ): Promise<RefreshedCredentials> {
    const adapter = this.requireAdapter(providerId);
    let refreshed: RefreshedCredentials;
    try {
      refreshed = await adapter.refresh(current.credentials, current.config);
    } catch (error) {
      this.deps.metrics?.record('TokenRefreshFailures', 1, { provider: providerId, tenantId });
      throw error;
    }
    this.deps.metrics?.record('TokenRefreshes', 1, { provider: providerId, tenantId });
    return refreshed;
  }

  /** The stored OAuth credentials (with their config) if they are newer than `version`, else undefined. */
  private async latestAfter(tenantId: string, providerId: ProviderId, version: number): Promise<Session | undefined> {
    const latest = await this.current(tenantId, providerId);
    if (latest && latest.version > version && latest.credentials.kind === 'oauth2') return { credentials: latest.credentials, config: latest.config };
    return undefined;
  }

  private async requireOAuth(tenantId: string, providerId: ProviderId) {
    const current = await this.current(tenantId, providerId);
    if (!current || current.credentials.kind !== 'oauth2') {
      throw new ProviderError(`The ${providerId} connector has no OAuth credentials; connect it first.`, {
        provider: providerId,
        reauthorizationRequired: true,
      });
    }
    return { ...current, credentials: current.credentials };
  }

  private requireAdapter(providerId: ProviderId): OAuthAdapter {
    const adapter = this.deps.oauthAdapter(providerId);
    if (!adapter) throw new ProviderError(`${providerId} is not configured for OAuth here.`, { provider: providerId });
    return adapter;
  }
}

/** The provider's name for messages ("Salesforce"), or its id when the registry does not know it. */
function providerName(providerId: ProviderId): string {
  return findProvider(providerId)?.name ?? providerId;
}

/** What a connector's ciphertexts are bound to: moved to another record, they do not decrypt. */
export function encryptionContext(tenantId: string, providerId: ProviderId): EncryptionContext {
  return { tenantId, connectorId: databaseIdFor(tenantId, providerId), providerId };
}
