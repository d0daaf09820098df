import { createHash } from 'node:crypto';
import { NotFoundError } from './errors';
import { quoteInput } from './quote-input';
import { connectorRegistry, findProvider, type ProviderDescriptor } from './registry';

const DATABASE_ID_PREFIX = 'conn_';

/**
 * The database id of a tenant's connector for one provider. A tenant has at most one
 * connector per provider, so the id is derived from (tenant, provider): resolving an id
 * then needs no lookup, which keeps every read procedure at one DynamoDB request, and
 * the same id can never name a connector in another tenant.
 */
export function databaseIdFor(tenantId: string, providerId: string): string {
  const digest = createHash('sha256').update(`connector\0${tenantId}\0${providerId}`).digest('hex');
  return DATABASE_ID_PREFIX + digest.slice(0, 24);
}

/**
 * Resolves what a caller named a connector by (registry id such as `"salesforce"`, or
 * database id `"conn_..."`) to a provider, always inside the caller's tenant.
 * @throws NotFoundError for anything else, including another tenant's database id.
 */
export function resolveConnector(tenantId: string, ref: string): ProviderDescriptor {
  const byRegistryId = findProvider(ref);
  if (byRegistryId) return byRegistryId;
  if (ref.startsWith(DATABASE_ID_PREFIX)) {
    const match = connectorRegistry.find((provider) => databaseIdFor(tenantId, provider.id) === ref);
    if (match) return match;
  }
  throw new NotFoundError(`No connector ${quoteInput(ref)} exists in this tenant.`);
}
