/**
 * The connector registry: the providers this service can connect, as data. `list` merges
 * it with a tenant's records; every connector reference is resolved against it.
 */

/** How a provider authenticates: an OAuth 2.0 grant, or an API key an admin pastes in. */
export type AuthMode = 'oauth2' | 'apiKey';

/** One provider the service knows. */
export interface ProviderDescriptor {
  readonly id: ProviderId;
  readonly name: string;
  readonly version: string;
  readonly authMode: AuthMode;
}

export const providerIds = ['salesforce', 'customerio', 'delivrai', 'o365', 'fathom'] as const;

/** The registry id of a provider, e.g. `"salesforce"`. */
export type ProviderId = (typeof providerIds)[number];

export const connectorRegistry: readonly ProviderDescriptor[] = [
  { id: 'salesforce', name: 'Salesforce', version: '1.0.0', authMode: 'oauth2' },
  { id: 'customerio', name: 'Customer.io', version: '1.0.0', authMode: 'apiKey' },
  { id: 'delivrai', name: 'Delivr.ai', version: '1.0.0', authMode: 'apiKey' },
  { id: 'o365', name: 'Office 365', version: '1.0.0', authMode: 'oauth2' },
  { id: 'fathom', name: 'Fathom', version: '1.0.0', authMode: 'apiKey' },
];

/** The provider with this registry id, if there is one. */
export function findProvider(id: string): ProviderDescriptor | undefined {
  return connectorRegistry.find((provider) => provider.id === id);
}
