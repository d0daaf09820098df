import { createEnvelopeCipher, generateLocalKey } from '../../functions/core/crypto';
import { DynamoCredentialRepository } from '../../functions/core/repository/dynamo-credential-repository';
import { DynamoLifecycleRepository } from '../../functions/core/repository/dynamo-lifecycle-repository';
import { CredentialService } from '../../functions/core/services/credential-service';
import type { ProviderId } from '../../functions/core/registry';
import type { OAuthAdapter } from '../../functions/providers/types';
import type { freshTable } from './dynamodb';

/**
 * A CredentialService as one Lambda container holds it: its own in-process state, over the
 * test's table, sealing with a local key (pass the same `key` to services that must read
 * each other's credentials).
 */
export function localCredentialService(
  table: Pick<Awaited<ReturnType<typeof freshTable>>, 'client' | 'tableName'>,
  oauthAdapter: (providerId: ProviderId) => OAuthAdapter | undefined,
  key: string = generateLocalKey(),
): CredentialService {
  return new CredentialService({
    repository: new DynamoCredentialRepository(table.client, table.tableName),
    lifecycle: new DynamoLifecycleRepository(table.client, table.tableName),
    cipher: createEnvelopeCipher({ CONNECTOR_ENCRYPTION_KEY: key }),
    oauthAdapter,
  });
}
