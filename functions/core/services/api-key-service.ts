import { isAnotherSource, sourceKeyOf } from '../connector-lifecycle';
import { databaseIdFor, resolveConnector } from '../connector-ref';
import { ConflictError, InvalidInputError, ProviderError } from '../errors';
import type { ProviderId } from '../registry';
import type { ConnectorLifecycleRepository } from '../repository/types';
import { joinApiKeyAndSecret } from '../../providers/http';
import type { ApiKeyAdapter } from '../../providers/types';
import type { Caller } from './caller';
import type { CredentialService } from './credential-service';
import type { SyncCanceller } from './oauth-service';
import { scheduleAfter } from './sync-engine';

export interface ApiKeyServiceDeps {
  lifecycle: ConnectorLifecycleRepository;
  syncs: SyncCanceller;
  /** The reason a sync cancelled by a reconnect ends with. */
  reconnectReason: string;
  credentialService: CredentialService;
  apiKeyAdapter: (providerId: ProviderId) => ApiKeyAdapter | undefined;
  clock?: () => Date;
}

/** Connecting providers that authenticate with an API key (Customer.io, Delivr.ai, Fathom). */
export class ApiKeyService {
  private readonly clock: () => Date;

  constructor(private readonly deps: ApiKeyServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * Checks the key with one cheap call to the provider; a rejected key stores nothing. An
   * accepted key is sealed (tenant and connector bound) and the connector becomes `connected`;
   * a sync running on the old connection is cancelled first, and the next sync is full.
   * A secret given with the key (`apiSecret`, Delivr.ai's) is sealed with it, in the one
   * string the adapter gets as its key (see joinApiKeyAndSecret); the adapters of providers
   * that issue no secret refuse one. It never enters the config, which getStatus shows.
   */
  async connect(
    caller: Caller,
    input: { connectorId: string; apiKey: string; apiSecret?: string; config?: Record<string, unknown> },
  ): Promise<{ connected: true; connectorId: string; databaseId: string }> {
    const provider = resolveConnector(caller.tenantId, input.connectorId);
    if (provider.authMode !== 'apiKey') {
      throw new InvalidInputError(`${provider.name} connects with OAuth: use getAuthUrl.`);
    }
    const adapter = this.deps.apiKeyAdapter(provider.id);
    if (!adapter) throw new InvalidInputError(`${provider.name} connections are not configured in this environment.`);
    const config = adapter.parseConfig(input.config);
    const apiKey = joinApiKeyAndSecret(input.apiKey, input.apiSecret);
    try {
      await adapter.verifyApiKey(apiKey, config);
    } catch (error) {
      if (error instanceof ProviderError && error.reauthorizationRequired) {
        caller.log.info('API key rejected by the provider', { connectorId: provider.id });
        const what = input.apiSecret === undefined ? 'the key' : 'the key and its secret';
        throw new InvalidInputError(`${provider.name}: the provider rejected the API key. Check ${what} and try again.`, { cause: error });
      }
      throw error;
    }
    const now = this.clock();
    const sealed = await this.deps.credentialService.seal(caller.tenantId, provider.id, { kind: 'apiKey', apiKey });
    const databaseId = databaseIdFor(caller.tenantId, provider.id);
    const sourceKey = sourceKeyOf(config);
    const store = async () => {
      const current = await this.deps.lifecycle.read(caller.tenantId, provider.id);
      const sweepUnseen = isAnotherSource(current.sourceKey, sourceKey);
      // The admin's schedule outlives disconnects: the first scheduled sync comes at its interval, or not at all while paused.
      const connection = { id: databaseId, sealed, config, sourceKey, sweepUnseen, now: now.toISOString(), ...scheduleAfter(now, current.schedule) };
      return await this.deps.lifecycle.connect(caller.tenantId, provider.id, connection);
    };
    let stored = await store();
    if (!stored && (await this.deps.syncs.cancelRunningSync(caller.tenantId, provider.id, this.deps.reconnectReason, caller.log))) stored = await store();
    if (!stored) throw new ConflictError('The connector changed while it was being connected; try again.');
    caller.log.info('connector connected', { connectorId: provider.id });
    return { connected: true, connectorId: provider.id, databaseId };
  }
}
