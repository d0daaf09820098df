import { createHash, randomBytes } from 'node:crypto';
import { AUTHORIZATION_TTL_MS, isAnotherSource, sourceKeyOf } from '../connector-lifecycle';
import { databaseIdFor, resolveConnector } from '../connector-ref';
import { ConflictError, InvalidInputError, ProviderError } from '../errors';
import { findProvider, type ProviderId } from '../registry';
import type { ConnectorLifecycleRepository, OAuthStateRepository } from '../repository/types';
import type { OAuthAdapter } from '../../providers/types';
import type { Caller, Log } from './caller';
import type { CredentialService } from './credential-service';
import { scheduleAfter } from './sync-engine';

/** Cancels a connector's running sync (SyncService does): a reconnect replaces what it reads. */
export interface SyncCanceller {
  cancelRunningSync(tenantId: string, providerId: ProviderId, reason: string, log: Log): Promise<string | null>;
}

export interface OAuthServiceDeps {
  lifecycle: ConnectorLifecycleRepository;
  syncs: SyncCanceller;
  /** The reason a sync cancelled by a reconnect ends with. */
  reconnectReason: string;
  states: OAuthStateRepository;
  credentialService: CredentialService;
  oauthAdapter: (providerId: ProviderId) => OAuthAdapter | undefined;
  /** The callback URL registered with the provider for this connector. */
  redirectUri: (providerId: ProviderId) => string;
  clock?: () => Date;
}

/** What the callback saw, straight from the provider's redirect. */
export interface CallbackQuery {
  state?: string;
  code?: string;
  error?: string;
}

/** How a callback ended, for the page or redirect the user sees. */
export type CallbackOutcome =
  | { kind: 'connected'; providerId: ProviderId; tenantId: string }
  | { kind: 'failed'; providerId: ProviderId; tenantId: string; message: string }
  | { kind: 'rejected'; message: string };

const REJECTED = 'This authorization link is invalid, expired or already used. Start the connection again from the app.';

/**
 * The OAuth 2.0 authorization-code flow with PKCE, for every OAuth provider alike. The
 * state is random, single-use, short-lived, stored server-side (as a hash) and bound to
 * the tenant and connector; only the newest flow of a connector can complete.
 */
export class OAuthService {
  private readonly clock: () => Date;

