/** How each provider connects: through its consent page (OAuth), or with an API key and its settings. */
export type ConnectMethod =
  | { kind: 'oauth' }
  | { kind: 'apiKey'; keyLabel: string; fields: readonly ConfigField[] };

/** A setting that goes into `connect`'s `config`. */
export type ConfigField =
  | { name: string; label: string; kind: 'choice'; options: readonly { value: string; label: string }[] }
  | { name: string; label: string; kind: 'text'; hint?: string };

const PROVIDERS: Record<string, ConnectMethod> = {
  salesforce: { kind: 'oauth' },
  o365: { kind: 'oauth' },
  customerio: {
    kind: 'apiKey',
    keyLabel: 'App API key',
    fields: [
      {
        name: 'region',
        label: 'Region',
        kind: 'choice',
        options: [
          { value: 'us', label: 'US' },
          { value: 'eu', label: 'EU' },
        ],
      },
    ],
  },
  delivrai: {
    kind: 'apiKey',
    keyLabel: 'API key',
    fields: [{ name: 'organizationId', label: 'Organization ID', kind: 'text', hint: 'the organization the key belongs to' }],
  },
  fathom: { kind: 'apiKey', keyLabel: 'API key', fields: [] },
};

export function connectMethodOf(providerId: string): ConnectMethod | undefined {
  return PROVIDERS[providerId];
}
