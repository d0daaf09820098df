import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createRepositories } from '../../functions/core/repository';
import type { CredentialService } from '../../functions/core/services/credential-service';
import { OAuthService } from '../../functions/core/services/oauth-service';
import type { OAuthAdapter } from '../../functions/providers/types';
import { caller, recordingLog } from './log';

/**
 * Connects a tenant through the real OAuth flow at service level: getAuthUrl's service, the
 * sandbox's consent (a real HTTP redirect), and the callback's service.
 */
export async function connectThroughOAuth(options: {
  client: DynamoDBDocumentClient;
  tableName: string;
  credentialService: CredentialService;
  adapter: OAuthAdapter;
  tenantId: string;
}): Promise<void> {
  const repositories = createRepositories(options.client, options.tableName);
  const oauth = new OAuthService({
    lifecycle: repositories.lifecycle,
    // Connecting between syncs: there is never one to cancel here.
    syncs: { cancelRunningSync: async () => null },
    reconnectReason: 'Reconnected during the sync.',
    states: repositories.oauthStates,
    credentialService: options.credentialService,
    oauthAdapter: () => options.adapter,
    redirectUri: (providerId) => `http://127.0.0.1:1/oauth/${providerId}/callback`,
  });
  const { authUrl } = await oauth.startAuthorization(caller(options.tenantId), options.adapter.providerId);
  const back = new URL((await fetch(authUrl, { redirect: 'manual' })).headers.get('location')!);
  const outcome = await oauth.completeAuthorization(
    options.adapter.providerId,
    { state: back.searchParams.get('state')!, code: back.searchParams.get('code')! },
    recordingLog(),
  );
  if (outcome.kind !== 'connected') throw new Error(`connecting ${options.tenantId} failed: ${JSON.stringify(outcome)}`);
}
