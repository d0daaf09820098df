/** How each provider connects: through its consent page (OAuth), or with an API key and its settings. */
export type ConnectMethod =
  | { kind: 'oauth' }
  | { kind: 'apiKey'; keyLabel: string; secretLabel?: string; fields: readonly ConfigField[] };

/** A setting that goes into `connect`'s `config`. */
export type ConfigField =
  | { name: string; label: string; kind: 'choice'; options: readonly { value: string; label: string }[] }
  | { name: string; label: string; kind: 'text'; hint?: string; optional?: boolean };

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
  // The current scheme is a key with its secret, scoped to a pixel; a key alone (the older bearer scheme) needs its organization.
  delivrai: {
    kind: 'apiKey',
    keyLabel: 'API key',
    secretLabel: 'API secret (leave empty for a bearer key)',
    fields: [
      { name: 'pixelId', label: 'Pixel ID', kind: 'text', hint: 'the pixel whose visitors to sync', optional: true },
      { name: 'organizationId', label: 'Organization ID', kind: 'text', hint: 'or the organization the key belongs to', optional: true },
    ],
  },
  fathom: { kind: 'apiKey', keyLabel: 'API key', fields: [] },
};

export function connectMethodOf(providerId: string): ConnectMethod | undefined {
  return PROVIDERS[providerId];
}
