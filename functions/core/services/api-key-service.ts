import { databaseIdFor, resolveConnector } from '../connector-ref';
import { InvalidInputError, ProviderError } from '../errors';
import type { ProviderId } from '../registry';
import type { CredentialRepository } from '../repository/types';
import type { ApiKeyAdapter } from '../../providers/types';
import type { Caller } from './caller';
import type { CredentialService } from './credential-service';
import { DEFAULT_SYNC_INTERVAL_MINUTES } from './sync-engine';

export interface ApiKeyServiceDeps {
  credentials: CredentialRepository;
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
   * accepted key is sealed (tenant and connector bound) and the connector becomes `connected`.
   */
  async connect(
    caller: Caller,
    input: { connectorId: string; apiKey: string; config?: Record<string, unknown> },
  ): Promise<{ connected: true; connectorId: string; databaseId: string }> {
    const provider = resolveConnector(caller.tenantId, input.connectorId);
    if (provider.authMode !== 'apiKey') {
      throw new InvalidInputError(`${provider.name} connects with OAuth: use getAuthUrl.`);
    }
    const adapter = this.deps.apiKeyAdapter(provider.id);
    if (!adapter) throw new InvalidInputError(`${provider.name} connections are not configured in this environment.`);
    const config = adapter.parseConfig(input.config);
    try {
      await adapter.verifyApiKey(input.apiKey, config);
    } catch (error) {
      if (error instanceof ProviderError && error.reauthorizationRequired) {
        caller.log.info('API key rejected by the provider', { connectorId: provider.id });
        throw new InvalidInputError(`${provider.name}: the provider rejected the API key. Check the key and try again.`, { cause: error });
      }
      throw error;
    }
    const now = this.clock();
    const sealed = await this.deps.credentialService.seal(caller.tenantId, provider.id, { kind: 'apiKey', apiKey: input.apiKey });
    const databaseId = databaseIdFor(caller.tenantId, provider.id);
    await this.deps.credentials.storeCredentials(caller.tenantId, provider.id, {
      id: databaseId,
      sealed,
      config,
      now: now.toISOString(),
      nextSyncAt: new Date(now.getTime() + DEFAULT_SYNC_INTERVAL_MINUTES * 60_000).toISOString(),
    });
    caller.log.info('connector connected', { connectorId: provider.id });
    return { connected: true, connectorId: provider.id, databaseId };
  }
}