  constructor(private readonly deps: OAuthServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * Starts a flow and answers the consent URL. A connector without credentials becomes
   * `pending_auth`; one that holds credentials keeps its status, credentials and schedule
   * until the callback succeeds, so an abandoned re-authorization disables nothing.
   */
  async startAuthorization(caller: Caller, connectorRef = 'salesforce'): Promise<{ authUrl: string }> {
    const provider = resolveConnector(caller.tenantId, connectorRef);
    if (provider.authMode !== 'oauth2') {
      throw new InvalidInputError(`${provider.name} connects with an API key, not OAuth.`);
    }
    const adapter = this.deps.oauthAdapter(provider.id);
    if (!adapter) throw new InvalidInputError(`${provider.name} connections are not configured in this environment.`);

    const state = base64url(randomBytes(32));
    const codeVerifier = base64url(randomBytes(32));
    const stateHash = hash(state);
    const redirectUri = this.deps.redirectUri(provider.id);
    const now = this.clock();
    const flow = { id: databaseIdFor(caller.tenantId, provider.id), stateHash, now: now.toISOString(), expiresAt: new Date(now.getTime() + AUTHORIZATION_TTL_MS).toISOString() };
    const { holdsCredentials } = await this.deps.lifecycle.read(caller.tenantId, provider.id);
    if (!(await this.deps.lifecycle.startAuthorization(caller.tenantId, provider.id, flow, holdsCredentials))) {
      // Connected or disconnected between the read and the write: the caller may simply ask again.
      throw new ConflictError('The connector changed while the authorization was starting; try again.');
    }
    await this.deps.states.save(stateHash, {
      tenantId: caller.tenantId,
      providerId: provider.id,
      codeVerifier,
      redirectUri,
      expiresAtMs: now.getTime() + AUTHORIZATION_TTL_MS,
    });
    caller.log.info('authorization started', { connectorId: provider.id });
    return { authUrl: adapter.authorizationUrl({ state, codeChallenge: base64url(createHash('sha256').update(codeVerifier).digest()), redirectUri }) };
  }

  /**
   * Completes a flow from the provider's redirect to `/oauth/<provider>/callback`. A bad
   * state changes nothing; a denied consent or failed exchange leaves a message on the
   * connector; success stores the sealed tokens and `connected` in one write.
   */
  async completeAuthorization(callbackProviderId: string, query: CallbackQuery, log: Log): Promise<CallbackOutcome> {
    if (!query.state) return { kind: 'rejected', message: REJECTED };
    const stateHash = hash(query.state);
    const flow = await this.deps.states.consume(stateHash);
    const now = this.clock();
    if (!flow || flow.providerId !== callbackProviderId || flow.expiresAtMs < now.getTime()) {
      log.warn('authorization callback rejected', { reason: !flow ? 'unknown or used state' : flow.providerId !== callbackProviderId ? 'state of another connector' : 'expired state' });
      return { kind: 'rejected', message: REJECTED };
    }
    const { tenantId, providerId } = flow;
    const flowLog = (message: string, extra: Record<string, unknown> = {}) => log.info(message, { tenantId, connectorId: providerId, ...extra });
    const fail = async (message: string): Promise<CallbackOutcome> => {
      const { holdsCredentials } = await this.deps.lifecycle.read(tenantId, providerId);
      const ended = await this.deps.lifecycle.failAuthorization(tenantId, providerId, { stateHash, message, now: now.toISOString() }, holdsCredentials);
      flowLog(ended ? 'authorization failed' : 'authorization failed for a flow that was superseded', { reason: message });
      return ended ? { kind: 'failed', providerId, tenantId, message } : { kind: 'rejected', message: REJECTED };
    };

    if (query.error || !query.code) {
      const denied = query.error === 'access_denied';
      return await fail(
        denied
          ? `${name(providerId)} authorization was denied at the consent screen; connect again to retry.`
          : `${name(providerId)} did not complete the authorization (${(query.error ?? 'no code').slice(0, 64)}); connect again to retry.`,
      );
    }
    const adapter = this.deps.oauthAdapter(providerId);
    if (!adapter) return await fail(`${name(providerId)} connections are not configured in this environment.`);
    let grant;
    try {
      grant = await adapter.exchangeCode({ code: query.code, codeVerifier: flow.codeVerifier, redirectUri: flow.redirectUri });
    } catch (error) {
      if (error instanceof ProviderError) return await fail(error.message);
      throw error;
    }
    const sealed = await this.deps.credentialService.seal(tenantId, providerId, grant.credentials);
    const sourceKey = sourceKeyOf(grant.config);
    const complete = async () => {
      const { sourceKey: previous, schedule } = await this.deps.lifecycle.read(tenantId, providerId);
      return await this.deps.lifecycle.completeAuthorization(tenantId, providerId, {
        stateHash,
        sealed,
        config: grant.config,
        sourceKey,
        sweepUnseen: isAnotherSource(previous, sourceKey),
        now: now.toISOString(),
        // The admin's schedule outlives disconnects: the first scheduled sync comes at its interval, or not at all while paused.
        ...scheduleAfter(now, schedule),
      });
    };
    let completed = await complete();
    // A sync started while the user was at the consent screen: it reads the old connection, so it is cancelled.
    if (!completed && (await this.deps.syncs.cancelRunningSync(tenantId, providerId, this.deps.reconnectReason, log))) completed = await complete();
    if (!completed) {
      // A newer flow (or a disconnect) replaced this one while the user was away: drop these tokens.
      flowLog('authorization completed for a flow that was superseded; tokens discarded');
      await adapter.revoke(grant.credentials, grant.config).catch(() => undefined);
      return { kind: 'rejected', message: REJECTED };
    }
    flowLog('connector connected');
    return { kind: 'connected', providerId, tenantId };
  }
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

function name(providerId: ProviderId): string {
  return findProvider(providerId)?.name ?? providerId;
}
