/**
 * The page's configuration: `window.CONNECTOR_CONSOLE`, set by `config.js`, which whoever
 * serves the page writes (the local stack serves one; a deployment writes its own). The
 * contract is in web/README.md; every field is optional.
 */
export interface ConsoleConfig {
  /** The API's base URL, without a trailing slash: tRPC calls go to `<apiUrl>/trpc`. Default: the page's own origin. */
  apiUrl?: string;
  /** Where a signed-out person goes to sign in; it sends them back with `#access_token=<JWT>`. */
  signInUrl?: string;
  /** The local stack's sign-in: the page asks for a tenant and a role and sends them to `signInUrl`. */
  localSignIn?: boolean;
  /** The platform's bearer-token provider; when set, the page stores no token of its own. */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** What signing out does besides forgetting the token (the platform's own sign-out). */
  signOut?: () => void;
  /** The token's claims the page reads to say who is signed in and whether they may change things. */
  claims?: { tenant?: string; role?: string; adminRole?: string };
}

declare global {
  interface Window {
    CONNECTOR_CONSOLE?: ConsoleConfig;
  }
}

export interface ResolvedConfig {
  /** Where tRPC's calls go: `<apiUrl>/trpc`. */
  trpcUrl: string;
  signInUrl: string | undefined;
  localSignIn: boolean;
  getToken: ConsoleConfig['getToken'];
  signOut: ConsoleConfig['signOut'];
  claims: { tenant: string; role: string; adminRole: string };
}

/** The configuration with its defaults: the API on the page's own origin, the service's default claim names. */
export function readConfig(source: ConsoleConfig = window.CONNECTOR_CONSOLE ?? {}): ResolvedConfig {
  return {
    trpcUrl: `${(source.apiUrl ?? '').replace(/\/+$/, '')}/trpc`,
    signInUrl: source.signInUrl || undefined,
    localSignIn: source.localSignIn === true,
    getToken: typeof source.getToken === 'function' ? source.getToken : undefined,
    signOut: typeof source.signOut === 'function' ? source.signOut : undefined,
    claims: {
      tenant: source.claims?.tenant || 'tenant_id',
      role: source.claims?.role || 'role',
      adminRole: source.claims?.adminRole || 'admin',
    },
  };
}
